//! Messages between the viewer's page and its decoder worker (structured clones made with
//! serde-wasm-bindgen; byte buffers travel as `Uint8Array`s).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::steps::Step;

/// Which Burn backend the page asks the worker to decode on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackendChoice {
    /// WebGPU when the browser offers an adapter, else the CPU.
    Auto,
    /// Burn's CPU backend (flex) in wasm.
    Cpu,
    /// WebGPU only; an error when the browser has none.
    Webgpu,
}

impl BackendChoice {
    /// The name in URLs and messages (`auto`, `cpu`, `webgpu`), as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Cpu => "cpu",
            Self::Webgpu => "webgpu",
        }
    }
}

/// The backend a loaded decoder runs on ([`Reply::Ready`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    /// Burn's wgpu backend on the browser's WebGPU adapter.
    Webgpu,
    /// Burn's CPU backend (flex) compiled to wasm.
    CpuWasm,
}

impl Backend {
    /// `webgpu` or `cpu-wasm`, as serialised (and shown, and written to session records).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webgpu => "webgpu",
            Self::CpuWasm => "cpu-wasm",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a weights URL serves the exported file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum WeightsLayout {
    /// The file as is.
    #[default]
    File,
    /// The file as byte planes of `width` bytes (`sam::export::to_byte_planes`): the
    /// server's compressed download form.
    Planes {
        /// Bytes per weight.
        width: usize,
    },
}

/// Page → worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Request {
    /// Load a model's decoder (once per model): fetch (Cache API first), check the
    /// sha256, build the decoder, warm it up.
    Init {
        /// Architecture (`lite_medsam`); a fine-tuned decoder's base model.
        model: String,
        /// Weights URL (same origin).
        url: String,
        /// Expected sha256 of the weights file, lower-case hex.
        sha256: String,
        /// How `url` serves the file (the file itself when absent).
        #[serde(default)]
        layout: WeightsLayout,
        /// Backend wanted.
        backend: BackendChoice,
    },
    /// Fetch and hold an image's embedding.
    SetImage {
        /// Embedding URL (same origin).
        url: String,
        /// A class page's session key, sent as `X-Samscope-Classroom` (it grants a browser
        /// that is not signed in the reads of that session's deck).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        classroom: Option<String>,
    },
    /// Decode a session: `steps` in order, chained (see `sam::session`).
    Decode {
        /// Echoed in the reply; the page drops stale replies.
        seq: u32,
        /// All steps; a prefix already decoded is reused.
        steps: Vec<Step>,
        /// A hover preview: its last step is not kept for reuse.
        preview: bool,
    },
    /// Decode one prompt exactly as the official predictor (tests against golden tensors):
    /// returns the low-res logits too.
    Check {
        /// Echoed in the reply.
        seq: u32,
        /// Points `(x, y)` in original pixels.
        points: Vec<[f64; 2]>,
        /// 1 foreground, 0 background.
        labels: Vec<i32>,
        /// Optional box.
        bbox: Option<[f64; 4]>,
        /// Three candidates or one.
        multimask: bool,
    },
}

/// Worker → page.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Reply {
    /// The decoder is loaded and warm.
    Ready {
        /// Where it runs.
        backend: Backend,
        /// What the browser says about the adapter (empty on the CPU).
        adapter: String,
        /// Weights came from the Cache API (no download).
        cached: bool,
        /// Fetch + load time, ms.
        load_ms: f64,
        /// The warm-up decode, ms.
        warmup_ms: f64,
        /// Why WebGPU was not used, when it was wanted and the CPU runs instead.
        fallback_reason: Option<String>,
    },
    /// The embedding is held.
    ImageReady {
        /// Original width.
        width: u32,
        /// Original height.
        height: u32,
        /// Model that made it.
        model: String,
    },
    /// Masks of the last step of a [`Request::Decode`].
    Decoded {
        /// The request's `seq`.
        seq: u32,
        /// Width of each mask.
        width: u32,
        /// Height of each mask.
        height: u32,
        /// The candidates, `count × height × width` bytes, 1 = inside.
        #[serde(with = "bytes")]
        masks: Vec<u8>,
        /// Predicted IoU per candidate.
        iou_predictions: Vec<f32>,
        /// Time spent decoding (all steps that were not cached), ms.
        decode_ms: f64,
        /// Steps actually decoded (the rest came from the prefix cache).
        decoded_steps: u32,
        /// Whether this was a preview.
        preview: bool,
    },
    /// Result of a [`Request::Check`].
    Checked {
        /// The request's `seq`.
        seq: u32,
        /// Low-res logits, `C×256×256` values.
        low_res: Vec<f32>,
        /// Predicted IoUs.
        iou_predictions: Vec<f32>,
        /// Masks at the original size, `C×H×W` bytes.
        #[serde(with = "bytes")]
        masks: Vec<u8>,
    },
    /// Something failed; `context` names the request.
    Failed {
        /// The request's kind (`init`, `set-image`, `decode`, `check`).
        context: String,
        /// `seq` when the request had one.
        seq: Option<u32>,
        /// A sentence for people.
        message: String,
    },
}

/// Byte buffers as serde bytes (a `Uint8Array` in a structured clone, not an array of
/// numbers); a sequence of numbers is read too.
mod bytes {
    use std::fmt;

    use serde::de::{SeqAccess, Visitor};
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(bytes)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        deserializer.deserialize_byte_buf(ByteBuf)
    }

    struct ByteBuf;

    impl<'de> Visitor<'de> for ByteBuf {
        type Value = Vec<u8>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a byte buffer")
        }

        fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
            Ok(v.to_vec())
        }

        fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
            Ok(v)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 20));
            while let Some(byte) = seq.next_element()? {
                out.push(byte);
            }
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steps::Action;

    #[test]
    fn requests_round_trip_through_json_with_a_type_tag() {
        let request = Request::Decode {
            seq: 7,
            steps: vec![Step {
                action: Action::Point {
                    x: 1.5,
                    y: 2.0,
                    positive: false,
                },
                chosen: Some(2),
            }],
            preview: true,
        };
        let text = serde_json::to_string(&request).unwrap();
        assert!(text.contains(r#""type":"decode""#), "{text}");
        assert!(text.contains(r#""kind":"point""#), "{text}");
        let back: Request = serde_json::from_str(&text).unwrap();
        match back {
            Request::Decode {
                seq,
                steps,
                preview,
            } => {
                assert_eq!((seq, preview), (7, true));
                assert_eq!(steps[0].chosen, Some(2));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn backend_names_are_their_serialised_names() {
        for choice in [
            BackendChoice::Auto,
            BackendChoice::Cpu,
            BackendChoice::Webgpu,
        ] {
            let json = serde_json::to_string(&choice).unwrap();
            assert_eq!(json, format!("\"{}\"", choice.as_str()));
        }
        for backend in [Backend::Webgpu, Backend::CpuWasm] {
            let json = serde_json::to_string(&backend).unwrap();
            assert_eq!(json, format!("\"{backend}\""));
        }
    }

    #[test]
    fn mask_bytes_round_trip() {
        let reply = Reply::Checked {
            seq: 3,
            low_res: vec![0.5],
            iou_predictions: vec![0.9],
            masks: vec![0, 1, 1, 0],
        };
        let text = serde_json::to_string(&reply).unwrap();
        assert!(text.contains(r#""masks":[0,1,1,0]"#), "{text}");
        match serde_json::from_str(&text).unwrap() {
            Reply::Checked { masks, seq, .. } => assert_eq!((masks, seq), (vec![0, 1, 1, 0], 3)),
            other => panic!("{other:?}"),
        }
    }
}
