//! TLS for the IMAP connection: which certificates are trusted (the webpki roots, plus a private
//! CA when configured; never anything else), and the TCP connection and handshake, each bounded
//! in time so a server that does not answer is a one-line error instead of a hang.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;

use crate::config::Endpoint;

/// How long a TCP connection, and then a TLS handshake, may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Silence after which TCP probes the IMAP server (then every quarter of it).
const KEEPALIVE: Duration = Duration::from_secs(60);

/// A TLS connection to a server.
pub type TlsStream = tokio_rustls::client::TlsStream<TcpStream>;

/// The certificates of a PEM file, at least one; a file without any is an error (a mistaken
/// path would otherwise leave the private CA silently untrusted).
pub fn ca_certificates(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| anyhow::anyhow!("cannot read the CA file {}: {e}", path.display()))?;
    if certs.is_empty() {
        anyhow::bail!("the CA file {} holds no certificate", path.display());
    }
    Ok(certs)
}

/// The client configuration every IMAP connection uses: the webpki roots and the configured CA.
pub fn client_config(ca_file: Option<&Path>) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        for cert in ca_certificates(path)? {
            roots.add(cert).map_err(|e| {
                anyhow::anyhow!("the CA file {} holds a certificate rustls refuses: {e}", path.display())
            })?;
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS set-up")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A TCP connection to the endpoint, within [`CONNECT_TIMEOUT`].
pub async fn tcp(endpoint: &Endpoint) -> anyhow::Result<TcpStream> {
    let connect = TcpStream::connect((endpoint.host.as_str(), endpoint.port));
    let stream = match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
        Err(_) => anyhow::bail!("no TCP connection to {endpoint} within {} s", CONNECT_TIMEOUT.as_secs()),
        Ok(Err(e)) => anyhow::bail!("cannot connect to {endpoint}: {e}"),
        Ok(Ok(stream)) => stream,
    };
    // Commands are small and answered one by one: no reason to hold them back.
    let _ = stream.set_nodelay(true);
    // IDLE leaves the connection silent for up to 25 minutes: probes keep a NAT's mapping alive
    // and notice a peer that vanished without closing (then reading fails and keel reconnects).
    let keepalive = socket2::TcpKeepalive::new()
        .with_time(KEEPALIVE)
        .with_interval(KEEPALIVE / 4);
    if let Err(e) = socket2::SockRef::from(&stream).set_tcp_keepalive(&keepalive) {
        tracing::debug!(error = %e, "no TCP keepalive on the IMAP connection");
    }
    Ok(stream)
}

/// The TLS handshake over an open connection, the server name (SNI, and what the certificate must
/// name) being the endpoint's host; within [`CONNECT_TIMEOUT`].
pub async fn handshake(
    config: &Arc<rustls::ClientConfig>,
    endpoint: &Endpoint,
    tcp: TcpStream,
) -> anyhow::Result<TlsStream> {
    let name = ServerName::try_from(endpoint.host.clone())
        .map_err(|e| anyhow::anyhow!("{} is not a TLS server name: {e}", endpoint.host))?;
    let connector = tokio_rustls::TlsConnector::from(config.clone());
    match tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(name, tcp)).await {
        Err(_) => anyhow::bail!(
            "no TLS handshake with {endpoint} within {} s",
            CONNECT_TIMEOUT.as_secs()
        ),
        Ok(Err(e)) => anyhow::bail!("TLS with {endpoint} failed: {e}"),
        Ok(Ok(stream)) => Ok(stream),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let e = client_config(Some(&path)).unwrap_err().to_string();
        assert!(e.contains("holds no certificate"), "{e}");
        let e = client_config(Some(&dir.path().join("missing.pem")))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("cannot read the CA file"), "{e}");
        assert!(client_config(None).is_ok());
    }
}
