//! What the server is told at start: where to listen, where to keep data, its token,
//! what to serve at `/`, and its limits.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::ServerError;
use crate::tls::TlsSource;

/// Upper bounds on requests and on the server's own resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerLimits {
    /// Largest upload body, bytes (default 64 MiB).
    pub max_upload_bytes: usize,
    /// Largest decoded image, pixels (default 100 MP).
    pub max_pixels: u64,
    /// Largest allocation an image decoder may make, bytes (default 2 GiB).
    pub max_decoder_alloc: u64,
    /// Encoder jobs that may wait behind the running one before requests get 503
    /// (default 8).
    pub queue_capacity: usize,
    /// Longest time one request may take (default 120 s).
    pub request_timeout: Duration,
    /// Bytes of encoded embeddings kept in memory (default 256 MiB).
    pub memory_cache_bytes: usize,
    /// Uploads decoded at the same time; more wait their turn (default 4).
    pub max_concurrent_uploads: usize,
    /// Longest time an upload body may take to arrive; the upload slot is taken only
    /// once it has (default 60 s; slower bodies get 408).
    pub body_timeout: Duration,
    /// Teaching event streams open at once on the server (default 1024).
    pub max_event_streams: usize,
    /// Teaching event streams open at once on one session (default 300).
    pub max_session_streams: usize,
    /// Bytes of embeddings, images and volumes kept on disk before the least recently
    /// used that no deck uses are evicted (default 20 GiB; 0: unbounded).
    pub cache_max_bytes: u64,
    /// Longest TLS handshake (default 10 s).
    pub tls_handshake_timeout: Duration,
    /// Longest time from a request's first byte to the end of its headers, and from a new
    /// connection to its first request (default 10 s).
    pub header_read_timeout: Duration,
    /// Longest wait for the next request on a kept-alive connection, and for a client that
    /// stopped reading its response (default 60 s).
    pub idle_timeout: Duration,
    /// Connections open at once; more wait in the listen queue (default 512).
    pub max_connections: usize,
    /// Memory all upload decodes together may use, bytes (default 2 GiB): each is weighed
    /// by what its header announces and waits for room; one that alone needs more is
    /// refused (413).
    pub decode_memory: u64,
    /// Bytes of upload bodies held in memory at once, from their first byte until their
    /// request ends (default 1 GiB; never less than `max_upload_bytes`): a body that
    /// would go beyond it stops being read until others finish (503 `busy` when that
    /// takes longer than the body timeout).
    pub receive_memory: u64,
}

impl Default for ServerLimits {
    fn default() -> Self {
        let imaging = imaging::Limits::default();
        Self {
            max_upload_bytes: imaging.max_bytes,
            max_pixels: imaging.max_pixels,
            max_decoder_alloc: imaging.max_alloc,
            queue_capacity: 8,
            request_timeout: Duration::from_secs(120),
            memory_cache_bytes: 256 << 20,
            max_concurrent_uploads: 4,
            body_timeout: Duration::from_secs(60),
            max_event_streams: 1024,
            max_session_streams: 300,
            cache_max_bytes: 20 << 30,
            tls_handshake_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 512,
            decode_memory: 2 << 30,
            receive_memory: 1 << 30,
        }
    }
}

impl ServerLimits {
    /// The decode limits for one upload.
    pub fn imaging(&self) -> imaging::Limits {
        imaging::Limits {
            max_bytes: self.max_upload_bytes,
            max_pixels: self.max_pixels,
            max_alloc: self.max_decoder_alloc,
        }
    }
}

/// A fine-tuned decoder listed next to its base model (`samscope serve --finetuned`): it
/// shares the base model's encoder and embeddings and serves its own decoder weights.
#[derive(Debug, Clone)]
pub struct FinetunedDecoder {
    /// Its id in `/api/v1/models` (e.g. `lite_medsam+vessels`).
    pub name: String,
    /// The base model; it must be one of the served models.
    pub base: sam::ModelId,
    /// Prompt encoder + mask decoder.
    pub decoder: sam::SamDecoder,
}

