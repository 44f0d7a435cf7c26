//! Share links: everything needed to reproduce a mask, in the URL fragment (never sent to
//! a server, so proxies and logs never see it):
//!
//! ```text
//! #v=1&image=<64 hex>&model=lite_medsam&wire=f16&gt=<64 hex>&label=255&steps=b10,20,100,200;p50.5,60@2;n70,80
//! ```
//!
//! `image` and `gt` are content hashes the server assigned; `steps` lists clicks
//! (`p` foreground, `n` background: `x,y`) and boxes (`b`: `x0,y0,x1,y1`) in order, each
//! optionally followed by `@k`, the candidate kept after it. Links hold no patient data:
//! ids are hashes of pixels, coordinates are pixels.
//!
//! A slice of a volume is a version 2 link: it adds the [`SliceView`] the slice was cut
//! with, so the viewer asks the server for that slice again (the same image id, bit for
//! bit) and can move on to other slices of the volume:
//!
//! ```text
//! #v=2&image=<slice's 64 hex>&model=lite_medsam&wire=f16&volume=<64 hex>&axis=axial&index=40&window=ct_abdomen&steps=b10,20,100,200
//! ```
//!
//! `axis` is `axial`, `coronal`, `sagittal` or `native`; `index` the 0-based slice index
//! (as the API counts); `window` a preset, `CENTER,WIDTH`, `pLOW-HIGH`, `minmax` or
//! `default` (as `--window` on the command line). Images that are not volume slices keep
//! writing version 1, and version 1 links open as before.

use api::{Action, Step, is_id};

use crate::protocol::Wire;
use crate::volume::SliceView;

/// The newest version this module writes (for volume slices; others are written as 1).
pub const LINK_VERSION: u32 = 2;
/// Most steps a link may carry.
pub const MAX_STEPS: usize = 256;

/// What a share link reproduces.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedView {
    /// Image id (64 lower-case hex).
    pub image: String,
    /// Model id.
    pub model: String,
    /// Precision of embedding and weights.
    pub wire: Wire,
    /// Ground-truth mask id, if one was loaded.
    pub gt: Option<String>,
    /// The ground-truth label the metrics use.
    pub label: Option<u16>,
    /// The session's steps.
    pub steps: Vec<Step>,
    /// The volume slice `image` is (version 2), if it is one.
    pub view: Option<SliceView>,
}

/// Why a link cannot be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkError(pub String);

impl std::fmt::Display for LinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "this link cannot be opened: {}", self.0)
    }
}

fn bad(text: impl Into<String>) -> LinkError {
    LinkError(text.into())
}

fn is_model_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_+.-".contains(&b))
}

fn format_step(step: &Step) -> String {
    let body = match step.action {
        Action::Point { x, y, positive } => format!("{}{x},{y}", if positive { 'p' } else { 'n' }),
        Action::Box { x0, y0, x1, y1 } => format!("b{x0},{y0},{x1},{y1}"),
    };
    match step.chosen {
        Some(k) => format!("{body}@{k}"),
        None => body,
    }
}

fn parse_step(text: &str, index: usize) -> Result<Step, LinkError> {
    let which = || format!("step {} (`{text}`)", index + 1);
    let (body, chosen) = match text.split_once('@') {
        Some((body, k)) => {
            let k: usize = k
                .parse()
                .ok()
                .filter(|&k| k < 3)
                .ok_or_else(|| bad(format!("{}: candidate must be 0, 1 or 2", which())))?;
            (body, Some(k))
        }
        None => (text, None),
    };
    let mut chars = body.chars();
    let kind = chars
        .next()
        .ok_or_else(|| bad(format!("{} is empty", which())))?;
    let numbers = chars
        .as_str()
        .split(',')
        .map(|t| t.parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0))
        .collect::<Option<Vec<f64>>>()
        .ok_or_else(|| {
            bad(format!(
                "{}: coordinates must be non-negative numbers",
                which()
            ))
        })?;
    let action = match (kind, numbers.as_slice()) {
        ('p' | 'n', &[x, y]) => Action::Point {
            x,
            y,
            positive: kind == 'p',
        },
        ('b', &[x0, y0, x1, y1]) if x0 <= x1 && y0 <= y1 => Action::Box { x0, y0, x1, y1 },
        _ => {
            return Err(bad(format!(
                "{}: expected p|n followed by x,y or b followed by x0,y0,x1,y1",
                which()
            )));
        }
    };
    Ok(Step { action, chosen })
}

