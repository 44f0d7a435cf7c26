//! The page: controls, canvas and results around the decoder worker.

pub mod api;
pub mod app;
pub mod classroom;
pub mod deck_editor;
pub mod dom;
mod events;
pub mod render;
pub mod slices;

use wasm_bindgen_futures::spawn_local;

/// Starts the page (the viewer binary's `main`).
pub fn start() {
    console_error_panic_hook::set_once();
    let app = match app::create() {
        Ok(app) => app,
        Err(e) => {
            dom::show_error(&e);
            return;
        }
    };
    app::listen_to_worker(&app);
    events::wire(&app);
    app::update_results(&app);
    spawn_local(app::boot(app));
}
