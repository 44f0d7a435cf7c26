//! `endovis2017`: EndoVis 2017 robotic instrument segmentation, parts.
//!
//! ```text
//! DIR/instrument_dataset_<N>/left_frames/frameNNN.png
//! DIR/instrument_dataset_<N>/ground_truth/<Instrument>_labels/frameNNN.png
//! ```
//!
//! Each instrument's label file marks its parts with grey values 10 (shaft), 20 (wrist)
//! and 30 (claspers); the parts of all instruments of a frame are painted into one label
//! map (classes `shaft`, `wrist`, `claspers`). `Other_labels` (non-robotic tools) carries no
//! parts and is left out, as in the challenge's part task. Datasets without
//! `ground_truth/` (the unlabelled test sequences) are skipped.

use std::path::Path;

use super::{Sample, files_in, has_extension, require_dirs};
use crate::error::EvalError;
use crate::ground_truth::{Classes, Decode, LayerSource};

pub(super) fn discover(root: &Path) -> Result<Vec<Sample>, EvalError> {
    let mut datasets: Vec<_> = std::fs::read_dir(root)
        .map_err(|e| EvalError::io(root, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("instrument_dataset_"))
        })
        .collect();
    datasets.sort();
    if datasets.is_empty() {
        return Err(EvalError::layout(
            root,
            "no instrument_dataset_<N> folders (EndoVis 2017 training data)",
        ));
    }
    let classes = Classes::from_pairs(&[(1, "shaft"), (2, "wrist"), (3, "claspers")]);
    let mut samples = Vec::new();
    for dataset in datasets {
        let truth = dataset.join("ground_truth");
        if !truth.is_dir() {
            continue;
        }
        let frames = dataset.join("left_frames");
        require_dirs(
            &[&frames],
            "DIR/instrument_dataset_<N>/left_frames/frameNNN.png",
        )?;
        let mut label_dirs: Vec<_> = std::fs::read_dir(&truth)
            .map_err(|e| EvalError::io(&truth, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                let name = p
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                p.is_dir() && name.ends_with("_labels") && !name.starts_with("Other")
            })
            .collect();
        label_dirs.sort();
        let name = dataset
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        for frame in files_in(&frames)? {
            if !has_extension(&frame, &["png", "jpg"]) {
                continue;
            }
            let file = frame.with_extension("png");
            let file = file.file_name().unwrap_or_default();
            let files: Vec<_> = label_dirs
                .iter()
                .map(|d| d.join(file))
                .filter(|p| p.is_file())
                .collect();
            if files.is_empty() {
                return Err(EvalError::layout(
                    &frame,
                    format!(
                        "no label file {} in any {}/*_labels folder",
                        file.to_string_lossy(),
                        truth.display()
                    ),
                ));
            }
            samples.push(Sample::new(
                format!("{name}/{}", super::stem(&frame)),
                frame,
                vec![LayerSource {
                    files,
                    decode: Decode::Values(vec![(10, 1), (20, 2), (30, 3)]),
                    classes: classes.clone(),
                }],
            ));
        }
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::super::{Layout, test_tree};
    use crate::ground_truth::GroundTruth;
    use crate::ground_truth::load_layer;
    use crate::instances::{InstanceMode, extract};

    #[test]
    fn paints_parts_of_all_instruments_and_skips_other() {
        let root = test_tree::root("endovis");
        let d1 = root.join("instrument_dataset_1");
        test_tree::image(&d1.join("left_frames/frame000.png"));
        let truth = d1.join("ground_truth");
        test_tree::values(
            &truth.join("Left_Prograsp_Forceps_labels/frame000.png"),
            4,
            &[10, 20, 0, 0],
        );
        test_tree::values(
            &truth.join("Right_Prograsp_Forceps_labels/frame000.png"),
            4,
            &[0, 0, 10, 0],
        );
        test_tree::values(&truth.join("Other_labels/frame000.png"), 4, &[0, 0, 0, 40]);
        // An unlabelled test sequence is skipped.
        test_tree::image(&root.join("instrument_dataset_9/left_frames/frame225.png"));
        let samples = Layout::Endovis2017.discover(&root).unwrap();
        assert_eq!(samples.len(), 1);
        assert_eq!(samples[0].id, "instrument_dataset_1/frame000");
        assert_eq!(samples[0].layers[0].files.len(), 2);
        let layer = load_layer(&samples[0].layers[0], 4, 1, 4).unwrap();
        assert_eq!(layer.map.data, [1, 2, 1, 0]);
        // No claspers in this frame: an empty ground-truth instance, counted.
        let gt = GroundTruth {
            width: 4,
            height: 1,
            layers: vec![layer],
        };
        let found = extract(&gt, InstanceMode::Class);
        assert_eq!(found.instances.len(), 2);
        assert_eq!(found.empty[0].class, "claspers");

        test_tree::image(&d1.join("left_frames/frame001.png"));
        let err = Layout::Endovis2017.discover(&root).unwrap_err().to_string();
        assert!(err.contains("frame001.png"), "{err}");
    }
}
