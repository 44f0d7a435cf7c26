#![no_main]
//! NRRD: the magic is supplied when missing.

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let bytes = common::with_prefix(b"NRRD000", data);
    if let Ok(imaging::Scan::Volume(v)) = imaging::decode_scan(&bytes, &common::limits()) {
        common::exercise(&v);
    }
});
