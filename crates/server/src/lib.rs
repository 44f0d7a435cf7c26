//! The samscope embedding server: the heavy image encoder runs here, once per image and
//! model; the browser fetches the embedding and the decoder weights and decodes every
//! click itself. API v1 is described in `docs/api.md`.
//!
//! Data flows one way: upload → [`imaging`] → content id ([`ImageId`]) → store → encoder
//! thread (bounded queue, single flight per image and model) → checksummed disk cache and
//! in-memory LRU → `sam::embedding_codec` bytes.
//!
//! ```no_run
//! # async fn demo(models: Vec<server::LoadedModel>) -> Result<(), server::ServerError> {
//! let config = server::ServerConfig::new("127.0.0.1:8080".parse().unwrap(), "/tmp/samscope");
//! let server = server::Server::bind(config, models).await?;
//! println!("listening on {}", server.url());
//! server.run(std::future::pending()).await
//! # }
//! ```

#![warn(missing_docs)]

mod access;
mod auth;
mod budget;
mod cache;
mod config;
mod content;
mod disk;
mod embeddings;
mod encoder;
mod error;
mod eviction;
mod export;
mod http;
mod image_id;
mod layers;
mod listen;
mod masks;
mod metrics;
mod origin;
mod receive;
mod routes;
mod state;
mod store;
mod streams;
mod teaching_routes;
mod tls;
mod transfer;
mod upload_gate;
mod volume_cache;
mod volumes;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;

pub use auth::{MIN_TOKEN_CHARS, read_token_file};
pub use config::{FinetunedDecoder, ServerConfig, ServerLimits};
pub use content::Content;
pub use error::{ApiError, ServerError};
pub use image_id::{ImageId, PREPROCESSING_V1, VolumeId};
pub use state::LoadedModel;
pub use tls::{TlsIdentity, TlsSource};

/// A server bound to its address, not yet accepting connections.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    app: Router,
    addr: SocketAddr,
    state: Arc<state::AppState>,
    tls: Option<tls::Tls>,
}

impl Server {
    /// Checks the configuration (no non-loopback address without a token, nor over plain
    /// HTTP unless asked), reads or makes the TLS certificate, opens the data directory,
    /// exports each model's decoder, starts the encoder thread and binds.
    pub async fn bind(config: ServerConfig, models: Vec<LoadedModel>) -> Result<Self, ServerError> {
        config.check()?;
        let tls = match &config.tls {
            Some(source) => {
                let (source, data_dir) = (source.clone(), config.data_dir.clone());
                let loaded = tokio::task::spawn_blocking(move || tls::load(&source, &data_dir))
                    .await
                    .map_err(|e| ServerError::Runtime(std::io::Error::other(e)))??;
                Some(loaded)
            }
            None => None,
        };
        let build_config = config.clone();
        let state =
            tokio::task::spawn_blocking(move || state::AppState::build(&build_config, models))
                .await
                .map_err(|e| ServerError::Runtime(std::io::Error::other(e)))??;
        let listener =
            TcpListener::bind(config.addr)
                .await
                .map_err(|source| ServerError::Bind {
                    addr: config.addr,
                    source,
                })?;
        let addr = listener.local_addr().map_err(ServerError::Runtime)?;
        let state = Arc::new(state);
        eviction::start(&state);
        let app = routes::router(
            state.clone(),
            config.web_dir.as_deref(),
            config.static_dir.as_deref(),
        );
        Ok(Self {
            listener,
            app,
            addr,
            state,
            tls,
        })
    }

    /// The bound address (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where to open the server: `https://ADDR` or `http://ADDR`.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The served certificate's fingerprints, when serving HTTPS.
    pub fn tls_identity(&self) -> Option<&TlsIdentity> {
        self.tls.as_ref().map(|tls| &tls.identity)
    }

    /// Serves until `shutdown` completes, then ends teaching event streams and finishes
    /// the requests in progress (`listen` has the accept loop and its limits).
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let state = self.state;
        let limits = state.limits.clone();
        let closing = state.clone();
        let shutdown = async move {
            shutdown.await;
            // Event streams would otherwise keep the shutdown waiting.
            closing.teaching.close();
        };
        let acceptor = self.tls.map(|tls| tls.acceptor);
        listen::serve(self.listener, self.app, acceptor, &limits, shutdown).await
    }
}

/// Resolves on Ctrl-C or, on Unix, SIGTERM (what service managers send); never when
/// signals cannot be handled here.
async fn stop_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = async {
            match signal(SignalKind::terminate()) {
                Ok(mut term) => {
                    term.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = ctrl_c => {}
            () = term => {}
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await;
}

/// Reads the TLS certificate and key `config` names (making and keeping the self-signed
/// one in the data directory when asked), so a wrong path or an unusable key is reported
/// before seconds are spent loading a model; [`Server::bind`] reads them again.
pub fn check_tls(config: &ServerConfig) -> Result<(), ServerError> {
    match &config.tls {
        Some(source) => tls::load(source, &config.data_dir).map(drop),
        None => Ok(()),
    }
}

/// Runs a server on its own runtime until Ctrl-C or SIGTERM (the `samscope serve`
/// command).
pub fn run_until_ctrl_c(config: ServerConfig, models: Vec<LoadedModel>) -> Result<(), ServerError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("samscope-http")
        .build()
        .map_err(ServerError::Runtime)?;
    runtime.block_on(async move {
        let server = Server::bind(config, models).await?;
        if let Some(identity) = server.tls_identity() {
            // Printed whatever the log level: people check these against their browser.
            eprintln!("TLS certificate  {}", identity.cert_path.display());
            eprintln!("  SHA-256        {}", identity.sha256);
            eprintln!("  SPKI SHA-256   {}", identity.spki_sha256);
        }
        tracing::info!("listening on {}", server.url());
        server
            .run(async {
                stop_signal().await;
                tracing::info!("shutting down");
            })
            .await
    })
}
