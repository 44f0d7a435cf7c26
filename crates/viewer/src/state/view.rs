//! The canvas view: the screen ↔ image mapping, the press in progress, and the display
//! options (overlay opacity, FP/FN colours, hover preview, panning with space held).

use crate::volume::WindowLevel;

/// Screen ↔ image mapping: screen = image × scale + offset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct View {
    /// Screen pixels per image pixel.
    pub scale: f64,
    /// Screen x of image x = 0.
    pub ox: f64,
    /// Screen y of image y = 0.
    pub oy: f64,
}

impl Default for View {
    fn default() -> Self {
        Self {
            scale: 1.0,
            ox: 0.0,
            oy: 0.0,
        }
    }
}

impl View {
    /// The whole image centred in a `cw × ch` canvas.
    pub fn fit(cw: f64, ch: f64, iw: f64, ih: f64) -> Self {
        let scale = (cw / iw).min(ch / ih).max(1e-3);
        Self {
            scale,
            ox: (cw - iw * scale) / 2.0,
            oy: (ch - ih * scale) / 2.0,
        }
    }

    /// Image coordinates of a screen point.
    pub fn to_image(&self, sx: f64, sy: f64) -> (f64, f64) {
        ((sx - self.ox) / self.scale, (sy - self.oy) / self.scale)
    }

    /// Zooms by `factor` keeping the image point under `(sx, sy)` in place.
    pub fn zoom_at(&mut self, sx: f64, sy: f64, factor: f64) {
        let (ix, iy) = self.to_image(sx, sy);
        self.scale = (self.scale * factor).clamp(0.02, 64.0);
        self.ox = sx - ix * self.scale;
        self.oy = sy - iy * self.scale;
    }
}

/// A press on the canvas in progress.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Drag {
    /// Moving the view.
    Pan {
        /// Last screen x.
        x: f64,
        /// Last screen y.
        y: f64,
    },
    /// A click or a box, decided on release.
    Prompt {
        /// Screen start.
        sx: f64,
        /// Screen start.
        sy: f64,
        /// Image start.
        ix: f64,
        /// Image start.
        iy: f64,
        /// Moved far enough to be a box.
        boxing: bool,
        /// Current image position.
        cx: f64,
        /// Current image position.
        cy: f64,
    },
    /// Ctrl+drag on a volume slice: horizontal = window width, vertical = level.
    Window {
        /// Screen start.
        sx: f64,
        /// Screen start.
        sy: f64,
        /// The window when the drag began.
        start: WindowLevel,
    },
}

impl Drag {
    /// The box being dragged, image coordinates `[x0, y0, x1, y1]` (min, max).
    pub fn dragging_box(&self) -> Option<[f64; 4]> {
        match *self {
            Drag::Prompt {
                ix,
                iy,
                cx,
                cy,
                boxing: true,
                ..
            } => Some([ix.min(cx), iy.min(cy), ix.max(cx), iy.max(cy)]),
            _ => None,
        }
    }
}

/// What the canvas shows and how.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewState {
    /// Screen mapping.
    pub view: View,
    /// Press in progress.
    pub drag: Option<Drag>,
    /// Space held (pan).
    pub space_down: bool,
    /// Overlay opacity 0–1.
    pub opacity: f64,
    /// FP/FN overlay.
    pub show_errors: bool,
    /// Hover preview on.
    pub hover: bool,
}

impl Default for ViewState {
    fn default() -> Self {
        Self {
            view: View::default(),
            drag: None,
            space_down: false,
            opacity: 0.5,
            show_errors: false,
            hover: false,
        }
    }
}
