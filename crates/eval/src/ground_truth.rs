//! Ground truth: mask files → label maps → per-class layers.
//!
//! Every layout turns its annotation files into one or more [`Layer`]s: a label map with
//! 0 = background and a [`Classes`] table naming the non-zero values. Classes that may
//! overlap (an optic disc contains its cup) live in separate layers.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use image::DynamicImage;

use crate::error::EvalError;

/// A label map: one `u16` value per pixel, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelMap {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `height × width` values.
    pub data: Vec<u16>,
}

/// How the pixel values of a mask file become label values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decode {
    /// The values are the labels (8- or 16-bit grey, or RGB with R = G = B).
    Labels,
    /// A binary mask: 1 where the value is at least half the type's range (128 for 8-bit,
    /// 32768 for 16-bit), else 0; a file holding only 0 and 1 is taken as it is. Colour
    /// files use the largest channel.
    Binary,
    /// 1 where the grey value is below the bound, else 0 (REFUGE draws the disc grey and the
    /// cup black on white).
    Below(u16),
    /// Listed values map to labels, every other value to 0 (EndoVis part values).
    Values(Vec<(u16, u16)>),
}

/// Names of the label values of one layer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Classes {
    /// Declared values and their names. A declared value that is absent from an image is an
    /// empty ground-truth instance: skipped and counted.
    pub names: BTreeMap<u16, String>,
    /// Name for non-zero values that are not declared (`"*"` in `classes.json`); without it
    /// such a value is named by its number.
    pub others: Option<String>,
}

impl Classes {
    /// One declared class.
    pub fn single(value: u16, name: &str) -> Self {
        Self::from_pairs(&[(value, name)])
    }

    /// Several declared classes.
    pub fn from_pairs(pairs: &[(u16, &str)]) -> Self {
        Self {
            names: pairs.iter().map(|&(v, n)| (v, n.to_string())).collect(),
            others: None,
        }
    }

    /// The class name of label `value`.
    pub fn name(&self, value: u16) -> String {
        self.names
            .get(&value)
            .or(self.others.as_ref())
            .cloned()
            .unwrap_or_else(|| value.to_string())
    }
}

/// Where a layer comes from: files decoded the same way and painted in order (a later
/// file's non-zero labels overwrite earlier ones).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerSource {
    /// Mask files, all the size of the image.
    pub files: Vec<PathBuf>,
    /// How their pixel values become labels.
    pub decode: Decode,
    /// Names of the labels.
    pub classes: Classes,
}

impl LayerSource {
    /// A layer read from one file.
    pub fn new(file: PathBuf, decode: Decode, classes: Classes) -> Self {
        Self {
            files: vec![file],
            decode,
            classes,
        }
    }
}

/// One decoded layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    /// Labels, 0 = background.
    pub map: LabelMap,
    /// Names of the labels.
    pub classes: Classes,
}

/// The decoded ground truth of one image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroundTruth {
    /// Width in pixels (the image's).
    pub width: usize,
    /// Height in pixels (the image's).
    pub height: usize,
    /// Layers, in the layout's order.
    pub layers: Vec<Layer>,
}

/// Pixel values of a mask file and the largest value its type can hold.
struct RawMask {
    width: usize,
    height: usize,
    /// Grey value, or the largest channel of a colour pixel.
    values: Vec<u16>,
    /// False when some pixel has different R, G and B.
    grey: bool,
    type_max: u16,
}

fn read_raw(path: &Path) -> Result<RawMask, EvalError> {
    let reader = image::ImageReader::open(path)
        .map_err(|e| EvalError::io(path, e))?
        .with_guessed_format()
        .map_err(|e| EvalError::io(path, e))?;
    let decoded = reader
        .decode()
        .map_err(|e| EvalError::mask(path, format!("not a readable mask image: {e}")))?;
    raw_values(decoded, path)
}

/// Decodes a mask held in memory (an upload); `name` stands for the file in errors.
pub fn decode_mask(bytes: &[u8], name: &str, decode: &Decode) -> Result<LabelMap, EvalError> {
    let path = Path::new(name);
    let decoded = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| EvalError::io(path, e))?
        .decode()
        .map_err(|e| EvalError::mask(path, format!("not a readable mask image: {e}")))?;
    labels_of(raw_values(decoded, path)?, path, decode)
}

