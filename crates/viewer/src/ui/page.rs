//! The running page: the [`State`] and the browser objects it is drawn with, the one
//! `dispatch` that runs [`update`] and performs its effects, and the worker link.

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::spawn_local;
use web_sys::{HtmlCanvasElement, MessageEvent, Worker};

use crate::js::describe;
use crate::protocol::{BackendChoice, Reply, Request, WeightsLayout, Wire};
use crate::state::{Effect, Message, Part, State, update};
use crate::ui::api;
use crate::ui::commands::{self, Outcome};
use crate::ui::dom::{by_id, set_text, show_error, window};
use crate::ui::handles::Dom;
use crate::ui::paint;

/// The page, shared by every event handler.
pub type Shared = Rc<Page>;

/// State plus browser objects.
pub struct Page {
    /// Everything the page knows; changed only by [`dispatch`].
    pub state: RefCell<State>,
    /// What it is drawn with.
    pub dom: RefCell<Dom>,
}

/// Sends `request` to the worker.
pub fn post(page: &Page, request: &Request) {
    let Some(worker) = page.dom.borrow().worker.clone() else {
        return;
    };
    let serializer = serde_wasm_bindgen::Serializer::new().serialize_maps_as_objects(true);
    match serde::Serialize::serialize(request, &serializer) {
        Ok(value) => {
            if let Err(e) = worker.post_message(&value) {
                show_error(&format!("the decoder worker is gone: {}", describe(&e)));
            }
        }
        Err(e) => show_error(&format!("internal: a request did not serialise: {e}")),
    }
}

/// Creates the page state (from the page's query) and the worker.
pub fn create() -> Result<Shared, String> {
    let query = window().location().search().unwrap_or_default();
    let param = |key: &str| {
        query
            .trim_start_matches('?')
            .split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{key}=")).map(String::from))
    };
    let backend_choice = match param("backend").as_deref() {
        Some("cpu") => BackendChoice::Cpu,
        Some("webgpu") => BackendChoice::Webgpu,
        _ => BackendChoice::Auto,
    };
    // The boot script loads the WebGPU worker or the (smaller) CPU-only one.
    let worker = Worker::new(&format!(
        "./decoder-worker-boot.js?backend={}",
        backend_choice.as_str()
    ))
    .map_err(|e| format!("the decoder worker did not start: {}", describe(&e)))?;
    let wire = param("wire")
        .and_then(|w| Wire::parse(&w))
        .unwrap_or_default();
    Ok(Rc::new(Page {
        state: RefCell::new(State::new(backend_choice, wire)),
        dom: RefCell::new(Dom {
            worker: Some(worker),
            ..Dom::default()
        }),
    }))
}

/// Listens to the worker: `intercept` sees each message first and may take it (the test
/// hooks' check replies); the rest are replies for `update`.
pub fn listen_to_worker(page: &Shared, intercept: fn(&Page, &JsValue) -> bool) {
    let page2 = page.clone();
    let handler = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        if intercept(&page2, &event.data()) {
            return;
        }
        match serde_wasm_bindgen::from_value::<Reply>(event.data()) {
            Ok(reply) => dispatch(&page2, Message::Reply(reply)),
            Err(e) => show_error(&format!("internal: unreadable worker reply: {e}")),
        }
    });
    let Some(worker) = page.dom.borrow().worker.clone() else {
        return;
    };
    worker.set_onmessage(Some(handler.as_ref().unchecked_ref()));
    handler.forget();
    let onerror = Closure::<dyn FnMut(web_sys::Event)>::new(move |_e: web_sys::Event| {
        show_error("the decoder worker failed to load (see the browser console)");
    });
    worker.set_onerror(Some(onerror.as_ref().unchecked_ref()));
    onerror.forget();
}

/// Runs `update` with `message` (nothing else changes the state); its effects, to
/// perform.
pub fn run_update(page: &Page, message: Message) -> Vec<Effect> {
    update(&mut page.state.borrow_mut(), message)
}

/// Updates the state with `message` and performs the effects.
pub fn dispatch(page: &Shared, message: Message) {
    let effects = run_update(page, message);
    perform(page, effects);
}

