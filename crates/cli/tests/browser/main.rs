//! The viewer end to end in headless Chromium (Debian's), driven over the DevTools
//! protocol: `samscope serve` with the real LiteMedSAM weights and the Trunk bundle
//! (`scripts/build-web.sh` builds `dist/`; `scripts/test.sh` does it before the tests).
//!
//! - the browser decoder (Burn, CPU backend in wasm, f32 wire) against the PyTorch golden
//!   tensors;
//! - upload a real scan and its ground truth, drag a box and click, then check the mask
//!   equals `samscope segment --replay`'s, the Dice shown equals the one computed from the
//!   CLI's mask, the share link reproduces mask and metrics in a fresh browser context, the
//!   second visit downloads no weights, and nothing reached the console as an error; a
//!   screenshot goes to `$SAMSCOPE_HOME/artifacts/viewer.png`;
//! - a volume (the NRRD test scan): slider and keys move through slices (new image id, new
//!   embedding), Ctrl+drag previews a window and asks the server for it, a preset window,
//!   a label volume as ground truth, a box; the mask equals `samscope segment --slice
//!   --window --replay`'s, each slice keeps its prompts, and the share link restores the
//!   same slice, mask and metrics in a fresh browser context;
//! - teaching: the instructor builds a deck in the viewer, exports and imports it, reorders
//!   and prunes the import's cases in the Teach panel, and starts a session; a student in
//!   another browser context follows case changes within a second, is refused on the
//!   instructor's routes, and their Dice reaches the instructor's class view; a reveal
//!   shows the student the ground truth and the paper protocol's result;
//! - a GPU host over HTTPS (`--tls-self-signed`, `--token`): the page signs in through its
//!   panel, decodes on WebGPU (a secure context), starts a session; a signed-out student
//!   joins with the class link alone and reads nothing else.
//!
//! One test binary (`--test browser`), one file per scenario: [`decoder`], [`session`],
//! [`volume`], [`class`], [`https`]; the page helpers they share are below. They live in the CLI
//! crate, not beside the viewer, because they drive the `samscope` binary (`serve`, and
//! `segment --replay` to compare masks), and Cargo gives a test its package's binaries
//! only (`CARGO_BIN_EXE_samscope`); a crate of their own would have to find the binary
//! in the target folder and could not make Cargo build it first.

#[path = "../support/mod.rs"]
mod support;

mod class;
mod decoder;
mod https;
mod session;
mod volume;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use support::cdp::{Browser, Page};
use support::serve::root;
use test_support::fixtures;

