//! The hooks the end-to-end tests and automation use, all here and wired once from
//! [`crate::ui::start`]:
//! - `window.samscopeState()`: the page's state as JSON text;
//! - `window.samscopeCheck(json)`: a promise of the worker's `checked` reply to a check
//!   request (decodes one prompt as the official predictor);
//! - `window.samscopeClass()`: the teaching session as JSON text (`null` outside one).

use wasm_bindgen::prelude::*;

use crate::js::{describe, now_ms, sha256_hex};
use crate::protocol::Request;
use crate::state::{Effect, Message, Shown};
use crate::ui::dom::{error_text, window};
use crate::ui::events::share_link;
use crate::ui::page::{Page, Shared, perform, run_update};

/// Exposes the hooks on `window`.
pub fn install(page: &Shared) {
    let state_page = page.clone();
    let state =
        Closure::<dyn Fn() -> JsValue>::new(move || JsValue::from_str(&state_json(&state_page)));
    let check_page = page.clone();
    let check = Closure::<dyn Fn(String) -> js_sys::Promise>::new(move |json: String| {
        let page = check_page.clone();
        js_sys::Promise::new(&mut |resolve, reject| check(&page, &json, resolve, reject))
    });
    let class_page = page.clone();
    let class = Closure::<dyn Fn() -> JsValue>::new(move || {
        let value = class_page
            .state
            .borrow()
            .class
            .as_ref()
            .map_or(serde_json::Value::Null, |c| c.state_json());
        JsValue::from_str(&value.to_string())
    });
    for (name, f) in [
        ("samscopeState", state.as_ref()),
        ("samscopeCheck", check.as_ref()),
        ("samscopeClass", class.as_ref()),
    ] {
        if let Err(e) = js_sys::Reflect::set(&window(), &JsValue::from_str(name), f) {
            crate::js::log(&format!("samscope: cannot expose {name}: {}", describe(&e)));
        }
    }
    state.forget();
    check.forget();
    class.forget();
}

/// `samscopeState()`: the state's JSON plus what only the page knows.
fn state_json(page: &Page) -> String {
    let state = page.state.borrow();
    let mut value = state.state_json();
    let mask = state.session.shown.as_ref().map(Shown::mask);
    value["mask_sha256"] = serde_json::json!(mask.map(|m| sha256_hex(&m.data)));
    value["error"] = serde_json::json!(error_text());
    value["link"] = serde_json::json!(share_link(&state));
    value["now_ms"] = serde_json::json!(now_ms());
    value.to_string()
}

fn check(page: &Shared, json: &str, resolve: js_sys::Function, reject: js_sys::Function) {
    let request: Result<Request, _> = serde_json::from_str(json);
    let message = match request {
        Ok(Request::Check {
            points,
            labels,
            bbox,
            multimask,
            ..
        }) => Message::Check {
            points,
            labels,
            bbox,
            multimask,
        },
        Ok(_) => {
            reject
                .call1(&JsValue::NULL, &JsValue::from_str("only check requests"))
                .ok();
            return;
        }
        Err(e) => {
            reject
                .call1(&JsValue::NULL, &JsValue::from_str(&e.to_string()))
                .ok();
            return;
        }
    };
    let effects = run_update(page, message);
    for effect in &effects {
        if let Effect::Post(Request::Check { seq, .. }) = effect {
            page.dom.borrow_mut().checks.insert(*seq, resolve.clone());
        }
    }
    perform(page, effects);
}

/// Sees each worker message first: a `checked` reply goes to its promise as it is (large
/// arrays stay JS) and is taken; a `failed` one with a pending check's `seq` rejects
/// nothing but resolves the promise with `{error}` (and still goes to `update`).
pub fn intercept(page: &Page, data: &JsValue) -> bool {
    let get = |key: &str| js_sys::Reflect::get(data, &JsValue::from_str(key)).ok();
    let kind = get("type").and_then(|t| t.as_string());
    let Some(seq) = get("seq").and_then(|s| s.as_f64()).map(|s| s as u32) else {
        return false;
    };
    match kind.as_deref() {
        Some("checked") => match page.dom.borrow_mut().checks.remove(&seq) {
            Some(resolve) => {
                resolve.call1(&JsValue::NULL, data).ok();
                true
            }
            None => false,
        },
        Some("failed") => {
            if let Some(resolve) = page.dom.borrow_mut().checks.remove(&seq) {
                let message = get("message")
                    .and_then(|m| m.as_string())
                    .unwrap_or_default();
                let error = js_sys::Object::new();
                js_sys::Reflect::set(
                    &error,
                    &JsValue::from_str("error"),
                    &JsValue::from_str(&message),
                )
                .ok();
                resolve.call1(&JsValue::NULL, &error).ok();
            }
            false
        }
        _ => false,
    }
}
