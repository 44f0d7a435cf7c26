//! Optic disc and cup datasets: two classes in two layers, `optic disc` (the whole disc,
//! cup included) and `optic cup`.
//!
//! ```text
//! refuge:  DIR/Training400/{Glaucoma,Non-Glaucoma}/<g|n>NNNN.jpg
//!            + DIR/Annotation-Training400/Disc_Cup_Masks/{Glaucoma,Non-Glaucoma}/<stem>.bmp
//!          DIR/REFUGE-Validation400/VNNNN.jpg + DIR/REFUGE-Validation400-GT/Disc_Cup_Masks/VNNNN.bmp
//!          DIR/Test400/TNNNN.jpg + DIR/REFUGE-Test-GT/Disc_Cup_Masks/{G,N}/TNNNN.bmp
//!          (masks: 0 = cup, 128 = rest of the disc, 255 = background)
//! drishti: DIR/**/Images/drishtiGS_NNN.png
//!            + DIR/**/drishtiGS_NNN/SoftMap/drishtiGS_NNN_{OD,cup}segSoftmap.png
//!          (soft maps: the fraction of experts marking the pixel; ≥ 128 = at least half)
//! rimone:  RIM-ONE r3, DIR/<group>/Stereo Images/<stem>.jpg
//!            + DIR/<group>/Expert1_masks/<stem>-1-{Disc,Cup}-exp1.png
//!          (stereo pairs: the left half is the annotated view and the only part evaluated)
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{Sample, has_extension, parent_name, relative_id, require_annotation, stem, walk};
use crate::error::EvalError;
use crate::ground_truth::{Classes, Decode, LayerSource};

const DISC: &str = "optic disc";
const CUP: &str = "optic cup";

fn disc_and_cup(disc: (PathBuf, Decode), cup: (PathBuf, Decode)) -> Vec<LayerSource> {
    vec![
        LayerSource::new(disc.0, disc.1, Classes::single(1, DISC)),
        LayerSource::new(cup.0, cup.1, Classes::single(1, CUP)),
    ]
}

pub(super) fn refuge(root: &Path) -> Result<Vec<Sample>, EvalError> {
    let files = walk(root)?;
    let mut masks: BTreeMap<String, PathBuf> = BTreeMap::new();
    for f in &files {
        let in_masks = f.components().any(|c| c.as_os_str() == "Disc_Cup_Masks");
        if in_masks
            && has_extension(f, &["bmp", "png"])
            && let Some(other) = masks.insert(stem(f), f.clone())
        {
            return Err(EvalError::layout(
                f,
                format!(
                    "{} has the same name; keep one mask per image",
                    other.display()
                ),
            ));
        }
    }
    if masks.is_empty() {
        return Err(EvalError::layout(
            root,
            "no Disc_Cup_Masks folder with .bmp masks (REFUGE's Annotation-Training400, \
             REFUGE-Validation400-GT or REFUGE-Test-GT)",
        ));
    }
    let mut samples = Vec::new();
    for image in &files {
        let top = image
            .strip_prefix(root)
            .ok()
            .and_then(|r| r.components().next())
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .unwrap_or_default();
        let is_image_folder =
            ["Training400", "REFUGE-Validation400", "Test400"].contains(&top.as_str());
        if !is_image_folder || !has_extension(image, &["jpg", "jpeg", "png"]) {
            continue;
        }
        if let Some(mask) = masks.get(&stem(image)) {
            // Grey 128 marks the disc rim and 0 the cup; split half way between the levels.
            samples.push(Sample::new(
                relative_id(root, image),
                image.clone(),
                disc_and_cup(
                    (mask.clone(), Decode::Below(192)),
                    (mask.clone(), Decode::Below(64)),
                ),
            ));
        }
    }
    Ok(samples)
}

pub(super) fn drishti(root: &Path) -> Result<Vec<Sample>, EvalError> {
    let files = walk(root)?;
    let mut soft: BTreeMap<String, PathBuf> = BTreeMap::new();
    for f in &files {
        let name = stem(f);
        if name.ends_with("_ODsegSoftmap") || name.ends_with("_cupsegSoftmap") {
            soft.insert(name, f.clone());
        }
    }
    let mut samples = Vec::new();
    for image in &files {
        if parent_name(image) != "Images" || !has_extension(image, &["png"]) {
            continue;
        }
        let id = stem(image);
        let disc = soft.get(&format!("{id}_ODsegSoftmap"));
        let cup = soft.get(&format!("{id}_cupsegSoftmap"));
        match (disc, cup) {
            (None, None) => continue,
            (Some(disc), Some(cup)) => samples.push(Sample::new(
                relative_id(root, image),
                image.clone(),
                disc_and_cup(
                    (disc.clone(), Decode::Binary),
                    (cup.clone(), Decode::Binary),
                ),
            )),
            (Some(found), None) | (None, Some(found)) => {
                return Err(EvalError::layout(
                    found,
                    format!(
                        "the disc and cup soft maps of {} must come together",
                        image.display()
                    ),
                ));
            }
        }
    }
    Ok(samples)
}

