#![no_main]
//! DICOM: preamble + `DICM` are supplied when missing, so every input is parsed as DICOM.

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let bytes = if data.len() >= 132 && &data[128..132] == b"DICM" {
        data.to_vec()
    } else {
        common::with_prefix(&[&[0u8; 128][..], b"DICM"].concat(), data)
    };
    if let Ok(imaging::Scan::Volume(v)) = imaging::decode_scan(&bytes, &common::limits()) {
        common::exercise(&v);
    }
});
