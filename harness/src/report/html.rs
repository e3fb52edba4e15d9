//! The HTML report: one self-contained file (no external assets), one matrix
//! per scenario file, cells coloured by outcome; hovering a cell shows the raw
//! text, clicking it opens the raw text, the node log and the fix.

use std::fmt::Write as _;

use super::matrix::{grids, mark};
use super::Totals;
use crate::engine::{CaseResult, Verdict};
use crate::redact::redact;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A stable colour per outcome family.
fn colour(outcome: &str) -> &'static str {
    const PALETTE: [&str; 8] = [
        "#f6c177", "#eb6f92", "#c4a7e7", "#9ccfd8", "#ebbcba", "#f2cdcd", "#e0def4", "#ffd6a5",
    ];
    if outcome.starts_with("connected") {
        return "#a6e3a1";
    }
    let sum: usize = outcome.bytes().map(usize::from).sum();
    PALETTE[sum % PALETTE.len()]
}

const STYLE: &str =
    "body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;margin-bottom:2em}\
th,td{border:1px solid #999;padding:3px 6px;font-size:12px;vertical-align:top}th{background:#eee}\
td.cell{min-width:11em}td.fail,td.error{outline:3px solid #d20f39}td.skip{opacity:.5}\
details summary{cursor:pointer}pre{white-space:pre-wrap;max-width:40em;font-size:11px}\
.legend span{display:inline-block;padding:2px 6px;margin:2px;border:1px solid #999}";

/// The HTML report.
pub fn html(results: &[CaseResult]) -> String {
    let t = Totals::of(results);
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>tlsmatrix report</title><style>{STYLE}</style></head><body>\
         <h1>tlsmatrix report</h1><p id=\"totals\">{} passed, {} failed, {} skipped, {} errors</p>",
        t.passed, t.failed, t.skipped, t.errors
    );
    let mut outcomes: Vec<String> = results
        .iter()
        .filter_map(|r| r.actual.as_ref().map(|a| a.outcome.id()))
        .collect();
    outcomes.sort();
    outcomes.dedup();
    let _ = write!(out, "<p class=\"legend\">");
    for o in &outcomes {
        let _ = write!(
            out,
            "<span style=\"background:{}\">{}</span>",
            colour(o),
            esc(o)
        );
    }
    let _ = write!(out, "</p>");
    for grid in grids(results) {
        let _ = write!(
            out,
            "<h2>{}</h2><table class=\"matrix\" data-file=\"{}\"><tr>",
            esc(&grid.title),
            esc(&grid.title)
        );
        for axis in &grid.row_axes {
            let _ = write!(out, "<th>{}</th>", esc(axis));
        }
        for c in &grid.columns {
            let _ = write!(out, "<th>{}={}</th>", esc(&grid.column_axis), esc(c));
        }
        let _ = write!(out, "</tr>");
        for (labels, cells) in &grid.rows {
            let _ = write!(out, "<tr>");
            for l in labels {
                let _ = write!(out, "<th>{}</th>", esc(l));
            }
            for cell in cells {
                match cell {
                    Some(r) => cell_html(&mut out, r),
                    None => {
                        let _ = write!(out, "<td></td>");
                    }
                }
            }
            let _ = write!(out, "</tr>");
        }
        let _ = write!(out, "</table>");
    }
    let _ = writeln!(out, "</body></html>");
    out
}

fn cell_html(out: &mut String, r: &CaseResult) {
    let class = match r.verdict {
        Verdict::Passed => "pass",
        Verdict::Failed => "fail",
        Verdict::Skipped { .. } => "skip",
        Verdict::Error { .. } => "error",
    };
    let outcome = r
        .actual
        .as_ref()
        .map(|a| a.outcome.id())
        .unwrap_or_else(|| "-".to_string());
    let dir = r.workdir.as_deref();
    let raw = match (&r.observation, &r.verdict) {
        (Some(obs), _) => redact(obs.text(), dir),
        (None, Verdict::Skipped { reason }) => reason.clone(),
        (None, Verdict::Error { message }) => message.clone(),
        _ => String::new(),
    };
    let logs = r
        .observation
        .as_ref()
        .map(|o| {
            o.node_logs
                .iter()
                .map(|l| redact(l, dir))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default();
    let _ = write!(
        out,
        "<td class=\"cell {class}\" id=\"{}\" data-outcome=\"{}\" data-expected=\"{}\" style=\"background:{}\" title=\"{}\">\
         <details><summary>{} {}</summary><pre>{}</pre>",
        esc(&r.case.id),
        esc(&outcome),
        esc(&r.expect().outcome.id()),
        colour(&outcome),
        esc(&raw),
        mark(&r.verdict),
        esc(&outcome),
        esc(&raw)
    );
    if !logs.is_empty() {
        let _ = write!(out, "<pre>node log:\n{}</pre>", esc(&logs));
    }
    if r.verdict == Verdict::Failed {
        let _ = write!(out, "<p>expected {}</p>", esc(&r.expect().outcome.id()));
    }
    if let Some(fix) = r.fix() {
        let _ = write!(out, "<p><b>fix:</b> {}</p>", esc(&fix));
    }
    let _ = write!(out, "</details></td>");
}
