//! The trainable decoder: what learns (the whole mask decoder and the prompt encoder's
//! dense no-mask embedding), what stays frozen (the rest of the prompt encoder), parameter
//! ids that survive a restart, and one batched forward pass.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::prelude::*;
use sam::SamDecoder;

/// `decoder` ready for training on its device with autodiff: every mask-decoder parameter
/// and `prompt_encoder.no_mask_embed` require gradients, the other prompt-encoder parameters
/// (positional frequencies, point and box embeddings, mask downscaling) are frozen.
/// Parameter ids are derived from the parameter paths (see [`stable_ids`]).
pub fn trainable(decoder: SamDecoder) -> SamDecoder {
    let SamDecoder {
        mut prompt_encoder,
        mask_decoder,
    } = decoder.train();
    let no_mask_embed = prompt_encoder.no_mask_embed.clone().set_require_grad(true);
    prompt_encoder = prompt_encoder.no_grad();
    prompt_encoder.no_mask_embed = no_mask_embed;
    stable_ids(SamDecoder {
        prompt_encoder,
        mask_decoder: mask_decoder.set_require_grad(true),
    })
}

/// FNV-1a of a parameter path: its id, the same in every process (optimizer state saved by
/// one run is found again by a resumed one).
fn path_id(path: &str) -> ParamId {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in path.as_bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    ParamId::from(hash)
}

/// Renames every float parameter's id to the hash of its path.
struct StableIds {
    path: Vec<String>,
}

impl ModuleMapper for StableIds {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (_, tensor, mapper) = param.consume();
        Param::from_mapped_value(path_id(&self.path.join(".")), tensor, mapper)
    }
}

/// `module` with every float parameter's id replaced by a hash of its path.
pub fn stable_ids<M: Module>(module: M) -> M {
    module.map(&mut StableIds { path: Vec::new() })
}

/// The path and id of every float parameter, with whether it requires gradients.
#[derive(Debug, Default)]
pub struct ParamList {
    path: Vec<String>,
    /// `(path, id, shape, trainable)` in module order.
    pub params: Vec<(String, ParamId, Vec<usize>, bool)>,
}

impl ModuleVisitor for ParamList {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let value = param.val();
        self.params.push((
            self.path.join("."),
            param.id,
            value.dims().to_vec(),
            value.is_require_grad(),
        ));
    }
}

/// Every float parameter of `module`: path, id, shape, trainable.
pub fn parameters<M: Module>(module: &M) -> ParamList {
    let mut list = ParamList::default();
    module.visit(&mut list);
    list
}

/// One batch in the decoder's frame.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Image embeddings `B×256×E×E` (constants).
    pub embeddings: Tensor<4>,
    /// Sparse prompt embeddings `B×N×256` (the same N for every image).
    pub sparse: Tensor<3>,
    /// Targets `B×1×S×S` in `[0, 1]`.
    pub truth: Tensor<4>,
}

/// Single-mask low-res logits `B×1×S×S` of `decoder` for `batch`; `image_pe` is the
/// dense positional encoding `1×256×E×E`.
pub fn forward(decoder: &SamDecoder, image_pe: Tensor<4>, batch: &Batch) -> Tensor<4> {
    let [b, c, e, _] = batch.embeddings.dims();
    let device = batch.embeddings.device();
    let dense = decoder
        .prompt_encoder
        .embed_dense(None, &device)
        .expand([b, c, e, e]);
    let image_pe = image_pe.expand([b, c, e, e]);
    decoder
        .mask_decoder
        .forward(
            batch.embeddings.clone(),
            image_pe,
            batch.sparse.clone(),
            dense,
            false,
        )
        .low_res_masks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_ids_are_stable_and_distinct() {
        assert_eq!(path_id("a.b"), path_id("a.b"));
        assert_ne!(path_id("a.b"), path_id("a.c"));
    }
}
