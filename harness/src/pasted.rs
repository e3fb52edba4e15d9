//! A text a user pasted, made ready for classification.
//!
//! Users paste more than one client's last line: whole Java stack traces whose
//! decisive line is a `Caused by:`, server, proxy and broker logs with
//! timestamps and addresses, JSON-escaped log records, shaded package names
//! (`io.grpc.netty.shaded.io.netty...`) and texts cut off mid-word. [`Pasted`]
//! normalises such a text once and splits it into [`Unit`]s (the whole text,
//! each line, each `Caused by:` message) that catalogue signatures are tried
//! on. Normalisation only removes what varies between posts of the same error;
//! it never rewrites an error's own words.

use std::sync::OnceLock;

use regex::Regex;

/// The longest text classified; the rest is cut (a whole log file pasted
/// costs no more than its first 256 KiB).
pub const MAX_TEXT: usize = 256 * 1024;

/// One place in a pasted text where a signature may match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// The text of the unit, normalised.
    pub text: String,
    /// 0 for the whole text, then 1.. for its lines in order.
    pub line: usize,
}

/// A pasted text, normalised and split into units.
#[derive(Debug, Clone)]
pub struct Pasted {
    /// The whole text after normalisation.
    pub normalised: String,
    /// The whole text first, then every non-empty line (and the message of
    /// every `Caused by:` line), each normalised.
    pub units: Vec<Unit>,
    /// True when the text seems cut off (ends mid-word, or with `...`).
    pub truncated: bool,
}

fn regex(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("a valid built-in pattern"))
}

/// ANSI colour and cursor escapes.
fn ansi() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    regex(&R, r"\x1b\[[0-9;?]*[A-Za-z]")
}

/// Package prefixes that shading adds: `io.grpc.netty.shaded.io.netty` and
/// `io.camunda.zeebe.shaded.io.grpc` both read as the unshaded package.
fn shaded() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    regex(&R, r"\b(?:[a-z][a-z0-9_]*\.)+shaded\.")
}

/// Log prefixes: ISO, Go and syslog timestamps, log levels, thread names.
fn log_prefix() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    regex(
        &R,
        r"^(?:\[?\d{4}[-/]\d{2}[-/]\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?\]?\s*|[A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2} \S+ \S+: )",
    )
}

/// Whitespace runs inside a line.
fn spaces() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    regex(&R, r"[ \t]+")
}

impl Pasted {
    /// Normalises `text`.
    pub fn new(text: &str) -> Self {
        let mut text = text;
        if text.len() > MAX_TEXT {
            let mut end = MAX_TEXT;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text = &text[..end];
        }
        let mut s = ansi().replace_all(text, "").into_owned();
        s = s.replace("\r\n", "\n").replace('\r', "\n");
        // A JSON-escaped log record: its line breaks and quotes are escapes.
        if s.contains("\\n") && s.lines().count() <= 2 {
            s = s
                .replace("\\r\\n", "\n")
                .replace("\\n", "\n")
                .replace("\\t", "\t");
        }
        if s.contains("\\\"") {
            s = s.replace("\\\"", "\"");
        }
        s = shaded().replace_all(&s, "").into_owned();
        let mut units = Vec::new();
        let mut lines = Vec::new();
        for raw in s.lines() {
            let line = spaces().replace_all(raw.trim(), " ").into_owned();
            if line.is_empty() {
                continue;
            }
            lines.push(line);
        }
        let normalised = lines.join("\n");
        let trimmed = normalised.trim_end();
        // Cut off: an ellipsis, or a last word with no closing punctuation.
        let truncated = trimmed.ends_with("...")
            || trimmed.ends_with('…')
            || trimmed.ends_with(|c: char| c.is_alphabetic());
        units.push(Unit {
            text: normalised.clone(),
            line: 0,
        });
        for (i, line) in lines.iter().enumerate() {
            let bare = log_prefix().replace(line, "").into_owned();
            units.push(Unit {
                text: bare.clone(),
                line: i + 1,
            });
            if let Some(rest) = bare.strip_prefix("Caused by: ") {
                units.push(Unit {
                    text: rest.to_string(),
                    line: i + 1,
                });
            }
        }
        Self {
            normalised,
            units,
            truncated,
        }
    }

