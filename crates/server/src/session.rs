//! Sessions and CSRF, in one layer that every page request passes through.
//!
//! The cookie carries a random token; the database keeps its SHA-256, the user, a CSRF token and a one-time flash
//! message. The layer enforces NHS login's timeouts (30 minutes idle, 12 hours in all) with the app's clock, and on
//! every state-changing request checks the CSRF token (from the form body, or an `X-CSRF-Token` header for
//! non-form bodies) and refuses cross-site requests by `Sec-Fetch-Site` and `Origin`. Sign-in and sign-out rotate
//! the token. Nothing here lives in process memory, so any node can serve any request.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use carepact_domain::identity::UserId;
use carepact_domain::session::{ABSOLUTE_TIMEOUT, IDLE_TIMEOUT, SessionState, session_state};
use carepact_store::sessions;
use carepact_store::users::{self, User};
use time::Duration;

use crate::errors::AppError;
use crate::i18n::{Lang, Tr};
use crate::state::AppState;
use crate::tokens::{constant_time_eq, random_token, token_hash, well_formed};

/// Largest form body accepted by page routes.
pub const FORM_LIMIT: usize = 64 * 1024;
/// Activity is written back at most this often, to keep reads cheap.
const TOUCH_EVERY: Duration = Duration::minutes(1);

struct Inner {
    state: AppState,
    user: Option<User>,
    lang: Lang,
    client: String,
    current: Mutex<Current>,
}

/// The session as this request leaves it: the one it arrived with, or one it created or rotated.
#[derive(Default, Clone)]
struct Current {
    hash: Option<Vec<u8>>,
    csrf: Option<String>,
    flash: Option<String>,
    /// A new token to send back as a cookie, when this request created or rotated the session.
    new_cookie: Option<String>,
}

/// The current visitor's session, available to every page handler.
#[derive(Clone)]
pub struct Session(Arc<Inner>);

impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("session layer missing on this route")))
    }
}

impl Session {
    pub fn user(&self) -> Option<&User> {
        self.0.user.as_ref()
    }

    /// The signed-in user, or an error that sends the visitor to sign in.
    pub fn require_user(&self) -> Result<&User, AppError> {
        self.user().ok_or(AppError::SignInRequired)
    }

    pub fn tr(&self) -> Tr<'_> {
        Tr {
            catalogue: &self.0.state.catalogue,
            lang: self.0.lang,
        }
    }

    /// The visitor's address, for sign-in throttling.
    pub fn client(&self) -> &str {
        &self.0.client
    }

    fn current(&self) -> Current {
        lock(&self.0.current).clone()
    }

    /// The CSRF token to put in a form, starting an anonymous session if there is none yet.
    pub async fn csrf_token(&self) -> Result<String, AppError> {
        if let Some(csrf) = self.current().csrf {
            return Ok(csrf);
        }
        let token = random_token()?;
        let csrf = random_token()?;
        let hash = token_hash(&token);
        sessions::create(&self.0.state.db, &hash, None, &csrf, self.0.state.now()).await?;
        *lock(&self.0.current) = Current {
            hash: Some(hash),
            csrf: Some(csrf.clone()),
            flash: None,
            new_cookie: Some(token),
        };
        Ok(csrf)
    }

    /// The one-time message left by an earlier request (a catalogue id), cleared as it is read.
    pub async fn take_flash(&self) -> Result<Option<String>, AppError> {
        let (flash, hash) = {
            let mut current = lock(&self.0.current);
            (current.flash.take(), current.hash.clone())
        };
        if let (Some(_), Some(hash)) = (&flash, hash) {
            sessions::set_flash(&self.0.state.db, &hash, None).await?;
        }
        Ok(flash)
    }

    /// Leaves a message (catalogue id) for the next page.
    pub async fn set_flash(&self, message_id: &str) -> Result<(), AppError> {
        match self.current().hash {
            Some(hash) => {
                sessions::set_flash(&self.0.state.db, &hash, Some(message_id)).await?;
                lock(&self.0.current).flash = Some(message_id.to_owned());
            }
            None => self.rotate(None, Some(message_id)).await?,
        }
        Ok(())
    }

    /// Signs `user` in under a brand-new session token (the old one, possibly planted, is destroyed).
    pub async fn sign_in(&self, user: UserId) -> Result<(), AppError> {
        self.rotate(Some(user), None).await
    }

    /// Ends the session and starts an anonymous one carrying `flash`.
    pub async fn sign_out(&self, flash: &str) -> Result<(), AppError> {
        self.rotate(None, Some(flash)).await
    }

    async fn rotate(&self, user: Option<UserId>, flash: Option<&str>) -> Result<(), AppError> {
        let token = random_token()?;
        let csrf = random_token()?;
        let hash = token_hash(&token);
        let state = &self.0.state;
        let old = self.current().hash;
        sessions::rotate(&state.db, old.as_deref(), &hash, user, &csrf, flash, state.now()).await?;
        *lock(&self.0.current) = Current {
            hash: Some(hash),
            csrf: Some(csrf),
            flash: flash.map(str::to_owned),
            new_cookie: Some(token),
        };
        Ok(())
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub fn cookie_name(secure: bool) -> &'static str {
    // `__Host-` makes browsers refuse the cookie unless it is Secure, host-only and for path `/`.
    if secure {
        "__Host-carepact_session"
    } else {
        "carepact_session"
    }
}

