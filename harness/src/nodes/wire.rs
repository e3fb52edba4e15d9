//! Wire behaviour of the reference gateway where it must match the real one
//! byte for byte: the HTTP/2 preface check of a plaintext gateway and the
//! closing of connections that speak the wrong protocol.
//!
//! Closing is deliberate: a server that drops a socket with unread bytes makes
//! the kernel send a reset, and clients then print "connection reset" or
//! "broken pipe" at random. We shut down our write side first, read until the
//! client closes (bounded), and only then drop, so every client sees a clean EOF.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

/// The HTTP/2 client connection preface.
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// How long a client may take to send its first bytes.
pub const FIRST_BYTES_DEADLINE: Duration = Duration::from_secs(10);

/// How long we wait for a refused client to close its side.
pub const DRAIN_DEADLINE: Duration = Duration::from_secs(2);

/// What the first bytes of a plaintext connection were.
pub enum Preface {
    /// The full HTTP/2 preface; the bytes read so far.
    Valid(Vec<u8>),
    /// Something else; the bytes read when the mismatch was seen.
    Corrupt(Vec<u8>),
    /// The client closed (or stayed silent past the deadline) before deciding.
    Gone,
}

/// Reads until the bytes either are the HTTP/2 preface or cannot become it.
pub async fn read_preface(tcp: &mut TcpStream) -> Preface {
    let mut buf = Vec::with_capacity(PREFACE.len());
    let result = tokio::time::timeout(FIRST_BYTES_DEADLINE, async {
        let mut chunk = [0u8; 64];
        loop {
            let want = PREFACE.len() - buf.len();
            let n = match tcp.read(&mut chunk[..want]).await {
                Ok(0) | Err(_) => return Preface::Gone,
                Ok(n) => n,
            };
            buf.extend_from_slice(&chunk[..n]);
            if buf[..] != PREFACE[..buf.len()] {
                return Preface::Corrupt(std::mem::take(&mut buf));
            }
            if buf.len() == PREFACE.len() {
                return Preface::Valid(std::mem::take(&mut buf));
            }
        }
    })
    .await;
    result.unwrap_or(Preface::Gone)
}

/// Waits for the first bytes of a connection without consuming them.
pub async fn peek_first_bytes(tcp: &TcpStream) -> Option<Vec<u8>> {
    let mut buf = [0u8; 64];
    match tokio::time::timeout(FIRST_BYTES_DEADLINE, tcp.peek(&mut buf)).await {
        Ok(Ok(n)) if n > 0 => Some(buf[..n].to_vec()),
        _ => None,
    }
}

/// Waits (bounded) until the first TLS record is complete in the socket's
/// receive buffer and returns it without consuming it; what has arrived when
/// the peer stops sending or the deadline passes otherwise.
pub async fn peek_first_record(tcp: &TcpStream) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 5 + (1 << 14)];
    let deadline = tokio::time::Instant::now() + FIRST_BYTES_DEADLINE;
    let mut last = 0;
    loop {
        let n = match tokio::time::timeout_at(deadline, tcp.peek(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => n,
            _ if last > 0 => return Some(buf[..last].to_vec()),
            _ => return None,
        };
        let wanted = if n >= 5 && buf[0] == 0x16 {
            5 + usize::from(u16::from_be_bytes([buf[3], buf[4]]))
        } else {
            n
        };
        if n >= wanted || n == last {
            return Some(buf[..n].to_vec());
        }
        last = n;
        // More of the record is on its way: wait for the socket to become
        // readable again (bounded by the deadline above).
        if tokio::time::timeout_at(deadline, tcp.readable())
            .await
            .is_err()
        {
            return Some(buf[..n].to_vec());
        }
    }
}

