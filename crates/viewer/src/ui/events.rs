//! Mouse, keyboard and control events.

use ::api::Action;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, spawn_local};
use web_sys::{
    EventTarget, HtmlCanvasElement, HtmlElement, HtmlInputElement, HtmlSelectElement,
    KeyboardEvent, MouseEvent, WheelEvent,
};

use crate::ground_truth::GroundTruth;
use crate::js::{describe, get_bytes};
use crate::protocol::Request;
use crate::ui::api::{self, Scan};
use crate::ui::app::{self, Drag, Shared, commit, redraw, with};
use crate::ui::dom::{by_id, listen, set_text, show_error, window};
use crate::ui::slices;

/// Screen distance (px) within which a click hits an existing point.
const HIT_RADIUS_PX: f64 = 8.0;
/// Screen distance (px) a press must move to become a box.
const BOX_THRESHOLD_PX: f64 = 4.0;

fn target(id: &str) -> EventTarget {
    by_id::<EventTarget>(id)
}

fn on_click(app: &Shared, id: &str, f: impl Fn(&Shared) + 'static) {
    let app = app.clone();
    listen::<web_sys::Event>(&target(id), "click", move |_| f(&app));
}

/// Runs an edit of the steps, then decodes.
fn edit(app: &Shared, f: impl FnOnce(&mut crate::history::History)) {
    with(app, |a| f(&mut a.history));
    commit(app);
}

/// Clamps an image position to a pixel index inside the image.
fn pixel(app: &Shared, x: f64, y: f64) -> Option<(f64, f64)> {
    let a = app.borrow();
    let image = a.image.as_ref()?;
    let clamp = |v: f64, n: usize| v.floor().clamp(0.0, n as f64 - 1.0);
    Some((clamp(x, image.width), clamp(y, image.height)))
}

/// Wires every control.
pub fn wire(app: &Shared) {
    wire_canvas(app);
    wire_keys(app);
    wire_space_release(app);
    wire_files(app);
    slices::wire(app);
    crate::ui::classroom::wire(app);
    on_click(app, "undo", undo);
    on_click(app, "redo", redo);
    on_click(app, "clear", |app| edit(app, |h| h.clear()));
    on_click(app, "fit", |app| {
        app::fit(app);
        redraw(app);
    });
    on_click(app, "paper", paper_protocol);
    on_click(app, "download-mask", app::download_mask);
    on_click(app, "download-json", app::download_record);
    on_click(app, "copy-link", copy_link);
    on_click(app, "help-open", |_| {
        by_id::<web_sys::HtmlDialogElement>("help")
            .show_modal()
            .ok();
    });
    {
        let app = app.clone();
        listen::<web_sys::Event>(&target("candidates"), "click", move |e| {
            let id = e
                .target()
                .and_then(|t| t.dyn_into::<HtmlElement>().ok())
                .map(|el| el.id())
                .unwrap_or_default();
            if let Some(i) = id.strip_prefix("candidate-").and_then(|i| i.parse().ok()) {
                choose(&app, i);
            }
        });
    }
    {
        let app = app.clone();
        listen::<web_sys::Event>(&target("opacity"), "input", move |_| {
            let v = by_id::<HtmlInputElement>("opacity").value_as_number();
            with(&app, |a| a.opacity = (v / 100.0).clamp(0.0, 1.0));
            redraw(&app);
        });
    }
    {
        let app = app.clone();
        listen::<web_sys::Event>(&target("errors"), "change", move |_| {
            let on = by_id::<HtmlInputElement>("errors").checked();
            with(&app, |a| a.show_errors = on);
            app::rebuild_overlay(&app);
        });
    }
    {
        let app = app.clone();
        listen::<web_sys::Event>(&target("hover"), "change", move |_| {
            let on = by_id::<HtmlInputElement>("hover").checked();
            with(&app, |a| {
                a.hover = on;
                a.preview = None;
            });
            redraw(&app);
        });
    }
    {
        let app = app.clone();
        listen::<web_sys::Event>(&target("model"), "change", move |_| {
            let model = by_id::<HtmlSelectElement>("model").value();
            app::start_decoder(&app, &model);
        });
    }
    {
        let app = app.clone();
        listen::<web_sys::Event>(&target("gt-label"), "change", move |_| {
            let value = by_id::<HtmlSelectElement>("gt-label").value();
            with(&app, |a| a.label = value.parse().ok());
            app::update_results(&app);
            app::rebuild_overlay(&app);
        });
    }
    {
        let app = app.clone();
        listen::<web_sys::Event>(&target("demo"), "change", move |_| {
            let index: Option<usize> = by_id::<HtmlSelectElement>("demo").value().parse().ok();
            if let Some(index) = index {
                let app = app.clone();
                spawn_local(async move { open_demo(&app, index).await });
            }
        });
    }
    {
        let app = app.clone();
        listen::<web_sys::Event>(&window().into(), "resize", move |_| redraw(&app));
    }
    expose_hooks(app);
}

