//! Image and coordinate transforms around the model (the official `utils/transforms.py`
//! and the LiteMedSAM upstream preprocessing), kept apart from the model itself.
//!
//! Everything here works on plain buffers: `u8` RGB images in row-major `H×W×3` order.

use crate::prompt_encoder::Prompts;

/// An 8-bit RGB image, row-major `height × width × 3`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RgbImage {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `height * width * 3` bytes.
    pub pixels: Vec<u8>,
}

impl RgbImage {
    /// Wraps a buffer; `None` when its length is not `width * height * 3`.
    pub fn new(width: usize, height: usize, pixels: Vec<u8>) -> Option<Self> {
        (pixels.len() == width.checked_mul(height)?.checked_mul(3)?).then_some(Self {
            width,
            height,
            pixels,
        })
    }
}

/// Size `(height, width)` after scaling the longest side to `long_side`, each side rounded
/// half up (`ResizeLongestSide.get_preprocess_shape`).
pub fn preprocess_shape(height: usize, width: usize, long_side: usize) -> (usize, usize) {
    let scale = long_side as f64 / height.max(width) as f64;
    let round = |v: usize| (v as f64 * scale + 0.5) as usize;
    (round(height), round(width))
}

/// Maps a point `(x, y)` from original pixels to the resized frame, per axis
/// (`ResizeLongestSide.apply_coords`, computed in f64 as NumPy does).
pub fn apply_coords(
    point: [f64; 2],
    original: (usize, usize),
    resized: (usize, usize),
) -> [f32; 2] {
    let sx = resized.1 as f64 / original.1 as f64;
    let sy = resized.0 as f64 / original.0 as f64;
    [(point[0] * sx) as f32, (point[1] * sy) as f32]
}

/// Maps a box `(x0, y0, x1, y1)` like [`apply_coords`] maps its two corners.
pub fn apply_box(bbox: [f64; 4], original: (usize, usize), resized: (usize, usize)) -> [f32; 4] {
    let [x0, y0] = apply_coords([bbox[0], bbox[1]], original, resized);
    let [x1, y1] = apply_coords([bbox[2], bbox[3]], original, resized);
    [x0, y0, x1, y1]
}

/// Prompts in original-image pixels (points `N×(x, y)`, one label each, an optional box
/// `(x0, y0, x1, y1)`) mapped into the model frame, as `ResizeLongestSide` maps them.
pub fn model_prompts(
    points: &[[f64; 2]],
    labels: &[i32],
    bbox: Option<[f64; 4]>,
    original: (usize, usize),
    resized: (usize, usize),
) -> Prompts {
    Prompts {
        points: points
            .iter()
            .map(|&p| apply_coords(p, original, resized))
            .collect(),
        labels: labels.to_vec(),
        bbox: bbox.map(|b| apply_box(b, original, resized)),
    }
}

/// OpenCV's `cvRound` on a float: nearest, ties to even, saturated to `u8`.
fn saturate_u8(v: f32) -> u8 {
    v.round_ties_even().clamp(0.0, 255.0) as u8
}

/// One output cell's contribution from one source index (OpenCV `DecimateAlpha`).
struct AreaTap {
    dst: usize,
    src: usize,
    alpha: f32,
}

/// OpenCV `computeResizeAreaTab`: the source spans of each output cell for a
/// non-integer downscale `scale = src/dst`.
fn area_taps(src_len: usize, dst_len: usize, scale: f64) -> Vec<AreaTap> {
    let mut taps = Vec::with_capacity(src_len * 2);
    for dx in 0..dst_len {
        let fsx1 = dx as f64 * scale;
        let fsx2 = fsx1 + scale;
        let cell_width = scale.min(src_len as f64 - fsx1);
        let mut sx2 = fsx2.floor() as i64;
        let sx1 = (fsx1.ceil() as i64).min(sx2.min(src_len as i64 - 1));
        sx2 = sx2.min(src_len as i64 - 1);
        if sx1 as f64 - fsx1 > 1e-3 {
            taps.push(AreaTap {
                dst: dx,
                src: (sx1 - 1) as usize,
                alpha: ((sx1 as f64 - fsx1) / cell_width) as f32,
            });
        }
        for sx in sx1..sx2 {
            taps.push(AreaTap {
                dst: dx,
                src: sx as usize,
                alpha: (1.0 / cell_width) as f32,
            });
        }
        if fsx2 - sx2 as f64 > 1e-3 {
            taps.push(AreaTap {
                dst: dx,
                src: sx2 as usize,
                alpha: ((fsx2 - sx2 as f64).min(1.0).min(cell_width) / cell_width) as f32,
            });
        }
    }
    taps
}

