//! Reference nodes: in-process implementations of the products' servers, each a
//! value that stops when dropped (testcontainers style).

pub mod child;
pub mod closed_port;
pub mod cluster;
pub mod gateway;
pub mod gateway_auth;
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
pub mod tasks;
pub mod token_server;
pub mod wire;

pub use gateway::{GatewayNode, Topology};
pub use log::NodeLog;
