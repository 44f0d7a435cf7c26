//! `samscope deck` end to end: a deck from a small `generic` dataset (two layers of
//! labels per image become cases with their label maps), listing, export to one file,
//! import into another data directory with identical content, sessions, and the errors
//! bad input gets.

mod support;

use std::path::{Path, PathBuf};
use support::cli::{fails_with, ok, s, scratch_in};

fn scratch(name: &str) -> PathBuf {
    scratch_in("deck", name)
}

/// Two 64×48 scans with a disk (label 1) and a square (label 2), `classes.json` naming
/// them, and a Markdown note for the first.
fn dataset(root: &Path) {
    std::fs::create_dir_all(root.join("images")).unwrap();
    std::fs::create_dir_all(root.join("masks")).unwrap();
    std::fs::create_dir_all(root.join("notes")).unwrap();
    for i in 0..2u32 {
        let disk =
            |x: u32, y: u32| (x as i32 - 20 - i as i32 * 4).pow(2) + (y as i32 - 24).pow(2) <= 64;
        let square = |x: u32, y: u32| (40..56).contains(&x) && (10..26).contains(&y);
        image::RgbImage::from_fn(64, 48, |x, y| {
            let v = if disk(x, y) {
                220
            } else if square(x, y) {
                120
            } else {
                30
            };
            image::Rgb([v, v, v / 2 + i as u8])
        })
        .save(root.join(format!("images/case{i}.png")))
        .unwrap();
        image::GrayImage::from_fn(64, 48, |x, y| {
            image::Luma([if disk(x, y) {
                1
            } else if square(x, y) {
                2
            } else {
                0
            }])
        })
        .save(root.join(format!("masks/case{i}.png")))
        .unwrap();
    }
    std::fs::write(
        root.join("classes.json"),
        r#"{"1": "nucleus", "2": "artefact"}"#,
    )
    .unwrap();
    std::fs::write(root.join("notes/case0.md"), "# Disk\nThe **disk** is easy.").unwrap();
}

#[test]
fn decks_from_a_dataset_export_import_and_sessions() {
    let root = scratch("data");
    dataset(&root);
    let home = scratch("home");
    let other = scratch("other");
    let out = ok(&[
        "deck",
        "create",
        "--from",
        s(&root),
        "--layout",
        "generic",
        "--title",
        "Disks",
        "--notes",
        s(&root.join("notes")),
        "--data-dir",
        s(&home),
    ]);
    let id = out.split_whitespace().nth(1).unwrap().to_string();
    assert_eq!(id.len(), 32, "{out}");
    assert!(out.contains("2 cases"), "{out}");
    let listed = ok(&["deck", "list", "--data-dir", s(&home)]);
    assert!(listed.contains(&id) && listed.contains("Disks"), "{listed}");

    // The deck file carries everything; another data directory gets identical content.
    let file = home.join("disks.samdeck.json");
    ok(&[
        "deck",
        "export",
        &id,
        "--out",
        s(&file),
        "--data-dir",
        s(&home),
    ]);
    let deck: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(deck["format"], "samscope-deck/v1");
    let cases = deck["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 2);
    assert_eq!(cases[0]["notes"], "# Disk\nThe **disk** is easy.");
    assert!(cases[1]["notes"].as_str().unwrap().contains("1: nucleus"));
    assert!(cases[1]["notes"].as_str().unwrap().contains("2: artefact"));
    assert_eq!(deck["images"].as_object().unwrap().len(), 2);
    assert_eq!(deck["masks"].as_object().unwrap().len(), 2);
    let imported = ok(&["deck", "import", s(&file), "--data-dir", s(&other)]);
    assert!(imported.contains("2 cases"), "{imported}");
    let new_id = imported.split_whitespace().nth(1).unwrap();
    let again = other.join("again.samdeck.json");
    ok(&[
        "deck",
        "export",
        new_id,
        "--out",
        s(&again),
        "--data-dir",
        s(&other),
    ]);
    let reexported: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&again).unwrap()).unwrap();
    for key in ["cases", "images", "masks"] {
        assert_eq!(reexported[key], deck[key], "{key}");
    }

    // The stored ground truth is the label map, value for value.
    let gt = cases[0]["gt"].as_str().unwrap();
    let stored = base64_decode(deck["masks"][gt].as_str().unwrap());
    let map = image::load_from_memory(&stored).unwrap().to_luma8();
    let original = image::open(root.join("masks/case0.png"))
        .unwrap()
        .to_luma8();
    assert_eq!(map.as_raw(), original.as_raw());

    let links = ok(&[
        "deck",
        "session",
        &id,
        "--hours",
        "2",
        "--data-dir",
        s(&home),
    ]);
    assert!(links.contains("http://127.0.0.1:8080/#teach="), "{links}");
    assert!(links.contains("http://127.0.0.1:8080/#join="), "{links}");

    fails_with(
        &[
            "deck",
            "create",
            "--from",
            s(&root),
            "--layout",
            "nope",
            "--title",
            "x",
            "--data-dir",
            s(&home),
        ],
        &["--layout"],
    );
    fails_with(
        &[
            "deck",
            "create",
            "--from",
            s(&home.join("missing")),
            "--title",
            "x",
            "--data-dir",
            s(&home),
        ],
        &["--data"],
    );
    fails_with(
        &["deck", "session", &"0".repeat(32), "--data-dir", s(&home)],
        &["no deck with id"],
    );
    fails_with(
        &[
            "deck",
            "session",
            &id,
            "--hours",
            "0",
            "--data-dir",
            s(&home),
        ],
        &["hours"],
    );
    std::fs::write(home.join("bad.json"), b"{\"format\": \"zip\"}").unwrap();
    fails_with(
        &[
            "deck",
            "import",
            s(&home.join("bad.json")),
            "--data-dir",
            s(&home),
        ],
        &["bad.json"],
    );
    for dir in [root, home, other] {
        let _ = std::fs::remove_dir_all(dir);
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}
