//! The deck panel's case list: the chosen deck's cases with up / down / remove buttons and
//! "Save deck", which replaces the stored deck's cases (`PUT /api/v1/decks/{id}`). The
//! list being edited is [`crate::state::State::deck`].

use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlOptionElement, HtmlSelectElement};

use crate::deck_edit::{CaseEdit, DeckEdit};
use crate::state::Message;
use crate::ui::commands::call;
use crate::ui::dom::{by_id, listen, set_text, show_error, window};
use crate::ui::page::{Shared, dispatch};

/// Wires the case list's buttons and "Save deck".
pub fn wire(page: &Shared) {
    {
        let page = page.clone();
        listen::<web_sys::Event>(&by_id::<Element>("deck-cases"), "click", move |event| {
            let Some(button) = event
                .target()
                .and_then(|t| t.dyn_into::<Element>().ok())
                .and_then(|e| e.closest("button").ok().flatten())
            else {
                return;
            };
            let edit = button
                .get_attribute("data-edit")
                .as_deref()
                .and_then(CaseEdit::parse);
            let index = button
                .get_attribute("data-index")
                .and_then(|i| i.parse::<usize>().ok());
            if let (Some(edit), Some(index)) = (edit, index) {
                dispatch(&page, Message::DeckEdited { index, edit });
            }
        });
    }
    {
        let page = page.clone();
        listen::<web_sys::Event>(&by_id::<Element>("deck-save"), "click", move |_| {
            wasm_bindgen_futures::spawn_local(save(page.clone()));
        });
    }
    let page = page.clone();
    listen::<web_sys::Event>(&by_id::<Element>("deck"), "change", move |_| {
        // Unsaved edits are dropped only when the teacher says so.
        let unsaved = page
            .state
            .borrow()
            .deck
            .as_ref()
            .filter(|d| d.dirty)
            .map(|d| (d.id.clone(), d.title.clone()));
        if let Some((id, title)) = unsaved {
            let discard = window()
                .confirm_with_message(&format!(
                    "The case list of “{title}” has unsaved changes. Discard them?"
                ))
                .unwrap_or(true);
            if !discard {
                by_id::<HtmlSelectElement>("deck").set_value(&id);
                return;
            }
        }
        wasm_bindgen_futures::spawn_local(load(page.clone()));
    });
}

/// Shows the cases of the deck chosen in the selector (none for "New deck…").
pub async fn load(page: Shared) {
    let deck: String = by_id::<HtmlSelectElement>("deck").value();
    let loaded = if deck.is_empty() {
        None
    } else {
        match call("GET", &format!("/api/v1/decks/{deck}"), None).await {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| e.to_string())
                .and_then(|value| DeckEdit::from_deck(&value))
                .map_err(|e| show_error(&format!("deck {deck}: {e}")))
                .ok(),
            Err(e) => {
                show_error(&format!("deck {deck}: {e}"));
                None
            }
        }
    };
    dispatch(&page, Message::DeckLoaded(loaded));
}

/// Refills the deck selector, selecting `select` (else keeping the choice), and shows the
/// chosen deck's cases.
pub async fn fill_decks(page: Shared, select: Option<String>) {
    let Ok(bytes) = call("GET", "/api/v1/decks", None).await else {
        return;
    };
    let Ok(list) = serde_json::from_slice::<api::DeckList>(&bytes) else {
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
    load(page).await;
}

/// "Save deck": the edited case list replaces the stored one.
async fn save(page: Shared) {
    let Some(deck) = page.state.borrow().deck.clone() else {
        return;
    };
    let body = deck.to_input().to_string();
    match call("PUT", &format!("/api/v1/decks/{}", deck.id), Some(body)).await {
        Ok(_) => {
            // Reloads the list (clean) with the selector.
            fill_decks(page, Some(deck.id)).await;
            set_text("deck-status", "Saved the deck.");
        }
        Err(e) => show_error(&format!("save deck: {e}")),
    }
}
