//! API v1 end to end: a real server on a loopback port, the real LiteMedSAM weights, and
//! a plain HTTP client.

mod support;

use std::io::{Cursor, Read};

use burn::prelude::Device;
use hyper::Method;
use sam::embedding_codec::EmbeddingData;
use sam::export::{self, ExportDtype};
use sam::npy;
use sam::{BinaryMask, ModelConfig, ModelId, PromptInput, SamPredictor};
use server::{ServerConfig, ServerError};
use sha2::{Digest, Sha256};
use support::{
    TestServer, decode, expect_error, fixture_image, fixtures, json, png_chunk, scratch_dir,
    spawn_get, variant,
};

/// The box prompts of the golden cases (`tests/fixtures/golden/manifest.json`).
const CASES: [(&str, [f64; 4]); 2] = [
    ("nuclei", [173.0, 131.0, 214.0, 162.0]),
    ("retina", [44.0, 132.0, 108.0, 202.0]),
];

fn iou(a: &BinaryMask, b: &[u8]) -> f64 {
    let inter = a
        .data
        .iter()
        .zip(b)
        .filter(|(x, y)| **x == 1 && **y == 1)
        .count();
    let union = a
        .data
        .iter()
        .zip(b)
        .filter(|(x, y)| **x == 1 || **y == 1)
        .count();
    inter as f64 / union.max(1) as f64
}

fn box_prompt(bbox: [f64; 4]) -> PromptInput {
    PromptInput {
        bbox: Some(bbox),
        ..Default::default()
    }
}

/// The best mask for `bbox` from an embedding fetched over HTTP, decoded like the browser.
fn decode_mask(decoder: &SamPredictor, bytes: &[u8], bbox: [f64; 4]) -> BinaryMask {
    let data = EmbeddingData::decode(bytes).expect("the response is a valid embedding");
    let embedding = data.into_embedding(decoder.device());
    let prediction = decoder.predict(&embedding, &box_prompt(bbox)).unwrap();
    prediction.masks[prediction.best()].clone()
}

async fn upload_ok(server: &TestServer, body: Vec<u8>) -> String {
    let (status, body) = server.upload(body, &[]).await;
    assert_eq!(status, 200, "{body}");
    body["id"].as_str().unwrap().to_string()
}

fn embedding_path(id: &str, dtype: &str) -> String {
    format!("/api/v1/images/{id}/embedding?model=lite_medsam&dtype={dtype}")
}

