//! Ground truth and volumes: a ground-truth file (a picture or a label volume), masks
//! stored on the server, browsing a volume (fetching, arriving, window previews).

use super::flow::{install_image, results, take_pending_gt};
use super::{Browse, Effect, ImageMeta, MaskUse, Part, SliceMemory, State};
use crate::ground_truth::GroundTruth;
use crate::history::History;
use crate::volume::VolumeSlicing;
use crate::volume::{
    Arrival, SliceInfo, SliceKey, SliceView, VolumeInfo, VolumeState, Window, WindowLevel,
    check_label_grid, label_slice_png,
};

pub(super) fn ground_truth_file(s: &mut State, bytes: &[u8], fx: &mut Vec<Effect>) {
    let is_volume_file = imaging::detect(bytes).is_ok_and(|f| f.is_volume());
    if is_volume_file && s.browse.is_some() {
        fx.push(Effect::Error(String::new()));
        fx.push(Effect::status("Reading the label volume…"));
        label_volume(s, bytes, fx);
        return;
    }
    let Some((width, height)) = s.scan.image.as_ref().map(|i| (i.width, i.height)) else {
        fx.push(Effect::Error(
            "open the scan before its ground truth".into(),
        ));
        return;
    };
    match GroundTruth::decode(bytes, width, height) {
        Ok(gt) => fx.push(Effect::UploadMask {
            bytes: bytes.to_vec(),
            gt,
            purpose: MaskUse::Picture,
        }),
        Err(e) => fx.push(Effect::Error(e)),
    }
}

pub(super) fn mask_uploaded(
    s: &mut State,
    id: String,
    gt: GroundTruth,
    purpose: MaskUse,
    fx: &mut Vec<Effect>,
) {
    let status = match purpose {
        MaskUse::Picture => {
            s.session.label = gt.label_for(s.session.history.steps());
            s.session.gt = Some((id, gt));
            // A picture ground truth belongs to the slice on screen, not to the volume.
            if let Some(b) = s.browse.as_mut() {
                b.label_volume = None;
            }
            "Ground truth loaded: the metrics follow every decode."
        }
        MaskUse::LabelSlice(key) => {
            let current = s.slice_view().is_some_and(|v| v.key() == key);
            if !current || s.session.gt.is_some() {
                return;
            }
            let labels = gt.labels();
            let kept = s
                .session
                .label
                .filter(|l| labels.iter().any(|(v, _)| v == l));
            s.session.label = kept.or_else(|| gt.label_for(s.session.history.steps()));
            s.session.gt = Some((id, gt));
            "Ground truth from the label volume: the metrics follow every decode."
        }
    };
    fx.push(Effect::Render(Part::Labels));
    results(s, fx);
    fx.push(Effect::Render(Part::Canvas));
    fx.push(Effect::status(status));
}

/// A label volume (NIfTI, NRRD, MetaImage, DICOM) as the ground truth of every slice: it
/// must lie on the scan's grid; each slice's labels are cut as the scan's slice is and
/// stored on the server as that slice's mask (so share links carry it).
pub(super) fn label_volume(s: &mut State, bytes: &[u8], fx: &mut Vec<Effect>) {
    let Some(b) = s.browse.as_mut() else {
        return;
    };
    let labels = imaging::decode_labels(bytes, &imaging::Limits::default())
        .map_err(|e| format!("the label volume: {e}"))
        .and_then(|labels| check_label_grid(&b.volume.info, &labels).map(|()| labels));
    let labels = match labels {
        Ok(labels) => labels,
        Err(e) => {
            fx.push(Effect::Error(e));
            return;
        }
    };
    b.label_volume = Some(labels);
    for memory in b.volume.memories_mut() {
        memory.gt = None;
    }
    let key = b.volume.shown_view().map(SliceView::key);
    s.session.gt = None;
    s.session.label = None;
    fx.push(Effect::Error(String::new()));
    fx.push(Effect::Render(Part::Labels));
    results(s, fx);
    fx.push(Effect::Render(Part::Canvas));
    if let Some(key) = key {
        label_ground_truth(s, key, fx);
    }
}

/// Cuts slice `key` of the label volume and has it stored as that slice's ground truth.
pub(super) fn label_ground_truth(s: &mut State, key: SliceKey, fx: &mut Vec<Effect>) {
    let Some(labels) = s.browse.as_ref().and_then(|b| b.label_volume.as_ref()) else {
        return;
    };
    let png = match label_slice_png(labels, key.0, key.1) {
        Err(e) => return fx.push(Effect::Error(e)),
        Ok(None) => return fx.push(Effect::status("No labelled voxel on this slice.")),
        Ok(Some(png)) => png,
    };
    let Some((width, height)) = s.scan.image.as_ref().map(|i| (i.width, i.height)) else {
        return;
    };
    match GroundTruth::decode(&png, width, height) {
        Ok(gt) => fx.push(Effect::UploadMask {
            bytes: png,
            gt,
            purpose: MaskUse::LabelSlice(key),
        }),
        Err(e) => fx.push(Effect::Error(e)),
    }
}

// --- volumes

pub(super) fn same_volume(s: &State, view: &SliceView) -> bool {
    s.browse
        .as_ref()
        .is_some_and(|b| b.info().id == view.volume)
}

