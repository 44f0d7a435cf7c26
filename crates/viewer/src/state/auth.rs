//! Signing in to a server started with a token: what the page knows about its session
//! (`GET /api/v1/auth`), the sign-in panel (shown on the first 401), and the requests that
//! wait for a sign-in to be retried.
//!
//! The token the person types only passes through [`Message::SignIn`] to
//! [`Effect::SignIn`] (which posts it to `POST /api/v1/auth/sign-in`); the server answers
//! with an HttpOnly session cookie, so the page never keeps the token, in memory, in the
//! URL or in storage.

use super::{Effect, Message, Part};

/// A secret the person typed: its `Debug` never shows it (effects and messages are
/// logged in tests and may be in panics).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// The page's session with the server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Auth {
    /// The server was started with a token (from `GET /api/v1/auth`; a 401 also says so).
    pub token_required: bool,
    /// This browser holds a session cookie the server accepts.
    pub signed_in: bool,
    /// The sign-in panel is shown.
    pub panel: bool,
    /// A sign-in request is on its way.
    pub signing_in: bool,
    /// What the panel says (why it is shown, or why the last sign-in failed).
    pub message: String,
    /// Requests (numbered by the page) that got 401, or would, and wait for a sign-in.
    pub waiting: Vec<u64>,
}

impl Auth {
    /// The server needs a token and this browser has not signed in (uploads wait for the
    /// sign-in before they are sent).
    pub fn needed(&self) -> bool {
        self.token_required && !self.signed_in
    }

    /// Whether the sign-out control is shown.
    pub fn can_sign_out(&self) -> bool {
        self.token_required && self.signed_in
    }

    /// Whether the header offers "Sign in" (the server needs a token, the page has none).
    pub fn can_sign_in(&self) -> bool {
        self.needed() && !self.panel
    }

    /// `window.samscopeState().auth`.
    pub fn state_json(&self) -> serde_json::Value {
        serde_json::json!({
            "token_required": self.token_required,
            "signed_in": self.signed_in,
            "panel": self.panel,
            "waiting": self.waiting.len(),
        })
    }
}

/// What the panel says when a request needs signing in.
const ASK: &str = "This server needs its access token. Enter it once; the browser then keeps a \
                   session (an HttpOnly cookie) until you sign out or it expires.";

/// Applies a sign-in message (other messages change nothing here).
pub(super) fn update(auth: &mut Auth, message: Message, fx: &mut Vec<Effect>) {
    match message {
        Message::AuthKnown {
            token_required,
            signed_in,
        } => {
            auth.token_required = token_required;
            auth.signed_in = signed_in;
        }
        Message::Unauthorized { request } => {
            // A 401 means the server needs a token and this browser's session (if it had
            // one) is gone.
            auth.token_required = true;
            auth.signed_in = false;
            auth.waiting.push(request);
            if !auth.panel {
                auth.panel = true;
                auth.message = ASK.into();
            }
        }
        Message::ShowSignIn => {
            auth.panel = true;
            auth.message = ASK.into();
        }
        Message::SignIn(token) => {
            if auth.signing_in {
                return;
            }
            let token = Secret(token.0.trim().to_string());
            if token.0.is_empty() {
                auth.message = "Enter the server's access token.".into();
            } else {
                auth.signing_in = true;
                auth.message = "Signing in…".into();
                fx.push(Effect::SignIn(token));
            }
        }
        Message::SignedIn(Ok(())) => {
            auth.signing_in = false;
            auth.signed_in = true;
            auth.token_required = true;
            auth.panel = false;
            auth.message.clear();
            let waiting = std::mem::take(&mut auth.waiting);
            if !waiting.is_empty() {
                fx.push(Effect::Retry(waiting));
            }
            fx.push(Effect::status("Signed in."));
        }
        Message::SignedIn(Err(reason)) => {
            // The panel stays, with the reason; the waiting requests keep waiting.
            auth.signing_in = false;
            auth.message = reason;
        }
        Message::SignInCancelled => {
            auth.panel = false;
            auth.message.clear();
            let waiting = std::mem::take(&mut auth.waiting);
            if !waiting.is_empty() {
                fx.push(Effect::GiveUp(waiting));
            }
        }
        Message::SignOut => fx.push(Effect::SignOut),
        Message::SignedOut => {
            auth.signed_in = false;
            fx.push(Effect::status(
                "Signed out: this browser's session is forgotten.",
            ));
        }
        _ => return,
    }
    fx.push(Effect::Render(Part::Auth));
}
