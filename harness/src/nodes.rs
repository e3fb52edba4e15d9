//! Reference nodes: in-process implementations of the products' servers, each a
//! value that stops when dropped (testcontainers style).

pub mod child;
pub mod gateway;
pub mod go_tls;
pub mod http_gateway;
pub mod http_oracle;
mod log;
pub mod oracle;
pub mod wire;

pub use gateway::{GatewayNode, Topology};
pub use log::NodeLog;
