//! The page's state as data, and the one function that changes it.
//!
//! [`State`] is made of small sub-states ([`DecoderLink`], [`Scan`], [`ClickSession`],
//! [`ViewState`], [`Browse`], [`Class`], the deck being edited); every change goes through
//! [`update`] with a [`Message`] (a DOM event, a worker reply, a server answer) and comes
//! back as a list of [`Effect`]s — requests to the worker, fetches, texts and which parts
//! of the page to render — that the wasm-only `ui` layer performs. Nothing here touches
//! the browser, so the flows are tested natively (`state/tests.rs`).

mod auth;
mod browse;
mod class;
mod flow;
mod link;
mod scans;
mod session;
mod update;
mod view;

#[cfg(test)]
mod tests;

pub use auth::{Auth, Secret};
pub use browse::{Browse, SETTLE_MS, SliceMemory};
pub use class::Class;
pub use link::{DecoderLink, EmbeddingAsk};
pub use session::{ClickSession, Shown, split_masks};
pub use update::update;
pub use view::{Drag, View, ViewState};

use ::api::Step;
use serde_json::json;

use crate::classroom::{Case, CaseResults, ClassState, Classroom, ResultPost};
use crate::deck_edit::{CaseEdit, DeckEdit};
use crate::ground_truth::GroundTruth;
use crate::link::SharedView;
use crate::protocol::{BackendChoice, Reply, Request, Wire};
use crate::record::{RECORD_FORMAT, SessionRecord};
use crate::volume::{Axis, SliceInfo, SliceKey, SliceView, VolumeInfo, Window};

/// The image on screen (a 2-D scan or a volume's slice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageMeta {
    /// Server id.
    pub id: String,
    /// Width, pixels.
    pub width: usize,
    /// Height, pixels.
    pub height: usize,
}

/// The scan on screen and what a share link or deck case brings along with it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scan {
    /// The image shown.
    pub image: Option<ImageMeta>,
    /// Steps a share link asks for, applied once the image is ready.
    pub link_steps: Option<Vec<Step>>,
    /// A ground truth (id, file bytes) to decode once the image size is known.
    pub pending_gt: Option<(String, Vec<u8>)>,
    /// The image id a share link expects its volume view to render to.
    pub expected_image: Option<String>,
}

/// Everything the page knows.
pub struct State {
    /// The decoder worker's side.
    pub link: DecoderLink,
    /// The scan on screen.
    pub scan: Scan,
    /// Prompts, decodes, ground truth and metrics on the image shown.
    pub session: ClickSession,
    /// Mapping, press in progress, display options.
    pub view: ViewState,
    /// The volume being browsed, when the scan is one.
    pub browse: Option<Browse>,
    /// The teaching session this page takes part in.
    pub class: Option<Class>,
    /// The case list of the deck chosen in the deck panel, as edited.
    pub deck: Option<DeckEdit>,
    /// Signing in to a server with a token.
    pub auth: Auth,
}

impl State {
    /// A page asking for `backend_choice` and `wire`, nothing loaded.
    pub fn new(backend_choice: BackendChoice, wire: Wire) -> Self {
        Self {
            link: DecoderLink::new(backend_choice, wire),
            scan: Scan::default(),
            session: ClickSession::default(),
            view: ViewState::default(),
            browse: None,
            class: None,
            deck: None,
            auth: Auth::default(),
        }
    }

    /// Whether the ground truth may be shown: always, except to a student before the
    /// instructor reveals the case.
    pub fn answer_visible(&self) -> bool {
        self.class.as_ref().is_none_or(Class::answer_visible)
    }

    /// The volume view on screen, when the scan is a volume.
    pub fn slice_view(&self) -> Option<SliceView> {
        self.browse.as_ref()?.shown_view()
    }

    /// The view on screen: what a share link or a deck case holds.
    pub fn shared_view(&self) -> Option<SharedView> {
        let image = self.scan.image.as_ref()?;
        Some(SharedView {
            image: image.id.clone(),
            model: self.link.model.clone(),
            wire: self.link.wire,
            gt: self.session.gt.as_ref().map(|(id, _)| id.clone()),
            label: self.session.label,
            steps: self.session.history.steps().to_vec(),
            view: self.slice_view(),
        })
    }

