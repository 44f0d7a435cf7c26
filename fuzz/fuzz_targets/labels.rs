#![no_main]
//! Mask / label maps and label volumes (`decode_labels`), sliced along every axis.

mod common;

use imaging::Axis;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = imaging::decode_labels(data, &common::limits()) {
        for axis in Axis::ALL {
            let last = v.slice_count(axis) - 1;
            let (w, h) = v.slice_size(axis);
            if (w * h) as u64 <= common::limits().max_pixels {
                v.label_slice(axis, last).expect("a label volume slices");
            }
        }
    }
});
