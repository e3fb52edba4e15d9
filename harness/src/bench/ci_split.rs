//! The CI split: how the GitHub workflow's runners divide the suite.
//!
//! The workflow (`ci/github-workflow.yml`) builds once, then runs
//! `cargo nextest run --profile ci --partition hash:K/4` on four runners.
//! Which tests a runner gets is nextest's own decision, so it is asked:
//! `cargo nextest list --partition hash:K/N` for each runner. How long each
//! test takes comes from the JUnit report of the last whole run on this
//! machine (`bash ci/test` writes `target/nextest/ci/junit.xml`). Per
//! runner: its tests, the sum of their times, its longest test, and an
//! estimate of its wall time (its share of the measured run's wall, by test
//! time, and never less than its longest test). Figures, never assertions.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Runners in the workflow's partitioned job.
pub(crate) const WORKFLOW_RUNNERS: u32 = 4;

/// A bound on one `cargo nextest list` (it builds the test binaries first
/// when they are stale).
const LIST_DEADLINE: Duration = Duration::from_secs(15 * 60);

/// The last whole run, as its JUnit report has it.
#[derive(Debug, Default)]
pub(crate) struct Measured {
    /// Test time by `(binary id, test name)`.
    times: BTreeMap<(String, String), Duration>,
    /// The run's wall time.
    wall: Duration,
}

impl Measured {
    /// Reads a nextest JUnit report.
    pub(crate) fn from_junit(xml: &str) -> Result<Self, String> {
        let report = quick_junit::Report::deserialize_from_str(xml).map_err(|e| e.to_string())?;
        let mut times = BTreeMap::new();
        for suite in &report.test_suites {
            for case in &suite.test_cases {
                times.insert(
                    (suite.name.to_string(), case.name.to_string()),
                    case.time.unwrap_or_default(),
                );
            }
        }
        Ok(Self {
            times,
            wall: report.time.unwrap_or_default(),
        })
    }

    fn total(&self) -> Duration {
        self.times.values().sum()
    }
}

/// The tests nextest gives one runner: `(binary id, test name)` of every test
/// its filter matches, from `cargo nextest list --message-format json`.
pub(crate) fn listed(json: &str) -> Result<Vec<(String, String)>, String> {
    let v: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let suites = v
        .get("rust-suites")
        .and_then(|s| s.as_object())
        .ok_or("no \"rust-suites\" in nextest's list")?;
    let mut tests = Vec::new();
    for (binary, suite) in suites {
        let Some(cases) = suite.get("testcases").and_then(|c| c.as_object()) else {
            continue;
        };
        for (name, case) in cases {
            let status = case
                .pointer("/filter-match/status")
                .and_then(|s| s.as_str());
            if status == Some("matches") {
                tests.push((binary.clone(), name.clone()));
            }
        }
    }
    Ok(tests)
}

/// The report's lines for `runners`, each the tests nextest gave it.
pub(crate) fn render(measured: &Measured, runners: &[Vec<(String, String)>]) -> String {
    let mut out = String::new();
    let total = measured.total();
    let _ = writeln!(
        out,
        "CI split ({} runners, nextest hash partitions; test times from the last whole run \
         here: {} tests, {:.0} s of test time in {:.0} s wall):",
        runners.len(),
        measured.times.len(),
        total.as_secs_f64(),
        measured.wall.as_secs_f64()
    );
    for (k, tests) in runners.iter().enumerate() {
        let times: Vec<(&(String, String), Duration)> = tests
            .iter()
            .map(|t| (t, measured.times.get(t).copied().unwrap_or_default()))
            .collect();
        let sum: Duration = times.iter().map(|(_, d)| *d).sum();
        let unmeasured = tests
            .iter()
            .filter(|t| !measured.times.contains_key(*t))
            .count();
        let longest = times.iter().max_by_key(|(_, d)| *d);
        let longest_time = longest.map_or(Duration::ZERO, |(_, d)| *d);
        let longest = longest
            .map(|((b, n), d)| format!("{b} {n} {:.1} s", d.as_secs_f64()))
            .unwrap_or_else(|| "-".into());
        let share = if total.is_zero() {
            0.0
        } else {
            sum.as_secs_f64() / total.as_secs_f64()
        };
        // A runner is done no sooner than its longest test.
        let wall = (measured.wall.as_secs_f64() * share).max(longest_time.as_secs_f64());
        let _ = writeln!(
            out,
            "  runner {}: {} tests, {:.0} s of test time, about {:.0} s wall at this machine's \
             pace; longest {longest}{}",
            k + 1,
            tests.len(),
            sum.as_secs_f64(),
            wall,
            if unmeasured > 0 {
                format!(" ({unmeasured} not in the report)")
            } else {
                String::new()
            }
        );
    }
    out
}

