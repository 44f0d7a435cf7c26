//! `SamPredictor`, like the official `predictor.py`: owns the model and the state a user
//! needs (embedding, original and input sizes) and maps prompts and masks between the
//! original image and the model frame.

use std::sync::atomic::{AtomicU64, Ordering};

use burn::prelude::*;

use crate::build_sam::{ModelConfig, ModelId, Preprocessing};
use crate::error::SamError;
use crate::mask_decoder::DecoderOutput;
use crate::precision::{Precision, cast_module};
use crate::prompt_encoder::{LABEL_NEGATIVE, LABEL_POSITIVE, Prompts};
use crate::sam::{ImageEncoder, PreparedImage, SamDecoder, postprocess_masks};
use crate::transforms::{
    RgbImage, mean_std_normalize_pad, min_max_normalize_pad, preprocess_shape, resize_area,
    resize_bilinear_pil,
};
use burn::tensor::FloatDType;

pub use api::{BinaryMask, best_index};

/// An image embedding with the geometry needed to map prompts and masks.
#[derive(Debug, Clone)]
pub struct Embedding {
    /// Model that produced it.
    pub model: ModelId,
    /// `1×256×64×64`.
    pub tensor: Tensor<4>,
    /// Original image `(height, width)`.
    pub original_size: (usize, usize),
    /// Resized image `(height, width)` inside the padded model input.
    pub input_size: (usize, usize),
}

/// Prompts in ORIGINAL image pixels (x = column, y = row).
#[derive(Debug, Clone, Default)]
pub struct PromptInput {
    /// Clicks `(x, y)`.
    pub points: Vec<[f64; 2]>,
    /// One label per click: 1 foreground, 0 background.
    pub labels: Vec<i32>,
    /// Box `(x0, y0, x1, y1)`.
    pub bbox: Option<[f64; 4]>,
    /// Previous low-res logits `1×1×256×256` (model frame), as the official demo chains them.
    pub mask_input: Option<Tensor<4>>,
    /// Return 3 candidates (true) or the single-mask output (false).
    pub multimask: bool,
}

/// Result of [`SamPredictor::predict`].
#[derive(Debug, Clone)]
pub struct Prediction {
    /// Masks at the original size (3 in multimask mode, else 1).
    pub masks: Vec<BinaryMask>,
    /// Predicted IoU per mask.
    pub iou_predictions: Vec<f32>,
    /// Low-res logits `1×C×256×256` in the model frame.
    pub low_res_logits: Tensor<4>,
}

impl Prediction {
    /// Index of the mask with the highest predicted IoU (first on ties).
    pub fn best(&self) -> usize {
        best_index(&self.iou_predictions)
    }
}

/// One decode reduced to the candidate SAM keeps ([`SamPredictor::predict_prepared_chosen`]).
#[derive(Debug, Clone)]
pub struct ChosenMask {
    /// Index of the kept candidate among the decoded ones.
    pub index: usize,
    /// That candidate at the original size.
    pub mask: BinaryMask,
    /// Predicted IoU of every candidate.
    pub iou_predictions: Vec<f32>,
    /// Low-res logits of every candidate, `1×C×256×256` in the model frame.
    pub low_res_logits: Tensor<4>,
}

/// Runs a model on images and prompts, like the official `SamPredictor`.
#[derive(Debug)]
pub struct SamPredictor {
    config: ModelConfig,
    encoder: Option<ImageEncoder>,
    /// Precision the encoder runs in (its output is always returned as f32).
    precision: Precision,
    decoder: SamDecoder,
    /// The decoder's dense positional encoding, computed once.
    image_pe: Tensor<4>,
    device: Device,
    /// Identifies this predictor in the [`PreparedEmbedding`]s it makes.
    id: u64,
}

/// Source of [`SamPredictor`] ids.
static NEXT_PREDICTOR_ID: AtomicU64 = AtomicU64::new(0);

