//! Uploads: `POST /api/v1/images` and `POST /api/v1/masks`.

use serde::{Deserialize, Serialize};

use crate::volumes::UploadedVolume;

/// Whether `id` has the form of a server content id (images, masks, volumes):
/// exactly 64 lower-case hex characters.
pub fn is_id(id: &str) -> bool {
    id.len() == 64 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A stored image or mask: its content id and size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Uploaded {
    /// Content id (64 lower-case hex).
    pub id: String,
    /// Width, pixels.
    pub width: u32,
    /// Height, pixels.
    pub height: u32,
}

/// What `POST /api/v1/images` answers: a volume (`"kind": "volume"`) or a raster image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum UploadReply {
    /// A volume format (a single-slice one also carries its slice as an image).
    Volume(Box<UploadedVolume>),
    /// A raster image (PNG, JPEG, TIFF, PNM).
    Image(Uploaded),
}
