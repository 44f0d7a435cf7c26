//! `OUT/report.html`: one self-contained page — per-class bar charts (inline SVG), the
//! per-class table, the IoU-per-click curve of `iterative`, and the k best and k worst
//! cases of each protocol as figures (PNG, base64-embedded).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use eval::sample::Loader;
use sam::RgbImage;

use crate::manifest::Manifest;
use crate::model::encoder_image;
use crate::overlay;
use crate::record::{ImageRecord, InstanceResult};
use crate::summary::{ALL_CLASSES, ClassRow, Summary};

/// Text made safe for HTML.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Standard base64 (RFC 4648) with padding.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Grouped bars of mean Dice and IoU per class, with ±std whiskers, on a 0–1 axis.
fn bar_chart(rows: &[&ClassRow]) -> String {
    let (left, top, plot_h) = (44.0, 16.0, 180.0);
    let group = 72.0;
    let width = left + group * rows.len() as f64 + 16.0;
    let height = top + plot_h + 64.0;
    let y = |v: f64| top + plot_h * (1.0 - v.clamp(0.0, 1.0));
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">"#
    );
    for i in 0..=5 {
        let v = i as f64 / 5.0;
        let _ = write!(
            svg,
            r##"<line x1="{left}" x2="{}" y1="{y}" y2="{y}" stroke="#ddd"/><text x="{}" y="{}" text-anchor="end">{v:.1}</text>"##,
            width - 8.0,
            left - 4.0,
            y(v) + 4.0,
            y = y(v)
        );
    }
    for (i, row) in rows.iter().enumerate() {
        let gx = left + group * i as f64 + 10.0;
        for (j, (metric, colour)) in [(&row.dice, "#1e78ff"), (&row.iou, "#f0a020")]
            .into_iter()
            .enumerate()
        {
            let (Some(mean), Some(std)) = (metric.mean, metric.std) else {
                continue;
            };
            let x = gx + j as f64 * 26.0;
            let _ = write!(
                svg,
                r##"<rect x="{x}" y="{}" width="24" height="{}" fill="{colour}"><title>{} {}: {mean:.3} ± {std:.3}</title></rect><line x1="{cx}" x2="{cx}" y1="{}" y2="{}" stroke="#333"/>"##,
                y(mean),
                y(0.0) - y(mean),
                esc(&row.class),
                if j == 0 { "Dice" } else { "IoU" },
                y(mean + std),
                y(mean - std),
                cx = x + 12.0
            );
        }
        let label: String = row.class.chars().take(11).collect();
        let _ = write!(
            svg,
            r##"<text x="{}" y="{}" text-anchor="middle">{}</text><text x="{}" y="{}" text-anchor="middle" fill="#666">n={}</text>"##,
            gx + 25.0,
            y(0.0) + 16.0,
            esc(&label),
            gx + 25.0,
            y(0.0) + 30.0,
            row.n
        );
    }
    let _ = write!(
        svg,
        r##"<rect x="{left}" y="{}" width="10" height="10" fill="#1e78ff"/><text x="{}" y="{}">Dice</text><rect x="{}" y="{}" width="10" height="10" fill="#f0a020"/><text x="{}" y="{}">IoU (bars: mean, whiskers: ±std)</text></svg>"##,
        height - 16.0,
        left + 14.0,
        height - 7.0,
        left + 60.0,
        height - 16.0,
        left + 74.0,
        height - 7.0
    );
    svg
}

