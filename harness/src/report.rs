//! Rendering results: the snapshot text of a case, the failure explanation, and
//! run reports as a table, JSON lines or JUnit XML.

pub mod differential;
mod html;
mod markdown;
mod matrix;

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use crate::engine::{CaseResult, Verdict};
use crate::redact::redact;

/// Report formats of `tlsmatrix run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table for people.
    Table,
    /// One JSON object per case, one per line.
    Json,
    /// JUnit XML, for CI user interfaces.
    Junit,
    /// Markdown: a matrix per scenario file.
    Markdown,
    /// One self-contained HTML file: a coloured matrix per scenario file.
    Html,
}

pub use html::html;
pub use markdown::markdown;

/// The text snapshotted for a case: outcome, catalogue entry, the client's raw
/// output and the node log, redacted.
pub fn snapshot_text(result: &CaseResult) -> String {
    let dir = result.workdir.as_deref();
    let mut out = String::new();
    let _ = writeln!(out, "case: {}", result.case.id);
    if let Some(actual) = &result.actual {
        let _ = writeln!(out, "outcome: {}", actual.outcome.id());
        let _ = writeln!(out, "entry: {}", actual.entry.as_deref().unwrap_or("-"));
    }
    if let Some(obs) = &result.observation {
        let _ = writeln!(out, "peer: {}", obs.peer);
        if let Some(cmd) = &obs.command {
            let _ = writeln!(out, "command: {}", redact(cmd, dir));
        }
        if let Some(code) = obs.exit_code {
            let _ = writeln!(out, "exit: {code}");
        }
        let _ = writeln!(out, "--- client output ---");
        let _ = writeln!(out, "{}", redact(obs.text(), dir));
        if !obs.node_logs.is_empty() {
            let _ = writeln!(out, "--- node log ---");
            for line in &obs.node_logs {
                let _ = writeln!(out, "{}", redact(line, dir));
            }
        }
    }
    out
}

/// Why a case did not pass: expected vs actual, the raw text and the fix.
pub fn failure_text(result: &CaseResult) -> String {
    let mut out = String::new();
    let expect = result.expect();
    let _ = writeln!(
        out,
        "case {} ({})",
        result.case.id,
        result.case.source.display()
    );
    match &result.verdict {
        Verdict::Error { message, .. } => {
            let _ = writeln!(out, "  harness error: {message}");
        }
        Verdict::Skipped { reason } => {
            let _ = writeln!(out, "  skipped: {reason}");
        }
        Verdict::Passed | Verdict::Failed => {
            let _ = writeln!(
                out,
                "  expected: {}{}",
                expect.outcome.id(),
                expect
                    .entry
                    .as_deref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default()
            );
            if let Some(actual) = &result.actual {
                let _ = writeln!(
                    out,
                    "  actual:   {}{}",
                    actual.outcome.id(),
                    actual
                        .entry
                        .as_deref()
                        .map(|e| format!(" ({e})"))
                        .unwrap_or_default()
                );
            }
            if let Some(because) = &expect.because {
                let _ = writeln!(out, "  because:  {because}");
            }
            if let Some(obs) = &result.observation {
                let _ = writeln!(out, "  peer:     {}", obs.peer);
                let _ = writeln!(out, "  output:   {}", obs.text());
                for line in &obs.node_logs {
                    let _ = writeln!(out, "  node log: {line}");
                }
            }
            if let Some(fix) = result.fix() {
                let _ = writeln!(out, "  fix:      {fix}");
            }
        }
    }
    out
}

fn verdict_word(v: &Verdict) -> &'static str {
    match v {
        Verdict::Passed => "ok",
        Verdict::Failed => "FAIL",
        Verdict::Skipped { .. } => "skip",
        Verdict::Error { .. } => "ERROR",
    }
}

fn ms(d: Duration) -> String {
    format!("{:.0}ms", d.as_secs_f64() * 1000.0)
}

