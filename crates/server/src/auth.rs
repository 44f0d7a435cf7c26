//! Who may use a server that has a token: the token itself (`Authorization: Bearer`, for
//! the CLI and scripts), sign-in sessions (an HttpOnly cookie the viewer gets for the token,
//! `POST /api/v1/auth/sign-in`), and a budget of wrong tokens. Knows nothing of routes;
//! `crate::access` decides which requests need what.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, header};
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ServerError};
use crate::origin::OwnOrigin;

/// Shortest token accepted at start.
pub const MIN_TOKEN_CHARS: usize = 16;
/// Default lifetime of a sign-in session (`--session-hours 12`).
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "samscope_session";
/// Sign-in sessions kept at once; the one closest to expiry goes first.
const MAX_SESSIONS: usize = 1024;
/// Wrong tokens (sign-in or Bearer) the whole server accepts per second; more get 429.
const WRONG_TOKENS_PER_SECOND: f64 = 5.0;
/// Largest token file.
const TOKEN_FILE_BYTES: u64 = 4096;
/// Slice images remembered per teaching session, and sessions remembered.
const SLICES_PER_SESSION: usize = 4096;
const SLICE_SESSIONS: usize = 256;

/// The server's access state, built once at start.
#[derive(Debug)]
pub struct Access {
    token: Option<String>,
    ttl: Duration,
    /// sha256 of each live session id → when it ends. The ids themselves are not kept.
    sessions: Mutex<HashMap<[u8; 32], Instant>>,
    wrong_tokens: Mutex<Budget>,
    /// Images the server rendered from a teaching session's deck volumes for that session's
    /// classroom keys (`POST …/slices`), per session id.
    slices: Mutex<HashMap<String, VecDeque<String>>>,
    /// The server's own origin, for the cross-site check.
    pub origin: OwnOrigin,
}

/// A token bucket of wrong tokens: full at [`WRONG_TOKENS_PER_SECOND`], refilled at that
/// rate.
#[derive(Debug)]
struct Budget {
    left: f64,
    at: Instant,
}

impl Budget {
    fn refill(&mut self) -> f64 {
        let now = Instant::now();
        let gained = now.duration_since(self.at).as_secs_f64() * WRONG_TOKENS_PER_SECOND;
        self.left = (self.left + gained).min(WRONG_TOKENS_PER_SECOND);
        self.at = now;
        self.left
    }
}

impl Access {
    /// Access for a server with `token` (none: everything open), sessions lasting `ttl`.
    pub fn new(token: Option<String>, ttl: Duration, origin: OwnOrigin) -> Self {
        Self {
            token,
            ttl: ttl.max(Duration::from_secs(1)),
            sessions: Mutex::new(HashMap::new()),
            wrong_tokens: Mutex::new(Budget {
                left: WRONG_TOKENS_PER_SECOND,
                at: Instant::now(),
            }),
            slices: Mutex::new(HashMap::new()),
            origin,
        }
    }

    /// Whether the server has a token (then reads and writes need signing in).
    pub fn token_required(&self) -> bool {
        self.token.is_some()
    }

    /// Whether the request is signed in: no token is set, or it carries a live session
    /// cookie or the Bearer token. A wrong Bearer token spends the wrong-token budget;
    /// with the budget spent, 429 without looking at the token.
    pub fn signed_in(&self, headers: &HeaderMap) -> Result<bool, ApiError> {
        let Some(token) = &self.token else {
            return Ok(true);
        };
        if session_cookies(headers).any(|id| self.live_session(id)) {
            return Ok(true);
        }
        let bearer = headers
            .get_all(header::AUTHORIZATION)
            .iter()
            .find_map(|v| v.as_bytes().strip_prefix(b"Bearer "));
        match bearer {
            Some(given) => self.try_token(token, given),
            None => Ok(false),
        }
    }

