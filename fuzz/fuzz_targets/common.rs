//! Shared by the fuzz targets: small limits (so libFuzzer's 2 GiB RSS limit catches any
//! allocation the limits fail to stop) and the work done on every decoded volume.

#![allow(dead_code)]

use imaging::{Axis, Limits, SourceFormat, Volume, Window};

/// 8 MiB inputs, 16 MP slices, 256 MiB of decoder memory.
pub fn limits() -> Limits {
    Limits {
        max_bytes: 8 << 20,
        max_pixels: 16 << 20,
        max_alloc: 256 << 20,
    }
}

/// Slices the first and last index of every axis and renders them, as the server would.
pub fn exercise(volume: &Volume) {
    for axis in Axis::ALL {
        let n = volume.slice_count(axis);
        for index in [0, n - 1] {
            let (w, h) = volume.slice_size(axis);
            if (w * h) as u64 > limits().max_pixels {
                continue;
            }
            let _ = volume.render(axis, index, &Window::Default, SourceFormat::Nifti);
            let _ = volume.label_slice(axis, index);
        }
    }
    let _ = volume.resolve_window(&Window::MR_PERCENTILES);
    let again = Volume::decode(&volume.encode(), &limits()).expect("a volume re-decodes");
    assert!(again.encode() == volume.encode(), "decode(encode(v)) == v");
}

/// `data` with `prefix` put in front unless it already starts with it, so that every
/// input reaches the decoder under test.
pub fn with_prefix(prefix: &[u8], data: &[u8]) -> Vec<u8> {
    if data.starts_with(prefix) {
        data.to_vec()
    } else {
        [prefix, data].concat()
    }
}
