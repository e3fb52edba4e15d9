//! The scenario file schema (serde, unknown fields denied).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_yaml_ng::{Mapping, Value};

use crate::hosts::Hosts;
use crate::ids::{AreaName, EntryId};
use crate::outcome::Outcome;
use crate::pki::PkiSpec;

/// One scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ScenarioFile {
    /// The area; must equal the folder the file lives in.
    pub(crate) area: AreaName,
    /// What this matrix shows.
    pub(crate) description: String,
    /// Certificates every case of the file gets, written to the case directory.
    #[serde(default)]
    pub(crate) pki: PkiSpec,
    /// The user's host names and the addresses they resolve to for every
    /// client of the file's cases (see [`crate::hosts`]).
    #[serde(default)]
    pub(crate) hosts: Hosts,
    /// The case body every expanded case starts from.
    #[serde(default)]
    pub(crate) base: Value,
    /// Axis name → (value name → body fragment), in order.
    #[serde(default)]
    pub(crate) axes: Mapping,
    /// Combinations to leave out: each rule maps axis names to a value or a list.
    #[serde(default)]
    pub(crate) exclude: Vec<BTreeMap<String, OneOrMany>>,
    /// Expected outcomes, first matching rule wins.
    #[serde(default)]
    pub(crate) expect: Vec<Rule>,
    /// Hand-written single cases.
    #[serde(default)]
    pub(crate) cases: Vec<SingleCase>,
}

impl ScenarioFile {
    /// What this matrix shows (the file's `description:`).
    pub fn description(&self) -> &str {
        &self.description
    }
}

/// A value or a list of values.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One value.
    One(String),
    /// Any of several values.
    Many(Vec<String>),
}

impl OneOrMany {
    /// True when `value` is (one of) the value(s).
    pub fn contains(&self, value: &str) -> bool {
        match self {
            Self::One(v) => v == value,
            Self::Many(vs) => vs.iter().any(|v| v == value),
        }
    }

    /// The values.
    pub fn values(&self) -> Vec<&str> {
        match self {
            Self::One(v) => vec![v.as_str()],
            Self::Many(vs) => vs.iter().map(String::as_str).collect(),
        }
    }
}

/// An expectation rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Rule {
    /// Axis name → value(s); an empty `when` matches every case.
    #[serde(default)]
    pub(crate) when: BTreeMap<String, OneOrMany>,
    /// The expected outcome.
    pub(crate) outcome: Outcome,
    /// The catalogue entry the outcome must be explained by, if any.
    #[serde(default)]
    pub(crate) entry: Option<EntryId>,
    /// Why the rule holds: the documentation, a measured fact, a difference
    /// between clients.
    #[serde(default)]
    pub(crate) because: Option<String>,
    /// A reason to skip the matched cases instead of running them.
    #[serde(default)]
    pub(crate) skip: Option<String>,
    /// The first product release the rule holds for (inclusive); the rule
    /// is passed over for older releases (see [`crate::version`]).
    #[serde(default)]
    pub(crate) since: Option<String>,
    /// The first product release the rule no longer holds for (exclusive).
    #[serde(default)]
    pub(crate) until: Option<String>,
}

/// A hand-written case.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SingleCase {
    /// The last segment of the id.
    pub(crate) name: String,
    /// Body fragment merged over `base`.
    pub(crate) body: Value,
    /// The expected outcome (or give `expect:` alternatives instead).
    #[serde(default)]
    pub(crate) outcome: Option<Outcome>,
    /// The catalogue entry the outcome must be explained by, if any.
    #[serde(default)]
    pub(crate) entry: Option<EntryId>,
    /// Why.
    #[serde(default)]
    pub(crate) because: Option<String>,
    /// A reason to skip the case.
    #[serde(default)]
    pub(crate) skip: Option<String>,
    /// Instead of `outcome`: expectations per product release, first
    /// holding one wins (each a rule without `when`, with `since`/`until`).
    #[serde(default)]
    pub(crate) expect: Vec<Rule>,
}
