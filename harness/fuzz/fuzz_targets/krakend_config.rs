//! Arbitrary bytes as krakend.json: settings or an error with a JSON path.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = tlsmatrix::config::krakend::ServiceSettings::from_value(
            "krakend.json",
            &value,
            std::path::Path::new("/w"),
        );
    }
});
