//! `tlsmatrix explain`: an error text matched against every area's catalogue,
//! the likely causes ranked, each with its fix and the exact settings to change.

use std::fmt::Write as _;

use crate::areas;
use crate::catalogue::Ranked;
use crate::error::HarnessError;

/// The explanation of one error text.
#[derive(Debug)]
pub struct Explanation<'a> {
    /// Entries whose signature matches, in catalogue order.
    pub matches: Vec<Ranked<'a>>,
    /// The closest other entries, most similar first.
    pub closest: Vec<Ranked<'a>>,
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
        None => areas::registry().to_vec(),
    };
    let mut matches = Vec::new();
    let mut others = Vec::new();
    for area in areas {
        for ranked in area.catalogue().rank(text) {
            // common:: entries appear in every area's catalogue; keep them once.
            if matches
                .iter()
                .chain(others.iter())
                .any(|r: &Ranked<'_>| r.entry.id == ranked.entry.id)
            {
                continue;
            }
            if ranked.matched {
                matches.push(ranked);
            } else {
                others.push(ranked);
            }
        }
    }
    others.sort_by(|a, b| b.similarity.total_cmp(&a.similarity));
    others.truncate(3);
    Ok(Explanation {
        matches,
        closest: others,
    })
}

impl Explanation<'_> {
    /// Human text: the verdict first, then each cause with its fix.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if self.matches.is_empty() {
            let _ = writeln!(out, "unknown: no catalogue case matches this text.");
            let _ = writeln!(out, "closest cases:");
            for r in &self.closest {
                let _ = writeln!(
                    out,
                    "\n  {} ({:.0}% of the words)",
                    r.entry.id,
                    r.similarity * 100.0
                );
                describe(&mut out, r);
            }
            return out;
        }
        let first = &self.matches[0];
        let _ = writeln!(out, "{}: {}", first.entry.id, first.entry.outcome);
        for (i, r) in self.matches.iter().enumerate() {
            let _ = writeln!(
                out,
                "\n{}. {}{}",
                i + 1,
                r.entry.id,
                if r.entry.documented {
                    " (documented)"
                } else {
                    ""
                }
            );
            describe(&mut out, r);
        }
        out
    }
}

fn describe(out: &mut String, r: &Ranked<'_>) {
    let e = r.entry;
    let _ = writeln!(out, "   cause: {}", e.title);
    let _ = writeln!(out, "   outcome: {}", e.outcome.id());
    let _ = writeln!(out, "   fix: {}", e.fix);
    if !e.settings.is_empty() {
        let _ = writeln!(out, "   settings: {}", e.settings.join(", "));
    }
}
