//! Prompts per second from one cached embedding on the CPU backend (flex): the decoder
//! alone, `SamPredictor::predict` (decoder + upscaling to the image + thresholding), and
//! the evaluator's `box` and `centroid` protocols on the 86 nuclei of the fixture
//! (prediction + metrics + records).
//!
//! `cargo bench -p samscope-study --bench prompts -- [RUNS]` prints one JSON line.
//! The embedding is the committed PyTorch one (`tests/fixtures/golden/nuclei/embedding.npy`),
//! so no encoder runs.

use std::time::Instant;

use burn::prelude::*;
use eval::ground_truth::{Classes, Decode, GroundTruth, LayerSource, load_layer};
use eval::metrics::Spacing;
use eval::{InstanceMode, Protocol};
use sam::transforms::preprocess_shape;
use sam::{Embedding, ModelConfig, ModelId, PromptInput, SamPredictor, npy};
use study::EvalOptions;
use study::evaluate::evaluate_image;

/// The allocator the `samscope` binary uses.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Median seconds of `runs` calls after 3 warm-up calls.
fn time(runs: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..3 {
        f();
    }
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64()
            })
            .collect(),
    )
}

fn main() {
    let runs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(20);
    let fixtures = test_support::fixtures();
    let device = Device::flex();
    let config = ModelConfig::for_model(ModelId::LiteMedSam);
    let (_, decoder) = sam::checkpoint::load_pth(
        &config,
        &sam::checkpoint::default_checkpoint_path(),
        &device,
    )
    .expect("run scripts/fetch-model.sh first")
    .split();
    let predictor = SamPredictor::decoder_only(config.clone(), decoder, device.clone());

    let (h, w) = (357, 512);
    let emb: npy::NpyArray<f32> =
        npy::decode(&std::fs::read(fixtures.join("golden/nuclei/embedding.npy")).unwrap()).unwrap();
    let embedding = Embedding {
        model: ModelId::LiteMedSam,
        tensor: Tensor::from_data(TensorData::new(emb.data, [1, 256, 64, 64]), &device),
        original_size: (h, w),
        input_size: preprocess_shape(h, w, config.img_size),
    };

    let image_pe = predictor.decoder().prompt_encoder.dense_pe(&device);
    let box_prompt = PromptInput {
        bbox: Some([173.0, 131.0, 214.0, 162.0]),
        ..Default::default()
    };
    let prompts = predictor.model_prompts(&embedding, &box_prompt);
    let decoder_s = time(runs, || {
        let out = predictor.decoder().decode(
            embedding.tensor.clone(),
            image_pe.clone(),
            &prompts,
            None,
            false,
        );
        let _ = out.low_res_masks.to_data();
    });
    let predict_box_s = time(runs, || {
        predictor.predict(&embedding, &box_prompt).unwrap();
    });
    let point = PromptInput {
        points: vec![[464.0, 232.0]],
        labels: vec![1],
        multimask: true,
        ..Default::default()
    };
    let predict_point_s = time(runs, || {
        predictor.predict(&embedding, &point).unwrap();
    });

    let truth = GroundTruth {
        width: w,
        height: h,
        layers: vec![
            load_layer(
                &LayerSource::new(
                    fixtures.join("images/nuclei_mask.png"),
                    Decode::Labels,
                    Classes::default(),
                ),
                w,
                h,
                w,
            )
            .unwrap(),
        ],
    };
    let mut protocol_rate = Vec::new();
    for protocol in [Protocol::Box, Protocol::Centroid] {
        let options = EvalOptions {
            protocols: vec![protocol],
            instances: InstanceMode::Component,
            ..Default::default()
        };
        let t = Instant::now();
        let scores = evaluate_image(
            &predictor,
            &embedding,
            "nuclei",
            &truth,
            Spacing::UNKNOWN,
            &options,
        )
        .unwrap();
        let seconds = t.elapsed().as_secs_f64();
        let decodes: usize = scores.results.iter().map(|r| r.decodes).sum();
        protocol_rate.push(format!(
            "\"{}_prompts_per_s\": {:.2}",
            protocol.as_str().replace('-', "_"),
            decodes as f64 / seconds
        ));
    }
    println!(
        "{{\"runs\": {runs}, \"decoder_ms\": {:.1}, \"predict_box_ms\": {:.1}, \"predict_point_multimask_ms\": {:.1}, {}}}",
        decoder_s * 1e3,
        predict_box_s * 1e3,
        predict_point_s * 1e3,
        protocol_rate.join(", ")
    );
}
