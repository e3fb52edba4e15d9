//! The matrix view of results: one grid per scenario file, chosen from the
//! scenario's own axes. Rows are the server-side axis values (gateway,
//! certificates, setup, listener, ...), columns the client-side ones (client,
//! transport, CA, environment, credentials, ...), and each cell holds the
//! case once per backend, the reference first, so a reference and an oracle
//! that disagree sit side by side.
//!
//! Which side an axis is on is read from its name ([`side`]); a file without
//! axes (single cases) gets one row per case.

use std::collections::BTreeMap;

use crate::engine::{CaseResult, Verdict};

/// Where an axis varies things.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The server, gateway, cluster or what it serves (rows).
    Server,
    /// The client: which one, how it dials, what it trusts (columns).
    Client,
    /// Which implementation runs the nodes: the reference or an oracle
    /// (side by side in a cell).
    Backend,
}

/// The side an axis is on, from its name: `client`, `transport`, `ca`, `env`,
/// `value`, `code`, `client-cert`, `credentials`, `token` and `action` vary
/// the client; `backend` is the reference-or-oracle axis when its values are
/// backends; every other axis varies the server side.
pub fn side(axis: &str, values: &[String]) -> Side {
    const CLIENT: &[&str] = &[
        "client",
        "transport",
        "ca",
        "env",
        "value",
        "code",
        "client-cert",
        "credentials",
        "token",
        "action",
    ];
    if axis == "backend"
        && values
            .iter()
            .all(|v| v == "embedded" || v == "containers" || v.ends_with("oracle"))
    {
        Side::Backend
    } else if CLIENT.contains(&axis) {
        Side::Client
    } else {
        Side::Server
    }
}

/// One grid.
pub struct Grid<'a> {
    /// The scenario file stem (`area::file`).
    pub title: String,
    /// The area.
    pub area: String,
    /// The server-side axis names (row headers).
    pub row_axes: Vec<String>,
    /// The client-side axis names (the column label's parts).
    pub column_axes: Vec<String>,
    /// Column labels (client-side values joined with `·`), in first-seen order.
    pub columns: Vec<String>,
    /// Row label values and, per column, the results (one per backend,
    /// reference first; empty when the combination is excluded).
    pub rows: Vec<(Vec<String>, Vec<Vec<&'a CaseResult>>)>,
}

impl Grid<'_> {
    /// Cells whose backends give different outcomes.
    pub fn differing(&self) -> usize {
        self.rows
            .iter()
            .flat_map(|(_, cells)| cells)
            .filter(|cell| differs(cell))
            .count()
    }
}

/// True when the results in one cell (one per backend) disagree on the outcome.
pub fn differs(cell: &[&CaseResult]) -> bool {
    let mut outcomes = cell
        .iter()
        .filter(|r| !matches!(r.verdict, Verdict::Skipped { .. }))
        .map(|r| r.actual.as_ref().map(|a| a.outcome.id()));
    let Some(first) = outcomes.next() else {
        return false;
    };
    outcomes.any(|o| o != first)
}

/// The backend of a result: its `backend` axis value, else `reference`.
pub fn backend_of(r: &CaseResult) -> String {
    r.case
        .labels
        .iter()
        .find(|(a, _)| a == "backend")
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| "reference".to_string())
}

/// Groups results into one grid per scenario file, in result order.
pub fn grids(results: &[CaseResult]) -> Vec<Grid<'_>> {
    let mut order: Vec<String> = Vec::new();
    let mut by_file: BTreeMap<String, Vec<&CaseResult>> = BTreeMap::new();
    for r in results {
        let file = r
            .case
            .id
            .rsplit_once("::")
            .map(|(f, _)| f.to_string())
            .unwrap_or_default();
        if !by_file.contains_key(&file) {
            order.push(file.clone());
        }
        by_file.entry(file).or_default().push(r);
    }
    order
        .into_iter()
        .map(|file| grid(file.clone(), &by_file[&file]))
        .collect()
}

