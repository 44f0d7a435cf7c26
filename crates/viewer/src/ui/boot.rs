//! Starting the page: the model list, the demo list, and a share or class link.

use web_sys::{HtmlOptionElement, HtmlSelectElement};

use crate::link::SharedView;
use crate::state::Message;
use crate::ui::api;
use crate::ui::commands;
use crate::ui::dom::{by_id, set_text, show_error, window};
use crate::ui::page::{Shared, dispatch, run, start_decoder};

/// Loads the model list, the demo list and a share link; starts the decoder.
pub async fn boot(page: Shared) {
    run(&page, commands::auth_status());
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
    page.dom.borrow_mut().models = models;
    if let Some(l) = &link {
        dispatch(&page, Message::Wire(l.wire));
    }
    start_decoder(&page, &model);
    fill_demos().await;
    if let Some(class_link) = class_link {
        crate::ui::classroom::open(page, class_link).await;
    } else if let Some(link) = link {
        run(&page, commands::open_link(link));
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
