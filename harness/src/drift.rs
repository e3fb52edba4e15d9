//! `tlsmatrix drift`: per documented case, the documented message beside what
//! each client prints today, and whether the case's signature still matches
//! both. Today's texts come from running the scenario cases that expect the
//! entry, one per peer.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use crate::areas;
use crate::engine::{self, RunOptions};
use crate::error::HarnessError;
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
