//! HTTP routes of decks and teaching sessions (see `docs/api.md`, "Teaching").
//!
//! Deck writes and session starts need the server token (like uploads); classroom routes
//! are authorised by the capability key in their path alone. Keys never reach the logs:
//! the access log records route templates, not paths.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use api::{
    Case, CasePosition, ClassState, Classroom, CurrentCase, DeckInput, DeckList, Expired,
    ResultPost, Results, Reveal, Role, SessionLinks, StartSession,
};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use futures_util::Stream;
use serde::Serialize;
use teaching::{Opened, Room, Teaching, TeachingError, classroom};
use tokio::sync::watch;

use crate::content::Content;
use crate::error::ApiError;
use crate::http::{blocking, body_error};
use crate::layers::require_token;
use crate::state::AppState;
use crate::upload_gate::{UploadGate, limit_uploads};

/// Largest deck or case request body (a deck file import uses the upload limit).
const DECK_REQUEST_BYTES: usize = 4 * 1024 * 1024;
/// The instructor's result stream sends at most one update per this interval.
const RESULTS_INTERVAL: Duration = Duration::from_millis(250);

type Shared = Arc<AppState>;

/// The teaching routes, to be merged into the API router.
pub fn router(state: &Shared) -> Router<Shared> {
    let token = || from_fn_with_state(state.clone(), require_token);
    let small = DefaultBodyLimit::max(DECK_REQUEST_BYTES);
    Router::new()
        .route(
            "/api/v1/decks",
            get(list_decks).merge(post(create_deck).route_layer(token())),
        )
        .route(
            "/api/v1/decks/import",
            post(import_deck)
                .layer(DefaultBodyLimit::max(state.limits.max_upload_bytes))
                .layer(from_fn_with_state(
                    UploadGate::new(state, state.limits.max_upload_bytes),
                    limit_uploads,
                ))
                .route_layer(token()),
        )
        .route(
            "/api/v1/decks/{id}",
            get(get_deck).merge(put(put_deck).route_layer(token())),
        )
        .route(
            "/api/v1/decks/{id}/cases",
            post(add_case).route_layer(token()),
        )
        .route("/api/v1/decks/{id}/export", get(export_deck))
        .route("/api/v1/sessions", post(start_session).route_layer(token()))
        .route("/api/v1/classroom/{key}", get(classroom_view))
        .route("/api/v1/classroom/{key}/events", get(events))
        .route("/api/v1/classroom/{key}/current", put(put_current))
        .route("/api/v1/classroom/{key}/reveal", put(put_reveal))
        .route(
            "/api/v1/classroom/{key}/results",
            get(get_results).post(post_result),
        )
        .layer(small)
}

/// A path segment, or 400 when it is not valid UTF-8 after percent-decoding.
fn segment(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    path.map(|Path(text)| text)
        .map_err(|e| ApiError::BadRequest(e.body_text()))
}

fn json<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    body.map(|Json(v)| v).map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge(e.body_text()),
        _ => ApiError::BadRequest(e.body_text()),
    })
}

/// Runs `work` with the teaching state and the store off the async runtime.
async fn with_teaching<T: Send + 'static>(
    state: &Shared,
    work: impl FnOnce(&Teaching, &AppState) -> Result<T, TeachingError> + Send + 'static,
) -> Result<T, ApiError> {
    let worker = state.clone();
    Ok(blocking(move || work(&worker.teaching, &worker)).await??)
}

/// The content store as decks see it, under the server's limits.
fn content(state: &AppState) -> Content<&crate::store::Store> {
    Content::new(&state.store, state.limits.imaging())
}

/// Whether a case's model is served here (else the reason, naming those that are).
fn model_check(state: &AppState) -> impl Fn(&str) -> Result<(), String> + '_ {
    move |name| {
        state
            .model(Some(name))
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// Checks the window of every volume case as the slices endpoint would (400 naming the
/// case, counted from 0 as teaching does), so a deck never holds a window no slice can be
/// stored with (an imported deck file is checked by teaching: 422).
fn check_windows<'a>(cases: impl IntoIterator<Item = &'a Case>) -> Result<(), ApiError> {
    for (n, case) in cases.into_iter().enumerate() {
        if let Some(volume) = &case.volume {
            crate::volumes::window_of(&volume.window).map_err(|e| match e {
                ApiError::BadRequest(m) => {
                    ApiError::BadRequest(format!("case {n}: `volume.window`: {m}"))
                }
                other => other,
            })?;
        }
    }
    Ok(())
}

