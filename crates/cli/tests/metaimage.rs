//! `samscope segment` / `embed` on MetaImage scans: a single-file `.mha` and a detached
//! `.mhd` header read from its path (the SimpleITK fixtures of `crates/imaging`).

mod support;

use std::path::PathBuf;
use support::cli::{fails_with, json, ok};

fn fixture(name: &str) -> String {
    test_support::metaimage_fixture(name).display().to_string()
}

fn segment(image: &str) -> serde_json::Value {
    json(&[
        "segment",
        "--image",
        image,
        "--slice",
        "axial:12",
        "--box",
        "4,4,28,28",
        "--json",
    ])
}

/// A fresh folder under the system's temporary folder.
fn scratch(name: &str) -> PathBuf {
    test_support::scratch_dir("cli-mha", name)
}

#[test]
fn segments_mha_and_mhd_slices_alike() {
    let mha = segment(&fixture("mni152_crop.mha"));
    assert_eq!(
        (mha["width"].as_u64(), mha["height"].as_u64()),
        (Some(32), Some(32))
    );
    // The .mhd crops hold 3v − 100 and v / 2: the default percentile window maps them to
    // the same 8-bit slice, so the mask is the same.
    for mhd in ["mni152_crop_i16.mhd", "mni152_crop_f32.mhd"] {
        let s = segment(&fixture(mhd));
        assert_eq!(s["area"], mha["area"], "{mhd}");
    }
    let out = scratch("embed").join("rgb.npy");
    ok(&[
        "embed",
        "--image",
        &fixture("rgb_2d.mha"),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(out.is_file());
    let _ = std::fs::remove_dir_all(out.parent().unwrap());
}

#[test]
fn a_header_without_its_data_file_beside_it_names_the_problem() {
    let dir = scratch("detached");
    let header = std::fs::read_to_string(fixture("mni152_crop_i16.mhd")).unwrap();
    let alone = dir.join("alone.mhd");
    std::fs::write(&alone, &header).unwrap();
    let escape = dir.join("escape.mhd");
    std::fs::write(
        &escape,
        header.replace("mni152_crop_i16.raw", "../mni152_crop_i16.raw"),
    )
    .unwrap();
    for (path, needles) in [
        (&alone, ["ElementDataFile", "mni152_crop_i16.raw"]),
        (
            &escape,
            ["ElementDataFile", "relative to the header's folder"],
        ),
    ] {
        fails_with(
            &[
                "segment",
                "--image",
                path.to_str().unwrap(),
                "--slice",
                "axial:1",
                "--box",
                "1,1,9,9",
            ],
            &needles,
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}
