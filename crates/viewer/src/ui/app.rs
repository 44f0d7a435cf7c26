//! The page's state and what changes it: model and image loading, worker replies,
//! decode scheduling, metrics, links and downloads.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

use ::api::BinaryMask;
use ::api::Step;
use ::api::best_index;
use image::codecs::png::PngEncoder;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{
    HtmlButtonElement, HtmlCanvasElement, HtmlImageElement, HtmlOptionElement, HtmlSelectElement,
    MessageEvent, Worker,
};

use crate::ground_truth::{GroundTruth, Overlap};
use crate::history::History;
use crate::js::{describe, get_bytes, now_ms, sha256_hex};
use crate::link::SharedView;
use crate::protocol::{Backend, BackendChoice, Reply, Request, WeightsLayout, Wire};
use crate::record::{RECORD_FORMAT, SessionRecord};
use crate::ui::api::{self, ModelInfo};
use crate::ui::dom::{by_id, document, download, set_text, show_error, window};
use crate::ui::render::{self, Scene, View};
use crate::ui::slices::{self, SliceMemory};
use crate::volume::{VolumeState, WindowLevel};

/// The page's state, shared by every event handler.
pub type Shared = Rc<RefCell<App>>;

/// The scan on screen.
pub struct LoadedImage {
    /// Server id.
    pub id: String,
    /// Width, pixels.
    pub width: usize,
    /// Height, pixels.
    pub height: usize,
    /// The decoded picture.
    pub element: HtmlImageElement,
}

/// The decode shown.
pub struct Shown {
    /// The steps it answers.
    pub steps: Vec<Step>,
    /// The candidates.
    pub masks: Vec<BinaryMask>,
    /// Their predicted IoUs.
    pub ious: Vec<f32>,
    /// The overlay of the chosen candidate.
    pub overlay: HtmlCanvasElement,
}

impl Shown {
    /// The candidate shown: the last step's choice, else the highest predicted IoU.
    pub fn chosen(&self) -> usize {
        let best = best_index(&self.ious);
        match self.steps.last().and_then(|s| s.chosen) {
            Some(i) if i < self.masks.len() => i,
            _ => best,
        }
    }
}

/// A press on the canvas in progress.
#[derive(Debug, Clone, Copy)]
pub enum Drag {
    /// Moving the view.
    Pan {
        /// Last screen x.
        x: f64,
        /// Last screen y.
        y: f64,
    },
    /// A click or a box, decided on release.
    Prompt {
        /// Screen start.
        sx: f64,
        /// Screen start.
        sy: f64,
        /// Image start.
        ix: f64,
        /// Image start.
        iy: f64,
        /// Moved far enough to be a box.
        boxing: bool,
        /// Current image position.
        cx: f64,
        /// Current image position.
        cy: f64,
    },
    /// Ctrl+drag on a volume slice: horizontal = window width, vertical = level.
    Window {
        /// Screen start.
        sx: f64,
        /// Screen start.
        sy: f64,
        /// The window when the drag began.
        start: WindowLevel,
    },
}

