//! The shared state of the handlers, built once at start.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use sam::export::{ExportDtype, export_decoder};
use sam::{ModelConfig, ModelId, SamPredictor};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::cache::MemoryCache;
use crate::config::{ServerConfig, ServerLimits};
use crate::embeddings::Flights;
use crate::encoder::Encoder;
use crate::error::{ApiError, ServerError, echo};
use crate::image_id::{ImageId, parse_sha256_hex};
use crate::metrics::Metrics;
use crate::store::{Store, write_atomic};

/// A model ready to serve: the predictor (encoder and decoder) and the sha256 of the
/// checkpoint it was loaded from, which keys its cache entries.
#[derive(Debug)]
pub struct LoadedModel {
    /// Encoder + decoder on the chosen device.
    pub predictor: SamPredictor,
    /// sha256 (hex) of the checkpoint file.
    pub weights_sha256: String,
}

/// The browser's decoder weights of one model, held in memory.
#[derive(Debug)]
pub struct DecoderFile {
    /// f16 safetensors bytes.
    pub bytes: Bytes,
    /// sha256 (hex) of `bytes`.
    pub sha256: String,
}

/// What the handlers know about one model.
#[derive(Debug)]
pub struct ModelEntry {
    /// Configuration (input size, embedding geometry).
    pub config: ModelConfig,
    /// sha256 of the checkpoint.
    pub weights_sha256: String,
    /// Exported decoder for the browser.
    pub decoder: DecoderFile,
}

/// Key of the in-memory response cache.
pub type MemoryKey = (ImageId, ModelId, ExportDtype);

/// Shared by every handler.
#[derive(Debug)]
pub struct AppState {
    /// Limits and timeouts.
    pub limits: ServerLimits,
    /// Bearer token for writes, if any.
    pub token: Option<String>,
    /// Bound to loopback: requests must name a loopback host.
    pub loopback_only: bool,
    /// Permits for uploads being decoded.
    pub upload_slots: Semaphore,
    /// Loaded models; the first is the default.
    pub models: Vec<ModelEntry>,
    /// The data directory.
    pub store: Store,
    /// Encoded embedding responses.
    pub memory: MemoryCache<MemoryKey>,
    /// The encoder thread.
    pub encoder: Encoder,
    /// Embeddings being computed, one entry per (image, model).
    pub flights: Flights,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
}

impl AppState {
    /// Opens the data directory, exports each model's decoder into it and starts the
    /// encoder. Blocking (export and fsync); call it off the async runtime.
    pub fn build(config: &ServerConfig, models: Vec<LoadedModel>) -> Result<Self, ServerError> {
        if models.is_empty() {
            return Err(ServerError::NoModel);
        }
        let data_dir = |source| ServerError::DataDir {
            path: config.data_dir.clone(),
            source,
        };
        let store = Store::open(&config.data_dir).map_err(data_dir)?;
        let mut entries = Vec::with_capacity(models.len());
        let mut predictors = Vec::with_capacity(models.len());
        for LoadedModel {
            predictor,
            weights_sha256,
        } in models
        {
            let config = predictor.config().clone();
            if parse_sha256_hex(&weights_sha256).is_none() {
                return Err(ServerError::BadWeightsId { model: config.id });
            }
            let bytes = export_decoder(&config, predictor.decoder(), ExportDtype::F16).map_err(
                |source| ServerError::Export {
                    model: config.id,
                    source,
                },
            )?;
            let path = store.decoder_path(config.id, &weights_sha256);
            write_atomic(&path, &bytes).map_err(|source| ServerError::DataDir { path, source })?;
            let sha256 = format!("{:x}", Sha256::digest(&bytes));
            tracing::info!(model = %config.id, bytes = bytes.len(), %sha256, "decoder exported");
            entries.push(ModelEntry {
                config,
                weights_sha256,
                decoder: DecoderFile {
                    bytes: Bytes::from(bytes),
                    sha256,
                },
            });
            predictors.push(predictor);
        }
        let metrics = Arc::new(Metrics::default());
        let encoder = Encoder::start(predictors, config.limits.queue_capacity, metrics.clone())
            .map_err(ServerError::Runtime)?;
        Ok(Self {
            limits: config.limits.clone(),
            token: config.token.clone(),
            loopback_only: config.addr.ip().is_loopback(),
            upload_slots: Semaphore::new(config.limits.max_concurrent_uploads.max(1)),
            models: entries,
            store,
            memory: MemoryCache::new(config.limits.memory_cache_bytes),
            encoder,
            flights: Mutex::new(HashMap::new()),
            metrics,
        })
    }

    /// The model named `id`, or the default model when `None`.
    pub fn model(&self, id: Option<&str>) -> Result<&ModelEntry, ApiError> {
        let Some(text) = id else {
            return self
                .models
                .first()
                .ok_or_else(|| ApiError::internal("no model loaded"));
        };
        let loaded = || {
            self.models
                .iter()
                .map(|m| m.config.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let wanted: ModelId = text.parse().map_err(|_| {
            ApiError::UnknownModel(format!(
                "unknown model `{}`; this server has: {}",
                echo(text),
                loaded()
            ))
        })?;
        self.models
            .iter()
            .find(|m| m.config.id == wanted)
            .ok_or_else(|| {
                ApiError::UnknownModel(format!(
                    "model `{wanted}` is not loaded on this server; it has: {}",
                    loaded()
                ))
            })
    }
}
