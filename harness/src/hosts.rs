//! The user's host names (`hosts:` in a scenario file or report): each name
//! resolves to a reference node's address (loopback) for every client a case
//! runs, without root and without touching the machine's `/etc/hosts`.
//!
//! How: the engine writes the case's names to [`HOSTS_FILE`] in the case
//! directory (the names first, then the machine's own `/etc/hosts`, so
//! `localhost` and the machine's name still resolve). Every real peer starts
//! through [`crate::process`], which, when that file exists, enters a
//! private user and mount namespace in the child before `exec` and
//! bind-mounts the file over `/etc/hosts` there ([`Isolation`]). The network
//! namespace stays the machine's, so loopback nodes are reachable, and the
//! user id is mapped to itself, so the tool runs as the same user. Every
//! resolver that reads `/etc/hosts` then sees the names: glibc's
//! `getaddrinfo` (curl, openssl, kcat/librdkafka, Node.js, the JVM) and Go's
//! own resolver (zbctl, the Go client). The built-in client, which runs in
//! this process, looks the names up in the case's file itself ([`lookup`]).
//!
//! Unprivileged user namespaces must be allowed (`kernel.unprivileged_userns_clone`,
//! `user.max_user_namespaces`); where they are not, a case with `hosts:` is
//! skipped with the reason (an error under `TLSMATRIX_REQUIRE_PEERS=1`).

use std::collections::BTreeMap;
use std::ffi::CString;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::error::HarnessError;

/// The file in the case directory that becomes the clients' `/etc/hosts`.
pub const HOSTS_FILE: &str = "tlsmatrix-hosts";

/// Names and the addresses they resolve to (`kafka: 127.0.0.1`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Hosts {
    /// Name → address.
    pub(crate) names: BTreeMap<String, IpAddr>,
}

impl Hosts {
    /// True when the case names no host.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Checks every name: a DNS name (letters, digits, `-`, `.`, `_`), not an
    /// address. `source` names the file in the error. A valid name's ports
    /// are redacted in reports from then on, as loopback's are.
    pub fn check(&self, source: &str) -> Result<(), HarnessError> {
        for name in self.names.keys() {
            let valid = !name.is_empty()
                && name.len() <= 253
                && name.parse::<IpAddr>().is_err()
                && name.split('.').all(|label| {
                    !label.is_empty()
                        && label.len() <= 63
                        && label
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                });
            if !valid {
                return Err(HarnessError::invalid(
                    source,
                    format!("hosts.{name}"),
                    "not a DNS host name",
                    "write a name such as zeebe-gateway.ns.svc.cluster.local: 127.0.0.1",
                ));
            }
        }
        if let Ok(mut names) = REDACTED.lock() {
            names.extend(self.names.keys().map(|n| n.to_ascii_lowercase()));
        }
        Ok(())
    }

    /// The hosts file's text: the case's names first (the first match wins),
    /// then the machine's own entries.
    pub fn render(&self) -> String {
        let mut text = String::from("# tlsmatrix: the case's hosts: names\n");
        for (name, address) in &self.names {
            text.push_str(&format!("{address} {name}\n"));
        }
        text.push_str("# the machine's /etc/hosts\n");
        match std::fs::read_to_string("/etc/hosts") {
            Ok(own) => text.push_str(&own),
            Err(_) => text.push_str("127.0.0.1 localhost\n::1 localhost\n"),
        }
        text
    }

    /// Writes [`HOSTS_FILE`] into `dir` (nothing when there are no names).
    pub fn write_to(&self, dir: &Path) -> Result<(), HarnessError> {
        if self.is_empty() {
            return Ok(());
        }
        crate::pki::write_readme(&dir.join(HOSTS_FILE), &self.render())
    }
}

/// Every `hosts:` name of the cases loaded in this process: a port after one
/// of them is a node's port from `:0`, which varies from run to run.
static REDACTED: std::sync::Mutex<std::collections::BTreeSet<String>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());

/// `NAME:PORT` → `NAME:[port]` for every `hosts:` name loaded in this process.
pub fn redact_ports(text: &str) -> String {
    let names: Vec<String> = match REDACTED.lock() {
        Ok(names) if !names.is_empty() => names.iter().map(|n| regex::escape(n)).collect(),
        _ => return text.to_string(),
    };
    // Longest first, so `a.b` is not taken for `b`; whole names only.
    let mut names = names;
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    let pattern = format!(
        r"(?i)(^|[^A-Za-z0-9.\-])({}):[0-9]{{1,5}}\b",
        names.join("|")
    );
    match regex::Regex::new(&pattern) {
        Ok(re) => re.replace_all(text, "${1}${2}:[port]").into_owned(),
        Err(_) => text.to_string(),
    }
}

