//! Keys a product would ignore: misspelt (`securty:`), at the wrong level
//! (`zeebe.gateway.network.certificateChainPath`), or given twice in a JSON
//! object. The product's behaviour stays the product's (it ignores them, so
//! does tlsmatrix); the lint only says so, naming the key and the one most
//! likely meant.

use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};

use super::properties::{relaxed, Properties};
use super::zeebe::GatewayMode;

/// The candidate closest to `word` (relaxed: case, `-` and `_` ignored) within
/// an edit distance of 2 (1 for words of up to 4 letters), if any, and not
/// `word` itself.
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let w = relaxed(word);
    let limit = if w.len() <= 4 { 1 } else { 2 };
    candidates
        .iter()
        .map(|c| (distance(&w, &relaxed(c)), *c))
        .filter(|(d, _)| *d > 0 && *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance, with a transposition counted as one edit.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

/// Zeebe's gateway keys, relative to the shape's prefix: the sections and
/// their keys the Zeebe 8.4 `GatewayCfg` binds (a section marked with a
/// trailing `.` has keys tlsmatrix does not list one by one).
const GATEWAY_KEYS: &[&str] = &[
    "enable",
    "network.host",
    "network.port",
    "network.advertisedHost",
    "network.minKeepAliveInterval",
    "network.maxMessageSize",
    "network.socketReceiveBuffer",
    "network.socketSendBuffer",
    "security.enabled",
    "security.certificateChainPath",
    "security.privateKeyPath",
    "security.keyStore.filePath",
    "security.keyStore.password",
    "security.authentication.",
    "cluster.",
    "threads.",
    "longPolling.",
    "interceptors.",
    "filters.",
    "multiTenancy.",
];

/// Warnings for keys under the gateway's prefix (`zeebe.gateway` or
/// `zeebe.broker.gateway`) that Zeebe would not bind: each names the key as
/// written and the key most likely meant.
pub fn zeebe_gateway(props: &Properties, mode: GatewayMode) -> Vec<String> {
    let prefix = mode.prefix();
    let wanted = format!("{}.", relaxed(prefix));
    let mut warnings = Vec::new();
    for written in props.keys() {
        let r = relaxed(written);
        let Some(rest) = r.strip_prefix(&wanted) else {
            continue;
        };
        let known = GATEWAY_KEYS.iter().any(|k| {
            let k = relaxed(k);
            match k.strip_suffix('.') {
                Some(section) => rest == section || rest.starts_with(&k),
                None => rest == k,
            }
        });
        if known {
            continue;
        }
        if let Some(meant) = meant_key(rest) {
            warnings.push(format!(
                "{}: {written}: Zeebe ignores this key; did you mean {prefix}.{meant}?",
                props.source()
            ));
        }
    }
    warnings
}

/// A warning when the file holds the other shape's gateway keys, which this
/// shape ignores (`zeebe.gateway.*` read with `--mode embedded`, or
/// `zeebe.broker.gateway.*` read as a standalone gateway).
pub fn other_shape(props: &Properties, mode: GatewayMode) -> Option<String> {
    let (other, flag) = match mode {
        GatewayMode::Standalone => (GatewayMode::Embedded, "--mode embedded"),
        GatewayMode::Embedded => (GatewayMode::Standalone, "--mode standalone (the default)"),
    };
    let wanted = format!("{}.", relaxed(other.prefix()));
    let key = props.keys().find(|k| relaxed(k).starts_with(&wanted))?;
    Some(format!(
        "{}: {key}: ignored in this shape, which reads {}.*; did you mean {flag}?",
        props.source(),
        mode.prefix()
    ))
}

/// The known key a relaxed unknown key most likely means: one misspelt
/// segment, or a known key's last segment at another level.
fn meant_key(rest: &str) -> Option<String> {
    let segments: Vec<&str> = rest.split('.').collect();
    // Misspelt: every segment of a known key equal or close, at the same
    // depth (or deeper, for a section whose keys are not listed).
    for k in GATEWAY_KEYS {
        let section = k.ends_with('.');
        let known: Vec<&str> = k.trim_end_matches('.').split('.').collect();
        let depth_fits = if section {
            segments.len() >= known.len()
        } else {
            segments.len() == known.len()
        };
        let close = known
            .iter()
            .zip(&segments)
            .all(|(k, s)| relaxed(k) == *s || closest(s, &[k]).is_some());
        if depth_fits && close {
            let mut meant: Vec<&str> = known.clone();
            meant.extend(&segments[known.len()..]);
            return Some(meant.join("."));
        }
    }
    // Wrong level: the last segment is a distinctive key of another section.
    let last = segments.last()?;
    GATEWAY_KEYS
        .iter()
        .find(|k| {
            let leaf = k.rsplit('.').next().unwrap_or(k);
            leaf.len() > 8 && relaxed(leaf) == *last
        })
        .map(|k| k.to_string())
}

/// The JSON paths (`tls.enable_mtls`, `endpoints[0].backend`) of keys that
/// appear more than once in the same object; empty for text that is not JSON.
pub fn duplicate_json_keys(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut de = serde_json::Deserializer::from_str(text);
    let _ = Walk {
        path: String::new(),
        found: &mut found,
    }
    .deserialize(&mut de);
    found
}

/// Walks a JSON document recording duplicate keys by path.
struct Walk<'f> {
    path: String,
    found: &'f mut Vec<String>,
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("JSON")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = std::collections::BTreeSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = if self.path.is_empty() {
                key.clone()
            } else {
                format!("{}.{key}", self.path)
            };
            if !seen.insert(key) && !self.found.contains(&path) {
                self.found.push(path.clone());
            }
            map.next_value_seed(Walk {
                path,
                found: self.found,
            })?;
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        while seq
            .next_element_seed(Walk {
                path: format!("{}[{i}]", self.path),
                found: self.found,
            })?
            .is_some()
        {
            i += 1;
        }
        Ok(())
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lint(yaml: &str) -> Vec<String> {
        let props = Properties::from_yaml("gateway.yaml", yaml, Default::default()).unwrap();
        zeebe_gateway(&props, GatewayMode::Standalone)
    }

    #[test]
    fn a_misspelt_section_names_the_key_meant() {
        let w = lint("zeebe.gateway:\n  securty:\n    enabled: true\n");
        assert_eq!(
            w,
            ["gateway.yaml: zeebe.gateway.securty.enabled: Zeebe ignores this key; did you mean zeebe.gateway.security.enabled?"]
        );
    }

    #[test]
    fn a_key_at_the_wrong_level_names_its_place() {
        let w = lint("zeebe.gateway:\n  network:\n    certificateChainPath: x.pem\n");
        assert!(
            w[0].contains("did you mean zeebe.gateway.security.certificateChainPath"),
            "{w:?}"
        );
    }

    #[test]
    fn known_and_relaxed_keys_are_quiet() {
        assert!(lint("zeebe.gateway:\n  security:\n    certificate-chain-path: x\n    enabled: true\n  cluster:\n    initialContactPoints: [a]\n  network: {host: h, port: 1}\n").is_empty());
    }

    #[test]
    fn duplicate_json_keys_are_found_by_path() {
        let text = r#"{"port": 1, "tls": {"enable_mtls": true, "enable_mtls": false}, "port": 2, "e": [{"a": 1, "a": 2}]}"#;
        assert_eq!(
            duplicate_json_keys(text),
            ["tls.enable_mtls", "port", "e[0].a"]
        );
    }

    #[test]
    fn closest_allows_small_edits_only() {
        assert_eq!(
            closest("enabled_mtls", &["enable_mtls", "disabled"]),
            Some("enable_mtls")
        );
        assert_eq!(closest("endpoint", &["enable_mtls"]), None);
    }
}