/// The viewer bundle: `$SAMSCOPE_WEB_DIR`, else `dist/` of the checkout.
fn web_dir() -> PathBuf {
    let dir = std::env::var_os("SAMSCOPE_WEB_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("dist"));
    assert!(
        dir.join("index.html").is_file(),
        "no viewer bundle in {} — build it with scripts/build-web.sh",
        dir.display()
    );
    dir
}

fn state(browser: &mut Browser, page: &Page) -> Value {
    let text = browser.eval(page, "window.samscopeState()");
    serde_json::from_str(text.as_str().expect("state is text")).unwrap()
}

/// Waits until the viewer has decoded its current steps.
fn settle(browser: &mut Browser, page: &Page) -> Value {
    browser.wait_for(
        page,
        "(() => { const s = JSON.parse(window.samscopeState()); \
          return s.error === '' && !s.busy && s.embedding_ready && \
          (s.steps.length === 0 || s.mask_sha256 !== null); })()",
        Duration::from_secs(300),
    );
    state(browser, page)
}

fn wait_ready(browser: &mut Browser, page: &Page) {
    browser.wait_for(
        page,
        "typeof window.samscopeState === 'function' && JSON.parse(window.samscopeState()).decoder_ready",
        Duration::from_secs(180),
    );
}

/// Screen position of image pixel `(x, y)`'s centre.
fn screen(browser: &mut Browser, page: &Page, x: f64, y: f64) -> (f64, f64) {
    let rect = browser.eval(
        page,
        "(() => { const r = document.getElementById('view').getBoundingClientRect(); return [r.left, r.top]; })()",
    );
    let s = state(browser, page);
    let v = &s["view"];
    let (scale, ox, oy) = (
        v[0].as_f64().unwrap(),
        v[1].as_f64().unwrap(),
        v[2].as_f64().unwrap(),
    );
    (
        rect[0].as_f64().unwrap() + ox + (x + 0.5) * scale,
        rect[1].as_f64().unwrap() + oy + (y + 0.5) * scale,
    )
}

fn drag(browser: &mut Browser, page: &Page, from: (f64, f64), to: (f64, f64)) {
    let (a, b) = (
        screen(browser, page, from.0, from.1),
        screen(browser, page, to.0, to.1),
    );
    browser.mouse(page, "mouseMoved", a.0, a.1, "none", 0);
    browser.mouse(page, "mousePressed", a.0, a.1, "left", 0);
    for t in [0.25, 0.5, 0.75, 1.0] {
        let (x, y) = (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
        browser.mouse(page, "mouseMoved", x, y, "left", 0);
    }
    browser.mouse(page, "mouseReleased", b.0, b.1, "left", 0);
}

fn click(browser: &mut Browser, page: &Page, at: (f64, f64)) {
    let p = screen(browser, page, at.0, at.1);
    browser.mouse(page, "mouseMoved", p.0, p.1, "none", 0);
    browser.mouse(page, "mousePressed", p.0, p.1, "left", 0);
    browser.mouse(page, "mouseReleased", p.0, p.1, "left", 0);
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `samscope segment --replay` of the viewer's session: the mask as 0/1 bytes.
fn cli_replay(state: &Value, image: &Path, dir: &Path, name: &str) -> Vec<u8> {
    cli_replay_with(state, image, dir, name, &[])
}

/// [`cli_replay`] with more arguments (`--slice`, `--window` for a volume).
fn cli_replay_with(state: &Value, image: &Path, dir: &Path, name: &str, extra: &[&str]) -> Vec<u8> {
    let session =
        json!({ "model": state["model"], "wire": state["wire"], "steps": state["steps"] });
    let session_path = dir.join(format!("{name}.json"));
    std::fs::write(&session_path, session.to_string()).unwrap();
    let mask_path = dir.join(format!("{name}.png"));
    let out = Command::new(env!("CARGO_BIN_EXE_samscope"))
        .arg("segment")
        .arg("--image")
        .arg(image)
        .arg("--replay")
        .arg(&session_path)
        .arg("--out")
        .arg(&mask_path)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = image::open(&mask_path).unwrap().into_luma8();
    png.into_raw()
        .into_iter()
        .map(|v| u8::from(v > 127))
        .collect()
}

/// Dice and IoU of `mask` against label `label` of the ground truth, as the viewer computes them.
fn overlap(mask: &[u8], gt: &Path, label: u16) -> (f64, f64) {
    let labels = eval::ground_truth::read_mask(gt, &eval::ground_truth::Decode::Labels).unwrap();
    let object: Vec<u8> = labels.data.iter().map(|&v| u8::from(v == label)).collect();
    let as_mask = |data: Vec<u8>| sam::BinaryMask {
        width: labels.width,
        height: labels.height,
        data,
    };
    let (a, b) = (as_mask(object), as_mask(mask.to_vec()));
    (
        eval::metrics::dice(&a, &b).unwrap(),
        eval::metrics::iou(&a, &b).unwrap(),
    )
}

fn artifacts() -> PathBuf {
    let home = std::env::var_os("SAMSCOPE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/samscope"));
    let dir = home.join("artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What a first visit on the CPU backend downloaded, as Chromium received it: the page's
/// and the CPU worker's wasm brotli-compressed, the weights as compressed byte planes, and
/// nothing of the WebGPU worker.
fn check_first_visit_download(browser: &mut Browser, page: &Page) {
    let downloads = browser.downloads(page);
    for (name, ending) in [
        ("/samscope-viewer-", "_bg.wasm"),
        ("/decoder-worker-cpu", "_bg.wasm"),
        ("/decoder.safetensors", "layout=planes"),
    ] {
        let download = downloads
            .iter()
            .find(|d| d.url.contains(name) && d.url.ends_with(ending))
            .unwrap_or_else(|| panic!("no download of {name}…{ending}: {downloads:#?}"));
        assert_eq!(download.encoding, "br", "{download:?}");
    }
    assert!(
        !downloads
            .iter()
            .any(|d| d.url.contains("decoder-worker-webgpu")),
        "the CPU path downloaded WebGPU code: {downloads:#?}"
    );
    let total: u64 = downloads.iter().map(|d| d.bytes).sum();
    eprintln!(
        "first visit (cpu) downloaded {total} bytes in {} responses",
        downloads.len()
    );
}

fn text(browser: &mut Browser, page: &Page, id: &str) -> String {
    browser
        .eval(
            page,
            &format!("document.getElementById('{id}').textContent"),
        )
        .as_str()
        .unwrap()
        .to_string()
}

/// The id of the image on screen.
fn image_id(browser: &mut Browser, page: &Page) -> String {
    state(browser, page)["image"]
        .as_str()
        .expect("an image is on screen")
        .to_string()
}

/// Uploads `scan` through the file input and waits until an image other than `before`
/// is on screen with its embedding; its id.
fn upload_scan(browser: &mut Browser, page: &Page, scan: &Path, before: Option<&str>) -> String {
    browser.set_file(page, "#scan-file", scan);
    let before = before.unwrap_or("");
    browser.wait_for(
        page,
        &format!(
            "(s => s.image && s.image !== '{before}' && s.embedding_ready)(JSON.parse(window.samscopeState()))"
        ),
        Duration::from_secs(300),
    );
    image_id(browser, page)
}

/// "Add to deck" in the Teach panel after typing `fields` (element id, value); waits for
/// the panel's "Added".
fn add_to_deck(browser: &mut Browser, page: &Page, fields: &[(&str, &str)]) {
    let typed: String = fields
        .iter()
        .map(|(id, value)| {
            format!(
                "document.getElementById('{id}').value = {};",
                serde_json::to_string(value).unwrap()
            )
        })
        .collect();
    browser.eval(
        page,
        &format!(
            "document.getElementById('deck-status').textContent = ''; {typed} \
             document.getElementById('deck-add').click(); true"
        ),
    );
    browser.wait_for(
        page,
        "document.getElementById('deck-status').textContent.startsWith('Added')",
        Duration::from_secs(30),
    );
}

/// "Start session" on the deck chosen in the Teach panel: the students' link, once the
/// page is the session's instructor.
fn start_session(browser: &mut Browser, page: &Page, origin: &str) -> String {
    browser.eval(
        page,
        "document.getElementById('session-start').click(); true",
    );
    let link = browser
        .wait_for(
            page,
            "document.getElementById('student-link').value",
            Duration::from_secs(30),
        )
        .as_str()
        .unwrap()
        .to_string();
    assert!(link.starts_with(&format!("{origin}/#join=")), "{link}");
    browser.wait_for(
        page,
        "window.samscopeClass && JSON.parse(window.samscopeClass()).role === 'instructor'",
        Duration::from_secs(30),
    );
    link
}

/// Opens the students' `link` in a fresh browser context (CPU decoder), once it is a
/// student's page.
fn join_class(browser: &mut Browser, link: &str) -> Page {
    let student = browser.open_in_new_context(&link.replace("/#join", "/?backend=cpu#join"));
    wait_ready(browser, &student);
    browser.wait_for(
        &student,
        "window.samscopeClass && JSON.parse(window.samscopeClass()).role === 'student'",
        Duration::from_secs(60),
    );
    student
}
