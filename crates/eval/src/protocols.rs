//! Prompting protocols: how a ground-truth instance becomes the prompt SAM is given.
//! Definitions (and why) in `docs/protocols.md`. Coordinates are original-image pixels,
//! x = column, y = row, the frame of [`sam::PromptInput`].

use std::fmt;
use std::str::FromStr;

use api::BinaryMask;

use crate::distance::squared_edt;
use crate::error::EvalError;
use crate::instances::mask_components;
use crate::rng::SplitMix64;

/// A named prompting protocol (`--protocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    /// One positive point at the centre of mass (the paper's Algorithm 1).
    Centroid,
    /// One positive point at the inside pixel farthest from the boundary.
    Center,
    /// The tight bounding box.
    Box,
    /// The tight box with each side moved outwards by a seeded 0–`jitter` px.
    BoxJitter,
    /// `center`, then corrective clicks on the largest error region.
    Iterative,
    /// No prompt at all: the decoder's single mask from the image alone (the paper's
    /// fine-tuned vessel decoder; meaningful for single-class datasets).
    Promptless,
}

impl Protocol {
    /// Every protocol, in report order.
    pub const ALL: [Protocol; 6] = [
        Protocol::Centroid,
        Protocol::Center,
        Protocol::Box,
        Protocol::BoxJitter,
        Protocol::Iterative,
        Protocol::Promptless,
    ];

    /// The name on the command line and in the outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Centroid => "centroid",
            Protocol::Center => "center",
            Protocol::Box => "box",
            Protocol::BoxJitter => "box-jitter",
            Protocol::Iterative => "iterative",
            Protocol::Promptless => "promptless",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Protocol {
    type Err = EvalError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Protocol::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                EvalError::option(
                    "--protocol",
                    format!(
                        "`{s}`; use one or more of {}",
                        Protocol::ALL.map(Protocol::as_str).join(", ")
                    ),
                )
            })
    }
}

/// What `centroid` does when the centre of mass falls outside its object (`--outside`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutsidePolicy {
    /// Keep the point and flag the instance `centroid_outside` (the paper's behaviour).
    Keep,
    /// Move it to the `center` point and flag `moved_inside`.
    Inside,
}

impl OutsidePolicy {
    /// The name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            OutsidePolicy::Keep => "keep",
            OutsidePolicy::Inside => "inside",
        }
    }
}

impl FromStr for OutsidePolicy {
    type Err = EvalError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "keep" => Ok(OutsidePolicy::Keep),
            "inside" => Ok(OutsidePolicy::Inside),
            other => Err(EvalError::option(
                "--outside",
                format!("`{other}`; use keep or inside"),
            )),
        }
    }
}

/// Flags written to `per_instance.csv`.
pub mod flags {
    /// The centre of mass lies outside the object and was kept.
    pub const CENTROID_OUTSIDE: &str = "centroid_outside";
    /// The centre of mass lay outside the object and was moved to the `center` point.
    pub const MOVED_INSIDE: &str = "moved_inside";
    /// A jittered box side was clipped to the image.
    pub const BOX_CLIPPED: &str = "box_clipped";
    /// The chosen mask is empty (Dice = IoU = NSD = 0, no HD95).
    pub const EMPTY_PREDICTION: &str = "empty_prediction";
    /// The prediction matched the ground truth exactly before the last click.
    pub const PERFECT_EARLY: &str = "perfect_early";
}

/// Protocol parameters shared by all instances of a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProtocolOptions {
    /// `--outside`.
    pub outside: OutsidePolicy,
    /// Largest outward move of a `box-jitter` side, pixels (`--jitter`, default 20).
    pub jitter_px: u32,
    /// Clicks of `iterative`, the first included (`--clicks`, default 10).
    pub clicks: usize,
    /// `--seed`.
    pub seed: u64,
}

