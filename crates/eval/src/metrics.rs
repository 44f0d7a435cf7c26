//! Overlap and surface metrics of one predicted mask against one ground-truth instance.
//! The definitions, with the edge cases, are in `docs/protocols.md`:
//!
//! - Dice = 2|A∩B| / (|A| + |B|), IoU = |A∩B| / |A∪B| (A = ground truth, B = prediction).
//! - Surface = the foreground pixels with a 4-neighbour that is background or outside the
//!   image. Distances between surfaces are Euclidean between pixel centres, in mm with the
//!   pixel spacing (1 px = 1 mm when the spacing is unknown).
//! - HD95 = max(P95 of the distances from A's surface to B's, P95 of B's to A's), P95 with
//!   linear interpolation (NumPy's default), as MONAI's `compute_hausdorff_distance`.
//! - NSD at tolerance τ = (#A-surface pixels within τ of B's surface + #B-surface pixels
//!   within τ of A's) / (#A-surface + #B-surface pixels).
//! - Empty prediction: Dice = IoU = NSD = 0, HD95 undefined (`None`).

use api::BinaryMask;
use serde::{Deserialize, Serialize};

use crate::distance::squared_edt;

/// Physical size of a pixel.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spacing {
    /// Distance between rows, mm.
    pub row_mm: f64,
    /// Distance between columns, mm.
    pub col_mm: f64,
}

impl Spacing {
    /// 1 px = 1 mm, the convention when a format gives no spacing.
    pub const UNKNOWN: Spacing = Spacing {
        row_mm: 1.0,
        col_mm: 1.0,
    };
}

/// All metrics of one instance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scores {
    /// Dice coefficient.
    pub dice: f64,
    /// Intersection over union.
    pub iou: f64,
    /// 95th-percentile Hausdorff distance, mm; `None` for an empty prediction.
    pub hd95: Option<f64>,
    /// Normalised surface Dice at the tolerance.
    pub nsd: f64,
}

fn check_sizes(a: &BinaryMask, b: &BinaryMask) {
    assert_eq!(
        (a.width, a.height, a.data.len()),
        (b.width, b.height, b.data.len()),
        "masks of different sizes"
    );
}

/// `(|A∩B|, |A|, |B|)`.
fn overlap(a: &BinaryMask, b: &BinaryMask) -> (usize, usize, usize) {
    check_sizes(a, b);
    a.data
        .iter()
        .zip(&b.data)
        .fold((0, 0, 0), |(i, na, nb), (&x, &y)| {
            let (x, y) = (x != 0, y != 0);
            (
                i + usize::from(x && y),
                na + usize::from(x),
                nb + usize::from(y),
            )
        })
}

/// Dice coefficient; `None` when both masks are empty.
///
/// # Panics
/// If the masks differ in size.
pub fn dice(a: &BinaryMask, b: &BinaryMask) -> Option<f64> {
    let (i, na, nb) = overlap(a, b);
    (na + nb > 0).then(|| 2.0 * i as f64 / (na + nb) as f64)
}

/// Intersection over union; `None` when both masks are empty.
///
/// # Panics
/// If the masks differ in size.
pub fn iou(a: &BinaryMask, b: &BinaryMask) -> Option<f64> {
    let (i, na, nb) = overlap(a, b);
    let union = na + nb - i;
    (union > 0).then(|| i as f64 / union as f64)
}

/// Distances (mm) from each surface pixel of one mask to the nearest surface pixel of the
/// other; `INFINITY` when the other mask is empty.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SurfaceDistances {
    /// From A's surface to B's.
    pub a_to_b: Vec<f64>,
    /// From B's surface to A's.
    pub b_to_a: Vec<f64>,
}

