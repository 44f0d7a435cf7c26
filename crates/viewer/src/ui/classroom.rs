//! Decks and teaching sessions in the page: "Add to deck", "Start session", and the
//! class panel of an instructor (`#teach=KEY`: case list, reveal, the class's results) or
//! a student (`#join=KEY`: follows the instructor's case, posts Dice/IoU/clicks after each
//! decode). Live updates come over server-sent events (`EventSource`).

use std::cell::RefCell;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{
    EventSource, HtmlButtonElement, HtmlElement, HtmlInputElement, HtmlOptionElement,
    HtmlSelectElement, HtmlTextAreaElement, MessageEvent, Request, RequestInit,
};

use api::{DeckList, SessionLinks};

use crate::classroom::{
    Case, CaseResults, CaseVolume, ClassLink, ClassState, Classroom, ResultPost, Results, Role,
    histogram_lines, notes_html, result_to_post, student_id,
};
use crate::ground_truth::Overlap;
use crate::js::{body_bytes, describe, error_detail, fetch};
use crate::link::SharedView;
use crate::ui::app::{Shared, with};
use crate::ui::dom::{by_id, document, listen, set_text, show_error, window};
use crate::volume::SliceView;

/// A session this page takes part in.
struct ClassSession {
    key: String,
    role: Role,
    room: Classroom,
    state: ClassState,
    /// The case on screen.
    shown: Option<usize>,
    /// Whether the answer of the case on screen has been shown.
    answer_shown: bool,
    /// This tab's random student id.
    student: String,
    /// The last result posted (not posted twice).
    posted: Option<ResultPost>,
    /// The class's results (instructor).
    results: Vec<CaseResults>,
    /// The event stream (closed when another session replaces this one).
    events: EventSource,
}

thread_local! {
    static SESSION: RefCell<Option<ClassSession>> = const { RefCell::new(None) };
}

fn session<R>(f: impl FnOnce(&mut ClassSession) -> R) -> Option<R> {
    SESSION.with(|s| s.borrow_mut().as_mut().map(f))
}

/// Whether the ground truth may be shown: always, except to a student before the
/// instructor reveals the case.
pub fn answer_visible() -> bool {
    session(|s| s.role == Role::Instructor || s.answer_shown).unwrap_or(true)
}

/// `method path` with an optional JSON body; the reply's bytes, or the server's reason.
pub(crate) async fn call(
    method: &str,
    path: &str,
    body: Option<String>,
) -> Result<Vec<u8>, String> {
    let init = RequestInit::new();
    init.set_method(method);
    if let Some(body) = body {
        init.set_body(&JsValue::from_str(&body));
        let headers = web_sys::Headers::new().map_err(|e| describe(&e))?;
        headers
            .set("Content-Type", "application/json")
            .map_err(|e| describe(&e))?;
        init.set_headers(&headers);
    }
    let request = Request::new_with_str_and_init(path, &init).map_err(|e| describe(&e))?;
    let response = fetch(&request).await?;
    if !response.ok() {
        return Err(error_detail(&response).await);
    }
    body_bytes(&response).await
}

fn spawn(future: impl std::future::Future<Output = ()> + 'static) {
    wasm_bindgen_futures::spawn_local(future);
}

/// Wires the deck panel and fills the deck list.
pub fn wire(app: &Shared) {
    let on = |id: &str, f: fn(Shared)| {
        let app = app.clone();
        listen::<web_sys::Event>(&by_id(id), "click", move |_| f(app.clone()));
    };
    on("deck-add", |app| spawn(add_to_deck(app)));
    on("session-start", |app| spawn(start_session(app)));
    on("reveal", |_| spawn(reveal()));
    on("deck-export", |_| export_deck());
    listen::<web_sys::Event>(
        &by_id::<web_sys::EventTarget>("deck-import"),
        "change",
        |_| spawn(import_deck()),
    );
    expose_hook();
    crate::ui::deck_editor::wire();
    spawn(fill_decks(None));
}