fn read_cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

fn set_cookie_value(name: &str, token: &str, secure: bool) -> String {
    let max_age = ABSOLUTE_TIMEOUT.whole_seconds();
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")
}

fn client_address(req: &Request, trust_forwarded_for: bool) -> String {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let forwarded = trust_forwarded_for
        .then(|| {
            req.headers()
                .get("x-forwarded-for")?
                .to_str()
                .ok()?
                .rsplit(',')
                .next()?
                .trim()
                .parse::<IpAddr>()
                .ok()
        })
        .flatten();
    forwarded
        .or(peer)
        .map(|ip| ip.to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Refuses requests that another site made the browser send.
fn cross_site(headers: &HeaderMap) -> bool {
    if headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) == Some("cross-site") {
        return true;
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or("");
    origin == "null" || origin_host != host
}

/// The CSRF token sent with an unsafe request, and the request rebuilt with its body intact.
async fn submitted_csrf(req: Request) -> Result<(Option<String>, Request), AppError> {
    let from_header = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(boundary) = multipart_boundary(req.headers()) {
        let (token, req) = multipart_csrf(req, &boundary).await?;
        return Ok((token.or(from_header), req));
    }
    if !crate::forms::is_form(req.headers()) {
        return Ok((from_header, req));
    }
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, FORM_LIMIT)
        .await
        .map_err(|_| AppError::PayloadTooLarge)?;
    let token = form_urlencoded_value(&bytes, "csrf_token");
    Ok((token.or(from_header), Request::from_parts(parts, Body::from(bytes))))
}

/// How far into a multipart body the CSRF field is looked for. It must be the form's first field, so the file
/// that follows is never held in memory here.
const MULTIPART_PEEK: usize = 8 * 1024;

/// The boundary of a `multipart/form-data` body.
fn multipart_boundary(headers: &HeaderMap) -> Option<String> {
    let content_type = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let (mime, params) = content_type.split_once(';')?;
    if !mime.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (key, value) = p.split_once('=')?;
        let value = value.trim().trim_matches('"');
        (key.trim().eq_ignore_ascii_case("boundary") && !value.is_empty()).then(|| value.to_owned())
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The value of a multipart body's first part, when that part is the field `name` and has arrived whole.
fn first_multipart_field(head: &[u8], boundary: &str, name: &str) -> Option<String> {
    let rest = head.strip_prefix(format!("--{boundary}\r\n").as_bytes())?;
    let headers_end = find(rest, b"\r\n\r\n")?;
    let headers = std::str::from_utf8(&rest[..headers_end]).ok()?;
    let wanted = format!("name=\"{name}\"");
    let disposition = headers
        .split("\r\n")
        .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))?;
    if !disposition.split(';').any(|p| p.trim() == wanted) {
        return None;
    }
    let value = &rest[headers_end + 4..];
    let end = find(value, format!("\r\n--{boundary}").as_bytes())?;
    String::from_utf8(value[..end].to_vec()).ok()
}

/// Reads just enough of a multipart body to find its CSRF field, then rebuilds the request with the bytes read
/// put back in front of the rest of the stream.
async fn multipart_csrf(req: Request, boundary: &str) -> Result<(Option<String>, Request), AppError> {
    use futures_util::StreamExt;
    let (parts, body) = req.into_parts();
    let mut stream = body.into_data_stream();
    let mut head: Vec<u8> = Vec::new();
    let closing = format!("\r\n--{boundary}");
    while head.len() < MULTIPART_PEEK && find(&head, closing.as_bytes()).is_none() {
        match stream.next().await {
            Some(Ok(chunk)) => head.extend_from_slice(&chunk),
            Some(Err(_)) => return Err(AppError::BadRequest("error-form-unreadable")),
            None => break,
        }
    }
    let token = first_multipart_field(&head, boundary, "csrf_token");
    let head = axum::body::Bytes::from(head);
    let rebuilt = futures_util::stream::once(async move { Ok::<_, axum::Error>(head) }).chain(stream);
    Ok((token, Request::from_parts(parts, Body::from_stream(rebuilt))))
}

