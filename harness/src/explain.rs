//! `tlsmatrix explain`: a pasted text (a client's error, a node's, proxy's or
//! broker's log, a whole stack trace) matched against every area's catalogue,
//! the likely causes ranked, each with its fix and the exact settings to change.
//!
//! How a text is ranked:
//! 1. The text is normalised ([`Pasted`]): shaded packages, log prefixes,
//!    escapes; every line and every `Caused by:` message is tried on its own.
//! 2. Every entry whose signature matches is a candidate (an entry matched only
//!    by a prefix of a literal signature at the end of a cut-off text too).
//! 3. Candidates are ordered by what the text reveals of its source: each
//!    area's `reveals:` expressions (a client's name, a log format, a package)
//!    plus the entry's own `context:` expressions; then an area's own entries
//!    before the `common::` ones; then whole matches before cut ones; then the
//!    longer (more specific) match; then catalogue order.
//! 4. When the best candidates tie, or the text holds only a line that says a
//!    connection failed without saying why (`undecided:` in the catalogue), the
//!    explanation says which further lines would decide, and what they look
//!    like.

use std::fmt::Write as _;

use crate::areas;
use crate::catalogue::{Entry, Hit, Ranked, Undecided};
use crate::error::HarnessError;
use crate::pasted::Pasted;

/// One candidate case for a pasted text.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    /// The entry.
    pub entry: &'a Entry,
    /// The area whose catalogue holds it (`common` for shared entries).
    pub area: &'static str,
    /// Where and how its signature matched.
    pub hit: Hit<'a>,
    /// How strongly the text points at this entry's area and at the entry
    /// (area `reveals:` plus entry `context:` matches).
    pub pointers: usize,
    /// The area's place in the registry (ties go to the earlier area).
    pub area_rank: usize,
}

impl Candidate<'_> {
    #[allow(clippy::type_complexity)]
    fn key(
        &self,
    ) -> (
        usize,
        bool,
        bool,
        usize,
        std::cmp::Reverse<usize>,
        std::cmp::Reverse<usize>,
    ) {
        (
            self.pointers,
            self.area != "common",
            !self.hit.cut,
            self.hit.matched.len(),
            std::cmp::Reverse(self.area_rank),
            std::cmp::Reverse(self.hit.order),
        )
    }
}

/// A line that needs further lines, with what to look for.
#[derive(Debug, Clone)]
pub struct Undecision<'a> {
    /// The catalogue's note.
    pub note: &'a Undecided,
    /// Each candidate entry with a signature to look for.
    pub candidates: Vec<(&'a Entry, String)>,
}

/// The explanation of one text.
#[derive(Debug)]
pub struct Explanation<'a> {
    /// Entries whose signature matches, best first.
    pub matches: Vec<Candidate<'a>>,
    /// The closest other entries, most similar first.
    pub closest: Vec<Ranked<'a>>,
    /// The areas the text reveals it comes from, strongest first.
    pub revealed: Vec<(&'static str, usize)>,
    /// Lines that need further lines to decide.
    pub undecided: Vec<Undecision<'a>>,
}

/// Explains `text` with the catalogues of `area` (or of every area).
pub fn explain(text: &str, area: Option<&str>) -> Result<Explanation<'static>, HarnessError> {
    if text.trim().is_empty() {
        return Err(HarnessError::invalid(
            "explain",
            "error text",
            "the error text is empty",
            "pass the client's error message as the argument or on standard input",
        ));
    }
    let areas: Vec<&'static dyn areas::Area> = match area {
        Some(name) => vec![areas::find(name)?],
        None => order(),
    };
    Ok(explain_in(text, &areas))
}

/// Every area in the order that breaks ties: a text that names no product
/// (no gRPC, Zeebe, Kafka or cluster words) reads as plain HTTPS first, the
/// http-gateway area's client-to-server cases; then the registry's order.
pub fn order() -> Vec<&'static dyn areas::Area> {
    let mut all = areas::registry().to_vec();
    all.sort_by_key(|a| a.name() != "http-gateway");
    all
}

