//! NIfTI-1 and NIfTI-2 single files (`.nii`, and gzipped `.nii.gz`), either byte order.
//!
//! Only the numbers that place and scale voxels are read (dimensions, data type, voxel
//! offset, `pixdim`, `scl_slope`/`scl_inter`, qform/sform); the text fields (`descrip`,
//! `aux_file`, `intent_name`) and extensions are skipped. For 4-D and higher files the
//! first 3-D volume is read. The sform is preferred to the qform (as nibabel does); with
//! neither the voxel grid is taken as it is stored, not oriented.

use crate::volume::{Geometry, Rescale, Volume, Voxels, unit};
use crate::{ImagingError, Limits, gzip, sniff};

const FORMAT: &str = "NIfTI";

fn corrupt(reason: impl Into<String>) -> ImagingError {
    ImagingError::Corrupt(FORMAT, reason.into())
}

/// Header fields in the file's byte order.
struct Fields<'a> {
    bytes: &'a [u8],
    little: bool,
}

impl Fields<'_> {
    fn raw<const N: usize>(&self, at: usize) -> [u8; N] {
        let mut out = [0u8; N];
        out.copy_from_slice(&self.bytes[at..at + N]);
        if !self.little {
            out.reverse();
        }
        out
    }
    fn i16(&self, at: usize) -> i64 {
        i64::from(i16::from_le_bytes(self.raw(at)))
    }
    fn i32(&self, at: usize) -> i64 {
        i64::from(i32::from_le_bytes(self.raw(at)))
    }
    fn i64(&self, at: usize) -> i64 {
        i64::from_le_bytes(self.raw(at))
    }
    fn f32(&self, at: usize) -> f64 {
        f64::from(f32::from_le_bytes(self.raw(at)))
    }
    fn f64(&self, at: usize) -> f64 {
        f64::from_le_bytes(self.raw(at))
    }
}

/// What the header says, in one shape for both versions.
struct Header {
    dims: [i64; 8],
    datatype: i64,
    bitpix: i64,
    pixdim: [f64; 8],
    vox_offset: f64,
    scl_slope: f64,
    scl_inter: f64,
    qform_code: i64,
    sform_code: i64,
    quatern: [f64; 3],
    qoffset: [f64; 3],
    srow: [[f64; 4]; 3],
}

fn parse_header(head: &[u8]) -> Result<(Header, usize, bool), ImagingError> {
    let size = sniff::nifti_header_size(head).ok_or_else(|| corrupt("bad sizeof_hdr"))?;
    let little = i32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize == size;
    if head.len() < size {
        return Err(corrupt(format!(
            "the header needs {size} bytes, the file has {}",
            head.len()
        )));
    }
    let f = Fields {
        bytes: head,
        little,
    };
    let header = if size == 348 {
        match &head[344..348] {
            b"n+1\0" => {}
            b"ni1\0" => {
                return Err(ImagingError::Unsupported(
                    "NIfTI layout",
                    "a .hdr/.img pair; upload a single-file .nii or .nii.gz".into(),
                ));
            }
            _ => {
                return Err(ImagingError::Unsupported(
                    "NIfTI layout",
                    "no NIfTI-1 magic (an ANALYZE 7.5 header?); convert it to .nii".into(),
                ));
            }
        }
        Header {
            dims: [0, 1, 2, 3, 4, 5, 6, 7].map(|i| f.i16(40 + 2 * i)),
            datatype: f.i16(70),
            bitpix: f.i16(72),
            pixdim: [0, 1, 2, 3, 4, 5, 6, 7].map(|i| f.f32(76 + 4 * i)),
            vox_offset: f.f32(108),
            scl_slope: f.f32(112),
            scl_inter: f.f32(116),
            qform_code: f.i16(252),
            sform_code: f.i16(254),
            quatern: [f.f32(256), f.f32(260), f.f32(264)],
            qoffset: [f.f32(268), f.f32(272), f.f32(276)],
            srow: [0, 1, 2].map(|r| [0, 1, 2, 3].map(|c| f.f32(280 + 16 * r + 4 * c))),
        }
    } else {
        match &head[4..12] {
            b"n+2\0\r\n\x1a\n" => {}
            b"ni2\0\r\n\x1a\n" => {
                return Err(ImagingError::Unsupported(
                    "NIfTI layout",
                    "a .hdr/.img pair; upload a single-file .nii or .nii.gz".into(),
                ));
            }
            _ => return Err(corrupt("bad NIfTI-2 magic")),
        }
        Header {
            dims: [0, 1, 2, 3, 4, 5, 6, 7].map(|i| f.i64(16 + 8 * i)),
            datatype: f.i16(12),
            bitpix: f.i16(14),
            pixdim: [0, 1, 2, 3, 4, 5, 6, 7].map(|i| f.f64(104 + 8 * i)),
            vox_offset: f.i64(168) as f64,
            scl_slope: f.f64(176),
            scl_inter: f.f64(184),
            qform_code: f.i32(344),
            sform_code: f.i32(348),
            quatern: [f.f64(352), f.f64(360), f.f64(368)],
            qoffset: [f.f64(376), f.f64(384), f.f64(392)],
            srow: [0, 1, 2].map(|r| [0, 1, 2, 3].map(|c| f.f64(400 + 32 * r + 8 * c))),
        }
    };
    Ok((header, size, little))
}

