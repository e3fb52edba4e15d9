//! The lines `tlsmatrix up` prints on standard output, which launchers read
//! to know a node is ready and where it listens: the containers backend
//! waits for them, the tests parse them. One constant per line, shared by
//! the CLI that prints it and everyone who reads it.

/// `tlsmatrix up GATEWAY.yaml`: `tlsmatrix gateway listening on ADDRESS (TLS|plaintext)`.
pub const GATEWAY_LISTENING: &str = "tlsmatrix gateway listening on ";

/// `tlsmatrix up GATEWAY.yaml` with `server.*` configured on a release with
/// REST (8.5.0 and later), after the gateway line:
/// `tlsmatrix gateway REST listening on ADDRESS (TLS|plaintext)`.
pub const GATEWAY_REST_LISTENING: &str = "tlsmatrix gateway REST listening on ";

/// `tlsmatrix up KRAKEND.json`: `tlsmatrix http gateway listening on ADDRESS (...)`.
pub const HTTP_GATEWAY_LISTENING: &str = "tlsmatrix http gateway listening on ";

/// A cluster node's addresses, once it listens (in process, one line per
/// node; with `--member`, its own): `tlsmatrix cluster node NAME (...)`.
pub const CLUSTER_NODE: &str = "tlsmatrix cluster node ";

/// A cluster file's whole cluster, after formation:
/// `tlsmatrix cluster ready (formed|partial); ...`.
pub const CLUSTER_READY: &str = "tlsmatrix cluster ready";

/// One member (`--member`), after its formation:
/// `tlsmatrix cluster member ready (formed|partial)...`.
pub const MEMBER_READY: &str = "tlsmatrix cluster member ready";

/// The state after a ready line when the cluster formed.
pub const FORMED: &str = "(formed)";
