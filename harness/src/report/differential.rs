//! Differential runs: the same case on every value of the `backend` axis must
//! give the same classification and the same redacted text. The first value of
//! the axis (the reference) is compared with each of the others.

use std::collections::BTreeMap;

use super::snapshot_text;
use crate::engine::CaseResult;

/// The axis whose values are compared.
pub const AXIS: &str = "backend";

/// The part of a snapshot that must agree across backends: outcome, entry, the
/// client's output and the node log. For a node that refused to start, only the
/// outcome and the entry (each implementation words its startup error its own way).
pub fn comparable(snapshot: &str) -> String {
    let body = snapshot.rsplit_once("\n---\n").map_or(snapshot, |(_, b)| b);
    let startup_refusal = body.lines().any(|l| l == "peer: gateway");
    body.lines()
        .filter(|l| !l.starts_with("case: "))
        .take_while(|l| !(startup_refusal && l.starts_with("--- ")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// One case that differs from its reference.
#[derive(Debug, Clone)]
pub struct Difference {
    /// The reference case.
    pub reference: String,
    /// The other backend's case.
    pub other: String,
    /// The reference's comparable text.
    pub expected: String,
    /// The other's comparable text.
    pub actual: String,
}

/// The case id with the backend label replaced by `value`.
pub fn counterpart(id: &str, from: &str, to: &str) -> Option<String> {
    id.strip_suffix(&format!(".{from}"))
        .map(|stem| format!("{stem}.{to}"))
}

/// Compares every non-reference backend's result with its reference; returns
/// the number of pairs compared and the differences.
pub fn differences(results: &[CaseResult]) -> (usize, Vec<Difference>) {
    let by_id: BTreeMap<&str, &CaseResult> =
        results.iter().map(|r| (r.case.id.as_str(), r)).collect();
    let mut pairs = 0;
    let mut diffs = Vec::new();
    for r in results {
        let labels = &r.case.labels;
        let Some((axis, value)) = labels.last() else {
            continue;
        };
        if axis != AXIS || r.actual.is_none() {
            continue;
        }
        // The reference is the case with the axis's first value, which the
        // expansion lists first: find it among results by label.
        let Some(reference) = results.iter().find(|o| {
            o.case.labels.len() == labels.len()
                && o.case.labels[..labels.len() - 1] == labels[..labels.len() - 1]
                && o.case.source == r.case.source
        }) else {
            continue;
        };
        let ref_value = &reference.case.labels[labels.len() - 1].1;
        if ref_value == value
            || reference.actual.is_none()
            || !by_id.contains_key(reference.case.id.as_str())
        {
            continue;
        }
        pairs += 1;
        let expected = comparable(&snapshot_text(reference));
        let actual = comparable(&snapshot_text(r));
        if expected != actual {
            diffs.push(Difference {
                reference: reference.case.id.clone(),
                other: r.case.id.clone(),
                expected,
                actual,
            });
        }
    }
    (pairs, diffs)
}
