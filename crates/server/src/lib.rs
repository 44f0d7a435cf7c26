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
//! println!("listening on http://{}", server.local_addr());
//! server.run(std::future::pending()).await
//! # }
//! ```

#![warn(missing_docs)]

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
mod masks;
mod metrics;
mod routes;
mod state;
mod store;
mod streams;
mod teaching_routes;
mod transfer;
mod upload_gate;
mod volume_cache;
mod volumes;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;

pub use config::{FinetunedDecoder, ServerConfig, ServerLimits};
pub use content::Content;
pub use error::{ApiError, ServerError};
pub use image_id::{ImageId, PREPROCESSING_V1, VolumeId};
pub use state::LoadedModel;

/// A server bound to its address, not yet accepting connections.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    app: Router,
    addr: SocketAddr,
    state: Arc<state::AppState>,
}

impl Server {
    /// Checks the configuration (no non-loopback address without a token), opens the data
    /// directory, exports each model's decoder, starts the encoder thread and binds.
    pub async fn bind(config: ServerConfig, models: Vec<LoadedModel>) -> Result<Self, ServerError> {
        config.check()?;
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
        })
    }

    /// The bound address (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `shutdown` completes, then ends teaching event streams and finishes
    /// the requests in progress.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let state = self.state;
        axum::serve(self.listener, self.app)
            .with_graceful_shutdown(async move {
                shutdown.await;
                // Event streams would otherwise keep the shutdown waiting.
                state.teaching.close();
            })
            .await
            .map_err(ServerError::Runtime)
    }
}

/// Runs a server on its own runtime until Ctrl-C (the `samscope serve` command).
pub fn run_until_ctrl_c(config: ServerConfig, models: Vec<LoadedModel>) -> Result<(), ServerError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("samscope-http")
        .build()
        .map_err(ServerError::Runtime)?;
    runtime.block_on(async move {
        let server = Server::bind(config, models).await?;
        tracing::info!("listening on http://{}", server.local_addr());
        server
            .run(async {
                if tokio::signal::ctrl_c().await.is_err() {
                    // No signal handling here: serve until the process is killed.
                    std::future::pending::<()>().await;
                }
                tracing::info!("shutting down");
            })
            .await
    })
}
