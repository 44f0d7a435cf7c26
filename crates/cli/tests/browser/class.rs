//! A class: the instructor's deck and session, a student following it, results and reveals.

use super::support::cdp::TempDir;
use super::support::serve::Server;
use serde_json::json;

use super::*;

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
    let nuclei_id = upload_scan(&mut browser, &teacher, &nuclei, None);
    browser.set_file(&teacher, "#gt-file", &gt);
    browser.wait_for(
        &teacher,
        "JSON.parse(window.samscopeState()).gt !== null",
        Duration::from_secs(60),
    );
    add_to_deck(
        &mut browser,
        &teacher,
        &[
            ("deck-title", "Nuclei class"),
            ("case-title", "Touching nuclei"),
            ("case-notes", "Find the **boundary**."),
        ],
    );
    let retina_id = upload_scan(&mut browser, &teacher, &retina, Some(&nuclei_id));
    add_to_deck(&mut browser, &teacher, &[("case-title", "Optic disc")]);
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
    let student_link = start_session(&mut browser, &teacher, &server.url);
    let teach_hash = browser
        .eval(&teacher, "location.hash")
        .as_str()
        .unwrap()
        .to_string();
    assert!(teach_hash.starts_with("#teach="), "{teach_hash}");

    // The student, in a fresh browser context, lands on the class's current case.
    let student = join_class(&mut browser, &student_link);
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
