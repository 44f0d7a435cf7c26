//! A volume in the viewer: slices, windows, a label volume as ground truth, the share link.

use std::time::Instant;

use super::support::cdp::TempDir;
use super::support::cli::testdata;
use super::support::serve::Server;
use serde_json::json;

use super::*;

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
