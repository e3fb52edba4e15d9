//! The case catalogue: documented troubleshooting cases (and the cases we
//! observed beyond the documentation) as data, and classification of what a peer
//! printed into an [`Outcome`] plus the entry that explains it and its fix.
//!
//! Each area ships one YAML file under `harness/catalogue/`; `common.yaml` holds
//! entries every area shares (refused, timed out). Entries are tried in file
//! order, area first, and the first signature that matches wins.

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::error::HarnessError;
use crate::outcome::Outcome;

/// One troubleshooting case.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Entry {
    /// Stable id, `area::case`.
    pub id: String,
    /// One line saying what is misconfigured.
    pub title: String,
    /// True when the product documentation describes this case; false for cases
    /// tlsmatrix observed on real peers beyond the documentation.
    pub documented: bool,
    /// The outcome this case is.
    pub outcome: Outcome,
    /// The client messages the documentation shows, verbatim.
    #[serde(default)]
    pub documented_messages: Vec<String>,
    /// The node log lines the documentation shows, verbatim.
    #[serde(default)]
    pub documented_node_messages: Vec<String>,
    /// Regular expressions that recognise this case in client output, today's
    /// texts and the documented ones.
    pub signatures: Vec<String>,
    /// How to fix it.
    pub fix: String,
    /// The settings the fix touches: configuration keys, environment variables,
    /// client flags and builder methods, exactly as the products spell them.
    #[serde(default)]
    pub settings: Vec<String>,
    /// The fix in machine form: each remedy is a patch to a case body (and
    /// certificates it needs), tried one at a time by `tlsmatrix reproduce`.
    #[serde(default)]
    pub remedies: Vec<Remedy>,
}

/// One way to fix a case, as a patch to the case body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Remedy {
    /// What the remedy changes, in words.
    pub name: String,
    /// Deep-merged over the case body.
    pub patch: serde_yaml_ng::Value,
    /// Certificates the patch refers to, added to the case's set.
    #[serde(default)]
    pub pki: crate::pki::PkiSpec,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct CatalogueFile {
    area: String,
    entries: Vec<Entry>,
}

/// A loaded catalogue: entries with compiled signatures.
#[derive(Debug)]
pub struct Catalogue {
    entries: Vec<(Entry, Vec<Regex>)>,
}

/// The result of classifying one observation.
#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    /// What happened.
    pub outcome: Outcome,
    /// The catalogue entry that explains it (none for a success or an
    /// unclassified text).
    pub entry: Option<String>,
}

const COMMON: &str = include_str!("../catalogue/common.yaml");

impl Catalogue {
    /// Parses catalogue files (YAML text, with a name for errors), in priority order.
    pub fn parse(files: &[(&str, &str)]) -> Result<Self, HarnessError> {
        let mut entries = Vec::new();
        for (name, text) in files {
            let file: CatalogueFile =
                serde_yaml_ng::from_str(text).map_err(|e| HarnessError::yaml(*name, &e))?;
            for entry in file.entries {
                if !entry.id.starts_with(&format!("{}::", file.area)) {
                    return Err(HarnessError::invalid(
                        *name,
                        &entry.id,
                        format!("entry id is outside area {:?}", file.area),
                        format!("prefix it with `{}::`", file.area),
                    ));
                }
                let regexes = entry
                    .signatures
                    .iter()
                    .map(|s| {
                        Regex::new(s).map_err(|e| {
                            HarnessError::invalid(
                                *name,
                                format!("{}.signatures", entry.id),
                                e.to_string(),
                                "fix the regular expression",
                            )
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                entries.push((entry, regexes));
            }
        }
        Ok(Self { entries })
    }

    /// The catalogue of one area's YAML text followed by the common entries.
    pub fn for_area(area: &str, text: &str) -> Result<Self, HarnessError> {
        Self::parse(&[(area, text), ("common", COMMON)])
    }

    /// Every entry, in priority order.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().map(|(e, _)| e)
    }

    /// The entry with this id.
    pub fn entry(&self, id: &str) -> Option<&Entry> {
        self.entries().find(|e| e.id == id)
    }

    /// Classifies a failure text: the first entry with a matching signature.
    pub fn classify_text(&self, text: &str) -> Classification {
        let text = text.trim();
        for (entry, regexes) in &self.entries {
            if regexes.iter().any(|r| r.is_match(text)) {
                return Classification {
                    outcome: entry.outcome.clone(),
                    entry: Some(entry.id.clone()),
                };
            }
        }
        Classification {
            outcome: Outcome::Unclassified,
            entry: None,
        }
    }
}

/// One catalogue entry ranked against a text by [`Catalogue::rank`].
#[derive(Debug, Clone)]
pub struct Ranked<'a> {
    /// The entry.
    pub entry: &'a Entry,
    /// True when one of its signatures matches the text.
    pub matched: bool,
    /// Word overlap with the entry's documented messages and signatures (0..=1).
    pub similarity: f64,
}

impl Catalogue {
    /// Every entry ranked against `text`: signature matches first (in catalogue
    /// order), then the rest by word overlap, most similar first.
    pub fn rank(&self, text: &str) -> Vec<Ranked<'_>> {
        let text = text.trim();
        let words = word_set(text);
        let mut ranked: Vec<(usize, Ranked<'_>)> = self
            .entries
            .iter()
            .enumerate()
            .map(|(i, (entry, regexes))| {
                let matched = regexes.iter().any(|r| r.is_match(text));
                let mut corpus = entry.documented_messages.join(" ");
                corpus.push(' ');
                corpus.push_str(&entry.signatures.join(" "));
                corpus.push(' ');
                corpus.push_str(&entry.title);
                let theirs = word_set(&corpus);
                let common = words.intersection(&theirs).count() as f64;
                let similarity = if words.is_empty() {
                    0.0
                } else {
                    common / words.len() as f64
                };
                (
                    i,
                    Ranked {
                        entry,
                        matched,
                        similarity,
                    },
                )
            })
            .collect();
        ranked.sort_by(|(ia, a), (ib, b)| {
            b.matched.cmp(&a.matched).then_with(|| {
                if a.matched {
                    ia.cmp(ib)
                } else {
                    b.similarity.total_cmp(&a.similarity)
                }
            })
        });
        ranked.into_iter().map(|(_, r)| r).collect()
    }
}

fn word_set(text: &str) -> std::collections::BTreeSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 2)
        .map(str::to_lowercase)
        .collect()
}
