//! Content ids of uploaded images: the sha256 of what the encoder sees.

use std::fmt;

use sha2::{Digest, Sha256};

/// A path segment that is not an id (anything but 64 lower-case hex characters); the API
/// answers it with 400 `bad_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadId;

/// How raster uploads (PNG, JPEG, TIFF, PNM) become encoder pixels: decode to 8-bit RGB
/// with `imaging::decode_image` (16-bit min–max). Part of every such id; slices of
/// volumes use [`slice_descriptor`], so a window, slice or axis choice gives a new id
/// instead of a stale cache hit.
pub const PREPROCESSING_V1: &str = "samscope-image/v1;rgb8;decode=imaging-minmax";

/// The preprocessing descriptor of a slice of a volume, e.g.
/// `samscope-image/v1;rgb8;volume=<id>;axis=axial;index=12;window=ct_abdomen;lower=-991;upper=362;invert=0`.
pub fn slice_descriptor(
    volume: &VolumeId,
    axis: imaging::Axis,
    index: usize,
    window: &imaging::ResolvedWindow,
) -> String {
    format!(
        "samscope-image/v1;rgb8;volume={volume};axis={axis};index={index};{}",
        window.describe()
    )
}

/// Whether `text` can be a stored descriptor: one of ours, short, printable ASCII.
pub fn is_descriptor(text: &str) -> bool {
    text.starts_with("samscope-image/v1;")
        && text.len() <= 512
        && text.bytes().all(|b| b.is_ascii_graphic())
}

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
    pub fn parse(text: &str) -> Result<Self, BadId> {
        parse_sha256_hex(text).map(ImageId).ok_or(BadId)
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

/// A 256-bit volume id, written as 64 lower-case hex characters:
/// `sha256("samscope-volume/v1" ‖ 0x00 ‖ encoded volume)`, where the encoding
/// (`imaging::Volume::encode`) holds the samples and the geometry and nothing else.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VolumeId(ImageId);

impl VolumeId {
    /// The id of an encoded volume.
    pub fn of_encoded(encoded: &[u8]) -> Self {
        let mut hasher = Self::hasher();
        hasher.update(encoded);
        Self::of_hasher(hasher)
    }

    /// A hasher that [`VolumeId::of_hasher`] turns into the id of the bytes fed to it
    /// (for encodings written a block at a time).
    pub fn hasher() -> Sha256 {
        let mut hasher = Sha256::new();
        hasher.update(b"samscope-volume/v1");
        hasher.update([0u8]);
        hasher
    }

    /// The id of the bytes fed to a [`VolumeId::hasher`].
    pub fn of_hasher(hasher: Sha256) -> Self {
        VolumeId(ImageId(hasher.finalize().into()))
    }

    /// Parses an id from a path (64 lower-case hex characters, else `bad_id`).
    pub fn parse(text: &str) -> Result<Self, BadId> {
        ImageId::parse(text).map(VolumeId)
    }

    /// The first two hex characters, used to shard the store's folders.
    pub fn shard(&self) -> String {
        self.0.shard()
    }
}

impl fmt::Display for VolumeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for VolumeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VolumeId({self})")
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
            assert!(ImageId::parse(&bad) == Err(BadId), "{bad:?}");
        }
    }
}
