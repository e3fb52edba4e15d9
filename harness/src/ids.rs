//! Names with a grammar: area names, catalogue entry ids and case ids. Each is
//! its own type, so an entry id cannot be passed where an area is meant, and a
//! bad one is refused where it is read (a scenario, a catalogue, a report),
//! with the file, the key and the fix.
//!
//! The grammar (ASCII only):
//!
//! ```text
//! label    = 1*( lower / digit / "-" )          ; axis values, case names, file stems
//! area     = lower *( lower / digit / "-" )     ; zeebe-client, http-gateway
//! entry    = ( area / "common" ) "::" label      ; zeebe-client::unknown-authority
//! case-id  = area "::" label "::" label *( "." label ) [ "@" release ]
//! release  = 1*( lower / digit / "." / "-" )    ; 8.4.0
//! ```
//!
//! A case id names its area, its scenario file and its axis values (or its
//! single case's name) in order; `--backend containers` appends `.containers`
//! and a run against an older release appends `@release`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A `label`: lower-case letters, digits and dashes, not empty.
pub fn is_label(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn is_area(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase()) && is_label(s)
}

fn is_release(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
}

/// Why a name was refused: the serde message a scenario or catalogue error
/// shows (it starts `invalid name`, which [`crate::error`] maps to the fix).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid name {value:?}: {grammar}")]
pub struct NameError {
    /// The refused text.
    pub value: String,
    /// What the grammar asks for.
    pub grammar: &'static str,
}

impl NameError {
    /// This refusal as a harness error naming the file and the key.
    pub fn at(self, file: impl Into<String>, key: impl Into<String>) -> crate::error::HarnessError {
        crate::error::HarnessError::invalid(
            file,
            key,
            format!("{:?} is not a valid name", self.value),
            self.grammar,
        )
    }
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $check:expr, $grammar:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// What the grammar asks for, as error messages say it.
            pub const GRAMMAR: &'static str = $grammar;

            /// Checks `value` against the grammar.
            pub fn parse(value: impl Into<String>) -> Result<Self, NameError> {
                let value = value.into();
                let check: fn(&str) -> bool = $check;
                if check(&value) {
                    Ok(Self(value))
                } else {
                    Err(NameError {
                        value,
                        grammar: Self::GRAMMAR,
                    })
                }
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = NameError;
            fn try_from(value: String) -> Result<Self, NameError> {
                Self::parse(value)
            }
        }

        impl std::str::FromStr for $name {
            type Err = NameError;
            fn from_str(value: &str) -> Result<Self, NameError> {
                Self::parse(value)
            }
        }

        impl From<$name> for String {
            fn from(name: $name) -> String {
                name.0
            }
        }

