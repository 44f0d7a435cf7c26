//! The teaching database: one SQLite file in the data directory, opened in WAL mode (so
//! `samscope deck` can write while a server reads), migrated on open.

use std::path::Path;
use std::sync::{Mutex, PoisonError};

use rusqlite::Connection;

use crate::error::{TeachingError, db_error};

/// Schema migrations, applied in order; `PRAGMA user_version` counts those applied.
const MIGRATIONS: &[&str] = &[include_str!("../migrations/0001_teaching.sql")];

/// Name of the database file inside the data directory.
pub(crate) const FILE_NAME: &str = "teaching.sqlite";

/// A connection shared by the handlers (SQLite serialises writers anyway; every
/// statement here is short).
#[derive(Debug)]
pub(crate) struct Db {
    conn: Mutex<Connection>,
}

impl Db {
    /// Opens (creating) `data_dir/teaching.sqlite` and applies pending migrations.
    pub(crate) fn open(data_dir: &Path) -> Result<Self, TeachingError> {
        let mut conn = connect(&data_dir.join(FILE_NAME)).map_err(db_error)?;
        migrate(&mut conn)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    /// Runs `work` with the connection (blocking: call it off the async runtime).
    pub(crate) fn with<T>(
        &self,
        work: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        let mut conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        work(&mut conn)
    }
}

/// Opens `path` in WAL mode with foreign keys on.
fn connect(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// Applies the migrations the file has not seen, each in its own transaction.
fn migrate(conn: &mut Connection) -> Result<(), TeachingError> {
    migrate_sqlite(conn).map_err(db_error)?
}

/// [`migrate`]: `Ok(Err)` for a file newer than this build.
fn migrate_sqlite(conn: &mut Connection) -> rusqlite::Result<Result<(), TeachingError>> {
    let applied: usize = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if applied > MIGRATIONS.len() {
        return Ok(Err(TeachingError::NewerDatabase {
            found: applied,
            known: MIGRATIONS.len(),
        }));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index + 1)?;
        tx.commit()?;
    }
    Ok(Ok(()))
}

/// Seconds since the Unix epoch.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_once_and_refuses_a_newer_file() {
        let dir = std::env::temp_dir().join(format!("samscope-db-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let _ = std::fs::remove_file(dir.join(FILE_NAME));
        let db = Db::open(&dir).unwrap();
        let version: usize = db
            .with(|c| c.query_row("PRAGMA user_version", [], |r| r.get(0)))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len());
        drop(db);
        // Reopening applies nothing twice.
        Db::open(&dir).unwrap();
        let conn = Connection::open(dir.join(FILE_NAME)).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let err = Db::open(&dir).unwrap_err();
        assert!(err.to_string().contains("newer"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
