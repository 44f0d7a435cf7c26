//! The volume controls around [`VolumeState`]: axis, slice slider and keys, window
//! presets, manual level/width and the Ctrl+drag gesture with its instant preview;
//! fetching slices (one request at a time, the latest wanted wins), prompts and ground
//! truth kept per slice, and label volumes as the ground truth of every slice.
//!
//! A slice is asked for as soon as the controls move and shown when it arrives, but its
//! embedding (an encoder run on the server) is asked for only once the slice has stayed
//! put for [`SETTLE_MS`], so scrolling through a volume runs no encoder.

use serde_json::{Value, json};
use wasm_bindgen_futures::spawn_local;
use web_sys::{HtmlElement, HtmlInputElement, HtmlOptionElement, HtmlSelectElement};

use crate::ground_truth::GroundTruth;
use crate::history::History;
use crate::ui::api;
use crate::ui::app::{
    self, App, Shared, install_image, redraw, refresh_labels, take_pending_gt, update_results, with,
};
use crate::ui::dom::{by_id, document, listen, set_text, show_error, sleep_ms};
use crate::ui::render;
use crate::volume::{
    Arrival, Axis, SliceInfo, SliceKey, SliceView, SliceWindowLevel, VolumeInfo, VolumeSlicing,
    VolumeState, Window, WindowLevel, check_label_grid, dragged_window, known_level,
    label_slice_png, position_label, preview_lut, short_number, slice_label, window_choices,
};

/// How long a slice must stay on screen before its embedding is asked for, ms.
pub const SETTLE_MS: i32 = 250;

/// What a slice keeps while another one is shown.
#[derive(Default)]
pub struct SliceMemory {
    /// Its prompts, with undo/redo.
    pub history: History,
    /// Its ground truth (id, labels).
    pub gt: Option<(String, GroundTruth)>,
    /// The object its metrics use.
    pub label: Option<u16>,
    /// Its IoU-per-click chart.
    pub chart: Vec<Option<f64>>,
}

/// The view on screen, when the scan is a volume.
pub fn shown_view(a: &App) -> Option<SliceView> {
    a.volume.as_ref()?.shown_view().cloned()
}

/// The volume part of `window.samscopeState()`.
pub fn state_json(a: &App) -> Value {
    let Some(v) = a.volume.as_ref() else {
        return Value::Null;
    };
    let target = v.target();
    let shown = v.shown().map(|(view, slice)| {
        json!({
            "axis": view.axis.as_str(), "index": view.index, "window": view.window.to_string(),
            "image": slice.id, "lower": slice.window.lower, "upper": slice.window.upper,
            "position": position_label(view.axis, slice.origin_lps, v.info.oriented),
        })
    });
    json!({
        "id": v.info.id,
        "axis": target.axis.as_str(),
        "index": target.index,
        "window": target.window.to_string(),
        "slices": v.info.slice_count(target.axis),
        "shown": shown,
        "settled": v.settled(),
        "label_volume": a.label_volume.is_some(),
        "preview": a.preview_level.map(|w| [w.lower(), w.upper()]),
    })
}

/// Starts browsing a volume at `view` (a share link's), else at its first view.
pub fn open_volume(app: &Shared, info: VolumeInfo, view: Option<SliceView>) {
    let wanted = view.unwrap_or_else(|| info.initial_view());
    let state = VolumeState::new(info.clone(), wanted).unwrap_or_else(|e| {
        show_error(&format!("this link's slice cannot be shown: {e}"));
        // Its prompts and ground truth belong to that slice, not to the first one.
        with(app, |a| {
            a.link_steps = None;
            a.pending_gt = None;
            a.expected_image = None;
            a.label = None;
        });
        VolumeState::new(info.clone(), info.initial_view())
            .expect("the first view lies inside the volume")
    });
    with(app, |a| {
        a.volume = Some(state);
        a.label_volume = None;
        a.image = None;
        a.shown = None;
        a.preview = None;
        a.window_preview = None;
        a.preview_level = None;
        a.preview_source = None;
        a.history = History::default();
        a.gt = None;
        a.chart.clear();
        a.embedding_ready = false;
    });
    fill_controls(app);
    by_id::<HtmlElement>("volume-panel").set_hidden(false);
    set_text("status", "Cutting the slice…");
    update_controls(app);
    update_results(app);
    redraw(app);
    fetch(app);
}

