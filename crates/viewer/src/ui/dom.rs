//! Small DOM helpers for the page.

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{
    Blob, BlobPropertyBag, Document, EventTarget, HtmlAnchorElement, HtmlElement, Window,
};

/// The page's window.
pub fn window() -> Window {
    web_sys::window().expect("the viewer runs in a window")
}

/// The page's document.
pub fn document() -> Document {
    window().document().expect("the window has a document")
}

/// The element with `id`, as `T`; the page ships every id this code uses.
pub fn by_id<T: JsCast>(id: &str) -> T {
    document()
        .get_element_by_id(id)
        .unwrap_or_else(|| panic!("index.html has no #{id}"))
        .dyn_into::<T>()
        .unwrap_or_else(|_| panic!("#{id} has an unexpected element type"))
}

/// Sets the text of element `id`.
pub fn set_text(id: &str, text: &str) {
    by_id::<HtmlElement>(id).set_text_content(Some(text));
}

/// Adds an event listener that lives as long as the page.
pub fn listen<E: JsCast + 'static>(
    target: &EventTarget,
    event: &str,
    mut handler: impl FnMut(E) + 'static,
) {
    let closure = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
        handler(e.unchecked_into::<E>());
    });
    target
        .add_event_listener_with_callback(event, closure.as_ref().unchecked_ref())
        .expect("adding an event listener");
    closure.forget();
}

/// Shows `message` in the error banner (empty hides it).
pub fn show_error(message: &str) {
    let banner = by_id::<HtmlElement>("error");
    banner.set_text_content(Some(message));
    banner.set_hidden(message.is_empty());
    if !message.is_empty() {
        web_sys::console::error_1(&JsValue::from_str(&format!("samscope: {message}")));
    }
}

/// Offers `bytes` as a download named `name`.
pub fn download(name: &str, bytes: &[u8], mime: &str) -> Result<(), JsValue> {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let options = BlobPropertyBag::new();
    options.set_type(mime);
    let blob = Blob::new_with_u8_array_sequence_and_options(&parts, &options)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)?;
    let anchor: HtmlAnchorElement = document().create_element("a")?.dyn_into()?;
    anchor.set_href(&url);
    anchor.set_download(name);
    anchor.click();
    web_sys::Url::revoke_object_url(&url)?;
    Ok(())
}

/// Resolves after `ms` milliseconds (`setTimeout`).
pub async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        let _ = window().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// The error banner's text (empty when hidden).
pub fn error_text() -> String {
    let banner = by_id::<HtmlElement>("error");
    if banner.hidden() {
        String::new()
    } else {
        banner.text_content().unwrap_or_default()
    }
}

/// The bytes of the file chosen in `<input type=file id=input_id>`, if any.
pub async fn file_bytes(input_id: &str) -> Option<Vec<u8>> {
    let input: web_sys::HtmlInputElement = by_id(input_id);
    let file = input.files()?.get(0)?;
    let buffer = wasm_bindgen_futures::JsFuture::from(file.array_buffer())
        .await
        .ok()?;
    Some(js_sys::Uint8Array::new(&buffer).to_vec())
}
