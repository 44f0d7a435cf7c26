//! Retinal vessel datasets: one binary class, `vessel`, per image (first observer).
//!
//! ```text
//! drive:  DIR/{training,test}/images/<NN>_<split>.tif + DIR/{training,test}/1st_manual/<NN>_manual1.gif
//! stare:  DIR/stare-images/im<NNNN>.ppm + DIR/labels-ah/im<NNNN>.ah.ppm  (only labelled images)
//! chase:  DIR/Image_<NN><L|R>.jpg + DIR/Image_<NN><L|R>_1stHO.png
//! hrf:    DIR/images/<NN>_<dr|g|h>.jpg + DIR/manual1/<NN>_<dr|g|h>.tif
//! ```
//!
//! The field-of-view masks some of them ship (`mask/`) are not ground truth and are ignored.

use std::path::Path;

use super::{Sample, files_in, has_extension, require_annotation, require_dirs, stem};
use crate::error::EvalError;
use crate::ground_truth::{Classes, Decode, LayerSource};

fn vessel(file: std::path::PathBuf) -> Vec<LayerSource> {
    vec![LayerSource::new(
        file,
        Decode::Binary,
        Classes::single(1, "vessel"),
    )]
}

pub(super) fn drive(root: &Path) -> Result<Vec<Sample>, EvalError> {
    let mut samples = Vec::new();
    let mut splits = 0;
    for split in ["training", "test"] {
        let images = root.join(split).join("images");
        if !images.is_dir() {
            continue;
        }
        splits += 1;
        let manual = root.join(split).join("1st_manual");
        require_dirs(&[&manual], "DIR/<split>/1st_manual/<NN>_manual1.gif")?;
        for image in files_in(&images)? {
            if !has_extension(&image, &["tif", "tiff"]) {
                continue;
            }
            let number = stem(&image)
                .split('_')
                .next()
                .unwrap_or_default()
                .to_string();
            let gt = manual.join(format!("{number}_manual1.gif"));
            require_annotation(&gt, &image)?;
            samples.push(Sample::new(format!("{split}/{number}"), image, vessel(gt)));
        }
    }
    if splits == 0 {
        return Err(EvalError::layout(
            root,
            "expected DRIVE's training/images and/or test/images folders",
        ));
    }
    Ok(samples)
}

pub(super) fn stare(root: &Path) -> Result<Vec<Sample>, EvalError> {
    let images = root.join("stare-images");
    let labels = root.join("labels-ah");
    let expected = "DIR/stare-images/im<NNNN>.ppm and DIR/labels-ah/im<NNNN>.ah.ppm";
    require_dirs(&[&images, &labels], expected)?;
    let mut samples = Vec::new();
    for label in files_in(&labels)? {
        let name = label
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.ends_with(".gz") {
            return Err(EvalError::layout(
                &label,
                "compressed; STARE ships gzip files: run `gunzip` on labels-ah/ and stare-images/ first",
            ));
        }
        let Some(id) = name.strip_suffix(".ah.ppm") else {
            continue;
        };
        let image = ["ppm", "png", "jpg", "tif"]
            .iter()
            .map(|ext| images.join(format!("{id}.{ext}")))
            .find(|p| p.is_file());
        let Some(image) = image else {
            let gz = images.join(format!("{id}.ppm.gz"));
            let hint = if gz.is_file() {
                " (only the .ppm.gz is there: run `gunzip` on stare-images/ first)"
            } else {
                ""
            };
            return Err(EvalError::layout(
                images.join(format!("{id}.ppm")),
                format!("missing image for {}{hint}", label.display()),
            ));
        };
        samples.push(Sample::new(id.to_string(), image, vessel(label)));
    }
    Ok(samples)
}

pub(super) fn chase(root: &Path) -> Result<Vec<Sample>, EvalError> {
    let mut samples = Vec::new();
    for image in files_in(root)? {
        let name = stem(&image);
        if !name.starts_with("Image_") || !has_extension(&image, &["jpg", "jpeg"]) {
            continue;
        }
        let gt = root.join(format!("{name}_1stHO.png"));
        require_annotation(&gt, &image)?;
        samples.push(Sample::new(name, image, vessel(gt)));
    }
    Ok(samples)
}

