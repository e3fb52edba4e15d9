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
use crate::nodes::Refusal;
use crate::peers::Observation;
use crate::pki::Materialized;
use crate::scenario::{BodyError, Case};

/// A boxed future, as the object-safe [`Area`] returns it.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Something a case needs on this machine (a real peer).
#[derive(Debug, Clone, Copy)]
pub struct Requirement {
    /// The peer's name, as reports show it.
    pub(crate) peer: &'static str,
    /// Finds it, or says how to install it.
    pub(crate) locate: fn() -> Result<PathBuf, HarnessError>,
}

impl Requirement {
    /// The peer's name, as reports show it.
    pub fn peer(&self) -> &'static str {
        self.peer
    }

    /// Finds the peer, or says how to install it.
    pub fn locate(&self) -> Result<PathBuf, HarnessError> {
        (self.locate)()
    }
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

/// One family of scenarios, as an area module writes it: its case body type
/// and what it does with a body, parsed once. Every `AreaSpec` is an [`Area`]
/// (the object-safe form the engine holds), which parses a case's body on
/// first use and keeps it with the case ([`crate::scenario::Body`]).
pub trait AreaSpec: Send + Sync + 'static {
    /// The case body's schema (serde, unknown keys denied).
    type Body: serde::de::DeserializeOwned + Send + Sync + 'static;
    /// The source file of the schema, named in the fix of a body error.
    const SCHEMA: &'static str;

    /// See [`Area::name`].
    fn name(&self) -> &'static str;

    /// See [`Area::catalogue`].
    fn catalogue(&self) -> &Catalogue;

    /// Reads a case's body; the default deserializes it. An area overrides
    /// it to check what serde cannot (a cluster's shape).
    fn parse(&self, case: &Case) -> Result<Self::Body, HarnessError> {
        parse_body(case, Self::SCHEMA)
    }

    /// Checks the body and says what the case needs (see [`Area::check`]).
    fn check(&self, case: &Case, body: &Self::Body) -> Result<Vec<Requirement>, HarnessError>;

    /// Runs the case (see [`Area::run`]).
    fn run<'a>(
        &'a self,
        case: &'a Case,
        body: &'a Self::Body,
        workdir: &'a Path,
        pki: &'a Materialized,
    ) -> BoxFuture<'a, Result<Observation, HarnessError>>;

    /// See [`Area::on_containers`]. Default: none.
    fn on_containers(&self, _case: &Case, _body: &Self::Body) -> Option<Case> {
        None
    }

    /// See [`Area::load`]. Default: CPU.
    fn load(&self, _case: &Case, _body: &Self::Body) -> Load {
        Load::Cpu
    }
}

impl<A: AreaSpec> Area for A {
    fn name(&self) -> &'static str {
        AreaSpec::name(self)
    }

    fn catalogue(&self) -> &Catalogue {
        AreaSpec::catalogue(self)
    }

    fn check(&self, case: &Case) -> Result<Vec<Requirement>, HarnessError> {
        AreaSpec::check(self, case, body_of(self, case)?)
    }

    fn run<'a>(
        &'a self,
        case: &'a Case,
        workdir: &'a Path,
        pki: &'a Materialized,
    ) -> BoxFuture<'a, Result<Observation, HarnessError>> {
        match body_of(self, case) {
            Ok(body) => AreaSpec::run(self, case, body, workdir, pki),
            Err(e) => Box::pin(std::future::ready(Err(e))),
        }
    }

    fn on_containers(&self, case: &Case) -> Option<Case> {
        AreaSpec::on_containers(self, case, body_of(self, case).ok()?)
    }

    fn load(&self, case: &Case) -> Load {
        body_of(self, case).map_or(Load::Cpu, |body| AreaSpec::load(self, case, body))
    }
}

/// The case's typed body for `area`: parsed on first use, then shared.
fn body_of<'c, A: AreaSpec>(area: &A, case: &'c Case) -> Result<&'c A::Body, HarnessError> {
    case.body.typed(|| area.parse(case)).map_err(|e| match e {
        BodyError::Parse(e) => e,
        BodyError::OtherType => HarnessError::invalid(
            case.source.display().to_string(),
            &case.id,
            format!(
                "the case body was read by another area than {}",
                AreaSpec::name(area)
            ),
            "run the case with the area its id names",
        ),
    })
}

/// One family of scenarios: the object-safe form the engine calls. Area
/// modules implement [`AreaSpec`] instead.
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
    // A release suffix (`@8.4.0`) stays last; `containers` is a label, so
    // the id stays in the grammar.
    if let Ok(id) = case.id.retarget("embedded", "containers") {
        case.id = id;
    }
    case
}

/// Parses a case body into an area's schema (`schema` is the area's source
/// file, named in the error's fix).
pub fn parse_body<T: serde::de::DeserializeOwned>(
    case: &Case,
    schema: &str,
) -> Result<T, HarnessError> {
    tracing::debug!(case = %case.id, "case body parsed");
    serde_yaml_ng::from_value(case.body.tree().clone()).map_err(|e| {
        HarnessError::invalid(
            case.source.display().to_string(),
            &case.id,
            format!("invalid case body: {e}"),
            format!("see the case body schema in {schema}"),
        )
    })
}

/// A node that refused to start, as the case's observation: an outcome of
/// the case (the product fails at startup), not a harness error. Shown as
/// `peer` with the refusal's message and its collected log lines as the
/// node logs; the catalogue classifies the message.
pub(crate) fn refused(peer: &str, refusal: Refusal) -> Observation {
    Observation {
        peer: peer.to_string(),
        stderr: refusal.message,
        node_logs: refusal.logs,
        ..Observation::default()
    }
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
