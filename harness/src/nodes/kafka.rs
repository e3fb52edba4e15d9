//! The reference Kafka gateway (Conduktor-style): speaks the Kafka protocol to
//! clients (ApiVersions, SaslHandshake, SaslAuthenticate, Metadata, Produce,
//! Fetch, ListOffsets, InitProducerId), with listener security PLAINTEXT, SSL,
//! SASL_PLAINTEXT or SASL_SSL, SASL PLAIN whose password is a gateway token
//! (HS256 JWT, see [`tenants`]) when multi-tenancy is on or the backend's own
//! credentials when it is off, and an admin REST API minting tokens. Records
//! live in an in-memory log ([`log_store`]).
//!
//! Settings come from the gateway's documented environment variables:
//! `GATEWAY_USER_POOL_SECRET_KEY`, `JWT_AUTH_MASTER_USERNAME`,
//! `JWT_AUTH_MASTER_PASSWORD`, plus `GATEWAY_SECURITY_PROTOCOL` and
//! `GATEWAY_FEATURE_FLAGS_MULTI_TENANCY` and `GATEWAY_ADVERTISED_HOST` (the host
//! Metadata answers name); certificates and the backend's
//! users come from the case.
//!
//! With `KAFKA_BOOTSTRAP_SERVERS` set the gateway proxies to a real Kafka
//! cluster instead ([`upstream`]): it connects with its own `KAFKA_*`
//! TLS/SASL settings, and **refuses to start** when that connection cannot be
//! made or authenticated, with the backend's answer as the reason (a gateway
//! that starts anyway would hand every client a generic failure). Each
//! authenticated client connection gets its own backend connection; requests
//! are forwarded as they came, Metadata answers are rewritten so that every
//! broker is the gateway's own listener.

pub mod bench;
pub mod broker;
pub mod log_store;
pub mod tenants;
pub mod upstream;
pub mod wire;

mod admin;
mod connection;
mod handlers;
mod server;
mod settings;

pub use handlers::AUTHENTICATION_FAILED;
pub use server::KafkaGateway;
pub use settings::{
    KafkaGatewaySettings, SecurityProtocol, DEFAULT_MASTER_PASSWORD, DEFAULT_MASTER_USERNAME,
    DEFAULT_SECRET,
};
