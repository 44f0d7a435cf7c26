//! Browser helpers shared by the page and the worker (both scopes have `fetch`,
//! `performance` and `caches` on their global object).

use js_sys::{Function, Promise, Reflect, Uint8Array};
use sha2::{Digest, Sha256};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit, Response};

/// A JS error or value as a sentence.
pub fn describe(value: &JsValue) -> String {
    if let Some(err) = value.dyn_ref::<js_sys::Error>() {
        return String::from(err.message());
    }
    value.as_string().unwrap_or_else(|| format!("{value:?}"))
}

fn global_property(name: &str) -> Result<JsValue, String> {
    Reflect::get(&js_sys::global(), &JsValue::from_str(name))
        .map_err(|e| format!("{name}: {}", describe(&e)))
}

/// Milliseconds from `performance.now()`.
pub fn now_ms() -> f64 {
    global_property("performance")
        .ok()
        .and_then(|p| {
            let now = Reflect::get(&p, &JsValue::from_str("now")).ok()?;
            now.dyn_into::<Function>().ok()?.call0(&p).ok()?.as_f64()
        })
        .unwrap_or(0.0)
}

/// Lower-case hex sha256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Calls the global `fetch`.
pub async fn fetch(request: &Request) -> Result<Response, String> {
    let fetch: Function = global_property("fetch")?
        .dyn_into()
        .map_err(|_| "this browser has no fetch".to_string())?;
    let promise: Promise = fetch
        .call1(&js_sys::global(), request)
        .map_err(|e| describe(&e))?
        .dyn_into()
        .map_err(|_| "fetch did not return a promise".to_string())?;
    JsFuture::from(promise)
        .await
        .map_err(|e| format!("network error: {}", describe(&e)))?
        .dyn_into()
        .map_err(|_| "fetch did not return a response".to_string())
}

/// A `GET` request for `url`.
pub fn get_request(url: &str) -> Result<Request, String> {
    let init = RequestInit::new();
    init.set_method("GET");
    Request::new_with_str_and_init(url, &init).map_err(|e| describe(&e))
}

/// The body of `response` as bytes.
pub async fn body_bytes(response: &Response) -> Result<Vec<u8>, String> {
    let buffer = JsFuture::from(response.array_buffer().map_err(|e| describe(&e))?)
        .await
        .map_err(|e| describe(&e))?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

/// The `detail` of a server JSON error, or the status line.
pub async fn error_detail(response: &Response) -> String {
    let status = format!("HTTP {} {}", response.status(), response.status_text());
    let Ok(bytes) = body_bytes(response).await else {
        return status;
    };
    serde_json::from_slice::<api::ErrorBody>(&bytes)
        .map_or(status.clone(), |body| format!("{status}: {}", body.detail))
}

/// `GET url` → bytes; a non-2xx status is an error with the server's reason.
pub async fn get_bytes(url: &str) -> Result<Vec<u8>, String> {
    let response = fetch(&get_request(url)?).await?;
    if !response.ok() {
        return Err(error_detail(&response).await);
    }
    body_bytes(&response).await
}

/// `method path` with an optional body (`json`: sent as `application/json`) → the reply's
/// bytes; a non-2xx status is an error with the server's reason.
pub async fn send(
    method: &str,
    path: &str,
    body: Option<&JsValue>,
    json: bool,
) -> Result<Vec<u8>, String> {
    let init = RequestInit::new();
    init.set_method(method);
    if let Some(body) = body {
        init.set_body(body);
    }
    if json {
        let headers = web_sys::Headers::new().map_err(|e| describe(&e))?;
        headers
            .set("Content-Type", "application/json")
            .map_err(|e| describe(&e))?;
        init.set_headers(&headers);
    }
    let request = Request::new_with_str_and_init(path, &init).map_err(|e| describe(&e))?;
    let response = fetch(&request).await?;
    if !response.ok() {
        return Err(error_detail(&response).await);
    }
    body_bytes(&response).await
}

/// The Cache API's `caches`, when the browser offers it (secure contexts only).
#[cfg(feature = "worker")]
pub fn cache_storage() -> Option<web_sys::CacheStorage> {
    global_property("caches")
        .ok()
        .filter(|c| !c.is_undefined() && !c.is_null())
        .and_then(|c| c.dyn_into().ok())
}

/// Logs to the console.
pub fn log(text: &str) {
    web_sys::console::log_1(&JsValue::from_str(text));
}
