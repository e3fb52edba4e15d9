//! Small DER/PEM helpers: key re-encoding and the first-SEQUENCE rule for
//! `TRUSTED CERTIFICATE` blocks.

use pkcs8::der::{Decode, Encode};

use super::{KeyAlgorithm, KeyEncoding};

/// PEM text with `label` around `der`, 64-column lines, LF endings.
pub(crate) fn pem(label: &str, der: &[u8]) -> String {
    ::pem::encode_config(
        &::pem::Pem::new(label, der.to_vec()),
        ::pem::EncodeConfig::new().set_line_ending(::pem::LineEnding::LF),
    )
}

/// Re-encodes a PKCS#8 key as `encoding` and wraps it in PEM.
pub(crate) fn encode_key_pem(
    pkcs8_der: &[u8],
    encoding: KeyEncoding,
    algorithm: KeyAlgorithm,
) -> Result<String, String> {
    match encoding {
        KeyEncoding::Pkcs8 => Ok(pem("PRIVATE KEY", pkcs8_der)),
        KeyEncoding::Pkcs1 if algorithm.is_rsa() => {
            let info = pkcs8::PrivateKeyInfo::from_der(pkcs8_der).map_err(|e| e.to_string())?;
            // For RSA the PKCS#8 payload *is* the PKCS#1 RSAPrivateKey.
            Ok(pem("RSA PRIVATE KEY", info.private_key))
        }
        KeyEncoding::Sec1 if algorithm.is_ecdsa() => {
            let info = pkcs8::PrivateKeyInfo::from_der(pkcs8_der).map_err(|e| e.to_string())?;
            let curve = info.algorithm.parameters_oid().map_err(|e| e.to_string())?;
            let mut key =
                sec1::EcPrivateKey::try_from(info.private_key).map_err(|e| e.to_string())?;
            // Inside PKCS#8 the curve lives in the algorithm identifier; a SEC1 file
            // carries it itself, as `openssl ecparam -genkey` writes it.
            key.parameters = Some(sec1::EcParameters::NamedCurve(curve));
            let der = key.to_der().map_err(|e| e.to_string())?;
            Ok(pem("EC PRIVATE KEY", &der))
        }
        other => Err(format!("{other:?} cannot encode a {algorithm:?} key")),
    }
}

/// The first complete DER SEQUENCE of `bytes` (a `TRUSTED CERTIFICATE` block is the
/// certificate followed by OpenSSL's `X509_CERT_AUX` trailer), or `None`.
pub(crate) fn first_sequence(bytes: &[u8]) -> Option<&[u8]> {
    if bytes.first() != Some(&0x30) {
        return None;
    }
    let first_len = *bytes.get(1)?;
    let (header, len) = if first_len < 0x80 {
        (2usize, first_len as usize)
    } else {
        let n = (first_len & 0x7f) as usize;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *bytes.get(2 + i)? as usize;
        }
        (2 + n, len)
    };
    bytes.get(..header.checked_add(len)?)
}

#[cfg(test)]
mod tests {
    use super::first_sequence;

    #[test]
    fn first_sequence_drops_trailer() {
        let bytes = [0x30, 0x03, 1, 2, 3, 0x30, 0x00];
        assert_eq!(first_sequence(&bytes), Some(&bytes[..5]));
    }

    #[test]
    fn first_sequence_long_form() {
        let mut bytes = vec![0x30, 0x81, 0x80];
        bytes.extend(std::iter::repeat_n(7, 0x80));
        assert_eq!(first_sequence(&bytes).map(<[u8]>::len), Some(0x83));
        assert_eq!(first_sequence(&bytes[..10]), None);
    }
}
