//! The fine-tuning loss and its gradients equal the official PyTorch decoder's
//! (`tools/golden/make_finetune_golden.py`: segment-anything 1.0 with the LiteMedSAM weights,
//! float64 reference) on one batch — the retina embedding fixture and a vessel-like target —
//! for the three prompt modes, to a relative error ≤ 1e-3 (‖g − g_ref‖ / ‖g_ref‖ per
//! parameter, over the stored sample of its values).

use std::path::Path;

use test_support::fixtures;

use burn::module::ParamId;
use burn::optim::GradientsParams;
use burn::prelude::*;
use finetune::model::{self, Batch};
use sam::checkpoint::{default_checkpoint_path, load_pth, official_name};
use sam::prompt_encoder::Prompts;
use sam::{ModelConfig, ModelId, SamDecoder, npy};
use serde_json::Value;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TOLERANCE: f64 = 1e-3;

fn npy_f32(path: &Path) -> npy::NpyArray<f32> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    npy::decode(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn decoder(device: &Device) -> SamDecoder {
    let path = test_support::model_file(default_checkpoint_path());
    let config = ModelConfig::for_model(ModelId::LiteMedSam);
    load_pth(&config, &path, device).unwrap().split().1
}

/// The official name of a parameter path: the checkpoint renames, and Burn's LayerNorm
/// `gamma`/`beta` for PyTorch's `weight`/`bias`.
fn torch_name(path: &str) -> String {
    let name = official_name(path);
    if let Some(stem) = name.strip_suffix(".gamma") {
        format!("{stem}.weight")
    } else if let Some(stem) = name.strip_suffix(".beta") {
        format!("{stem}.bias")
    } else {
        name
    }
}

fn f32s(v: &Value) -> Option<Vec<f32>> {
    v.as_array()
        .map(|a| a.iter().map(|x| x.as_f64().unwrap() as f32).collect())
}

/// The gradient of parameter `id` (rank `rank`) in the official layout, flattened.
fn gradient(grads: &GradientsParams, id: ParamId, rank: usize, linear: bool) -> Vec<f32> {
    let values = |t: Tensor<2>| t.into_data().try_to_vec::<f32>().unwrap();
    match rank {
        1 => grads
            .get::<1>(id)
            .map(|g| g.into_data().try_to_vec::<f32>().unwrap()),
        2 => grads.get::<2>(id).map(|g| {
            if linear {
                values(g.transpose())
            } else {
                values(g)
            }
        }),
        4 => grads
            .get::<4>(id)
            .map(|g| g.into_data().try_to_vec::<f32>().unwrap()),
        other => panic!("unexpected rank {other}"),
    }
    .expect("the parameter has a gradient")
}

#[test]
fn loss_and_gradients_match_pytorch() {
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("finetune/manifest.json")).unwrap(),
    )
    .unwrap();
    let device = Device::flex();
    let train_device = device.clone().autodiff();
    let embedding = npy_f32(&fixtures().join("golden/retina/embedding.npy"));
    let truth = image::open(fixtures().join("finetune/retina_truth.png"))
        .unwrap()
        .to_luma8();
    assert_eq!(truth.dimensions(), (256, 256));
    let truth: Vec<f32> = truth.pixels().map(|p| f32::from(p.0[0] > 127)).collect();
    assert_eq!(
        truth.iter().sum::<f32>() as u64,
        manifest["truth_pixels"].as_u64().unwrap()
    );

    let trainable = model::trainable(decoder(&device));
    let params = model::parameters(&trainable).params;
    let image_pe = trainable.prompt_encoder.dense_pe(&train_device);
    let mut worst = 0.0f64;
    let cases = manifest["cases"].as_object().unwrap();
    let mut names: Vec<&str> = cases.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["box", "point", "promptless"],
        "the three prompt modes"
    );
    let mut compared = 0;
    for (case, spec) in cases {
        let prompts = Prompts {
            points: spec["points"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .map(|p| {
                            let v = f32s(p).unwrap();
                            [v[0], v[1]]
                        })
                        .collect()
                })
                .unwrap_or_default(),
            labels: spec["labels"]
                .as_array()
                .map(|ls| ls.iter().map(|l| l.as_i64().unwrap() as i32).collect())
                .unwrap_or_default(),
            bbox: f32s(&spec["box"]).map(|b| [b[0], b[1], b[2], b[3]]),
        };
        let sparse = trainable
            .prompt_encoder
            .embed_sparse(&prompts, &train_device);
        let shape: Vec<usize> = spec["sparse_shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(sparse.dims().to_vec(), shape, "{case}: sparse prompt shape");
        let batch = Batch {
            embeddings: Tensor::from_data(
                TensorData::new(embedding.data.clone(), [1, 256, 64, 64]),
                &train_device,
            ),
            sparse,
            truth: Tensor::from_data(
                TensorData::new(truth.clone(), [1, 1, 256, 256]),
                &train_device,
            ),
        };
        let logits = model::forward(&trainable, image_pe.clone(), &batch);
        let loss = finetune::loss::bce_dice(logits, batch.truth.clone());
        let value = f64::from(loss.clone().into_scalar::<f32>());
        let expected = spec["loss"].as_f64().unwrap();
        let loss_err = (value - expected).abs() / expected.abs();
        assert!(
            loss_err <= TOLERANCE,
            "{case}: loss {value} vs PyTorch {expected}"
        );
        let grads = GradientsParams::from_grads(loss.backward(), &trainable);

        let reference = npy_f32(
            &fixtures()
                .join("finetune")
                .join(spec["grads"].as_str().unwrap()),
        );
        let mut offset = 0;
        for entry in manifest["params"].as_array().unwrap() {
            let name = entry["name"].as_str().unwrap();
            let stride = entry["stride"].as_u64().unwrap() as usize;
            let count = entry["count"].as_u64().unwrap() as usize;
            let (_, id, dims, trainable_param) = params
                .iter()
                .find(|(path, ..)| torch_name(path) == name)
                .unwrap_or_else(|| panic!("no parameter {name}"));
            assert!(trainable_param, "{name} should be trained");
            let ours = gradient(&grads, *id, dims.len(), entry["linear"].as_bool().unwrap());
            let ours: Vec<f64> = ours.iter().step_by(stride).map(|&v| f64::from(v)).collect();
            let theirs: Vec<f64> = reference.data[offset..offset + count]
                .iter()
                .map(|&v| f64::from(v))
                .collect();
            offset += count;
            assert_eq!(ours.len(), count, "{name}: sample size");
            let norm = theirs.iter().map(|v| v * v).sum::<f64>().sqrt();
            let diff = ours
                .iter()
                .zip(&theirs)
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>()
                .sqrt();
            let rel = diff / norm.max(1e-30);
            eprintln!("{case:>10} {name:<75} |g| {norm:.3e} rel err {rel:.2e}");
            assert!(norm > 0.0, "{case}: {name} has a zero reference gradient");
            assert!(rel <= TOLERANCE, "{case}: {name} rel err {rel:.3e}");
            worst = worst.max(rel);
            compared += 1;
        }
        assert_eq!(
            offset,
            reference.data.len(),
            "{case}: every reference gradient read"
        );
        eprintln!("{case}: loss {value:.6} vs {expected:.6} (rel {loss_err:.2e})");
    }
    let params = manifest["params"].as_array().unwrap().len();
    assert!(params > 0, "no parameters in the manifest");
    assert_eq!(
        compared,
        3 * params,
        "every parameter of every mode compared"
    );
    eprintln!("largest gradient rel err {worst:.3e}");
}

#[test]
fn frozen_parameters_get_no_gradient_and_the_rest_all_train() {
    let device = Device::flex();
    let trainable = model::trainable(decoder(&device));
    for (path, _, _, grad) in model::parameters(&trainable).params {
        let expected =
            path.starts_with("mask_decoder.") || path == "prompt_encoder.no_mask_embed.weight";
        assert_eq!(grad, expected, "{path}");
    }
}
