//! Draws the page from the [`State`]: the canvas (with cached overlays), the results
//! panel, the object list, the volume controls, the class panel and the deck's case list.

use wasm_bindgen::JsCast;
use web_sys::{
    HtmlButtonElement, HtmlCanvasElement, HtmlElement, HtmlInputElement, HtmlOptionElement,
    HtmlSelectElement,
};

use crate::classroom::{Role, histogram_lines, notes_html};
use crate::state::{Part, State};
use crate::ui::dom::{by_id, document, set_text};
use crate::ui::handles::{Dom, OverlayKey};
use crate::ui::render::{self, Scene};
use crate::volume::{SliceWindowLevel, VolumeSlicing};
use crate::volume::{
    Window, known_level, position_label, short_number, slice_label, window_choices,
};

/// Draws `part` of the page.
pub fn render(part: Part, state: &State, dom: &mut Dom) {
    match part {
        Part::Canvas => canvas(state, dom),
        Part::Results => results(state),
        Part::Labels => labels(state),
        Part::VolumeControls => volume_controls(state),
        Part::ClassPanel => class_panel(state),
        Part::ClassProgress => class_progress(state),
        Part::ClassResults => class_results(state),
        Part::DeckCases => deck_cases(state),
        Part::Auth => auth_controls(state),
    }
}

/// Brings the cached overlay canvases up to the state.
fn refresh_layers(state: &State, dom: &mut Dom) {
    let session = &state.session;
    match &session.shown {
        Some(shown) => {
            let errors = session.errors(state.view.show_errors);
            let key: OverlayKey = (
                session.shown_count,
                shown.chosen(),
                errors.and_then(|(_, label)| Some((session.gt.as_ref()?.0.clone(), label))),
            );
            if dom.overlay.as_ref().map(|(k, _)| k) != Some(&key) {
                dom.overlay = Some((key, render::overlay(shown.mask(), errors)));
            }
        }
        None => dom.overlay = None,
    }
    match &session.preview {
        Some(mask) => {
            if dom.preview.as_ref().map(|(n, _)| *n) != Some(session.preview_count) {
                dom.preview = Some((session.preview_count, render::overlay(mask, None)));
            }
        }
        None => dom.preview = None,
    }
    let wanted = state.scan.image.as_ref().and_then(|image| {
        let lut = state.browse.as_ref()?.preview_lut()?;
        Some((image.clone(), lut))
    });
    match wanted {
        Some((image, lut)) => {
            let key = (image.id.clone(), lut);
            if dom.window_preview.as_ref().map(|(k, _)| k) == Some(&key) {
                return;
            }
            if dom.preview_source.as_ref().map(|(id, _)| id) != Some(&image.id) {
                dom.preview_source = dom
                    .images
                    .get(&image.id)
                    .and_then(render::pixels)
                    .map(|px| (image.id.clone(), px));
            }
            dom.window_preview = dom.preview_source.as_ref().and_then(|(_, rgba)| {
                let canvas = render::remapped(rgba, image.width as u32, image.height as u32, &lut)?;
                Some((key, canvas))
            });
        }
        None => dom.window_preview = None,
    }
}

fn canvas(state: &State, dom: &mut Dom) {
    refresh_layers(state, dom);
    let image = state
        .scan
        .image
        .as_ref()
        .and_then(|i| dom.images.get(&i.id));
    let scene = Scene {
        image,
        image_preview: dom.window_preview.as_ref().map(|(_, c)| c),
        overlay: dom.overlay.as_ref().map(|(_, c)| c),
        preview: dom.preview.as_ref().map(|(_, c)| c),
        opacity: state.view.opacity,
        steps: state.session.history.steps(),
        dragging: state.view.drag.and_then(|d| d.dragging_box()),
        view: state.view.view,
    };
    render::draw(&by_id::<HtmlCanvasElement>("view"), &scene);
}

/// Candidates, metrics, chart, undo/redo.
fn results(state: &State) {
    let session = &state.session;
    let holder: HtmlElement = by_id("candidates");
    holder.set_inner_html("");
    let (ious, chosen) = session
        .shown
        .as_ref()
        .map(|s| (s.ious.clone(), s.chosen()))
        .unwrap_or_default();
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
    match session.overlap() {
        Some(m) => {
            set_text("dice", &format!("{:.4}", m.dice));
            set_text("iou", &format!("{:.4}", m.iou));
        }
        None => {
            set_text("dice", "–");
            set_text("iou", "–");
        }
    }
    render::chart(&by_id("chart"), &session.chart);
    by_id::<HtmlButtonElement>("undo").set_disabled(!session.history.can_undo());
    by_id::<HtmlButtonElement>("redo").set_disabled(!session.history.can_redo());
}