impl SharedView {
    /// The fragment (without `#`).
    pub fn to_fragment(&self) -> String {
        let version = if self.view.is_some() { 2 } else { 1 };
        let mut parts = vec![
            format!("v={version}"),
            format!("image={}", self.image),
            format!("model={}", self.model),
            format!("wire={}", self.wire.as_str()),
        ];
        if let Some(view) = &self.view {
            parts.push(format!("volume={}", view.volume));
            parts.push(format!("axis={}", view.axis.as_str()));
            parts.push(format!("index={}", view.index));
            parts.push(format!("window={}", view.window));
        }
        if let Some(gt) = &self.gt {
            parts.push(format!("gt={gt}"));
        }
        if let Some(label) = self.label {
            parts.push(format!("label={label}"));
        }
        if !self.steps.is_empty() {
            let steps: Vec<String> = self.steps.iter().map(format_step).collect();
            parts.push(format!("steps={}", steps.join(";")));
        }
        parts.join("&")
    }

    /// Parses a fragment (with or without `#`); `Ok(None)` when it is empty.
    pub fn parse(fragment: &str) -> Result<Option<Self>, LinkError> {
        let fragment = fragment.strip_prefix('#').unwrap_or(fragment);
        if fragment.is_empty() {
            return Ok(None);
        }
        let mut fields = std::collections::BTreeMap::new();
        for part in fragment.split('&') {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| bad(format!("`{part}` is not key=value")))?;
            if fields.insert(key, value).is_some() {
                return Err(bad(format!("`{key}` appears twice")));
            }
        }
        let take = |key: &str| fields.get(key).copied();
        let version = match take("v") {
            Some("1") => 1,
            Some("2") => 2,
            Some(other) => {
                return Err(bad(format!(
                    "version {other}; this viewer opens versions 1 to {LINK_VERSION}"
                )));
            }
            None => return Err(bad("no version (`v=`)")),
        };
        let mut known = vec!["v", "image", "model", "wire", "gt", "label", "steps"];
        if version >= 2 {
            known.extend(["volume", "axis", "index", "window"]);
        }
        if let Some(unknown) = fields.keys().find(|k| !known.contains(k)) {
            return Err(bad(format!("unknown field `{unknown}`")));
        }
        let image = take("image")
            .filter(|id| is_id(id))
            .ok_or_else(|| bad("`image` must be a 64-character lower-case hex id"))?
            .to_string();
        let model = take("model")
            .filter(|m| is_model_id(m))
            .ok_or_else(|| bad("`model` is missing or malformed"))?
            .to_string();
        let wire = match take("wire") {
            None => Wire::F16,
            Some(w) => Wire::parse(w).ok_or_else(|| bad("`wire` must be f16 or f32"))?,
        };
        let gt = match take("gt") {
            None => None,
            Some(id) if is_id(id) => Some(id.to_string()),
            Some(_) => return Err(bad("`gt` must be a 64-character lower-case hex id")),
        };
        let label = match take("label") {
            None => None,
            Some(l) => Some(
                l.parse::<u16>()
                    .map_err(|_| bad("`label` must be a number 0–65535"))?,
            ),
        };
        let steps = match take("steps") {
            None | Some("") => Vec::new(),
            Some(text) => {
                let parts: Vec<&str> = text.split(';').collect();
                if parts.len() > MAX_STEPS {
                    return Err(bad(format!("more than {MAX_STEPS} steps")));
                }
                parts
                    .iter()
                    .enumerate()
                    .map(|(i, t)| parse_step(t, i))
                    .collect::<Result<_, _>>()?
            }
        };
        let view = match (take("volume"), take("axis"), take("index")) {
            (None, None, None) if take("window").is_none() => None,
            (Some(volume), Some(axis), Some(index)) => {
                let index = index
                    .parse::<usize>()
                    .map_err(|_| bad("`index` must be a slice number ≥ 0"))?;
                let window = take("window").unwrap_or("default");
                Some(
                    SliceView::parse(volume, axis, index, window)
                        .map_err(|e| bad(format!("the volume view: {e}")))?,
                )
            }
            _ => return Err(bad("a volume view needs `volume`, `axis` and `index`")),
        };
        Ok(Some(Self {
            image,
            model,
            wire,
            gt,
            label,
            steps,
            view,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view() -> SharedView {
        SharedView {
            image: "ab".repeat(32),
            model: "lite_medsam".into(),
            wire: Wire::F16,
            gt: Some("0f".repeat(32)),
            label: Some(255),
            steps: vec![
                Step {
                    action: Action::Box {
                        x0: 10.0,
                        y0: 20.0,
                        x1: 100.5,
                        y1: 200.0,
                    },
                    chosen: None,
                },
                Step {
                    action: Action::Point {
                        x: 0.1 + 0.2,
                        y: 60.0,
                        positive: false,
                    },
                    chosen: Some(2),
                },
            ],
            view: None,
        }
    }

    fn volume_view() -> SharedView {
        SharedView {
            view: Some(SliceView {
                volume: "5b".repeat(32),
                axis: crate::volume::Axis::Coronal,
                index: 40,
                window: crate::volume::Window::Manual(crate::volume::WindowLevel {
                    center: -314.5,
                    width: 1353.0,
                }),
            }),
            ..view()
        }
    }

    #[test]
    fn a_volume_slice_link_is_version_2_and_round_trips() {
        let v = volume_view();
        let fragment = v.to_fragment();
        assert!(fragment.starts_with("v=2&image=abab"), "{fragment}");
        assert!(
            fragment.contains(&format!(
                "&volume={}&axis=coronal&index=40&window=-314.5,1353&",
                "5b".repeat(32)
            )),
            "{fragment}"
        );
        assert_eq!(SharedView::parse(&fragment).unwrap(), Some(v.clone()));
        // Presets and percentiles, and the window left out (the server's default).
        for window in ["ct_abdomen", "p0.5-99.5", "minmax", "default"] {
            let text = fragment.replace("window=-314.5,1353", &format!("window={window}"));
            let parsed = SharedView::parse(&text).unwrap().unwrap();
            assert_eq!(parsed.view.unwrap().window.to_string(), window);
        }
        let without = fragment.replace("&window=-314.5,1353", "");
        let parsed = SharedView::parse(&without).unwrap().unwrap();
        assert_eq!(parsed.view.unwrap().window, crate::volume::Window::Default);
        // A 2-D image still writes version 1, which older viewers open.
        assert!(view().to_fragment().starts_with("v=1&"));
    }

    #[test]
    fn malformed_volume_links_name_what_is_wrong() {
        let good = volume_view().to_fragment();
        let cases = [
            (good.replace("axis=coronal", "axis=oblique"), "axis"),
            (good.replace("index=40", "index=-1"), "`index`"),
            (good.replace("window=-314.5,1353", "window=40,0"), "window"),
            (good.replace("window=-314.5,1353", "window=hot"), "window"),
            (
                good.replace("&axis=coronal", ""),
                "needs `volume`, `axis` and `index`",
            ),
            (good.replace("volume=5b5b", "volume=XX5b"), "volume id"),
            (good.replace("v=2", "v=1"), "unknown field `axis`"),
            (good.replace("v=2", "v=3"), "version 3"),
        ];
        for (fragment, expected) in cases {
            let err = SharedView::parse(&fragment).unwrap_err().to_string();
            assert!(err.contains(expected), "{fragment}: {err}");
        }
    }

    #[test]
    fn a_link_round_trips_exactly_including_float_coordinates() {
        let v = view();
        let fragment = v.to_fragment();
        assert!(fragment.starts_with("v=1&image=abab"), "{fragment}");
        assert!(fragment.contains("steps=b10,20,100.5,200;n0.30000000000000004,60@2"));
        assert_eq!(SharedView::parse(&format!("#{fragment}")).unwrap(), Some(v));
        assert_eq!(SharedView::parse("#").unwrap(), None);
    }

    #[test]
    fn malformed_links_name_what_is_wrong() {
        let good = view().to_fragment();
        let cases = [
            (good.replace("v=1", "v=9"), "version 9"),
            (good.replace("image=abab", "image=ABAB"), "`image`"),
            (good.replace("wire=f16", "wire=f8"), "`wire`"),
            (good.replace("@2", "@5"), "candidate"),
            (good.replace("b10,20", "b10,x"), "step 1"),
            (good.replace("n0.3", "q0.3"), "step 2"),
            (format!("{good}&name=Jane"), "unknown field `name`"),
            (format!("{good}&v=1"), "twice"),
            ("image=".to_string(), "no version"),
            ("garbage".to_string(), "key=value"),
            (good.replace("b10,20,100.5,200", "b100,20,10,200"), "step 1"),
        ];
        for (fragment, expected) in cases {
            let err = SharedView::parse(&fragment).unwrap_err().to_string();
            assert!(err.contains(expected), "{fragment}: {err}");
        }
    }

    #[test]
    fn too_many_steps_are_refused() {
        let mut v = view();
        v.steps = vec![v.steps[1]; MAX_STEPS + 1];
        let err = SharedView::parse(&v.to_fragment()).unwrap_err();
        assert!(err.0.contains("more than"));
    }
}
