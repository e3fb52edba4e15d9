//! Issuing: turns a [`PkiSpec`] into certificates and keys, issuers first.

use std::collections::BTreeMap;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use rustls::pki_types::CertificateDer;

use super::spec::{CertSpec, Usage};
use super::{der, PkiSpec};
use crate::error::HarnessError;

/// One issued certificate with its key, as built (not yet written).
pub struct Issued {
    /// The certificate's name in its set.
    pub name: String,
    /// The specification with its defect applied.
    pub spec: CertSpec,
    /// The certificate, DER.
    pub cert: CertificateDer<'static>,
    /// Names of the issuers from the direct issuer up to the root.
    pub issuers: Vec<String>,
    /// The PKCS#8 DER of the key that goes into the key file (for a
    /// [`Defect::MismatchedKey`](super::Defect::MismatchedKey) certificate, not its own key).
    pub(crate) key_file_pkcs8: Vec<u8>,
    params: CertificateParams,
    key: KeyPair,
}

impl std::fmt::Debug for Issued {
    // Never print the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("name", &self.name)
            .field("issuers", &self.issuers)
            .finish_non_exhaustive()
    }
}

impl Issued {
    /// The key file's PEM text, in the spec's encoding.
    pub fn key_pem(&self) -> Result<String, HarnessError> {
        der::encode_key_pem(
            &self.key_file_pkcs8,
            self.spec.key_encoding,
            self.spec.algorithm,
        )
        .map_err(|problem| {
            HarnessError::invalid(
                "pki",
                format!("{}.key-encoding", self.name),
                problem,
                "use pkcs1 with RSA keys, sec1 with ECDSA keys, pkcs8 with any",
            )
        })
    }

    /// The certificate's PEM text.
    pub fn cert_pem(&self) -> String {
        der::pem("CERTIFICATE", &self.cert)
    }
}

/// A built set of certificates, by name.
#[derive(Debug)]
pub struct Pki {
    issued: BTreeMap<String, Issued>,
}

impl PkiSpec {
    /// Builds every certificate of the set, issuers before what they issue.
    pub fn build(&self) -> Result<Pki, HarnessError> {
        let mut issued: BTreeMap<String, Issued> = BTreeMap::new();
        let mut pending: Vec<&String> = self.certs.keys().collect();
        while !pending.is_empty() {
            let before = pending.len();
            let mut still = Vec::new();
            for name in pending {
                let spec = &self.certs[name];
                // The name becomes NAME.pem, NAME.key, NAME-chain.pem.
                if let Some(why) = crate::confine::refusal(name).or_else(|| {
                    name.contains('/')
                        .then_some("a certificate name is one file name, without `/`")
                }) {
                    return Err(HarnessError::invalid(
                        "pki",
                        name.clone(),
                        format!("{name:?}: {why}"),
                        "name the certificate with letters, digits, `-` or `_` (its files are NAME.pem, NAME.key, NAME-chain.pem in the case directory)",
                    ));
                }
                match &spec.issuer {
                    Some(issuer) if !self.certs.contains_key(issuer) => {
                        return Err(HarnessError::invalid(
                            "pki",
                            format!("{name}.issuer"),
                            format!("no certificate named {issuer:?} in this set"),
                            "name a certificate defined in the same pki section",
                        ))
                    }
                    Some(issuer) if !issued.contains_key(issuer) => still.push(name),
                    issuer => {
                        let parent = issuer.as_ref().map(|i| &issued[i]);
                        if let Some(parent) = parent {
                            if !parent.spec.is_ca() {
                                return Err(HarnessError::invalid(
                                    "pki",
                                    format!("{name}.issuer"),
                                    format!("{:?} is not a CA", parent.name),
                                    format!("set `ca: true` on {:?}", parent.name),
                                ));
                            }
                        }
                        let cert = issue(name, spec, parent)?;
                        issued.insert(name.clone(), cert);
                    }
                }
            }
            if still.len() == before {
                return Err(HarnessError::invalid(
                    "pki",
                    still[0].clone(),
                    "issuers form a cycle",
                    "make every chain end in a root (a certificate without issuer)",
                ));
            }
            pending = still;
        }
        Ok(Pki { issued })
    }
}

impl PkiSpec {
    /// Checks, without building, what in the input would make [`Self::build`]
    /// fail: a name that is not one plain file name (it becomes NAME.pem,
    /// NAME.key, NAME-chain.pem in the case directory) and a validity window
    /// X.509 time cannot hold. `file` and `section` (`pki`, `generate`) name
    /// the key in the error.
    pub fn check(&self, file: &str, section: &str) -> Result<(), HarnessError> {
        for (name, spec) in &self.certs {
            if let Some(why) = crate::confine::refusal(name).or_else(|| {
                name.contains('/')
                    .then_some("a certificate name is one file name")
            }) {
                return Err(HarnessError::invalid(
                    file,
                    format!("{section}.{name}"),
                    format!("{name:?}: {why}"),
                    "name the certificate with letters, digits, `-` or `_` (its files are NAME.pem, NAME.key, NAME-chain.pem in the case directory)",
                ));
            }
            for (key, days) in [
                ("not-before-days", spec.not_before_days),
                ("not-after-days", spec.not_after_days),
            ] {
                validity_end(name, key, days).map_err(|e| match e {
                    HarnessError::Invalid {
                        key, problem, fix, ..
                    } => HarnessError::invalid(file, format!("{section}.{key}"), problem, fix),
                    other => other,
                })?;
            }
        }
        Ok(())
    }
}

