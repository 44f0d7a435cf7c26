//! Case figures like the paper's Figures 1–2: the scan around one instance with the
//! predicted mask tinted blue, the ground-truth contour in green and the prompt marked
//! (box yellow, positive clicks yellow, negative clicks red).

use sam::{BinaryMask, RgbImage};

use crate::record::PromptRecord;

/// Long side of a figure, pixels.
pub const FIGURE_SIZE: usize = 256;

const GT_CONTOUR: [u8; 3] = [0, 230, 64];
const PREDICTION: [u8; 3] = [30, 120, 255];
const BOX: [u8; 3] = [255, 215, 0];
const POSITIVE: [u8; 3] = [255, 215, 0];
const NEGATIVE: [u8; 3] = [255, 40, 40];

/// The region a figure shows: everything drawn plus a margin, inside the image.
fn region(truth: &BinaryMask, pred: &BinaryMask, prompt: &PromptRecord) -> [usize; 4] {
    let (w, h) = (truth.width, truth.height);
    let mut b = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    let mut grow = |x: f64, y: f64| {
        b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
    };
    for (i, (&t, &p)) in truth.data.iter().zip(&pred.data).enumerate() {
        if t != 0 || p != 0 {
            grow((i % w) as f64, (i / w) as f64);
        }
    }
    for p in &prompt.points {
        grow(p[0], p[1]);
    }
    if let Some(bx) = prompt.bbox {
        grow(bx[0], bx[1]);
        grow(bx[2], bx[3]);
    }
    if !b[0].is_finite() {
        return [0, 0, w - 1, h - 1];
    }
    let margin = ((b[2] - b[0]).max(b[3] - b[1]) * 0.15).max(8.0);
    [
        (b[0] - margin).max(0.0) as usize,
        (b[1] - margin).max(0.0) as usize,
        ((b[2] + margin).ceil() as usize).min(w - 1),
        ((b[3] + margin).ceil() as usize).min(h - 1),
    ]
}

/// Renders one case. `scan` is the evaluated image (`None` draws on black, e.g. when the
/// data folder is gone); `truth` and `pred` are at its size.
pub fn render(
    scan: Option<&RgbImage>,
    truth: &BinaryMask,
    pred: &BinaryMask,
    prompt: &PromptRecord,
) -> image::RgbImage {
    let w = truth.width;
    let [x0, y0, x1, y1] = region(truth, pred, prompt);
    let (cw, ch) = (x1 - x0 + 1, y1 - y0 + 1);
    let scale = FIGURE_SIZE as f64 / cw.max(ch) as f64;
    let (ow, oh) = (
        ((cw as f64 * scale).round() as usize).max(1),
        ((ch as f64 * scale).round() as usize).max(1),
    );
    // Nearest source pixel of each figure pixel.
    let src_x: Vec<usize> = (0..ow)
        .map(|u| (x0 + (u as f64 / scale) as usize).min(x1))
        .collect();
    let src_y: Vec<usize> = (0..oh)
        .map(|v| (y0 + (v as f64 / scale) as usize).min(y1))
        .collect();
    let inside = |m: &BinaryMask, u: usize, v: usize| m.data[src_y[v] * w + src_x[u]] != 0;
    let mut fig = image::RgbImage::new(ow as u32, oh as u32);
    for (v, &sy) in src_y.iter().enumerate() {
        for (u, &sx) in src_x.iter().enumerate() {
            let i = sy * w + sx;
            let mut px = scan.map_or([0, 0, 0], |s| {
                [s.pixels[i * 3], s.pixels[i * 3 + 1], s.pixels[i * 3 + 2]]
            });
            if pred.data[i] != 0 {
                px = blend(px, PREDICTION, 0.45);
            }
            let t = inside(truth, u, v);
            let edge = t
                && (u == 0
                    || v == 0
                    || u + 1 == ow
                    || v + 1 == oh
                    || !inside(truth, u - 1, v)
                    || !inside(truth, u + 1, v)
                    || !inside(truth, u, v - 1)
                    || !inside(truth, u, v + 1));
            if edge {
                px = GT_CONTOUR;
            }
            fig.put_pixel(u as u32, v as u32, image::Rgb(px));
        }
    }
    let to_fig = |x: f64, y: f64| ((x - x0 as f64 + 0.5) * scale, (y - y0 as f64 + 0.5) * scale);
    if let Some(b) = prompt.bbox {
        let (ax, ay) = to_fig(b[0] - 0.5, b[1] - 0.5);
        let (bx, by) = to_fig(b[2] + 0.5, b[3] + 0.5);
        draw_rect(&mut fig, ax, ay, bx, by, BOX);
    }
    for (p, &label) in prompt.points.iter().zip(&prompt.labels) {
        let (fx, fy) = to_fig(p[0], p[1]);
        draw_plus(
            &mut fig,
            fx,
            fy,
            if label == 1 { POSITIVE } else { NEGATIVE },
        );
    }
    fig
}

