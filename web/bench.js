// Browser decoder benchmark (tools/bench/browser.sh, crates/cli/tests/bench_browser.rs):
// decode time per click of samscope's Burn decoder worker (CPU-wasm or WebGPU) and of
// onnxruntime-web running segment-anything's official ONNX export of the same LiteMedSAM
// decoder, in the same page, on the same embedding and prompts; masks compared per prompt.
//
// Query parameters:
//   backend=cpu|webgpu   Burn backend (default cpu)
//   ort=/vendor/ort/     URL prefix of onnxruntime-web's dist/ (ort.wasm.min.js + .wasm/.mjs); `none` skips ORT
//   ortjs=ort.wasm.min.js  the script to load from that prefix
//   onnx=/bench/lite_medsam_decoder.onnx  the ONNX model (tools/bench/export_onnx.py)
//   reps=3               passes over the prompt list (each prompt = one timed click)
//   warmup=3             untimed clicks per engine first
//   image=/demo/nuclei.png
//   worker=./decoder-worker-boot.js  the worker script (default: the boot shim if the bundle has
//                        one, else Trunk's ./decoder-worker_loader.js)
//   burn=none            skip the Burn worker (debugging the ORT side)
// Result: window.benchResult (an object; {error} on failure), also printed in <pre id=out>.
"use strict";

const q = new URLSearchParams(location.search);
const BACKEND = q.get("backend") || "cpu";
const ORT_PREFIX = q.get("ort") || "/vendor/ort/";
const ORT_JS = q.get("ortjs") || "ort.wasm.min.js";
const ONNX_URL = q.get("onnx") || "/bench/lite_medsam_decoder.onnx";
const REPS = Math.max(1, parseInt(q.get("reps") || "3", 10));
const WARMUP = Math.max(0, parseInt(q.get("warmup") || "3", 10));
const IMAGE = q.get("image") || "/demo/nuclei.png";
const BURN = q.get("burn") !== "none";

// Fixed prompts on /demo/nuclei.png (512×357), original pixels: centroids of the 20 largest
// stardist nuclei (each inside its nucleus) and the bounding boxes (+3 px) of 4 more.
const POINTS = [[318, 316], [447, 165], [195, 328], [133, 320], [215, 273], [241, 340], [418, 146],
  [394, 133], [88, 38], [398, 328], [464, 283], [193, 146], [206, 187], [229, 195], [44, 301],
  [464, 232], [485, 85], [166, 257], [253, 176], [18, 135]];
const BOXES = [[89, 324, 125, 353], [97, 4, 130, 37], [1, 200, 44, 232], [71, 300, 106, 331]];
const PROMPTS = [
  ...POINTS.map(([x, y]) => ({ kind: "point", x, y, positive: true })),
  ...BOXES.map(([x0, y0, x1, y1]) => ({ kind: "box", x0, y0, x1, y1 })),
];
// Warm-up prompts, distinct from the timed ones (so no decode reuses a cached prefix).
const WARM_PROMPTS = [
  { kind: "point", x: 300, y: 100, positive: true },
  { kind: "point", x: 100, y: 200, positive: true },
  { kind: "box", x0: 150, y0: 120, x1: 230, y1: 200 },
];

const out = document.getElementById("out");
function log(line) {
  out.textContent += line + "\n";
  console.log("[bench] " + line);
}

