//! DICOM Part 10 files in Explicit VR Little Endian, element by element.

use std::collections::BTreeMap;

/// The transfer syntax every file here is written in.
pub const EXPLICIT_VR_LITTLE_ENDIAN: &str = "1.2.840.10008.1.2.1";

/// One explicit-VR little-endian element, `value` written as given (no padding).
pub fn element(group: u16, elem: u16, vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&group.to_le_bytes());
    out.extend_from_slice(&elem.to_le_bytes());
    out.extend_from_slice(vr);
    if matches!(vr, b"OB" | b"OW" | b"SQ" | b"UN" | b"UT") {
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&(value.len() as u32).to_le_bytes());
    } else {
        out.extend_from_slice(&(value.len() as u16).to_le_bytes());
    }
    out.extend_from_slice(value);
    out
}

/// The 128-byte preamble, `DICM`, a file meta group naming Explicit VR Little Endian,
/// then `dataset` (elements in tag order, as [`element`] writes them).
pub fn file(dataset: &[u8]) -> Vec<u8> {
    let ts = format!("{EXPLICIT_VR_LITTLE_ENDIAN}\0");
    let meta = element(0x0002, 0x0010, b"UI", ts.as_bytes());
    let mut out = vec![0u8; 128];
    out.extend_from_slice(b"DICM");
    out.extend(element(
        0x0002,
        0x0000,
        b"UL",
        &(meta.len() as u32).to_le_bytes(),
    ));
    out.extend(meta);
    out.extend_from_slice(dataset);
    out
}

/// A data set built in any order and written in tag order, each value padded to an even
/// length as the standard requires (`UI` and binary values with a NUL, text with a space).
#[derive(Debug, Clone, Default)]
pub struct Dataset(BTreeMap<(u16, u16), ([u8; 2], Vec<u8>)>);

impl Dataset {
    /// An empty data set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets element `(group, elem)` to `value` with `vr`.
    pub fn put(&mut self, (group, elem): (u16, u16), vr: &[u8; 2], value: &[u8]) -> &mut Self {
        let mut value = value.to_vec();
        if value.len() % 2 == 1 {
            let text = !matches!(vr, b"UI" | b"OB" | b"OW" | b"UN");
            value.push(if text { b' ' } else { 0 });
        }
        self.0.insert((group, elem), (*vr, value));
        self
    }

    /// Sets a text element.
    pub fn text(&mut self, tag: (u16, u16), vr: &[u8; 2], value: &str) -> &mut Self {
        self.put(tag, vr, value.as_bytes())
    }

    /// Sets an unsigned short (`US`) element.
    pub fn us(&mut self, tag: (u16, u16), value: u16) -> &mut Self {
        self.put(tag, b"US", &value.to_le_bytes())
    }

    /// The elements in tag order.
    pub fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (&(group, elem), (vr, value)) in &self.0 {
            out.extend(element(group, elem, vr, value));
        }
        out
    }

    /// The whole file: [`file`] of [`Dataset::bytes`].
    pub fn file(&self) -> Vec<u8> {
        file(&self.bytes())
    }
}