fn blend(a: [u8; 3], b: [u8; 3], alpha: f64) -> [u8; 3] {
    [0, 1, 2].map(|c| (a[c] as f64 * (1.0 - alpha) + b[c] as f64 * alpha).round() as u8)
}

fn put(fig: &mut image::RgbImage, x: i64, y: i64, colour: [u8; 3]) {
    if x >= 0 && y >= 0 && (x as u32) < fig.width() && (y as u32) < fig.height() {
        fig.put_pixel(x as u32, y as u32, image::Rgb(colour));
    }
}

fn draw_rect(fig: &mut image::RgbImage, ax: f64, ay: f64, bx: f64, by: f64, colour: [u8; 3]) {
    let (ax, ay, bx, by) = (ax as i64, ay as i64, bx as i64, by as i64);
    for t in 0..2 {
        for x in ax..=bx {
            put(fig, x, ay + t, colour);
            put(fig, x, by - t, colour);
        }
        for y in ay..=by {
            put(fig, ax + t, y, colour);
            put(fig, bx - t, y, colour);
        }
    }
}

/// A plus sign with a black outline, readable on any background.
fn draw_plus(fig: &mut image::RgbImage, x: f64, y: f64, colour: [u8; 3]) {
    let (x, y) = (x as i64, y as i64);
    const ARM: i64 = 6;
    for d in -ARM - 1..=ARM + 1 {
        for o in -1..=1 {
            put(fig, x + d, y + o, [0, 0, 0]);
            put(fig, x + o, y + d, [0, 0, 0]);
        }
    }
    for d in -ARM..=ARM {
        put(fig, x + d, y, colour);
        put(fig, x, y + d, colour);
    }
}

/// PNG bytes of a figure.
pub fn png(fig: &image::RgbImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    fig.write_to(&mut out, image::ImageFormat::Png)
        .expect("PNG encoding to memory does not fail");
    out.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(
        w: usize,
        h: usize,
        x: std::ops::Range<usize>,
        y: std::ops::Range<usize>,
    ) -> BinaryMask {
        let mut data = vec![0; w * h];
        for r in y {
            for c in x.clone() {
                data[r * w + c] = 1;
            }
        }
        BinaryMask {
            width: w,
            height: h,
            data,
        }
    }

    #[test]
    fn figure_shows_contour_prediction_and_prompt() {
        let truth = square(100, 80, 40..50, 30..40);
        let pred = square(100, 80, 42..52, 30..40);
        let scan = RgbImage::new(100, 80, vec![100; 100 * 80 * 3]).unwrap();
        let prompt = PromptRecord {
            points: vec![[45.0, 35.0]],
            labels: vec![1],
            bbox: None,
            text: String::new(),
        };
        let fig = render(Some(&scan), &truth, &pred, &prompt);
        assert_eq!(fig.width().max(fig.height()) as usize, FIGURE_SIZE);
        let colours: std::collections::BTreeSet<[u8; 3]> = fig.pixels().map(|p| p.0).collect();
        assert!(colours.contains(&GT_CONTOUR));
        assert!(colours.contains(&blend([100; 3], PREDICTION, 0.45)));
        assert!(colours.contains(&POSITIVE) && colours.contains(&[100, 100, 100]));
        assert!(png(&fig).starts_with(b"\x89PNG"));
        // Without a scan, and with a box, still drawn.
        let boxed = PromptRecord {
            points: vec![],
            labels: vec![],
            bbox: Some([40.0, 30.0, 49.0, 39.0]),
            text: String::new(),
        };
        let fig = render(None, &truth, &pred, &boxed);
        assert!(fig.pixels().any(|p| p.0 == BOX));
    }
}
