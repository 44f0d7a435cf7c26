//! Teaching (docs/api.md, "Teaching: decks and sessions"): decks of cases, the live
//! classroom a capability key opens, students' results and the class's summary.

use serde::{Deserialize, Serialize};

use crate::steps::Step;
use crate::volumes::WindowSpec;

/// The slice of a volume a case shows (what the viewer's slice and window controls were
/// set to); the case's `image` is that slice's image id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeView {
    /// Volume id (64 hex).
    pub id: String,
    /// `axial`, `coronal`, `sagittal` or `native` (as the slices endpoint takes it).
    pub axis: String,
    /// Slice index along the axis.
    pub index: u32,
    /// The window the slice was rendered with, as the slices endpoint takes it.
    pub window: WindowSpec,
}

/// One case of a deck. Only `image` is required; unknown fields are refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Short title shown in the deck list (may be empty).
    #[serde(default)]
    pub title: String,
    /// Image id (64 hex), as `POST /api/v1/images` or the slices endpoint returned it.
    pub image: String,
    /// Where the image came from when it is a volume slice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<VolumeView>,
    /// Model to decode with; the viewer's choice when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Ground-truth mask id (64 hex), as `POST /api/v1/masks` returned it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gt: Option<String>,
    /// The ground-truth label value the metrics use; the label under the first prompt when
    /// absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<u16>,
    /// Preset prompts, in the viewer's session form (pixels of the original image).
    #[serde(default)]
    pub steps: Vec<Step>,
    /// Notes in Markdown (rendered without raw HTML).
    #[serde(default)]
    pub notes: String,
}

/// A deck as clients create or replace it (`POST /api/v1/decks`, `PUT …/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeckInput {
    /// Its title.
    pub title: String,
    /// Its cases, in order.
    #[serde(default)]
    pub cases: Vec<Case>,
}

/// A stored deck.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deck {
    /// Random id (32 hex).
    pub id: String,
    /// Title.
    pub title: String,
    /// Cases, in order.
    pub cases: Vec<Case>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds of the last change.
    pub updated_at: i64,
}

/// One line of the deck list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeckSummary {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Number of cases.
    pub cases: usize,
    /// Unix seconds of the last change.
    pub updated_at: i64,
}

/// `GET /api/v1/decks`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeckList {
    /// Every deck, most recently changed first.
    pub decks: Vec<DeckSummary>,
}

/// `POST /api/v1/decks/{id}/cases`'s answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CasePosition {
    /// Where the case landed (0-based).
    pub position: usize,
}

/// Body of `POST /api/v1/sessions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartSession {
    /// Deck id.
    pub deck: String,
    /// Lifetime in hours (1–168); 8 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<u32>,
}

/// `POST /api/v1/sessions`'s answer: the two capability keys, shown only here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionLinks {
    /// The instructor's key (48 hex).
    pub instructor_key: String,
    /// The students' key (48 hex).
    pub student_key: String,
    /// Viewer path of the instructor (`/#teach=KEY`; append to the server's origin).
    pub instructor_link: String,
    /// Viewer path of the students (`/#join=KEY`).
    pub student_link: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Who a key belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Drives the session: changes the case, reveals, sees the class's results.
    Instructor,
    /// Follows, prompts, posts results.
    Student,
}

/// `GET /api/v1/classroom/{key}`: the session as this key sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classroom {
    /// The key's role.
    pub role: Role,
    /// Deck title.
    pub title: String,
    /// The cases (the deck as it was when the session started).
    pub cases: Vec<Case>,
    /// The case everyone follows.
    pub current: usize,
    /// Revealed cases.
    pub revealed: Vec<usize>,
    /// Unix seconds.
    pub expires_at: i64,
}

/// What every follower of a session shows (the `state` event).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassState {
    /// The case everyone follows.
    pub current: usize,
    /// Cases whose ground truth and paper-protocol result are shown to everyone.
    pub revealed: Vec<usize>,
}

/// Body of `PUT /api/v1/classroom/{key}/current`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CurrentCase {
    /// The case everyone moves to.
    pub case: usize,
}

/// Body of `PUT /api/v1/classroom/{key}/reveal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reveal {
    /// The case.
    pub case: usize,
    /// Show (true) or hide its answer.
    pub revealed: bool,
}

/// A student's post (`POST /api/v1/classroom/{key}/results`): their latest result on a
/// case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultPost {
    /// The tab's random id (8–64 letters, digits, `-`, `_`); names no one.
    pub student: String,
    /// Case index.
    pub case: usize,
    /// Dice against the case's ground truth, in [0, 1].
    pub dice: f64,
    /// IoU, in [0, 1].
    pub iou: f64,
    /// Prompts used so far.
    pub clicks: u32,
}

/// How the class did on one case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseResults {
    /// Case index.
    pub case: usize,
    /// Students with a result.
    pub students: usize,
    /// Every student's Dice, ascending.
    pub dice: Vec<f64>,
    /// Mean Dice (0 when no one posted).
    pub mean_dice: f64,
    /// Median Dice (0 when no one posted).
    pub median_dice: f64,
    /// Mean IoU.
    pub mean_iou: f64,
    /// Mean number of prompts.
    pub mean_clicks: f64,
    /// Counts of Dice in ten bins [0, 0.1), …, [0.9, 1.0].
    pub histogram: [usize; 10],
}

/// `GET /api/v1/classroom/{key}/results` and the `results` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// One entry per case.
    pub cases: Vec<CaseResults>,
}

/// The `expired` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expired {
    /// Unix seconds the session ended.
    pub expires_at: i64,
}
