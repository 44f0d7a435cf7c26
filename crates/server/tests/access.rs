//! Access control over HTTP: with a token every private route refuses requests without a
//! session cookie or the Bearer token; signing in sets a strict cookie that signing out
//! and expiry end; a classroom key reads exactly its deck's content; cross-site writes are
//! refused with and without a token; short tokens never start a server.

mod support;

use std::time::Duration;

use hyper::body::Bytes;
use hyper::{Method, Response};
use serde_json::{Value, json};
use server::{ServerConfig, ServerError};
use support::{TestServer, fixture_image, json as body_json, variant};
use test_support::scans::Nifti1;

const TOKEN: &str = "correct-horse-battery-staple";
const BEARER: (&str, &str) = ("authorization", "Bearer correct-horse-battery-staple");

fn with_token(config: &mut ServerConfig) {
    config.token = Some(TOKEN.into());
}

fn assert_error(response: &Response<Bytes>, status: u16, code: &str, what: &str) {
    let body = body_json(response);
    assert_eq!(response.status().as_u16(), status, "{what}: {body}");
    assert_eq!(body["error"], code, "{what}: {body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{what}: {body}"
    );
}

/// `method path` with `headers` and a JSON body.
async fn send(
    server: &TestServer,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: &Value,
) -> Response<Bytes> {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    let bytes = if body.is_null() {
        Vec::new()
    } else {
        serde_json::to_vec(body).unwrap()
    };
    server.request(method, path, &all, bytes).await
}

/// A 32×32×4 uint8 NIfTI volume, every voxel different along a row.
fn small_volume() -> Vec<u8> {
    let voxels: Vec<u8> = (0..32 * 32 * 4).map(|i| (i % 251) as u8).collect();
    Nifti1 {
        dims: [32, 32, 4],
        ..Nifti1::default()
    }
    .file(&voxels)
}

/// Content stored with the token: (image, mask, volume, slice image of the volume).
struct Stored {
    image: String,
    mask: String,
    volume: String,
    slice: Value,
}

async fn store_content(server: &TestServer) -> Stored {
    let (status, image) = server.upload(fixture_image("nuclei.png"), &[BEARER]).await;
    assert_eq!(status, 200, "{image}");
    let mask = server
        .request(
            Method::POST,
            "/api/v1/masks",
            &[BEARER],
            fixture_image("nuclei_mask.png"),
        )
        .await;
    assert_eq!(mask.status(), 200);
    let (status, volume) = server.upload(small_volume(), &[BEARER]).await;
    assert_eq!(status, 200, "{volume}");
    let volume = volume["volume"]["id"].as_str().unwrap().to_string();
    let slice = send(
        server,
        Method::POST,
        &format!("/api/v1/volumes/{volume}/slices"),
        &[BEARER],
        &json!({"axis": "axial", "index": 1, "window": "minmax"}),
    )
    .await;
    assert_eq!(slice.status(), 200);
    Stored {
        image: image["id"].as_str().unwrap().to_string(),
        mask: body_json(&mask)["id"].as_str().unwrap().to_string(),
        volume,
        slice: body_json(&slice),
    }
}

/// A deck with one case, the slice of the volume with the nuclei mask as ground truth.
async fn create_deck(server: &TestServer, stored: &Stored) -> String {
    let case = json!({
        "image": stored.slice["id"],
        "volume": {"id": stored.volume, "axis": "axial", "index": 1, "window": "minmax"},
        "gt": stored.mask,
        "label": 1,
    });
    let deck = send(
        server,
        Method::POST,
        "/api/v1/decks",
        &[BEARER],
        &json!({"title": "Access", "cases": [case]}),
    )
    .await;
    assert_eq!(deck.status(), 201, "{}", body_json(&deck));
    body_json(&deck)["id"].as_str().unwrap().to_string()
}

/// The `name=value` part of the response's `Set-Cookie`.
fn cookie(response: &Response<Bytes>) -> String {
    let set = response.headers()["set-cookie"].to_str().unwrap();
    set.split(';').next().unwrap().to_string()
}

