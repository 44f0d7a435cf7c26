//! The evaluation library behind `samscope eval`, the viewer's ground-truth page and
//! fine-tuning: dataset [`layouts`], reading a [`sample`] (the scan through `imaging`, a
//! [`volume_slice`] for the volume layouts) and its [`ground_truth`] layers split into
//! [`instances`], the named prompting [`protocols`] (randomness from [`rng`]), and the
//! paper's [`metrics`] (exact [`distance`] transforms).
//!
//! It runs no model and writes no run folder, so it builds without Burn or `samscope-sam`
//! (the viewer's page carries it to the browser). Running SAM over a dataset — the
//! embedding cache, scoring, run folders, tables and reports — is the `study` crate.
//!
//! Data flows one way: scan → `imaging` → encoder → embedding → decoder (prompts from
//! [`protocols`]) → mask → [`metrics`]. Definitions of the protocols and metrics:
//! `docs/protocols.md`.

#![warn(missing_docs)]

pub mod distance;
mod error;
pub mod ground_truth;
pub mod instances;
pub mod layouts;
pub mod metrics;
pub mod protocols;
pub mod rng;
pub mod sample;
pub mod volume_slice;

pub use error::EvalError;
pub use instances::InstanceMode;
pub use layouts::Layout;
pub use protocols::{OutsidePolicy, Protocol, ProtocolOptions};
