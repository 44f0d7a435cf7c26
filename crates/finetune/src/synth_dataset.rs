//! The synthetic vessel dataset on disk (`samscope synth-vessels`): images from
//! [`crate::synth`] written in the DRIVE layout the evaluator reads (`--layout drive`):
//!
//! ```text
//! OUT/training/images/<NN>_training.tif   RGB       (NN = 21, 22, … as in DRIVE)
//! OUT/training/1st_manual/<NN>_manual1.gif vessels, 255 = vessel
//! OUT/training/mask/<NN>_training_mask.gif field of view, 255 = inside
//! OUT/test/images/<NN>_test.tif           (NN = 01, 02, …)
//! OUT/test/1st_manual/<NN>_manual1.gif
//! OUT/test/mask/<NN>_test_mask.gif
//! OUT/synth.json                          generator, seed, size and counts
//! ```

use std::path::{Path, PathBuf};

use image::{DynamicImage, GrayImage, RgbImage};
use serde::Serialize;

use crate::error::FinetuneError;
use crate::synth::{SynthConfig, generate};

/// What `samscope synth-vessels` writes: how many images of which size, from which seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthDataset {
    /// Image size.
    pub size: SynthConfig,
    /// Images in `training/`.
    pub training: usize,
    /// Images in `test/`.
    pub test: usize,
    /// Seed of every image.
    pub seed: u64,
}

/// `OUT/synth.json`.
#[derive(Debug, Serialize)]
struct SynthRecord<'a> {
    generator: &'a str,
    samscope: &'a str,
    seed: u64,
    width: usize,
    height: usize,
    training: usize,
    test: usize,
    layout: &'a str,
}

fn save_grey(path: &Path, width: usize, height: usize, values: &[u8]) -> Result<(), FinetuneError> {
    let grey = GrayImage::from_raw(
        width as u32,
        height as u32,
        values.iter().map(|&v| v * 255).collect(),
    )
    .expect("mask buffer matches its size");
    // GIF stores a palette image; grey 0/255 survives exactly.
    DynamicImage::ImageLuma8(grey)
        .to_rgb8()
        .save(path)
        .map_err(|e| FinetuneError::output(path, format!("writing: {e}")))
}

fn create_dir(dir: &Path) -> Result<(), FinetuneError> {
    std::fs::create_dir_all(dir).map_err(|e| FinetuneError::io(dir, e))
}

/// Writes the dataset into `out` (a new or empty folder) in the DRIVE layout and returns
/// the image files.
pub fn write_drive_layout(out: &Path, spec: &SynthDataset) -> Result<Vec<PathBuf>, FinetuneError> {
    if spec.training + spec.test == 0 {
        return Err(FinetuneError::option("--count", "write at least one image"));
    }
    if out.exists() {
        let mut entries = std::fs::read_dir(out).map_err(|e| FinetuneError::io(out, e))?;
        if entries.next().is_some() {
            return Err(FinetuneError::output(
                out,
                "exists and is not empty; choose a new or empty --out",
            ));
        }
    }
    let mut written = Vec::new();
    for (split, count, first) in [("training", spec.training, 21), ("test", spec.test, 1)] {
        if count == 0 {
            continue;
        }
        let root = out.join(split);
        for sub in ["images", "1st_manual", "mask"] {
            create_dir(&root.join(sub))?;
        }
        for i in 0..count {
            let number = format!("{:02}", first + i);
            let index = i.to_string();
            let img = generate(&spec.size, spec.seed, &[split, &index]);
            let (w, h) = (img.width, img.height);
            let image_path = root.join("images").join(format!("{number}_{split}.tif"));
            RgbImage::from_raw(w as u32, h as u32, img.rgb)
                .expect("rgb buffer matches its size")
                .save(&image_path)
                .map_err(|e| FinetuneError::output(&image_path, format!("writing: {e}")))?;
            save_grey(
                &root
                    .join("1st_manual")
                    .join(format!("{number}_manual1.gif")),
                w,
                h,
                &img.vessels,
            )?;
            save_grey(
                &root.join("mask").join(format!("{number}_{split}_mask.gif")),
                w,
                h,
                &img.fov,
            )?;
            written.push(image_path);
        }
    }
    let record = SynthRecord {
        generator: "samscope synth-vessels (finetune::synth)",
        samscope: env!("CARGO_PKG_VERSION"),
        seed: spec.seed,
        width: spec.size.width,
        height: spec.size.height,
        training: spec.training,
        test: spec.test,
        layout: "drive",
    };
    let path = out.join("synth.json");
    let text = serde_json::to_string_pretty(&record).expect("record serialises");
    std::fs::write(&path, text + "\n").map_err(|e| FinetuneError::io(&path, e))?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use eval::Layout;
    use eval::ground_truth::load_layer;

    #[test]
    fn the_evaluator_reads_the_dataset_with_exact_masks() {
        let out = std::env::temp_dir().join(format!("samscope-synth-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        let spec = SynthDataset {
            size: SynthConfig {
                width: 96,
                height: 90,
            },
            training: 2,
            test: 1,
            seed: 3,
        };
        let files = write_drive_layout(&out, &spec).unwrap();
        assert_eq!(files.len(), 3);
        let samples = Layout::Drive.discover(&out).unwrap();
        let ids: Vec<_> = samples.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["test/01", "training/21", "training/22"]);
        let layer = load_layer(&samples[1].layers[0], 96, 90, 96).unwrap();
        let expected = generate(&spec.size, 3, &["training", "0"]);
        let read: Vec<u8> = layer.map.data.iter().map(|&v| u8::from(v != 0)).collect();
        assert_eq!(read, expected.vessels);
        let err = write_drive_layout(&out, &spec).unwrap_err().to_string();
        assert!(err.contains("not empty"), "{err}");
        std::fs::remove_dir_all(&out).unwrap();
    }
}
