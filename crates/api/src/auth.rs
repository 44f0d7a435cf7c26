//! Signing in to a server that has a token (`/api/v1/auth`, docs/api.md "Signing in").

use serde::{Deserialize, Serialize};

/// `GET /api/v1/auth`: whether the server wants its token, and whether this request
/// carried a valid session cookie or bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthStatus {
    /// The server was started with a token: reads and writes need to be signed in.
    pub token_required: bool,
    /// The request was signed in (always false when no token is required).
    pub signed_in: bool,
}

/// `POST /api/v1/auth/sign-in` body: the server token, exchanged for a session cookie.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    /// The token the server was started with.
    pub token: String,
}
