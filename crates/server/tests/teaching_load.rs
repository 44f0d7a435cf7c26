//! Load test of a teaching session on loopback: 200 simulated students follow the
//! instructor over server-sent events and post results for 60 s while the instructor
//! moves through the deck; every request must succeed and every student must see every
//! case change. Bounded: a fixed number of students posting at a fixed rate, and a hard
//! deadline on the whole run. Prints the figures (BENCHMARKS.md, "Teaching sessions")
//! as one JSON line.
//!
//! `SAMSCOPE_LOAD_STUDENTS` and `SAMSCOPE_LOAD_SECONDS` change the defaults (200, 60).
//!
//! A minute long, so not in the default suite: it is `#[ignore]`d (`cargo test` lists it
//! as ignored, with the reason), and `scripts/test.sh` runs it in a step of its own with
//! `--ignored`, checking that exactly this one test ran and passed.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hyper::Method;
use serde_json::{Value, json};
use support::{Connection, EventStream, TestServer, fixture_image, json as body_json};
use tokio::sync::Mutex;

/// Each student posts a result this often.
const POST_EVERY: Duration = Duration::from_millis(1000);
/// The instructor moves to the next case this often.
const CASE_EVERY: Duration = Duration::from_secs(3);
const CASES: usize = 5;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Starts the server, a deck of [`CASES`] cases and a session; returns the keys.
async fn session(server: &TestServer) -> (String, String) {
    let (status, image) = server.upload(fixture_image("nuclei.png"), &[]).await;
    assert_eq!(status, 200);
    let image = image["id"].as_str().unwrap();
    let cases: Vec<Value> = (0..CASES)
        .map(|i| json!({"title": format!("case {i}"), "image": image}))
        .collect();
    let deck = server
        .post_created("/api/v1/decks", json!({"title": "Load", "cases": cases}))
        .await;
    let links = server
        .post_created("/api/v1/sessions", json!({"deck": deck["id"]}))
        .await;
    (
        links["instructor_key"].as_str().unwrap().into(),
        links["student_key"].as_str().unwrap().into(),
    )
}

#[derive(Default)]
struct Tally {
    posts: AtomicU64,
    errors: AtomicU64,
    post_ms: Mutex<Vec<f64>>,
    follow_ms: Mutex<Vec<f64>>,
}

