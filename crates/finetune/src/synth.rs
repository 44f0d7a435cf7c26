//! Synthetic retinal fundus photographs with exact vessel masks (the data of the paper's
//! vessel experiment, which cannot be downloaded here).
//!
//! One image is a circular field of view on black with a fundus-like background: an
//! orange-red base colour, vignetting, a tilted illumination ramp and low-frequency
//! blotches, a bright optic disc, a darker macula and choroidal texture. Vessel trees grow
//! from the disc — two temporal arcades that bend towards the macula and a few nasal
//! vessels — as random walks that taper and branch; each step is a capsule (a segment
//! with a radius). The mask is exactly the union of the capsules (a pixel is vessel when
//! its centre lies within the radius of a segment) inside the field of view; the image
//! darkens the background under the same capsules with an anti-aliased profile, more in
//! green than in red (as in real fundus photographs), less for thin vessels, then adds
//! Gaussian noise and a random gamma. Everything follows from the seed and the image's
//! key, so a dataset is reproducible bit for bit.

use std::f64::consts::PI;

use eval::rng::SplitMix64;

/// Size of the generated images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SynthConfig {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
}

impl Default for SynthConfig {
    /// DRIVE's size, 565 × 584.
    fn default() -> Self {
        Self {
            width: 565,
            height: 584,
        }
    }
}

/// One generated fundus photograph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthImage {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// 8-bit RGB, row-major.
    pub rgb: Vec<u8>,
    /// Vessel mask, 1 = vessel, row-major.
    pub vessels: Vec<u8>,
    /// Field of view, 1 = inside, row-major.
    pub fov: Vec<u8>,
}

/// Uniform and normal variates on top of [`SplitMix64`].
struct Rng(SplitMix64);

