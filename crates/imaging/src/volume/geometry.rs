//! Where voxels are in the patient: spacing, direction cosines and origin in DICOM's
//! patient coordinates (LPS: x to the patient's left, y to posterior, z to superior, mm).

/// The voxel grid's placement: voxel `(i, j, k)` sits at
/// `origin + i·spacing[0]·directions[0] + j·spacing[1]·directions[1] + k·spacing[2]·directions[2]`
/// (LPS, millimetres).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Geometry {
    /// Distance between neighbouring voxels along `i`, `j`, `k`, mm (always > 0).
    pub spacing: [f64; 3],
    /// Unit vectors of the `i`, `j`, `k` voxel axes in LPS.
    pub directions: [[f64; 3]; 3],
    /// LPS position of voxel `(0, 0, 0)`, mm.
    pub origin: [f64; 3],
    /// Whether the orientation came from the file; `false`: `i, j, k` were taken as
    /// `x, y, z` (left, posterior, superior), as an image without geometry is shown.
    pub oriented: bool,
}

impl Default for Geometry {
    /// Unit spacing, identity directions, origin 0, not oriented.
    fn default() -> Self {
        Self {
            spacing: [1.0; 3],
            directions: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
            origin: [0.0; 3],
            oriented: false,
        }
    }
}

fn norm(v: [f64; 3]) -> f64 {
    (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt()
}

/// `v` scaled to length 1, or `None` when it has no usable length.
pub(crate) fn unit(v: [f64; 3]) -> Option<[f64; 3]> {
    let n = norm(v);
    (n.is_finite() && n > 1e-12).then(|| [v[0] / n, v[1] / n, v[2] / n])
}

/// The cross product `a × b`.
pub(crate) fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

/// A spacing value that is usable (finite, > 0), else 1 mm.
pub(crate) fn usable_spacing(v: f64) -> f64 {
    if v.is_finite() && v > 0.0 {
        v.abs()
    } else {
        1.0
    }
}

impl Geometry {
    /// From the columns of an affine's 3×3 part (voxel axis → LPS, spacing included) and
    /// its translation. Axes of zero or non-finite length fall back to unit spacing along
    /// the identity axis, and then `oriented` is false.
    pub fn from_lps_affine(columns: [[f64; 3]; 3], origin: [f64; 3]) -> Self {
        let mut geometry = Geometry {
            origin: if origin.iter().all(|v| v.is_finite()) {
                origin
            } else {
                [0.0; 3]
            },
            oriented: true,
            ..Geometry::default()
        };
        for (axis, column) in columns.iter().enumerate() {
            match unit(*column) {
                Some(direction) => {
                    geometry.spacing[axis] = norm(*column);
                    geometry.directions[axis] = direction;
                }
                None => geometry.oriented = false,
            }
        }
        geometry
    }

    /// The 4×4 voxel-to-LPS affine (row-major).
    pub fn affine(&self) -> [[f64; 4]; 4] {
        let mut m = [[0.0; 4]; 4];
        for (row, out) in m.iter_mut().take(3).enumerate() {
            for (axis, cell) in out.iter_mut().take(3).enumerate() {
                *cell = self.directions[axis][row] * self.spacing[axis];
            }
            out[3] = self.origin[row];
        }
        m[3][3] = 1.0;
        m
    }

    /// The LPS position of a (fractional) voxel index.
    pub fn position(&self, index: [f64; 3]) -> [f64; 3] {
        let mut p = self.origin;
        for ((i, spacing), direction) in index.iter().zip(self.spacing).zip(self.directions) {
            for (value, d) in p.iter_mut().zip(direction) {
                *value += i * spacing * d;
            }
        }
        p
    }

    /// For each world axis (x = L, y = P, z = S), the voxel axis closest to it; a
    /// permutation, chosen greedily by the largest direction cosine (as nibabel's
    /// `io_orientation`).
    pub fn voxel_axis_of_world(&self) -> [usize; 3] {
        let mut of_world = [usize::MAX; 3];
        let mut used_voxel = [false; 3];
        for _ in 0..3 {
            let mut best = (f64::NEG_INFINITY, 0, 0);
            for (voxel, used) in used_voxel.iter().enumerate() {
                if *used {
                    continue;
                }
                for (world, assigned) in of_world.iter().enumerate() {
                    if *assigned != usize::MAX {
                        continue;
                    }
                    let c = self.directions[voxel][world].abs();
                    let c = if c.is_finite() { c } else { 0.0 };
                    if c > best.0 {
                        best = (c, voxel, world);
                    }
                }
            }
            of_world[best.2] = best.1;
            used_voxel[best.1] = true;
        }
        of_world
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affine_round_trips_and_orders_world_axes() {
        // i → posterior (2 mm), j → inferior (3 mm), k → left (4 mm).
        let g = Geometry::from_lps_affine(
            [[0.0, 2.0, 0.0], [0.0, 0.0, -3.0], [4.0, 0.0, 0.0]],
            [1.0, 2.0, 3.0],
        );
        assert!(g.oriented);
        assert_eq!(g.spacing, [2.0, 3.0, 4.0]);
        assert_eq!(g.voxel_axis_of_world(), [2, 0, 1]);
        assert_eq!(g.position([1.0, 1.0, 1.0]), [5.0, 4.0, 0.0]);
        let a = g.affine();
        assert_eq!(a[0], [0.0, 0.0, 4.0, 1.0]);
        assert_eq!(a[2], [0.0, -3.0, 0.0, 3.0]);
    }

    #[test]
    fn degenerate_axes_fall_back() {
        let g =
            Geometry::from_lps_affine([[0.0; 3], [0.0, 1.0, 0.0], [0.0, 0.0, f64::NAN]], [0.0; 3]);
        assert!(!g.oriented);
        assert_eq!(g.spacing, [1.0, 1.0, 1.0]);
        assert_eq!(g.voxel_axis_of_world(), [0, 1, 2]);
    }
}
