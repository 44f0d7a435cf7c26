//! The router and its handlers: API v1 (see `docs/api.md`), health, metrics, and the
//! viewer bundle at `/`.

use std::path::Path as FsPath;
use std::sync::Arc;

use api::{DecoderInfo, ModelInfo, ModelList, UploadReply, Uploaded, WireDtype};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::handler::Handler;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use sam::export;
use sam::{RgbImage, embedding_codec};
use serde::Deserialize;
use tower_http::services::ServeDir;

use crate::embeddings::embedding_bytes;
use crate::error::{ApiError, echo};
use crate::http::{IMMUTABLE, blocking, body_error, conditional, image_id, not_modified};
use crate::image_id::{ImageId, PREPROCESSING_V1};
use crate::layers::{
    check_host, observe, require_token, security_headers, timeout, vary_on_encoding,
};
use crate::state::AppState;
use crate::store::weights_tag;
use crate::transfer::Coding;
use crate::upload_gate::{UploadGate, limit_uploads};

/// `Cache-Control` of content-addressed responses: the URL names the content, so a
/// browser may keep it for a year; `private` keeps scans out of shared caches.
/// `Cache-Control` of responses whose URL does not name the content.
const REVALIDATE: &str = "no-cache";
/// `Content-Type` of embeddings and decoder weights.
const BINARY: &str = "application/octet-stream";

/// The whole application: API routes, then the viewer bundle `web_dir` and the
/// `static_dir` files at `/` (first match wins), with the metrics, timeout and header
/// layers around everything.
pub fn router(
    state: Arc<AppState>,
    web_dir: Option<&FsPath>,
    static_dir: Option<&FsPath>,
) -> Router {
    let upload = post(upload_image)
        .layer(DefaultBodyLimit::max(state.limits.max_upload_bytes))
        .layer(from_fn_with_state(
            UploadGate::new(&state, state.limits.max_upload_bytes),
            limit_uploads,
        ))
        .route_layer(from_fn_with_state(state.clone(), require_token));
    let upload_mask = post(crate::masks::upload_mask)
        .layer(DefaultBodyLimit::max(state.limits.max_upload_bytes))
        .layer(from_fn_with_state(
            UploadGate::new(&state, state.limits.max_upload_bytes),
            limit_uploads,
        ))
        .route_layer(from_fn_with_state(state.clone(), require_token));
    let slices = post(crate::volumes::post_slice)
        .layer(DefaultBodyLimit::max(crate::volumes::SLICE_REQUEST_BYTES))
        .layer(from_fn_with_state(
            UploadGate::new(&state, crate::volumes::SLICE_REQUEST_BYTES),
            limit_uploads,
        ))
        .route_layer(from_fn_with_state(state.clone(), require_token));
    let api = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/v1/images", upload)
        .route("/api/v1/images/{id}", get(get_image))
        .route("/api/v1/masks", upload_mask)
        .route("/api/v1/masks/{id}", get(crate::masks::get_mask))
        .route("/api/v1/images/{id}/embedding", get(get_embedding))
        .route("/api/v1/volumes/{id}", get(crate::volumes::get_volume))
        .route("/api/v1/volumes/{id}/slices", slices)
        .route("/api/v1/models", get(list_models))
        .route(
            "/api/v1/models/{model}/decoder.safetensors",
            get(get_decoder),
        )
        .merge(crate::teaching_routes::router(&state))
        .merge(crate::access::router())
        .route("/api/{*rest}", any(not_found))
        .method_not_allowed_fallback(method_not_allowed);
    let not_found_service = not_found.with_state(state.clone());
    let app = match (web_dir, static_dir) {
        (None, None) => api.fallback(not_found),
        (Some(one), None) | (None, Some(one)) => {
            api.fallback_service(static_files(one).fallback(not_found_service))
        }
        (Some(bundle), Some(files)) => api.fallback_service(
            static_files(bundle).fallback(static_files(files).fallback(not_found_service)),
        ),
    };
    app.layer(from_fn_with_state(state.clone(), crate::access::guard))
        .layer(from_fn_with_state(state.clone(), timeout))
        .layer(from_fn_with_state(state.clone(), check_host))
        .layer(from_fn_with_state(state.clone(), observe))
        .layer(from_fn(security_headers))
        .layer(from_fn(vary_on_encoding))
        .with_state(state)
}

