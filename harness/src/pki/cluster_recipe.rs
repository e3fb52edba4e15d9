//! The certificates of Zeebe's "Secure cluster communication" page, made by
//! running the page's openssl commands with the real `openssl`, in the case
//! directory. The commands are the documented ones, made non-interactive with
//! `-subj` carrying the defaults openssl proposes (so every certificate has the
//! same distinguished name, as when the operator presses enter): a CA written as
//! a `TRUSTED CERTIFICATE` (`-trustout`), X.509 v1 node certificates, and
//! `chainNode<X>.pem` = `node<X>.pem` + `ca.pem`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::config::EnvMap;
use crate::error::HarnessError;
use crate::process::{self, tools};

/// The subject openssl's defaults give when every prompt is answered with enter.
pub const DEFAULT_SUBJECT: &str = "/C=XX/L=Default City/O=Default Company Ltd";

/// How long one openssl command may take (DSA parameters take a few seconds).
const COMMAND_DEADLINE: Duration = Duration::from_secs(60);

/// Which files the recipe makes (the `openssl:` section of a case body).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Recipe {
    /// Node letters: `A` makes `nodeA.key`, `nodeA.pem`, `chainNodeA.pem`, with
    /// an RSA 2048 key as documented.
    #[serde(default)]
    pub(crate) nodes: Vec<String>,
    /// Node letters made the same way but with a DSA key (`genpkey -algorithm DSA`).
    #[serde(default)]
    pub(crate) dsa_nodes: Vec<String>,
    /// Node letters whose key is also written password-protected, as
    /// `node<X>-encrypted.key` (`openssl pkey -aes-256-cbc`).
    #[serde(default)]
    pub(crate) encrypt: Vec<String>,
}

/// Where `openssl` is: `$TLSMATRIX_OPENSSL` or `PATH`.
pub fn locate() -> Result<PathBuf, HarnessError> {
    tools::OPENSSL.locate()
}

async fn openssl(dir: &Path, args: &[&str]) -> Result<(), HarnessError> {
    let bin = locate()?;
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let out = process::run(&bin, &args, &EnvMap::new(), dir, COMMAND_DEADLINE).await?;
    if out.exit_code == Some(0) {
        Ok(())
    } else {
        Err(
            HarnessError::start_failed(format!("openssl {}", args.join(" ")), out.stderr.trim())
                .with_fix("correct the openssl recipe's step: openssl's own words are above"),
        )
    }
}

fn concat(dir: &Path, parts: &[&str], out: &str) -> Result<(), HarnessError> {
    // Names from the file stay in the case directory (crate::confine).
    let key = format!("concat.{out}");
    let mut bytes = Vec::new();
    for part in parts {
        let path = crate::confine::inside(dir, part, "cluster file", &key)?;
        bytes.extend(std::fs::read(&path).map_err(|e| HarnessError::read(&path, e))?);
    }
    let target = crate::confine::inside(dir, out, "cluster file", &key)?;
    super::write_file(&target, &bytes, 0o644)
}