/// Leaves volume mode (a 2-D scan was opened).
pub fn close(app: &Shared) {
    with(app, |a| {
        a.volume = None;
        a.label_volume = None;
        a.window_preview = None;
        a.preview_level = None;
        a.preview_source = None;
    });
    by_id::<HtmlElement>("volume-panel").set_hidden(true);
}

fn option(select: &HtmlSelectElement, value: &str, text: &str) {
    if let Ok(option) = HtmlOptionElement::new_with_text_and_value(text, value) {
        select.add_with_html_option_element(&option).ok();
    }
}

/// Fills the axis and window lists for the volume.
fn fill_controls(app: &Shared) {
    let Some((axes, windows)) = with(app, |a| {
        let v = a.volume.as_ref()?;
        let mut axes = v.info.axes();
        if !axes.contains(&v.target().axis) {
            axes.push(v.target().axis);
        }
        Some((axes, window_choices(&v.info)))
    }) else {
        return;
    };
    let axis: HtmlSelectElement = by_id("axis");
    axis.set_inner_html("");
    for a in &axes {
        option(&axis, a.as_str(), a.as_str());
    }
    axis.set_disabled(axes.len() < 2);
    let window: HtmlSelectElement = by_id("window");
    window.set_inner_html("");
    for (value, text) in &windows {
        option(&window, value, text);
    }
    option(&window, "manual", "manual (level / width)");
}

fn focused(id: &str) -> bool {
    document().active_element().is_some_and(|el| el.id() == id)
}

/// Shows the target view in the controls (slice k / n, position, window numbers).
pub fn update_controls(app: &Shared) {
    struct Controls {
        axis: Axis,
        index: usize,
        count: usize,
        window: Window,
        position: Option<String>,
        level: Option<WindowLevel>,
        bounds: String,
    }
    let Some(c) = with(app, |a| {
        let v = a.volume.as_ref()?;
        let target = v.target();
        let shown = v.shown().filter(|(view, _)| view.key() == target.key());
        let position = shown
            .and_then(|(view, slice)| position_label(view.axis, slice.origin_lps, v.info.oriented));
        let rendered = v
            .shown()
            .filter(|(view, _)| view == target)
            .and_then(|(_, slice)| slice.window.level());
        let level = a
            .preview_level
            .or_else(|| known_level(&v.info, &target.window))
            .or(rendered);
        let bounds = match level {
            Some(w) => format!("[{}, {}]", short_number(w.lower()), short_number(w.upper())),
            None => String::new(),
        };
        Some(Controls {
            axis: target.axis,
            index: target.index,
            count: v.info.slice_count(target.axis),
            window: target.window,
            position,
            level,
            bounds,
        })
    }) else {
        return;
    };
    by_id::<HtmlSelectElement>("axis").set_value(c.axis.as_str());
    let slider: HtmlInputElement = by_id("slice");
    slider.set_max(&c.count.saturating_sub(1).to_string());
    slider.set_value(&c.index.to_string());
    slider.set_disabled(c.count < 2);
    set_text("slice-label", &slice_label(c.index, c.count));
    set_text("slice-position", c.position.as_deref().unwrap_or(""));
    let window_value = match c.window {
        Window::Manual(_) => "manual".to_string(),
        other => other.to_string(),
    };
    let select: HtmlSelectElement = by_id("window");
    select.set_value(&window_value);
    if select.value() != window_value {
        // A window the list does not offer (from a link): add it.
        option(&select, &window_value, &window_value);
        select.set_value(&window_value);
    }
    for (id, value) in [
        ("window-level", c.level.map(|w| w.center)),
        ("window-width", c.level.map(|w| w.width)),
    ] {
        if !focused(id) {
            let input: HtmlInputElement = by_id(id);
            input.set_value(&value.map(short_number).unwrap_or_default());
        }
    }
    set_text("window-bounds", &c.bounds);
}

