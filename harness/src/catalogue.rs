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
use crate::ids::EntryId;
use crate::outcome::Outcome;
use crate::pasted::Pasted;

/// One troubleshooting case.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Entry {
    /// Stable id, `area::case`.
    pub(crate) id: EntryId,
    /// One line saying what is misconfigured.
    pub(crate) title: String,
    /// True when the product documentation describes this case; false for cases
    /// tlsmatrix observed on real peers beyond the documentation.
    pub(crate) documented: bool,
    /// The outcome this case is.
    pub(crate) outcome: Outcome,
    /// The client messages the documentation shows, verbatim.
    #[serde(default)]
    pub(crate) documented_messages: Vec<String>,
    /// The node log lines the documentation shows, verbatim.
    #[serde(default)]
    pub(crate) documented_node_messages: Vec<String>,
    /// Regular expressions that recognise this case in client output, today's
    /// texts and the documented ones.
    pub(crate) signatures: Vec<String>,
    /// How to fix it.
    pub(crate) fix: String,
    /// The settings the fix touches: configuration keys, environment variables,
    /// client flags and builder methods, exactly as the products spell them.
    #[serde(default)]
    pub(crate) settings: Vec<String>,
    /// The fix in machine form: each remedy is a patch to a case body (and
    /// certificates it needs), tried one at a time by `tlsmatrix reproduce`.
    #[serde(default)]
    pub(crate) remedies: Vec<Remedy>,
    /// Why the entry has no `remedies`: the fix is outside what a case body
    /// can express (another program holds the port, a product version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) no_remedy: Option<String>,
    /// Regular expressions for words around an error that point to this entry
    /// rather than to another with the same signature (`token` for the token
    /// server's certificate, `upstream` for a proxy's backend). Used only to
    /// rank pasted texts, never to classify a run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) context: Vec<String>,
    /// The shared signature families (`families:` in common.yaml) whose texts
    /// also point to this entry when a user pastes them: the same failure as
    /// other stacks print it (Go, OpenSSL 1.1 and 3, BoringSSL, JSSE, Node,
    /// Python, .NET, librdkafka). Used only to rank pasted texts, never to
    /// classify a run, so our own runs keep their specific signatures.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) families: Vec<String>,
    /// The first product release the entry holds for (inclusive); a run of
    /// an older release does not classify into it (see [`crate::version`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) since: Option<String>,
    /// The first product release the entry no longer holds for (exclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) until: Option<String>,
}

impl Entry {
    /// Stable id, `area::case`.
    pub fn id(&self) -> &EntryId {
        &self.id
    }

    /// One line saying what is misconfigured.
    pub fn title(&self) -> &str {
        &self.title
    }

    /// True when the product documentation describes this case; false for cases
    /// tlsmatrix observed on real peers beyond the documentation.
    pub fn documented(&self) -> bool {
        self.documented
    }

    /// The outcome this case is.
    pub fn outcome(&self) -> &Outcome {
        &self.outcome
    }

    /// The client messages the documentation shows, verbatim.
    pub fn documented_messages(&self) -> &[String] {
        &self.documented_messages
    }

    /// The node log lines the documentation shows, verbatim.
    pub fn documented_node_messages(&self) -> &[String] {
        &self.documented_node_messages
    }

    /// Regular expressions that recognise this case in client output, today's
    /// texts and the documented ones.
    pub fn signatures(&self) -> &[String] {
        &self.signatures
    }

    /// How to fix it.
    pub fn fix(&self) -> &str {
        &self.fix
    }

    /// The settings the fix touches: configuration keys, environment variables,
    /// client flags and builder methods, exactly as the products spell them.
    pub fn settings(&self) -> &[String] {
        &self.settings
    }

    /// The fix in machine form: each remedy is a patch to a case body (and
    /// certificates it needs), tried one at a time by `tlsmatrix reproduce`.
    pub fn remedies(&self) -> &[Remedy] {
        &self.remedies
    }

    /// Why the entry has no `remedies`: the fix is outside what a case body
    /// can express (another program holds the port, a product version).
    pub fn no_remedy(&self) -> Option<&str> {
        self.no_remedy.as_deref()
    }