/// One student: follows the stream on one connection, posts on another, and checks it
/// saw every case the instructor moved to, in order.
async fn student(
    server_addr: std::net::SocketAddr,
    key: Arc<String>,
    index: usize,
    until: Instant,
    moves: Arc<Mutex<Vec<(usize, Instant)>>>,
    tally: Arc<Tally>,
) -> Vec<usize> {
    let mut stream =
        EventStream::open(server_addr, &format!("/api/v1/classroom/{key}/events")).await;
    if stream.status != 200 {
        tally.errors.fetch_add(1, Ordering::Relaxed);
        return Vec::new();
    }
    let mut connection = Connection::open(server_addr).await;
    let path = format!("/api/v1/classroom/{key}/results");
    let id = format!("load-student-{index:04}");
    let mut seen = Vec::new();
    let mut current = 0usize;
    let mut clicks = 0u32;
    // Spread the posts over the interval.
    let mut next_post = Instant::now() + POST_EVERY.mul_f64(index as f64 / 200.0 % 1.0);
    while Instant::now() < until {
        let wait = next_post.saturating_duration_since(Instant::now());
        if let Some((name, data)) = stream.next(wait).await {
            if name == "state" {
                current = data["current"].as_u64().unwrap_or(0) as usize;
                let arrived = Instant::now();
                if seen.last() != Some(&current) {
                    let first = seen.is_empty();
                    seen.push(current);
                    if first {
                        continue;
                    }
                    if let Some((_, at)) =
                        moves.lock().await.iter().rev().find(|(c, _)| *c == current)
                    {
                        tally
                            .follow_ms
                            .lock()
                            .await
                            .push((arrived - *at).as_secs_f64() * 1e3);
                    }
                }
            }
            continue;
        }
        if Instant::now() < next_post {
            continue;
        }
        clicks += 1;
        let dice = ((index * 7 + clicks as usize) % 100) as f64 / 100.0;
        let body = json!({"student": id, "case": current, "dice": dice, "iou": dice / (2.0 - dice), "clicks": clicks});
        let sent = Instant::now();
        let response = connection
            .send(
                Method::POST,
                &path,
                &[("content-type", "application/json")],
                serde_json::to_vec(&body).unwrap(),
            )
            .await;
        tally
            .post_ms
            .lock()
            .await
            .push(sent.elapsed().as_secs_f64() * 1e3);
        tally.posts.fetch_add(1, Ordering::Relaxed);
        if response.status() != 204 {
            tally.errors.fetch_add(1, Ordering::Relaxed);
            eprintln!(
                "student {index}: {} {}",
                response.status(),
                body_json(&response)
            );
        }
        next_post += POST_EVERY;
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "60 s load test: scripts/test.sh runs it in its own step (cargo test --release -p samscope-server --test teaching_load -- --ignored)"]
async fn two_hundred_students_for_a_minute() {
    let students = env_or("SAMSCOPE_LOAD_STUDENTS", 200) as usize;
    let seconds = env_or("SAMSCOPE_LOAD_SECONDS", 60);
    let server = TestServer::fresh("teaching-load", |_| {}).await;
    let (teacher, student_key) = session(&server).await;
    let student_key = Arc::new(student_key);
    let tally = Arc::new(Tally::default());
    let moves = Arc::new(Mutex::new(vec![(0usize, Instant::now())]));
    let until = Instant::now() + Duration::from_secs(seconds);
    let run = async {
        let tasks: Vec<_> = (0..students)
            .map(|i| {
                tokio::spawn(student(
                    server.addr,
                    student_key.clone(),
                    i,
                    until,
                    moves.clone(),
                    tally.clone(),
                ))
            })
            .collect();
        // The instructor moves through the deck, round and round.
        let mut connection = Connection::open(server.addr).await;
        let mut case = 0;
        let mut sequence = vec![0usize];
        while Instant::now() + CASE_EVERY < until {
            tokio::time::sleep(CASE_EVERY).await;
            case = (case + 1) % CASES;
            moves.lock().await.push((case, Instant::now()));
            let response = connection
                .send(
                    Method::PUT,
                    &format!("/api/v1/classroom/{teacher}/current"),
                    &[("content-type", "application/json")],
                    serde_json::to_vec(&json!({ "case": case })).unwrap(),
                )
                .await;
            assert_eq!(response.status(), 204);
            sequence.push(case);
        }
        let mut seen = Vec::new();
        for task in tasks {
            seen.push(task.await.unwrap());
        }
        (sequence, seen)
    };
    let (sequence, seen) = tokio::time::timeout(Duration::from_secs(seconds + 60), run)
        .await
        .expect("the load test finished within its deadline");

    let errors = tally.errors.load(Ordering::Relaxed);
    let posts = tally.posts.load(Ordering::Relaxed);
    let mut post_ms = tally.post_ms.lock().await.clone();
    let mut follow_ms = tally.follow_ms.lock().await.clone();
    post_ms.sort_by(f64::total_cmp);
    follow_ms.sort_by(f64::total_cmp);
    let missed = seen.iter().filter(|s| **s != sequence).count();
    // Every result is stored: one row per (student, case) posted to.
    let response = server
        .get(&format!("/api/v1/classroom/{teacher}/results"))
        .await;
    let summary = body_json(&response);
    let rows: u64 = summary["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["students"].as_u64().unwrap())
        .sum();
    let figures = json!({
        "students": students,
        "seconds": seconds,
        "posts": posts,
        "posts_per_s": posts as f64 / seconds as f64,
        "errors": errors,
        "case_changes": sequence.len() - 1,
        "students_missing_a_change": missed,
        "post_ms_p50": percentile(&post_ms, 50.0),
        "post_ms_p99": percentile(&post_ms, 99.0),
        "follow_ms_p50": percentile(&follow_ms, 50.0),
        "follow_ms_p99": percentile(&follow_ms, 99.0),
        "follow_ms_max": follow_ms.last().copied().unwrap_or(f64::NAN),
        "result_rows": rows,
    });
    println!("teaching load: {figures}");
    assert_eq!(errors, 0, "{figures}");
    assert_eq!(missed, 0, "every student sees every case change: {figures}");
    let expected = students as f64 * seconds as f64 / POST_EVERY.as_secs_f64();
    assert!(
        posts as f64 >= 0.9 * expected - students as f64,
        "{figures}"
    );
    assert!(rows >= students as u64, "{figures}");
    server.stop_and_clean().await;
}