    /// Compares `given` with the token unless the wrong-token budget is spent.
    fn try_token(&self, token: &str, given: &[u8]) -> Result<bool, ApiError> {
        let mut budget = self.wrong_tokens.lock().unwrap_or_else(|p| p.into_inner());
        if budget.refill() < 1.0 {
            return Err(ApiError::TooManyAttempts);
        }
        let right = same_secret(given, token.as_bytes());
        if !right {
            budget.left -= 1.0;
        }
        Ok(right)
    }

    /// Exchanges the token for a new session: the `Set-Cookie` value. 401 for a wrong
    /// token, 429 when too many were wrong lately.
    pub fn sign_in(&self, given: &str) -> Result<String, ApiError> {
        let token = self.token.as_deref().ok_or_else(|| {
            ApiError::BadRequest("this server has no token; there is nothing to sign in to".into())
        })?;
        if !self.try_token(token, given.as_bytes())? {
            tracing::warn!("sign-in refused: wrong token");
            return Err(ApiError::Unauthorized);
        }
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| ApiError::internal(format!("OS random source: {e}")))?;
        let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let now = Instant::now();
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        if sessions.len() >= MAX_SESSIONS {
            sessions.retain(|_, ends| *ends > now);
        }
        if sessions.len() >= MAX_SESSIONS
            && let Some(first) = sessions
                .iter()
                .min_by_key(|(_, ends)| **ends)
                .map(|(k, _)| *k)
        {
            sessions.remove(&first);
        }
        sessions.insert(hash(&id), now + self.ttl);
        tracing::info!(sessions = sessions.len(), "signed in");
        Ok(format!(
            "{SESSION_COOKIE}={id}; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age={}",
            self.ttl.as_secs()
        ))
    }

    /// Forgets the request's sessions; the `Set-Cookie` value that expires the cookie.
    pub fn sign_out(&self, headers: &HeaderMap) -> &'static str {
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        for id in session_cookies(headers) {
            sessions.remove(&hash(id));
        }
        "samscope_session=; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=0"
    }

    /// Whether session `id` exists and has not ended (an ended one is forgotten).
    fn live_session(&self, id: &str) -> bool {
        let key = hash(id);
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        match sessions.get(&key) {
            Some(ends) if *ends > Instant::now() => true,
            Some(_) => {
                sessions.remove(&key);
                false
            }
            None => false,
        }
    }

    /// Remembers that teaching session `session` was given slice image `image`.
    pub fn record_slice(&self, session: &str, image: String) {
        let mut slices = self.slices.lock().unwrap_or_else(|p| p.into_inner());
        if !slices.contains_key(session) && slices.len() >= SLICE_SESSIONS {
            // Forget an arbitrary session: its students re-request their slices.
            if let Some(old) = slices.keys().next().cloned() {
                slices.remove(&old);
            }
        }
        let list = slices.entry(session.to_string()).or_default();
        if !list.contains(&image) {
            if list.len() >= SLICES_PER_SESSION {
                list.pop_front();
            }
            list.push_back(image);
        }
    }

    /// Whether teaching session `session` was given slice image `image`.
    pub fn has_slice(&self, session: &str, image: &str) -> bool {
        let slices = self.slices.lock().unwrap_or_else(|p| p.into_inner());
        slices
            .get(session)
            .is_some_and(|list| list.iter().any(|i| i == image))
    }
}

/// Values of the session cookie among the request's cookies.
fn session_cookies(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == SESSION_COOKIE && !value.is_empty()).then_some(value)
        })
}

