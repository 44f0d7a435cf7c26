//! Zero-shot evaluation of SAM models on labelled medical images, as in the paper's
//! experiments: named prompting protocols, the paper's metrics, dataset layouts, and
//! tables, figures and a report — `samscope eval` and `samscope eval-merge`.
//!
//! Data flows one way: scan ([`sample`], through `imaging`; a slice of a volume for the
//! volume layouts, [`volume_slice`]) → encoder ([`cache`], one pass
//! per scan) → embedding → decoder ([`evaluate`], prompts from [`protocols`]) → mask →
//! [`metrics`] → [`record`]s → [`summary`] tables and the [`report`]. Ground truth comes
//! from a [`layouts::Layout`] as [`ground_truth`] layers split into [`instances`]. The crate
//! has no model code of its own: every mask comes from [`sam::SamPredictor`].
//!
//! Definitions of the protocols and metrics: `docs/protocols.md`.

#![warn(missing_docs)]

pub mod cache;
pub mod distance;
mod error;
pub mod evaluate;
pub mod ground_truth;
pub mod instances;
pub mod layouts;
pub mod manifest;
pub mod metrics;
pub mod overlay;
pub mod progress;
pub mod promptless;
pub mod protocols;
pub mod record;
pub mod report;
pub mod rng;
pub mod run;
pub mod sample;
pub mod summary;
pub mod volume_slice;

pub use error::EvalError;
pub use evaluate::EvalOptions;
pub use instances::InstanceMode;
pub use layouts::Layout;
pub use manifest::Shard;
pub use protocols::{OutsidePolicy, Protocol, ProtocolOptions};
pub use run::{
    FinetunedDecoder, MergeConfig, Outcome, Plan, RunConfig, execute, merge, plan,
    plan_with_decoder, run,
};
