//! End-to-end tests of the `samscope` binary on real images and the real LiteMedSAM weights.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use sam::npy;
use support::cli::{json, ok, succeeds};
use test_support::fixtures;

fn scratch(name: &str) -> PathBuf {
    support::cli::scratch_in("main", name)
}

fn image(name: &str) -> String {
    fixtures().join("images").join(name).display().to_string()
}

/// Runs a command that must fail with exit code 2 and a message containing `needle`.
fn fails_with(args: &[&str], needle: &str) {
    support::cli::fails_with(args, &[needle]);
}

fn golden_u8(rel: &str) -> npy::NpyArray<u8> {
    npy::decode(&std::fs::read(fixtures().join("golden").join(rel)).unwrap()).unwrap()
}

#[test]
fn segment_box_writes_the_pytorch_mask_logits_and_json() {
    let mask_path = scratch("box.png");
    let logits_path = scratch("box.npy");
    let summary = json(&[
        "segment",
        "--image",
        &image("nuclei.png"),
        "--box",
        "173,131,214,162",
        "--out",
        mask_path.to_str().unwrap(),
        "--low-res-out",
        logits_path.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(summary["model"], "lite_medsam");
    assert_eq!(
        (summary["width"].as_u64(), summary["height"].as_u64()),
        (Some(512), Some(357))
    );
    assert_eq!(summary["chosen"], 0);
    assert_eq!(summary["iou_predictions"].as_array().unwrap().len(), 1);

    let mask = image_crate_gray(&mask_path);
    let golden = golden_u8("nuclei/box_single_masks.npy");
    assert_eq!(golden.shape, vec![1, 357, 512]);
    let ours: Vec<u8> = mask.iter().map(|&v| u8::from(v == 255)).collect();
    assert!(
        mask.iter().all(|&v| v == 0 || v == 255),
        "mask PNG holds only 0 and 255"
    );
    let inter = ours
        .iter()
        .zip(&golden.data)
        .filter(|(a, b)| **a == 1 && **b == 1)
        .count();
    let union = ours
        .iter()
        .zip(&golden.data)
        .filter(|(a, b)| **a == 1 || **b == 1)
        .count();
    assert!(inter as f64 / union as f64 >= 0.999);
    assert_eq!(
        summary["area"].as_u64().unwrap() as usize,
        ours.iter().filter(|&&v| v == 1).count()
    );

    let logits: npy::NpyArray<f32> = npy::decode(&std::fs::read(&logits_path).unwrap()).unwrap();
    assert_eq!(logits.shape, vec![1, 256, 256]);
}

fn image_crate_gray(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap();
    let decoded = imaging::decode_image(&bytes, &imaging::Limits::default()).unwrap();
    decoded.rgb.chunks(3).map(|p| p[0]).collect()
}

#[test]
fn multimask_points_return_three_candidates_and_chosen_is_the_best() {
    let logits_path = scratch("multi.npy");
    let summary = json(&[
        "segment",
        "--image",
        &image("retina.png"),
        "--point",
        "140,270",
        "--point",
        "200,268,1",
        "--point",
        "170,281,0",
        "--multimask",
        "--low-res-out",
        logits_path.to_str().unwrap(),
        "--json",
    ]);
    let ious: Vec<f64> = summary["iou_predictions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(ious.len(), 3);
    let chosen = summary["chosen"].as_u64().unwrap() as usize;
    assert!(ious.iter().all(|&v| v <= ious[chosen]));
    let logits: npy::NpyArray<f32> = npy::decode(&std::fs::read(&logits_path).unwrap()).unwrap();
    assert_eq!(logits.shape, vec![3, 256, 256]);
}

#[test]
fn embed_writes_the_pytorch_embedding_for_one_or_several_images() {
    let golden: npy::NpyArray<f32> =
        npy::decode(&std::fs::read(fixtures().join("golden/retina/embedding.npy")).unwrap())
            .unwrap();
    let max_diff = |path: &Path| {
        let ours: npy::NpyArray<f32> = npy::decode(&std::fs::read(path).unwrap()).unwrap();
        assert_eq!(ours.shape, vec![1, 256, 64, 64]);
        ours.data
            .iter()
            .zip(&golden.data)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max)
    };
    let file = scratch("emb.npy");
    ok(&[
        "embed",
        "--image",
        &image("retina.png"),
        "--out",
        file.to_str().unwrap(),
    ]);
    assert!(max_diff(&file) <= 1e-4);

    let dir = scratch("embeddings");
    let out = succeeds(&[
        "embed",
        "--image",
        &image("nuclei.png"),
        &image("retina.png"),
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(dir.join("nuclei.npy").is_file());
    assert!(max_diff(&dir.join("retina.npy")) <= 1e-4);
    assert!(String::from_utf8_lossy(&out.stderr).contains("2/2 images"));
}

#[test]
fn grey_and_sixteen_bit_images_are_converted_not_refused() {
    let grey16 = scratch("grey16.png");
    let img = image::ImageBuffer::from_fn(40, 30, |x, y| image::Luma([(x * 1000 + y * 7) as u16]));
    img.save(&grey16).unwrap();
    let grey8 = scratch("grey8.png");
    image::ImageBuffer::from_fn(40, 30, |x, _| image::Luma([x as u8 * 5]))
        .save(&grey8)
        .unwrap();
    for path in [grey16, grey8] {
        ok(&[
            "segment",
            "--image",
            path.to_str().unwrap(),
            "--box",
            "5,5,30,20",
            "--json",
        ]);
    }
}

#[test]
fn bad_inputs_get_a_clear_message_and_exit_code_2() {
    let nuclei = image("nuclei.png");
    let empty = scratch("empty.png");
    std::fs::write(&empty, b"").unwrap();
    let text = scratch("notes.png");
    std::fs::write(&text, b"this is not an image").unwrap();
    let truncated = scratch("truncated.png");
    let bytes = std::fs::read(&nuclei).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    let bad_ckpt = scratch("bad.pth");
    std::fs::write(&bad_ckpt, b"not a checkpoint").unwrap();
    let wrong_keys = fixtures().join("checkpoints/wrong_keys.pth");

    for (image, needle) in [
        (empty.to_str().unwrap(), "empty"),
        (text.to_str().unwrap(), "unsupported image format"),
        (truncated.to_str().unwrap(), "corrupt or truncated png"),
        ("/no/such/scan.png", "/no/such/scan.png"),
    ] {
        fails_with(&["segment", "--image", image, "--box", "1,1,2,2"], needle);
    }
    fails_with(
        &["segment", "--image", &nuclei, "--point", "600,10"],
        "outside the 512×357 image",
    );
    fails_with(
        &["segment", "--image", &nuclei, "--point", "10,10,7"],
        "--point",
    );
    fails_with(
        &["segment", "--image", &nuclei, "--box", "214,131,173,162"],
        "x0 ≤ x1",
    );
    fails_with(&["segment", "--image", &nuclei], "--point/--box");
    fails_with(
        &[
            "segment", "--image", &nuclei, "--box", "1,1,9,9", "--model", "vit_h",
        ],
        "model `vit_h` needs --checkpoint PATH",
    );
    fails_with(
        &[
            "segment", "--image", &nuclei, "--box", "1,1,9,9", "--model", "sam2",
        ],
        "unknown model",
    );
    for (checkpoint, needle) in [
        (&bad_ckpt, "cannot read checkpoint"),
        (
            &wrong_keys,
            "unexpected tensor: image_encoder.not_a_layer.weight",
        ),
        (&wrong_keys, "missing tensor"),
    ] {
        refuses_checkpoint(&nuclei, checkpoint, needle);
    }
}

#[test]
fn serve_refuses_weak_setups_before_loading_a_model() {
    let token = "a-token-of-24-characters";
    fails_with(&["serve", "--token", "short"], "at least 16");
    fails_with(
        &["serve", "--addr", "0.0.0.0:0"],
        "reachable from other machines",
    );
    fails_with(
        &["serve", "--addr", "0.0.0.0:0", "--token", token],
        "--insecure-http",
    );
    fails_with(&["serve", "--trust-forwarded"], "--trust-forwarded");
    // A missing certificate is named before the (missing) checkpoint is looked at.
    fails_with(
        &[
            "serve",
            "--tls-cert",
            "/nonexistent/samscope-cert.pem",
            "--tls-key",
            "/nonexistent/samscope-key.pem",
            "--checkpoint",
            "/nonexistent/model.pth",
        ],
        "samscope-cert.pem",
    );
    let file = scratch("token");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, format!("{token}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        fails_with(
            &["serve", "--token-file", file.to_str().unwrap()],
            "chmod 600",
        );
    }
    std::fs::write(&file, "short\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    fails_with(
        &["serve", "--token-file", file.to_str().unwrap()],
        "at least 16",
    );
}

/// `segment --checkpoint CHECKPOINT` on `image` must fail with a message containing `needle`.
fn refuses_checkpoint(image: &str, checkpoint: &Path, needle: &str) {
    let checkpoint = checkpoint.to_str().unwrap();
    fails_with(
        &[
            "segment",
            "--image",
            image,
            "--box",
            "1,1,9,9",
            "--checkpoint",
            checkpoint,
        ],
        needle,
    );
}

#[test]
fn a_truncated_or_foreign_checkpoint_is_refused() {
    let real = std::fs::read(sam::checkpoint::default_checkpoint_path())
        .expect("run scripts/fetch-model.sh");
    let truncated = scratch("truncated.pth");
    std::fs::write(&truncated, &real[..real.len() / 2]).unwrap();
    let nuclei = image("nuclei.png");
    refuses_checkpoint(&nuclei, &truncated, "cannot read checkpoint");
    // LiteMedSAM weights into MobileSAM's encoder: the 3×3 stride-2 stem does not fit.
    fails_with(
        &[
            "segment",
            "--image",
            &nuclei,
            "--box",
            "1,1,9,9",
            "--model",
            "mobile_sam",
            "--checkpoint",
            sam::checkpoint::default_checkpoint_path().to_str().unwrap(),
        ],
        "image_encoder.patch_embed.seq.0.c.weight: the model expects shape [32, 3, 3, 3]",
    );
    // A corrupt default model is detected by its hash, with the fix.
    let fake_home = scratch("home");
    std::fs::create_dir_all(&fake_home).unwrap();
    std::fs::write(fake_home.join("lite_medsam.pth"), &real[..1000]).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_samscope"))
        .args(["segment", "--image", &nuclei, "--box", "1,1,9,9"])
        .env("SAMSCOPE_HOME", &fake_home)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("sha256") && stderr.contains("scripts/fetch-model.sh"),
        "{stderr}"
    );
}
