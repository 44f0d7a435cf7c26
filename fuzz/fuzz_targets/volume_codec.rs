#![no_main]
//! The server's stored volume format (`Volume::decode`): the magic is supplied when missing.

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let bytes = common::with_prefix(imaging::volume::VOLUME_MAGIC, data);
    if let Ok(v) = imaging::Volume::decode(&bytes, &common::limits()) {
        common::exercise(&v); // includes decode(encode(v))
    }
});