async fn sign_in(server: &TestServer, token: &str) -> Response<Bytes> {
    send(
        server,
        Method::POST,
        "/api/v1/auth/sign-in",
        &[],
        &json!({ "token": token }),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_token_every_private_route_needs_a_session_or_the_bearer_token() {
    let server = TestServer::fresh("access-private", with_token).await;
    let stored = store_content(&server).await;
    let deck = create_deck(&server, &stored).await;
    let slice = stored.slice["id"].as_str().unwrap();

    let reads = [
        "/metrics".to_string(),
        format!("/api/v1/images/{}", stored.image),
        format!("/api/v1/images/{slice}/embedding"),
        format!("/api/v1/masks/{}", stored.mask),
        format!("/api/v1/volumes/{}", stored.volume),
        "/api/v1/decks".to_string(),
        format!("/api/v1/decks/{deck}"),
        format!("/api/v1/decks/{deck}/export"),
    ];
    let writes = [
        (Method::POST, "/api/v1/images".to_string()),
        (Method::POST, "/api/v1/masks".to_string()),
        (
            Method::POST,
            format!("/api/v1/volumes/{}/slices", stored.volume),
        ),
        (Method::POST, "/api/v1/decks".to_string()),
        (Method::POST, "/api/v1/decks/import".to_string()),
        (Method::PUT, format!("/api/v1/decks/{deck}")),
        (Method::POST, format!("/api/v1/decks/{deck}/cases")),
        (Method::POST, "/api/v1/sessions".to_string()),
        (Method::GET, "/api/v1/no-such-route".to_string()),
    ];
    let anonymous: [&[(&str, &str)]; 3] = [
        &[],
        &[("cookie", "samscope_session=0123456789abcdef")],
        &[("authorization", "Basic Y29ycmVjdDpob3JzZQ==")],
    ];
    for headers in anonymous {
        for path in &reads {
            let response = server.request(Method::GET, path, headers, Vec::new()).await;
            assert_error(&response, 401, "unauthorized", path);
            assert!(response.headers().get("set-cookie").is_none());
        }
        for (method, path) in &writes {
            let response = send(&server, method.clone(), path, headers, &json!({})).await;
            assert_error(&response, 401, "unauthorized", path);
        }
    }

    // Public without credentials: the bundle's API needs, health, sign-in status.
    let models = server.get("/api/v1/models").await;
    assert_eq!(models.status(), 200);
    let decoder = body_json(&models)["models"][0]["decoder"]["url"]
        .as_str()
        .unwrap()
        .to_string();
    for public in ["/healthz", "/api/v1/models", decoder.as_str()] {
        assert_eq!(server.get(public).await.status(), 200, "{public}");
    }
    let status = server.get("/api/v1/auth").await;
    assert_eq!(status.headers()["cache-control"], "no-store");
    assert_eq!(
        body_json(&status),
        json!({"token_required": true, "signed_in": false})
    );

    // The Bearer token and a session cookie each open every read.
    let signed_in = sign_in(&server, TOKEN).await;
    assert_eq!(signed_in.status(), 204);
    let session = cookie(&signed_in);
    let session_header = [("cookie", session.as_str())];
    for credentials in [&[BEARER][..], &session_header[..]] {
        for path in &reads {
            let response = server
                .request(Method::GET, path, credentials, Vec::new())
                .await;
            assert_eq!(response.status(), 200, "{path}: {}", body_json(&response));
        }
        let status = server
            .request(Method::GET, "/api/v1/auth", credentials, Vec::new())
            .await;
        assert_eq!(body_json(&status)["signed_in"], true);
    }
    // … and every write, as the viewer makes them.
    let (status, uploaded) = server
        .upload(variant(&fixture_image("nuclei.png"), 9), &session_header)
        .await;
    assert_eq!(status, 200, "{uploaded}");
    server.stop_and_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_sets_a_strict_cookie_that_sign_out_and_expiry_end() {
    let server = TestServer::fresh("access-session", |c| {
        with_token(c);
        c.session_ttl = Duration::from_secs(1);
    })
    .await;
    let metrics = "/metrics";

    let wrong = sign_in(&server, "correct-horse-battery-stapler").await;
    assert_error(&wrong, 401, "unauthorized", "wrong token");
    assert!(wrong.headers().get("set-cookie").is_none());
    let malformed = server
        .request(
            Method::POST,
            "/api/v1/auth/sign-in",
            &[("content-type", "application/json")],
            b"{\"token\": 7}".to_vec(),
        )
        .await;
    assert_error(&malformed, 400, "bad_request", "malformed sign-in");

    let signed_in = sign_in(&server, TOKEN).await;
    assert_eq!(signed_in.status(), 204);
    let set = signed_in.headers()["set-cookie"].to_str().unwrap();
    let mut attributes: Vec<&str> = set.split("; ").skip(1).collect();
    attributes.sort_unstable();
    assert_eq!(
        attributes,
        [
            "HttpOnly",
            "Max-Age=1",
            "Path=/",
            "SameSite=Strict",
            "Secure"
        ]
    );
    let value = cookie(&signed_in);
    let id = value.strip_prefix("samscope_session=").unwrap();
    assert_eq!(id.len(), 64);
    assert!(!id.contains(TOKEN) && !TOKEN.contains(id));
    let session = [("cookie", value.as_str())];
    assert_eq!(
        server
            .request(Method::GET, metrics, &session, Vec::new())
            .await
            .status(),
        200
    );

    // Sign-out forgets the session on the server, not just in the browser.
    let out = send(
        &server,
        Method::POST,
        "/api/v1/auth/sign-out",
        &session,
        &Value::Null,
    )
    .await;
    assert_eq!(out.status(), 204);
    assert!(
        out.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .starts_with("samscope_session=; ")
    );
    assert!(
        out.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let after = server
        .request(Method::GET, metrics, &session, Vec::new())
        .await;
    assert_error(&after, 401, "unauthorized", "signed out");

    // A session ends after its lifetime.
    let value = cookie(&sign_in(&server, TOKEN).await);
    let session = [("cookie", value.as_str())];
    let read = server
        .request(Method::GET, metrics, &session, Vec::new())
        .await;
    assert_eq!(read.status(), 200);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let expired = server
        .request(Method::GET, metrics, &session, Vec::new())
        .await;
    assert_error(&expired, 401, "unauthorized", "expired");

    // Guessing is rate-limited server-wide: 429 with Retry-After, for a while even for
    // the right token.
    let mut limited = None;
    for n in 0..20 {
        let response = sign_in(&server, &format!("guess-{n:016}")).await;
        if response.status() == 429 {
            limited = Some(response);
            break;
        }
        assert_eq!(response.status(), 401);
    }
    let limited = limited.expect("20 wrong tokens in a row are rate-limited");
    assert_error(&limited, 429, "too_many_attempts", "guessing");
    assert_eq!(limited.headers()["retry-after"], "1");
    let bearer = server
        .request(Method::GET, metrics, &[BEARER], Vec::new())
        .await;
    assert_eq!(bearer.status(), 429);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sign_in(&server, TOKEN).await.status(), 204);
    server.stop_and_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_classroom_key_reads_its_decks_content_and_nothing_else() {
    let server = TestServer::fresh("access-classroom", with_token).await;
    let stored = store_content(&server).await;
    let deck = create_deck(&server, &stored).await;
    let started = send(
        &server,
        Method::POST,
        "/api/v1/sessions",
        &[BEARER],
        &json!({"deck": deck, "hours": 1}),
    )
    .await;
    assert_eq!(started.status(), 201);
    let links = body_json(&started);
    let slice = stored.slice["id"].as_str().unwrap().to_string();

    for key in ["student_key", "instructor_key"] {
        let key = links[key].as_str().unwrap();
        let class = [("x-samscope-classroom", key)];
        let get = |path: String| {
            let server = &server;
            async move { server.request(Method::GET, &path, &class, Vec::new()).await }
        };
        // Its deck's image (a slice), embedding, mask and volume.
        for path in [
            format!("/api/v1/images/{slice}"),
            format!("/api/v1/images/{slice}/embedding"),
            format!("/api/v1/masks/{}", stored.mask),
            format!("/api/v1/volumes/{}", stored.volume),
        ] {
            let response = get(path.clone()).await;
            assert_eq!(response.status(), 200, "{path}: {}", body_json(&response));
        }
        // Another slice of the deck's volume, rendered for this session, then readable.
        let other = send(
            &server,
            Method::POST,
            &format!("/api/v1/volumes/{}/slices", stored.volume),
            &class,
            &json!({"axis": "axial", "index": 3, "window": "minmax"}),
        )
        .await;
        assert_eq!(other.status(), 200, "{}", body_json(&other));
        let other = body_json(&other)["id"].as_str().unwrap().to_string();
        assert_ne!(other, slice);
        assert_eq!(get(format!("/api/v1/images/{other}")).await.status(), 200);

        // Nothing else: another image, the deck list, the deck, uploads.
        for path in [
            format!("/api/v1/images/{}", stored.image),
            format!("/api/v1/images/{}/embedding", stored.image),
            format!("/api/v1/masks/{}", stored.image),
            "/api/v1/decks".to_string(),
            format!("/api/v1/decks/{deck}"),
            format!("/api/v1/decks/{deck}/export"),
            "/metrics".to_string(),
        ] {
            assert_error(&get(path.clone()).await, 401, "unauthorized", &path);
        }
        let upload = server
            .request(
                Method::POST,
                "/api/v1/images",
                &class,
                fixture_image("retina.png"),
            )
            .await;
        assert_error(&upload, 401, "unauthorized", "upload with a classroom key");
    }

    // A made-up key, and a slice rendered for the session, read without its key.
    let fake = "0".repeat(48);
    let with_fake = [("x-samscope-classroom", fake.as_str())];
    let response = server
        .request(
            Method::GET,
            &format!("/api/v1/images/{slice}"),
            &with_fake,
            Vec::new(),
        )
        .await;
    assert_error(&response, 401, "unauthorized", "made-up key");
    server.stop_and_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_writes_are_refused_in_both_modes_and_api_clients_pass() {
    let open = TestServer::fresh("access-cross-site", |_| {}).await;
    let own = format!("http://{}", open.addr);
    let png = || variant(&fixture_image("nuclei.png"), 3);
    let upload = |headers: Vec<(&'static str, String)>| {
        let server = &open;
        let body = png();
        async move {
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
            server
                .request(Method::POST, "/api/v1/images", &headers, body)
                .await
        }
    };
    for (what, headers) in [
        (
            "foreign Origin",
            vec![("origin", "https://evil.example".to_string())],
        ),
        ("Origin null", vec![("origin", "null".to_string())]),
        (
            "Sec-Fetch-Site cross-site",
            vec![("sec-fetch-site", "cross-site".to_string())],
        ),
        (
            "same origin but cross-site fetch",
            vec![
                ("origin", own.clone()),
                ("sec-fetch-site", "same-site".to_string()),
            ],
        ),
    ] {
        assert_error(&upload(headers).await, 403, "cross_site", what);
    }
    // A text/plain deck import, the form a page could send without a preflight.
    let import = open
        .request(
            Method::POST,
            "/api/v1/decks/import",
            &[
                ("content-type", "text/plain"),
                ("origin", "http://attacker.example"),
            ],
            b"{}".to_vec(),
        )
        .await;
    assert_error(&import, 403, "cross_site", "cross-site import");
    // Reads from anywhere are not writes.
    let health = open
        .request(
            Method::GET,
            "/healthz",
            &[("sec-fetch-site", "cross-site")],
            Vec::new(),
        )
        .await;
    assert_eq!(health.status(), 200);
    // API clients (no Origin, no Sec-Fetch-Site) and the server's own pages pass.
    assert_eq!(upload(vec![]).await.status(), 200);
    let same = upload(vec![
        ("origin", own.clone()),
        ("sec-fetch-site", "same-origin".to_string()),
    ])
    .await;
    assert_eq!(same.status(), 200, "{}", body_json(&same));
    open.stop_and_clean().await;

    // With a token, a cross-site sign-in with the right token sets no cookie.
    let private = TestServer::fresh("access-cross-site-token", with_token).await;
    let response = send(
        &private,
        Method::POST,
        "/api/v1/auth/sign-in",
        &[("origin", "https://evil.example")],
        &json!({ "token": TOKEN }),
    )
    .await;
    assert_error(&response, 403, "cross_site", "cross-site sign-in");
    assert!(response.headers().get("set-cookie").is_none());
    private.stop_and_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_tokens_never_start_a_server() {
    let dir = support::scratch_dir("access-short-token");
    for token in ["x", "fifteen-chars-x"] {
        let config = ServerConfig {
            token: Some(token.into()),
            ..ServerConfig::new("127.0.0.1:0".parse().unwrap(), &dir)
        };
        let refused = server::Server::bind(config, vec![support::loaded_model()]).await;
        match refused {
            Err(ServerError::ShortToken { chars, min: 16 }) => assert_eq!(chars, token.len()),
            other => panic!("{token}: {other:?}"),
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// A browser uploading without signing in must read the 401 that tells it to sign in: the
/// server reads (and drops) the refused body instead of closing the connection under the
/// client's feet, which the client sees as a reset connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_upload_is_answered_401_not_reset_while_its_body_is_sent() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::fresh("access-drain", with_token).await;
    let body = vec![0x5au8; 8 << 20];
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "POST /api/v1/images HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    tokio::time::timeout(Duration::from_secs(30), stream.write_all(&body))
        .await
        .expect("the body is taken within 30 s")
        .expect("the server reads the refused body instead of resetting the connection");
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    while !String::from_utf8_lossy(&answer).contains("unauthorized") {
        let read = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buffer))
            .await
            .expect("the answer comes within 30 s")
            .expect("the connection is not reset");
        assert!(
            read > 0,
            "closed before the 401: {}",
            String::from_utf8_lossy(&answer)
        );
        answer.extend_from_slice(&buffer[..read]);
    }
    assert!(
        String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 401"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    server.stop().await;
}