/// Fetches slices until the one shown is the one wanted (a no-op while a fetch runs: that
/// one picks up the newest target when it ends).
pub fn fetch(app: &Shared) {
    let app = app.clone();
    spawn_local(async move { fetch_loop(app).await });
}

async fn fetch_loop(app: Shared) {
    loop {
        let Some(view) = with(&app, |a| a.volume.as_mut()?.next_fetch()) else {
            return;
        };
        let result = match api::slice(&view).await {
            Ok(slice) => app::load_image(&slice.id)
                .await
                .map(|element| (slice, element)),
            Err(e) => Err(e),
        };
        let same_volume = with(&app, |a| {
            a.volume.as_ref().is_some_and(|v| v.info.id == view.volume)
        });
        if !same_volume {
            return;
        }
        match result {
            Ok((slice, element)) => arrive(&app, view, slice, element),
            Err(e) => {
                show_error(&format!(
                    "{} slice {} ({}): {e}",
                    view.axis,
                    view.index + 1,
                    view.window
                ));
                with(&app, |a| {
                    if let Some(v) = a.volume.as_mut() {
                        v.fetch_failed();
                    }
                    a.window_preview = None;
                    a.preview_level = None;
                });
                update_controls(&app);
                redraw(&app);
                return;
            }
        }
    }
}

/// A fetched slice goes on screen; on a new slice, the old one's prompts and ground truth
/// are put aside and the new one's brought back.
fn arrive(app: &Shared, view: SliceView, slice: SliceInfo, element: web_sys::HtmlImageElement) {
    let key = view.key();
    let (size_changed, settled, needs_labels) = with(app, |a| {
        let old_size = a.image.as_ref().map(|i| (i.width, i.height));
        let Some(volume) = a.volume.as_mut() else {
            return (false, false, false);
        };
        let arrival = volume.arrived(view.clone(), slice.clone());
        if let Some(expected) = a.expected_image.take()
            && expected != slice.id
        {
            show_error(
                "this link's slice renders to another image on this server (another version?); its mask may differ",
            );
        }
        let mut needs_labels = false;
        if let Arrival::NewSlice { previous } = arrival {
            let current = SliceMemory {
                history: std::mem::take(&mut a.history),
                gt: a.gt.take(),
                label: a.label,
                chart: std::mem::take(&mut a.chart),
            };
            let volume = a.volume.as_mut().expect("checked above");
            if let Some(previous) = previous {
                volume.remember(previous, current);
            }
            match volume.recall(key) {
                Some(memory) => {
                    needs_labels = memory.gt.is_none() && a.label_volume.is_some();
                    a.history = memory.history;
                    a.gt = memory.gt;
                    a.label = memory.label.or(if needs_labels { a.label } else { None });
                    a.chart = memory.chart;
                }
                None if previous.is_none() => {
                    // The first slice: a share link's prompts, ground truth and object.
                    a.history = History::starting_at(a.link_steps.take().unwrap_or_default());
                }
                None => {
                    // A slice not visited yet: no prompts; with a label volume, its labels
                    // (the object chosen so far is kept).
                    needs_labels = a.label_volume.is_some();
                    if !needs_labels {
                        a.label = None;
                    }
                }
            }
        }
        install_image(a, &slice.id, element);
        if a.pending_gt.is_some() {
            a.gt = take_pending_gt(a);
        }
        let size = a.image.as_ref().map(|i| (i.width, i.height));
        let settled = a.volume.as_ref().is_some_and(VolumeState::settled);
        (size != old_size, settled, needs_labels)
    });
    if size_changed {
        app::fit(app);
    }
    refresh_labels(app);
    update_results(app);
    update_controls(app);
    redraw(app);
    if needs_labels {
        let app = app.clone();
        spawn_local(async move { label_ground_truth(&app, key).await });
    }
    if settled {
        set_text(
            "status",
            "Slice shown; its embedding follows when it stays put.",
        );
        schedule_embedding(app);
    }
}

