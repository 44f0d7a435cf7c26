//! The session's steps with undo/redo: every edit (add a click, draw a box, delete a
//! click, pick a candidate, clear, run the paper protocol) is one undoable change of the
//! whole step list.

use api::{Action, Step};

/// Steps plus undo and redo stacks of earlier versions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    steps: Vec<Step>,
    undo: Vec<Vec<Step>>,
    redo: Vec<Vec<Step>>,
}

/// Most versions kept for undo.
const MAX_UNDO: usize = 200;

impl History {
    /// A history starting at `steps` (a share link), with nothing to undo.
    pub fn starting_at(steps: Vec<Step>) -> Self {
        Self {
            steps,
            ..Self::default()
        }
    }

    /// The current steps.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Replaces the steps with `next` as one undoable edit (no-op when equal).
    pub fn set(&mut self, next: Vec<Step>) {
        if next == self.steps {
            return;
        }
        self.undo.push(std::mem::replace(&mut self.steps, next));
        if self.undo.len() > MAX_UNDO {
            self.undo.remove(0);
        }
        self.redo.clear();
    }

    /// Appends an action (its candidate: the highest-scored).
    pub fn push(&mut self, action: Action) {
        let mut next = self.steps.clone();
        next.push(Step {
            action,
            chosen: None,
        });
        self.set(next);
    }

    /// Removes step `index` (a click the person clicked on again).
    pub fn remove(&mut self, index: usize) {
        if index < self.steps.len() {
            let mut next = self.steps.clone();
            next.remove(index);
            self.set(next);
        }
    }

    /// Keeps candidate `chosen` after the last step.
    pub fn choose(&mut self, chosen: usize) {
        if let Some(last) = self.steps.last() {
            let mut next = self.steps.clone();
            let end = next.len() - 1;
            next[end] = Step {
                chosen: Some(chosen),
                ..*last
            };
            self.set(next);
        }
    }

    /// Removes every step.
    pub fn clear(&mut self) {
        self.set(Vec::new());
    }

    /// Goes back one edit; false when there is none.
    pub fn undo(&mut self) -> bool {
        match self.undo.pop() {
            Some(previous) => {
                self.redo.push(std::mem::replace(&mut self.steps, previous));
                true
            }
            None => false,
        }
    }

    /// Re-applies an undone edit; false when there is none.
    pub fn redo(&mut self) -> bool {
        match self.redo.pop() {
            Some(next) => {
                self.undo.push(std::mem::replace(&mut self.steps, next));
                true
            }
            None => false,
        }
    }

    /// Whether [`Self::undo`] would do something.
    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }

    /// Whether [`Self::redo`] would do something.
    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }

    /// The click step nearest to `(x, y)` within `radius` (image pixels), if any.
    pub fn point_near(&self, x: f64, y: f64, radius: f64) -> Option<usize> {
        self.steps
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match s.action {
                Action::Point { x: px, y: py, .. } => {
                    Some((i, (px - x).powi(2) + (py - y).powi(2)))
                }
                Action::Box { .. } => None,
            })
            .filter(|&(_, d2)| d2 <= radius * radius)
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(i, _)| i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn click(x: f64) -> Action {
        Action::Point {
            x,
            y: 0.0,
            positive: true,
        }
    }

    #[test]
    fn undo_and_redo_walk_the_versions_and_a_new_edit_drops_the_redo_stack() {
        let mut h = History::default();
        h.push(click(1.0));
        h.push(click(2.0));
        h.choose(2);
        assert_eq!(h.steps().len(), 2);
        assert_eq!(h.steps()[1].chosen, Some(2));
        assert!(h.undo());
        assert_eq!(h.steps()[1].chosen, None);
        assert!(h.undo());
        assert_eq!(h.steps().len(), 1);
        assert!(h.redo());
        assert_eq!(h.steps().len(), 2);
        h.push(click(3.0));
        assert!(!h.can_redo());
        assert!(h.undo() && h.undo() && h.undo());
        assert!(h.steps().is_empty());
        assert!(!h.undo());
    }

    #[test]
    fn clicking_near_a_point_finds_the_nearest_one_within_the_radius() {
        let mut h = History::default();
        h.push(click(10.0));
        h.push(Action::Box {
            x0: 0.0,
            y0: 0.0,
            x1: 20.0,
            y1: 20.0,
        });
        h.push(click(14.0));
        assert_eq!(h.point_near(11.0, 0.0, 3.0), Some(0));
        assert_eq!(h.point_near(13.0, 1.0, 3.0), Some(2));
        assert_eq!(h.point_near(30.0, 0.0, 3.0), None);
        h.remove(0);
        assert_eq!(h.steps().len(), 2);
        assert!(h.undo());
        assert_eq!(h.steps().len(), 3);
    }

    #[test]
    fn unchanged_edits_are_not_recorded() {
        let mut h = History::default();
        h.clear();
        h.choose(1);
        assert!(!h.can_undo());
    }
}