/// Files of `dir`, each served from its brotli or gzip copy (`name.br`, `name.gz`, made by
/// scripts/build-web.sh) when there is one and the client accepts that coding.
fn static_files(dir: &FsPath) -> ServeDir {
    ServeDir::new(dir).precompressed_br().precompressed_gzip()
}

async fn not_found() -> ApiError {
    ApiError::NotFound
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// `GET /healthz`: 200 while the encoder thread runs.
async fn healthz(State(state): State<Arc<AppState>>) -> Response {
    if state.encoder.is_alive() {
        Json(serde_json::json!({ "status": "ok" })).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "status": "encoder stopped" })),
        )
            .into_response()
    }
}

/// `GET /metrics`: Prometheus text.
async fn metrics(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(state.memory.used())
            + &state.store.usage.render()
            + &state.streams.render()
            + &state.receiving.render(),
    )
}

/// `POST /api/v1/images`: decode within the limits; a raster image is id'd by its pixels
/// and stored as PNG, a volume (DICOM, NIfTI, NRRD) is stored as samples + geometry
/// (`crate::volumes`). The uploaded bytes themselves are never kept.
async fn upload_image(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<UploadReply>, ApiError> {
    let body = body.map_err(|e| body_error(e, state.limits.max_upload_bytes))?;
    let reply = crate::http::decoding(&state, move |state| {
        match imaging::decode_scan(&body, &state.limits.imaging())? {
            imaging::Scan::Image(decoded) => store_image(state, decoded).map(UploadReply::Image),
            imaging::Scan::Volume(volume) => {
                let format = imaging::detect(&body)?;
                crate::volumes::store_upload(state, volume, format)
                    .map(|uploaded| UploadReply::Volume(Box::new(uploaded)))
            }
        }
    })
    .await?;
    state.metrics.record_upload();
    match &reply {
        UploadReply::Image(uploaded) => tracing::info!(
            image = %uploaded.id,
            width = uploaded.width,
            height = uploaded.height,
            "image stored"
        ),
        UploadReply::Volume(uploaded) => tracing::info!(
            volume = %uploaded.volume.id,
            dims = ?uploaded.volume.dims,
            "volume stored"
        ),
    }
    Ok(Json(reply))
}

/// Stores a decoded upload as PNG under its pixel id (blocking).
fn store_image(state: &AppState, decoded: imaging::DecodedImage) -> Result<Uploaded, ApiError> {
    let (width, height) = (decoded.width, decoded.height);
    let id = ImageId::of_pixels(PREPROCESSING_V1, width, height, &decoded.rgb);
    let image = RgbImage::new(width as usize, height as usize, decoded.rgb)
        .ok_or_else(|| ApiError::internal("decoded buffer does not match its size"))?;
    state
        .store
        .put_image(id, &image)
        .map_err(|e| ApiError::internal(format!("storing image {id}: {e}")))?;
    Ok(Uploaded {
        id: id.to_string(),
        width,
        height,
    })
}

/// `GET /api/v1/images/{id}`: the stored PNG.
async fn get_image(
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
    let png = blocking(move || worker.store.image_png(id, &worker.limits.imaging())).await?;
    match png {
        Ok(Some(png)) => conditional(&headers, &etag, IMMUTABLE, "image/png", Bytes::from(png)),
        Ok(None) => Err(ApiError::ImageNotFound(id)),
        Err(corrupt) => {
            tracing::error!(image = %id, problem = %corrupt, "damaged stored image removed");
            Err(ApiError::ImageNotFound(id))
        }
    }
}

/// Query of `GET /api/v1/images/{id}/embedding`.
#[derive(Debug, Deserialize)]
struct EmbeddingQuery {
    model: Option<String>,
    dtype: Option<String>,
}

/// `GET /api/v1/images/{id}/embedding?model=ID&dtype=f16|f32`: the wire format of
/// `sam::embedding_codec`.
async fn get_embedding(
    State(state): State<Arc<AppState>>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<EmbeddingQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = image_id(path)?;
    let Query(query) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let model = state.model(query.model.as_deref())?;
    let dtype = parse_dtype(query.dtype.as_deref())?;
    let etag = format!(
        "\"{id}.{}.{}.{}.v{}\"",
        model.config.id,
        weights_tag(&model.weights_sha256),
        dtype.as_str(),
        embedding_codec::FORMAT_VERSION
    );
    if not_modified(&headers, &etag) {
        return conditional(&headers, &etag, IMMUTABLE, BINARY, Bytes::new());
    }
    let bytes = embedding_bytes(&state, id, model, dtype).await?;
    conditional(&headers, &etag, IMMUTABLE, BINARY, bytes)
}

/// `GET /api/v1/models`: what the server runs and where the browser gets each decoder.
async fn list_models(State(state): State<Arc<AppState>>) -> Json<ModelList> {
    let models: Vec<ModelInfo> = state
        .models
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let e = m.config.embedding_size();
            ModelInfo {
                id: m.name.clone(),
                base: m.finetuned_from.map(|b| b.as_str().to_string()),
                default: i == 0,
                image_size: m.config.img_size,
                embedding_shape: [1, m.config.prompt_encoder.embed_dim, e, e],
                weights_sha256: m.weights_sha256.clone(),
                decoder: DecoderInfo {
                    url: format!("/api/v1/models/{}/decoder.safetensors", m.name),
                    planes_url: format!(
                        "/api/v1/models/{}/decoder.safetensors?layout=planes",
                        m.name
                    ),
                    bytes: m.decoder.bytes.len() as u64,
                    sha256: m.decoder.sha256.clone(),
                    dtype: WireDtype::F16,
                    format: export::FORMAT_VERSION.to_string(),
                },
                decoder_f32: DecoderInfo {
                    url: format!("/api/v1/models/{}/decoder.safetensors?dtype=f32", m.name),
                    planes_url: format!(
                        "/api/v1/models/{}/decoder.safetensors?dtype=f32&layout=planes",
                        m.name
                    ),
                    bytes: m.decoder.f32_bytes.len() as u64,
                    sha256: m.decoder.f32_sha256.clone(),
                    dtype: WireDtype::F32,
                    format: export::FORMAT_VERSION.to_string(),
                },
            }
        })
        .collect();
    Json(ModelList { models })
}

