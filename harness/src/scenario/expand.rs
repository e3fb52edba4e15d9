//! Matrix expansion: files → cases with stable ids.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_yaml_ng::Value;

use super::body::Body;
use super::schema::{OneOrMany, Rule, ScenarioFile, SingleCase};
use crate::error::HarnessError;
use crate::hosts::Hosts;
use crate::ids::{AreaName, CaseId, EntryId};
use crate::outcome::Outcome;
use crate::pki::PkiSpec;
use crate::version::Span;

/// What a case must do.
#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    /// The outcome.
    pub(crate) outcome: Outcome,
    /// The catalogue entry that must explain it, if the file names one.
    pub(crate) entry: Option<EntryId>,
    /// Why, as the file says.
    pub(crate) because: Option<String>,
}

impl Expectation {
    /// The outcome.
    pub fn outcome(&self) -> &Outcome {
        &self.outcome
    }

    /// The catalogue entry that must explain it, if the file names one.
    pub fn entry(&self) -> Option<&EntryId> {
        self.entry.as_ref()
    }

    /// Why, as the file says.
    pub fn because(&self) -> Option<&str> {
        self.because.as_deref()
    }
}

/// One expectation of a case and the product releases it holds for.
#[derive(Debug, Clone, PartialEq)]
pub struct Alternative {
    /// The releases (`since` / `until` of the rule).
    pub(crate) span: Span,
    /// What must happen then.
    pub(crate) expect: Expectation,
    /// Why the case is skipped then, when it is.
    pub(crate) skip: Option<String>,
}

/// One expanded case, ready to run.
#[derive(Debug, Clone)]
pub struct Case {
    /// Stable id: `area::file-stem::value.value...` or `area::file-stem::name`.
    pub(crate) id: CaseId,
    /// The area that runs it.
    pub(crate) area: AreaName,
    /// The scenario file it came from.
    pub(crate) source: PathBuf,
    /// Axis name and value per axis, in axis order.
    pub(crate) labels: Vec<(String, String)>,
    /// Certificates to write into the case directory.
    pub(crate) pki: Arc<PkiSpec>,
    /// Host names every client of the case resolves to the nodes.
    pub(crate) hosts: Arc<Hosts>,
    /// The case body: the merged tree and the area's typed body, parsed once.
    pub(crate) body: Body,
    /// What must happen.
    pub(crate) expect: Expectation,
    /// Why the case is skipped, when it is.
    pub(crate) skip: Option<String>,
    /// Files copied into the case directory before the nodes start: name in the
    /// case directory and source path (a user's own certificates, `reproduce`).
    pub(crate) files: Vec<(String, PathBuf)>,
    /// The product release the case runs against, once chosen
    /// ([`crate::version::select`]); `None` for areas that model no releases.
    pub(crate) version: Option<String>,
    /// Every expectation that may hold for the case, in rule order, up to the
    /// first that holds for every release; `expect` and `skip` are the first
    /// until a release is chosen.
    pub(crate) alternatives: Vec<Alternative>,
}

impl Case {
    /// Stable id: `area::file-stem::value.value...` or `area::file-stem::name`.
    pub fn id(&self) -> &CaseId {
        &self.id
    }

    /// The area that runs it.
    pub fn area(&self) -> &AreaName {
        &self.area
    }

    /// The scenario file it came from.
    pub fn source(&self) -> &Path {
        &self.source
    }

    /// Axis name and value per axis, in axis order.
    pub fn labels(&self) -> &[(String, String)] {
        &self.labels
    }

    /// Certificates to write into the case directory.
    pub fn pki(&self) -> &PkiSpec {
        &self.pki
    }

    /// The case body: the merged tree and the area's typed body, parsed once.
    pub fn body(&self) -> &Body {
        &self.body
    }

    /// What must happen.
    pub fn expect(&self) -> &Expectation {
        &self.expect
    }

    /// Why the case is skipped, when it is.
    pub fn skip(&self) -> Option<&str> {
        self.skip.as_deref()
    }

    /// The product release the case runs against, once chosen
    /// ([`crate::version::select`]); `None` for areas that model no releases.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }
}

impl Case {
    /// The same case with its body tree changed by `change` (a remedy's
    /// patch, a test's variation); the typed body is parsed again on use.
    pub fn with_body_edit(mut self, change: impl FnOnce(&mut Value)) -> Self {
        self.body.edit(change);
        self
    }

