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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{classroom, db::Db, deck};
    use api::DeckInput;

    fn case(image: char, gt: Option<char>) -> Case {
        serde_json::from_value(serde_json::json!({
            "title": "c",
            "image": image.to_string().repeat(64),
            "gt": gt.map(|g| g.to_string().repeat(64)),
        }))
        .unwrap()
    }

    fn deck(cases: Vec<Case>) -> DeckInput {
        DeckInput {
            title: "t".into(),
            cases,
        }
    }

    #[test]
    fn decks_and_running_sessions_keep_what_they_name() {
        let dir = std::env::temp_dir().join(format!("samscope-in-use-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let db = Db::open(&dir).unwrap();
        let ids = |set: &HashSet<String>| {
            let mut chars: Vec<char> = set.iter().map(|id| id.chars().next().unwrap()).collect();
            chars.sort();
            chars
        };
        let stored = db
            .with(|c| deck::insert(c, &deck(vec![case('a', Some('b')), case('c', None)]), 10))
            .unwrap();
        let in_use = db.with(|c| content_in_use(c, 10)).unwrap();
        assert_eq!(ids(&in_use.images), ['a', 'c']);
        assert_eq!(ids(&in_use.masks), ['b']);
        assert!(in_use.volumes.is_empty());

        // A session keeps the cases its deck had when it started.
        let started = db.with(|c| classroom::start(c, &stored, 1, 10)).unwrap();
        db.with(|c| deck::replace(c, &stored.id, &deck(vec![case('d', None)]), 20))
            .unwrap()
            .unwrap();
        let in_use = db.with(|c| content_in_use(c, 20)).unwrap();
        assert_eq!(ids(&in_use.images), ['a', 'c', 'd']);
        let in_use = db.with(|c| content_in_use(c, started.expires_at)).unwrap();
        assert_eq!(
            ids(&in_use.images),
            ['d'],
            "an expired session keeps nothing"
        );
        drop(db);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