/// Sample layout of a NIfTI data type: (bytes per sample, samples per voxel).
fn datatype_layout(datatype: i64) -> Result<(u64, u64), ImagingError> {
    Ok(match datatype {
        2 | 256 => (1, 1),          // uint8, int8
        4 | 512 => (2, 1),          // int16, uint16
        8 | 768 | 16 => (4, 1),     // int32, uint32, float32
        64 | 1024 | 1280 => (8, 1), // float64, int64, uint64
        128 => (1, 3),              // RGB24
        2304 => (1, 4),             // RGBA32
        other => {
            let name = match other {
                32 => "complex64",
                1536 => "float128",
                1792 => "complex128",
                2048 => "complex256",
                _ => "unknown",
            };
            return Err(ImagingError::Unsupported(
                "NIfTI data type",
                format!("{other} ({name}); samscope reads integer, float32/64 and RGB voxels"),
            ));
        }
    })
}

fn voxels(data: &[u8], datatype: i64, little: bool) -> Voxels {
    fn chunks<const N: usize>(data: &[u8], little: bool) -> impl Iterator<Item = [u8; N]> + '_ {
        data.chunks_exact(N).map(move |c| {
            let mut b: [u8; N] = c.try_into().expect("exact chunk");
            if !little {
                b.reverse();
            }
            b
        })
    }
    match datatype {
        2 | 128 => Voxels::U8(data.to_vec()),
        2304 => Voxels::U8(
            data.chunks_exact(4)
                .flat_map(|px| [px[0], px[1], px[2]])
                .collect(),
        ),
        256 => Voxels::I8(data.iter().map(|&b| b as i8).collect()),
        4 => Voxels::I16(chunks(data, little).map(i16::from_le_bytes).collect()),
        512 => Voxels::U16(chunks(data, little).map(u16::from_le_bytes).collect()),
        8 => Voxels::I32(chunks(data, little).map(i32::from_le_bytes).collect()),
        768 => Voxels::F32(
            chunks(data, little)
                .map(|b| u32::from_le_bytes(b) as f32)
                .collect(),
        ),
        16 => Voxels::F32(chunks(data, little).map(f32::from_le_bytes).collect()),
        64 => Voxels::F32(
            chunks(data, little)
                .map(|b| f64::from_le_bytes(b) as f32)
                .collect(),
        ),
        1024 => Voxels::F32(
            chunks(data, little)
                .map(|b| i64::from_le_bytes(b) as f32)
                .collect(),
        ),
        _ => Voxels::F32(
            chunks(data, little)
                .map(|b| u64::from_le_bytes(b) as f32)
                .collect(),
        ),
    }
}

