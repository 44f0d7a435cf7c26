//! Load benchmark of the embedding server on loopback, with the real LiteMedSAM weights:
//! encoder throughput (distinct images, queued together) and cached embedding GETs from
//! many keep-alive clients at once. Client and server share this process and its cores.
//!
//! `cargo bench -p samscope-server --bench load -- [SECONDS] [CLIENTS] [IMAGES]`
//! (defaults 10 s, 64 clients, 8 encoder images) prints a summary and one JSON line.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use hyper::Method;
use support::{Connection, TestServer, fixture_image, spawn_get, variant};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn embedding_path(id: &str) -> String {
    format!("/api/v1/images/{id}/embedding?model=lite_medsam&dtype=f16")
}

async fn upload(server: &TestServer, png: Vec<u8>) -> String {
    let (status, body) = server.upload(png, &[]).await;
    assert_eq!(status, 200, "{body}");
    body["id"].as_str().unwrap().to_string()
}

/// Encoder images/s: `count` distinct images requested at once (the encoder runs them
/// one after another); returns (wall seconds, mean encoder seconds per image).
async fn encoder_throughput(server: &TestServer, count: usize) -> (f64, f64) {
    let png = fixture_image("nuclei.png");
    let mut ids = Vec::new();
    for seed in 0..count {
        ids.push(upload(server, variant(&png, seed as u8 + 100)).await);
    }
    let start = Instant::now();
    let requests: Vec<_> = ids
        .iter()
        .map(|id| spawn_get(server.addr, embedding_path(id)))
        .collect();
    for request in requests {
        assert_eq!(request.await.unwrap().status(), 200);
    }
    let wall = start.elapsed().as_secs_f64();
    let runs = server.metric("samscope_encoder_runs_total").await;
    let sum = server.metric("samscope_encoder_seconds_sum").await;
    assert_eq!(runs as usize, count);
    (wall, sum / runs)
}

/// Cached GETs from `clients` keep-alive connections for `duration`: latencies in ms.
async fn cached_gets(
    server: &TestServer,
    id: &str,
    clients: usize,
    duration: Duration,
) -> Vec<f64> {
    let path = embedding_path(id);
    let warm = server.get(&path).await;
    assert_eq!(warm.status(), 200);
    let expected_len = warm.body().len();
    let deadline = Instant::now() + duration;
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (addr, path) = (server.addr, path.clone());
            tokio::spawn(async move {
                let mut connection = Connection::open(addr).await;
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let start = Instant::now();
                    let response = connection.send(Method::GET, &path, &[], Vec::new()).await;
                    latencies.push(start.elapsed().as_secs_f64() * 1e3);
                    assert_eq!(response.status(), 200);
                    assert_eq!(response.body().len(), expected_len);
                }
                latencies
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all
}

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let seconds = args.first().copied().unwrap_or(10).clamp(1, 120);
    let clients = args.get(1).copied().unwrap_or(64).clamp(1, 1024) as usize;
    let images = args.get(2).copied().unwrap_or(8).clamp(1, 64) as usize;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let server = TestServer::fresh("bench", |c| c.limits.queue_capacity = images).await;

        let (wall, mean_encoder) = encoder_throughput(&server, images).await;
        let encoder_images_per_s = images as f64 / wall;
        println!(
            "encoder: {images} images in {wall:.2} s = {encoder_images_per_s:.2} images/s (mean run {:.0} ms)",
            mean_encoder * 1e3
        );

        let id = upload(&server, fixture_image("nuclei.png")).await;
        let mut latencies = cached_gets(&server, &id, clients, Duration::from_secs(seconds)).await;
        latencies.sort_by(f64::total_cmp);
        let requests = latencies.len();
        let rps = requests as f64 / seconds as f64;
        let (p50, p99) = (percentile(&latencies, 50.0), percentile(&latencies, 99.0));
        println!(
            "cached embedding GET (f16, 2 MiB): {clients} clients, {seconds} s: {requests} requests, \
             {rps:.0} req/s, p50 {p50:.2} ms, p99 {p99:.2} ms, {:.2} GiB/s",
            rps * 2.0 / 1024.0
        );
        println!(
            "{}",
            serde_json::json!({
                "encoder_images": images,
                "encoder_images_per_s": encoder_images_per_s,
                "encoder_mean_ms": mean_encoder * 1e3,
                "clients": clients,
                "seconds": seconds,
                "requests": requests,
                "requests_per_s": rps,
                "p50_ms": p50,
                "p99_ms": p99,
            })
        );
        server.stop_and_clean().await;
    });
}