/// The JUnit report `bash ci/test` leaves: `$CARGO_TARGET_DIR` or
/// `<workspace>/target`, then `nextest/ci/junit.xml`.
fn junit_path(workspace: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"))
        .join("nextest/ci/junit.xml")
}

/// The section of `tlsmatrix bench`: measured when this is a checkout with a
/// JUnit report and `cargo nextest`, else one line saying why not.
pub(crate) async fn section(workspace: &Path, runners: u32) -> String {
    let path = junit_path(workspace);
    let measured = match std::fs::read_to_string(&path) {
        Ok(xml) => match Measured::from_junit(&xml) {
            Ok(m) => m,
            Err(e) => return format!("CI split: not measured ({}: {e})\n", path.display()),
        },
        Err(_) => {
            return format!(
                "CI split: not measured (no JUnit report at {}: `bash ci/test` writes one)\n",
                path.display()
            )
        }
    };
    let mut lists = Vec::new();
    for k in 1..=runners {
        match list_partition(workspace, k, runners).await {
            Ok(tests) => lists.push(tests),
            Err(e) => return format!("CI split: not measured ({e})\n"),
        }
    }
    render(&measured, &lists)
}

/// `cargo nextest list` for runner `k` of `n`, as the workflow filters it.
async fn list_partition(workspace: &Path, k: u32, n: u32) -> Result<Vec<(String, String)>, String> {
    let mut command = tokio::process::Command::new("cargo");
    command
        .args(["nextest", "list", "--workspace", "--profile", "ci"])
        .args(["--message-format", "json", "--partition"])
        .arg(format!("hash:{k}/{n}"))
        .current_dir(workspace)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let out = tokio::time::timeout(LIST_DEADLINE, command.output())
        .await
        .map_err(|_| format!("cargo nextest list took longer than {LIST_DEADLINE:?}"))?
        .map_err(|e| format!("cannot run cargo nextest list: {e}"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
        return Err(format!(
            "cargo nextest list failed: {}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        ));
    }
    listed(&String::from_utf8_lossy(&out.stdout))
}

#[cfg(test)]
mod tests {
    use super::*;

    const JUNIT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="nextest-run" tests="3" failures="0" errors="0" time="10.0">
    <testsuite name="tlsmatrix::cli" tests="2" errors="0" failures="0">
        <testcase name="slow" classname="tlsmatrix::cli" time="6.0"/>
        <testcase name="fast" classname="tlsmatrix::cli" time="1.0"/>
    </testsuite>
    <testsuite name="tlsmatrix::scenarios" tests="1" errors="0" failures="0">
        <testcase name="zeebe-client::a::b.java" classname="tlsmatrix::scenarios" time="3.0"/>
    </testsuite>
</testsuites>
"#;

    const LIST: &str = r#"{"rust-suites":{
        "tlsmatrix::cli":{"testcases":{
            "slow":{"filter-match":{"status":"matches"}},
            "fast":{"filter-match":{"status":"mismatch","reason":"partition"}}}},
        "tlsmatrix::scenarios":{"testcases":{
            "zeebe-client::a::b.java":{"filter-match":{"status":"matches"}},
            "new":{"filter-match":{"status":"matches"}}}}}}"#;

    #[test]
    fn a_runner_gets_the_tests_nextest_matches_and_their_measured_times() {
        let measured = Measured::from_junit(JUNIT).unwrap();
        assert_eq!(measured.total(), Duration::from_secs(10));
        let mut runner = listed(LIST).unwrap();
        runner.sort();
        assert_eq!(
            runner,
            [
                ("tlsmatrix::cli".to_string(), "slow".to_string()),
                ("tlsmatrix::scenarios".into(), "new".into()),
                (
                    "tlsmatrix::scenarios".into(),
                    "zeebe-client::a::b.java".into()
                ),
            ]
        );
        let text = render(&measured, &[runner]);
        assert!(
            text.contains("3 tests, 10 s of test time in 10 s wall"),
            "{text}"
        );
        assert!(
            text.contains(
                "runner 1: 3 tests, 9 s of test time, about 9 s wall at this machine's pace; \
                 longest tlsmatrix::cli slow 6.0 s (1 not in the report)"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_list_without_suites_is_an_error() {
        assert!(listed("{}").unwrap_err().contains("rust-suites"));
    }
}
