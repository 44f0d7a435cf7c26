//! The deck file (`samscope-deck/v1`): one JSON document holding a deck and every image,
//! mask and volume its cases refer to (base64), so a deck moves between servers. Import
//! checks each blob against its content id before storing it.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

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

/// Writes the deck file of `deck`, with everything its cases refer to, to `out` a blob at
/// a time: the bytes are exactly `serde_json::to_vec` of the whole [`DeckFile`], but at
/// most one image, mask or volume (and none of the base64 text) is held in memory.
///
/// A blob the store lost fails with [`TeachingError::Missing`] before anything is written
/// (or, if it vanishes while the file is written, before its entry); a failing `out` with
/// [`TeachingError::Storage`].
pub(crate) fn write_export(
    content: &dyn ContentStore,
    deck: &Deck,
    out: &mut dyn Write,
) -> Result<(), TeachingError> {
    let refs = check_cases(&deck.cases).map_err(|e| damaged(format!("stored deck: {e}")))?;
    let missing = |kind, id: &String| TeachingError::Missing {
        kind,
        id: id.clone(),
    };
    // Everything must be there before the first byte goes out.
    let lost = (refs.images.iter().find(|id| !content.has_image(id)))
        .map(|id| missing(ContentKind::Image, id))
        .or_else(|| {
            (refs.masks.iter().find(|id| !content.has_mask(id)))
                .map(|id| missing(ContentKind::Mask, id))
        })
        .or_else(|| {
            (refs.volumes.iter().find(|id| !content.has_volume(id)))
                .map(|id| missing(ContentKind::Volume, id))
        });
    if let Some(lost) = lost {
        return Err(lost);
    }
    let io = |e: std::io::Error| damaged(format!("writing: {e}"));
    let json = |out: &mut dyn Write, value: &dyn erased::Json| value.write(out).map_err(io);
    out.write_all(b"{\"format\":").map_err(io)?;
    json(out, &FORMAT)?;
    out.write_all(b",\"title\":").map_err(io)?;
    json(out, &deck.title.as_str())?;
    out.write_all(b",\"cases\":").map_err(io)?;
    json(out, &deck.cases)?;
    out.write_all(b",\"images\":{").map_err(io)?;
    for (n, id) in sorted(refs.images).iter().enumerate() {
        let image = content
            .image_file(id)
            .map_err(export_error)?
            .ok_or_else(|| missing(ContentKind::Image, id))?;
        out.write_all(if n == 0 { b"" } else { b"," }).map_err(io)?;
        json(out, &id.as_str())?;
        out.write_all(b":{\"descriptor\":").map_err(io)?;
        json(out, &image.descriptor.as_str())?;
        out.write_all(b",\"png\":").map_err(io)?;
        write_base64(out, &image.png).map_err(io)?;
        out.write_all(b"}").map_err(io)?;
    }
    let blobs: [(&[u8], ContentKind, Vec<String>); 2] = [
        (b"},\"masks\":{", ContentKind::Mask, refs.masks),
        (b"},\"volumes\":{", ContentKind::Volume, refs.volumes),
    ];
    for (key, kind, ids) in blobs {
        out.write_all(key).map_err(io)?;
        for (n, id) in sorted(ids).iter().enumerate() {
            let bytes = match kind {
                ContentKind::Mask => content.mask_file(id),
                _ => content.volume_file(id),
            }
            .map_err(export_error)?
            .ok_or_else(|| missing(kind, id))?;
            out.write_all(if n == 0 { b"" } else { b"," }).map_err(io)?;
            json(out, &id.as_str())?;
            out.write_all(b":").map_err(io)?;
            write_base64(out, &bytes).map_err(io)?;
        }
    }
    out.write_all(b"}}").map_err(io)?;
    out.flush().map_err(io)
}

/// Serialising through `&dyn` (serde's `Serialize` is not object safe).
mod erased {
    use std::io::Write;

    pub(super) trait Json {
        fn write(&self, out: &mut dyn Write) -> std::io::Result<()>;
    }

    impl<T: serde::Serialize> Json for T {
        fn write(&self, out: &mut dyn Write) -> std::io::Result<()> {
            serde_json::to_writer(out, self).map_err(std::io::Error::other)
        }
    }
}

/// Ids in the order a `BTreeMap` keeps them, each once.
fn sorted(ids: Vec<String>) -> BTreeSet<String> {
    ids.into_iter().collect()
}

/// `bytes` as a JSON string of their base64 (the alphabet needs no escaping), encoded in
/// blocks of a multiple of 3 bytes, so only the last block is padded: the same text as
/// encoding them whole.
fn write_base64(out: &mut dyn Write, bytes: &[u8]) -> std::io::Result<()> {
    const BLOCK: usize = 3 * 4096;
    let mut text = [0u8; BLOCK / 3 * 4];
    out.write_all(b"\"")?;
    for block in bytes.chunks(BLOCK) {
        let n = BASE64
            .encode_slice(block, &mut text)
            .map_err(std::io::Error::other)?;
        out.write_all(&text[..n])?;
    }
    out.write_all(b"\"")
}