    /// The share link's fragment for the current state.
    pub fn fragment(&self) -> Option<String> {
        self.shared_view().map(|v| v.to_fragment())
    }

    /// The downloadable session record.
    pub fn record(&self) -> Option<SessionRecord> {
        let image = self.scan.image.as_ref()?;
        let shown = self.session.shown.as_ref()?;
        let chosen = shown.chosen();
        Some(SessionRecord {
            format: RECORD_FORMAT.into(),
            model: self.link.model.clone(),
            image: image.id.clone(),
            width: image.width,
            height: image.height,
            gt: self.session.gt.as_ref().map(|(id, _)| id.clone()),
            label: self.session.label,
            wire: self.link.wire,
            backend: self.link.backend.clone(),
            steps: shown.steps.clone(),
            chosen,
            iou_predictions: shown.ious.clone(),
            area: shown.masks[chosen].area(),
            metrics: self.session.overlap(),
            link: self.fragment().unwrap_or_default(),
            view: self.slice_view(),
        })
    }

    /// Work is pending: decodes, embeddings, slices, or a decode of the steps on screen.
    pub fn busy(&self) -> bool {
        self.link.busy()
            || self.browse.as_ref().is_some_and(|b| !b.volume.settled())
            || self.session.waiting()
    }

    /// `window.samscopeState()`'s JSON without what only the page knows: the error
    /// banner's text, the full share link (`link`, which needs the page's address), the
    /// clock and the mask's hash (`mask_sha256`, computed by the page).
    pub fn state_json(&self) -> serde_json::Value {
        let shown = self.session.shown.as_ref();
        let mask = shown.map(Shown::mask);
        let view = self.view.view;
        json!({
            "backend": self.link.backend,
            "decoder_ready": self.link.decoder_ready,
            "embedding_ready": self.link.embedding_ready,
            "busy": self.busy(),
            "model": self.link.model,
            "wire": self.link.wire,
            "image": self.scan.image.as_ref().map(|i| i.id.clone()),
            "embedding_image": self.link.embedding_image,
            "volume": self.browse.as_ref().map_or(serde_json::Value::Null, Browse::state_json),
            "gt": self.session.gt.as_ref().map(|(id, _)| id.clone()),
            "label": self.session.label,
            "steps": self.session.history.steps(),
            "chosen": shown.map(Shown::chosen),
            "iou_predictions": shown.map(|s| s.ious.clone()),
            "area": mask.map(|m| m.area()),
            "metrics": self.session.overlap(),
            "decode_ms": self.link.decode_ms,
            "weights_cached": self.link.weights_cached,
            "view": [view.scale, view.ox, view.oy],
            "auth": self.auth.state_json(),
        })
    }
}

/// A change of the volume's target view (controls, keys).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum VolumeEdit {
    /// Move this many slices.
    Step(i64),
    /// Go to this slice.
    Index(usize),
    /// Switch axis.
    Axis(Axis),
    /// Change the window.
    Window(Window),
}

/// What an uploaded mask becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaskUse {
    /// The ground truth of the picture on screen (a file the person chose).
    Picture,
    /// The ground truth of volume slice `key`, cut from the label volume.
    LabelSlice(SliceKey),
}

