//! `samscope synth-vessels`, `samscope finetune` and `samscope eval --finetuned` end to end
//! with the real LiteMedSAM weights on a tiny synthetic vessel dataset (one epoch: the
//! plumbing, not the learning — `crates/finetune/tests/train_vessels.rs` checks that), and
//! the errors bad input gets.

mod support;

use std::path::PathBuf;
use support::cli::{fails_with, ok, s, scratch_in};

fn scratch(name: &str) -> PathBuf {
    scratch_in("finetune", name)
}

#[test]
fn synth_finetune_and_eval_the_finetuned_model() {
    let data = scratch("data");
    let out = ok(&[
        "synth-vessels",
        "--out",
        s(&data),
        "--count",
        "2",
        "--test-count",
        "1",
        "--size",
        "128x120",
        "--seed",
        "5",
    ]);
    assert!(out.contains("wrote 3 images"), "{out}");
    assert!(data.join("training/images/21_training.tif").is_file());
    assert!(data.join("test/1st_manual/01_manual1.gif").is_file());
    fails_with(
        &["synth-vessels", "--out", s(&data), "--count", "1"],
        &["not empty"],
    );
    fails_with(
        &["synth-vessels", "--out", s(&scratch("x")), "--size", "12"],
        &["--size"],
    );

    let model = scratch("model");
    let cache = scratch("cache");
    let finetune = |epochs: &str, extra: &[&str]| {
        let mut args = vec![
            "finetune",
            "--data",
            s(&data),
            "--layout",
            "drive",
            "--epochs",
            epochs,
            "--lr",
            "5e-4",
            "--mode",
            "box",
            "--out",
            s(&model),
            "--cache",
            s(&cache),
            "--quiet",
        ];
        args.extend_from_slice(extra);
        args.into_iter().map(str::to_string).collect::<Vec<_>>()
    };
    let args = finetune("1", &[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = ok(&args);
    assert!(
        out.contains("lite_medsam+vessels: 1 epochs (1 now), 2 steps"),
        "{out}"
    );
    assert!(out.contains("drive/test: Dice"), "{out}");
    for file in [
        "decoder.safetensors",
        "manifest.json",
        "table.md",
        "table.json",
        "run.json",
    ] {
        assert!(model.join(file).is_file(), "{file}");
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(model.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["name"], "lite_medsam+vessels");
    assert_eq!(manifest["base_model"], "lite_medsam");
    assert_eq!(manifest["training"]["mode"], "box");
    assert_eq!(manifest["training"]["optimizer"], "adamw");
    assert_eq!(manifest["train_data"]["images"], 2);
    assert_eq!(manifest["metrics"][0]["dataset"], "drive/test");
    // Again without --resume: refused; with --resume and more epochs: one more.
    fails_with(&args, &["--resume"]);
    let more = finetune("2", &["--resume"]);
    let more: Vec<&str> = more.iter().map(String::as_str).collect();
    let out = ok(&more);
    assert!(out.contains("2 epochs (1 now), 4 steps"), "{out}");

    // `eval --finetuned` runs the fine-tuned decoder on the base model's cached embeddings.
    let eval_out = scratch("eval");
    let out = ok(&[
        "eval",
        "--data",
        s(&data),
        "--layout",
        "drive",
        "--protocol",
        "box,promptless",
        "--finetuned",
        s(&model),
        "--cache",
        s(&cache),
        "--out",
        s(&eval_out),
        "--quiet",
    ]);
    assert!(out.contains("encoder passes 0, cached 3"), "{out}");
    assert!(out.contains("promptless: Dice"), "{out}");
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(eval_out.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["settings"]["model"], "lite_medsam+vessels");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(model.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(
        run["settings"]["decoder_sha256"],
        manifest["decoder_sha256"]
    );

    // Errors name the flag or file at fault.
    fails_with(
        &[
            "eval",
            "--data",
            s(&data),
            "--layout",
            "drive",
            "--protocol",
            "box",
            "--finetuned",
            s(&scratch("nothing")),
            "--out",
            s(&scratch("e2")),
        ],
        &["manifest.json", "finetune"],
    );
    fails_with(
        &[
            "finetune",
            "--data",
            s(&data),
            "--layout",
            "drive",
            "--mode",
            "boxes",
            "--out",
            s(&scratch("m2")),
        ],
        &["--mode", "promptless, box or point"],
    );
    fails_with(
        &[
            "finetune",
            "--data",
            s(&data),
            "--layout",
            "drive",
            "--optimizer",
            "sgd",
            "--out",
            s(&scratch("m3")),
        ],
        &["--optimizer", "adamw"],
    );
    fails_with(
        &[
            "finetune",
            "--data",
            s(&data),
            "--layout",
            "drive",
            "--name",
            "vit_b",
            "--out",
            s(&scratch("m4")),
        ],
        &["--name", "base model"],
    );
    let _ = std::fs::remove_dir_all(data.parent().unwrap());
}