/// The address `name` has in the case directory's hosts file, if the case
/// names it (what the in-process client dials instead of asking the system).
pub fn lookup(workdir: &Path, name: &str) -> Option<IpAddr> {
    let text = std::fs::read_to_string(workdir.join(HOSTS_FILE)).ok()?;
    text.lines()
        .map(|l| l.split('#').next().unwrap_or_default())
        .find_map(|line| {
            let mut fields = line.split_whitespace();
            let address = fields.next()?.parse::<IpAddr>().ok()?;
            fields
                .any(|n| n.eq_ignore_ascii_case(name))
                .then_some(address)
        })
}

/// The case's hosts file in `workdir`, when the case has one.
pub fn case_file(workdir: &Path) -> Option<PathBuf> {
    let path = workdir.join(HOSTS_FILE);
    path.is_file().then_some(path)
}

/// What a child does between `fork` and `exec` to see the case's hosts file
/// as `/etc/hosts`. Everything is prepared before the fork, so the child only
/// makes system calls (no allocation after `fork` in a threaded process).
#[derive(Debug, Clone)]
pub struct Isolation {
    hosts: CString,
    uid_map: CString,
    gid_map: CString,
}

const ETC_HOSTS: &std::ffi::CStr = c"/etc/hosts";
const ROOT: &std::ffi::CStr = c"/";

impl Isolation {
    /// Prepares the isolation for the hosts file at `hosts`; checks once per
    /// process that this machine allows it, else says why and what to change.
    pub fn for_file(hosts: &Path) -> Result<Self, HarnessError> {
        let isolation = Self::prepare(hosts)?;
        static SUPPORTED: OnceLock<Result<(), String>> = OnceLock::new();
        SUPPORTED
            .get_or_init(|| isolation.try_once())
            .clone()
            .map_err(|reason| HarnessError::Unavailable {
                what: "hosts:".to_string(),
                reason: format!(
                    "the case's host names need a private user and mount namespace for each client (unshare(CLONE_NEWUSER|CLONE_NEWNS), then a bind mount over /etc/hosts), and this machine refused it: {reason}"
                ),
                fix: "allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0; in a container, a seccomp profile that permits unshare), or dial 127.0.0.1/localhost instead of hosts: names".to_string(),
            })?;
        Ok(isolation)
    }

