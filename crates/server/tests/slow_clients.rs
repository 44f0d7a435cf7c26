//! Slow clients on loopback: bodies that trickle in do not hold the upload slots (a real
//! upload goes through while they are still sending, and they get 408 once the body
//! timeout passes), and teaching event streams are capped per session and per server.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};
use support::{TestServer, fixture_image};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};

/// No raw exchange here waits longer than this.
const PATIENCE: Duration = Duration::from_secs(30);

/// Status line and JSON body of a raw response (`Null` when the body is not JSON).
fn parse_response(raw: &[u8]) -> (u16, Value) {
    let text = String::from_utf8_lossy(raw);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {text:?}"));
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// An upload that announces 50 000 bytes, sends 16 and then one more every 100 ms; the
/// response the server gives (status, JSON body) and when it came.
async fn trickle(addr: SocketAddr) -> (u16, Value, Instant) {
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    let head = format!(
        "POST /api/v1/images HTTP/1.1\r\nhost: {addr}\r\ncontent-type: image/png\r\ncontent-length: 50000\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
        .write_all(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR")
        .await
        .unwrap();
    let deadline = Instant::now() + PATIENCE;
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        tokio::select! {
            biased;
            read = stream.read(&mut buffer) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            },
            () = tokio::time::sleep(Duration::from_millis(100)), if received.is_empty() => {
                // The server may have stopped reading; what it answered is read above.
                let _ = stream.write_all(b"\0").await;
            }
            () = tokio::time::sleep_until(deadline) => panic!("no answer to a trickled upload"),
        }
    }
    let at = Instant::now();
    let (status, body) = parse_response(&received);
    (status, body, at)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn trickled_bodies_hold_no_upload_slot_and_time_out() {
    let server = TestServer::fresh("trickle", |config| {
        config.limits.max_concurrent_uploads = 4;
        config.limits.body_timeout = Duration::from_secs(5);
    })
    .await;
    let tricklers: Vec<_> = (0..4).map(|_| tokio::spawn(trickle(server.addr))).collect();
    // Every trickler has sent its headers and is inside the upload route.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, body) = server.upload(fixture_image("nuclei.png"), &[]).await;
    let uploaded = Instant::now();
    assert_eq!(status, 200, "{body}");
    assert!(
        tricklers.iter().all(|t| !t.is_finished()),
        "the real upload finished while all four trickling clients were still sending"
    );
    for trickler in tricklers {
        let (status, body, at) = trickler.await.unwrap();
        assert_eq!(status, 408, "{body}");
        assert_eq!(body["error"], "body_timeout", "{body}");
        assert!(at > uploaded);
    }

    // A body announced over the limit is refused before any of it is read.
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "POST /api/v1/images HTTP/1.1\r\nhost: {}\r\ncontent-length: 1000000000\r\nconnection: close\r\n\r\n",
        server.addr
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    timeout(PATIENCE, stream.read_to_end(&mut raw))
        .await
        .expect("answered")
        .ok();
    let (status, body) = parse_response(&raw);
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"], "too_large");
    server.stop_and_clean().await;
}

/// An open event stream on its own raw connection, or the refusal (status, JSON body).
async fn open_events(addr: SocketAddr, key: &str) -> Result<TcpStream, (u16, Value)> {
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    let head = format!(
        "GET /api/v1/classroom/{key}/events HTTP/1.1\r\nhost: {addr}\r\naccept: text/event-stream\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    let head_end = loop {
        if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        read_more(&mut stream, &mut received).await;
    };
    let head = String::from_utf8_lossy(&received[..head_end]).to_ascii_lowercase();
    if head.starts_with("http/1.1 200") {
        return Ok(stream);
    }
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("a refusal has a length");
    while received.len() < head_end + length {
        read_more(&mut stream, &mut received).await;
    }
    Err(parse_response(&received))
}

/// Appends what arrives next on `stream` to `received` (at least a byte).
async fn read_more(stream: &mut TcpStream, received: &mut Vec<u8>) {
    let mut buffer = [0u8; 4096];
    let n = timeout(PATIENCE, stream.read(&mut buffer))
        .await
        .expect("the server answers")
        .unwrap();
    assert!(n > 0, "the connection closed before the whole response");
    received.extend_from_slice(&buffer[..n]);
}

/// Starts a session on a one-case deck; returns its student key.
async fn student_key(server: &TestServer, image: &str) -> String {
    let deck = server
        .post_created(
            "/api/v1/decks",
            json!({"title": "Caps", "cases": [{"title": "one", "image": image}]}),
        )
        .await;
    let links = server
        .post_created("/api/v1/sessions", json!({"deck": deck["id"]}))
        .await;
    links["student_key"].as_str().unwrap().to_string()
}

fn refused(result: Result<TcpStream, (u16, Value)>, cap: &str) {
    match result {
        Ok(_) => panic!("a stream over the {cap} cap was accepted"),
        Err((status, body)) => {
            assert_eq!(status, 503, "{body}");
            assert_eq!(body["error"], "too_many_streams", "{body}");
            assert!(body["detail"].as_str().unwrap().contains(cap), "{body}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn event_streams_are_capped_per_session_and_per_server() {
    let server = TestServer::fresh("streams", |config| {
        config.limits.max_event_streams = 3;
        config.limits.max_session_streams = 2;
    })
    .await;
    let (status, image) = server.upload(fixture_image("nuclei.png"), &[]).await;
    assert_eq!(status, 200, "{image}");
    let image = image["id"].as_str().unwrap();
    let (a, b) = (
        student_key(&server, image).await,
        student_key(&server, image).await,
    );
    let a1 = open_events(server.addr, &a).await.expect("first stream");
    let _a2 = open_events(server.addr, &a).await.expect("second stream");
    refused(open_events(server.addr, &a).await, "session");
    let _b1 = open_events(server.addr, &b).await.expect("another session");
    refused(open_events(server.addr, &b).await, "server");

    // A client that goes away gives its place back.
    drop(a1);
    let deadline = Instant::now() + PATIENCE;
    let _a3 = loop {
        match open_events(server.addr, &a).await {
            Ok(stream) => break stream,
            Err((503, _)) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(other) => panic!("the place of a closed stream never came back: {other:?}"),
        }
    };
    refused(open_events(server.addr, &b).await, "server");
    server.stop_and_clean().await;
}

/// Upload bodies share one memory budget (`--receive-memory`): while one client holds
/// most of it with a body it stopped sending, a real upload waits (it is not refused and
/// nothing grows past the budget), `/metrics` shows the memory held, and the upload goes
/// through once the stalled body times out and gives its memory back.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bodies_in_memory_stay_within_the_receive_budget() {
    const LIMIT: usize = 1 << 20;
    let server = TestServer::fresh("receive-budget", |config| {
        config.limits.max_upload_bytes = LIMIT;
        config.limits.receive_memory = LIMIT as u64;
        config.limits.body_timeout = Duration::from_secs(4);
    })
    .await;
    // Announces a megabyte, sends 900 kB of it, then stalls.
    let mut hog = TcpStream::connect(server.addr).await.expect("connects");
    let head = format!(
        "POST /api/v1/images HTTP/1.1\r\nhost: {}\r\ncontent-length: {LIMIT}\r\n\r\n",
        server.addr
    );
    hog.write_all(head.as_bytes()).await.unwrap();
    hog.write_all(&vec![0u8; 900_000]).await.unwrap();
    let hog_answer = tokio::spawn(async move {
        let mut received = Vec::new();
        let mut buffer = [0u8; 4096];
        let mut answered = None;
        loop {
            match timeout(PATIENCE, hog.read(&mut buffer)).await {
                Ok(Ok(0)) | Ok(Err(_)) => break,
                Ok(Ok(n)) => {
                    answered.get_or_insert_with(Instant::now);
                    received.extend_from_slice(&buffer[..n]);
                }
                Err(_) => panic!("no answer to the stalled body"),
            }
        }
        (parse_response(&received), answered.expect("an answer"))
    });
    // Well inside the body timeout, so the upload below still has time left when the
    // stalled body's runs out.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let metrics = String::from_utf8(server.get("/metrics").await.body().to_vec()).unwrap();
    let held: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("samscope_receive_memory_bytes "))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no receive memory in /metrics:\n{metrics}"));
    assert!(
        (900_000..=LIMIT as u64).contains(&held),
        "the stalled body holds what it sent: {held}"
    );
    // 158 kB do not fit beside it: the upload waits for the stalled body to time out.
    let (status, body) = server.upload(fixture_image("nuclei.png"), &[]).await;
    let uploaded = Instant::now();
    assert_eq!(status, 200, "{body}");
    let ((hog_status, hog_body), hog_done) = hog_answer.await.unwrap();
    assert_eq!(hog_status, 408, "{hog_body}");
    assert_eq!(hog_body["error"], "body_timeout");
    assert!(
        hog_done <= uploaded,
        "the upload went through only after the stalled body gave its memory back"
    );
    server.stop_and_clean().await;
}