/// The surface distances of `a` and `b`, computed inside their joint bounding box.
///
/// # Panics
/// If the masks differ in size.
pub fn surface_distances(a: &BinaryMask, b: &BinaryMask, spacing: Spacing) -> SurfaceDistances {
    check_sizes(a, b);
    let (w, h) = (a.width, a.height);
    let (mut r0, mut r1, mut c0, mut c1) = (usize::MAX, 0, usize::MAX, 0);
    for (i, (&x, &y)) in a.data.iter().zip(&b.data).enumerate() {
        if x != 0 || y != 0 {
            let (r, c) = (i / w, i % w);
            r0 = r0.min(r);
            r1 = r1.max(r);
            c0 = c0.min(c);
            c1 = c1.max(c);
        }
    }
    if r0 == usize::MAX {
        return SurfaceDistances::default();
    }
    // One pixel of background around the union, where the image has it: pixels outside
    // the crop are background of both masks (or outside the image), as surfaces need.
    let (r0, c0) = (r0.saturating_sub(1), c0.saturating_sub(1));
    let (r1, c1) = ((r1 + 1).min(h - 1), (c1 + 1).min(w - 1));
    let (cw, ch) = (c1 - c0 + 1, r1 - r0 + 1);
    let crop = |m: &BinaryMask| -> Vec<bool> {
        (r0..=r1)
            .flat_map(|r| m.data[r * w + c0..=r * w + c1].iter().map(|&v| v != 0))
            .collect()
    };
    let (in_a, in_b) = (crop(a), crop(b));
    let (surf_a, surf_b) = (surface(&in_a, cw, ch), surface(&in_b, cw, ch));
    let spacing = (spacing.row_mm, spacing.col_mm);
    let to_a = squared_edt(&surf_a, cw, ch, spacing);
    let to_b = squared_edt(&surf_b, cw, ch, spacing);
    let directed = |from: &[bool], to: &[f64]| -> Vec<f64> {
        from.iter()
            .zip(to)
            .filter(|&(&s, _)| s)
            .map(|(_, &d)| d.sqrt())
            .collect()
    };
    SurfaceDistances {
        a_to_b: directed(&surf_a, &to_b),
        b_to_a: directed(&surf_b, &to_a),
    }
}

/// Foreground pixels with a 4-neighbour that is background or outside the grid.
fn surface(mask: &[bool], width: usize, height: usize) -> Vec<bool> {
    (0..mask.len())
        .map(|i| {
            if !mask[i] {
                return false;
            }
            let (r, c) = (i / width, i % width);
            r == 0
                || c == 0
                || r + 1 == height
                || c + 1 == width
                || !mask[i - 1]
                || !mask[i + 1]
                || !mask[i - width]
                || !mask[i + width]
        })
        .collect()
}

/// The `p`-th percentile (0–100) with linear interpolation between order statistics
/// (NumPy's default); `None` for no values.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = p / 100.0 * (sorted.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    let (a, b) = (sorted[lo], sorted[hi]);
    Some(if lo == hi {
        a
    } else {
        a + (b - a) * (rank - lo as f64)
    })
}

/// HD95 in mm; `None` when either mask is empty.
pub fn hd95(d: &SurfaceDistances) -> Option<f64> {
    let a = percentile(&d.a_to_b, 95.0)?;
    let b = percentile(&d.b_to_a, 95.0)?;
    (a.is_finite() && b.is_finite()).then_some(a.max(b))
}

/// Normalised surface Dice at `tolerance_mm`; `None` when both masks are empty.
pub fn nsd(d: &SurfaceDistances, tolerance_mm: f64) -> Option<f64> {
    let total = d.a_to_b.len() + d.b_to_a.len();
    let within = d
        .a_to_b
        .iter()
        .chain(&d.b_to_a)
        .filter(|&&x| x <= tolerance_mm + 1e-9)
        .count();
    (total > 0).then(|| within as f64 / total as f64)
}

