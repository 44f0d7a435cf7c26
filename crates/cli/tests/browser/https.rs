//! A GPU host as a remote user meets it: HTTPS with a self-signed certificate, a token,
//! the viewer signing in through its panel, WebGPU (only offered to a secure context),
//! a teaching session, and a student who is not signed in.

use super::support::serve::Server;
use serde_json::json;

use super::*;

/// The server's token (16 characters or more).
const TOKEN: &str = "gpu-host-token-0123456789";
/// The name the certificate is made for; Chromium maps it to 127.0.0.1.
const HOST: &str = "samscope.test";

/// The SPKI hash (base64 of the SHA-256 of the certificate's public key) that
/// `--tls-self-signed` writes next to the certificate it keeps in the data directory.
fn spki_hash(data: &Path) -> String {
    let file = data.join("tls/cert.spki-sha256");
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let hash = text.trim().to_string();
    assert_eq!(hash.len(), 44, "{}: {text:?}", file.display());
    hash
}

/// The status of `fetch(path)` in `page`, with `headers` (a JS object literal), asked of
/// the server (not the browser's cache).
fn status(browser: &mut Browser, page: &Page, path: &str, headers: &str) -> Value {
    browser.eval(
        page,
        &format!("fetch('{path}', {{headers: {headers}, cache: 'no-store'}}).then(r => r.status)"),
    )
}

/// Console errors other than the refusals this test asked for (a 401 is logged as a
/// failed resource load): a Content-Security-Policy violation would stay.
fn unexpected_errors(browser: &mut Browser, page: &Page) -> Vec<String> {
    browser
        .console_errors(page)
        .into_iter()
        .filter(|e| !e.contains("status of 401"))
        .collect()
}