    /// The last line, without a trailing ellipsis: where a cut-off text ends.
    pub fn tail(&self) -> &str {
        let last = self.normalised.lines().last().unwrap_or("");
        last.trim_end_matches("[...]")
            .trim_end_matches("...")
            .trim_end_matches('…')
            .trim_end()
    }
}

/// True when `signature` is a plain literal (no regular-expression syntax),
/// so a cut-off text may be matched by a prefix of it.
pub fn is_literal(signature: &str) -> bool {
    !signature.contains([
        '\\', '^', '$', '.', '|', '?', '*', '+', '(', ')', '[', ']', '{', '}',
    ])
}

/// The length of the longest prefix of `signature` (at least `min` bytes) that
/// `tail` ends with: a literal signature matched by a text cut off inside it.
pub fn cut_prefix_match(tail: &str, signature: &str, min: usize) -> Option<usize> {
    let max = signature.len().saturating_sub(1).min(tail.len());
    (min..=max)
        .rev()
        .filter(|&k| signature.is_char_boundary(k))
        .find(|&k| tail.ends_with(&signature[..k]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shaded_packages_read_as_the_unshaded_ones() {
        let p = Pasted::new("io.grpc.netty.shaded.io.netty.handler.ssl.NotSslRecordException: not an SSL/TLS record: 474554");
        assert!(p
            .normalised
            .starts_with("io.netty.handler.ssl.NotSslRecordException"));
    }

    #[test]
    fn caused_by_lines_are_units_of_their_own() {
        let p = Pasted::new(
            "io.grpc.StatusRuntimeException: UNAVAILABLE: io exception\n\tat io.grpc.Status.asRuntimeException(Status.java:539)\nCaused by: javax.net.ssl.SSLHandshakeException: PKIX path building failed",
        );
        assert!(p
            .units
            .iter()
            .any(|u| u.text == "javax.net.ssl.SSLHandshakeException: PKIX path building failed"));
        assert_eq!(p.units[0].line, 0);
    }

    #[test]
    fn json_escaped_records_and_log_prefixes_are_unwrapped() {
        let p = Pasted::new(
            r#"{"msg":"boom\nCaused by: x509: certificate signed by unknown authority \"x\""}"#,
        );
        assert!(p
            .units
            .iter()
            .any(|u| u.text.starts_with("x509: certificate")));
        let p = Pasted::new("2024-01-02 10:11:12.345 ERROR something failed");
        assert_eq!(p.units[1].text, "ERROR something failed");
        let p = Pasted::new("2024/01/02 10:11:12 [error] 7#7: *1 upstream failed");
        assert_eq!(p.units[1].text, "[error] 7#7: *1 upstream failed");
    }

    #[test]
    fn a_cut_text_matches_a_prefix_of_a_literal_signature() {
        let p = Pasted::new("Error: ... handshake failed: x509: certificate signed by unkn");
        assert!(p.truncated);
        assert!(cut_prefix_match(
            p.tail(),
            "x509: certificate signed by unknown authority",
            16
        )
        .is_some());
        assert!(cut_prefix_match("nothing alike", "x509: certificate signed by", 16).is_none());
        assert!(is_literal("PKIX path building failed"));
        assert!(!is_literal("alert (bad|unknown)"));
    }

    #[test]
    fn huge_texts_are_cut_on_a_character_boundary() {
        let text = "é".repeat(MAX_TEXT);
        let p = Pasted::new(&text);
        assert!(p.normalised.len() <= MAX_TEXT);
    }
}
