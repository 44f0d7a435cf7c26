//! Prompt encoder (the official `modeling/prompt_encoder.py`): points, boxes and a
//! low-resolution mask become sparse and dense embeddings for the mask decoder.

use std::f64::consts::PI;

use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Embedding, EmbeddingConfig};
use burn::prelude::*;

use crate::common::LayerNorm2d;
use crate::ops::{gelu, matmul};

/// Label of a foreground click.
pub const LABEL_POSITIVE: i32 = 1;
/// Label of a background click.
pub const LABEL_NEGATIVE: i32 = 0;
/// Label of the padding point appended when points come without a box.
pub const LABEL_PADDING: i32 = -1;

/// Sizes of the prompt encoder.
#[derive(Debug, Clone, PartialEq)]
pub struct PromptEncoderConfig {
    /// Embedding width (256 in every SAM).
    pub embed_dim: usize,
    /// Side of the image embedding grid (64).
    pub image_embedding_size: usize,
    /// Side of the padded model input, the frame of prompt coordinates (1024 or 256).
    pub input_image_size: usize,
    /// Hidden channels of the mask downscaler (16).
    pub mask_in_chans: usize,
}

impl PromptEncoderConfig {
    /// Builds the encoder with freshly initialised weights.
    pub fn init(&self, device: &Device) -> PromptEncoder {
        let d = self.embed_dim;
        let m = self.mask_in_chans;
        PromptEncoder {
            pe_layer: PositionEmbeddingRandom {
                positional_encoding_gaussian_matrix: Param::from_tensor(Tensor::random(
                    [2, d / 2],
                    burn::tensor::Distribution::Normal(0.0, 1.0),
                    device,
                )),
            },
            point_embeddings: (0..4)
                .map(|_| EmbeddingConfig::new(1, d).init(device))
                .collect(),
            not_a_point_embed: EmbeddingConfig::new(1, d).init(device),
            mask_downscaling: MaskDownscaling {
                conv1: Conv2dConfig::new([1, m / 4], [2, 2])
                    .with_stride([2, 2])
                    .init(device),
                norm1: LayerNorm2d::new(m / 4, device),
                conv2: Conv2dConfig::new([m / 4, m], [2, 2])
                    .with_stride([2, 2])
                    .init(device),
                norm2: LayerNorm2d::new(m, device),
                conv3: Conv2dConfig::new([m, d], [1, 1]).init(device),
            },
            no_mask_embed: EmbeddingConfig::new(1, d).init(device),
            image_embedding_size: self.image_embedding_size,
            input_image_size: self.input_image_size,
        }
    }
}

/// Prompts for one image, in the model's input frame (pixels of the resized, padded image).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Prompts {
    /// Click coordinates `(x, y)`.
    pub points: Vec<[f32; 2]>,
    /// One label per point: [`LABEL_POSITIVE`], [`LABEL_NEGATIVE`] (or [`LABEL_PADDING`]).
    pub labels: Vec<i32>,
    /// Optional box `(x0, y0, x1, y1)`.
    pub bbox: Option<[f32; 4]>,
}

/// Random-Fourier positional encoding (`PositionEmbeddingRandom`).
#[derive(Module, Debug)]
pub struct PositionEmbeddingRandom {
    /// `2 × embed_dim/2` Gaussian frequencies.
    pub positional_encoding_gaussian_matrix: Param<Tensor<2>>,
}

impl PositionEmbeddingRandom {
    /// `coords`: `…×N×2` in [0, 1] → `…×N×embed_dim` = `[sin(2π(2c-1)G), cos(…)]`.
    fn encode<const D: usize>(&self, coords: Tensor<D>) -> Tensor<D> {
        let gaussian = self
            .positional_encoding_gaussian_matrix
            .val()
            .unsqueeze::<D>();
        let projected = matmul(coords * 2.0 - 1.0, gaussian) * (2.0 * PI);
        Tensor::cat(vec![projected.clone().sin(), projected.cos()], D - 1)
    }

    /// Dense encoding of a `size×size` grid of pixel centres → `embed_dim×size×size`.
    pub fn grid(&self, size: usize, device: &Device) -> Tensor<3> {
        let step = |i: usize| (i as f32 + 0.5) / size as f32;
        let coords: Vec<f32> = (0..size)
            .flat_map(|y| (0..size).flat_map(move |x| [step(x), step(y)]))
            .collect();
        let coords = Tensor::<3>::from_data(TensorData::new(coords, [size, size, 2]), device);
        self.encode(coords).permute([2, 0, 1])
    }

    /// `coords`: `B×N×2` pixel coordinates in a `size×size` frame → `B×N×embed_dim`.
    pub fn encode_coords(&self, coords: Tensor<3>, size: usize) -> Tensor<3> {
        self.encode(coords / size as f64)
    }
}

/// `conv 2×2/2 → LN2d → GELU → conv 2×2/2 → LN2d → GELU → conv 1×1`
/// (`mask_downscaling.{0,1,3,4,6}` in PyTorch).
#[derive(Module, Debug)]
pub struct MaskDownscaling {
    /// `mask_downscaling.0`.
    pub conv1: Conv2d,
    /// `mask_downscaling.1`.
    pub norm1: LayerNorm2d,
    /// `mask_downscaling.3`.
    pub conv2: Conv2d,
    /// `mask_downscaling.4`.
    pub norm2: LayerNorm2d,
    /// `mask_downscaling.6`.
    pub conv3: Conv2d,
}

