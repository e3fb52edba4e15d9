//! The corpus of real texts (`fixtures/real-texts/`): error texts that real
//! users posted publicly, each with its source and the cause the thread
//! established, and the score `explain` gets on them.
//!
//! A corpus file:
//!
//! ```yaml
//! area: zeebe-client
//! texts:
//!   - id: zeebe-client/unknown-authority-zbctl-1
//!     source: camunda/camunda#1234          # or the page's URL
//!     product: Zeebe 8.2.5                  # or unknown
//!     client: zbctl 8.2                     # the program that printed it, or unknown
//!     stack: grpc-go                        # the TLS/gRPC stack that produced the text
//!     source-kind: client                   # client | node-log | proxy-log | broker-log | trace
//!     text: |
//!       Error: rpc error: ... x509: certificate signed by unknown authority
//!     cause: zeebe-client::unknown-authority  # a catalogue entry, `unknown` or `new`
//!     cause-note: our words on what the thread established
//!     miss: why explain does not get it right  # only for known misses
//! ```
//!
//! `tlsmatrix explain --corpus fixtures/real-texts` prints the score; the test
//! suite keeps every text with a known cause on its case, except the listed
//! misses, which must still miss (so the list stays true).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::areas;
use crate::error::HarnessError;
use crate::explain::explain_in;

/// Where a text comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// A client's output.
    Client,
    /// A node's (gateway's, broker's, server's) log.
    NodeLog,
    /// A proxy's log.
    ProxyLog,
    /// A Kafka broker's log.
    BrokerLog,
    /// A multi-line stack trace.
    Trace,
}

/// One real text.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RealText {
    /// Unique id, `area/slug-n`.
    pub(crate) id: String,
    /// `owner/repo#number` or the page's URL.
    pub(crate) source: String,
    /// Product and version where stated, else `unknown`.
    pub(crate) product: String,
    /// The program that printed it, where stated.
    pub(crate) client: String,
    /// The TLS/gRPC stack that produced it.
    pub(crate) stack: String,
    /// What kind of text it is.
    pub(crate) source_kind: SourceKind,
    /// The error lines, verbatim.
    pub(crate) text: String,
    /// The catalogue entry of the cause the thread established, `unknown` or
    /// `new` (a cause no entry covers yet).
    pub(crate) cause: String,
    /// What the thread established, in our words.
    #[serde(default)]
    pub(crate) cause_note: Option<String>,
    /// Why explain does not get it right (a known miss, listed in the README).
    #[serde(default)]
    pub(crate) miss: Option<String>,
}

impl RealText {
    /// Unique id, `area/slug-n`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// `owner/repo#number` or the page's URL.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Product and version where stated, else `unknown`.
    pub fn product(&self) -> &str {
        &self.product
    }

    /// The program that printed it, where stated.
    pub fn client(&self) -> &str {
        &self.client
    }

    /// The TLS/gRPC stack that produced it.
    pub fn stack(&self) -> &str {
        &self.stack
    }

    /// What kind of text it is.
    pub fn source_kind(&self) -> SourceKind {
        self.source_kind
    }

    /// The error lines, verbatim.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The catalogue entry of the cause the thread established, `unknown` or `new`.
    pub fn cause(&self) -> &str {
        &self.cause
    }

    /// What the thread established, in our words.
    pub fn cause_note(&self) -> Option<&str> {
        self.cause_note.as_deref()
    }

    /// Why explain does not get it right (a known miss).
    pub fn miss(&self) -> Option<&str> {
        self.miss.as_deref()
    }