    fn prepare(hosts: &Path) -> Result<Self, HarnessError> {
        use std::os::unix::ffi::OsStrExt;
        let cstr = |s: &[u8]| {
            CString::new(s).map_err(|_| {
                HarnessError::invalid(
                    hosts.display().to_string(),
                    "hosts",
                    "the path holds a NUL byte",
                    "use another temporary directory",
                )
            })
        };
        // SAFETY: getuid/getgid cannot fail.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        Ok(Self {
            hosts: cstr(hosts.as_os_str().as_bytes())?,
            uid_map: cstr(format!("{uid} {uid} 1").as_bytes())?,
            gid_map: cstr(format!("{gid} {gid} 1").as_bytes())?,
        })
    }

    /// Runs [`Self::enter`] in a forked child that exits at once: whether this
    /// machine allows it, and if not, the failing step's error.
    fn try_once(&self) -> Result<(), String> {
        use std::os::unix::process::CommandExt;
        let mut command = std::process::Command::new("/bin/sh");
        command.args(["-c", ":"]);
        // SAFETY: `enter` only makes async-signal-safe system calls.
        let isolation = self.clone();
        unsafe { command.pre_exec(move || isolation.enter()) };
        match command.status() {
            Ok(status) if status.success() => Ok(()),
            Ok(status) => Err(format!("a test child exited with {status}")),
            Err(e) => Err(e.to_string()),
        }
    }

    /// In the child, before `exec`: a new user namespace mapping this user to
    /// itself and a new mount namespace, private, with the hosts file bound
    /// over `/etc/hosts`. Async-signal-safe: system calls on prepared data.
    pub fn enter(&self) -> std::io::Result<()> {
        fn check(rc: libc::c_int) -> std::io::Result<()> {
            if rc == -1 {
                Err(std::io::Error::last_os_error())
            } else {
                Ok(())
            }
        }
        fn write_proc(path: &std::ffi::CStr, text: &std::ffi::CStr) -> std::io::Result<()> {
            // SAFETY: open/write/close on a NUL-terminated path and buffer.
            unsafe {
                let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                check(fd)?;
                let bytes = text.to_bytes();
                let n = libc::write(fd, bytes.as_ptr().cast(), bytes.len());
                libc::close(fd);
                if n < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        }
        // SAFETY: unshare/mount with NUL-terminated strings; the child is
        // single-threaded here, as unshare(CLONE_NEWUSER) requires.
        unsafe {
            check(libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNS))?;
            write_proc(c"/proc/self/setgroups", c"deny")?;
            write_proc(c"/proc/self/uid_map", &self.uid_map)?;
            write_proc(c"/proc/self/gid_map", &self.gid_map)?;
            check(libc::mount(
                std::ptr::null(),
                ROOT.as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ))?;
            check(libc::mount(
                self.hosts.as_ptr(),
                ETC_HOSTS.as_ptr(),
                std::ptr::null(),
                libc::MS_BIND,
                std::ptr::null(),
            ))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(pairs: &[(&str, &str)]) -> Hosts {
        Hosts {
            names: pairs
                .iter()
                .map(|(n, a)| (n.to_string(), a.parse().expect("address")))
                .collect(),
        }
    }

    #[test]
    fn names_come_first_and_are_looked_up_in_the_case_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let h = hosts(&[
            ("zeebe-gateway.ns.svc.cluster.local", "127.0.0.1"),
            ("kafka", "::1"),
        ]);
        h.write_to(dir.path()).expect("written");
        let text = std::fs::read_to_string(dir.path().join(HOSTS_FILE)).expect("read");
        assert!(text.starts_with("# tlsmatrix"), "{text}");
        assert_eq!(
            lookup(dir.path(), "ZEEBE-gateway.ns.svc.cluster.local"),
            Some("127.0.0.1".parse().expect("ip"))
        );
        assert_eq!(
            lookup(dir.path(), "kafka"),
            Some("::1".parse().expect("ip"))
        );
        assert_eq!(lookup(dir.path(), "other.example"), None);
    }

    #[test]
    fn ports_after_a_loaded_name_are_redacted_and_other_ports_kept() {
        hosts(&[("kafka.redact-test", "127.0.0.1")])
            .check("f")
            .expect("valid");
        assert_eq!(
            redact_ports(
                "dial kafka.redact-test:40123, then broker-0:26501 and x.kafka.redact-test:1"
            ),
            "dial kafka.redact-test:[port], then broker-0:26501 and x.kafka.redact-test:1"
        );
    }

    #[test]
    fn a_name_that_is_not_a_host_name_is_refused_with_its_key() {
        let err = hosts(&[("bad name", "127.0.0.1")])
            .check("case.yaml")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("case.yaml: hosts.bad name: not a DNS host name"),
            "{err}"
        );
        assert!(hosts(&[("10.0.0.1", "127.0.0.1")]).check("f").is_err());
        assert!(hosts(&[("test.test.localhost", "127.0.0.1")])
            .check("f")
            .is_ok());
    }

    #[test]
    fn a_child_sees_the_case_file_as_etc_hosts_and_the_machine_keeps_its_own() {
        let dir = tempfile::tempdir().expect("temp dir");
        hosts(&[("only-in-this-case.tlsmatrix.test", "127.0.0.9")])
            .write_to(dir.path())
            .expect("written");
        let isolation = match Isolation::for_file(&dir.path().join(HOSTS_FILE)) {
            Ok(i) => i,
            // A machine without user namespaces says so, with the key.
            Err(e) => {
                assert!(e.to_string().starts_with("hosts:"), "{e}");
                assert!(e.is_missing_peer());
                return;
            }
        };
        use std::os::unix::process::CommandExt;
        let mut command = std::process::Command::new("getent");
        command.args(["hosts", "only-in-this-case.tlsmatrix.test"]);
        // SAFETY: `enter` only makes system calls.
        unsafe { command.pre_exec(move || isolation.enter()) };
        let out = command.output().expect("getent runs");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .collect::<Vec<_>>(),
            ["127.0.0.9", "only-in-this-case.tlsmatrix.test"]
        );
        let own = std::fs::read_to_string("/etc/hosts").expect("the machine's file");
        assert!(!own.contains("only-in-this-case"));
    }
}
