//! One client connection: frames in, responses out, the SASL state, and
//! the requests forwarded to a real Kafka backend.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::{
    ApiKey, InitProducerIdResponse, MetadataResponse, ProducerId, RequestHeader, RequestKind,
    ResponseKind, SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest,
    SaslHandshakeResponse,
};
use tokio::io::{AsyncRead, AsyncWrite};

use super::handlers::{
    api_name, api_versions, authenticate, fetch, list_offsets, metadata, produce, str_bytes,
    AUTHENTICATION_FAILED,
};
use super::server::Shared;
use super::{upstream, wire};

/// One client connection: frames in, responses out, SASL state.
pub(super) async fn serve_kafka<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    peer: SocketAddr,
    shared: &Shared,
) {
    let sasl = shared.settings.security_protocol.sasl();
    let mut session = Session {
        sasl,
        authenticated: !sasl,
        handshaken: false,
    };
    let mut backend: Option<upstream::Upstream> = None;
    loop {
        let Some((frame, header, request)) = next_request(&mut stream, peer, shared).await else {
            return;
        };
        let api = ApiKey::try_from(header.request_api_key).unwrap_or(ApiKey::ApiVersions);
        if !session.authenticated
            && !matches!(
                api,
                ApiKey::ApiVersions | ApiKey::SaslHandshake | ApiKey::SaslAuthenticate
            )
        {
            shared.log.line(format!(
                "Failed authentication with /{} (Unexpected Kafka request of type {} during SASL handshake.)",
                peer.ip(),
                api_name(api)
            ));
            return;
        }
        if let (Some(settings), true) = (
            &shared.settings.backend,
            matches!(
                request,
                RequestKind::Metadata(_)
                    | RequestKind::Produce(_)
                    | RequestKind::Fetch(_)
                    | RequestKind::ListOffsets(_)
                    | RequestKind::InitProducerId(_)
            ),
        ) {
            match forward(shared, settings, &mut backend, &header, &request, &frame).await {
                Ok(None) => continue,
                Ok(Some(response)) => {
                    if wire::write_frame(&mut stream, &response).await.is_err() {
                        return;
                    }
                    continue;
                }
                Err(e) => {
                    shared
                        .log
                        .line(format!("closing connection from /{}: {e}", peer.ip()));
                    return;
                }
            }
        }
        let Some((response, close)) = answer(shared, peer, &mut session, &header, request) else {
            return;
        };
        let frame = match wire::encode_response(&header, &response) {
            Ok(f) => f,
            Err(e) => {
                shared
                    .log
                    .line(format!("closing connection from /{}: {e}", peer.ip()));
                return;
            }
        };
        if wire::write_frame(&mut stream, &frame).await.is_err() || close {
            return;
        }
    }
}

/// The next request of a connection with its frame, or `None` at its end:
/// the client closed, or a frame that cannot be read or decoded (logged, as
/// Kafka logs it).
async fn next_request<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    peer: SocketAddr,
    shared: &Shared,
) -> Option<(Bytes, RequestHeader, RequestKind)> {
    let closing = |e: &dyn std::fmt::Display| {
        shared
            .log
            .line(format!("closing connection from /{}: {e}", peer.ip()));
    };
    let frame = match wire::read_frame(stream).await {
        Ok(Some(f)) => f,
        Ok(None) => return None,
        Err(e) => {
            closing(&e);
            close_cleanly(stream).await;
            return None;
        }
    };
    match wire::decode_request(frame.clone()) {
        Ok((header, request)) => Some((frame, header, request)),
        Err(e) => {
            closing(&e);
            None
        }
    }
}

/// One client connection's SASL state.
struct Session {
    /// The listener speaks SASL.
    sasl: bool,
    /// The client authenticated (or the listener needs no SASL).
    authenticated: bool,
    /// The client's SaslHandshake chose PLAIN.
    handshaken: bool,
}

impl Session {
    /// SaslHandshake on a SASL listener: PLAIN is the one mechanism served.
    fn handshake(
        &mut self,
        shared: &Shared,
        peer: SocketAddr,
        r: &SaslHandshakeRequest,
    ) -> (ResponseKind, bool) {
        let mut resp = SaslHandshakeResponse::default();
        resp.mechanisms = vec![str_bytes("PLAIN")];
        if r.mechanism.as_str() == "PLAIN" {
            self.handshaken = true;
        } else {
            resp.error_code = 33; // UNSUPPORTED_SASL_MECHANISM
            shared.log.line(format!(
                "Failed authentication with /{} (Unsupported SASL mechanism {})",
                peer.ip(),
                r.mechanism.as_str()
            ));
        }
        let failed = resp.error_code != 0;
        (ResponseKind::SaslHandshake(resp), failed)
    }

