//! Shared by the server tests and the load benchmark: the real LiteMedSAM weights, a
//! server on a loopback port in this process, and a small HTTP/1.1 client.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use burn::prelude::Device;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use sam::{ModelConfig, ModelId, RgbImage, SamPredictor};
use server::{LoadedModel, Server, ServerConfig};
use sha2::{Digest, Sha256};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The allocator of the `samscope` binary, so timings match what it serves.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `tests/fixtures` at the workspace root.
pub fn fixtures() -> PathBuf {
    test_support::fixtures()
}

/// Bytes of `tests/fixtures/images/<name>`.
pub fn fixture_image(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join("images").join(name)).expect("fixture image is readable")
}

/// Decodes image bytes the way `samscope segment` reads its `--image`.
pub fn decode(bytes: &[u8]) -> RgbImage {
    let d = imaging::decode_image(bytes, &imaging::Limits::default()).expect("decodes");
    RgbImage::new(d.width as usize, d.height as usize, d.rgb).expect("buffer matches")
}

/// The PNG `png` with pixel (0, 0) set from `seed`: new content, new id.
pub fn variant(png: &[u8], seed: u8) -> Vec<u8> {
    let mut image = image::load_from_memory(png).unwrap().to_rgb8();
    image.get_pixel_mut(0, 0).0 = [seed, seed.wrapping_mul(7), 3];
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// The real LiteMedSAM checkpoint (`scripts/fetch-model.sh` puts it there).
pub fn checkpoint_path() -> PathBuf {
    test_support::model_file(sam::checkpoint::default_checkpoint_path())
}

/// LiteMedSAM on the CPU, loaded as `samscope` loads it.
pub fn predictor() -> SamPredictor {
    let config = ModelConfig::for_model(ModelId::LiteMedSam);
    let device = Device::flex();
    let sam = sam::checkpoint::load_pth(&config, &checkpoint_path(), &device).unwrap();
    let (encoder, decoder) = sam.split();
    SamPredictor::new(config, encoder, decoder, device)
}

/// The model as the server takes it, keyed by the checkpoint's sha256.
pub fn loaded_model() -> LoadedModel {
    let bytes = std::fs::read(checkpoint_path()).unwrap();
    LoadedModel {
        predictor: predictor(),
        weights_sha256: format!("{:x}", Sha256::digest(&bytes)),
    }
}

/// A fresh, empty data directory.
pub fn scratch_dir(name: &str) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    test_support::scratch_path("server", &format!("{name}-{n}"))
}

