//! Certificates as code: roots, intermediates, leaves and deliberately broken
//! material, built with rcgen from a [`PkiSpec`], written to a directory with
//! private keys readable by the owner only, and read back the way the products
//! read PEM files.
//!
//! ```no_run
//! use tlsmatrix::pki::{CertSpec, PkiSpec};
//! let spec = PkiSpec::new()
//!     .with("ca", CertSpec::root())
//!     .with("gateway", CertSpec::leaf("ca").with_sans(["localhost", "127.0.0.1"]));
//! let dir = tempfile::tempdir().unwrap();
//! let written = spec.build().unwrap().write_to(dir.path()).unwrap();
//! println!("{}", written.chain("gateway").unwrap().display());
//! ```

mod algorithm;
mod build;
mod der;
mod material;
mod pem_read;
mod spec;

pub use algorithm::{KeyAlgorithm, KeyEncoding};
pub use build::{Issued, Pki};
pub use material::Materialized;
pub use pem_read::{load_certified_key, read_certificates, read_private_key};
pub use spec::{CertSpec, ChainShape, Defect, PkiSpec, Usage};

/// The documented set `tlsmatrix certs` writes (see `pki/manual-set.yaml`).
pub fn manual_set() -> PkiSpec {
    serde_yaml_ng::from_str(include_str!("pki/manual-set.yaml"))
        .expect("pki/manual-set.yaml is valid (checked by the test suite)")
}

/// One line per certificate saying what its files are for.
pub fn describe(pki: &Pki) -> String {
    let mut out = String::new();
    for issued in pki.iter() {
        let s = &issued.spec;
        let role = match (&s.issuer, s.is_ca()) {
            (None, _) => "self-signed root CA".to_string(),
            (Some(i), true) => format!("intermediate CA issued by {i}"),
            (Some(i), false) => format!("leaf issued by {i}"),
        };
        let mut notes = vec![
            format!("{:?}", s.algorithm).to_lowercase(),
            format!("key {:?}", s.key_encoding).to_lowercase(),
        ];
        if !s.sans.is_empty() {
            notes.push(format!("SANs {}", s.sans.join(", ")));
        }
        if let Some(d) = s.defect {
            notes.push(
                format!("BROKEN ON PURPOSE: {d:?}")
                    .to_lowercase()
                    .replace("broken on purpose", "BROKEN ON PURPOSE"),
            );
        }
        if s.issuer.is_some() {
            notes.push(format!("chain file: {:?}", s.chain).to_lowercase());
        }
        out.push_str(&format!("{}: {role} ({})\n", issued.name, notes.join("; ")));
    }
    out
}

/// Writes a non-secret text file (0644).
pub fn write_readme(path: &std::path::Path, text: &str) -> Result<(), crate::error::HarnessError> {
    material::write_file(path, text.as_bytes(), 0o644)
}
