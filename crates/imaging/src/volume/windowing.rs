//! A window applied to a volume: made concrete for its values (percentiles over the whole
//! volume) and mapped to 8-bit RGB, as `crate::window` defines it.

use crate::ImagingError;
use crate::window::{ResolvedWindow, Window, WindowLevel};

use super::{Slice, Volume, Voxels};

impl Volume {
    /// Makes `window` concrete for this volume (percentiles are computed over the whole
    /// volume, so every slice of it shares one mapping).
    pub fn resolve_window(&self, window: &Window) -> Result<ResolvedWindow, ImagingError> {
        window.validate()?;
        let percentiles = |low: f64, high: f64| -> Option<WindowLevel> {
            let lo = self.percentile(low)?;
            let hi = self.percentile(high)?;
            Some(if hi > lo {
                WindowLevel::from_bounds(lo, hi)
            } else {
                // A constant volume: any window shows it black; keep the bounds valid.
                WindowLevel::from_bounds(lo, lo + 1.0)
            })
        };
        let direct_rgb = self.channels() == 3 && matches!(self.voxels(), Voxels::U8(_));
        let bounds = match *window {
            Window::Default => match self.default_window() {
                Some(w) => Some(w),
                None if direct_rgb => None,
                None => percentiles(0.5, 99.5),
            },
            Window::Preset(p) => Some(p.window()),
            Window::Manual(w) => Some(w),
            Window::Percentiles { low, high } => percentiles(low, high),
            Window::MinMax => percentiles(0.0, 100.0),
        };
        if bounds.is_none() && !direct_rgb {
            return Err(ImagingError::BadRequest(
                "the volume has no finite values to window".into(),
            ));
        }
        Ok(ResolvedWindow {
            requested: *window,
            bounds,
            invert: self.invert(),
        })
    }
}

/// Maps a slice to row-major 8-bit RGB with a resolved window (grey replicated).
pub fn apply_window(slice: &Slice, window: &ResolvedWindow) -> Vec<u8> {
    let to_byte = |v: f32| -> u8 {
        let v = f64::from(v);
        let byte = match window.bounds {
            Some(w) => {
                let t = if v.is_finite() {
                    ((v - w.lower()) / w.width).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                (t * 255.0 + 0.5).floor() as u8
            }
            None => v.clamp(0.0, 255.0).round() as u8,
        };
        if window.invert { 255 - byte } else { byte }
    };
    let mut rgb = Vec::with_capacity(slice.width * slice.height * 3);
    if slice.channels == 3 {
        rgb.extend(slice.values.iter().map(|&v| to_byte(v)));
    } else {
        for &v in &slice.values {
            let b = to_byte(v);
            rgb.extend_from_slice(&[b, b, b]);
        }
    }
    rgb
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::volume::{Axis, Geometry};
    use crate::window::Preset;

    #[test]
    fn ct_abdomen_is_the_papers_window_and_maps_ends_to_0_and_255() {
        let w = Preset::CtAbdomen.window();
        assert_eq!((w.lower(), w.upper()), (-991.0, 362.0));
        let vol = Volume::new(
            [4, 1, 1],
            1,
            Voxels::I16(vec![-2000, -991, 362, 3000]),
            Geometry::default(),
        )
        .unwrap();
        let resolved = vol
            .resolve_window(&Window::Preset(Preset::CtAbdomen))
            .unwrap();
        let rgb = apply_window(&vol.slice(Axis::Axial, 0).unwrap(), &resolved);
        assert_eq!(rgb, vec![0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 255, 255]);
        let inverted = vol.clone().with_invert(true);
        let resolved = inverted
            .resolve_window(&Window::Preset(Preset::CtAbdomen))
            .unwrap();
        assert_eq!(
            apply_window(&inverted.slice(Axis::Axial, 0).unwrap(), &resolved)[0],
            255
        );
        assert_eq!(
            resolved.describe(),
            "window=ct_abdomen;lower=-991;upper=362;invert=1"
        );
    }

    #[test]
    fn percentiles_interpolate_like_numpy() {
        let vol = Volume::new(
            [101, 1, 1],
            1,
            Voxels::U16((0..=100).map(|v| v * 10).collect()),
            Geometry::default(),
        )
        .unwrap();
        assert_eq!(vol.percentile(0.5), Some(5.0));
        assert_eq!(vol.percentile(99.5), Some(995.0));
        let r = vol.resolve_window(&Window::Default).unwrap();
        assert_eq!(r.bounds, Some(WindowLevel::from_bounds(5.0, 995.0)));
    }
}
