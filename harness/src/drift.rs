//! `tlsmatrix drift`: per documented case, the documented message beside what
//! each client prints today, and whether the case's signature still matches
//! both. Today's texts come from running the scenario cases that expect the
//! entry, one per peer. Documented sentences about the product's behaviour
//! (`documented-statements:` in a catalogue file) are measured per release
//! with the cases they name ([`statements`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use crate::areas;
use crate::engine::{self, RunOptions};
use crate::error::HarnessError;
use crate::outcome::Outcome;
use crate::scenario::Case;

/// One documented case's drift.
#[derive(Debug)]
pub struct Drift {
    /// The catalogue entry.
    pub entry: String,
    /// Documented messages and whether the signature matches each.
    pub documented: Vec<(String, bool)>,
    /// Per peer: today's text, whether the signature matches it, and whether it
    /// equals a documented message.
    pub today: BTreeMap<String, (String, bool, bool)>,
}

impl Drift {
    /// True when the signature matches every documented and every current text.
    pub fn holds(&self) -> bool {
        self.documented.iter().all(|(_, m)| *m)
            && self.today.values().all(|(_, m, _)| *m)
            && !self.today.is_empty()
    }
}

/// Runs the cases that expect each documented entry and collects the drift.
pub async fn drift(cases: &[Case], options: &RunOptions) -> Result<Vec<Drift>, HarnessError> {
    let mut out = Vec::new();
    for area in areas::registry() {
        for entry in area.catalogue().entries().filter(|e| e.documented) {
            // One case per client is enough: today's text of each peer.
            let mut per_client = std::collections::BTreeSet::new();
            let selected: Vec<Arc<Case>> = cases
                .iter()
                .filter(|c| {
                    c.area == area.name() && c.expect.entry.as_deref() == Some(entry.id.as_str())
                })
                .filter(|c| {
                    // One per client and release: an entry that holds for
                    // some releases only shows each release's texts.
                    let client = c.label("client").unwrap_or(&c.id);
                    per_client.insert(format!("{client}{}", release_suffix(c)))
                })
                .cloned()
                .map(Arc::new)
                .collect();
            let results = engine::run_all(selected, options, 4, |_| {}).await;
            let mut today = BTreeMap::new();
            for r in results {
                let Some(obs) = &r.observation else { continue };
                let peer = format!("{}{}", obs.peer, release_suffix(&r.case));
                if today.contains_key(&peer) {
                    continue;
                }
                let text = obs.text().to_string();
                let matches = area
                    .catalogue()
                    .classify_text_at(&text, r.case.version.as_deref())
                    .entry
                    .as_deref()
                    == Some(entry.id.as_str());
                let same = entry
                    .documented_messages
                    .iter()
                    .any(|d| d.trim() == text.trim());
                today.insert(peer, (text, matches, same));
            }
            let documented = entry
                .documented_messages
                .iter()
                .map(|m| {
                    let matches = area.catalogue().classify_text(m).entry.as_deref()
                        == Some(entry.id.as_str());
                    (m.clone(), matches)
                })
                .collect();
            out.push(Drift {
                entry: entry.id.to_string(),
                documented,
                today,
            });
        }
    }
    Ok(out)
}

/// `@<release>` for a case run against an older release than its area's
/// newest (its id says so), else nothing.
fn release_suffix(case: &Case) -> String {
    case.id
        .split_once('@')
        .map(|(_, release)| format!("@{release}"))
        .unwrap_or_default()
}

