//! Reading a scan for the encoder: raster images as they are; volumes (DICOM, NIfTI,
//! NRRD, MetaImage) through `--slice AXIS:INDEX` and `--window`.

use std::path::Path;

use imaging::{Axis, Limits, Scan, Volume, Window};
use sam::RgbImage;

use crate::error::CliError;

/// Which slice of a volume, through which window.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SliceArgs {
    /// For a volume (DICOM, NIfTI, NRRD, MetaImage): the slice `AXIS:INDEX`, AXIS one of
    /// axial, coronal, sagittal or native (the file's own frames). Default: the only slice
    /// of a 2-D scan.
    #[arg(long, value_name = "AXIS:INDEX")]
    pub slice: Option<String>,
    /// For a volume: the window, a preset (ct_abdomen = [−991, 362] HU, lung, bone, brain,
    /// soft_tissue), CENTER,WIDTH, pLOW-HIGH (percentiles, e.g. p0.5-99.5 for MR), minmax
    /// or default (the file's own window, else p0.5-99.5).
    #[arg(long, value_name = "PRESET|C,W|pLOW-HIGH")]
    pub window: Option<String>,
}

fn parse_slice(text: &str) -> Result<(Axis, usize), CliError> {
    let bad = || {
        CliError::arg(
            "--slice",
            format!("`{text}`: use AXIS:INDEX, e.g. axial:40 (axial, coronal, sagittal or native)"),
        )
    };
    let (axis, index) = text.split_once(':').ok_or_else(bad)?;
    let axis: Axis = axis.trim().parse().map_err(|_| bad())?;
    let index = index.trim().parse::<usize>().map_err(|_| bad())?;
    Ok((axis, index))
}

fn counts(volume: &Volume) -> String {
    Axis::ALL
        .iter()
        .map(|&a| format!("{a} 0..={}", volume.slice_count(a) - 1))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Decodes `path` to the encoder's 8-bit RGB, choosing the slice and window of a volume.
pub fn read_scan(path: &Path, args: &SliceArgs) -> Result<RgbImage, CliError> {
    let bytes = std::fs::read(path).map_err(|e| CliError::io(path, e))?;
    let image_error = |source| CliError::Image {
        path: path.to_path_buf(),
        source,
    };
    let format = imaging::detect(&bytes).map_err(image_error)?;
    let window: Window = match &args.window {
        Some(text) => text.parse().map_err(|e: imaging::ImagingError| {
            CliError::arg("--window", format!("`{text}`: {e}"))
        })?,
        None => Window::Default,
    };
    let slice = args.slice.as_deref().map(parse_slice).transpose()?;
    // From the path: a MetaImage .mhd header reads its data file from beside it.
    let scan = imaging::decode_scan_file(&bytes, path, &Limits::default()).map_err(image_error)?;
    let decoded = match scan {
        Scan::Image(image) => {
            for (flag, given) in [
                ("--slice", args.slice.is_some()),
                ("--window", args.window.is_some()),
            ] {
                if given {
                    return Err(CliError::arg(
                        flag,
                        format!(
                            "{} is a {} image, not a volume",
                            path.display(),
                            format.name()
                        ),
                    ));
                }
            }
            image
        }
        Scan::Volume(volume) => {
            let (axis, index) = match slice {
                Some(s) => s,
                None if volume.is_single_slice() => (Axis::Native, 0),
                None => {
                    let [x, y, z] = volume.dims();
                    return Err(CliError::arg(
                        "--slice",
                        format!(
                            "{} is a volume of {x}×{y}×{z} voxels; choose a slice with --slice AXIS:INDEX ({})",
                            path.display(),
                            counts(&volume)
                        ),
                    ));
                }
            };
            if index >= volume.slice_count(axis) {
                return Err(CliError::arg(
                    "--slice",
                    format!(
                        "{}: {axis} index {index} is outside the volume ({})",
                        path.display(),
                        counts(&volume)
                    ),
                ));
            }
            volume
                .render(axis, index, &window, format)
                .map_err(image_error)?
                .image
        }
    };
    Ok(
        RgbImage::new(decoded.width as usize, decoded.height as usize, decoded.rgb)
            .expect("imaging returns width × height × 3 bytes"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_slices() {
        assert_eq!(parse_slice("axial:40").unwrap(), (Axis::Axial, 40));
        assert_eq!(parse_slice("Sagittal: 3").unwrap(), (Axis::Sagittal, 3));
        for bad in ["axial", "axial:-1", "oblique:3", ":4"] {
            let err = parse_slice(bad).unwrap_err().to_string();
            assert!(err.starts_with("--slice"), "{err}");
        }
    }
}
