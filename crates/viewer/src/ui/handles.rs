//! The browser objects the page is drawn with and talks through.

use std::collections::HashMap;

use web_sys::{EventSource, HtmlCanvasElement, HtmlImageElement, Worker};

use crate::ui::api::ModelInfo;

/// What a mask overlay shows: the decode (its number and chosen candidate) and, for the
/// FP/FN colours, the ground truth's id and object.
pub type OverlayKey = (u64, usize, Option<(String, u16)>);

/// The browser objects the page draws with and talks through (no state of its own: what
/// they show follows [`crate::state::State`]).
#[derive(Default)]
pub struct Dom {
    /// The decoder worker.
    pub worker: Option<Worker>,
    /// Models the server runs (the model selector's list).
    pub models: Vec<ModelInfo>,
    /// Loaded pictures by image id (the one on screen; others only until the next update).
    pub images: HashMap<String, HtmlImageElement>,
    /// The mask overlay and what it was drawn from.
    pub overlay: Option<(OverlayKey, HtmlCanvasElement)>,
    /// The hover preview overlay and its preview number.
    pub preview: Option<(u64, HtmlCanvasElement)>,
    /// The slice's pixels a window preview remaps: (image id, RGBA).
    pub preview_source: Option<(String, Vec<u8>)>,
    /// A window preview and its (image id, colour map).
    pub window_preview: Option<((String, [u8; 256]), HtmlCanvasElement)>,
    /// Check requests (test hooks) waiting for their reply: seq → the promise's resolve.
    pub checks: HashMap<u32, js_sys::Function>,
    /// The teaching session's event stream.
    pub events: Option<EventSource>,
    /// Requests that got 401 and wait for a sign-in: number → the wait's resolve.
    pub sign_in_waits: HashMap<u64, js_sys::Function>,
    /// The last number given to a waiting request.
    pub next_wait: u64,
}
