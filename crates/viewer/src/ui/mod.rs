//! The page: the wasm-only layer around [`crate::state`]. Modules, lowest first (each
//! uses only those above it):
//! - [`dom`], [`api`], [`render`]: DOM helpers, the server's API, drawing primitives;
//! - [`handles`]: the browser objects the page draws with (worker, pictures, overlays);
//! - [`paint`]: draws the page's parts from the state;
//! - [`commands`]: fetches and loads that end in messages;
//! - [`page`]: the one `dispatch` (update, then perform the effects) and the worker link;
//! - [`auth`], [`deck_editor`], [`classroom`], [`events`], [`boot`]: DOM events → messages
//!   (and the sign-in a 401 waits for);
//! - [`hooks`]: the test and automation hooks (`window.samscope*`).

pub mod api;
pub mod auth;
pub mod boot;
pub mod classroom;
pub mod commands;
pub mod deck_editor;
pub mod dom;
pub mod events;
pub mod handles;
pub mod hooks;
pub mod page;
pub mod paint;
pub mod render;

use wasm_bindgen_futures::spawn_local;

use crate::state::Part;

/// Starts the page (the viewer binary's `main`).
pub fn start() {
    console_error_panic_hook::set_once();
    let page = match page::create() {
        Ok(page) => page,
        Err(e) => {
            dom::show_error(&e);
            return;
        }
    };
    page::listen_to_worker(&page, hooks::intercept);
    events::wire(&page);
    auth::install(&page);
    classroom::wire(&page);
    hooks::install(&page);
    page::perform(&page, vec![crate::state::Effect::Render(Part::Results)]);
    spawn_local(boot::boot(page));
}
