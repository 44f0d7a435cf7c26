//! The accept loop over real sockets: HTTPS with a self-signed certificate trusted by
//! what the server wrote next to it, plain HTTP on the TLS port refused cleanly, clients
//! that send half a header (or nothing) dropped after the header timeout while idle
//! keep-alive connections last until the idle timeout, a client that stops reading its
//! response dropped after the idle timeout, and connections over the cap
//! waiting without disturbing those open.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use server::TlsSource;
use sha2::{Digest, Sha256};
use support::{Connection, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Longest wait for something the server must do promptly.
const PROMPTLY: Duration = Duration::from_secs(5);

fn client_config(roots: rustls::RootCertStore) -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// `GET`/`POST path` over TLS to `addr` as `name`, trusting only `roots`.
async fn https(
    addr: SocketAddr,
    name: &'static str,
    roots: rustls::RootCertStore,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<hyper::Response<Bytes>> {
    let tcp = TcpStream::connect(addr).await?;
    let connector = tokio_rustls::TlsConnector::from(client_config(roots));
    let tls = connector
        .connect(ServerName::try_from(name).unwrap(), tcp)
        .await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(connection);
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", format!("{name}:{}", addr.port()));
    for (header, value) in headers {
        request = request.header(*header, *value);
    }
    let response = sender
        .send_request(request.body(Full::new(Bytes::new())).unwrap())
        .await
        .map_err(std::io::Error::other)?;
    let (parts, body) = response.into_parts();
    let bytes = body
        .collect()
        .await
        .map_err(std::io::Error::other)?
        .to_bytes();
    Ok(hyper::Response::from_parts(parts, bytes))
}

/// Everything the server sends until it closes (at most [`PROMPTLY`]).
async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    tokio::time::timeout(PROMPTLY, stream.read_to_end(&mut out))
        .await
        .expect("the server closes the connection promptly")
        .ok();
    out
}

/// One response on a raw connection: its head and `content-length` bytes of body.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut data = Vec::new();
    let mut byte = [0u8; 1];
    let read = async {
        while !data.ends_with(b"\r\n\r\n") {
            assert_eq!(stream.read(&mut byte).await.unwrap(), 1, "closed mid-head");
            data.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&data).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map_or(0, |v| v.trim().parse().unwrap());
        let mut body = vec![0u8; length];
        stream.read_exact(&mut body).await.unwrap();
        data.extend_from_slice(&body);
    };
    tokio::time::timeout(PROMPTLY, read)
        .await
        .expect("a response");
    String::from_utf8_lossy(&data).into_owned()
}

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_a_self_signed_certificate_and_plain_http_refused_on_its_port() {
    let server = TestServer::fresh("transport-tls", |c| {
        c.tls = Some(TlsSource::SelfSigned(vec!["samscope.test".into()]));
    })
    .await;
    let tls_dir = server.data_dir.join("tls");
    let cert = CertificateDer::from_pem_file(tls_dir.join("cert.pem")).unwrap();

    // The SPKI hash written next to the certificate is that of the key beside it.
    let key = std::fs::read_to_string(tls_dir.join("key.pem")).unwrap();
    let key = rcgen::KeyPair::from_pem(&key).unwrap();
    let spki =
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(key.public_key_der()));
    let written = std::fs::read_to_string(tls_dir.join("cert.spki-sha256")).unwrap();
    assert_eq!(written.trim(), spki);

    // Trusting that certificate, HTTPS works and the origin is https://NAME:PORT.
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).unwrap();
    let name = "samscope.test";
    let health = https(
        server.addr,
        name,
        roots.clone(),
        Method::GET,
        "/healthz",
        &[],
    )
    .await
    .unwrap();
    assert_eq!(health.status(), 200);
    let own = format!("https://{name}:{}", server.addr.port());
    let same = https(
        server.addr,
        name,
        roots.clone(),
        Method::POST,
        "/api/v1/auth/sign-out",
        &[("origin", &own), ("sec-fetch-site", "same-origin")],
    )
    .await
    .unwrap();
    assert_eq!(same.status(), 204);
    let plain_origin = format!("http://{name}:{}", server.addr.port());
    let cross = https(
        server.addr,
        name,
        roots.clone(),
        Method::POST,
        "/api/v1/auth/sign-out",
        &[("origin", &plain_origin)],
    )
    .await
    .unwrap();
    assert_eq!(cross.status(), 403);

    // Not trusting it, or asking for another name, the handshake fails.
    let untrusted = https(
        server.addr,
        name,
        rustls::RootCertStore::empty(),
        Method::GET,
        "/healthz",
        &[],
    )
    .await;
    assert!(untrusted.is_err());
    let wrong_name = https(
        server.addr,
        "other.test",
        roots,
        Method::GET,
        "/healthz",
        &[],
    )
    .await;
    assert!(wrong_name.is_err());

    // Plain HTTP to the TLS port: a 400 that says what to do, then the connection closes.
    let mut plain = TcpStream::connect(server.addr).await.unwrap();
    plain.write_all(HEALTHZ).await.unwrap();
    let answer = String::from_utf8_lossy(&read_to_close(&mut plain).await).into_owned();
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(answer.contains("https_required"), "{answer}");

    // A restart keeps the certificate.
    let data_dir = server.data_dir.clone();
    let fingerprint = written.clone();
    server.stop().await;
    let again = TestServer::start(&data_dir, |c| {
        c.tls = Some(TlsSource::SelfSigned(vec!["samscope.test".into()]));
    })
    .await;
    let kept = std::fs::read_to_string(data_dir.join("tls/cert.spki-sha256")).unwrap();
    assert_eq!(kept, fingerprint);
    again.stop_and_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_are_dropped_and_idle_keep_alive_lasts_until_the_idle_timeout() {
    let server = TestServer::fresh("transport-timeouts", |c| {
        c.limits.header_read_timeout = Duration::from_millis(300);
        c.limits.idle_timeout = Duration::from_millis(1500);
    })
    .await;

    // Half a header, then nothing: dropped, with no answer.
    let mut half = TcpStream::connect(server.addr).await.unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n")
        .await
        .unwrap();
    let answer = read_to_close(&mut half).await;
    assert!(
        answer.is_empty() || answer.starts_with(b"HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    // A connection that never sends a byte goes the same way.
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    read_to_close(&mut silent).await;

    // A whole request is answered; the connection then waits longer than the header
    // timeout for the next one, and closes once idle for the idle timeout.
    let mut kept = TcpStream::connect(server.addr).await.unwrap();
    kept.write_all(HEALTHZ).await.unwrap();
    assert!(read_response(&mut kept).await.starts_with("HTTP/1.1 200"));
    tokio::time::sleep(Duration::from_millis(700)).await;
    kept.write_all(HEALTHZ).await.unwrap();
    assert!(read_response(&mut kept).await.starts_with("HTTP/1.1 200"));
    assert!(read_to_close(&mut kept).await.is_empty());

    // A client that asks for the f32 decoder (16 MiB, more than the socket buffers hold)
    // and never reads is dropped once the server could not write for the idle timeout.
    let models = support::json(&server.get("/api/v1/models").await);
    let decoder = &models["models"][0]["decoder_f32"];
    let (url, bytes) = (
        decoder["url"].as_str().unwrap(),
        decoder["bytes"].as_u64().unwrap(),
    );
    let mut stalled = TcpStream::connect(server.addr).await.unwrap();
    let request = format!("GET {url} HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n");
    stalled.write_all(request.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let got = read_to_close(&mut stalled).await;
    assert!(
        (got.len() as u64) < bytes,
        "{} of {bytes} bytes: the stalled response was not cut",
        got.len()
    );

    // Meanwhile the server answers everyone else.
    assert_eq!(server.get("/healthz").await.status(), 200);
    server.stop_and_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_cap_wait_without_disturbing_open_ones() {
    let server = TestServer::fresh("transport-cap", |c| c.limits.max_connections = 2).await;
    let mut first = Connection::open(server.addr).await;
    let mut second = Connection::open(server.addr).await;
    for connection in [&mut first, &mut second] {
        let response = connection
            .send(Method::GET, "/healthz", &[], Vec::new())
            .await;
        assert_eq!(response.status(), 200);
    }

    // A third connects (the kernel queues it) but is not served while two are open.
    let mut third = TcpStream::connect(server.addr).await.unwrap();
    third.write_all(HEALTHZ).await.unwrap();
    let mut byte = [0u8; 1];
    let waited = tokio::time::timeout(Duration::from_millis(500), third.read(&mut byte)).await;
    assert!(
        waited.is_err(),
        "the third connection was served over the cap"
    );

    // The open ones keep working.
    let response = first.send(Method::GET, "/healthz", &[], Vec::new()).await;
    assert_eq!(response.status(), 200);
    let response = second
        .send(Method::GET, "/api/v1/models", &[], Vec::new())
        .await;
    assert_eq!(response.status(), 200);

    // Once one closes, the third is served.
    drop(first);
    assert!(read_response(&mut third).await.starts_with("HTTP/1.1 200"));
    server.stop_and_clean().await;
}