/// The deck file of `deck` in memory (see [`write_export`]).
pub(crate) fn export(content: &dyn ContentStore, deck: &Deck) -> Result<Vec<u8>, TeachingError> {
    let mut out = Vec::new();
    write_export(content, deck, &mut out)?;
    Ok(out)
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
    if let Some(problem) = crate::deck::window_problem(&input.cases) {
        return Err(invalid(problem));
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Blobs in memory, by id.
    #[derive(Default)]
    struct Blobs {
        images: HashMap<String, ImageFile>,
        masks: HashMap<String, Vec<u8>>,
        volumes: HashMap<String, Vec<u8>>,
    }

    impl ContentStore for Blobs {
        fn has_image(&self, id: &str) -> bool {
            self.images.contains_key(id)
        }
        fn has_mask(&self, id: &str) -> bool {
            self.masks.contains_key(id)
        }
        fn has_volume(&self, id: &str) -> bool {
            self.volumes.contains_key(id)
        }
        fn image_file(&self, id: &str) -> Result<Option<ImageFile>, ContentError> {
            Ok(self.images.get(id).map(|i| ImageFile {
                png: i.png.clone(),
                descriptor: i.descriptor.clone(),
            }))
        }
        fn mask_file(&self, id: &str) -> Result<Option<Vec<u8>>, ContentError> {
            Ok(self.masks.get(id).cloned())
        }
        fn volume_file(&self, id: &str) -> Result<Option<Vec<u8>>, ContentError> {
            Ok(self.volumes.get(id).cloned())
        }
        fn import_image(&self, _: &str, _: &ImageFile) -> Result<(), ContentError> {
            Ok(())
        }
        fn import_mask(&self, _: &str, _: &[u8]) -> Result<(), ContentError> {
            Ok(())
        }
        fn import_volume(&self, _: &str, _: &[u8]) -> Result<(), ContentError> {
            Ok(())
        }
    }

    fn id(n: u8) -> String {
        format!("{n:02x}").repeat(32)
    }

    #[test]
    fn streamed_export_is_byte_identical_to_the_whole_document() {
        let mut blobs = Blobs::default();
        // Lengths 0..=3 mod 3 exercise every base64 padding.
        for n in [3u8, 1, 2] {
            blobs.images.insert(
                id(n),
                ImageFile {
                    png: (0..(1000 + u32::from(n))).map(|i| (i * 7) as u8).collect(),
                    descriptor: format!("samscope-image/v1;rgb8;\"quoted\" {n}"),
                },
            );
            blobs.masks.insert(id(n + 10), vec![n; 5 + n as usize]);
        }
        // Longer than two base64 blocks, not a multiple of 3.
        blobs.volumes.insert(
            id(30),
            (0..3 * 4096 * 2 + 5).map(|i| (i % 251) as u8).collect(),
        );
        let case = |image: u8, gt: Option<u8>, volume: bool| Case {
            title: "Ünïcode \"title\" </ \\".into(),
            image: id(image),
            volume: volume.then(|| api::VolumeView {
                id: id(30),
                axis: "axial".into(),
                index: 2,
                window: api::WindowSpec::Manual {
                    center: 40.0,
                    width: 400.0,
                },
            }),
            model: None,
            gt: gt.map(id),
            label: gt.map(u16::from),
            steps: Vec::new(),
            notes: "notes".into(),
        };
        let deck = Deck {
            id: "d".repeat(32),
            title: "A <deck> \\ with \"quotes\"".into(),
            cases: vec![
                case(3, Some(13), false),
                case(1, None, true),
                case(2, Some(11), false),
                case(3, Some(13), false),
            ],
            created_at: 1,
            updated_at: 2,
        };
        let whole = DeckFile {
            format: FORMAT.into(),
            title: deck.title.clone(),
            cases: deck.cases.clone(),
            images: blobs
                .images
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        ImageEntry {
                            descriptor: v.descriptor.clone(),
                            png: BASE64.encode(&v.png),
                        },
                    )
                })
                .collect(),
            masks: [1u8, 3]
                .map(|n| (id(n + 10), BASE64.encode(&blobs.masks[&id(n + 10)])))
                .into_iter()
                .collect(),
            volumes: [(id(30), BASE64.encode(&blobs.volumes[&id(30)]))]
                .into_iter()
                .collect(),
        };
        let streamed = export(&blobs, &deck).unwrap();
        assert_eq!(
            String::from_utf8(streamed.clone()).unwrap(),
            String::from_utf8(serde_json::to_vec(&whole).unwrap()).unwrap()
        );
        // And it reads back.
        let input = import(&blobs, &streamed).unwrap();
        assert_eq!(input.cases, deck.cases);

        // A file whose case carries a window no slice could be stored with is refused.
        let mut unstorable = deck.clone();
        for window in [
            api::WindowSpec::Manual {
                center: 1e308,
                width: 1e308,
            },
            api::WindowSpec::Text("1e20,1e-20".into()),
            api::WindowSpec::Text("40,x".into()),
        ] {
            unstorable.cases[1].volume.as_mut().unwrap().window = window;
            let file = export(&blobs, &unstorable).unwrap();
            let err = import(&blobs, &file).unwrap_err();
            assert!(
                matches!(&err, TeachingError::BadDeckFile(m) if m.contains("case 1: `volume.window`")),
                "{err:?}"
            );
        }

        // A deck without content still makes a valid file.
        let empty = Deck {
            cases: Vec::new(),
            ..deck.clone()
        };
        let file: serde_json::Value =
            serde_json::from_slice(&export(&blobs, &empty).unwrap()).unwrap();
        assert_eq!(file["images"], serde_json::json!({}));

        // A lost blob fails before its entry is written.
        blobs.volumes.clear();
        assert!(matches!(
            export(&blobs, &deck),
            Err(TeachingError::Missing { .. })
        ));
    }
}
