//! Kafka's wire format as the gateway reads and writes it: size-prefixed
//! frames (bounded), request headers and bodies decoded with the
//! `kafka-protocol` codecs, responses encoded for the request's version. Bad
//! input is an error with a reason, never a panic: the fuzz target
//! `kafka_frame` drives [`decode_request`] with arbitrary bytes.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind, ResponseHeader, ResponseKind};
use kafka_protocol::protocol::{Decodable, Encodable};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The largest request frame the gateway accepts (Kafka's
/// `socket.request.max.bytes` default: 100 MiB).
pub const MAX_FRAME: usize = 100 * 1024 * 1024;

/// Why a frame was not a request the gateway can serve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The size prefix is negative or above [`MAX_FRAME`] (Kafka's text).
    #[error("Invalid receive (size = {0} larger than {MAX_FRAME})")]
    Size(i64),
    /// The peer closed the connection mid-frame.
    #[error("connection closed after {read} of {expected} frame bytes")]
    Truncated {
        /// Bytes received.
        read: usize,
        /// Bytes announced.
        expected: usize,
    },
    /// The header names an API key Kafka does not have.
    #[error("unknown API key {0}")]
    UnknownApiKey(i16),
    /// The API exists but the gateway does not serve it (or that version).
    #[error("unsupported API {key:?} version {version}")]
    Unsupported {
        /// The API.
        key: ApiKey,
        /// The version asked for.
        version: i16,
    },
    /// The header or body does not decode.
    #[error("malformed {0}")]
    Malformed(String),
}

/// The APIs the gateway serves, with the versions it accepts (what
/// ApiVersions advertises).
pub const SUPPORTED: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 3, 9),
    (ApiKey::Fetch, 4, 12),
    (ApiKey::ListOffsets, 1, 7),
    (ApiKey::Metadata, 1, 12),
    (ApiKey::ApiVersions, 0, 3),
    (ApiKey::SaslHandshake, 0, 1),
    (ApiKey::SaslAuthenticate, 0, 2),
    (ApiKey::InitProducerId, 0, 4),
];

/// Reads one frame (size prefix, then that many bytes). `Ok(None)` on a clean
/// end of stream between frames.
pub async fn read_frame<R: AsyncRead + Unpin>(r: &mut R) -> Result<Option<Bytes>, FrameError> {
    let mut size = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match r.read(&mut size[got..]).await {
            Ok(0) if got == 0 => return Ok(None),
            // A peer that resets an idle connection between frames ends it
            // as a close does: whether the reset or the FIN arrives depends
            // on the client's timing (unread bytes in its buffer), and a
            // broker logs neither.
            Err(e) if got == 0 && e.kind() == std::io::ErrorKind::ConnectionReset => {
                return Ok(None)
            }
            Ok(0) | Err(_) => {
                return Err(FrameError::Truncated {
                    read: got,
                    expected: 4,
                })
            }
            Ok(n) => got += n,
        }
    }
    let len = i32::from_be_bytes(size);
    if len < 0 || len as usize > MAX_FRAME {
        return Err(FrameError::Size(i64::from(len)));
    }
    let len = len as usize;
    let mut buf = BytesMut::zeroed(len);
    let mut read = 0;
    while read < len {
        match r.read(&mut buf[read..]).await {
            Ok(0) | Err(_) => {
                return Err(FrameError::Truncated {
                    read,
                    expected: len,
                })
            }
            Ok(n) => read += n,
        }
    }
    Ok(Some(buf.freeze()))
}

/// Decodes a request frame (without its size prefix).
pub fn decode_request(mut frame: Bytes) -> Result<(RequestHeader, RequestKind), FrameError> {
    if frame.len() < 8 {
        return Err(FrameError::Malformed(format!(
            "request header: {} bytes, at least 8 needed",
            frame.len()
        )));
    }
    let key = i16::from_be_bytes([frame[0], frame[1]]);
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let api = ApiKey::try_from(key).map_err(|_| FrameError::UnknownApiKey(key))?;
    let supported = SUPPORTED
        .iter()
        .any(|(k, min, max)| *k == api && (*min..=*max).contains(&version));
    // ApiVersions of any version is answered (with UNSUPPORTED_VERSION and the
    // table, as Kafka does), so the client can pick a version.
    if !supported && api != ApiKey::ApiVersions {
        return Err(FrameError::Unsupported { key: api, version });
    }
    let header_version = api.request_header_version(version);
    let header = RequestHeader::decode(&mut frame, header_version)
        .map_err(|e| FrameError::Malformed(format!("request header: {e}")))?;
    let body_version = if supported { version } else { 0 };
    let body = RequestKind::decode(api, &mut frame, body_version)
        .map_err(|e| FrameError::Malformed(format!("{api:?} v{version} body: {e}")))?;
    Ok((header, body))
}