/// Everything the page knows.
pub struct App {
    /// The decoder worker.
    pub worker: Worker,
    /// Models the server runs.
    pub models: Vec<ModelInfo>,
    /// Model in use.
    pub model: String,
    /// Precision of embedding and weights.
    pub wire: Wire,
    /// Backend asked for (`?backend=`).
    pub backend_choice: BackendChoice,
    /// Backend the worker uses (empty until ready).
    pub backend: String,
    /// The worker has the decoder.
    pub decoder_ready: bool,
    /// The scan.
    pub image: Option<LoadedImage>,
    /// The worker holds the scan's embedding.
    pub embedding_ready: bool,
    /// Ground truth: its id and labels.
    pub gt: Option<(String, GroundTruth)>,
    /// The object the metrics use.
    pub label: Option<u16>,
    /// Steps with undo/redo.
    pub history: History,
    /// The decode shown.
    pub shown: Option<Shown>,
    /// Hover preview overlay.
    pub preview: Option<HtmlCanvasElement>,
    /// IoU after each step.
    pub chart: Vec<Option<f64>>,
    /// Last request number.
    pub seq: u32,
    /// Number of the newest non-preview decode sent.
    pub committed_seq: u32,
    /// A decode is running in the worker.
    pub in_flight: bool,
    /// The next decode to send (latest wins; a committed one beats a preview).
    pub queued: Option<(Vec<Step>, bool)>,
    /// Screen mapping.
    pub view: View,
    /// Press in progress.
    pub drag: Option<Drag>,
    /// Space held (pan).
    pub space_down: bool,
    /// Overlay opacity 0–1.
    pub opacity: f64,
    /// FP/FN overlay.
    pub show_errors: bool,
    /// Hover preview on.
    pub hover: bool,
    /// Last decode time, ms.
    pub decode_ms: f64,
    /// Check requests waiting for their reply (tests): seq → resolve.
    pub checks: HashMap<u32, js_sys::Function>,
    /// Steps a share link asks for, applied once the image is ready.
    pub link_steps: Option<Vec<Step>>,
    /// A ground truth (id, file bytes) to decode once the image size is known.
    pub pending_gt: Option<(String, Vec<u8>)>,
    /// The paper protocol ran; its numbers are shown when its decode arrives.
    pub paper_pending: bool,
    /// The decoder weights came from the Cache API (nothing downloaded).
    pub weights_cached: bool,
    /// The volume being browsed, when the scan is one (slice, window, per-slice prompts).
    pub volume: Option<VolumeState<SliceMemory>>,
    /// A label volume on the scan's grid, the ground truth of every slice.
    pub label_volume: Option<imaging::Volume>,
    /// Image ids whose embeddings the worker was asked for, oldest first (it answers in
    /// order).
    pub embedding_requests: VecDeque<String>,
    /// The image whose embedding the worker holds.
    pub embedding_image: Option<String>,
    /// A client-side preview of a window change, drawn instead of the slice.
    pub window_preview: Option<HtmlCanvasElement>,
    /// The window the preview shows.
    pub preview_level: Option<WindowLevel>,
    /// The slice's pixels the preview remaps: (image id, RGBA).
    pub preview_source: Option<(String, Vec<u8>)>,
    /// The image id a share link expects its volume view to render to.
    pub expected_image: Option<String>,
}

/// Runs `f` on the state.
pub fn with<R>(app: &Shared, f: impl FnOnce(&mut App) -> R) -> R {
    f(&mut app.borrow_mut())
}

/// Sends `request` to the worker.
pub fn post(worker: &Worker, request: &Request) {
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

/// Creates the page state and the worker.
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
    Ok(Rc::new(RefCell::new(App {
        worker,
        models: Vec::new(),
        model: String::new(),
        wire,
        backend_choice,
        backend: String::new(),
        decoder_ready: false,
        image: None,
        embedding_ready: false,
        gt: None,
        label: None,
        history: History::default(),
        shown: None,
        preview: None,
        chart: Vec::new(),
        seq: 0,
        committed_seq: 0,
        in_flight: false,
        queued: None,
        view: View::default(),
        drag: None,
        space_down: false,
        opacity: 0.5,
        show_errors: false,
        hover: false,
        decode_ms: 0.0,
        checks: HashMap::new(),
        link_steps: None,
        pending_gt: None,
        paper_pending: false,
        weights_cached: false,
        volume: None,
        label_volume: None,
        embedding_requests: VecDeque::new(),
        embedding_image: None,
        window_preview: None,
        preview_level: None,
        preview_source: None,
        expected_image: None,
    })))
}

/// Listens to the worker.
pub fn listen_to_worker(app: &Shared) {
    let app2 = app.clone();
    let handler = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        if let Some((seq, resolve)) = check_reply(&app2, &event.data()) {
            // Check replies (tests) go to their promise as they are: large arrays stay JS.
            resolve.call1(&JsValue::NULL, &event.data()).ok();
            with(&app2, |a| a.checks.remove(&seq));
            return;
        }
        match serde_wasm_bindgen::from_value::<Reply>(event.data()) {
            Ok(reply) => on_reply(&app2, reply),
            Err(e) => show_error(&format!("internal: unreadable worker reply: {e}")),
        }
    });
    let worker = app.borrow().worker.clone();
    worker.set_onmessage(Some(handler.as_ref().unchecked_ref()));
    handler.forget();
    let onerror = Closure::<dyn FnMut(web_sys::Event)>::new(move |_e: web_sys::Event| {
        show_error("the decoder worker failed to load (see the browser console)");
    });
    worker.set_onerror(Some(onerror.as_ref().unchecked_ref()));
    onerror.forget();
}

