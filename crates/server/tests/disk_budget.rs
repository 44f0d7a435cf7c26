//! The disk budget (`--cache-max-bytes`) on loopback: temporary files of interrupted
//! writes are swept at start, `/metrics` reports what the data directory holds, the
//! least recently used images go first once over the budget (also right after a restart
//! with a smaller one), and an image a deck uses is never evicted.

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde_json::json;
use support::{TestServer, fixture_image, json as body_json, scratch_dir, variant};

/// Every `.png` under `dir`, recursively.
fn stored_pngs(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            stored_pngs(&path, out);
        } else if path.extension().is_some_and(|e| e == "png") {
            out.push(path);
        }
    }
}

/// Uploads a new image (the fixture with pixel (0, 0) from `seed`); returns its id.
async fn upload(server: &TestServer, seed: u8) -> String {
    let (status, body) = server
        .upload(variant(&fixture_image("nuclei.png"), seed), &[])
        .await;
    assert_eq!(status, 200, "{body}");
    body["id"].as_str().unwrap().to_string()
}

async fn images_bytes(server: &TestServer) -> f64 {
    server.metric("samscope_disk_bytes{area=\"images\"}").await
}

/// Polls `/metrics` (which touches no file) until the images fit `budget` (at most 30 s).
async fn wait_within(server: &TestServer, budget: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while images_bytes(server).await > budget as f64 {
        assert!(
            Instant::now() < deadline,
            "the images never fit {budget} bytes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn status_of_image(server: &TestServer, id: &str) -> u16 {
    server
        .get(&format!("/api/v1/images/{id}"))
        .await
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn least_recently_used_images_no_deck_uses_are_evicted() {
    let dir = scratch_dir("disk-budget");
    let orphan = dir.join("images/ab/.x.png.999999999.0.tmp");
    std::fs::create_dir_all(orphan.parent().unwrap()).unwrap();
    std::fs::write(&orphan, b"half a file").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&orphan)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(7200))
        .unwrap();

    // Unbounded: everything stays; the metrics count exactly what is on disk.
    let server = TestServer::start(&dir, |config| config.limits.cache_max_bytes = 0).await;
    assert!(
        !orphan.exists(),
        "the orphaned temporary file was swept at start"
    );
    let in_deck = upload(&server, 1).await;
    server
        .post_created(
            "/api/v1/decks",
            json!({"title": "Kept", "cases": [{"title": "c", "image": in_deck}]}),
        )
        .await;
    let mut loose = Vec::new();
    for seed in 2..8 {
        loose.push(upload(&server, seed).await);
    }
    let mut pngs = Vec::new();
    stored_pngs(&dir.join("images"), &mut pngs);
    let on_disk: u64 = pngs.iter().map(|p| p.metadata().unwrap().len()).sum();
    assert_eq!(pngs.len(), 7);
    assert_eq!(
        server.metric("samscope_disk_files{area=\"images\"}").await,
        7.0
    );
    assert_eq!(images_bytes(&server).await, on_disk as f64);
    assert_eq!(
        server
            .metric("samscope_disk_evictions_total{area=\"images\"}")
            .await,
        0.0
    );
    server.stop().await;

    // Restarted with room for about three images: the index is rebuilt from the files
    // (oldest first: the deck's image), and eviction starts at once.
    let budget = on_disk * 3 / 7 + on_disk / 14;
    let server = TestServer::start(&dir, |config| config.limits.cache_max_bytes = budget).await;
    wait_within(&server, budget).await;
    assert_eq!(
        status_of_image(&server, &in_deck).await,
        200,
        "the deck's image was kept"
    );
    let missing = server.get(&format!("/api/v1/images/{}", loose[0])).await;
    assert_eq!(missing.status(), 404);
    assert_eq!(body_json(&missing)["error"], "image_not_found");
    assert_eq!(
        status_of_image(&server, loose.last().unwrap()).await,
        200,
        "the most recent upload was kept"
    );
    assert!(
        server
            .metric("samscope_disk_evictions_total{area=\"images\"}")
            .await
            >= 3.0
    );

    // A series of uploads stays within the budget.
    let mut newest = String::new();
    for seed in 10..16 {
        newest = upload(&server, seed).await;
        wait_within(&server, budget).await;
    }
    assert_eq!(status_of_image(&server, &newest).await, 200);
    assert_eq!(status_of_image(&server, &in_deck).await, 200);
    let mut pngs = Vec::new();
    stored_pngs(&dir.join("images"), &mut pngs);
    let on_disk: u64 = pngs.iter().map(|p| p.metadata().unwrap().len()).sum();
    assert!(
        on_disk <= budget,
        "{on_disk} bytes on disk, budget {budget}"
    );
    assert_eq!(
        server.metric("samscope_disk_files{area=\"images\"}").await,
        pngs.len() as f64
    );
    assert_eq!(
        server.metric("samscope_disk_budget_bytes").await,
        budget as f64
    );
    server.stop_and_clean().await;
}