fn undo(app: &Shared) {
    if with(app, |a| a.history.undo()) {
        commit(app);
    }
}

fn redo(app: &Shared) {
    if with(app, |a| a.history.redo()) {
        commit(app);
    }
}

fn choose(app: &Shared, index: usize) {
    let ok = with(app, |a| {
        a.shown.as_ref().is_some_and(|s| index < s.masks.len()) && !a.history.steps().is_empty()
    });
    if ok {
        edit(app, |h| h.choose(index));
    }
}

fn wire_canvas(app: &Shared) {
    let canvas: HtmlCanvasElement = by_id("view");
    let at = |e: &MouseEvent| (e.offset_x() as f64, e.offset_y() as f64);
    {
        let app = app.clone();
        listen::<MouseEvent>(&canvas.clone().into(), "mousedown", move |e| {
            let (sx, sy) = at(&e);
            let pan = e.button() == 1 || app.borrow().space_down;
            // Ctrl+drag on a volume slice: window width (↔) and level (↕).
            let window = (e.button() == 0 && (e.ctrl_key() || e.meta_key()))
                .then(|| slices::drag_start(&app))
                .flatten();
            let drag = if pan {
                Drag::Pan { x: sx, y: sy }
            } else if let Some(start) = window {
                Drag::Window { sx, sy, start }
            } else if e.button() == 0 {
                let (ix, iy) = app.borrow().view.to_image(sx, sy);
                Drag::Prompt {
                    sx,
                    sy,
                    ix,
                    iy,
                    boxing: false,
                    cx: ix,
                    cy: iy,
                }
            } else {
                return;
            };
            e.prevent_default();
            with(&app, |a| a.drag = Some(drag));
        });
    }
    {
        let app = app.clone();
        listen::<MouseEvent>(&canvas.clone().into(), "mousemove", move |e| {
            let (sx, sy) = at(&e);
            let drag = app.borrow().drag;
            match drag {
                Some(Drag::Pan { x, y }) => {
                    with(&app, |a| {
                        a.view.ox += sx - x;
                        a.view.oy += sy - y;
                        a.drag = Some(Drag::Pan { x: sx, y: sy });
                    });
                    redraw(&app);
                }
                Some(Drag::Prompt {
                    sx: x0,
                    sy: y0,
                    ix,
                    iy,
                    boxing,
                    ..
                }) => {
                    let (cx, cy) = app.borrow().view.to_image(sx, sy);
                    let boxing = boxing || (sx - x0).hypot(sy - y0) > BOX_THRESHOLD_PX;
                    with(&app, |a| {
                        a.drag = Some(Drag::Prompt {
                            sx: x0,
                            sy: y0,
                            ix,
                            iy,
                            boxing,
                            cx,
                            cy,
                        })
                    });
                    redraw(&app);
                }
                Some(Drag::Window {
                    sx: x0,
                    sy: y0,
                    start,
                }) => {
                    slices::drag_to(&app, start, sx - x0, sy - y0);
                }
                None => hover(&app, sx, sy, e.shift_key()),
            }
        });
    }
    {
        let app = app.clone();
        listen::<MouseEvent>(&canvas.clone().into(), "mouseup", move |e| {
            let Some(drag) = with(&app, |a| a.drag.take()) else {
                return;
            };
            if let Drag::Window { start, .. } = drag {
                slices::drag_end(&app, start);
                return;
            }
            if let Drag::Prompt {
                ix,
                iy,
                boxing,
                cx,
                cy,
                ..
            } = drag
            {
                if boxing {
                    add_box(&app, [ix, iy, cx, cy]);
                } else {
                    click(&app, ix, iy, !e.shift_key());
                }
            }
            redraw(&app);
        });
    }
    {
        let app = app.clone();
        listen::<MouseEvent>(&canvas.clone().into(), "mouseleave", move |_| {
            let drag = with(&app, |a| {
                a.preview = None;
                a.drag.take()
            });
            if let Some(Drag::Window { start, .. }) = drag {
                slices::drag_end(&app, start);
            }
            redraw(&app);
        });
    }
    {
        let app = app.clone();
        listen::<MouseEvent>(&canvas.clone().into(), "contextmenu", move |e| {
            e.prevent_default();
            if e.ctrl_key() && slices::active(&app) {
                // macOS reports Ctrl+click as a context menu: it starts a window drag.
                return;
            }
            let (ix, iy) = app.borrow().view.to_image(at(&e).0, at(&e).1);
            click(&app, ix, iy, false);
        });
    }
    {
        let app = app.clone();
        listen::<WheelEvent>(&canvas.into(), "wheel", move |e| {
            e.prevent_default();
            let factor = (-e.delta_y() * 0.0015).exp();
            with(&app, |a| {
                a.view
                    .zoom_at(e.offset_x() as f64, e.offset_y() as f64, factor)
            });
            redraw(&app);
        });
    }
}

