//! What to build: a named set of certificate specifications, as code or as the
//! `pki:` section of a scenario file.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{KeyAlgorithm, KeyEncoding};

/// A named set of certificates to build. Names are file stems: `ca` becomes
/// `ca.pem` and `ca.key`, a leaf `gateway` also gets `gateway-chain.pem`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PkiSpec {
    /// Certificates by name.
    pub(crate) certs: BTreeMap<String, CertSpec>,
}

impl PkiSpec {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a certificate, builder style.
    pub fn with(mut self, name: impl Into<String>, spec: CertSpec) -> Self {
        self.certs.insert(name.into(), spec);
        self
    }

    /// Adds (or replaces) every certificate of `other`, builder style.
    pub fn with_all(mut self, other: &PkiSpec) -> Self {
        self.certs
            .extend(other.certs.iter().map(|(k, v)| (k.clone(), v.clone())));
        self
    }

    /// True when there is nothing to build.
    pub fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }

    /// Every file the set writes, in name order.
    pub fn file_names(&self) -> Vec<String> {
        self.certs
            .iter()
            .flat_map(|(name, spec)| spec.file_names(name))
            .collect()
    }
}

/// One certificate and its key.
///
/// A spec without `issuer` is a self-signed root; with `issuer` it is signed by the
/// named certificate of the same set. Broken material is the same spec with one
/// [`Defect`] set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct CertSpec {
    /// The name of the issuing certificate in the same set; none for a root.
    #[serde(default)]
    pub(crate) issuer: Option<String>,
    /// Whether this certificate may issue others. Defaults to true for roots and
    /// false otherwise; set it for intermediates.
    #[serde(default)]
    pub(crate) ca: Option<bool>,
    /// Subject common name; defaults to `tlsmatrix <name>`.
    #[serde(default)]
    pub(crate) common_name: Option<String>,
    /// Subject alternative names: IP addresses become IP SANs, the rest DNS SANs.
    #[serde(default)]
    pub(crate) sans: Vec<String>,
    /// Key algorithm.
    #[serde(default)]
    pub(crate) algorithm: KeyAlgorithm,
    /// Encoding of the key file.
    #[serde(default)]
    pub(crate) key_encoding: KeyEncoding,
    /// Start of validity, in days relative to now (negative = in the past).
    #[serde(default = "default_not_before")]
    pub(crate) not_before_days: i64,
    /// End of validity, in days relative to now.
    #[serde(default = "default_not_after")]
    pub(crate) not_after_days: i64,
    /// Extended key usages of a leaf.
    #[serde(default)]
    pub(crate) usage: Usage,
    /// What `<name>-chain.pem` holds.
    #[serde(default)]
    pub(crate) chain: ChainShape,
    /// The one field changed to make this certificate wrong on purpose.
    #[serde(default)]
    pub(crate) defect: Option<Defect>,
    /// The files written, named and encoded as the user has them; without
    /// it, `<name>.pem`, `<name>.key` and `<name>-chain.pem`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) files: Option<FileSet>,
}

/// The files of one certificate as a user has them: a preset layout, single
/// names, keystores. With a `files:` entry only the files it names are
/// written (so a setup naming a file the user does not have fails).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct FileSet {
    /// A preset: `kubernetes-tls` is a TLS secret as cert-manager writes it
    /// (`tls.crt` the chain, `tls.key` the key, `ca.crt` the root).
    #[serde(default)]
    pub(crate) layout: Option<Layout>,
    /// The certificate alone (PEM).
    #[serde(default)]
    pub(crate) cert: Option<String>,
    /// The certificate and its issuers per `chain:` (PEM).
    #[serde(default)]
    pub(crate) chain: Option<String>,
    /// The private key, PEM in `key-encoding`.
    #[serde(default)]
    pub(crate) key: Option<String>,
    /// The root certificate of its chain (PEM; a root's own certificate).
    #[serde(default)]
    pub(crate) ca: Option<String>,
    /// Keystores holding the key and chain.
    #[serde(default)]
    pub(crate) keystores: Vec<Store>,
    /// Truststores holding the certificate as a trusted entry.
    #[serde(default)]
    pub(crate) truststores: Vec<Store>,
}

/// A preset file layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// `tls.crt` (chain), `tls.key`, `ca.crt` (root): a Kubernetes TLS secret
    /// mounted as files, as cert-manager writes it.
    KubernetesTls,
}

/// A Java keystore or truststore file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Store {
    /// The file name.
    pub(crate) file: String,
    /// `pkcs12` or `jks`.
    #[serde(rename = "type")]
    pub(crate) kind: StoreType,
    /// The store password.
    pub(crate) store_password: String,
    /// The key's own password (JKS keystores only; PKCS#12 stores made by
    /// openssl and keytool use the store password for the key).
    #[serde(default)]
    pub(crate) key_password: Option<String>,
    /// The entry's alias; defaults to the certificate's name.
    #[serde(default)]
    pub(crate) alias: Option<String>,
    /// More key entries after this certificate's own (PKCS#12 keystores
    /// only): other certificates of the set, each added in order with
    /// `keytool -importkeystore` under its own name as alias, as a renewed
    /// certificate is added to an existing store. The JDK keeps the file
    /// order, so this certificate's entry stays the first alias.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) then: Vec<String>,
}

/// A keystore format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StoreType {
    /// PKCS#12 (`.p12`, `.pfx`), Java's default store type since 9.
    Pkcs12,
    /// Java's proprietary JKS.
    Jks,
}

/// The PEM file names of one certificate, resolved from its [`FileSet`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PemFiles {
    /// The certificate alone.
    pub(crate) cert: Option<String>,
    /// The chain file.
    pub(crate) chain: Option<String>,
    /// The key file.
    pub(crate) key: Option<String>,
    /// The root of its chain.
    pub(crate) ca: Option<String>,
}