    /// The same case writing the certificates of `pki`.
    pub fn with_pki(mut self, pki: PkiSpec) -> Self {
        self.pki = Arc::new(pki);
        self
    }

    /// The value of an axis for this case.
    pub fn label(&self, axis: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(a, _)| a == axis)
            .map(|(_, v)| v.as_str())
    }
}

/// Deep-merges `over` into `base`: mappings merge key by key, a key set to
/// null is removed (so a fragment can take a setting away), anything else
/// replaces; a null fragment changes nothing.
pub fn deep_merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Mapping(b), Value::Mapping(o)) => {
            for (k, v) in o {
                if v.is_null() {
                    b.remove(k);
                    continue;
                }
                match b.get_mut(k) {
                    Some(existing) => deep_merge(existing, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, o) if !o.is_null() => *b = o.clone(),
        _ => {}
    }
}

/// The most cases one scenario file may expand to (axes multiplied, plus
/// single cases): the largest shipped file has a few hundred.
pub const MAX_CASES_PER_FILE: usize = 10_000;

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Loads and expands one scenario file.
pub fn load_file(path: &Path) -> Result<Vec<Case>, HarnessError> {
    let text = crate::input::read(path)?;
    load_str(path, &text)
}

/// [`load_file`] on text already read; `path` gives the id prefix and names
/// the file in errors.
pub fn load_str(path: &Path, text: &str) -> Result<Vec<Case>, HarnessError> {
    let file_name = path.display().to_string();
    // As a plain tree first: a key given twice is an error there (the typed
    // maps below would keep the last one silently).
    serde_yaml_ng::from_str::<Value>(text).map_err(|e| HarnessError::yaml(&file_name, &e))?;
    let file: ScenarioFile =
        serde_yaml_ng::from_str(text).map_err(|e| HarnessError::yaml(&file_name, &e))?;
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_string();
    if !valid_name(&stem) {
        return Err(HarnessError::invalid(
            &file_name,
            "(file name)",
            "scenario file names become case ids",
            "name the file with lower-case letters, digits and dashes",
        ));
    }
    if let Some(dir) = path
        .parent()
        .and_then(|p| p.file_name())
        .and_then(|d| d.to_str())
    {
        if dir != file.area && Path::new(dir) != Path::new("scenarios") {
            return Err(HarnessError::invalid(
                &file_name,
                "area",
                format!("area {:?} differs from the folder {dir:?}", file.area),
                format!(
                    "move the file to scenarios/{}/ or set area: {dir}",
                    file.area
                ),
            ));
        }
    }
    check_entries(&file, &file_name)?;
    expand(&file, &file_name, &stem, path)
}

/// Every `entry:` of the file names an entry of its area's catalogue (its
/// own or a common one): a misspelt entry would otherwise only show as a
/// failing case after it ran.
fn check_entries(file: &ScenarioFile, file_name: &str) -> Result<(), HarnessError> {
    let area = crate::areas::find(&file.area).map_err(|e| match e {
        HarnessError::Invalid {
            key, problem, fix, ..
        } => HarnessError::invalid(file_name, key, problem, fix),
        other => other,
    })?;
    let mut named: Vec<(String, &EntryId)> = Vec::new();
    for (i, rule) in file.expect.iter().enumerate() {
        named.extend(rule.entry.iter().map(|e| (format!("expect[{i}].entry"), e)));
    }
    for single in &file.cases {
        let key = format!("cases.{}", single.name);
        named.extend(single.entry.iter().map(|e| (format!("{key}.entry"), e)));
        for (i, rule) in single.expect.iter().enumerate() {
            named.extend(
                rule.entry
                    .iter()
                    .map(|e| (format!("{key}.expect[{i}].entry"), e)),
            );
        }
    }
    for (key, entry) in named {
        if area.catalogue().entry(entry).is_some() {
            continue;
        }
        let ids: Vec<&str> = area.catalogue().entries().map(|e| e.id.as_str()).collect();
        let fix = match crate::config::lint::closest(entry, &ids) {
            Some(near) => format!("did you mean {near}? (`tlsmatrix catalogue` lists every entry)"),
            None => format!("use one of: {}", ids.join(", ")),
        };
        return Err(HarnessError::invalid(
            file_name,
            key,
            format!("no catalogue entry {entry} in area {}", file.area),
            fix,
        ));
    }
    Ok(())
}

/// One axis: its name and its values (name, body fragment), in file order.
type Axis = (String, Vec<(String, Value)>);

/// What every case of one file shares.
struct FileContext<'a> {
    file: &'a ScenarioFile,
    file_name: &'a str,
    stem: &'a str,
    path: &'a Path,
    pki: Arc<PkiSpec>,
    hosts: Arc<Hosts>,
}

