//! Scan volumes (DICOM, NIfTI, NRRD): stored as samples + geometry only, sliced and
//! windowed into ordinary images on request.
//!
//! `POST /api/v1/images` with a volume format stores the [`imaging::Volume`] (never the
//! uploaded file) and answers with its geometry; `GET /api/v1/volumes/{id}` repeats that;
//! `POST /api/v1/volumes/{id}/slices` renders one slice through a window and stores it as
//! an image whose id names the volume, axis, index and window, so embeddings are per slice
//! and per window.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use imaging::{Axis, Preset, SourceFormat, Volume, Window, WindowLevel};
use sam::RgbImage;
use serde::{Deserialize, Serialize};

use crate::embeddings::blocking;
use crate::error::{ApiError, echo};
use crate::image_id::{ImageId, VolumeId, slice_descriptor};
use crate::state::AppState;

/// Bytes of decoded volumes kept in memory for slicing.
pub const VOLUME_CACHE_BYTES: usize = 512 << 20;
/// Largest JSON body of a slice request.
pub const SLICE_REQUEST_BYTES: usize = 4 << 10;

/// Recently used volumes, least recently used dropped first, within a byte budget.
#[derive(Debug)]
pub struct VolumeCache {
    budget: usize,
    entries: Mutex<VecDeque<(VolumeId, Arc<Volume>)>>,
}

impl VolumeCache {
    /// An empty cache of `budget` bytes.
    pub fn new(budget: usize) -> Self {
        Self {
            budget,
            entries: Mutex::new(VecDeque::new()),
        }
    }

    /// The volume `id`, if cached (and marks it used).
    pub fn get(&self, id: &VolumeId) -> Option<Arc<Volume>> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let at = entries.iter().position(|(k, _)| k == id)?;
        let entry = entries.remove(at)?;
        let volume = entry.1.clone();
        entries.push_front(entry);
        Some(volume)
    }

    /// Keeps `volume` (if it fits the budget at all), dropping the least recently used.
    pub fn insert(&self, id: VolumeId, volume: Arc<Volume>) {
        if volume.byte_len() > self.budget {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.retain(|(k, _)| *k != id);
        entries.push_front((id, volume));
        let mut used: usize = entries.iter().map(|(_, v)| v.byte_len()).sum();
        while used > self.budget {
            match entries.pop_back() {
                Some((_, v)) => used -= v.byte_len(),
                None => break,
            }
        }
    }
}

/// A window as the API shows it.
#[derive(Debug, Serialize)]
pub struct WindowInfo {
    /// What was asked for (`default`, a preset, `C,W`, `pLOW-HIGH`, `minmax`).
    requested: String,
    /// Value shown black (white when inverted); absent for 8-bit RGB shown as is.
    #[serde(skip_serializing_if = "Option::is_none")]
    lower: Option<f64>,
    /// Value shown white (black when inverted).
    #[serde(skip_serializing_if = "Option::is_none")]
    upper: Option<f64>,
    /// MONOCHROME1: low values shown bright.
    inverted: bool,
}

/// Center and width.
#[derive(Debug, Serialize)]
pub struct CenterWidth {
    center: f64,
    width: f64,
}

/// What the API says about a volume: geometry and how it slices; nothing else.
#[derive(Debug, Serialize)]
pub struct VolumeInfo {
    id: String,
    /// Voxels along `i` (columns), `j` (rows), `k` (slices/frames) as stored.
    dims: [usize; 3],
    /// 1 (grey) or 3 (RGB).
    channels: usize,
    /// Stored sample type (`u8`, `i16`, …).
    sample_type: &'static str,
    /// Voxel spacing along `i`, `j`, `k`, mm.
    spacing_mm: [f64; 3],
    /// Voxel index → patient position (DICOM LPS, mm), row-major 4×4.
    affine_lps: [[f64; 4]; 4],
    /// Whether the orientation came from the file.
    oriented: bool,
    /// MONOCHROME1.
    inverted: bool,
    /// Slice counts per axis.
    slices: BTreeMap<&'static str, usize>,
    /// `[width, height]` of the slices per axis.
    slice_size: BTreeMap<&'static str, [usize; 2]>,
    /// Smallest and largest physical value (HU for CT), for window controls.
    value_range: [f64; 2],
    /// The window the file suggests, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    default_window: Option<CenterWidth>,
    /// Named windows this server knows, with their center and width.
    presets: BTreeMap<&'static str, CenterWidth>,
}

