//! Markdown report: a summary line and one matrix per scenario file.

use std::fmt::Write as _;

use super::matrix::{differs, grids, mark};
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
        header.extend(grid.columns.iter().cloned());
        let _ = writeln!(out, "| {} |", header.join(" | "));
        let _ = writeln!(out, "|{}", " --- |".repeat(header.len()));
        for (labels, cells) in &grid.rows {
            let mut row = labels.clone();
            row.extend(cells.iter().map(|cell| {
                let runs: Vec<String> = cell
                    .iter()
                    .map(|r| {
                        format!(
                            "{} {}",
                            mark(&r.verdict),
                            r.actual
                                .as_ref()
                                .map(|a| a.outcome.id())
                                .unwrap_or_else(|| "-".into())
                        )
                    })
                    .collect();
                let joined = runs.join(" / ");
                if differs(cell) {
                    format!("≠ {joined}")
                } else {
                    joined
                }
            }));
            let _ = writeln!(out, "| {} |", row.join(" | "));
        }
        let _ = writeln!(out);
    }
    out
}
