//! Which request needs what (docs/api.md, "Security"), as one layer around every route:
//!
//! - state-changing requests must be same-origin, with or without a token
//!   ([`crate::origin`]);
//! - with a token, everything is private unless its route is public: the bundle and other
//!   static files, `/healthz`, `/api/v1/models` and the decoder weights, `/api/v1/auth`, and
//!   the classroom routes (authorised by the key in their path);
//! - private routes need a session cookie or the Bearer token ([`crate::auth`]), or, for
//!   the images, masks, volumes, embeddings and slices of a live teaching session's deck,
//!   that session's key in `X-Samscope-Classroom`.
//!
//! Also the `/api/v1/auth` routes: status, sign-in, sign-out.

use std::sync::Arc;

use api::{AuthStatus, SignIn};
use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::StreamExt;

use crate::error::ApiError;
use crate::http::blocking;
use crate::origin::is_state_changing;
use crate::state::AppState;

/// The request header that carries a classroom key for reads of its deck's content.
pub const CLASSROOM_HEADER: &str = "x-samscope-classroom";
/// Largest sign-in body.
const SIGN_IN_BYTES: usize = 1024;
/// Most bytes of a refused request's body read (and discarded) before the refusal is sent.
const DRAIN_BYTES: usize = 64 << 20;
/// Longest time spent reading a refused request's body.
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(5);
/// Largest slice answer read back to learn the slice's image id.
const SLICE_ANSWER_BYTES: usize = 64 << 10;

type Shared = Arc<AppState>;

/// Marks a request the access layer let through (route-level checks honour it).
#[derive(Debug, Clone, Copy)]
pub struct Admitted;

/// Route templates anyone may use, token or not.
const PUBLIC: &[&str] = &[
    "/healthz",
    "/api/v1/models",
    "/api/v1/models/{model}/decoder.safetensors",
    "/api/v1/auth",
    "/api/v1/auth/sign-in",
    "/api/v1/auth/sign-out",
];

/// Whether the route template `route` is public; `None` is the fallback (static files).
fn is_public(route: Option<&str>) -> bool {
    route.is_none_or(|r| PUBLIC.contains(&r) || r.starts_with("/api/v1/classroom/{key}"))
}

/// Content a classroom key may ask for, by id as written in the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target<'a> {
    Image(&'a str),
    Mask(&'a str),
    Volume(&'a str),
    /// `POST /api/v1/volumes/{id}/slices`: renders a slice of the volume.
    Slice(&'a str),
}

/// What a request of `method` on route template `route` and raw `path` reads, when a
/// classroom key may grant it.
fn target<'a>(method: &Method, route: &str, path: &'a str) -> Option<Target<'a>> {
    let id = path.split('/').nth(4)?;
    let read = *method == Method::GET || *method == Method::HEAD;
    match route {
        "/api/v1/images/{id}" | "/api/v1/images/{id}/embedding" if read => Some(Target::Image(id)),
        "/api/v1/masks/{id}" if read => Some(Target::Mask(id)),
        "/api/v1/volumes/{id}" if read => Some(Target::Volume(id)),
        "/api/v1/volumes/{id}/slices" if *method == Method::POST => Some(Target::Slice(id)),
        _ => None,
    }
}

/// The access layer (see the module docs).
pub async fn guard(
    State(state): State<Shared>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let access = &state.access;
    if is_state_changing(request.method())
        && let Err(refused) = access.origin.check(request.headers(), request.uri())
    {
        return Err(drained(request, refused).await);
    }
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string());
    if !access.token_required() || is_public(route.as_deref()) {
        return Ok(next.run(request).await);
    }
    match access.signed_in(request.headers()) {
        Ok(true) => {
            request.extensions_mut().insert(Admitted);
            return Ok(next.run(request).await);
        }
        Ok(false) => {}
        Err(refused) => return Err(drained(request, refused).await),
    }
    let key = request
        .headers()
        .get(CLASSROOM_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let (Some(key), Some(route)) = (key, route) {
        let path = request.uri().path().to_string();
        if let Some(target) = target(request.method(), &route, &path) {
            return classroom_read(&state, key, target, request, next).await;
        }
    }
    Err(drained(request, ApiError::Unauthorized).await)
}

/// Reads and discards what is left of a refused request's body (at most [`DRAIN_BYTES`],
/// for at most [`DRAIN_TIME`]) and hands back `refusal`: a browser still sending an upload
/// to a server that closed the connection unread sees the connection reset, not the 401 or
/// 403 that tells it to sign in.
async fn drained(request: Request, refusal: ApiError) -> ApiError {
    let mut body = request.into_body().into_data_stream();
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        let mut read = 0usize;
        while let Some(Ok(chunk)) = body.next().await {
            read += chunk.len();
            if read > DRAIN_BYTES {
                break;
            }
        }
    })
    .await;
    refusal
}

