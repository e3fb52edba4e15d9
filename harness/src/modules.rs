//! Product modules, shaped like testcontainers-modules: each reference node
//! or client is a value with [`Default`] and `with_*` builders, started or
//! run by one call; nothing a caller has to mutate field by field. What a
//! module starts is a node that stops when dropped.
//!
//! ```no_run
//! # async fn demo() -> Result<(), tlsmatrix::error::HarnessError> {
//! use tlsmatrix::modules::zeebe::{Client, Gateway};
//!
//! let gateway = Gateway::default().with_brokers(3).start().await?;
//! let seen = Client::for_gateway(&gateway).with_plaintext(true).topology().await?;
//! assert_eq!(seen.connected_brokers, Some(3));
//! # Ok(()) }
//! ```

pub mod zeebe;