/// Every metric of `pred` against the ground truth `gt`; `None` when `gt` is empty (such
/// instances are skipped and counted, never scored).
///
/// # Panics
/// If the masks differ in size.
pub fn score(
    gt: &BinaryMask,
    pred: &BinaryMask,
    spacing: Spacing,
    tolerance_mm: f64,
) -> Option<Scores> {
    let (i, na, nb) = overlap(gt, pred);
    if na == 0 {
        return None;
    }
    let distances = surface_distances(gt, pred, spacing);
    Some(Scores {
        dice: 2.0 * i as f64 / (na + nb) as f64,
        iou: i as f64 / (na + nb - i) as f64,
        hd95: hd95(&distances),
        nsd: nsd(&distances, tolerance_mm).unwrap_or(0.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A mask from rows of `#` (inside) and `.` (outside).
    fn mask(rows: &[&str]) -> BinaryMask {
        let width = rows[0].len();
        BinaryMask {
            width,
            height: rows.len(),
            data: rows
                .iter()
                .flat_map(|r| r.bytes().map(|b| u8::from(b == b'#')))
                .collect(),
        }
    }

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    #[test]
    fn overlap_by_hand() {
        // A: 2×2 square (4 px); B: 2×3 (6 px) sharing the square: |A∩B| = 4.
        let a = mask(&["##...", "##...", "....."]);
        let b = mask(&["###..", "###..", "....."]);
        close(dice(&a, &b).unwrap(), 8.0 / 10.0);
        close(iou(&a, &b).unwrap(), 4.0 / 6.0);
        // Disjoint.
        let c = mask(&["....#", ".....", "....."]);
        close(dice(&a, &c).unwrap(), 0.0);
        close(iou(&a, &c).unwrap(), 0.0);
    }

    #[test]
    fn empty_masks() {
        let empty = mask(&["...", "..."]);
        let one = mask(&["...", ".#."]);
        assert_eq!(dice(&empty, &empty), None);
        assert_eq!(iou(&empty, &empty), None);
        assert_eq!(
            score(&empty, &one, Spacing::UNKNOWN, 2.0),
            None,
            "empty GT is skipped"
        );
        // Empty prediction: zero overlap, zero NSD, no HD95.
        let s = score(&one, &empty, Spacing::UNKNOWN, 2.0).unwrap();
        assert_eq!((s.dice, s.iou, s.hd95, s.nsd), (0.0, 0.0, None, 0.0));
    }

    #[test]
    fn one_pixel_objects() {
        let a = mask(&["#....", ".....", "....."]);
        let same = score(&a, &a, Spacing::UNKNOWN, 0.0).unwrap();
        assert_eq!(
            (same.dice, same.iou, same.hd95, same.nsd),
            (1.0, 1.0, Some(0.0), 1.0)
        );
        // 2 rows down, 4 columns right: distance sqrt(4 + 16).
        let b = mask(&[".....", ".....", "....#"]);
        let s = score(&a, &b, Spacing::UNKNOWN, 2.0).unwrap();
        close(s.hd95.unwrap(), 20f64.sqrt());
        assert_eq!((s.dice, s.nsd), (0.0, 0.0));
        let s = score(&a, &b, Spacing::UNKNOWN, 5.0).unwrap();
        assert_eq!(s.nsd, 1.0);
    }

    #[test]
    fn anisotropic_spacing() {
        // Rows 2 mm apart, columns 0.5 mm apart.
        let spacing = Spacing {
            row_mm: 2.0,
            col_mm: 0.5,
        };
        let a = mask(&["#...", "....", "...."]);
        let down = mask(&["....", "....", "#..."]);
        let right = mask(&["...#", "....", "...."]);
        close(score(&a, &down, spacing, 1.0).unwrap().hd95.unwrap(), 4.0);
        close(score(&a, &right, spacing, 1.0).unwrap().hd95.unwrap(), 1.5);
        // Within 1.5 mm to the right, not within 4 mm down.
        assert_eq!(score(&a, &right, spacing, 1.5).unwrap().nsd, 1.0);
        assert_eq!(score(&a, &down, spacing, 3.9).unwrap().nsd, 0.0);
    }

    #[test]
    fn surfaces_hd95_and_nsd_by_hand() {
        // A: a 3×3 square; its surface is the ring of 8 (the centre is interior).
        // B: A plus column 4, the image's last: interior pixels (2,2) and (2,3) only, so
        // its surface has 12 − 2 = 10 pixels.
        let a = mask(&[".....", ".###.", ".###.", ".###.", "....."]);
        let b = mask(&[".....", ".####", ".####", ".####", "....."]);
        let d = surface_distances(&a, &b, Spacing::UNKNOWN);
        assert_eq!((d.a_to_b.len(), d.b_to_a.len()), (8, 10));
        // A→B: every A-surface pixel lies on B's surface except (2,3), 1 px from (1,3).
        let mut a_to_b = d.a_to_b.clone();
        a_to_b.sort_by(f64::total_cmp);
        assert_eq!(a_to_b, [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]);
        // B→A: the three column-4 pixels are 1 px from A's column 3; the rest lie on A's.
        let mut b_to_a = d.b_to_a.clone();
        b_to_a.sort_by(f64::total_cmp);
        assert_eq!(b_to_a, [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0]);
        // P95 of A→B: rank 0.95·7 = 6.65 → 0 + (1 − 0)·0.65; of B→A: rank 8.55 → 1.
        close(hd95(&d).unwrap(), 1.0);
        close(percentile(&a_to_b, 95.0).unwrap(), 0.65);
        // NSD at 0.5 mm: 7 + 7 of 18 surface pixels.
        close(nsd(&d, 0.5).unwrap(), 14.0 / 18.0);
        close(nsd(&d, 1.0).unwrap(), 1.0);
    }

    #[test]
    fn percentile_matches_numpy_linear() {
        // numpy.percentile([1, 2, 3, 4], 95) = 3.85
        close(percentile(&[4.0, 1.0, 3.0, 2.0], 95.0).unwrap(), 3.85);
        close(percentile(&[7.0], 95.0).unwrap(), 7.0);
        assert_eq!(percentile(&[], 95.0), None);
    }
}
