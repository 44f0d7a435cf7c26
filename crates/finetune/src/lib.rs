//! Mask-decoder fine-tuning of SAM models with a frozen image encoder — the paper's vessel
//! experiment (`samscope finetune`) — and the synthetic retinal-vessel dataset it can run on
//! (`samscope synth-vessels`: [`synth`] draws the images, [`synth_dataset`] writes them in
//! the DRIVE layout).
//!
//! Data flows one way: dataset folder ([`data`], through `eval`'s layouts) → one
//! encoder pass per scan (embeddings cached on disk by `study`) → per epoch, seeded batches of cached
//! embeddings, [`prompts`] and resized targets → the trainable decoder ([`model`]) →
//! [`loss`] (BCE + Dice on the low-res logits) → AdamW ([`train`]) → [`validate`] (the
//! study's scoring: `eval`'s protocols and metrics) → [`checkpoint`] → the model folder ([`manifest`]) and
//! the before/after [`table`].

#![warn(missing_docs)]

pub mod checkpoint;
pub mod data;
mod error;
pub mod loss;
pub mod manifest;
pub mod model;
pub mod progress;
pub mod prompts;
pub mod synth;
pub mod synth_dataset;
pub mod table;
pub mod train;
pub mod validate;

pub use data::{DataSpec, Target};
pub use error::FinetuneError;
pub use manifest::{FinetunedModel, ModelManifest};
pub use prompts::Mode;
pub use train::{FinetuneConfig, Outcome, Plan, Schedule, execute, plan};
