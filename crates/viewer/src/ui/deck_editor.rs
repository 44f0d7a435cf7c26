//! The deck panel's case list: the chosen deck's cases with up / down / remove buttons and
//! "Save deck", which replaces the stored deck's cases (`PUT /api/v1/decks/{id}`).

use std::cell::RefCell;

use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlButtonElement, HtmlElement, HtmlSelectElement};

use crate::deck_edit::{CaseEdit, DeckEdit};
use crate::ui::classroom::call;
use crate::ui::dom::{by_id, document, listen, set_text, show_error, window};

thread_local! {
    static EDITING: RefCell<Option<DeckEdit>> = const { RefCell::new(None) };
}

/// Wires the case list's buttons and "Save deck".
pub fn wire() {
    listen::<web_sys::Event>(&by_id::<Element>("deck-cases"), "click", |event| {
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
            let applied =
                EDITING.with_borrow_mut(|d| d.as_mut().is_some_and(|d| d.apply(index, edit)));
            if applied {
                set_text("deck-status", "");
                render();
            }
        }
    });
    listen::<web_sys::Event>(&by_id::<Element>("deck-save"), "click", |_| {
        wasm_bindgen_futures::spawn_local(save());
    });
    listen::<web_sys::Event>(&by_id::<Element>("deck"), "change", |_| {
        // Unsaved edits are dropped only when the teacher says so.
        let unsaved = EDITING.with_borrow(|d| {
            d.as_ref()
                .filter(|d| d.dirty)
                .map(|d| (d.id.clone(), d.title.clone()))
        });
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
        wasm_bindgen_futures::spawn_local(load());
    });
}

/// Shows the cases of the deck chosen in the selector (none for "New deck…").
pub async fn load() {
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
    EDITING.with_borrow_mut(|d| *d = loaded);
    render();
}

fn render() {
    let list: HtmlElement = by_id("deck-cases");
    list.set_inner_html("");
    let (titles, dirty) = EDITING.with_borrow(|d| match d {
        Some(d) => (d.titles(), d.dirty),
        None => (Vec::new(), false),
    });
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

/// "Save deck": the edited case list replaces the stored one.
async fn save() {
    let Some(deck) = EDITING.with_borrow(|d| d.clone()) else {
        return;
    };
    let body = deck.to_input().to_string();
    match call("PUT", &format!("/api/v1/decks/{}", deck.id), Some(body)).await {
        Ok(_) => {
            // Reloads the list (clean) with the selector.
            crate::ui::classroom::fill_decks(Some(deck.id)).await;
            set_text("deck-status", "Saved the deck.");
        }
        Err(e) => show_error(&format!("save deck: {e}")),
    }
}
