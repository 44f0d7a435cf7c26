//! The browser decoder (CPU and WebGPU) against the PyTorch golden tensors.

use super::support::serve::Server;
use sam::npy;

use super::*;

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
