//! Steps several messages share: asking for an embedding, decoding the steps on screen,
//! the results' state side, the paper protocol, putting an image on screen.

use crate::ground_truth::GroundTruth;
use crate::history::History;

use super::{Effect, ImageMeta, Part, State};

/// Asks the worker for the embedding of the image on screen (once per image: one held or
/// already asked for is not fetched again).
pub(super) fn request_embedding(s: &mut State, fx: &mut Vec<Effect>) {
    let Some(image) = s.scan.image.as_ref().map(|i| i.id.clone()) else {
        return;
    };
    match s.link.ask_embedding(&image) {
        super::EmbeddingAsk::Fetch => {
            fx.push(Effect::status(
                "Computing the image embedding on the server…",
            ));
            fx.push(Effect::SetImage { image });
        }
        super::EmbeddingAsk::Held => {
            fx.push(Effect::status(
                "Ready: drag a box around the structure, or click inside it.",
            ));
            commit(s, fx);
        }
        super::EmbeddingAsk::Nothing => {}
    }
}

/// Decodes the current steps (or clears the result when there are none).
pub(super) fn commit(s: &mut State, fx: &mut Vec<Effect>) {
    let steps = s.session.history.steps().to_vec();
    if steps.is_empty() {
        s.session.clear_results();
        s.session.chart.clear();
    } else {
        fx.extend(s.link.decode(steps, false).map(Effect::Post));
    }
    results(s, fx);
    fx.push(Effect::Render(Part::Canvas));
}

/// Runs an edit of the steps, then decodes.
pub(super) fn edit(s: &mut State, f: impl FnOnce(&mut History), fx: &mut Vec<Effect>) {
    f(&mut s.session.history);
    commit(s, fx);
}

/// The state side of the results panel: the chart, the paper protocol's line, and a
/// student's result for the class.
pub(super) fn results(s: &mut State, fx: &mut Vec<Effect>) {
    let answered = s.session.answered();
    let metrics = s.session.chart_step();
    if let Some(text) = s.session.paper_result(metrics) {
        fx.push(Effect::Text {
            id: "paper-result",
            text,
        });
    }
    let clicks = s.session.history.steps().len();
    if answered
        && !s.session.paper_pending
        && let Some(class) = s.class.as_mut()
        && let Some(post) = class.result(metrics, clicks)
    {
        fx.push(Effect::PostResult {
            key: class.key.clone(),
            post,
        });
    }
    fx.push(Effect::Render(Part::Results));
}

pub(super) fn paper_protocol(s: &mut State, fx: &mut Vec<Effect>) {
    if !s.answer_visible() {
        return;
    }
    let step = s
        .session
        .gt
        .as_ref()
        .zip(s.session.label)
        .and_then(|((_, gt), label)| gt.paper_protocol(label));
    match step {
        Some(step) => {
            s.session.paper_pending = true;
            edit(s, |h| h.set(vec![step]), fx);
        }
        None => fx.push(Effect::Error(
            "paper protocol: upload a ground truth and pick an object first".into(),
        )),
    }
}

/// Puts image `meta` on screen: no embedding yet, no mask, no preview. Prompts and ground
/// truth are left to the caller.
pub(super) fn install_image(s: &mut State, meta: ImageMeta) {
    s.scan.image = Some(meta);
    s.link.embedding_ready = false;
    s.session.clear_results();
    if let Some(b) = s.browse.as_mut() {
        b.preview_level = None;
    }
}

/// The ground truth a share link brought, decoded at the image's size.
pub(super) fn take_pending_gt(
    s: &mut State,
    fx: &mut Vec<Effect>,
) -> Option<(String, GroundTruth)> {
    let (width, height) = s.scan.image.as_ref().map(|i| (i.width, i.height))?;
    let (id, bytes) = s.scan.pending_gt.take()?;
    match GroundTruth::decode(&bytes, width, height) {
        Ok(gt) => Some((id, gt)),
        Err(e) => {
            fx.push(Effect::Error(e));
            None
        }
    }
}
