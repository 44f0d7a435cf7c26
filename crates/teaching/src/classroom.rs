//! Teaching sessions in the database: two capability keys per session (instructor,
//! students) stored only as sha256, a snapshot of the deck, the current case, revealed
//! cases, and each student's latest result per case.

use api::{Case, CaseResults, Deck, Role};
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

use crate::deck;

/// Session lifetime when the instructor does not choose one.
pub const DEFAULT_HOURS: u32 = 8;
/// Longest session lifetime.
pub const MAX_HOURS: u32 = 24 * 7;
/// Most students one session accepts.
pub const MAX_STUDENTS: usize = 1000;
/// Expired sessions (and their results) are deleted this long after they end.
pub const KEEP_EXPIRED_S: i64 = 24 * 3600;

/// A key: 192 random bits as 48 hex characters. Only its sha256 is stored.
pub(crate) fn new_key() -> String {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `text` has the form of a key (checked before any lookup).
pub fn is_key(text: &str) -> bool {
    deck::is_hex(text, 48)
}

fn key_hash(key: &str) -> String {
    format!("{:x}", Sha256::digest(key.as_bytes()))
}

/// What starting a session returns (the keys are shown once, never stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    /// The instructor's key (`/#teach=KEY`).
    pub instructor_key: String,
    /// The students' key (`/#join=KEY`).
    pub student_key: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// A session as stored.
#[derive(Debug, Clone)]
pub struct SessionRow {
    /// Internal id (never in a link).
    pub id: String,
    /// Deck title when started.
    pub title: String,
    /// Deck cases when started.
    pub cases: Vec<Case>,
    /// Unix seconds.
    pub expires_at: i64,
    /// Index of the case everyone follows.
    pub current: usize,
    /// Revealed cases, ascending.
    pub revealed: Vec<usize>,
}

/// Starts a session on `deck` for `hours`.
pub(crate) fn start(
    conn: &mut Connection,
    deck: &Deck,
    hours: u32,
    now: i64,
) -> rusqlite::Result<Started> {
    let started = Started {
        instructor_key: new_key(),
        student_key: new_key(),
        expires_at: now + i64::from(hours) * 3600,
    };
    let cases = serde_json::to_string(&deck.cases).expect("cases serialise");
    conn.execute(
        "INSERT INTO sessions (id, deck_id, title, cases, instructor_key_hash, student_key_hash,
                               created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            deck::random_id(),
            deck.id,
            deck.title,
            cases,
            key_hash(&started.instructor_key),
            key_hash(&started.student_key),
            now,
            started.expires_at
        ],
    )?;
    Ok(started)
}

/// The session `key` opens, and as whom; `None` for an unknown key.
pub(crate) fn find(conn: &Connection, key: &str) -> rusqlite::Result<Option<(SessionRow, Role)>> {
    let hash = key_hash(key);
    let row = conn
        .query_row(
            "SELECT id, title, cases, expires_at, current_case, instructor_key_hash = ?1
             FROM sessions WHERE instructor_key_hash = ?1 OR student_key_hash = ?1",
            params![hash],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, bool>(5)?,
                ))
            },
        )
        .optional()?;
    let Some((id, title, cases, expires_at, current, instructor)) = row else {
        return Ok(None);
    };
    let cases: Vec<Case> = serde_json::from_str(&cases).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, Box::new(e))
    })?;
    let revealed = revealed(conn, &id)?;
    let role = if instructor {
        Role::Instructor
    } else {
        Role::Student
    };
    Ok(Some((
        SessionRow {
            id,
            title,
            cases,
            expires_at,
            current: current as usize,
            revealed,
        },
        role,
    )))
}

fn revealed(conn: &Connection, session: &str) -> rusqlite::Result<Vec<usize>> {
    let mut select =
        conn.prepare("SELECT case_index FROM reveals WHERE session_id = ?1 ORDER BY case_index")?;
    select
        .query_map(params![session], |r| r.get::<_, i64>(0).map(|v| v as usize))?
        .collect()
}

/// Sets the case everyone follows.
pub(crate) fn set_current(conn: &Connection, session: &str, case: usize) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE sessions SET current_case = ?2 WHERE id = ?1",
        params![session, case as i64],
    )?;
    Ok(())
}

/// Reveals (or hides again) a case's ground truth and paper-protocol result; returns the
/// revealed cases.
pub(crate) fn set_revealed(
    conn: &Connection,
    session: &str,
    case: usize,
    shown: bool,
) -> rusqlite::Result<Vec<usize>> {
    if shown {
        conn.execute(
            "INSERT OR IGNORE INTO reveals (session_id, case_index) VALUES (?1, ?2)",
            params![session, case as i64],
        )?;
    } else {
        conn.execute(
            "DELETE FROM reveals WHERE session_id = ?1 AND case_index = ?2",
            params![session, case as i64],
        )?;
    }
    revealed(conn, session)
}

