//! [`update`]: the one function that changes the [`State`].

use ::api::best_index;
use ::api::{Action, Step};

use super::flow::{
    commit, edit, install_image, paper_protocol, request_embedding, results, take_pending_gt,
};
use super::scans::{
    arrive, change, close_volume, drag_end, fetch_next, ground_truth_file, mask_uploaded,
    open_volume, preview_window, same_volume,
};
use super::{Browse, Class, Drag, Effect, Message, Part, State, VolumeEdit, split_masks};
use crate::classroom::Role;
use crate::history::History;
use crate::protocol::{Backend, Reply, Request};
use crate::volume::{Window, WindowLevel, dragged_window};

/// Screen distance (px) within which a click hits an existing point.
const HIT_RADIUS_PX: f64 = 8.0;
/// Screen distance (px) a press must move to become a box.
const BOX_THRESHOLD_PX: f64 = 4.0;

/// Applies `message` to `state`; what the page must do next, in order.
pub fn update(state: &mut State, message: Message) -> Vec<Effect> {
    let mut fx = Vec::new();
    let s = state;
    match message {
        Message::LoadDecoder { model, request } => {
            s.link.loading(&model);
            s.session.shown = None;
            fx.push(Effect::Text {
                id: "backend",
                text: "loading decoder…".into(),
            });
            fx.push(Effect::Post(request));
        }
        Message::Wire(wire) => s.link.wire = wire,
        Message::Reply(reply) => on_reply(s, reply, &mut fx),
        Message::Check {
            points,
            labels,
            bbox,
            multimask,
        } => fx.push(Effect::Post(Request::Check {
            seq: s.link.next_seq(),
            points,
            labels,
            bbox,
            multimask,
        })),
        Message::ScanUploaded { picture } => {
            s.session.gt = None;
            s.session.label = None;
            s.scan.pending_gt = None;
            s.scan.link_steps = None;
            s.scan.expected_image = None;
            if picture {
                close_volume(s, &mut fx);
            }
        }
        Message::LinkOpened { link, gt, volume } => {
            s.scan.pending_gt = gt;
            s.session.label = link.label;
            s.scan.link_steps = Some(link.steps);
            if let Some(info) = volume {
                s.scan.expected_image = Some(link.image);
                open_volume(s, *info, link.view, &mut fx);
            }
        }
        Message::ImageShown(meta) => {
            install_image(s, meta);
            s.session.chart.clear();
            s.session.history = History::starting_at(s.scan.link_steps.take().unwrap_or_default());
            s.session.gt = take_pending_gt(s, &mut fx);
            fx.push(Effect::Fit);
            fx.push(Effect::Render(Part::Labels));
            request_embedding(s, &mut fx);
            fx.push(Effect::Render(Part::Canvas));
        }
        Message::VolumeOpened { info, view } => open_volume(s, info, view, &mut fx),
        Message::GroundTruthFile(bytes) => ground_truth_file(s, &bytes, &mut fx),
        Message::MaskUploaded { id, gt, purpose } => mask_uploaded(s, id, gt, purpose, &mut fx),
        Message::SliceArrived {
            view,
            slice,
            width,
            height,
        } => {
            if same_volume(s, &view) {
                arrive(s, view, slice, width, height, &mut fx);
                fetch_next(s, &mut fx);
            }
        }
        Message::SliceFailed { view, error } => {
            if let Some(b) = s.browse.as_mut().filter(|b| b.info().id == view.volume) {
                fx.push(Effect::Error(format!(
                    "{} slice {} ({}): {error}",
                    view.axis,
                    view.index + 1,
                    view.window
                )));
                b.volume.fetch_failed();
                b.preview_level = None;
                fx.push(Effect::Render(Part::VolumeControls));
                fx.push(Effect::Render(Part::Canvas));
            }
        }
        Message::Settled { generation } => {
            let still = s
                .browse
                .as_ref()
                .is_some_and(|b| b.volume.generation() == generation && b.volume.settled());
            if still {
                request_embedding(s, &mut fx);
            }
        }
        Message::Volume(edit) => change(
            s,
            |v| match edit {
                VolumeEdit::Step(delta) => v.step(delta),
                VolumeEdit::Index(index) => v.set_index(index),
                VolumeEdit::Axis(axis) => v.set_axis(axis),
                VolumeEdit::Window(window) => v.set_window(window),
            },
            &mut fx,
        ),
        Message::ManualWindow { level, width } => {
            let window = Window::Manual(WindowLevel {
                center: level,
                width,
            });
            if window.validate().is_err() {
                fx.push(Effect::Error(
                    "the window needs a level and a width > 0".into(),
                ));
                fx.push(Effect::Render(Part::VolumeControls));
            } else {
                fx.push(Effect::Error(String::new()));
                change(s, |v| v.set_window(window), &mut fx);
            }
        }
        Message::PointerDown {
            sx,
            sy,
            button,
            ctrl,
        } => pointer_down(s, sx, sy, button, ctrl, &mut fx),
        Message::PointerMove { sx, sy, shift } => pointer_move(s, sx, sy, shift, &mut fx),
        Message::PointerUp { shift } => {
            let Some(drag) = s.view.drag.take() else {
                return fx;
            };
            match drag {
                Drag::Window { start, .. } => {
                    drag_end(s, start, &mut fx);
                    return fx;
                }
                Drag::Prompt {
                    ix,
                    iy,
                    boxing,
                    cx,
                    cy,
                    ..
                } => {
                    if boxing {
                        add_box(s, [ix, iy, cx, cy], &mut fx);
                    } else {
                        click(s, ix, iy, !shift, &mut fx);
                    }
                }
                Drag::Pan { .. } => {}
            }
            fx.push(Effect::Render(Part::Canvas));
        }
        Message::PointerLeave => {
            s.session.preview = None;
            if let Some(Drag::Window { start, .. }) = s.view.drag.take() {
                drag_end(s, start, &mut fx);
            }
            fx.push(Effect::Render(Part::Canvas));
        }
        Message::ContextMenu { sx, sy, ctrl } => {
            // macOS reports Ctrl+click as a context menu: it starts a window drag.
            if !(ctrl && s.browse.is_some()) {
                let (ix, iy) = s.view.view.to_image(sx, sy);
                click(s, ix, iy, false, &mut fx);
            }
        }
        Message::Wheel { sx, sy, delta_y } => {
            s.view.view.zoom_at(sx, sy, (-delta_y * 0.0015).exp());
            fx.push(Effect::Render(Part::Canvas));
        }
        Message::Space(down) => s.view.space_down = down,
        Message::Fit { width, height } => {
            if let Some(image) = &s.scan.image {
                s.view.view = super::View::fit(
                    width.max(1.0),
                    height.max(1.0),
                    image.width as f64,
                    image.height as f64,
                );
            }
            fx.push(Effect::Render(Part::Canvas));
        }
        Message::Resized => fx.push(Effect::Render(Part::Canvas)),
        Message::Undo => {
            if s.session.history.undo() {
                commit(s, &mut fx);
            }
        }
        Message::Redo => {
            if s.session.history.redo() {
                commit(s, &mut fx);
            }
        }
        Message::Clear => edit(s, History::clear, &mut fx),
        Message::Choose(index) => {
            let ok = s
                .session
                .shown
                .as_ref()
                .is_some_and(|shown| index < shown.masks.len())
                && !s.session.history.steps().is_empty();
            if ok {
                edit(s, |h| h.choose(index), &mut fx);
            }
        }
        Message::PaperProtocol => paper_protocol(s, &mut fx),
        Message::Opacity(v) => {
            s.view.opacity = v.clamp(0.0, 1.0);
            fx.push(Effect::Render(Part::Canvas));
        }
        Message::ShowErrors(on) => {
            s.view.show_errors = on;
            fx.push(Effect::Render(Part::Canvas));
        }
        Message::Hover(on) => {
            s.view.hover = on;
            s.session.preview = None;
            fx.push(Effect::Render(Part::Canvas));
        }
        Message::Label(label) => {
            s.session.label = label;
            results(s, &mut fx);
            fx.push(Effect::Render(Part::Canvas));
        }
        Message::ClassJoined { key, room, student } => {
            s.class = Some(Class::new(key, room, student));
            fx.push(Effect::Render(Part::ClassPanel));
            follow(s, &mut fx);
        }
        Message::ClassMoved(class_state) => {
            if let Some(class) = s.class.as_mut() {
                class.state = class_state;
                follow(s, &mut fx);
            }
        }
        Message::ClassResults(cases) => {
            if let Some(class) = s.class.as_mut() {
                class.results = cases;
                fx.push(Effect::Render(Part::ClassResults));
            }
        }
        Message::CaseOpened => answer(s, &mut fx),
        Message::DeckLoaded(deck) => {
            s.deck = deck;
            fx.push(Effect::Render(Part::DeckCases));
        }
        Message::DeckEdited { index, edit } => {
            if s.deck.as_mut().is_some_and(|d| d.apply(index, edit)) {
                fx.push(Effect::Text {
                    id: "deck-status",
                    text: String::new(),
                });
                fx.push(Effect::Render(Part::DeckCases));
            }
        }
        message @ (Message::AuthKnown { .. }
        | Message::Unauthorized { .. }
        | Message::ShowSignIn
        | Message::SignIn(_)
        | Message::SignedIn(_)
        | Message::SignInCancelled
        | Message::SignOut
        | Message::SignedOut) => super::auth::update(&mut s.auth, message, &mut fx),
    }
    fx
}

