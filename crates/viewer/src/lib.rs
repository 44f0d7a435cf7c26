//! The samscope viewer: a page (DOM, canvas, ground truth, metrics, share links) and a
//! decoder worker that runs `crates/sam`'s prompt encoder and mask decoder with Burn on
//! WebGPU, or on Burn's CPU backend in wasm when the browser has no WebGPU adapter.
//!
//! The modules without browser APIs ([`protocol`], [`history`], [`link`], [`deck_edit`],
//! [`ground_truth`], [`record`], [`volume`], and [`state`]: the page's state, messages and
//! `update`) build and are tested natively; [`ui`] exists on
//! `wasm32` only, and `worker` on `wasm32` with the `worker` feature (the page builds
//! without it, so it carries no model backend). The viewer has no model code of its own.

#![warn(missing_docs)]

pub mod classroom;
pub mod deck_edit;
pub mod ground_truth;
pub mod history;
pub mod link;
pub mod protocol;
pub mod record;
pub mod state;
pub mod volume;

#[cfg(target_arch = "wasm32")]
mod js;
#[cfg(target_arch = "wasm32")]
pub mod ui;
#[cfg(all(target_arch = "wasm32", feature = "worker"))]
pub mod worker;

/// The page binary's `main`: starts the UI in the browser; natively, says how to build it.
pub fn page_main() {
    #[cfg(target_arch = "wasm32")]
    ui::start();
    #[cfg(not(target_arch = "wasm32"))]
    not_in_a_browser("the viewer");
}

/// The decoder workers' `main` (both binaries; their features pick the backends): installs
/// the message handler in the browser; natively, says how to build it.
pub fn worker_main() {
    #[cfg(all(target_arch = "wasm32", feature = "worker"))]
    worker::start();
    #[cfg(not(all(target_arch = "wasm32", feature = "worker")))]
    not_in_a_browser("the decoder worker");
}

#[cfg(not(all(target_arch = "wasm32", feature = "worker")))]
fn not_in_a_browser(what: &str) {
    eprintln!("{what} runs in a browser: build it with `trunk build --release` (see README)");
    std::process::exit(2);
}
