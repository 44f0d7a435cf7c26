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
//!   shows the student the ground truth and the paper protocol's result.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use sam::npy;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use support::cdp::{Browser, Page, TempDir};
use support::cli::testdata;
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

#[test]
fn viewer_session_matches_the_cli_and_its_share_link_reproduces_it() {
    let server = Server::start(&web_dir());
    let mut browser = Browser::launch(false);
    let scan = fixtures().join("images/nuclei.png");
    let gt = root().join("static/demo/nuclei_mask.png");
    let work = TempDir(std::env::temp_dir().join(format!("samscope-e2e-{}", std::process::id())));
    std::fs::create_dir_all(&work.0).unwrap();

    let page = browser.open_recording_downloads(&format!("{}/?backend=cpu", server.url), None);
    wait_ready(&mut browser, &page);
    let first = state(&mut browser, &page);
    assert_eq!(first["backend"], "cpu-wasm");
    assert_eq!(
        first["weights_cached"], false,
        "a first visit downloads the weights"
    );
    check_first_visit_download(&mut browser, &page);

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

/// Presses and releases a key (`key` as `KeyboardEvent.key`, Windows virtual key code `vk`).
fn key(browser: &mut Browser, page: &Page, key: &str, vk: u32) {
    for kind in ["rawKeyDown", "keyUp"] {
        browser.call(
            Some(&page.session),
            "Input.dispatchKeyEvent",
            json!({ "type": kind, "key": key, "code": key, "windowsVirtualKeyCode": vk,
                    "nativeVirtualKeyCode": vk }),
        );
    }
}

/// Waits until volume slice `index` through `window` is shown, its embedding is held and
/// its steps are decoded.
fn settle_on(browser: &mut Browser, page: &Page, index: usize, window: &str) -> Value {
    browser.wait_for(
        page,
        &format!(
            "(() => {{ const s = JSON.parse(window.samscopeState()); const v = s.volume; \
              return v !== null && v.settled && v.shown !== null && v.shown.index === {index} && \
              v.shown.window === {window:?} && s.image === v.shown.image && \
              s.embedding_image === s.image && s.error === '' && !s.busy && s.embedding_ready && \
              (s.steps.length === 0 || s.mask_sha256 !== null); }})()"
        ),
        Duration::from_secs(300),
    );
    state(browser, page)
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

/// A label volume on `scan`'s grid (its NRRD header, uint8 raw): label 3 in the column
/// `i ∈ [30, 50)`, `j ∈ [40, 60)` through every `k`, so every axial slice holds a square.
fn write_label_volume(scan: &Path, out: &Path) -> Vec<u8> {
    let bytes = std::fs::read(scan).unwrap();
    let end = bytes.windows(2).position(|w| w == b"\n\n").unwrap() + 2;
    let header = String::from_utf8(bytes[..end].to_vec()).unwrap();
    assert!(header.contains("type: uint8") && header.contains("encoding: raw"));
    assert!(header.contains("sizes: 80 100 80"), "{header}");
    let mut data = vec![0u8; 80 * 100 * 80];
    for k in 0..80 {
        for j in 40..60 {
            for i in 30..50 {
                data[i + 80 * (j + 100 * k)] = 3;
            }
        }
    }
    let mut file = header.into_bytes();
    file.extend_from_slice(&data);
    std::fs::write(out, &file).unwrap();
    file
}

#[test]
fn viewer_browses_a_volume_and_its_share_link_restores_the_slice_and_mask() {
    let server = Server::start(&web_dir());
    let mut browser = Browser::launch(false);
    let scan = testdata("mni152_crop.nrrd");
    let work = TempDir(std::env::temp_dir().join(format!("samscope-vol-{}", std::process::id())));
    std::fs::create_dir_all(&work.0).unwrap();
    let labels_path = work.0.join("labels.nrrd");
    let label_file = write_label_volume(&scan, &labels_path);

    let page = browser.open(&format!("{}/?backend=cpu", server.url), None);
    wait_ready(&mut browser, &page);
    let t0 = Instant::now();
    browser.set_file(&page, "#scan-file", &scan);

    // The first view: the middle axial slice through the file's window.
    let first = settle_on(&mut browser, &page, 40, "default");
    eprintln!("volume open, first slice embedded: {:?}", t0.elapsed());
    let volume = first["volume"].clone();
    assert_eq!(volume["axis"], "axial", "{first}");
    assert_eq!(volume["slices"], 80);
    assert_eq!(text(&mut browser, &page, "slice-label"), "slice 41 / 80");
    let position = text(&mut browser, &page, "slice-position");
    assert!(
        position.starts_with("z = ") && position.ends_with(')'),
        "{position}"
    );
    let image0 = first["image"].as_str().unwrap().to_string();
    assert!(browser.eval(&page, "!document.getElementById('volume-panel').hidden") == json!(true));

    // The slider (+3), then ↑ twice: slice 45, a new image and a new embedding.
    let t = Instant::now();
    browser.eval(
        &page,
        "(() => { const s = document.getElementById('slice'); s.value = '43'; \
           s.dispatchEvent(new Event('input')); return 0; })()",
    );
    key(&mut browser, &page, "ArrowUp", 38);
    key(&mut browser, &page, "ArrowUp", 38);
    let moved = settle_on(&mut browser, &page, 45, "default");
    eprintln!("slice 41 → 46 and its embedding: {:?}", t.elapsed());
    assert_ne!(moved["image"], json!(image0));
    assert_eq!(moved["embedding_image"], moved["image"]);
    assert_eq!(text(&mut browser, &page, "slice-label"), "slice 46 / 80");
    assert_ne!(text(&mut browser, &page, "slice-position"), position);

    // Ctrl+drag to the right: a wider window, previewed at once, then rendered by the server.
    let (lower, upper) = (
        moved["volume"]["shown"]["lower"].as_f64().unwrap(),
        moved["volume"]["shown"]["upper"].as_f64().unwrap(),
    );
    let a = screen(&mut browser, &page, 40.0, 50.0);
    const CTRL: u32 = 2;
    browser.mouse(&page, "mouseMoved", a.0, a.1, "none", CTRL);
    browser.mouse(&page, "mousePressed", a.0, a.1, "left", CTRL);
    browser.mouse(&page, "mouseMoved", a.0 + 30.0, a.1, "left", CTRL);
    browser.mouse(&page, "mouseMoved", a.0 + 60.0, a.1, "left", CTRL);
    let during = state(&mut browser, &page);
    let preview = during["volume"]["preview"]
        .as_array()
        .expect("a window preview")
        .clone();
    let width = preview[1].as_f64().unwrap() - preview[0].as_f64().unwrap();
    assert!(width > upper - lower, "{preview:?} vs [{lower}, {upper}]");
    let width_box = browser.eval(&page, "document.getElementById('window-width').value");
    let typed: f64 = width_box.as_str().unwrap().parse().unwrap();
    assert!((typed - width).abs() < 1e-6, "{typed} vs {width}");
    browser.mouse(&page, "mouseReleased", a.0 + 60.0, a.1, "left", CTRL);
    let manual = state(&mut browser, &page)["volume"]["window"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(manual.contains(','), "a manual window C,W: {manual}");
    let dragged = settle_on(&mut browser, &page, 45, &manual);
    assert_ne!(dragged["image"], moved["image"]);
    assert_eq!(dragged["steps"], json!([]), "a window drag is no prompt");
    assert_eq!(dragged["volume"]["preview"], Value::Null);

    // A preset from the list: the MR percentile window.
    let options = browser.eval(
        &page,
        "Array.from(document.getElementById('window').options).map(o => o.value)",
    );
    for preset in [
        "ct_abdomen",
        "lung",
        "bone",
        "brain",
        "soft_tissue",
        "p0.5-99.5",
    ] {
        assert!(
            options.as_array().unwrap().contains(&json!(preset)),
            "{options}"
        );
    }
    browser.eval(
        &page,
        "(() => { const s = document.getElementById('window'); s.value = 'p0.5-99.5'; \
           s.dispatchEvent(new Event('change')); return 0; })()",
    );
    let windowed = settle_on(&mut browser, &page, 45, "p0.5-99.5");
    assert_ne!(windowed["image"], dragged["image"]);

    // The label volume as ground truth: slice 45 of it.
    browser.set_file(&page, "#gt-file", &labels_path);
    browser.wait_for(
        &page,
        "(() => { const s = JSON.parse(window.samscopeState()); \
           return s.volume.label_volume && s.gt !== null; })()",
        Duration::from_secs(60),
    );
    let labels = imaging::decode_labels(&label_file, &imaging::Limits::default()).unwrap();
    let slice = labels.label_slice(imaging::Axis::Axial, 45).unwrap();
    let inside: Vec<(usize, usize)> = (0..slice.height)
        .flat_map(|y| (0..slice.width).map(move |x| (x, y)))
        .filter(|&(x, y)| slice.labels[y * slice.width + x] == 3)
        .collect();
    assert_eq!(inside.len(), 400);
    let (x0, y0) = (
        inside.iter().map(|p| p.0).min().unwrap() as f64,
        inside.iter().map(|p| p.1).min().unwrap() as f64,
    );
    let (x1, y1) = (
        inside.iter().map(|p| p.0).max().unwrap() as f64,
        inside.iter().map(|p| p.1).max().unwrap() as f64,
    );

    // A box around the labelled square.
    drag(
        &mut browser,
        &page,
        (x0 - 2.0, y0 - 2.0),
        (x1 + 2.0, y1 + 2.0),
    );
    let s = settle_on(&mut browser, &page, 45, "p0.5-99.5");
    assert_eq!(s["steps"].as_array().unwrap().len(), 1, "{s}");
    assert_eq!(s["label"], 3);
    let cli_mask = cli_replay_with(
        &s,
        &scan,
        &work.0,
        "volume",
        &["--slice", "axial:45", "--window", "p0.5-99.5"],
    );
    assert_eq!(
        s["mask_sha256"].as_str().unwrap(),
        sha256_hex(&cli_mask),
        "the browser's mask differs from `samscope segment --slice axial:45 --window p0.5-99.5 --replay`"
    );
    let object: Vec<u8> = slice.labels.iter().map(|&v| u8::from(v == 3)).collect();
    let as_mask = |data: Vec<u8>| sam::BinaryMask {
        width: slice.width,
        height: slice.height,
        data,
    };
    let (gt_mask, mask) = (as_mask(object), as_mask(cli_mask));
    assert_eq!(
        s["metrics"]["dice"].as_f64().unwrap(),
        eval::metrics::dice(&gt_mask, &mask).unwrap()
    );
    eprintln!(
        "volume slice: box Dice {:.4} against the label volume",
        s["metrics"]["dice"]
    );
    std::fs::write(
        artifacts().join("viewer-volume.png"),
        browser.screenshot(&page),
    )
    .unwrap();

    // Each slice keeps its prompts: the next one has none, and back again restores the box
    // and its mask.
    key(&mut browser, &page, "ArrowUp", 38);
    let next = settle_on(&mut browser, &page, 46, "p0.5-99.5");
    assert_eq!(next["steps"], json!([]));
    assert!(
        next["gt"].is_string(),
        "the label volume gives slice 47 its ground truth"
    );
    key(&mut browser, &page, "PageDown", 34);
    let back = settle_on(&mut browser, &page, 45, "p0.5-99.5");
    assert_eq!(back["steps"], s["steps"]);
    assert_eq!(back["mask_sha256"], s["mask_sha256"]);
    assert_eq!(back["gt"], s["gt"]);

    // The share link names the view and restores slice, mask and metrics bit for bit.
    let link = back["link"].as_str().unwrap().to_string();
    let volume_id = volume["id"].as_str().unwrap();
    assert!(link.contains("#v=2&"), "{link}");
    assert!(
        link.contains(&format!(
            "&volume={volume_id}&axis=axial&index=45&window=p0.5-99.5"
        )),
        "{link}"
    );
    let t = Instant::now();
    let fresh = browser.open_in_new_context(&link.replace("/#", "/?backend=cpu#"));
    wait_ready(&mut browser, &fresh);
    let reproduced = settle_on(&mut browser, &fresh, 45, "p0.5-99.5");
    eprintln!("share link reproduced in {:?}", t.elapsed());
    assert_eq!(reproduced["image"], s["image"]);
    assert_eq!(reproduced["mask_sha256"], s["mask_sha256"]);
    assert_eq!(reproduced["metrics"], s["metrics"]);
    assert_eq!(reproduced["gt"], s["gt"]);
    assert_eq!(reproduced["volume"]["axis"], "axial");
    assert_eq!(text(&mut browser, &fresh, "slice-label"), "slice 46 / 80");

    for p in [&page, &fresh] {
        let errors = browser.console_errors(p);
        assert!(errors.is_empty(), "console errors: {errors:?}");
    }
    eprintln!("volume test total {:?}", t0.elapsed());
}

/// `window.samscopeClass()`: the page's teaching session, parsed.
fn class_state(browser: &mut Browser, page: &Page) -> Value {
    let text = browser.eval(page, "window.samscopeClass()");
    serde_json::from_str(text.as_str().expect("class state is text")).unwrap()
}

/// The instructor builds a deck in the viewer ("Add to deck" on two views) and starts a
/// session; a student in another browser context follows case changes within a second,
/// cannot use instructor routes, and their Dice appears in the instructor's class view;
/// revealing shows the student the ground truth and the paper-protocol result.
#[test]
fn a_class_follows_its_instructor_and_the_instructor_sees_the_class() {
    let server = Server::start(&web_dir());
    let mut browser = Browser::launch(false);
    let nuclei = fixtures().join("images/nuclei.png");
    let retina = fixtures().join("images/retina.png");
    let gt = root().join("static/demo/nuclei_mask.png");

    let teacher = browser.open(&format!("{}/?backend=cpu", server.url), None);
    wait_ready(&mut browser, &teacher);
    browser.set_file(&teacher, "#scan-file", &nuclei);
    browser.wait_for(
        &teacher,
        "JSON.parse(window.samscopeState()).embedding_ready",
        Duration::from_secs(300),
    );
    browser.set_file(&teacher, "#gt-file", &gt);
    browser.wait_for(
        &teacher,
        "JSON.parse(window.samscopeState()).gt !== null",
        Duration::from_secs(60),
    );
    let nuclei_id = state(&mut browser, &teacher)["image"]
        .as_str()
        .unwrap()
        .to_string();
    browser.eval(
        &teacher,
        "document.getElementById('deck-title').value = 'Nuclei class'; \
         document.getElementById('case-title').value = 'Touching nuclei'; \
         document.getElementById('case-notes').value = 'Find the **boundary**.'; \
         document.getElementById('deck-add').click(); true",
    );
    browser.wait_for(
        &teacher,
        "document.getElementById('deck-status').textContent.startsWith('Added')",
        Duration::from_secs(30),
    );
    browser.set_file(&teacher, "#scan-file", &retina);
    browser.wait_for(
        &teacher,
        &format!("(s => s.image && s.image !== '{nuclei_id}' && s.embedding_ready)(JSON.parse(window.samscopeState()))"),
        Duration::from_secs(300),
    );
    let retina_id = state(&mut browser, &teacher)["image"]
        .as_str()
        .unwrap()
        .to_string();
    browser.eval(
        &teacher,
        "document.getElementById('deck-status').textContent = ''; \
         document.getElementById('case-title').value = 'Optic disc'; \
         document.getElementById('deck-add').click(); true",
    );
    browser.wait_for(
        &teacher,
        "document.getElementById('deck-status').textContent.startsWith('Added')",
        Duration::from_secs(30),
    );
    // Export and import through the deck panel: the file comes back as a second deck.
    let deck_id = browser
        .eval(&teacher, "document.getElementById('deck').value")
        .as_str()
        .unwrap()
        .to_string();
    let exported = browser.eval(
        &teacher,
        &format!("fetch('/api/v1/decks/{deck_id}/export').then(r => r.text())"),
    );
    let work = TempDir(std::env::temp_dir().join(format!("samscope-class-{}", std::process::id())));
    std::fs::create_dir_all(&work.0).unwrap();
    let deck_file = work.0.join("deck.samdeck.json");
    std::fs::write(&deck_file, exported.as_str().unwrap()).unwrap();
    browser.set_file(&teacher, "#deck-import", &deck_file);
    browser.wait_for(
        &teacher,
        "document.getElementById('deck-status').textContent.startsWith('Imported')",
        Duration::from_secs(30),
    );
    let decks = browser.eval(&teacher, "document.getElementById('deck').options.length");
    assert_eq!(decks, json!(3), "New deck…, the deck and its import");
    // The imported deck's cases, edited in the panel: the second moved up, the other
    // removed, then saved.
    browser.wait_for(
        &teacher,
        "document.querySelectorAll('#deck-cases li').length === 2",
        Duration::from_secs(30),
    );
    let imported = browser
        .eval(&teacher, "document.getElementById('deck').value")
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(imported, deck_id, "the import is selected");
    let shown =
        "[...document.querySelectorAll('#deck-cases li span')].map(s => s.textContent).join('|')";
    assert_eq!(
        browser.eval(&teacher, shown),
        json!("Touching nuclei|Optic disc")
    );
    browser.eval(
        &teacher,
        "document.querySelector('#deck-cases button[data-edit=up][data-index=\"1\"]').click(); \
         document.querySelector('#deck-cases button[data-edit=remove][data-index=\"1\"]').click(); true",
    );
    assert_eq!(browser.eval(&teacher, shown), json!("Optic disc"));
    // Choosing another deck asks before dropping the edits; declined, nothing changes.
    browser.eval(
        &teacher,
        &format!(
            "setTimeout(() => {{ const d = document.getElementById('deck'); d.value = '{deck_id}'; \
             d.dispatchEvent(new Event('change')); }}, 0); true"
        ),
    );
    let question = browser.answer_dialog(&teacher, false);
    assert!(question.contains("unsaved changes"), "{question}");
    assert_eq!(
        browser.eval(&teacher, "document.getElementById('deck').value"),
        json!(imported)
    );
    assert_eq!(browser.eval(&teacher, shown), json!("Optic disc"));
    browser.eval(
        &teacher,
        "document.getElementById('deck-save').click(); true",
    );
    browser.wait_for(
        &teacher,
        "document.getElementById('deck-status').textContent.startsWith('Saved')",
        Duration::from_secs(30),
    );
    let stored = browser.eval(
        &teacher,
        &format!(
            "fetch('/api/v1/decks/{imported}').then(r => r.json()).then(d => d.cases.map(c => c.title).join('|'))"
        ),
    );
    assert_eq!(stored, json!("Optic disc"));
    assert_eq!(
        browser.eval(&teacher, "document.getElementById('deck-save').hidden"),
        json!(true),
        "nothing left to save"
    );
    browser.eval(
        &teacher,
        &format!("document.getElementById('deck').value = '{deck_id}'; true"),
    );
    browser.eval(
        &teacher,
        "document.getElementById('session-start').click(); true",
    );
    let student_link = browser
        .wait_for(
            &teacher,
            "document.getElementById('student-link').value",
            Duration::from_secs(30),
        )
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        student_link.starts_with(&format!("{}/#join=", server.url)),
        "{student_link}"
    );
    browser.wait_for(
        &teacher,
        "window.samscopeClass && JSON.parse(window.samscopeClass()).role === 'instructor'",
        Duration::from_secs(30),
    );
    let teach_hash = browser
        .eval(&teacher, "location.hash")
        .as_str()
        .unwrap()
        .to_string();
    assert!(teach_hash.starts_with("#teach="), "{teach_hash}");

    // The student, in a fresh browser context, lands on the class's current case.
    let student =
        browser.open_in_new_context(&student_link.replace("/#join", "/?backend=cpu#join"));
    wait_ready(&mut browser, &student);
    browser.wait_for(
        &student,
        "window.samscopeClass && JSON.parse(window.samscopeClass()).role === 'student'",
        Duration::from_secs(60),
    );
    browser.wait_for(
        &student,
        &format!("JSON.parse(window.samscopeState()).image === '{nuclei_id}'"),
        Duration::from_secs(120),
    );
    let notes = browser.eval(
        &student,
        "document.getElementById('case-notes-view').innerHTML",
    );
    assert!(
        notes
            .as_str()
            .unwrap()
            .contains("<strong>boundary</strong>"),
        "{notes}"
    );
    // Before the reveal the student cannot show the ground truth.
    assert_eq!(
        browser.eval(&student, "document.getElementById('errors').disabled"),
        json!(true)
    );
    assert_eq!(
        browser.eval(&student, "document.getElementById('reveal').hidden"),
        json!(true)
    );

    // A case change reaches the student within a second.
    browser.eval(
        &teacher,
        "document.getElementById('class-case-1').click(); true",
    );
    browser.wait_for(
        &student,
        "JSON.parse(window.samscopeClass()).current === 1",
        Duration::from_secs(1),
    );
    browser.wait_for(
        &student,
        &format!("JSON.parse(window.samscopeState()).image === '{retina_id}'"),
        Duration::from_secs(60),
    );
    browser.eval(
        &teacher,
        "document.getElementById('class-case-0').click(); true",
    );
    browser.wait_for(
        &student,
        "JSON.parse(window.samscopeClass()).current === 0",
        Duration::from_secs(1),
    );
    browser.wait_for(
        &student,
        &format!("(s => s.image === '{nuclei_id}' && s.embedding_ready && s.gt !== null)(JSON.parse(window.samscopeState()))"),
        Duration::from_secs(120),
    );

    // The student link is refused on the instructor's routes.
    let key = student_link.rsplit('=').next().unwrap();
    for (method, route, body) in [
        ("PUT", "current", "{\"case\":1}"),
        ("PUT", "reveal", "{\"case\":0,\"revealed\":true}"),
        ("GET", "results", ""),
    ] {
        let body = if body.is_empty() {
            String::new()
        } else {
            format!(", body: '{body}'")
        };
        let status = browser.eval(
            &student,
            &format!("fetch('/api/v1/classroom/{key}/{route}', {{method: '{method}', headers: {{'Content-Type': 'application/json'}}{body}}}).then(r => r.status)"),
        );
        assert_eq!(status, json!(403), "{method} {route}");
    }

    // The student prompts; their Dice appears in the instructor's view.
    drag(&mut browser, &student, (173.0, 131.0), (214.0, 162.0));
    let decoded = settle(&mut browser, &student);
    let dice = decoded["metrics"]["dice"]
        .as_f64()
        .expect("the student has a Dice");
    assert!(dice > 0.5, "{decoded}");
    let shown = format!("{dice:.4}");
    browser.wait_for(
        &teacher,
        &format!("document.getElementById('class-results').textContent.includes('{shown}')"),
        Duration::from_secs(20),
    );
    let posted = &class_state(&mut browser, &student)["posted"];
    assert_eq!(
        (posted["case"].as_u64(), posted["dice"].as_f64()),
        (Some(0), Some(dice))
    );
    let summary = browser.eval(
        &teacher,
        "document.getElementById('class-results').textContent",
    );
    assert!(summary.as_str().unwrap().contains("1 student"), "{summary}");

    // Reveal: the student sees the answer and the paper protocol's result.
    browser.eval(&teacher, "document.getElementById('reveal').click(); true");
    browser.wait_for(
        &student,
        "JSON.parse(window.samscopeClass()).answer_visible",
        Duration::from_secs(5),
    );
    browser.wait_for(
        &student,
        "document.getElementById('paper-result').textContent.includes('Dice')",
        Duration::from_secs(120),
    );
    assert_eq!(
        browser.eval(&student, "document.getElementById('errors').disabled"),
        json!(false)
    );
    let errors = browser.console_errors(&teacher);
    assert!(errors.is_empty(), "instructor's console errors: {errors:?}");
    // The student's console has the three refused requests made above, and nothing else.
    let errors: Vec<String> = browser
        .console_errors(&student)
        .into_iter()
        .filter(|e| !e.contains("status of 403"))
        .collect();
    assert!(errors.is_empty(), "student's console errors: {errors:?}");
}
