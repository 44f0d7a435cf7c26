//! Fine-tuned decoders (`samscope serve --finetuned`): listed after their base model,
//! served under their own name, decoding the base model's embeddings.

mod support;

use burn::module::Param;
use burn::prelude::*;
use sam::export;
use sam::{ModelConfig, ModelId, SamDecoder};
use server::{FinetunedDecoder, ServerError};
use sha2::{Digest, Sha256};
use support::{TestServer, fixture_image, json, scratch_dir};

/// LiteMedSAM's decoder with `no_mask_embed` shifted by 1: recognisably different weights.
fn shifted_decoder() -> SamDecoder {
    let mut decoder = support::predictor().decoder().clone();
    let weight = decoder.prompt_encoder.no_mask_embed.weight.val() + 1.0;
    decoder.prompt_encoder.no_mask_embed.weight = Param::from_tensor(weight);
    decoder
}

fn no_mask_embed(decoder: &SamDecoder) -> Vec<f32> {
    decoder
        .prompt_encoder
        .no_mask_embed
        .weight
        .val()
        .into_data()
        .try_to_vec::<f32>()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finetuned_decoders_are_listed_served_and_share_embeddings() {
    let decoder = tokio::task::spawn_blocking(shifted_decoder).await.unwrap();
    let expected = no_mask_embed(&decoder);
    let finetuned = FinetunedDecoder {
        name: "lite_medsam+test".into(),
        base: ModelId::LiteMedSam,
        decoder,
    };
    let server = TestServer::fresh("finetuned", |c| c.finetuned = vec![finetuned]).await;

    let models = json(&server.get("/api/v1/models").await);
    let list = models["models"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["id"], "lite_medsam");
    assert!(list[0].get("base").is_none());
    let model = &list[1];
    assert_eq!(model["id"], "lite_medsam+test");
    assert_eq!(model["base"], "lite_medsam");
    assert_eq!(model["default"], false);
    assert_eq!(model["weights_sha256"], list[0]["weights_sha256"]);
    assert_ne!(model["decoder"]["sha256"], list[0]["decoder"]["sha256"]);

    let url = model["decoder"]["url"].as_str().unwrap();
    assert_eq!(url, "/api/v1/models/lite_medsam+test/decoder.safetensors");
    let response = server.get(url).await;
    assert_eq!(response.status(), 200);
    let bytes = response.body().to_vec();
    assert_eq!(
        model["decoder"]["sha256"],
        format!("{:x}", Sha256::digest(&bytes))
    );
    let config = ModelConfig::for_model(ModelId::LiteMedSam);
    let served = export::load_decoder(&config, bytes, &Device::flex()).unwrap();
    for (a, b) in no_mask_embed(&served).iter().zip(&expected) {
        // f16 on the wire.
        assert!((a - b).abs() <= 1e-2 * b.abs().max(1.0), "{a} vs {b}");
    }

    // The embedding is the base model's.
    let (status, uploaded) = server.upload(fixture_image("retina.png"), &[]).await;
    assert_eq!(status, 200);
    let id = uploaded["id"].as_str().unwrap();
    let base = server
        .get(&format!("/api/v1/images/{id}/embedding?model=lite_medsam"))
        .await;
    let tuned = server
        .get(&format!(
            "/api/v1/images/{id}/embedding?model=lite_medsam%2Btest"
        ))
        .await;
    assert_eq!(base.status(), 200);
    assert_eq!(tuned.status(), 200);
    assert_eq!(base.body(), tuned.body());
    server.stop_and_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finetuned_decoder_needs_its_base_model_and_a_fresh_name() {
    let decoder = tokio::task::spawn_blocking(shifted_decoder).await.unwrap();
    for (name, base, problem) in [
        ("vit_b+vessels", ModelId::VitB, "not served"),
        ("lite_medsam", ModelId::LiteMedSam, "another model"),
        ("a/b", ModelId::LiteMedSam, "letters"),
        ("Lite+x", ModelId::LiteMedSam, "lower-case"),
    ] {
        let dir = scratch_dir("finetuned-refused");
        let mut config = server::ServerConfig::new("127.0.0.1:0".parse().unwrap(), &dir);
        config.finetuned = vec![FinetunedDecoder {
            name: name.into(),
            base,
            decoder: decoder.clone(),
        }];
        let model = tokio::task::spawn_blocking(support::loaded_model)
            .await
            .unwrap();
        match server::Server::bind(config, vec![model]).await {
            Err(err @ ServerError::Finetuned { .. }) => {
                assert!(err.to_string().contains(problem), "{err}")
            }
            other => panic!("{name}: expected a refusal, got {other:?}"),
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