/// The server preface grpc-java's Netty server writes on connect (measured on
/// the netty-oracle, grpc-java 1.65 / Netty 4.1.122): SETTINGS with
/// MAX_CONCURRENT_STREAMS 2^31-1, INITIAL_WINDOW_SIZE 1 MiB and
/// MAX_HEADER_LIST_SIZE 8 KiB, then a connection WINDOW_UPDATE of 983041.
pub const GRPC_JAVA_SERVER_PREFACE: &[u8] = &[
    0x00, 0x00, 0x12, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, // SETTINGS, 18 bytes, stream 0
    0x00, 0x03, 0x7f, 0xff, 0xff, 0xff, // MAX_CONCURRENT_STREAMS
    0x00, 0x04, 0x00, 0x10, 0x00, 0x00, // INITIAL_WINDOW_SIZE
    0x00, 0x06, 0x00, 0x00, 0x20, 0x00, // MAX_HEADER_LIST_SIZE
    0x00, 0x00, 0x04, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, // WINDOW_UPDATE, stream 0
    0x00, 0x0f, 0x00, 0x01,
];

/// What a Netty HTTP/2 server writes when the preface is corrupt: its own
/// server preface (sent on connect), then GOAWAY(PROTOCOL_ERROR) carrying the
/// exception message as debug data.
pub fn settings_and_goaway(debug: &str) -> Vec<u8> {
    let mut out = GRPC_JAVA_SERVER_PREFACE.to_vec();
    let len = 8 + debug.len();
    out.extend_from_slice(&[(len >> 16) as u8, (len >> 8) as u8, len as u8, 0x07, 0]);
    out.extend_from_slice(&[0, 0, 0, 0]); // stream 0
    out.extend_from_slice(&[0, 0, 0, 0]); // last stream id 0
    out.extend_from_slice(&[0, 0, 0, 0x01]); // PROTOCOL_ERROR
    out.extend_from_slice(debug.as_bytes());
    out
}

/// Writes `reply` (may be empty), half-closes, reads until the peer closes or the
/// drain deadline passes, then drops the socket.
pub async fn close_cleanly(mut tcp: TcpStream, reply: &[u8]) {
    if !reply.is_empty() {
        let _ = tcp.write_all(reply).await;
    }
    let _ = tcp.shutdown().await;
    let _ = tokio::time::timeout(DRAIN_DEADLINE, async {
        let mut sink = [0u8; 4096];
        while matches!(tcp.read(&mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
}

/// Lower-case hex of `bytes`, as Netty's `ByteBufUtil.hexDump` prints it.
pub fn hex_dump(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// A stream that replays bytes already read before reading from `inner`, and
/// can swallow bytes its user writes that were already sent (a client preface
/// written ahead of the HTTP/2 library).
pub struct Rewind<S> {
    prefix: Vec<u8>,
    pos: usize,
    swallow: &'static [u8],
    inner: S,
}

impl<S> Rewind<S> {
    /// Replays `prefix`, then reads from `inner`.
    pub fn new(prefix: Vec<u8>, inner: S) -> Self {
        Self {
            prefix,
            pos: 0,
            swallow: &[],
            inner,
        }
    }

    /// Like [`Rewind::new`], and the first writes, as long as they repeat
    /// `already_sent`, are reported written without reaching `inner`.
    pub fn swallowing(prefix: Vec<u8>, already_sent: &'static [u8], inner: S) -> Self {
        Self {
            prefix,
            pos: 0,
            swallow: already_sent,
            inner,
        }
    }

    /// The wrapped stream.
    pub fn inner(&self) -> &S {
        &self.inner
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Rewind<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.pos < self.prefix.len() {
            let n = (self.prefix.len() - self.pos).min(buf.remaining());
            let start = self.pos;
            buf.put_slice(&self.prefix[start..start + n]);
            self.pos += n;
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Rewind<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let n = self.swallow.len().min(buf.len());
        if n > 0 && buf[..n] == self.swallow[..n] {
            self.swallow = &self.swallow[n..];
            return Poll::Ready(Ok(n));
        }
        self.swallow = &[];
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goaway_frame_layout() {
        let bytes = settings_and_goaway("x");
        let n = GRPC_JAVA_SERVER_PREFACE.len();
        assert_eq!(hex_dump(&bytes[..5]), "0000120400");
        assert_eq!(&bytes[n..n + 5], &[0, 0, 9, 7, 0]);
        assert_eq!(bytes.len(), n + 9 + 9);
        assert_eq!(*bytes.last().unwrap(), b'x');
    }
}