/// Asks for the embedding once the slice has stayed put for [`SETTLE_MS`].
fn schedule_embedding(app: &Shared) {
    let Some(generation) = with(app, |a| a.volume.as_ref().map(VolumeState::generation)) else {
        return;
    };
    let app = app.clone();
    spawn_local(async move {
        sleep_ms(SETTLE_MS).await;
        let still = with(&app, |a| {
            a.volume
                .as_ref()
                .is_some_and(|v| v.generation() == generation && v.settled())
        });
        if still {
            app::request_embedding(&app);
        }
    });
}

/// Applies a change of the wanted view; previews a window change and fetches.
fn change(app: &Shared, f: impl FnOnce(&mut VolumeState<SliceMemory>) -> bool) {
    let changed = with(app, |a| a.volume.as_mut().is_some_and(f));
    if !changed {
        update_controls(app);
        return;
    }
    let wanted = with(app, |a| {
        let v = a.volume.as_ref()?;
        let target = v.target();
        let (shown, _) = v.shown()?;
        (shown.key() == target.key() && shown.window != target.window)
            .then(|| known_level(&v.info, &target.window))
            .flatten()
    });
    if let Some(level) = wanted {
        preview_window(app, level);
    }
    update_controls(app);
    fetch(app);
}

/// Moves `delta` slices.
pub fn step(app: &Shared, delta: i64) {
    change(app, |v| v.step(delta));
}

/// Whether a volume is open.
pub fn active(app: &Shared) -> bool {
    app.borrow().volume.is_some()
}

/// Shows the slice on screen as `wanted` would render it, at once, from its own pixels
/// (see [`preview_lut`]); the server's rendering replaces it when it arrives.
pub fn preview_window(app: &Shared, wanted: WindowLevel) {
    with(app, |a| {
        let Some(image) = a.image.as_ref() else {
            return;
        };
        let Some((shown_level, inverted)) = a
            .volume
            .as_ref()
            .and_then(|v| v.shown())
            .and_then(|(_, slice)| Some((slice.window.level()?, slice.window.inverted)))
        else {
            return;
        };
        if a.preview_source.as_ref().map(|(id, _)| id) != Some(&image.id) {
            a.preview_source = render::pixels(&image.element).map(|px| (image.id.clone(), px));
        }
        let Some((_, rgba)) = &a.preview_source else {
            return;
        };
        let lut = preview_lut(shown_level, wanted, inverted);
        a.window_preview = render::remapped(rgba, image.width as u32, image.height as u32, &lut);
        a.preview_level = Some(wanted);
    });
    redraw(app);
}

/// The window a Ctrl+drag starts from: the one previewed, else the slice's.
pub fn drag_start(app: &Shared) -> Option<WindowLevel> {
    let a = app.borrow();
    let v = a.volume.as_ref()?;
    a.preview_level.or_else(|| v.shown()?.1.window.level())
}

/// During a Ctrl+drag: the window for a move of `(dx, dy)` pixels, previewed.
pub fn drag_to(app: &Shared, start: WindowLevel, dx: f64, dy: f64) {
    let Some(range) = with(app, |a| a.volume.as_ref().map(|v| v.info.value_range)) else {
        return;
    };
    preview_window(app, dragged_window(start, dx, dy, range));
    update_controls(app);
}

/// The end of a Ctrl+drag: the previewed window is asked of the server.
pub fn drag_end(app: &Shared, start: WindowLevel) {
    let level = app.borrow().preview_level;
    if let Some(level) = level.filter(|l| *l != start) {
        change(app, |v| v.set_window(Window::Manual(level)));
    }
}

/// Wires the volume controls.
pub fn wire(app: &Shared) {
    {
        let app = app.clone();
        listen::<web_sys::Event>(&by_id("axis"), "change", move |_| {
            let value = by_id::<HtmlSelectElement>("axis").value();
            if let Ok(axis) = value.parse::<Axis>() {
                change(&app, |v| v.set_axis(axis));
            }
        });
    }
    {
        let app = app.clone();
        listen::<web_sys::Event>(&by_id("slice"), "input", move |_| {
            let value = by_id::<HtmlInputElement>("slice").value_as_number();
            if value.is_finite() && value >= 0.0 {
                change(&app, |v| v.set_index(value as usize));
            }
        });
    }
    {
        let app = app.clone();
        listen::<web_sys::Event>(&by_id("window"), "change", move |_| {
            let value = by_id::<HtmlSelectElement>("window").value();
            if value == "manual" {
                manual_window(&app);
            } else if let Ok(window) = value.parse::<Window>() {
                change(&app, |v| v.set_window(window));
            }
        });
    }
    for id in ["window-level", "window-width"] {
        let app = app.clone();
        listen::<web_sys::Event>(&by_id(id), "change", move |_| manual_window(&app));
    }
}

