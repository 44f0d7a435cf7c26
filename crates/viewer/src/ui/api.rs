//! The server's API v1 as the page uses it (docs/api.md).

use ::api::ModelList;
pub use ::api::{DecoderInfo, ModelInfo, Uploaded};
use serde::Deserialize;
use wasm_bindgen::JsValue;

use crate::js::{get_bytes, send};
use crate::protocol::Wire;
use crate::volume::{SliceInfo, SliceView, VolumeInfo};

/// `GET /api/v1/models`.
pub async fn models() -> Result<Vec<ModelInfo>, String> {
    let bytes = get_bytes("/api/v1/models").await?;
    let models: ModelList =
        serde_json::from_slice(&bytes).map_err(|e| format!("model list: {e}"))?;
    if models.models.is_empty() {
        return Err("the server runs no model".into());
    }
    Ok(models.models)
}

/// `POST` `body` to `path`; the reply's bytes (a non-2xx status is an error with the
/// server's reason).
async fn post(path: &str, body: JsValue, json: bool) -> Result<Vec<u8>, String> {
    send("POST", path, Some(&body), json).await
}

/// `POST` `bytes` to `path` (`/api/v1/images` or `/api/v1/masks`).
pub async fn upload(path: &str, bytes: &[u8]) -> Result<Uploaded, String> {
    let body = JsValue::from(js_sys::Uint8Array::from(bytes));
    let reply = post(path, body, false).await?;
    serde_json::from_slice(&reply).map_err(|e| format!("upload reply: {e}"))
}

/// What `POST /api/v1/images` made of a scan.
#[derive(Debug, Clone)]
pub enum Scan {
    /// A picture (PNG, JPEG, TIFF, PNM), stored as one image.
    Image(Uploaded),
    /// A volume (DICOM, NIfTI, NRRD, MetaImage): slices are rendered on request.
    Volume(Box<VolumeInfo>),
}

/// Uploads a scan: an image, or a volume and its description.
pub async fn upload_scan(bytes: &[u8]) -> Result<Scan, String> {
    let body = JsValue::from(js_sys::Uint8Array::from(bytes));
    let reply = post("/api/v1/images", body, false).await?;
    let value: serde_json::Value =
        serde_json::from_slice(&reply).map_err(|e| format!("upload reply: {e}"))?;
    if value.get("kind").and_then(|k| k.as_str()) == Some("volume") {
        let info = serde_json::from_value(value["volume"].clone())
            .map_err(|e| format!("volume description: {e}"))?;
        return Ok(Scan::Volume(Box::new(info)));
    }
    serde_json::from_value(value)
        .map(Scan::Image)
        .map_err(|e| format!("upload reply: {e}"))
}

/// `GET /api/v1/volumes/{id}`.
pub async fn volume(id: &str) -> Result<VolumeInfo, String> {
    let bytes = get_bytes(&format!("/api/v1/volumes/{id}")).await?;
    serde_json::from_slice(&bytes).map_err(|e| format!("volume description: {e}"))
}

/// `POST /api/v1/volumes/{id}/slices`: renders `view` and stores it as an image.
pub async fn slice(view: &SliceView) -> Result<SliceInfo, String> {
    let path = format!("/api/v1/volumes/{}/slices", view.volume);
    let reply = post(&path, JsValue::from_str(&view.request_body()), true).await?;
    serde_json::from_slice(&reply).map_err(|e| format!("slice reply: {e}"))
}

/// URL of an image's embedding.
pub fn embedding_url(image: &str, model: &str, wire: Wire) -> String {
    format!(
        "/api/v1/images/{image}/embedding?model={model}&dtype={}",
        wire.as_str()
    )
}

/// URL of a stored image.
pub fn image_url(image: &str) -> String {
    format!("/api/v1/images/{image}")
}

/// URL of a stored ground-truth mask.
pub fn mask_url(mask: &str) -> String {
    format!("/api/v1/masks/{mask}")
}

/// A demo scan the server ships (`/demo/demos.json`).
#[derive(Debug, Clone, Deserialize)]
pub struct Demo {
    /// What it shows.
    pub name: String,
    /// The scan's URL.
    pub image: String,
    /// Its ground truth's URL.
    #[serde(default)]
    pub mask: Option<String>,
}

/// The demo list; empty when the server ships none.
pub async fn demos() -> Vec<Demo> {
    match get_bytes("/demo/demos.json").await {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
        Err(_) => Vec::new(),
    }
}
