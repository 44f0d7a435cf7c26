//! Ground-truth masks for the viewer's metrics and share links: `POST /api/v1/masks`
//! re-encodes the file as a PNG of exactly its decoded samples (label values survive
//! exactly; no text, EXIF or other metadata chunk does), addressed by the sha256 of that
//! PNG; `GET /api/v1/masks/{id}` returns it.

use std::sync::Arc;

use api::Uploaded;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;

use crate::error::ApiError;
use crate::http::{IMMUTABLE, blocking, body_error, conditional, image_id, not_modified};
use crate::state::AppState;
use crate::store::mask_id;

/// `POST /api/v1/masks`: decode the file within the limits and the decode memory budget,
/// keep its samples as a clean PNG.
pub async fn upload_mask(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Uploaded>, ApiError> {
    let body = body.map_err(|e| body_error(e, state.limits.max_upload_bytes))?;
    if body.is_empty() {
        return Err(ApiError::EmptyBody);
    }
    let uploaded = crate::http::decoding(&state, move |state| {
        let clean = imaging::clean_mask(&body, &state.limits.imaging())?;
        let id = state
            .store
            .put_mask(&clean.png)
            .map_err(|e| ApiError::internal(format!("storing a mask: {e}")))?;
        Ok(Uploaded {
            id: id.to_string(),
            width: clean.width,
            height: clean.height,
        })
    })
    .await?;
    Ok(Json(uploaded))
}

/// `GET /api/v1/masks/{id}`: the stored file, checked against its id.
pub async fn get_mask(
    State(state): State<Arc<AppState>>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = image_id(path)?;
    let etag = format!("\"{id}\"");
    if not_modified(&headers, &etag) {
        return conditional(&headers, &etag, IMMUTABLE, "image/png", Bytes::new());
    }
    let worker = state.clone();
    let bytes = blocking(move || std::fs::read(worker.store.mask_path(&id)).ok()).await?;
    match bytes {
        Some(bytes) if mask_id(&bytes) == id => conditional(
            &headers,
            &etag,
            IMMUTABLE,
            "application/octet-stream",
            Bytes::from(bytes),
        ),
        Some(_) => {
            tracing::error!(mask = %id, "damaged stored mask removed");
            let _ = std::fs::remove_file(state.store.mask_path(&id));
            Err(ApiError::MaskNotFound(id))
        }
        None => Err(ApiError::MaskNotFound(id)),
    }
}