/// `GET /api/v1/decks`.
async fn list_decks(State(state): State<Shared>) -> Result<Response, ApiError> {
    let decks = with_teaching(&state, |t, _| t.decks()).await?;
    Ok(Json(DeckList { decks }).into_response())
}

/// `POST /api/v1/decks`: 201 with the stored deck.
async fn create_deck(
    State(state): State<Shared>,
    body: Result<Json<DeckInput>, JsonRejection>,
) -> Result<Response, ApiError> {
    let input = json(body)?;
    check_windows(&input.cases)?;
    let deck = with_teaching(&state, move |t, s| {
        t.create_deck(&content(s), &input, &model_check(s))
    })
    .await?;
    tracing::info!(deck = %deck.id, cases = deck.cases.len(), "deck created");
    Ok((StatusCode::CREATED, Json(deck)).into_response())
}

/// `GET /api/v1/decks/{id}`.
async fn get_deck(
    State(state): State<Shared>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = segment(id)?;
    let deck = with_teaching(&state, move |t, _| t.deck(&id)).await?;
    Ok(Json(deck).into_response())
}

/// `PUT /api/v1/decks/{id}`: replace title and cases.
async fn put_deck(
    State(state): State<Shared>,
    id: Result<Path<String>, PathRejection>,
    body: Result<Json<DeckInput>, JsonRejection>,
) -> Result<Response, ApiError> {
    let id = segment(id)?;
    let input = json(body)?;
    check_windows(&input.cases)?;
    let deck = with_teaching(&state, move |t, s| {
        t.deck(&id)?;
        t.replace_deck(&content(s), &id, &input, &model_check(s))
    })
    .await?;
    Ok(Json(deck).into_response())
}

/// `POST /api/v1/decks/{id}/cases`: append one case ("add this view to a deck").
async fn add_case(
    State(state): State<Shared>,
    id: Result<Path<String>, PathRejection>,
    body: Result<Json<Case>, JsonRejection>,
) -> Result<Response, ApiError> {
    let id = segment(id)?;
    let case = json(body)?;
    check_windows([&case])?;
    let position = with_teaching(&state, move |t, s| {
        t.deck(&id)?;
        t.add_case(&content(s), &id, &case, &model_check(s))
    })
    .await?;
    Ok((StatusCode::CREATED, Json(CasePosition { position })).into_response())
}

/// `GET /api/v1/decks/{id}/export`: the deck file, as a streamed download.
async fn export_deck(
    State(state): State<Shared>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    crate::export::export_deck(&state, segment(id)?).await
}

/// `POST /api/v1/decks/import`: a deck file becomes a new deck (201).
async fn import_deck(
    State(state): State<Shared>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|e| body_error(e, state.limits.max_upload_bytes))?;
    if body.is_empty() {
        return Err(ApiError::EmptyBody);
    }
    // Each blob the file carries is decoded within the decode memory budget.
    let deck = crate::http::decoding(&state, move |s| {
        Ok(s.teaching.import(&content(s), &body, &model_check(s))?)
    })
    .await?;
    tracing::info!(deck = %deck.id, cases = deck.cases.len(), "deck imported");
    Ok((StatusCode::CREATED, Json(deck)).into_response())
}

/// `POST /api/v1/sessions`: start a session on a deck; the keys are shown only here.
async fn start_session(
    State(state): State<Shared>,
    body: Result<Json<StartSession>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = json(body)?;
    let hours = request.hours.unwrap_or(classroom::DEFAULT_HOURS);
    let started = with_teaching(&state, move |t, _| t.start_session(&request.deck, hours)).await?;
    tracing::info!(expires_at = started.expires_at, "teaching session started");
    Ok((
        StatusCode::CREATED,
        Json(SessionLinks {
            instructor_link: format!("/#teach={}", started.instructor_key),
            student_link: format!("/#join={}", started.student_key),
            instructor_key: started.instructor_key,
            student_key: started.student_key,
            expires_at: started.expires_at,
        }),
    )
        .into_response())
}

async fn open(state: &Shared, key: String) -> Result<Opened, ApiError> {
    with_teaching(state, move |t, _| t.open_key(&key)).await
}

/// `GET /api/v1/classroom/{key}`: the session as this key sees it.
async fn classroom_view(
    State(state): State<Shared>,
    key: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let opened = open(&state, segment(key)?).await?;
    let live = opened.room.state();
    Ok(Json(Classroom {
        role: opened.role,
        title: opened.row.title,
        cases: opened.row.cases,
        current: live.current,
        revealed: live.revealed,
        expires_at: opened.row.expires_at,
    })
    .into_response())
}