impl Default for ProtocolOptions {
    fn default() -> Self {
        Self {
            outside: OutsidePolicy::Keep,
            jitter_px: 20,
            clicks: 10,
            seed: 0,
        }
    }
}

/// A prompt in original-image pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    /// Clicks `(x, y)`.
    pub points: Vec<[f64; 2]>,
    /// 1 = positive, 0 = negative, one per click.
    pub labels: Vec<i32>,
    /// Box `(x0, y0, x1, y1)`, inclusive pixel coordinates.
    pub bbox: Option<[f64; 4]>,
    /// Ask for three candidates and keep the one with the highest predicted IoU.
    pub multimask: bool,
}

impl Prompt {
    fn point(p: [f64; 2]) -> Self {
        Prompt {
            points: vec![p],
            labels: vec![1],
            bbox: None,
            multimask: true,
        }
    }

    fn boxed(b: [f64; 4]) -> Self {
        Prompt {
            points: Vec::new(),
            labels: Vec::new(),
            bbox: Some(b),
            multimask: false,
        }
    }

    /// No points, no box, the single-mask output (`promptless`).
    fn none() -> Self {
        Prompt {
            points: Vec::new(),
            labels: Vec::new(),
            bbox: None,
            multimask: false,
        }
    }

    /// Whether the prompt has neither points nor a box.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty() && self.bbox.is_none()
    }

    /// The prompt as text for the CSV: `point(x y +)` per click, `box(x0 y0 x1 y1)`,
    /// `none` for no prompt.
    pub fn describe(&self) -> String {
        if self.is_empty() {
            return "none".to_string();
        }
        let mut parts: Vec<String> = self
            .points
            .iter()
            .zip(&self.labels)
            .map(|(p, &l)| {
                format!(
                    "point({} {} {})",
                    p[0],
                    p[1],
                    if l == 1 { '+' } else { '-' }
                )
            })
            .collect();
        if let Some(b) = self.bbox {
            parts.push(format!("box({} {} {} {})", b[0], b[1], b[2], b[3]));
        }
        parts.join(" ")
    }
}

/// Centre of mass `(x, y)` = (mean column, mean row) of the pixels, unrounded.
pub fn centroid(pixels: &[u32], width: usize) -> [f64; 2] {
    let n = pixels.len() as f64;
    let (sx, sy) = pixels.iter().fold((0.0, 0.0), |(sx, sy), &p| {
        let p = p as usize;
        (sx + (p % width) as f64, sy + (p / width) as f64)
    });
    [sx / n, sy / n]
}

/// Tight bounding box `(x0, y0, x1, y1)`, inclusive: min/max column and row.
pub fn bounding_box(pixels: &[u32], width: usize) -> [usize; 4] {
    pixels
        .iter()
        .fold([usize::MAX, usize::MAX, 0, 0], |[x0, y0, x1, y1], &p| {
            let (y, x) = (p as usize / width, p as usize % width);
            [x0.min(x), y0.min(y), x1.max(x), y1.max(y)]
        })
}

/// The pixel `(x, y)` of the region farthest from its boundary (Euclidean distance to the
/// nearest pixel outside the region, the image border counting as outside); ties go to the
/// smallest (row, column). `pixels` must be sorted and non-empty.
pub fn interior_point(pixels: &[u32], width: usize) -> [usize; 2] {
    let [x0, y0, x1, y1] = bounding_box(pixels, width);
    // The box plus one pixel of "outside" on every side.
    let (cw, ch) = (x1 - x0 + 3, y1 - y0 + 3);
    let mut outside = vec![true; cw * ch];
    let local = |p: u32| {
        let (y, x) = (p as usize / width, p as usize % width);
        (y - y0 + 1) * cw + (x - x0 + 1)
    };
    for &p in pixels {
        outside[local(p)] = false;
    }
    let depth = squared_edt(&outside, cw, ch, (1.0, 1.0));
    let mut best = (pixels[0], f64::NEG_INFINITY);
    for &p in pixels {
        let d = depth[local(p)];
        if d > best.1 {
            best = (p, d);
        }
    }
    let p = best.0 as usize;
    [p % width, p / width]
}