    /// Regular expressions for words around an error that point to this entry
    /// rather than to another with the same signature (`token` for the token
    /// server's certificate, `upstream` for a proxy's backend). Used only to
    /// rank pasted texts, never to classify a run.
    pub fn context(&self) -> &[String] {
        &self.context
    }

    /// The shared signature families (`families:` in common.yaml) whose texts
    /// also point to this entry when a user pastes them: the same failure as
    /// other stacks print it (Go, OpenSSL 1.1 and 3, BoringSSL, JSSE, Node,
    /// Python, .NET, librdkafka). Used only to rank pasted texts, never to
    /// classify a run, so our own runs keep their specific signatures.
    pub fn families(&self) -> &[String] {
        &self.families
    }

    /// The first product release the entry holds for (inclusive); a run of
    /// an older release does not classify into it (see [`crate::version`]).
    pub fn since(&self) -> Option<&str> {
        self.since.as_deref()
    }

    /// The first product release the entry no longer holds for (exclusive).
    pub fn until(&self) -> Option<&str> {
        self.until.as_deref()
    }
}

/// A line that says a connection failed without saying why (`UNAVAILABLE: io
/// exception`), with the further lines that would decide between the cases it
/// may be.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Undecided {
    /// A regular expression for the undecided line.
    pub(crate) signature: String,
    /// Which stack prints it, in words.
    pub(crate) printed_by: String,
    /// Where the deciding lines are, in words.
    pub(crate) look_for: String,
    /// The entries it may be, most likely first; their signatures are what to
    /// look for.
    pub(crate) candidates: Vec<String>,
}

/// One way to fix a case, as a patch to the case body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Remedy {
    /// What the remedy changes, in words.
    pub(crate) name: String,
    /// Deep-merged over the case body.
    pub(crate) patch: serde_yaml_ng::Value,
    /// Certificates the patch refers to, added to the case's set.
    #[serde(default)]
    pub(crate) pki: crate::pki::PkiSpec,
}

impl Remedy {
    /// What the remedy changes, in words.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Deep-merged over the case body.
    pub fn patch(&self) -> &serde_yaml_ng::Value {
        &self.patch
    }

    /// Certificates the patch refers to, added to the case's set.
    pub fn pki(&self) -> &crate::pki::PkiSpec {
        &self.pki
    }
}

/// Refuses a statement outside its area, without checks, or naming a
/// release that is not a release number.
fn check_statement(file: &str, area: &str, s: &Statement) -> Result<(), HarnessError> {
    if !s.id.starts_with(&format!("{area}::")) {
        return Err(HarnessError::invalid(
            file,
            &s.id,
            format!("statement id is outside area {area:?}"),
            format!("prefix it with `{area}::`"),
        ));
    }
    if s.checks.is_empty() {
        return Err(HarnessError::invalid(
            file,
            format!("{}.checks", s.id),
            "a documented statement names no case that tests it",
            "list the cases whose outcome the sentence predicts",
        ));
    }
    if let Some(v) = s
        .holds_for
        .iter()
        .find(|v| crate::version::ProductVersion::parse(v).is_none())
    {
        return Err(HarnessError::invalid(
            file,
            format!("{}.holds-for", s.id),
            format!("{v:?} is not a release number"),
            "write releases such as 8.4.1",
        ));
    }
    Ok(())
}

/// A sentence of the product's documentation that says how the product
/// behaves, with the cases that test it: a row of `tlsmatrix drift` that is
/// not an error text but a claim, measured per release.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Statement {
    /// Stable id, `area::doc-...`.
    pub(crate) id: String,
    /// The sentence, verbatim.
    pub(crate) text: String,
    /// Where it is written: repository, path and commit.
    pub(crate) source: String,
    /// The cases whose outcome the sentence predicts.
    pub(crate) checks: Vec<StatementCheck>,
    /// The releases the sentence was measured to hold for (every check's
    /// outcome as it says); `tlsmatrix drift` fails when a run disagrees.
    pub(crate) holds_for: Vec<String>,
}