/// The level and width typed in, as a manual window.
fn manual_window(app: &Shared) {
    let level = by_id::<HtmlInputElement>("window-level").value_as_number();
    let width = by_id::<HtmlInputElement>("window-width").value_as_number();
    let window = Window::Manual(WindowLevel {
        center: level,
        width,
    });
    if window.validate().is_err() {
        show_error("the window needs a level and a width > 0");
        update_controls(app);
        return;
    }
    show_error("");
    change(app, |v| v.set_window(window));
}

/// Loads a label volume (NIfTI, NRRD, MetaImage, DICOM) as the ground truth of every slice: it must
/// lie on the scan's grid; each slice's labels are cut the same way as the scan's slice
/// and stored on the server as that slice's mask (so share links carry it).
pub async fn open_label_volume(app: &Shared, bytes: &[u8]) {
    let checked = with(app, |a| {
        let v = a.volume.as_ref()?;
        Some(
            imaging::decode_labels(bytes, &imaging::Limits::default())
                .map_err(|e| format!("the label volume: {e}"))
                .and_then(|labels| check_label_grid(&v.info, &labels).map(|()| labels)),
        )
    });
    let labels = match checked {
        None => {
            show_error("a label volume is the ground truth of a volume: open the scan first");
            return;
        }
        Some(Err(e)) => {
            show_error(&e);
            return;
        }
        Some(Ok(labels)) => labels,
    };
    let key = with(app, |a| {
        a.label_volume = Some(labels);
        a.gt = None;
        a.label = None;
        let v = a.volume.as_mut()?;
        for memory in v.memories_mut() {
            memory.gt = None;
        }
        v.shown_view().map(SliceView::key)
    });
    show_error("");
    refresh_labels(app);
    update_results(app);
    app::rebuild_overlay(app);
    if let Some(key) = key {
        label_ground_truth(app, key).await;
    }
}

/// Cuts slice `key` of the label volume, stores it as a mask and makes it the ground truth
/// (if that slice is still on screen).
async fn label_ground_truth(app: &Shared, key: SliceKey) {
    let cut = with(app, |a| {
        let labels = a.label_volume.as_ref()?;
        Some(label_slice_png(labels, key.0, key.1))
    });
    let png = match cut {
        None => return,
        Some(Err(e)) => {
            show_error(&e);
            return;
        }
        Some(Ok(None)) => {
            set_text("status", "No labelled voxel on this slice.");
            return;
        }
        Some(Ok(Some(png))) => png,
    };
    let Some((width, height)) = app.borrow().image.as_ref().map(|i| (i.width, i.height)) else {
        return;
    };
    let gt = match GroundTruth::decode(&png, width, height) {
        Ok(gt) => gt,
        Err(e) => {
            show_error(&e);
            return;
        }
    };
    let uploaded = match api::upload("/api/v1/masks", &png).await {
        Ok(u) => u,
        Err(e) => {
            show_error(&format!("a label slice was not accepted: {e}"));
            return;
        }
    };
    let applied = with(app, |a| {
        let current = a.volume.as_ref()?.shown_view()?.key() == key;
        if !current || a.gt.is_some() {
            return None;
        }
        let labels = gt.labels();
        let kept = a.label.filter(|l| labels.iter().any(|(v, _)| v == l));
        a.label = kept.or_else(|| gt.label_for(a.history.steps()));
        a.gt = Some((uploaded.id, gt));
        Some(())
    });
    if applied.is_some() {
        refresh_labels(app);
        update_results(app);
        app::rebuild_overlay(app);
        set_text(
            "status",
            "Ground truth from the label volume: the metrics follow every decode.",
        );
    }
}
