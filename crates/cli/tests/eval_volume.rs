//! `samscope eval --layout volume` end to end with the real LiteMedSAM weights on a real
//! volume: nilearn's MNI152 T1 (`mni152_t1.nii.gz`) with the grey/white-matter label volume
//! `scripts/fetch-testdata.sh` derives from the same wheel's ICBM152 tissue maps
//! (`mni152_tissue.nii`). Three axial slices spread through the brain (`--shard 0/40
//! --limit 3`), then `--resume`, then a label volume on another grid.

mod support;

use std::path::PathBuf;
use support::cli::{ok, s, samscope, testdata};

fn scratch(name: &str) -> PathBuf {
    test_support::scratch_dir("cli-eval-volume", name)
}

/// `DIR/image.nii.gz` and `DIR/<label>` linked to the test data, with class names.
fn dataset(name: &str, label: (&str, &str)) -> PathBuf {
    let dir = scratch(name);
    std::os::unix::fs::symlink(testdata("mni152_t1.nii.gz"), dir.join("image.nii.gz")).unwrap();
    std::os::unix::fs::symlink(testdata(label.0), dir.join(label.1)).unwrap();
    std::fs::write(
        dir.join("classes.json"),
        r#"{"1": "grey matter", "2": "white matter"}"#,
    )
    .unwrap();
    dir
}

#[test]
fn evaluates_slices_of_a_real_volume_resumes_and_names_a_mismatched_label_volume() {
    let data = dataset("data", ("mni152_tissue.nii", "label.nii"));
    let out = scratch("out").join("run");
    let args = [
        "eval",
        "--data",
        s(&data),
        "--layout",
        "volume",
        "--protocol",
        "box",
        "--shard",
        "0/40",
        "--limit",
        "3",
        "--quiet",
        "--out",
        s(&out),
    ];
    let stdout = ok(&args);
    assert!(
        stdout.contains("3 images (3 evaluated now, 0 resumed); encoder passes 3"),
        "{stdout}"
    );

    // Slices 40 apart in the sorted list of labelled axial slices, both tissues named.
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["images"], serde_json::json!(["z002", "z042", "z082"]));
    let csv = std::fs::read_to_string(out.join("per_instance.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), 6, "{csv}");
    for id in ["z002", "z042", "z082"] {
        for class in ["grey matter", "white matter"] {
            assert!(
                rows.iter()
                    .any(|r| r.starts_with(&format!("{id},{class},"))),
                "{id} {class}: {csv}"
            );
        }
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["spacing"], "from the dataset for every image");
    let all = summary["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["class"] == "(all)")
        .unwrap();
    let dice = all["dice"]["mean"].as_f64().unwrap();
    assert!(
        dice > 0.3,
        "box prompts on aligned slices: mean Dice {dice}"
    );

    // The record names the slice; the report draws the slice under the figures.
    let records: Vec<PathBuf> = std::fs::read_dir(out.join("records"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let record = records
        .iter()
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("z042-")
        })
        .unwrap();
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(record).unwrap()).unwrap();
    assert_eq!(
        record["slice"],
        serde_json::json!({"axis": "axial", "index": 42, "window": "p0.5-99.5"})
    );
    assert_eq!(
        (record["width"].as_u64(), record["height"].as_u64()),
        (Some(197), Some(233))
    );
    assert_eq!(
        record["spacing"],
        serde_json::json!({"row_mm": 1.0, "col_mm": 1.0})
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("data:image/png;base64,") && !html.contains("scan not found"));

    let mut resume = args.to_vec();
    resume.push("--resume");
    let stdout = ok(&resume);
    assert!(stdout.contains("(0 evaluated now, 3 resumed)"), "{stdout}");
    // Another window for the same slice ids: not mixed into the run.
    std::fs::write(data.join("volume.json"), r#"{"window": "minmax"}"#).unwrap();
    let refused = samscope(&resume);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot resume") && stderr.contains("window minmax"),
        "{stderr}"
    );

    // A label volume on another grid (the 80×100×80 crop): named with both sizes.
    let bad = dataset("bad", ("mni152_crop.nrrd", "label.nrrd"));
    let bad_out = scratch("bad-out").join("run");
    let out = samscope(&[
        "eval",
        "--data",
        s(&bad),
        "--layout",
        "volume",
        "--protocol",
        "box",
        "--limit",
        "1",
        "--quiet",
        "--out",
        s(&bad_out),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for needle in ["label.nrrd", "80×100×80", "image.nii.gz", "197×233×189"] {
        assert!(stderr.contains(needle), "`{needle}` not in: {stderr}");
    }
}