fn form_urlencoded_value(body: &[u8], key: &str) -> Option<String> {
    form_urlencoded::parse(body)
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// The session layer. See the module documentation.
pub async fn layer(State(state): State<AppState>, mut req: Request, next: Next) -> Result<Response, AppError> {
    let now = state.now();
    let secure = state.config.secure_cookies();
    let name = cookie_name(secure);
    let presented = read_cookie(req.headers(), name)
        .filter(|t| well_formed(t))
        .map(token_hash);

    let mut expired = false;
    let mut record = None;
    if let Some(hash) = &presented
        && let Some(found) = sessions::load(&state.db, hash).await?
    {
        match session_state(found.created_at, found.last_seen_at, now) {
            SessionState::Live => record = Some(found),
            SessionState::IdleExpired | SessionState::AbsoluteExpired => {
                expired = found.user_id.is_some();
                sessions::delete(&state.db, hash).await?;
            }
        }
    }
    let hash = presented.filter(|_| record.is_some());
    let user = match record.as_ref().and_then(|r| r.user_id) {
        Some(id) => users::get(&state.db, id).await?.filter(|u| u.active),
        None => None,
    };
    let accept = req.headers().get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
    let lang = state
        .catalogue
        .negotiate(user.as_ref().and_then(|u| u.language.as_deref()), accept);
    let client = client_address(&req, state.config.trust_forwarded_for);
    let arrived_csrf = record.as_ref().map(|r| r.csrf_token.clone());
    let current = Current {
        hash: hash.clone(),
        csrf: arrived_csrf.clone(),
        flash: record.as_ref().and_then(|r| r.flash.clone()),
        new_cookie: None,
    };
    let last_seen = record.as_ref().map(|r| r.last_seen_at);
    let session = Session(Arc::new(Inner {
        state: state.clone(),
        user,
        lang,
        client,
        current: Mutex::new(current),
    }));
    if expired {
        // Start afresh, with a message saying why they must sign in again.
        session.sign_out("flash-session-expired").await?;
    }

    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if unsafe_method {
        if cross_site(req.headers()) {
            return Err(AppError::Forbidden("error-cross-site"));
        }
        let (submitted, rebuilt) = submitted_csrf(req).await?;
        req = rebuilt;
        let valid = match (&arrived_csrf, &submitted) {
            (Some(expected), Some(given)) => constant_time_eq(expected.as_bytes(), given.as_bytes()),
            _ => false,
        };
        if !valid {
            if arrived_csrf.is_some() {
                return Err(AppError::Forbidden("error-form-expired"));
            }
            // The form outlived its session: explain and start again rather than show a bare refusal.
            if !expired {
                session.sign_out("flash-form-expired").await?;
            }
            let mut response = Redirect::to("/sign-in").into_response();
            attach_cookie(&session, &mut response, name, secure);
            return Ok(response);
        }
    }

    if let (Some(h), Some(seen)) = (&hash, last_seen)
        && now - seen >= TOUCH_EVERY
    {
        sessions::touch(&state.db, h, now).await?;
    }

    req.extensions_mut().insert(session.clone());
    let mut response = next.run(req).await;
    attach_cookie(&session, &mut response, name, secure);
    response.extensions_mut().insert(lang);
    Ok(response)
}

fn attach_cookie(session: &Session, response: &mut Response, name: &str, secure: bool) {
    let token = lock(&session.0.current).new_cookie.take();
    if let Some(value) = token.and_then(|t| HeaderValue::from_str(&set_cookie_value(name, &t, secure)).ok()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// How long before an idle session runs out (shown to people on the sign-in page).
pub fn idle_minutes() -> i64 {
    IDLE_TIMEOUT.whole_minutes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_named_cookie_only() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; carepact_session=abc; b=2"),
        );
        assert_eq!(read_cookie(&h, "carepact_session"), Some("abc"));
        assert_eq!(read_cookie(&h, "__Host-carepact_session"), None);
    }

    #[test]
    fn cross_site_requests_are_recognised() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(!cross_site(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:8080"));
        assert!(!cross_site(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(cross_site(&h));
        h.remove(header::ORIGIN);
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(cross_site(&h));
    }

    #[test]
    fn finds_the_csrf_field_at_the_start_of_a_multipart_body() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("multipart/form-data; boundary=\"XyZ\""),
        );
        assert_eq!(multipart_boundary(&headers).as_deref(), Some("XyZ"));
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\nabc123\r\n--XyZ\r\n\
                     Content-Disposition: form-data; name=\"file\"; filename=\"a.json\"\r\n\r\n{}\r\n--XyZ--\r\n";
        assert_eq!(
            first_multipart_field(body, "XyZ", "csrf_token").as_deref(),
            Some("abc123")
        );
        // Only the first field counts, and only once it has arrived whole.
        assert_eq!(first_multipart_field(body, "XyZ", "file"), None);
        assert_eq!(first_multipart_field(&body[..40], "XyZ", "csrf_token"), None);
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        assert_eq!(multipart_boundary(&headers), None);
    }

    #[test]
    fn finds_the_csrf_field_in_a_form_body() {
        assert_eq!(
            form_urlencoded_value(b"a=1&csrf_token=xyz&b=2", "csrf_token").as_deref(),
            Some("xyz")
        );
        assert_eq!(form_urlencoded_value(b"%%%", "csrf_token"), None);
        assert_eq!(
            form_urlencoded_value(b"csrf_token=a%2Bb", "csrf_token").as_deref(),
            Some("a+b")
        );
    }
}
