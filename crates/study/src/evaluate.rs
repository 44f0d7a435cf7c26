//! Scoring one image: every ground-truth instance under every protocol, all decoded from
//! the image's one embedding (mask → metrics, the last step of the pipeline).

use std::time::Instant;

use sam::{BinaryMask, ChosenMask, Embedding, PreparedEmbedding, PromptInput, SamPredictor};

use eval::ground_truth::GroundTruth;
use eval::instances::{Instance, InstanceMode, extract};
use eval::metrics::{Spacing, iou, score};
use eval::protocols::{Prompt, Protocol, ProtocolOptions, corrective_click, first_prompt, flags};

use crate::error::StudyError;
use crate::model::prompt_input;
use crate::record::{EmptyRecord, InstanceResult, PromptRecord, Rle};

/// What to measure, shared by every image of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalOptions {
    /// Protocols, each applied to every instance.
    pub protocols: Vec<Protocol>,
    /// How label maps split into instances.
    pub instances: InstanceMode,
    /// Protocol parameters.
    pub prompt: ProtocolOptions,
    /// NSD tolerance, mm.
    pub nsd_tolerance_mm: f64,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self {
            protocols: vec![Protocol::Centroid],
            instances: InstanceMode::Class,
            prompt: ProtocolOptions::default(),
            nsd_tolerance_mm: 2.0,
        }
    }
}

/// The scores of one image, and the declared classes it lacks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImageScores {
    /// One per instance and protocol, protocol-major.
    pub results: Vec<InstanceResult>,
    /// Skipped, counted.
    pub empty: Vec<EmptyRecord>,
}

/// Scores every instance of `truth` (the ground truth of image `id`) under every protocol
/// of `options`, decoding from `embedding`.
pub fn evaluate_image(
    predictor: &SamPredictor,
    embedding: &Embedding,
    id: &str,
    truth: &GroundTruth,
    spacing: Spacing,
    options: &EvalOptions,
) -> Result<ImageScores, StudyError> {
    let found = extract(truth, options.instances);
    let embedding = predictor
        .prepare(embedding)
        .map_err(|source| StudyError::Model {
            context: id.to_string(),
            source,
        })?;
    let embedding = &embedding;
    let mut results = Vec::new();
    for &protocol in &options.protocols {
        for instance in &found.instances {
            let gt = instance.mask(truth.width, truth.height);
            results.push(score_instance(
                predictor, embedding, id, instance, &gt, protocol, spacing, options,
            )?);
        }
    }
    Ok(ImageScores {
        results,
        empty: found
            .empty
            .into_iter()
            .map(|e| EmptyRecord {
                class: e.class,
                value: e.value,
            })
            .collect(),
    })
}

/// One decoder call, timed, reduced to the candidate SAM keeps (the only one scored; a
/// single-mask decode has just one).
fn decode(
    predictor: &SamPredictor,
    embedding: &PreparedEmbedding,
    input: &PromptInput,
    context: &dyn Fn() -> String,
) -> Result<(ChosenMask, f64), StudyError> {
    let start = Instant::now();
    let promptless = input.points.is_empty() && input.bbox.is_none() && input.mask_input.is_none();
    let chosen = if promptless {
        predictor
            .predict_promptless(embedding.embedding())
            .map(|p| ChosenMask {
                index: 0,
                mask: p.masks.into_iter().next().expect("one promptless mask"),
                iou_predictions: p.iou_predictions,
                low_res_logits: p.low_res_logits,
            })
    } else {
        predictor.predict_prepared_chosen(embedding, input)
    };
    let chosen = chosen.map_err(|source| StudyError::Model {
        context: context(),
        source,
    })?;
    Ok((chosen, start.elapsed().as_secs_f64()))
}

#[allow(clippy::too_many_arguments)]
fn score_instance(
    predictor: &SamPredictor,
    embedding: &PreparedEmbedding,
    id: &str,
    instance: &Instance,
    gt: &BinaryMask,
    protocol: Protocol,
    spacing: Spacing,
    options: &EvalOptions,
) -> Result<InstanceResult, StudyError> {
    let key = instance.key();
    let context = || format!("{id}: {} {key} ({protocol})", instance.class);
    let (prompt, raised) = first_prompt(
        protocol,
        &instance.pixels,
        gt.width,
        gt.height,
        &options.prompt,
        &[id, &instance.class, &key],
    );
    let mut flags: Vec<String> = raised.iter().map(|f| f.to_string()).collect();
    let mut input = prompt_input(&prompt);
    let (mut prediction, mut seconds) = decode(predictor, embedding, &input, &context)?;
    let mut decodes = 1;
    let mut clicks = Vec::new();
    if protocol == Protocol::Iterative {
        clicks.push(iou(gt, &prediction.mask).unwrap_or(0.0));
        while clicks.len() < options.prompt.clicks {
            let Some((point, label)) = corrective_click(gt, &prediction.mask) else {
                flags.push(flags::PERFECT_EARLY.to_string());
                break;
            };
            input.points.push(point);
            input.labels.push(label);
            input.mask_input = Some(prediction.low_res_logits.clone().narrow(
                1,
                prediction.index,
                1,
            ));
            input.multimask = false;
            let (next, s) = decode(predictor, embedding, &input, &context)?;
            prediction = next;
            seconds += s;
            decodes += 1;
            clicks.push(iou(gt, &prediction.mask).unwrap_or(0.0));
        }
        // An exact mask stays exact: later clicks would change nothing.
        let last = clicks.last().copied().unwrap_or(0.0);
        clicks.resize(options.prompt.clicks.max(clicks.len()), last);
    }
    let (mask, chosen) = (&prediction.mask, prediction.index);
    let scores =
        score(gt, mask, spacing, options.nsd_tolerance_mm).expect("instances always have pixels");
    if mask.area() == 0 {
        flags.push(flags::EMPTY_PREDICTION.to_string());
    }
    let given = Prompt {
        points: input.points,
        labels: input.labels,
        bbox: input.bbox,
        multimask: input.multimask,
    };
    Ok(InstanceResult {
        protocol: protocol.as_str().to_string(),
        class: instance.class.clone(),
        value: instance.value,
        component: instance.component,
        instance: key,
        area: instance.pixels.len(),
        prompt: PromptRecord {
            text: given.describe(),
            points: given.points,
            labels: given.labels,
            bbox: given.bbox,
        },
        chosen,
        predicted_iou: f64::from(prediction.iou_predictions[chosen]),
        dice: scores.dice,
        iou: scores.iou,
        hd95: scores.hd95,
        nsd: scores.nsd,
        flags,
        clicks,
        decodes,
        decode_seconds: seconds,
        truth: Rle::encode(gt),
        prediction: Rle::encode(mask),
    })
}