/// A click: delete the point under it, else add a point.
fn click(app: &Shared, ix: f64, iy: f64, positive: bool) {
    let radius = HIT_RADIUS_PX / app.borrow().view.scale;
    let hit = app.borrow().history.point_near(ix - 0.5, iy - 0.5, radius);
    if let Some(index) = hit {
        edit(app, |h| h.remove(index));
        return;
    }
    if let Some((x, y)) = pixel(app, ix, iy) {
        edit(app, |h| h.push(Action::Point { x, y, positive }));
    }
}

fn add_box(app: &Shared, corners: [f64; 4]) {
    let (Some((x0, y0)), Some((x1, y1))) = (
        pixel(app, corners[0].min(corners[2]), corners[1].min(corners[3])),
        pixel(app, corners[0].max(corners[2]), corners[1].max(corners[3])),
    ) else {
        return;
    };
    edit(app, |h| h.push(Action::Box { x0, y0, x1, y1 }));
}

/// Hover preview: the committed steps plus a click under the pointer; only the latest
/// position is decoded (older ones are replaced while a decode runs).
fn hover(app: &Shared, sx: f64, sy: f64, shift: bool) {
    if !app.borrow().hover {
        return;
    }
    let (ix, iy) = app.borrow().view.to_image(sx, sy);
    let Some((x, y)) = pixel(app, ix, iy) else {
        return;
    };
    let inside = {
        let a = app.borrow();
        a.image
            .as_ref()
            .is_some_and(|i| ix >= 0.0 && iy >= 0.0 && ix < i.width as f64 && iy < i.height as f64)
    };
    if !inside {
        return;
    }
    let mut steps = app.borrow().history.steps().to_vec();
    steps.push(::api::Step {
        action: Action::Point {
            x,
            y,
            positive: !shift,
        },
        chosen: None,
    });
    app::send_decode(app, steps, true);
}

