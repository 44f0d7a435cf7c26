//! A scan and its ground truth in the viewer: box and click against the CLI's mask and Dice,
//! the share link in a fresh context, the second visit's downloads.

use super::support::cdp::TempDir;
use super::support::serve::Server;

use super::*;

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
