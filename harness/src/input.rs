//! Reading an input file (scenario, report, Zeebe YAML, cluster file, KrakenD
//! JSON) within bounds, so that a hostile or broken file is refused quickly
//! with its bound named, never parsed for minutes or into all of memory.
//!
//! - at most [`MAX_INPUT_BYTES`] bytes;
//! - at most [`MAX_NESTING`] levels of `[`/`{` (checked before the parser,
//!   whose time grows with depth);
//! - UTF-8 text, and a file (a directory or non-UTF-8 bytes are said as
//!   such, with a fix that fits).

use std::io::Read;
use std::path::Path;

use crate::error::HarnessError;

/// The largest input file read (4 MiB; the largest shipped file is ~60 KiB).
pub const MAX_INPUT_BYTES: u64 = 4 * 1024 * 1024;

/// The deepest nesting of flow collections (`[`, `{`) accepted.
pub const MAX_NESTING: usize = 64;

/// Reads `path` as text within the bounds above.
pub fn read(path: &Path) -> Result<String, HarnessError> {
    let file = std::fs::File::open(path).map_err(|e| HarnessError::read(path, e))?;
    let meta = file.metadata().map_err(|e| HarnessError::read(path, e))?;
    if meta.is_dir() {
        return Err(HarnessError::read(
            path,
            std::io::Error::from(std::io::ErrorKind::IsADirectory),
        ));
    }
    let mut bytes = Vec::new();
    file.take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| HarnessError::read(path, e))?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(HarnessError::invalid(
            path.display().to_string(),
            "(file size)",
            format!("larger than the input bound of {MAX_INPUT_BYTES} bytes"),
            "split the file; scenario, report and configuration files are small",
        ));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        HarnessError::invalid(
            path.display().to_string(),
            "(encoding)",
            format!(
                "not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
            "save the file as UTF-8",
        )
    })?;
    check_nesting(&path.display().to_string(), &text)?;
    Ok(text)
}

/// Refuses text whose `[`/`{` nesting (outside quoted strings and comments)
/// goes deeper than [`MAX_NESTING`], naming the line.
pub fn check_nesting(file: &str, text: &str) -> Result<(), HarnessError> {
    let mut depth = 0usize;
    let mut line = 1usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut comment = false;
    let mut previous = '\n';
    for c in text.chars() {
        if c == '\n' {
            line += 1;
            comment = false;
            // A YAML single- or double-quoted scalar may span lines; JSON's may not.
        }
        if comment {
            previous = c;
            continue;
        }
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if q == '"' && c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '"' | '\'' if matches!(previous, ' ' | '\t' | '\n' | '[' | '{' | ',' | ':') => {
                    quote = Some(c)
                }
                '#' if previous.is_whitespace() => comment = true,
                '[' | '{' => {
                    depth += 1;
                    if depth > MAX_NESTING {
                        return Err(HarnessError::invalid(
                            file,
                            format!("(line {line})"),
                            format!("nested deeper than the input bound of {MAX_NESTING} levels"),
                            "flatten the structure; no configuration needs that depth",
                        ));
                    }
                }
                ']' | '}' => depth = depth.saturating_sub(1),
                _ => {}
            },
        }
        previous = c;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_nesting_is_refused_quickly_with_its_bound() {
        let text = "[".repeat(100_000);
        let start = std::time::Instant::now();
        let err = check_nesting("x.yaml", &text).unwrap_err().to_string();
        assert!(err.contains("64 levels"), "{err}");
        assert!(start.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn brackets_in_strings_and_comments_do_not_count() {
        let text = format!(
            "a: \"{}\"\nb: '{}' # {}\nc: [[1], {{d: 2}}]\n",
            "[".repeat(100),
            "{".repeat(100),
            "[".repeat(100)
        );
        check_nesting("x.yaml", &text).unwrap();
    }

    #[test]
    fn a_directory_and_non_utf8_bytes_are_said_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let err = read(dir.path()).unwrap_err().to_string();
        assert!(err.contains("directory"), "{err}");
        let bad = dir.path().join("bad.yaml");
        std::fs::write(&bad, b"a: \xff\xfe\n").unwrap();
        let err = read(&bad).unwrap_err().to_string();
        assert!(
            err.contains("not UTF-8") && err.contains("save the file as UTF-8"),
            "{err}"
        );
    }
}
