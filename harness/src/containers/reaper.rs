//! Names and clean-up for what tlsmatrix creates on a Docker engine. Every
//! container and network it starts is named `tlsmatrix-<pid>-<n>...`, after
//! the process that started it. testcontainers removes them when they are
//! dropped, but a process that is killed (or interrupted while a drop is under
//! way) can leave some behind, and a network is removed only when its last
//! container has gone. So:
//!
//! - [`reap_stale`] removes whatever a tlsmatrix process that no longer runs
//!   left behind; it runs before the first container of a process starts;
//! - [`reap_own`] removes what this process still has; `tlsmatrix run` calls
//!   it when a containers run ends or is interrupted.
//!
//! Only a local engine (`unix://`) is reaped: on a remote one, a process id
//! says nothing about whether its owner still runs.

use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Deserialize;

use super::{docker_host, docker_request};

/// The prefix of every name this process gives.
fn own_prefix() -> String {
    format!("tlsmatrix-{}-", std::process::id())
}

/// A container or network name no other name of this process has:
/// `tlsmatrix-<pid>-<n>`, then `-suffix` when given.
pub fn unique_name(suffix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    if suffix.is_empty() {
        format!("{}{n}", own_prefix())
    } else {
        format!("{}{n}-{suffix}", own_prefix())
    }
}

/// The process id in a name we gave, if it is one of ours.
fn owner(name: &str) -> Option<u32> {
    let rest = name.trim_start_matches('/').strip_prefix("tlsmatrix-")?;
    rest.split('-').next()?.parse().ok()
}

fn running(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[derive(Deserialize)]
struct ContainerEntry {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "Names", default)]
    names: Vec<String>,
}

#[derive(Deserialize)]
struct NetworkEntry {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "Name")]
    name: String,
}

/// What a reaping removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Reaped {
    /// Containers removed.
    pub containers: usize,
    /// Networks removed.
    pub networks: usize,
}

/// A container or network we named, still on the engine.
struct Ours {
    /// The engine's id.
    id: String,
    /// Our name for it.
    name: String,
    /// The process that named it.
    owner: u32,
    /// A container (else a network).
    container: bool,
}

/// Every container (first) and network (then) we named on `host`.
fn ours(host: &str) -> Vec<Ours> {
    let list = |path: &str| {
        docker_request(host, "GET", path)
            .map(|(_, body)| body)
            .unwrap_or_default()
    };
    let containers: Vec<ContainerEntry> =
        serde_json::from_str(&list("/containers/json?all=1")).unwrap_or_default();
    let networks: Vec<NetworkEntry> = serde_json::from_str(&list("/networks")).unwrap_or_default();
    let containers = containers.into_iter().filter_map(|c| {
        let name = c.names.iter().find(|n| owner(n).is_some())?;
        Some(Ours {
            name: name.trim_start_matches('/').to_string(),
            owner: owner(name)?,
            id: c.id,
            container: true,
        })
    });
    let networks = networks.into_iter().filter_map(|n| {
        Some(Ours {
            owner: owner(&n.name)?,
            name: n.name,
            id: n.id,
            container: false,
        })
    });
    containers.chain(networks).collect()
}

/// Removes the containers, then the networks, whose owner `doomed` picks.
fn reap(doomed: impl Fn(u32) -> bool) -> Reaped {
    let mut reaped = Reaped::default();
    let host = docker_host();
    if !host.starts_with("unix://") {
        return reaped;
    }
    for item in ours(&host).into_iter().filter(|o| doomed(o.owner)) {
        let path = if item.container {
            format!("/containers/{}?force=1&v=1", item.id)
        } else {
            format!("/networks/{}", item.id)
        };
        let deleted = docker_request(&host, "DELETE", &path);
        if deleted.is_ok_and(|(status, _)| status.contains(" 204 ")) {
            if item.container {
                reaped.containers += 1;
            } else {
                reaped.networks += 1;
            }
        }
    }
    reaped
}

/// The names of the containers, then the networks, that process `pid` named
/// and that are still on the engine (for leak checks).
pub fn left_by(pid: u32) -> Vec<String> {
    ours(&docker_host())
        .into_iter()
        .filter(|o| o.owner == pid)
        .map(|o| o.name)
        .collect()
}

/// Removes what tlsmatrix processes that no longer run left on the engine.
pub fn reap_stale() -> Reaped {
    reap(|pid| !running(pid))
}

/// Removes what this process still has on the engine.
pub fn reap_own() -> Reaped {
    let me = std::process::id();
    reap(|pid| pid == me)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_their_owner() {
        let name = unique_name("broker-0");
        assert!(name.starts_with(&own_prefix()), "{name}");
        assert!(name.ends_with("-broker-0"), "{name}");
        assert_eq!(owner(&name), Some(std::process::id()));
        assert_eq!(owner(&format!("/{name}")), Some(std::process::id()));
        assert_eq!(owner("tlsmatrix-x-1"), None);
        assert_eq!(owner("postgres"), None);
        assert!(running(std::process::id()));
    }
}
