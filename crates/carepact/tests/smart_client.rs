//! A SMART client written by others against the real `carepact` binary: `fhirclient`, SMART Health IT's Python
//! client from PyPI, completes a standalone patient launch (PKCE S256; the person signs in and presses Allow on the
//! consent page), reads Amina's Patient and her Observations through its FHIR models, and refreshes its token; a
//! token without an Observation scope reads the Patient and is refused the Observations (403 OperationOutcome).
//! With `openid fhirUser`, PyJWT (also from PyPI) verifies the OpenID Connect identity token, and the refreshed one,
//! against the key CarePact publishes.
//!
//! `scripts/smart-client-check` is the app and the person's browser; this test installs the pinned client into a
//! virtualenv at `target/smart-client-venv` (once: a stamp names the pins), starts `carepact serve --demo` on a
//! free port, registers the apps in its database, and runs the script. On SQLite and on PostgreSQL.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use carepact_domain::smart::{parse_scopes, registrable};
use carepact_store::Db;
use carepact_store::smart::{ClientKind, NewClient, register_client};

const BIN: &str = env!("CARGO_BIN_EXE_carepact");

/// `fhirclient` and what pip resolves for it, pinned exactly.
const PINS: [&str; 10] = [
    "fhirclient==4.4.0",
    "requests==2.34.2",
    "certifi==2026.10.18",
    "charset-normalizer==3.5.2",
    "idna==3.20",
    "urllib3==2.8.0",
    // PyJWT checks the OpenID Connect identity token (ES256 needs cryptography).
    "PyJWT==2.15.1",
    "cryptography==50.0.2",
    "cffi==2.1.1",
    "pycparser==3.12",
];

/// The app's return address: made up, so the person's browser is stopped before it goes there.
const REDIRECT: &str = "https://app.example/callback";

/// How long one run of the script may take (a launch takes about a second).
const CHECK_TIMEOUT: Duration = Duration::from_secs(120);
/// How long creating the virtualenv and installing the pins from PyPI may take.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(600);

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `cmd` to the end within `limit`, its output to a file; the exit status and the output.
fn run(mut cmd: Command, limit: Duration, log: &Path) -> Result<(bool, String)> {
    let out = File::create(log)?;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .spawn()
        .with_context(|| format!("could not start {cmd:?}"))?;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = std::fs::read_to_string(log).unwrap_or_default();
    match status {
        Some(status) => Ok((status.success(), text)),
        None => bail!("{cmd:?} did not finish within {limit:?}; its output:\n{text}"),
    }
}

/// The virtualenv's python, with the pinned client installed. One test at a time sets it up (a file lock); a stamp
/// with the pins says it is done, so later runs skip pip.
fn client_python() -> Result<PathBuf> {
    let target = workspace().join("target");
    std::fs::create_dir_all(&target)?;
    let venv = target.join("smart-client-venv");
    let python = venv.join("bin/python");
    let stamp = venv.join(".carepact-pins");
    let want = PINS.join("\n");
    let lock = File::create(target.join("smart-client-venv.lock"))?;
    lock.lock()?;
    if python.exists() && std::fs::read_to_string(&stamp).is_ok_and(|s| s == want) {
        return Ok(python);
    }
    let log = target.join("smart-client-venv.log");
    if !python.exists() {
        let mut cmd = Command::new("python3");
        cmd.args(["-m", "venv"]).arg(&venv);
        let (ok, out) = run(cmd, INSTALL_TIMEOUT, &log)?;
        ensure!(ok, "python3 -m venv {} failed:\n{out}", venv.display());
    }
    let mut cmd = Command::new(&python);
    cmd.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-input",
    ])
    .args(PINS);
    let (ok, out) = run(cmd, INSTALL_TIMEOUT, &log)?;
    ensure!(
        ok,
        "pip could not install {} into {} (is PyPI reachable?):\n{out}",
        PINS.join(" "),
        venv.display()
    );
    std::fs::write(&stamp, &want)?;
    Ok(python)
}

