//! The built-in Zeebe client: tonic over rustls, with the Java/Go clients'
//! documented semantics (TLS by default, system roots unless a CA file is given,
//! plaintext switch, `ZEEBE_INSECURE_CONNECTION` and `ZEEBE_CA_CERTIFICATE_PATH`).

use std::sync::Arc;
use std::time::Instant;

use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tonic::transport::{Channel, Endpoint, Uri};

use super::{error_chain, Observation, ZeebeClientConfig};
use crate::error::HarnessError;
use crate::nodes::wire::{self, Rewind};
use crate::pki;
use crate::proto::gateway_client::GatewayClient;
use crate::proto::TopologyRequest;

/// Calls Topology once and records what happened.
pub async fn topology(config: &ZeebeClientConfig) -> Result<Observation, HarnessError> {
    let start = Instant::now();
    let plaintext = config.effective_plaintext();
    let result = tokio::time::timeout(config.deadline, call(config, plaintext)).await;
    let mut obs = Observation {
        peer: "builtin".to_string(),
        elapsed: start.elapsed(),
        ..Observation::default()
    };
    match result {
        Ok(Ok(brokers)) => {
            obs.connected_brokers = Some(brokers);
            obs.stdout = format!("Topology: {brokers} broker(s)");
        }
        Ok(Err(text)) => obs.stderr = text,
        Err(_) => obs.stderr = format!("Topology call timed out after {:?}", config.deadline),
    }
    Ok(obs)
}

async fn call(config: &ZeebeClientConfig, plaintext: bool) -> Result<u32, String> {
    let endpoint = Endpoint::from_shared(format!("http://{}", config.address))
        .map_err(|e| error_chain(&e))?
        .connect_timeout(config.deadline)
        .timeout(config.deadline);
    let channel: Channel = if plaintext {
        let address = dial_address(config);
        endpoint
            .connect_with_connector(tower::service_fn(move |_: Uri| {
                let address = address.clone();
                async move {
                    let tcp = TcpStream::connect(&address).await?;
                    tcp.set_nodelay(true)?;
                    Ok::<_, std::io::Error>(TokioIo::new(await_server_preface(tcp).await?))
                }
            }))
            .await
            .map_err(|e| error_chain(&e))?
    } else {
        let tls = client_tls(config)?;
        let host = config
            .address
            .rsplit_once(':')
            .map(|(h, _)| h.trim_matches(['[', ']']).to_string())
            .unwrap_or_else(|| config.address.clone());
        let server_name =
            ServerName::try_from(host).map_err(|e| format!("invalid server name: {e}"))?;
        let connector = tokio_rustls::TlsConnector::from(Arc::new(tls));
        let address = dial_address(config);
        endpoint
            .connect_with_connector(tower::service_fn(move |_: Uri| {
                let connector = connector.clone();
                let server_name = server_name.clone();
                let address = address.clone();
                async move {
                    let tcp = TcpStream::connect(&address).await?;
                    tcp.set_nodelay(true)?;
                    let tls = connector.connect(server_name, tcp).await?;
                    Ok::<_, std::io::Error>(TokioIo::new(tls))
                }
            }))
            .await
            .map_err(|e| error_chain(&e))?
    };
    let response = GatewayClient::new(channel)
        .topology(TopologyRequest {})
        .await
        .map_err(|status| {
            let head = format!(
                "status: {:?}, message: {:?}",
                status.code(),
                status.message()
            );
            match std::error::Error::source(&status) {
                Some(source) => format!("{head}: {}", error_chain(source)),
                None => head,
            }
        })?;
    Ok(response.into_inner().brokers.len() as u32)
}

/// Where the client connects: the configured address, with a host name the
/// case's `hosts:` names replaced by its address (the in-process client does
/// not run in the namespace the real clients get, see [`crate::hosts`]). The
/// TLS server name stays the name dialled.
fn dial_address(config: &ZeebeClientConfig) -> String {
    let Some((host, port)) = config.address.rsplit_once(':') else {
        return config.address.clone();
    };
    match (
        crate::hosts::lookup(&config.workdir, host.trim_matches(['[', ']'])),
        port.parse::<u16>(),
    ) {
        (Some(ip), Ok(port)) => std::net::SocketAddr::new(ip, port).to_string(),
        _ => config.address.clone(),
    }
}

/// Sends the HTTP/2 client preface and waits for the server's first bytes before
/// handing the connection to the HTTP/2 library, as grpc-go does ("error reading
/// server preface"): a server that closes instead (a TLS port) then gives one
/// deterministic error instead of a race between the request and the close.
async fn await_server_preface(mut tcp: TcpStream) -> std::io::Result<Rewind<TcpStream>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    tcp.write_all(wire::PREFACE).await?;
    let mut first = vec![0u8; 9];
    let n = match tcp.read(&mut first).await {
        Ok(0) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the server closed the connection before sending its HTTP/2 preface",
            ))
        }
        Ok(n) => n,
        Err(e) => {
            return Err(std::io::Error::new(
                e.kind(),
                format!("error reading the server's HTTP/2 preface: {e}"),
            ))
        }
    };
    first.truncate(n);
    Ok(Rewind::swallowing(first, wire::PREFACE, tcp))
}

fn client_tls(config: &ZeebeClientConfig) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    match config.effective_ca_path() {
        Some(path) => {
            if !path.exists() {
                return Err(format!("CA certificate file not found: {}", path.display()));
            }
            let certs = pki::read_certificates(&path).map_err(|e| e.to_string())?;
            for cert in certs {
                roots
                    .add(cert)
                    .map_err(|e| format!("{}: unusable CA certificate: {e}", path.display()))?;
            }
        }
        None => {
            let native = rustls_native_certs::load_native_certs();
            for cert in native.certs {
                let _ = roots.add(cert);
            }
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"h2".to_vec()];
    Ok(tls)
}
