//! Headless Chromium (Debian's `chromium`, installed by `ci/setup`) loading
//! the gateway's URL as a browser user would: `chromium --headless
//! --dump-dom URL`. A CA the user trusts is imported the way a Linux user
//! does it, into the NSS database under `$HOME/.pki/nssdb` with `certutil`
//! (Debian's `libnss3-tools`); the case directory is `$HOME`.
//!
//! What it prints (measured, Chromium 156): the page's DOM on stdout, and on
//! a failed load one line `Page load failed: net::ERR_...` on stderr among
//! its own log lines. The observation keeps the `<pre>` text of the page
//! (the gateway's JSON, or its plain-text error) and the `net::ERR_` lines
//! without Chromium's `[pid:tid:date:LEVEL:file:line]` prefix, whose file
//! line numbers change with every Debian security update.

use std::path::PathBuf;
use std::time::Duration;

use super::Observation;
use crate::config::EnvMap;
use crate::error::HarnessError;
use crate::outcome::Outcome;
use crate::process;

/// The peer's name in reports (the version is Debian's current package,
/// not pinned: Debian updates Chromium with its security fixes).
pub const PEER: &str = "chromium --headless";

/// How to install it.
pub const INSTALL: &str = "bash ci/setup (or: apt-get install chromium libnss3-tools)";

/// Extra time Chromium gets to start (a browser process tree on a loaded
/// 2-core machine) before the page load's own bound matters.
const STARTUP_ALLOWANCE: Duration = Duration::from_secs(15);

/// One page load.
#[derive(Debug, Clone)]
pub struct BrowserConfig {
    /// The URL loaded (`https://localhost:PORT/__health`).
    pub(crate) url: String,
    /// A CA certificate the user imported into the browser's trust store
    /// (NSS), relative to the working directory.
    pub(crate) trusted_ca: Option<String>,
    /// The working directory, also `$HOME` (the NSS database and the profile).
    pub(crate) workdir: PathBuf,
    /// Bound on the page load.
    pub(crate) deadline: Duration,
}

impl BrowserConfig {
    /// A load of `url` in `workdir` (also `$HOME`), trusting no imported CA,
    /// bounded by 10 s.
    pub fn new(url: impl Into<String>, workdir: impl Into<PathBuf>) -> Self {
        Self {
            url: url.into(),
            trusted_ca: None,
            workdir: workdir.into(),
            deadline: Duration::from_secs(10),
        }
    }

    /// Imports this CA certificate (relative to the working directory) into
    /// the browser's trust store first.
    pub fn with_trusted_ca(mut self, path: impl Into<String>) -> Self {
        self.trusted_ca = Some(path.into());
        self
    }

    /// Bounds the page load.
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// The URL loaded.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The imported CA certificate, if any.
    pub fn trusted_ca(&self) -> Option<&str> {
        self.trusted_ca.as_deref()
    }

    /// The working directory (also `$HOME`).
    pub fn workdir(&self) -> &std::path::Path {
        &self.workdir
    }

    /// The bound on the page load.
    pub fn deadline(&self) -> Duration {
        self.deadline
    }
}

fn missing(tool: &str) -> HarnessError {
    HarnessError::PeerMissing {
        peer: PEER.to_string(),
        detail: format!("no `{tool}` on PATH"),
        install: INSTALL.to_string(),
    }
}

/// Finds `chromium` (`$TLSMATRIX_CHROMIUM` first).
pub fn locate() -> Result<PathBuf, HarnessError> {
    process::locate("TLSMATRIX_CHROMIUM", "", "chromium").ok_or_else(|| missing("chromium"))
}

/// Finds NSS's `certutil`, which imports a CA into Chromium's trust store.
pub fn locate_certutil() -> Result<PathBuf, HarnessError> {
    process::locate("TLSMATRIX_NO_SUCH_OVERRIDE", "", "certutil").ok_or_else(|| missing("certutil"))
}

/// The environment Chromium's launcher script needs (it runs `findmnt`,
/// `grep` and friends); nothing else of ours leaks in.
fn launcher_env() -> EnvMap {
    let mut env = EnvMap::new();
    env.insert(
        "PATH".to_string(),
        "/usr/local/bin:/usr/bin:/bin".to_string(),
    );
    env
}

/// The Chromium command line (without the program).
pub fn args(c: &BrowserConfig) -> Vec<String> {
    vec![
        "--headless".to_string(),
        // As root (CI, containers) Chromium refuses to start with its sandbox.
        "--no-sandbox".to_string(),
        "--disable-gpu".to_string(),
        "--no-first-run".to_string(),
        "--user-data-dir=chromium-profile".to_string(),
        format!("--timeout={}", c.deadline.as_millis()),
        "--dump-dom".to_string(),
        c.url.clone(),
    ]
}