/// Performs `effects` in order; the parts to render are drawn last, once each.
pub fn perform(page: &Shared, effects: Vec<Effect>) {
    let mut parts: Vec<Part> = Vec::new();
    for effect in effects {
        match effect {
            Effect::Post(request) => post(page, &request),
            Effect::SetImage { image } => {
                let url = {
                    let s = page.state.borrow();
                    api::embedding_url(&image, &s.link.model, s.link.wire)
                };
                post(
                    page,
                    &Request::SetImage {
                        url,
                        classroom: crate::js::classroom_key(),
                    },
                );
            }
            Effect::Text { id, text } => set_text(id, &text),
            Effect::Error(message) => show_error(&message),
            Effect::Log(line) => crate::js::log(&line),
            Effect::Render(part) => {
                if !parts.contains(&part) {
                    parts.push(part);
                }
            }
            Effect::Fit => {
                let canvas: HtmlCanvasElement = by_id("view");
                dispatch(
                    page,
                    Message::Fit {
                        width: canvas.client_width().max(1) as f64,
                        height: canvas.client_height().max(1) as f64,
                    },
                );
            }
            Effect::HoverChecked(on) => by_id::<web_sys::HtmlInputElement>("hover").set_checked(on),
            Effect::VolumePanel(open) => paint::volume_panel(&page.state.borrow(), open),
            Effect::FetchSlice(view) => run(page, commands::fetch_slice(view)),
            Effect::Settle { generation } => run(page, commands::settle(generation)),
            Effect::UploadMask { bytes, gt, purpose } => {
                run(page, commands::upload_mask(bytes, gt, purpose))
            }
            Effect::PostResult { key, post } => spawn_local(async move {
                let body = serde_json::to_string(&post).unwrap_or_default();
                let path = format!("/api/v1/classroom/{key}/results");
                if let Err(e) = commands::call("POST", &path, Some(body)).await {
                    show_error(&format!("posting your result: {e}"));
                }
            }),
            Effect::OpenCase(case) => open_case(page, &case),
            Effect::AnswerControls(visible) => paint::answer_controls(visible),
            Effect::Consumed => {}
            Effect::SignIn(token) => run(page, commands::sign_in(token)),
            Effect::SignOut => run(page, commands::sign_out()),
            Effect::Retry(ids) => end_waits(page, &ids, true),
            Effect::GiveUp(ids) => end_waits(page, &ids, false),
        }
    }
    for part in parts {
        paint::render(part, &page.state.borrow(), &mut page.dom.borrow_mut());
    }
}

/// Ends the waits of requests `ids` that got 401 (`ui::auth`): `retry` sends them again,
/// else they fail with their 401.
fn end_waits(page: &Page, ids: &[u64], retry: bool) {
    for id in ids {
        let resolve = page.dom.borrow_mut().sign_in_waits.remove(id);
        if let Some(resolve) = resolve {
            let _ = resolve.call1(&JsValue::NULL, &JsValue::from_bool(retry));
        }
    }
}

/// Runs `command`, then stores its picture and dispatches its messages.
pub fn run(page: &Shared, command: impl Future<Output = Outcome> + 'static) {
    let page = page.clone();
    spawn_local(async move {
        let outcome = command.await;
        if let Some((id, element)) = outcome.image {
            page.dom.borrow_mut().images.insert(id, element);
        }
        for message in outcome.messages {
            dispatch(&page, message);
        }
        // Only the picture on screen is kept.
        let shown = page
            .state
            .borrow()
            .scan
            .image
            .as_ref()
            .map(|i| i.id.clone());
        page.dom
            .borrow_mut()
            .images
            .retain(|id, _| Some(id) == shown.as_ref());
    });
}

/// Loads `model`'s decoder in the worker (again when the model changes).
pub fn start_decoder(page: &Shared, model: &str) {
    let request = {
        let dom = page.dom.borrow();
        let state = page.state.borrow();
        let Some(info) = dom.models.iter().find(|m| m.id == model) else {
            return;
        };
        let decoder = info.decoder_for(state.link.wire);
        // The compressed byte planes (a smaller download than the file).
        let (url, layout) = (
            decoder.planes_url.clone(),
            WeightsLayout::Planes {
                width: state.link.wire.size_bytes(),
            },
        );
        Request::Init {
            model: info.base.clone().unwrap_or_else(|| model.to_string()),
            url,
            sha256: decoder.sha256.clone(),
            layout,
            backend: state.link.backend_choice,
        }
    };
    dispatch(
        page,
        Message::LoadDecoder {
            model: model.to_string(),
            request,
        },
    );
}

/// Puts a teaching case on screen: model, image or volume slice, ground truth, preset
/// prompts; then the class's answer state follows ([`Message::CaseOpened`]).
fn open_case(page: &Shared, case: &crate::classroom::Case) {
    paint::case_notes(&case.notes);
    if let Some(model) = &case.model {
        let served = {
            let (dom, state) = (page.dom.borrow(), page.state.borrow());
            dom.models.iter().any(|m| &m.id == model) && &state.link.model != model
        };
        if served {
            by_id::<web_sys::HtmlSelectElement>("model").set_value(model);
            start_decoder(page, model);
        }
    }
    let view = case.volume.as_ref().and_then(|v| {
        serde_json::from_value::<crate::volume::SliceView>(serde_json::json!({
            "volume": v.id, "axis": v.axis, "index": v.index,
            "window": v.window.text(),
        }))
        .ok()
    });
    let (model, wire) = {
        let s = page.state.borrow();
        (s.link.model.clone(), s.link.wire)
    };
    let link = crate::link::SharedView {
        image: case.image.clone(),
        model,
        wire,
        gt: case.gt.clone(),
        label: case.label,
        steps: case.steps.clone(),
        view,
    };
    run(page, async move {
        let mut outcome = commands::open_link(link).await;
        outcome.messages.push(Message::CaseOpened);
        outcome
    });
}
