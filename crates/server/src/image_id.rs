//! Content ids of uploaded images: the sha256 of what the encoder sees.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// How uploads become encoder pixels today: decode to 8-bit RGB with
/// `imaging::decode_image` (16-bit min–max), no windowing, first slice. Part of every id,
/// so a future window or slice choice gives a new id instead of a stale cache hit.
pub const PREPROCESSING_V1: &str = "samscope-image/v1;rgb8;decode=imaging-minmax";

/// The 32 bytes of a sha256 written as exactly 64 lower-case hex characters.
pub fn parse_sha256_hex(text: &str) -> Option<[u8; 32]> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; 32];
    for (slot, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        *slot = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(out)
}

/// A 256-bit image id, written as 64 lower-case hex characters.
///
/// `sha256(descriptor ‖ 0x00 ‖ width u32 LE ‖ height u32 LE ‖ RGB bytes)`, where
/// `descriptor` is the preprocessing ([`PREPROCESSING_V1`]) and the bytes are row-major
/// `height × width × 3`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageId([u8; 32]);

impl ImageId {
    /// The id of decoded pixels under `preprocessing`.
    pub fn of_pixels(preprocessing: &str, width: u32, height: u32, rgb: &[u8]) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(preprocessing.as_bytes());
        hasher.update([0u8]);
        hasher.update(width.to_le_bytes());
        hasher.update(height.to_le_bytes());
        hasher.update(rgb);
        ImageId(hasher.finalize().into())
    }

    /// Parses an id from a path; anything but 64 lower-case hex characters is refused,
    /// so an id can never name a path outside the store.
    pub fn parse(text: &str) -> Result<Self, ApiError> {
        parse_sha256_hex(text).map(ImageId).ok_or(ApiError::BadId)
    }

    /// The first two hex characters, used to shard the store's folders.
    pub fn shard(&self) -> String {
        format!("{:02x}", self.0[0])
    }
}

impl fmt::Display for ImageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for ImageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ImageId({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_depends_on_every_input() {
        let id = ImageId::of_pixels(PREPROCESSING_V1, 2, 1, &[1, 2, 3, 4, 5, 6]);
        let text = id.to_string();
        assert_eq!(text.len(), 64);
        assert_eq!(ImageId::parse(&text).unwrap(), id);
        assert_eq!(id.shard(), text[..2]);
        let others = [
            ImageId::of_pixels("other", 2, 1, &[1, 2, 3, 4, 5, 6]),
            ImageId::of_pixels(PREPROCESSING_V1, 1, 2, &[1, 2, 3, 4, 5, 6]),
            ImageId::of_pixels(PREPROCESSING_V1, 2, 1, &[1, 2, 3, 4, 5, 7]),
        ];
        assert!(others.iter().all(|o| *o != id));
    }

    #[test]
    fn refuses_anything_but_lower_case_hex_of_the_right_length() {
        let good = "a".repeat(64);
        assert!(ImageId::parse(&good).is_ok());
        for bad in [
            String::new(),
            "a".repeat(63),
            "a".repeat(65),
            "A".repeat(64),
            format!("../{}", "a".repeat(61)),
            format!("{}g", "a".repeat(63)),
            format!("{}é", "a".repeat(62)),
        ] {
            assert!(
                matches!(ImageId::parse(&bad), Err(ApiError::BadId)),
                "{bad:?}"
            );
        }
    }
}
