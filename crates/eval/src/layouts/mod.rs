//! Dataset layouts: where a dataset keeps its images and annotations, and how its
//! annotation files become ground-truth layers. Each layout's folder structure is in
//! `docs/protocols.md` (Layouts) and in its module.

mod amos;
mod chest;
mod endovis;
mod fundus;
mod generic;
mod isic;
mod oct;
mod optic;
mod survey;
#[cfg(test)]
pub(crate) mod test_volumes;
mod volume;

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::error::EvalError;
use crate::ground_truth::LayerSource;
use crate::metrics::Spacing;
use crate::volume_slice::VolumeSlice;

/// A dataset layout (`--layout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `images/<stem>.<ext>` + `masks/<stem>.png` label maps, optional `classes.json`.
    Generic,
    /// DRIVE retinal vessels.
    Drive,
    /// STARE retinal vessels (Hoover's labels).
    Stare,
    /// CHASE_DB1 retinal vessels (first observer).
    Chase,
    /// HRF retinal vessels.
    Hrf,
    /// ISIC 2018 task 1 skin lesions.
    Isic2018,
    /// REFUGE optic disc and cup.
    Refuge,
    /// Drishti-GS1 optic disc and cup.
    Drishti,
    /// RIM-ONE r3 optic disc and cup (expert 1).
    Rimone,
    /// Montgomery County chest X-rays, left and right lung.
    Montgomery,
    /// Shenzhen chest X-rays, lungs.
    Shenzhen,
    /// EndoVis 2017 robotic instruments, parts.
    Endovis2017,
    /// AMOS 2022 CT/MR volumes (`imagesTr` + `labelsTr`, `imagesVa` + `labelsVa`), one
    /// sample per axial slice with a labelled organ.
    Amos,
    /// AROI retinal OCT layers and fluids.
    Aroi,
    /// One NIfTI/NRRD image + label volume pair, one sample per labelled slice.
    Volume,
}

impl Layout {
    /// Every layout, in documentation order.
    pub const ALL: [Layout; 15] = [
        Layout::Generic,
        Layout::Drive,
        Layout::Stare,
        Layout::Chase,
        Layout::Hrf,
        Layout::Isic2018,
        Layout::Refuge,
        Layout::Drishti,
        Layout::Rimone,
        Layout::Montgomery,
        Layout::Shenzhen,
        Layout::Endovis2017,
        Layout::Amos,
        Layout::Aroi,
        Layout::Volume,
    ];

    /// The name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Layout::Generic => "generic",
            Layout::Drive => "drive",
            Layout::Stare => "stare",
            Layout::Chase => "chase",
            Layout::Hrf => "hrf",
            Layout::Isic2018 => "isic2018",
            Layout::Refuge => "refuge",
            Layout::Drishti => "drishti",
            Layout::Rimone => "rimone",
            Layout::Montgomery => "montgomery",
            Layout::Shenzhen => "shenzhen",
            Layout::Endovis2017 => "endovis2017",
            Layout::Amos => "amos",
            Layout::Aroi => "aroi",
            Layout::Volume => "volume",
        }
    }

    /// The samples under `root`, sorted by id.
    pub fn discover(self, root: &Path) -> Result<Vec<Sample>, EvalError> {
        if !root.is_dir() {
            return Err(EvalError::layout(root, "no such data folder (--data)"));
        }
        let mut samples = match self {
            Layout::Generic => generic::discover(root)?,
            Layout::Drive => fundus::drive(root)?,
            Layout::Stare => fundus::stare(root)?,
            Layout::Chase => fundus::chase(root)?,
            Layout::Hrf => fundus::hrf(root)?,
            Layout::Isic2018 => isic::discover(root)?,
            Layout::Refuge => optic::refuge(root)?,
            Layout::Drishti => optic::drishti(root)?,
            Layout::Rimone => optic::rimone(root)?,
            Layout::Montgomery => chest::montgomery(root)?,
            Layout::Shenzhen => chest::shenzhen(root)?,
            Layout::Endovis2017 => endovis::discover(root)?,
            Layout::Aroi => oct::aroi(root)?,
            Layout::Amos => amos::discover(root)?,
            Layout::Volume => volume::discover(root)?,
        };
        if samples.is_empty() {
            return Err(EvalError::layout(
                root,
                format!("found no labelled images for layout `{}`", self.as_str()),
            ));
        }
        samples.sort_by(|a, b| a.id.cmp(&b.id));
        let mut seen = BTreeSet::new();
        for s in &samples {
            if !seen.insert(s.id.as_str()) {
                return Err(EvalError::layout(
                    &s.image,
                    format!("two images have the id `{}`; ids must be unique", s.id),
                ));
            }
        }
        Ok(samples)
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Layout {
    type Err = EvalError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Layout::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| {
                EvalError::option(
                    "--layout",
                    format!(
                        "`{s}`; use one of {}",
                        Layout::ALL.map(Layout::as_str).join(", ")
                    ),
                )
            })
    }
}

