//! The body of every error response.

use serde::{Deserialize, Serialize};

/// `{"error": "<stable code>", "detail": "<a sentence for people>"}` (docs/api.md,
/// "Errors"; the codes are the server's `ApiError::code`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable machine-readable code (`image_not_found`, `busy`, …).
    pub error: String,
    /// What went wrong, for people.
    pub detail: String,
}
