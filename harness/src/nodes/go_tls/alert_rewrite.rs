//! The one plaintext alert rustls and Go send differently: TLS 1.2
//! `certificate_required` rewritten to Go's alert on the wire.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::GoGeneration;

/// The plaintext TLS 1.2 alert rustls sends when a client presents no
/// certificate: fatal `certificate_required`.
const CERTIFICATE_REQUIRED_RECORD: [u8; 7] = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x74];

/// A stream that rewrites rustls' plaintext TLS 1.2 `certificate_required`
/// alert into the one Go sends (`handshake_failure` today, `bad_certificate`
/// before Go 1.21). Everything else passes through untouched.
#[derive(Debug)]
pub struct AlertRewrite<S> {
    inner: S,
    generation: GoGeneration,
}

impl<S> AlertRewrite<S> {
    /// Wraps a server-side stream.
    pub fn new(inner: S, generation: GoGeneration) -> Self {
        Self { inner, generation }
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for AlertRewrite<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for AlertRewrite<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if buf.starts_with(&CERTIFICATE_REQUIRED_RECORD) {
            let mut patched = buf[..CERTIFICATE_REQUIRED_RECORD.len()].to_vec();
            patched[6] = match self.generation {
                GoGeneration::Current => 40,
                GoGeneration::Legacy => 42,
            };
            // Write the patched record alone; the caller writes the rest next.
            return match Pin::new(&mut self.inner).poll_write(cx, &patched) {
                Poll::Ready(Ok(n)) => Poll::Ready(Ok(n)),
                other => other,
            };
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