impl CertSpec {
    /// The PEM files written for the certificate `name`: the defaults, or
    /// what its `files:` names (a layout, then single names over it).
    pub fn pem_files(&self, name: &str) -> PemFiles {
        let Some(files) = &self.files else {
            return PemFiles {
                cert: Some(format!("{name}.pem")),
                chain: self.issuer.is_some().then(|| format!("{name}-chain.pem")),
                key: Some(format!("{name}.key")),
                ca: None,
            };
        };
        let mut pem = match files.layout {
            Some(Layout::KubernetesTls) => PemFiles {
                cert: None,
                chain: Some("tls.crt".into()),
                key: Some("tls.key".into()),
                ca: Some("ca.crt".into()),
            },
            None => PemFiles::default(),
        };
        for (slot, given) in [
            (&mut pem.cert, &files.cert),
            (&mut pem.chain, &files.chain),
            (&mut pem.key, &files.key),
            (&mut pem.ca, &files.ca),
        ] {
            if given.is_some() {
                slot.clone_from(given);
            }
        }
        pem
    }

    /// Every file written for the certificate `name`.
    pub fn file_names(&self, name: &str) -> Vec<String> {
        let pem = self.pem_files(name);
        let mut out: Vec<String> = [pem.cert, pem.chain, pem.key, pem.ca]
            .into_iter()
            .flatten()
            .collect();
        if let Some(files) = &self.files {
            for store in files.keystores.iter().chain(&files.truststores) {
                out.push(store.file.clone());
            }
        }
        out
    }
}

fn default_not_before() -> i64 {
    -1
}

fn default_not_after() -> i64 {
    365
}

impl CertSpec {
    /// A self-signed root CA.
    pub fn root() -> Self {
        Self {
            issuer: None,
            ca: None,
            common_name: None,
            sans: Vec::new(),
            algorithm: KeyAlgorithm::default(),
            key_encoding: KeyEncoding::default(),
            not_before_days: default_not_before(),
            not_after_days: default_not_after(),
            usage: Usage::default(),
            chain: ChainShape::default(),
            defect: None,
            files: None,
        }
    }

    /// An intermediate CA signed by `issuer`.
    pub fn intermediate(issuer: &str) -> Self {
        Self {
            issuer: Some(issuer.to_string()),
            ca: Some(true),
            ..Self::root()
        }
    }

    /// A leaf (end-entity) certificate signed by `issuer`.
    pub fn leaf(issuer: &str) -> Self {
        Self {
            issuer: Some(issuer.to_string()),
            ..Self::root()
        }
    }

    /// Sets the subject alternative names.
    pub fn with_sans<I, S>(mut self, sans: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.sans = sans.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the key algorithm.
    pub fn with_algorithm(mut self, algorithm: KeyAlgorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// Sets the key encoding.
    pub fn with_key_encoding(mut self, encoding: KeyEncoding) -> Self {
        self.key_encoding = encoding;
        self
    }

    /// Sets the validity window, in days relative to now.
    pub fn with_validity_days(mut self, not_before: i64, not_after: i64) -> Self {
        self.not_before_days = not_before;
        self.not_after_days = not_after;
        self
    }

    /// Sets the extended key usage.
    pub fn with_usage(mut self, usage: Usage) -> Self {
        self.usage = usage;
        self
    }

    /// Sets the chain file's shape.
    pub fn with_chain(mut self, chain: ChainShape) -> Self {
        self.chain = chain;
        self
    }

    /// Breaks the certificate on purpose.
    pub fn with_defect(mut self, defect: Defect) -> Self {
        self.defect = Some(defect);
        self
    }

    /// True when this certificate may sign others.
    pub fn is_ca(&self) -> bool {
        self.ca.unwrap_or(self.issuer.is_none())
    }

    /// The spec with its defect applied: the one changed field.
    pub(crate) fn effective(&self) -> Self {
        let mut spec = self.clone();
        match self.defect {
            Some(Defect::Expired) => {
                spec.not_before_days = -30;
                spec.not_after_days = -1;
            }
            Some(Defect::NotYetValid) => {
                spec.not_before_days = 1;
                spec.not_after_days = 30;
            }
            Some(Defect::WrongSan) => spec.sans = vec![WRONG_SAN.to_string()],
            Some(Defect::MismatchedKey) | None => {}
        }
        spec
    }
}

/// The SAN a [`Defect::WrongSan`] certificate carries instead of the requested ones.
pub const WRONG_SAN: &str = "wrong-host.tlsmatrix.invalid";

/// Which extended key usages a leaf carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Usage {
    /// TLS server and TLS client authentication (what node certificates need,
    /// since cluster nodes are both).
    #[default]
    ServerAndClient,
    /// TLS server authentication only.
    Server,
    /// TLS client authentication only.
    Client,
}

/// What a leaf's `<name>-chain.pem` contains, leaf first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChainShape {
    /// Leaf, every intermediate and the root.
    #[default]
    Full,
    /// Leaf and every intermediate, without the root (what most servers send).
    WithoutRoot,
    /// Leaf and its direct issuer only (an intermediate-signed leaf then lacks
    /// the rest of its path).
    LeafAndIssuer,
    /// The leaf alone (an intermediate-signed leaf then has its intermediate missing).
    LeafOnly,
}

/// A deliberate mistake, made by the same builder with one field changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Defect {
    /// Validity ended yesterday (window: 30 days ago to 1 day ago).
    Expired,
    /// Validity starts tomorrow (window: 1 to 30 days from now).
    NotYetValid,
    /// SANs replaced by [`WRONG_SAN`].
    WrongSan,
    /// The key file holds a fresh key of the same algorithm, not the certificate's.
    MismatchedKey,
}