fn on_reply(s: &mut State, reply: Reply, fx: &mut Vec<Effect>) {
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
            fx.push(Effect::Text {
                id: "backend",
                text: label.trim().to_string(),
            });
            fx.push(Effect::Log(format!(
                "samscope: decoder on {} ({}), loaded in {load_ms:.0} ms, warm-up {warmup_ms:.0} ms{}",
                backend.as_str(),
                if cached {
                    "weights from cache"
                } else {
                    "weights downloaded"
                },
                fallback_reason
                    .map(|r| format!("; WebGPU not used: {r}"))
                    .unwrap_or_default()
            )));
            s.link.ready(backend.as_str(), cached);
            s.view.hover = backend == Backend::Webgpu;
            fx.push(Effect::HoverChecked(s.view.hover));
            request_embedding(s, fx);
            if s.scan.image.is_none() {
                fx.push(Effect::status(
                    "Decoder ready. Upload a scan or pick a demo.",
                ));
            }
        }
        Reply::ImageReady { .. } => {
            // The worker answers in order: this is the oldest request's image.
            let image = s.scan.image.as_ref().map(|i| i.id.as_str());
            if s.link.embedding_arrived(image) {
                fx.push(Effect::status(
                    "Ready: drag a box around the structure, or click inside it.",
                ));
                commit(s, fx);
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
            let masks = split_masks(width as usize, height as usize, &masks);
            s.link.decode_ms = decode_ms;
            fx.push(Effect::Text {
                id: "decode-ms",
                text: format!("{decode_ms:.0} ms"),
            });
            let sent = s.link.decode_ended();
            if preview {
                let best = masks.into_iter().nth(best_index(&iou_predictions));
                s.session
                    .set_preview(if s.view.hover { best } else { None });
                fx.push(Effect::Render(Part::Canvas));
            } else if seq == s.link.committed_seq {
                s.session.show(masks, iou_predictions);
                fx.push(Effect::Render(Part::Labels));
                results(s, fx);
                fx.push(Effect::Render(Part::Canvas));
            }
            fx.extend(sent.map(Effect::Post));
        }
        Reply::Checked { .. } => {}
        Reply::Failed {
            context, message, ..
        } => {
            fx.push(Effect::Error(format!("{context}: {message}")));
            if context == "set-image" {
                s.link.embedding_requests.pop_front();
            }
            if context == "decode" {
                fx.extend(s.link.decode_ended().map(Effect::Post));
            }
        }
    }
}

