//! `generic`: any 2-D dataset converted to image + label-map pairs.
//!
//! ```text
//! DIR/images/<stem>.<png|jpg|jpeg|tif|tiff|ppm|pgm>
//! DIR/masks/<stem>.png          8- or 16-bit label map, 0 = background
//! DIR/classes.json              optional: {"1": "liver", "2": "kidney", "*": "other"}
//! DIR/spacing.json              optional: {"default": [row_mm, col_mm], "<stem>": [row_mm, col_mm]}
//! ```
//!
//! Classes listed in `classes.json` are expected in every image (an absent one is an empty
//! ground-truth instance, skipped and counted); `"*"` names every other non-zero value;
//! without the file each value is a class named by its number.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::{IMAGE_EXTENSIONS, Sample, files_in, has_extension, require_dirs, stem};
use crate::error::EvalError;
use crate::ground_truth::{Classes, Decode, LayerSource};
use crate::metrics::Spacing;

const STRUCTURE: &str = "DIR/images/<stem>.<png|jpg|tif|…> and DIR/masks/<stem>.png";

pub(super) fn discover(root: &Path) -> Result<Vec<Sample>, EvalError> {
    let images = root.join("images");
    let masks = root.join("masks");
    require_dirs(&[&images, &masks], STRUCTURE)?;
    let classes = read_classes(&root.join("classes.json"))?;
    let spacing = read_spacing(&root.join("spacing.json"))?;
    let mut samples: Vec<Sample> = Vec::new();
    for image in files_in(&images)? {
        if !has_extension(&image, &IMAGE_EXTENSIONS) {
            continue;
        }
        let id = stem(&image);
        if let Some(other) = samples.iter().find(|s| s.id == id) {
            return Err(EvalError::layout(
                &image,
                format!(
                    "{} has the same stem; keep one image per stem",
                    other.image.display()
                ),
            ));
        }
        let mask = masks.join(format!("{id}.png"));
        super::require_annotation(&mask, &image)?;
        let mut sample = Sample::new(
            id.clone(),
            image,
            vec![LayerSource::new(mask, Decode::Labels, classes.clone())],
        );
        sample.spacing = spacing.get(&id).or(spacing.get("default")).copied();
        samples.push(sample);
    }
    Ok(samples)
}

pub(super) fn read_json(path: &Path) -> Result<Option<serde_json::Map<String, Value>>, EvalError> {
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path).map_err(|e| EvalError::io(path, e))?;
    match serde_json::from_str(&text) {
        Ok(Value::Object(map)) => Ok(Some(map)),
        Ok(_) => Err(EvalError::layout(path, "must be a JSON object")),
        Err(e) => Err(EvalError::layout(path, format!("not valid JSON: {e}"))),
    }
}

/// `classes.json`: label value (1–65535) or `"*"` → class name.
pub(super) fn read_classes(path: &Path) -> Result<Classes, EvalError> {
    let mut classes = Classes::default();
    let Some(map) = read_json(path)? else {
        return Ok(classes);
    };
    for (key, value) in map {
        let Value::String(name) = value else {
            return Err(EvalError::layout(
                path,
                format!("the name of `{key}` must be a string"),
            ));
        };
        if key == "*" {
            classes.others = Some(name);
            continue;
        }
        match key.parse::<u16>() {
            Ok(v) if v > 0 => {
                classes.names.insert(v, name);
            }
            _ => {
                return Err(EvalError::layout(
                    path,
                    format!("key `{key}` must be a label value 1–65535 or \"*\""),
                ));
            }
        }
    }
    Ok(classes)
}

/// `spacing.json`: `"default"` or an image stem → `[row_mm, col_mm]`.
fn read_spacing(path: &Path) -> Result<BTreeMap<String, Spacing>, EvalError> {
    let mut out = BTreeMap::new();
    let Some(map) = read_json(path)? else {
        return Ok(out);
    };
    for (key, value) in map {
        let pair = value.as_array().and_then(|a| match a.as_slice() {
            [r, c] => Some((r.as_f64()?, c.as_f64()?)),
            _ => None,
        });
        match pair {
            Some((r, c)) if r > 0.0 && c > 0.0 && r.is_finite() && c.is_finite() => {
                out.insert(
                    key,
                    Spacing {
                        row_mm: r,
                        col_mm: c,
                    },
                );
            }
            _ => {
                return Err(EvalError::layout(
                    path,
                    format!("`{key}` must be [row_mm, col_mm], two positive numbers"),
                ));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::{Layout, test_tree};

    #[test]
    fn pairs_images_with_masks_and_reads_classes_and_spacing() {
        let root = test_tree::root("generic");
        test_tree::image(&root.join("images/b.png"));
        test_tree::image(&root.join("images/a.jpg"));
        std::fs::write(root.join("images/notes.txt"), "not an image").unwrap();
        test_tree::mask(&root.join("masks/a.png"), 1);
        test_tree::mask(&root.join("masks/b.png"), 2);
        std::fs::write(root.join("classes.json"), r#"{"1": "liver", "*": "organ"}"#).unwrap();
        std::fs::write(
            root.join("spacing.json"),
            r#"{"default": [0.5, 0.5], "b": [2.0, 0.25]}"#,
        )
        .unwrap();
        let samples = Layout::Generic.discover(&root).unwrap();
        let ids: Vec<_> = samples.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(samples[0].layers[0].files, [root.join("masks/a.png")]);
        assert_eq!(samples[0].layers[0].classes.name(1), "liver");
        assert_eq!(samples[0].layers[0].classes.name(5), "organ");
        assert_eq!(samples[0].spacing.unwrap().row_mm, 0.5);
        assert_eq!(samples[1].spacing.unwrap().col_mm, 0.25);
    }

    #[test]
    fn explains_missing_masks_duplicates_and_bad_json() {
        let root = test_tree::root("generic-bad");
        let err = Layout::Generic.discover(&root).unwrap_err().to_string();
        assert!(
            err.contains("images") && err.contains("missing folder"),
            "{err}"
        );

        test_tree::image(&root.join("images/a.png"));
        std::fs::create_dir_all(root.join("masks")).unwrap();
        let err = Layout::Generic.discover(&root).unwrap_err().to_string();
        assert!(
            err.contains("masks/a.png") && err.contains("missing annotation"),
            "{err}"
        );

        test_tree::mask(&root.join("masks/a.png"), 1);
        std::fs::write(root.join("classes.json"), r#"{"zero": "x"}"#).unwrap();
        let err = Layout::Generic.discover(&root).unwrap_err().to_string();
        assert!(
            err.contains("classes.json") && err.contains("`zero`"),
            "{err}"
        );
        std::fs::write(root.join("classes.json"), "{").unwrap();
        let err = Layout::Generic.discover(&root).unwrap_err().to_string();
        assert!(err.contains("not valid JSON"), "{err}");
        std::fs::remove_file(root.join("classes.json")).unwrap();

        std::fs::write(root.join("spacing.json"), r#"{"default": [1, -1]}"#).unwrap();
        let err = Layout::Generic.discover(&root).unwrap_err().to_string();
        assert!(
            err.contains("spacing.json") && err.contains("positive"),
            "{err}"
        );
        std::fs::remove_file(root.join("spacing.json")).unwrap();

        test_tree::image(&root.join("images/a.tif"));
        let err = Layout::Generic.discover(&root).unwrap_err().to_string();
        assert!(err.contains("same stem"), "{err}");
    }
}