/// One labelled image of a dataset: a 2-D image file, or one slice of a volume.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Unique id, `/`-separated (e.g. `training/21`, `amos_0001/z042`).
    pub id: String,
    /// The scan file (for a volume slice, the volume).
    pub image: PathBuf,
    /// Its annotation, as layers.
    pub layers: Vec<LayerSource>,
    /// Pixel spacing when the dataset documents it.
    pub spacing: Option<Spacing>,
    /// Evaluate only the left half of the image (RIM-ONE r3 stereo pairs: the left view is
    /// the annotated one).
    pub left_half: bool,
    /// For a volume: the slice evaluated. The layers' files are then label volumes on the
    /// scan's voxel grid, sliced the same way.
    pub slice: Option<VolumeSlice>,
}

impl Sample {
    fn new(id: String, image: PathBuf, layers: Vec<LayerSource>) -> Self {
        Self {
            id,
            image,
            layers,
            spacing: None,
            left_half: false,
            slice: None,
        }
    }

    /// The scan file, and the slice for a volume, for messages.
    pub fn source(&self) -> String {
        match &self.slice {
            None => self.image.display().to_string(),
            Some(s) => format!("{} ({s})", self.image.display()),
        }
    }
}

/// Extensions (lower case) of the scans `imaging` decodes.
const IMAGE_EXTENSIONS: [&str; 7] = ["png", "jpg", "jpeg", "tif", "tiff", "ppm", "pgm"];

/// The lower-case extension of `path`.
fn extension(path: &Path) -> String {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

/// Whether `path` has one of `extensions` (lower case).
fn has_extension(path: &Path, extensions: &[&str]) -> bool {
    extensions.contains(&extension(path).as_str())
}

/// The file name without its last extension.
fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Fails unless every one of `dirs` is a folder, saying what the layout expects.
fn require_dirs(dirs: &[&Path], expected: &str) -> Result<(), EvalError> {
    match dirs.iter().find(|d| !d.is_dir()) {
        None => Ok(()),
        Some(missing) => Err(EvalError::layout(
            missing,
            format!("missing folder; expected {expected}"),
        )),
    }
}

/// Files directly in `dir`, sorted.
fn files_in(dir: &Path) -> Result<Vec<PathBuf>, EvalError> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| EvalError::io(dir, e))? {
        let path = entry.map_err(|e| EvalError::io(dir, e))?.path();
        if path.is_file() {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// Every file under `dir`, recursively, sorted.
fn walk(dir: &Path) -> Result<Vec<PathBuf>, EvalError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(|e| EvalError::io(&d, e))? {
            let path = entry.map_err(|e| EvalError::io(&d, e))?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.is_file() {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The name of the folder holding `path`.
fn parent_name(path: &Path) -> String {
    path.parent()
        .and_then(Path::file_name)
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `path` relative to `root` without its extension, `/`-separated: a stable sample id.
fn relative_id(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path).with_extension("");
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Fails unless the annotation `file` exists, naming the image it belongs to.
fn require_annotation(file: &Path, image: &Path) -> Result<(), EvalError> {
    if file.is_file() {
        Ok(())
    } else {
        Err(EvalError::layout(
            file,
            format!("missing annotation for {}", image.display()),
        ))
    }
}

#[cfg(test)]
pub(crate) mod test_tree {
    //! Small synthetic dataset trees for the layout tests.

    use std::path::{Path, PathBuf};

    /// A fresh empty folder for one test.
    pub fn root(name: &str) -> PathBuf {
        let dir = std::env::temp_dir()
            .join(format!("samscope-eval-layout-{}", std::process::id()))
            .join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn parent(path: &Path) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    }

    /// An 8×6 RGB image in the format its extension names.
    pub fn image(path: &Path) {
        parent(path);
        let img =
            image::RgbImage::from_fn(8, 6, |x, y| image::Rgb([x as u8 * 20, y as u8 * 30, 90]));
        img.save(path).unwrap();
    }

    /// An 8×6 grey mask with `value` in a 3×2 block at (2, 1) (x, y), 0 elsewhere, in the
    /// format its extension names.
    pub fn mask(path: &Path, value: u8) {
        parent(path);
        let img = image::GrayImage::from_fn(8, 6, |x, y| {
            image::Luma([if (2..5).contains(&x) && (1..3).contains(&y) {
                value
            } else {
                0
            }])
        });
        match path.extension().and_then(|e| e.to_str()) {
            Some("gif" | "bmp" | "ppm") => image::DynamicImage::ImageLuma8(img)
                .to_rgb8()
                .save(path)
                .unwrap(),
            _ => img.save(path).unwrap(),
        }
    }

    /// A grey mask with explicit values.
    pub fn values(path: &Path, width: u32, values: &[u8]) {
        parent(path);
        image::GrayImage::from_raw(width, values.len() as u32 / width, values.to_vec())
            .unwrap()
            .save(path)
            .unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for layout in Layout::ALL {
            assert_eq!(layout.as_str().parse::<Layout>().unwrap(), layout);
        }
        let err = "kaggle".parse::<Layout>().unwrap_err().to_string();
        assert!(
            err.contains("--layout") && err.contains("endovis2017"),
            "{err}"
        );
    }

    #[test]
    fn missing_data_folder_is_named() {
        let err = Layout::Generic
            .discover(Path::new("/nonexistent/samscope-data"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/nonexistent/samscope-data") && err.contains("--data"),
            "{err}"
        );
    }
}