/// Human text, one block per documented case.
pub fn render(drifts: &[Drift]) -> String {
    let yes = |b: bool| if b { "matches" } else { "DOES NOT MATCH" };
    let mut out = String::new();
    for d in drifts {
        let _ = writeln!(out, "{}", d.entry);
        for (text, m) in &d.documented {
            let _ = writeln!(out, "  documented   [{}] {text}", yes(*m));
        }
        for (peer, (text, m, same)) in &d.today {
            let note = if *same {
                "same as documented"
            } else {
                "differs from documented"
            };
            let _ = writeln!(out, "  {peer:<12} [{}, {note}] {text}", yes(*m));
        }
        if d.today.is_empty() {
            let _ = writeln!(
                out,
                "  (no scenario case expects this entry: nothing to compare today)"
            );
        }
        let _ = writeln!(
            out,
            "  verdict: {}\n",
            if d.holds() {
                "signature holds for the documented and today's texts"
            } else {
                "DRIFT: update the catalogue's signatures"
            }
        );
    }
    out
}

/// One checked case at one release: its id, what the sentence says and what
/// the case did (`None`: it did not run).
pub type CheckResult = (String, Outcome, Option<Outcome>);

/// One documented sentence about the product's behaviour, measured at each
/// release its area models.
#[derive(Debug)]
pub struct StatementDrift {
    /// The statement's id.
    pub id: String,
    /// The sentence, verbatim.
    pub text: String,
    /// Where it is written.
    pub source: String,
    /// Per release, oldest first: each checked case's id, what the sentence
    /// says and what the case did (`None`: it did not run).
    pub releases: Vec<(String, Vec<CheckResult>)>,
    /// The releases the catalogue records it to hold for.
    pub recorded: Vec<String>,
}

impl StatementDrift {
    /// The releases where every check ran and came out as the sentence says.
    pub fn measured(&self) -> Vec<String> {
        self.releases
            .iter()
            .filter(|(_, checks)| {
                checks
                    .iter()
                    .all(|(_, says, actual)| actual.as_ref() == Some(says))
            })
            .map(|(release, _)| release.clone())
            .collect()
    }

    /// True when some check ran at every release (the scenario selection
    /// holds the statement's cases).
    pub fn ran(&self) -> bool {
        !self.releases.is_empty()
            && self
                .releases
                .iter()
                .all(|(_, checks)| checks.iter().all(|(_, _, actual)| actual.is_some()))
    }

    /// True when the measurement agrees with the recorded releases, or the
    /// statement's cases were not selected.
    pub fn agrees(&self) -> bool {
        !self.ran() || self.measured() == self.recorded
    }
}

/// Runs the cases each documented statement names, at every release of its
/// area, and compares the outcomes with what the sentence says.
pub async fn statements(
    cases: &[Case],
    options: &RunOptions,
) -> Result<Vec<StatementDrift>, HarnessError> {
    let mut out = Vec::new();
    for area in areas::registry() {
        let versions: Vec<String> = area
            .catalogue()
            .versions()
            .iter()
            .map(ToString::to_string)
            .collect();
        for statement in area.catalogue().statements() {
            // Each checked case at each release: the selected case when the
            // selection holds it, else the newest one moved to that release
            // (only its outcome is read, not its verdict).
            let mut planned = Vec::new();
            for check in &statement.checks {
                let base = cases.iter().find(|c| c.id == check.case);
                for release in &versions {
                    let at = cases
                        .iter()
                        .find(|c| {
                            c.id.split('@').next() == Some(check.case.as_str())
                                && c.version.as_deref() == Some(release.as_str())
                        })
                        .cloned()
                        .or_else(|| {
                            // `holds-for` names a release (checked at load),
                            // so the id is well formed.
                            base.and_then(|b| {
                                let mut c = b.clone();
                                c.id = b.id.at_release(release).ok()?;
                                c.version = Some(release.clone());
                                Some(c)
                            })
                        });
                    if let Some(c) = at {
                        planned.push((release.clone(), check.case.clone(), Arc::new(c)));
                    }
                }
            }
            let results = engine::run_all(
                planned.iter().map(|(_, _, c)| Arc::clone(c)).collect(),
                options,
                4,
                |_| {},
            )
            .await;
            let mut releases: Vec<(String, Vec<CheckResult>)> = Vec::new();
            for release in &versions {
                let checks = statement
                    .checks
                    .iter()
                    .map(|check| {
                        let actual = planned
                            .iter()
                            .zip(&results)
                            .find(|((r, id, _), _)| r == release && *id == check.case)
                            .and_then(|(_, result)| result.actual.as_ref())
                            .map(|a| a.outcome.clone());
                        (check.case.clone(), check.says.clone(), actual)
                    })
                    .collect();
                releases.push((release.clone(), checks));
            }
            if planned.is_empty() {
                releases.clear();
            }
            out.push(StatementDrift {
                id: statement.id.clone(),
                text: statement.text.clone(),
                source: statement.source.clone(),
                releases,
                recorded: statement.holds_for.clone(),
            });
        }
    }
    Ok(out)
}

