//! A deck being edited in the page: its cases moved up or down or removed, then saved as a
//! whole (`PUT /api/v1/decks/{id}`). Cases are kept as the server sent them, so saving
//! changes nothing but their order and number.

use serde_json::{Value, json};

/// One edit of the case at an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseEdit {
    /// Swap with the case before it.
    Up,
    /// Swap with the case after it.
    Down,
    /// Take it out of the deck.
    Remove,
}

impl CaseEdit {
    /// Parses `up`, `down`, `remove` (the buttons' `data-edit`).
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "up" => Some(Self::Up),
            "down" => Some(Self::Down),
            "remove" => Some(Self::Remove),
            _ => None,
        }
    }
}

/// A deck as `GET /api/v1/decks/{id}` returns it, with unsaved edits.
#[derive(Debug, Clone, PartialEq)]
pub struct DeckEdit {
    /// Deck id.
    pub id: String,
    /// Deck title.
    pub title: String,
    /// Cases in their current order.
    pub cases: Vec<Value>,
    /// Whether there are edits not saved yet.
    pub dirty: bool,
}

impl DeckEdit {
    /// Reads a stored deck (`{id, title, cases: [...]}`).
    pub fn from_deck(deck: &Value) -> Result<Self, String> {
        let text = |key: &str| {
            deck[key]
                .as_str()
                .map(String::from)
                .ok_or_else(|| format!("the deck has no `{key}`"))
        };
        Ok(Self {
            id: text("id")?,
            title: text("title")?,
            cases: deck["cases"]
                .as_array()
                .cloned()
                .ok_or("the deck has no `cases`")?,
            dirty: false,
        })
    }

    /// Applies `edit` to case `index`; false (and no change) when it does not apply (the
    /// first case moved up, the last down, an index past the end).
    pub fn apply(&mut self, index: usize, edit: CaseEdit) -> bool {
        let n = self.cases.len();
        let applied = match edit {
            CaseEdit::Up if index > 0 && index < n => {
                self.cases.swap(index - 1, index);
                true
            }
            CaseEdit::Down if index + 1 < n => {
                self.cases.swap(index, index + 1);
                true
            }
            CaseEdit::Remove if index < n => {
                self.cases.remove(index);
                true
            }
            _ => false,
        };
        self.dirty |= applied;
        applied
    }

    /// Each case's title, or `Case N` when it has none.
    pub fn titles(&self) -> Vec<String> {
        self.cases
            .iter()
            .enumerate()
            .map(|(i, case)| match case["title"].as_str() {
                Some(title) if !title.trim().is_empty() => title.to_string(),
                _ => format!("Case {}", i + 1),
            })
            .collect()
    }

    /// The body of `PUT /api/v1/decks/{id}`.
    pub fn to_input(&self) -> Value {
        json!({ "title": self.title, "cases": self.cases })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deck() -> DeckEdit {
        DeckEdit::from_deck(&json!({
            "id": "d1", "title": "Class", "created": 5,
            "cases": [
                {"title": "A", "image": "i1", "steps": []},
                {"title": "", "image": "i2", "notes": "n"},
                {"title": "C", "image": "i3"},
            ]
        }))
        .unwrap()
    }

    #[test]
    fn moves_and_removals_reorder_the_cases_and_mark_the_deck_dirty() {
        let mut d = deck();
        assert_eq!(d.titles(), ["A", "Case 2", "C"]);
        assert!(!d.dirty);
        assert!(d.apply(0, CaseEdit::Down));
        assert_eq!(d.titles(), ["Case 1", "A", "C"]);
        assert!(d.apply(2, CaseEdit::Up));
        assert_eq!(d.titles(), ["Case 1", "C", "A"]);
        assert!(d.apply(0, CaseEdit::Remove));
        assert_eq!(d.titles(), ["C", "A"]);
        assert!(d.dirty);
        assert_eq!(
            d.to_input(),
            json!({"title": "Class", "cases": [
                {"title": "C", "image": "i3"},
                {"title": "A", "image": "i1", "steps": []},
            ]})
        );
    }

    #[test]
    fn edits_past_the_ends_change_nothing() {
        let mut d = deck();
        assert!(!d.apply(0, CaseEdit::Up));
        assert!(!d.apply(2, CaseEdit::Down));
        assert!(!d.apply(3, CaseEdit::Remove));
        assert!(!d.apply(7, CaseEdit::Up));
        assert_eq!(d, deck());
    }

    #[test]
    fn edit_names_and_malformed_decks() {
        assert_eq!(CaseEdit::parse("down"), Some(CaseEdit::Down));
        assert_eq!(CaseEdit::parse("delete"), None);
        let err = DeckEdit::from_deck(&json!({"id": "d", "title": "t"})).unwrap_err();
        assert!(err.contains("cases"), "{err}");
    }
}