/// The pending check promise a worker message answers, if it is a `checked` reply.
fn check_reply(app: &Shared, data: &JsValue) -> Option<(u32, js_sys::Function)> {
    let get = |key: &str| js_sys::Reflect::get(data, &JsValue::from_str(key)).ok();
    if get("type")?.as_string()? != "checked" {
        return None;
    }
    let seq = get("seq")?.as_f64()? as u32;
    let resolve = app.borrow().checks.get(&seq)?.clone();
    Some((seq, resolve))
}

/// Loads the model list, the demo list and a share link; starts the decoder.
pub async fn boot(app: Shared) {
    let models = match api::models().await {
        Ok(m) => m,
        Err(e) => {
            show_error(&format!("cannot reach the samscope server: {e}"));
            return;
        }
    };
    let hash = window().location().hash().unwrap_or_default();
    let class_link = match crate::classroom::ClassLink::parse(&hash) {
        Some(Ok(link)) => Some(link),
        Some(Err(e)) => {
            show_error(&e);
            return;
        }
        None => None,
    };
    let parsed = if class_link.is_none() {
        SharedView::parse(&hash)
    } else {
        Ok(None)
    };
    let link = match parsed {
        Ok(link) => link,
        Err(e) => {
            show_error(&e.to_string());
            None
        }
    };
    let default = models
        .iter()
        .find(|m| m.default)
        .unwrap_or(&models[0])
        .id
        .clone();
    let model = match &link {
        Some(l) if models.iter().any(|m| m.id == l.model) => l.model.clone(),
        Some(l) => {
            show_error(&format!(
                "this link needs model `{}`, which this server does not run",
                l.model
            ));
            default
        }
        None => default,
    };
    let select: HtmlSelectElement = by_id("model");
    for m in &models {
        if let Ok(option) = HtmlOptionElement::new_with_text_and_value(&m.id, &m.id) {
            option.set_selected(m.id == model);
            select.add_with_html_option_element(&option).ok();
        }
    }
    with(&app, |a| {
        a.models = models;
        if let Some(l) = &link {
            a.wire = l.wire;
        }
    });
    start_decoder(&app, &model);
    fill_demos().await;
    if let Some(class_link) = class_link {
        crate::ui::classroom::open(app, class_link).await;
    } else if let Some(link) = link {
        open_link(&app, link).await;
    } else {
        set_text("status", "Upload a scan or pick a demo.");
    }
}

async fn fill_demos() {
    let select: HtmlSelectElement = by_id("demo");
    for (i, demo) in api::demos().await.iter().enumerate() {
        if let Ok(option) = HtmlOptionElement::new_with_text_and_value(&demo.name, &i.to_string()) {
            select.add_with_html_option_element(&option).ok();
        }
    }
}

/// Loads `model`'s decoder in the worker (again when the model changes).
pub fn start_decoder(app: &Shared, model: &str) {
    let request = with(app, |a| {
        let info = a.models.iter().find(|m| m.id == model)?;
        let decoder = info.decoder_for(a.wire).clone();
        a.model = model.to_string();
        a.decoder_ready = false;
        a.embedding_ready = false;
        a.embedding_image = None;
        a.shown = None;
        a.backend.clear();
        // The compressed byte planes (a smaller download than the file).
        let (url, layout) = (
            decoder.planes_url.clone(),
            WeightsLayout::Planes {
                width: a.wire.size_bytes(),
            },
        );
        Some(Request::Init {
            model: info.base.clone().unwrap_or_else(|| model.to_string()),
            url,
            sha256: decoder.sha256.clone(),
            layout,
            backend: a.backend_choice,
        })
    });
    if let Some(request) = request {
        set_text("backend", "loading decoder…");
        post(&app.borrow().worker.clone(), &request);
    }
}