impl VolumeInfo {
    fn new(id: &VolumeId, v: &Volume) -> Self {
        let g = v.geometry();
        let cw = |w: WindowLevel| CenterWidth {
            center: w.center,
            width: w.width,
        };
        Self {
            id: id.to_string(),
            dims: v.dims(),
            channels: v.channels(),
            sample_type: v.voxels().type_name(),
            spacing_mm: g.spacing,
            affine_lps: g.affine(),
            oriented: g.oriented,
            inverted: v.invert(),
            slices: Axis::ALL
                .iter()
                .map(|&a| (a.as_str(), v.slice_count(a)))
                .collect(),
            slice_size: Axis::ALL
                .iter()
                .map(|&a| {
                    let (w, h) = v.slice_size(a);
                    (a.as_str(), [w, h])
                })
                .collect(),
            value_range: [
                v.percentile(0.0).unwrap_or(0.0),
                v.percentile(100.0).unwrap_or(0.0),
            ],
            default_window: v.default_window().map(cw),
            presets: Preset::ALL
                .iter()
                .map(|&p| (p.as_str(), cw(p.window())))
                .collect(),
        }
    }
}

/// A slice stored as an image.
#[derive(Debug, Serialize)]
pub struct SliceImage {
    /// The image id (for `/api/v1/images/{id}` and its embedding).
    id: String,
    width: u32,
    height: u32,
    /// The volume it was cut from.
    volume_id: String,
    axis: &'static str,
    index: usize,
    window: WindowInfo,
    /// Distance between columns and between rows, mm.
    pixel_spacing_mm: [f64; 2],
    /// LPS position of the top-left pixel, mm.
    origin_lps: [f64; 3],
    /// LPS direction of increasing column.
    column_direction: [f64; 3],
    /// LPS direction of increasing row.
    row_direction: [f64; 3],
}

/// The response of `POST /api/v1/images` for a volume format.
#[derive(Debug, Serialize)]
pub struct UploadedVolume {
    /// `volume`.
    kind: &'static str,
    /// The container (`dicom`, `nifti`, `nrrd`, `metaimage`).
    format: &'static str,
    /// Geometry and slicing.
    volume: VolumeInfo,
    /// For a single-slice scan, that slice through the default window, as for a PNG.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    image: Option<SliceImage>,
}

impl UploadedVolume {
    /// The volume id.
    pub fn id(&self) -> &str {
        &self.volume.id
    }

    /// The volume's dimensions.
    pub fn dims(&self) -> [usize; 3] {
        self.volume.dims
    }
}

/// Renders `axis`/`index` of `volume` through `window`, stores it, describes it.
fn store_slice(
    state: &AppState,
    id: &VolumeId,
    volume: &Volume,
    axis: Axis,
    index: usize,
    window: &Window,
) -> Result<SliceImage, ApiError> {
    let (w, h) = volume.slice_size(axis);
    let limits = state.limits.imaging();
    if (w as u64) * (h as u64) > limits.max_pixels {
        return Err(ApiError::TooLarge(format!(
            "{w}×{h} {axis} slices are above the limit of {} pixels",
            limits.max_pixels
        )));
    }
    // The format only labels `DecodedImage`; a stored volume does not record it.
    let rendered = volume.render(axis, index, window, SourceFormat::Dicom)?;
    let slice = volume.slice(axis, index)?;
    let descriptor = slice_descriptor(id, axis, index, &rendered.window);
    let image = rendered.image;
    let image_id = ImageId::of_pixels(&descriptor, image.width, image.height, &image.rgb);
    let (width, height) = (image.width, image.height);
    let rgb = RgbImage::new(width as usize, height as usize, image.rgb)
        .ok_or_else(|| ApiError::internal("rendered buffer does not match its size"))?;
    state
        .store
        .put_slice_image(image_id, &descriptor, &rgb)
        .map_err(|e| ApiError::internal(format!("storing image {image_id}: {e}")))?;
    let bounds = rendered.window.bounds;
    Ok(SliceImage {
        id: image_id.to_string(),
        width,
        height,
        volume_id: id.to_string(),
        axis: axis.as_str(),
        index,
        window: WindowInfo {
            requested: rendered.window.requested.to_string(),
            lower: bounds.map(|b| b.lower()),
            upper: bounds.map(|b| b.upper()),
            inverted: rendered.window.invert,
        },
        pixel_spacing_mm: slice.pixel_spacing,
        origin_lps: slice.origin,
        column_direction: slice.column_direction,
        row_direction: slice.row_direction,
    })
}