impl MaskDownscaling {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let x = gelu(self.norm1.forward(self.conv1.forward(x)));
        let x = gelu(self.norm2.forward(self.conv2.forward(x)));
        self.conv3.forward(x)
    }
}

/// The prompt encoder.
#[derive(Module, Debug)]
pub struct PromptEncoder {
    /// Positional encoding shared by prompts and the image grid.
    pub pe_layer: PositionEmbeddingRandom,
    /// Learned offsets: 0 negative point, 1 positive point, 2 box top-left, 3 box bottom-right.
    pub point_embeddings: Vec<Embedding>,
    /// Embedding of the padding point.
    pub not_a_point_embed: Embedding,
    /// Encoder of the low-res mask prompt.
    pub mask_downscaling: MaskDownscaling,
    /// Dense embedding used when no mask is given.
    pub no_mask_embed: Embedding,
    /// Side of the image embedding grid.
    pub image_embedding_size: usize,
    /// Side of the model input (frame of the prompt coordinates).
    pub input_image_size: usize,
}

impl PromptEncoder {
    /// Positional encoding of the image embedding grid, `1×embed_dim×64×64` (`get_dense_pe`).
    pub fn dense_pe(&self, device: &Device) -> Tensor<4> {
        self.pe_layer
            .grid(self.image_embedding_size, device)
            .unsqueeze()
    }

    fn embed_row(embedding: &Embedding) -> Tensor<2> {
        embedding.weight.val()
    }

    /// Sparse embeddings `1×N×embed_dim` for the points (plus the padding point when there
    /// is no box) and the two box corners, in that order.
    pub fn embed_sparse(&self, prompts: &Prompts, device: &Device) -> Tensor<3> {
        let mut parts: Vec<Tensor<2>> = Vec::new();
        if !prompts.points.is_empty() {
            let mut points = prompts.points.clone();
            let mut labels = prompts.labels.clone();
            if prompts.bbox.is_none() {
                points.push([0.0, 0.0]);
                labels.push(LABEL_PADDING);
            }
            parts.push(self.embed_points(&points, &labels, device));
        }
        if let Some(bbox) = prompts.bbox {
            parts.push(self.embed_box(bbox, device));
        }
        if parts.is_empty() {
            let d = self.no_mask_embed.weight.dims()[1];
            return Tensor::zeros([1, 0, d], device);
        }
        Tensor::cat(parts, 0).unsqueeze()
    }

    fn embed_points(&self, points: &[[f32; 2]], labels: &[i32], device: &Device) -> Tensor<2> {
        let n = points.len();
        // The +0.5 moves each click to the centre of its pixel.
        let flat: Vec<f32> = points
            .iter()
            .flat_map(|p| [p[0] + 0.5, p[1] + 0.5])
            .collect();
        let coords = Tensor::<3>::from_data(TensorData::new(flat, [1, n, 2]), device);
        let pe = self
            .pe_layer
            .encode_coords(coords, self.input_image_size)
            .squeeze_dim::<2>(0);
        let rows: Vec<Tensor<2>> = labels
            .iter()
            .enumerate()
            .map(|(i, &label)| {
                let row = pe.clone().narrow(0, i, 1);
                match label {
                    LABEL_PADDING => Self::embed_row(&self.not_a_point_embed),
                    LABEL_NEGATIVE => row + Self::embed_row(&self.point_embeddings[0]),
                    LABEL_POSITIVE => row + Self::embed_row(&self.point_embeddings[1]),
                    // SAM 1.0 adds nothing for other labels; keep its behaviour.
                    _ => row,
                }
            })
            .collect();
        Tensor::cat(rows, 0)
    }

    fn embed_box(&self, bbox: [f32; 4], device: &Device) -> Tensor<2> {
        let flat: Vec<f32> = bbox.iter().map(|v| v + 0.5).collect();
        let coords = Tensor::<3>::from_data(TensorData::new(flat, [1, 2, 2]), device);
        let corners = self
            .pe_layer
            .encode_coords(coords, self.input_image_size)
            .squeeze_dim::<2>(0);
        let top_left = corners.clone().narrow(0, 0, 1) + Self::embed_row(&self.point_embeddings[2]);
        let bottom_right = corners.narrow(0, 1, 1) + Self::embed_row(&self.point_embeddings[3]);
        Tensor::cat(vec![top_left, bottom_right], 0)
    }

    /// Dense embedding `1×embed_dim×64×64`: the downscaled `mask_input` (`1×1×256×256`
    /// logits) or `no_mask_embed` broadcast over the grid.
    pub fn embed_dense(&self, mask_input: Option<Tensor<4>>, device: &Device) -> Tensor<4> {
        match mask_input {
            Some(mask) => self.mask_downscaling.forward(mask),
            None => {
                let weight = self.no_mask_embed.weight.val();
                let d = weight.dims()[1];
                let s = self.image_embedding_size;
                weight
                    .reshape([1, d, 1, 1])
                    .expand([1, d, s, s])
                    .to_device(device)
            }
        }
    }
}