    /// True when the thread established a cause that a catalogue entry names.
    pub fn known(&self) -> bool {
        self.cause.contains("::")
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct CorpusFile {
    area: String,
    texts: Vec<RealText>,
}

/// Every corpus file of a directory, with its texts.
#[derive(Debug)]
pub struct Corpus {
    /// (file, area, text), in file order.
    pub(crate) texts: Vec<(PathBuf, String, RealText)>,
}

impl Corpus {
    /// (file, area, text), in file order.
    pub fn texts(&self) -> &[(PathBuf, String, RealText)] {
        &self.texts
    }
}

/// Loads every `*.yaml` of `dir`, checking ids are unique and causes name
/// catalogue entries.
pub fn load(dir: &Path) -> Result<Corpus, HarnessError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| HarnessError::read(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    let mut texts = Vec::new();
    let mut ids = std::collections::BTreeSet::new();
    for file in files {
        let name = file.display().to_string();
        let body = crate::input::read(&file)?;
        let parsed: CorpusFile =
            serde_yaml_ng::from_str(&body).map_err(|e| HarnessError::yaml(&name, &e))?;
        for t in parsed.texts {
            if !ids.insert(t.id.clone()) {
                return Err(HarnessError::invalid(
                    &name,
                    format!("texts[{}].id", t.id),
                    "the id is used twice",
                    "give each text an id of its own",
                ));
            }
            if t.known() && areas::entry(&t.cause).is_none() {
                return Err(HarnessError::invalid(
                    &name,
                    format!("{}.cause", t.id),
                    format!("no catalogue entry is called {}", t.cause),
                    "name an entry of `tlsmatrix catalogue`, or write `new` or `unknown`",
                ));
            }
            texts.push((file.clone(), parsed.area.clone(), t));
        }
    }
    Ok(Corpus { texts })
}

/// How explain did on one text.
#[derive(Debug, Clone)]
pub struct Scored {
    /// The text's id.
    pub id: String,
    /// The area of the cause (the file's area for `unknown`/`new`).
    pub area: String,
    /// The stack that printed it.
    pub stack: String,
    /// The established cause.
    pub cause: String,
    /// explain's top case over every area (none: nothing matched).
    pub top: Option<crate::ids::EntryId>,
    /// explain's top case with `--area` of the cause's area.
    pub top_in_area: Option<crate::ids::EntryId>,
    /// True when the cause is among the matches at all.
    pub among: bool,
    /// The listed reason for a known miss.
    pub miss: Option<String>,
}

impl Scored {
    /// Right case on top, over every area.
    pub fn right(&self) -> bool {
        self.top.as_deref() == Some(self.cause.as_str())
    }

    /// Right case on top with the area given.
    pub fn right_in_area(&self) -> bool {
        self.top_in_area.as_deref() == Some(self.cause.as_str())
    }
}

/// Explains every text of the corpus.
pub fn score(corpus: &Corpus) -> Vec<Scored> {
    let all = crate::explain::order();
    corpus
        .texts
        .iter()
        .map(|(_, file_area, t)| {
            let explanation = explain_in(&t.text, &all);
            let top = explanation.top().map(|c| c.entry.id.clone());
            let among = explanation.matches.iter().any(|c| c.entry.id == t.cause);
            let cause_area = t
                .cause
                .split("::")
                .next()
                .filter(|a| t.known() && *a != "common")
                .unwrap_or(file_area);
            let top_in_area = areas::find(cause_area)
                .ok()
                .and_then(|a| explain_in(&t.text, &[a]).top().map(|c| c.entry.id.clone()));
            Scored {
                id: t.id.clone(),
                area: cause_area.to_string(),
                stack: t.stack.clone(),
                cause: t.cause.clone(),
                top,
                top_in_area,
                among,
                miss: t.miss.clone(),
            }
        })
        .collect()
}

/// The score table: per area and per stack, right top case over every area
/// and with the area given, then the misses with their reasons.
pub fn render(scored: &[Scored]) -> String {
    let mut out = String::new();
    let known: Vec<&Scored> = scored.iter().filter(|s| s.cause.contains("::")).collect();
    let _ = writeln!(
        out,
        "{} texts, {} with a known cause ({} unknown, {} new)",
        scored.len(),
        known.len(),
        scored.iter().filter(|s| s.cause == "unknown").count(),
        scored.iter().filter(|s| s.cause == "new").count()
    );
    score_table(&mut out, &known, "area", &|s| s.area.clone());
    score_table(&mut out, &known, "stack", &|s| s.stack.clone());
    let misses: Vec<&&Scored> = known.iter().filter(|s| !s.right_in_area()).collect();
    if !misses.is_empty() {
        let _ = writeln!(out, "\nmisses with --area:");
        for s in misses {
            let _ = writeln!(
                out,
                "  {}: expected {}, got {}{}",
                s.id,
                s.cause,
                s.top_in_area.as_deref().unwrap_or("nothing"),
                s.miss
                    .as_deref()
                    .map(|m| format!(" ({m})"))
                    .unwrap_or_default()
            );
        }
    }
    let elsewhere: Vec<&&Scored> = known
        .iter()
        .filter(|s| s.right_in_area() && !s.right())
        .collect();
    if !elsewhere.is_empty() {
        let _ = writeln!(
            out,
            "\nright with --area, another area's case on top without it:"
        );
        for s in elsewhere {
            let _ = writeln!(
                out,
                "  {}: {} on top, {} with --area",
                s.id,
                s.top.as_deref().unwrap_or("nothing"),
                s.cause
            );
        }
    }
    out
}

/// One score table of [`render`]: the texts with a known cause grouped by
/// `key` (area or stack), each group's right top case over every area, with
/// the area given, and among the candidates, then the totals.
fn score_table(out: &mut String, known: &[&Scored], title: &str, key: &dyn Fn(&Scored) -> String) {
    let mut rows: BTreeMap<String, (usize, usize, usize, usize)> = BTreeMap::new();
    for s in known {
        let r = rows.entry(key(s)).or_default();
        r.0 += 1;
        r.1 += usize::from(s.right());
        r.2 += usize::from(s.right_in_area());
        r.3 += usize::from(s.among);
    }
    let _ = writeln!(
        out,
        "\n{title:<16} {:>5} {:>14} {:>14} {:>10}",
        "texts", "top (any area)", "top (--area)", "among"
    );
    let mut total = (0, 0, 0, 0);
    for (k, (n, right, right_area, among)) in &rows {
        let _ = writeln!(
            out,
            "{k:<16} {n:>5} {:>14} {:>14} {:>10}",
            pct(*right, *n),
            pct(*right_area, *n),
            pct(*among, *n)
        );
        total = (
            total.0 + n,
            total.1 + right,
            total.2 + right_area,
            total.3 + among,
        );
    }
    let _ = writeln!(
        out,
        "{:<16} {:>5} {:>14} {:>14} {:>10}",
        "all",
        total.0,
        pct(total.1, total.0),
        pct(total.2, total.0),
        pct(total.3, total.0)
    );
}

fn pct(part: usize, whole: usize) -> String {
    if whole == 0 {
        return "-".into();
    }
    format!("{part} ({:.0}%)", part as f64 * 100.0 / whole as f64)
}
