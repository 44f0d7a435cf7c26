//! The server's two error types: [`ApiError`] (one HTTP failure, mapped to a status and a
//! JSON body in one place) and [`ServerError`] (why the server could not start).

use std::net::SocketAddr;
use std::path::PathBuf;

use api::ErrorBody;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use imaging::ImagingError;
use teaching::{ContentKind, TeachingError};

use crate::image_id::{BadId, ImageId, VolumeId};

/// Longest piece of client input echoed back in an error.
const ECHO_MAX: usize = 64;

/// `text` cut to [`ECHO_MAX`] characters, for echoing client input safely.
pub(crate) fn echo(text: &str) -> String {
    let mut out: String = text.chars().take(ECHO_MAX).collect();
    if text.chars().count() > ECHO_MAX {
        out.push('…');
    }
    out
}

/// Every way a request can fail. The response is `{ "error": code, "detail": message }`
/// with the status of [`ApiError::status`].
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// 400: the upload has no bytes.
    #[error("the request body is empty; send the image file's bytes as the body")]
    EmptyBody,
    /// 400: a query parameter or header is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// 400: the path does not hold a valid image id.
    #[error("image ids are 64 lower-case hexadecimal characters (a sha256)")]
    BadId,
    /// 401: the server has a token and the request carried neither a live session cookie
    /// nor the token.
    #[error(
        "this server needs signing in: POST the token to /api/v1/auth/sign-in, or send `Authorization: Bearer <token>`"
    )]
    Unauthorized,
    /// 403: a loopback-only server got a request for another host name (DNS rebinding).
    #[error("this server only answers requests addressed to localhost, 127.0.0.1 or [::1]")]
    ForeignHost,
    /// 403: a state-changing request came from a page of another origin.
    #[error(
        "this request came from a page of another site (Origin / Sec-Fetch-Site); the server only accepts changes from its own pages or from API clients"
    )]
    CrossSite,
    /// 429: too many wrong tokens lately; retry after a second.
    #[error("too many wrong tokens in the last second; retry in 1 s")]
    TooManyAttempts,
    /// 404: no image with this id was uploaded (or its stored copy was damaged).
    #[error("no image with id {0}; upload it with POST /api/v1/images")]
    ImageNotFound(ImageId),
    /// 404: no ground-truth mask with this id was uploaded.
    #[error("no mask with id {0}; upload it with POST /api/v1/masks")]
    MaskNotFound(ImageId),
    /// 404: no volume with this id was uploaded (or its stored copy was damaged).
    #[error("no volume with id {0}; upload the scan with POST /api/v1/images")]
    VolumeNotFound(VolumeId),
    /// 404: the model is unknown or not loaded on this server.
    #[error("{0}")]
    UnknownModel(String),
    /// A teaching failure (404 `deck_not_found`, 404 `session_not_found`, 410
    /// `session_expired`, 403 `instructor_only`, 409 `session_full`, 422 `invalid`, 404
    /// `unknown_model`); its message is the detail.
    #[error(transparent)]
    Teaching(TeachingError),
    /// 404: no such route.
    #[error("no such endpoint; see docs/api.md")]
    NotFound,
    /// 405: the route exists but not with this method.
    #[error("this endpoint does not accept that method; see docs/api.md")]
    MethodNotAllowed,
    /// 413: the upload or the decoded image is over a limit.
    #[error("{0}")]
    TooLarge(String),
    /// 415: the body is not an image format the server reads.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422: the format is recognised but the content is broken.
    #[error("{0}")]
    Unprocessable(String),
    /// 503: a shared resource is full (the encoder queue, the decode or the receive
    /// memory budget); retry after the given number of seconds.
    #[error("{what} is full; retry in {retry_after_s} s")]
    Busy {
        /// What is full, as the sentence's subject (e.g. "the encoder queue").
        what: &'static str,
        /// Value of the `Retry-After` header.
        retry_after_s: u64,
    },
    /// 503: the request took longer than the server's timeout.
    #[error(
        "the request took longer than {seconds} s; retry (a running encoder job keeps going and its result is cached)"
    )]
    Timeout {
        /// The timeout in seconds.
        seconds: u64,
    },
    /// 500: a server-side failure; the detail is logged, not sent.
    #[error("{0}")]
    Internal(String),
    /// 408: the request body did not arrive within the body timeout.
    #[error("the request body did not arrive within {seconds} s; send it again on a faster link")]
    BodyTimeout {
        /// The timeout in seconds.
        seconds: u64,
    },
    /// 503: too many event streams are open (on the server or on this session).
    #[error("{0}; retry later")]
    TooManyStreams(String),
}