/// Human text, one block per documented statement.
pub fn render_statements(statements: &[StatementDrift]) -> String {
    let mut out = String::new();
    for s in statements {
        let _ = writeln!(out, "{}", s.id);
        let _ = writeln!(out, "  documented   {}", s.text);
        let _ = writeln!(out, "  source       {}", s.source);
        for (release, checks) in &s.releases {
            let holds = checks
                .iter()
                .all(|(_, says, actual)| actual.as_ref() == Some(says));
            let _ = writeln!(
                out,
                "  {release:<12} [{}]",
                if holds { "holds" } else { "DOES NOT HOLD" }
            );
            for (case, says, actual) in checks {
                let actual = actual
                    .as_ref()
                    .map_or("did not run".to_string(), |a| a.id());
                let _ = writeln!(
                    out,
                    "    {case}: {actual} (the sentence says {})",
                    says.id()
                );
            }
        }
        let measured = s.measured();
        let list = |v: &[String]| {
            if v.is_empty() {
                "no modelled release".to_string()
            } else {
                v.join(", ")
            }
        };
        let verdict = if !s.ran() {
            "(its cases are not in the selection: nothing measured)".to_string()
        } else if !s.agrees() {
            format!(
                "DRIFT CHANGED: recorded to hold for {}, measured for {}: update holds-for or the reference",
                list(&s.recorded),
                list(&measured)
            )
        } else if measured.len() == s.releases.len() {
            "the sentence holds for every modelled release".to_string()
        } else if measured.is_empty() {
            "documentation drift (as recorded): the sentence holds for no modelled release"
                .to_string()
        } else {
            format!(
                "documentation drift (as recorded): the sentence holds for {} only",
                list(&measured)
            )
        };
        let _ = writeln!(out, "  verdict: {verdict}\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement(recorded: &[&str], actual: &[(&str, Option<Outcome>)]) -> StatementDrift {
        StatementDrift {
            id: "a::doc".into(),
            text: "t".into(),
            source: "s".into(),
            releases: actual
                .iter()
                .map(|(release, got)| {
                    (
                        release.to_string(),
                        vec![("a::f::c".to_string(), Outcome::NodeStartFailed, got.clone())],
                    )
                })
                .collect(),
            recorded: recorded.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn a_statement_agrees_when_it_holds_exactly_where_recorded() {
        let connected = Some(Outcome::Connected { brokers: 1 });
        let refused = Some(Outcome::NodeStartFailed);
        let s = statement(
            &["8.4.0"],
            &[("8.4.0", refused.clone()), ("8.4.1", connected)],
        );
        assert_eq!(s.measured(), vec!["8.4.0".to_string()]);
        assert!(s.agrees());
        let changed = statement(
            &["8.4.0"],
            &[("8.4.0", refused.clone()), ("8.4.1", refused)],
        );
        assert!(
            !changed.agrees(),
            "holds for 8.4.1 too: the record is stale"
        );
        assert!(render_statements(&[changed]).contains("DRIFT CHANGED"));
        let not_run = statement(&["8.4.0"], &[("8.4.0", None)]);
        assert!(!not_run.ran() && not_run.agrees());
    }
}
