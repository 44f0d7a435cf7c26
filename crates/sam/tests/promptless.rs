//! `SamPredictor::predict_promptless` on the real LiteMedSAM decoder and the golden
//! embeddings: the decoder driven by hand with no prompt (what the evaluator did before the
//! method existed), the predictor's own embedding checks, and one mask at the image size.

mod support;

use sam::prompt_encoder::Prompts;
use sam::sam::postprocess_masks;
use sam::{Embedding, ModelConfig, ModelId, PromptInput, SamPredictor};
use support::*;

fn predictor() -> SamPredictor {
    let model = lite_medsam();
    let config = ModelConfig::for_model(ModelId::LiteMedSam);
    let decoder = sam::SamDecoder {
        prompt_encoder: model.prompt_encoder.clone(),
        mask_decoder: model.mask_decoder.clone(),
    };
    SamPredictor::decoder_only(config, decoder, device())
}

fn golden_embedding(name: &str) -> Embedding {
    let entry = &manifest()["images"][name];
    let size = |key: &str| entry[key].as_u64().unwrap() as usize;
    Embedding {
        model: ModelId::LiteMedSam,
        tensor: tensor::<4>(&golden(entry["embedding"].as_str().unwrap())),
        original_size: (size("height"), size("width")),
        input_size: (size("newh"), size("neww")),
    }
}

#[test]
fn promptless_is_the_decoder_without_prompts_at_the_original_size() {
    let predictor = predictor();
    for name in IMAGES {
        let embedding = golden_embedding(name);
        let prediction = predictor.predict_promptless(&embedding).unwrap();
        // By hand: empty sparse prompt, no mask input (no_mask_embed), single mask.
        let decoder = predictor.decoder();
        let out = decoder.decode(
            embedding.tensor.clone(),
            decoder.prompt_encoder.dense_pe(&device()),
            &Prompts::default(),
            None,
            false,
        );
        let logits = postprocess_masks(
            out.low_res_masks.clone(),
            predictor.config().img_size,
            embedding.input_size,
            embedding.original_size,
        );
        let (h, w) = embedding.original_size;
        assert_eq!(logits.dims(), [1, 1, h, w], "{name}");
        let expected: Vec<u8> = values(logits).iter().map(|&v| u8::from(v > 0.0)).collect();
        assert_eq!(prediction.masks.len(), 1, "{name}");
        let mask = &prediction.masks[0];
        assert_eq!((mask.width, mask.height), (w, h), "{name}");
        assert!(
            mask.data == expected,
            "{name}: the mask differs from the decoder's"
        );
        assert_eq!(
            prediction.iou_predictions,
            values(out.iou_predictions),
            "{name}"
        );
        assert_eq!(
            values(prediction.low_res_logits),
            values(out.low_res_masks),
            "{name}"
        );
    }
}

#[test]
fn promptless_checks_the_embedding_as_predict_does() {
    let predictor = predictor();
    let point = PromptInput {
        points: vec![[10.0, 10.0]],
        labels: vec![1],
        ..Default::default()
    };
    let other_model = Embedding {
        model: ModelId::VitB,
        ..golden_embedding("nuclei")
    };
    let wrong_shape = Embedding {
        tensor: other_model.tensor.clone().narrow(3, 0, 32),
        ..golden_embedding("nuclei")
    };
    for bad in [other_model, wrong_shape] {
        let promptless = predictor.predict_promptless(&bad).unwrap_err().to_string();
        let prompted = predictor.predict(&bad, &point).unwrap_err().to_string();
        assert_eq!(promptless, prompted);
    }
}
