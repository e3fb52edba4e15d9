//! Reference nodes: in-process implementations of the products' servers, each a
//! value that stops when dropped (testcontainers style).

pub mod cluster;
pub mod gateway;
mod log;
pub mod oracle;
pub mod wire;

pub use gateway::{GatewayNode, Topology};
pub use log::NodeLog;