impl ApiError {
    /// A server-side failure with a detail for the log.
    pub fn internal(detail: impl Into<String>) -> Self {
        ApiError::Internal(detail.into())
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::EmptyBody | ApiError::BadRequest(_) | ApiError::BadId => {
                StatusCode::BAD_REQUEST
            }
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::ForeignHost | ApiError::CrossSite => StatusCode::FORBIDDEN,
            ApiError::TooManyAttempts => StatusCode::TOO_MANY_REQUESTS,
            ApiError::ImageNotFound(_)
            | ApiError::MaskNotFound(_)
            | ApiError::VolumeNotFound(_)
            | ApiError::UnknownModel(_)
            | ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Teaching(e) => teaching_status(e),
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Busy { .. } | ApiError::Timeout { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            ApiError::TooManyStreams(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The stable machine-readable code in the `error` field.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::EmptyBody => "empty_body",
            ApiError::BadRequest(_) => "bad_request",
            ApiError::BadId => "bad_id",
            ApiError::Unauthorized => "unauthorized",
            ApiError::ForeignHost => "foreign_host",
            ApiError::CrossSite => "cross_site",
            ApiError::TooManyAttempts => "too_many_attempts",
            ApiError::ImageNotFound(_) => "image_not_found",
            ApiError::MaskNotFound(_) => "mask_not_found",
            ApiError::VolumeNotFound(_) => "volume_not_found",
            ApiError::UnknownModel(_) => "unknown_model",
            ApiError::Teaching(e) => teaching_code(e),
            ApiError::NotFound => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::TooLarge(_) => "too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::Unprocessable(_) => "unprocessable_image",
            ApiError::Busy { .. } => "busy",
            ApiError::Timeout { .. } => "timeout",
            ApiError::Internal(_) => "internal",
            ApiError::BodyTimeout { .. } => "body_timeout",
            ApiError::TooManyStreams(_) => "too_many_streams",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let detail = match &self {
            ApiError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                "internal error; the server log has the details".to_string()
            }
            other => other.to_string(),
        };
        let body = ErrorBody {
            error: self.code().to_string(),
            detail,
        };
        let mut response = (self.status(), Json(body)).into_response();
        let headers = response.headers_mut();
        match &self {
            ApiError::Busy { retry_after_s, .. } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_s));
            }
            ApiError::Timeout { .. } | ApiError::TooManyAttempts => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(1u64));
            }
            ApiError::Unauthorized => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            ApiError::BodyTimeout { .. } => {
                // The rest of the body is not read: the connection cannot carry another
                // request.
                headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            ApiError::TooManyStreams(_) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(5u64));
            }
            _ => {}
        }
        response
    }
}

impl From<ImagingError> for ApiError {
    fn from(err: ImagingError) -> Self {
        match err {
            ImagingError::Empty => ApiError::EmptyBody,
            ImagingError::UnsupportedFormat(_) | ImagingError::Unsupported(..) => {
                ApiError::UnsupportedMediaType(err.to_string())
            }
            ImagingError::BadRequest(_) => ApiError::BadRequest(err.to_string()),
            ImagingError::Corrupt(..) | ImagingError::NoPixels => {
                ApiError::Unprocessable(err.to_string())
            }
            ImagingError::TooLarge(_) => ApiError::TooLarge(err.to_string()),
        }
    }
}

impl From<BadId> for ApiError {
    fn from(_: BadId) -> Self {
        ApiError::BadId
    }
}

/// Teaching's failures as HTTP. Content a deck names but the store lost answers as for
/// any other request (404 `image_not_found`, …); a database or store fault is internal.
impl From<TeachingError> for ApiError {
    fn from(err: TeachingError) -> Self {
        match err {
            TeachingError::Missing { kind, ref id } => {
                let missing = match kind {
                    ContentKind::Image => ImageId::parse(id).map(ApiError::ImageNotFound),
                    ContentKind::Mask => ImageId::parse(id).map(ApiError::MaskNotFound),
                    ContentKind::Volume => VolumeId::parse(id).map(ApiError::VolumeNotFound),
                };
                missing.unwrap_or_else(|_| ApiError::internal(err.to_string()))
            }
            TeachingError::NewerDatabase { .. } | TeachingError::Storage(_) => {
                ApiError::internal(err.to_string())
            }
            other => ApiError::Teaching(other),
        }
    }
}