/// Stores an uploaded volume and describes it (blocking: encodes, hashes, writes).
pub fn store_upload(
    state: &AppState,
    volume: Volume,
    format: SourceFormat,
) -> Result<UploadedVolume, ApiError> {
    let encoded = volume.encode();
    let id = VolumeId::of_encoded(&encoded);
    state
        .store
        .put_volume(&id, &encoded)
        .map_err(|e| ApiError::internal(format!("storing volume {id}: {e}")))?;
    drop(encoded);
    let volume = Arc::new(volume);
    state.volumes.insert(id, volume.clone());
    let image = if volume.is_single_slice() {
        Some(store_slice(
            state,
            &id,
            &volume,
            Axis::Native,
            0,
            &Window::Default,
        )?)
    } else {
        None
    };
    Ok(UploadedVolume {
        kind: "volume",
        format: format.name(),
        volume: VolumeInfo::new(&id, &volume),
        image,
    })
}

fn volume_id(path: Result<Path<String>, PathRejection>) -> Result<VolumeId, ApiError> {
    let Path(text) = path.map_err(|_| ApiError::BadId)?;
    VolumeId::parse(&text)
}

/// The volume from memory or the store (blocking).
fn load(state: &AppState, id: &VolumeId) -> Result<Arc<Volume>, ApiError> {
    if let Some(v) = state.volumes.get(id) {
        return Ok(v);
    }
    match state.store.load_volume(id, &state.limits.imaging()) {
        Ok(Some(volume)) => {
            let volume = Arc::new(volume);
            state.volumes.insert(*id, volume.clone());
            Ok(volume)
        }
        Ok(None) => Err(ApiError::VolumeNotFound(*id)),
        Err(corrupt) => {
            tracing::error!(volume = %id, problem = %corrupt, "damaged stored volume removed");
            Err(ApiError::VolumeNotFound(*id))
        }
    }
}

/// `GET /api/v1/volumes/{id}`: geometry and slice counts.
pub async fn get_volume(
    State(state): State<Arc<AppState>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<VolumeInfo>, ApiError> {
    let id = volume_id(path)?;
    let info = blocking(move || load(&state, &id).map(|v| VolumeInfo::new(&id, &v))).await??;
    Ok(Json(info))
}

/// A window in a slice request: a string as on the command line, or an object.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum WindowSpec {
    Text(String),
    Preset { preset: String },
    Manual { center: f64, width: f64 },
    Percentiles { percentiles: [f64; 2] },
}

impl WindowSpec {
    fn parse(&self) -> Result<Window, ApiError> {
        let window = match self {
            WindowSpec::Text(text) => text.parse()?,
            WindowSpec::Preset { preset } => Window::Preset(preset.parse()?),
            WindowSpec::Manual { center, width } => Window::Manual(WindowLevel {
                center: *center,
                width: *width,
            }),
            WindowSpec::Percentiles {
                percentiles: [low, high],
            } => Window::Percentiles {
                low: *low,
                high: *high,
            },
        };
        window.validate()?;
        Ok(window)
    }
}

/// Body of `POST /api/v1/volumes/{id}/slices`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SliceRequest {
    axis: String,
    index: usize,
    #[serde(default)]
    window: Option<WindowSpec>,
}

/// `POST /api/v1/volumes/{id}/slices`: one slice through a window, stored as an image.
pub async fn post_slice(
    State(state): State<Arc<AppState>>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<SliceImage>, ApiError> {
    let id = volume_id(path)?;
    let body = body.map_err(|e| crate::routes::body_error(e, SLICE_REQUEST_BYTES))?;
    let request: SliceRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::BadRequest(format!(
            "the body must be JSON {{\"axis\": \"axial|coronal|sagittal|native\", \"index\": N, \"window\": …}}: {}",
            echo(&e.to_string())
        ))
    })?;
    let axis: Axis = request.axis.parse()?;
    let window = request
        .window
        .as_ref()
        .map_or(Ok(Window::Default), WindowSpec::parse)?;
    let worker = state.clone();
    let slice = blocking(move || {
        let volume = load(&worker, &id)?;
        store_slice(&worker, &id, &volume, axis, request.index, &window)
    })
    .await??;
    tracing::info!(volume = %id, image = %slice.id, axis = slice.axis, index = slice.index, "slice stored");
    Ok(Json(slice))
}
