//! The HTML report: one self-contained file (no external assets). A summary
//! per area, then one grid per scenario file: rows are the server-side axis
//! values, columns the client-side ones (see [`super::matrix`]); each cell
//! shows the case once per backend, the reference first, coloured by outcome
//! with a colour-blind-safe palette (Okabe–Ito) and marked with a symbol, so
//! colour is never the only signal. A cell where the reference and an oracle
//! disagree is outlined and marked `≠`. Every case links to its detail block
//! (raw text, node log, fix), shown when its link is followed.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::matrix::{backend_of, differs, grids, mark};
use super::Totals;
use crate::engine::{CaseResult, Verdict};
use crate::redact::redact;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An anchor-safe id for a case.
fn anchor(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A colour per outcome from the Okabe–Ito palette, which stays distinct
/// under the common colour-vision deficiencies; success is bluish green.
/// Returns (background, text colour).
fn colour(outcome: &str) -> (&'static str, &'static str) {
    const PALETTE: [(&str, &str); 7] = [
        ("#E69F00", "#000"),
        ("#56B4E9", "#000"),
        ("#F0E442", "#000"),
        ("#0072B2", "#fff"),
        ("#D55E00", "#fff"),
        ("#CC79A7", "#000"),
        ("#BBBBBB", "#000"),
    ];
    if outcome.starts_with("connected") || outcome == "succeeded" {
        return ("#009E73", "#fff");
    }
    if outcome == "-" {
        // Not run (skipped, or a harness error): no outcome colour.
        return ("#EEEEEE", "#000");
    }
    let sum: usize = outcome.bytes().map(usize::from).sum();
    PALETTE[sum % PALETTE.len()]
}

const STYLE: &str = "body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;margin-bottom:1.5em}\
th,td{border:1px solid #999;padding:3px 5px;font-size:12px;vertical-align:top}th{background:#eee}\
td.cell{white-space:nowrap}td.cell.differs{outline:3px dashed #000}\
a.run{display:inline-block;padding:2px 4px;margin:1px;text-decoration:none;border-radius:3px}\
a.run.fail,a.run.error{outline:3px solid #000}a.run.skip{opacity:.45}a.run small{display:block;font-size:10px}\
.detail{display:none;border:1px solid #999;padding:.5em;margin:.5em 0}.detail:target{display:block}\
pre{white-space:pre-wrap;max-width:60em;font-size:11px}.legend span{display:inline-block;padding:2px 6px;margin:2px}";

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
    let grids = grids(results);
    summary(&mut out, results, &grids);
    legend(&mut out, results);
    for grid in &grids {
        let _ = write!(
            out,
            "<h2 id=\"grid-{}\">{}</h2><p class=\"axes\">rows: {} · columns: {}</p>\
             <table class=\"grid\" data-file=\"{}\" data-differs=\"{}\"><tr>",
            anchor(&grid.title),
            esc(&grid.title),
            esc(&grid.row_axes.join(", ")),
            esc(&if grid.column_axes.is_empty() {
                "outcome".to_string()
            } else {
                grid.column_axes.join(" · ")
            }),
            esc(&grid.title),
            grid.differing()
        );
        for axis in &grid.row_axes {
            let _ = write!(out, "<th>{}</th>", esc(axis));
        }
        for c in &grid.columns {
            let _ = write!(out, "<th class=\"col\">{}</th>", esc(c));
        }
        let _ = write!(out, "</tr>");
        for (labels, cells) in &grid.rows {
            let _ = write!(out, "<tr>");
            for l in labels {
                let _ = write!(out, "<th>{}</th>", esc(l));
            }
            for cell in cells {
                let diff = differs(cell);
                let _ = write!(
                    out,
                    "<td class=\"cell{}\"{}>",
                    if diff { " differs" } else { "" },
                    if diff {
                        " title=\"the backends disagree\""
                    } else {
                        ""
                    }
                );
                if diff {
                    let _ = write!(out, "≠ ");
                }
                for r in cell {
                    run_link(&mut out, r, cell.len() > 1);
                }
                let _ = write!(out, "</td>");
            }
            let _ = write!(out, "</tr>");
        }
        let _ = write!(out, "</table><div class=\"details\">");
        for (_, cells) in &grid.rows {
            for r in cells.iter().flatten() {
                detail(&mut out, r);
            }
        }
        let _ = write!(out, "</div>");
    }
    let _ = writeln!(out, "</body></html>");
    out
}

