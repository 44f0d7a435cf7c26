//! `samscope eval` / `eval-merge` end to end with the real LiteMedSAM weights on a small
//! synthetic `generic` dataset: outputs, resume, shards + merge (identical to one run), the
//! shared embedding cache, and the errors bad input gets.

mod support;

use std::path::{Path, PathBuf};
use support::cli::{fails_with, ok, s, scratch_in};

fn scratch(name: &str) -> PathBuf {
    scratch_in("eval", name)
}

/// Three 96×64 scans, each with a bright disk (label 1) and a grey square (label 2); the
/// third image has no square (an empty ground-truth instance of a declared class).
fn dataset(root: &Path) {
    std::fs::create_dir_all(root.join("images")).unwrap();
    std::fs::create_dir_all(root.join("masks")).unwrap();
    for i in 0..3u32 {
        let (cx, cy, r) = (24.0 + 8.0 * i as f32, 30.0, 10.0 + 2.0 * i as f32);
        let disk = |x: u32, y: u32| (x as f32 - cx).powi(2) + (y as f32 - cy).powi(2) <= r * r;
        let square = |x: u32, y: u32| i < 2 && (60..80).contains(&x) && (20..44).contains(&y);
        let scan = image::RgbImage::from_fn(96, 64, |x, y| {
            let v = if disk(x, y) {
                220
            } else if square(x, y) {
                140
            } else {
                30 + ((x * 7 + y * 3) % 11) as u8
            };
            image::Rgb([v, v, v])
        });
        scan.save(root.join(format!("images/scan{i}.png"))).unwrap();
        let mask = image::GrayImage::from_fn(96, 64, |x, y| {
            image::Luma([if disk(x, y) {
                1
            } else if square(x, y) {
                2
            } else {
                0
            }])
        });
        mask.save(root.join(format!("masks/scan{i}.png"))).unwrap();
    }
    std::fs::write(root.join("classes.json"), r#"{"1": "disk", "2": "square"}"#).unwrap();
}

#[test]
fn eval_outputs_resume_shards_merge_and_cache() {
    let data = scratch("data");
    dataset(&data);
    let cache = scratch("cache");
    let full = scratch("full");
    let common = |out: &Path| -> Vec<String> {
        [
            "eval",
            "--data",
            s(&data),
            "--layout",
            "generic",
            "--protocol",
            "box,center",
            "--protocol",
            "iterative",
            "--clicks",
            "3",
            "--cache",
            s(&cache),
            "--quiet",
            "--out",
            s(out),
        ]
        .map(String::from)
        .to_vec()
    };
    let args = common(&full);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let stdout = ok(&args);
    assert!(
        stdout.contains("3 images (3 evaluated now, 0 resumed); encoder passes 3"),
        "{stdout}"
    );

    // Tables: 5 instances × 3 protocols, the iterative IoU after each of 3 clicks.
    let csv = std::fs::read_to_string(full.join("per_instance.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with(
        "image,class,instance,protocol,prompt,candidate,predicted_iou,dice,iou,hd95_mm,nsd,flags"
    ));
    assert_eq!(lines.len(), 1 + 5 * 3);
    let iterative: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.contains(",iterative,"))
        .collect();
    assert_eq!(iterative.len(), 5);
    assert!(
        iterative
            .iter()
            .all(|l| l.rsplit(',').next().unwrap().split(';').count() == 3)
    );
    let box_disk = lines
        .iter()
        .find(|l| l.starts_with("scan0,disk,1,box,box("))
        .expect("box row of scan0's disk");
    let dice: f64 = box_disk.split(',').nth(7).unwrap().parse().unwrap();
    assert!(dice > 0.8, "a bright disk from its box: Dice {dice}");

    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(full.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["images"], 3);
    assert_eq!(summary["skipped_empty_ground_truth"]["square"], 1);
    assert_eq!(summary["timing"]["encoder_passes"], 3);
    let rows = summary["rows"].as_array().unwrap();
    let it_all = rows
        .iter()
        .find(|r| r["protocol"] == "iterative" && r["class"] == "(all)")
        .unwrap();
    assert_eq!(it_all["n"], 5);
    assert_eq!(
        it_all["iterative"]["iou_after_click"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let md = std::fs::read_to_string(full.join("per_class.md")).unwrap();
    assert!(
        md.contains("| box | disk | 3 |") && md.contains("| box | square | 2 |"),
        "{md}"
    );
    assert!(md.contains("NoC@85"));
    let html = std::fs::read_to_string(full.join("report.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("data:image/png;base64,"));

    // Again without --resume: refused. With it: nothing left to do.
    fails_with(&args, &["already holds a run", "--resume"]);
    let mut resume = args.clone();
    resume.push("--resume");
    let stdout = ok(&resume);
    assert!(stdout.contains("(0 evaluated now, 3 resumed)"), "{stdout}");
    // Resuming with other settings is refused.
    let mut other = resume.clone();
    other.extend(["--seed", "5"]);
    fails_with(&other, &["cannot resume", "seed"]);

    // Two shards (2 + 1 images), sharing the cache: no encoder pass at all.
    let (s0, s1, merged) = (scratch("shard0"), scratch("shard1"), scratch("merged"));
    for (out, shard) in [(&s0, "0/2"), (&s1, "1/2")] {
        let mut a = common(out);
        a.extend(["--shard".into(), shard.into()]);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let stdout = ok(&a);
        assert!(stdout.contains("encoder passes 0"), "{stdout}");
    }
    fails_with(
        &["eval-merge", s(&s0), "--out", s(&merged)],
        &["missing shard(s) 1/2"],
    );
    fails_with(
        &["eval-merge", s(&full), "--out", s(&merged)],
        &["not sharded"],
    );
    let stdout = ok(&["eval-merge", s(&s0), s(&s1), "--out", s(&merged)]);
    assert!(stdout.contains("3 images"), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(merged.join("per_instance.csv")).unwrap(),
        csv,
        "sharded + merged equals one run"
    );
}

#[test]
fn eval_errors_name_the_file_or_flag() {
    let data = scratch("bad-data");
    dataset(&data);
    let out = scratch("bad-out");
    let run = |extra: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = ["eval", "--data", s(&data), "--out", s(&out), "--quiet"]
            .map(String::from)
            .to_vec();
        a.extend(extra.iter().map(|x| x.to_string()));
        a
    };
    let check = |extra: &[&str], needles: &[&str]| {
        let a = run(extra);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        fails_with(&a, needles);
    };
    check(
        &["--layout", "kaggle", "--protocol", "box"],
        &["--layout", "`kaggle`"],
    );
    check(
        &["--layout", "generic", "--protocol", "points"],
        &["--protocol", "box-jitter"],
    );
    check(
        &["--layout", "amos", "--protocol", "box"],
        &["imagesTr", "amos_<NNNN>.nii.gz"],
    );
    check(
        &["--layout", "generic", "--protocol", "box", "--shard", "2/2"],
        &["--shard"],
    );
    check(
        &[
            "--layout",
            "generic",
            "--protocol",
            "box",
            "--instances",
            "blobs",
        ],
        &["--instances"],
    );
    check(
        &["--layout", "drive", "--protocol", "box"],
        &["training/images"],
    );
    fails_with(
        &[
            "eval",
            "--data",
            "/nonexistent/samscope",
            "--layout",
            "generic",
            "--protocol",
            "box",
            "--out",
            s(&out),
        ],
        &["/nonexistent/samscope"],
    );

    // A mask of the wrong size, then an unreadable one: named, after the model loads.
    image::GrayImage::new(10, 10)
        .save(data.join("masks/scan1.png"))
        .unwrap();
    check(
        &["--layout", "generic", "--protocol", "box"],
        &["masks/scan1.png", "10×10", "96×64"],
    );
    std::fs::write(data.join("masks/scan1.png"), b"not a png").unwrap();
    let out2 = scratch("bad-out2");
    fails_with(
        &[
            "eval",
            "--data",
            s(&data),
            "--layout",
            "generic",
            "--protocol",
            "box",
            "--out",
            s(&out2),
            "--quiet",
        ],
        &["masks/scan1.png", "not a readable mask"],
    );
}