/// `window.samscopeClass()`: the page's teaching session as JSON text (tests, automation).
fn expose_hook() {
    let hook = Closure::<dyn Fn() -> JsValue>::new(|| {
        let value = session(|s| {
            serde_json::json!({
                "role": s.role,
                "current": s.state.current,
                "revealed": s.state.revealed,
                "shown": s.shown,
                "answer_visible": s.role == Role::Instructor || s.answer_shown,
                "posted": s.posted.as_ref().map(|p| serde_json::json!({"case": p.case, "dice": p.dice, "clicks": p.clicks})),
            })
        })
        .unwrap_or(serde_json::Value::Null);
        JsValue::from_str(&value.to_string())
    });
    let _ = js_sys::Reflect::set(
        &window(),
        &JsValue::from_str("samscopeClass"),
        hook.as_ref(),
    );
    hook.forget();
}

/// Refills the deck selector, selecting `select` (else keeping the choice), and shows the
/// chosen deck's cases.
pub(crate) async fn fill_decks(select: Option<String>) {
    let Ok(bytes) = call("GET", "/api/v1/decks", None).await else {
        return;
    };
    let Ok(list) = serde_json::from_slice::<DeckList>(&bytes) else {
        return;
    };
    let element: HtmlSelectElement = by_id("deck");
    let keep = select.unwrap_or_else(|| element.value());
    element.set_inner_html("");
    if let Ok(option) = HtmlOptionElement::new_with_text_and_value("New deck…", "") {
        element.add_with_html_option_element(&option).ok();
    }
    for deck in list.decks {
        let text = format!("{} ({} cases)", deck.title, deck.cases);
        if let Ok(option) = HtmlOptionElement::new_with_text_and_value(&text, &deck.id) {
            option.set_selected(deck.id == keep);
            element.add_with_html_option_element(&option).ok();
        }
    }
    crate::ui::deck_editor::load().await;
}

/// "Export": downloads the chosen deck as one file (cases, images, masks, volumes).
fn export_deck() {
    let deck: String = by_id::<HtmlSelectElement>("deck").value();
    if deck.is_empty() {
        show_error("export: choose a deck");
        return;
    }
    let Ok(anchor) = document().create_element("a") else {
        return;
    };
    let anchor: web_sys::HtmlAnchorElement = anchor.unchecked_into();
    anchor.set_href(&format!("/api/v1/decks/{deck}/export"));
    anchor.set_download(&format!("deck-{deck}.samdeck.json"));
    anchor.click();
}

/// "Import": a deck file becomes a new deck on this server.
async fn import_deck() {
    let Some(bytes) = crate::ui::events::file_bytes("deck-import").await else {
        return;
    };
    let text = String::from_utf8_lossy(&bytes).into_owned();
    match call("POST", "/api/v1/decks/import", Some(text)).await {
        Ok(reply) => match serde_json::from_slice::<Created>(&reply) {
            Ok(created) => {
                // The status last: once it shows, the selector and case list are current.
                fill_decks(Some(created.id)).await;
                set_text("deck-status", "Imported the deck.");
            }
            Err(e) => show_error(&format!("import: {e}")),
        },
        Err(e) => show_error(&format!("import: {e}")),
    }
    by_id::<HtmlInputElement>("deck-import").set_value("");
}

/// The view on screen as a case (image, slice, ground truth, prompts, notes).
fn current_case(app: &Shared) -> Option<Case> {
    let view = with(app, |a| crate::ui::app::shared_view(a))?;
    let volume = view.view.as_ref().and_then(|v| {
        let value = serde_json::to_value(v).ok()?;
        Some(CaseVolume {
            id: value["volume"].as_str()?.to_string(),
            axis: value["axis"].as_str()?.to_string(),
            index: value["index"].as_u64()? as u32,
            window: api::WindowSpec::Text(value["window"].as_str()?.to_string()),
        })
    });
    let notes: HtmlTextAreaElement = by_id("case-notes");
    Some(Case {
        title: by_id::<HtmlInputElement>("case-title").value(),
        image: view.image,
        volume,
        model: Some(view.model),
        gt: view.gt,
        label: view.label,
        steps: view.steps,
        notes: notes.value(),
    })
}

