//! Exact Euclidean distance transform (Felzenszwalb & Huttenlocher, 2012) with per-axis
//! pixel spacing, used for the `center` / corrective-click points and for HD95 / NSD.

/// Squared distance from every pixel to the nearest `feature` pixel, in units of
/// `spacing = (row, column)` (pixel centres `spacing` apart); `f64::INFINITY` everywhere
/// when there is no feature pixel.
///
/// `feature` is `height × width`, row-major.
pub fn squared_edt(feature: &[bool], width: usize, height: usize, spacing: (f64, f64)) -> Vec<f64> {
    debug_assert_eq!(feature.len(), width * height);
    let mut grid: Vec<f64> = feature
        .iter()
        .map(|&f| if f { 0.0 } else { f64::INFINITY })
        .collect();
    let mut scratch = Scratch::new(width.max(height));
    // Along each column (steps of one row).
    let mut column = vec![0.0; height];
    for c in 0..width {
        for r in 0..height {
            column[r] = grid[r * width + c];
        }
        scratch.transform(&mut column, spacing.0);
        for r in 0..height {
            grid[r * width + c] = column[r];
        }
    }
    // Along each row (steps of one column).
    for row in grid.chunks_mut(width) {
        scratch.transform(row, spacing.1);
    }
    grid
}

/// Buffers of the 1-D lower-envelope pass.
struct Scratch {
    /// Sample positions of the parabolas in the envelope.
    vertices: Vec<usize>,
    /// Boundaries between envelope parabolas (in distance units).
    bounds: Vec<f64>,
    out: Vec<f64>,
}

impl Scratch {
    fn new(n: usize) -> Self {
        Self {
            vertices: vec![0; n],
            bounds: vec![0.0; n + 1],
            out: vec![0.0; n],
        }
    }

    /// In place: `f[q] ← min_p ((q − p)·step)² + f[p]` over finite `f[p]`.
    fn transform(&mut self, f: &mut [f64], step: f64) {
        let n = f.len();
        let x = |i: usize| i as f64 * step;
        let mut k = 0usize;
        let mut any = false;
        for q in 0..n {
            if !f[q].is_finite() {
                continue;
            }
            if !any {
                any = true;
                self.vertices[0] = q;
                self.bounds[0] = f64::NEG_INFINITY;
                self.bounds[1] = f64::INFINITY;
                continue;
            }
            let meet =
                |p: usize| ((f[q] + x(q) * x(q)) - (f[p] + x(p) * x(p))) / (2.0 * (x(q) - x(p)));
            let mut s = meet(self.vertices[k]);
            while s <= self.bounds[k] {
                k -= 1;
                s = meet(self.vertices[k]);
            }
            k += 1;
            self.vertices[k] = q;
            self.bounds[k] = s;
            self.bounds[k + 1] = f64::INFINITY;
        }
        if !any {
            return;
        }
        k = 0;
        for q in 0..n {
            while self.bounds[k + 1] < x(q) {
                k += 1;
            }
            let p = self.vertices[k];
            let d = x(q) - x(p);
            self.out[q] = d * d + f[p];
        }
        f.copy_from_slice(&self.out[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force for comparison.
    fn brute(feature: &[bool], width: usize, spacing: (f64, f64)) -> Vec<f64> {
        (0..feature.len())
            .map(|i| {
                let (r, c) = ((i / width) as f64, (i % width) as f64);
                (0..feature.len())
                    .filter(|&j| feature[j])
                    .map(|j| {
                        let (fr, fc) = ((j / width) as f64, (j % width) as f64);
                        ((r - fr) * spacing.0).powi(2) + ((c - fc) * spacing.1).powi(2)
                    })
                    .fold(f64::INFINITY, f64::min)
            })
            .collect()
    }

    #[test]
    fn single_feature_gives_squared_distances() {
        let mut feature = vec![false; 12];
        feature[5] = true; // row 1, col 1 of 4 wide
        let d = squared_edt(&feature, 4, 3, (1.0, 1.0));
        assert_eq!(d[5], 0.0);
        assert_eq!(d[0], 2.0);
        assert_eq!(d[11], 1.0 + 4.0);
    }

    #[test]
    fn anisotropic_spacing_scales_each_axis() {
        let mut feature = vec![false; 9];
        feature[0] = true;
        let d = squared_edt(&feature, 3, 3, (2.0, 0.5));
        assert_eq!(d[1], 0.25); // one column right
        assert_eq!(d[3], 4.0); // one row down
        assert_eq!(d[8], 16.0 + 1.0);
    }

    #[test]
    fn no_feature_is_infinite_and_matches_brute_force() {
        assert!(
            squared_edt(&[false; 6], 3, 2, (1.0, 1.0))
                .iter()
                .all(|d| d.is_infinite())
        );
        // A scattered pattern against brute force, with anisotropic spacing.
        let feature: Vec<bool> = (0..63).map(|i| i * 7 % 11 == 3 || i == 40).collect();
        let fast = squared_edt(&feature, 9, 7, (1.5, 0.7));
        let slow = brute(&feature, 9, (1.5, 0.7));
        for (a, b) in fast.iter().zip(&slow) {
            assert!((a - b).abs() < 1e-9, "{a} vs {b}");
        }
    }
}
