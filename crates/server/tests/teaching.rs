//! Decks and teaching sessions end to end over HTTP: deck checks, export and import
//! between two servers, capability keys (a student link never acts as the instructor),
//! live following over server-sent events, results reaching the instructor, expiry.

mod support;

use std::time::{Duration, Instant};

use hyper::Method;
use serde_json::{Value, json};
use support::{EventStream, TestServer, fixture_image, json as body_json};

const TOKEN: &str = "teacher-token-0123456789";
const AUTH: (&str, &str) = ("authorization", "Bearer teacher-token-0123456789");

async fn send(server: &TestServer, method: Method, path: &str, body: Value) -> (u16, Value) {
    let response = server
        .request(
            method,
            path,
            &[AUTH, ("content-type", "application/json")],
            serde_json::to_vec(&body).unwrap(),
        )
        .await;
    (response.status().as_u16(), body_json(&response))
}

/// `GET path` with the server token.
async fn get(server: &TestServer, path: &str) -> hyper::Response<hyper::body::Bytes> {
    server.request(Method::GET, path, &[AUTH], Vec::new()).await
}

/// A request without the server token (what a student's browser sends).
async fn send_open(server: &TestServer, method: Method, path: &str, body: Value) -> (u16, Value) {
    let response = server
        .request(
            method,
            path,
            &[("content-type", "application/json")],
            serde_json::to_vec(&body).unwrap(),
        )
        .await;
    (response.status().as_u16(), body_json(&response))
}

fn assert_error(got: (u16, Value), status: u16, code: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["error"], code, "{}", got.1);
    assert!(got.1["detail"].as_str().is_some_and(|d| !d.is_empty()));
}

/// Uploads the nuclei fixture and a mask; returns (image id, mask id).
async fn upload_case_files(server: &TestServer) -> (String, String) {
    let (status, image) = server.upload(fixture_image("nuclei.png"), &[AUTH]).await;
    assert_eq!(status, 200, "{image}");
    let mask = fixture_image("nuclei_mask.png");
    let response = server
        .request(Method::POST, "/api/v1/masks", &[AUTH], mask)
        .await;
    assert_eq!(response.status(), 200);
    (
        image["id"].as_str().unwrap().to_string(),
        body_json(&response)["id"].as_str().unwrap().to_string(),
    )
}

