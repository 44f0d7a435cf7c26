//! Teaching with samscope: decks of cases and live sessions that students follow.
//!
//! Decks and sessions are rows of an embedded SQLite database in the data directory
//! (`teaching.sqlite`, schema in `crates/teaching/migrations/`); images, masks and volumes
//! stay in the content store, which the caller provides through [`ContentStore`], and
//! cases refer to them by id. A session has two capability keys, stored only as sha256:
//! the instructor's drives it, the students' follows it. No accounts, nothing about a
//! person: a student is a random id their browser picked.
//!
//! The public API is the domain: [`Teaching`] (decks, sessions, results, deck files, the
//! live rooms), [`DeckLibrary`] (the same for a data directory without a server) and
//! [`TeachingError`]. The JSON shapes (decks, cases, classroom state, results) are the
//! contract types of `api`. Every method blocks (SQLite, file I/O): async callers run
//! them on a blocking thread.

#![warn(missing_docs)]

mod bundle;
pub mod classroom;
mod content;
mod db;
pub mod deck;
mod error;
mod in_use;
mod live;

use std::path::Path;
use std::sync::Arc;

use api::{Case, CaseResults, Deck, DeckInput, DeckSummary, ResultPost, Role};

pub use bundle::FORMAT as DECK_FILE_FORMAT;
pub use classroom::{SessionRow, Started};
pub use content::{ContentError, ContentStore, ImageFile};
pub use error::{ContentKind, TeachingError};
pub use in_use::ContentInUse;
pub use live::Room;

use classroom::StudentResult;
use db::{Db, now};
use deck::References;
use error::db_error;
use live::Live;

/// Checks that every image, mask and volume `refs` names is in `content`.
fn check_stored(content: &dyn ContentStore, refs: &References) -> Result<(), TeachingError> {
    let missing = |kind, id: &String, how| TeachingError::NotStored {
        kind,
        id: id.clone(),
        how,
    };
    if let Some(id) = refs.images.iter().find(|id| !content.has_image(id)) {
        return Err(missing(ContentKind::Image, id, "POST /api/v1/images"));
    }
    if let Some(id) = refs.masks.iter().find(|id| !content.has_mask(id)) {
        return Err(missing(ContentKind::Mask, id, "POST /api/v1/masks"));
    }
    if let Some(id) = refs.volumes.iter().find(|id| !content.has_volume(id)) {
        return Err(missing(ContentKind::Volume, id, "POST /api/v1/images"));
    }
    Ok(())
}

/// Whether a case's model is served: `Err` with a sentence naming those that are.
pub type ModelCheck<'a> = &'a dyn Fn(&str) -> Result<(), String>;

/// A session opened by a key: its stored row, its live room and the key's role.
#[derive(Debug, Clone)]
pub struct Opened {
    /// The stored session.
    pub row: SessionRow,
    /// Its live state.
    pub room: Arc<Room>,
    /// Who the key belongs to.
    pub role: Role,
}

/// Decks and sessions: the database and the live rooms.
#[derive(Debug)]
pub struct Teaching {
    db: Db,
    live: Live,
    /// Becomes true when the server shuts down: event streams end so that a graceful
    /// shutdown does not wait for followers.
    closing: tokio::sync::watch::Sender<bool>,
}

impl Teaching {
    /// Opens the database in `data_dir` (migrating it) and deletes long-expired sessions.
    pub fn open(data_dir: &Path) -> Result<Self, TeachingError> {
        let db = Db::open(data_dir)?;
        db.with(|c| classroom::sweep(c, now())).map_err(db_error)?;
        Ok(Self {
            db,
            live: Live::default(),
            closing: tokio::sync::watch::Sender::new(false),
        })
    }

    /// Ends every event stream (the server is shutting down).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Resolves once [`Teaching::close`] was called.
    pub fn closed(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut receiver = self.closing.subscribe();
        async move {
            // An error means the sender is gone: the server is gone too.
            let _ = receiver.wait_for(|closing| *closing).await;
        }
    }

    /// Creates a deck after checking it and that what it refers to is stored; `model_ok`
    /// says whether a case's model name is served.
    pub fn create_deck(
        &self,
        content: &dyn ContentStore,
        input: &DeckInput,
        model_ok: ModelCheck<'_>,
    ) -> Result<Deck, TeachingError> {
        check_deck(content, input, model_ok)?;
        self.db
            .with(|c| deck::insert(c, input, now()))
            .map_err(db_error)
    }

    /// Replaces a deck's title and cases.
    pub fn replace_deck(
        &self,
        content: &dyn ContentStore,
        id: &str,
        input: &DeckInput,
        model_ok: ModelCheck<'_>,
    ) -> Result<Deck, TeachingError> {
        check_deck(content, input, model_ok)?;
        self.db
            .with(|c| deck::replace(c, id, input, now()))
            .map_err(db_error)?
            .ok_or_else(|| TeachingError::DeckNotFound(id.to_string()))
    }