impl FileContext<'_> {
    /// A case of this file: `body` merged over the file's `base`, the first
    /// alternative as its expectation.
    fn case(
        &self,
        id: CaseId,
        labels: Vec<(String, String)>,
        fragments: &[&Value],
        alternatives: Vec<Alternative>,
    ) -> Case {
        let mut body = self.file.base.clone();
        for fragment in fragments {
            deep_merge(&mut body, fragment);
        }
        let first = alternatives[0].clone();
        Case {
            id,
            area: self.file.area.clone(),
            source: self.path.to_path_buf(),
            labels,
            pki: self.pki.clone(),
            hosts: self.hosts.clone(),
            body: Body::new(body),
            expect: first.expect,
            skip: first.skip,
            files: Vec::new(),
            version: None,
            alternatives,
        }
    }
}

/// Expands one parsed file into its cases: the axes' combinations (minus
/// `exclude`), then the single cases, each id once.
fn expand(
    file: &ScenarioFile,
    file_name: &str,
    stem: &str,
    path: &Path,
) -> Result<Vec<Case>, HarnessError> {
    let axes = parse_axes(file, file_name)?;
    check_rules(file, file_name, &axes)?;
    check_bound(file, file_name, &axes)?;
    file.pki.check(file_name, "pki")?;
    file.hosts.check(file_name)?;
    let context = FileContext {
        file,
        file_name,
        stem,
        path,
        pki: Arc::new(file.pki.clone()),
        hosts: Arc::new(file.hosts.clone()),
    };
    let mut ids = BTreeSet::new();
    let mut cases = axis_cases(&context, &axes, &mut ids)?;
    for single in &file.cases {
        cases.push(single_case(&context, single, &mut ids)?);
    }
    Ok(cases)
}

/// The file's axes, with value names checked (they become case ids).
fn parse_axes(file: &ScenarioFile, file_name: &str) -> Result<Vec<Axis>, HarnessError> {
    let mut axes = Vec::new();
    for (k, v) in &file.axes {
        let Some(axis) = k.as_str() else {
            return Err(HarnessError::invalid(
                file_name,
                "axes",
                "axis names must be strings",
                "quote the axis name",
            ));
        };
        let Value::Mapping(values) = v else {
            return Err(HarnessError::invalid(
                file_name,
                format!("axes.{axis}"),
                "an axis is a mapping of value names to case body fragments",
                format!("write `{axis}:` followed by `value-name: {{ ... }}` entries"),
            ));
        };
        let mut vals = Vec::new();
        for (name, fragment) in values {
            let name = name.as_str().unwrap_or_default().to_string();
            if !valid_name(&name) {
                return Err(HarnessError::invalid(
                    file_name,
                    format!("axes.{axis}.{name}"),
                    "value names become case ids",
                    "use lower-case letters, digits and dashes",
                ));
            }
            vals.push((name, fragment.clone()));
        }
        axes.push((axis.to_string(), vals));
    }
    Ok(axes)
}