/// `samscope serve --token … --tls-self-signed samscope.test` opened at
/// `https://samscope.test:PORT`: the page signs in through its panel (a wrong token is
/// refused and the panel stays), uploads a scan, decodes on WebGPU, adds the view to a deck
/// (with its ground truth) and starts a session; a student in a fresh, signed-out browser
/// context opens the student link (scan, mask and embedding read with the link's key),
/// decodes and posts a result, and cannot read the deck list or an image the
/// session does not show; signing out ends the instructor's access.
#[test]
fn a_remote_instructor_signs_in_over_https_and_a_signed_out_student_joins() {
    let server = Server::start_with(
        Some(&web_dir()),
        &["--token", TOKEN, "--tls-self-signed", HOST],
    );
    let spki = spki_hash(&server.data.0);
    let origin = format!("https://{HOST}:{}", server.port);
    let mut browser = Browser::launch_with(
        true,
        &[
            format!("--host-resolver-rules=MAP {HOST} 127.0.0.1"),
            format!("--ignore-certificate-errors-spki-list={spki}"),
        ],
    );
    let nuclei = fixtures().join("images/nuclei.png");
    let retina = fixtures().join("images/retina.png");

    let teacher = browser.open(&format!("{origin}/?backend=webgpu"), None);
    wait_ready(&mut browser, &teacher);
    // WebGPU exists only in a secure context: the certificate was trusted.
    assert_eq!(
        browser.eval(&teacher, "window.isSecureContext && !!navigator.gpu"),
        json!(true)
    );
    let first = state(&mut browser, &teacher);
    assert_eq!(first["backend"], "webgpu", "{first}");
    assert_eq!(first["auth"]["token_required"], true, "{first}");
    assert_eq!(first["auth"]["signed_in"], false, "{first}");
    // No inline script: the page runs under `script-src 'self'`.
    assert_eq!(
        browser.eval(
            &teacher,
            "document.querySelectorAll('script:not([src])').length"
        ),
        json!(0)
    );

    // The upload gets 401: the sign-in panel asks for the token.
    browser.set_file(&teacher, "#scan-file", &nuclei);
    browser.wait_for(
        &teacher,
        "!document.getElementById('sign-in').hidden",
        Duration::from_secs(60),
    );
    let submit = |browser: &mut Browser, token: &str| {
        browser.eval(
            &teacher,
            &format!(
                "document.getElementById('sign-in-token').value = '{token}'; \
                 document.getElementById('sign-in').requestSubmit(); true"
            ),
        );
    };
    submit(&mut browser, "not-the-token-of-this-server");
    browser.wait_for(
        &teacher,
        "document.getElementById('sign-in-message').textContent.includes('refused')",
        Duration::from_secs(30),
    );
    assert_eq!(
        browser.eval(&teacher, "document.getElementById('sign-in').hidden"),
        json!(false),
        "the panel stays after a wrong token"
    );
    submit(&mut browser, TOKEN);
    // Signed in, the upload is sent again and the scan's embedding arrives.
    browser.wait_for(
        &teacher,
        "(s => s.auth.signed_in && s.embedding_ready)(JSON.parse(window.samscopeState()))",
        Duration::from_secs(300),
    );
    assert_eq!(
        browser.eval(
            &teacher,
            "[document.getElementById('sign-in').hidden, document.getElementById('sign-out').hidden, \
             document.getElementById('sign-in-token').value, document.cookie, location.href.includes('token')]"
        ),
        json!([true, false, "", "", false]),
        "panel closed, sign-out offered, the token neither kept in the page nor readable as a cookie"
    );
    let nuclei_id = image_id(&mut browser, &teacher);
    browser.set_file(
        &teacher,
        "#gt-file",
        &root().join("static/demo/nuclei_mask.png"),
    );
    browser.wait_for(
        &teacher,
        "JSON.parse(window.samscopeState()).gt !== null",
        Duration::from_secs(60),
    );
    drag(&mut browser, &teacher, (173.0, 131.0), (214.0, 162.0));
    let decoded = settle(&mut browser, &teacher);
    assert_eq!(decoded["backend"], "webgpu", "{decoded}");
    assert!(decoded["area"].as_u64().is_some_and(|a| a > 0), "{decoded}");

    // A deck with this view, and a session on it.
    add_to_deck(
        &mut browser,
        &teacher,
        &[("deck-title", "Remote class"), ("case-title", "Nuclei")],
    );
    let student_link = start_session(&mut browser, &teacher, &origin);
    // A scan the session's deck does not hold.
    let other_id = upload_scan(&mut browser, &teacher, &retina, Some(&nuclei_id));

    // The student: a fresh browser context, never signed in.
    let student = join_class(&mut browser, &student_link);
    browser.wait_for(
        &student,
        &format!("(s => s.image === '{nuclei_id}' && s.embedding_ready)(JSON.parse(window.samscopeState()))"),
        Duration::from_secs(300),
    );
    drag(&mut browser, &student, (173.0, 131.0), (214.0, 162.0));
    let decoded = settle(&mut browser, &student);
    assert!(decoded["area"].as_u64().is_some_and(|a| a > 0), "{decoded}");
    assert_eq!(decoded["auth"]["signed_in"], false, "{decoded}");
    assert_eq!(
        browser.eval(&student, "document.getElementById('sign-in').hidden"),
        json!(true),
        "the class link alone opens the case"
    );
    browser.wait_for(
        &student,
        "JSON.parse(window.samscopeClass()).posted !== null",
        Duration::from_secs(30),
    );
    browser.wait_for(
        &teacher,
        "document.getElementById('class-results').textContent.includes('1 student')",
        Duration::from_secs(30),
    );

    // What the key grants, and what it does not.
    let key = student_link.rsplit('=').next().unwrap().to_string();
    let with_key = format!("{{'X-Samscope-Classroom': '{key}'}}");
    let given = format!("/api/v1/images/{nuclei_id}");
    let other = format!("/api/v1/images/{other_id}");
    assert_eq!(
        status(&mut browser, &student, &given, &with_key),
        json!(200)
    );
    assert_eq!(status(&mut browser, &student, &given, "{}"), json!(401));
    assert_eq!(
        status(&mut browser, &student, &other, &with_key),
        json!(401)
    );
    assert_eq!(status(&mut browser, &student, &other, "{}"), json!(401));
    assert_eq!(
        status(&mut browser, &student, "/api/v1/decks", &with_key),
        json!(401)
    );
    // The instructor's session reads both.
    assert_eq!(status(&mut browser, &teacher, &other, "{}"), json!(200));
    assert_eq!(
        status(&mut browser, &teacher, "/api/v1/decks", "{}"),
        json!(200)
    );

    // Signing out ends it.
    browser.eval(
        &teacher,
        "document.getElementById('sign-out').click(); true",
    );
    browser.wait_for(
        &teacher,
        "!JSON.parse(window.samscopeState()).auth.signed_in",
        Duration::from_secs(30),
    );
    assert_eq!(
        status(&mut browser, &teacher, "/api/v1/decks", "{}"),
        json!(401)
    );

    let errors = unexpected_errors(&mut browser, &teacher);
    assert!(errors.is_empty(), "instructor's console errors: {errors:?}");
    let errors = unexpected_errors(&mut browser, &student);
    assert!(errors.is_empty(), "student's console errors: {errors:?}");
}
