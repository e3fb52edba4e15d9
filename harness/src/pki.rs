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
pub mod cluster_recipe;
mod der;
mod keystore;
mod material;
pub mod openssl_recipe;
mod pem_read;
pub mod recipe_cache;
pub mod set_cache;
mod spec;

pub use algorithm::{KeyAlgorithm, KeyEncoding};
pub use build::{Issued, Pki};
pub use keystore::{jdk_store_refusal, read_pkcs12, KeyStoreIdentity, KEYSTORE_WRAPPER};
pub use material::Materialized;
pub use pem_read::{
    certified_key, load_certified_key, load_certified_key_unchecked, parse_certificates,
    read_certificates, read_private_key,
};
pub use spec::{
    CertSpec, ChainShape, Defect, FileSet, Layout, PemFiles, PkiSpec, Store, StoreType, Usage,
};

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

/// Writes a file with `mode` set at creation: a fresh file renamed over
/// `path` atomically, never truncated in place, no link followed.
pub fn write_file(
    path: &std::path::Path,
    contents: &[u8],
    mode: u32,
) -> Result<(), crate::error::HarnessError> {
    material::write_file(path, contents, mode)
}

/// Writes a non-secret text file (0644).
pub fn write_readme(path: &std::path::Path, text: &str) -> Result<(), crate::error::HarnessError> {
    material::write_file(path, text.as_bytes(), 0o644)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use rstest::rstest;
    use x509_parser::prelude::*;

    use super::*;

    fn build(spec: PkiSpec) -> (tempfile::TempDir, Pki, Materialized) {
        let dir = tempfile::tempdir().unwrap();
        let pki = spec.build().unwrap();
        let written = pki.write_to(dir.path()).unwrap();
        (dir, pki, written)
    }

    fn leaf_set(leaf: CertSpec) -> PkiSpec {
        PkiSpec::new()
            .with("ca", CertSpec::root())
            .with("int", CertSpec::intermediate("ca"))
            .with("leaf", leaf)
    }

    #[rstest]
    #[case::p256_pkcs8(KeyAlgorithm::EcdsaP256, KeyEncoding::Pkcs8, "PRIVATE KEY")]
    #[case::p256_sec1(KeyAlgorithm::EcdsaP256, KeyEncoding::Sec1, "EC PRIVATE KEY")]
    #[case::p384_sec1(KeyAlgorithm::EcdsaP384, KeyEncoding::Sec1, "EC PRIVATE KEY")]
    #[case::ed25519_pkcs8(KeyAlgorithm::Ed25519, KeyEncoding::Pkcs8, "PRIVATE KEY")]
    #[case::rsa2048_pkcs1(KeyAlgorithm::Rsa2048, KeyEncoding::Pkcs1, "RSA PRIVATE KEY")]
    #[case::rsa3072_pkcs8(KeyAlgorithm::Rsa3072, KeyEncoding::Pkcs8, "PRIVATE KEY")]
    fn every_algorithm_and_encoding_loads_as_a_serving_key(
        #[case] algorithm: KeyAlgorithm,
        #[case] encoding: KeyEncoding,
        #[case] label: &str,
    ) {
        let leaf = CertSpec::leaf("ca")
            .with_sans(["localhost"])
            .with_algorithm(algorithm)
            .with_key_encoding(encoding);
        let (_dir, _pki, files) = build(leaf_set(leaf));
        let key = files.key("leaf").unwrap();
        let text = std::fs::read_to_string(&key).unwrap();
        assert!(
            text.starts_with(&format!("-----BEGIN {label}-----")),
            "{text}"
        );
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
        load_certified_key(&files.chain("leaf").unwrap(), &key).unwrap();
    }

    #[test]
    fn encoding_that_does_not_fit_the_algorithm_is_an_error() {
        let leaf = CertSpec::leaf("ca").with_key_encoding(KeyEncoding::Pkcs1);
        let err = leaf_set(leaf)
            .build()
            .unwrap()
            .write_to(tempfile::tempdir().unwrap().path())
            .unwrap_err();
        assert!(err.to_string().contains("leaf.key-encoding"), "{err}");
    }

    #[rstest]
    #[case::full(ChainShape::Full, 3)]
    #[case::without_root(ChainShape::WithoutRoot, 2)]
    #[case::leaf_and_issuer(ChainShape::LeafAndIssuer, 2)]
    #[case::leaf_only(ChainShape::LeafOnly, 1)]
    fn chain_shapes(#[case] shape: ChainShape, #[case] len: usize) {
        let leaf = CertSpec::leaf("int").with_chain(shape);
        let (_dir, pki, files) = build(leaf_set(leaf));
        let certs = read_certificates(&files.chain("leaf").unwrap()).unwrap();
        assert_eq!(certs.len(), len);
        assert_eq!(certs[0], pki.get("leaf").unwrap().cert);
        if len == 3 {
            assert_eq!(certs[2], pki.get("ca").unwrap().cert);
        }
    }

    #[test]
    fn sans_and_validity_are_as_specified() {
        let leaf = CertSpec::leaf("ca")
            .with_sans(["gw.example", "10.1.2.3"])
            .with_validity_days(-2, 7);
        let (_dir, pki, _files) = build(leaf_set(leaf));
        let der = pki.get("leaf").unwrap().cert.clone();
        let (_, cert) = X509Certificate::from_der(&der).unwrap();
        let san = cert.subject_alternative_name().unwrap().unwrap();
        let names: Vec<String> = san
            .value
            .general_names
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(names, ["DNSName(gw.example)", "IPAddress(0a:01:02:03)"]);
        let days = (cert.validity().not_after.timestamp() - cert.validity().not_before.timestamp())
            / 86_400;
        assert_eq!(days, 9);
        assert!(!cert.is_ca());
    }

    #[rstest]
    #[case::expired(Defect::Expired)]
    #[case::not_yet_valid(Defect::NotYetValid)]
    fn validity_defects_change_only_the_window(#[case] defect: Defect) {
        let leaf = CertSpec::leaf("ca")
            .with_sans(["localhost"])
            .with_defect(defect);
        let (_dir, pki, _files) = build(leaf_set(leaf));
        let (_, cert) = X509Certificate::from_der(&pki.get("leaf").unwrap().cert).unwrap();
        assert!(!cert.validity().is_valid());
        let san = cert.subject_alternative_name().unwrap().unwrap();
        assert_eq!(san.value.general_names.len(), 1);
    }

    #[test]
    fn wrong_san_defect_replaces_the_names() {
        let leaf = CertSpec::leaf("ca")
            .with_sans(["localhost"])
            .with_defect(Defect::WrongSan);
        let (_dir, pki, _files) = build(leaf_set(leaf));
        let (_, cert) = X509Certificate::from_der(&pki.get("leaf").unwrap().cert).unwrap();
        let san = cert.subject_alternative_name().unwrap().unwrap();
        assert_eq!(
            san.value.general_names[0].to_string(),
            format!("DNSName({})", spec::WRONG_SAN)
        );
    }

    #[test]
    fn mismatched_key_defect_is_refused_when_loading() {
        let leaf = CertSpec::leaf("ca")
            .with_sans(["localhost"])
            .with_defect(Defect::MismatchedKey);
        let (_dir, _pki, files) = build(leaf_set(leaf));
        let err = load_certified_key(&files.chain("leaf").unwrap(), &files.key("leaf").unwrap())
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("does not match the first certificate"),
            "{err}"
        );
    }

    #[test]
    fn other_root_signs_a_chain_that_does_not_verify_against_ca() {
        let spec = PkiSpec::new()
            .with("ca", CertSpec::root())
            .with("other", CertSpec::root())
            .with("leaf", CertSpec::leaf("other"));
        let (_dir, pki, _files) = build(spec);
        let (_, leaf) = X509Certificate::from_der(&pki.get("leaf").unwrap().cert).unwrap();
        let (_, ca) = X509Certificate::from_der(&pki.get("ca").unwrap().cert).unwrap();
        let (_, other) = X509Certificate::from_der(&pki.get("other").unwrap().cert).unwrap();
        assert!(leaf.verify_signature(Some(other.public_key())).is_ok());
        assert!(leaf.verify_signature(Some(ca.public_key())).is_err());
    }

    #[test]
    fn trusted_certificate_blocks_are_read() {
        let (dir, pki, files) = build(PkiSpec::new().with("ca", CertSpec::root()));
        let der = pki.get("ca").unwrap().cert.to_vec();
        let mut with_trailer = der.clone();
        with_trailer.extend_from_slice(&[0x30, 0x03, 0x06, 0x01, 0x00]); // an X509_CERT_AUX-like trailer
        let path = dir.path().join("trusted.pem");
        std::fs::write(&path, der::pem("TRUSTED CERTIFICATE", &with_trailer)).unwrap();
        assert_eq!(
            read_certificates(&path).unwrap()[0].as_ref(),
            der.as_slice()
        );
        assert!(files.cert("ca").is_some());
    }

    #[test]
    fn builder_errors_name_the_certificate() {
        let err = PkiSpec::new()
            .with("leaf", CertSpec::leaf("nobody"))
            .build()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "pki: leaf.issuer: no certificate named \"nobody\" in this set; fix: name a certificate defined in the same pki section"
        );
        let spec = PkiSpec::new()
            .with("ca", CertSpec::root())
            .with("leaf", CertSpec::leaf("ca"))
            .with("sub", CertSpec::leaf("leaf"));
        assert!(spec
            .build()
            .unwrap_err()
            .to_string()
            .contains("\"leaf\" is not a CA"));
    }

    #[test]
    fn manual_set_builds_and_describes_every_file() {
        let pki = manual_set().build().unwrap();
        let text = describe(&pki);
        assert_eq!(text.lines().count(), pki.iter().count());
        assert!(
            text.contains("gateway-expired: leaf issued by ca"),
            "{text}"
        );
        assert!(text.contains("BROKEN ON PURPOSE: expired"), "{text}");
    }
}