/// Mean IoU after each click, one line per class.
fn click_chart(rows: &[&ClassRow]) -> String {
    let (left, top, w, h) = (44.0, 12.0, 420.0, 180.0);
    let clicks = rows
        .iter()
        .filter_map(|r| r.iterative.as_ref())
        .map(|i| i.iou_after_click.len())
        .max()
        .unwrap_or(1)
        .max(2);
    let x = |k: usize| left + w * (k - 1) as f64 / (clicks - 1) as f64;
    let y = |v: f64| top + h * (1.0 - v.clamp(0.0, 1.0));
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" font-family="sans-serif" font-size="11">"#,
        left + w + 150.0,
        top + h + 34.0
    );
    for i in 0..=5 {
        let v = i as f64 / 5.0;
        let _ = write!(
            svg,
            r##"<line x1="{left}" x2="{}" y1="{yv}" y2="{yv}" stroke="#ddd"/><text x="{}" y="{}" text-anchor="end">{v:.1}</text>"##,
            left + w,
            left - 4.0,
            y(v) + 4.0,
            yv = y(v)
        );
    }
    for k in 1..=clicks {
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="middle">{k}</text>"#,
            x(k),
            top + h + 14.0
        );
    }
    let _ = write!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle">clicks</text>"#,
        left + w / 2.0,
        top + h + 30.0
    );
    let palette = [
        "#1e78ff", "#f0a020", "#20a060", "#d03050", "#8050c0", "#606060",
    ];
    for (i, row) in rows.iter().enumerate() {
        let Some(it) = &row.iterative else { continue };
        let colour = palette[i % palette.len()];
        let points: Vec<String> = it
            .iou_after_click
            .iter()
            .enumerate()
            .map(|(k, &v)| format!("{:.1},{:.1}", x(k + 1), y(v)))
            .collect();
        let _ = write!(
            svg,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/><text x="{}" y="{}" fill="{colour}">{}</text>"#,
            points.join(" "),
            left + w + 8.0,
            top + 14.0 * (i + 1) as f64,
            esc(&row.class)
        );
    }
    svg + "</svg>"
}

fn table(rows: &[&ClassRow], tolerance: f64) -> String {
    let mut html = format!(
        "<table><tr><th>class</th><th>n</th><th>Dice</th><th>IoU</th><th>HD95 (mm)</th>\
         <th>NSD@{tolerance} mm</th><th>empty pred.</th><th>skipped (empty GT)</th></tr>"
    );
    let fmt = |m: &crate::summary::Mean, d: usize| match (m.mean, m.std) {
        (Some(a), Some(s)) => format!("{a:.d$} ± {s:.d$}"),
        _ => "–".into(),
    };
    for r in rows {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.class),
            r.n,
            fmt(&r.dice, 3),
            fmt(&r.iou, 3),
            fmt(&r.hd95, 2),
            if r.hd95.n == r.n {
                String::new()
            } else {
                format!(" (n={})", r.hd95.n)
            },
            fmt(&r.nsd, 3),
            r.empty_predictions,
            r.skipped_empty_ground_truth
        );
    }
    html + "</table>"
}

/// Loads scans for the figures, once each (the slices of a volume through one loader).
struct Scans<'a> {
    data: Option<&'a Path>,
    loaded: BTreeMap<String, Option<RgbImage>>,
    loader: Loader,
}

impl Scans<'_> {
    fn get(&mut self, record: &ImageRecord) -> Option<&RgbImage> {
        let data = self.data;
        let loader = &mut self.loader;
        self.loaded
            .entry(record.id.clone())
            .or_insert_with(|| {
                let path = if record.image.is_file() {
                    record.image.clone()
                } else {
                    data?.join(&record.image_relative)
                };
                loader
                    .scan(&path, record.slice.as_ref(), record.left_half)
                    .ok()
                    .and_then(|s| encoder_image(&s.image))
                    .filter(|i| (i.width, i.height) == (record.width, record.height))
            })
            .as_ref()
    }
}

fn figure(scans: &mut Scans, record: &ImageRecord, result: &InstanceResult) -> String {
    let (w, h) = (record.width, record.height);
    let (Some(truth), Some(pred)) = (result.truth.decode(w, h), result.prediction.decode(w, h))
    else {
        return String::new();
    };
    let scan = scans.get(record);
    let missing = scan.is_none();
    let png = overlay::png(&overlay::render(scan, &truth, &pred, &result.prompt));
    format!(
        r#"<figure><img src="data:image/png;base64,{}" alt="case"><figcaption><b>{}</b><br>{} {} · Dice {:.3} · IoU {:.3}<br><small>{}{}</small></figcaption></figure>"#,
        base64(&png),
        esc(&record.id),
        esc(&result.class),
        esc(&result.instance),
        result.dice,
        result.iou,
        esc(&result.prompt.text),
        if missing { " · scan not found" } else { "" }
    )
}