    /// SaslAuthenticate after a PLAIN handshake: the credentials against the
    /// gateway's users (or its token check).
    fn authenticate(
        &mut self,
        shared: &Shared,
        peer: SocketAddr,
        r: SaslAuthenticateRequest,
    ) -> (ResponseKind, bool) {
        let mut resp = SaslAuthenticateResponse::default();
        match authenticate(shared, r.auth_bytes) {
            Ok(who) => {
                self.authenticated = true;
                shared
                    .log
                    .debug(format!("authenticated {who} from /{}", peer.ip()));
            }
            Err(reason) => {
                resp.error_code = 58; // SASL_AUTHENTICATION_FAILED
                resp.error_message = Some(str_bytes(AUTHENTICATION_FAILED));
                shared.log.line(format!(
                    "Failed authentication with /{} ({reason})",
                    peer.ip()
                ));
            }
        }
        let failed = resp.error_code != 0;
        (ResponseKind::SaslAuthenticate(resp), failed)
    }
}

/// The gateway's own answer to one request: the SASL exchange, metadata and
/// the data calls of its in-memory log, as a Kafka broker answers them. The
/// response and whether to close the connection after it; `None` closes it
/// without a response (the reason is logged).
fn answer(
    shared: &Shared,
    peer: SocketAddr,
    session: &mut Session,
    header: &RequestHeader,
    request: RequestKind,
) -> Option<(ResponseKind, bool)> {
    let api = ApiKey::try_from(header.request_api_key).unwrap_or(ApiKey::ApiVersions);
    let (response, close) = match request {
        RequestKind::ApiVersions(_) => (api_versions(header), false),
        RequestKind::SaslHandshake(r) if session.sasl => session.handshake(shared, peer, &r),
        RequestKind::SaslAuthenticate(r) if session.sasl && session.handshaken => {
            session.authenticate(shared, peer, r)
        }
        RequestKind::SaslHandshake(_) if !session.sasl => {
            // Kafka's answer on a listener without SASL: ILLEGAL_SASL_STATE.
            let mut resp = SaslHandshakeResponse::default();
            resp.error_code = 34;
            shared.log.line(format!(
                "Failed authentication with /{} (Unexpected handshake request: SASL is not enabled on this listener)",
                peer.ip()
            ));
            (ResponseKind::SaslHandshake(resp), true)
        }
        RequestKind::SaslHandshake(_) | RequestKind::SaslAuthenticate(_) => {
            shared.log.line(format!(
                "closing connection from /{}: {} out of order",
                peer.ip(),
                api_name(api)
            ));
            return None;
        }
        RequestKind::Metadata(r) => (metadata(shared, r), false),
        RequestKind::Produce(r) => (produce(shared, r), false),
        RequestKind::Fetch(r) => (fetch(shared, r), false),
        RequestKind::ListOffsets(r) => (list_offsets(shared, r), false),
        RequestKind::InitProducerId(_) => {
            let mut resp = InitProducerIdResponse::default();
            resp.producer_id = ProducerId(1000);
            (ResponseKind::InitProducerId(resp), false)
        }
        _ => {
            shared.log.line(format!(
                "closing connection from /{}: {} is not served",
                peer.ip(),
                api_name(api)
            ));
            return None;
        }
    };
    Some((response, close))
}

/// Forwards one client request to the backend over this client
/// connection's backend connection (made on first use) and returns the
/// response frame to send back (size prefix included), `None` when the
/// request gets none (Produce with acks=0). Metadata answers are rewritten:
/// every broker is the gateway's listener.
async fn forward(
    shared: &Shared,
    settings: &upstream::BackendSettings,
    backend: &mut Option<upstream::Upstream>,
    header: &RequestHeader,
    request: &RequestKind,
    frame: &Bytes,
) -> Result<Option<Bytes>, String> {
    let up = match backend {
        Some(up) => up,
        None => backend.insert(upstream::Upstream::connect(settings).await?),
    };
    let api = ApiKey::try_from(header.request_api_key).unwrap_or(ApiKey::Metadata);
    let mut sized = bytes::BytesMut::with_capacity(frame.len() + 4);
    sized.extend_from_slice(&(frame.len() as i32).to_be_bytes());
    sized.extend_from_slice(frame);
    if let RequestKind::Produce(p) = request {
        if p.acks == 0 {
            up.send(&sized, api).await?;
            return Ok(None);
        }
    }
    let response = up.exchange(&sized, api).await?;
    if api != ApiKey::Metadata {
        let mut out = bytes::BytesMut::with_capacity(response.len() + 4);
        out.extend_from_slice(&(response.len() as i32).to_be_bytes());
        out.extend_from_slice(&response);
        return Ok(Some(out.freeze()));
    }
    let (_, mut metadata) =
        upstream::decode_response::<MetadataResponse>(api, header.request_api_version, response)?;
    for broker in &mut metadata.brokers {
        broker.host = str_bytes(&shared.settings.advertised_host);
        broker.port = i32::from(shared.port);
        broker.rack = None;
    }
    wire::encode_response(header, &ResponseKind::Metadata(metadata))
        .map(Some)
        .map_err(|e| e.to_string())
}

/// Closes after a bad frame with FIN, draining what the peer still sends
/// (bounded): closing with unread bytes would send a reset, and the client
/// would see a reset or an EOF at random.
async fn close_cleanly<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _ = stream.shutdown().await;
    let mut sink = [0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Ok(n) = stream.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}
