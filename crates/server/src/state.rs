//! The shared state of the handlers, built once at start.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use sam::embedding_codec::EmbeddingData;
use sam::export::{ExportDtype, export_decoder};
use sam::{ModelConfig, ModelId, SamPredictor};
use sha2::{Digest, Sha256};
use tokio::sync::{Semaphore, watch};

use crate::cache::MemoryCache;
use crate::config::{ServerConfig, ServerLimits};
use crate::encoder::Encoder;
use crate::error::{ApiError, ServerError, echo};
use crate::image_id::{ImageId, parse_sha256_hex};
use crate::metrics::Metrics;
use crate::store::{Store, write_atomic};
use crate::transfer::PlanesFile;
use crate::volume_cache::{VOLUME_CACHE_BYTES, VolumeCache};

/// The shared outcome of one computation.
pub type FlightResult = Result<Arc<EmbeddingData>, ApiError>;

/// Computations in flight: one watch channel per (image, model), `None` until done.
pub type Flights = Mutex<HashMap<(ImageId, ModelId), watch::Receiver<Option<FlightResult>>>>;

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
    /// f32 safetensors bytes (exact weights: the viewer's `wire=f32`).
    pub f32_bytes: Bytes,
    /// sha256 (hex) of `f32_bytes`.
    pub f32_sha256: String,
    /// `bytes` as byte planes, compressed on first request (what the viewer downloads).
    pub planes: Arc<PlanesFile>,
    /// `f32_bytes` as byte planes.
    pub f32_planes: Arc<PlanesFile>,
}

impl DecoderFile {
    /// Exports `decoder` in f16 and f32.
    pub fn export(config: &ModelConfig, decoder: &sam::SamDecoder) -> Result<Self, sam::SamError> {
        let f16 = export_decoder(config, decoder, ExportDtype::F16)?;
        let f32 = export_decoder(config, decoder, ExportDtype::F32)?;
        let (f16, f32) = (Bytes::from(f16), Bytes::from(f32));
        Ok(Self {
            sha256: format!("{:x}", Sha256::digest(&f16)),
            planes: Arc::new(PlanesFile::new(f16.clone(), ExportDtype::F16.size_bytes())),
            bytes: f16,
            f32_sha256: format!("{:x}", Sha256::digest(&f32)),
            f32_planes: Arc::new(PlanesFile::new(f32.clone(), ExportDtype::F32.size_bytes())),
            f32_bytes: f32,
        })
    }
}