/// Opens a shared view: its image or volume slice, ground truth, label and steps.
pub async fn open_link(app: &Shared, link: SharedView) {
    if let Some(view) = link.view.clone() {
        match api::volume(&view.volume).await {
            Ok(info) => {
                fetch_link_gt(app, &link).await;
                with(app, |a| {
                    a.label = link.label;
                    a.link_steps = Some(link.steps.clone());
                    a.expected_image = Some(link.image.clone());
                });
                slices::open_volume(app, info, Some(view));
                return;
            }
            Err(e) => show_error(&format!(
                "this link's volume is not on this server ({e}); showing its stored slice only"
            )),
        }
    }
    let image = match get_bytes(&api::image_url(&link.image)).await {
        Ok(_) => link.image.clone(),
        Err(e) => {
            show_error(&format!(
                "this link's image is not on this server ({e}); upload the scan again"
            ));
            return;
        }
    };
    fetch_link_gt(app, &link).await;
    with(app, |a| {
        a.label = link.label;
        a.link_steps = Some(link.steps.clone());
    });
    if let Err(e) = show_image(app, &image).await {
        show_error(&e);
    }
}

/// Fetches a share link's ground truth; it is decoded once the image size is known.
async fn fetch_link_gt(app: &Shared, link: &SharedView) {
    if let Some(gt) = &link.gt {
        match get_bytes(&api::mask_url(gt)).await {
            Ok(bytes) => with(app, |a| a.pending_gt = Some((gt.clone(), bytes))),
            Err(e) => show_error(&format!(
                "this link's ground truth is not on this server ({e})"
            )),
        }
    }
}

/// Loads stored image `id` as a picture.
pub async fn load_image(id: &str) -> Result<HtmlImageElement, String> {
    let element = HtmlImageElement::new().map_err(|e| describe(&e))?;
    element.set_src(&api::image_url(id));
    wasm_bindgen_futures::JsFuture::from(element.decode())
        .await
        .map_err(|e| format!("the image did not load: {}", describe(&e)))?;
    Ok(element)
}

/// Puts `element` (image `id`) on screen: no embedding yet, no mask, no preview. Prompts
/// and ground truth are left to the caller.
pub fn install_image(a: &mut App, id: &str, element: HtmlImageElement) {
    let (width, height) = (
        element.natural_width() as usize,
        element.natural_height() as usize,
    );
    a.image = Some(LoadedImage {
        id: id.to_string(),
        width,
        height,
        element,
    });
    a.embedding_ready = false;
    a.shown = None;
    a.preview = None;
    a.window_preview = None;
    a.preview_level = None;
}

/// The ground truth a share link brought, decoded at the image's size.
pub fn take_pending_gt(a: &mut App) -> Option<(String, GroundTruth)> {
    let (width, height) = a.image.as_ref().map(|i| (i.width, i.height))?;
    a.pending_gt.take().and_then(
        |(gid, bytes)| match GroundTruth::decode(&bytes, width, height) {
            Ok(gt) => Some((gid, gt)),
            Err(e) => {
                show_error(&e);
                None
            }
        },
    )
}

/// Shows stored image `id` (a 2-D scan) and asks the worker for its embedding.
pub async fn show_image(app: &Shared, id: &str) -> Result<(), String> {
    let element = load_image(id).await?;
    with(app, |a| {
        install_image(a, id, element);
        a.chart.clear();
        a.history = History::starting_at(a.link_steps.take().unwrap_or_default());
        a.gt = take_pending_gt(a);
    });
    fit(app);
    refresh_labels(app);
    request_embedding(app);
    redraw(app);
    Ok(())
}