/// Re-encodes image bytes as a 16-bit-free TIFF (same pixels, other container).
fn as_tiff(png: &[u8]) -> Vec<u8> {
    let image = image::load_from_memory(png).unwrap();
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Tiff).unwrap();
    out.into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embeddings_decode_to_the_segment_mask_and_f16_matches_f32() {
    let server = TestServer::fresh("decode", |_| {}).await;
    let reference = tokio::task::spawn_blocking(support::predictor)
        .await
        .unwrap();
    let config = ModelConfig::for_model(ModelId::LiteMedSam);
    let decoder = SamPredictor::decoder_only(config, reference.decoder().clone(), Device::flex());

    for (name, bbox) in CASES {
        let png = fixture_image(&format!("{name}.png"));
        let image = decode(&png);
        let (status, uploaded) = server.upload(png.clone(), &[]).await;
        assert_eq!(status, 200, "{uploaded}");
        assert_eq!(uploaded["width"].as_u64(), Some(image.width as u64));
        assert_eq!(uploaded["height"].as_u64(), Some(image.height as u64));
        let id = uploaded["id"].as_str().unwrap();
        assert_eq!(id.len(), 64);

        // The stored image is the decoded pixels, as PNG.
        let stored = server.get(&format!("/api/v1/images/{id}")).await;
        assert_eq!(stored.status(), 200);
        assert_eq!(stored.headers()["content-type"], "image/png");
        assert_eq!(decode(stored.body()), image);

        let f32_response = server.get(&embedding_path(id, "f32")).await;
        assert_eq!(f32_response.status(), 200);
        let f16_response = server.get(&embedding_path(id, "f16")).await;
        assert_eq!(f16_response.status(), 200);
        assert!(f16_response.body().len() <= 2 * 1024 * 1024 + 64);
        let default_response = server.get(&format!("/api/v1/images/{id}/embedding")).await;
        assert_eq!(
            default_response.body(),
            f16_response.body(),
            "f16 is the default"
        );
        let header = EmbeddingData::decode(f16_response.body()).unwrap().header;
        assert_eq!(header.dtype, ExportDtype::F16);
        assert_eq!(header.shape, [1, 256, 64, 64]);
        assert_eq!(header.original_size, (image.height, image.width));

        // `samscope segment`'s path: encoder and decoder in one process.
        let expected = {
            let embedding = reference.embed(&image).unwrap();
            let prediction = reference.predict(&embedding, &box_prompt(bbox)).unwrap();
            prediction.masks[prediction.best()].clone()
        };
        let from_f32 = decode_mask(&decoder, f32_response.body(), bbox);
        assert_eq!(
            from_f32, expected,
            "{name}: server f32 embedding ≠ segment's mask"
        );
        let from_f16 = decode_mask(&decoder, f16_response.body(), bbox);
        let f16_iou = iou(&from_f16, &from_f32.data);
        assert!(f16_iou >= 0.999, "{name}: f16 vs f32 IoU {f16_iou}");
        assert!(expected.area() > 0);

        // And both agree with PyTorch's mask for this box.
        let golden: npy::NpyArray<u8> = npy::decode(
            &std::fs::read(fixtures().join(format!("golden/{name}/box_single_masks.npy"))).unwrap(),
        )
        .unwrap();
        let torch_iou = iou(&from_f16, &golden.data);
        assert!(torch_iou >= 0.99, "{name}: IoU with PyTorch {torch_iou}");
    }
    server.stop_and_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_image_twice_has_one_id_and_one_encoder_run() {
    let server = TestServer::fresh("twice", |_| {}).await;
    let png = fixture_image("nuclei.png");
    let first = upload_ok(&server, png.clone()).await;
    let again = upload_ok(&server, png.clone()).await;
    let as_tiff = upload_ok(&server, as_tiff(&png)).await;
    assert_eq!(first, again);
    assert_eq!(
        first, as_tiff,
        "the id is over the decoded pixels, not the file"
    );
    assert_ne!(first, upload_ok(&server, variant(&png, 1)).await);

    let a = server.get(&embedding_path(&first, "f16")).await;
    let b = server.get(&embedding_path(&again, "f16")).await;
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (200, 200));
    assert_eq!(a.body(), b.body());
    assert_eq!(server.metric("samscope_encoder_runs_total").await, 1.0);
    assert_eq!(
        server
            .metric("samscope_cache_hits_total{layer=\"memory\"}")
            .await,
        1.0
    );
    assert_eq!(server.metric("samscope_uploads_total").await, 4.0);

    // Content-addressed: immutable, with a validator that answers 304.
    let etag = a.headers()["etag"].to_str().unwrap().to_string();
    assert!(
        a.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    let revalidated = server
        .request(
            Method::GET,
            &embedding_path(&first, "f16"),
            &[("if-none-match", &etag)],
            Vec::new(),
        )
        .await;
    assert_eq!(revalidated.status(), 304);
    assert!(revalidated.body().is_empty());
    server.stop_and_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_requests_run_the_encoder_once() {
    let server = TestServer::fresh("concurrent", |_| {}).await;
    let id = upload_ok(&server, fixture_image("retina.png")).await;
    let requests: Vec<_> = (0..32)
        .map(|_| spawn_get(server.addr, embedding_path(&id, "f16")))
        .collect();
    let mut bodies = Vec::new();
    for request in requests {
        let response = request.await.unwrap();
        assert_eq!(response.status(), 200, "{}", json(&response));
        bodies.push(response.into_body());
    }
    assert!(bodies.iter().all(|b| b == &bodies[0]));
    assert_eq!(server.metric("samscope_encoder_runs_total").await, 1.0);
    assert_eq!(server.metric("samscope_cache_misses_total").await, 1.0);
    assert_eq!(server.metric("samscope_encoder_queue_depth").await, 0.0);
    server.stop_and_clean().await;
}

/// The one cached embedding file under `dir`.
fn cache_file(dir: &std::path::Path) -> std::path::PathBuf {
    let mut found = Vec::new();
    let mut stack = vec![dir.join("embeddings")];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "emb") {
                found.push(path);
            }
        }
    }
    assert_eq!(found.len(), 1, "{found:?}");
    found.remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_cache_file_is_recomputed_never_served() {
    let dir = scratch_dir("corrupt");
    let server = TestServer::start(&dir, |_| {}).await;
    let id = upload_ok(&server, fixture_image("nuclei.png")).await;
    let original = server.get(&embedding_path(&id, "f32")).await;
    assert_eq!(original.status(), 200);
    server.stop().await;

    // Flip one byte in the middle of the tensor; a new server has an empty memory cache.
    let path = cache_file(&dir);
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&path, bytes).unwrap();

    let server = TestServer::start(&dir, |_| {}).await;
    let again = server.get(&embedding_path(&id, "f32")).await;
    assert_eq!(again.status(), 200);
    assert_eq!(
        again.body(),
        original.body(),
        "the recomputed embedding is served"
    );
    assert_eq!(server.metric("samscope_cache_corrupt_total").await, 1.0);
    assert_eq!(server.metric("samscope_encoder_runs_total").await, 1.0);
    server.stop().await;

    // The recomputed entry replaced the damaged one on disk.
    let server = TestServer::start(&dir, |_| {}).await;
    let third = server.get(&embedding_path(&id, "f32")).await;
    assert_eq!(third.body(), original.body());
    assert_eq!(server.metric("samscope_encoder_runs_total").await, 0.0);
    assert_eq!(
        server
            .metric("samscope_cache_hits_total{layer=\"disk\"}")
            .await,
        1.0
    );
    server.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// Appends a PNG chunk with its CRC.
