-- Decks and teaching sessions (samscope-server). Applied in order by
-- `teaching::db::migrate`; `PRAGMA user_version` records how many have run.
-- Only ids, prompts and notes are stored here: pixels live in the content store, and no
-- patient attribute ever reaches either.

CREATE TABLE decks (
    id          TEXT PRIMARY KEY,          -- 32 hex characters, random
    title       TEXT NOT NULL,
    created_at  INTEGER NOT NULL,          -- unix seconds
    updated_at  INTEGER NOT NULL
);

CREATE TABLE cases (
    deck_id     TEXT NOT NULL REFERENCES decks(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,          -- 0-based order in the deck
    body        TEXT NOT NULL,             -- the case as JSON (teaching::deck::Case)
    PRIMARY KEY (deck_id, position)
);

CREATE TABLE sessions (
    id                  TEXT PRIMARY KEY,  -- 32 hex characters, random, never in a link
    deck_id             TEXT NOT NULL,
    title               TEXT NOT NULL,
    cases               TEXT NOT NULL,     -- the deck's cases when the session started (JSON)
    instructor_key_hash TEXT NOT NULL UNIQUE,  -- sha256 of the instructor's key
    student_key_hash    TEXT NOT NULL UNIQUE,  -- sha256 of the students' key
    created_at          INTEGER NOT NULL,
    expires_at          INTEGER NOT NULL,
    current_case        INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE reveals (
    session_id  TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    case_index  INTEGER NOT NULL,
    PRIMARY KEY (session_id, case_index)
);

CREATE TABLE results (
    session_id  TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    student     TEXT NOT NULL,             -- random id the student's browser chose
    case_index  INTEGER NOT NULL,
    dice        REAL NOT NULL,
    iou         REAL NOT NULL,
    clicks      INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (session_id, student, case_index)
);

CREATE INDEX sessions_by_expiry ON sessions(expires_at);