/// Explains `text` with the given areas' catalogues.
pub fn explain_in(text: &str, areas: &[&'static dyn areas::Area]) -> Explanation<'static> {
    let pasted = Pasted::new(text);
    let mut matches: Vec<Candidate<'static>> = Vec::new();
    let mut revealed = Vec::new();
    let mut undecided: Vec<Undecision<'static>> = Vec::new();
    for (area_rank, area) in areas.iter().enumerate() {
        let catalogue = area.catalogue();
        let reveal = catalogue.revealed_by(&pasted);
        if reveal > 0 {
            revealed.push((area.name(), reveal));
        }
        for hit in catalogue.hits(&pasted) {
            // common:: entries appear in every area's catalogue; keep them once.
            if matches.iter().any(|c| c.entry.id == hit.entry.id) {
                continue;
            }
            let common = hit.entry.id.starts_with("common::");
            matches.push(Candidate {
                entry: hit.entry,
                area: if common { "common" } else { area.name() },
                pointers: if common { 0 } else { reveal } + hit.context,
                area_rank,
                hit,
            });
        }
        for note in catalogue.undecided(&pasted) {
            if undecided.iter().any(|u| std::ptr::eq(u.note, note)) {
                continue;
            }
            undecided.push(Undecision {
                note,
                candidates: note
                    .candidates
                    .iter()
                    .filter_map(|id| areas::entry(id))
                    .map(|e| (e, e.signatures.first().cloned().unwrap_or_default()))
                    .collect(),
            });
        }
    }
    matches.sort_by_key(|c| std::cmp::Reverse(c.key()));
    revealed.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    let mut closest = Vec::new();
    if matches.is_empty() {
        for area in areas {
            for ranked in area.catalogue().rank(&pasted.normalised) {
                if !closest
                    .iter()
                    .any(|r: &Ranked<'_>| r.entry.id == ranked.entry.id)
                {
                    closest.push(ranked);
                }
            }
        }
        closest.sort_by(|a, b| b.similarity.total_cmp(&a.similarity));
        closest.truncate(3);
    }
    Explanation {
        matches,
        closest,
        revealed,
        undecided,
    }
}

impl<'a> Explanation<'a> {
    /// The best candidate, if any.
    pub fn top(&self) -> Option<&Candidate<'a>> {
        self.matches.first()
    }

    /// The candidates that tie with the best on everything the text says
    /// (pointers and area-specificity) but name another outcome or another
    /// area (so another fix): the text alone does not decide between them.
    pub fn ties(&self) -> Vec<&Candidate<'a>> {
        let Some(top) = self.top() else {
            return Vec::new();
        };
        self.matches
            .iter()
            .skip(1)
            .filter(|c| {
                c.pointers == top.pointers
                    && (c.area == "common") == (top.area == "common")
                    && (c.entry.outcome != top.entry.outcome || c.area != top.area)
            })
            .collect()
    }

    /// Human text: the verdict first, then each cause with its fix.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if self.matches.is_empty() {
            if self.undecided.is_empty() {
                let _ = writeln!(out, "unknown: no catalogue case matches this text.");
            } else {
                let _ = writeln!(
                    out,
                    "undecided: this text says the connection failed, not why."
                );
                self.render_undecided(&mut out);
            }
            let _ = writeln!(out, "closest cases:");
            for r in &self.closest {
                let _ = writeln!(
                    out,
                    "\n  {} ({:.0}% of the words)",
                    r.entry.id,
                    r.similarity * 100.0
                );
                describe(&mut out, r.entry);
            }
            return out;
        }
        let first = &self.matches[0];
        let _ = writeln!(out, "{}: {}", first.entry.id, first.entry.outcome);
        if !self.revealed.is_empty() {
            let areas: Vec<&str> = self.revealed.iter().map(|(a, _)| *a).collect();
            let _ = writeln!(out, "the text points to: {}", areas.join(", "));
        }
        let ties = self.ties();
        if !ties.is_empty() {
            let _ = writeln!(
                out,
                "ambiguous: the text alone does not decide between these; pass --area, or paste the lines around it (the client's name, the node's log)"
            );
        }
        for (i, c) in self.matches.iter().enumerate() {
            let _ = writeln!(
                out,
                "\n{}. {}{}",
                i + 1,
                c.entry.id,
                if c.entry.documented {
                    " (documented)"
                } else {
                    ""
                }
            );
            let _ = writeln!(
                out,
                "   matched: {}{}",
                c.hit.matched,
                if c.hit.cut { " (cut off)" } else { "" }
            );
            describe(&mut out, c.entry);
        }
        if !self.undecided.is_empty() {
            let _ = writeln!(out);
            self.render_undecided(&mut out);
        }
        out
    }

    fn render_undecided(&self, out: &mut String) {
        for u in &self.undecided {
            let _ = writeln!(
                out,
                "  `{}` ({}) needs more lines: look for {}.",
                u.note.signature, u.note.printed_by, u.note.look_for
            );
            for (entry, signature) in &u.candidates {
                let _ = writeln!(out, "    {signature:<50}  -> {}", entry.id);
            }
        }
    }
}

fn describe(out: &mut String, e: &Entry) {
    let _ = writeln!(out, "   cause: {}", e.title);
    let _ = writeln!(out, "   outcome: {}", e.outcome.id());
    let _ = writeln!(out, "   fix: {}", e.fix);
    if !e.settings.is_empty() {
        let _ = writeln!(out, "   settings: {}", e.settings.join(", "));
    }
}