/// "Add to deck": appends the view on screen to the chosen deck (creating a deck first
/// when "New deck…" is chosen).
async fn add_to_deck(app: Shared) {
    let Some(case) = current_case(&app) else {
        show_error("add to deck: open a scan first");
        return;
    };
    let mut deck: String = by_id::<HtmlSelectElement>("deck").value();
    if deck.is_empty() {
        let title = by_id::<HtmlInputElement>("deck-title").value();
        let title = if title.trim().is_empty() {
            "Untitled deck".to_string()
        } else {
            title
        };
        let body = serde_json::json!({ "title": title, "cases": [] }).to_string();
        match call("POST", "/api/v1/decks", Some(body)).await {
            Ok(bytes) => match serde_json::from_slice::<api::Deck>(&bytes) {
                Ok(created) => deck = created.id,
                Err(e) => return show_error(&format!("new deck: {e}")),
            },
            Err(e) => return show_error(&format!("new deck: {e}")),
        }
    }
    let body = serde_json::to_string(&case).unwrap_or_default();
    match call("POST", &format!("/api/v1/decks/{deck}/cases"), Some(body)).await {
        Ok(_) => {
            fill_decks(Some(deck)).await;
            set_text("deck-status", "Added to the deck.");
        }
        Err(e) => show_error(&format!("add to deck: {e}")),
    }
}

/// "Start session": two links for the chosen deck; this page becomes the instructor's.
async fn start_session(app: Shared) {
    let deck: String = by_id::<HtmlSelectElement>("deck").value();
    if deck.is_empty() {
        show_error("start session: choose a deck (add a case to a new deck first)");
        return;
    }
    let body = serde_json::json!({ "deck": deck }).to_string();
    let started = match call("POST", "/api/v1/sessions", Some(body)).await {
        Ok(bytes) => match serde_json::from_slice::<SessionLinks>(&bytes) {
            Ok(s) => s,
            Err(e) => return show_error(&format!("start session: {e}")),
        },
        Err(e) => return show_error(&format!("start session: {e}")),
    };
    let origin = window().location().origin().unwrap_or_default();
    by_id::<HtmlInputElement>("student-link")
        .set_value(&format!("{origin}{}", started.student_link));
    by_id::<HtmlInputElement>("instructor-link")
        .set_value(&format!("{origin}{}", started.instructor_link));
    by_id::<HtmlElement>("session-links").set_hidden(false);
    // The instructor's page is the one that started the session.
    let _ = window()
        .location()
        .set_hash(started.instructor_link.trim_start_matches("/#"));
    open(app, ClassLink::Teach(started.instructor_key)).await;
}

/// Opens the session a `#teach=`/`#join=` link names, or the deck of `#deck=`.
pub async fn open(app: Shared, link: ClassLink) {
    let key = match link {
        ClassLink::Deck(id) => {
            fill_decks(Some(id)).await;
            set_text(
                "status",
                "Deck selected: open a scan and add views, or start a session.",
            );
            return;
        }
        ClassLink::Teach(key) | ClassLink::Join(key) => key,
    };
    let room: Classroom = match call("GET", &format!("/api/v1/classroom/{key}"), None).await {
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(room) => room,
            Err(e) => return show_error(&format!("teaching session: {e}")),
        },
        Err(e) => return show_error(&format!("teaching session: {e}")),
    };
    let events = match EventSource::new(&format!("/api/v1/classroom/{key}/events")) {
        Ok(events) => events,
        Err(e) => return show_error(&format!("teaching session: {}", describe(&e))),
    };
    let state = ClassState {
        current: room.current,
        revealed: room.revealed.clone(),
    };
    let role = room.role;
    let student = student_id(&random_bytes());
    listen_events(&app, &events);
    let replaced = SESSION.with(|s| {
        s.borrow_mut().replace(ClassSession {
            key,
            role,
            room,
            state,
            shown: None,
            answer_shown: false,
            student,
            posted: None,
            results: Vec::new(),
            events,
        })
    });
    if let Some(old) = replaced {
        old.events.close();
    }
    build_panel(&app);
    follow(&app).await;
}