/// One student's latest result on one case.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct StudentResult {
    /// Case index.
    pub case: usize,
    /// Dice against the case's ground truth, in [0, 1].
    pub dice: f64,
    /// IoU, in [0, 1].
    pub iou: f64,
    /// Prompts used so far.
    pub clicks: u32,
}

impl StudentResult {
    /// Checks ranges against a session of `cases` cases.
    pub(crate) fn check(&self, cases: usize) -> Result<(), String> {
        if self.case >= cases {
            return Err(format!("`case` must be below {cases}"));
        }
        for (name, value) in [("dice", self.dice), ("iou", self.iou)] {
            if !(0.0..=1.0).contains(&value) {
                return Err(format!("`{name}` must be a number in [0, 1]"));
            }
        }
        if self.clicks > 10_000 {
            return Err("`clicks` must be at most 10000".into());
        }
        Ok(())
    }
}

/// Whether `text` can be a student id: 8–64 letters, digits, `-` or `_` (the viewer
/// picks a random one per browser tab; it names no one).
pub fn is_student_id(text: &str) -> bool {
    (8..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Stores (replacing) a student's result.
pub(crate) fn record(
    conn: &Connection,
    session: &str,
    student: &str,
    result: &StudentResult,
    now: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO results (session_id, student, case_index, dice, iou, clicks, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (session_id, student, case_index)
         DO UPDATE SET dice = ?4, iou = ?5, clicks = ?6, updated_at = ?7",
        params![
            session,
            student,
            result.case as i64,
            result.dice,
            result.iou,
            result.clicks,
            now
        ],
    )?;
    Ok(())
}

/// The students who posted in a session.
pub(crate) fn students(conn: &Connection, session: &str) -> rusqlite::Result<Vec<String>> {
    let mut select = conn.prepare("SELECT DISTINCT student FROM results WHERE session_id = ?1")?;
    select
        .query_map(params![session], |r| r.get::<_, String>(0))?
        .collect()
}

fn summarise(case: usize, mut rows: Vec<(f64, f64, u32)>) -> CaseResults {
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = rows.len();
    let mean = |f: &dyn Fn(&(f64, f64, u32)) -> f64| {
        if n == 0 {
            0.0
        } else {
            rows.iter().map(f).sum::<f64>() / n as f64
        }
    };
    let median = match n {
        0 => 0.0,
        _ if n % 2 == 1 => rows[n / 2].0,
        _ => (rows[n / 2 - 1].0 + rows[n / 2].0) / 2.0,
    };
    let mut histogram = [0usize; 10];
    for (dice, _, _) in &rows {
        histogram[((dice * 10.0) as usize).min(9)] += 1;
    }
    CaseResults {
        case,
        students: n,
        mean_dice: mean(&|r| r.0),
        median_dice: median,
        mean_iou: mean(&|r| r.1),
        mean_clicks: mean(&|r| f64::from(r.2)),
        dice: rows.iter().map(|r| r.0).collect(),
        histogram,
    }
}

/// How the class did on each of `cases` cases.
pub(crate) fn results(
    conn: &Connection,
    session: &str,
    cases: usize,
) -> rusqlite::Result<Vec<CaseResults>> {
    let mut per_case: Vec<Vec<(f64, f64, u32)>> = vec![Vec::new(); cases];
    let mut select =
        conn.prepare("SELECT case_index, dice, iou, clicks FROM results WHERE session_id = ?1")?;
    let rows = select.query_map(params![session], |r| {
        Ok((
            r.get::<_, i64>(0)? as usize,
            r.get::<_, f64>(1)?,
            r.get::<_, f64>(2)?,
            r.get::<_, u32>(3)?,
        ))
    })?;
    for row in rows {
        let (case, dice, iou, clicks) = row?;
        if let Some(list) = per_case.get_mut(case) {
            list.push((dice, iou, clicks));
        }
    }
    Ok(per_case
        .into_iter()
        .enumerate()
        .map(|(case, rows)| summarise(case, rows))
        .collect())
}

/// Deletes sessions that ended more than [`KEEP_EXPIRED_S`] ago (their reveals and
/// results go with them); returns how many.
pub(crate) fn sweep(conn: &Connection, now: i64) -> rusqlite::Result<usize> {
    conn.execute(
        "DELETE FROM sessions WHERE expires_at < ?1",
        params![now - KEEP_EXPIRED_S],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use api::DeckInput;

    fn db_with_deck() -> (Connection, Deck) {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA foreign_keys = ON;").unwrap();
        conn.execute_batch(include_str!("../migrations/0001_teaching.sql"))
            .unwrap();
        let case = Case {
            title: String::new(),
            image: "a".repeat(64),
            volume: None,
            model: None,
            gt: None,
            label: None,
            steps: vec![],
            notes: String::new(),
        };
        let deck = deck::insert(
            &mut conn,
            &DeckInput {
                title: "Deck".into(),
                cases: vec![case.clone(), case],
            },
            0,
        )
        .unwrap();
        (conn, deck)
    }

    #[test]
    fn keys_open_the_session_with_their_role_only() {
        let (mut conn, deck) = db_with_deck();
        let started = start(&mut conn, &deck, 2, 100).unwrap();
        assert!(is_key(&started.instructor_key) && is_key(&started.student_key));
        assert_ne!(started.instructor_key, started.student_key);
        assert_eq!(started.expires_at, 100 + 7200);
        let (row, role) = find(&conn, &started.instructor_key).unwrap().unwrap();
        assert_eq!(role, Role::Instructor);
        assert_eq!(row.cases.len(), 2);
        let (_, role) = find(&conn, &started.student_key).unwrap().unwrap();
        assert_eq!(role, Role::Student);
        assert!(find(&conn, &new_key()).unwrap().is_none());
        // Keys are not stored in the clear.
        let stored: String = conn
            .query_row("SELECT instructor_key_hash FROM sessions", [], |r| r.get(0))
            .unwrap();
        assert_ne!(stored, started.instructor_key);
    }

    #[test]
    fn results_summarise_the_latest_per_student() {
        let (mut conn, deck) = db_with_deck();
        let started = start(&mut conn, &deck, 1, 0).unwrap();
        let (row, _) = find(&conn, &started.student_key).unwrap().unwrap();
        let post = |student: &str, dice: f64, clicks: u32| {
            let result = StudentResult {
                case: 1,
                dice,
                iou: dice / (2.0 - dice),
                clicks,
            };
            result.check(2).unwrap();
            record(&conn, &row.id, student, &result, 1).unwrap();
        };
        post("student-a", 0.2, 1);
        post("student-a", 0.8, 3); // replaces 0.2
        post("student-b", 0.4, 1);
        post("student-c", 1.0, 2);
        let summary = results(&conn, &row.id, 2).unwrap();
        assert_eq!(summary[0].students, 0);
        let case = &summary[1];
        assert_eq!(case.students, 3);
        assert_eq!(case.dice, vec![0.4, 0.8, 1.0]);
        assert_eq!(case.median_dice, 0.8);
        assert!((case.mean_dice - 2.2 / 3.0).abs() < 1e-12);
        assert!((case.mean_clicks - 2.0).abs() < 1e-12);
        // Tenths of Dice: 0.4 → bin 4, 0.8 → bin 8, 1.0 → the last bin (9).
        assert_eq!(case.histogram, [0, 0, 0, 0, 1, 0, 0, 0, 1, 1]);
        assert_eq!(summary[0].histogram, [0; 10]);
        assert_eq!(students(&conn, &row.id).unwrap().len(), 3);
        let bad = StudentResult {
            case: 2,
            dice: 0.5,
            iou: 0.5,
            clicks: 1,
        };
        assert_eq!(bad.check(2).unwrap_err(), "`case` must be below 2");
        let nan = StudentResult {
            dice: f64::NAN,
            case: 0,
            ..bad
        };
        assert!(nan.check(2).unwrap_err().contains("dice"));
    }

    #[test]
    fn reveals_and_sweeping() {
        let (mut conn, deck) = db_with_deck();
        let started = start(&mut conn, &deck, 1, 0).unwrap();
        let (row, _) = find(&conn, &started.instructor_key).unwrap().unwrap();
        assert_eq!(set_revealed(&conn, &row.id, 1, true).unwrap(), vec![1]);
        assert_eq!(set_revealed(&conn, &row.id, 0, true).unwrap(), vec![0, 1]);
        assert_eq!(set_revealed(&conn, &row.id, 1, false).unwrap(), vec![0]);
        set_current(&conn, &row.id, 1).unwrap();
        assert_eq!(
            find(&conn, &started.student_key)
                .unwrap()
                .unwrap()
                .0
                .current,
            1
        );
        assert_eq!(sweep(&conn, 3600).unwrap(), 0);
        assert_eq!(sweep(&conn, 3600 + KEEP_EXPIRED_S + 1).unwrap(), 1);
        let left: i64 = conn
            .query_row("SELECT COUNT(*) FROM reveals", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 0);
    }
}
