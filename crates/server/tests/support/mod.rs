//! Drives the real router in-process, as a browser would: a cookie jar, CSRF tokens read from forms, a client
//! address, and a clock the test moves. Each app has its own fresh database on the chosen backend.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode, header};
use carepact_domain::FakeClock;
use carepact_server::{AppState, Config, demo};
use carepact_testkit::{Backend, TestDb};
use time::macros::datetime;
use tower::ServiceExt;

pub const PASSWORD: &str = demo::DEMO_PASSWORD;
pub const PERSON: &str = "amina@carepact.example";
pub const GP: &str = "sarah.patel@carepact.example";
pub const ORG_ADMIN: &str = "linda.brown@carepact.example";
pub const SYSTEM_ADMIN: &str = "admin@carepact.example";

pub struct TestApp {
    pub state: AppState,
    pub clock: FakeClock,
    pub router: Router,
    pub db: TestDb,
}

/// A fresh app with the demo world loaded.
pub async fn app(backend: Backend) -> Result<TestApp> {
    let db = TestDb::new(backend).await?;
    TestApp::on(db).await
}

impl TestApp {
    pub async fn on(db: TestDb) -> Result<Self> {
        let clock = FakeClock::new(datetime!(2026-11-23 09:00 UTC));
        let state = AppState::new(db.db.clone(), Arc::new(clock.clone()), Config::for_tests())?;
        demo::load_if_empty(&state).await?;
        let router = carepact_server::router(state.clone());
        Ok(Self {
            state,
            clock,
            router,
            db,
        })
    }

    pub fn client(&self) -> Client {
        self.client_from("192.0.2.10:50000")
    }

    pub fn client_from(&self, addr: &str) -> Client {
        Client {
            router: self.router.clone(),
            cookie: None,
            addr: addr.parse().unwrap_or(SocketAddr::from(([192, 0, 2, 10], 1))),
        }
    }

    pub fn advance(&self, by: time::Duration) {
        self.clock.advance(by);
    }
}

pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> Option<&str> {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok())
    }

    /// The first CSRF token in a form on the page.
    pub fn csrf(&self) -> Option<String> {
        let marker = "name=\"csrf_token\" value=\"";
        let start = self.body.find(marker)? + marker.len();
        let end = self.body[start..].find('"')? + start;
        Some(self.body[start..end].to_owned())
    }

    pub fn h1(&self) -> String {
        let Some(open) = self.body.find("<h1") else {
            return String::new();
        };
        let start = self.body[open..].find('>').map(|i| open + i + 1).unwrap_or(open);
        let end = self.body[start..].find("</h1>").map(|i| start + i).unwrap_or(start);
        self.body[start..end].trim().to_owned()
    }

    pub fn contains(&self, text: &str) -> bool {
        self.body.contains(text)
    }

    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// A response header's value, if it has one.
    pub fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A FHIR API request: a bearer token when given, extra headers (`If-Match`…), and a FHIR JSON body when given.
pub async fn fhir_request(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&serde_json::Value>,
    headers: &[(header::HeaderName, &str)],
) -> Result<Page> {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, "127.0.0.1:8080");
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    for (name, value) in headers {
        req = req.header(name, *value);
    }
    let req = match body {
        Some(b) => req
            .header(header::CONTENT_TYPE, "application/fhir+json")
            .body(Body::from(b.to_string()))?,
        None => req.body(Body::empty())?,
    };
    app.client().send(req).await
}