/// Asks the worker for the current image's embedding once the decoder is ready (once per
/// image: an embedding already held or already asked for is not fetched again).
pub fn request_embedding(app: &Shared) {
    enum Next {
        Fetch(Request),
        Held,
        Nothing,
    }
    let next = with(app, |a| {
        let Some(image) = a.image.as_ref() else {
            return Next::Nothing;
        };
        if !a.decoder_ready {
            return Next::Nothing;
        }
        if a.embedding_requests.is_empty() && a.embedding_image.as_ref() == Some(&image.id) {
            a.embedding_ready = true;
            return Next::Held;
        }
        if a.embedding_requests.back() == Some(&image.id) {
            return Next::Nothing;
        }
        a.embedding_requests.push_back(image.id.clone());
        Next::Fetch(Request::SetImage {
            url: api::embedding_url(&image.id, &a.model, a.wire),
        })
    });
    match next {
        Next::Fetch(request) => {
            set_text("status", "Computing the image embedding on the server…");
            post(&app.borrow().worker.clone(), &request);
        }
        Next::Held => {
            set_text(
                "status",
                "Ready: drag a box around the structure, or click inside it.",
            );
            commit(app);
        }
        Next::Nothing => {}
    }
}

fn on_reply(app: &Shared, reply: Reply) {
    match reply {
        Reply::Ready {
            backend,
            adapter,
            cached,
            load_ms,
            warmup_ms,
            fallback_reason,
        } => {
            let label = match backend {
                Backend::Webgpu => format!("WebGPU {adapter}"),
                Backend::CpuWasm => "CPU (wasm)".to_string(),
            };
            set_text("backend", label.trim());
            crate::js::log(&format!(
                "samscope: decoder on {backend} ({}), loaded in {load_ms:.0} ms, warm-up {warmup_ms:.0} ms{}",
                if cached {
                    "weights from cache"
                } else {
                    "weights downloaded"
                },
                fallback_reason
                    .map(|r| format!("; WebGPU not used: {r}"))
                    .unwrap_or_default()
            ));
            with(app, |a| {
                a.backend = backend.as_str().to_string();
                a.decoder_ready = true;
                // Loading a decoder drops the worker's embedding; earlier requests are answered.
                a.embedding_image = None;
                a.embedding_requests.clear();
                a.weights_cached = cached;
                a.hover = backend == Backend::Webgpu;
            });
            by_id::<web_sys::HtmlInputElement>("hover").set_checked(backend == Backend::Webgpu);
            request_embedding(app);
            if app.borrow().image.is_none() {
                set_text("status", "Decoder ready. Upload a scan or pick a demo.");
            }
        }
        Reply::ImageReady { .. } => {
            // The worker answers in order: this is the oldest request's image.
            let ready = with(app, |a| {
                a.embedding_image = a.embedding_requests.pop_front();
                a.embedding_ready = a.embedding_requests.is_empty()
                    && a.embedding_image.is_some()
                    && a.embedding_image.as_ref() == a.image.as_ref().map(|i| &i.id);
                a.embedding_ready
            });
            if ready {
                set_text(
                    "status",
                    "Ready: drag a box around the structure, or click inside it.",
                );
                commit(app);
            }
        }
        Reply::Decoded {
            seq,
            width,
            height,
            masks,
            iou_predictions,
            decode_ms,
            preview,
            ..
        } => {
            on_decoded(
                app,
                seq,
                width as usize,
                height as usize,
                masks,
                iou_predictions,
                decode_ms,
                preview,
            );
            send_queued(app);
        }
        Reply::Checked { .. } => {}
        Reply::Failed {
            context,
            seq,
            message,
        } => {
            show_error(&format!("{context}: {message}"));
            if context == "set-image" {
                with(app, |a| a.embedding_requests.pop_front());
            }
            if context == "decode" {
                with(app, |a| a.in_flight = false);
                send_queued(app);
            }
            if let Some(resolve) = seq.and_then(|s| with(app, |a| a.checks.remove(&s))) {
                let error = js_sys::Object::new();
                js_sys::Reflect::set(
                    &error,
                    &JsValue::from_str("error"),
                    &JsValue::from_str(&message),
                )
                .ok();
                resolve.call1(&JsValue::NULL, &error).ok();
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn on_decoded(
    app: &Shared,
    seq: u32,
    width: usize,
    height: usize,
    bytes: Vec<u8>,
    ious: Vec<f32>,
    decode_ms: f64,
    preview: bool,
) {
    let plane = width * height;
    let masks: Vec<BinaryMask> = bytes
        .chunks(plane.max(1))
        .map(|data| BinaryMask {
            width,
            height,
            data: data.to_vec(),
        })
        .collect();
    with(app, |a| {
        a.in_flight = false;
        a.decode_ms = decode_ms;
    });
    set_text("decode-ms", &format!("{decode_ms:.0} ms"));
    if preview {
        let best = best_index(&ious);
        let overlay = masks.get(best).map(|m| render::overlay(m, None));
        with(app, |a| a.preview = if a.hover { overlay } else { None });
        redraw(app);
        return;
    }
    let current = with(app, |a| seq == a.committed_seq);
    if !current {
        return;
    }
    with(app, |a| {
        let steps = a.history.steps().to_vec();
        let mut shown = Shown {
            steps,
            masks,
            ious,
            overlay: document()
                .create_element("canvas")
                .expect("canvas")
                .unchecked_into(),
        };
        if a.label.is_none()
            && let Some((_, gt)) = &a.gt
        {
            a.label = gt.label_for(&shown.steps);
        }
        shown.overlay = overlay_for(a, &shown);
        a.shown = Some(shown);
        a.preview = None;
    });
    refresh_labels(app);
    update_results(app);
    redraw(app);
}

fn overlay_for(a: &App, shown: &Shown) -> HtmlCanvasElement {
    let mask = &shown.masks[shown.chosen()];
    let errors = match (&a.gt, a.label, a.show_errors) {
        (Some((_, gt)), Some(label), true) => Some((gt, label)),
        _ => None,
    };
    render::overlay(mask, errors)
}

/// Rebuilds the overlay (FP/FN toggle, candidate switch).
pub fn rebuild_overlay(app: &Shared) {
    with(app, |a| {
        if let Some(shown) = a.shown.take() {
            let overlay = overlay_for(a, &shown);
            a.shown = Some(Shown { overlay, ..shown });
        }
    });
    redraw(app);
}

/// Dice/IoU of the shown mask, if there is a ground truth and an object.
pub fn overlap(a: &App) -> Option<Overlap> {
    let shown = a.shown.as_ref()?;
    let (_, gt) = a.gt.as_ref()?;
    gt.overlap(a.label?, &shown.masks[shown.chosen()])
}

/// Candidates, metrics and chart.
pub fn update_results(app: &Shared) {
    let (candidates, metrics, chart, paper) = with(app, |a| {
        let candidates = a
            .shown
            .as_ref()
            .map(|s| (s.ious.clone(), s.chosen()))
            .unwrap_or_default();
        let metrics = overlap(a);
        let n = a.history.steps().len();
        a.chart.resize(n, None);
        if let (Some(m), true) = (metrics, n > 0) {
            a.chart[n - 1] = Some(m.iou);
        }
        let answered = a
            .shown
            .as_ref()
            .is_some_and(|s| s.steps.as_slice() == a.history.steps());
        let paper = (a.paper_pending && answered).then(|| {
            a.paper_pending = false;
            metrics
        });
        crate::ui::classroom::after_results(metrics, answered && !a.paper_pending, n);
        (candidates, metrics, a.chart.clone(), paper)
    });
    if let Some(result) = paper {
        let text = match result {
            Some(m) => format!(
                "Paper protocol (centroid click, best of 3): Dice {:.4}, IoU {:.4}",
                m.dice, m.iou
            ),
            None => "Paper protocol: no overlap could be computed".to_string(),
        };
        set_text("paper-result", &text);
    }
    let holder: web_sys::HtmlElement = by_id("candidates");
    holder.set_inner_html("");
    let (ious, chosen) = candidates;
    for (i, iou) in ious.iter().enumerate() {
        if let Ok(button) = document().create_element("button") {
            let button: HtmlButtonElement = button.unchecked_into();
            button.set_text_content(Some(&format!("{} · {iou:.3}", i + 1)));
            button.set_id(&format!("candidate-{i}"));
            if i == chosen {
                button.set_class_name("chosen");
            }
            holder.append_child(&button).ok();
        }
    }
    match metrics {
        Some(m) => {
            set_text("dice", &format!("{:.4}", m.dice));
            set_text("iou", &format!("{:.4}", m.iou));
        }
        None => {
            set_text("dice", "–");
            set_text("iou", "–");
        }
    }
    render::chart(&by_id("chart"), &chart);
    let (undo, redo) = with(app, |a| (a.history.can_undo(), a.history.can_redo()));
    by_id::<HtmlButtonElement>("undo").set_disabled(!undo);
    by_id::<HtmlButtonElement>("redo").set_disabled(!redo);
}

/// Fills the object list of the ground truth.
pub fn refresh_labels(app: &Shared) {
    let select: HtmlSelectElement = by_id("gt-label");
    select.set_inner_html("");
    let (labels, chosen) = with(app, |a| {
        (
            a.gt.as_ref().map(|(_, gt)| gt.labels()).unwrap_or_default(),
            a.label,
        )
    });
    let none = HtmlOptionElement::new_with_text_and_value("—", "").expect("option");
    select.add_with_html_option_element(&none).ok();
    for (value, count) in labels {
        let text = format!("label {value} ({count} px)");
        if let Ok(option) = HtmlOptionElement::new_with_text_and_value(&text, &value.to_string()) {
            option.set_selected(Some(value) == chosen);
            select.add_with_html_option_element(&option).ok();
        }
    }
}

/// Decodes the current steps (or clears the result when there are none).
pub fn commit(app: &Shared) {
    let steps = app.borrow().history.steps().to_vec();
    if steps.is_empty() {
        with(app, |a| {
            a.shown = None;
            a.preview = None;
            a.chart.clear();
        });
        update_results(app);
        redraw(app);
        return;
    }
    send_decode(app, steps, false);
    update_results(app);
    redraw(app);
}

/// Sends a decode now, or queues it behind the running one.
pub fn send_decode(app: &Shared, steps: Vec<Step>, preview: bool) {
    let request = with(app, |a| {
        if !(a.decoder_ready && a.embedding_ready) {
            return None;
        }
        if a.in_flight {
            let keep_committed = preview && matches!(a.queued, Some((_, false)));
            if !keep_committed {
                a.queued = Some((steps, preview));
            }
            return None;
        }
        a.seq += 1;
        if !preview {
            a.committed_seq = a.seq;
        }
        a.in_flight = true;
        Some(Request::Decode {
            seq: a.seq,
            steps,
            preview,
        })
    });
    if let Some(request) = request {
        post(&app.borrow().worker.clone(), &request);
    }
}

fn send_queued(app: &Shared) {
    if let Some((steps, preview)) = with(app, |a| a.queued.take()) {
        send_decode(app, steps, preview);
    }
}

/// Fits the image to the canvas.
pub fn fit(app: &Shared) {
    let canvas: HtmlCanvasElement = by_id("view");
    with(app, |a| {
        if let Some(image) = &a.image {
            a.view = View::fit(
                canvas.client_width().max(1) as f64,
                canvas.client_height().max(1) as f64,
                image.width as f64,
                image.height as f64,
            );
        }
    });
}

/// Redraws the main canvas.
pub fn redraw(app: &Shared) {
    let a = app.borrow();
    let dragging = match a.drag {
        Some(Drag::Prompt {
            ix,
            iy,
            cx,
            cy,
            boxing: true,
            ..
        }) => Some([ix.min(cx), iy.min(cy), ix.max(cx), iy.max(cy)]),
        _ => None,
    };
    let scene = Scene {
        image: a.image.as_ref().map(|i| &i.element),
        image_preview: a.window_preview.as_ref(),
        overlay: a.shown.as_ref().map(|s| &s.overlay),
        preview: a.preview.as_ref(),
        opacity: a.opacity,
        steps: a.history.steps(),
        dragging,
        view: a.view,
    };
    render::draw(&by_id("view"), &scene);
}

/// The view on screen: what a share link or a deck case holds.
pub fn shared_view(a: &App) -> Option<SharedView> {
    let image = a.image.as_ref()?;
    Some(SharedView {
        image: image.id.clone(),
        model: a.model.clone(),
        wire: a.wire,
        gt: a.gt.as_ref().map(|(id, _)| id.clone()),
        label: a.label,
        steps: a.history.steps().to_vec(),
        view: slices::shown_view(a),
    })
}

/// The share link's fragment for the current state.
pub fn fragment(a: &App) -> Option<String> {
    shared_view(a).map(|v| v.to_fragment())
}

/// The full share link.
pub fn share_link(a: &App) -> Option<String> {
    let location = window().location();
    let base = format!("{}{}", location.origin().ok()?, location.pathname().ok()?);
    Some(format!("{base}#{}", fragment(a)?))
}

/// The downloadable session record.
pub fn record(a: &App) -> Option<SessionRecord> {
    let image = a.image.as_ref()?;
    let shown = a.shown.as_ref()?;
    let chosen = shown.chosen();
    Some(SessionRecord {
        format: RECORD_FORMAT.into(),
        model: a.model.clone(),
        image: image.id.clone(),
        width: image.width,
        height: image.height,
        gt: a.gt.as_ref().map(|(id, _)| id.clone()),
        label: a.label,
        wire: a.wire,
        backend: a.backend.clone(),
        steps: shown.steps.clone(),
        chosen,
        iou_predictions: shown.ious.clone(),
        area: shown.masks[chosen].area(),
        metrics: overlap(a),
        link: fragment(a).unwrap_or_default(),
        view: slices::shown_view(a),
    })
}

/// Downloads the chosen mask as a 0/255 PNG.
pub fn download_mask(app: &Shared) {
    let png = with(app, |a| {
        let shown = a.shown.as_ref()?;
        let mask = &shown.masks[shown.chosen()];
        let pixels = mask.data.iter().map(|&v| v * 255).collect();
        let img = image::GrayImage::from_raw(mask.width as u32, mask.height as u32, pixels)?;
        let mut out = Vec::new();
        img.write_with_encoder(PngEncoder::new(&mut out)).ok()?;
        Some(out)
    });
    match png {
        Some(png) => {
            if let Err(e) = download("samscope-mask.png", &png, "image/png") {
                show_error(&format!("download failed: {}", describe(&e)));
            }
        }
        None => show_error("no mask to download yet"),
    }
}

/// Downloads the session record.
pub fn download_record(app: &Shared) {
    match with(app, |a| record(a)) {
        Some(record) => {
            let text = serde_json::to_vec_pretty(&record).expect("the record serialises");
            if let Err(e) = download("samscope-session.json", &text, "application/json") {
                show_error(&format!("download failed: {}", describe(&e)));
            }
        }
        None => show_error("no mask to describe yet"),
    }
}

/// State for tests and automation (`window.samscopeState()`): JSON text.
pub fn state_json(a: &App) -> String {
    let shown = a.shown.as_ref();
    let mask = shown.map(|s| &s.masks[s.chosen()]);
    serde_json::json!({
        "backend": a.backend,
        "decoder_ready": a.decoder_ready,
        "embedding_ready": a.embedding_ready,
        "busy": a.in_flight || a.queued.is_some() || !a.embedding_requests.is_empty()
            || a.volume.as_ref().is_some_and(|v| !v.settled())
            || shown.map(|s| s.steps.as_slice()) != Some(a.history.steps()) && !a.history.steps().is_empty(),
        "model": a.model,
        "wire": a.wire,
        "image": a.image.as_ref().map(|i| i.id.clone()),
        "embedding_image": a.embedding_image,
        "volume": slices::state_json(a),
        "gt": a.gt.as_ref().map(|(id, _)| id.clone()),
        "label": a.label,
        "steps": a.history.steps(),
        "chosen": shown.map(|s| s.chosen()),
        "iou_predictions": shown.map(|s| s.ious.clone()),
        "mask_sha256": mask.map(|m| sha256_hex(&m.data)),
        "area": mask.map(|m| m.area()),
        "metrics": overlap(a),
        "decode_ms": a.decode_ms,
        "weights_cached": a.weights_cached,
        "view": [a.view.scale, a.view.ox, a.view.oy],
        "error": crate::ui::dom::error_text(),
        "link": share_link(a),
        "now_ms": now_ms(),
    })
    .to_string()
}
