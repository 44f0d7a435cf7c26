//! A structural walk over a JPEG stream to its end-of-image marker. The decoder fills
//! what a truncated file lacks with grey and reports nothing, so a half-sent JPEG would
//! otherwise be accepted as an image; this refuses it before decoding.

use crate::ImagingError;

fn truncated(reason: &str) -> ImagingError {
    ImagingError::Corrupt(
        "JPEG",
        format!("the file is truncated or damaged: {reason}"),
    )
}

/// Checks that `bytes` hold a whole JPEG: SOI, marker segments (each within the file),
/// entropy-coded scans, and an EOI marker. Bytes after EOI are allowed.
pub(crate) fn check_complete(bytes: &[u8]) -> Result<(), ImagingError> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return Err(truncated("no start-of-image marker"));
    }
    let mut at = 2;
    // Whether entropy-coded data follow the current position (after a SOS header).
    let mut in_scan = false;
    loop {
        if in_scan {
            // Entropy-coded data: 0xFF is followed by 0x00 (stuffing), a restart marker,
            // fill bytes, or the next marker.
            let rel = bytes[at..]
                .iter()
                .position(|&b| b == 0xFF)
                .ok_or_else(|| truncated("a scan has no end"))?;
            at += rel;
            let next = *bytes
                .get(at + 1)
                .ok_or_else(|| truncated("a scan has no end"))?;
            match next {
                0x00 | 0xD0..=0xD7 | 0xFF => {
                    at += if next == 0xFF { 1 } else { 2 };
                    continue;
                }
                _ => in_scan = false,
            }
        }
        // A marker: 0xFF (fill 0xFF allowed), then its code.
        if bytes.get(at) != Some(&0xFF) {
            return Err(truncated("a marker is missing"));
        }
        while bytes.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        let code = *bytes
            .get(at + 1)
            .ok_or_else(|| truncated("no end-of-image marker"))?;
        at += 2;
        match code {
            0xD9 => return Ok(()),
            // Markers without a length.
            0x01 | 0xD0..=0xD7 => continue,
            _ => {}
        }
        let len = match bytes.get(at..at + 2) {
            Some(l) => usize::from(u16::from_be_bytes([l[0], l[1]])),
            None => return Err(truncated("a segment header is cut off")),
        };
        if len < 2 || at + len > bytes.len() {
            return Err(truncated("a segment is cut off"));
        }
        at += len;
        in_scan = code == 0xDA;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, ImageFormat, Rgb};
    use std::io::Cursor;

    pub(crate) fn jpeg() -> Vec<u8> {
        let img = ImageBuffer::from_fn(64, 48, |x, y| Rgb([x as u8 * 4, y as u8 * 5, 90]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Jpeg).unwrap();
        out.into_inner()
    }

    #[test]
    fn whole_jpegs_pass_and_every_truncation_fails() {
        let whole = jpeg();
        check_complete(&whole).unwrap();
        let mut trailing = whole.clone();
        trailing.extend_from_slice(b"trailing bytes after EOI");
        check_complete(&trailing).unwrap();
        for cut in (0..whole.len() - 1).step_by(7) {
            assert!(check_complete(&whole[..cut]).is_err(), "cut at {cut}");
        }
        assert!(check_complete(&whole[..whole.len() - 1]).is_err());
        // Through the public decoder: 422-class error, not a grey-filled image.
        let half = &whole[..whole.len() / 2];
        assert!(matches!(
            crate::decode_image(half, &crate::Limits::default()),
            Err(ImagingError::Corrupt(..))
        ));
    }
}
