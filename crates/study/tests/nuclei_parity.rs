//! The evaluator on real data against PyTorch: the stardist nuclei fixture with LiteMedSAM,
//! component instances, `box` and `centroid` protocols. The reference is
//! `tests/fixtures/eval/nuclei_reference.csv`, written by `tools/golden/make_eval_golden.py`
//! with the official segment_anything decoder.

use std::collections::BTreeMap;
use std::path::PathBuf;

use burn::prelude::Device;
use eval::{InstanceMode, Layout, Protocol};
use sam::{ModelConfig, ModelId, SamPredictor};
use study::record::{ImageRecord, InstanceResult, read_record, record_path};
use study::{EvalOptions, RunConfig};
use test_support::fixtures;

/// The allocator the `samscope` binary uses.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn checkpoint() -> PathBuf {
    test_support::model_file(sam::checkpoint::default_checkpoint_path())
}

/// One row of the reference CSV.
struct Reference {
    first_pixel: usize,
    area: usize,
    prompt: [f64; 4],
    chosen: usize,
    dice: f64,
}

fn reference() -> BTreeMap<(String, u16, u32), Reference> {
    let text = std::fs::read_to_string(fixtures().join("eval/nuclei_reference.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "value,component,first_pixel,area,protocol,x0,y0,x1,y1,chosen,predicted_iou,dice,iou,centroid_inside"
    );
    lines
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            let num = |i: usize| f[i].parse::<f64>().unwrap_or(f64::NAN);
            (
                (
                    f[4].to_string(),
                    f[0].parse().unwrap(),
                    f[1].parse().unwrap(),
                ),
                Reference {
                    first_pixel: f[2].parse().unwrap(),
                    area: f[3].parse().unwrap(),
                    prompt: [num(5), num(6), num(7), num(8)],
                    chosen: f[9].parse().unwrap(),
                    dice: num(11),
                },
            )
        })
        .collect()
}

fn scratch(name: &str) -> PathBuf {
    test_support::scratch_dir("eval-it", name)
}

#[test]
fn nuclei_box_and_centroid_dice_match_pytorch() {
    // The fixture as a `generic` dataset.
    let data = scratch("nuclei-data");
    std::fs::create_dir_all(data.join("images")).unwrap();
    std::fs::create_dir_all(data.join("masks")).unwrap();
    std::fs::copy(
        fixtures().join("images/nuclei.png"),
        data.join("images/nuclei.png"),
    )
    .unwrap();
    std::fs::copy(
        fixtures().join("images/nuclei_mask.png"),
        data.join("masks/nuclei.png"),
    )
    .unwrap();

    let device = Device::flex();
    let config = ModelConfig::for_model(ModelId::LiteMedSam);
    let (encoder, decoder) = sam::checkpoint::load_pth(&config, &checkpoint(), &device)
        .unwrap()
        .split();
    let predictor = SamPredictor::new(config, encoder, decoder, device);

    let out = scratch("nuclei-out");
    let run = RunConfig {
        data: data.clone(),
        layout: Layout::Generic,
        options: EvalOptions {
            protocols: vec![Protocol::Box, Protocol::Centroid],
            instances: InstanceMode::Component,
            ..Default::default()
        },
        out: out.clone(),
        cache: None,
        shard: None,
        resume: false,
        limit: None,
        checkpoint_sha256: "test".into(),
        report_cases: 2,
        progress: false,
    };
    let outcome = study::run(&run, &predictor).unwrap();
    assert_eq!((outcome.images, outcome.evaluated), (1, 1));
    let record: ImageRecord = read_record(&record_path(&out.join("records"), "nuclei"))
        .unwrap()
        .unwrap();

    let reference = reference();
    assert_eq!(reference.len(), 172, "86 instances × 2 protocols");
    assert_eq!(record.results.len(), reference.len());
    let mut diffs: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut other_choice = 0;
    for r in &record.results {
        let InstanceResult {
            protocol,
            value,
            component,
            ..
        } = r;
        let want = reference
            .get(&(protocol.clone(), *value, *component))
            .unwrap_or_else(|| panic!("{protocol} {value}.{component} not in the reference"));
        // Same instance: same first pixel (the RLE's leading background run) and area.
        assert_eq!(
            r.truth.0[0] as usize, want.first_pixel,
            "{protocol} {value}.{component}"
        );
        assert_eq!(r.area, want.area);
        // Same prompt.
        match protocol.as_str() {
            "centroid" => {
                let p = r.prompt.points[0];
                assert!(
                    (p[0] - want.prompt[0]).abs() < 1e-9 && (p[1] - want.prompt[1]).abs() < 1e-9,
                    "centroid {value}.{component}: {p:?} vs {:?}",
                    want.prompt
                );
            }
            _ => assert_eq!(
                r.prompt.bbox.unwrap(),
                want.prompt,
                "box {value}.{component}"
            ),
        }
        if r.chosen != want.chosen {
            other_choice += 1;
        }
        let d = (r.dice - want.dice).abs();
        assert!(
            d <= 0.02,
            "{protocol} {value}.{component}: Dice {} vs PyTorch {}",
            r.dice,
            want.dice
        );
        diffs.entry(protocol.as_str()).or_default().push(d);
    }
    for (protocol, d) in &diffs {
        let mean = d.iter().sum::<f64>() / d.len() as f64;
        let max = d.iter().copied().fold(0.0, f64::max);
        eprintln!(
            "{protocol}: {} instances, |Dice − PyTorch| mean {mean:.2e}, max {max:.2e}",
            d.len()
        );
        assert!(mean <= 0.005, "{protocol}: mean |ΔDice| {mean}");
    }
    assert_eq!(diffs.len(), 2, "both protocols compared");
    eprintln!("candidates chosen differently from PyTorch: {other_choice}");
    assert!(
        other_choice <= 2,
        "{other_choice} centroid prompts chose another candidate"
    );

    // The outputs exist and say what they are.
    for f in [
        "per_instance.csv",
        "per_class.csv",
        "per_class.md",
        "summary.json",
        "report.html",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
    let csv = std::fs::read_to_string(out.join("per_instance.csv")).unwrap();
    assert_eq!(csv.lines().count(), 173);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["timing"]["encoder_passes"], 1);
    assert!(summary["spacing"].as_str().unwrap().contains("1 px = 1 mm"));
}
