//! Reference nodes: in-process implementations of the products' servers, each a
//! value that stops when dropped (testcontainers style).
//!
//! Every node starts the same way: its start gives a [`Started`] (ready, or a
//! typed [`Refusal`]), the running node is a [`RunningNode`], and a chain of
//! nodes is a [`NodeStack`] (`stack.rs`).

pub mod closed_port;
pub mod cluster;
pub mod gateway;
pub mod gateway_auth;
pub mod gateway_rest;
pub mod go_tls;
pub mod http_backend;
pub mod http_gateway;
pub mod http_oracle;
pub mod jwt;
pub mod kafka;
mod log;
pub mod nginx;
pub mod nginx_sites;
pub mod nginx_stream;
pub mod oracle;
pub mod stack;
pub mod tasks;
pub mod token_server;
pub mod up;
pub mod wire;

pub use gateway::{GatewayNode, Topology};
pub use log::NodeLog;
pub use stack::{prefixed, NodeLines, NodeStack, RunningNode};

pub use crate::process::{Refusal, Started};

/// A host as addresses and URLs take it: an IPv6 literal in brackets (`[::1]`).
pub fn bracketed(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// `host:port` as clients take it: `[::1]:26500` for an IPv6 literal.
pub fn host_port(host: &str, port: u16) -> String {
    format!("{}:{port}", bracketed(host))
}
