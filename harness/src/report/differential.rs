//! Differential runs: the same case on every value of the `backend` axis must
//! give the same classification and the same redacted text. The first value of
//! the axis (the reference) is compared with each of the others.

use super::snapshot_text;
use crate::engine::CaseResult;
use crate::scenario::Case;

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

/// The reference twin of `case` among `cases`: the case of the same file with
/// the same labels but the first value of the [`AXIS`] axis (the expansion
/// lists it first). `None` when `case` has no such axis or is the reference.
pub fn reference_of<'a>(
    case: &Case,
    cases: impl IntoIterator<Item = &'a Case>,
) -> Option<&'a Case> {
    let (axis, value) = case.labels.last()?;
    if axis != AXIS {
        return None;
    }
    let n = case.labels.len();
    let reference = cases.into_iter().find(|o| {
        o.source == case.source
            && o.version == case.version
            && o.labels.len() == n
            && o.labels[..n - 1] == case.labels[..n - 1]
    })?;
    (reference.labels[n - 1].1 != *value).then_some(reference)
}

/// Compares every non-reference backend's result with its reference; returns
/// the number of pairs compared and the differences.
pub fn differences(results: &[CaseResult]) -> (usize, Vec<Difference>) {
    let mut pairs = 0;
    let mut diffs = Vec::new();
    for r in results.iter().filter(|r| r.actual.is_some()) {
        let Some(twin) = reference_of(&r.case, results.iter().map(|o| o.case.as_ref())) else {
            continue;
        };
        let Some(reference) = results
            .iter()
            .find(|o| o.case.id == twin.id && o.actual.is_some())
        else {
            continue;
        };
        pairs += 1;
        let expected = comparable(&snapshot_text(reference));
        let actual = comparable(&snapshot_text(r));
        if expected != actual {
            diffs.push(Difference {
                reference: reference.case.id.to_string(),
                other: r.case.id.to_string(),
                expected,
                actual,
            });
        }
    }
    (pairs, diffs)
}