/// This tab's random bytes for its student id (kept for the tab's life in
/// `sessionStorage`, so a reload is the same student).
fn random_bytes() -> [u8; 16] {
    let storage = window().session_storage().ok().flatten();
    if let Some(saved) = storage
        .as_ref()
        .and_then(|s| s.get_item("samscope-student").ok().flatten())
        .and_then(|hex| {
            let bytes: Vec<u8> = (0..hex.len())
                .step_by(2)
                .filter_map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
                .collect();
            <[u8; 16]>::try_from(bytes).ok()
        })
    {
        return saved;
    }
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        for b in &mut bytes {
            *b = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    if let Some(storage) = storage {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let _ = storage.set_item("samscope-student", &hex);
    }
    bytes
}

fn listen_events(app: &Shared, events: &EventSource) {
    let on = |name: &str, f: fn(&Shared, &str)| {
        let app = app.clone();
        let closure = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            if let Some(data) = event.data().as_string() {
                f(&app, &data);
            }
        });
        events
            .add_event_listener_with_callback(name, closure.as_ref().unchecked_ref())
            .ok();
        closure.forget();
    };
    on("state", |app, data| {
        if let Ok(state) = serde_json::from_str::<ClassState>(data) {
            session(|s| s.state = state);
            let app = app.clone();
            spawn(async move { follow(&app).await });
        }
    });
    on("results", |_, data| {
        if let Ok(results) = serde_json::from_str::<Results>(data) {
            session(|s| s.results = results.cases);
            render_results();
        }
    });
    on("expired", |_, _| {
        show_error("this teaching session has expired; ask the instructor for a new link");
    });
}

/// The case list, role and controls of the class panel.
fn build_panel(app: &Shared) {
    let Some((role, title, cases)) =
        session(|s| (s.role, s.room.title.clone(), s.room.cases.clone()))
    else {
        return;
    };
    by_id::<HtmlElement>("class-panel").set_hidden(false);
    set_text(
        "class-role",
        match role {
            Role::Instructor => "· instructor",
            Role::Student => "· student",
        },
    );
    set_text("class-title", &title);
    let list: HtmlElement = by_id("class-cases");
    list.set_inner_html("");
    for (index, case) in cases.iter().enumerate() {
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
        if role == Role::Instructor {
            let app = app.clone();
            listen::<web_sys::Event>(&button, "click", move |_| {
                let _ = &app;
                spawn(move_to(index));
            });
        } else {
            button.set_disabled(true);
        }
        item.append_child(&button).ok();
        list.append_child(&item).ok();
    }
    by_id::<HtmlElement>("reveal").set_hidden(role != Role::Instructor);
    by_id::<HtmlElement>("class-results").set_hidden(role != Role::Instructor);
    if role == Role::Instructor {
        spawn(async {
            let key = session(|s| s.key.clone()).unwrap_or_default();
            if let Ok(bytes) = call("GET", &format!("/api/v1/classroom/{key}/results"), None).await
                && let Ok(results) = serde_json::from_slice::<Results>(&bytes)
            {
                session(|s| s.results = results.cases);
                render_results();
            }
        });
    }
}

/// Instructor: moves everyone to case `index`.
async fn move_to(index: usize) {
    let Some(key) = session(|s| s.key.clone()) else {
        return;
    };
    let body = serde_json::json!({ "case": index }).to_string();
    if let Err(e) = call(
        "PUT",
        &format!("/api/v1/classroom/{key}/current"),
        Some(body),
    )
    .await
    {
        show_error(&format!("move the class: {e}"));
    }
}

/// Instructor: shows (or hides again) the answer of the current case to everyone.
async fn reveal() {
    let Some((key, current, shown)) = session(|s| {
        (
            s.key.clone(),
            s.state.current,
            s.state.revealed.contains(&s.state.current),
        )
    }) else {
        return;
    };
    let body = serde_json::json!({ "case": current, "revealed": !shown }).to_string();
    if let Err(e) = call(
        "PUT",
        &format!("/api/v1/classroom/{key}/reveal"),
        Some(body),
    )
    .await
    {
        show_error(&format!("reveal: {e}"));
    }
}

