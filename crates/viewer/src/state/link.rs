//! The link to the decoder worker: which decoder it holds, which embedding, and the decode
//! requests in flight (one at a time; the latest waiting one wins, a committed decode
//! beats a hover preview).

use std::collections::VecDeque;

use ::api::Step;

use crate::protocol::{BackendChoice, Request, Wire};

/// What the page knows of the worker.
#[derive(Debug, Clone, PartialEq)]
pub struct DecoderLink {
    /// Model in use.
    pub model: String,
    /// Precision of embedding and weights.
    pub wire: Wire,
    /// Backend asked for (`?backend=`).
    pub backend_choice: BackendChoice,
    /// Backend the worker uses (empty until ready).
    pub backend: String,
    /// The worker has the decoder.
    pub decoder_ready: bool,
    /// The worker holds the embedding of the image on screen.
    pub embedding_ready: bool,
    /// Image ids whose embeddings the worker was asked for, oldest first (it answers in
    /// order).
    pub embedding_requests: VecDeque<String>,
    /// The image whose embedding the worker holds.
    pub embedding_image: Option<String>,
    /// Last request number (decodes and checks share it).
    pub seq: u32,
    /// Number of the newest non-preview decode sent.
    pub committed_seq: u32,
    /// A decode is running in the worker.
    pub in_flight: bool,
    /// The next decode to send (latest wins; a committed one beats a preview).
    pub queued: Option<(Vec<Step>, bool)>,
    /// Last decode time, ms.
    pub decode_ms: f64,
    /// The decoder weights came from the Cache API (nothing downloaded).
    pub weights_cached: bool,
}

/// What asking for an image's embedding leads to.
#[derive(Debug, Clone, PartialEq)]
pub enum EmbeddingAsk {
    /// Ask the worker for it (a `set-image` request).
    Fetch,
    /// The worker holds it already: ready.
    Held,
    /// Nothing to do (no decoder yet, or asked already).
    Nothing,
}

impl DecoderLink {
    /// A link for `backend_choice` and `wire` (the page's query), no decoder yet.
    pub fn new(backend_choice: BackendChoice, wire: Wire) -> Self {
        Self {
            model: String::new(),
            wire,
            backend_choice,
            backend: String::new(),
            decoder_ready: false,
            embedding_ready: false,
            embedding_requests: VecDeque::new(),
            embedding_image: None,
            seq: 0,
            committed_seq: 0,
            in_flight: false,
            queued: None,
            decode_ms: 0.0,
            weights_cached: false,
        }
    }

    /// A decoder for `model` is being loaded: nothing the worker held stays.
    pub fn loading(&mut self, model: &str) {
        self.model = model.to_string();
        self.decoder_ready = false;
        self.embedding_ready = false;
        self.embedding_image = None;
        self.backend.clear();
    }

    /// The worker says its decoder is ready on `backend`.
    pub fn ready(&mut self, backend: &str, cached: bool) {
        self.backend = backend.to_string();
        self.decoder_ready = true;
        // Loading a decoder drops the worker's embedding; earlier requests are answered.
        self.embedding_image = None;
        self.embedding_requests.clear();
        self.weights_cached = cached;
    }

    /// Asks for `image`'s embedding unless the worker holds it or it was asked for.
    pub fn ask_embedding(&mut self, image: &str) -> EmbeddingAsk {
        if !self.decoder_ready {
            return EmbeddingAsk::Nothing;
        }
        if self.embedding_requests.is_empty() && self.embedding_image.as_deref() == Some(image) {
            self.embedding_ready = true;
            return EmbeddingAsk::Held;
        }
        if self.embedding_requests.back().map(String::as_str) == Some(image) {
            return EmbeddingAsk::Nothing;
        }
        self.embedding_requests.push_back(image.to_string());
        EmbeddingAsk::Fetch
    }

    /// The worker holds the oldest asked-for embedding; whether it is `image`'s (the one on
    /// screen) with nothing else pending.
    pub fn embedding_arrived(&mut self, image: Option<&str>) -> bool {
        self.embedding_image = self.embedding_requests.pop_front();
        self.embedding_ready = self.embedding_requests.is_empty()
            && self.embedding_image.is_some()
            && self.embedding_image.as_deref() == image;
        self.embedding_ready
    }

    /// A decode of `steps`: the request to send now, or `None` (queued behind the running
    /// one, or no decoder/embedding yet).
    pub fn decode(&mut self, steps: Vec<Step>, preview: bool) -> Option<Request> {
        if !(self.decoder_ready && self.embedding_ready) {
            return None;
        }
        if self.in_flight {
            let keep_committed = preview && matches!(self.queued, Some((_, false)));
            if !keep_committed {
                self.queued = Some((steps, preview));
            }
            return None;
        }
        self.seq += 1;
        if !preview {
            self.committed_seq = self.seq;
        }
        self.in_flight = true;
        Some(Request::Decode {
            seq: self.seq,
            steps,
            preview,
        })
    }

    /// The decode in flight ended: the queued one, if any, goes out.
    pub fn decode_ended(&mut self) -> Option<Request> {
        self.in_flight = false;
        let (steps, preview) = self.queued.take()?;
        self.decode(steps, preview)
    }

    /// The next request number (a check request's).
    pub fn next_seq(&mut self) -> u32 {
        self.seq += 1;
        self.seq
    }

    /// Work is pending on the worker's side (decodes or embeddings).
    pub fn busy(&self) -> bool {
        self.in_flight || self.queued.is_some() || !self.embedding_requests.is_empty()
    }
}
