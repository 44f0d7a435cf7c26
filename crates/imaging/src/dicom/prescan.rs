//! A structural pass over a DICOM file before `dicom-object` builds it: every declared
//! length must fit in the bytes that are left, sequences may nest only so deep and the
//! data set may hold only so many elements. `dicom-object` reserves a value's declared
//! length before reading it and builds nested sequences recursively, so without this a
//! few hundred crafted bytes could ask for gigabytes or overflow the stack.
//!
//! The pass uses `dicom-parser`'s token reader (iterative, no recursion) with the same
//! options `dicom-object` uses, on the same bytes, so both see the same structure.

use std::cell::Cell;
use std::io::Read;
use std::rc::Rc;

use dicom_core::header::HasLength;
use dicom_encoding::TransferSyntax;
use dicom_parser::dataset::{DataSetReader, DataToken};

use super::{FORMAT, corrupt};
use crate::ImagingError;

/// Deepest nesting accepted, counted in sequence and item levels (16 nested sequences).
pub(crate) const MAX_DEPTH: usize = 32;
/// Most tokens (element headers, values, items, delimiters) in one data set.
pub(crate) const MAX_TOKENS: usize = 2_000_000;

/// Where the meta group ends and which transfer syntax it names.
pub(crate) struct Meta {
    /// Offset of the data set (after the meta group), from the start of `bytes`.
    pub dataset_start: usize,
    /// The Transfer Syntax UID, trimmed of padding.
    pub transfer_syntax: String,
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Explicit VRs whose length is 32 bits (after two reserved bytes).
fn long_vr(vr: [u8; 2]) -> bool {
    matches!(
        &vr,
        b"OB"
            | b"OD"
            | b"OF"
            | b"OL"
            | b"OV"
            | b"OW"
            | b"SQ"
            | b"UC"
            | b"UN"
            | b"UR"
            | b"UT"
            | b"SV"
            | b"UV"
    ) || dicom_core::VR::from_binary(vr).is_none()
}

/// Walks the file meta group as `dicom-object` reads it: the group length element first,
/// then explicit-VR little-endian elements until that many bytes are read. `dicm` is the
/// offset of the `DICM` marker.
pub(crate) fn meta(bytes: &[u8], dicm: usize) -> Result<Meta, ImagingError> {
    let truncated = || corrupt("the file meta group is truncated");
    let mut at = dicm + 4;
    // (0002,0000) UL, length 4.
    let head = bytes.get(at..at + 12).ok_or_else(truncated)?;
    if le16(head, 0) != 0x0002 || le16(head, 2) != 0x0000 || le16(head, 6) != 4 {
        return Err(corrupt(
            "the file meta group does not start with its group length (0002,0000)",
        ));
    }
    let group_length = le32(head, 8) as usize;
    at += 12;
    let end = at
        .checked_add(group_length)
        .filter(|&e| e <= bytes.len())
        .ok_or_else(truncated)?;
    let mut transfer_syntax = None;
    while at < end {
        let head = bytes.get(at..at + 8).ok_or_else(truncated)?;
        let (group, element) = (le16(head, 0), le16(head, 2));
        let (len, header) = if long_vr([head[4], head[5]]) {
            let head = bytes.get(at..at + 12).ok_or_else(truncated)?;
            (le32(head, 8) as usize, 12)
        } else {
            (usize::from(le16(head, 6)), 8)
        };
        if len == 0xFFFF_FFFF {
            return Err(corrupt(
                "an element of the file meta group has undefined length",
            ));
        }
        let value_start = at + header;
        let value_end = value_start
            .checked_add(len)
            .filter(|&e| e <= bytes.len())
            .ok_or_else(truncated)?;
        if (group, element) == (0x0002, 0x0010) {
            let uid = String::from_utf8_lossy(&bytes[value_start..value_end]);
            transfer_syntax = Some(uid.trim_end_matches(['\0', ' ']).trim().to_string());
        }
        at = value_end;
    }
    let transfer_syntax = transfer_syntax
        .filter(|uid| !uid.is_empty())
        .ok_or_else(|| corrupt("the file meta group names no transfer syntax (0002,0010)"))?;
    Ok(Meta {
        dataset_start: at,
        transfer_syntax,
    })
}

/// A reader over a byte slice that counts what has been consumed.
struct Counting<'a> {
    bytes: &'a [u8],
    consumed: Rc<Cell<usize>>,
}

impl Read for Counting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let at = self.consumed.get();
        let n = buf.len().min(self.bytes.len() - at);
        buf[..n].copy_from_slice(&self.bytes[at..at + n]);
        self.consumed.set(at + n);
        Ok(n)
    }
}

/// Checks the data set `bytes` (after the meta group) in transfer syntax `ts`.
pub(crate) fn dataset(bytes: &[u8], ts: &TransferSyntax) -> Result<(), ImagingError> {
    let consumed = Rc::new(Cell::new(0usize));
    let source = Counting {
        bytes,
        consumed: consumed.clone(),
    };
    let reader = DataSetReader::new_with_ts(source, ts).map_err(|_| {
        ImagingError::Unsupported(
            "DICOM transfer syntax",
            format!("{} ({}): the data set cannot be read", ts.name(), ts.uid()),
        )
    })?;
    let mut depth = 0usize;
    let mut tokens = 0usize;
    let fits = |len: Option<u32>| match len {
        Some(len) => len as usize <= bytes.len() - consumed.get(),
        None => true,
    };
    for token in reader {
        // Never quote the parser's message: it can contain a value of the file.
        let token = token.map_err(|_| {
            corrupt(format!(
                "the data set does not parse (near byte {})",
                consumed.get()
            ))
        })?;
        tokens += 1;
        if tokens > MAX_TOKENS {
            return Err(ImagingError::TooLarge(format!(
                "the data set has more than {MAX_TOKENS} elements"
            )));
        }
        let (opens, len) = match &token {
            DataToken::SequenceStart { len, .. } | DataToken::ItemStart { len } => {
                (true, len.get())
            }
            DataToken::PixelSequenceStart => (true, None),
            DataToken::ElementHeader(header) => (false, header.length().get()),
            DataToken::ItemEnd | DataToken::SequenceEnd => {
                depth = depth.saturating_sub(1);
                (false, None)
            }
            _ => (false, None),
        };
        if !fits(len) {
            return Err(corrupt(format!(
                "an element near byte {} declares {} bytes, more than the file has left",
                consumed.get(),
                len.unwrap_or(0)
            )));
        }
        if opens {
            depth += 1;
            if depth > MAX_DEPTH {
                return Err(ImagingError::Corrupt(
                    FORMAT,
                    format!("sequences are nested more than {} deep", MAX_DEPTH / 2),
                ));
            }
        }
    }
    Ok(())
}