fn summary(out: &mut String, results: &[CaseResult], grids: &[super::matrix::Grid<'_>]) {
    let mut areas: BTreeMap<&str, [usize; 5]> = BTreeMap::new();
    for r in results {
        let row = areas.entry(r.case.area.as_str()).or_default();
        match r.verdict {
            Verdict::Passed => row[0] += 1,
            Verdict::Failed => row[1] += 1,
            Verdict::Skipped { .. } => row[2] += 1,
            Verdict::Error { .. } => row[3] += 1,
        }
    }
    for g in grids {
        if let Some(row) = areas.get_mut(g.area.as_str()) {
            row[4] += g.differing();
        }
    }
    let _ = write!(
        out,
        "<table class=\"summary\"><tr><th>area</th><th>passed</th><th>failed</th><th>skipped</th><th>errors</th><th>cells where backends differ</th><th>grids</th></tr>"
    );
    for (area, [p, f, s, e, d]) in &areas {
        let links: Vec<String> = grids
            .iter()
            .filter(|g| g.area == *area)
            .map(|g| {
                format!(
                    "<a href=\"#grid-{}\">{}</a>",
                    anchor(&g.title),
                    esc(g.title.rsplit("::").next().unwrap_or(&g.title))
                )
            })
            .collect();
        let _ = write!(
            out,
            "<tr data-area=\"{}\"><th>{}</th><td>{p}</td><td>{f}</td><td>{s}</td><td>{e}</td><td>{d}</td><td>{}</td></tr>",
            esc(area),
            esc(area),
            links.join(" ")
        );
    }
    let _ = write!(out, "</table>");
}

fn legend(out: &mut String, results: &[CaseResult]) {
    let mut outcomes: Vec<String> = results
        .iter()
        .filter_map(|r| r.actual.as_ref().map(|a| a.outcome.id()))
        .collect();
    outcomes.sort();
    outcomes.dedup();
    let _ = write!(
        out,
        "<p class=\"legend\">✓ as expected · ✗ not as expected · – skipped · ! harness error · ≠ backends differ<br>"
    );
    for o in &outcomes {
        let (bg, fg) = colour(o);
        let _ = write!(
            out,
            "<span style=\"background:{bg};color:{fg}\">{}</span>",
            esc(o)
        );
    }
    let _ = write!(out, "</p>");
}

fn class(r: &CaseResult) -> &'static str {
    match r.verdict {
        Verdict::Passed => "pass",
        Verdict::Failed => "fail",
        Verdict::Skipped { .. } => "skip",
        Verdict::Error { .. } => "error",
    }
}

fn outcome(r: &CaseResult) -> String {
    r.actual
        .as_ref()
        .map(|a| a.outcome.id())
        .unwrap_or_else(|| "-".to_string())
}

/// One case's run in a cell: mark, backend (when the cell holds more than
/// one), outcome, and the catalogue case when its name says more.
fn run_link(out: &mut String, r: &CaseResult, show_backend: bool) {
    let outcome = outcome(r);
    let (bg, fg) = colour(&outcome);
    let entry = r
        .actual
        .as_ref()
        .and_then(|a| a.entry.as_deref())
        .map(|e| e.rsplit("::").next().unwrap_or(e).to_string())
        .filter(|e| *e != outcome)
        .unwrap_or_default();
    let _ = write!(
        out,
        "<a class=\"run {}\" id=\"{}\" href=\"#d-{}\" data-outcome=\"{}\" data-expected=\"{}\" data-backend=\"{}\" style=\"background:{bg};color:{fg}\">{} {}{}<small>{}</small></a>",
        class(r),
        esc(&r.case.id),
        anchor(&r.case.id),
        esc(&outcome),
        esc(&r.expect().outcome.id()),
        esc(&backend_of(r)),
        mark(&r.verdict),
        if show_backend {
            format!("{} ", esc(&backend_of(r)))
        } else {
            String::new()
        },
        esc(&outcome),
        if entry.is_empty() {
            String::new()
        } else {
            esc(&entry)
        }
    );
}

fn detail(out: &mut String, r: &CaseResult) {
    let dir = r.workdir.as_deref();
    let raw = match (&r.observation, &r.verdict) {
        (Some(obs), _) => redact(obs.text(), dir),
        (None, Verdict::Skipped { reason }) => reason.clone(),
        (None, Verdict::Error { message, .. }) => message.clone(),
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
        "<div class=\"detail\" id=\"d-{}\"><b>{}</b>: {} {} (expected {})<pre>{}</pre>",
        anchor(&r.case.id),
        esc(&r.case.id),
        mark(&r.verdict),
        esc(&outcome(r)),
        esc(&r.expect().outcome.id()),
        esc(&raw)
    );
    if !logs.is_empty() {
        let _ = write!(out, "<pre>node log:\n{}</pre>", esc(&logs));
    }
    if let Some(fix) = r.fix() {
        let _ = write!(out, "<p><b>fix:</b> {}</p>", esc(&fix));
    }
    let _ = write!(out, "</div>");
}