/// Imports `ca` into a new NSS database under `$HOME/.pki/nssdb` as a
/// trusted CA for servers (`-t C,,`), as a user does for Chromium on Linux.
async fn trust(c: &BrowserConfig, ca: &str) -> Result<Option<Observation>, HarnessError> {
    let certutil = locate_certutil()?;
    let db = c.workdir.join(".pki/nssdb");
    std::fs::create_dir_all(&db).map_err(|e| HarnessError::write(&db, e))?;
    let steps: [Vec<String>; 2] = [
        ["-d", "sql:.pki/nssdb", "-N", "--empty-password"]
            .map(String::from)
            .to_vec(),
        [
            "-d",
            "sql:.pki/nssdb",
            "-A",
            "-t",
            "C,,",
            "-n",
            "tlsmatrix-ca",
            "-i",
            ca,
        ]
        .map(String::from)
        .to_vec(),
    ];
    for step in steps {
        let out = process::run(&certutil, &step, &launcher_env(), &c.workdir, c.deadline).await?;
        if out.exit_code != Some(0) {
            // A CA file certutil cannot read is the user's error, shown as certutil says it.
            return Ok(Some(Observation {
                peer: "certutil".to_string(),
                command: Some(format!("certutil {}", step.join(" "))),
                exit_code: out.exit_code,
                stdout: out.stdout,
                stderr: out.stderr,
                elapsed: out.elapsed,
                ..Observation::default()
            }));
        }
    }
    Ok(None)
}

/// The text of the page's first `<pre>` (Chromium shows a plain-text or JSON
/// answer in one), else the whole DOM, trimmed.
fn page_text(dom: &str) -> String {
    let inner = dom
        .split_once("<pre")
        .and_then(|(_, rest)| rest.split_once('>'))
        .and_then(|(_, rest)| rest.split_once("</pre>"))
        .map(|(text, _)| text);
    inner.unwrap_or(dom).trim().to_string()
}

/// The `net::ERR_` lines of Chromium's log, without its line prefix.
fn net_errors(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|l| l.contains("net::ERR_"))
        .map(|l| match l.split_once("] ") {
            Some((prefix, rest)) if prefix.starts_with('[') => rest,
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Loads the page once.
pub async fn load(c: &BrowserConfig) -> Result<Observation, HarnessError> {
    let bin = locate()?;
    let mut shown = Vec::new();
    if let Some(ca) = &c.trusted_ca {
        if let Some(failed) = trust(c, ca).await? {
            return Ok(failed);
        }
        shown.push(format!(
            "certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n tlsmatrix-ca -i {ca} &&"
        ));
    }
    let args = args(c);
    shown.push(format!("chromium {}", args.join(" ")));
    let out = process::run(
        &bin,
        &args,
        &launcher_env(),
        &c.workdir,
        c.deadline + STARTUP_ALLOWANCE,
    )
    .await?;
    let text = page_text(&out.stdout);
    let errors = net_errors(&out.stderr);
    let ok = errors.is_empty() && text.contains(r#""status":"ok""#);
    Ok(Observation {
        peer: PEER.to_string(),
        command: Some(shown.join(" ")),
        exit_code: out.exit_code,
        direct: ok.then_some(Outcome::Succeeded),
        stdout: text,
        stderr: if out.timed_out { out.stderr } else { errors },
        elapsed: out.elapsed,
        ..Observation::default()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_net_error_line_loses_chromiums_prefix() {
        let stderr = "[12:34:1204/185822.764835:ERROR:components/headless/command_handler/headless_command_handler.cc:403] Page load failed: net::ERR_CERT_AUTHORITY_INVALID\n\
            [1:2:1204/185822.563964:ERROR:net/socket/ssl_client_socket_impl.cc:949] handshake failed; returned -1, SSL error code 1, net_error -202\n";
        assert_eq!(
            super::net_errors(stderr),
            "Page load failed: net::ERR_CERT_AUTHORITY_INVALID"
        );
    }

    #[test]
    fn the_page_text_is_the_pre_element() {
        let dom = r#"<html><head></head><body><pre style="x">Client sent an HTTP request to an HTTPS server.
</pre></body></html>"#;
        assert_eq!(
            super::page_text(dom),
            "Client sent an HTTP request to an HTTPS server."
        );
    }
}