/// Everything that changes the state.
#[derive(Debug, Clone)]
pub enum Message {
    // --- the decoder worker
    /// Load a model's decoder: `request` is the worker's `init`.
    LoadDecoder {
        /// Model id.
        model: String,
        /// The `init` request.
        request: Request,
    },
    /// The precision of embeddings and decoder weights (a share link's).
    Wire(Wire),
    /// A worker reply (check replies go to their promise, see `ui::hooks`).
    Reply(Reply),
    /// A check request from a test hook (its `seq` is assigned here).
    Check {
        /// Points `(x, y)` in original pixels.
        points: Vec<[f64; 2]>,
        /// 1 foreground, 0 background.
        labels: Vec<i32>,
        /// Optional box.
        bbox: Option<[f64; 4]>,
        /// Three candidates or one.
        multimask: bool,
    },
    // --- scans, share links, ground truth
    /// A scan was uploaded: the previous scan's ground truth and link leftovers go;
    /// `picture`: it is a 2-D image (a volume open before is closed).
    ScanUploaded {
        /// A picture rather than a volume.
        picture: bool,
    },
    /// A share link (or deck case) is opened: its object, prompts and ground truth (`gt`:
    /// id and bytes) come with its scan — the volume `volume` when the link names a
    /// volume view this server has, else its image ([`Message::ImageShown`] follows).
    LinkOpened {
        /// The link.
        link: SharedView,
        /// Its ground truth file.
        gt: Option<(String, Vec<u8>)>,
        /// The link's volume, browsed at the link's view.
        volume: Option<Box<VolumeInfo>>,
    },
    /// A 2-D image was loaded and goes on screen.
    ImageShown(ImageMeta),
    /// Start browsing a volume at `view` (a link's), else at its first view.
    VolumeOpened {
        /// The volume.
        info: VolumeInfo,
        /// Where to start.
        view: Option<SliceView>,
    },
    /// A ground-truth file the person chose (a picture, or a label volume).
    GroundTruthFile(Vec<u8>),
    /// A mask was stored on the server as `id`.
    MaskUploaded {
        /// Its server id.
        id: String,
        /// Its labels.
        gt: GroundTruth,
        /// What it is for.
        purpose: MaskUse,
    },
    // --- volume browsing
    /// A slice asked for arrived and its picture loaded.
    SliceArrived {
        /// The view asked for.
        view: SliceView,
        /// The server's answer.
        slice: SliceInfo,
        /// Picture width.
        width: usize,
        /// Picture height.
        height: usize,
    },
    /// A slice could not be fetched.
    SliceFailed {
        /// The view asked for.
        view: SliceView,
        /// Why.
        error: String,
    },
    /// [`SETTLE_MS`] passed since target change `generation`.
    Settled {
        /// The target's generation when the wait began.
        generation: u64,
    },
    /// The controls move the target view.
    Volume(VolumeEdit),
    /// A manual window typed in (level, width).
    ManualWindow {
        /// Level (centre).
        level: f64,
        /// Width.
        width: f64,
    },
    // --- the canvas
    /// A mouse button went down at screen `(sx, sy)`.
    PointerDown {
        /// Screen x.
        sx: f64,
        /// Screen y.
        sy: f64,
        /// The mouse button (0 left, 1 middle).
        button: i16,
        /// Ctrl or ⌘ held.
        ctrl: bool,
    },
    /// The pointer moved.
    PointerMove {
        /// Screen x.
        sx: f64,
        /// Screen y.
        sy: f64,
        /// Shift held (a negative hover click).
        shift: bool,
    },
    /// The button went up.
    PointerUp {
        /// Shift held (a negative click).
        shift: bool,
    },
    /// The pointer left the canvas.
    PointerLeave,
    /// A right click (a negative click), or Ctrl+click on macOS.
    ContextMenu {
        /// Screen x.
        sx: f64,
        /// Screen y.
        sy: f64,
        /// Ctrl held.
        ctrl: bool,
    },
    /// The wheel zooms at `(sx, sy)`.
    Wheel {
        /// Screen x.
        sx: f64,
        /// Screen y.
        sy: f64,
        /// Wheel delta.
        delta_y: f64,
    },
    /// Space held or released (panning).
    Space(bool),
    /// The canvas is `width × height` CSS pixels: fit the image.
    Fit {
        /// Canvas width.
        width: f64,
        /// Canvas height.
        height: f64,
    },
    /// The window was resized.
    Resized,
    // --- the session's controls
    /// Undo.
    Undo,
    /// Redo.
    Redo,
    /// Remove every step.
    Clear,
    /// Keep candidate `n` of the last step.
    Choose(usize),
    /// Run the paper protocol on the chosen object.
    PaperProtocol,
    /// Overlay opacity, 0–1.
    Opacity(f64),
    /// FP/FN overlay on or off.
    ShowErrors(bool),
    /// Hover preview on or off.
    Hover(bool),
    /// The object the metrics use.
    Label(Option<u16>),
    // --- teaching
    /// This page joined a teaching session.
    ClassJoined {
        /// The session key.
        key: String,
        /// The room as the server describes it.
        room: Classroom,
        /// This tab's student id.
        student: String,
    },
    /// The class moved (current case, revealed answers).
    ClassMoved(ClassState),
    /// The class's results (instructor).
    ClassResults(Vec<CaseResults>),
    /// The class's current case is on screen.
    CaseOpened,
    /// The deck panel shows this deck's cases (none for "New deck…").
    DeckLoaded(Option<DeckEdit>),
    /// An edit of the deck's case list.
    DeckEdited {
        /// The case.
        index: usize,
        /// Up, down, remove.
        edit: CaseEdit,
    },
    // --- signing in (a server started with a token)
    /// What `GET /api/v1/auth` says.
    AuthKnown {
        /// The server needs a token.
        token_required: bool,
        /// This browser's session cookie is valid.
        signed_in: bool,
    },
    /// Request `request` (numbered by the page) got 401, or is an upload the server would
    /// refuse ([`Auth::needed`]): it waits for a sign-in.
    Unauthorized {
        /// The waiting request.
        request: u64,
    },
    /// The person asked for the sign-in panel.
    ShowSignIn,
    /// The person submitted the token.
    SignIn(Secret),
    /// The sign-in request's outcome (`Err`: the reason to show).
    SignedIn(Result<(), String>),
    /// The person closed the panel without signing in.
    SignInCancelled,
    /// The person asked to sign out.
    SignOut,
    /// The server forgot the session.
    SignedOut,
}