impl Recipe {
    /// True when there is nothing to make.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty() && self.dsa_nodes.is_empty()
    }

    /// Runs the commands for `dir`: made once per process for the same
    /// recipe and `openssl` ([`crate::pki::recipe_cache`]), copied into `dir`.
    pub async fn run(&self, dir: &Path) -> Result<(), HarnessError> {
        if self.is_empty() {
            return Ok(());
        }
        self.check_letters()?;
        let key = format!(
            "zeebe-cluster openssl\n{}\n{DEFAULT_SUBJECT}\n{self:?}",
            locate()?.display()
        );
        crate::pki::recipe_cache::materialize(key, dir, |scratch| async move {
            self.make(&scratch).await
        })
        .await
    }

    /// A letter becomes part of file names (`node<X>.key`): one plain name.
    fn check_letters(&self) -> Result<(), HarnessError> {
        let lists = [
            ("openssl.nodes", &self.nodes),
            ("openssl.dsa-nodes", &self.dsa_nodes),
            ("openssl.encrypt", &self.encrypt),
        ];
        for (key, letters) in lists {
            for letter in letters {
                let plain = !letter.is_empty()
                    && letter
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
                if !plain {
                    return Err(HarnessError::invalid(
                        "cluster file",
                        key,
                        format!("{letter:?} is not a plain node letter"),
                        "use letters, digits, `-` or `_` (it becomes node<X>.key, node<X>.pem)",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Runs the documented commands with the real `openssl` in `dir`: the
    /// CA, the DSA parameters when a node has a DSA key, each node's key,
    /// request, certificate and chain file, the encrypted key copies, then
    /// the keys' mode.
    async fn make(&self, dir: &Path) -> Result<(), HarnessError> {
        make_ca(dir).await?;
        if !self.dsa_nodes.is_empty() {
            make_dsa_params(dir).await?;
        }
        let all = self
            .nodes
            .iter()
            .map(|n| (n, false))
            .chain(self.dsa_nodes.iter().map(|n| (n, true)));
        for (node, dsa) in all {
            make_node(dir, node, dsa).await?;
        }
        for node in &self.encrypt {
            encrypt_key(dir, node).await?;
        }
        // openssl keeps the mode of a key file that already existed: 0600 now.
        let keys = self
            .nodes
            .iter()
            .chain(&self.dsa_nodes)
            .chain(&self.encrypt);
        let keys = keys
            .map(|n| format!("node{n}.key"))
            .chain(
                self.encrypt
                    .iter()
                    .map(|n| format!("node{n}-encrypted.key")),
            )
            .chain(["ca.key".to_string()]);
        for key in keys {
            use std::os::unix::fs::PermissionsExt;
            let path = dir.join(key);
            if path.exists() {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                    .map_err(|e| HarnessError::write(&path, e))?;
            }
        }
        Ok(())
    }
}

/// The CA: a self-signed certificate from a request (`-trustout`).
async fn make_ca(dir: &Path) -> Result<(), HarnessError> {
    let subj = DEFAULT_SUBJECT;
    openssl(
        dir,
        &[
            "req", "-new", "-newkey", "rsa:2048", "-nodes", "-out", "ca.csr", "-keyout", "ca.key",
            "-subj", subj,
        ],
    )
    .await?;
    openssl(
        dir,
        &[
            "x509",
            "-trustout",
            "-signkey",
            "ca.key",
            "-days",
            "365",
            "-req",
            "-in",
            "ca.csr",
            "-out",
            "ca.pem",
        ],
    )
    .await?;
    Ok(())
}

/// DSA parameters the DSA nodes' keys are made from.
async fn make_dsa_params(dir: &Path) -> Result<(), HarnessError> {
    openssl(
        dir,
        &[
            "genpkey",
            "-genparam",
            "-algorithm",
            "DSA",
            "-pkeyopt",
            "dsa_paramgen_bits:2048",
            "-out",
            "dsa-params.pem",
        ],
    )
    .await?;
    Ok(())
}

/// A node's key (RSA 2048 or DSA), request, CA-signed certificate and chain
/// file (`chainNode<X>.pem`: its certificate, then the CA's).
async fn make_node(dir: &Path, node: &str, dsa: bool) -> Result<(), HarnessError> {
    let subj = DEFAULT_SUBJECT;
    let key = format!("node{node}.key");
    let csr = format!("node{node}.csr");
    let pem = format!("node{node}.pem");
    if dsa {
        openssl(
            dir,
            &["genpkey", "-paramfile", "dsa-params.pem", "-out", &key],
        )
        .await?;
    } else {
        openssl(
            dir,
            &[
                "genpkey",
                "-out",
                &key,
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
            ],
        )
        .await?;
    }
    openssl(
        dir,
        &["req", "-new", "-key", &key, "-out", &csr, "-subj", subj],
    )
    .await?;
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-days",
            "365",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-set_serial",
            "01",
            "-out",
            &pem,
        ],
    )
    .await?;
    concat(dir, &[&pem, "ca.pem"], &format!("chainNode{node}.pem"))?;
    Ok(())
}

/// An AES-256-CBC encrypted copy of a node's key (`node<X>-encrypted.key`).
async fn encrypt_key(dir: &Path, node: &str) -> Result<(), HarnessError> {
    let key = format!("node{node}.key");
    let out = format!("node{node}-encrypted.key");
    openssl(
        dir,
        &[
            "pkey",
            "-in",
            &key,
            "-out",
            &out,
            "-aes-256-cbc",
            "-passout",
            "pass:tlsmatrix",
        ],
    )
    .await?;
    Ok(())
}

/// Concatenates files of the case directory into new ones, as operators build
/// chain files with `cat` (`out → [part, ...]`).
pub fn concatenate(
    dir: &Path,
    files: &std::collections::BTreeMap<String, Vec<String>>,
) -> Result<(), HarnessError> {
    for (out, parts) in files {
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        concat(dir, &parts, out)?;
    }
    Ok(())
}