/// Clamps an image position to a pixel index inside the image.
fn pixel(s: &State, x: f64, y: f64) -> Option<(f64, f64)> {
    let image = s.scan.image.as_ref()?;
    let clamp = |v: f64, n: usize| v.floor().clamp(0.0, n as f64 - 1.0);
    Some((clamp(x, image.width), clamp(y, image.height)))
}

/// A click: delete the point under it, else add a point.
fn click(s: &mut State, ix: f64, iy: f64, positive: bool, fx: &mut Vec<Effect>) {
    let radius = HIT_RADIUS_PX / s.view.view.scale;
    if let Some(index) = s.session.history.point_near(ix - 0.5, iy - 0.5, radius) {
        edit(s, |h| h.remove(index), fx);
        return;
    }
    if let Some((x, y)) = pixel(s, ix, iy) {
        edit(s, |h| h.push(Action::Point { x, y, positive }), fx);
    }
}

fn add_box(s: &mut State, c: [f64; 4], fx: &mut Vec<Effect>) {
    let (Some((x0, y0)), Some((x1, y1))) = (
        pixel(s, c[0].min(c[2]), c[1].min(c[3])),
        pixel(s, c[0].max(c[2]), c[1].max(c[3])),
    ) else {
        return;
    };
    edit(s, |h| h.push(Action::Box { x0, y0, x1, y1 }), fx);
}

