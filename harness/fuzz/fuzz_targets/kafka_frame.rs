//! Arbitrary bytes as a Kafka request frame body: decode must return a value
//! or an error, never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = tlsmatrix::nodes::kafka::wire::decode_request(bytes::Bytes::copy_from_slice(data));
    let _ = tlsmatrix::nodes::kafka::wire::sasl_plain(bytes::Bytes::copy_from_slice(data));
});
