//! Shared helpers of the integration tests (each test crate uses a part of them).
#![allow(dead_code)]

pub mod cdp;
pub mod cli;
pub mod serve;