/// Starts browsing `info` at `view` (a share link's), else at its first view.
pub(super) fn open_volume(
    s: &mut State,
    info: VolumeInfo,
    view: Option<SliceView>,
    fx: &mut Vec<Effect>,
) {
    let wanted = view.unwrap_or_else(|| info.initial_view());
    let volume = VolumeState::new(info.clone(), wanted).unwrap_or_else(|e| {
        fx.push(Effect::Error(format!(
            "this link's slice cannot be shown: {e}"
        )));
        // Its prompts and ground truth belong to that slice, not to the first one.
        s.scan.link_steps = None;
        s.scan.pending_gt = None;
        s.scan.expected_image = None;
        s.session.label = None;
        VolumeState::new(info.clone(), info.initial_view())
            .expect("the first view lies inside the volume")
    });
    s.browse = Some(Browse::new(volume));
    s.scan.image = None;
    s.session.clear_results();
    s.session.history = History::default();
    s.session.gt = None;
    s.session.chart.clear();
    s.link.embedding_ready = false;
    fx.push(Effect::VolumePanel(true));
    fx.push(Effect::status("Cutting the slice…"));
    fx.push(Effect::Render(Part::VolumeControls));
    results(s, fx);
    fx.push(Effect::Render(Part::Canvas));
    fetch_next(s, fx);
}

/// Leaves volume mode (a 2-D scan was opened).
pub(super) fn close_volume(s: &mut State, fx: &mut Vec<Effect>) {
    s.browse = None;
    fx.push(Effect::VolumePanel(false));
}

/// Fetches the target slice unless it is shown or being fetched.
pub(super) fn fetch_next(s: &mut State, fx: &mut Vec<Effect>) {
    if let Some(view) = s.browse.as_mut().and_then(|b| b.volume.next_fetch()) {
        fx.push(Effect::FetchSlice(view));
    }
}

/// A fetched slice goes on screen; on a new slice, the old one's prompts and ground truth
/// are put aside and the new one's brought back.
pub(super) fn arrive(
    s: &mut State,
    view: SliceView,
    slice: SliceInfo,
    width: usize,
    height: usize,
    fx: &mut Vec<Effect>,
) {
    let key = view.key();
    let old_size = s.scan.image.as_ref().map(|i| (i.width, i.height));
    let Some(b) = s.browse.as_mut() else {
        return;
    };
    let arrival = b.volume.arrived(view, slice.clone());
    if let Some(expected) = s.scan.expected_image.take()
        && expected != slice.id
    {
        fx.push(Effect::Error(
            "this link's slice renders to another image on this server (another version?); its mask may differ".into(),
        ));
    }
    let mut needs_labels = false;
    if let Arrival::NewSlice { previous } = arrival {
        let session = &mut s.session;
        let current = SliceMemory {
            history: std::mem::take(&mut session.history),
            gt: session.gt.take(),
            label: session.label,
            chart: std::mem::take(&mut session.chart),
        };
        if let Some(previous) = previous {
            b.volume.remember(previous, current);
        }
        match b.volume.recall(key) {
            Some(memory) => {
                needs_labels = memory.gt.is_none() && b.label_volume.is_some();
                session.history = memory.history;
                session.gt = memory.gt;
                session.label = memory
                    .label
                    .or(if needs_labels { session.label } else { None });
                session.chart = memory.chart;
            }
            None if previous.is_none() => {
                // The first slice: a share link's prompts, ground truth and object.
                session.history =
                    History::starting_at(s.scan.link_steps.take().unwrap_or_default());
            }
            None => {
                // A slice not visited yet: no prompts; with a label volume, its labels
                // (the object chosen so far is kept).
                needs_labels = b.label_volume.is_some();
                if !needs_labels {
                    session.label = None;
                }
            }
        }
    }
    let settled = b.volume.settled();
    install_image(
        s,
        ImageMeta {
            id: slice.id,
            width,
            height,
        },
    );
    if s.scan.pending_gt.is_some() {
        s.session.gt = take_pending_gt(s, fx);
    }
    if old_size != Some((width, height)) {
        fx.push(Effect::Fit);
    }
    fx.push(Effect::Render(Part::Labels));
    results(s, fx);
    fx.push(Effect::Render(Part::VolumeControls));
    fx.push(Effect::Render(Part::Canvas));
    if needs_labels {
        label_ground_truth(s, key, fx);
    }
    if settled {
        fx.push(Effect::status(
            "Slice shown; its embedding follows when it stays put.",
        ));
        if let Some(b) = &s.browse {
            fx.push(Effect::Settle {
                generation: b.volume.generation(),
            });
        }
    }
}

/// Applies a change of the wanted view; previews a window change and fetches.
pub(super) fn change(
    s: &mut State,
    f: impl FnOnce(&mut VolumeState<SliceMemory>) -> bool,
    fx: &mut Vec<Effect>,
) {
    let changed = s.browse.as_mut().is_some_and(|b| f(&mut b.volume));
    if !changed {
        fx.push(Effect::Render(Part::VolumeControls));
        return;
    }
    if let Some(level) = s.browse.as_ref().and_then(Browse::window_to_preview) {
        preview_window(s, level, fx);
    }
    fx.push(Effect::Render(Part::VolumeControls));
    fetch_next(s, fx);
}

/// Shows the slice on screen as `wanted` would render it, at once (the page remaps the
/// slice's own pixels); the server's rendering replaces it when it arrives.
pub(super) fn preview_window(s: &mut State, wanted: WindowLevel, fx: &mut Vec<Effect>) {
    if s.scan.image.is_some()
        && let Some(b) = s.browse.as_mut()
    {
        b.preview(wanted);
    }
    fx.push(Effect::Render(Part::Canvas));
}

/// The end of a Ctrl+drag: the previewed window is asked of the server.
pub(super) fn drag_end(s: &mut State, start: WindowLevel, fx: &mut Vec<Effect>) {
    let level = s.browse.as_ref().and_then(|b| b.preview_level);
    if let Some(level) = level.filter(|l| *l != start) {
        change(s, |v| v.set_window(Window::Manual(level)), fx);
    }
}