/// Resizes like OpenCV `cv2.resize(img, (new_w, new_h), interpolation=cv2.INTER_AREA)` on
/// a 3-channel `u8` image: exact area averaging for downscales (with the integer-factor
/// fast path), area-weighted linear interpolation for upscales.
pub fn resize_area(image: &RgbImage, new_h: usize, new_w: usize) -> RgbImage {
    let (h, w) = (image.height, image.width);
    let inv_scale_x = new_w as f64 / w as f64;
    let inv_scale_y = new_h as f64 / h as f64;
    let scale_x = 1.0 / inv_scale_x;
    let scale_y = 1.0 / inv_scale_y;
    let pixels = if scale_x >= 1.0 && scale_y >= 1.0 {
        let (ix, iy) = (scale_x as i64, scale_y as i64);
        let integer = (scale_x - ix as f64).abs() < f64::EPSILON
            && (scale_y - iy as f64).abs() < f64::EPSILON;
        if integer {
            resize_area_integer(image, new_h, new_w, ix as usize, iy as usize)
        } else {
            resize_area_fractional(image, new_h, new_w, scale_x, scale_y)
        }
    } else {
        resize_area_upscale(image, new_h, new_w, inv_scale_x, inv_scale_y)
    };
    RgbImage {
        width: new_w,
        height: new_h,
        pixels,
    }
}

/// OpenCV `resizeArea_<uchar, float>`: float accumulation row by row.
fn resize_area_fractional(
    image: &RgbImage,
    new_h: usize,
    new_w: usize,
    scale_x: f64,
    scale_y: f64,
) -> Vec<u8> {
    const CN: usize = 3;
    let xtab = area_taps(image.width, new_w, scale_x);
    let ytab = area_taps(image.height, new_h, scale_y);
    let row_len = new_w * CN;
    let mut out = vec![0u8; new_h * row_len];
    let mut buf = vec![0f32; row_len];
    let mut sum = vec![0f32; row_len];
    let mut prev_dy = ytab.first().map_or(0, |t| t.dst);
    let src_row = image.width * CN;
    for ty in &ytab {
        let beta = ty.alpha;
        let row = &image.pixels[ty.src * src_row..(ty.src + 1) * src_row];
        buf.iter_mut().for_each(|b| *b = 0.0);
        for tx in &xtab {
            let (d, s) = (tx.dst * CN, tx.src * CN);
            for k in 0..CN {
                buf[d + k] += row[s + k] as f32 * tx.alpha;
            }
        }
        if ty.dst != prev_dy {
            let dst = &mut out[prev_dy * row_len..(prev_dy + 1) * row_len];
            for ((o, s), b) in dst.iter_mut().zip(sum.iter_mut()).zip(&buf) {
                *o = saturate_u8(*s);
                *s = beta * b;
            }
            prev_dy = ty.dst;
        } else {
            for (s, b) in sum.iter_mut().zip(&buf) {
                *s += beta * b;
            }
        }
    }
    let dst = &mut out[prev_dy * row_len..(prev_dy + 1) * row_len];
    for (o, s) in dst.iter_mut().zip(&sum) {
        *o = saturate_u8(*s);
    }
    out
}

/// OpenCV `resizeAreaFast_`: block averages for integer factors. For the 2×2 case
/// OpenCV's SIMD kernel rounds `(a+b+c+d+2) >> 2`; other factors round `sum/area`
/// to nearest even.
fn resize_area_integer(
    image: &RgbImage,
    new_h: usize,
    new_w: usize,
    fx: usize,
    fy: usize,
) -> Vec<u8> {
    const CN: usize = 3;
    let scale = 1.0f32 / (fx * fy) as f32;
    let src_row = image.width * CN;
    let mut out = vec![0u8; new_h * new_w * CN];
    for dy in 0..new_h {
        for dx in 0..new_w {
            for k in 0..CN {
                let mut sum = 0u32;
                for yy in 0..fy {
                    let row = (dy * fy + yy) * src_row;
                    for xx in 0..fx {
                        sum += image.pixels[row + (dx * fx + xx) * CN + k] as u32;
                    }
                }
                out[(dy * new_w + dx) * CN + k] = if fx == 2 && fy == 2 {
                    ((sum + 2) >> 2) as u8
                } else {
                    saturate_u8(sum as f32 * scale)
                };
            }
        }
    }
    out
}

/// Fixed-point scale of OpenCV's interpolation coefficients (`INTER_RESIZE_COEF_SCALE`).
const COEF_SCALE: f32 = 2048.0;

