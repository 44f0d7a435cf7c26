//! The upload gate: a body is read whole (within the route's byte limit and the body
//! timeout) before the request takes one of the upload slots, so clients that trickle
//! their bodies hold a connection, never a slot that real uploads wait for.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;

use crate::error::ApiError;
use crate::receive::{Charge, budget_full, read_body};
use crate::state::AppState;

/// The state of [`limit_uploads`]: the server and the route's body limit.
#[derive(Clone)]
pub struct UploadGate {
    state: Arc<AppState>,
    max_bytes: usize,
}

impl UploadGate {
    /// The gate of a route whose bodies may be up to `max_bytes` long.
    pub fn new(state: &Arc<AppState>, max_bytes: usize) -> Self {
        Self {
            state: state.clone(),
            max_bytes,
        }
    }
}

/// Reads the whole body into memory charged to the receive budget (413 `too_large`
/// beyond the route's limit, 408 `body_timeout` when it has not arrived within
/// `body_timeout`, 503 `busy` when the budget stayed full that long), then waits for one of the
/// `max_concurrent_uploads` slots and runs the handler on the buffered body (a 100 MP
/// decode holds hundreds of MiB, so decodes take turns; receiving does not).
pub async fn limit_uploads(
    State(gate): State<UploadGate>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let limits = &gate.state.limits;
    let (parts, body) = request.into_parts();
    let announced = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > gate.max_bytes as u64) {
        return Err(too_large(gate.max_bytes));
    }
    // Held until the request ends: the buffered body lives through the decode.
    let mut charge = Charge::new(&gate.state.receiving);
    let max_bytes = gate.max_bytes;
    let read = tokio::time::timeout(
        limits.body_timeout,
        read_body(body, max_bytes, &mut charge, || too_large(max_bytes)),
    )
    .await;
    let bytes = match read {
        Ok(bytes) => bytes?,
        Err(_) if charge.was_waiting() => return Err(budget_full()),
        Err(_) => {
            return Err(ApiError::BodyTimeout {
                seconds: limits.body_timeout.as_secs().max(1),
            });
        }
    };
    let _slot = gate
        .state
        .upload_slots
        .acquire()
        .await
        .map_err(|_| ApiError::internal("upload slots closed"))?;
    Ok(next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await)
}

fn too_large(limit: usize) -> ApiError {
    ApiError::TooLarge(format!(
        "the upload is larger than the limit of {limit} bytes"
    ))
}
