//! The server's API v1 as the page uses it (docs/api.md).

use serde::Deserialize;
use wasm_bindgen::JsValue;
use web_sys::{Request, RequestInit};

use crate::js::{body_bytes, describe, error_detail, fetch, get_bytes};
use crate::protocol::Wire;

/// One downloadable decoder of a model.
#[derive(Debug, Clone, Deserialize)]
pub struct DecoderInfo {
    /// Weights URL.
    pub url: String,
    /// Size in bytes.
    pub bytes: u64,
    /// sha256 of the file.
    pub sha256: String,
}

/// A model the server runs.
#[derive(Debug, Clone, Deserialize)]
pub struct ModelInfo {
    /// Model id.
    pub id: String,
    /// The server's default model.
    #[serde(default)]
    pub default: bool,
    /// For a fine-tuned decoder: the model whose architecture and embeddings it uses.
    #[serde(default)]
    pub base: Option<String>,
    /// f16 decoder weights.
    pub decoder: DecoderInfo,
    /// f32 decoder weights, when the server offers them.
    #[serde(default)]
    pub decoder_f32: Option<DecoderInfo>,
}

impl ModelInfo {
    /// The decoder for `wire`.
    pub fn decoder_for(&self, wire: Wire) -> Result<&DecoderInfo, String> {
        match wire {
            Wire::F16 => Ok(&self.decoder),
            Wire::F32 => self
                .decoder_f32
                .as_ref()
                .ok_or_else(|| format!("the server offers no f32 decoder for `{}`", self.id)),
        }
    }
}

#[derive(Deserialize)]
struct Models {
    models: Vec<ModelInfo>,
}

/// `GET /api/v1/models`.
pub async fn models() -> Result<Vec<ModelInfo>, String> {
    let bytes = get_bytes("/api/v1/models").await?;
    let models: Models = serde_json::from_slice(&bytes).map_err(|e| format!("model list: {e}"))?;
    if models.models.is_empty() {
        return Err("the server runs no model".into());
    }
    Ok(models.models)
}

/// What an upload returned.
#[derive(Debug, Clone, Deserialize)]
pub struct Uploaded {
    /// Content id.
    pub id: String,
    /// Width, pixels.
    pub width: u32,
    /// Height, pixels.
    pub height: u32,
}

/// `POST` `bytes` to `path` (`/api/v1/images` or `/api/v1/masks`).
pub async fn upload(path: &str, bytes: &[u8]) -> Result<Uploaded, String> {
    let init = RequestInit::new();
    init.set_method("POST");
    let body = js_sys::Uint8Array::from(bytes);
    init.set_body(&JsValue::from(body));
    let request = Request::new_with_str_and_init(path, &init).map_err(|e| describe(&e))?;
    let response = fetch(&request).await?;
    if !response.ok() {
        return Err(error_detail(&response).await);
    }
    let bytes = body_bytes(&response).await?;
    serde_json::from_slice(&bytes).map_err(|e| format!("upload reply: {e}"))
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
