//! Live state of running sessions: one room per session with watch channels, so every
//! follower sees the latest case and reveals (intermediate states may be skipped, never
//! reordered), and the instructor learns when results changed.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use api::ClassState;
use tokio::sync::watch;

use crate::classroom::SessionRow;

/// One running session.
#[derive(Debug)]
pub struct Room {
    /// Internal session id.
    pub session: String,
    /// Number of cases.
    pub cases: usize,
    /// Unix seconds.
    pub expires_at: i64,
    state: watch::Sender<ClassState>,
    results: watch::Sender<u64>,
    students: Mutex<HashSet<String>>,
}

impl Room {
    /// Subscribes to the class state (the current value counts as unseen).
    pub fn follow(&self) -> watch::Receiver<ClassState> {
        let mut receiver = self.state.subscribe();
        receiver.mark_changed();
        receiver
    }

    /// Subscribes to result changes (the current value counts as unseen).
    pub fn watch_results(&self) -> watch::Receiver<u64> {
        let mut receiver = self.results.subscribe();
        receiver.mark_changed();
        receiver
    }

    /// The state now.
    pub fn state(&self) -> ClassState {
        self.state.borrow().clone()
    }

    /// Publishes a new state to every follower.
    pub(crate) fn publish(&self, state: ClassState) {
        self.state.send_replace(state);
    }

    /// Tells the instructor's streams that results changed.
    pub(crate) fn results_changed(&self) {
        self.results.send_modify(|version| *version += 1);
    }

    /// Admits `student` (already known, or new while there is room); false when full.
    pub(crate) fn admit(&self, student: &str, limit: usize) -> bool {
        let mut students = self.students.lock().unwrap_or_else(PoisonError::into_inner);
        if students.contains(student) {
            return true;
        }
        if students.len() >= limit {
            return false;
        }
        students.insert(student.to_string());
        true
    }
}

/// The rooms of sessions opened since the server started.
#[derive(Debug, Default)]
pub(crate) struct Live {
    rooms: Mutex<HashMap<String, Arc<Room>>>,
}

impl Live {
    /// The room of `row`, created from the stored state (and `students`, the ids that
    /// already posted) on first use; rooms of sessions that ended are dropped.
    pub(crate) fn room(
        &self,
        row: &SessionRow,
        now: i64,
        students: impl FnOnce() -> Vec<String>,
    ) -> Arc<Room> {
        let mut rooms = self.rooms.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(room) = rooms.get(&row.id) {
            return room.clone();
        }
        rooms.retain(|_, room| room.expires_at > now);
        let room = Arc::new(Room {
            session: row.id.clone(),
            cases: row.cases.len(),
            expires_at: row.expires_at,
            state: watch::Sender::new(ClassState {
                current: row.current,
                revealed: row.revealed.clone(),
            }),
            results: watch::Sender::new(0),
            students: Mutex::new(students().into_iter().collect()),
        });
        rooms.insert(row.id.clone(), room.clone());
        room
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str) -> SessionRow {
        SessionRow {
            id: id.into(),
            title: "t".into(),
            cases: vec![],
            expires_at: 100,
            current: 2,
            revealed: vec![1],
        }
    }

    #[test]
    fn followers_see_the_latest_state_and_rooms_are_shared() {
        let live = Live::default();
        let room = live.room(&row("s"), 0, Vec::new);
        let again = live.room(&row("s"), 0, || panic!("loaded twice"));
        assert!(Arc::ptr_eq(&room, &again));
        let mut follower = room.follow();
        assert!(follower.has_changed().unwrap());
        assert_eq!(follower.borrow_and_update().current, 2);
        room.publish(ClassState {
            current: 3,
            revealed: vec![],
        });
        room.publish(ClassState {
            current: 4,
            revealed: vec![4],
        });
        assert!(follower.has_changed().unwrap());
        assert_eq!(follower.borrow_and_update().current, 4);
    }

    #[test]
    fn admission_is_bounded_and_ended_rooms_go() {
        let live = Live::default();
        let room = live.room(&row("s"), 0, || vec!["known-student".into()]);
        assert!(room.admit("known-student", 1));
        assert!(!room.admit("another-student", 1));
        assert!(room.admit("another-student", 2));
        live.room(&row("t"), 1000, Vec::new);
        assert_eq!(live.rooms.lock().unwrap().len(), 1);
    }
}