fn wire_keys(app: &Shared) {
    let app = app.clone();
    listen::<KeyboardEvent>(&window().into(), "keydown", move |e| {
        let typing = e
            .target()
            .and_then(|t| t.dyn_into::<HtmlElement>().ok())
            .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "SELECT" | "TEXTAREA"));
        if typing {
            return;
        }
        let ctrl = e.ctrl_key() || e.meta_key();
        let key = e.key();
        match key.as_str() {
            "z" | "Z" if ctrl && e.shift_key() => redo(&app),
            "z" | "Z" if ctrl => undo(&app),
            "y" if ctrl => redo(&app),
            "1" | "2" | "3" => choose(&app, key.parse::<usize>().unwrap_or(1) - 1),
            "c" => edit(&app, |h| h.clear()),
            "f" if crate::ui::classroom::answer_visible() => {
                let input: HtmlInputElement = by_id("errors");
                input.set_checked(!input.checked());
                with(&app, |a| a.show_errors = input.checked());
                app::rebuild_overlay(&app);
            }
            "[" | "]" => {
                let input: HtmlInputElement = by_id("opacity");
                let step = if key == "]" { 10.0 } else { -10.0 };
                let v = (input.value_as_number() + step).clamp(0.0, 100.0);
                input.set_value_as_number(v);
                with(&app, |a| a.opacity = v / 100.0);
                redraw(&app);
            }
            "0" => {
                app::fit(&app);
                redraw(&app);
            }
            "p" => paper_protocol(&app),
            "PageUp" | "PageDown" | "ArrowUp" | "ArrowDown" if slices::active(&app) => {
                let size = if e.shift_key() { 10 } else { 1 };
                let up = matches!(key.as_str(), "PageUp" | "ArrowUp");
                slices::step(&app, if up { size } else { -size });
                e.prevent_default();
            }
            "?" => {
                by_id::<web_sys::HtmlDialogElement>("help")
                    .show_modal()
                    .ok();
            }
            " " => {
                with(&app, |a| a.space_down = true);
                e.prevent_default();
            }
            _ => {}
        }
    });
}

/// Releasing space ends panning mode.
fn wire_space_release(app: &Shared) {
    let app = app.clone();
    listen::<KeyboardEvent>(&window().into(), "keyup", move |e| {
        if e.key() == " " {
            with(&app, |a| a.space_down = false);
        }
    });
}

/// The paper protocol on the chosen object (also run for a class when the instructor
/// reveals a case).
pub fn run_paper_protocol(app: &Shared) {
    paper_protocol(app);
}

fn paper_protocol(app: &Shared) {
    if !crate::ui::classroom::answer_visible() {
        return;
    }
    let step = with(app, |a| {
        let (_, gt) = a.gt.as_ref()?;
        gt.paper_protocol(a.label?)
    });
    match step {
        Some(step) => {
            with(app, |a| a.paper_pending = true);
            edit(app, |h| h.set(vec![step]));
        }
        None => show_error("paper protocol: upload a ground truth and pick an object first"),
    }
}

fn copy_link(app: &Shared) {
    let Some(link) = with(app, |a| app::share_link(a)) else {
        show_error("nothing to share yet: open a scan first");
        return;
    };
    by_id::<HtmlInputElement>("share-link").set_value(&link);
    let clipboard = window().navigator().clipboard();
    let _ = clipboard.write_text(&link);
    set_text("status", "Link copied.");
}

/// The bytes of the file chosen in `<input type=file id=input_id>`, if any.
pub async fn file_bytes(input_id: &str) -> Option<Vec<u8>> {
    let input: HtmlInputElement = by_id(input_id);
    let file = input.files()?.get(0)?;
    let buffer = JsFuture::from(file.array_buffer()).await.ok()?;
    Some(js_sys::Uint8Array::new(&buffer).to_vec())
}

fn wire_files(app: &Shared) {
    {
        let app = app.clone();
        listen::<web_sys::Event>(&target("scan-file"), "change", move |_| {
            let app = app.clone();
            spawn_local(async move {
                if let Some(bytes) = file_bytes("scan-file").await {
                    open_scan(&app, &bytes, None).await;
                }
            });
        });
    }
    {
        let app = app.clone();
        listen::<web_sys::Event>(&target("gt-file"), "change", move |_| {
            let app = app.clone();
            spawn_local(async move {
                if let Some(bytes) = file_bytes("gt-file").await {
                    open_ground_truth(&app, &bytes).await;
                }
            });
        });
    }
}

/// Uploads a scan (and optionally its ground truth) and shows it.
async fn open_scan(app: &Shared, bytes: &[u8], mask: Option<Vec<u8>>) {
    show_error("");
    set_text("status", "Uploading the scan…");
    let scan = match api::upload_scan(bytes).await {
        Ok(scan) => scan,
        Err(e) => {
            show_error(&format!("the scan was not accepted: {e}"));
            return;
        }
    };
    with(app, |a| {
        a.gt = None;
        a.label = None;
        a.pending_gt = None;
        a.link_steps = None;
        a.expected_image = None;
    });
    match scan {
        Scan::Image(uploaded) => {
            slices::close(app);
            if let Err(e) = app::show_image(app, &uploaded.id).await {
                show_error(&e);
                return;
            }
            if let Some(mask) = mask {
                open_ground_truth(app, &mask).await;
            }
        }
        // Slices arrive asynchronously; a ground truth is loaded on a slice (or as a
        // label volume) once one is shown.
        Scan::Volume(info) => slices::open_volume(app, *info, None),
    }
}