impl Pki {
    /// The certificate named `name`.
    pub fn get(&self, name: &str) -> Option<&Issued> {
        self.issued.get(name)
    }

    /// Every certificate, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Issued> {
        self.issued.values()
    }

    /// The root `name` chains up to (itself for a root).
    pub fn root_of(&self, name: &str) -> Option<&Issued> {
        let leaf = self.issued.get(name)?;
        match leaf.issuers.last() {
            Some(root) => self.issued.get(root),
            None => Some(leaf),
        }
    }

    /// The certificates of `name`'s chain file, leaf first, per its [`ChainShape`](super::ChainShape).
    pub fn chain(&self, name: &str) -> Vec<&Issued> {
        use super::ChainShape;
        let Some(leaf) = self.issued.get(name) else {
            return Vec::new();
        };
        let path: Vec<&Issued> = leaf.issuers.iter().map(|n| &self.issued[n]).collect();
        let upper = match leaf.spec.chain {
            ChainShape::Full => path.len(),
            ChainShape::WithoutRoot => path.len().saturating_sub(1),
            ChainShape::LeafAndIssuer => path.len().min(1),
            ChainShape::LeafOnly => 0,
        };
        std::iter::once(leaf)
            .chain(path.into_iter().take(upper))
            .collect()
    }
}

fn issue(name: &str, spec: &CertSpec, parent: Option<&Issued>) -> Result<Issued, HarnessError> {
    let spec = spec.effective();
    let rcgen_err = |e: rcgen::Error| {
        HarnessError::invalid(
            "pki",
            name,
            format!("cannot build certificate: {e}"),
            "check its fields",
        )
    };
    let not_before = validity_end(name, "not-before-days", spec.not_before_days)?;
    let not_after = validity_end(name, "not-after-days", spec.not_after_days)?;
    let key = spec.algorithm.generate().map_err(rcgen_err)?;
    let mut params = params_for(name, &spec).map_err(rcgen_err)?;
    params.not_before = not_before;
    params.not_after = not_after;
    let cert = match parent {
        Some(parent) => {
            let issuer = Issuer::from_params(&parent.params, &parent.key);
            params.signed_by(&key, &issuer)
        }
        None => params.self_signed(&key),
    }
    .map_err(rcgen_err)?;
    let key_file_pkcs8 = match spec.defect {
        Some(super::Defect::MismatchedKey) => spec
            .algorithm
            .generate()
            .map_err(rcgen_err)?
            .serialize_der(),
        _ => key.serialize_der(),
    };
    let mut issuers = Vec::new();
    if let Some(parent) = parent {
        issuers.push(parent.name.clone());
        issuers.extend(parent.issuers.iter().cloned());
    }
    Ok(Issued {
        name: name.to_string(),
        spec,
        cert: cert.der().clone(),
        issuers,
        key_file_pkcs8,
        params,
        key,
    })
}

/// Years an X.509 validity time can hold: UTCTime from 1950, GeneralizedTime
/// up to 9999 (RFC 5280, 4.1.2.5).
const X509_YEARS: std::ops::RangeInclusive<i32> = 1950..=9999;

/// Now plus `days`, refused (naming `name.key`) when X.509 time cannot hold it.
fn validity_end(name: &str, key: &str, days: i64) -> Result<time::OffsetDateTime, HarnessError> {
    let now = time::OffsetDateTime::now_utc();
    days.checked_mul(86_400)
        .map(time::Duration::seconds)
        .and_then(|d| now.checked_add(d))
        .filter(|t| X509_YEARS.contains(&t.year()))
        .ok_or_else(|| {
            HarnessError::invalid(
                "pki",
                format!("{name}.{key}"),
                format!("{days} days from now is outside what an X.509 certificate can hold (years 1950 to 9999)"),
                "give a number of days between about -27000 and 2900000",
            )
        })
}

fn params_for(name: &str, spec: &CertSpec) -> Result<CertificateParams, rcgen::Error> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    dn.push(
        DnType::CommonName,
        spec.common_name
            .clone()
            .unwrap_or_else(|| format!("tlsmatrix {name}")),
    );
    dn.push(DnType::OrganizationName, "tlsmatrix");
    params.distinguished_name = dn;
    params.subject_alt_names = spec
        .sans
        .iter()
        .map(|san| match san.parse::<std::net::IpAddr>() {
            Ok(ip) => Ok(SanType::IpAddress(ip)),
            Err(_) => Ok(SanType::DnsName(san.clone().try_into()?)),
        })
        .collect::<Result<_, rcgen::Error>>()?;
    if spec.is_ca() {
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
    } else {
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        if spec.algorithm.is_rsa() {
            params.key_usages.push(KeyUsagePurpose::KeyEncipherment);
        }
        params.extended_key_usages = match spec.usage {
            Usage::ServerAndClient => vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ],
            Usage::Server => vec![ExtendedKeyUsagePurpose::ServerAuth],
            Usage::Client => vec![ExtendedKeyUsagePurpose::ClientAuth],
        };
    }
    params.use_authority_key_identifier_extension = spec.issuer.is_some();
    Ok(params)
}