/// A table: id, expected, actual, entry, time, verdict.
pub fn table(results: &[CaseResult]) -> String {
    let rows: Vec<[String; 6]> = results
        .iter()
        .map(|r| {
            [
                r.case.id.to_string(),
                r.expect().outcome.id(),
                r.actual
                    .as_ref()
                    .map(|a| a.outcome.id())
                    .unwrap_or_else(|| "-".into()),
                r.actual
                    .as_ref()
                    .and_then(|a| a.entry.as_ref().map(ToString::to_string))
                    .unwrap_or_else(|| "-".into()),
                ms(r.elapsed),
                verdict_word(&r.verdict).to_string(),
            ]
        })
        .collect();
    let header = ["case", "expected", "actual", "catalogue entry", "time", ""];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let mut out = String::new();
    let line = |cells: [&str; 6], out: &mut String| {
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
            if i == 4 {
                let _ = write!(s, "{c:>w$}  ");
            } else {
                let _ = write!(s, "{c:<w$}  ");
            }
        }
        let _ = writeln!(out, "{}", s.trim_end());
    };
    line(header, &mut out);
    for row in &rows {
        line(row.each_ref().map(String::as_str), &mut out);
    }
    out
}

/// Counts of a run.
#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct Totals {
    /// Cases that passed.
    pub passed: usize,
    /// Cases whose outcome differed.
    pub failed: usize,
    /// Cases not run.
    pub skipped: usize,
    /// Cases the harness could not run.
    pub errors: usize,
}

impl Totals {
    /// Counts the verdicts.
    pub fn of(results: &[CaseResult]) -> Self {
        let mut t = Self::default();
        for r in results {
            match r.verdict {
                Verdict::Passed => t.passed += 1,
                Verdict::Failed => t.failed += 1,
                Verdict::Skipped { .. } => t.skipped += 1,
                Verdict::Error { .. } => t.errors += 1,
            }
        }
        t
    }
}

/// The schema id every JSON line carries; bumped on any incompatible change.
pub const JSON_SCHEMA: &str = "tlsmatrix/case-result/v1";

#[derive(Serialize)]
struct JsonCase<'a> {
    schema: &'static str,
    id: &'a str,
    area: &'a str,
    expected: String,
    expected_entry: Option<&'a str>,
    actual: Option<String>,
    entry: Option<&'a str>,
    #[serde(flatten)]
    verdict: &'a Verdict,
    elapsed_ms: f64,
    peer: Option<&'a str>,
    output: Option<String>,
    node_log: Vec<String>,
    fix: Option<String>,
}

/// One JSON object per line.
pub fn json_lines(results: &[CaseResult]) -> String {
    let mut out = String::new();
    for r in results {
        let dir = r.workdir.as_deref();
        let obs = r.observation.as_ref();
        let case = JsonCase {
            schema: JSON_SCHEMA,
            id: &r.case.id,
            area: &r.case.area,
            expected: r.expect().outcome.id(),
            expected_entry: r.expect().entry.as_deref(),
            actual: r.actual.as_ref().map(|a| a.outcome.id()),
            entry: r.actual.as_ref().and_then(|a| a.entry.as_deref()),
            verdict: &r.verdict,
            elapsed_ms: r.elapsed.as_secs_f64() * 1000.0,
            peer: obs.map(|o| o.peer.as_str()),
            output: obs.map(|o| redact(o.text(), dir)),
            node_log: obs
                .map(|o| o.node_logs.iter().map(|l| redact(l, dir)).collect())
                .unwrap_or_default(),
            fix: r.fix(),
        };
        if let Ok(line) = serde_json::to_string(&case) {
            let _ = writeln!(out, "{line}");
        }
    }
    out
}

/// JUnit XML: one test suite per area, one test case per case.
pub fn junit(results: &[CaseResult], total: Duration) -> String {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut report = Report::new("tlsmatrix");
    report.set_time(total);
    let mut areas: Vec<&str> = results.iter().map(|r| r.case.area.as_str()).collect();
    areas.dedup();
    for area in areas {
        let mut suite = TestSuite::new(area);
        for r in results.iter().filter(|r| r.case.area == area) {
            let status = match &r.verdict {
                Verdict::Passed => TestCaseStatus::success(),
                Verdict::Failed => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_description(failure_text(r));
                    s
                }
                Verdict::Error { message, .. } => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
                    s.set_description(message.clone());
                    s
                }
                Verdict::Skipped { reason } => {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message(reason.clone());
                    s
                }
            };
            let mut case = TestCase::new(r.case.id.clone(), status);
            case.set_time(r.elapsed);
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    report.to_string().unwrap_or_default()
}