/// One case a documented sentence predicts the outcome of.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct StatementCheck {
    /// The case id, without `@<release>`.
    pub(crate) case: String,
    /// The outcome the sentence predicts for it.
    pub(crate) says: Outcome,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct CatalogueFile {
    area: String,
    /// The product releases the area models, oldest first; the newest is the
    /// default of `tlsmatrix run` (none: the area models one snapshot).
    #[serde(default)]
    versions: Vec<String>,
    /// Regular expressions for words that show a pasted text comes from this
    /// area's products (a client, a node, a log format).
    #[serde(default)]
    reveals: Vec<String>,
    /// Lines that need further lines to decide.
    #[serde(default)]
    undecided: Vec<Undecided>,
    /// Named signature families shared by every area (common.yaml).
    #[serde(default)]
    families: std::collections::BTreeMap<String, Vec<String>>,
    /// Sentences of the documentation about the product's behaviour, with
    /// the cases that test them (`tlsmatrix drift`).
    #[serde(default)]
    documented_statements: Vec<Statement>,
    entries: Vec<Entry>,
}

#[derive(Debug)]
struct Compiled {
    entry: Entry,
    signatures: Vec<Regex>,
    context: Vec<Regex>,
    /// The family signatures: (pattern, compiled).
    family: Vec<(String, Regex)>,
    /// The releases the entry holds for.
    span: crate::version::Span,
}

/// A loaded catalogue: entries with compiled signatures.
#[derive(Debug)]
pub struct Catalogue {
    entries: Vec<Compiled>,
    versions: Vec<crate::version::ProductVersion>,
    reveals: Vec<Regex>,
    undecided: Vec<(Undecided, Regex)>,
    statements: Vec<Statement>,
}

/// Where an entry's signature matched a pasted text ([`Catalogue::hits`]).
#[derive(Debug, Clone)]
pub struct Hit<'a> {
    /// The entry.
    pub entry: &'a Entry,
    /// Its place in the catalogue (lower is tried first by [`Catalogue::classify_text`]).
    pub order: usize,
    /// The matched text.
    pub matched: String,
    /// The line it matched on (0: only across lines).
    pub line: usize,
    /// True when only a prefix of a literal signature matched, at the end of a
    /// cut-off text.
    pub cut: bool,
    /// How many of the entry's context expressions the text contains.
    pub context: usize,
}

/// The result of classifying one observation.
#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    /// What happened.
    pub outcome: Outcome,
    /// The catalogue entry that explains it (none for a success or an
    /// unclassified text).
    pub entry: Option<EntryId>,
}

const COMMON: &str = include_str!("../catalogue/common.yaml");

/// The signature families of the catalogue files: name → (pattern, compiled).
type Families = std::collections::BTreeMap<String, Vec<(String, Regex)>>;

