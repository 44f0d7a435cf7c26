//! Drawing: the scan, the mask overlay (or the FP/FN overlay), the prompts, the box being
//! dragged, and the IoU-per-click chart.

use api::BinaryMask;
use api::{Action, Step};
use wasm_bindgen::{Clamped, JsCast};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, HtmlImageElement, ImageData};

use crate::ground_truth::{Agreement, GroundTruth};
use crate::ui::dom::document;

pub use crate::state::View;

fn context(canvas: &HtmlCanvasElement) -> CanvasRenderingContext2d {
    canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into().ok())
        .expect("a 2D canvas context")
}

/// An image-sized canvas holding a mask in colour: the mask in `rgb`, or, with a ground
/// truth, true positives green, false positives red, false negatives blue.
pub fn overlay(mask: &BinaryMask, errors: Option<(&GroundTruth, u16)>) -> HtmlCanvasElement {
    let canvas: HtmlCanvasElement = document()
        .create_element("canvas")
        .expect("creating a canvas")
        .unchecked_into();
    canvas.set_width(mask.width as u32);
    canvas.set_height(mask.height as u32);
    let mut rgba = vec![0u8; mask.width * mask.height * 4];
    for (i, px) in rgba.chunks_exact_mut(4).enumerate() {
        let colour = match errors {
            Some((gt, label)) => match gt.agreement(label, mask, i) {
                Agreement::TruePositive => Some([60, 220, 120]),
                Agreement::FalsePositive => Some([255, 70, 70]),
                Agreement::FalseNegative => Some([70, 140, 255]),
                Agreement::TrueNegative => None,
            },
            None => (mask.data[i] != 0).then_some([79, 179, 255]),
        };
        if let Some([r, g, b]) = colour {
            px.copy_from_slice(&[r, g, b, 255]);
        }
    }
    let data = ImageData::new_with_u8_clamped_array_and_sh(
        Clamped(&rgba),
        mask.width as u32,
        mask.height as u32,
    )
    .expect("image data");
    context(&canvas)
        .put_image_data(&data, 0.0, 0.0)
        .expect("drawing the overlay");
    canvas
}

/// The RGBA pixels of a loaded image (same origin, so readable).
pub fn pixels(image: &HtmlImageElement) -> Option<Vec<u8>> {
    let (w, h) = (image.natural_width(), image.natural_height());
    let canvas: HtmlCanvasElement = document().create_element("canvas").ok()?.unchecked_into();
    canvas.set_width(w);
    canvas.set_height(h);
    let ctx = context(&canvas);
    ctx.draw_image_with_html_image_element(image, 0.0, 0.0)
        .ok()?;
    let data = ctx
        .get_image_data(0.0, 0.0, f64::from(w), f64::from(h))
        .ok()?;
    Some(data.data().0)
}

/// A `width × height` canvas showing `rgba` with `lut` applied to the colour channels
/// (the instant preview of a window change).
pub fn remapped(
    rgba: &[u8],
    width: u32,
    height: u32,
    lut: &[u8; 256],
) -> Option<HtmlCanvasElement> {
    let mut out = rgba.to_vec();
    for px in out.chunks_exact_mut(4) {
        for c in &mut px[..3] {
            *c = lut[*c as usize];
        }
    }
    let canvas: HtmlCanvasElement = document().create_element("canvas").ok()?.unchecked_into();
    canvas.set_width(width);
    canvas.set_height(height);
    let data = ImageData::new_with_u8_clamped_array_and_sh(Clamped(&out), width, height).ok()?;
    context(&canvas).put_image_data(&data, 0.0, 0.0).ok()?;
    Some(canvas)
}

/// Everything the main canvas shows.
pub struct Scene<'a> {
    /// The scan.
    pub image: Option<&'a HtmlImageElement>,
    /// Drawn instead of the scan: a client-side preview of a window change.
    pub image_preview: Option<&'a HtmlCanvasElement>,
    /// The mask overlay (see [`overlay`]).
    pub overlay: Option<&'a HtmlCanvasElement>,
    /// A hover preview overlay.
    pub preview: Option<&'a HtmlCanvasElement>,
    /// Overlay opacity, 0–1.
    pub opacity: f64,
    /// The session's steps.
    pub steps: &'a [Step],
    /// A box being dragged, image coordinates.
    pub dragging: Option<[f64; 4]>,
    /// Mapping.
    pub view: View,
}