/// An [`Embedding`] with the per-image part of decoding done by one predictor
/// ([`SamPredictor::prepare`]); decode every click of that image from it.
#[derive(Debug, Clone)]
pub struct PreparedEmbedding {
    embedding: Embedding,
    image: PreparedImage,
    /// The predictor that prepared it (its decoder weights are in `image`).
    predictor: u64,
}

impl PreparedEmbedding {
    /// The embedding it was prepared from.
    pub fn embedding(&self) -> &Embedding {
        &self.embedding
    }
}

impl SamPredictor {
    /// A predictor with both encoder and decoder; the encoder is prepared for inference.
    pub fn new(
        config: ModelConfig,
        encoder: ImageEncoder,
        decoder: SamDecoder,
        device: Device,
    ) -> Self {
        Self {
            encoder: Some(encoder.for_inference()),
            ..Self::decoder_only(config, decoder, device)
        }
    }

    /// A decode-only predictor (embeddings come from elsewhere, e.g. the server).
    pub fn decoder_only(config: ModelConfig, decoder: SamDecoder, device: Device) -> Self {
        let image_pe = decoder.prompt_encoder.dense_pe(&device);
        Self {
            config,
            encoder: None,
            precision: Precision::F32,
            decoder,
            image_pe,
            device,
            id: NEXT_PREDICTOR_ID.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Runs the image encoder in `precision` (f16/bf16 are meant for GPU backends; the
    /// embedding is returned as f32 either way). The decoder stays in f32.
    pub fn with_precision(mut self, precision: Precision) -> Self {
        self.encoder = self.encoder.map(|e| cast_module(e, precision));
        self.precision = precision;
        self
    }

    /// The model configuration.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The prompt encoder + mask decoder.
    pub fn decoder(&self) -> &SamDecoder {
        &self.decoder
    }

    /// The device the model runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The encoder input for `image`: `1×3×S×S` plus the resized `(height, width)`.
    pub fn preprocess(&self, image: &RgbImage) -> Result<(Tensor<4>, (usize, usize)), SamError> {
        if image.width == 0 || image.height == 0 {
            return Err(SamError::InvalidImage("the image has no pixels".into()));
        }
        if image.pixels.len() != image.width * image.height * 3 {
            return Err(SamError::InvalidImage(
                "pixel buffer does not match width × height × 3".into(),
            ));
        }
        let size = self.config.img_size;
        let (h, w) = preprocess_shape(image.height, image.width, size);
        let data = match self.config.preprocessing {
            Preprocessing::MedSamLite => min_max_normalize_pad(&resize_area(image, h, w), size),
            Preprocessing::SamVit { mean, std } => {
                mean_std_normalize_pad(&resize_bilinear_pil(image, h, w), size, mean, std)
            }
        };
        let tensor = Tensor::from_data(TensorData::new(data, [1, 3, size, size]), &self.device);
        Ok((tensor, (h, w)))
    }

    /// Runs the image encoder once (`set_image`).
    pub fn embed(&self, image: &RgbImage) -> Result<Embedding, SamError> {
        let encoder = self.encoder.as_ref().ok_or_else(|| {
            SamError::InvalidEmbedding("this predictor has no image encoder".into())
        })?;
        let (input, input_size) = self.preprocess(image)?;
        Ok(Embedding {
            model: self.config.id,
            tensor: self.encode(encoder, input),
            original_size: (image.height, image.width),
            input_size,
        })
    }

    /// Runs the encoder on a preprocessed `1×3×S×S` input in the predictor's precision.
    fn encode(&self, encoder: &ImageEncoder, input: Tensor<4>) -> Tensor<4> {
        if self.precision == Precision::F32 {
            return encoder.forward(input);
        }
        encoder
            .forward(input.cast(self.precision.dtype()))
            .cast(FloatDType::F32)
    }

    /// The encoder on a preprocessed `1×3×S×S` input (benchmarks, evaluation caches).
    pub fn embed_preprocessed(&self, input: Tensor<4>) -> Result<Tensor<4>, SamError> {
        let encoder = self.encoder.as_ref().ok_or_else(|| {
            SamError::InvalidEmbedding("this predictor has no image encoder".into())
        })?;
        Ok(self.encode(encoder, input))
    }

    /// Checks prompts against the image they refer to.
    fn validate(&self, embedding: &Embedding, prompt: &PromptInput) -> Result<(), SamError> {
        let (h, w) = embedding.original_size;
        if prompt.points.len() != prompt.labels.len() {
            return Err(SamError::InvalidPrompt(format!(
                "{} points but {} labels",
                prompt.points.len(),
                prompt.labels.len()
            )));
        }
        if prompt.points.is_empty() && prompt.bbox.is_none() && prompt.mask_input.is_none() {
            return Err(SamError::InvalidPrompt(
                "give at least one point, a box or a mask input".into(),
            ));
        }
        for (i, (p, &label)) in prompt.points.iter().zip(&prompt.labels).enumerate() {
            let inside = p[0].is_finite()
                && p[1].is_finite()
                && (0.0..w as f64).contains(&p[0])
                && (0.0..h as f64).contains(&p[1]);
            if !inside {
                return Err(SamError::InvalidPrompt(format!(
                    "point {} ({}, {}) is outside the {w}×{h} image",
                    i + 1,
                    p[0],
                    p[1]
                )));
            }
            if label != LABEL_POSITIVE && label != LABEL_NEGATIVE {
                return Err(SamError::InvalidPrompt(format!(
                    "point {} has label {label}; use 1 (foreground) or 0 (background)",
                    i + 1
                )));
            }
        }
        if let Some(b) = prompt.bbox {
            if b.iter().any(|v| !v.is_finite()) || b[0] > b[2] || b[1] > b[3] {
                return Err(SamError::InvalidPrompt(format!(
                    "box ({}, {}, {}, {}) must have x0 ≤ x1 and y0 ≤ y1",
                    b[0], b[1], b[2], b[3]
                )));
            }
            if b[0] < 0.0 || b[1] < 0.0 || b[2] > w as f64 || b[3] > h as f64 {
                return Err(SamError::InvalidPrompt(format!(
                    "box ({}, {}, {}, {}) is outside the {w}×{h} image",
                    b[0], b[1], b[2], b[3]
                )));
            }
        }
        if let Some(mask) = &prompt.mask_input {
            let s = self.config.low_res_size();
            if mask.dims() != [1, 1, s, s] {
                return Err(SamError::InvalidPrompt(format!(
                    "mask input has shape {:?}; expected [1, 1, {s}, {s}]",
                    mask.dims()
                )));
            }
        }
        Ok(())
    }

    /// The prompts mapped into the model frame.
    pub fn model_prompts(&self, embedding: &Embedding, prompt: &PromptInput) -> Prompts {
        crate::transforms::model_prompts(
            &prompt.points,
            &prompt.labels,
            prompt.bbox,
            embedding.original_size,
            embedding.input_size,
        )
    }

    /// Checks that `embedding` comes from this predictor's model and has its shape.
    fn check_embedding(&self, embedding: &Embedding) -> Result<(), SamError> {
        if embedding.model != self.config.id {
            return Err(SamError::InvalidEmbedding(format!(
                "embedding was made by `{}` but this predictor runs `{}`",
                embedding.model, self.config.id
            )));
        }
        let e = self.config.embedding_size();
        if embedding.tensor.dims() != [1, 256, e, e] {
            return Err(SamError::InvalidEmbedding(format!(
                "shape {:?}; expected [1, 256, {e}, {e}]",
                embedding.tensor.dims()
            )));
        }
        Ok(())
    }

    /// Checks that `embedding` comes from this predictor's model and has its shape, and
    /// does the per-image part of decoding once ([`SamDecoder::prepare`]): decode every
    /// prompt of one image from the result ([`Self::predict_prepared`]).
    pub fn prepare(&self, embedding: &Embedding) -> Result<PreparedEmbedding, SamError> {
        self.check_embedding(embedding)?;
        Ok(PreparedEmbedding {
            embedding: embedding.clone(),
            image: self
                .decoder
                .prepare(embedding.tensor.clone(), self.image_pe.clone()),
            predictor: self.id,
        })
    }

    /// Runs the prompt encoder and mask decoder: low-res logits and predicted IoUs, on
    /// device.
    fn decode_low_res(
        &self,
        prepared: &PreparedEmbedding,
        prompt: &PromptInput,
    ) -> Result<DecoderOutput, SamError> {
        if prepared.predictor != self.id {
            return Err(SamError::InvalidEmbedding(
                "the embedding was prepared by another predictor (other decoder weights)".into(),
            ));
        }
        let embedding = &prepared.embedding;
        self.validate(embedding, prompt)?;
        let prompts = self.model_prompts(embedding, prompt);
        Ok(self.decoder.decode_prepared(
            &prepared.image,
            &prompts,
            prompt.mask_input.clone(),
            prompt.multimask,
        ))
    }

    /// Low-res logits `1×C×256×256` → thresholded masks at the original image size.
    fn masks_at_original_size(&self, embedding: &Embedding, low_res: Tensor<4>) -> Tensor<4, Bool> {
        postprocess_masks(
            low_res,
            self.config.img_size,
            embedding.input_size,
            embedding.original_size,
        )
        .greater_elem(0.0)
    }

    /// Runs the prompt encoder and mask decoder on device: thresholded masks at the
    /// original size, predicted IoUs and low-res logits, nothing read back yet.
    fn decode_on_device(
        &self,
        prepared: &PreparedEmbedding,
        prompt: &PromptInput,
    ) -> Result<DecodedOnDevice, SamError> {
        let out = self.decode_low_res(prepared, prompt)?;
        let masks = self.masks_at_original_size(&prepared.embedding, out.low_res_masks.clone());
        Ok(DecodedOnDevice {
            dims: masks.dims(),
            masks,
            iou_predictions: out.iou_predictions,
            low_res_logits: out.low_res_masks,
        })
    }

    /// Decodes one prompt set and keeps only the candidate SAM would keep (the highest
    /// predicted IoU), upscaled alone to the original size: what an evaluation scores, for a
    /// third of the upscaling work in multimask mode. The mask equals
    /// `predict_prepared(…).masks[best]` bit for bit.
    pub fn predict_prepared_chosen(
        &self,
        prepared: &PreparedEmbedding,
        prompt: &PromptInput,
    ) -> Result<ChosenMask, SamError> {
        let out = self.decode_low_res(prepared, prompt)?;
        let iou_predictions = iou_values(out.iou_predictions.into_data())?;
        let index = best_index(&iou_predictions);
        let [_, _, h, w] = out.low_res_masks.dims();
        let chosen = out
            .low_res_masks
            .clone()
            .slice([0..1, index..index + 1, 0..h, 0..w]);
        let masks = self.masks_at_original_size(&prepared.embedding, chosen);
        let [_, _, height, width] = masks.dims();
        Ok(ChosenMask {
            index,
            mask: BinaryMask {
                width,
                height,
                data: bool_values(&masks.into_data())?,
            },
            iou_predictions,
            low_res_logits: out.low_res_masks,
        })
    }

    /// Decodes `embedding` without any prompt: an empty sparse prompt, the `no_mask_embed`
    /// dense prompt and the single-mask output — how a decoder fine-tuned without prompts
    /// (the paper's vessel decoder) is used. [`Self::predict`] asks for at least one
    /// prompt; this is the one way to decode none. It runs the decoder unprepared, the path
    /// fine-tuning trains through, and returns one mask at the original size.
    pub fn predict_promptless(&self, embedding: &Embedding) -> Result<Prediction, SamError> {
        self.check_embedding(embedding)?;
        let out = self.decoder.decode(
            embedding.tensor.clone(),
            self.image_pe.clone(),
            &Prompts::default(),
            None,
            false,
        );
        let masks = self.masks_at_original_size(embedding, out.low_res_masks.clone());
        DecodedOnDevice {
            dims: masks.dims(),
            masks,
            iou_predictions: out.iou_predictions,
            low_res_logits: out.low_res_masks,
        }
        .read()
    }

    /// Decodes masks for one prompt set (`predict`). Prepares the embedding first: for
    /// several prompts on one image, [`Self::prepare`] once and call
    /// [`Self::predict_prepared`] (same results, bit for bit).
    pub fn predict(
        &self,
        embedding: &Embedding,
        prompt: &PromptInput,
    ) -> Result<Prediction, SamError> {
        self.predict_prepared(&self.prepare(embedding)?, prompt)
    }

    /// Decodes masks for one prompt set on a prepared embedding.
    pub fn predict_prepared(
        &self,
        prepared: &PreparedEmbedding,
        prompt: &PromptInput,
    ) -> Result<Prediction, SamError> {
        self.decode_on_device(prepared, prompt)?.read()
    }

    /// [`Self::predict_prepared`] with asynchronous reads, as WebGPU in a browser requires.
    pub async fn predict_prepared_async(
        &self,
        prepared: &PreparedEmbedding,
        prompt: &PromptInput,
    ) -> Result<Prediction, SamError> {
        let decoded = self.decode_on_device(prepared, prompt)?;
        let masks = decoded
            .masks
            .clone()
            .into_data_async()
            .await
            .map_err(|e| SamError::InvalidEmbedding(format!("reading masks: {e:?}")))?;
        let ious = decoded
            .iou_predictions
            .clone()
            .into_data_async()
            .await
            .map_err(|e| SamError::InvalidEmbedding(format!("reading IoU: {e:?}")))?;
        decoded.finish(masks, ious)
    }
}

/// A decode whose outputs are still on the device.
struct DecodedOnDevice {
    /// `B×C×H×W` of the masks.
    dims: [usize; 4],
    masks: Tensor<4, Bool>,
    iou_predictions: Tensor<2>,
    low_res_logits: Tensor<4>,
}

impl DecodedOnDevice {
    /// Reads the masks and IoUs back and builds the [`Prediction`].
    fn read(self) -> Result<Prediction, SamError> {
        let masks = self.masks.clone().into_data();
        let ious = self.iou_predictions.clone().into_data();
        self.finish(masks, ious)
    }

    /// Builds the [`Prediction`] from the read-back masks and IoUs.
    fn finish(self, masks: TensorData, ious: TensorData) -> Result<Prediction, SamError> {
        let [_, c, h, w] = self.dims;
        let values = bool_values(&masks)?;
        let masks = values
            .chunks(h * w)
            .take(c)
            .map(|plane| BinaryMask {
                width: w,
                height: h,
                data: plane.to_vec(),
            })
            .collect();
        let iou_predictions = iou_values(ious)?;
        Ok(Prediction {
            masks,
            iou_predictions,
            low_res_logits: self.low_res_logits,
        })
    }
}

/// Predicted IoUs read back from the device, as f32 whatever the backend's float type.
fn iou_values(data: TensorData) -> Result<Vec<f32>, SamError> {
    data.convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|e| SamError::InvalidEmbedding(format!("reading IoU: {e:?}")))
}

/// A boolean tensor's values as 0/1 bytes, whatever storage the backend uses.
fn bool_values(data: &TensorData) -> Result<Vec<u8>, SamError> {
    use burn::tensor::{BoolStore, DType};
    let unreadable = |e| SamError::InvalidEmbedding(format!("reading masks: {e:?}"));
    Ok(match data.dtype() {
        DType::Bool(BoolStore::Native) => data
            .as_slice::<bool>()
            .map_err(unreadable)?
            .iter()
            .map(|&v| u8::from(v))
            .collect(),
        DType::Bool(BoolStore::U32) => data
            .as_slice::<u32>()
            .map_err(unreadable)?
            .iter()
            .map(|&v| u8::from(v != 0))
            .collect(),
        _ => data
            .as_slice::<u8>()
            .map_err(unreadable)?
            .iter()
            .map(|&v| u8::from(v != 0))
            .collect(),
    })
}
