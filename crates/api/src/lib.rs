//! The contract between the samscope server, the browser viewer (page and decoder
//! worker) and the CLI: the types that cross a process boundary, with their serde
//! shapes, and nothing else (no model, no I/O; builds for native and `wasm32`).
//!
//! - [`mask`]: a binary mask at the image size and the candidate SAM keeps.
//! - [`steps`]: what a person did (clicks and boxes) and the candidate kept after each.

#![warn(missing_docs)]

pub mod mask;
pub mod steps;

pub use mask::{BinaryMask, best_index};
pub use steps::{Action, Step};
