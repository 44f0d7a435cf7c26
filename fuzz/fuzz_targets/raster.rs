#![no_main]
//! The PNG/JPEG/TIFF/PNM path (`decode_image`, as the server's raster uploads).

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(image) = imaging::decode_image(data, &common::limits()) {
        assert_eq!(
            image.rgb.len(),
            image.width as usize * image.height as usize * 3
        );
    }
});
