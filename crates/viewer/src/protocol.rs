//! Messages between the page and the decoder worker (structured clones made with
//! serde-wasm-bindgen; byte buffers travel as `Uint8Array`s): the contract types of
//! `api::worker`, and the wire precision under the viewer's name for it.

pub use api::WireDtype as Wire;
pub use api::worker::{Backend, BackendChoice, Reply, Request, WeightsLayout};
