//! `samscope segment` / `embed` on DICOM, NIfTI and NRRD scans (`scripts/fetch-testdata.sh`).

mod support;

use support::cli::{fails_with, json, ok, scratch_in};

fn testdata(name: &str) -> String {
    support::cli::testdata(name).display().to_string()
}

#[test]
fn segments_a_dicom_slice_and_a_nifti_slice_with_a_window() {
    let ct = testdata("CT_small.dcm");
    let s = json(&[
        "segment",
        "--image",
        &ct,
        "--box",
        "30,30,90,90",
        "--window",
        "ct_abdomen",
        "--json",
    ]);
    assert_eq!(
        (s["width"].as_u64(), s["height"].as_u64()),
        (Some(128), Some(128))
    );
    let mni = testdata("mni152_t1.nii.gz");
    let s = json(&[
        "segment",
        "--image",
        &mni,
        "--slice",
        "coronal:120",
        "--window",
        "p0.5-99.5",
        "--box",
        "60,40,140,120",
        "--json",
    ]);
    // Coronal slices of the MNI152 grid are 197 × 189.
    assert_eq!(
        (s["width"].as_u64(), s["height"].as_u64()),
        (Some(197), Some(189))
    );
    let out = scratch_in("scans", "embedding.npy");
    ok(&[
        "embed",
        "--image",
        &testdata("mni152_crop.nrrd"),
        "--slice",
        "axial:40",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(out.is_file());
    let _ = std::fs::remove_file(out);
}

#[test]
fn bad_slices_and_windows_name_the_file_and_the_flag() {
    let mni = testdata("mni152_t1.nii.gz");
    fails_with(
        &["segment", "--image", &mni, "--box", "1,1,9,9"],
        &[
            "--slice",
            "mni152_t1.nii.gz",
            "197×233×189",
            "axial 0..=188",
        ],
    );
    fails_with(
        &[
            "segment",
            "--image",
            &mni,
            "--slice",
            "axial:189",
            "--box",
            "1,1,9,9",
        ],
        &["--slice", "axial index 189"],
    );
    fails_with(
        &[
            "segment",
            "--image",
            &mni,
            "--slice",
            "oblique:3",
            "--box",
            "1,1,9,9",
        ],
        &["--slice", "oblique:3"],
    );
    fails_with(
        &[
            "segment", "--image", &mni, "--slice", "axial:3", "--window", "40,0", "--box",
            "1,1,9,9",
        ],
        &["--window", "40,0"],
    );
    let png = test_support::fixtures().join("images/nuclei.png");
    fails_with(
        &[
            "segment",
            "--image",
            png.to_str().unwrap(),
            "--slice",
            "axial:0",
            "--box",
            "1,1,9,9",
        ],
        &["--slice", "nuclei.png", "not a volume"],
    );
    fails_with(
        &[
            "segment",
            "--image",
            &testdata("MR_small_jp2klossless.dcm"),
            "--box",
            "1,1,9,9",
        ],
        &["MR_small_jp2klossless.dcm", "JPEG 2000"],
    );
}
