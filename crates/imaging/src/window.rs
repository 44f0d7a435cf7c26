//! Window/level: mapping physical values (HU for CT) to the encoder's 8 bits.
//!
//! `lower = center − width/2`, `upper = center + width/2`, and each value becomes
//! `round(clamp((v − lower) / (upper − lower), 0, 1) · 255)`, inverted for MONOCHROME1.
//! Applying a window to a volume's samples is `volume::windowing` ([`crate::apply_window`]).

use std::fmt;
use std::str::FromStr;

use crate::ImagingError;

/// A window as center and width (in physical units).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowLevel {
    /// Middle of the window.
    pub center: f64,
    /// Width of the window (> 0).
    pub width: f64,
}

impl WindowLevel {
    /// The window `[lower, upper]`.
    pub fn from_bounds(lower: f64, upper: f64) -> Self {
        Self {
            center: (lower + upper) / 2.0,
            width: upper - lower,
        }
    }

    /// Lowest value shown (black).
    pub fn lower(&self) -> f64 {
        self.center - self.width / 2.0
    }

    /// Highest value shown (white).
    pub fn upper(&self) -> f64 {
        self.center + self.width / 2.0
    }

    /// Finite center and a finite width > 0.
    pub fn is_usable(&self) -> bool {
        self.center.is_finite() && self.width.is_finite() && self.width > 0.0
    }
}

/// Named CT windows (HU).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Preset {
    /// `[−991, 362]`, the abdomen window of the MedSAM paper's CT preprocessing.
    CtAbdomen,
    /// Lung: center −600, width 1500.
    Lung,
    /// Bone: center 400, width 1800.
    Bone,
    /// Brain: center 40, width 80.
    Brain,
    /// Soft tissue: center 50, width 400.
    SoftTissue,
}

impl Preset {
    /// Every preset.
    pub const ALL: [Preset; 5] = [
        Preset::CtAbdomen,
        Preset::Lung,
        Preset::Bone,
        Preset::Brain,
        Preset::SoftTissue,
    ];

    /// Its name in the API and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Preset::CtAbdomen => "ct_abdomen",
            Preset::Lung => "lung",
            Preset::Bone => "bone",
            Preset::Brain => "brain",
            Preset::SoftTissue => "soft_tissue",
        }
    }

    /// Its window.
    pub fn window(self) -> WindowLevel {
        match self {
            Preset::CtAbdomen => WindowLevel::from_bounds(-991.0, 362.0),
            Preset::Lung => WindowLevel {
                center: -600.0,
                width: 1500.0,
            },
            Preset::Bone => WindowLevel {
                center: 400.0,
                width: 1800.0,
            },
            Preset::Brain => WindowLevel {
                center: 40.0,
                width: 80.0,
            },
            Preset::SoftTissue => WindowLevel {
                center: 50.0,
                width: 400.0,
            },
        }
    }
}

impl FromStr for Preset {
    type Err = ImagingError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key = s.to_ascii_lowercase().replace('-', "_");
        Preset::ALL
            .into_iter()
            .find(|p| p.as_str() == key || (key == "abdomen" && *p == Preset::CtAbdomen))
            .ok_or_else(|| {
                ImagingError::BadRequest(format!(
                    "unknown window preset; use one of {}",
                    Preset::ALL.map(Preset::as_str).join(", ")
                ))
            })
    }
}

/// Which window to apply.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Window {
    /// The file's own window (DICOM Window Center/Width) if it has one; else 8-bit RGB
    /// as it is; else the 0.5–99.5 percentiles.
    #[default]
    Default,
    /// A named CT window.
    Preset(Preset),
    /// Given center and width.
    Manual(WindowLevel),
    /// From the `low`-th to the `high`-th percentile (0–100) of the whole volume's values
    /// (MR and other modalities without a physical scale).
    Percentiles {
        /// Lower percentile.
        low: f64,
        /// Upper percentile.
        high: f64,
    },
    /// From the smallest to the largest value of the volume.
    MinMax,
}

/// Longest label of a manual window (`center,width` as [`Window`]'s `Display` writes it)
/// that a stored slice's descriptor can carry.
pub const MAX_LABEL: usize = 64;

impl Window {
    /// The percentiles MedSAM uses for MR and other non-CT images.
    pub const MR_PERCENTILES: Window = Window::Percentiles {
        low: 0.5,
        high: 99.5,
    };