/// Whether the pixel nearest to `(x, y)` belongs to the sorted `pixels`.
pub fn covers(pixels: &[u32], width: usize, height: usize, point: [f64; 2]) -> bool {
    let (x, y) = ((point[0] + 0.5).floor(), (point[1] + 0.5).floor());
    if x < 0.0 || y < 0.0 || x >= width as f64 || y >= height as f64 {
        return false;
    }
    let flat = y as usize * width + x as usize;
    pixels.binary_search(&(flat as u32)).is_ok()
}

/// The first prompt of `protocol` for the instance with sorted `pixels` in a
/// `width × height` image, and the flags it raises. `key` identifies the instance for the
/// seeded jitter (image id, class, instance).
pub fn first_prompt(
    protocol: Protocol,
    pixels: &[u32],
    width: usize,
    height: usize,
    options: &ProtocolOptions,
    key: &[&str],
) -> (Prompt, Vec<&'static str>) {
    let center = || {
        let [x, y] = interior_point(pixels, width);
        [x as f64, y as f64]
    };
    match protocol {
        Protocol::Centroid => {
            let c = centroid(pixels, width);
            if covers(pixels, width, height, c) {
                (Prompt::point(c), Vec::new())
            } else {
                match options.outside {
                    OutsidePolicy::Keep => (Prompt::point(c), vec![flags::CENTROID_OUTSIDE]),
                    OutsidePolicy::Inside => (Prompt::point(center()), vec![flags::MOVED_INSIDE]),
                }
            }
        }
        Protocol::Center | Protocol::Iterative => (Prompt::point(center()), Vec::new()),
        Protocol::Promptless => (Prompt::none(), Vec::new()),
        Protocol::Box => {
            let b = bounding_box(pixels, width);
            (Prompt::boxed(b.map(|v| v as f64)), Vec::new())
        }
        Protocol::BoxJitter => {
            let [x0, y0, x1, y1] = bounding_box(pixels, width).map(|v| v as i64);
            let mut rng = SplitMix64::keyed(options.seed, key);
            let mut shift = || i64::from(rng.up_to(options.jitter_px));
            // Left, top, right, bottom, in that order.
            let moved = [x0 - shift(), y0 - shift(), x1 + shift(), y1 + shift()];
            let limits = [width as i64 - 1, height as i64 - 1];
            let clipped = [
                moved[0].max(0),
                moved[1].max(0),
                moved[2].min(limits[0]),
                moved[3].min(limits[1]),
            ];
            let flags = if clipped == moved {
                Vec::new()
            } else {
                vec![flags::BOX_CLIPPED]
            };
            (Prompt::boxed(clipped.map(|v| v as f64)), flags)
        }
    }
}

