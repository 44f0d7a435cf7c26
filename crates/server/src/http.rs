//! What the HTTP handlers share: reading bodies and id paths, conditional answers, and
//! running blocking work off the async runtime. Every resource module (`routes`, `masks`,
//! `volumes`, `teaching_routes`) builds on this one; none of them on another.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::Path;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::runtime::Handle;
use tokio::task::spawn_blocking;

use crate::error::ApiError;
use crate::image_id::ImageId;
use crate::state::AppState;

/// `Cache-Control` of content-addressed answers.
pub(crate) const IMMUTABLE: &str = "private, max-age=31536000, immutable";

/// Runs blocking work off the async runtime.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    spawn_blocking(work)
        .await
        .map_err(|e| ApiError::internal(format!("blocking task failed: {e}")))
}

pub(crate) fn body_error(rejection: BytesRejection, limit: usize) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge(format!(
            "the upload is larger than the limit of {limit} bytes"
        ))
    } else {
        ApiError::BadRequest(format!("reading the body: {}", rejection.body_text()))
    }
}

pub(crate) fn image_id(path: Result<Path<String>, PathRejection>) -> Result<ImageId, ApiError> {
    let Path(text) = path.map_err(|_| ApiError::BadId)?;
    Ok(ImageId::parse(&text)?)
}

/// Whether `If-None-Match` names `etag`.
pub(crate) fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
}

/// A body with its validator: 304 when the client already has it, else 200.
pub(crate) fn conditional(
    headers: &HeaderMap,
    etag: &str,
    cache_control: &'static str,
    content_type: &'static str,
    body: Bytes,
) -> Result<Response, ApiError> {
    let etag_value =
        HeaderValue::from_str(etag).map_err(|_| ApiError::internal("etag is not a header"))?;
    let common = [
        (header::ETAG, etag_value),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static(cache_control),
        ),
    ];
    if not_modified(headers, etag) {
        return Ok((StatusCode::NOT_MODIFIED, common).into_response());
    }
    Ok((
        common,
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body,
    )
        .into_response())
}

/// Runs upload `work` off the async runtime with every decode in it admitted against the
/// server's decode memory budget (see [`crate::budget::DecodeBudget::run`]).
pub async fn decoding<T: Send + 'static>(
    state: &Arc<AppState>,
    work: impl FnOnce(&AppState) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let handle = Handle::current();
    let worker = state.clone();
    blocking(move || worker.decode_budget.run(&handle, || work(&worker))).await?
}