/// `carepact serve --demo` on a free port; its public URL is `http://127.0.0.1:PORT`, the address it prints.
struct Node {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Node {
    fn start(database_url: &str, log: PathBuf) -> Result<Self> {
        let mut child = Command::new(BIN)
            .args([
                "serve",
                "--addr",
                "127.0.0.1:0",
                "--database-url",
                database_url,
                "--log",
                "warn",
                "--demo",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(&log)?)
            .spawn()?;
        let stdout = child.stdout.take().context("stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let url = loop {
            let Some(line) = lines.next() else {
                let _ = child.wait();
                bail!(
                    "the server stopped before it was ready:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            };
            if let Some(url) = line?.strip_prefix("CarePact is running at ") {
                break url.trim().to_owned();
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Ok(Self { child, url, log })
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Asks the server to stop (SIGTERM) and waits: a graceful shutdown exits successfully.
    fn stop(mut self) -> Result<()> {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if let Some(status) = self.child.try_wait()? {
                ensure!(status.success(), "the server exited with {status}:\n{}", self.log());
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!("the server did not stop within 10 seconds")
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Registers a public app in the server's database, as the system admin does at `/admin/apps`; its client_id.
async fn register(db: &Db, name: &str, scopes: &str) -> Result<String> {
    let (parsed, unknown) = parse_scopes(scopes);
    ensure!(
        unknown.is_empty() && parsed.iter().all(registrable),
        "not registrable: {scopes}"
    );
    let scopes: Vec<String> = parsed.iter().map(ToString::to_string).collect();
    let redirects = [REDIRECT.to_owned()];
    let app = NewClient {
        name,
        redirect_uris: &redirects,
        kind: ClientKind::Public,
        scopes: &scopes,
        created_by: None,
    };
    let (client_id, secret) = register_client(db, &app, time::OffsetDateTime::now_utc()).await?;
    ensure!(secret.is_none(), "a public app has no secret");
    Ok(client_id)
}

/// Runs `scripts/smart-client-check` as the app; it must succeed.
fn check(python: &Path, node: &Node, dir: &Path, client_id: &str, scopes: &str, refused: bool) -> Result<()> {
    let mut cmd = Command::new(python);
    cmd.arg(workspace().join("scripts/smart-client-check"))
        .args([&node.url, client_id, scopes, "--redirect-uri", REDIRECT])
        .env("PYTHONDONTWRITEBYTECODE", "1");
    if refused {
        cmd.arg("--expect-refused");
    }
    let (ok, out) = run(cmd, CHECK_TIMEOUT, &dir.join("smart-client-check.log"))?;
    ensure!(
        ok,
        "scripts/smart-client-check {client_id} {scopes:?}{} failed:\n{out}\n--- server log ---\n{}",
        if refused { " --expect-refused" } else { "" },
        node.log()
    );
    println!("{out}");
    Ok(())
}

/// The launches, against a server on `database_url` (a database the server may create and load the demo into).
fn launches_with_fhirclient(database_url: &str) -> Result<()> {
    let python = client_python()?;
    let dir = tempfile::tempdir()?;
    let node = Node::start(database_url, dir.path().join("server.log"))?;

    let rt = tokio::runtime::Runtime::new()?;
    let (tracker, profile, identity) = rt.block_on(async {
        let db = Db::connect(database_url).await?;
        let tracker = register(&db, "Readings Tracker", "launch/patient offline_access patient/*.rs").await?;
        let profile = register(&db, "Profile Viewer", "launch/patient patient/Patient.rs").await?;
        let identity = register(
            &db,
            "Signed-in Tracker",
            "launch/patient openid fhirUser offline_access patient/*.rs",
        )
        .await?;
        db.close().await;
        anyhow::Ok((tracker, profile, identity))
    })?;

    // The full launch, in SMART v2 scopes: Patient, Observations (one page and paged), a refreshed token.
    check(
        &python,
        &node,
        dir.path(),
        &tracker,
        "launch/patient offline_access patient/Patient.rs patient/Observation.rs",
        false,
    )?;
    // An app registered without Observations asks for them (v1 scopes) and is granted only the Patient.
    check(
        &python,
        &node,
        dir.path(),
        &profile,
        "patient/Patient.read patient/Observation.read",
        true,
    )?;
    // The same app that may read Observations, asking only for the Patient: its token does not reach them.
    check(&python, &node, dir.path(), &tracker, "patient/Patient.rs", true)?;
    // OpenID Connect: the identity token (and the refreshed one) verifies with PyJWT against the published key.
    check(
        &python,
        &node,
        dir.path(),
        &identity,
        "launch/patient openid fhirUser offline_access patient/Patient.rs patient/Observation.rs",
        false,
    )?;
    node.stop()
}

#[test]
fn fhirclient_completes_a_standalone_launch_on_sqlite() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("carepact.db").display());
    launches_with_fhirclient(&url)
}

#[test]
fn fhirclient_completes_a_standalone_launch_on_postgresql() -> Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    let url = rt.block_on(carepact_testkit::postgres_database())?;
    drop(rt);
    launches_with_fhirclient(&url)
}