/// What the handlers know about one model.
#[derive(Debug)]
pub struct ModelEntry {
    /// Its id in the API: the model id, or a fine-tuned decoder's name.
    pub name: String,
    /// For a fine-tuned decoder, the base model whose embeddings it decodes.
    pub finetuned_from: Option<ModelId>,
    /// Configuration (input size, embedding geometry); a fine-tuned decoder's is its
    /// base model's, so embeddings are shared.
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
    /// Bound to loopback: requests must name a loopback host.
    pub loopback_only: bool,
    /// Permits for uploads being decoded.
    pub upload_slots: Semaphore,
    /// Upload bodies in memory, against `ServerLimits::receive_memory`.
    pub receiving: crate::receive::ReceiveBudget,
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
    /// Decoded volumes recently uploaded or sliced.
    pub volumes: VolumeCache,
    /// Decks and teaching sessions.
    pub teaching: teaching::Teaching,
    /// Open teaching event streams, against their caps.
    pub streams: crate::streams::StreamSlots,
    /// Sessions, the token and the server's own origin.
    pub access: crate::auth::Access,
    /// Memory for decoding uploads (`--decode-memory`).
    pub decode_budget: crate::budget::DecodeBudget,
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
        crate::disk::sweep_temp_files(&config.data_dir);
        let store = Store::open(&config.data_dir).map_err(data_dir)?;
        store.usage.set_budget(config.limits.cache_max_bytes);
        let teaching = teaching::Teaching::open(&config.data_dir)
            .map_err(|e| data_dir(std::io::Error::other(e.to_string())))?;
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
            let decoder = DecoderFile::export(&config, predictor.decoder()).map_err(|source| {
                ServerError::Export {
                    model: config.id,
                    source,
                }
            })?;
            let path = store.decoder_path(config.id, &weights_sha256);
            write_atomic(&path, &decoder.bytes)
                .map_err(|source| ServerError::DataDir { path, source })?;
            tracing::info!(model = %config.id, bytes = decoder.bytes.len(), sha256 = %decoder.sha256, "decoder exported");
            entries.push(ModelEntry {
                name: config.id.as_str().to_string(),
                finetuned_from: None,
                config,
                weights_sha256,
                decoder,
            });
            predictors.push(predictor);
        }
        for finetuned in &config.finetuned {
            let entry = finetuned_entry(&entries, finetuned)?;
            entries.push(entry);
        }
        let metrics = Arc::new(Metrics::default());
        let encoder = Encoder::start(predictors, config.limits.queue_capacity, metrics.clone())
            .map_err(ServerError::Runtime)?;
        Ok(Self {
            limits: config.limits.clone(),
            // Behind a trusted proxy the client's Host is the proxy's public name.
            // With TLS a rebound name fails the certificate check instead.
            loopback_only: config.addr.ip().is_loopback()
                && !config.trust_forwarded
                && config.tls.is_none(),
            upload_slots: Semaphore::new(config.limits.max_concurrent_uploads.max(1)),
            receiving: crate::receive::ReceiveBudget::new(
                config
                    .limits
                    .receive_memory
                    .max(config.limits.max_upload_bytes as u64),
            ),
            models: entries,
            store,
            memory: MemoryCache::new(config.limits.memory_cache_bytes),
            encoder,
            flights: Mutex::new(HashMap::new()),
            metrics,
            volumes: VolumeCache::new(VOLUME_CACHE_BYTES),
            teaching,
            streams: crate::streams::StreamSlots::new(
                config.limits.max_event_streams,
                config.limits.max_session_streams,
            ),
            access: crate::auth::Access::new(
                config.token.clone(),
                config.session_ttl,
                crate::origin::OwnOrigin {
                    scheme: if config.tls.is_some() {
                        "https"
                    } else {
                        "http"
                    },
                    trust_forwarded: config.trust_forwarded,
                },
            ),
            decode_budget: crate::budget::DecodeBudget::new(
                config.limits.decode_memory,
                config.limits.request_timeout,
            ),
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
                .map(|m| m.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        if let Some(entry) = self.models.iter().find(|m| m.name == text) {
            return Ok(entry);
        }
        Err(ApiError::UnknownModel(match text.parse::<ModelId>() {
            Ok(wanted) => format!(
                "model `{wanted}` is not loaded on this server; it has: {}",
                loaded()
            ),
            Err(_) => format!(
                "unknown model `{}`; this server has: {}",
                echo(text),
                loaded()
            ),
        }))
    }
}

/// The entry of a fine-tuned decoder: its base model's configuration and weights id (the
/// embeddings are the base model's), its own decoder bytes (in memory only, not exported
/// to the data directory).
fn finetuned_entry(
    entries: &[ModelEntry],
    finetuned: &crate::config::FinetunedDecoder,
) -> Result<ModelEntry, ServerError> {
    let problem = |problem: String| ServerError::Finetuned {
        name: finetuned.name.clone(),
        problem,
    };
    let name_ok = finetuned
        .name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.+-".contains(&b));
    if finetuned.name.is_empty() || finetuned.name.len() > 64 || !name_ok {
        return Err(problem(
            "names are 1–64 lower-case letters, digits, `_`, `.`, `+` and `-`".into(),
        ));
    }
    if entries.iter().any(|e| e.name == finetuned.name) {
        return Err(problem("another model has this name".into()));
    }
    let base = entries
        .iter()
        .find(|e| e.finetuned_from.is_none() && e.config.id == finetuned.base)
        .ok_or_else(|| {
            problem(format!(
                "its base model `{}` is not served; add --model {}",
                finetuned.base, finetuned.base
            ))
        })?;
    let decoder = DecoderFile::export(&base.config, &finetuned.decoder).map_err(|source| {
        ServerError::Export {
            model: finetuned.base,
            source,
        }
    })?;
    tracing::info!(model = %finetuned.name, base = %finetuned.base, bytes = decoder.bytes.len(), sha256 = %decoder.sha256, "fine-tuned decoder exported");
    Ok(ModelEntry {
        name: finetuned.name.clone(),
        finetuned_from: Some(finetuned.base),
        config: base.config.clone(),
        weights_sha256: base.weights_sha256.clone(),
        decoder,
    })
}
