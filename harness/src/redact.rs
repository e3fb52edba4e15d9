//! Redaction of what varies between runs, and nothing else: ports (on
//! loopback and after a case's `hosts:` names), case directories, hex beyond the first record header, times, durations, serials.
//! The same filters serve the insta snapshots and the CLI's reports.

use std::path::Path;
use std::sync::OnceLock;

use regex::Regex;

/// `(pattern, replacement)` pairs, applied in order.
pub const FILTERS: &[(&str, &str)] = &[
    // A case directory that was not replaced literally (another case's).
    (r"/[^\s'\x22:]*/tlsmatrix-[A-Za-z0-9_]+", "[case-dir]"),
    // Hex dumps: keep the first record header (5 bytes: type, version, length).
    (
        r"(Hex dump for received bytes: [0-9a-f]{10})[0-9a-f]+",
        "${1}[hex]",
    ),
    (
        r"(not an SSL/TLS record: [0-9a-f]{10})[0-9a-f]+",
        "${1}[hex]",
    ),
    // OpenSSL's per-thread error prefix in Node's TLS errors.
    (r"\b[0-9A-F]{12,16}:error:", "[hex]:error:"),
    // Ports on loopback.
    (
        r"(127\.0\.0\.1|localhost|\[::1\]):[0-9]{1,5}",
        "${1}:[port]",
    ),
    // curl's connect failure (exit 7): "port N after T ms" (a closed port).
    (
        r"(Failed to connect to \S+ port )[0-9]{1,5}( after )[0-9]+ ms\b",
        "${1}[port]${2}[duration]",
    ),
    // RFC 3339 times (Go's x509 validity messages).
    (
        r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})",
        "[time]",
    ),
    // Go's time.Time String() (KrakenD's health answer), monotonic part included.
    (
        r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)? [+-][0-9]{4} [A-Z]{3,4}( m=[+-][0-9.]+)?",
        "[time]",
    ),
    // Go's log package prefix (zbctl's warnings): date and time.
    (
        r"(?m)^[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} ",
        "[time] ",
    ),
    // Unix times and ages in rustls' validity messages.
    (r"\b[0-9]{10}\b \(UNIX\)", "[time] (UNIX)"),
    (r"(not valid (?:after|before)) [0-9]{10}\b", "${1} [time]"),
    (r"\([0-9]+ seconds (ago|in future)\)", "([duration] ${1})"),
    // java.util.Date's toString() (Java's certificate validity messages).
    (
        r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{1,2} [0-9]{2}:[0-9]{2}:[0-9]{2} [A-Z]{3,4} [0-9]{4}",
        "[time]",
    ),
    // Durations.
    (r"\b[0-9]+(\.[0-9]+)?(ns|µs|us|ms|s)\b", "[duration]"),
    // Certificate serial numbers.
    (
        r"(?i)(serial(?: number)?[:= ]+)[0-9a-f:]{4,}",
        "${1}[serial]",
    ),
];

fn compiled() -> &'static [(Regex, &'static str)] {
    static CELL: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    CELL.get_or_init(|| {
        FILTERS
            .iter()
            .map(|(p, r)| (Regex::new(p).expect("redaction patterns are valid"), *r))
            .collect()
    })
}

/// Redacts `text`; `workdir`, when given, becomes `[case-dir]` first.
pub fn redact(text: &str, workdir: Option<&Path>) -> String {
    let mut out = match workdir {
        Some(dir) => text.replace(&dir.display().to_string(), "[case-dir]"),
        None => text.to_string(),
    };
    for (re, replacement) in compiled() {
        out = re.replace_all(&out, *replacement).into_owned();
    }
    crate::hosts::redact_ports(&out)
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn curls_closed_port_text_loses_its_port_and_time() {
        assert_eq!(
            redact(
                "curl: (7) Failed to connect to localhost port 41449 after 4 ms: Couldn't connect to server",
                None
            ),
            "curl: (7) Failed to connect to localhost port [port] after [duration]: Couldn't connect to server"
        );
    }

    #[test]
    fn keeps_record_header_and_redacts_ports() {
        let text = "Hex dump for received bytes: 16030100960100009203 at 127.0.0.1:41234";
        assert_eq!(
            redact(text, None),
            "Hex dump for received bytes: 1603010096[hex] at 127.0.0.1:[port]"
        );
    }

    #[test]
    fn case_dir_and_times() {
        let text = "open /tmp/tlsmatrix-AbC123/ca.pem: current time 2026-11-26T18:00:00Z is after 2026-11-25T18:00:00Z";
        assert_eq!(
            redact(text, Some(std::path::Path::new("/tmp/tlsmatrix-AbC123"))),
            "open [case-dir]/ca.pem: current time [time] is after [time]"
        );
    }
}