/// An OperationOutcome's diagnostics, joined with spaces.
pub fn diagnostics(outcome: &serde_json::Value) -> String {
    outcome["issue"]
        .as_array()
        .map(|i| {
            i.iter()
                .filter_map(|x| x["diagnostics"].as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

/// A browser: keeps the session cookie and sends requests from one address.
pub struct Client {
    router: Router,
    pub cookie: Option<String>,
    addr: SocketAddr,
}

impl Client {
    pub async fn send(&mut self, mut req: Request<Body>) -> Result<Page> {
        req.extensions_mut().insert(ConnectInfo(self.addr));
        if let Some(c) = &self.cookie
            && !req.headers().contains_key(header::COOKIE)
        {
            req.headers_mut()
                .insert(header::COOKIE, format!("carepact_session={c}").parse()?);
        }
        let response = self.router.clone().oneshot(req).await?;
        for value in response.headers().get_all(header::SET_COOKIE) {
            let value = value.to_str()?;
            if let Some(rest) = value.strip_prefix("carepact_session=") {
                self.cookie = rest.split(';').next().map(str::to_owned);
            }
        }
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = to_bytes(response.into_body(), 10 * 1024 * 1024).await?;
        Ok(Page {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        })
    }

    pub async fn get(&mut self, path: &str) -> Result<Page> {
        self.send(
            Request::get(path)
                .header(header::HOST, "127.0.0.1:8080")
                .body(Body::empty())?,
        )
        .await
    }

    pub async fn post_raw(&mut self, path: &str, content_type: &str, body: impl Into<Body>) -> Result<Page> {
        let req = Request::post(path)
            .header(header::HOST, "127.0.0.1:8080")
            .header(header::CONTENT_TYPE, content_type)
            .header("sec-fetch-site", "same-origin")
            .body(body.into())?;
        self.send(req).await
    }

    /// Posts form fields as given (no CSRF token added).
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Result<Page> {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.post_raw(path, "application/x-www-form-urlencoded", body).await
    }

    /// Opens `page`, then submits its form to `action` with `fields` and the page's CSRF token.
    pub async fn submit(&mut self, page: &str, action: &str, fields: &[(&str, &str)]) -> Result<Page> {
        let form = self.get(page).await?;
        let csrf = form
            .csrf()
            .with_context(|| format!("no CSRF token on {page} (status {})", form.status))?;
        let mut all = vec![("csrf_token", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post(action, &all).await
    }

    pub async fn sign_in(&mut self, email: &str, password: &str) -> Result<Page> {
        self.submit("/sign-in", "/sign-in", &[("email", email), ("password", password)])
            .await
    }

    /// Signs in and checks it worked.
    pub async fn signed_in(mut self, email: &str) -> Result<Self> {
        let page = self.sign_in(email, PASSWORD).await?;
        if page.status != StatusCode::SEE_OTHER || page.location() != Some("/") {
            bail!("signing in as {email} failed: {} {}", page.status, page.h1());
        }
        Ok(self)
    }
}

/// A real SMTP server (aiosmtpd from PyPI, installed by scripts/install-test-deps) that stores mail in a maildir.
pub struct SmtpSink {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl SmtpSink {
    pub fn start() -> Result<Self> {
        let python = std::env::var("CAREPACT_TEST_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python"));
        if !python.exists() {
            bail!(
                "{} is missing: run scripts/install-test-deps (it installs aiosmtpd)",
                python.display()
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let dir = tempfile::tempdir()?;
        let maildir = dir.path().join("mail");
        let child = Command::new(python)
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting aiosmtpd")?;
        let sink = Self { child, port, dir };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(sink);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!("aiosmtpd did not start on port {port}")
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far, decoded enough to read links (quoted-printable soft breaks undone).
    pub fn messages(&self) -> Result<Vec<String>> {
        let new = self.dir.path().join("mail").join("new");
        let mut out = Vec::new();
        if let Ok(entries) = std::fs::read_dir(new) {
            let mut paths: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
            paths.sort();
            for p in paths {
                out.push(decode_quoted_printable(&std::fs::read_to_string(p)?));
            }
        }
        Ok(out)
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn decode_quoted_printable(raw: &str) -> String {
    let joined = raw.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The first link in `text` that starts with `prefix`.
pub fn link_in(text: &str, prefix: &str) -> Option<String> {
    let start = text.find(prefix)?;
    let end = text[start..]
        .find(|c: char| c.is_whitespace())
        .map(|i| start + i)
        .unwrap_or(text.len());
    Some(text[start..end].to_owned())
}

/// The base of Amina's pages (`/records/{her id}`): the demo person most tests follow.
#[allow(dead_code)]
pub async fn amina_base(app: &TestApp) -> Result<String> {
    let email = carepact_domain::identity::Email::parse(PERSON).map_err(anyhow::Error::msg)?;
    let user = carepact_store::users::find_by_email(&app.state.db, &email)
        .await?
        .context("user")?;
    let person = carepact_store::people::id_for_user(&app.state.db, user.id)
        .await?
        .context("person")?;
    Ok(format!("/records/{person}"))
}

/// An access token from a newly registered public app with these scopes, held by `user_email` for the record of
/// `person_email` (the same person for their own apps): the token, the person's id and the app's client id.
#[allow(dead_code)]
pub async fn app_token(
    app: &TestApp,
    user_email: &str,
    person_email: &str,
    scopes: &[&str],
) -> Result<(String, carepact_domain::identity::PersonId, String)> {
    use carepact_store::smart::{self, ClientKind, NewClient};
    let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
    let client = NewClient {
        name: "Pressure Diary",
        redirect_uris: &["https://diary.example/callback".to_owned()],
        kind: ClientKind::Public,
        scopes: &scopes,
        created_by: None,
    };
    let (client_id, _) = smart::register_client(&app.state.db, &client, app.state.now()).await?;
    let find = |email: &str| {
        let email = carepact_domain::identity::Email::parse(email).map_err(anyhow::Error::msg);
        async move {
            carepact_store::users::find_by_email(&app.state.db, &email?)
                .await?
                .context("user")
        }
    };
    let owner = find(person_email).await?;
    let person = carepact_store::people::id_for_user(&app.state.db, owner.id)
        .await?
        .context("person")?;
    let user = find(user_email).await?;
    let issued = smart::issue_tokens(&app.state.db, &client_id, user.id, person, &scopes, app.state.now()).await?;
    Ok((issued.access_token, person, client_id))
}
