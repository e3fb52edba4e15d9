//! Areas: what each family of scenarios starts and drives. The engine knows
//! only the [`Area`] trait; adding an area is a module here, its catalogue file,
//! its scenario folder and one line in [`registry`].

pub mod http_gateway;
pub mod kafka_gateway;
pub mod zeebe_auth;
pub mod zeebe_client;
pub mod zeebe_cluster;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use crate::catalogue::Catalogue;
use crate::error::HarnessError;
use crate::peers::Observation;
use crate::pki::Materialized;
use crate::scenario::Case;

/// A boxed future, as the object-safe [`Area`] returns it.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Something a case needs on this machine (a real peer).
#[derive(Debug, Clone, Copy)]
pub struct Requirement {
    /// The peer's name, as reports show it.
    pub peer: &'static str,
    /// Finds it, or says how to install it.
    pub locate: fn() -> Result<PathBuf, HarnessError>,
}

/// What a case spends its wall time on, for the scheduler
/// ([`crate::engine::run_all`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Load {
    /// Mostly CPU (TLS in process, a JVM or Node process starting): bounded
    /// by `--jobs`.
    #[default]
    Cpu,
    /// Mostly waiting on a timer or a peer (kcat's metadata timeout, a
    /// client retrying): many may be in flight while CPU cases stay bounded.
    Waits,
}

/// One family of scenarios.
pub trait Area: Send + Sync {
    /// The area's name: folder under `scenarios/` and `snapshots/`, id prefix.
    fn name(&self) -> &'static str;

    /// The area's catalogue (its own entries, then the common ones).
    fn catalogue(&self) -> &Catalogue;

    /// Checks a case body against the area's schema and says what the case
    /// needs. Called for every case before anything runs.
    fn check(&self, case: &Case) -> Result<Vec<Requirement>, HarnessError>;

    /// Starts the nodes, runs the client, collects the node logs, stops the
    /// nodes. `workdir` holds the case's certificates and is every node's and
    /// client's working directory.
    fn run<'a>(
        &'a self,
        case: &'a Case,
        workdir: &'a Path,
        pki: &'a Materialized,
    ) -> BoxFuture<'a, Result<Observation, HarnessError>>;

    /// `tlsmatrix run --backend containers`: this case with its nodes in
    /// containers of the reference image (its id ending `.containers`, its
    /// `backend` label `containers`), or `None` when the area cannot place
    /// this case's nodes in containers. Default: none.
    fn on_containers(&self, _case: &Case) -> Option<Case> {
        None
    }

    /// What this case mostly spends its wall time on. Default: CPU.
    fn load(&self, _case: &Case) -> Load {
        Load::Cpu
    }
}

/// Relabels a case retargeted to containers: the `backend` label and the id
/// suffix (`.embedded` replaced, else appended) say `containers`.
pub fn label_containers(mut case: Case) -> Case {
    let mut labelled = false;
    for (axis, value) in &mut case.labels {
        if axis == "backend" {
            *value = "containers".to_string();
            labelled = true;
        }
    }
    if !labelled {
        case.labels
            .push(("backend".to_string(), "containers".to_string()));
    }
    // A release suffix (`@8.4.0`) stays last.
    let (id, release) = match case.id.split_once('@') {
        Some((id, release)) => (id.to_string(), format!("@{release}")),
        None => (case.id.clone(), String::new()),
    };
    case.id = match id.strip_suffix(".embedded") {
        Some(stem) => format!("{stem}.containers{release}"),
        None => format!("{id}.containers{release}"),
    };
    case
}

/// Parses a case body into an area's schema (`schema` is the area's source
/// file, named in the error's fix).
pub fn parse_body<T: serde::de::DeserializeOwned>(
    case: &Case,
    schema: &str,
) -> Result<T, HarnessError> {
    serde_yaml_ng::from_value(case.body.clone()).map_err(|e| {
        HarnessError::invalid(
            case.source.display().to_string(),
            &case.id,
            format!("invalid case body: {e}"),
            format!("see the case body schema in {schema}"),
        )
    })
}

/// An area's catalogue (compiled in) with the common entries. The test suite
/// checks every catalogue file, so a broken one never ships.
pub fn load_catalogue(area: &str, text: &str) -> Catalogue {
    Catalogue::for_area(area, text)
        .unwrap_or_else(|e| panic!("catalogue/{area}.yaml is invalid: {e}"))
}

/// Every area, in report order.
pub fn registry() -> &'static [&'static dyn Area] {
    static AREAS: std::sync::OnceLock<Vec<&'static dyn Area>> = std::sync::OnceLock::new();
    AREAS.get_or_init(|| {
        vec![
            zeebe_client::area(),
            zeebe_auth::area(),
            http_gateway::area(),
            kafka_gateway::area(),
            zeebe_cluster::area(),
        ]
    })
}

/// The catalogue entry with this id (`area::case`), whichever area's
/// catalogue holds it; `common::` entries are in every area's.
pub fn entry(id: &str) -> Option<&'static crate::catalogue::Entry> {
    let owner = id.split("::").next()?;
    let area = if owner == "common" {
        *registry().first()?
    } else {
        find(owner).ok()?
    };
    area.catalogue().entry(id)
}

/// The area called `name`.
pub fn find(name: &str) -> Result<&'static dyn Area, HarnessError> {
    registry()
        .iter()
        .copied()
        .find(|a| a.name() == name)
        .ok_or_else(|| {
            HarnessError::invalid(
                "scenario",
                "area",
                format!("no area named {name:?}"),
                format!(
                    "use one of: {}",
                    registry()
                        .iter()
                        .map(|a| a.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })
}