/// A server running in this process on 127.0.0.1 with a free port.
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its data directory.
    pub data_dir: PathBuf,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl TestServer {
    /// Starts a server on `data_dir` with the real model; `adjust` edits the config.
    pub async fn start(data_dir: &Path, adjust: impl FnOnce(&mut ServerConfig)) -> Self {
        let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), data_dir);
        adjust(&mut config);
        let model = tokio::task::spawn_blocking(loaded_model).await.unwrap();
        let server = Server::bind(config, vec![model])
            .await
            .expect("server starts");
        let addr = server.local_addr();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            server
                .run(async {
                    let _ = stopped.await;
                })
                .await
                .expect("server runs");
        });
        Self {
            addr,
            data_dir: data_dir.to_path_buf(),
            stop,
            task,
        }
    }

    /// Starts a server on a fresh scratch data directory named after `name`.
    pub async fn fresh(name: &str, adjust: impl FnOnce(&mut ServerConfig)) -> Self {
        Self::start(&scratch_dir(name), adjust).await
    }

    /// Stops accepting, waits for the server to finish; the data directory stays.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap();
    }

    /// Stops the server and removes its data directory.
    pub async fn stop_and_clean(self) {
        let dir = self.data_dir.clone();
        self.stop().await;
        let _ = std::fs::remove_dir_all(dir);
    }

    /// A request on a fresh connection.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Response<Bytes> {
        Connection::open(self.addr)
            .await
            .send(method, path, headers, body)
            .await
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Response<Bytes> {
        self.request(Method::GET, path, &[], Vec::new()).await
    }

    /// `POST /api/v1/images` with `body`; returns the response and its JSON.
    pub async fn upload(
        &self,
        body: Vec<u8>,
        headers: &[(&str, &str)],
    ) -> (u16, serde_json::Value) {
        let response = self
            .request(Method::POST, "/api/v1/images", headers, body)
            .await;
        let status = response.status().as_u16();
        (status, json(&response))
    }

    /// `POST path` with a JSON body that must be created (201); returns the reply.
    pub async fn post_created(&self, path: &str, body: serde_json::Value) -> serde_json::Value {
        let response = self
            .request(
                Method::POST,
                path,
                &[("content-type", "application/json")],
                serde_json::to_vec(&body).unwrap(),
            )
            .await;
        assert_eq!(response.status(), 201, "{}", json(&response));
        json(&response)
    }

    /// The value of an unlabelled or labelled sample in `/metrics`, e.g.
    /// `samscope_encoder_runs_total` or `samscope_cache_hits_total{layer="memory"}`.
    pub async fn metric(&self, sample: &str) -> f64 {
        let response = self.get("/metrics").await;
        let text = String::from_utf8(response.body().to_vec()).unwrap();
        text.lines()
            .find_map(|line| line.strip_prefix(sample)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no `{sample}` in /metrics:\n{text}"))
    }

    /// Polls `/metrics` until `sample` is at least `value` (at most 30 s).
    pub async fn wait_for_metric(&self, sample: &str, value: f64) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.metric(sample).await < value {
            assert!(Instant::now() < deadline, "{sample} never reached {value}");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

/// `GET path` on its own connection, in its own task.
pub fn spawn_get(addr: SocketAddr, path: String) -> JoinHandle<Response<Bytes>> {
    tokio::spawn(async move {
        Connection::open(addr)
            .await
            .send(Method::GET, &path, &[], Vec::new())
            .await
    })
}

/// The body as JSON (`Null` when it is not JSON).
pub fn json(response: &Response<Bytes>) -> serde_json::Value {
    serde_json::from_slice(response.body()).unwrap_or(serde_json::Value::Null)
}

/// One keep-alive HTTP/1.1 connection.
pub struct Connection {
    sender: SendRequest<Full<Bytes>>,
    addr: SocketAddr,
}

impl Connection {
    /// Connects to `addr`.
    pub async fn open(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.expect("connects");
        stream.set_nodelay(true).unwrap();
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await.unwrap();
        tokio::spawn(connection);
        Self { sender, addr }
    }

    /// Sends one request and reads the whole response.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Response<Bytes> {
        let mut request = Request::builder().method(method).uri(path);
        if !headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("host"))
        {
            request = request.header("host", self.addr.to_string());
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Full::new(Bytes::from(body))).unwrap();
        self.sender.ready().await.expect("connection is ready");
        let response = self.sender.send_request(request).await.expect("response");
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.expect("body").to_bytes();
        Response::from_parts(parts, bytes)
    }
}

/// A server-sent event stream read from its own connection.
pub struct EventStream {
    body: hyper::body::Incoming,
    buffer: String,
    /// The response status.
    pub status: u16,
}

impl EventStream {
    /// `GET path` with `Accept: text/event-stream`, keeping the body open.
    pub async fn open(addr: SocketAddr, path: &str) -> Self {
        let stream = TcpStream::connect(addr).await.expect("connects");
        stream.set_nodelay(true).unwrap();
        let (mut sender, connection) = http1::handshake(TokioIo::new(stream)).await.unwrap();
        tokio::spawn(connection);
        let request = Request::builder()
            .method(Method::GET)
            .uri(path)
            .header("host", addr.to_string())
            .header("accept", "text/event-stream")
            .body(Full::new(Bytes::new()))
            .unwrap();
        let response = sender.send_request(request).await.expect("response");
        let status = response.status().as_u16();
        Self {
            body: response.into_body(),
            buffer: String::new(),
            status,
        }
    }

    /// The next event as (name, JSON data), skipping comments and keep-alives; `None` when
    /// the stream ends or nothing arrives within `wait`.
    pub async fn next(&mut self, wait: Duration) -> Option<(String, serde_json::Value)> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut name = String::from("message");
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if data.is_empty() {
                    continue;
                }
                let value = serde_json::from_str(&data).unwrap_or(serde_json::Value::Null);
                return Some((name, value));
            }
            let frame = tokio::time::timeout_at(deadline, self.body.frame())
                .await
                .ok()??
                .ok()?;
            if let Ok(data) = frame.into_data() {
                self.buffer.push_str(&String::from_utf8_lossy(&data));
            }
        }
    }
}

/// Appends a PNG chunk of `kind` holding `data` (length, type, data, CRC-32) to `out`.
pub fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    0xedb8_8320 ^ (crc >> 1)
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// Asserts `response` is the JSON error `code` with `status` and a non-empty detail.
pub async fn expect_error(response: hyper::Response<Bytes>, status: u16, code: &str, what: &str) {
    let body = json(&response);
    assert_eq!(response.status().as_u16(), status, "{what}: {body}");
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "{what}"
    );
    assert_eq!(body["error"], code, "{what}: {body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{what}: {body}"
    );
}