/// The whole page. `data` is where to look for scans that have moved since evaluation.
pub fn report_html(
    manifest: &Manifest,
    summary: &Summary,
    records: &[ImageRecord],
    cases: usize,
    data: Option<&Path>,
) -> String {
    let s = &manifest.settings;
    let mut html = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>samscope eval</title><style>\
         body{font-family:sans-serif;margin:24px;max-width:1100px}table{border-collapse:collapse;margin:8px 0}\
         td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}\
         figure{display:inline-block;margin:6px;vertical-align:top;width:260px}figcaption{font-size:12px}\
         .legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}\
         </style></head><body>",
    );
    let _ = write!(
        html,
        "<h1>samscope eval</h1><p>Data <code>{}</code> (layout <code>{}</code>), model <code>{}</code> \
         (checkpoint sha256 <code>{}</code>), {} images, instances by <code>{}</code>, seed {}.</p>\
         <p>Pixel spacing {}; NSD tolerance {} mm. Encoder passes {} (cached {}), decoder calls {} \
         ({} prompts/s).</p>",
        esc(&s.data.display().to_string()),
        esc(&s.layout),
        esc(&s.model),
        esc(&s.checkpoint_sha256.chars().take(12).collect::<String>()),
        summary.images,
        esc(&s.instances),
        s.seed,
        esc(&summary.spacing),
        summary.nsd_tolerance_mm,
        summary.timing.encoder_passes,
        summary.timing.embeddings_from_cache,
        summary.timing.decoder_calls,
        summary
            .timing
            .prompts_per_second
            .map_or("–".into(), |v| format!("{v:.1}"))
    );
    html += "<p class=\"legend\">Figures:<span style=\"background:#00e640\"></span>ground-truth contour\
             <span style=\"background:#1e78ff\"></span>prediction<span style=\"background:#ffd700\"></span>\
             box / positive click<span style=\"background:#ff2828\"></span>negative click</p>";
    let mut scans = Scans {
        data,
        loaded: BTreeMap::new(),
        loader: Loader::default(),
    };
    for protocol in &s.protocols {
        let rows: Vec<&ClassRow> = summary
            .rows
            .iter()
            .filter(|r| &r.protocol == protocol)
            .collect();
        let classes: Vec<&ClassRow> = rows
            .iter()
            .copied()
            .filter(|r| r.class != ALL_CLASSES)
            .collect();
        let _ = write!(html, "<h2>{}</h2>", esc(protocol));
        html += &bar_chart(&classes);
        html += &table(&rows, summary.nsd_tolerance_mm);
        if rows.iter().any(|r| r.iterative.is_some()) {
            html += "<h3>IoU after each click</h3>";
            html += &click_chart(&classes);
        }
        let mut ranked: Vec<(&ImageRecord, &InstanceResult)> = records
            .iter()
            .flat_map(|rec| rec.results.iter().map(move |r| (rec, r)))
            .filter(|(_, r)| &r.protocol == protocol)
            .collect();
        ranked.sort_by(|a, b| {
            b.1.dice.total_cmp(&a.1.dice).then_with(|| {
                (&a.0.id, &a.1.class, a.1.value, a.1.component).cmp(&(
                    &b.0.id,
                    &b.1.class,
                    b.1.value,
                    b.1.component,
                ))
            })
        });
        let k = cases.min(ranked.len());
        if k == 0 {
            continue;
        }
        let _ = write!(html, "<h3>{k} best</h3>");
        for (rec, r) in &ranked[..k] {
            html += &figure(&mut scans, rec, r);
        }
        let _ = write!(html, "<h3>{k} worst</h3>");
        for (rec, r) in ranked.iter().rev().take(k) {
            html += &figure(&mut scans, rec, r);
        }
    }
    html + "</body></html>\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(esc("<a & \"b\">"), "&lt;a &amp; &quot;b&quot;&gt;");
    }
}