fn hash(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

/// Constant-time comparison, so response timing does not reveal the token.
pub(crate) fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The token kept in file `path` (`--token-file`): its content without surrounding white
/// space. Refused when group or other users may read or write the file (Unix), or when it
/// is larger than a token.
pub fn read_token_file(path: &Path) -> Result<String, ServerError> {
    let problem = |problem: String| ServerError::TokenFile {
        path: path.to_path_buf(),
        problem,
    };
    let meta = std::fs::metadata(path).map_err(|e| problem(e.to_string()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(problem(format!(
                "other users may read it (mode {mode:o}); run `chmod 600 {}`",
                path.display()
            )));
        }
    }
    if !meta.is_file() || meta.len() > TOKEN_FILE_BYTES {
        return Err(problem(format!(
            "expected a file of at most {TOKEN_FILE_BYTES} bytes holding just the token"
        )));
    }
    let text = std::fs::read_to_string(path).map_err(|e| problem(e.to_string()))?;
    Ok(text.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "0123456789abcdef-token";

    fn access(ttl: Duration) -> Access {
        Access::new(
            Some(TOKEN.into()),
            ttl,
            OwnOrigin {
                scheme: "http",
                trust_forwarded: false,
            },
        )
    }

    fn with(name: &'static str, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, value.parse().unwrap());
        headers
    }

    fn cookie_of(set_cookie: &str) -> String {
        set_cookie.split(';').next().unwrap().to_string()
    }

    #[test]
    fn secrets_compare_by_content_and_length() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"abc", b"abcd"));
        assert!(!same_secret(b"", b"a"));
    }

    #[test]
    fn sessions_start_with_the_token_and_end_on_sign_out() {
        let access = access(Duration::from_secs(3600));
        assert!(matches!(
            access.sign_in("wrong"),
            Err(ApiError::Unauthorized)
        ));
        let set = access.sign_in(TOKEN).unwrap();
        assert!(set.contains("HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=3600"));
        let id = cookie_of(&set);
        assert_eq!(id.len(), SESSION_COOKIE.len() + 1 + 64);
        let headers = with("cookie", &format!("theme=dark; {id}"));
        assert!(access.signed_in(&headers).unwrap());
        assert!(!access.signed_in(&HeaderMap::new()).unwrap());
        assert!(
            !access
                .signed_in(&with("cookie", "samscope_session=forged"))
                .unwrap()
        );
        assert_ne!(
            cookie_of(&access.sign_in(TOKEN).unwrap()),
            id,
            "ids are random"
        );
        assert!(access.sign_out(&headers).ends_with("Max-Age=0"));
        assert!(!access.signed_in(&headers).unwrap());
    }

    #[test]
    fn sessions_expire() {
        let access = access(Duration::from_millis(1));
        let id = cookie_of(&access.sign_in(TOKEN).unwrap());
        std::thread::sleep(Duration::from_millis(1100));
        assert!(!access.signed_in(&with("cookie", &id)).unwrap());
    }

    #[test]
    fn wrong_tokens_are_rate_limited() {
        let access = access(Duration::from_secs(60));
        let bearer = with("authorization", &format!("Bearer {TOKEN}"));
        assert!(access.signed_in(&bearer).unwrap());
        let refused = (0..20)
            .filter(|_| matches!(access.sign_in("nope"), Err(ApiError::TooManyAttempts)))
            .count();
        assert!(refused >= 10, "only {refused} of 20 refused");
        // While the budget is spent even the right token waits.
        assert!(matches!(
            access.signed_in(&bearer),
            Err(ApiError::TooManyAttempts)
        ));
        std::thread::sleep(Duration::from_millis(400));
        assert!(access.signed_in(&bearer).unwrap());
    }

    #[test]
    fn slices_are_remembered_per_session_and_bounded() {
        let access = access(Duration::from_secs(60));
        access.record_slice("s1", "a".into());
        assert!(access.has_slice("s1", "a"));
        assert!(!access.has_slice("s2", "a"));
        for i in 0..SLICES_PER_SESSION {
            access.record_slice("s1", format!("{i}"));
        }
        assert!(!access.has_slice("s1", "a"), "the oldest is forgotten");
        for i in 0..SLICE_SESSIONS + 5 {
            access.record_slice(&format!("session-{i}"), "x".into());
        }
        assert!(access.slices.lock().unwrap().len() <= SLICE_SESSIONS);
    }

    #[cfg(unix)]
    #[test]
    fn token_files_must_be_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("samscope-token-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("token");
        std::fs::write(&path, format!("  {TOKEN}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let refused = read_token_file(&path).unwrap_err().to_string();
        assert!(refused.contains("chmod 600"), "{refused}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_token_file(&path).unwrap(), TOKEN);
        assert!(read_token_file(&dir.join("missing")).is_err());
        let _ = std::fs::remove_dir_all(dir);
    }
}