/// The next corrective click of `iterative`: the interior point of the largest error
/// region (8-connected) of `pred` against `gt` — positive (1) in a missed region, negative
/// (0) in a false-positive one; ties go to misses, then to the region met first in raster
/// order. `None` when the prediction is exact.
///
/// # Panics
/// If the masks differ in size.
pub fn corrective_click(gt: &BinaryMask, pred: &BinaryMask) -> Option<([f64; 2], i32)> {
    assert_eq!(gt.data.len(), pred.data.len(), "masks of different sizes");
    let missed: Vec<bool> = gt
        .data
        .iter()
        .zip(&pred.data)
        .map(|(&g, &p)| g != 0 && p == 0)
        .collect();
    let extra: Vec<bool> = gt
        .data
        .iter()
        .zip(&pred.data)
        .map(|(&g, &p)| g == 0 && p != 0)
        .collect();
    let mut best: Option<(Vec<u32>, i32)> = None;
    for (regions, label) in [
        (mask_components(&missed, gt.width), 1),
        (mask_components(&extra, gt.width), 0),
    ] {
        for region in regions {
            if best.as_ref().is_none_or(|(b, _)| region.len() > b.len()) {
                best = Some((region, label));
            }
        }
    }
    best.map(|(region, label)| {
        let [x, y] = interior_point(&region, gt.width);
        ([x as f64, y as f64], label)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sorted flat indices of `#` in rows of `#`/`.`, and the width.
    fn pixels(rows: &[&str]) -> (Vec<u32>, usize, usize) {
        let width = rows[0].len();
        let p = rows
            .iter()
            .flat_map(|r| r.bytes())
            .enumerate()
            .filter(|&(_, b)| b == b'#')
            .map(|(i, _)| i as u32)
            .collect();
        (p, width, rows.len())
    }

    fn mask(rows: &[&str]) -> BinaryMask {
        let (p, width, height) = pixels(rows);
        let mut data = vec![0; width * height];
        for i in p {
            data[i as usize] = 1;
        }
        BinaryMask {
            width,
            height,
            data,
        }
    }

    #[test]
    fn names_round_trip() {
        for p in Protocol::ALL {
            assert_eq!(p.as_str().parse::<Protocol>().unwrap(), p);
        }
        let err = "boxes".parse::<Protocol>().unwrap_err().to_string();
        assert!(
            err.contains("--protocol") && err.contains("box-jitter"),
            "{err}"
        );
    }

    #[test]
    fn promptless_is_no_prompt_and_the_single_mask() {
        let (p, w, h) = pixels(&["....", ".##.", ".#..", "...."]);
        let options = ProtocolOptions::default();
        let (prompt, flags) = first_prompt(Protocol::Promptless, &p, w, h, &options, &[]);
        assert!(prompt.is_empty() && !prompt.multimask && flags.is_empty());
        assert_eq!(prompt.describe(), "none");
        assert!(prompt.points.is_empty() && prompt.labels.is_empty() && prompt.bbox.is_none());
    }

    #[test]
    fn centroid_is_the_unrounded_mean_and_box_is_tight() {
        let (p, w, h) = pixels(&["....", ".##.", ".#..", "...."]);
        let c = centroid(&p, w);
        assert!((c[0] - 4.0 / 3.0).abs() < 1e-12 && (c[1] - 4.0 / 3.0).abs() < 1e-12);
        assert_eq!(bounding_box(&p, w), [1, 1, 2, 2]);
        let (prompt, flags) = first_prompt(Protocol::Centroid, &p, w, h, &Default::default(), &[]);
        assert_eq!(prompt.points, [c]);
        assert!(prompt.multimask && flags.is_empty());
        let (prompt, _) = first_prompt(Protocol::Box, &p, w, h, &Default::default(), &[]);
        assert_eq!(prompt.bbox, Some([1.0, 1.0, 2.0, 2.0]));
        assert!(!prompt.multimask);
    }

    #[test]
    fn centroid_outside_a_ring_is_kept_or_moved() {
        // A C-shaped object whose centre of mass falls in its opening.
        let rows = [
            "#####", //
            "#....", //
            "#....", //
            "#....", //
            "#####",
        ];
        let (p, w, h) = pixels(&rows);
        let c = centroid(&p, w);
        assert!(!covers(&p, w, h, c));
        let keep = first_prompt(Protocol::Centroid, &p, w, h, &Default::default(), &[]);
        assert_eq!(keep.0.points, [c]);
        assert_eq!(keep.1, [flags::CENTROID_OUTSIDE]);
        let inside = ProtocolOptions {
            outside: OutsidePolicy::Inside,
            ..Default::default()
        };
        let moved = first_prompt(Protocol::Centroid, &p, w, h, &inside, &[]);
        assert_eq!(moved.1, [flags::MOVED_INSIDE]);
        let [x, y] = moved.0.points[0];
        assert!(covers(&p, w, h, [x, y]));
    }

    #[test]
    fn center_is_the_deepest_pixel_with_raster_ties() {
        // A 3×5 block: depth is the distance to the nearest outside pixel.
        let (p, w, _) = pixels(&[".......", ".#####.", ".#####.", ".#####.", "......."]);
        // Row 2, columns 2, 3, 4 are each 2 px from the outside; (2,2) comes first.
        assert_eq!(interior_point(&p, w), [2, 2]);
        // A plus sign: its centre is deepest.
        let (p, w, _) = pixels(&["..#..", "..#..", "#####", "..#..", "..#.."]);
        assert_eq!(interior_point(&p, w), [2, 2]);
        // A single pixel is its own centre, even on the image border.
        let (p, w, _) = pixels(&["#..", "..."]);
        assert_eq!(interior_point(&p, w), [0, 0]);
    }

    #[test]
    fn jitter_is_seeded_outward_and_clipped() {
        let (p, w, h) = pixels(&[
            "..........",
            "..........",
            "....##....",
            "....##....",
            "..........",
        ]);
        let options = ProtocolOptions {
            jitter_px: 3,
            seed: 11,
            ..Default::default()
        };
        let key = ["img", "1"];
        let (a, _) = first_prompt(Protocol::BoxJitter, &p, w, h, &options, &key);
        let (b, _) = first_prompt(Protocol::BoxJitter, &p, w, h, &options, &key);
        assert_eq!(a, b, "same seed and key, same box");
        let (c, _) = first_prompt(Protocol::BoxJitter, &p, w, h, &options, &["img", "2"]);
        let (d, _) = first_prompt(Protocol::BoxJitter, &p, w, h, &options, &["img", "3"]);
        assert!(a != c || a != d, "other instances draw other shifts");
        // Over many seeds every shift 0..=3 shows up and boxes never leave the image.
        // The object spans x 4..=5, y 2..=3 of a 10×5 image: left and right never clip, top
        // (2 px of room) and bottom (1 px) sometimes do, and then the box touches the border.
        let (mut lefts, mut clipped) = (std::collections::BTreeSet::new(), 0);
        for seed in 0..200 {
            let o = ProtocolOptions { seed, ..options };
            let (q, f) = first_prompt(Protocol::BoxJitter, &p, w, h, &o, &key);
            let [x0, y0, x1, y1] = q.bbox.unwrap();
            lefts.insert(4 - x0 as i64);
            assert!((5.0..=8.0).contains(&x1) && y0 >= 0.0 && y1 <= 4.0);
            if !f.is_empty() {
                assert_eq!(f, [flags::BOX_CLIPPED]);
                assert!(y0 == 0.0 || y1 == 4.0);
                clipped += 1;
            }
        }
        assert_eq!(lefts.into_iter().collect::<Vec<_>>(), [0, 1, 2, 3]);
        // P(no clip) = P(top shift ≤ 2) · P(bottom shift ≤ 1) = 3/4 · 2/4.
        assert!(
            (100..150).contains(&clipped),
            "{clipped} of 200 clipped (expect 125)"
        );
    }

    #[test]
    fn corrective_clicks_target_the_largest_error() {
        let gt = mask(&["......", ".####.", ".####.", "......"]);
        // Prediction misses the right half (4 px) and adds 1 px at the corner.
        let pred = mask(&["#.....", ".##...", ".##...", "......"]);
        let (p, label) = corrective_click(&gt, &pred).unwrap();
        assert_eq!(label, 1);
        assert_eq!(p, [3.0, 1.0]);
        // Prediction covers GT plus a 4-px L on the right: the click is negative, in the L.
        let pred = mask(&["......", ".#####", ".#####", "....##"]);
        let (p, label) = corrective_click(&gt, &pred).unwrap();
        assert_eq!(label, 0);
        assert!(pred.data[p[1] as usize * 6 + p[0] as usize] == 1 && p[0] >= 4.0);
        assert_eq!(corrective_click(&gt, &gt), None);
    }
}
