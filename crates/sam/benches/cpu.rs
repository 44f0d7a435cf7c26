//! LiteMedSAM on Burn's CPU backend (flex): encoder per image and prompt encoder + mask
//! decoder per click, on the same input and prompt as `tools/golden/bench_torch.py`.
//!
//! `cargo bench -p samscope-sam --features pytorch --bench cpu -- [ENCODER_RUNS] [DECODER_RUNS]`
//! prints one JSON line; `tools/bench/cpu.sh` runs it next to PyTorch and reports ratios.

/// The allocator the `samscope` binary uses (see `crates/cli/src/main.rs`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::time::Instant;

use burn::prelude::*;
use sam::npy;
use sam::prompt_encoder::Prompts;
use sam::{ImageEncoder, ModelConfig, ModelId};

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn time_ms(runs: usize, warmup: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..warmup {
        f();
    }
    median(
        (0..runs)
            .map(|_| {
                let start = Instant::now();
                f();
                start.elapsed().as_secs_f64() * 1e3
            })
            .collect(),
    )
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let encoder_runs = args.first().copied().unwrap_or(10);
    let decoder_runs = args.get(1).copied().unwrap_or(50);

    let root = test_support::fixtures().join("golden");
    let device = Device::flex();
    let config = ModelConfig::for_model(ModelId::LiteMedSam);
    let model = sam::checkpoint::load_pth(
        &config,
        &sam::checkpoint::default_checkpoint_path(),
        &device,
    )
    .expect("run scripts/fetch-model.sh first");
    let input: npy::NpyArray<f32> =
        npy::decode(&std::fs::read(root.join("nuclei/input.npy")).unwrap()).unwrap();
    let input = Tensor::<4>::from_data(TensorData::new(input.data, [1, 3, 256, 256]), &device);

    let encoder: ImageEncoder = model.image_encoder.clone().for_inference();
    let mut embedding = None;
    let encoder_ms = time_ms(encoder_runs, 2, || {
        let e = encoder.forward(input.clone());
        // Reading the result back forces the computation to finish.
        let _ = e.to_data();
        embedding = Some(e);
    });
    let embedding = embedding.unwrap();

    let (_, decoder) = model.split();
    let image_pe = decoder.prompt_encoder.dense_pe(&device);
    let prompts = Prompts {
        points: vec![],
        labels: vec![],
        bbox: Some([86.5, 65.68, 107.0, 77.73]),
    };
    let decoder_ms = time_ms(decoder_runs, 5, || {
        let out = decoder.decode(embedding.clone(), image_pe.clone(), &prompts, None, false);
        let _ = out.low_res_masks.to_data();
        let _ = out.iou_predictions.to_data();
    });
    // What the viewer and the evaluator do: the per-image part once, then every prompt.
    // (flex computes eagerly: the call returns when the projections exist.)
    let prepare_ms = time_ms(decoder_runs, 2, || {
        let _ = decoder.prepare(embedding.clone(), image_pe.clone());
    });
    let image = decoder.prepare(embedding.clone(), image_pe.clone());
    let prepared_ms = time_ms(decoder_runs, 5, || {
        let out = decoder.decode_prepared(&image, &prompts, None, false);
        let _ = out.low_res_masks.to_data();
        let _ = out.iou_predictions.to_data();
    });
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "{{\"encoder_ms\": {encoder_ms:.3}, \"decoder_ms\": {decoder_ms:.3}, \"decoder_prepared_ms\": {prepared_ms:.3}, \"prepare_ms\": {prepare_ms:.3}, \"backend\": \"flex\", \"threads\": {threads}, \"encoder_runs\": {encoder_runs}, \"decoder_runs\": {decoder_runs}}}"
    );
}