/// Every `exclude` and `expect.when` names axes and values the file has.
fn check_rules(file: &ScenarioFile, file_name: &str, axes: &[Axis]) -> Result<(), HarnessError> {
    let check = |rule: &std::collections::BTreeMap<String, OneOrMany>, what: &str| {
        for (axis, vals) in rule {
            let Some((_, known)) = axes.iter().find(|(a, _)| a == axis) else {
                return Err(HarnessError::invalid(
                    file_name,
                    format!("{what}.{axis}"),
                    format!("no axis named {axis:?}"),
                    format!(
                        "use one of: {}",
                        axes.iter()
                            .map(|(a, _)| a.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            };
            if let Some(v) = vals
                .values()
                .into_iter()
                .find(|v| !known.iter().any(|(k, _)| k == v))
            {
                return Err(HarnessError::invalid(
                    file_name,
                    format!("{what}.{axis}"),
                    format!("axis {axis:?} has no value {v:?}"),
                    "use a value defined under axes",
                ));
            }
        }
        Ok(())
    };
    for rule in &file.exclude {
        check(rule, "exclude")?;
    }
    for rule in &file.expect {
        check(&rule.when, "expect.when")?;
    }
    Ok(())
}

/// Bounded before anything is expanded: a few lines of axes multiply.
fn check_bound(file: &ScenarioFile, file_name: &str, axes: &[Axis]) -> Result<(), HarnessError> {
    let combinations = axes
        .iter()
        .try_fold(1usize, |n, (_, vals)| n.checked_mul(vals.len().max(1)))
        .and_then(|n| n.checked_add(file.cases.len()))
        .filter(|n| *n <= MAX_CASES_PER_FILE);
    match combinations {
        Some(_) => Ok(()),
        None => Err(HarnessError::invalid(
            file_name,
            "axes",
            format!(
                "the axes multiply to more than the bound of {MAX_CASES_PER_FILE} cases per scenario file"
            ),
            "split the file, or use fewer values per axis",
        )),
    }
}

/// One case per combination of the axes' values that no `exclude` matches,
/// last axis fastest; each must be matched by an `expect` rule.
fn axis_cases(
    context: &FileContext<'_>,
    axes: &[Axis],
    ids: &mut BTreeSet<CaseId>,
) -> Result<Vec<Case>, HarnessError> {
    let (file, file_name) = (context.file, context.file_name);
    let mut cases = Vec::new();
    if axes.is_empty() {
        return Ok(cases);
    }
    let mut index = vec![0usize; axes.len()];
    loop {
        let labels: Vec<(String, String)> = axes
            .iter()
            .zip(&index)
            .map(|((a, vals), &i)| (a.clone(), vals[i].0.clone()))
            .collect();
        let matches = |when: &std::collections::BTreeMap<String, OneOrMany>| {
            when.iter()
                .all(|(axis, vals)| labels.iter().any(|(a, v)| a == axis && vals.contains(v)))
        };
        if !file.exclude.iter().any(&matches) {
            let values: Vec<&str> = labels.iter().map(|(_, v)| v.as_str()).collect();
            let id = CaseId::new(&file.area, context.stem, &values.join("."))
                .map_err(|e| e.at(file_name, "axes"))?;
            let rules: Vec<&Rule> = file.expect.iter().filter(|r| matches(&r.when)).collect();
            let alternatives = alternatives(file_name, &id, &rules)?;
            if alternatives.is_empty() {
                return Err(HarnessError::invalid(
                    file_name,
                    "expect",
                    format!("no expect rule matches case {id}"),
                    "add a rule whose `when` covers it, or exclude the combination",
                ));
            }
            let fragments: Vec<&Value> = axes
                .iter()
                .zip(&index)
                .map(|((_, vals), &i)| &vals[i].1)
                .collect();
            ids.insert(id.clone());
            cases.push(context.case(id, labels, &fragments, alternatives));
        }
        // Next combination, last axis fastest.
        let mut pos = axes.len();
        loop {
            if pos == 0 {
                return Ok(cases);
            }
            pos -= 1;
            index[pos] += 1;
            if index[pos] < axes[pos].1.len() {
                break;
            }
            index[pos] = 0;
        }
    }
}

/// A case of `cases:`: its name, its own outcome (or `expect` list by
/// release), an id no other case of the file has.
fn single_case(
    context: &FileContext<'_>,
    single: &SingleCase,
    ids: &mut BTreeSet<CaseId>,
) -> Result<Case, HarnessError> {
    let (file, file_name) = (context.file, context.file_name);
    let key = format!("cases.{}", single.name);
    if !valid_name(&single.name) {
        return Err(HarnessError::invalid(
            file_name,
            key,
            "case names become case ids",
            "use lower-case letters, digits and dashes",
        ));
    }
    let id =
        CaseId::new(&file.area, context.stem, &single.name).map_err(|e| e.at(file_name, &key))?;
    if !ids.insert(id.clone()) {
        return Err(HarnessError::invalid(
            file_name,
            key,
            format!("duplicate case id {id}"),
            "rename the case",
        ));
    }
    let alternatives = match (&single.outcome, single.expect.is_empty()) {
        (Some(outcome), true) => vec![Alternative {
            span: Span::default(),
            expect: Expectation {
                outcome: outcome.clone(),
                entry: single.entry.clone(),
                because: single.because.clone(),
            },
            skip: single.skip.clone(),
        }],
        (None, false)
            if single.entry.is_none() && single.because.is_none() && single.skip.is_none() =>
        {
            if single.expect.iter().any(|r| !r.when.is_empty()) {
                return Err(HarnessError::invalid(
                    file_name,
                    format!("{key}.expect.when"),
                    "a single case has no axes to match",
                    "drop `when:`; use since/until to tell the releases apart",
                ));
            }
            alternatives(file_name, &key, &single.expect.iter().collect::<Vec<_>>())?
        }
        _ => {
            return Err(HarnessError::invalid(
                file_name,
                key,
                "a case needs either outcome (with entry/because/skip) or an expect list",
                "give one of them",
            ))
        }
    };
    Ok(context.case(id, Vec::new(), &[&single.body], alternatives))
}

/// The expectations the matching `rules` give, in order, up to and including
/// the first that holds for every release (later ones could never be chosen).
fn alternatives(
    file_name: &str,
    key: &str,
    rules: &[&Rule],
) -> Result<Vec<Alternative>, HarnessError> {
    let mut out = Vec::new();
    for rule in rules {
        let span = Span::parse(
            file_name,
            &format!("{key}.expect"),
            rule.since.as_deref(),
            rule.until.as_deref(),
        )?;
        let always = span.is_always();
        out.push(Alternative {
            span,
            expect: Expectation {
                outcome: rule.outcome.clone(),
                entry: rule.entry.clone(),
                because: rule.because.clone(),
            },
            skip: rule.skip.clone(),
        });
        if always {
            break;
        }
    }
    Ok(out)
}

/// Loads every `*.yaml` file under the given files or folders (sorted), and
/// checks that ids are unique across them.
pub fn load_paths(paths: &[PathBuf]) -> Result<Vec<Case>, HarnessError> {
    let mut files = Vec::new();
    for p in paths {
        collect(p, &mut files)?;
    }
    files.sort();
    let mut cases = Vec::new();
    let mut seen = BTreeSet::new();
    for f in files {
        for case in load_file(&f)? {
            if !seen.insert(case.id.clone()) {
                return Err(HarnessError::invalid(
                    f.display().to_string(),
                    &case.id,
                    "duplicate case id",
                    "rename the file or the case",
                ));
            }
            cases.push(case);
        }
    }
    Ok(cases)
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), HarnessError> {
    let meta = std::fs::metadata(path).map_err(|e| HarnessError::read(path, e))?;
    if meta.is_file() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let entries = std::fs::read_dir(path).map_err(|e| HarnessError::read(path, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| HarnessError::read(path, e))?;
        let p = entry.path();
        if p.is_dir() {
            collect(&p, out)?;
        } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(p);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(yaml: &str) -> Result<Vec<Case>, String> {
        load_str(Path::new("scenarios/zeebe-client/m.yaml"), yaml).map_err(|e| e.to_string())
    }

    const AXES: &str = "area: zeebe-client\ndescription: x\naxes:\n  gateway:\n    tls: {gateway: {}}\n    plain: {gateway: {}}\n  client:\n    a: {client: {kind: builtin}}\n    b: {client: {kind: builtin, plaintext: true}}\n";

    #[test]
    fn combinations_come_last_axis_fastest_minus_exclusions_then_single_cases() {
        let yaml = format!(
            "{AXES}exclude:\n  - {{gateway: plain, client: a}}\nexpect:\n  - outcome: connected(1)\n    because: x\ncases:\n  - name: one\n    body: {{gateway: {{}}, client: {{kind: builtin}}}}\n    outcome: connected(1)\n"
        );
        let ids: Vec<String> = load(&yaml)
            .unwrap()
            .iter()
            .map(|c| c.id().to_string())
            .collect();
        assert_eq!(
            ids,
            [
                "zeebe-client::m::tls.a",
                "zeebe-client::m::tls.b",
                "zeebe-client::m::plain.b",
                "zeebe-client::m::one"
            ]
        );
    }

    #[test]
    fn a_rule_naming_a_value_the_axis_lacks_is_refused() {
        let yaml = format!("{AXES}expect:\n  - when: {{client: c}}\n    outcome: connected(1)\n");
        let err = load(&yaml).unwrap_err();
        assert!(
            err.contains("expect.when.client: axis \"client\" has no value \"c\""),
            "{err}"
        );
    }

    #[test]
    fn two_cases_with_one_id_are_refused() {
        let yaml = "area: zeebe-client\ndescription: x\ncases:\n  - name: one\n    body: {}\n    outcome: connected(1)\n  - name: one\n    body: {}\n    outcome: connected(1)\n";
        let err = load(yaml).unwrap_err();
        assert!(
            err.contains("cases.one: duplicate case id zeebe-client::m::one"),
            "{err}"
        );
    }
}