/// Serves `request` when `target` belongs to the deck of the live session `key` opens (or
/// is a slice the server rendered for that session); remembers the slices it renders.
async fn classroom_read(
    state: &Shared,
    key: String,
    target: Target<'_>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let worker = state.clone();
    let opened = match blocking(move || worker.teaching.open_key(&key)).await {
        Ok(Ok(opened)) => opened,
        Ok(Err(_)) => return Err(drained(request, ApiError::Unauthorized).await),
        Err(fault) => return Err(fault),
    };
    let session = opened.row.id.as_str();
    let cases = &opened.row.cases;
    let in_deck_volumes = |id: &str| {
        cases
            .iter()
            .any(|c| c.volume.as_ref().is_some_and(|v| v.id == id))
    };
    let granted = match target {
        Target::Image(id) => {
            cases.iter().any(|c| c.image == id) || state.access.has_slice(session, id)
        }
        Target::Mask(id) => cases.iter().any(|c| c.gt.as_deref() == Some(id)),
        Target::Volume(id) | Target::Slice(id) => in_deck_volumes(id),
    };
    if !granted {
        return Err(drained(request, ApiError::Unauthorized).await);
    }
    request.extensions_mut().insert(Admitted);
    let response = next.run(request).await;
    if !matches!(target, Target::Slice(_)) || response.status() != StatusCode::OK {
        return Ok(response);
    }
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, SLICE_ANSWER_BYTES)
        .await
        .map_err(|e| ApiError::internal(format!("reading the slice answer: {e}")))?;
    let slice: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::internal(format!("slice answer is not JSON: {e}")))?;
    if let Some(id) = slice.get("id").and_then(|v| v.as_str()) {
        state.access.record_slice(session, id.to_string());
    }
    Ok(Response::from_parts(parts, Body::from(bytes)))
}

/// The `/api/v1/auth` routes, to be merged into the API router.
pub fn router() -> Router<Shared> {
    Router::new()
        .route("/api/v1/auth", get(status))
        .route("/api/v1/auth/sign-in", post(sign_in))
        .route("/api/v1/auth/sign-out", post(sign_out))
        .layer(DefaultBodyLimit::max(SIGN_IN_BYTES))
}

/// `no-store`: answers about sessions are never cached.
fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /api/v1/auth`: `{"token_required", "signed_in"}`.
async fn status(State(state): State<Shared>, headers: HeaderMap) -> Result<Response, ApiError> {
    let token_required = state.access.token_required();
    let signed_in = token_required && state.access.signed_in(&headers)?;
    Ok(no_store(
        Json(AuthStatus {
            token_required,
            signed_in,
        })
        .into_response(),
    ))
}

/// `POST /api/v1/auth/sign-in` `{"token": …}`: 204 with the session cookie.
async fn sign_in(
    State(state): State<Shared>,
    body: Result<Json<SignIn>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(SignIn { token }) = body.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge(e.body_text()),
        _ => ApiError::BadRequest(e.body_text()),
    })?;
    let cookie = state.access.sign_in(&token)?;
    let cookie = HeaderValue::from_str(&cookie).map_err(|_| ApiError::internal("cookie header"))?;
    Ok(no_store(
        (StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response(),
    ))
}

/// `POST /api/v1/auth/sign-out`: 204; the session ends and the cookie expires.
async fn sign_out(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let expired = state.access.sign_out(&headers);
    no_store(
        (
            StatusCode::NO_CONTENT,
            [(header::SET_COOKIE, HeaderValue::from_static(expired))],
        )
            .into_response(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_of_deck_content_are_the_only_classroom_targets() {
        let id = "a".repeat(64);
        let image = format!("/api/v1/images/{id}");
        assert_eq!(
            target(&Method::GET, "/api/v1/images/{id}", &image),
            Some(Target::Image(&id))
        );
        assert_eq!(
            target(
                &Method::GET,
                "/api/v1/images/{id}/embedding",
                &format!("{image}/embedding")
            ),
            Some(Target::Image(&id))
        );
        assert_eq!(
            target(
                &Method::POST,
                "/api/v1/volumes/{id}/slices",
                &format!("/api/v1/volumes/{id}/slices")
            ),
            Some(Target::Slice(&id))
        );
        assert_eq!(
            target(&Method::POST, "/api/v1/images", "/api/v1/images"),
            None
        );
        assert_eq!(target(&Method::DELETE, "/api/v1/images/{id}", &image), None);
        assert_eq!(target(&Method::GET, "/api/v1/decks", "/api/v1/decks"), None);
        assert_eq!(
            target(&Method::GET, "/api/v1/decks/{id}", "/api/v1/decks/x"),
            None
        );
    }

    #[test]
    fn public_routes_are_listed_and_the_rest_is_private() {
        for public in [
            None,
            Some("/healthz"),
            Some("/api/v1/models"),
            Some("/api/v1/auth/sign-in"),
            Some("/api/v1/classroom/{key}/events"),
        ] {
            assert!(is_public(public), "{public:?}");
        }
        for private in [
            "/metrics",
            "/api/v1/images/{id}",
            "/api/v1/decks",
            "/api/v1/decks/{id}/export",
            "/api/v1/sessions",
            "/api/{*rest}",
        ] {
            assert!(!is_public(Some(private)), "{private}");
        }
    }
}