fn pointer_down(s: &mut State, sx: f64, sy: f64, button: i16, ctrl: bool, fx: &mut Vec<Effect>) {
    let pan = button == 1 || s.view.space_down;
    // Ctrl+drag on a volume slice: window width (↔) and level (↕).
    let window = (button == 0 && ctrl)
        .then(|| s.browse.as_ref().and_then(Browse::drag_start))
        .flatten();
    let drag = if pan {
        Drag::Pan { x: sx, y: sy }
    } else if let Some(start) = window {
        Drag::Window { sx, sy, start }
    } else if button == 0 {
        let (ix, iy) = s.view.view.to_image(sx, sy);
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
    fx.push(Effect::Consumed);
    s.view.drag = Some(drag);
}

fn pointer_move(s: &mut State, sx: f64, sy: f64, shift: bool, fx: &mut Vec<Effect>) {
    match s.view.drag {
        Some(Drag::Pan { x, y }) => {
            s.view.view.ox += sx - x;
            s.view.view.oy += sy - y;
            s.view.drag = Some(Drag::Pan { x: sx, y: sy });
            fx.push(Effect::Render(Part::Canvas));
        }
        Some(Drag::Prompt {
            sx: x0,
            sy: y0,
            ix,
            iy,
            boxing,
            ..
        }) => {
            let (cx, cy) = s.view.view.to_image(sx, sy);
            let boxing = boxing || (sx - x0).hypot(sy - y0) > BOX_THRESHOLD_PX;
            s.view.drag = Some(Drag::Prompt {
                sx: x0,
                sy: y0,
                ix,
                iy,
                boxing,
                cx,
                cy,
            });
            fx.push(Effect::Render(Part::Canvas));
        }
        Some(Drag::Window {
            sx: x0,
            sy: y0,
            start,
        }) => {
            let Some(range) = s.browse.as_ref().map(|b| b.info().value_range) else {
                return;
            };
            preview_window(s, dragged_window(start, sx - x0, sy - y0, range), fx);
            fx.push(Effect::Render(Part::VolumeControls));
        }
        None => hover(s, sx, sy, shift, fx),
    }
}

/// Hover preview: the committed steps plus a click under the pointer; only the latest
/// position is decoded (older ones are replaced while a decode runs).
fn hover(s: &mut State, sx: f64, sy: f64, shift: bool, fx: &mut Vec<Effect>) {
    if !s.view.hover {
        return;
    }
    let (ix, iy) = s.view.view.to_image(sx, sy);
    let Some((x, y)) = pixel(s, ix, iy) else {
        return;
    };
    let inside = s
        .scan
        .image
        .as_ref()
        .is_some_and(|i| ix >= 0.0 && iy >= 0.0 && ix < i.width as f64 && iy < i.height as f64);
    if !inside {
        return;
    }
    let mut steps = s.session.history.steps().to_vec();
    steps.push(Step {
        action: Action::Point {
            x,
            y,
            positive: !shift,
        },
        chosen: None,
    });
    fx.extend(s.link.decode(steps, true).map(Effect::Post));
}

// --- teaching

/// Follows the class: opens its current case if it is not on screen (the answer part
/// comes once it is, [`Message::CaseOpened`]).
fn follow(s: &mut State, fx: &mut Vec<Effect>) {
    let Some(class) = s.class.as_mut() else {
        return;
    };
    let current = class.state.current;
    let Some(case) = class.room.cases.get(current).cloned() else {
        return;
    };
    fx.push(Effect::Render(Part::ClassProgress));
    if class.shown != Some(current) {
        class.shown = Some(current);
        class.answer_shown = false;
        class.posted = None;
        fx.push(Effect::OpenCase(Box::new(case)));
    } else {
        answer(s, fx);
    }
}

/// Shows the current case's answer once revealed (always to the instructor); a newly
/// revealed answer runs the paper protocol.
fn answer(s: &mut State, fx: &mut Vec<Effect>) {
    let Some(class) = s.class.as_mut() else {
        return;
    };
    let revealed = class.revealed();
    let show_answer = revealed || class.role == Role::Instructor;
    let newly = revealed && !class.answer_shown;
    class.answer_shown = show_answer;
    let has_gt = class
        .room
        .cases
        .get(class.state.current)
        .is_some_and(|c| c.gt.is_some());
    fx.push(Effect::AnswerControls(show_answer));
    fx.push(Effect::Render(Part::ClassResults));
    if newly && has_gt {
        if s.session.label.is_some() {
            paper_protocol(s, fx);
        } else {
            fx.push(Effect::Text {
                id: "paper-result",
                text:
                    "Answer revealed: pick the object under Ground truth, then Paper protocol (P)."
                        .into(),
            });
        }
    }
}
