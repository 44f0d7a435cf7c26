//! Decks: ordered lists of cases a teacher shows. A case names an image (and, for a
//! volume, the slice and window it came from), an optional ground-truth mask and label,
//! optional preset prompts and Markdown notes. Cases hold ids only; pixels stay in the
//! content store.

use api::{Action, Case, Deck, DeckInput, DeckSummary, Step};
use rusqlite::{Connection, OptionalExtension, params};

/// Most cases in one deck.
pub const MAX_CASES: usize = 200;
/// Longest notes of one case, in bytes.
pub const MAX_NOTES_BYTES: usize = 16 * 1024;
/// Longest deck or case title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Most preset prompt steps of one case.
pub const MAX_STEPS: usize = 100;
/// Largest window description of a volume case, in bytes of JSON.
const MAX_WINDOW_BYTES: usize = 1024;

/// What a deck's cases refer to in the content store (ids, 64 hex), for existence checks.
#[derive(Debug, Default)]
pub(crate) struct References {
    /// Images.
    pub images: Vec<String>,
    /// Ground-truth masks.
    pub masks: Vec<String>,
    /// Volumes.
    pub volumes: Vec<String>,
    /// Models.
    pub models: Vec<String>,
}

/// Whether `text` is a content id: exactly 64 lower-case hex characters (a sha256).
pub(crate) fn is_content_id(text: &str) -> bool {
    is_hex(text, 64)
}

/// Whether `text` is exactly `len` lower-case hex characters.
pub(crate) fn is_hex(text: &str, len: usize) -> bool {
    text.len() == len
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `text` if it is a content id, else `problem`.
fn content_id(text: &str, problem: impl FnOnce() -> String) -> Result<String, String> {
    if is_content_id(text) {
        Ok(text.to_string())
    } else {
        Err(problem())
    }
}

fn title_problem(what: &str, title: &str) -> Option<String> {
    if title.chars().count() > MAX_TITLE_CHARS {
        return Some(format!(
            "{what} is longer than {MAX_TITLE_CHARS} characters"
        ));
    }
    if title.chars().any(char::is_control) {
        return Some(format!("{what} has control characters"));
    }
    None
}

fn step_is_finite(step: &Step) -> bool {
    match step.action {
        Action::Point { x, y, .. } => x.is_finite() && y.is_finite(),
        Action::Box { x0, y0, x1, y1 } => [x0, y0, x1, y1].iter().all(|v| v.is_finite()),
    }
}

/// Checks a case's sizes and id syntax; `at` names the case in messages.
fn check_case(case: &Case, at: &str) -> Result<References, String> {
    let mut refs = References::default();
    if let Some(problem) = title_problem(&format!("{at}: the title"), &case.title) {
        return Err(problem);
    }
    refs.images.push(content_id(&case.image, || {
        format!("{at}: `image` must be an image id (64 hex)")
    })?);
    if let Some(gt) = &case.gt {
        refs.masks.push(content_id(gt, || {
            format!("{at}: `gt` must be a mask id (64 hex)")
        })?);
    }
    if let Some(volume) = &case.volume {
        refs.volumes.push(content_id(&volume.id, || {
            format!("{at}: `volume.id` must be a volume id (64 hex)")
        })?);
        if !matches!(
            volume.axis.as_str(),
            "axial" | "coronal" | "sagittal" | "native"
        ) {
            return Err(format!(
                "{at}: `volume.axis` must be axial, coronal, sagittal or native"
            ));
        }
        if serde_json::to_vec(&volume.window).map_or(usize::MAX, |v| v.len()) > MAX_WINDOW_BYTES {
            return Err(format!(
                "{at}: `volume.window` is larger than {MAX_WINDOW_BYTES} bytes"
            ));
        }
    }
    if let Some(model) = &case.model {
        refs.models.push(model.clone());
    }
    if case.steps.len() > MAX_STEPS {
        return Err(format!("{at}: more than {MAX_STEPS} preset prompts"));
    }
    if !case.steps.iter().all(step_is_finite) {
        return Err(format!("{at}: a preset prompt has a non-finite coordinate"));
    }
    if case.notes.len() > MAX_NOTES_BYTES {
        return Err(format!(
            "{at}: notes are longer than {MAX_NOTES_BYTES} bytes"
        ));
    }
    Ok(refs)
}

/// Longest `center,width` of a manual window (as `imaging::window::MAX_LABEL`): the
/// label a stored slice's descriptor carries.
const MAX_WINDOW_LABEL: usize = 64;

/// Why the manual window of a volume case could never label a stored slice (a
/// non-finite or non-positive width, bounds that overflow or coincide, a label over
/// [`MAX_WINDOW_LABEL`] characters); `None` for any other window (the slices endpoint
/// checks those when the slice is made).
pub(crate) fn window_problem(cases: &[Case]) -> Option<String> {
    cases.iter().enumerate().find_map(|(index, case)| {
        let label = case.volume.as_ref()?.window.text();
        let (center, width) = label.split_once(',')?;
        let (center, width): (f64, f64) = match (center.trim().parse(), width.trim().parse()) {
            (Ok(c), Ok(w)) => (c, w),
            _ => {
                return Some(format!(
                    "case {index}: `volume.window` `C,W` is not two numbers"
                ));
            }
        };
        let (lower, upper) = (center - width / 2.0, center + width / 2.0);
        let usable = center.is_finite()
            && width.is_finite()
            && width > 0.0
            && lower.is_finite()
            && upper.is_finite()
            && lower < upper
            && format!("{center},{width}").len() <= MAX_WINDOW_LABEL;
        (!usable).then(|| {
            format!(
                "case {index}: `volume.window` needs a finite center and width > 0 with finite, \
                 distinct bounds, at most {MAX_WINDOW_LABEL} characters as `C,W`"
            )
        })
    })
}

/// Checks a deck's title, the number of cases and each case; returns what they refer to.
pub(crate) fn check_deck(deck: &DeckInput) -> Result<References, String> {
    if deck.title.trim().is_empty() {
        return Err("a deck needs a title".into());
    }
    if let Some(problem) = title_problem("the deck title", &deck.title) {
        return Err(problem);
    }
    check_cases(&deck.cases)
}

/// Checks every case (at most [`MAX_CASES`]); returns what they refer to.
pub(crate) fn check_cases(cases: &[Case]) -> Result<References, String> {
    if cases.len() > MAX_CASES {
        return Err(format!("a deck holds at most {MAX_CASES} cases"));
    }
    let mut all = References::default();
    for (index, case) in cases.iter().enumerate() {
        let refs = check_case(case, &format!("case {index}"))?;
        all.images.extend(refs.images);
        all.masks.extend(refs.masks);
        all.volumes.extend(refs.volumes);
        all.models.extend(refs.models);
    }
    Ok(all)
}

/// A new random id: 128 bits as 32 hex characters.
pub(crate) fn random_id() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `text` has the form of a deck or session id.
pub fn is_deck_id(text: &str) -> bool {
    is_hex(text, 32)
}

fn write_cases(conn: &Connection, id: &str, cases: &[Case]) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM cases WHERE deck_id = ?1", params![id])?;
    let mut insert =
        conn.prepare("INSERT INTO cases (deck_id, position, body) VALUES (?1, ?2, ?3)")?;
    for (position, case) in cases.iter().enumerate() {
        let body = serde_json::to_string(case).expect("a case serialises");
        insert.execute(params![id, position as i64, body])?;
    }
    Ok(())
}

