//! Arbitrary text as a scenario file: cases or an error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = tlsmatrix::scenario::load_str(std::path::Path::new("scenarios/zeebe-client/fuzz.yaml"), text);
    }
});