    /// Appends a case to a deck; returns its position.
    pub fn add_case(
        &self,
        content: &dyn ContentStore,
        id: &str,
        case: &Case,
        model_ok: ModelCheck<'_>,
    ) -> Result<usize, TeachingError> {
        let refs = deck::check_cases(std::slice::from_ref(case)).map_err(TeachingError::Invalid)?;
        check_stored(content, &refs)?;
        check_models(&refs, model_ok)?;
        match self
            .db
            .with(|c| deck::append(c, id, case, now()))
            .map_err(db_error)?
        {
            None => Err(TeachingError::DeckNotFound(id.to_string())),
            Some(Err(())) => Err(TeachingError::Invalid(format!(
                "the deck already has {} cases, the most a deck holds",
                deck::MAX_CASES
            ))),
            Some(Ok(position)) => Ok(position),
        }
    }

    /// The deck `id`.
    pub fn deck(&self, id: &str) -> Result<Deck, TeachingError> {
        if !deck::is_deck_id(id) {
            return Err(TeachingError::DeckNotFound(echo(id)));
        }
        self.db
            .with(|c| deck::load(c, id))
            .map_err(db_error)?
            .ok_or_else(|| TeachingError::DeckNotFound(id.to_string()))
    }

    /// Every deck, most recently changed first.
    pub fn decks(&self) -> Result<Vec<DeckSummary>, TeachingError> {
        self.db.with(|c| deck::list(c)).map_err(db_error)
    }

    /// The deck file of deck `id` (`samscope-deck/v1`, [`DECK_FILE_FORMAT`]), with every
    /// image, mask and volume its cases use.
    pub fn export(
        &self,
        content: &dyn ContentStore,
        id: &str,
    ) -> Result<(Deck, Vec<u8>), TeachingError> {
        let deck = self.deck(id)?;
        let bytes = bundle::export(content, &deck)?;
        Ok((deck, bytes))
    }

    /// Writes the deck file of `deck` (as [`Teaching::export`] makes it, byte for byte) to
    /// `out` one blob at a time, so memory does not grow with the deck. Blocking.
    pub fn write_export(
        &self,
        content: &dyn ContentStore,
        deck: &Deck,
        out: &mut dyn std::io::Write,
    ) -> Result<(), TeachingError> {
        bundle::write_export(content, deck, out)
    }

    /// Imports a deck file as a new deck (storing the content it carries).
    pub fn import(
        &self,
        content: &dyn ContentStore,
        bytes: &[u8],
        model_ok: ModelCheck<'_>,
    ) -> Result<Deck, TeachingError> {
        let input = bundle::import(content, bytes)?;
        self.create_deck(content, &input, model_ok)
    }

    /// Starts a session on deck `id` lasting `hours` (1 to [`classroom::MAX_HOURS`]).
    pub fn start_session(&self, id: &str, hours: u32) -> Result<Started, TeachingError> {
        if !(1..=classroom::MAX_HOURS).contains(&hours) {
            return Err(TeachingError::Invalid(format!(
                "`hours` must be between 1 and {}",
                classroom::MAX_HOURS
            )));
        }
        let deck = self.deck(id)?;
        if deck.cases.is_empty() {
            return Err(TeachingError::Invalid(
                "the deck has no cases; add one before starting a session".into(),
            ));
        }
        self.db
            .with(|c| {
                classroom::sweep(c, now())?;
                classroom::start(c, &deck, hours, now())
            })
            .map_err(db_error)
    }

    /// The session `key` opens; not found for an unknown key, expired once it has ended.
    pub fn open_key(&self, key: &str) -> Result<Opened, TeachingError> {
        if !classroom::is_key(key) {
            return Err(TeachingError::SessionNotFound);
        }
        let (row, role) = self
            .db
            .with(|c| classroom::find(c, key))
            .map_err(db_error)?
            .ok_or(TeachingError::SessionNotFound)?;
        let now = now();
        if now >= row.expires_at {
            return Err(TeachingError::SessionExpired);
        }
        let room = self.live.room(&row, now, || {
            self.db
                .with(|c| classroom::students(c, &row.id))
                .unwrap_or_default()
        });
        Ok(Opened { row, room, role })
    }

    /// Seconds until the session `opened` ends (0 once it has).
    pub fn seconds_left(opened: &Opened) -> u64 {
        (opened.row.expires_at - now()).max(0) as u64
    }

    /// Moves everyone to `case` (instructor only).
    pub fn set_current(&self, opened: &Opened, case: usize) -> Result<(), TeachingError> {
        instructor_only(opened)?;
        check_case(opened, case)?;
        self.db
            .with(|c| classroom::set_current(c, &opened.row.id, case))
            .map_err(db_error)?;
        let mut state = opened.room.state();
        state.current = case;
        opened.room.publish(state);
        Ok(())
    }

    /// Reveals or hides a case's answer for everyone (instructor only).
    pub fn set_revealed(
        &self,
        opened: &Opened,
        case: usize,
        shown: bool,
    ) -> Result<(), TeachingError> {
        instructor_only(opened)?;
        check_case(opened, case)?;
        let revealed = self
            .db
            .with(|c| classroom::set_revealed(c, &opened.row.id, case, shown))
            .map_err(db_error)?;
        let mut state = opened.room.state();
        state.revealed = revealed;
        opened.room.publish(state);
        Ok(())
    }