/// Uploads and decodes a ground truth for the current scan.
async fn open_ground_truth(app: &Shared, bytes: &[u8]) {
    let is_volume_file = imaging::detect(bytes).is_ok_and(|f| f.is_volume());
    if is_volume_file && slices::active(app) {
        show_error("");
        set_text("status", "Reading the label volume…");
        slices::open_label_volume(app, bytes).await;
        return;
    }
    let Some((width, height)) = app.borrow().image.as_ref().map(|i| (i.width, i.height)) else {
        show_error("open the scan before its ground truth");
        return;
    };
    let gt = match GroundTruth::decode(bytes, width, height) {
        Ok(gt) => gt,
        Err(e) => {
            show_error(&e);
            return;
        }
    };
    let uploaded = match api::upload("/api/v1/masks", bytes).await {
        Ok(u) => u,
        Err(e) => {
            show_error(&format!("the ground truth was not accepted: {e}"));
            return;
        }
    };
    with(app, |a| {
        a.label = gt.label_for(a.history.steps());
        a.gt = Some((uploaded.id, gt));
        // A picture ground truth belongs to the slice on screen, not to the volume.
        a.label_volume = None;
    });
    app::refresh_labels(app);
    app::update_results(app);
    app::rebuild_overlay(app);
    set_text(
        "status",
        "Ground truth loaded: the metrics follow every decode.",
    );
}

async fn open_demo(app: &Shared, index: usize) {
    let demos = api::demos().await;
    let Some(demo) = demos.get(index) else {
        return;
    };
    let image = match get_bytes(&demo.image).await {
        Ok(b) => b,
        Err(e) => {
            show_error(&format!("demo scan: {e}"));
            return;
        }
    };
    let mask = match &demo.mask {
        Some(url) => get_bytes(url).await.ok(),
        None => None,
    };
    open_scan(app, &image, mask).await;
}

/// `window.samscopeState()` (JSON text) and `window.samscopeCheck(json)` (a promise of
/// the worker's `checked` reply): hooks for the end-to-end tests and for automation.
fn expose_hooks(app: &Shared) {
    let state_app = app.clone();
    let state = Closure::<dyn Fn() -> JsValue>::new(move || {
        JsValue::from_str(&app::state_json(&state_app.borrow()))
    });
    let check_app = app.clone();
    let check = Closure::<dyn Fn(String) -> js_sys::Promise>::new(move |json: String| {
        let app = check_app.clone();
        js_sys::Promise::new(&mut |resolve, reject| {
            let request: Result<Request, _> = serde_json::from_str(&json);
            match request {
                Ok(Request::Check {
                    points,
                    labels,
                    bbox,
                    multimask,
                    ..
                }) => {
                    let (worker, seq) = with(&app, |a| {
                        a.seq += 1;
                        a.checks.insert(a.seq, resolve);
                        (a.worker.clone(), a.seq)
                    });
                    app::post(
                        &worker,
                        &Request::Check {
                            seq,
                            points,
                            labels,
                            bbox,
                            multimask,
                        },
                    );
                }
                Ok(_) => {
                    reject
                        .call1(&JsValue::NULL, &JsValue::from_str("only check requests"))
                        .ok();
                }
                Err(e) => {
                    reject
                        .call1(&JsValue::NULL, &JsValue::from_str(&e.to_string()))
                        .ok();
                }
            }
        })
    });
    let window = window();
    for (name, f) in [
        ("samscopeState", state.as_ref()),
        ("samscopeCheck", check.as_ref()),
    ] {
        if let Err(e) = js_sys::Reflect::set(&window, &JsValue::from_str(name), f) {
            crate::js::log(&format!("samscope: cannot expose {name}: {}", describe(&e)));
        }
    }
    state.forget();
    check.forget();
}
