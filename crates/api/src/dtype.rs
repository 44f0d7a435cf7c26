//! The one precision names cross the wire in: embeddings (`?dtype=`), decoder weights
//! (`?dtype=`, the model list's `dtype`), the viewer's `?wire=` and its worker.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Precision of floats on the wire: `"f16"` (the default) or `"f32"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WireDtype {
    /// IEEE half precision: half the download; masks within IoU 0.999 of f32.
    #[default]
    F16,
    /// 32-bit floats: bit-exact with the checkpoint, the CLI's numbers exactly.
    F32,
}

impl WireDtype {
    /// `"f16"` or `"f32"`, as in URLs and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            WireDtype::F16 => "f16",
            WireDtype::F32 => "f32",
        }
    }

    /// Bytes per value: 2 or 4 (the byte-plane width of a decoder's download form).
    pub fn size_bytes(self) -> usize {
        match self {
            WireDtype::F16 => 2,
            WireDtype::F32 => 4,
        }
    }

    /// Parses `f16` / `f32`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "f16" => Some(WireDtype::F16),
            "f32" => Some(WireDtype::F32),
            _ => None,
        }
    }
}

impl fmt::Display for WireDtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for WireDtype {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or_else(|| format!("unknown dtype `{s}`; use f32 or f16"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_as_text_and_json() {
        for dtype in [WireDtype::F16, WireDtype::F32] {
            assert_eq!(WireDtype::parse(dtype.as_str()), Some(dtype));
            assert_eq!(dtype.as_str().parse::<WireDtype>(), Ok(dtype));
            let json = serde_json::to_string(&dtype).unwrap();
            assert_eq!(json, format!("\"{dtype}\""));
        }
        assert_eq!(WireDtype::parse("f64"), None);
        assert_eq!(
            "bf16".parse::<WireDtype>(),
            Err("unknown dtype `bf16`; use f32 or f16".to_string())
        );
        assert_eq!(WireDtype::default(), WireDtype::F16);
        assert_eq!(
            (WireDtype::F16.size_bytes(), WireDtype::F32.size_bytes()),
            (2, 4)
        );
    }
}
