//! Mouse, keyboard and control events, turned into [`Message`]s.

use wasm_bindgen::JsCast;
use web_sys::{
    EventTarget, HtmlCanvasElement, HtmlElement, HtmlInputElement, HtmlSelectElement,
    KeyboardEvent, MouseEvent, WheelEvent,
};

use crate::js::describe;
use crate::state::{Effect, Message, VolumeEdit};
use crate::ui::commands;
use crate::ui::dom::{by_id, download, file_bytes, listen, set_text, show_error, window};
use crate::ui::page::{Shared, dispatch, perform, run, run_update, start_decoder};
use crate::volume::{Axis, Window};

fn target(id: &str) -> EventTarget {
    by_id::<EventTarget>(id)
}

/// Dispatches the message `f` makes of an event of `kind` on element `id`.
fn on(page: &Shared, id: &str, kind: &str, f: impl Fn() -> Option<Message> + 'static) {
    let page = page.clone();
    listen::<web_sys::Event>(&target(id), kind, move |_| {
        if let Some(message) = f() {
            dispatch(&page, message);
        }
    });
}

/// Wires every control of the viewer (the class and deck panels: `ui::classroom`).
pub fn wire(page: &Shared) {
    wire_canvas(page);
    wire_keys(page);
    wire_files(page);
    wire_volume(page);
    on(page, "undo", "click", || Some(Message::Undo));
    on(page, "redo", "click", || Some(Message::Redo));
    on(page, "clear", "click", || Some(Message::Clear));
    on(page, "paper", "click", || Some(Message::PaperProtocol));
    {
        let page = page.clone();
        listen::<web_sys::Event>(&target("fit"), "click", move |_| {
            perform(&page, vec![Effect::Fit]);
        });
    }
    {
        let page = page.clone();
        listen::<web_sys::Event>(&target("download-mask"), "click", move |_| {
            download_mask(&page)
        });
    }
    {
        let page = page.clone();
        listen::<web_sys::Event>(&target("download-json"), "click", move |_| {
            download_record(&page)
        });
    }
    {
        let page = page.clone();
        listen::<web_sys::Event>(&target("copy-link"), "click", move |_| copy_link(&page));
    }
    listen::<web_sys::Event>(&target("help-open"), "click", |_| {
        by_id::<web_sys::HtmlDialogElement>("help")
            .show_modal()
            .ok();
    });
    {
        let page = page.clone();
        listen::<web_sys::Event>(&target("candidates"), "click", move |e| {
            let id = e
                .target()
                .and_then(|t| t.dyn_into::<HtmlElement>().ok())
                .map(|el| el.id())
                .unwrap_or_default();
            if let Some(i) = id.strip_prefix("candidate-").and_then(|i| i.parse().ok()) {
                dispatch(&page, Message::Choose(i));
            }
        });
    }
    on(page, "opacity", "input", || {
        let v = by_id::<HtmlInputElement>("opacity").value_as_number();
        Some(Message::Opacity(v / 100.0))
    });
    on(page, "errors", "change", || {
        Some(Message::ShowErrors(
            by_id::<HtmlInputElement>("errors").checked(),
        ))
    });
    on(page, "hover", "change", || {
        Some(Message::Hover(by_id::<HtmlInputElement>("hover").checked()))
    });
    {
        let page = page.clone();
        listen::<web_sys::Event>(&target("model"), "change", move |_| {
            let model = by_id::<HtmlSelectElement>("model").value();
            start_decoder(&page, &model);
        });
    }
    on(page, "gt-label", "change", || {
        let value = by_id::<HtmlSelectElement>("gt-label").value();
        Some(Message::Label(value.parse().ok()))
    });
    {
        let page = page.clone();
        listen::<web_sys::Event>(&target("demo"), "change", move |_| {
            let index: Option<usize> = by_id::<HtmlSelectElement>("demo").value().parse().ok();
            if let Some(index) = index {
                run(&page, commands::open_demo(index));
            }
        });
    }
    {
        let page = page.clone();
        listen::<web_sys::Event>(&window().into(), "resize", move |_| {
            dispatch(&page, Message::Resized)
        });
    }
}

