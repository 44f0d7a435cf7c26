//! What can go wrong in teaching, in its own terms; the server maps each variant to an
//! HTTP status and a JSON `error` code (`server::ApiError`), the CLI prints it.

/// Why a teaching operation failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TeachingError {
    /// No deck has this id.
    #[error("no deck with id {0}; create one with POST /api/v1/decks")]
    DeckNotFound(String),
    /// A deck, case, session request or result is well-formed but not valid; the message
    /// names the case and field.
    #[error("{0}")]
    Invalid(String),
    /// A case names an image, mask or volume the content store does not have.
    #[error("{kind} {id} is not on this server; upload it with {how} first")]
    NotStored {
        /// What kind of content.
        kind: ContentKind,
        /// Its id.
        id: String,
        /// How to upload it.
        how: &'static str,
    },
    /// A deck file is damaged, of another format, or carries content that does not match
    /// its id.
    #[error("deck file: {0}")]
    BadDeckFile(String),
    /// A case names a model the server does not serve (the message lists those it does).
    #[error("{0}")]
    UnknownModel(String),
    /// Exporting a deck found an image, mask or volume missing from the content store.
    #[error("no {kind} with id {id} in the content store")]
    Missing {
        /// What kind of content.
        kind: ContentKind,
        /// Its id.
        id: String,
    },
    /// No session has this key (or it is malformed).
    #[error("no teaching session has this link; ask the instructor for a new one")]
    SessionNotFound,
    /// The session's links have expired.
    #[error("this teaching session has expired; ask the instructor for a new one")]
    SessionExpired,
    /// A student link was used for what only the instructor may do.
    #[error("only the instructor's link can do this; a student link can follow and post results")]
    InstructorOnly,
    /// The session has as many students as it accepts.
    #[error("this session already has {0} students, the most it accepts")]
    SessionFull(usize),
    /// The teaching database was written by a newer samscope.
    #[error(
        "teaching database has schema version {found}, newer than this samscope's {known}; upgrade samscope"
    )]
    NewerDatabase {
        /// Version in the file.
        found: usize,
        /// Versions this build knows.
        known: usize,
    },
    /// The database or the content store failed (a fault of the machine, not the request).
    #[error("{0}")]
    Storage(String),
}

/// The kinds of content a case refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentKind {
    /// An image (an upload or a rendered slice).
    Image,
    /// A ground-truth mask.
    Mask,
    /// A volume.
    Volume,
}

impl ContentKind {
    /// `image`, `mask` or `volume`.
    pub fn as_str(self) -> &'static str {
        match self {
            ContentKind::Image => "image",
            ContentKind::Mask => "mask",
            ContentKind::Volume => "volume",
        }
    }
}

impl std::fmt::Display for ContentKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A database failure, as a [`TeachingError::Storage`].
pub(crate) fn db_error(e: rusqlite::Error) -> TeachingError {
    TeachingError::Storage(format!("teaching database: {e}"))
}