/// `GET /api/v1/models/{model}/decoder.safetensors`: decoder weights (f16 unless
/// `dtype=f32`); with `layout=planes`, as byte planes in the best coding the client accepts.
async fn get_decoder(
    State(state): State<Arc<AppState>>,
    Path(model): Path<String>,
    query: Result<Query<DecoderQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let entry = state.model(Some(&model))?;
    let decoder = &entry.decoder;
    let (bytes, sha256, planes) = match parse_dtype(query.dtype.as_deref())? {
        WireDtype::F16 => (&decoder.bytes, &decoder.sha256, &decoder.planes),
        WireDtype::F32 => (&decoder.f32_bytes, &decoder.f32_sha256, &decoder.f32_planes),
    };
    match query.layout.as_deref() {
        None | Some("file") => {
            let etag = format!("\"{sha256}\"");
            conditional(&headers, &etag, REVALIDATE, BINARY, bytes.clone())
        }
        Some("planes") => {
            let coding = Coding::negotiate(&headers);
            let etag = format!("\"{sha256}-planes-{}\"", coding.as_str());
            let body = if not_modified(&headers, &etag) {
                Bytes::new()
            } else {
                let planes = planes.clone();
                blocking(move || planes.encoded(coding)).await?
            };
            let mut response = conditional(&headers, &etag, REVALIDATE, BINARY, body)?;
            let response_headers = response.headers_mut();
            response_headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
            if let Some(encoding) = coding.content_encoding() {
                response_headers
                    .insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
            }
            Ok(response)
        }
        Some(other) => Err(ApiError::BadRequest(format!(
            "layout `{}`: use file (default) or planes",
            echo(other)
        ))),
    }
}

/// Query of `GET /api/v1/models/{model}/decoder.safetensors`.
#[derive(Debug, Deserialize)]
struct DecoderQuery {
    dtype: Option<String>,
    layout: Option<String>,
}

/// `dtype=f16|f32` (default f16).
fn parse_dtype(dtype: Option<&str>) -> Result<WireDtype, ApiError> {
    match dtype {
        None => Ok(WireDtype::F16),
        Some(text) => WireDtype::parse(text).ok_or_else(|| {
            ApiError::BadRequest(format!("dtype `{}`: use f16 (default) or f32", echo(text)))
        }),
    }
}