fn raw_values(decoded: DynamicImage, path: &Path) -> Result<RawMask, EvalError> {
    let (width, height) = (decoded.width() as usize, decoded.height() as usize);
    if width == 0 || height == 0 {
        return Err(EvalError::mask(path, "the mask has no pixels"));
    }
    let grey_values = |v: Vec<u16>, type_max| RawMask {
        width,
        height,
        values: v,
        grey: true,
        type_max,
    };
    let colour = |channels: Vec<[u16; 3]>, type_max| RawMask {
        width,
        height,
        grey: channels.iter().all(|c| c[0] == c[1] && c[1] == c[2]),
        values: channels.iter().map(|c| c[0].max(c[1]).max(c[2])).collect(),
        type_max,
    };
    Ok(match decoded {
        DynamicImage::ImageLuma8(img) => {
            grey_values(img.into_raw().into_iter().map(u16::from).collect(), 255)
        }
        DynamicImage::ImageLumaA8(img) => {
            grey_values(img.pixels().map(|p| u16::from(p.0[0])).collect(), 255)
        }
        DynamicImage::ImageLuma16(img) => grey_values(img.into_raw(), u16::MAX),
        DynamicImage::ImageLumaA16(img) => {
            grey_values(img.pixels().map(|p| p.0[0]).collect(), 65535)
        }
        DynamicImage::ImageRgb8(img) => {
            colour(img.pixels().map(|p| p.0.map(u16::from)).collect(), 255)
        }
        DynamicImage::ImageRgba8(img) => colour(
            img.pixels()
                .map(|p| [p.0[0], p.0[1], p.0[2]].map(u16::from))
                .collect(),
            255,
        ),
        DynamicImage::ImageRgb16(img) => colour(img.pixels().map(|p| p.0).collect(), 65535),
        DynamicImage::ImageRgba16(img) => colour(
            img.pixels().map(|p| [p.0[0], p.0[1], p.0[2]]).collect(),
            65535,
        ),
        other => {
            return Err(EvalError::mask(
                path,
                format!(
                    "{:?} pixels; masks must be 8- or 16-bit grey or RGB",
                    other.color()
                ),
            ));
        }
    })
}

/// Reads a mask file and decodes its values into labels.
pub fn read_mask(path: &Path, decode: &Decode) -> Result<LabelMap, EvalError> {
    labels_of(read_raw(path)?, path, decode)
}

fn labels_of(raw: RawMask, path: &Path, decode: &Decode) -> Result<LabelMap, EvalError> {
    if !raw.grey && *decode != Decode::Binary {
        return Err(EvalError::mask(
            path,
            "a colour image; this mask must be grey (one value per class, or R = G = B)",
        ));
    }
    let data = match decode {
        Decode::Labels => raw.values,
        Decode::Binary => {
            let zero_one = raw.values.iter().all(|&v| v <= 1);
            let half = raw.type_max / 2 + 1;
            raw.values
                .iter()
                .map(|&v| u16::from(if zero_one { v == 1 } else { v >= half }))
                .collect()
        }
        Decode::Below(bound) => raw.values.iter().map(|&v| u16::from(v < *bound)).collect(),
        Decode::Values(table) => raw
            .values
            .iter()
            .map(|&v| {
                table
                    .iter()
                    .find(|&&(from, _)| from == v)
                    .map_or(0, |&(_, to)| to)
            })
            .collect(),
    };
    Ok(LabelMap {
        width: raw.width,
        height: raw.height,
        data,
    })
}

impl LabelMap {
    /// The columns `0..width` of every row (for the left view of a stereo pair).
    pub fn crop_columns(&self, width: usize) -> LabelMap {
        let width = width.min(self.width);
        LabelMap {
            width,
            height: self.height,
            data: self
                .data
                .chunks(self.width)
                .flat_map(|row| row[..width].iter().copied())
                .collect(),
        }
    }
}