/// Encodes a response frame (size prefix included) for the request `header`.
pub fn encode_response(header: &RequestHeader, body: &ResponseKind) -> Result<Bytes, FrameError> {
    let api = ApiKey::try_from(header.request_api_key)
        .map_err(|_| FrameError::UnknownApiKey(header.request_api_key))?;
    let mut version = header.request_api_version;
    if api == ApiKey::ApiVersions && !(0..=3).contains(&version) {
        version = 0;
    }
    let mut buf = BytesMut::new();
    buf.put_i32(0);
    let mut rh = ResponseHeader::default();
    rh.correlation_id = header.correlation_id;
    rh.encode(&mut buf, api.response_header_version(version))
        .map_err(|e| FrameError::Malformed(format!("response header: {e}")))?;
    body.encode(&mut buf, version)
        .map_err(|e| FrameError::Malformed(format!("{api:?} v{version} response: {e}")))?;
    let len = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&len.to_be_bytes());
    Ok(buf.freeze())
}

/// Writes a frame produced by [`encode_response`].
pub async fn write_frame<W: AsyncWrite + Unpin>(w: &mut W, frame: &[u8]) -> std::io::Result<()> {
    w.write_all(frame).await?;
    w.flush().await
}

/// The SASL PLAIN message (`authzid NUL username NUL password`).
pub fn sasl_plain(mut bytes: Bytes) -> Option<(String, String)> {
    let text = bytes.copy_to_bytes(bytes.remaining());
    let mut parts = text.split(|b| *b == 0);
    let _authzid = parts.next()?;
    let user = String::from_utf8(parts.next()?.to_vec()).ok()?;
    let pass = String::from_utf8(parts.next()?.to_vec()).ok()?;
    parts.next().is_none().then_some((user, pass))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader whose first read fails with `kind`.
    struct Failing(std::io::ErrorKind);

    impl AsyncRead for Failing {
        fn poll_read(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            _: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Err(self.0.into()))
        }
    }

    /// A reset between frames is an end like a close (its timing is the
    /// client's); a TLS peer's missing close_notify is still said.
    #[tokio::test]
    async fn a_reset_between_frames_is_an_end() {
        let reset = read_frame(&mut Failing(std::io::ErrorKind::ConnectionReset)).await;
        assert_eq!(reset, Ok(None));
        let eof = read_frame(&mut Failing(std::io::ErrorKind::UnexpectedEof)).await;
        assert_eq!(
            eof,
            Err(FrameError::Truncated {
                read: 0,
                expected: 4
            })
        );
    }

    #[test]
    fn short_and_unknown_frames_are_errors() {
        assert!(matches!(
            decode_request(Bytes::from_static(b"\0\x12")),
            Err(FrameError::Malformed(_))
        ));
        assert_eq!(
            decode_request(Bytes::from_static(b"\x7f\x00\0\0\0\0\0\x01")),
            Err(FrameError::UnknownApiKey(0x7f00))
        );
        // Metadata v1 with a body cut short.
        assert!(matches!(
            decode_request(Bytes::from_static(
                b"\0\x03\0\x01\0\0\0\x01\xff\xff\0\0\0\x05"
            )),
            Err(FrameError::Malformed(_))
        ));
    }

    /// Found by the `kafka_frame` fuzz target: a Metadata v1 request whose
    /// topics array claims 0x61bc0000 elements in a 16-byte frame made the
    /// decoder reserve 118 GB and abort. Now an error.
    #[test]
    fn array_length_beyond_the_frame_is_an_error_not_an_allocation() {
        let frame =
            include_bytes!("../../../../fixtures/fuzz/kafka_frame/oom-metadata-topics-array.bin");
        assert!(matches!(
            decode_request(Bytes::from_static(frame)),
            Err(FrameError::Malformed(_))
        ));
    }

    #[test]
    fn plain_message() {
        assert_eq!(
            sasl_plain(Bytes::from_static(b"\0alice\0pw")),
            Some(("alice".into(), "pw".into()))
        );
        assert_eq!(sasl_plain(Bytes::from_static(b"alice")), None);
    }
}
