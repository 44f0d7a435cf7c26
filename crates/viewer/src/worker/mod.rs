//! The decoder worker: holds the decoder (prompt encoder + mask decoder from
//! `crates/sam`), the current image's embedding and the outcomes of the session's steps,
//! and answers the page's [`Request`]s one at a time, in order.

mod backend;

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use burn::prelude::*;
use sam::embedding_codec::EmbeddingData;
use sam::export::{from_byte_planes, load_decoder};
use sam::session::{ChosenIn, Step, chained_mask, step_prompt};
use sam::{
    Embedding, ModelConfig, ModelId, Prediction, PreparedEmbedding, PromptInput, SamPredictor,
};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, spawn_local};
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent, Response};

use crate::js::{body_bytes, cache_storage, describe, get_bytes, now_ms, sha256_hex};
use crate::protocol::{BackendChoice, Reply, Request, WeightsLayout};

/// Name of the Cache API cache holding decoder weights.
const WEIGHTS_CACHE: &str = "samscope-decoders-v1";

#[derive(Default)]
struct State {
    predictor: Option<Rc<SamPredictor>>,
    /// The current image's embedding, prepared for decoding (once per image).
    embedding: Option<Rc<PreparedEmbedding>>,
    /// Steps decoded so far and their outcomes (the prefix reused by the next decode).
    chain: Vec<(Step, Prediction)>,
    queue: VecDeque<Request>,
    busy: bool,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

fn post(reply: &Reply) {
    let serializer = serde_wasm_bindgen::Serializer::new().serialize_maps_as_objects(true);
    match serde::Serialize::serialize(reply, &serializer) {
        Ok(value) => {
            if let Err(e) = scope().post_message(&value) {
                crate::js::log(&format!("worker: posting a reply failed: {}", describe(&e)));
            }
        }
        Err(e) => crate::js::log(&format!("worker: a reply did not serialise: {e}")),
    }
}

/// Installs the message handler (the worker binary's `main`).
pub fn start() {
    console_error_panic_hook::set_once();
    let handler = Closure::<dyn FnMut(MessageEvent)>::new(|event: MessageEvent| {
        match serde_wasm_bindgen::from_value::<Request>(event.data()) {
            Ok(request) => enqueue(request),
            Err(e) => post(&Reply::Failed {
                context: "message".into(),
                seq: None,
                message: format!("the worker does not understand this message: {e}"),
            }),
        }
    });
    scope().set_onmessage(Some(handler.as_ref().unchecked_ref()));
    handler.forget();
}

fn enqueue(request: Request) {
    let start = STATE.with_borrow_mut(|s| {
        s.queue.push_back(request);
        !std::mem::replace(&mut s.busy, true)
    });
    if start {
        spawn_local(drain());
    }
}

async fn drain() {
    loop {
        let Some(request) = STATE.with_borrow_mut(|s| {
            let next = s.queue.pop_front();
            s.busy = next.is_some();
            next
        }) else {
            return;
        };
        let reply = handle(request).await;
        post(&reply);
    }
}

async fn handle(request: Request) -> Reply {
    let (context, seq) = match &request {
        Request::Init { .. } => ("init", None),
        Request::SetImage { .. } => ("set-image", None),
        Request::Decode { seq, .. } => ("decode", Some(*seq)),
        Request::Check { seq, .. } => ("check", Some(*seq)),
    };
    let result = match request {
        Request::Init {
            model,
            url,
            sha256,
            layout,
            backend,
        } => init(&model, &url, &sha256, layout, backend).await,
        Request::SetImage { url, classroom } => {
            crate::js::set_classroom_key(classroom);
            set_image(&url).await
        }
        Request::Decode {
            seq,
            steps,
            preview,
        } => decode(seq, steps, preview).await,
        Request::Check {
            seq,
            points,
            labels,
            bbox,
            multimask,
        } => {
            let prompt = PromptInput {
                points,
                labels,
                bbox,
                mask_input: None,
                multimask,
            };
            check(seq, prompt).await
        }
    };
    result.unwrap_or_else(|message| Reply::Failed {
        context: context.into(),
        seq,
        message,
    })
}

/// Decoder weights: the Cache API copy when its hash is right, else a download (byte
/// planes reordered back when `layout` says so, checked, then cached). Returns the bytes and
/// whether they came from the cache.
async fn weights(
    url: &str,
    sha256: &str,
    layout: WeightsLayout,
) -> Result<(Vec<u8>, bool), String> {
    let key = format!("/samscope-cache/decoder/{sha256}");
    let cache = match cache_storage() {
        Some(storage) => JsFuture::from(storage.open(WEIGHTS_CACHE))
            .await
            .ok()
            .and_then(|c| c.dyn_into::<web_sys::Cache>().ok()),
        None => None,
    };
    if let Some(cache) = &cache {
        let hit = JsFuture::from(cache.match_with_str(&key)).await.ok();
        if let Some(response) = hit.and_then(|r| r.dyn_into::<Response>().ok()) {
            let bytes = body_bytes(&response).await?;
            if sha256_hex(&bytes) == sha256 {
                return Ok((bytes, true));
            }
            let _ = JsFuture::from(cache.delete_with_str(&key)).await;
        }
    }
    let download = get_bytes(url)
        .await
        .map_err(|e| format!("decoder weights ({url}): {e}"))?;
    let bytes = match layout {
        WeightsLayout::File => download,
        WeightsLayout::Planes { width } => from_byte_planes(&download, width),
    };
    let actual = sha256_hex(&bytes);
    if actual != sha256 {
        return Err(format!(
            "decoder weights ({url}) have sha256 {actual}, the server announced {sha256}: refusing them"
        ));
    }
    if let Some(cache) = &cache {
        let mut body = bytes.clone();
        if let Ok(response) = Response::new_with_opt_u8_array(Some(&mut body)) {
            let _ = JsFuture::from(cache.put_with_str(&key, &response)).await;
        }
    }
    Ok((bytes, false))
}

async fn init(
    model: &str,
    url: &str,
    sha256: &str,
    layout: WeightsLayout,
    choice: BackendChoice,
) -> Result<Reply, String> {
    let t0 = now_ms();
    let id: ModelId = model.parse().map_err(|e| format!("model `{model}`: {e}"))?;
    let config = ModelConfig::for_model(id);
    let picked = backend::pick(choice).await?;
    let (bytes, cached) = weights(url, sha256, layout).await?;
    let decoder = load_decoder(&config, bytes, &picked.device).map_err(|e| e.to_string())?;
    let predictor = SamPredictor::decoder_only(config.clone(), decoder, picked.device.clone());
    let load_ms = now_ms() - t0;
    let t1 = now_ms();
    warm_up(&predictor, &config).await?;
    let warmup_ms = now_ms() - t1;
    STATE.with_borrow_mut(|s| {
        s.predictor = Some(Rc::new(predictor));
        s.embedding = None;
        s.chain.clear();
    });
    Ok(Reply::Ready {
        backend: picked.backend,
        adapter: picked.adapter,
        cached,
        load_ms,
        warmup_ms,
        fallback_reason: picked.fallback_reason,
    })
}

/// One decode on a zero embedding, so shaders compile before the first click.
async fn warm_up(predictor: &SamPredictor, config: &ModelConfig) -> Result<(), String> {
    let (e, s) = (config.embedding_size(), config.img_size);
    let embedding = Embedding {
        model: config.id,
        tensor: Tensor::zeros([1, 256, e, e], predictor.device()),
        original_size: (s, s),
        input_size: (s, s),
    };
    let prompt = PromptInput {
        points: vec![[s as f64 / 2.0, s as f64 / 2.0]],
        labels: vec![1],
        multimask: true,
        ..PromptInput::default()
    };
    let prepared = predictor
        .prepare(&embedding)
        .map_err(|e| format!("warm-up decode: {e}"))?;
    predictor
        .predict_prepared_async(&prepared, &prompt)
        .await
        .map(|_| ())
        .map_err(|e| format!("warm-up decode: {e}"))
}

fn predictor() -> Result<Rc<SamPredictor>, String> {
    STATE
        .with_borrow(|s| s.predictor.clone())
        .ok_or_else(|| "the decoder is not loaded yet".to_string())
}

async fn set_image(url: &str) -> Result<Reply, String> {
    let predictor = predictor()?;
    let bytes = get_bytes(url)
        .await
        .map_err(|e| format!("embedding: {e}"))?;
    let data = EmbeddingData::decode(&bytes).map_err(|e| format!("embedding: {e}"))?;
    if data.header.model != predictor.config().id {
        return Err(format!(
            "the embedding is for `{}` but the decoder is `{}`",
            data.header.model,
            predictor.config().id
        ));
    }
    let embedding = data.into_embedding(predictor.device());
    let (height, width) = embedding.original_size;
    let model = embedding.model.to_string();
    let prepared = predictor
        .prepare(&embedding)
        .map_err(|e| format!("embedding: {e}"))?;
    STATE.with_borrow_mut(|s| {
        s.embedding = Some(Rc::new(prepared));
        s.chain.clear();
    });
    Ok(Reply::ImageReady {
        width: width as u32,
        height: height as u32,
        model,
    })
}

fn embedding() -> Result<Rc<PreparedEmbedding>, String> {
    STATE
        .with_borrow(|s| s.embedding.clone())
        .ok_or_else(|| "no image is loaded".to_string())
}

async fn decode(seq: u32, steps: Vec<Step>, preview: bool) -> Result<Reply, String> {
    let (predictor, embedding) = (predictor()?, embedding()?);
    if steps.is_empty() {
        return Err("nothing to decode: no click or box".into());
    }
    let t0 = now_ms();
    // Reuse the longest prefix already decoded.
    let reused = STATE.with_borrow_mut(|s| {
        let n = s
            .chain
            .iter()
            .zip(&steps)
            .take_while(|((done, _), wanted)| done == *wanted)
            .count();
        s.chain.truncate(n);
        n
    });
    let mut last: Option<Prediction> = None;
    for k in reused..steps.len() {
        let previous = STATE.with_borrow(|s| {
            s.chain
                .last()
                .map(|(step, p)| chained_mask(p, step.chosen_in(p)))
        });
        let prediction = predictor
            .predict_prepared_async(&embedding, &step_prompt(&steps, k, previous))
            .await
            .map_err(|e| format!("step {}: {e}", k + 1))?;
        if preview && k + 1 == steps.len() {
            last = Some(prediction);
        } else {
            STATE.with_borrow_mut(|s| s.chain.push((steps[k], prediction)));
        }
    }
    let prediction = match last {
        Some(p) => p,
        None => STATE
            .with_borrow(|s| s.chain.last().map(|(_, p)| p.clone()))
            .ok_or_else(|| "no outcome".to_string())?,
    };
    let decode_ms = now_ms() - t0;
    let (width, height) = prediction
        .masks
        .first()
        .map(|m| (m.width as u32, m.height as u32))
        .unwrap_or_default();
    Ok(Reply::Decoded {
        seq,
        width,
        height,
        masks: prediction
            .masks
            .iter()
            .flat_map(|m| m.data.clone())
            .collect(),
        iou_predictions: prediction.iou_predictions,
        decode_ms,
        decoded_steps: (steps.len() - reused) as u32,
        preview,
    })
}

async fn check(seq: u32, prompt: PromptInput) -> Result<Reply, String> {
    let (predictor, embedding) = (predictor()?, embedding()?);
    let prediction = predictor
        .predict_prepared_async(&embedding, &prompt)
        .await
        .map_err(|e| e.to_string())?;
    let low_res = prediction
        .low_res_logits
        .clone()
        .into_data_async()
        .await
        .map_err(|e| format!("reading logits: {e:?}"))?
        .convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|e| format!("reading logits: {e:?}"))?;
    Ok(Reply::Checked {
        seq,
        low_res,
        iou_predictions: prediction.iou_predictions,
        masks: prediction
            .masks
            .iter()
            .flat_map(|m| m.data.clone())
            .collect(),
    })
}
