//! The contract between the samscope server, the browser viewer (page and decoder
//! worker) and the CLI: every type that crosses a process boundary, with its serde
//! shape, and nothing else (no model, no I/O, no dependency but serde; builds for native
//! and `wasm32`). docs/api.md documents the JSON; `tests/docs_examples.rs` parses every
//! example there into these types.
//!
//! - [`mask`]: a binary mask at the image size and the candidate SAM keeps.
//! - [`steps`]: what a person did (clicks and boxes) and the candidate kept after each.
//! - [`dtype`]: the precision of embeddings and decoder weights on the wire.
//! - [`errors`]: the body of every error response.
//! - [`auth`]: signing in to a server that has a token.
//! - [`uploads`], [`volumes`], [`models`]: scans, slices and decoders over HTTP.
//! - [`teaching`]: decks, cases, live classrooms and results.
//! - [`worker`]: messages between the viewer's page and its decoder worker.

#![warn(missing_docs)]

pub mod auth;
pub mod dtype;
pub mod errors;
pub mod mask;
pub mod models;
pub mod steps;
pub mod teaching;
pub mod uploads;
pub mod volumes;
pub mod worker;

pub use auth::{AuthStatus, SignIn};
pub use dtype::WireDtype;
pub use errors::ErrorBody;
pub use mask::{BinaryMask, best_index};
pub use models::{DecoderInfo, ModelInfo, ModelList};
pub use steps::{Action, Step};
pub use teaching::{
    Case, CasePosition, CaseResults, ClassState, Classroom, CurrentCase, Deck, DeckInput, DeckList,
    DeckSummary, Expired, ResultPost, Results, Reveal, Role, SessionLinks, StartSession,
    VolumeView,
};
pub use uploads::{UploadReply, Uploaded, is_id};
pub use volumes::{
    CenterWidth, ScanKind, SliceInfo, SliceRequest, SliceWindow, UploadedVolume, VolumeInfo,
    WindowSpec,
};
pub use worker::{Backend, BackendChoice, Reply, Request, WeightsLayout};
