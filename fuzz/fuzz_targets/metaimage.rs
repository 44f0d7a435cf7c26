#![no_main]
//! MetaImage: `ObjectType = Image` is supplied when missing. Headers with the data attached
//! (`.mha`) decode from memory, as an upload; detached ones (`.mhd`) are also read as if
//! from a header in a scratch folder that holds a few data files: `data.raw` and the data
//! files of the committed `.mhd` fixtures (the seeds name them).

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

const FIXTURES: [(&str, &[u8]); 2] = [
    (
        "mni152_crop_i16.raw",
        include_bytes!("../../crates/imaging/tests/fixtures/metaimage/mni152_crop_i16.raw"),
    ),
    (
        "mni152_crop_f32.zraw",
        include_bytes!("../../crates/imaging/tests/fixtures/metaimage/mni152_crop_f32.zraw"),
    ),
];

/// `<tmp>/samscope-fuzz-metaimage/scan.mhd`, beside the data files.
fn header_path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = std::env::temp_dir().join("samscope-fuzz-metaimage");
        std::fs::create_dir_all(&dir).expect("scratch folder");
        let data: Vec<u8> = (0..4096u32).map(|v| (v * 37 % 251) as u8).collect();
        std::fs::write(dir.join("data.raw"), data).expect("data file");
        for (name, bytes) in FIXTURES {
            std::fs::write(dir.join(name), bytes).expect("data file");
        }
        dir.join("scan.mhd")
    })
}

fuzz_target!(|data: &[u8]| {
    let bytes = common::with_prefix(b"ObjectType = Image\n", data);
    let limits = common::limits();
    if let Ok(imaging::Scan::Volume(v)) = imaging::decode_scan(&bytes, &limits) {
        common::exercise(&v);
    }
    if let Ok(imaging::Scan::Volume(v)) = imaging::decode_scan_file(&bytes, header_path(), &limits)
    {
        common::exercise(&v);
    }
});