/// Reads and paints the files of `source` into one layer of `width × height`.
///
/// `full_width` is the uncropped image width when only the left `width` columns of the
/// image are evaluated (RIM-ONE stereo pairs); a mask of that width is cropped the same way.
pub fn load_layer(
    source: &LayerSource,
    width: usize,
    height: usize,
    full_width: usize,
) -> Result<Layer, EvalError> {
    let mut map = LabelMap {
        width,
        height,
        data: vec![0; width * height],
    };
    for file in &source.files {
        let mut labels = read_mask(file, &source.decode)?;
        if labels.width == full_width && full_width != width && labels.height == height {
            labels = labels.crop_columns(width);
        }
        if (labels.width, labels.height) != (width, height) {
            return Err(EvalError::mask(
                file,
                format!(
                    "the mask is {}×{} but its image is {full_width}×{height}",
                    labels.width, labels.height
                ),
            ));
        }
        for (dst, &v) in map.data.iter_mut().zip(&labels.data) {
            if v != 0 {
                *dst = v;
            }
        }
    }
    Ok(Layer {
        map,
        classes: source.classes.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_grey(path: &Path, w: u32, h: u32, values: &[u8]) {
        image::GrayImage::from_raw(w, h, values.to_vec())
            .unwrap()
            .save(path)
            .unwrap();
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("samscope-eval-gt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

    #[test]
    fn decodes_labels_binary_below_and_value_tables() {
        let path = scratch("values.png");
        write_grey(&path, 4, 1, &[0, 10, 128, 255]);
        assert_eq!(
            read_mask(&path, &Decode::Labels).unwrap().data,
            [0, 10, 128, 255]
        );
        assert_eq!(
            read_mask(&path, &Decode::Binary).unwrap().data,
            [0, 0, 1, 1]
        );
        assert_eq!(
            read_mask(&path, &Decode::Below(192)).unwrap().data,
            [1, 1, 1, 0]
        );
        let table = Decode::Values(vec![(10, 1), (255, 3)]);
        assert_eq!(read_mask(&path, &table).unwrap().data, [0, 1, 0, 3]);

        let zero_one = scratch("zero_one.png");
        write_grey(&zero_one, 3, 1, &[0, 1, 1]);
        assert_eq!(
            read_mask(&zero_one, &Decode::Binary).unwrap().data,
            [0, 1, 1]
        );
    }

    #[test]
    fn colour_masks_are_binary_only() {
        let path = scratch("colour.png");
        image::RgbImage::from_raw(2, 1, vec![0, 0, 0, 200, 0, 0])
            .unwrap()
            .save(&path)
            .unwrap();
        assert_eq!(read_mask(&path, &Decode::Binary).unwrap().data, [0, 1]);
        let err = read_mask(&path, &Decode::Labels).unwrap_err().to_string();
        assert!(
            err.contains("colour.png") && err.contains("colour image"),
            "{err}"
        );
    }

    #[test]
    fn unreadable_and_missing_masks_name_the_file() {
        let bad = scratch("not_a_mask.png");
        std::fs::write(&bad, b"hello").unwrap();
        let err = read_mask(&bad, &Decode::Labels).unwrap_err().to_string();
        assert!(err.contains("not_a_mask.png"), "{err}");
        let missing = scratch("missing.png");
        let err = read_mask(&missing, &Decode::Labels)
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing.png"), "{err}");
    }

    #[test]
    fn layers_paint_in_order_and_check_the_size() {
        let a = scratch("a.png");
        let b = scratch("b.png");
        write_grey(&a, 2, 2, &[10, 10, 0, 0]);
        write_grey(&b, 2, 2, &[0, 20, 20, 0]);
        let source = LayerSource {
            files: vec![a.clone(), b],
            decode: Decode::Values(vec![(10, 1), (20, 2)]),
            classes: Classes::from_pairs(&[(1, "shaft"), (2, "wrist")]),
        };
        let layer = load_layer(&source, 2, 2, 2).unwrap();
        assert_eq!(layer.map.data, [1, 2, 2, 0]);
        let err = load_layer(&source, 3, 2, 3).unwrap_err().to_string();
        assert!(
            err.contains("a.png") && err.contains("2×2") && err.contains("3×2"),
            "{err}"
        );
        // A stereo-width mask is cropped to the left view.
        let wide = scratch("wide.png");
        write_grey(&wide, 4, 1, &[255, 0, 255, 255]);
        let source = LayerSource::new(wide, Decode::Binary, Classes::single(1, "disc"));
        assert_eq!(load_layer(&source, 2, 1, 4).unwrap().map.data, [1, 0]);
    }

    #[test]
    fn class_names_fall_back_to_the_wildcard_then_the_number() {
        let mut classes = Classes::from_pairs(&[(1, "liver")]);
        assert_eq!(classes.name(1), "liver");
        assert_eq!(classes.name(7), "7");
        classes.others = Some("organ".into());
        assert_eq!(classes.name(7), "organ");
    }
}