    /// Checks the numbers (a manual width > 0 with finite, distinct bounds and a label of
    /// at most [`MAX_LABEL`] characters; percentiles in `0 ≤ low < high ≤ 100`).
    pub fn validate(&self) -> Result<(), ImagingError> {
        match *self {
            Window::Manual(w) if !w.is_usable() => Err(ImagingError::BadRequest(
                "a window needs a finite center and a width > 0".into(),
            )),
            Window::Manual(w)
                if !(w.lower().is_finite() && w.upper().is_finite() && w.lower() < w.upper()) =>
            {
                Err(ImagingError::BadRequest(
                    "the window's bounds (center ∓ width/2) must be finite and distinct".into(),
                ))
            }
            Window::Manual(_) if self.to_string().len() > MAX_LABEL => {
                Err(ImagingError::BadRequest(format!(
                    "the window `center,width` is longer than {MAX_LABEL} characters as \
                     written and cannot label a stored slice; give shorter numbers \
                     (e.g. 40,400)"
                )))
            }
            Window::Percentiles { low, high }
                if !(low.is_finite()
                    && high.is_finite()
                    && 0.0 <= low
                    && low < high
                    && high <= 100.0) =>
            {
                Err(ImagingError::BadRequest(
                    "percentiles must satisfy 0 ≤ low < high ≤ 100".into(),
                ))
            }
            _ => Ok(()),
        }
    }
}

impl fmt::Display for Window {
    /// The form [`Window::from_str`] reads back: `default`, `minmax`, a preset name,
    /// `C,W` or `pLOW-HIGH`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Window::Default => f.write_str("default"),
            Window::Preset(p) => f.write_str(p.as_str()),
            Window::Manual(w) => write!(f, "{},{}", w.center, w.width),
            Window::Percentiles { low, high } => write!(f, "p{low}-{high}"),
            Window::MinMax => f.write_str("minmax"),
        }
    }
}

impl FromStr for Window {
    type Err = ImagingError;

    /// `default`, `minmax`, a preset (`ct_abdomen`, `lung`, `bone`, `brain`,
    /// `soft_tissue`), `CENTER,WIDTH` (e.g. `40,400`) or `pLOW-HIGH` (e.g. `p0.5-99.5`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let number = |t: &str| {
            t.trim().parse::<f64>().map_err(|_| {
                ImagingError::BadRequest(format!(
                    "window `{}`: use a preset, CENTER,WIDTH or pLOW-HIGH",
                    s.chars().take(32).collect::<String>()
                ))
            })
        };
        let window = match s.to_ascii_lowercase().as_str() {
            "default" | "auto" => Window::Default,
            "minmax" | "min-max" => Window::MinMax,
            lower => {
                if let Some(rest) = lower.strip_prefix('p').filter(|r| r.contains('-')) {
                    let (low, high) = rest.split_once('-').unwrap_or((rest, ""));
                    Window::Percentiles {
                        low: number(low)?,
                        high: number(high)?,
                    }
                } else if let Some((c, w)) = s.split_once(',') {
                    Window::Manual(WindowLevel {
                        center: number(c)?,
                        width: number(w)?,
                    })
                } else {
                    Window::Preset(s.parse()?)
                }
            }
        };
        window.validate()?;
        Ok(window)
    }
}

/// A window made concrete for one volume.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResolvedWindow {
    /// What was asked for.
    pub requested: Window,
    /// `None`: samples shown as they are (8-bit RGB); else the bounds.
    pub bounds: Option<WindowLevel>,
    /// Inverted (MONOCHROME1).
    pub invert: bool,
}

impl ResolvedWindow {
    /// A stable text for ids and cache keys, e.g.
    /// `window=ct_abdomen;lower=-991;upper=362;invert=0`.
    pub fn describe(&self) -> String {
        let invert = u8::from(self.invert);
        match self.bounds {
            Some(w) => format!(
                "window={};lower={};upper={};invert={invert}",
                self.requested,
                w.lower(),
                w.upper()
            ),
            None => format!("window={};direct;invert={invert}", self.requested),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        assert_eq!(
            "lung".parse::<Window>().unwrap(),
            Window::Preset(Preset::Lung)
        );
        assert_eq!(
            "CT-Abdomen".parse::<Window>().unwrap(),
            Window::Preset(Preset::CtAbdomen)
        );
        assert_eq!(
            "40,400".parse::<Window>().unwrap(),
            Window::Manual(WindowLevel {
                center: 40.0,
                width: 400.0
            })
        );
        assert_eq!(
            "p0.5-99.5".parse::<Window>().unwrap(),
            Window::MR_PERCENTILES
        );
        assert_eq!("default".parse::<Window>().unwrap(), Window::Default);
        for bad in [
            "40,0",
            "40,-1",
            "p50-10",
            "p1-101",
            "nope",
            "1,x",
            "nan,3",
            // Unstorable: a 300-digit label, overflowing bounds, bounds that coincide.
            "1e308,1e308",
            "1.7e308,1.7e308",
            "1e20,1e-20",
            "0,1e-300",
        ] {
            assert!(bad.parse::<Window>().is_err(), "{bad}");
        }
        for w in [
            Window::MR_PERCENTILES,
            Window::Preset(Preset::Bone),
            "-600,1500".parse().unwrap(),
        ] {
            assert_eq!(w.to_string().parse::<Window>().unwrap(), w);
        }
    }
}
