//! The matrix view of results: one grid per scenario file, columns from its
//! last axis, rows from the combinations of the others.

use std::collections::BTreeMap;

use crate::engine::{CaseResult, Verdict};

/// One grid.
pub struct Grid<'a> {
    /// The scenario file stem (`area::file`).
    pub title: String,
    /// The axis names of the rows, then the column axis.
    pub row_axes: Vec<String>,
    /// The column axis's name.
    pub column_axis: String,
    /// Column values, in first-seen order.
    pub columns: Vec<String>,
    /// Row label values and the result per column.
    pub rows: Vec<(Vec<String>, Vec<Option<&'a CaseResult>>)>,
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
        .map(|file| {
            let cases = &by_file[&file];
            let labelled = cases.iter().all(|r| !r.case.labels.is_empty());
            let (row_axes, column_axis) = if labelled {
                let axes: Vec<String> = cases[0]
                    .case
                    .labels
                    .iter()
                    .map(|(a, _)| a.clone())
                    .collect();
                rows_and_column(&axes)
            } else {
                (vec!["case".to_string()], "outcome".to_string())
            };
            let mut columns: Vec<String> = Vec::new();
            let mut rows: Vec<(Vec<String>, Vec<Option<&CaseResult>>)> = Vec::new();
            let mut placed: Vec<(Vec<String>, String, &CaseResult)> = Vec::new();
            for r in cases {
                let (row, col) = if labelled {
                    let values: Vec<String> =
                        r.case.labels.iter().map(|(_, v)| v.clone()).collect();
                    rows_and_column(&values)
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
                placed.push((row, col, r));
            }
            for (row, cells) in rows.iter_mut() {
                *cells = columns
                    .iter()
                    .map(|c| {
                        placed
                            .iter()
                            .find(|(r, col, _)| r == row && col == c)
                            .map(|(_, _, res)| *res)
                    })
                    .collect();
            }
            Grid {
                title: file,
                row_axes,
                column_axis,
                columns,
                rows,
            }
        })
        .collect()
}

/// Splits labels into the row part (all but the last) and the column (the last).
fn rows_and_column(labels: &[String]) -> (Vec<String>, String) {
    labels
        .split_last()
        .map(|(last, rest)| (rest.to_vec(), last.clone()))
        .unwrap_or_default()
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
