//! Teaching: decks of cases and live sessions that students follow.
//!
//! Decks and sessions are rows of an embedded SQLite database in the data directory
//! (`teaching.sqlite`, schema in `crates/server/migrations/`); images, masks and volumes
//! stay in the content store and cases refer to them by id. A session has two capability
//! keys, stored only as sha256: the instructor's drives it, the students' follows it. No
//! accounts, nothing about a person: a student is a random id their browser picked.
//!
//! Every method here blocks (SQLite, file I/O): handlers call them through
//! [`crate::embeddings::blocking`].

pub mod bundle;
pub mod classroom;
pub mod db;
pub mod deck;
pub mod live;
pub(crate) mod routes;

use std::path::Path;
use std::sync::Arc;

use sam::RgbImage;

use crate::error::{ApiError, ServerError};
use crate::image_id::{ImageId, PREPROCESSING_V1};
use crate::store::Store;
use classroom::{Role, SessionRow, Started, StudentResult};
use db::{Db, DbError, now};
use deck::{Case, Deck, DeckInput, DeckSummary, References};
use live::{Live, Room};

fn db_error(e: rusqlite::Error) -> ApiError {
    ApiError::internal(format!("teaching database: {e}"))
}

/// Checks that every image, mask and volume `refs` names is in `store`.
pub(crate) fn check_stored(store: &Store, refs: &References) -> Result<(), ApiError> {
    let missing = |what: &str, id: String, how: &str| {
        ApiError::Invalid(format!(
            "{what} {id} is not on this server; upload it with {how} first"
        ))
    };
    if let Some(id) = refs.images.iter().find(|id| !store.has_image(id)) {
        return Err(missing("image", id.to_string(), "POST /api/v1/images"));
    }
    if let Some(id) = refs.masks.iter().find(|id| !store.has_mask(id)) {
        return Err(missing("mask", id.to_string(), "POST /api/v1/masks"));
    }
    if let Some(id) = refs.volumes.iter().find(|id| !store.has_volume(id)) {
        return Err(missing("volume", id.to_string(), "POST /api/v1/images"));
    }
    Ok(())
}

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
    pub fn open(data_dir: &Path) -> Result<Self, DbError> {
        let db = Db::open(data_dir)?;
        db.with(|c| classroom::sweep(c, now()))?;
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
        store: &Store,
        input: &DeckInput,
        model_ok: &dyn Fn(&str) -> Result<(), ApiError>,
    ) -> Result<Deck, ApiError> {
        self.check_deck(store, input, model_ok)?;
        self.db
            .with(|c| deck::insert(c, input, now()))
            .map_err(db_error)
    }

    fn check_deck(
        &self,
        store: &Store,
        input: &DeckInput,
        model_ok: &dyn Fn(&str) -> Result<(), ApiError>,
    ) -> Result<(), ApiError> {
        let refs = input.check().map_err(ApiError::Invalid)?;
        check_stored(store, &refs)?;
        refs.models.iter().try_for_each(|m| model_ok(m))
    }

    /// Replaces a deck's title and cases.
    pub fn replace_deck(
        &self,
        store: &Store,
        id: &str,
        input: &DeckInput,
        model_ok: &dyn Fn(&str) -> Result<(), ApiError>,
    ) -> Result<Deck, ApiError> {
        self.check_deck(store, input, model_ok)?;
        self.db
            .with(|c| deck::replace(c, id, input, now()))
            .map_err(db_error)?
            .ok_or_else(|| ApiError::DeckNotFound(id.to_string()))
    }

    /// Appends a case to a deck; returns its position.
    pub fn add_case(
        &self,
        store: &Store,
        id: &str,
        case: &Case,
        model_ok: &dyn Fn(&str) -> Result<(), ApiError>,
    ) -> Result<usize, ApiError> {
        let refs = deck::check_cases(std::slice::from_ref(case)).map_err(ApiError::Invalid)?;
        check_stored(store, &refs)?;
        refs.models.iter().try_for_each(|m| model_ok(m))?;
        match self
            .db
            .with(|c| deck::append(c, id, case, now()))
            .map_err(db_error)?
        {
            None => Err(ApiError::DeckNotFound(id.to_string())),
            Some(Err(())) => Err(ApiError::Invalid(format!(
                "the deck already has {} cases, the most a deck holds",
                deck::MAX_CASES
            ))),
            Some(Ok(position)) => Ok(position),
        }
    }

    /// The deck `id`.
    pub fn deck(&self, id: &str) -> Result<Deck, ApiError> {
        if !deck::is_deck_id(id) {
            return Err(ApiError::DeckNotFound(crate::error::echo(id)));
        }
        self.db
            .with(|c| deck::load(c, id))
            .map_err(db_error)?
            .ok_or_else(|| ApiError::DeckNotFound(id.to_string()))
    }

    /// Every deck, most recently changed first.
    pub fn decks(&self) -> Result<Vec<DeckSummary>, ApiError> {
        self.db.with(|c| deck::list(c)).map_err(db_error)
    }

    /// The deck file of deck `id` (see [`bundle`]).
    pub fn export(
        &self,
        store: &Store,
        limits: &imaging::Limits,
        id: &str,
    ) -> Result<(Deck, Vec<u8>), ApiError> {
        let deck = self.deck(id)?;
        let bytes = bundle::export(store, limits, &deck)?;
        Ok((deck, bytes))
    }

    /// Imports a deck file as a new deck.
    pub fn import(
        &self,
        store: &Store,
        limits: &imaging::Limits,
        bytes: &[u8],
        model_ok: &dyn Fn(&str) -> Result<(), ApiError>,
    ) -> Result<Deck, ApiError> {
        let input = bundle::import(store, limits, bytes)?;
        self.create_deck(store, &input, model_ok)
    }

    /// Starts a session on deck `id` lasting `hours` (1 to [`classroom::MAX_HOURS`]).
    pub fn start_session(&self, id: &str, hours: u32) -> Result<Started, ApiError> {
        if !(1..=classroom::MAX_HOURS).contains(&hours) {
            return Err(ApiError::Invalid(format!(
                "`hours` must be between 1 and {}",
                classroom::MAX_HOURS
            )));
        }
        let deck = self.deck(id)?;
        if deck.cases.is_empty() {
            return Err(ApiError::Invalid(
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

    /// The session `key` opens; 404 for an unknown key, 410 once it has expired.
    pub fn open_key(&self, key: &str) -> Result<Opened, ApiError> {
        if !classroom::is_key(key) {
            return Err(ApiError::SessionNotFound);
        }
        let (row, role) = self
            .db
            .with(|c| classroom::find(c, key))
            .map_err(db_error)?
            .ok_or(ApiError::SessionNotFound)?;
        let now = now();
        if now >= row.expires_at {
            return Err(ApiError::SessionExpired);
        }
        let room = self.live.room(&row, now, || {
            self.db
                .with(|c| classroom::students(c, &row.id))
                .unwrap_or_default()
        });
        Ok(Opened { row, room, role })
    }

    /// Moves everyone to `case` (instructor only).
    pub fn set_current(&self, opened: &Opened, case: usize) -> Result<(), ApiError> {
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
    pub fn set_revealed(&self, opened: &Opened, case: usize, shown: bool) -> Result<(), ApiError> {
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
    pub fn record(
        &self,
        opened: &Opened,
        student: &str,
        result: &StudentResult,
    ) -> Result<(), ApiError> {
        if opened.role != Role::Student {
            return Err(ApiError::Invalid(
                "results come from student links; the instructor's link does not post them".into(),
            ));
        }
        if !classroom::is_student_id(student) {
            return Err(ApiError::Invalid(
                "`student` must be 8–64 letters, digits, `-` or `_`".into(),
            ));
        }
        result
            .check(opened.row.cases.len())
            .map_err(ApiError::Invalid)?;
        if !opened.room.admit(student, classroom::MAX_STUDENTS) {
            return Err(ApiError::SessionFull(classroom::MAX_STUDENTS));
        }
        self.db
            .with(|c| classroom::record(c, &opened.row.id, student, result, now()))
            .map_err(db_error)?;
        opened.room.results_changed();
        Ok(())
    }

    /// How the class did on each case (instructor only).
    pub fn results(&self, opened: &Opened) -> Result<Vec<classroom::CaseResults>, ApiError> {
        instructor_only(opened)?;
        self.db
            .with(|c| classroom::results(c, &opened.row.id, opened.row.cases.len()))
            .map_err(db_error)
    }
}

fn instructor_only(opened: &Opened) -> Result<(), ApiError> {
    match opened.role {
        Role::Instructor => Ok(()),
        Role::Student => Err(ApiError::InstructorOnly),
    }
}

fn check_case(opened: &Opened, case: usize) -> Result<(), ApiError> {
    if case >= opened.row.cases.len() {
        return Err(ApiError::Invalid(format!(
            "`case` must be below {}",
            opened.row.cases.len()
        )));
    }
    Ok(())
}

/// Decks in a data directory without a running server (`samscope deck`): the same
/// checks and storage as the HTTP API. A server on the same directory sees the changes
/// (SQLite in WAL mode; the content store is written atomically).
#[derive(Debug)]
pub struct DeckLibrary {
    store: Store,
    teaching: Teaching,
    limits: imaging::Limits,
}

impl DeckLibrary {
    /// Opens (creating) the data directory's store and teaching database.
    pub fn open(data_dir: &Path) -> Result<Self, ServerError> {
        let data_error = |source| ServerError::DataDir {
            path: data_dir.to_path_buf(),
            source,
        };
        let store = Store::open(data_dir).map_err(data_error)?;
        let teaching = Teaching::open(data_dir)
            .map_err(|e| data_error(std::io::Error::other(e.to_string())))?;
        Ok(Self {
            store,
            teaching,
            limits: crate::config::ServerLimits::default().imaging(),
        })
    }

    /// Stores 8-bit RGB pixels as an uploaded image; returns its id (as
    /// `POST /api/v1/images` would for the same pixels).
    pub fn add_image(&self, image: &RgbImage) -> Result<ImageId, ApiError> {
        let id = ImageId::of_pixels(
            PREPROCESSING_V1,
            image.width as u32,
            image.height as u32,
            &image.pixels,
        );
        self.store
            .put_image(id, image)
            .map_err(|e| ApiError::internal(format!("storing image {id}: {e}")))?;
        Ok(id)
    }

    /// Stores a ground-truth mask file verbatim (after checking it decodes); returns its id.
    pub fn add_mask(&self, bytes: &[u8]) -> Result<ImageId, ApiError> {
        imaging::decode_image(bytes, &self.limits)?;
        self.store
            .put_mask(bytes)
            .map_err(|e| ApiError::internal(format!("storing a mask: {e}")))
    }

    /// Creates a deck (models are not checked: no server is running).
    pub fn create(&self, input: &DeckInput) -> Result<Deck, ApiError> {
        self.teaching.create_deck(&self.store, input, &|_| Ok(()))
    }

    /// Every deck.
    pub fn list(&self) -> Result<Vec<DeckSummary>, ApiError> {
        self.teaching.decks()
    }

    /// The deck file of deck `id`.
    pub fn export(&self, id: &str) -> Result<Vec<u8>, ApiError> {
        Ok(self.teaching.export(&self.store, &self.limits, id)?.1)
    }

    /// Imports a deck file as a new deck.
    pub fn import(&self, bytes: &[u8]) -> Result<Deck, ApiError> {
        self.teaching
            .import(&self.store, &self.limits, bytes, &|_| Ok(()))
    }

    /// Starts a session on deck `id`.
    pub fn start_session(&self, id: &str, hours: u32) -> Result<Started, ApiError> {
        self.teaching.start_session(id, hours)
    }
}
