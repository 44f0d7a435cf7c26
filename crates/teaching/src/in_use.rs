//! What decks and running sessions refer to in the content store, so that the server's
//! disk budget never evicts it.

use std::collections::HashSet;

use api::Case;
use rusqlite::Connection;

/// Content ids (64 hex) that some deck or unexpired session names.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ContentInUse {
    /// Images (plain uploads and volume slices).
    pub images: HashSet<String>,
    /// Ground-truth masks.
    pub masks: HashSet<String>,
    /// Volumes.
    pub volumes: HashSet<String>,
}

impl ContentInUse {
    fn add(&mut self, case: Case) {
        self.images.insert(case.image);
        if let Some(gt) = case.gt {
            self.masks.insert(gt);
        }
        if let Some(volume) = case.volume {
            self.volumes.insert(volume.id);
        }
    }
}

fn unreadable(column: usize, e: serde_json::Error) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(e))
}

/// Every id the cases of every deck and of every session not expired at `now` name (a
/// session keeps the cases its deck had when it started). A stored case that does not
/// parse is an error: the caller must then assume everything is in use.
pub(crate) fn content_in_use(conn: &Connection, now: i64) -> rusqlite::Result<ContentInUse> {
    let mut in_use = ContentInUse::default();
    let mut cases = conn.prepare("SELECT body FROM cases")?;
    for body in cases.query_map([], |row| row.get::<_, String>(0))? {
        in_use.add(serde_json::from_str(&body?).map_err(|e| unreadable(0, e))?);
    }
    let mut sessions = conn.prepare("SELECT cases FROM sessions WHERE expires_at > ?1")?;
    for body in sessions.query_map([now], |row| row.get::<_, String>(0))? {
        let cases: Vec<Case> = serde_json::from_str(&body?).map_err(|e| unreadable(0, e))?;
        cases.into_iter().for_each(|case| in_use.add(case));
    }
    Ok(in_use)
}
