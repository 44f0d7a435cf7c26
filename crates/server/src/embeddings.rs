//! Getting an embedding: memory LRU → checksummed disk entry → the encoder, with
//! concurrent requests for one (image, model) sharing a single computation.

use std::sync::{Arc, PoisonError};

use axum::body::Bytes;
use sam::ModelId;
use sam::embedding_codec::EmbeddingData;
use sam::export::ExportDtype;
use tokio::sync::watch;

use crate::error::ApiError;
use crate::http::blocking;
use crate::image_id::ImageId;
use crate::metrics::CacheLayer;
use crate::state::{AppState, FlightResult, ModelEntry};

/// The encoded embedding of image `id` for `model` in `dtype`.
pub async fn embedding_bytes(
    state: &Arc<AppState>,
    id: ImageId,
    model: &ModelEntry,
    dtype: ExportDtype,
) -> Result<Bytes, ApiError> {
    let key = (id, model.config.id, dtype);
    if let Some(bytes) = state.memory.get(&key) {
        state.metrics.record_hit(CacheLayer::Memory);
        return Ok(bytes);
    }
    let data = shared_computation(state, id, model).await?;
    // Another waiter of the same computation may have encoded this dtype already.
    if let Some(bytes) = state.memory.get(&key) {
        return Ok(bytes);
    }
    let bytes = blocking(move || {
        let mut data = EmbeddingData::clone(&data);
        data.header.dtype = dtype;
        data.encode()
    })
    .await?
    .map_err(|e| ApiError::internal(format!("encoding the embedding: {e}")))?;
    let bytes = Bytes::from(bytes);
    state.memory.insert(key, bytes.clone());
    Ok(bytes)
}

/// Joins the computation of (id, model) in flight, or starts it. The computation runs
/// in its own task, so a client that goes away does not cancel it for the others.
async fn shared_computation(
    state: &Arc<AppState>,
    id: ImageId,
    model: &ModelEntry,
) -> FlightResult {
    let flight = (id, model.config.id);
    let mut receiver = {
        let mut flights = state.flights.lock().unwrap_or_else(PoisonError::into_inner);
        match flights.get(&flight) {
            Some(receiver) => receiver.clone(),
            None => {
                let (sender, receiver) = watch::channel(None);
                flights.insert(flight, receiver.clone());
                let state = state.clone();
                let weights = model.weights_sha256.clone();
                tokio::spawn(async move {
                    let result = load_or_compute(&state, id, flight.1, weights).await;
                    // The disk entry (if any) is written before the flight ends, so a
                    // later request finds it instead of starting the encoder again.
                    state
                        .flights
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .remove(&flight);
                    sender.send_replace(Some(result));
                });
                receiver
            }
        }
    };
    let outcome = receiver
        .wait_for(Option::is_some)
        .await
        .map_err(|_| ApiError::internal("the embedding task ended without a result"))?;
    outcome
        .clone()
        .unwrap_or_else(|| Err(ApiError::internal("no embedding result")))
}

/// The disk entry if intact, else one encoder run (whose result is then cached on disk).
async fn load_or_compute(
    state: &Arc<AppState>,
    id: ImageId,
    model: ModelId,
    weights: String,
) -> FlightResult {
    let cached = {
        let (state, weights) = (state.clone(), weights.clone());
        blocking(move || state.store.read_embedding(model, &weights, &id)).await?
    };
    match cached {
        Ok(Some(data)) => {
            state.metrics.record_hit(CacheLayer::Disk);
            return Ok(Arc::new(data));
        }
        Ok(None) => {}
        Err(corrupt) => {
            state.metrics.record_corrupt();
            tracing::warn!(image = %id, %model, problem = %corrupt, "damaged cache entry dropped; recomputing");
        }
    }
    state.metrics.record_miss();
    let image = {
        let state = state.clone();
        let limits = state.limits.imaging();
        blocking(move || state.store.load_image(id, &limits)).await?
    };
    let image = match image {
        Ok(Some((_, image))) => image,
        Ok(None) => return Err(ApiError::ImageNotFound(id)),
        Err(corrupt) => {
            tracing::error!(image = %id, problem = %corrupt, "damaged stored image removed");
            return Err(ApiError::ImageNotFound(id));
        }
    };
    let reply = state.encoder.submit(model, image)?;
    let data = reply
        .await
        .map_err(|_| ApiError::internal("the encoder thread dropped the job"))?
        .map_err(|e| ApiError::internal(format!("encoder: {e}")))?;
    let data = Arc::new(data);
    let written = {
        let (state, data) = (state.clone(), data.clone());
        blocking(move || state.store.write_embedding(&weights, &id, &data)).await?
    };
    if let Err(e) = written {
        tracing::error!(image = %id, %model, error = %e, "could not cache the embedding on disk");
    }
    Ok(data)
}