/// Dispatches `message` for a DOM event; prevents the browser's default when `update`
/// handled the event.
fn handle(page: &Shared, event: &web_sys::Event, message: Message) {
    let effects = run_update(page, message);
    if effects.iter().any(|e| matches!(e, Effect::Consumed)) {
        event.prevent_default();
    }
    perform(page, effects);
}

fn wire_canvas(page: &Shared) {
    let canvas: HtmlCanvasElement = by_id("view");
    let at = |e: &MouseEvent| (e.offset_x() as f64, e.offset_y() as f64);
    let listen_mouse = |kind: &str, f: fn(&MouseEvent, (f64, f64)) -> Message| {
        let page = page.clone();
        listen::<MouseEvent>(&canvas.clone().into(), kind, move |e| {
            handle(&page, &e, f(&e, at(&e)));
        });
    };
    listen_mouse("mousedown", |e, (sx, sy)| Message::PointerDown {
        sx,
        sy,
        button: e.button(),
        ctrl: e.ctrl_key() || e.meta_key(),
    });
    listen_mouse("mousemove", |e, (sx, sy)| Message::PointerMove {
        sx,
        sy,
        shift: e.shift_key(),
    });
    listen_mouse("mouseup", |e, _| Message::PointerUp {
        shift: e.shift_key(),
    });
    listen_mouse("mouseleave", |_, _| Message::PointerLeave);
    {
        let page = page.clone();
        listen::<MouseEvent>(&canvas.clone().into(), "contextmenu", move |e| {
            e.prevent_default();
            let (sx, sy) = at(&e);
            dispatch(
                &page,
                Message::ContextMenu {
                    sx,
                    sy,
                    ctrl: e.ctrl_key(),
                },
            );
        });
    }
    {
        let page = page.clone();
        listen::<WheelEvent>(&canvas.into(), "wheel", move |e| {
            e.prevent_default();
            dispatch(
                &page,
                Message::Wheel {
                    sx: e.offset_x() as f64,
                    sy: e.offset_y() as f64,
                    delta_y: e.delta_y(),
                },
            );
        });
    }
}

fn wire_keys(page: &Shared) {
    {
        let page = page.clone();
        listen::<KeyboardEvent>(&window().into(), "keydown", move |e| {
            let typing = e
                .target()
                .and_then(|t| t.dyn_into::<HtmlElement>().ok())
                .is_some_and(|el| {
                    matches!(el.tag_name().as_str(), "INPUT" | "SELECT" | "TEXTAREA")
                });
            if !typing && let Some(message) = key_message(&page, &e) {
                handle(&page, &e, message);
            }
        });
    }
    // Releasing space ends panning mode.
    let page = page.clone();
    listen::<KeyboardEvent>(&window().into(), "keyup", move |e| {
        if e.key() == " " {
            dispatch(&page, Message::Space(false));
        }
    });
}

/// The message a key stands for (the keys that change controls set them first).
fn key_message(page: &Shared, e: &KeyboardEvent) -> Option<Message> {
    let ctrl = e.ctrl_key() || e.meta_key();
    let key = e.key();
    let (answer_visible, volume) = {
        let s = page.state.borrow();
        (s.answer_visible(), s.browse.is_some())
    };
    Some(match key.as_str() {
        "z" | "Z" if ctrl && e.shift_key() => Message::Redo,
        "z" | "Z" if ctrl => Message::Undo,
        "y" if ctrl => Message::Redo,
        "1" | "2" | "3" => Message::Choose(key.parse::<usize>().unwrap_or(1) - 1),
        "c" => Message::Clear,
        "f" if answer_visible => {
            let input: HtmlInputElement = by_id("errors");
            input.set_checked(!input.checked());
            Message::ShowErrors(input.checked())
        }
        "[" | "]" => {
            let input: HtmlInputElement = by_id("opacity");
            let step = if key == "]" { 10.0 } else { -10.0 };
            let v = (input.value_as_number() + step).clamp(0.0, 100.0);
            input.set_value_as_number(v);
            Message::Opacity(v / 100.0)
        }
        "0" => {
            perform(page, vec![Effect::Fit]);
            return None;
        }
        "p" => Message::PaperProtocol,
        "PageUp" | "PageDown" | "ArrowUp" | "ArrowDown" if volume => {
            let size = if e.shift_key() { 10 } else { 1 };
            let up = matches!(key.as_str(), "PageUp" | "ArrowUp");
            e.prevent_default();
            Message::Volume(VolumeEdit::Step(if up { size } else { -size }))
        }
        "?" => {
            by_id::<web_sys::HtmlDialogElement>("help")
                .show_modal()
                .ok();
            return None;
        }
        " " => {
            e.prevent_default();
            Message::Space(true)
        }
        _ => return None,
    })
}