/// Everything [`crate::Server::bind`] needs besides the models.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on; port 0 picks a free port.
    pub addr: SocketAddr,
    /// Images, the embedding cache and exported decoders live here.
    pub data_dir: PathBuf,
    /// When set, uploads need `Authorization: Bearer <token>`; required off loopback.
    pub token: Option<String>,
    /// The viewer bundle (Trunk's output), served at `/`.
    pub web_dir: Option<PathBuf>,
    /// More files served at `/` where the bundle has none (the repository's `static/`).
    pub static_dir: Option<PathBuf>,
    /// Request and resource limits.
    pub limits: ServerLimits,
    /// Fine-tuned decoders listed after the models (none by default).
    pub finetuned: Vec<FinetunedDecoder>,
    /// How long a sign-in session lasts (`--session-hours`, default 12 h).
    pub session_ttl: Duration,
    /// Take the client's view of the origin from `X-Forwarded-Host` / `X-Forwarded-Proto`
    /// (`--trust-forwarded`: only behind a reverse proxy that sets them).
    pub trust_forwarded: bool,
    /// Serve HTTPS with this certificate (none: plain HTTP).
    pub tls: Option<TlsSource>,
    /// Serve plain HTTP on a non-loopback address (`--insecure-http`).
    pub insecure_http: bool,
}

impl ServerConfig {
    /// Loopback-only, no token, nothing served at `/`, default limits.
    pub fn new(addr: SocketAddr, data_dir: impl Into<PathBuf>) -> Self {
        Self {
            addr,
            data_dir: data_dir.into(),
            token: None,
            web_dir: None,
            static_dir: None,
            limits: ServerLimits::default(),
            finetuned: Vec::new(),
            session_ttl: crate::auth::DEFAULT_SESSION_TTL,
            trust_forwarded: false,
            tls: None,
            insecure_http: false,
        }
    }

    /// Refuses a non-loopback address (or forwarded requests) without a token, tokens a
    /// header cannot carry and tokens shorter than [`crate::auth::MIN_TOKEN_CHARS`].
    pub fn check(&self) -> Result<(), ServerError> {
        match &self.token {
            Some(token) if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) => {
                Err(ServerError::BadToken)
            }
            Some(token) if token.len() < crate::auth::MIN_TOKEN_CHARS => {
                Err(ServerError::ShortToken {
                    chars: token.len(),
                    min: crate::auth::MIN_TOKEN_CHARS,
                })
            }
            None if !self.addr.ip().is_loopback() => Err(ServerError::Insecure { addr: self.addr }),
            None if self.trust_forwarded => Err(ServerError::ForwardedWithoutToken),
            _ if self.tls.is_none() && !self.addr.ip().is_loopback() && !self.insecure_http => {
                Err(ServerError::PlainHttp { addr: self.addr })
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(addr: &str, token: Option<&str>) -> ServerConfig {
        ServerConfig {
            token: token.map(str::to_string),
            ..ServerConfig::new(addr.parse().unwrap(), "/tmp/x")
        }
    }

    #[test]
    fn non_loopback_needs_a_token() {
        assert!(config("127.0.0.1:0", None).check().is_ok());
        assert!(config("[::1]:8080", None).check().is_ok());
        assert!(matches!(
            config("0.0.0.0:8080", None).check(),
            Err(ServerError::Insecure { .. })
        ));
        assert!(matches!(
            config("192.168.1.2:8080", None).check(),
            Err(ServerError::Insecure { .. })
        ));
        assert!(matches!(
            config("0.0.0.0:8080", Some("s3cret-token-0123")).check(),
            Err(ServerError::PlainHttp { .. })
        ));
        let https = ServerConfig {
            tls: Some(TlsSource::SelfSigned(vec!["gpu.example".into()])),
            ..config("0.0.0.0:8080", Some("s3cret-token-0123"))
        };
        assert!(https.check().is_ok());
        let insecure = ServerConfig {
            insecure_http: true,
            ..config("0.0.0.0:8080", Some("s3cret-token-0123"))
        };
        assert!(insecure.check().is_ok());
        assert!(matches!(
            config("0.0.0.0:8080", Some("s3cret-token-01")).check(),
            Err(ServerError::ShortToken { chars: 15, .. })
        ));
        assert!(matches!(
            config("127.0.0.1:0", Some("x")).check(),
            Err(ServerError::ShortToken { .. })
        ));
        let forwarded = ServerConfig {
            trust_forwarded: true,
            ..config("127.0.0.1:0", None)
        };
        assert!(matches!(
            forwarded.check(),
            Err(ServerError::ForwardedWithoutToken)
        ));
        assert!(matches!(
            config("0.0.0.0:8080", Some("")).check(),
            Err(ServerError::BadToken)
        ));
        assert!(matches!(
            config("127.0.0.1:0", Some("two words")).check(),
            Err(ServerError::BadToken)
        ));
    }
}