fn case(image: &str, gt: &str, title: &str) -> Value {
    json!({
        "title": title,
        "image": image,
        "gt": gt,
        "label": 1,
        "steps": [{"action": {"kind": "box", "x0": 173.0, "y0": 131.0, "x1": 214.0, "y1": 162.0}}],
        "notes": "Look at the **boundary** between touching nuclei."
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decks_are_checked_exported_and_imported() {
    let server = TestServer::fresh("decks", |c| c.token = Some(TOKEN.into())).await;
    let (image, mask) = upload_case_files(&server).await;

    // Writes and reads need the server token.
    let deck = json!({"title": "Nuclei", "cases": [case(&image, &mask, "one")]});
    assert_error(
        send_open(&server, Method::POST, "/api/v1/decks", deck.clone()).await,
        401,
        "unauthorized",
    );
    let (status, created) = send(&server, Method::POST, "/api/v1/decks", deck).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(
        created["cases"][0]["notes"],
        case(&image, &mask, "one")["notes"]
    );

    // Bad decks get a reason naming the problem.
    let missing = json!({"title": "x", "cases": [case(&"0".repeat(64), &mask, "gone")]});
    let got = send(&server, Method::POST, "/api/v1/decks", missing).await;
    assert_error(got.clone(), 422, "invalid");
    assert!(
        got.1["detail"]
            .as_str()
            .unwrap()
            .contains("not on this server")
    );
    let stray = json!({"title": "x", "cases": [], "patient_name": "Doe^Jane"});
    assert_error(
        send(&server, Method::POST, "/api/v1/decks", stray).await,
        400,
        "bad_request",
    );
    // A window no slice could be stored with: 400 naming the case (was 500 later).
    for window in [
        json!({"center": 1e308, "width": 1e308}),
        json!("1e308,1e308"),
    ] {
        let volume = json!({"id": "a".repeat(64), "axis": "axial", "index": 0, "window": window});
        let unstorable = json!({"title": "x", "cases": [{"image": image, "volume": volume}]});
        let got = send(&server, Method::POST, "/api/v1/decks", unstorable).await;
        assert_error(got.clone(), 400, "bad_request");
        assert!(
            got.1["detail"].as_str().unwrap().contains("case 0"),
            "{}",
            got.1
        );
    }
    let unknown_model = json!({"title": "x", "cases": [{"image": image, "model": "vit_z"}]});
    assert_error(
        send(&server, Method::POST, "/api/v1/decks", unknown_model).await,
        404,
        "unknown_model",
    );
    assert_error(
        send(
            &server,
            Method::GET,
            &format!("/api/v1/decks/{}", "f".repeat(32)),
            Value::Null,
        )
        .await,
        404,
        "deck_not_found",
    );

    // "Add this view to a deck".
    let (status, added) = send(
        &server,
        Method::POST,
        &format!("/api/v1/decks/{id}/cases"),
        case(&image, &mask, "two"),
    )
    .await;
    assert_eq!(
        (status, added["position"].as_u64()),
        (201, Some(1)),
        "{added}"
    );
    assert_error(
        send_open(&server, Method::GET, "/api/v1/decks", Value::Null).await,
        401,
        "unauthorized",
    );
    let (status, listed) = send(&server, Method::GET, "/api/v1/decks", Value::Null).await;
    assert_eq!(status, 200);
    assert_eq!(listed["decks"][0]["cases"], 2);

    // Export from this server, import into a fresh one: same cases, same pixels.
    let export = get(&server, &format!("/api/v1/decks/{id}/export")).await;
    assert_eq!(export.status(), 200);
    let file = export.body().to_vec();
    let other = TestServer::fresh("decks-import", |c| c.token = Some(TOKEN.into())).await;
    let response = other
        .request(Method::POST, "/api/v1/decks/import", &[AUTH], file.clone())
        .await;
    assert_eq!(response.status(), 201, "{}", body_json(&response));
    let imported = body_json(&response);
    assert_ne!(imported["id"], created["id"]);
    let (_, original) = send(
        &server,
        Method::GET,
        &format!("/api/v1/decks/{id}"),
        Value::Null,
    )
    .await;
    assert_eq!(imported["cases"], original["cases"]);
    let png_here = get(&server, &format!("/api/v1/images/{image}")).await;
    let png_there = get(&other, &format!("/api/v1/images/{image}")).await;
    assert_eq!(png_there.status(), 200);
    assert_eq!(png_here.body(), png_there.body());
    let mask_there = get(&other, &format!("/api/v1/masks/{mask}")).await;
    assert_eq!(mask_there.status(), 200);

    // A tampered deck file is refused and stores nothing under the claimed id.
    let mut tampered: Value = serde_json::from_slice(&file).unwrap();
    let (key, _) = tampered["masks"]
        .as_object()
        .unwrap()
        .iter()
        .next()
        .unwrap();
    let key = key.clone();
    tampered["masks"][&key] = json!("AAAA");
    let response = other
        .request(
            Method::POST,
            "/api/v1/decks/import",
            &[AUTH],
            serde_json::to_vec(&tampered).unwrap(),
        )
        .await;
    assert_eq!(response.status(), 422);
    assert!(
        body_json(&response)["detail"]
            .as_str()
            .unwrap()
            .contains("does not match")
    );
    other.stop_and_clean().await;
    server.stop_and_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn students_follow_and_only_the_instructor_leads() {
    let server = TestServer::fresh("classroom", |c| c.token = Some(TOKEN.into())).await;
    let (image, mask) = upload_case_files(&server).await;
    let deck =
        json!({"title": "Nuclei", "cases": [case(&image, &mask, "a"), case(&image, &mask, "b")]});
    let (_, created) = send(&server, Method::POST, "/api/v1/decks", deck).await;
    let deck_id = created["id"].as_str().unwrap();

    let start = json!({"deck": deck_id, "hours": 2});
    assert_error(
        send_open(&server, Method::POST, "/api/v1/sessions", start.clone()).await,
        401,
        "unauthorized",
    );
    let (status, links) = send(&server, Method::POST, "/api/v1/sessions", start).await;
    assert_eq!(status, 201, "{links}");
    let teacher = links["instructor_key"].as_str().unwrap().to_string();
    let student = links["student_key"].as_str().unwrap().to_string();
    assert_eq!(links["student_link"], format!("/#join={student}"));
    assert_ne!(teacher, student);
    let at = |key: &str, rest: &str| format!("/api/v1/classroom/{key}{rest}");

    // Both keys open the session, each with its role; nothing else does.
    let (status, view) = send_open(&server, Method::GET, &at(&student, ""), Value::Null).await;
    assert_eq!((status, view["role"].as_str()), (200, Some("student")));
    assert_eq!(view["cases"].as_array().unwrap().len(), 2);
    let (_, view) = send_open(&server, Method::GET, &at(&teacher, ""), Value::Null).await;
    assert_eq!(view["role"], "instructor");
    assert_error(
        send_open(&server, Method::GET, &at(&"0".repeat(48), ""), Value::Null).await,
        404,
        "session_not_found",
    );
    assert_error(
        send_open(&server, Method::GET, &at("not-a-key", ""), Value::Null).await,
        404,
        "session_not_found",
    );

    // The student link is refused on every instructor route.
    for (method, rest, body) in [
        (Method::PUT, "/current", json!({"case": 1})),
        (Method::PUT, "/reveal", json!({"case": 1, "revealed": true})),
        (Method::GET, "/results", Value::Null),
    ] {
        assert_error(
            send_open(&server, method, &at(&student, rest), body).await,
            403,
            "instructor_only",
        );
    }

    // The student follows a case change within a second.
    let mut follower = EventStream::open(server.addr, &at(&student, "/events")).await;
    assert_eq!(follower.status, 200);
    let (name, state) = follower.next(Duration::from_secs(5)).await.unwrap();
    assert_eq!(
        (name.as_str(), state["current"].as_u64()),
        ("state", Some(0))
    );
    let mut instructor = EventStream::open(server.addr, &at(&teacher, "/events")).await;
    let moved = Instant::now();
    let (status, _) = send_open(
        &server,
        Method::PUT,
        &at(&teacher, "/current"),
        json!({"case": 1}),
    )
    .await;
    assert_eq!(status, 204);
    let (name, state) = follower
        .next(Duration::from_secs(1))
        .await
        .expect("followed within 1 s");
    assert_eq!(
        (name.as_str(), state["current"].as_u64()),
        ("state", Some(1))
    );
    let follow_ms = moved.elapsed().as_secs_f64() * 1e3;
    assert!(follow_ms < 1000.0, "followed after {follow_ms} ms");

    // The student's Dice reaches the instructor's stream and results.
    let result =
        json!({"student": "tab-0123456789", "case": 1, "dice": 0.8125, "iou": 0.684, "clicks": 2});
    let (status, _) = send_open(&server, Method::POST, &at(&student, "/results"), result).await;
    assert_eq!(status, 204);
    let deadline = Instant::now() + Duration::from_secs(5);
    let summary = loop {
        let (name, data) = instructor
            .next(Duration::from_secs(5))
            .await
            .expect("instructor events");
        if name == "results" && data["cases"][1]["students"] == 1 {
            break data;
        }
        assert!(Instant::now() < deadline, "no results event");
    };
    assert_eq!(summary["cases"][1]["dice"], json!([0.8125]));
    assert_eq!(summary["cases"][1]["mean_clicks"], 2.0);
    let (_, results) =
        send_open(&server, Method::GET, &at(&teacher, "/results"), Value::Null).await;
    assert_eq!(results["cases"][1]["median_dice"], 0.8125);

    // Bad results get a reason; the instructor's link posts none.
    for (body, code) in [
        (
            json!({"student": "tab-0123456789", "case": 5, "dice": 0.5, "iou": 0.5, "clicks": 1}),
            "invalid",
        ),
        (
            json!({"student": "tab-0123456789", "case": 0, "dice": 1.5, "iou": 0.5, "clicks": 1}),
            "invalid",
        ),
        (
            json!({"student": "x", "case": 0, "dice": 0.5, "iou": 0.5, "clicks": 1}),
            "invalid",
        ),
        (
            json!({"student": "tab-0123456789", "case": 0}),
            "bad_request",
        ),
    ] {
        let got = send_open(&server, Method::POST, &at(&student, "/results"), body).await;
        assert_eq!(got.1["error"], code, "{}", got.1);
    }
    let by_teacher =
        json!({"student": "teacher-tab-01", "case": 0, "dice": 1.0, "iou": 1.0, "clicks": 1});
    assert_error(
        send_open(&server, Method::POST, &at(&teacher, "/results"), by_teacher).await,
        422,
        "invalid",
    );

    // Reveal reaches the student.
    let (status, _) = send_open(
        &server,
        Method::PUT,
        &at(&teacher, "/reveal"),
        json!({"case": 1, "revealed": true}),
    )
    .await;
    assert_eq!(status, 204);
    let (name, state) = follower.next(Duration::from_secs(1)).await.unwrap();
    assert_eq!(
        (name.as_str(), state["revealed"].clone()),
        ("state", json!([1]))
    );

    // Three more students: the summary is over all four (an even count: the median is the
    // mean of the middle two), and each Dice lands in its own tenth of the histogram.
    for (tab, dice, iou, clicks) in [
        ("tab-1111111111", 0.25, 0.25, 1),
        ("tab-2222222222", 0.5, 0.5, 3),
        ("tab-3333333333", 0.9375, 0.875, 4),
    ] {
        let result = json!({"student": tab, "case": 1, "dice": dice, "iou": iou, "clicks": clicks});
        let (status, _) = send_open(&server, Method::POST, &at(&student, "/results"), result).await;
        assert_eq!(status, 204);
    }
    let (_, results) =
        send_open(&server, Method::GET, &at(&teacher, "/results"), Value::Null).await;
    let case = &results["cases"][1];
    assert_eq!(case["students"], 4);
    assert_eq!(case["dice"], json!([0.25, 0.5, 0.8125, 0.9375]));
    assert_eq!(case["median_dice"], (0.5 + 0.8125) / 2.0);
    assert_eq!(case["mean_dice"], (0.25 + 0.5 + 0.8125 + 0.9375) / 4.0);
    assert_eq!(case["mean_clicks"], (2 + 1 + 3 + 4) as f64 / 4.0);
    let mean_iou = case["mean_iou"].as_f64().unwrap();
    assert!(
        (mean_iou - (0.684 + 0.25 + 0.5 + 0.875) / 4.0).abs() < 1e-12,
        "{case}"
    );
    assert_eq!(case["histogram"], json!([0, 0, 1, 0, 0, 1, 0, 0, 1, 1]));
    assert_eq!(results["cases"][0]["students"], 0);
    assert_eq!(
        results["cases"][0]["histogram"],
        json!([0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    );

    // Once expired, every route answers 410 (the stored row is what counts).
    let db = rusqlite::Connection::open(server.data_dir.join("teaching.sqlite")).unwrap();
    db.execute("UPDATE sessions SET expires_at = 1", [])
        .unwrap();
    assert_error(
        send_open(&server, Method::GET, &at(&student, ""), Value::Null).await,
        410,
        "session_expired",
    );
    assert_error(
        send_open(
            &server,
            Method::PUT,
            &at(&teacher, "/current"),
            json!({"case": 0}),
        )
        .await,
        410,
        "session_expired",
    );
    // The keys are in no file of the data directory (database and its log included).
    for name in ["teaching.sqlite", "teaching.sqlite-wal"] {
        let raw = std::fs::read(server.data_dir.join(name)).unwrap_or_default();
        let text = String::from_utf8_lossy(&raw);
        assert!(
            !text.contains(&teacher) && !text.contains(&student),
            "{name}"
        );
    }
    server.stop_and_clean().await;
}