/// Per-output-index source offset and fixed-point weights for OpenCV's INTER_AREA upscale.
fn upscale_taps(src_len: usize, dst_len: usize, inv_scale: f64) -> Vec<(usize, usize, i32, i32)> {
    let scale = 1.0 / inv_scale;
    (0..dst_len)
        .map(|d| {
            let mut sx = (d as f64 * scale).floor() as i64;
            let mut f = ((d + 1) as f64 - (sx + 1) as f64 * inv_scale) as f32;
            f = if f <= 0.0 { 0.0 } else { f - f.floor() };
            if sx < 0 {
                sx = 0;
                f = 0.0;
            }
            if sx >= src_len as i64 - 1 {
                sx = src_len as i64 - 1;
                f = 0.0;
            }
            let s0 = sx as usize;
            let s1 = (s0 + 1).min(src_len - 1);
            let w0 = ((1.0 - f) * COEF_SCALE).round_ties_even() as i32;
            let w1 = (f * COEF_SCALE).round_ties_even() as i32;
            (s0, s1, w0, w1)
        })
        .collect()
}

/// OpenCV's INTER_AREA upscale: linear interpolation with area-derived weights, in
/// fixed point as its SIMD path computes it.
fn resize_area_upscale(
    image: &RgbImage,
    new_h: usize,
    new_w: usize,
    inv_scale_x: f64,
    inv_scale_y: f64,
) -> Vec<u8> {
    const CN: usize = 3;
    let xt = upscale_taps(image.width, new_w, inv_scale_x);
    let yt = upscale_taps(image.height, new_h, inv_scale_y);
    let src_row = image.width * CN;
    let horizontal = |sy: usize| -> Vec<i32> {
        let row = &image.pixels[sy * src_row..(sy + 1) * src_row];
        xt.iter()
            .flat_map(|&(s0, s1, w0, w1)| {
                (0..CN).map(move |k| {
                    if w1 == 0 {
                        row[s0 * CN + k] as i32 * COEF_SCALE as i32
                    } else {
                        row[s0 * CN + k] as i32 * w0 + row[s1 * CN + k] as i32 * w1
                    }
                })
            })
            .collect()
    };
    let mut out = Vec::with_capacity(new_h * new_w * CN);
    for &(s0, s1, b0, b1) in &yt {
        let r0 = horizontal(s0);
        let r1 = horizontal(s1);
        out.extend(r0.iter().zip(&r1).map(|(&a, &b)| {
            let t = ((((a >> 4) * b0) >> 16) + (((b >> 4) * b1) >> 16) + 2) >> 2;
            t.clamp(0, 255) as u8
        }));
    }
    out
}

/// Fixed-point precision of Pillow's 8-bit resampling (`PRECISION_BITS`).
const PIL_PRECISION_BITS: u32 = 32 - 8 - 2;

/// Pillow `precompute_coeffs` for the bilinear (triangle) filter, then
/// `normalize_coeffs_8bpc`: per output index, the first source index and fixed-point weights.
fn pil_bilinear_coeffs(in_size: usize, out_size: usize) -> Vec<(usize, Vec<i32>)> {
    let scale = in_size as f64 / out_size as f64;
    let filterscale = scale.max(1.0);
    let support = filterscale; // the triangle filter's support is 1.0
    (0..out_size)
        .map(|xx| {
            let center = (xx as f64 + 0.5) * scale;
            let ss = 1.0 / filterscale;
            let xmin = ((center - support + 0.5) as i64).max(0) as usize;
            let xmax = ((center + support + 0.5) as i64).min(in_size as i64) as usize;
            let weights: Vec<f64> = (xmin..xmax)
                .map(|x| {
                    let t = ((x as f64 - center + 0.5) * ss).abs();
                    if t < 1.0 { 1.0 - t } else { 0.0 }
                })
                .collect();
            let total: f64 = weights.iter().sum();
            let fixed = weights
                .iter()
                .map(|&w| {
                    let k = if total != 0.0 { w / total } else { w };
                    let scaled = k * (1u64 << PIL_PRECISION_BITS) as f64;
                    if k < 0.0 {
                        (scaled - 0.5) as i32
                    } else {
                        (scaled + 0.5) as i32
                    }
                })
                .collect();
            (xmin, fixed)
        })
        .collect()
}

/// Pillow `clip8`: drop the fixed-point fraction and saturate.
fn pil_clip8(v: i64) -> u8 {
    (v >> PIL_PRECISION_BITS).clamp(0, 255) as u8
}