/// The object list of the ground truth.
fn labels(state: &State) {
    let select: HtmlSelectElement = by_id("gt-label");
    select.set_inner_html("");
    let labels = state
        .session
        .gt
        .as_ref()
        .map(|(_, gt)| gt.labels())
        .unwrap_or_default();
    let none = HtmlOptionElement::new_with_text_and_value("—", "").expect("option");
    select.add_with_html_option_element(&none).ok();
    for (value, count) in labels {
        let text = format!("label {value} ({count} px)");
        if let Ok(option) = HtmlOptionElement::new_with_text_and_value(&text, &value.to_string()) {
            option.set_selected(Some(value) == state.session.label);
            select.add_with_html_option_element(&option).ok();
        }
    }
}

fn option(select: &HtmlSelectElement, value: &str, text: &str) {
    if let Ok(option) = HtmlOptionElement::new_with_text_and_value(text, value) {
        select.add_with_html_option_element(&option).ok();
    }
}

/// Shows (filling the axis and window lists) or hides the volume panel.
pub fn volume_panel(state: &State, open: bool) {
    let panel: HtmlElement = by_id("volume-panel");
    let Some(b) = state.browse.as_ref().filter(|_| open) else {
        panel.set_hidden(true);
        return;
    };
    let v = &b.volume;
    let mut axes = v.info.axes();
    if !axes.contains(&v.target().axis) {
        axes.push(v.target().axis);
    }
    let axis: HtmlSelectElement = by_id("axis");
    axis.set_inner_html("");
    for a in &axes {
        option(&axis, a.as_str(), a.as_str());
    }
    axis.set_disabled(axes.len() < 2);
    let window: HtmlSelectElement = by_id("window");
    window.set_inner_html("");
    for (value, text) in &window_choices(&v.info) {
        option(&window, value, text);
    }
    option(&window, "manual", "manual (level / width)");
    panel.set_hidden(false);
}

fn focused(id: &str) -> bool {
    document().active_element().is_some_and(|el| el.id() == id)
}

/// Shows the target view in the controls (slice k / n, position, window numbers).
fn volume_controls(state: &State) {
    let Some(b) = state.browse.as_ref() else {
        return;
    };
    let v = &b.volume;
    let target = v.target();
    let shown = v.shown().filter(|(view, _)| view.key() == target.key());
    let position = shown
        .and_then(|(view, slice)| position_label(view.axis, slice.origin_lps, v.info.oriented));
    let rendered = v
        .shown()
        .filter(|(view, _)| view == target)
        .and_then(|(_, slice)| slice.window.level());
    let level = b
        .preview_level
        .or_else(|| known_level(&v.info, &target.window))
        .or(rendered);
    let bounds = match level {
        Some(w) => format!("[{}, {}]", short_number(w.lower()), short_number(w.upper())),
        None => String::new(),
    };
    let count = v.info.slice_count(target.axis);
    by_id::<HtmlSelectElement>("axis").set_value(target.axis.as_str());
    let slider: HtmlInputElement = by_id("slice");
    slider.set_max(&count.saturating_sub(1).to_string());
    slider.set_value(&target.index.to_string());
    slider.set_disabled(count < 2);
    set_text("slice-label", &slice_label(target.index, count));
    set_text("slice-position", position.as_deref().unwrap_or(""));
    let window_value = match target.window {
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
        ("window-level", level.map(|w| w.center)),
        ("window-width", level.map(|w| w.width)),
    ] {
        if !focused(id) {
            let input: HtmlInputElement = by_id(id);
            input.set_value(&value.map(short_number).unwrap_or_default());
        }
    }
    set_text("window-bounds", &bounds);
}

/// The case list, role and controls of the class panel.
fn class_panel(state: &State) {
    let Some(class) = state.class.as_ref() else {
        return;
    };
    let role = class.role;
    by_id::<HtmlElement>("class-panel").set_hidden(false);
    set_text(
        "class-role",
        match role {
            Role::Instructor => "· instructor",
            Role::Student => "· student",
        },
    );
    set_text("class-title", &class.room.title);
    let list: HtmlElement = by_id("class-cases");
    list.set_inner_html("");
    for (index, case) in class.room.cases.iter().enumerate() {
        let Ok(item) = document().create_element("li") else {
            continue;
        };
        let Ok(button) = document().create_element("button") else {
            continue;
        };
        let button: HtmlButtonElement = button.unchecked_into();
        let name = if case.title.is_empty() {
            format!("Case {}", index + 1)
        } else {
            case.title.clone()
        };
        button.set_text_content(Some(&name));
        button.set_id(&format!("class-case-{index}"));
        // The instructor's clicks are handled on the list (`ui::classroom`).
        button.set_disabled(role != Role::Instructor);
        item.append_child(&button).ok();
        list.append_child(&item).ok();
    }
    by_id::<HtmlElement>("reveal").set_hidden(role != Role::Instructor);
    by_id::<HtmlElement>("class-results").set_hidden(role != Role::Instructor);
}