/// The RAS affine's columns and translation, from the sform, else the qform.
fn ras_affine(h: &Header) -> Option<([[f64; 3]; 3], [f64; 3])> {
    let spacing = [1, 2, 3].map(|i| crate::volume::usable_spacing(h.pixdim[i].abs()));
    if h.sform_code > 0 {
        let cols = [0, 1, 2].map(|c| [h.srow[0][c], h.srow[1][c], h.srow[2][c]]);
        let origin = [h.srow[0][3], h.srow[1][3], h.srow[2][3]];
        return Some((cols, origin));
    }
    if h.qform_code > 0 {
        let [b, c, d] = h.quatern;
        let a2 = 1.0 - (b * b + c * c + d * d);
        let (a, b, c, d) = if a2 > 1e-7 {
            (a2.sqrt(), b, c, d)
        } else {
            // Rotation by 180°: normalise (b, c, d) as the NIfTI reference code does.
            let n = (b * b + c * c + d * d).sqrt();
            if !(n.is_finite() && n > 0.0) {
                return None;
            }
            (0.0, b / n, c / n, d / n)
        };
        let r = [
            [
                a * a + b * b - c * c - d * d,
                2.0 * (b * c - a * d),
                2.0 * (b * d + a * c),
            ],
            [
                2.0 * (b * c + a * d),
                a * a + c * c - b * b - d * d,
                2.0 * (c * d - a * b),
            ],
            [
                2.0 * (b * d - a * c),
                2.0 * (c * d + a * b),
                a * a + d * d - c * c - b * b,
            ],
        ];
        let qfac = if h.pixdim[0] < 0.0 { -1.0 } else { 1.0 };
        let scale = [spacing[0], spacing[1], spacing[2] * qfac];
        let cols = [0, 1, 2].map(|col| [0, 1, 2].map(|row| r[row][col] * scale[col]));
        return Some((cols, h.qoffset));
    }
    None
}