impl Compiled {
    /// Compiles an entry of the catalogue file `name` (area `area`): its id
    /// must be in the area, its signatures and context must compile, and
    /// each family it names must exist.
    fn new(
        name: &str,
        area: &str,
        entry: Entry,
        families: &Families,
    ) -> Result<Self, HarnessError> {
        if !entry.id.starts_with(&format!("{area}::")) {
            return Err(HarnessError::invalid(
                name,
                &entry.id,
                format!("entry id is outside area {area:?}"),
                format!("prefix it with `{area}::`"),
            ));
        }
        let regexes = entry
            .signatures
            .iter()
            .map(|s| {
                Regex::new(s).map_err(|e| {
                    HarnessError::invalid(
                        name,
                        format!("{}.signatures", entry.id),
                        e.to_string(),
                        "fix the regular expression",
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let context = compile(name, &format!("{}.context", entry.id), &entry.context)?;
        let mut family = Vec::new();
        for f in &entry.families {
            let Some(patterns) = families.get(f) else {
                return Err(HarnessError::invalid(
                    name,
                    format!("{}.families", entry.id),
                    format!("no signature family is called {f:?}"),
                    format!(
                        "name one of the families in catalogue/common.yaml: {}",
                        families.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ));
            };
            family.extend(patterns.iter().cloned());
        }
        let span = crate::version::Span::parse(
            name,
            &entry.id,
            entry.since.as_deref(),
            entry.until.as_deref(),
        )?;
        Ok(Compiled {
            entry,
            signatures: regexes,
            context,
            family,
            span,
        })
    }
}

impl Catalogue {
    /// Parses catalogue files (YAML text, with a name for errors), in priority order.
    pub fn parse(files: &[(&str, &str)]) -> Result<Self, HarnessError> {
        let mut entries = Vec::new();
        let mut reveals = Vec::new();
        let mut undecided = Vec::new();
        let mut statements = Vec::new();
        let parsed = files
            .iter()
            .map(|(name, text)| {
                serde_yaml_ng::from_str::<CatalogueFile>(text)
                    .map(|f| (*name, f))
                    .map_err(|e| HarnessError::yaml(*name, &e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut families = Families::new();
        let mut versions = Vec::new();
        for (name, file) in &parsed {
            for v in &file.versions {
                let Some(version) = crate::version::ProductVersion::parse(v) else {
                    return Err(HarnessError::invalid(
                        *name,
                        "versions",
                        format!("{v:?} is not a release number"),
                        "write releases such as 8.4.1",
                    ));
                };
                versions.push(version);
            }
            for (family, patterns) in &file.families {
                let compiled = compile(name, &format!("families.{family}"), patterns)?;
                families.insert(
                    family.clone(),
                    patterns.iter().cloned().zip(compiled).collect::<Vec<_>>(),
                );
            }
        }
        for (name, file) in parsed {
            for entry in file.entries {
                entries.push(Compiled::new(name, &file.area, entry, &families)?);
            }
            for statement in file.documented_statements {
                check_statement(name, &file.area, &statement)?;
                statements.push(statement);
            }
            reveals.extend(compile(name, "reveals", &file.reveals)?);
            for u in file.undecided {
                let r = compile(
                    name,
                    "undecided.signature",
                    std::slice::from_ref(&u.signature),
                )?;
                undecided.push((u, r.into_iter().next().expect("one pattern")));
            }
        }
        versions.sort();
        versions.dedup();
        Ok(Self {
            entries,
            versions,
            reveals,
            undecided,
            statements,
        })
    }

    /// The documentation's sentences about the product's behaviour, with the
    /// cases that test them.
    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }

    /// The product releases the area models, oldest first (empty: one
    /// unversioned snapshot).
    pub fn versions(&self) -> &[crate::version::ProductVersion] {
        &self.versions
    }

    /// The releases an entry holds for (every release for an unknown id).
    pub fn span(&self, id: &str) -> crate::version::Span {
        self.entries
            .iter()
            .find(|c| c.entry.id == id)
            .map(|c| c.span.clone())
            .unwrap_or_default()
    }

    /// The catalogue of one area's YAML text followed by the common entries.
    pub fn for_area(area: &str, text: &str) -> Result<Self, HarnessError> {
        Self::parse(&[(area, text), ("common", COMMON)])
    }

    /// Every entry, in priority order.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().map(|c| &c.entry)
    }

    /// The entry with this id.
    pub fn entry(&self, id: &str) -> Option<&Entry> {
        self.entries().find(|e| e.id == id)
    }

    /// Classifies a failure text: the first entry with a matching signature.
    /// Every entry is tried, whatever release it holds for (a pasted text
    /// does not say its release); a run uses [`Self::classify_text_at`].
    pub fn classify_text(&self, text: &str) -> Classification {
        self.classify_text_at(text, None)
    }

    /// [`Self::classify_text`] for a run against one product release: entries
    /// whose `since`/`until` exclude it are passed over.
    pub fn classify_text_at(&self, text: &str, version: Option<&str>) -> Classification {
        let text = text.trim();
        let version = version.and_then(crate::version::ProductVersion::parse);
        for Compiled {
            entry,
            signatures,
            span,
            ..
        } in &self.entries
        {
            if version.as_ref().is_some_and(|v| !span.contains(v)) {
                continue;
            }
            if signatures.iter().any(|r| r.is_match(text)) {
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
            .map(|(i, c)| {
                let entry = &c.entry;
                let matched = c.signatures.iter().any(|r| r.is_match(text));
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

impl Catalogue {
    /// How many of the area's `reveals` expressions the text contains: how
    /// strongly it says it comes from this area's products.
    pub fn revealed_by(&self, pasted: &Pasted) -> usize {
        self.reveals
            .iter()
            .filter(|r| r.is_match(&pasted.normalised))
            .count()
    }

    /// Every entry with a signature that matches some unit of the pasted text
    /// (or, at the end of a cut-off text, a prefix of a literal signature),
    /// each with its longest match.
    pub fn hits(&self, pasted: &Pasted) -> Vec<Hit<'_>> {
        let mut hits = Vec::new();
        let tail = pasted.tail();
        for (order, c) in self.entries.iter().enumerate() {
            let mut best: Option<(String, usize, bool)> = None;
            let own = c.entry.signatures.iter().zip(&c.signatures);
            let family = c.family.iter().map(|(p, r)| (p, r));
            for (sig, re) in own.chain(family) {
                for unit in &pasted.units {
                    if let Some(m) = re.find(&unit.text) {
                        let better = best
                            .as_ref()
                            .is_none_or(|(b, _, cut)| *cut || m.as_str().len() > b.len());
                        if better {
                            best = Some((m.as_str().to_string(), unit.line, false));
                        }
                    }
                }
                if best.is_none() && pasted.truncated && crate::pasted::is_literal(sig) {
                    if let Some(k) = crate::pasted::cut_prefix_match(tail, sig, 20) {
                        best = Some((sig[..k].to_string(), pasted.units.len(), true));
                    }
                }
            }
            if let Some((matched, line, cut)) = best {
                let context = c
                    .context
                    .iter()
                    .filter(|r| r.is_match(&pasted.normalised))
                    .count();
                hits.push(Hit {
                    entry: &c.entry,
                    order,
                    matched,
                    line,
                    cut,
                    context,
                });
            }
        }
        hits
    }

    /// The undecided lines the text contains.
    pub fn undecided(&self, pasted: &Pasted) -> Vec<&Undecided> {
        self.undecided
            .iter()
            .filter(|(_, r)| pasted.units.iter().any(|u| r.is_match(&u.text)))
            .map(|(u, _)| u)
            .collect()
    }
}

fn compile(file: &str, key: &str, patterns: &[String]) -> Result<Vec<Regex>, HarnessError> {
    patterns
        .iter()
        .map(|s| {
            Regex::new(s).map_err(|e| {
                HarnessError::invalid(file, key, e.to_string(), "fix the regular expression")
            })
        })
        .collect()
}

fn word_set(text: &str) -> std::collections::BTreeSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 2)
        .map(str::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATEMENT: &str = r#"
area: a
documented-statements:
  - id: ID
    text: keys are PKCS8
    source: somewhere
    checks: CHECKS
    holds-for: HOLDS
entries: []
"#;

    fn parse(id: &str, checks: &str, holds: &str) -> Result<Catalogue, HarnessError> {
        let text = STATEMENT
            .replace("ID", id)
            .replace("CHECKS", checks)
            .replace("HOLDS", holds);
        Catalogue::parse(&[("a.yaml", &text)])
    }

    #[test]
    fn documented_statements_are_checked_when_they_load() {
        let ok = parse(
            "a::doc",
            "[{ case: 'a::f::c', says: node-start-failed }]",
            "['8.4.0']",
        )
        .expect("a valid statement");
        assert_eq!(ok.statements().len(), 1);
        assert_eq!(ok.statements()[0].checks[0].says, Outcome::NodeStartFailed);
        let outside = parse("b::doc", "[{ case: c, says: succeeded }]", "[]").unwrap_err();
        assert!(outside.to_string().contains("outside area"), "{outside}");
        let unchecked = parse("a::doc", "[]", "[]").unwrap_err();
        assert!(
            unchecked.to_string().contains("names no case"),
            "{unchecked}"
        );
        let release = parse("a::doc", "[{ case: c, says: succeeded }]", "['8.x']").unwrap_err();
        assert!(release.to_string().contains("holds-for"), "{release}");
    }
}