/// Wires the volume controls.
fn wire_volume(page: &Shared) {
    on(page, "axis", "change", || {
        let value = by_id::<HtmlSelectElement>("axis").value();
        let axis = value.parse::<Axis>().ok()?;
        Some(Message::Volume(VolumeEdit::Axis(axis)))
    });
    on(page, "slice", "input", || {
        let value = by_id::<HtmlInputElement>("slice").value_as_number();
        (value.is_finite() && value >= 0.0)
            .then_some(Message::Volume(VolumeEdit::Index(value as usize)))
    });
    on(page, "window", "change", || {
        let value = by_id::<HtmlSelectElement>("window").value();
        if value == "manual" {
            return Some(manual_window());
        }
        let window = value.parse::<Window>().ok()?;
        Some(Message::Volume(VolumeEdit::Window(window)))
    });
    for id in ["window-level", "window-width"] {
        on(page, id, "change", || Some(manual_window()));
    }
}

/// The level and width typed in, as a manual window.
fn manual_window() -> Message {
    Message::ManualWindow {
        level: by_id::<HtmlInputElement>("window-level").value_as_number(),
        width: by_id::<HtmlInputElement>("window-width").value_as_number(),
    }
}

fn wire_files(page: &Shared) {
    {
        let page = page.clone();
        listen::<web_sys::Event>(&target("scan-file"), "change", move |_| {
            run(&page, async {
                match file_bytes("scan-file").await {
                    Some(bytes) => commands::open_scan(bytes, None).await,
                    None => commands::Outcome::default(),
                }
            });
        });
    }
    {
        let page = page.clone();
        listen::<web_sys::Event>(&target("gt-file"), "change", move |_| {
            run(&page, async {
                let mut outcome = commands::Outcome::default();
                if let Some(bytes) = file_bytes("gt-file").await {
                    outcome.messages.push(Message::GroundTruthFile(bytes));
                }
                outcome
            });
        });
    }
}

fn copy_link(page: &Shared) {
    let Some(link) = share_link(&page.state.borrow()) else {
        show_error("nothing to share yet: open a scan first");
        return;
    };
    by_id::<HtmlInputElement>("share-link").set_value(&link);
    let clipboard = window().navigator().clipboard();
    let _ = clipboard.write_text(&link);
    set_text("status", "Link copied.");
}

/// The full share link of the view on screen.
pub fn share_link(state: &crate::state::State) -> Option<String> {
    let location = window().location();
    let base = format!("{}{}", location.origin().ok()?, location.pathname().ok()?);
    Some(format!("{base}#{}", state.fragment()?))
}

/// Downloads the chosen mask as a 0/255 PNG.
fn download_mask(page: &Shared) {
    let png = {
        let state = page.state.borrow();
        state.session.shown.as_ref().and_then(|shown| {
            let mask = shown.mask();
            let pixels = mask.data.iter().map(|&v| v * 255).collect();
            let img = image::GrayImage::from_raw(mask.width as u32, mask.height as u32, pixels)?;
            let mut out = Vec::new();
            img.write_with_encoder(image::codecs::png::PngEncoder::new(&mut out))
                .ok()?;
            Some(out)
        })
    };
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
fn download_record(page: &Shared) {
    let record = page.state.borrow().record();
    match record {
        Some(record) => {
            let text = serde_json::to_vec_pretty(&record).expect("the record serialises");
            if let Err(e) = download("samscope-session.json", &text, "application/json") {
                show_error(&format!("download failed: {}", describe(&e)));
            }
        }
        None => show_error("no mask to describe yet"),
    }
}
