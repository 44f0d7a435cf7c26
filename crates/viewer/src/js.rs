//! Browser helpers shared by the page and the worker (both scopes have `fetch`,
//! `performance` and `caches` on their global object).

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

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

/// How the page signs in: `wait` shows its sign-in panel and resolves to `true` once
/// signed in (the request is then sent), `false` when the person gave up; `needed` says
/// the server wants a token this browser has not given yet.
#[derive(Clone)]
pub struct SignIn {
    /// The server has a token and this browser is not signed in.
    pub needed: Rc<dyn Fn() -> bool>,
    /// Waits for the person to sign in.
    pub wait: Rc<dyn Fn() -> Pin<Box<dyn Future<Output = bool>>>>,
}

thread_local! {
    /// Set by the page ([`set_sign_in`]); the worker has none (its reads are public or
    /// made after the page signed in).
    static SIGN_IN: RefCell<Option<SignIn>> = const { RefCell::new(None) };
    /// The teaching session's key on a class page ([`set_classroom_key`]).
    static CLASSROOM_KEY: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// The header a class page names its session's key in: it grants reads of that
/// session's images, masks and volumes to a browser that is not signed in.
pub const CLASSROOM_HEADER: &str = "X-Samscope-Classroom";

/// Installs what a 401 waits for (the page's sign-in panel).
pub fn set_sign_in(sign_in: SignIn) {
    SIGN_IN.with_borrow_mut(|s| *s = Some(sign_in));
}

/// From now on every request [`get_bytes`] and [`send`] make names `key` in
/// [`CLASSROOM_HEADER`] (`None`: no more).
pub fn set_classroom_key(key: Option<String>) {
    CLASSROOM_KEY.with_borrow_mut(|k| *k = key);
}

/// The class page's key, if any.
pub fn classroom_key() -> Option<String> {
    CLASSROOM_KEY.with_borrow(Clone::clone)
}

/// A request for `path`: `method`, an optional body (`json`: sent as `application/json`),
/// the classroom key when there is one. Credentials: the default `same-origin`, so the
/// session cookie goes with every request to this server and to no other.
pub fn request(
    method: &str,
    path: &str,
    body: Option<&JsValue>,
    json: bool,
) -> Result<Request, String> {
    let init = RequestInit::new();
    init.set_method(method);
    if let Some(body) = body {
        init.set_body(body);
    }
    let headers = web_sys::Headers::new().map_err(|e| describe(&e))?;
    if json {
        headers
            .set("Content-Type", "application/json")
            .map_err(|e| describe(&e))?;
    }
    if let Some(key) = classroom_key() {
        headers
            .set(CLASSROOM_HEADER, &key)
            .map_err(|e| describe(&e))?;
    }
    init.set_headers(&headers);
    Request::new_with_str_and_init(path, &init).map_err(|e| describe(&e))
}

/// Sends the request `make` builds; on 401 waits for the page's sign-in and sends a new
/// one once. A request with a body (`uploads`) waits for the sign-in first when the page
/// already knows it is needed: the server would refuse it unread, and a large upload is
/// not worth sending twice (a class page's writes, which its key authorises, go as they
/// are). A non-2xx status is an error with the server's reason.
async fn fetch_ok(
    make: impl Fn() -> Result<Request, String>,
    uploads: bool,
) -> Result<Response, String> {
    let sign_in = SIGN_IN.with_borrow(Clone::clone);
    if uploads
        && classroom_key().is_none()
        && let Some(sign_in) = &sign_in
        && (sign_in.needed)()
        && !(sign_in.wait)().await
    {
        return Err("not signed in: this server needs its access token".into());
    }
    let mut response = fetch(&make()?).await?;
    if response.status() == 401
        && let Some(sign_in) = &sign_in
        && (sign_in.wait)().await
    {
        response = fetch(&make()?).await?;
    }
    if !response.ok() {
        return Err(error_detail(&response).await);
    }
    Ok(response)
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
    let response = fetch_ok(|| request("GET", url, None, false), false).await?;
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
    let response = fetch_ok(|| request(method, path, body, json), body.is_some()).await?;
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