/// `PUT /api/v1/classroom/{key}/current`: everyone moves to a case (instructor only).
async fn put_current(
    State(state): State<Shared>,
    key: Result<Path<String>, PathRejection>,
    body: Result<Json<CurrentCase>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let opened = open(&state, segment(key)?).await?;
    let CurrentCase { case } = json(body)?;
    with_teaching(&state, move |t, _| t.set_current(&opened, case)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /api/v1/classroom/{key}/reveal`: show (or hide) a case's answer to everyone.
async fn put_reveal(
    State(state): State<Shared>,
    key: Result<Path<String>, PathRejection>,
    body: Result<Json<Reveal>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let opened = open(&state, segment(key)?).await?;
    let Reveal { case, revealed } = json(body)?;
    with_teaching(&state, move |t, _| t.set_revealed(&opened, case, revealed)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/classroom/{key}/results`: a student's latest Dice, IoU and clicks on
/// a case.
async fn post_result(
    State(state): State<Shared>,
    key: Result<Path<String>, PathRejection>,
    body: Result<Json<ResultPost>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let opened = open(&state, segment(key)?).await?;
    let posted = json(body)?;
    with_teaching(&state, move |t, _| t.record(&opened, &posted)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/classroom/{key}/results`: the class's results per case (instructor only).
async fn get_results(
    State(state): State<Shared>,
    key: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let opened = open(&state, segment(key)?).await?;
    let results = with_teaching(&state, move |t, _| t.results(&opened)).await?;
    Ok(Json(Results { cases: results }).into_response())
}

/// What the event stream of one follower waits on.
struct Follower {
    state: Shared,
    opened: Opened,
    class: watch::Receiver<ClassState>,
    /// The instructor's result changes; `None` for students.
    results: Option<watch::Receiver<u64>>,
    deadline: tokio::time::Instant,
    /// Resolves when the server shuts down.
    closed: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
    ended: bool,
    /// This stream's place under the stream caps, given back when the stream is dropped.
    _slot: crate::streams::StreamSlot,
}

fn event(name: &str, data: &impl Serialize) -> Event {
    Event::default()
        .event(name)
        .json_data(data)
        .unwrap_or_else(|_| Event::default().event(name).data("{}"))
}

impl Follower {
    /// The next event: a new class state, new results (at most one per
    /// [`RESULTS_INTERVAL`]), or `expired` once the session ends; then the stream ends.
    async fn next(&mut self) -> Option<Event> {
        if self.ended {
            return None;
        }
        let room: &Room = &self.opened.room;
        tokio::select! {
            biased;
            changed = self.class.changed() => {
                changed.ok()?;
                let class = self.class.borrow_and_update().clone();
                Some(event("state", &class))
            }
            Some(()) = results_changed(&mut self.results) => {
                tokio::time::sleep(RESULTS_INTERVAL).await;
                if let Some(receiver) = &mut self.results {
                    receiver.borrow_and_update();
                }
                let opened = self.opened.clone();
                let results = with_teaching(&self.state, move |t, _| t.results(&opened)).await;
                Some(match results {
                    Ok(cases) => event("results", &Results { cases }),
                    Err(_) => Event::default().comment("results unavailable"),
                })
            }
            () = &mut self.closed => None,
            () = tokio::time::sleep_until(self.deadline) => {
                self.ended = true;
                Some(event("expired", &Expired { expires_at: room.expires_at }))
            }
        }
    }
}

/// Resolves when the receiver (if any) sees a change; never for `None` or a closed one.
async fn results_changed(receiver: &mut Option<watch::Receiver<u64>>) -> Option<()> {
    match receiver {
        Some(r) => match r.changed().await {
            Ok(()) => Some(()),
            Err(_) => std::future::pending().await,
        },
        None => std::future::pending().await,
    }
}

/// `GET /api/v1/classroom/{key}/events`: server-sent events — `state` (current case,
/// revealed cases) on connect and on every change; for the instructor also `results`;
/// `expired` when the session ends.
async fn events(
    State(state): State<Shared>,
    key: Result<Path<String>, PathRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let opened = open(&state, segment(key)?).await?;
    let slot = state.streams.acquire(&opened.row.id)?;
    let left = Teaching::seconds_left(&opened);
    let follower = Follower {
        _slot: slot,
        class: opened.room.follow(),
        results: (opened.role == Role::Instructor).then(|| opened.room.watch_results()),
        deadline: tokio::time::Instant::now() + Duration::from_secs(left),
        closed: Box::pin(state.teaching.closed()),
        state,
        opened,
        ended: false,
    };
    let stream = futures_util::stream::unfold(follower, |mut follower| async move {
        let event = follower.next().await?;
        Some((Ok(event), follower))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