/// Opens the class's current case if it is not on screen, and shows its answer once
/// revealed.
async fn follow(app: &Shared) {
    let Some((current, shown, case, revealed, role)) = session(|s| {
        (
            s.state.current,
            s.shown,
            s.room.cases.get(s.state.current).cloned(),
            s.state.revealed.contains(&s.state.current),
            s.role,
        )
    }) else {
        return;
    };
    let Some(case) = case else {
        return;
    };
    for index in 0..session(|s| s.room.cases.len()).unwrap_or(0) {
        if let Some(button) = document().get_element_by_id(&format!("class-case-{index}")) {
            button.set_class_name(if index == current { "chosen" } else { "" });
        }
    }
    let reveal_text = if revealed {
        "Hide answer"
    } else {
        "Reveal answer"
    };
    by_id::<HtmlButtonElement>("reveal").set_text_content(Some(reveal_text));
    set_text(
        "class-state",
        &format!(
            "Case {} of {}{}",
            current + 1,
            session(|s| s.room.cases.len()).unwrap_or(0),
            if revealed { " · answer revealed" } else { "" }
        ),
    );
    if shown != Some(current) {
        session(|s| {
            s.shown = Some(current);
            s.answer_shown = false;
            s.posted = None;
        });
        by_id::<HtmlElement>("case-notes-view").set_inner_html(&notes_html(&case.notes));
        open_case(app, &case).await;
    }
    let show_answer = revealed || role == Role::Instructor;
    let newly = session(|s| {
        let newly = revealed && !s.answer_shown;
        s.answer_shown = show_answer;
        newly
    })
    .unwrap_or(false);
    set_answer_controls(show_answer);
    render_results();
    if newly && case.gt.is_some() {
        if with(app, |a| a.label.is_some()) {
            crate::ui::events::run_paper_protocol(app);
        } else {
            set_text(
                "paper-result",
                "Answer revealed: pick the object under Ground truth, then Paper protocol (P).",
            );
        }
    }
}

/// The FP/FN overlay and the paper protocol show the ground truth: off for a student
/// until the answer is revealed.
fn set_answer_controls(visible: bool) {
    let errors: HtmlInputElement = by_id("errors");
    errors.set_disabled(!visible);
    if !visible && errors.checked() {
        errors.set_checked(false);
        let _ = errors.dispatch_event(&web_sys::Event::new("change").expect("an event"));
    }
    by_id::<HtmlButtonElement>("paper").set_disabled(!visible);
}

/// Puts a case on screen: model, image or volume slice, ground truth, preset prompts.
async fn open_case(app: &Shared, case: &Case) {
    if let Some(model) = &case.model {
        let served = with(app, |a| {
            a.models.iter().any(|m| &m.id == model) && &a.model != model
        });
        if served {
            by_id::<HtmlSelectElement>("model").set_value(model);
            crate::ui::app::start_decoder(app, model);
        }
    }
    let view = case.volume.as_ref().and_then(|v| {
        serde_json::from_value::<SliceView>(serde_json::json!({
            "volume": v.id, "axis": v.axis, "index": v.index,
            "window": v.window.text(),
        }))
        .ok()
    });
    let (model, wire) = with(app, |a| (a.model.clone(), a.wire));
    let link = SharedView {
        image: case.image.clone(),
        model,
        wire,
        gt: case.gt.clone(),
        label: case.label,
        steps: case.steps.clone(),
        view,
    };
    crate::ui::app::open_link(app, link).await;
}

/// Called after every results update (`clicks`: the steps on screen, the case's preset
/// prompts included): a student posts their latest score on the case.
pub fn after_results(metrics: Option<Overlap>, answered: bool, clicks: usize) {
    if !answered {
        return;
    }
    let post = session(|s| {
        // The case's preset prompts are not the student's.
        let preset = s
            .room
            .cases
            .get(s.state.current)
            .map_or(0, |c| c.steps.len());
        let post = result_to_post(
            s.role,
            &s.student,
            &s.state,
            metrics.map(|m| (m.dice, m.iou)),
            clicks.saturating_sub(preset),
        )?;
        if s.shown != Some(post.case) || s.posted.as_ref() == Some(&post) {
            return None;
        }
        s.posted = Some(post.clone());
        Some((s.key.clone(), post))
    })
    .flatten();
    if let Some((key, post)) = post {
        spawn(async move {
            let body = serde_json::to_string(&post).unwrap_or_default();
            if let Err(e) = call(
                "POST",
                &format!("/api/v1/classroom/{key}/results"),
                Some(body),
            )
            .await
            {
                show_error(&format!("posting your result: {e}"));
            }
        });
    }
}

/// The instructor's summary of the current case.
fn render_results() {
    let Some((role, current, results)) = session(|s| {
        (
            s.role,
            s.state.current,
            s.results.get(s.state.current).cloned(),
        )
    }) else {
        return;
    };
    if role != Role::Instructor {
        return;
    }
    let text = match results {
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