/// The status of a teaching failure.
fn teaching_status(err: &TeachingError) -> StatusCode {
    match err {
        TeachingError::DeckNotFound(_)
        | TeachingError::SessionNotFound
        | TeachingError::UnknownModel(_)
        | TeachingError::Missing { .. } => StatusCode::NOT_FOUND,
        TeachingError::SessionExpired => StatusCode::GONE,
        TeachingError::InstructorOnly => StatusCode::FORBIDDEN,
        TeachingError::SessionFull(_) => StatusCode::CONFLICT,
        TeachingError::Invalid(_)
        | TeachingError::NotStored { .. }
        | TeachingError::BadDeckFile(_) => StatusCode::UNPROCESSABLE_ENTITY,
        TeachingError::NewerDatabase { .. } | TeachingError::Storage(_) => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

/// The `error` code of a teaching failure.
fn teaching_code(err: &TeachingError) -> &'static str {
    match err {
        TeachingError::DeckNotFound(_) => "deck_not_found",
        TeachingError::SessionNotFound => "session_not_found",
        TeachingError::SessionExpired => "session_expired",
        TeachingError::InstructorOnly => "instructor_only",
        TeachingError::SessionFull(_) => "session_full",
        TeachingError::UnknownModel(_) => "unknown_model",
        TeachingError::Invalid(_)
        | TeachingError::NotStored { .. }
        | TeachingError::BadDeckFile(_) => "invalid",
        TeachingError::Missing { kind, .. } => match kind {
            ContentKind::Image => "image_not_found",
            ContentKind::Mask => "mask_not_found",
            ContentKind::Volume => "volume_not_found",
        },
        TeachingError::NewerDatabase { .. } | TeachingError::Storage(_) => "internal",
    }
}

/// Why the server did not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A non-loopback address without a token.
    #[error(
        "--addr {addr} is reachable from other machines; give a token (--token-file PATH, $SAMSCOPE_TOKEN or --token) so that using the server needs signing in, or bind 127.0.0.1"
    )]
    Insecure {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// The token is empty or has characters a header cannot carry.
    #[error("--token must be non-empty visible ASCII without spaces")]
    BadToken,
    /// The token is too short to resist guessing.
    #[error("--token has {chars} characters; use at least {min} (e.g. `openssl rand -hex 16`)")]
    ShortToken {
        /// Its length.
        chars: usize,
        /// The least accepted.
        min: usize,
    },
    /// `--token-file` could not be used.
    #[error("--token-file {}: {problem}", path.display())]
    TokenFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// `--trust-forwarded` without a token: behind a proxy the server is reachable from
    /// other machines.
    #[error(
        "--trust-forwarded means a reverse proxy brings requests from other machines; give --token TOKEN (or --token-file) too"
    )]
    ForwardedWithoutToken,
    /// The data directory could not be created or written.
    #[error("data directory {}: {source}", path.display())]
    DataDir {
        /// The directory or file concerned.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A model's weights id is not a sha256 in hex.
    #[error(
        "the weights id of `{model}` must be the checkpoint's sha256 (64 lower-case hex characters)"
    )]
    BadWeightsId {
        /// The model.
        model: sam::ModelId,
    },
    /// No model was given.
    #[error("the server needs at least one model")]
    NoModel,
    /// The decoder of a model could not be exported for the browser.
    #[error("exporting the decoder of `{model}`: {source}")]
    Export {
        /// The model.
        model: sam::ModelId,
        /// Why.
        source: sam::SamError,
    },
    /// A fine-tuned decoder cannot be listed (`--finetuned`).
    #[error("fine-tuned model `{name}`: {problem}")]
    Finetuned {
        /// Its name.
        name: String,
        /// What is wrong.
        problem: String,
    },
    /// The TLS certificate or key cannot be used.
    #[error("TLS {}: {problem}", path.display())]
    Tls {
        /// The file or folder concerned.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// A non-loopback address served over plain HTTP without `--insecure-http`.
    #[error(
        "--addr {addr} over plain HTTP: browsers there get no WebGPU, no Cache API and drop the Secure session cookie; add --tls-self-signed NAME (or --tls-cert/--tls-key), or put a TLS proxy in front on 127.0.0.1 with --trust-forwarded; --insecure-http if you really mean it"
    )]
    PlainHttp {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The async runtime, encoder thread or accept loop failed.
    #[error("server runtime: {0}")]
    Runtime(std::io::Error),
}
