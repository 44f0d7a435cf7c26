//! Ground-truth masks for the viewer's metrics and share links: `POST /api/v1/masks`
//! keeps the file's bytes verbatim (label values must survive exactly, so no conversion),
//! addressed by their sha256; `GET /api/v1/masks/{id}` returns them.

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

/// `POST /api/v1/masks`: check the file decodes as an image within the limits, keep it.
pub async fn upload_mask(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Uploaded>, ApiError> {
    let body = body.map_err(|e| body_error(e, state.limits.max_upload_bytes))?;
    if body.is_empty() {
        return Err(ApiError::EmptyBody);
    }
    let worker = state.clone();
    blocking(move || {
        let decoded = imaging::decode_image(&body, &worker.limits.imaging())?;
        let id = worker
            .store
            .put_mask(&body)
            .map_err(|e| ApiError::internal(format!("storing a mask: {e}")))?;
        Ok(Json(Uploaded {
            id: id.to_string(),
            width: decoded.width,
            height: decoded.height,
        }))
    })
    .await?
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