/// A 57-byte PNG whose header claims 30000×30000 RGB (2.7 GB decoded).
fn png_bomb() -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&30000u32.to_be_bytes());
    ihdr.extend_from_slice(&30000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    png_chunk(&mut png, b"IHDR", &ihdr);
    png_chunk(&mut png, b"IDAT", &[0x78, 0x9c, 0x03, 0x00]);
    png_chunk(&mut png, b"IEND", &[]);
    png
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_the_right_4xx_and_the_server_stays_healthy() {
    let server = TestServer::fresh("reject", |c| c.limits.max_upload_bytes = 1 << 20).await;
    let png = fixture_image("nuclei.png");
    let post = |body: Vec<u8>| server.request(Method::POST, "/api/v1/images", &[], body);

    let truncated = png[..png.len() / 2].to_vec();
    expect_error(
        post(truncated).await,
        422,
        "unprocessable_image",
        "truncated PNG",
    )
    .await;
    // Half a JPEG is refused, not filled with grey.
    let mut jpeg = std::io::Cursor::new(Vec::new());
    image::load_from_memory(&png)
        .unwrap()
        .to_rgb8()
        .write_to(&mut jpeg, image::ImageFormat::Jpeg)
        .unwrap();
    let jpeg = jpeg.into_inner();
    expect_error(
        post(jpeg[..jpeg.len() / 2].to_vec()).await,
        422,
        "unprocessable_image",
        "truncated JPEG",
    )
    .await;
    let text = b"patient: Jane Doe\nnot an image\n".to_vec();
    expect_error(post(text).await, 415, "unsupported_media_type", "text file").await;
    expect_error(post(Vec::new()).await, 400, "empty_body", "empty body").await;
    let bomb = png_bomb();
    assert!(bomb.len() < 100);
    expect_error(post(bomb).await, 413, "too_large", "PNG bomb").await;
    let oversized = [b"\x89PNG\r\n\x1a\n".as_slice(), &vec![0u8; 1 << 20]].concat();
    expect_error(
        post(oversized).await,
        413,
        "too_large",
        "body over the limit",
    )
    .await;

    let unknown = "0".repeat(64);
    for bad in [
        "abc".to_string(),
        "A".repeat(64),
        "0".repeat(63),
        "..%2F..%2F..%2Fetc%2Fpasswd".to_string(),
        format!("..%2F{}", "0".repeat(61)),
    ] {
        for path in [
            format!("/api/v1/images/{bad}"),
            format!("/api/v1/images/{bad}/embedding"),
        ] {
            expect_error(server.get(&path).await, 400, "bad_id", &path).await;
        }
    }
    for path in [
        format!("/api/v1/images/{unknown}"),
        format!("/api/v1/images/{unknown}/embedding"),
    ] {
        expect_error(server.get(&path).await, 404, "image_not_found", &path).await;
    }

    let id = upload_ok(&server, png).await;
    for (query, code, status) in [
        ("model=nope", "unknown_model", 404),
        ("model=vit_h", "unknown_model", 404),
        ("dtype=f64", "bad_request", 400),
    ] {
        let path = format!("/api/v1/images/{id}/embedding?{query}");
        expect_error(server.get(&path).await, status, code, &path).await;
    }
    expect_error(
        server.get("/api/v1/models/nope/decoder.safetensors").await,
        404,
        "unknown_model",
        "decoder of an unknown model",
    )
    .await;
    expect_error(
        server.get("/api/v1/nothing").await,
        404,
        "not_found",
        "unknown route",
    )
    .await;
    expect_error(server.get("/").await, 404, "not_found", "no viewer bundle").await;
    // DNS rebinding: a page whose own name now resolves to 127.0.0.1.
    let rebound = server
        .request(
            Method::GET,
            "/api/v1/models",
            &[("host", "evil.example:8080")],
            Vec::new(),
        )
        .await;
    expect_error(rebound, 403, "foreign_host", "foreign Host").await;
    let localhost = server
        .request(
            Method::GET,
            "/api/v1/models",
            &[("host", "localhost:8080")],
            Vec::new(),
        )
        .await;
    assert_eq!(localhost.status(), 200);
    let delete = server
        .request(Method::DELETE, "/api/v1/images", &[], Vec::new())
        .await;
    expect_error(delete, 405, "method_not_allowed", "DELETE").await;

    // Still healthy, no encoder run was spent on any of it, and it still works.
    let health = server.get("/healthz").await;
    assert_eq!(health.status(), 200);
    assert_eq!(json(&health)["status"], "ok");
    assert_eq!(server.metric("samscope_encoder_runs_total").await, 0.0);
    assert_eq!(
        server
            .metric("samscope_http_requests_total{route=\"/api/v1/images\",status=\"413\"}")
            .await,
        2.0
    );
    let image = server.get(&format!("/api/v1/images/{id}")).await;
    assert_eq!(image.status(), 200);
    assert_eq!(image.headers()["x-content-type-options"], "nosniff");
    assert!(image.headers().get("access-control-allow-origin").is_none());
    server.stop_and_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_need_the_token_when_one_is_set() {
    let dir = scratch_dir("token");
    let server =
        TestServer::start(&dir, |c| c.token = Some("s3cret-token-0123456789".into())).await;
    let png = fixture_image("nuclei.png");
    let missing = server
        .request(Method::POST, "/api/v1/images", &[], png.clone())
        .await;
    assert_eq!(missing.headers()["www-authenticate"], "Bearer");
    expect_error(missing, 401, "unauthorized", "no token").await;
    for header in [
        "Bearer wrong-token!",
        "Bearer s3cret-token-012345678",
        "s3cret-token-0123456789",
        "Basic s3cret-token-0123456789",
    ] {
        let response = server
            .request(
                Method::POST,
                "/api/v1/images",
                &[("authorization", header)],
                png.clone(),
            )
            .await;
        expect_error(response, 401, "unauthorized", header).await;
    }
    let (status, body) = server
        .upload(png, &[("authorization", "Bearer s3cret-token-0123456789")])
        .await;
    assert_eq!(status, 200, "{body}");
    let id = body["id"].as_str().unwrap();
    // Reads need the token too (tests/access.rs covers every route).
    let image = format!("/api/v1/images/{id}");
    assert_eq!(server.get(&image).await.status(), 401);
    let bearer = [("authorization", "Bearer s3cret-token-0123456789")];
    let read = server
        .request(Method::GET, &image, &bearer, Vec::new())
        .await;
    assert_eq!(read.status(), 200);
    assert_eq!(server.get("/healthz").await.status(), 200);
    server.stop().await;

    // Off loopback without a token the server refuses to start.
    let open = ServerConfig::new("0.0.0.0:0".parse().unwrap(), &dir);
    let refused = server::Server::bind(open, vec![support::loaded_model()]).await;
    assert!(matches!(refused, Err(ServerError::Insecure { .. })));
    // The weights id names cache folders, so it must be a sha256.
    let local = ServerConfig::new("127.0.0.1:0".parse().unwrap(), &dir);
    let mut model = support::loaded_model();
    model.weights_sha256 = "../../elsewhere".into();
    let refused = server::Server::bind(local, vec![model]).await;
    assert!(matches!(refused, Err(ServerError::BadWeightsId { .. })));
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_list_the_decoder_the_browser_downloads_and_root_serves_the_viewer() {
    let dir = scratch_dir("models");
    let web = dir.join("dist");
    std::fs::create_dir_all(&web).unwrap();
    std::fs::write(
        web.join("index.html"),
        "<!doctype html><title>samscope</title>",
    )
    .unwrap();
    let server = TestServer::start(&dir, |c| c.web_dir = Some(web.clone())).await;

    let models = json(&server.get("/api/v1/models").await);
    let model = &models["models"][0];
    assert_eq!(model["id"], "lite_medsam");
    assert_eq!(model["default"], true);
    assert_eq!(
        model["embedding_shape"],
        serde_json::json!([1, 256, 64, 64])
    );
    let decoder = &model["decoder"];
    let url = decoder["url"].as_str().unwrap();
    let response = server.get(url).await;
    assert_eq!(response.status(), 200);
    let bytes = response.body().to_vec();
    assert_eq!(decoder["bytes"].as_u64(), Some(bytes.len() as u64));
    assert_eq!(decoder["sha256"], format!("{:x}", Sha256::digest(&bytes)));
    assert_eq!(decoder["dtype"], "f16");
    let config = ModelConfig::for_model(ModelId::LiteMedSam);
    export::load_decoder(&config, bytes, &Device::flex()).expect("strictly loadable");
    let etag = response.headers()["etag"].to_str().unwrap().to_string();
    let again = server
        .request(Method::GET, url, &[("if-none-match", &etag)], Vec::new())
        .await;
    assert_eq!(again.status(), 304);

    let exact = &model["decoder_f32"];
    let response = server.get(exact["url"].as_str().unwrap()).await;
    assert_eq!(response.status(), 200);
    let bytes = response.body().to_vec();
    assert_eq!(exact["sha256"], format!("{:x}", Sha256::digest(&bytes)));
    assert_eq!(exact["dtype"], "f32");
    export::load_decoder(&config, bytes, &Device::flex()).expect("f32 strictly loadable");
    expect_error(
        server.get(&format!("{url}?dtype=f64")).await,
        400,
        "bad_request",
        "decoder dtype f64",
    )
    .await;

    // The download form: byte planes, brotli or gzip as accepted, restoring the same file.
    let f16 = server.get(url).await.body().to_vec();
    let planes_url = decoder["planes_url"].as_str().unwrap();
    for (accept, encoding) in [
        ("gzip, deflate, br, zstd", Some("br")),
        ("gzip", Some("gzip")),
        ("br;q=0, gzip;q=0", None),
        ("", None),
    ] {
        let response = server
            .request(
                Method::GET,
                planes_url,
                &[("accept-encoding", accept)],
                Vec::new(),
            )
            .await;
        assert_eq!(response.status(), 200, "{accept}");
        let headers = response.headers();
        assert_eq!(headers["vary"], "accept-encoding");
        assert_eq!(
            headers.get("content-encoding").map(|v| v.to_str().unwrap()),
            encoding,
            "{accept}"
        );
        let body = response.body().to_vec();
        let planes = match encoding {
            Some("br") => {
                let mut out = Vec::new();
                brotli::Decompressor::new(&body[..], 4096)
                    .read_to_end(&mut out)
                    .unwrap();
                out
            }
            Some(_) => {
                let mut out = Vec::new();
                flate2::read::GzDecoder::new(&body[..])
                    .read_to_end(&mut out)
                    .unwrap();
                out
            }
            None => body.clone(),
        };
        assert_eq!(export::from_byte_planes(&planes, 2), f16, "{accept}");
        if encoding.is_some() {
            assert!(
                body.len() < f16.len() * 9 / 10,
                "{accept}: {} bytes",
                body.len()
            );
        }
        let etag = headers["etag"].to_str().unwrap().to_string();
        let again = server
            .request(
                Method::GET,
                planes_url,
                &[("accept-encoding", accept), ("if-none-match", &etag)],
                Vec::new(),
            )
            .await;
        assert_eq!(again.status(), 304, "{accept}");
    }
    let f32_planes = server.get(exact["planes_url"].as_str().unwrap()).await;
    let f32_file = server.get(exact["url"].as_str().unwrap()).await;
    assert_eq!(
        export::from_byte_planes(f32_planes.body(), 4),
        f32_file.body().to_vec()
    );
    expect_error(
        server.get(&format!("{url}?layout=columns")).await,
        400,
        "bad_request",
        "decoder layout columns",
    )
    .await;

    let index = server.get("/").await;
    assert_eq!(index.status(), 200);
    assert!(String::from_utf8_lossy(index.body()).contains("samscope"));
    // The page may run scripts and WebAssembly from this origin only, and nobody may frame
    // it (the page and the API alike).
    let api_reply = server.get("/api/v1/models").await;
    for response in [&index, &api_reply] {
        let csp = response.headers()["content-security-policy"]
            .to_str()
            .unwrap();
        assert!(csp.starts_with("default-src 'self';"), "{csp}");
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval';"),
            "{csp}"
        );
        assert!(csp.ends_with("frame-ancestors 'none'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(response.headers()["x-frame-options"], "DENY");
    }
    // A bundle file with a brotli copy next to it: the copy to clients that accept br.
    std::fs::write(web.join("app.js"), "console.log('samscope');").unwrap();
    std::fs::write(web.join("app.js.br"), b"brotli bytes").unwrap();
    let plain = server.get("/app.js").await;
    assert_eq!(plain.body().as_ref(), b"console.log('samscope');");
    assert!(plain.headers().get("content-encoding").is_none());
    let compressed = server
        .request(
            Method::GET,
            "/app.js",
            &[("accept-encoding", "gzip, br")],
            Vec::new(),
        )
        .await;
    assert_eq!(compressed.headers()["content-encoding"], "br");
    assert_eq!(compressed.headers()["vary"], "accept-encoding");
    assert_eq!(compressed.body().as_ref(), b"brotli bytes");
    assert!(
        compressed.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("javascript")
    );
    expect_error(
        server.get("/missing.js").await,
        404,
        "not_found",
        "missing file",
    )
    .await;
    server.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_encoder_queue_answers_503_with_retry_after() {
    let server = TestServer::fresh("busy", |c| c.limits.queue_capacity = 1).await;
    let png = fixture_image("nuclei.png");
    let mut ids = Vec::new();
    for seed in 0..3 {
        ids.push(upload_ok(&server, variant(&png, seed)).await);
    }
    let fire = |id: &str| spawn_get(server.addr, embedding_path(id, "f16"));
    let running = fire(&ids[0]);
    server.wait_for_metric("samscope_encoder_busy", 1.0).await;
    let queued = fire(&ids[1]);
    server
        .wait_for_metric("samscope_encoder_queue_depth", 1.0)
        .await;
    let refused = server.get(&embedding_path(&ids[2], "f16")).await;
    assert!(
        refused.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    expect_error(refused, 503, "busy", "third job").await;
    assert_eq!(running.await.unwrap().status(), 200);
    assert_eq!(queued.await.unwrap().status(), 200);
    assert_eq!(server.metric("samscope_encoder_runs_total").await, 2.0);
    // Once the queue drains the refused image is served.
    assert_eq!(
        server.get(&embedding_path(&ids[2], "f16")).await.status(),
        200
    );
    server.stop_and_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_request_leaves_its_encoder_run_to_finish_and_be_cached() {
    let server = TestServer::fresh("timeout", |c| {
        c.limits.request_timeout = std::time::Duration::from_millis(500)
    })
    .await;
    let id = upload_ok(&server, fixture_image("nuclei.png")).await;
    let slow = server.get(&embedding_path(&id, "f16")).await;
    assert_eq!(slow.headers()["retry-after"], "1");
    expect_error(slow, 503, "timeout", "first request").await;
    server
        .wait_for_metric("samscope_encoder_runs_total", 1.0)
        .await;
    let cached = server.get(&embedding_path(&id, "f16")).await;
    assert_eq!(cached.status(), 200, "{}", json(&cached));
    assert_eq!(server.metric("samscope_encoder_runs_total").await, 1.0);
    server.stop_and_clean().await;
}
