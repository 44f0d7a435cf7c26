//! SAM ViT image encoder: parity with the official `ImageEncoderViT` (small config with
//! seeded random weights where every constant-initialised tensor is perturbed), and the
//! exact key names and shapes of the official ViT-B/L/H checkpoints.

mod support;

use std::collections::BTreeMap;

use burn::store::{BurnToPyTorchAdapter, ModuleSnapshot};
use sam::build_sam::EncoderConfig;
use sam::image_encoder::VitConfig;
use sam::{ImageEncoder, ModelConfig, ModelId};
use support::*;

fn small_config() -> ModelConfig {
    let m = &manifest_vit()["config"];
    let n = |k: &str| m[k].as_u64().unwrap() as usize;
    let vit = VitConfig {
        img_size: n("img_size"),
        patch_size: n("patch_size"),
        embed_dim: n("embed_dim"),
        depth: n("depth"),
        num_heads: n("num_heads"),
        mlp_ratio: m["mlp_ratio"].as_f64().unwrap() as usize,
        out_chans: n("out_chans"),
        window_size: n("window_size"),
        global_attn_indexes: m["global_attn_indexes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect(),
    };
    ModelConfig {
        encoder: EncoderConfig::Vit(vit),
        ..ModelConfig::for_model(ModelId::VitB)
    }
}

fn manifest_vit() -> serde_json::Value {
    let text = std::fs::read_to_string(fixtures().join("golden/vit_small/manifest.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn vit_encoder_matches_pytorch_block_by_block() {
    let config = small_config();
    let path = fixtures().join("golden/vit_small/checkpoint.pth");
    let ImageEncoder::Vit(encoder) =
        sam::checkpoint::load_encoder_pth(&config, &path, &device()).expect("small ViT loads")
    else {
        panic!("a ViT config builds a ViT encoder");
    };
    let input = tensor::<4>(&golden("vit_small/input.npy"));
    let mut tokens = encoder.embed_patches(input);
    let expected = golden::<f32>("vit_small/tokens_patch.npy");
    let diff = max_abs_diff(&values(tokens.clone()), &expected.data);
    assert!(
        diff <= 1e-5,
        "patch embedding + pos_embed: max |Δ| = {diff}"
    );

    let manifest = manifest_vit();
    let stride = manifest["sample_stride"].as_u64().unwrap() as usize;
    for (i, block) in encoder.blocks.iter().enumerate() {
        tokens = block.forward(tokens);
        let meta = &manifest["blocks"][i];
        let expected = golden::<f32>(meta["file"].as_str().unwrap());
        let diff = max_abs_diff(&strided(values(tokens.clone()), stride), &expected.data);
        println!(
            "block {i} (window {}): max |Δ| = {diff:.2e}",
            meta["window_size"]
        );
        assert!(diff <= 5e-4, "block {i}: max |Δ| = {diff}");
    }
    let embedding = encoder.neck.forward(tokens.permute([0, 3, 1, 2]));
    let expected = golden::<f32>("vit_small/embedding.npy");
    assert_eq!(embedding.dims().to_vec(), expected.shape);
    let diff = max_abs_diff(&values(embedding), &expected.data);
    println!("embedding: max |Δ| = {diff:.2e}");
    assert!(diff <= 5e-4, "embedding: max |Δ| = {diff}");
}

/// `name → shape` of every tensor of `model`'s modules, under official checkpoint names.
fn our_keys(id: ModelId) -> BTreeMap<String, Vec<usize>> {
    let config = ModelConfig::for_model(id);
    let model = config.init(&device());
    model
        .collect(None, Some(Box::new(BurnToPyTorchAdapter)), true)
        .into_iter()
        .map(|t| {
            (
                sam::checkpoint::official_name(&t.name),
                t.shape.as_slice().to_vec(),
            )
        })
        .collect()
}

fn official_keys(id: ModelId) -> BTreeMap<String, Vec<usize>> {
    let text = std::fs::read_to_string(fixtures().join(format!("golden/{id}_keys.txt"))).unwrap();
    text.lines()
        .map(|line| {
            let mut cols = line.split('\t');
            let name = cols.next().unwrap().to_string();
            let shape = cols.nth(1).unwrap();
            let dims = shape
                .trim_matches(|c| c == '[' || c == ']')
                .split(',')
                .filter(|s| !s.trim().is_empty())
                .map(|s| s.trim().parse().unwrap())
                .collect();
            (name, dims)
        })
        .collect()
}

#[test]
fn vit_models_have_exactly_the_official_tensors() {
    for (id, count) in [
        (ModelId::VitB, 314),
        (ModelId::VitL, 482),
        (ModelId::VitH, 594),
    ] {
        let ours = our_keys(id);
        let theirs = official_keys(id);
        assert_eq!(theirs.len(), count, "{id}: official key list");
        let missing: Vec<_> = theirs.keys().filter(|k| !ours.contains_key(*k)).collect();
        let extra: Vec<_> = ours.keys().filter(|k| !theirs.contains_key(*k)).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{id}: missing {missing:?}, extra {extra:?}"
        );
        for (name, shape) in &theirs {
            assert_eq!(&ours[name], shape, "{id}: shape of {name}");
        }
    }
}

#[test]
fn lite_medsam_has_exactly_the_checkpoint_tensors() {
    let ours = our_keys(ModelId::LiteMedSam);
    let text = std::fs::read_to_string(fixtures().join("golden/checkpoint_keys.txt")).unwrap();
    let theirs: Vec<&str> = text
        .lines()
        .map(|l| l.split('\t').next().unwrap())
        .filter(|k| !k.ends_with("num_batches_tracked"))
        .collect();
    assert_eq!(ours.len(), theirs.len());
    assert!(theirs.iter().all(|k| ours.contains_key(*k)));
}
