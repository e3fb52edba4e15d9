//! Arbitrary bytes as a certificate chain file (CERTIFICATE and TRUSTED
//! CERTIFICATE blocks): an error naming the file, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = tlsmatrix::pki::parse_certificates(std::path::Path::new("fuzz.pem"), data);
});
