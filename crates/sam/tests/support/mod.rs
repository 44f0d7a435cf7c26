//! Shared helpers for the parity tests: the real LiteMedSAM weights and the golden
//! tensors written by `tools/golden/make_golden.py` with the official PyTorch code.
#![allow(dead_code)]

use std::path::PathBuf;

/// Same allocator as the binaries: the CPU backend allocates per op.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::sync::OnceLock;

use burn::prelude::*;
use sam::npy::{self, NpyArray, NpyElement};
use sam::{ModelConfig, ModelId, RgbImage, Sam};
use serde_json::Value;

/// `tests/fixtures` at the workspace root.
pub fn fixtures() -> PathBuf {
    test_support::fixtures()
}

/// The golden manifest.
pub fn manifest() -> &'static Value {
    static MANIFEST: OnceLock<Value> = OnceLock::new();
    MANIFEST.get_or_init(|| {
        let text = std::fs::read_to_string(fixtures().join("golden/manifest.json"))
            .expect("tests/fixtures/golden/manifest.json is readable");
        serde_json::from_str(&text).expect("manifest is JSON")
    })
}

/// Reads `golden/<rel>` as an `.npy` of `T`.
pub fn golden<T: NpyElement>(rel: &str) -> NpyArray<T> {
    let path = fixtures().join("golden").join(rel);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    npy::decode(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The real LiteMedSAM checkpoint (`scripts/fetch-model.sh` puts it there).
pub fn checkpoint_path() -> PathBuf {
    test_support::model_file(sam::checkpoint::default_checkpoint_path())
}

/// CPU device used by the tests.
pub fn device() -> Device {
    Device::flex()
}

/// LiteMedSAM loaded once per test binary.
pub fn lite_medsam() -> &'static Sam {
    static MODEL: OnceLock<Sam> = OnceLock::new();
    MODEL.get_or_init(|| {
        let cfg = ModelConfig::for_model(ModelId::LiteMedSam);
        sam::checkpoint::load_pth(&cfg, &checkpoint_path(), &device()).expect("checkpoint loads")
    })
}

/// A fixture image decoded to 8-bit RGB.
pub fn fixture_image(rel: &str) -> RgbImage {
    let img = image::open(fixtures().join(rel))
        .expect("fixture image decodes")
        .to_rgb8();
    let (w, h) = img.dimensions();
    RgbImage::new(w as usize, h as usize, img.into_raw()).unwrap()
}

/// Tensor from a golden `.npy`.
pub fn tensor<const D: usize>(arr: &NpyArray<f32>) -> Tensor<D> {
    let shape: [usize; D] = arr.shape.clone().try_into().expect("rank matches");
    Tensor::from_data(TensorData::new(arr.data.clone(), shape), &device())
}

/// All values of a tensor.
pub fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.try_into_vec_as::<f32>().unwrap()
}

/// Every `stride`-th value of a tensor's C-order flattening (the golden sample rule).
pub fn strided(t: Vec<f32>, stride: usize) -> Vec<f32> {
    t.into_iter().step_by(stride).collect()
}

/// Largest absolute difference; panics on length mismatch.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "lengths differ");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Intersection over union of two binary masks (1.0 when both are empty).
pub fn mask_iou(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    let (mut inter, mut union) = (0usize, 0usize);
    for (&x, &y) in a.iter().zip(b) {
        inter += usize::from(x != 0 && y != 0);
        union += usize::from(x != 0 || y != 0);
    }
    if union == 0 {
        1.0
    } else {
        inter as f64 / union as f64
    }
}

/// Names of the golden images.
pub const IMAGES: [&str; 2] = ["nuclei", "retina"];
