//! A teaching session this page takes part in (instructor or student), as data: the room
//! and its live state, the case on screen, and the student's last posted result.

use serde_json::{Value, json};

use crate::classroom::{CaseResults, ClassState, Classroom, ResultPost, Role, result_to_post};
use crate::ground_truth::Overlap;

/// A teaching session.
#[derive(Debug, Clone, PartialEq)]
pub struct Class {
    /// The session's key (`#teach=`/`#join=`).
    pub key: String,
    /// Instructor or student.
    pub role: Role,
    /// Title and cases.
    pub room: Classroom,
    /// Current case and revealed answers.
    pub state: ClassState,
    /// The case on screen.
    pub shown: Option<usize>,
    /// Whether the answer of the case on screen has been shown.
    pub answer_shown: bool,
    /// This tab's random student id.
    pub student: String,
    /// The last result posted (not posted twice).
    pub posted: Option<ResultPost>,
    /// The class's results (instructor).
    pub results: Vec<CaseResults>,
}

impl Class {
    /// Joins `room` (as its role says) with `student` as this tab's id.
    pub fn new(key: String, room: Classroom, student: String) -> Self {
        Self {
            key,
            role: room.role,
            state: ClassState {
                current: room.current,
                revealed: room.revealed.clone(),
            },
            room,
            shown: None,
            answer_shown: false,
            student,
            posted: None,
            results: Vec::new(),
        }
    }

    /// Whether the ground truth may be shown: to the instructor, or once revealed.
    pub fn answer_visible(&self) -> bool {
        self.role == Role::Instructor || self.answer_shown
    }

    /// The current case is revealed.
    pub fn revealed(&self) -> bool {
        self.state.revealed.contains(&self.state.current)
    }

    /// A student's result on the case on screen, when it differs from the one posted (then
    /// it counts as posted). `clicks`: the steps on screen, the case's preset prompts
    /// included.
    pub fn result(&mut self, metrics: Option<Overlap>, clicks: usize) -> Option<ResultPost> {
        // The case's preset prompts are not the student's.
        let preset = self
            .room
            .cases
            .get(self.state.current)
            .map_or(0, |c| c.steps.len());
        let post = result_to_post(
            self.role,
            &self.student,
            &self.state,
            metrics.map(|m| (m.dice, m.iou)),
            clicks.saturating_sub(preset),
        )?;
        if self.shown != Some(post.case) || self.posted.as_ref() == Some(&post) {
            return None;
        }
        self.posted = Some(post.clone());
        Some(post)
    }

    /// `window.samscopeClass()`'s JSON.
    pub fn state_json(&self) -> Value {
        json!({
            "role": self.role,
            "current": self.state.current,
            "revealed": self.state.revealed,
            "shown": self.shown,
            "answer_visible": self.answer_visible(),
            "posted": self.posted.as_ref().map(|p| json!({"case": p.case, "dice": p.dice, "clicks": p.clicks})),
        })
    }
}