/// Each axis of the cases' labels with the values it takes, in first-seen
/// order.
fn axes_of(cases: &[&CaseResult]) -> Vec<(String, Vec<String>)> {
    let mut axes: Vec<(String, Vec<String>)> = Vec::new();
    for r in cases {
        for (a, v) in &r.case.labels {
            match axes.iter_mut().find(|(name, _)| name == a) {
                Some((_, values)) if !values.contains(v) => values.push(v.clone()),
                Some(_) => {}
                None => axes.push((a.clone(), vec![v.clone()])),
            }
        }
    }
    axes
}

/// The results placed in one row and column: the reference first, then the
/// oracles.
fn cell<'a>(
    placed: &[(Vec<String>, String, &'a CaseResult)],
    row: &[String],
    column: &str,
) -> Vec<&'a CaseResult> {
    let mut cell: Vec<&CaseResult> = placed
        .iter()
        .filter(|(r, col, _)| r == row && col == column)
        .map(|(_, _, res)| *res)
        .collect();
    cell.sort_by_key(|r| backend_of(r) != "embedded" && backend_of(r) != "reference");
    cell
}

fn grid<'a>(title: String, cases: &[&'a CaseResult]) -> Grid<'a> {
    let area = cases
        .first()
        .map(|r| r.case.area.to_string())
        .unwrap_or_default();
    let labelled = cases.iter().all(|r| !r.case.labels.is_empty());
    let axes = if labelled { axes_of(cases) } else { Vec::new() };
    let sides: BTreeMap<String, Side> = axes
        .iter()
        .map(|(a, values)| (a.clone(), side(a, values)))
        .collect();
    let named = |s: Side| -> Vec<String> {
        axes.iter()
            .filter(|(a, _)| sides[a] == s)
            .map(|(a, _)| a.clone())
            .collect()
    };
    let (row_axes, column_axes) = if labelled {
        (named(Side::Server), named(Side::Client))
    } else {
        (vec!["case".to_string()], Vec::new())
    };
    let key = |r: &CaseResult, s: Side| -> Vec<String> {
        r.case
            .labels
            .iter()
            .filter(|(a, _)| sides.get(a) == Some(&s))
            .map(|(_, v)| v.clone())
            .collect()
    };
    let mut columns: Vec<String> = Vec::new();
    let mut rows: Vec<(Vec<String>, Vec<Vec<&CaseResult>>)> = Vec::new();
    let mut placed: Vec<(Vec<String>, String, &CaseResult)> = Vec::new();
    for r in cases {
        let (row, col) = if labelled {
            let col = key(r, Side::Client).join(" · ");
            (
                key(r, Side::Server),
                if col.is_empty() {
                    "outcome".into()
                } else {
                    col
                },
            )
        } else {
            (
                vec![r
                    .case
                    .id
                    .rsplit("::")
                    .next()
                    .unwrap_or_default()
                    .to_string()],
                "outcome".to_string(),
            )
        };
        if !columns.contains(&col) {
            columns.push(col.clone());
        }
        if !rows.iter().any(|(k, _)| *k == row) {
            rows.push((row.clone(), Vec::new()));
        }
        placed.push((row, col, *r));
    }
    for (row, cells) in rows.iter_mut() {
        *cells = columns.iter().map(|c| cell(&placed, row, c)).collect();
    }
    Grid {
        title,
        area,
        row_axes,
        column_axes,
        columns,
        rows,
    }
}

/// A short mark for a verdict.
pub fn mark(v: &Verdict) -> &'static str {
    match v {
        Verdict::Passed => "✓",
        Verdict::Failed => "✗",
        Verdict::Skipped { .. } => "–",
        Verdict::Error { .. } => "!",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_take_their_side_from_their_name() {
        let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(side("client", &v(&["zbctl"])), Side::Client);
        assert_eq!(side("transport", &v(&["tls"])), Side::Client);
        assert_eq!(side("gateway", &v(&["gw-tls"])), Side::Server);
        assert_eq!(side("material", &v(&["expired"])), Side::Server);
        assert_eq!(
            side("backend", &v(&["embedded", "netty-oracle"])),
            Side::Backend
        );
        // http-gateway's KrakenD backends are server-side configuration.
        assert_eq!(side("backend", &v(&["mtls-backend"])), Side::Server);
    }
}