async function getJson(url, init) {
  const r = await fetch(url, init);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status} ${await r.text()}`);
  return r.json();
}

async function getBytes(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.arrayBuffer();
}

// The embedding wire format of docs/api.md (f32 only here).
function parseEmbedding(buf) {
  const v = new DataView(buf);
  const magic = new TextDecoder().decode(new Uint8Array(buf, 0, 8));
  if (magic !== "SAMSCEMB") throw new Error("embedding: bad magic " + magic);
  if (v.getUint8(10) !== 0) throw new Error("embedding: not f32");
  const offset = v.getUint32(12, true);
  const shape = [0, 1, 2, 3].map((i) => v.getUint32(16 + 4 * i, true));
  const n = shape.reduce((a, b) => a * b, 1);
  return {
    shape,
    data: new Float32Array(buf.slice(offset, offset + 4 * n)),
    height: v.getUint32(32, true),
    width: v.getUint32(36, true),
    inputHeight: v.getUint32(40, true),
    inputWidth: v.getUint32(44, true),
  };
}

// ---- the Burn worker: one request at a time, replies in order
class DecoderWorker {
  constructor(script) {
    this.worker = new Worker(script);
    this.waiting = null;
    this.worker.onmessage = (e) => {
      const w = this.waiting;
      this.waiting = null;
      if (!w) return;
      if (e.data && e.data.type === "failed") w.reject(new Error(`worker ${e.data.context}: ${e.data.message}`));
      else w.resolve(e.data);
    };
    this.worker.onerror = (e) => {
      const w = this.waiting;
      this.waiting = null;
      if (w) w.reject(new Error("worker error: " + (e.message || e)));
    };
  }
  // The worker installs its onmessage handler only once its wasm is instantiated; a message
  // posted before that is dropped. Ping (an unknown message type, answered with `failed`)
  // until one is answered, then let stray answers drain.
  async handshake(timeoutMs = 120000) {
    const t0 = performance.now();
    let answered = false;
    const prev = this.worker.onmessage;
    this.worker.onmessage = (e) => { if (e.data && e.data.type === "failed") answered = true; };
    while (!answered) {
      if (performance.now() - t0 > timeoutMs) throw new Error("the decoder worker never answered");
      this.worker.postMessage({ type: "ping" });
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 300));
    this.worker.onmessage = prev;
    return performance.now() - t0;
  }
  ask(message) {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.worker.postMessage(message);
    });
  }
}

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement("script");
    s.src = src;
    s.onload = resolve;
    s.onerror = () => reject(new Error("cannot load " + src));
    document.head.appendChild(s);
  });
}

function stats(values) {
  const s = [...values].sort((a, b) => a - b);
  const at = (p) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return { n: s.length, median: s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2,
    p90: at(0.9), min: s[0], max: s[s.length - 1], mean };
}

function argmax(values) {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

function overlap(a, b) {
  let inter = 0, union = 0;
  for (let i = 0; i < a.length; i++) {
    inter += a[i] & b[i];
    union += a[i] | b[i];
  }
  return { iou: union === 0 ? 1 : inter / union, union, diff: union - inter };
}

// ---- onnxruntime-web with the official SamOnnxModel export
class OrtDecoder {
  constructor(session, emb) {
    this.session = session;
    this.emb = emb;
    this.H = emb.height;
    this.W = emb.width;
    this.feedsFixed = {
      image_embeddings: new ort.Tensor("float32", emb.data, emb.shape),
      mask_input: new ort.Tensor("float32", new Float32Array(256 * 256), [1, 1, 256, 256]),
      has_mask_input: new ort.Tensor("float32", new Float32Array([0]), [1]),
      orig_im_size: new ort.Tensor("float32", new Float32Array([emb.height, emb.width]), [2]),
    };
  }
  // ResizeLongestSide.apply_coords: x * neww / W, y * newh / H.
  feeds(p) {
    const sx = this.emb.inputWidth / this.W, sy = this.emb.inputHeight / this.H;
    let coords, labels;
    if (p.kind === "point") {
      // no box: the official convention appends a padding point labelled -1
      coords = [p.x * sx, p.y * sy, 0, 0];
      labels = [p.positive ? 1 : 0, -1];
    } else {
      coords = [p.x0 * sx, p.y0 * sy, p.x1 * sx, p.y1 * sy];
      labels = [2, 3];
    }
    const n = labels.length;
    return {
      ...this.feedsFixed,
      point_coords: new ort.Tensor("float32", Float32Array.from(coords), [1, n, 2]),
      point_labels: new ort.Tensor("float32", Float32Array.from(labels), [1, n]),
    };
  }
  // One click: run + the postprocess to full-size 0/1 masks of the 3 multimask candidates
  // (outputs 1..3; 0 is the single-mask token), as the Burn worker returns them.
  async decode(p) {
    const r = await this.session.run(this.feeds(p));
    const logits = r.masks.data; // 1×4×H×W, already upsampled to orig_im_size
    const scores = Array.from(r.iou_predictions.data).slice(1, 4);
    const plane = this.H * this.W;
    const masks = new Uint8Array(3 * plane);
    for (let i = 0; i < 3 * plane; i++) masks[i] = logits[plane + i] > 0 ? 1 : 0;
    return { masks, scores };
  }
}

async function run() {
  const result = { backend_requested: BACKEND, reps: REPS, warmup: WARMUP, user_agent: navigator.userAgent };
  // (a) upload the demo scan, fetch its f32 embedding
  const png = await getBytes(IMAGE);
  const image = await getJson("/api/v1/images", { method: "POST", body: png });
  const embUrl = `/api/v1/images/${image.id}/embedding?model=lite_medsam&dtype=f32`;
  const emb = parseEmbedding(await getBytes(embUrl));
  log(`image ${image.width}×${image.height}, embedding ${emb.shape.join("×")}, input ${emb.inputWidth}×${emb.inputHeight}`);
  const plane = emb.width * emb.height;

  // (b) the Burn worker with the f32 decoder
  const models = await getJson("/api/v1/models");
  const model = models.models.find((m) => m.id === "lite_medsam") || models.models[0];
  let script = q.get("worker");
  if (!script && BURN) {
    const boot = await fetch("./decoder-worker-boot.js", { method: "HEAD" });
    script = boot.ok ? `./decoder-worker-boot.js?backend=${BACKEND}` : "./decoder-worker_loader.js";
  }
  result.worker_script = script;
  const worker = BURN ? new DecoderWorker(script) : null;
  if (worker) result.worker_start_ms = await worker.handshake();
  const ready = !BURN ? { backend: "none", adapter: "", fallback_reason: null, load_ms: 0, warmup_ms: 0 } : await worker.ask({ type: "init", model: model.id, url: model.decoder_f32.url,
    sha256: model.decoder_f32.sha256, backend: BACKEND });
  Object.assign(result, { backend: ready.backend, adapter: ready.adapter, fallback_reason: ready.fallback_reason,
    burn_load_ms: ready.load_ms, burn_warmup_ms: ready.warmup_ms, decoder_f32_bytes: model.decoder_f32 ? model.decoder_f32.bytes : null,
    decoder_f16_bytes: model.decoder.bytes });
  log(`Burn ready: ${ready.backend} ${ready.adapter || ""} load ${ready.load_ms.toFixed(0)} ms, warm-up ${ready.warmup_ms.toFixed(0)} ms`);
  const img = !BURN ? emb : await worker.ask({ type: "set-image", url: embUrl });
  if (img.width !== emb.width || img.height !== emb.height) throw new Error("worker image size differs");

  let seq = 0;
  const burnClick = async (p) => {
    const t0 = performance.now();
    const r = await worker.ask({ type: "decode", seq: ++seq, steps: [{ action: p, chosen: null }], preview: false });
    const ms = performance.now() - t0;
    if (r.decoded_steps !== 1) throw new Error(`decode reused a prefix (decoded_steps ${r.decoded_steps})`);
    return { ms, worker_ms: r.decode_ms, masks: r.masks, scores: r.iou_predictions };
  };

  // (c) onnxruntime-web, single thread, no proxy
  let ortDec = null;
  if (ORT_PREFIX !== "none") {
    const t0 = performance.now();
    await loadScript(ORT_PREFIX + ORT_JS);
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.proxy = false;
    ort.env.wasm.wasmPaths = ORT_PREFIX;
    const session = await ort.InferenceSession.create(ONNX_URL, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
    ortDec = new OrtDecoder(session, emb);
    result.ort_version = ort.env.versions ? ort.env.versions.web || ort.env.versions.common : "";
    result.ort_load_ms = performance.now() - t0;
    log(`onnxruntime-web ${result.ort_version} loaded in ${result.ort_load_ms.toFixed(0)} ms`);
  }

  // (d) warm-up, then timed clicks: all Burn clicks, then all ORT clicks
  if (BURN) for (const p of WARM_PROMPTS.slice(0, WARMUP)) await burnClick(p);
  if (ortDec) for (const p of WARM_PROMPTS.slice(0, WARMUP)) await ortDec.decode(p);
  const burnMs = [], burnWorkerMs = [], ortMs = [];
  const burnBest = [], ortBest = [];
  for (let r = 0; r < (BURN ? REPS : 0); r++) {
    for (let i = 0; i < PROMPTS.length; i++) {
      const b = await burnClick(PROMPTS[i]);
      burnMs.push(b.ms);
      burnWorkerMs.push(b.worker_ms);
      if (r === 0) {
        const k = argmax(b.scores);
        burnBest.push({ mask: b.masks.slice(k * plane, (k + 1) * plane), index: k, scores: b.scores });
      }
    }
    log(`Burn pass ${r + 1}/${REPS} done`);
  }
  if (ortDec) {
    for (let r = 0; r < REPS; r++) {
      for (let i = 0; i < PROMPTS.length; i++) {
        const t0 = performance.now();
        const o = await ortDec.decode(PROMPTS[i]);
        ortMs.push(performance.now() - t0);
        if (r === 0) {
          const k = argmax(o.scores);
          ortBest.push({ mask: o.masks.slice(k * plane, (k + 1) * plane), index: k, scores: o.scores });
        }
      }
      log(`ORT pass ${r + 1}/${REPS} done`);
    }
  }
  result.prompts = PROMPTS.length;
  result.burn = BURN ? stats(burnMs) : null;
  result.burn_worker = BURN ? stats(burnWorkerMs) : null;
  if (ortDec) result.ort = stats(ortMs);
  if (ortDec && BURN) {
    result.ratio_median = result.burn.median / result.ort.median;
    // (e) masks: Burn's best candidate vs ORT's best candidate, per prompt
    const per = PROMPTS.map((p, i) => ({
      prompt: p,
      ...overlap(burnBest[i].mask, ortBest[i].mask),
      same_candidate: burnBest[i].index === ortBest[i].index,
      burn_area: burnBest[i].mask.reduce((a, v) => a + v, 0),
      ort_area: ortBest[i].mask.reduce((a, v) => a + v, 0),
      max_score_diff: Math.max(...burnBest[i].scores.map((s, j) => Math.abs(s - ortBest[i].scores[j]))),
    }));
    result.per_prompt = per;
    result.min_mask_iou = Math.min(...per.map((r) => r.iou));
    // tiny masks: one flipped pixel of a 6-pixel mask is IoU 0.83, so also over masks ≥ 100 px
    result.min_mask_iou_100px = Math.min(1, ...per.filter((r) => r.union >= 100).map((r) => r.iou));
    result.max_diff_pixels = Math.max(...per.map((r) => r.diff));
    result.empty_masks = per.filter((r) => r.union === 0).length;
    result.same_candidate = per.filter((r) => r.same_candidate).length;
    result.max_score_diff = Math.max(...per.map((r) => r.max_score_diff));
  }
  return result;
}

run().then(
  (r) => {
    if (r.burn) log(`Burn ${r.backend}: median ${r.burn.median.toFixed(1)} ms, p90 ${r.burn.p90.toFixed(1)} ms per click`);
    if (r.ort) log(`onnxruntime-web: median ${r.ort.median.toFixed(1)} ms, p90 ${r.ort.p90.toFixed(1)} ms per click`);
    if (r.burn && r.ort) {
      log(`ratio ${r.ratio_median.toFixed(2)}×, min mask IoU ${r.min_mask_iou.toFixed(4)}, same best candidate ${r.same_candidate}/${r.prompts}`);
    }
    window.benchResult = r;
    log(JSON.stringify(r, (k, v) => (k === "per_prompt" ? undefined : v), 1));
  },
  (e) => {
    window.benchResult = { error: String(e && e.stack ? e.stack : e) };
    log("FAILED: " + window.benchResult.error);
  },
);