/// The class's current case in the list, the reveal button and the state line.
fn class_progress(state: &State) {
    let Some(class) = state.class.as_ref() else {
        return;
    };
    let current = class.state.current;
    let count = class.room.cases.len();
    for index in 0..count {
        if let Some(button) = document().get_element_by_id(&format!("class-case-{index}")) {
            button.set_class_name(if index == current { "chosen" } else { "" });
        }
    }
    let revealed = class.revealed();
    by_id::<HtmlButtonElement>("reveal").set_text_content(Some(if revealed {
        "Hide answer"
    } else {
        "Reveal answer"
    }));
    set_text(
        "class-state",
        &format!(
            "Case {} of {count}{}",
            current + 1,
            if revealed { " · answer revealed" } else { "" }
        ),
    );
}

/// The instructor's summary of the current case.
fn class_results(state: &State) {
    let Some(class) = state.class.as_ref().filter(|c| c.role == Role::Instructor) else {
        return;
    };
    let current = class.state.current;
    let text = match class.results.get(current) {
        Some(r) if r.students > 0 => {
            let mut lines = vec![
                format!(
                    "Case {}: {} student{}",
                    current + 1,
                    r.students,
                    if r.students == 1 { "" } else { "s" }
                ),
                format!(
                    "Dice mean {:.4} · median {:.4} · IoU mean {:.4}",
                    r.mean_dice, r.median_dice, r.mean_iou
                ),
                format!("Prompts per student: {:.1}", r.mean_clicks),
                format!(
                    "Dice: {}",
                    r.dice
                        .iter()
                        .map(|d| format!("{d:.4}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
            ];
            lines.extend(histogram_lines(&r.histogram));
            lines.join("\n")
        }
        _ => format!("Case {}: no results yet", current + 1),
    };
    set_text("class-results", &text);
}

/// A case's notes, as HTML from their Markdown.
pub fn case_notes(markdown: &str) {
    by_id::<HtmlElement>("case-notes-view").set_inner_html(&notes_html(markdown));
}

/// The FP/FN overlay and the paper protocol show the ground truth: off for a student
/// until the answer is revealed.
pub fn answer_controls(visible: bool) {
    let errors: HtmlInputElement = by_id("errors");
    errors.set_disabled(!visible);
    if !visible && errors.checked() {
        errors.set_checked(false);
        let _ = errors.dispatch_event(&web_sys::Event::new("change").expect("an event"));
    }
    by_id::<HtmlButtonElement>("paper").set_disabled(!visible);
}

/// The deck panel's case list with up / down / remove buttons, and "Save deck" when edited.
fn deck_cases(state: &State) {
    let list: HtmlElement = by_id("deck-cases");
    list.set_inner_html("");
    let (titles, dirty) = match &state.deck {
        Some(d) => (d.titles(), d.dirty),
        None => (Vec::new(), false),
    };
    let last = titles.len().saturating_sub(1);
    for (i, title) in titles.iter().enumerate() {
        let Ok(item) = document().create_element("li") else {
            return;
        };
        let Ok(label) = document().create_element("span") else {
            return;
        };
        label.set_text_content(Some(title));
        let _ = item.append_child(&label);
        for (edit, text, name, disabled) in [
            ("up", "↑", "Move up", i == 0),
            ("down", "↓", "Move down", i == last),
            ("remove", "✕", "Remove from the deck", false),
        ] {
            let Ok(button) = document().create_element("button") else {
                return;
            };
            button.set_text_content(Some(text));
            let _ = button.set_attribute("data-edit", edit);
            let _ = button.set_attribute("data-index", &i.to_string());
            let _ = button.set_attribute("title", &format!("{name}: {title}"));
            let _ = button.set_attribute("aria-label", &format!("{name}: {title}"));
            button
                .unchecked_ref::<HtmlButtonElement>()
                .set_disabled(disabled);
            let _ = item.append_child(&button);
        }
        let _ = list.append_child(&item);
    }
    list.set_hidden(titles.is_empty() && !dirty);
    let save: HtmlButtonElement = by_id("deck-save");
    save.set_hidden(!dirty);
}

/// The sign-in panel and the header's sign-in/sign-out buttons.
fn auth_controls(state: &State) {
    let auth = &state.auth;
    by_id::<HtmlElement>("sign-in").set_hidden(!auth.panel);
    set_text("sign-in-message", &auth.message);
    by_id::<HtmlButtonElement>("sign-in-submit").set_disabled(auth.signing_in);
    by_id::<HtmlElement>("sign-in-open").set_hidden(!auth.can_sign_in());
    by_id::<HtmlElement>("sign-out").set_hidden(!auth.can_sign_out());
    if auth.panel && !auth.signing_in {
        let _ = by_id::<HtmlInputElement>("sign-in-token").focus();
    }
}
