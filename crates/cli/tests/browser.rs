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
//!   screenshot goes to `$SAMSCOPE_HOME/artifacts/viewer.png`.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use sam::npy;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use support::cdp::{Browser, Page, TempDir};
use support::serve::{Server, root};

fn fixtures() -> PathBuf {
    root().join("tests/fixtures")
}

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

#[test]
fn viewer_session_matches_the_cli_and_its_share_link_reproduces_it() {
    let server = Server::start(&web_dir());
    let mut browser = Browser::launch(false);
    let scan = fixtures().join("images/nuclei.png");
    let gt = root().join("static/demo/nuclei_mask.png");
    let work = TempDir(std::env::temp_dir().join(format!("samscope-e2e-{}", std::process::id())));
    std::fs::create_dir_all(&work.0).unwrap();

    let page = browser.open(&format!("{}/?backend=cpu", server.url), None);
    wait_ready(&mut browser, &page);
    let first = state(&mut browser, &page);
    assert_eq!(first["backend"], "cpu-wasm");
    assert_eq!(
        first["weights_cached"], false,
        "a first visit downloads the weights"
    );

    browser.set_file(&page, "#scan-file", &scan);
    browser.wait_for(
        &page,
        "JSON.parse(window.samscopeState()).embedding_ready",
        Duration::from_secs(300),
    );
    browser.set_file(&page, "#gt-file", &gt);
    browser.wait_for(
        &page,
        "JSON.parse(window.samscopeState()).gt !== null",
        Duration::from_secs(60),
    );

    // A box around a nucleus, then a click inside it.
    drag(&mut browser, &page, (173.0, 131.0), (214.0, 162.0));
    let after_box = settle(&mut browser, &page);
    assert_eq!(
        after_box["steps"].as_array().unwrap().len(),
        1,
        "{after_box}"
    );
    assert_eq!(after_box["steps"][0]["action"]["kind"], "box");
    click(&mut browser, &page, (193.0, 146.0));
    let s = settle(&mut browser, &page);
    let steps = s["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2, "{s}");
    assert_eq!(steps[1]["action"]["kind"], "point");

    // (a) the mask equals samscope segment's for the same session.
    let cli_mask = cli_replay(&s, &scan, &work.0, "session");
    assert_eq!(
        s["mask_sha256"].as_str().unwrap(),
        sha256_hex(&cli_mask),
        "the browser's mask differs from `samscope segment --replay` (area {} vs {})",
        s["area"],
        cli_mask.iter().filter(|&&v| v == 1).count()
    );
    // (b) the Dice shown equals the one of the CLI's mask.
    let label = s["label"]
        .as_u64()
        .expect("the click chose a ground-truth object") as u16;
    let (dice, iou) = overlap(&cli_mask, &gt, label);
    assert_eq!(s["metrics"]["dice"].as_f64().unwrap(), dice);
    assert_eq!(s["metrics"]["iou"].as_f64().unwrap(), iou);
    let shown = browser.eval(&page, "document.getElementById('dice').textContent");
    assert_eq!(shown.as_str().unwrap(), format!("{dice:.4}"));
    let box_dice = after_box["metrics"]["dice"].as_f64().unwrap();
    eprintln!("Dice after the box {box_dice:.4}, after box + click {dice:.4}");
    assert!(
        box_dice > 0.7,
        "Dice {box_dice} with a box around the nucleus"
    );

    // The paper protocol: centroid click → best of 3, numbers identical to the CLI's.
    browser.eval(&page, "document.getElementById('paper').click()");
    let paper = settle(&mut browser, &page);
    let paper_mask = cli_replay(&paper, &scan, &work.0, "paper");
    assert_eq!(
        paper["mask_sha256"].as_str().unwrap(),
        sha256_hex(&paper_mask)
    );
    let (paper_dice, _) = overlap(&paper_mask, &gt, label);
    let text = browser.wait_for(
        &page,
        "document.getElementById('paper-result').textContent",
        Duration::from_secs(30),
    );
    assert!(
        text.as_str()
            .unwrap()
            .contains(&format!("Dice {paper_dice:.4}")),
        "{text}"
    );
    // Back to the box + click session (undo the paper protocol).
    browser.eval(&page, "document.getElementById('undo').click()");
    let back = settle(&mut browser, &page);
    assert_eq!(back["mask_sha256"], s["mask_sha256"]);

    std::fs::write(artifacts().join("viewer.png"), browser.screenshot(&page)).unwrap();
    eprintln!("screenshot: {}", artifacts().join("viewer.png").display());

    // (c) the share link reproduces the mask and the metrics in a fresh browser context.
    let link = back["link"].as_str().unwrap().to_string();
    assert!(
        !link.contains("nuclei"),
        "links carry ids, not file names: {link}"
    );
    let fresh = browser.open_in_new_context(&link.replace("/#", "/?backend=cpu#"));
    wait_ready(&mut browser, &fresh);
    let reproduced = settle(&mut browser, &fresh);
    assert_eq!(reproduced["mask_sha256"], s["mask_sha256"]);
    assert_eq!(reproduced["metrics"], s["metrics"]);

    // A second visit in the first context takes the weights from the Cache API.
    browser.navigate(&page, &format!("{}/?backend=cpu", server.url));
    wait_ready(&mut browser, &page);
    assert_eq!(state(&mut browser, &page)["weights_cached"], true);

    // A malformed link gets a clear message, not a crash.
    let broken = browser.open_in_new_context(&format!(
        "{}/?backend=cpu#v=1&image=xyz&model=lite_medsam",
        server.url
    ));
    let message = browser.wait_for(
        &broken,
        "JSON.parse(window.samscopeState()).error",
        Duration::from_secs(60),
    );
    assert!(message.as_str().unwrap().contains("`image`"), "{message}");

    // (d) no console errors on the working pages.
    for p in [&page, &fresh] {
        let errors = browser.console_errors(p);
        assert!(errors.is_empty(), "console errors: {errors:?}");
    }
}

fn golden_f32(rel: &str) -> npy::NpyArray<f32> {
    npy::decode(&std::fs::read(fixtures().join("golden").join(rel)).unwrap()).unwrap()
}

/// The browser decoder on `backend` against PyTorch's low-res logits and IoUs for the
/// golden cases of the nuclei image (embedding computed by the server, f32 wire).
fn golden_in_browser(webgpu: bool, cases: &[&str]) {
    let server = Server::start(&web_dir());
    let mut browser = Browser::launch(webgpu);
    let backend = if webgpu { "webgpu" } else { "cpu" };
    let page = browser.open(&format!("{}/?backend={backend}&wire=f32", server.url), None);
    wait_ready(&mut browser, &page);
    browser.set_file(&page, "#scan-file", &fixtures().join("images/nuclei.png"));
    browser.wait_for(
        &page,
        "JSON.parse(window.samscopeState()).embedding_ready",
        Duration::from_secs(300),
    );
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("golden/manifest.json")).unwrap())
            .unwrap();
    for case in cases {
        let c = &manifest["images"]["nuclei"]["cases"][case];
        let or_empty = |v: &Value| if v.is_null() { json!([]) } else { v.clone() };
        let request = json!({ "type": "check", "seq": 0, "points": or_empty(&c["points"]),
                              "labels": or_empty(&c["labels"]), "bbox": c["box"], "multimask": true });
        browser.eval(
            &page,
            &format!(
                "window.checked = null; window.samscopeCheck({}).then(r => window.checked = JSON.stringify(r.error ? {{error: r.error}} : {{low_res: Array.from(r.low_res), iou_predictions: Array.from(r.iou_predictions)}}), e => window.checked = JSON.stringify({{error: String(e)}})); 0",
                serde_json::to_string(&request.to_string()).unwrap()
            ),
        );
        let reply = browser.wait_for(&page, "window.checked", Duration::from_secs(300));
        let reply: Value = serde_json::from_str(reply.as_str().unwrap()).unwrap();
        assert!(reply.get("error").is_none(), "{case}: {reply}");
        let expected = golden_f32(c["outputs"]["multi"]["lowres"].as_str().unwrap());
        let got: Vec<f32> = reply["low_res"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        assert_eq!(got.len(), expected.data.len(), "{case}");
        let worst = got
            .iter()
            .zip(&expected.data)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        let iou_expected = golden_f32(c["outputs"]["multi"]["iou"].as_str().unwrap());
        let iou_worst = reply["iou_predictions"]
            .as_array()
            .unwrap()
            .iter()
            .zip(&iou_expected.data)
            .map(|(a, b)| (a.as_f64().unwrap() as f32 - b).abs())
            .fold(0.0f32, f32::max);
        eprintln!(
            "{backend} {case}: low-res logits max |Δ| {worst:.2e}, IoU max |Δ| {iou_worst:.2e}"
        );
        assert!(worst <= 2e-3, "{backend} {case}: logits differ by {worst}");
        assert!(
            iou_worst <= 1e-3,
            "{backend} {case}: IoU differs by {iou_worst}"
        );
    }
    let errors = browser.console_errors(&page);
    assert!(errors.is_empty(), "console errors: {errors:?}");
}

#[test]
fn browser_cpu_decoder_matches_pytorch() {
    golden_in_browser(false, &["point1", "points3", "box", "box_point"]);
}

#[test]
fn browser_webgpu_decoder_matches_pytorch() {
    golden_in_browser(true, &["box"]);
}