/// Draws `scene` on `canvas` (sized to its CSS box).
pub fn draw(canvas: &HtmlCanvasElement, scene: &Scene<'_>) {
    let (w, h) = (canvas.client_width().max(1), canvas.client_height().max(1));
    if canvas.width() != w as u32 || canvas.height() != h as u32 {
        canvas.set_width(w as u32);
        canvas.set_height(h as u32);
    }
    let ctx = context(canvas);
    ctx.set_transform(1.0, 0.0, 0.0, 1.0, 0.0, 0.0).ok();
    ctx.set_fill_style_str("#0b0d10");
    ctx.fill_rect(0.0, 0.0, w as f64, h as f64);
    let Some(image) = scene.image else {
        return;
    };
    let v = scene.view;
    ctx.set_image_smoothing_enabled(v.scale < 1.0);
    ctx.set_transform(v.scale, 0.0, 0.0, v.scale, v.ox, v.oy)
        .ok();
    match scene.image_preview {
        Some(preview) => ctx
            .draw_image_with_html_canvas_element(preview, 0.0, 0.0)
            .ok(),
        None => ctx.draw_image_with_html_image_element(image, 0.0, 0.0).ok(),
    };
    for (layer, alpha) in [
        (scene.overlay, scene.opacity),
        (scene.preview, scene.opacity * 0.6),
    ] {
        if let Some(layer) = layer {
            ctx.set_global_alpha(alpha);
            ctx.draw_image_with_html_canvas_element(layer, 0.0, 0.0)
                .ok();
            ctx.set_global_alpha(1.0);
        }
    }
    ctx.set_transform(1.0, 0.0, 0.0, 1.0, 0.0, 0.0).ok();
    let to_screen = |x: f64, y: f64| (x * v.scale + v.ox, y * v.scale + v.oy);
    // Coordinates are pixel indices: draw at pixel centres.
    let centre = |x: f64, y: f64| to_screen(x + 0.5, y + 0.5);
    let draw_box = |b: [f64; 4], colour: &str| {
        let (x0, y0) = to_screen(b[0], b[1]);
        let (x1, y1) = to_screen(b[2] + 1.0, b[3] + 1.0);
        ctx.set_stroke_style_str(colour);
        ctx.set_line_width(2.0);
        ctx.stroke_rect(x0, y0, x1 - x0, y1 - y0);
    };
    let last_box = scene.steps.iter().rev().find_map(|s| match s.action {
        Action::Box { x0, y0, x1, y1 } => Some([x0, y0, x1, y1]),
        Action::Point { .. } => None,
    });
    if let Some(b) = last_box {
        draw_box(b, "#ffd24f");
    }
    if let Some(b) = scene.dragging {
        draw_box(b, "#ffffff");
    }
    for step in scene.steps {
        if let Action::Point { x, y, positive } = step.action {
            let (sx, sy) = centre(x, y);
            ctx.begin_path();
            ctx.arc(sx, sy, 5.0, 0.0, std::f64::consts::TAU).ok();
            ctx.set_fill_style_str(if positive { "#3cdc78" } else { "#ff4646" });
            ctx.fill();
            ctx.set_stroke_style_str("#000000");
            ctx.set_line_width(1.5);
            ctx.stroke();
        }
    }
}

/// Draws IoU after each click (`None` where unknown) on the chart canvas.
pub fn chart(canvas: &HtmlCanvasElement, values: &[Option<f64>]) {
    let ctx = context(canvas);
    let (w, h) = (canvas.width() as f64, canvas.height() as f64);
    let pad = 14.0;
    ctx.clear_rect(0.0, 0.0, w, h);
    ctx.set_stroke_style_str("#2a313b");
    ctx.set_line_width(1.0);
    for q in [0.0, 0.5, 1.0] {
        let y = h - pad - q * (h - 2.0 * pad);
        ctx.begin_path();
        ctx.move_to(pad, y);
        ctx.line_to(w - 4.0, y);
        ctx.stroke();
    }
    ctx.set_fill_style_str("#9aa4b2");
    ctx.set_font("10px sans-serif");
    ctx.fill_text("IoU per click", pad, 10.0).ok();
    let n = values.len().max(2) as f64;
    let point = |i: usize, v: f64| {
        (
            pad + i as f64 * (w - pad - 8.0) / (n - 1.0),
            h - pad - v * (h - 2.0 * pad),
        )
    };
    ctx.set_stroke_style_str("#4fb3ff");
    ctx.set_line_width(2.0);
    ctx.begin_path();
    let mut started = false;
    for (i, v) in values.iter().enumerate() {
        if let Some(v) = v {
            let (x, y) = point(i, *v);
            if started {
                ctx.line_to(x, y);
            } else {
                ctx.move_to(x, y);
                started = true;
            }
        }
    }
    ctx.stroke();
    ctx.set_fill_style_str("#4fb3ff");
    for (i, v) in values.iter().enumerate() {
        if let Some(v) = v {
            let (x, y) = point(i, *v);
            ctx.fill_rect(x - 2.0, y - 2.0, 4.0, 4.0);
        }
    }
}
