//! Decks and teaching sessions in the page: "Add to deck", "Start session", and the
//! class panel of an instructor (`#teach=KEY`: case list, reveal, the class's results) or
//! a student (`#join=KEY`: follows the instructor's case, posts Dice/IoU/clicks after each
//! decode). Live updates come over server-sent events (`EventSource`).

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{
    EventSource, HtmlElement, HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement,
    MessageEvent,
};

use crate::classroom::{
    Case, CaseVolume, ClassLink, ClassState, Classroom, Results, Role, student_id,
};
use crate::js::describe;
use crate::state::Message;
use crate::ui::commands::call;
use crate::ui::deck_editor::fill_decks;
use crate::ui::dom::{by_id, document, file_bytes, listen, set_text, show_error, window};
use crate::ui::page::{Shared, dispatch};

fn spawn(future: impl std::future::Future<Output = ()> + 'static) {
    wasm_bindgen_futures::spawn_local(future);
}

/// Wires the deck panel (and its case list) and the class panel; fills the deck list.
pub fn wire(page: &Shared) {
    let on = |id: &str, f: fn(Shared)| {
        let page = page.clone();
        listen::<web_sys::Event>(&by_id(id), "click", move |_| f(page.clone()));
    };
    on("deck-add", |page| spawn(add_to_deck(page)));
    on("session-start", |page| spawn(start_session(page)));
    on("reveal", |page| spawn(reveal(page)));
    on("deck-export", |_| export_deck());
    {
        let page = page.clone();
        listen::<web_sys::Event>(
            &by_id::<web_sys::EventTarget>("deck-import"),
            "change",
            move |_| spawn(import_deck(page.clone())),
        );
    }
    {
        // The instructor moves the class by clicking a case in the list.
        let page = page.clone();
        listen::<web_sys::Event>(&by_id("class-cases"), "click", move |e| {
            let id = e
                .target()
                .and_then(|t| t.dyn_into::<HtmlElement>().ok())
                .map(|el| el.id())
                .unwrap_or_default();
            let index = id.strip_prefix("class-case-").and_then(|i| i.parse().ok());
            let key = page
                .state
                .borrow()
                .class
                .as_ref()
                .filter(|c| c.role == Role::Instructor)
                .map(|c| c.key.clone());
            if let (Some(index), Some(key)) = (index, key) {
                spawn(move_to(key, index));
            }
        });
    }
    crate::ui::deck_editor::wire(page);
    // A student's page has no use for the deck list (on a server with a token it is not
    // theirs to read: asking would open the sign-in panel).
    let hash = window().location().hash().unwrap_or_default();
    if !matches!(ClassLink::parse(&hash), Some(Ok(ClassLink::Join(_)))) {
        spawn(fill_decks(page.clone(), None));
    }
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
async fn import_deck(page: Shared) {
    let Some(bytes) = file_bytes("deck-import").await else {
        return;
    };
    let text = String::from_utf8_lossy(&bytes).into_owned();
    match call("POST", "/api/v1/decks/import", Some(text)).await {
        Ok(reply) => match serde_json::from_slice::<api::Deck>(&reply) {
            Ok(created) => {
                // The status last: once it shows, the selector and case list are current.
                fill_decks(page, Some(created.id)).await;
                set_text("deck-status", "Imported the deck.");
            }
            Err(e) => show_error(&format!("import: {e}")),
        },
        Err(e) => show_error(&format!("import: {e}")),
    }
    by_id::<HtmlInputElement>("deck-import").set_value("");
}

/// The view on screen as a case (image, slice, ground truth, prompts, notes).
fn current_case(page: &Shared) -> Option<Case> {
    let view = page.state.borrow().shared_view()?;
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
async fn add_to_deck(page: Shared) {
    let Some(case) = current_case(&page) else {
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
            fill_decks(page, Some(deck)).await;
            set_text("deck-status", "Added to the deck.");
        }
        Err(e) => show_error(&format!("add to deck: {e}")),
    }
}

/// "Start session": two links for the chosen deck; this page becomes the instructor's.
async fn start_session(page: Shared) {
    let deck: String = by_id::<HtmlSelectElement>("deck").value();
    if deck.is_empty() {
        show_error("start session: choose a deck (add a case to a new deck first)");
        return;
    }
    let body = serde_json::json!({ "deck": deck }).to_string();
    let started = match call("POST", "/api/v1/sessions", Some(body)).await {
        Ok(bytes) => match serde_json::from_slice::<api::SessionLinks>(&bytes) {
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
    open(page, ClassLink::Teach(started.instructor_key)).await;
}

/// Opens the session a `#teach=`/`#join=` link names, or the deck of `#deck=`.
pub async fn open(page: Shared, link: ClassLink) {
    let key = match link {
        ClassLink::Deck(id) => {
            fill_decks(page, Some(id)).await;
            set_text(
                "status",
                "Deck selected: open a scan and add views, or start a session.",
            );
            return;
        }
        ClassLink::Teach(key) | ClassLink::Join(key) => key,
    };
    // The key grants this page (signed in or not) reads of the session deck's scans.
    crate::js::set_classroom_key(Some(key.clone()));
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
    let role = room.role;
    let student = student_id(&random_bytes());
    listen_events(&page, &events);
    if let Some(old) = page.dom.borrow_mut().events.replace(events) {
        old.close();
    }
    dispatch(
        &page,
        Message::ClassJoined {
            key: key.clone(),
            room,
            student,
        },
    );
    if role == Role::Instructor
        && let Ok(bytes) = call("GET", &format!("/api/v1/classroom/{key}/results"), None).await
        && let Ok(results) = serde_json::from_slice::<Results>(&bytes)
    {
        dispatch(&page, Message::ClassResults(results.cases));
    }
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

fn listen_events(page: &Shared, events: &EventSource) {
    let on = |name: &str, f: fn(&str) -> Option<Message>| {
        let page = page.clone();
        let closure = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            if let Some(message) = event.data().as_string().and_then(|data| f(&data)) {
                dispatch(&page, message);
            }
        });
        events
            .add_event_listener_with_callback(name, closure.as_ref().unchecked_ref())
            .ok();
        closure.forget();
    };
    on("state", |data| {
        serde_json::from_str::<ClassState>(data)
            .ok()
            .map(Message::ClassMoved)
    });
    on("results", |data| {
        serde_json::from_str::<Results>(data)
            .ok()
            .map(|r| Message::ClassResults(r.cases))
    });
    on("expired", |_| {
        show_error("this teaching session has expired; ask the instructor for a new link");
        None
    });
}

/// Instructor: moves everyone to case `index`.
async fn move_to(key: String, index: usize) {
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
async fn reveal(page: Shared) {
    let Some((key, current, shown)) = page
        .state
        .borrow()
        .class
        .as_ref()
        .map(|c| (c.key.clone(), c.state.current, c.revealed()))
    else {
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
