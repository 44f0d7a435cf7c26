//! The deck file (`samscope-deck/v1`): one JSON document holding a deck and every image,
//! mask and volume its cases refer to (base64), so a deck moves between servers. Import
//! checks each blob against its content id before storing it.

use std::collections::BTreeMap;

use api::{Case, Deck, DeckInput};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

use crate::content::{ContentError, ContentStore, ImageFile};
use crate::deck::{check_cases, check_deck, is_content_id};
use crate::error::{ContentKind, TeachingError};

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

fn damaged(what: String) -> TeachingError {
    TeachingError::Storage(format!("exporting a deck: {what}"))
}

/// A content store failure while exporting.
fn export_error(e: ContentError) -> TeachingError {
    match e {
        ContentError::Rejected(what) | ContentError::Io(what) => damaged(what),
    }
}

/// The deck file of `deck`, with everything its cases refer to.
pub(crate) fn export(content: &dyn ContentStore, deck: &Deck) -> Result<Vec<u8>, TeachingError> {
    let refs = check_cases(&deck.cases).map_err(|e| damaged(format!("stored deck: {e}")))?;
    let mut file = DeckFile {
        format: FORMAT.into(),
        title: deck.title.clone(),
        cases: deck.cases.clone(),
        images: BTreeMap::new(),
        masks: BTreeMap::new(),
        volumes: BTreeMap::new(),
    };
    let missing = |kind, id: &String| TeachingError::Missing {
        kind,
        id: id.clone(),
    };
    for id in refs.images {
        let image = content
            .image_file(&id)
            .map_err(export_error)?
            .ok_or_else(|| missing(ContentKind::Image, &id))?;
        file.images.insert(
            id,
            ImageEntry {
                descriptor: image.descriptor,
                png: BASE64.encode(image.png),
            },
        );
    }
    for id in refs.masks {
        let bytes = content
            .mask_file(&id)
            .map_err(export_error)?
            .ok_or_else(|| missing(ContentKind::Mask, &id))?;
        file.masks.insert(id, BASE64.encode(bytes));
    }
    for id in refs.volumes {
        let payload = content
            .volume_file(&id)
            .map_err(export_error)?
            .ok_or_else(|| missing(ContentKind::Volume, &id))?;
        file.volumes.insert(id, BASE64.encode(payload));
    }
    serde_json::to_vec(&file).map_err(|e| damaged(e.to_string()))
}

fn invalid(what: impl Into<String>) -> TeachingError {
    TeachingError::BadDeckFile(what.into())
}

fn base64(text: &str, what: &str) -> Result<Vec<u8>, TeachingError> {
    BASE64
        .decode(text)
        .map_err(|_| invalid(format!("{what} is not valid base64")))
}

/// A content store failure while importing: a rejected blob is the file's fault, an I/O
/// failure the machine's.
fn import_error(e: ContentError) -> TeachingError {
    match e {
        ContentError::Rejected(problem) => invalid(problem),
        ContentError::Io(problem) => TeachingError::Storage(format!("importing a deck: {problem}")),
    }
}

/// Checks a deck file, stores every blob it carries (each verified against its id by the
/// store), and returns the deck to create. Cases may only refer to blobs the file carries
/// or the store already has.
pub(crate) fn import(content: &dyn ContentStore, bytes: &[u8]) -> Result<DeckInput, TeachingError> {
    let file: DeckFile = serde_json::from_slice(bytes)
        .map_err(|e| invalid(format!("not a samscope deck file ({e})")))?;
    if file.format != FORMAT {
        return Err(invalid(format!(
            "format `{}` is not {FORMAT}",
            crate::echo(&file.format)
        )));
    }
    let input = DeckInput {
        title: file.title,
        cases: file.cases,
    };
    let refs = check_deck(&input).map_err(invalid)?;
    for (id, entry) in &file.images {
        if !is_content_id(id) {
            return Err(invalid("an image key is not an id"));
        }
        let image = ImageFile {
            png: base64(&entry.png, &format!("image {id}"))?,
            descriptor: entry.descriptor.clone(),
        };
        content.import_image(id, &image).map_err(import_error)?;
    }
    for (id, text) in &file.masks {
        if !is_content_id(id) {
            return Err(invalid("a mask key is not an id"));
        }
        let bytes = base64(text, &format!("mask {id}"))?;
        content.import_mask(id, &bytes).map_err(import_error)?;
    }
    for (id, text) in &file.volumes {
        if !is_content_id(id) {
            return Err(invalid("a volume key is not an id"));
        }
        let payload = base64(text, &format!("volume {id}"))?;
        content.import_volume(id, &payload).map_err(import_error)?;
    }
    crate::check_stored(content, &refs)?;
    Ok(input)
}
