//! What the tests of every samscope crate share (a dev-dependency only, never shipped):
//! where the test scans ([`testdata`]), the fixtures ([`fixtures`]) and the model
//! ([`model_file`]) are, with a message naming the script that fetches what is missing;
//! fresh scratch folders ([`scratch_dir`], [`scratch_path`]); and writers of small scan
//! files ([`scans`]) for tests that need a file of a known shape; the lengths a truncation
//! test cuts a file to ([`cuts`]).
//!
//! It depends on no samscope crate, so any crate's unit and integration tests may use it.

#![warn(missing_docs)]

mod cuts;
mod paths;
pub mod scans;
mod scratch;

pub use cuts::cuts;
pub use paths::{
    fixtures, metaimage_fixture, model_file, read_testdata, testdata, testdata_dir, workspace_root,
};
pub use scratch::{scratch_dir, scratch_path};