/// A part of the page drawn from the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    /// The main canvas.
    Canvas,
    /// Candidates, Dice/IoU, chart, undo/redo.
    Results,
    /// The ground truth's object list.
    Labels,
    /// Axis, slice, window controls.
    VolumeControls,
    /// The class panel: role, title, case list.
    ClassPanel,
    /// The class's current case, reveal button and state line.
    ClassProgress,
    /// The instructor's summary of the current case.
    ClassResults,
    /// The deck panel's case list.
    DeckCases,
    /// The sign-in panel and the sign-in/sign-out controls.
    Auth,
}

/// What the page must do after an update.
#[derive(Debug, Clone)]
pub enum Effect {
    /// Send this request to the worker.
    Post(Request),
    /// Ask the worker for `image`'s embedding (model and wire: the link's).
    SetImage {
        /// Image id.
        image: String,
    },
    /// Set the text of element `id`.
    Text {
        /// Element id (`status`, `backend`, `decode-ms`, `paper-result`, `deck-status`).
        id: &'static str,
        /// The text.
        text: String,
    },
    /// Show this in the error banner (empty hides it).
    Error(String),
    /// A line for the browser console.
    Log(String),
    /// Draw this part of the page from the state.
    Render(Part),
    /// Measure the canvas and fit the image to it ([`Message::Fit`]).
    Fit,
    /// Tick or untick the hover-preview checkbox.
    HoverChecked(bool),
    /// Show (and fill) or hide the volume panel.
    VolumePanel(bool),
    /// Fetch this slice and load its picture ([`Message::SliceArrived`]).
    FetchSlice(SliceView),
    /// Wait [`SETTLE_MS`], then [`Message::Settled`].
    Settle {
        /// The target's generation now.
        generation: u64,
    },
    /// Store `bytes` as a mask on the server ([`Message::MaskUploaded`]).
    UploadMask {
        /// The PNG (or other picture) file.
        bytes: Vec<u8>,
        /// Its labels, decoded here.
        gt: GroundTruth,
        /// What it is for.
        purpose: MaskUse,
    },
    /// Post a student's result to the teaching session.
    PostResult {
        /// The session key.
        key: String,
        /// The result.
        post: ResultPost,
    },
    /// Put the class's current case on screen, then [`Message::CaseOpened`].
    OpenCase(Box<Case>),
    /// Enable the controls that show the ground truth (FP/FN, paper protocol), or not.
    AnswerControls(bool),
    /// The DOM event is handled here: no browser default.
    Consumed,
    /// Post this token to `POST /api/v1/auth/sign-in` ([`Message::SignedIn`]).
    SignIn(Secret),
    /// Send these waiting requests again (signed in now).
    Retry(Vec<u64>),
    /// Fail these waiting requests with their 401 (the person did not sign in).
    GiveUp(Vec<u64>),
    /// `POST /api/v1/auth/sign-out` ([`Message::SignedOut`]).
    SignOut,
}

impl Effect {
    /// The status line says `text`.
    pub fn status(text: impl Into<String>) -> Self {
        Effect::Text {
            id: "status",
            text: text.into(),
        }
    }
}
