//! Decoding without any prompt (`promptless`): an empty sparse prompt and the
//! `no_mask_embed` dense prompt, the single-mask output — how the paper's fine-tuned vessel
//! decoder is used. [`sam::SamPredictor::predict`] asks for at least one prompt, so this
//! drives the predictor's decoder directly, with the same post-processing.

use sam::sam::postprocess_masks;
use sam::{BinaryMask, Embedding, Prediction, Prompts, SamError, SamPredictor};

/// The promptless prediction of `predictor` for `embedding`: one mask at the original size.
pub fn predict(predictor: &SamPredictor, embedding: &Embedding) -> Result<Prediction, SamError> {
    let config = predictor.config();
    if embedding.model != config.id {
        return Err(SamError::InvalidEmbedding(format!(
            "embedding was made by `{}` but this predictor runs `{}`",
            embedding.model, config.id
        )));
    }
    let e = config.embedding_size();
    if embedding.tensor.dims() != [1, 256, e, e] {
        return Err(SamError::InvalidEmbedding(format!(
            "shape {:?}; expected [1, 256, {e}, {e}]",
            embedding.tensor.dims()
        )));
    }
    let decoder = predictor.decoder();
    let image_pe = decoder.prompt_encoder.dense_pe(predictor.device());
    let out = decoder.decode(
        embedding.tensor.clone(),
        image_pe,
        &Prompts::default(),
        None,
        false,
    );
    let logits = postprocess_masks(
        out.low_res_masks.clone(),
        config.img_size,
        embedding.input_size,
        embedding.original_size,
    );
    let [_, _, h, w] = logits.dims();
    let values = logits
        .try_into_vec_as::<f32>()
        .map_err(|e| SamError::InvalidEmbedding(format!("reading masks: {e:?}")))?;
    let iou_predictions = out
        .iou_predictions
        .try_into_vec_as::<f32>()
        .map_err(|e| SamError::InvalidEmbedding(format!("reading IoU: {e:?}")))?;
    Ok(Prediction {
        masks: vec![BinaryMask {
            width: w,
            height: h,
            data: values.iter().map(|&v| u8::from(v > 0.0)).collect(),
        }],
        iou_predictions,
        low_res_logits: out.low_res_masks,
    })
}
