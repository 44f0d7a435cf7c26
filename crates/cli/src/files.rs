//! Reading arrays, writing masks and arrays (scans: `crate::scan`).

use std::path::Path;

use sam::npy::{self, NpyElement};

use crate::error::CliError;

/// Writes `data` with `shape` as `.npy`.
pub fn write_npy<T: NpyElement>(path: &Path, shape: &[usize], data: &[T]) -> Result<(), CliError> {
    std::fs::write(path, npy::encode(shape, data)).map_err(|e| CliError::io(path, e))
}

/// Reads an `f32` `.npy`, naming the flag on error.
pub fn read_npy_f32(flag: &'static str, path: &Path) -> Result<npy::NpyArray<f32>, CliError> {
    let bytes = std::fs::read(path).map_err(|e| CliError::io(path, e))?;
    npy::decode::<f32>(&bytes).map_err(|e| CliError::arg(flag, format!("{}: {e}", path.display())))
}

/// Writes a binary mask as an 8-bit grey PNG with values 0 and 255.
pub fn write_mask_png(path: &Path, mask: &sam::BinaryMask) -> Result<(), CliError> {
    let pixels: Vec<u8> = mask
        .data
        .iter()
        .map(|&v| if v != 0 { 255 } else { 0 })
        .collect();
    let img = image::GrayImage::from_raw(mask.width as u32, mask.height as u32, pixels)
        .expect("mask buffer matches its size");
    img.save_with_format(path, image::ImageFormat::Png)
        .map_err(|e| match e {
            image::ImageError::IoError(io) => CliError::io(path, io),
            other => CliError::io(path, std::io::Error::other(other.to_string())),
        })
}
