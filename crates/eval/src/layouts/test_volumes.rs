//! Tiny volume files for the tests: NIfTI-1 (`.nii`, `.nii.gz`) and raw NRRD, written by
//! hand.

use std::io::Write;
use std::path::Path;

/// The rows of a NIfTI sform (RAS, mm): `x, y, z = row · (i, j, k, 1)`.
pub type Sform = [[f32; 4]; 3];

/// A diagonal sform with spacing `s` (RAS, axes as stored).
pub fn diagonal(s: [f32; 3]) -> Sform {
    [
        [s[0], 0.0, 0.0, 0.0],
        [0.0, s[1], 0.0, 0.0],
        [0.0, 0.0, s[2], 0.0],
    ]
}

/// Voxel types the writers take.
pub trait Voxel: Copy {
    /// NIfTI datatype code.
    const NIFTI: i16;
    /// NRRD type name.
    const NRRD: &'static str;
    /// Little-endian bytes.
    fn bytes(self) -> Vec<u8>;
}

impl Voxel for u8 {
    const NIFTI: i16 = 2;
    const NRRD: &'static str = "uint8";
    fn bytes(self) -> Vec<u8> {
        vec![self]
    }
}

impl Voxel for i16 {
    const NIFTI: i16 = 4;
    const NRRD: &'static str = "int16";
    fn bytes(self) -> Vec<u8> {
        self.to_le_bytes().to_vec()
    }
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    if path.to_string_lossy().ends_with(".gz") {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        std::fs::write(path, e.finish().unwrap()).unwrap();
    } else {
        std::fs::write(path, bytes).unwrap();
    }
}

/// A NIfTI-1 file of `dims` voxels (`i` fastest), gzipped when `path` ends in `.gz`.
pub fn nifti<T: Voxel>(path: &Path, dims: [usize; 3], sform: Sform, voxels: &[T]) {
    assert_eq!(voxels.len(), dims.iter().product::<usize>());
    let mut h = vec![0u8; 352];
    let mut put = |at: usize, b: &[u8]| h[at..at + b.len()].copy_from_slice(b);
    put(0, &348i32.to_le_bytes());
    let dim = [
        3,
        dims[0] as i16,
        dims[1] as i16,
        dims[2] as i16,
        1,
        1,
        1,
        1,
    ];
    for (i, d) in dim.into_iter().enumerate() {
        put(40 + 2 * i, &d.to_le_bytes());
    }
    put(70, &T::NIFTI.to_le_bytes());
    put(72, &(8 * T::bytes(voxels[0]).len() as i16).to_le_bytes());
    for c in 0..3 {
        let length = sform.iter().map(|r| r[c] * r[c]).sum::<f32>().sqrt();
        put(80 + 4 * c, &length.to_le_bytes());
    }
    put(76, &1f32.to_le_bytes());
    put(108, &352f32.to_le_bytes());
    put(254, &1i16.to_le_bytes());
    for (r, row) in sform.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            put(280 + 16 * r + 4 * c, &v.to_le_bytes());
        }
    }
    put(344, b"n+1\0");
    for v in voxels {
        h.extend(v.bytes());
    }
    write(path, &h);
}

/// A raw NRRD file of `dims` voxels in LPS with spacing `spacing` along `i`, `j`, `k`.
pub fn nrrd<T: Voxel>(path: &Path, dims: [usize; 3], spacing: [f32; 3], voxels: &[T]) {
    assert_eq!(voxels.len(), dims.iter().product::<usize>());
    let [a, b, c] = spacing;
    let mut out = format!(
        "NRRD0004\ntype: {}\ndimension: 3\nspace: left-posterior-superior\n\
         sizes: {} {} {}\nspace directions: ({a},0,0) (0,{b},0) (0,0,{c})\n\
         kinds: domain domain domain\nendian: little\nencoding: raw\nspace origin: (0,0,0)\n\n",
        T::NRRD,
        dims[0],
        dims[1],
        dims[2]
    )
    .into_bytes();
    for v in voxels {
        out.extend(v.bytes());
    }
    write(path, &out);
}
