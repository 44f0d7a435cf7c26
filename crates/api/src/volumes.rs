//! Volumes (DICOM, NIfTI, NRRD, MetaImage): the description of an uploaded volume, the
//! request for one slice and the description of that slice, stored as an image.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A window as center and width (presets, a file's own window).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CenterWidth {
    /// Middle of the window.
    pub center: f64,
    /// Width (> 0).
    pub width: f64,
}

/// The `volume` object of `POST /api/v1/images` and `GET /api/v1/volumes/{id}`: geometry
/// and how the volume slices; nothing else.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolumeInfo {
    /// Volume id (64 lower-case hex).
    pub id: String,
    /// Voxels along `i` (columns), `j` (rows), `k` (slices/frames) as stored.
    pub dims: [usize; 3],
    /// 1 (grey) or 3 (RGB).
    pub channels: usize,
    /// Stored sample type (`u8`, `i16`, …).
    pub sample_type: String,
    /// Voxel spacing along `i`, `j`, `k`, mm.
    pub spacing_mm: [f64; 3],
    /// Voxel index → patient position (DICOM LPS, mm), row-major 4×4.
    pub affine_lps: [[f64; 4]; 4],
    /// Whether the orientation came from the file (else `i, j, k` are taken as `x, y, z`).
    pub oriented: bool,
    /// MONOCHROME1: low values shown bright.
    pub inverted: bool,
    /// Slice count per axis name (`axial`, `coronal`, `sagittal`, `native`).
    pub slices: BTreeMap<String, usize>,
    /// `[width, height]` of the slices per axis name.
    pub slice_size: BTreeMap<String, [usize; 2]>,
    /// Smallest and largest physical value (HU for CT), for window controls.
    pub value_range: [f64; 2],
    /// The window the file suggests, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_window: Option<CenterWidth>,
    /// The server's named windows, with their center and width.
    pub presets: BTreeMap<String, CenterWidth>,
}

/// What `POST /api/v1/images` answers for a volume format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UploadedVolume {
    /// Always [`ScanKind::Volume`].
    pub kind: ScanKind,
    /// The container (`dicom`, `nifti`, `nrrd`, `metaimage`).
    pub format: String,
    /// Geometry and slicing.
    pub volume: VolumeInfo,
    /// For a single-slice scan, that slice through the default window, as for a PNG.
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub image: Option<SliceInfo>,
}

/// The `kind` of an upload answer that is not a plain image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScanKind {
    /// A volume: slices are rendered on request.
    Volume,
}

/// A window in a slice request or a teaching case: a string as on the command line
/// (`default`, a preset, `C,W`, `pLOW-HIGH`, `minmax`) or one of three objects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum WindowSpec {
    /// As on the command line.
    Text(String),
    /// `{"preset": "lung"}`.
    Preset {
        /// The preset's name.
        preset: String,
    },
    /// `{"center": 40, "width": 400}`.
    Manual {
        /// Middle of the window.
        center: f64,
        /// Width.
        width: f64,
    },
    /// `{"percentiles": [0.5, 99.5]}` (over the whole volume).
    Percentiles {
        /// Low and high percentile.
        percentiles: [f64; 2],
    },
}

impl WindowSpec {
    /// The command-line form (`lung`, `40,400`, `p0.5-99.5`, …) that `imaging::Window`
    /// parses.
    pub fn text(&self) -> String {
        match self {
            WindowSpec::Text(text) => text.clone(),
            WindowSpec::Preset { preset } => preset.clone(),
            WindowSpec::Manual { center, width } => format!("{center},{width}"),
            WindowSpec::Percentiles {
                percentiles: [low, high],
            } => format!("p{low}-{high}"),
        }
    }
}

/// Body of `POST /api/v1/volumes/{id}/slices`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SliceRequest {
    /// `axial`, `coronal`, `sagittal` or `native`.
    pub axis: String,
    /// Voxel index along the fixed axis.
    pub index: usize,
    /// The window; the file's own when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<WindowSpec>,
}

/// The window a slice was rendered with (`window` of [`SliceInfo`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SliceWindow {
    /// What was asked for (`default`, a preset, `C,W`, `pLOW-HIGH`, `minmax`).
    pub requested: String,
    /// Value shown black (white when inverted); absent for 8-bit RGB shown as is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lower: Option<f64>,
    /// Value shown white (black when inverted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upper: Option<f64>,
    /// MONOCHROME1: low values shown bright.
    pub inverted: bool,
}

/// `POST /api/v1/volumes/{id}/slices`'s answer: one slice stored as an image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SliceInfo {
    /// The image id (for `/api/v1/images/{id}` and its embedding).
    pub id: String,
    /// Width, pixels.
    pub width: u32,
    /// Height, pixels.
    pub height: u32,
    /// The volume it was cut from.
    pub volume_id: String,
    /// Axis name.
    pub axis: String,
    /// Index along the axis.
    pub index: usize,
    /// The window applied.
    pub window: SliceWindow,
    /// Distance between columns and between rows, mm.
    pub pixel_spacing_mm: [f64; 2],
    /// LPS position of the top-left pixel, mm.
    pub origin_lps: [f64; 3],
    /// LPS direction of increasing column.
    pub column_direction: [f64; 3],
    /// LPS direction of increasing row.
    pub row_direction: [f64; 3],
}