/// Stores a new deck (already checked) and returns it.
pub(crate) fn insert(conn: &mut Connection, input: &DeckInput, now: i64) -> rusqlite::Result<Deck> {
    let id = random_id();
    let tx = conn.transaction()?;
    tx.execute(
        "INSERT INTO decks (id, title, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)",
        params![id, input.title, now],
    )?;
    write_cases(&tx, &id, &input.cases)?;
    tx.commit()?;
    Ok(Deck {
        id,
        title: input.title.clone(),
        cases: input.cases.clone(),
        created_at: now,
        updated_at: now,
    })
}

/// Replaces a deck's title and cases; `Ok(None)` when there is no such deck.
pub(crate) fn replace(
    conn: &mut Connection,
    id: &str,
    input: &DeckInput,
    now: i64,
) -> rusqlite::Result<Option<Deck>> {
    let tx = conn.transaction()?;
    let changed = tx.execute(
        "UPDATE decks SET title = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, input.title, now],
    )?;
    if changed == 0 {
        return Ok(None);
    }
    write_cases(&tx, id, &input.cases)?;
    tx.commit()?;
    load(conn, id)
}

/// Appends a case (already checked); `Ok(None)` when there is no such deck, `Err` with
/// [`rusqlite::Error::QueryReturnedNoRows`] never. Returns the case's position, or
/// `Ok(Some(Err(())))` when the deck is full.
pub(crate) fn append(
    conn: &mut Connection,
    id: &str,
    case: &Case,
    now: i64,
) -> rusqlite::Result<Option<Result<usize, ()>>> {
    let tx = conn.transaction()?;
    let changed = tx.execute(
        "UPDATE decks SET updated_at = ?2 WHERE id = ?1",
        params![id, now],
    )?;
    if changed == 0 {
        return Ok(None);
    }
    let count: i64 = tx.query_row(
        "SELECT COUNT(*) FROM cases WHERE deck_id = ?1",
        params![id],
        |r| r.get(0),
    )?;
    if count as usize >= MAX_CASES {
        return Ok(Some(Err(())));
    }
    let body = serde_json::to_string(case).expect("a case serialises");
    tx.execute(
        "INSERT INTO cases (deck_id, position, body) VALUES (?1, ?2, ?3)",
        params![id, count, body],
    )?;
    tx.commit()?;
    Ok(Some(Ok(count as usize)))
}