pub(super) fn hrf(root: &Path) -> Result<Vec<Sample>, EvalError> {
    let images = root.join("images");
    let manual = root.join("manual1");
    let expected = "DIR/images/<NN>_<dr|g|h>.jpg and DIR/manual1/<NN>_<dr|g|h>.tif";
    require_dirs(&[&images, &manual], expected)?;
    let mut samples = Vec::new();
    for image in files_in(&images)? {
        if !has_extension(&image, &["jpg", "jpeg"]) {
            continue;
        }
        let id = stem(&image);
        let gt = manual.join(format!("{id}.tif"));
        require_annotation(&gt, &image)?;
        samples.push(Sample::new(id, image, vessel(gt)));
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::super::{Layout, test_tree};
    use crate::ground_truth::load_layer;

    #[test]
    fn drive_pairs_tif_images_with_gif_manuals() {
        let root = test_tree::root("drive");
        test_tree::image(&root.join("training/images/21_training.tif"));
        test_tree::mask(&root.join("training/1st_manual/21_manual1.gif"), 255);
        test_tree::mask(&root.join("training/mask/21_training_mask.gif"), 255);
        test_tree::image(&root.join("test/images/01_test.tif"));
        test_tree::mask(&root.join("test/1st_manual/01_manual1.gif"), 255);
        let samples = Layout::Drive.discover(&root).unwrap();
        let ids: Vec<_> = samples.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["test/01", "training/21"]);
        let layer = load_layer(&samples[1].layers[0], 8, 6, 8).unwrap();
        assert_eq!(layer.map.data.iter().filter(|&&v| v == 1).count(), 6);
        assert_eq!(layer.classes.name(1), "vessel");

        std::fs::remove_file(root.join("test/1st_manual/01_manual1.gif")).unwrap();
        let err = Layout::Drive.discover(&root).unwrap_err().to_string();
        assert!(
            err.contains("01_manual1.gif") && err.contains("01_test.tif"),
            "{err}"
        );
        let empty = test_tree::root("drive-empty");
        let err = Layout::Drive.discover(&empty).unwrap_err().to_string();
        assert!(err.contains("training/images"), "{err}");
    }

    #[test]
    fn stare_uses_labelled_images_only_and_explains_gzip() {
        let root = test_tree::root("stare");
        test_tree::image(&root.join("stare-images/im0001.ppm"));
        test_tree::image(&root.join("stare-images/im0002.ppm"));
        test_tree::mask(&root.join("labels-ah/im0001.ah.ppm"), 255);
        let samples = Layout::Stare.discover(&root).unwrap();
        assert_eq!(samples.len(), 1);
        assert_eq!(samples[0].id, "im0001");
        let layer = load_layer(&samples[0].layers[0], 8, 6, 8).unwrap();
        assert_eq!(layer.map.data.iter().filter(|&&v| v == 1).count(), 6);

        std::fs::write(root.join("labels-ah/im0003.ah.ppm.gz"), b"gz").unwrap();
        let err = Layout::Stare.discover(&root).unwrap_err().to_string();
        assert!(err.contains("gunzip"), "{err}");
    }

    #[test]
    fn chase_and_hrf() {
        let root = test_tree::root("chase");
        test_tree::image(&root.join("Image_01L.jpg"));
        test_tree::mask(&root.join("Image_01L_1stHO.png"), 255);
        test_tree::mask(&root.join("Image_01L_2ndHO.png"), 255);
        let samples = Layout::Chase.discover(&root).unwrap();
        assert_eq!(samples.len(), 1);
        assert_eq!(
            samples[0].layers[0].files,
            [root.join("Image_01L_1stHO.png")]
        );

        let root = test_tree::root("hrf");
        test_tree::image(&root.join("images/01_dr.jpg"));
        test_tree::mask(&root.join("manual1/01_dr.tif"), 255);
        let samples = Layout::Hrf.discover(&root).unwrap();
        assert_eq!(samples[0].id, "01_dr");
        let err = Layout::Hrf
            .discover(&test_tree::root("hrf-empty"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("manual1") || err.contains("images"), "{err}");
    }
}
