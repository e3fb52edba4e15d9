//! One rule for file names that come from input files.
//!
//! A report (`files:`, `generate:`, `setup: ... config-file:`) or a scenario
//! (`pki:` names, `config-file:`, a cluster node's `workdir:`) names files that
//! tlsmatrix writes into, or reads from, a case directory. Every such name is
//! resolved **inside** its directory:
//!
//! - it is relative: an absolute name (`/etc/passwd`) is refused;
//! - it has no `..` component (`../x`, `a/../../x`), and is not empty;
//! - once joined, the deepest part that exists, with symbolic links resolved,
//!   is still inside the directory (a link in the directory that points out is
//!   refused).
//!
//! A refusal is a [`HarnessError::Invalid`] naming the file and the key
//! (exit 2). Paths *inside a product's own configuration*
//! (`certificateChainPath`, KrakenD's `public_key`, ...) are not names of this
//! kind: the product itself reads whatever they name, so tlsmatrix does too, and
//! `reproduce` says so in its evidence ([`outside_reads`]).

use std::path::{Component, Path, PathBuf};

use crate::error::HarnessError;

/// Why `name` cannot be a name inside a directory, if it cannot (lexical
/// check only: no file system access).
pub fn refusal(name: &str) -> Option<&'static str> {
    let path = Path::new(name);
    if name.is_empty() {
        return Some("the name is empty");
    }
    if name.contains('\0') {
        return Some("the name contains a NUL byte");
    }
    if path.is_absolute() {
        return Some("an absolute name points outside the case directory");
    }
    if path.components().any(|c| matches!(c, Component::ParentDir)) {
        return Some("a `..` component points outside the case directory");
    }
    None
}

/// `dir/name`, refused unless it stays inside `dir` (see the module
/// documentation); `file` and `key` name where `name` came from.
pub fn inside(dir: &Path, name: &str, file: &str, key: &str) -> Result<PathBuf, HarnessError> {
    let refuse = |problem: String| {
        HarnessError::invalid(
            file,
            key,
            problem,
            "give a plain relative name inside the case directory (no leading `/`, no `..`, no link that leaves it)",
        )
    };
    if let Some(why) = refusal(name) {
        return Err(refuse(format!("{name:?}: {why}")));
    }
    let joined = dir.join(name);
    // `dir` may be empty (the parent of a bare file name): the current one.
    let base = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let checked = base.join(name);
    // The directory itself may sit behind a link (/tmp on some systems):
    // compare resolved with resolved.
    let root = base.canonicalize().unwrap_or_else(|_| base.to_path_buf());
    let mut probe = checked.as_path();
    loop {
        let is_link = std::fs::symlink_metadata(probe).is_ok_and(|m| m.file_type().is_symlink());
        let real = probe.canonicalize();
        if is_link && real.is_err() {
            return Err(refuse(format!(
                "{name:?} passes a symbolic link that points nowhere in the case directory"
            )));
        }
        if let Ok(real) = real {
            if !real.starts_with(&root) {
                return Err(refuse(format!(
                    "{name:?} resolves to {} through a symbolic link, outside the case directory",
                    real.display()
                )));
            }
            break;
        }
        match probe.parent() {
            Some(parent) if parent.starts_with(base) => probe = parent,
            _ => break,
        }
    }
    Ok(joined)
}

/// String values under `value` that name a file outside a case directory
/// (absolute, or with a `..` component), each with its dotted key: what a
/// product's own configuration makes the product read, said in the evidence.
pub fn outside_reads(value: &serde_yaml_ng::Value, prefix: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    collect_outside(value, prefix, &mut found);
    found
}

fn collect_outside(value: &serde_yaml_ng::Value, key: &str, found: &mut Vec<(String, String)>) {
    use serde_yaml_ng::Value;
    match value {
        Value::Mapping(map) => {
            for (k, v) in map {
                let k = match k {
                    Value::String(s) => s.clone(),
                    other => serde_yaml_ng::to_string(other)
                        .unwrap_or_default()
                        .trim()
                        .to_string(),
                };
                let key = if key.is_empty() {
                    k
                } else {
                    format!("{key}.{k}")
                };
                collect_outside(v, &key, found);
            }
        }
        Value::Sequence(items) => {
            for (i, v) in items.iter().enumerate() {
                collect_outside(v, &format!("{key}[{i}]"), found);
            }
        }
        Value::String(s) if looks_like_outside_path(s) => {
            found.push((key.to_string(), s.clone()));
        }
        Value::Tagged(t) => collect_outside(&t.value, key, found),
        _ => {}
    }
}

fn looks_like_outside_path(s: &str) -> bool {
    // Only single-line values that read as a path: a URL or a free text
    // with a slash is not a file the product reads.
    if s.contains('\n') || s.contains("://") || s.contains(' ') {
        return false;
    }
    let path = Path::new(s);
    path.is_absolute() || path.components().any(|c| matches!(c, Component::ParentDir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_relative_names_resolve_inside() {
        let dir = tempfile::tempdir().unwrap();
        let p = inside(dir.path(), "nodes/broker-0/gateway.yaml", "f", "k").unwrap();
        assert_eq!(p, dir.path().join("nodes/broker-0/gateway.yaml"));
    }

    #[test]
    fn absolute_parent_and_empty_names_are_refused_with_the_key() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["/etc/passwd", "../x", "a/../../x", ""] {
            let err = inside(dir.path(), name, "report.yaml", "files.x")
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("report.yaml: files.x: "), "{err}");
        }
    }

    #[test]
    fn a_link_that_leaves_the_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("out")).unwrap();
        let err = inside(dir.path(), "out/ca.key", "f", "pki.ca")
            .unwrap_err()
            .to_string();
        assert!(err.contains("symbolic link"), "{err}");
        let cwd_relative = inside(Path::new(""), "x", "f", "k").unwrap();
        assert_eq!(cwd_relative, Path::new("x"));
        std::os::unix::fs::symlink("inner", dir.path().join("ok")).unwrap();
        std::fs::create_dir(dir.path().join("inner")).unwrap();
        inside(dir.path(), "ok/ca.key", "f", "pki.ca").unwrap();
    }

    #[test]
    fn outside_reads_lists_absolute_and_parent_paths_with_their_keys() {
        let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(
            "gateway:\n  config:\n    security: {certificateChainPath: /etc/x.pem, privateKeyPath: k.pem}\n  env: {A: ../y}\nurl: http://h/x\n",
        )
        .unwrap();
        assert_eq!(
            outside_reads(&v, "setup"),
            [
                (
                    "setup.gateway.config.security.certificateChainPath".to_string(),
                    "/etc/x.pem".to_string()
                ),
                ("setup.gateway.env.A".to_string(), "../y".to_string())
            ]
        );
    }
}