pub(super) fn rimone(root: &Path) -> Result<Vec<Sample>, EvalError> {
    let mut samples = Vec::new();
    for image in walk(root)? {
        if parent_name(&image) != "Stereo Images" || !has_extension(&image, &["jpg", "jpeg", "png"])
        {
            continue;
        }
        let name = stem(&image);
        let group = image.parent().and_then(Path::parent).unwrap_or(root);
        let masks = group.join("Expert1_masks");
        let disc = masks.join(format!("{name}-1-Disc-exp1.png"));
        let cup = masks.join(format!("{name}-1-Cup-exp1.png"));
        require_annotation(&disc, &image)?;
        require_annotation(&cup, &image)?;
        let mut sample = Sample::new(
            format!("{}/{name}", relative_id(root, group)),
            image,
            disc_and_cup((disc, Decode::Binary), (cup, Decode::Binary)),
        );
        sample.left_half = true;
        samples.push(sample);
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::super::{Layout, test_tree};
    use crate::ground_truth::load_layer;

    #[test]
    fn refuge_splits_grey_levels_into_disc_and_cup() {
        let root = test_tree::root("refuge");
        test_tree::image(&root.join("Training400/Glaucoma/g0001.jpg"));
        test_tree::image(&root.join("REFUGE-Validation400/V0001.jpg"));
        test_tree::image(&root.join("Test400/T0001.jpg"));
        // 255 background, 128 rim, 0 cup.
        let levels = [255, 128, 0, 128, 255, 255, 255, 255];
        test_tree::values(
            &root.join("Annotation-Training400/Disc_Cup_Masks/Glaucoma/g0001.bmp"),
            4,
            &levels,
        );
        test_tree::values(
            &root.join("REFUGE-Validation400-GT/Disc_Cup_Masks/V0001.bmp"),
            4,
            &levels,
        );
        let samples = Layout::Refuge.discover(&root).unwrap();
        let ids: Vec<_> = samples.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(
            ids,
            ["REFUGE-Validation400/V0001", "Training400/Glaucoma/g0001"]
        );
        let disc = load_layer(&samples[0].layers[0], 4, 2, 4).unwrap();
        let cup = load_layer(&samples[0].layers[1], 4, 2, 4).unwrap();
        assert_eq!(disc.map.data, [0, 1, 1, 1, 0, 0, 0, 0]);
        assert_eq!(cup.map.data, [0, 0, 1, 0, 0, 0, 0, 0]);
        assert_eq!(
            (disc.classes.name(1), cup.classes.name(1)),
            ("optic disc".into(), "optic cup".into())
        );
        let err = Layout::Refuge
            .discover(&test_tree::root("refuge-empty"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("Disc_Cup_Masks"), "{err}");
    }

    #[test]
    fn drishti_thresholds_soft_maps_at_half() {
        let root = test_tree::root("drishti");
        let training = root.join("Drishti-GS1_files/Training");
        test_tree::image(&training.join("Images/drishtiGS_002.png"));
        let soft = training.join("GT/drishtiGS_002/SoftMap");
        test_tree::values(
            &soft.join("drishtiGS_002_ODsegSoftmap.png"),
            4,
            &[0, 64, 128, 255],
        );
        test_tree::values(
            &soft.join("drishtiGS_002_cupsegSoftmap.png"),
            4,
            &[0, 0, 0, 255],
        );
        // A test image without ground truth is skipped.
        test_tree::image(&root.join("Drishti-GS1_files/Test/Images/drishtiGS_001.png"));
        let samples = Layout::Drishti.discover(&root).unwrap();
        assert_eq!(samples.len(), 1);
        assert_eq!(
            samples[0].id,
            "Drishti-GS1_files/Training/Images/drishtiGS_002"
        );
        let disc = load_layer(&samples[0].layers[0], 4, 1, 4).unwrap();
        assert_eq!(disc.map.data, [0, 0, 1, 1]);

        std::fs::remove_file(soft.join("drishtiGS_002_cupsegSoftmap.png")).unwrap();
        let err = Layout::Drishti.discover(&root).unwrap_err().to_string();
        assert!(err.contains("must come together"), "{err}");
    }

    #[test]
    fn rimone_uses_expert_one_and_the_left_view() {
        let root = test_tree::root("rimone");
        let group = root.join("Glaucoma and suspects");
        test_tree::image(&group.join("Stereo Images/G-1-L.jpg"));
        test_tree::mask(&group.join("Expert1_masks/G-1-L-1-Disc-exp1.png"), 255);
        test_tree::mask(&group.join("Expert1_masks/G-1-L-1-Cup-exp1.png"), 255);
        let samples = Layout::Rimone.discover(&root).unwrap();
        assert_eq!(samples[0].id, "Glaucoma and suspects/G-1-L");
        assert!(samples[0].left_half);
        // The 8-wide mask is cropped to the left 4 columns: the block at x 2..5 keeps 2 columns.
        let disc = load_layer(&samples[0].layers[0], 4, 6, 8).unwrap();
        assert_eq!(disc.map.data.iter().filter(|&&v| v == 1).count(), 4);

        std::fs::remove_file(group.join("Expert1_masks/G-1-L-1-Cup-exp1.png")).unwrap();
        let err = Layout::Rimone.discover(&root).unwrap_err().to_string();
        assert!(err.contains("G-1-L-1-Cup-exp1.png"), "{err}");
    }
}