/// Parses a stored case; a damaged row is an error, not a silently dropped case.
pub(crate) fn parse_case(body: &str) -> rusqlite::Result<Case> {
    serde_json::from_str(body).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// The deck `id`, or `None`.
pub(crate) fn load(conn: &Connection, id: &str) -> rusqlite::Result<Option<Deck>> {
    let head = conn
        .query_row(
            "SELECT title, created_at, updated_at FROM decks WHERE id = ?1",
            params![id],
            |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((title, created_at, updated_at)) = head else {
        return Ok(None);
    };
    let mut select = conn.prepare("SELECT body FROM cases WHERE deck_id = ?1 ORDER BY position")?;
    let cases = select
        .query_map(params![id], |r| r.get::<_, String>(0))?
        .map(|body| parse_case(&body?))
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Some(Deck {
        id: id.to_string(),
        title,
        cases,
        created_at,
        updated_at,
    }))
}

/// Every deck, most recently changed first.
pub(crate) fn list(conn: &Connection) -> rusqlite::Result<Vec<DeckSummary>> {
    let mut select = conn.prepare(
        "SELECT d.id, d.title, d.updated_at, (SELECT COUNT(*) FROM cases c WHERE c.deck_id = d.id)
         FROM decks d ORDER BY d.updated_at DESC, d.id",
    )?;
    select
        .query_map([], |r| {
            Ok(DeckSummary {
                id: r.get(0)?,
                title: r.get(1)?,
                updated_at: r.get(2)?,
                cases: r.get::<_, i64>(3)? as usize,
            })
        })?
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case() -> Case {
        Case {
            title: "liver".into(),
            image: "a".repeat(64),
            volume: None,
            model: None,
            gt: Some("b".repeat(64)),
            label: Some(6),
            steps: vec![Step {
                action: Action::Box {
                    x0: 1.0,
                    y0: 2.0,
                    x1: 30.0,
                    y1: 40.0,
                },
                chosen: None,
            }],
            notes: "**Note** the *dark* rim".into(),
        }
    }

    #[test]
    fn checks_name_the_case_and_field() {
        let mut deck = DeckInput {
            title: "Abdomen".into(),
            cases: vec![case(), case()],
        };
        let refs = check_deck(&deck).unwrap();
        assert_eq!(refs.images.len(), 2);
        assert_eq!(refs.masks.len(), 2);
        deck.cases[1].image = "nope".into();
        assert_eq!(
            check_deck(&deck).unwrap_err(),
            "case 1: `image` must be an image id (64 hex)"
        );
        deck.cases[1] = case();
        deck.cases[0].notes = "x".repeat(MAX_NOTES_BYTES + 1);
        assert!(check_deck(&deck).unwrap_err().starts_with("case 0: notes"));
        deck.cases[0] = case();
        deck.cases[0].steps[0].action = Action::Point {
            x: f64::NAN,
            y: 0.0,
            positive: true,
        };
        assert!(check_deck(&deck).unwrap_err().contains("non-finite"));
        deck.title = "  ".into();
        assert_eq!(check_deck(&deck).unwrap_err(), "a deck needs a title");
    }

    #[test]
    fn unknown_fields_are_refused() {
        let text = format!(r#"{{"image":"{}","patient":"x"}}"#, "a".repeat(64));
        assert!(serde_json::from_str::<Case>(&text).is_err());
    }

    #[test]
    fn insert_replace_append_load_list() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(include_str!("../migrations/0001_teaching.sql"))
            .unwrap();
        let input = DeckInput {
            title: "Abdomen".into(),
            cases: vec![case()],
        };
        let deck = insert(&mut conn, &input, 10).unwrap();
        assert!(is_deck_id(&deck.id));
        assert_eq!(load(&conn, &deck.id).unwrap().unwrap(), deck);
        let mut second = case();
        second.title = "spleen".into();
        assert_eq!(
            append(&mut conn, &deck.id, &second, 11).unwrap(),
            Some(Ok(1))
        );
        let loaded = load(&conn, &deck.id).unwrap().unwrap();
        assert_eq!(loaded.cases.len(), 2);
        assert_eq!(loaded.cases[1].title, "spleen");
        assert_eq!(loaded.updated_at, 11);
        let replaced = replace(
            &mut conn,
            &deck.id,
            &DeckInput {
                title: "Renamed".into(),
                cases: vec![second.clone()],
            },
            12,
        )
        .unwrap()
        .unwrap();
        assert_eq!(replaced.title, "Renamed");
        assert_eq!(replaced.cases, vec![second]);
        assert_eq!(load(&conn, &"0".repeat(32)).unwrap(), None);
        assert_eq!(
            append(&mut conn, &"0".repeat(32), &case(), 1).unwrap(),
            None
        );
        let listed = list(&conn).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].cases, 1);
    }
}
