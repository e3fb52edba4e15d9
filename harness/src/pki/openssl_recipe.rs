//! Certificates made the way the products' documentation tells operators to
//! make them: the documented `openssl` commands, run for real (not rcgen), so
//! that what openssl produces (X.509 v1 certificates, `TRUSTED CERTIFICATE`
//! blocks, serial files) is what the nodes get.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::config::EnvMap;
use crate::error::HarnessError;
use crate::process::{self, tools};

/// Which documented recipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Recipe {
    /// KrakenD's mTLS example: `rootCA.pem`/`rootCA.key`, `client.crt`/`client.key`,
    /// `server.crt`/`server.key`, all CN-only X.509 v1 certificates signed by
    /// `rootCA.pem` (whose subject CN is `example.com`; leaves are `localhost`).
    Krakend,
}

const SUBJECT: &str = "/C=US/ST=California/L=Mountain View/O=Your Organization/OU=Your Unit";

/// The KrakenD recipe, command by command (the passphrase of the des3 step
/// given on the command line instead of typed).
fn krakend_commands() -> Vec<Vec<String>> {
    let mut cmds: Vec<String> = vec![
        "genrsa -des3 -passout pass:tlsmatrix -out rootCA.protected.key 2048".into(),
        "rsa -passin pass:tlsmatrix -in rootCA.protected.key -out rootCA.key".into(),
        format!("req -x509 -new -nodes -key rootCA.key -sha256 -days 1024 -out rootCA.pem -subj {SUBJECT}/CN=example.com"),
    ];
    for who in ["client", "server"] {
        cmds.push(format!("genrsa -out {who}.key 2048"));
        cmds.push(format!(
            "req -new -key {who}.key -out {who}.csr -subj {SUBJECT}/CN=localhost"
        ));
        cmds.push(format!(
            "x509 -req -in {who}.csr -extensions {who} -CA rootCA.pem -CAkey rootCA.key -CAcreateserial -out {who}.crt -days 500 -sha256"
        ));
    }
    // The subject has spaces: split on spaces except inside it.
    cmds.iter()
        .map(|c| {
            let mut args = Vec::new();
            let mut rest = c.as_str();
            while let Some(pos) = rest.find("-subj ") {
                args.extend(rest[..pos].split_whitespace().map(String::from));
                args.push("-subj".into());
                let subject = &rest[pos + 6..];
                let end = subject.find(" -").unwrap_or(subject.len());
                args.push(subject[..end].to_string());
                rest = &subject[end..];
            }
            args.extend(rest.split_whitespace().map(String::from));
            args
        })
        .collect()
}

/// Runs `recipe` with the real `openssl` for `dir`. Keys end up 0600. The
/// files are made once per process for the same recipe and `openssl`
/// ([`super::recipe_cache`]), and copied into `dir`.
pub async fn run(recipe: Recipe, dir: &Path) -> Result<(), HarnessError> {
    let openssl = tools::OPENSSL.locate()?;
    let commands = match recipe {
        Recipe::Krakend => krakend_commands(),
    };
    let key = format!(
        "pki::openssl_recipe {recipe:?}\n{}\n{commands:?}",
        openssl.display()
    );
    super::recipe_cache::materialize(key, dir, |scratch| make(openssl, commands, scratch)).await
}

/// Runs the commands with the real `openssl` in `dir`; keys made 0600.
async fn make(
    openssl: std::path::PathBuf,
    commands: Vec<Vec<String>>,
    dir: std::path::PathBuf,
) -> Result<(), HarnessError> {
    let dir = dir.as_path();
    for args in commands {
        let out = process::run(
            &openssl,
            &args,
            &EnvMap::new(),
            dir,
            Duration::from_secs(30),
        )
        .await?;
        if out.exit_code != Some(0) {
            return Err(HarnessError::start_failed(
                "openssl recipe",
                format!("`openssl {}` failed: {}", args.join(" "), out.stderr.trim()),
            ));
        }
    }
    for entry in std::fs::read_dir(dir).map_err(|e| HarnessError::read(dir, e))? {
        let path = entry.map_err(|e| HarnessError::read(dir, e))?.path();
        if path.extension().is_some_and(|e| e == "key") {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| HarnessError::write(&path, e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn subjects_stay_one_argument() {
        let cmds = super::krakend_commands();
        let req = &cmds[2];
        let i = req.iter().position(|a| a == "-subj").unwrap();
        assert!(req[i + 1].ends_with("/CN=example.com") && req[i + 1].contains("Mountain View"));
        assert_eq!(req.last().unwrap(), &req[i + 1]);
    }
}