/// Decodes a NIfTI-1/2 file (gzipped or not) within `limits`.
pub(crate) fn decode(bytes: &[u8], limits: &Limits) -> Result<Volume, ImagingError> {
    let gzipped = gzip::is_gzip(bytes);
    let head = if gzipped {
        gzip::prefix(bytes, 544, FORMAT)?
    } else {
        bytes[..bytes.len().min(544)].to_vec()
    };
    let (h, header_size, little) = parse_header(&head)?;

    let ndim = h.dims[0];
    if !(1..=7).contains(&ndim) {
        return Err(corrupt(format!("dim[0] = {ndim}, not 1 to 7")));
    }
    let ndim = ndim as usize;
    let dim = |i: usize| if i <= ndim { h.dims[i] } else { 1 };
    if (1..=ndim).any(|i| h.dims[i] < 1) {
        return Err(ImagingError::NoPixels);
    }
    let shape = [dim(1), dim(2), dim(3)].map(|d| d as u64);
    let (sample_bytes, samples_per_voxel) = datatype_layout(h.datatype)?;
    if h.bitpix as u64 != sample_bytes * samples_per_voxel * 8 {
        return Err(corrupt(format!(
            "bitpix {} does not match data type {}",
            h.bitpix, h.datatype
        )));
    }
    limits.check_plane(shape[0], shape[1])?;
    let voxel_count = crate::limits::product(&shape)
        .ok_or_else(|| ImagingError::TooLarge("the dimensions overflow".into()))?;
    let data_len = limits.alloc(
        "the NIfTI volume",
        voxel_count,
        sample_bytes * samples_per_voxel,
    )?;
    let channels: u64 = if samples_per_voxel == 1 { 1 } else { 3 };
    limits.alloc("the decoded volume", voxel_count * channels, 4)?;

    let offset = h.vox_offset;
    if !(offset.is_finite() && offset >= header_size as f64 && offset.fract() == 0.0) {
        return Err(corrupt(format!(
            "vox_offset {offset} is not a byte offset after the header"
        )));
    }
    let offset = offset as u64;
    let total = offset
        .checked_add(data_len as u64)
        .ok_or_else(|| corrupt("vox_offset overflows"))?;
    let needed = limits.alloc("the NIfTI file", total, 1)?;
    let inflated_bytes = if gzipped { needed as u64 } else { 0 };
    crate::limits::admit(inflated_bytes + voxel_count * channels * 4)?;
    let inflated;
    let file: &[u8] = if gzipped {
        inflated = gzip::exact(bytes, needed, FORMAT)?;
        &inflated
    } else {
        if bytes.len() < needed {
            return Err(corrupt(format!(
                "the header needs {needed} bytes, the file has {}",
                bytes.len()
            )));
        }
        bytes
    };
    let data = &file[offset as usize..needed];

    let geometry = match ras_affine(&h) {
        Some((cols, origin)) => {
            // RAS → LPS: negate x and y.
            let flip = |v: [f64; 3]| [-v[0], -v[1], v[2]];
            let g = Geometry::from_lps_affine(cols.map(flip), flip(origin));
            if (0..3).all(|a| unit(g.directions[a]).is_some()) {
                g
            } else {
                Geometry::default()
            }
        }
        None => Geometry {
            spacing: [1, 2, 3].map(|i| crate::volume::usable_spacing(h.pixdim[i].abs())),
            ..Geometry::default()
        },
    };
    let dims = shape.map(|d| d as usize);
    let voxels = voxels(data, h.datatype, little);
    let volume = Volume::new(dims, channels as usize, voxels, geometry)?;
    Ok(if channels == 1 {
        let slope = h.scl_slope;
        volume.with_rescale(if slope == 0.0 {
            Rescale::IDENTITY
        } else {
            Rescale::new(slope, h.scl_inter)
        })
    } else {
        volume
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::volume::Axis;

    /// A NIfTI-1 file of `dims` int16 voxels `0, 1, 2, …` with the given sform (RAS),
    /// spacing 2, 3, 4, scaled by 2 and offset by −10.
    pub(crate) fn nifti1(dims: [i16; 3], sform: Option<[[f32; 4]; 3]>, little: bool) -> Vec<u8> {
        let n = dims.iter().map(|&d| d as usize).product::<usize>();
        let voxels: Vec<u8> = (0..n as i16)
            .flat_map(|v| {
                if little {
                    v.to_le_bytes()
                } else {
                    v.to_be_bytes()
                }
            })
            .collect();
        test_support::scans::Nifti1 {
            dims,
            datatype: 4,
            bitpix: 16,
            pixdim: [1.0, 2.0, 3.0, 4.0],
            scaling: [2.0, -10.0],
            sform: sform.map(|rows| (1, rows)),
            big_endian: !little,
            ..Default::default()
        }
        .file(&voxels)
    }

    #[test]
    fn reads_both_byte_orders_gzip_and_the_sform() {
        let sform = [
            [-2.0, 0.0, 0.0, 5.0],
            [0.0, 3.0, 0.0, 6.0],
            [0.0, 0.0, 4.0, 7.0],
        ];
        let le = nifti1([4, 3, 2], Some(sform), true);
        let be = nifti1([4, 3, 2], Some(sform), false);
        let limits = Limits::default();
        let a = decode(&le, &limits).unwrap();
        let b = decode(&be, &limits).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.dims(), [4, 3, 2]);
        // scl_slope 2, scl_inter −10.
        assert_eq!(a.value_at(1, 0, 0, 0), Some(-8.0));
        assert_eq!(a.value_at(3, 2, 1, 0), Some(2.0 * 23.0 - 10.0));
        // RAS (−2, 3, 4) diagonal → LPS (2, −3, 4).
        assert_eq!(a.geometry().spacing, [2.0, 3.0, 4.0]);
        assert_eq!(a.geometry().directions[1], [0.0, -1.0, 0.0]);
        assert_eq!(a.geometry().origin, [-5.0, -6.0, 7.0]);
        let gz = test_support::scans::gzip(&le);
        assert_eq!(decode(&gz, &limits).unwrap(), a);
        assert_eq!(a.slice_count(Axis::Axial), 2);
    }

    #[test]
    fn refuses_truncated_absurd_and_unsupported_files() {
        let limits = Limits::default();
        let good = nifti1([4, 3, 2], None, true);
        assert!(matches!(
            decode(&good[..good.len() - 1], &limits),
            Err(ImagingError::Corrupt(..))
        ));
        assert!(matches!(
            decode(&good[..200], &limits),
            Err(ImagingError::Corrupt(..))
        ));
        let mut huge = good.clone();
        huge[42..48].copy_from_slice(&[0xff, 0x7f, 0xff, 0x7f, 0xff, 0x7f]);
        assert!(matches!(
            decode(&huge, &limits),
            Err(ImagingError::TooLarge(_))
        ));
        let mut complex = good.clone();
        complex[70..72].copy_from_slice(&32i16.to_le_bytes());
        let err = decode(&complex, &limits).unwrap_err().to_string();
        assert!(err.contains("complex64"), "{err}");
        let mut zero = good.clone();
        zero[42..44].copy_from_slice(&0i16.to_le_bytes());
        assert!(matches!(
            decode(&zero, &limits),
            Err(ImagingError::NoPixels)
        ));
        let mut pair = good;
        pair[344..348].copy_from_slice(b"ni1\0");
        assert!(
            decode(&pair, &limits)
                .unwrap_err()
                .to_string()
                .contains(".hdr/.img")
        );
    }
}