impl Rng {
    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[a, b)`.
    fn range(&mut self, a: f64, b: f64) -> f64 {
        a + (b - a) * self.unit()
    }

    /// Standard normal (Box–Muller).
    fn normal(&mut self) -> f64 {
        let u = self.unit().max(1e-300);
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (2.0 * PI * v).cos()
    }

    /// `true` with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

/// Smooth random field: uniform values on a coarse grid, bilinearly interpolated.
struct ValueNoise {
    values: Vec<f64>,
    cells: usize,
}

impl ValueNoise {
    fn new(rng: &mut Rng, cells: usize) -> Self {
        let n = (cells + 1) * (cells + 1);
        Self {
            values: (0..n).map(|_| rng.range(-1.0, 1.0)).collect(),
            cells,
        }
    }

    /// The field at `(u, v)` in `[0, 1]²`, in `[-1, 1]`.
    fn at(&self, u: f64, v: f64) -> f64 {
        let c = self.cells as f64;
        let (x, y) = ((u * c).clamp(0.0, c - 1e-9), (v * c).clamp(0.0, c - 1e-9));
        let (i, j) = (x as usize, y as usize);
        let (fx, fy) = (x - i as f64, y - j as f64);
        let stride = self.cells + 1;
        let at = |i: usize, j: usize| self.values[j * stride + i];
        let top = at(i, j) * (1.0 - fx) + at(i + 1, j) * fx;
        let bottom = at(i, j + 1) * (1.0 - fx) + at(i + 1, j + 1) * fx;
        top * (1.0 - fy) + bottom * fy
    }
}

/// One capsule of a vessel: a segment and its radius, in pixels.
#[derive(Debug, Clone, Copy)]
struct Capsule {
    a: [f64; 2],
    b: [f64; 2],
    radius: f64,
}

impl Capsule {
    /// Distance from `p` to the segment.
    fn distance(&self, p: [f64; 2]) -> f64 {
        let d = [self.b[0] - self.a[0], self.b[1] - self.a[1]];
        let len2 = d[0] * d[0] + d[1] * d[1];
        let t = if len2 > 0.0 {
            (((p[0] - self.a[0]) * d[0] + (p[1] - self.a[1]) * d[1]) / len2).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let q = [self.a[0] + t * d[0] - p[0], self.a[1] + t * d[1] - p[1]];
        (q[0] * q[0] + q[1] * q[1]).sqrt()
    }
}

/// Where the anatomy of one image lies.
struct Anatomy {
    centre: [f64; 2],
    radius: f64,
    disc: [f64; 2],
    disc_radius: f64,
    /// +1 when the macula lies right of the disc, else −1.
    temporal: f64,
}

/// A vessel being grown.
struct Walker {
    pos: [f64; 2],
    angle: f64,
    radius: f64,
    /// Angle the vessel bends towards, and how fast (radians per pixel).
    target: f64,
    pull: f64,
    depth: u32,
}

/// Grows the vessel trees: capsules in pixel coordinates.
fn grow_vessels(rng: &mut Rng, anatomy: &Anatomy, scale: f64) -> Vec<Capsule> {
    let step = (0.0028 * scale).max(0.75);
    let min_radius = (0.0012 * scale).max(0.45);
    let t = anatomy.temporal;
    // Angles in image coordinates (y down): 0 = right, π/2 = down.
    let temporal_angle = if t > 0.0 { 0.0 } else { PI };
    let mut walkers: Vec<Walker> = Vec::new();
    for vertical in [-1.0, 1.0] {
        // Temporal arcades: an artery and a vein each, leaving the disc up or down and
        // bending towards the macula.
        for (width, spread) in [(0.0075, 0.0), (0.0062, 0.25)] {
            let start = temporal_angle + t * vertical * rng.range(1.05, 1.35) + spread * t;
            walkers.push(Walker {
                pos: anatomy.disc,
                angle: start,
                radius: width * scale * rng.range(0.9, 1.1),
                target: temporal_angle + t * vertical * rng.range(0.05, 0.25),
                pull: rng.range(0.008, 0.013) * 600.0 / scale,
                depth: 0,
            });
        }
        // Nasal vessels.
        for _ in 0..2 {
            let start = PI + temporal_angle + t * vertical * rng.range(0.3, 1.2);
            walkers.push(Walker {
                pos: anatomy.disc,
                angle: start,
                radius: 0.0048 * scale * rng.range(0.8, 1.1),
                target: start,
                pull: 0.0,
                depth: 0,
            });
        }
    }
    let mut capsules = Vec::new();
    let branch_every = 0.11 * anatomy.radius;
    let taper_length = 1.4 * anatomy.radius;
    while let Some(mut w) = walkers.pop() {
        let mut travelled = 0.0;
        while w.radius >= min_radius && capsules.len() < 200_000 {
            let wiggle = rng.normal() * 0.035 * step.sqrt();
            let bend = (w.target - w.angle).sin() * w.pull * step;
            w.angle += wiggle + bend;
            let next = [
                w.pos[0] + step * w.angle.cos(),
                w.pos[1] + step * w.angle.sin(),
            ];
            let from_centre = (next[0] - anatomy.centre[0]).hypot(next[1] - anatomy.centre[1]);
            if from_centre > anatomy.radius {
                break;
            }
            // The disc hides the first pixels of every vessel that starts there.
            if w.depth > 0 || travelled > 0.6 * anatomy.disc_radius {
                capsules.push(Capsule {
                    a: w.pos,
                    b: next,
                    radius: w.radius,
                });
            }
            w.pos = next;
            travelled += step;
            w.radius *= 1.0 - step / taper_length;
            if travelled > 0.8 * anatomy.disc_radius && rng.chance(step / branch_every) {
                let child = w.radius * rng.range(0.5, 0.8);
                if child >= min_radius {
                    let side = if rng.chance(0.5) { 1.0 } else { -1.0 };
                    let angle = w.angle + side * rng.range(0.5, 1.2);
                    walkers.push(Walker {
                        pos: w.pos,
                        angle,
                        radius: child,
                        target: angle + rng.range(-0.6, 0.6),
                        pull: rng.range(0.0, 0.006) * 600.0 / scale,
                        depth: w.depth + 1,
                    });
                    w.radius *= rng.range(0.86, 0.95);
                }
            }
        }
    }
    capsules
}

/// Paints the capsules: exact mask (centre within the radius) and an anti-aliased
/// opacity (1 inside, fading over one pixel, darker along the centre line).
fn rasterize(capsules: &[Capsule], width: usize, height: usize) -> (Vec<u8>, Vec<f32>) {
    let mut mask = vec![0u8; width * height];
    let mut opacity = vec![0f32; width * height];
    for c in capsules {
        let reach = c.radius + 1.0;
        let x0 = (c.a[0].min(c.b[0]) - reach).floor().max(0.0) as usize;
        let y0 = (c.a[1].min(c.b[1]) - reach).floor().max(0.0) as usize;
        let x1 = ((c.a[0].max(c.b[0]) + reach).ceil().max(0.0) as usize).min(width);
        let y1 = ((c.a[1].max(c.b[1]) + reach).ceil().max(0.0) as usize).min(height);
        // Thin vessels are fainter, as in real photographs.
        let strength = 0.45 + 0.55 * (c.radius / 2.5).min(1.0);
        for y in y0..y1 {
            for x in x0..x1 {
                let d = c.distance([x as f64 + 0.5, y as f64 + 0.5]);
                let i = y * width + x;
                if d <= c.radius {
                    mask[i] = 1;
                }
                let coverage = (c.radius + 0.5 - d).clamp(0.0, 1.0);
                if coverage > 0.0 {
                    let profile = 0.75 + 0.25 * (1.0 - (d / c.radius.max(0.5)).min(1.0));
                    let v = (coverage * profile * strength) as f32;
                    if v > opacity[i] {
                        opacity[i] = v;
                    }
                }
            }
        }
    }
    (mask, opacity)
}

/// Generates image `key` of the dataset with `seed` (e.g. `["training", "3"]`).
pub fn generate(config: &SynthConfig, seed: u64, key: &[&str]) -> SynthImage {
    let (width, height) = (config.width.max(16), config.height.max(16));
    let mut rng = Rng(SplitMix64::keyed(seed, &[&["synth-vessels"], key].concat()));
    let scale = width.min(height) as f64;
    let centre = [width as f64 / 2.0, height as f64 / 2.0];
    let radius = scale * rng.range(0.45, 0.48);
    let temporal = if rng.chance(0.5) { 1.0 } else { -1.0 };
    let disc_radius = radius * rng.range(0.075, 0.095);
    let disc = [
        centre[0] - temporal * radius * rng.range(0.42, 0.55),
        centre[1] + radius * rng.range(-0.12, 0.12),
    ];
    let macula = [
        disc[0] + temporal * radius * rng.range(0.85, 1.0),
        disc[1] + radius * rng.range(0.0, 0.1),
    ];
    let anatomy = Anatomy {
        centre,
        radius,
        disc,
        disc_radius,
        temporal,
    };
    let capsules = grow_vessels(&mut rng, &anatomy, scale);
    let (mut vessels, opacity) = rasterize(&capsules, width, height);

    let base = [
        rng.range(165.0, 215.0),
        rng.range(65.0, 105.0),
        rng.range(18.0, 45.0),
    ];
    let brightness = rng.range(0.72, 1.12);
    let ramp_angle = rng.range(0.0, 2.0 * PI);
    let ramp = rng.range(0.0, 0.3);
    let blotches = ValueNoise::new(&mut rng, 4);
    let texture = ValueNoise::new(&mut rng, 24);
    let blotch_amount = rng.range(0.05, 0.18);
    let noise_sigma = rng.range(2.0, 6.0);
    let gamma = rng.range(0.8, 1.25);
    let vessel_contrast = rng.range(0.75, 1.0);
    let disc_colour = [250.0, 225.0, 160.0];

    let mut rgb = vec![0u8; width * height * 3];
    let mut fov = vec![0u8; width * height];
    for y in 0..height {
        for x in 0..width {
            let i = y * width + x;
            let p = [x as f64 + 0.5, y as f64 + 0.5];
            let rho = (p[0] - centre[0]).hypot(p[1] - centre[1]) / radius;
            if rho > 1.0 {
                vessels[i] = 0;
                for c in 0..3 {
                    rgb[i * 3 + c] = (rng.range(0.0, 4.0)) as u8;
                }
                continue;
            }
            fov[i] = 1;
            let (u, v) = (p[0] / width as f64, p[1] / height as f64);
            let along = ((u - 0.5) * ramp_angle.cos() + (v - 0.5) * ramp_angle.sin()) * 2.0;
            let light = brightness
                * (1.0 - 0.38 * rho.powf(2.5))
                * (1.0 + ramp * along)
                * (1.0 + blotch_amount * blotches.at(u, v))
                * (1.0 + 0.04 * texture.at(u, v));
            let mut colour = base.map(|b| b * light);
            let d_disc = (p[0] - disc[0]).hypot(p[1] - disc[1]) / disc_radius;
            let disc_weight = (-(d_disc.powi(4))).exp();
            let d_macula = (p[0] - macula[0]).hypot(p[1] - macula[1]) / (2.2 * disc_radius);
            let macula_dark = 0.28 * (-(d_macula * d_macula)).exp();
            let o = f64::from(opacity[i]) * vessel_contrast;
            let darken = [1.0 - 0.38 * o, 1.0 - 0.6 * o, 1.0 - 0.45 * o];
            for c in 0..3 {
                let with_disc = colour[c] * (1.0 - disc_weight)
                    + disc_colour[c] * brightness.min(1.0) * disc_weight;
                colour[c] = with_disc * (1.0 - macula_dark) * darken[c];
                let noisy = colour[c] + noise_sigma * rng.normal();
                let curved = 255.0 * (noisy.clamp(0.0, 255.0) / 255.0).powf(gamma);
                rgb[i * 3 + c] = curved.round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    SynthImage {
        width,
        height,
        rgb,
        vessels,
        fov,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_reproducible_and_vessels_plausible() {
        let config = SynthConfig {
            width: 200,
            height: 180,
        };
        let a = generate(&config, 7, &["training", "1"]);
        let b = generate(&config, 7, &["training", "1"]);
        let c = generate(&config, 7, &["training", "2"]);
        assert_eq!(a, b);
        assert_ne!(a.vessels, c.vessels);
        assert_eq!(a.rgb.len(), 200 * 180 * 3);
        let fov: usize = a.fov.iter().map(|&v| usize::from(v)).sum();
        let vessels: usize = a.vessels.iter().map(|&v| usize::from(v)).sum();
        // Vessels cover a DRIVE-like share of the field of view (about 12 %).
        let share = vessels as f64 / fov as f64;
        assert!((0.04..0.3).contains(&share), "vessel share {share}");
        // Only inside the field of view.
        assert!(a.vessels.iter().zip(&a.fov).all(|(&v, &f)| v <= f));
        // Vessels are darker than the background in green.
        let mean_green = |want: u8| {
            let (sum, n) = a
                .vessels
                .iter()
                .zip(&a.fov)
                .enumerate()
                .filter(|(_, (v, f))| **f == 1 && **v == want)
                .fold((0.0, 0.0), |(s, n), (i, _)| {
                    (s + f64::from(a.rgb[i * 3 + 1]), n + 1.0)
                });
            sum / n
        };
        assert!(mean_green(1) < mean_green(0) - 3.0);
    }

    #[test]
    fn capsule_distance() {
        let c = Capsule {
            a: [0.0, 0.0],
            b: [10.0, 0.0],
            radius: 1.0,
        };
        assert_eq!(c.distance([5.0, 2.0]), 2.0);
        assert_eq!(c.distance([-3.0, 4.0]), 5.0);
    }
}
