//! Scan volumes (DICOM, NIfTI, NRRD): stored as samples + geometry only, sliced and
//! windowed into ordinary images on request.
//!
//! `POST /api/v1/images` with a volume format stores the [`imaging::Volume`] (never the
//! uploaded file) and answers with its geometry; `GET /api/v1/volumes/{id}` repeats that;
//! `POST /api/v1/volumes/{id}/slices` renders one slice through a window and stores it as
//! an image whose id names the volume, axis, index and window, so embeddings are per slice
//! and per window.

use std::sync::Arc;

use api::{
    CenterWidth, ScanKind, SliceInfo, SliceRequest, SliceWindow, UploadedVolume, VolumeInfo,
    WindowSpec,
};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use imaging::{Axis, Preset, SourceFormat, Volume, Window, WindowLevel};
use sam::RgbImage;

use crate::error::{ApiError, echo};
use crate::http::body_error;
use crate::http::decoding;
use crate::image_id::{ImageId, VolumeId, is_descriptor, slice_descriptor};
use crate::state::AppState;

/// Largest JSON body of a slice request.
pub const SLICE_REQUEST_BYTES: usize = 4 << 10;

/// What the API says about volume `v`: geometry and how it slices; nothing else.
fn volume_info(id: &VolumeId, v: &Volume) -> VolumeInfo {
    let g = v.geometry();
    let cw = |w: WindowLevel| CenterWidth {
        center: w.center,
        width: w.width,
    };
    VolumeInfo {
        id: id.to_string(),
        dims: v.dims(),
        channels: v.channels(),
        sample_type: v.voxels().type_name().to_string(),
        spacing_mm: g.spacing,
        affine_lps: g.affine(),
        oriented: g.oriented,
        inverted: v.invert(),
        slices: Axis::ALL
            .iter()
            .map(|&a| (a.as_str().to_string(), v.slice_count(a)))
            .collect(),
        slice_size: Axis::ALL
            .iter()
            .map(|&a| {
                let (w, h) = v.slice_size(a);
                (a.as_str().to_string(), [w, h])
            })
            .collect(),
        value_range: [
            v.percentile(0.0).unwrap_or(0.0),
            v.percentile(100.0).unwrap_or(0.0),
        ],
        default_window: v.default_window().map(cw),
        presets: Preset::ALL
            .iter()
            .map(|&p| (p.as_str().to_string(), cw(p.window())))
            .collect(),
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
) -> Result<SliceInfo, ApiError> {
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
    if !is_descriptor(&descriptor) {
        let (lower, upper) = rendered
            .window
            .bounds
            .map_or((0.0, 0.0), |b| (b.lower(), b.upper()));
        return Err(ApiError::BadRequest(format!(
            "the window's bounds ({lower:e} to {upper:e}) are too long to label a stored \
             slice; choose a manual window with shorter numbers (e.g. 40,400)"
        )));
    }
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
    Ok(SliceInfo {
        id: image_id.to_string(),
        width,
        height,
        volume_id: id.to_string(),
        axis: axis.as_str().to_string(),
        index,
        window: SliceWindow {
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
    let id = state
        .store
        .put_volume_of(&volume)
        .map_err(|e| ApiError::internal(format!("storing a volume: {e}")))?;
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
        kind: ScanKind::Volume,
        format: format.name().to_string(),
        volume: volume_info(&id, &volume),
        image,
    })
}

fn volume_id(path: Result<Path<String>, PathRejection>) -> Result<VolumeId, ApiError> {
    let Path(text) = path.map_err(|_| ApiError::BadId)?;
    Ok(VolumeId::parse(&text)?)
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
    // A volume read back from the store is decoded within the decode memory budget.
    let info = decoding(&state, move |state| {
        load(state, &id).map(|v| volume_info(&id, &v))
    })
    .await?;
    Ok(Json(info))
}

/// The window a slice request or a case names, checked (400 when it cannot be used or
/// cannot label a stored slice).
pub(crate) fn window_of(spec: &WindowSpec) -> Result<Window, ApiError> {
    let window = match spec {
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

/// `POST /api/v1/volumes/{id}/slices`: one slice through a window, stored as an image.
pub async fn post_slice(
    State(state): State<Arc<AppState>>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<SliceInfo>, ApiError> {
    let id = volume_id(path)?;
    let body = body.map_err(|e| body_error(e, SLICE_REQUEST_BYTES))?;
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
        .map_or(Ok(Window::Default), window_of)?;
    let slice = decoding(&state, move |state| {
        let volume = load(state, &id)?;
        store_slice(state, &id, &volume, axis, request.index, &window)
    })
    .await?;
    tracing::info!(volume = %id, image = %slice.id, axis = %slice.axis, index = slice.index, "slice stored");
    Ok(Json(slice))
}
