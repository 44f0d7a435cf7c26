//! The deck file (`samscope-deck/v1`): one JSON document holding a deck and every image,
//! mask and volume its cases refer to (base64), so a deck moves between servers. Import
//! checks each blob against its content id before storing it.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use sam::RgbImage;
use serde::{Deserialize, Serialize};

use super::deck::{Case, Deck, DeckInput, check_cases};
use crate::error::ApiError;
use crate::image_id::{ImageId, VolumeId};
use crate::store::{Store, mask_id};

/// The `format` of deck files this build writes and reads.
pub const FORMAT: &str = "samscope-deck/v1";

/// An image in a deck file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImageEntry {
    /// The preprocessing descriptor the id was computed with.
    descriptor: String,
    /// The stored 8-bit RGB PNG, base64.
    png: String,
}

/// A deck file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeckFile {
    format: String,
    title: String,
    cases: Vec<Case>,
    images: BTreeMap<String, ImageEntry>,
    masks: BTreeMap<String, String>,
    volumes: BTreeMap<String, String>,
}

fn damaged(what: String) -> ApiError {
    ApiError::internal(format!("exporting a deck: {what}"))
}

/// The deck file of `deck`, with everything its cases refer to.
pub fn export(store: &Store, limits: &imaging::Limits, deck: &Deck) -> Result<Vec<u8>, ApiError> {
    let refs = check_cases(&deck.cases).map_err(|e| damaged(format!("stored deck: {e}")))?;
    let mut file = DeckFile {
        format: FORMAT.into(),
        title: deck.title.clone(),
        cases: deck.cases.clone(),
        images: BTreeMap::new(),
        masks: BTreeMap::new(),
        volumes: BTreeMap::new(),
    };
    for id in refs.images {
        let (png, descriptor) = store
            .image_with_descriptor(id, limits)
            .map_err(|e| damaged(e.to_string()))?
            .ok_or(ApiError::ImageNotFound(id))?;
        file.images.insert(
            id.to_string(),
            ImageEntry {
                descriptor,
                png: BASE64.encode(png),
            },
        );
    }
    for id in refs.masks {
        let bytes = std::fs::read(store.mask_path(&id)).map_err(|_| ApiError::MaskNotFound(id))?;
        if mask_id(&bytes) != id {
            return Err(damaged(format!("stored mask {id} does not match its id")));
        }
        file.masks.insert(id.to_string(), BASE64.encode(bytes));
    }
    for id in refs.volumes {
        let payload = store
            .volume_payload(&id)
            .map_err(|e| damaged(e.to_string()))?
            .ok_or(ApiError::VolumeNotFound(id))?;
        file.volumes.insert(id.to_string(), BASE64.encode(payload));
    }
    serde_json::to_vec(&file).map_err(|e| damaged(e.to_string()))
}

fn invalid(what: impl Into<String>) -> ApiError {
    ApiError::Invalid(format!("deck file: {}", what.into()))
}

fn base64(text: &str, what: &str) -> Result<Vec<u8>, ApiError> {
    BASE64
        .decode(text)
        .map_err(|_| invalid(format!("{what} is not valid base64")))
}

/// Checks a deck file, stores every blob it carries (each verified against its id), and
/// returns the deck to create. Cases may only refer to blobs the file carries or the
/// store already has.
pub fn import(
    store: &Store,
    limits: &imaging::Limits,
    bytes: &[u8],
) -> Result<DeckInput, ApiError> {
    let file: DeckFile = serde_json::from_slice(bytes)
        .map_err(|e| invalid(format!("not a samscope deck file ({e})")))?;
    if file.format != FORMAT {
        return Err(invalid(format!(
            "format `{}` is not {FORMAT}",
            crate::error::echo(&file.format)
        )));
    }
    let input = DeckInput {
        title: file.title,
        cases: file.cases,
    };
    let refs = input.check().map_err(invalid)?;
    let store_error = |e: std::io::Error| ApiError::internal(format!("importing a deck: {e}"));
    for (key, entry) in &file.images {
        let id = ImageId::parse(key).map_err(|_| invalid("an image key is not an id"))?;
        let png = base64(&entry.png, &format!("image {id}"))?;
        let decoded =
            imaging::decode_image(&png, limits).map_err(|e| invalid(format!("image {id}: {e}")))?;
        if !crate::image_id::is_descriptor(&entry.descriptor)
            || ImageId::of_pixels(
                &entry.descriptor,
                decoded.width,
                decoded.height,
                &decoded.rgb,
            ) != id
        {
            return Err(invalid(format!("image {id} does not match its id")));
        }
        let image = RgbImage::new(decoded.width as usize, decoded.height as usize, decoded.rgb)
            .ok_or_else(|| invalid(format!("image {id}: pixel buffer size")))?;
        store
            .put_image_with_descriptor(id, &entry.descriptor, &image)
            .map_err(store_error)?;
    }
    for (key, text) in &file.masks {
        let id = ImageId::parse(key).map_err(|_| invalid("a mask key is not an id"))?;
        let bytes = base64(text, &format!("mask {id}"))?;
        if mask_id(&bytes) != id {
            return Err(invalid(format!("mask {id} does not match its id")));
        }
        imaging::decode_image(&bytes, limits).map_err(|e| invalid(format!("mask {id}: {e}")))?;
        store.put_mask(&bytes).map_err(store_error)?;
    }
    for (key, text) in &file.volumes {
        let id = VolumeId::parse(key).map_err(|_| invalid("a volume key is not an id"))?;
        let payload = base64(text, &format!("volume {id}"))?;
        if VolumeId::of_encoded(&payload) != id {
            return Err(invalid(format!("volume {id} does not match its id")));
        }
        imaging::Volume::decode(&payload, limits)
            .map_err(|e| invalid(format!("volume {id}: {e}")))?;
        store.put_volume(&id, &payload).map_err(store_error)?;
    }
    super::check_stored(store, &refs)?;
    Ok(input)
}
