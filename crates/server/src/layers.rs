//! Middleware on the router: request metrics and access log, the request timeout, the
//! bearer token for writes, and response headers that keep other origins out.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::AppState;

/// Route label of requests no route matched (static files, 404s): never the raw path,
/// which would let clients grow the metrics without bound.
const FALLBACK_ROUTE: &str = "fallback";

/// Counts every response by route template and status, and logs method, route, status
/// and duration — never bodies, query strings or headers.
pub async fn observe(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(FALLBACK_ROUTE, MatchedPath::as_str)
        .to_string();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    state.metrics.record_request(&route, status);
    tracing::info!(
        %method,
        route,
        status,
        ms = start.elapsed().as_secs_f64() * 1e3,
        "request"
    );
    response
}

/// Answers 503 `timeout` when a request takes longer than the configured limit.
pub async fn timeout(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let limit = state.limits.request_timeout;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout {
            seconds: limit.as_secs().max(1),
        }
        .into_response(),
    }
}

/// Whether `host` (a `Host` header value) names this machine's loopback interface.
fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().map(|h| format!("[{h}]")),
        None => host.split(':').next().map(str::to_string),
    };
    matches!(name.as_deref(), Some("localhost" | "127.0.0.1" | "[::1]"))
}

/// On a loopback-only server, refuses requests whose `Host` is not a loopback name: a
/// page that rebinds its own DNS name to 127.0.0.1 could otherwise talk to the server as
/// if it were same-origin. (Off loopback the token guards writes instead.)
pub async fn check_host(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let host = request.headers().get(header::HOST).map(|h| h.to_str());
    if state.loopback_only && host.is_some_and(|h| !h.is_ok_and(is_loopback_host)) {
        return Err(ApiError::ForeignHost);
    }
    Ok(next.run(request).await)
}

/// When the server has a token, lets a write through only when the access layer admitted
/// it or it is signed in (session cookie or `Authorization: Bearer <token>`).
pub async fn require_token(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let admitted = request
        .extensions()
        .get::<crate::access::Admitted>()
        .is_some();
    if !admitted && !state.access.signed_in(request.headers())? {
        return Err(ApiError::Unauthorized);
    }
    Ok(next.run(request).await)
}

/// `nosniff` and a same-origin resource policy on every response: with no CORS headers
/// either, pages of other origins can neither read nor embed what the server returns.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// `Vary: Accept-Encoding` on every compressed response (the precompressed bundle files;
/// the weights set it themselves), so no shared cache hands brotli to a client that did not
/// ask for it.
pub async fn vary_on_encoding(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if headers.contains_key(header::CONTENT_ENCODING) && !headers.contains_key(header::VARY) {
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::is_loopback_host;

    #[test]
    fn only_loopback_names_pass_the_host_check() {
        for ok in [
            "localhost",
            "localhost:8080",
            "127.0.0.1:1",
            "[::1]:8080",
            "[::1]",
        ] {
            assert!(is_loopback_host(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:8080",
            "localhost.evil.example",
            "127.0.0.2",
            "[::2]:80",
            "",
        ] {
            assert!(!is_loopback_host(bad), "{bad}");
        }
    }
}