/// Resizes like `PIL.Image.resize((new_w, new_h), Image.BILINEAR)` on an RGB image (what the
/// official `ResizeLongestSide.apply_image` does): antialiased triangle filter, horizontal
/// pass then vertical pass, 8-bit fixed point in between.
pub fn resize_bilinear_pil(image: &RgbImage, new_h: usize, new_w: usize) -> RgbImage {
    const CN: usize = 3;
    let round = 1i64 << (PIL_PRECISION_BITS - 1);
    let horizontal = if new_w != image.width {
        let coeffs = pil_bilinear_coeffs(image.width, new_w);
        let mut out = vec![0u8; image.height * new_w * CN];
        for y in 0..image.height {
            let row = &image.pixels[y * image.width * CN..(y + 1) * image.width * CN];
            for (x, (xmin, k)) in coeffs.iter().enumerate() {
                for c in 0..CN {
                    let acc = k.iter().enumerate().fold(round, |acc, (i, &w)| {
                        acc + row[(xmin + i) * CN + c] as i64 * w as i64
                    });
                    out[(y * new_w + x) * CN + c] = pil_clip8(acc);
                }
            }
        }
        RgbImage {
            width: new_w,
            height: image.height,
            pixels: out,
        }
    } else {
        image.clone()
    };
    if new_h == horizontal.height {
        return horizontal;
    }
    let coeffs = pil_bilinear_coeffs(horizontal.height, new_h);
    let row_len = new_w * CN;
    let mut out = vec![0u8; new_h * row_len];
    for (y, (ymin, k)) in coeffs.iter().enumerate() {
        for i in 0..row_len {
            let acc = k.iter().enumerate().fold(round, |acc, (j, &w)| {
                acc + horizontal.pixels[(ymin + j) * row_len + i] as i64 * w as i64
            });
            out[y * row_len + i] = pil_clip8(acc);
        }
    }
    RgbImage {
        width: new_w,
        height: new_h,
        pixels: out,
    }
}

/// LiteMedSAM input: min–max normalise the resized image to [0, 1] over all channels
/// (computed in f64 as NumPy does), zero-pad bottom/right to `size×size`, CHW order.
pub fn min_max_normalize_pad(resized: &RgbImage, size: usize) -> Vec<f32> {
    let (lo, hi) = resized
        .pixels
        .iter()
        .fold((u8::MAX, u8::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let range = (hi as f64 - lo as f64).max(1e-8);
    pad_chw(resized, size, |_, v| {
        ((v as f64 - lo as f64) / range) as f32
    })
}

/// SAM ViT input: `(x - mean) / std` per channel, zero-pad bottom/right, CHW order.
pub fn mean_std_normalize_pad(
    resized: &RgbImage,
    size: usize,
    mean: [f32; 3],
    std: [f32; 3],
) -> Vec<f32> {
    pad_chw(resized, size, |c, v| (v as f32 - mean[c]) / std[c])
}

fn pad_chw(resized: &RgbImage, size: usize, value: impl Fn(usize, u8) -> f32) -> Vec<f32> {
    let mut out = vec![0f32; 3 * size * size];
    for y in 0..resized.height.min(size) {
        for x in 0..resized.width.min(size) {
            for c in 0..3 {
                let v = resized.pixels[(y * resized.width + x) * 3 + c];
                out[c * size * size + y * size + x] = value(c, v);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preprocess_shape_rounds_half_up() {
        assert_eq!(preprocess_shape(512, 640, 256), (205, 256));
        assert_eq!(preprocess_shape(100, 50, 256), (256, 128));
        assert_eq!(preprocess_shape(3, 2, 1024), (1024, 683));
    }

    #[test]
    fn area_downscale_of_constant_image_is_constant() {
        let img = RgbImage::new(37, 23, vec![200; 37 * 23 * 3]).unwrap();
        let out = resize_area(&img, 11, 17);
        assert!(out.pixels.iter().all(|&v| v == 200));
    }

    #[test]
    fn area_integer_factor_averages_blocks() {
        // 4×2 image, one channel pattern repeated over RGB: blocks [0,2,4,6] and [8,8,8,9].
        let vals = [0u8, 2, 8, 8, 4, 6, 8, 9];
        let pixels = vals.iter().flat_map(|&v| [v; 3]).collect();
        let img = RgbImage::new(4, 2, pixels).unwrap();
        let out = resize_area(&img, 1, 2);
        assert_eq!(out.pixels, vec![3, 3, 3, 8, 8, 8]);
    }

    #[test]
    fn min_max_normalisation_spans_unit_interval_and_pads_with_zero() {
        let img = RgbImage::new(2, 1, vec![10, 20, 30, 40, 50, 60]).unwrap();
        let t = min_max_normalize_pad(&img, 3);
        assert_eq!(t.len(), 27);
        assert_eq!(t[0], 0.0); // R of pixel (0,0)
        assert_eq!(t[2 * 9 + 1], 1.0); // B of pixel (0,1)
        assert_eq!(t[3], 0.0); // padding row
    }

    #[test]
    fn coords_scale_per_axis() {
        let p = apply_coords([10.0, 20.0], (200, 100), (256, 128));
        assert_eq!(p, [12.8, 25.6]);
    }
}
