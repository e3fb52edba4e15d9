//! The products' own configuration shapes, read the way the products read them.
//! Parse real files; ignore unrelated keys; report wrong types with file, key and fix.

pub mod krakend;
pub mod lint;
mod properties;
pub mod rest;
pub mod zeebe;

pub use properties::{env_name, EnvMap, Properties};
