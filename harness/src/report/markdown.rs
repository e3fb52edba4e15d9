//! Markdown report: a summary line and one matrix per scenario file.

use std::fmt::Write as _;

use super::matrix::{grids, mark};
use super::Totals;
use crate::engine::CaseResult;

/// The Markdown report.
pub fn markdown(results: &[CaseResult]) -> String {
    let t = Totals::of(results);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# tlsmatrix report\n\n{} passed, {} failed, {} skipped, {} errors\n",
        t.passed, t.failed, t.skipped, t.errors
    );
    for grid in grids(results) {
        let _ = writeln!(out, "## {}\n", grid.title);
        let mut header: Vec<String> = grid.row_axes.clone();
        header.extend(
            grid.columns
                .iter()
                .map(|c| format!("{}={c}", grid.column_axis)),
        );
        let _ = writeln!(out, "| {} |", header.join(" | "));
        let _ = writeln!(out, "|{}", " --- |".repeat(header.len()));
        for (labels, cells) in &grid.rows {
            let mut row = labels.clone();
            row.extend(cells.iter().map(|c| match c {
                Some(r) => format!(
                    "{} {}",
                    mark(&r.verdict),
                    r.actual.as_ref().map(|a| a.outcome.id()).unwrap_or_else(|| "-".into())
                ),
                None => String::new(),
            }));
            let _ = writeln!(out, "| {} |", row.join(" | "));
        }
        let _ = writeln!(out);
    }
    out
}
