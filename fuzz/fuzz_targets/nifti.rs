#![no_main]
//! NIfTI-1/2, plain or gzipped (the seeds hold both).

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(imaging::Scan::Volume(v)) = imaging::decode_scan(data, &common::limits()) {
        common::exercise(&v);
    }
});
