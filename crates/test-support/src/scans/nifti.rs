//! NIfTI-1 single files (`.nii`, `n+1`): a 348-byte header, 4 bytes of extension flag,
//! then the voxels.

/// The fields of a NIfTI-1 header a test sets; [`Nifti1::file`] writes them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Nifti1 {
    /// Voxels along `i`, `j`, `k` (`dim[1..4]`; `dim[0]` is 3, the rest 1).
    pub dims: [i16; 3],
    /// `datatype` (2 uint8, 4 int16, 16 float32, 128 RGB24, …).
    pub datatype: i16,
    /// `bitpix`, bits per voxel.
    pub bitpix: i16,
    /// `pixdim[0..4]`: `qfac`, then the spacing along `i`, `j`, `k`.
    pub pixdim: [f32; 4],
    /// `scl_slope`, `scl_inter` (0, 0: no scaling).
    pub scaling: [f32; 2],
    /// `qform_code` (its quaternion is left zero).
    pub qform_code: i16,
    /// `sform_code`, with `srow_x`, `srow_y`, `srow_z` when non-zero.
    pub sform: Option<(i16, [[f32; 4]; 3])>,
    /// Every header number big-endian (the voxels are written as given).
    pub big_endian: bool,
}

impl Default for Nifti1 {
    /// One uint8 voxel, spacing 1, no scaling, no orientation, little-endian.
    fn default() -> Self {
        Self {
            dims: [1, 1, 1],
            datatype: 2,
            bitpix: 8,
            pixdim: [1.0; 4],
            scaling: [0.0, 0.0],
            qform_code: 0,
            sform: None,
            big_endian: false,
        }
    }
}

impl Nifti1 {
    /// The header with `voxels` (already in the file's byte order) after it, at
    /// `vox_offset` 352.
    pub fn file(&self, voxels: &[u8]) -> Vec<u8> {
        let mut h = vec![0u8; 352];
        let big = self.big_endian;
        let mut put = |at: usize, b: &[u8]| h[at..at + b.len()].copy_from_slice(b);
        let i16b = |v: i16| {
            if big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let f32b = |v: f32| {
            if big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        put(
            0,
            &if big {
                348i32.to_be_bytes()
            } else {
                348i32.to_le_bytes()
            },
        );
        let [x, y, z] = self.dims;
        for (i, d) in [3, x, y, z, 1, 1, 1, 1].into_iter().enumerate() {
            put(40 + 2 * i, &i16b(d));
        }
        put(70, &i16b(self.datatype));
        put(72, &i16b(self.bitpix));
        for (i, p) in self.pixdim.into_iter().enumerate() {
            put(76 + 4 * i, &f32b(p));
        }
        put(108, &f32b(352.0));
        put(112, &f32b(self.scaling[0]));
        put(116, &f32b(self.scaling[1]));
        put(252, &i16b(self.qform_code));
        if let Some((code, rows)) = self.sform {
            put(254, &i16b(code));
            for (r, row) in rows.iter().enumerate() {
                for (c, v) in row.iter().enumerate() {
                    put(280 + 16 * r + 4 * c, &f32b(*v));
                }
            }
        }
        put(344, b"n+1\0");
        h.extend_from_slice(voxels);
        h
    }
}