    /// Records a student's latest result on a case (student links only).
    pub fn record(&self, opened: &Opened, post: &ResultPost) -> Result<(), TeachingError> {
        if opened.role != Role::Student {
            return Err(TeachingError::Invalid(
                "results come from student links; the instructor's link does not post them".into(),
            ));
        }
        if !classroom::is_student_id(&post.student) {
            return Err(TeachingError::Invalid(
                "`student` must be 8–64 letters, digits, `-` or `_`".into(),
            ));
        }
        let result = StudentResult {
            case: post.case,
            dice: post.dice,
            iou: post.iou,
            clicks: post.clicks,
        };
        result
            .check(opened.row.cases.len())
            .map_err(TeachingError::Invalid)?;
        if !opened.room.admit(&post.student, classroom::MAX_STUDENTS) {
            return Err(TeachingError::SessionFull(classroom::MAX_STUDENTS));
        }
        self.db
            .with(|c| classroom::record(c, &opened.row.id, &post.student, &result, now()))
            .map_err(db_error)?;
        opened.room.results_changed();
        Ok(())
    }

    /// The images, masks and volumes that decks and running sessions use (what a disk
    /// budget must never evict).
    pub fn content_in_use(&self) -> Result<ContentInUse, TeachingError> {
        self.db
            .with(|c| in_use::content_in_use(c, now()))
            .map_err(db_error)
    }

    /// How the class did on each case (instructor only).
    pub fn results(&self, opened: &Opened) -> Result<Vec<CaseResults>, TeachingError> {
        instructor_only(opened)?;
        self.db
            .with(|c| classroom::results(c, &opened.row.id, opened.row.cases.len()))
            .map_err(db_error)
    }
}

fn check_deck(
    content: &dyn ContentStore,
    input: &DeckInput,
    model_ok: ModelCheck<'_>,
) -> Result<(), TeachingError> {
    let refs = deck::check_deck(input).map_err(TeachingError::Invalid)?;
    check_stored(content, &refs)?;
    check_models(&refs, model_ok)
}

fn check_models(refs: &References, model_ok: ModelCheck<'_>) -> Result<(), TeachingError> {
    refs.models
        .iter()
        .try_for_each(|m| model_ok(m).map_err(TeachingError::UnknownModel))
}

fn instructor_only(opened: &Opened) -> Result<(), TeachingError> {
    match opened.role {
        Role::Instructor => Ok(()),
        Role::Student => Err(TeachingError::InstructorOnly),
    }
}

fn check_case(opened: &Opened, case: usize) -> Result<(), TeachingError> {
    if case >= opened.row.cases.len() {
        return Err(TeachingError::Invalid(format!(
            "`case` must be below {}",
            opened.row.cases.len()
        )));
    }
    Ok(())
}

/// Longest piece of caller input quoted back in an error.
const ECHO_MAX: usize = 64;

/// `text` cut to [`ECHO_MAX`] characters, for quoting input back safely.
fn echo(text: &str) -> String {
    let mut out: String = text.chars().take(ECHO_MAX).collect();
    if text.chars().count() > ECHO_MAX {
        out.push('…');
    }
    out
}

/// Decks in a data directory without a running server (`samscope deck`): the same
/// checks and storage as the HTTP API. A server on the same directory sees the changes
/// (SQLite in WAL mode; the content store writes atomically).
pub struct DeckLibrary<C> {
    content: C,
    teaching: Teaching,
}

impl<C: ContentStore> DeckLibrary<C> {
    /// Opens (creating) the teaching database of `data_dir`, whose content store is
    /// `content`.
    pub fn open(data_dir: &Path, content: C) -> Result<Self, TeachingError> {
        Ok(Self {
            content,
            teaching: Teaching::open(data_dir)?,
        })
    }

    /// The content store (to add the images and masks cases refer to).
    pub fn content(&self) -> &C {
        &self.content
    }

    /// Creates a deck (models are not checked: no server is running).
    pub fn create(&self, input: &DeckInput) -> Result<Deck, TeachingError> {
        self.teaching.create_deck(&self.content, input, &|_| Ok(()))
    }

    /// Every deck.
    pub fn list(&self) -> Result<Vec<DeckSummary>, TeachingError> {
        self.teaching.decks()
    }

    /// The deck file of deck `id`.
    pub fn export(&self, id: &str) -> Result<Vec<u8>, TeachingError> {
        Ok(self.teaching.export(&self.content, id)?.1)
    }

    /// Imports a deck file as a new deck.
    pub fn import(&self, bytes: &[u8]) -> Result<Deck, TeachingError> {
        self.teaching.import(&self.content, bytes, &|_| Ok(()))
    }

    /// Starts a session on deck `id`.
    pub fn start_session(&self, id: &str, hours: u32) -> Result<Started, TeachingError> {
        self.teaching.start_session(id, hours)
    }
}
