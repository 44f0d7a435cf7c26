//! Decoder weights as they travel to the browser: the export reordered as byte planes
//! (`sam::export::to_byte_planes`, which compress ~7 % better than the file itself) in the
//! best content coding the client accepts (brotli, gzip, or none), compressed once, on
//! first request.

use std::io::Write;
use std::sync::OnceLock;

use axum::body::Bytes;
use axum::http::{HeaderMap, header};

/// A content coding of a response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    /// `br`.
    Brotli,
    /// `gzip`.
    Gzip,
    /// No coding.
    Identity,
}

impl Coding {
    /// The best coding `headers`' `Accept-Encoding` allows: brotli, then gzip, else none.
    /// A coding is accepted when listed with a non-zero q-value, or covered by `*`.
    pub fn negotiate(headers: &HeaderMap) -> Coding {
        let accepted: Vec<(String, bool)> = headers
            .get_all(header::ACCEPT_ENCODING)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|entry| {
                let mut parts = entry.split(';');
                let name = parts.next()?.trim().to_ascii_lowercase();
                let refused = parts.any(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.trim().parse::<f32>().ok())
                        .is_some_and(|q| q <= 0.0)
                });
                (!name.is_empty()).then_some((name, !refused))
            })
            .collect();
        let allows = |name: &str| {
            accepted
                .iter()
                .find(|(n, _)| n == name)
                .or_else(|| accepted.iter().find(|(n, _)| n == "*"))
                .is_some_and(|(_, ok)| *ok)
        };
        if allows("br") {
            Coding::Brotli
        } else if allows("gzip") {
            Coding::Gzip
        } else {
            Coding::Identity
        }
    }

    /// The `Content-Encoding` value (none for identity).
    pub fn content_encoding(self) -> Option<&'static str> {
        match self {
            Coding::Brotli => Some("br"),
            Coding::Gzip => Some("gzip"),
            Coding::Identity => None,
        }
    }

    /// Name in entity tags: `br`, `gzip`, `identity`.
    pub fn as_str(self) -> &'static str {
        self.content_encoding().unwrap_or("identity")
    }
}

/// An exported decoder as byte planes, in each coding (made when first asked for).
#[derive(Debug)]
pub struct PlanesFile {
    file: Bytes,
    width: usize,
    identity: OnceLock<Bytes>,
    brotli: OnceLock<Bytes>,
    gzip: OnceLock<Bytes>,
}

/// Brotli quality for the weights: 5 compresses the planes as well as 11 (within 0.1 %) in
/// a fraction of a second.
const BROTLI_QUALITY: u32 = 5;
/// Brotli window (log2 bytes).
const BROTLI_WINDOW: u32 = 22;

impl PlanesFile {
    /// `file` (an export) in planes of `width` bytes (its weights' size).
    pub fn new(file: Bytes, width: usize) -> Self {
        Self {
            file,
            width,
            identity: OnceLock::new(),
            brotli: OnceLock::new(),
            gzip: OnceLock::new(),
        }
    }

    /// The planes in `coding`. Blocking: the first call per coding reorders and compresses.
    pub fn encoded(&self, coding: Coding) -> Bytes {
        let planes = || {
            self.identity
                .get_or_init(|| Bytes::from(sam::export::to_byte_planes(&self.file, self.width)))
                .clone()
        };
        match coding {
            Coding::Identity => planes(),
            Coding::Brotli => self
                .brotli
                .get_or_init(|| Bytes::from(brotli_compress(&planes())))
                .clone(),
            Coding::Gzip => self
                .gzip
                .get_or_init(|| Bytes::from(gzip_compress(&planes())))
                .clone(),
        }
    }
}

fn brotli_compress(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    {
        let mut writer =
            brotli::CompressorWriter::new(&mut out, 1 << 16, BROTLI_QUALITY, BROTLI_WINDOW);
        // Writing into a Vec cannot fail.
        let _ = writer.write_all(bytes);
    }
    out
}

fn gzip_compress(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len()),
        flate2::Compression::default(),
    );
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use std::io::Read;

    fn accepting(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(value).unwrap(),
        );
        headers
    }

    #[test]
    fn negotiation_prefers_brotli_then_gzip_and_honours_q_zero() {
        assert_eq!(Coding::negotiate(&HeaderMap::new()), Coding::Identity);
        assert_eq!(
            Coding::negotiate(&accepting("gzip, deflate, br, zstd")),
            Coding::Brotli
        );
        assert_eq!(Coding::negotiate(&accepting("gzip, deflate")), Coding::Gzip);
        assert_eq!(Coding::negotiate(&accepting("br;q=0, GZIP")), Coding::Gzip);
        assert_eq!(
            Coding::negotiate(&accepting("br;q=0.0,gzip;q=0")),
            Coding::Identity
        );
        assert_eq!(Coding::negotiate(&accepting("*")), Coding::Brotli);
        assert_eq!(Coding::negotiate(&accepting("*;q=0, gzip")), Coding::Gzip);
        assert_eq!(Coding::negotiate(&accepting("identity")), Coding::Identity);
    }

    #[test]
    fn every_coding_decodes_to_the_planes_of_the_file() {
        let file: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
        let planes = PlanesFile::new(Bytes::from(file.clone()), 2);
        let identity = planes.encoded(Coding::Identity);
        assert_eq!(sam::export::from_byte_planes(&identity, 2), file);

        let mut unbrotli = Vec::new();
        brotli::Decompressor::new(&planes.encoded(Coding::Brotli)[..], 4096)
            .read_to_end(&mut unbrotli)
            .unwrap();
        assert_eq!(unbrotli, identity);

        let mut ungzip = Vec::new();
        flate2::read::GzDecoder::new(&planes.encoded(Coding::Gzip)[..])
            .read_to_end(&mut ungzip)
            .unwrap();
        assert_eq!(ungzip, identity);
    }
}