        impl From<&$name> for String {
            fn from(name: &$name) -> String {
                name.0.clone()
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<std::path::Path> for $name {
            fn as_ref(&self) -> &std::path::Path {
                std::path::Path::new(&self.0)
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl PartialEq<$name> for str {
            fn eq(&self, other: &$name) -> bool {
                self == other.0
            }
        }

        impl PartialEq<$name> for &str {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }
    };
}

name_type!(
    /// An area's name (`zeebe-client`): its folder under `scenarios/` and
    /// `snapshots/`, and the first part of its case and entry ids.
    AreaName,
    is_area,
    "an area name is lower-case letters, digits and dashes, starting with a letter (zeebe-client)"
);

name_type!(
    /// A catalogue entry's id (`zeebe-client::unknown-authority`): the owning
    /// area (or `common`), `::`, a label.
    EntryId,
    |s| s
        .split_once("::")
        .is_some_and(|(owner, name)| is_area(owner) && is_label(name)),
    "an entry id is area::name, lower-case letters, digits and dashes (zeebe-client::unknown-authority)"
);

name_type!(
    /// A case's stable id (`zeebe-client::certificates::valid.zbctl`), also
    /// its test name and snapshot name.
    CaseId,
    |s| {
        let (id, release) = match s.split_once('@') {
            Some((id, release)) => (id, Some(release)),
            None => (s, None),
        };
        let mut parts = id.splitn(3, "::");
        let (Some(area), Some(file), Some(rest)) = (parts.next(), parts.next(), parts.next())
        else {
            return false;
        };
        is_area(area)
            && is_label(file)
            && rest.split('.').all(is_label)
            && release.is_none_or(is_release)
    },
    "a case id is area::file::value.value..., lower-case letters, digits and dashes, with an optional @release"
);

impl EntryId {
    /// The owner: an area's name or `common`.
    pub fn owner(&self) -> &str {
        self.0.split_once("::").map_or("", |(owner, _)| owner)
    }
}

impl CaseId {
    /// The id of case `name` (axis values joined by `.`, or a single case's
    /// name) of scenario file `stem` in `area`.
    pub fn new(area: &AreaName, stem: &str, name: &str) -> Result<Self, NameError> {
        Self::parse(format!("{area}::{stem}::{name}"))
    }

    /// The id without its `@release` suffix, and the release.
    pub fn split_release(&self) -> (&str, Option<&str>) {
        match self.0.split_once('@') {
            Some((id, release)) => (id, Some(release)),
            None => (&self.0, None),
        }
    }

    /// This id run against `release` (`…@8.4.0`).
    pub fn at_release(&self, release: &str) -> Result<Self, NameError> {
        Self::parse(format!("{}@{release}", self.split_release().0))
    }

    /// This id with its last value replaced (`.embedded` → `.containers`) or,
    /// when it does not end in `from`, with `.to` appended; a release suffix
    /// stays last.
    pub fn retarget(&self, from: &str, to: &str) -> Result<Self, NameError> {
        let (id, release) = self.split_release();
        let id = match id.strip_suffix(&format!(".{from}")) {
            Some(stem) => format!("{stem}.{to}"),
            None => format!("{id}.{to}"),
        };
        Self::parse(match release {
            Some(release) => format!("{id}@{release}"),
            None => id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grammar_accepts_the_shipped_shapes_and_refuses_the_rest() {
        assert!(AreaName::parse("zeebe-client").is_ok());
        assert!(AreaName::parse("Zeebe").is_err());
        assert!(AreaName::parse("1area").is_err());
        assert!(AreaName::parse("").is_err());
        assert!(EntryId::parse("common::connection-refused").is_ok());
        assert!(EntryId::parse("zeebe-client::unknown-authority").is_ok());
        assert!(EntryId::parse("unknown-authority").is_err());
        assert!(EntryId::parse("zeebe-client::Unknown").is_err());
        assert!(EntryId::parse("zeebe-client::").is_err());
        assert!(CaseId::parse("zeebe-client::certificates::valid.zbctl").is_ok());
        assert!(CaseId::parse("zeebe-client::keys::pkcs1.builtin@8.4.0").is_ok());
        assert!(CaseId::parse("zeebe-client::certificates").is_err());
        assert!(CaseId::parse("zeebe-client::certificates::valid..zbctl").is_err());
        assert!(CaseId::parse("zeebe-client::x::a@").is_err());
    }

    #[test]
    fn a_refused_name_says_the_grammar() {
        let err = EntryId::parse("Unknown").unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("invalid name \"Unknown\": {}", EntryId::GRAMMAR)
        );
    }

    #[test]
    fn retargeting_keeps_the_release_last() {
        let id = CaseId::parse("zeebe-client::keys::pkcs1.embedded@8.4.0").unwrap();
        assert_eq!(
            id.retarget("embedded", "containers").unwrap(),
            "zeebe-client::keys::pkcs1.containers@8.4.0"
        );
        let id = CaseId::parse("zeebe-cluster::c::one").unwrap();
        assert_eq!(
            id.retarget("embedded", "containers").unwrap(),
            "zeebe-cluster::c::one.containers"
        );
        assert_eq!(
            id.at_release("8.4.1").unwrap(),
            "zeebe-cluster::c::one@8.4.1"
        );
    }
}
