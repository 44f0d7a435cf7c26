//! Reproducing the paper's study: SAM run over a labelled dataset under named prompting
//! protocols, with every result kept in a run folder — `samscope eval` and `samscope
//! eval-merge`.
//!
//! Data flows one way: a sample read by `eval` (scan and ground truth) → encoder
//! ([`cache`], one pass per scan) → embedding → decoder ([`evaluate`], prompts from
//! `eval::protocols`) → mask → `eval::metrics` → [`record`]s → [`summary`] tables and the
//! [`report`] (with [`overlay`] figures). [`run`] plans, executes, resumes and merges runs
//! into `OUT/` ([`manifest`] = `run.json`), showing [`progress`] on stderr.
//!
//! What needs no model (layouts, ground truth, protocols, metrics) is the `eval` library,
//! which the viewer's page also uses; every mask here comes from [`sam::SamPredictor`].
//! Definitions of the protocols and metrics: `docs/protocols.md`; the run folder's files:
//! `docs/protocols.md` ("Outputs").

#![warn(missing_docs)]

pub mod cache;
mod error;
pub mod evaluate;
pub mod manifest;
pub mod model;
pub mod overlay;
pub mod progress;
pub mod record;
pub mod report;
pub mod run;
pub mod summary;

pub use error::StudyError;
pub use evaluate::EvalOptions;
pub use manifest::Shard;
pub use model::{encoder_image, prompt_input};
pub use run::{
    FinetunedDecoder, MergeConfig, Outcome, Plan, RunConfig, execute, merge, plan,
    plan_with_decoder, run,
};
