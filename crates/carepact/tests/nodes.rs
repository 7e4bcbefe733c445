//! The `carepact` binary as operators run it: migrations, serving, graceful shutdown, restarts, and several
//! stateless nodes sharing one PostgreSQL database.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

const BIN: &str = env!("CARGO_BIN_EXE_carepact");

struct Node {
    child: Child,
    addr: String,
}

impl Node {
    fn start(database_url: &str, demo: bool) -> Result<Self> {
        let mut cmd = Command::new(BIN);
        cmd.args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--database-url",
            database_url,
            "--log",
            "warn",
        ]);
        if demo {
            cmd.arg("--demo");
        }
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn()?;
        let stdout = child.stdout.take().context("stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let addr = loop {
            let line = lines.next().context("the server stopped before it was ready")??;
            if let Some(url) = line.strip_prefix("CarePact is running at http://") {
                break url.trim().to_owned();
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Ok(Self { child, addr })
    }

    /// Asks the node to stop (SIGTERM) and waits: a graceful shutdown exits successfully.
    fn stop(mut self) -> Result<()> {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        for _ in 0..200 {
            if let Some(status) = self.child.try_wait()? {
                anyhow::ensure!(status.success(), "the server exited with {status}");
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        bail!("the server did not stop within 10 seconds")
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn session_cookie(&self) -> Option<String> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            .find_map(|(_, v)| {
                v.strip_prefix("carepact_session=")?
                    .split(';')
                    .next()
                    .map(str::to_owned)
            })
    }

    fn csrf(&self) -> Option<String> {
        let marker = "name=\"csrf_token\" value=\"";
        let start = self.body.find(marker)? + marker.len();
        Some(self.body[start..].split('"').next()?.to_owned())
    }
}

/// A minimal HTTP/1.1 client: one request per connection.
fn request(addr: &str, method: &str, path: &str, cookie: Option<&str>, form: Option<&str>) -> Result<Reply> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(c) = cookie {
        head.push_str(&format!("Cookie: carepact_session={c}\r\n"));
    }
    let body = form.unwrap_or("");
    if form.is_some() {
        head.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nOrigin: http://{addr}\r\n"
        ));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(head.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").context("no header end")?;
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .context("status")?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Ok(Reply {
        status,
        headers,
        body: body.to_owned(),
    })
}

fn sign_in(addr: &str, email: &str) -> Result<String> {
    let form = request(addr, "GET", "/sign-in", None, None)?;
    let cookie = form.session_cookie().context("a session for the form")?;
    let csrf = form.csrf().context("csrf token")?;
    let body = format!(
        "csrf_token={csrf}&email={}&password=demo-carepact-2026",
        email.replace('@', "%40")
    );
    let done = request(addr, "POST", "/sign-in", Some(&cookie), Some(&body))?;
    anyhow::ensure!(done.status == 303, "sign-in answered {}", done.status);
    done.session_cookie().context("a rotated session")
}

#[tokio::test]
async fn two_nodes_share_sessions_through_postgresql() -> Result<()> {
    let url = carepact_testkit::postgres_database().await?;
    let migrate = Command::new(BIN).args(["migrate", "--database-url", &url]).output()?;
    assert!(migrate.status.success(), "{}", String::from_utf8_lossy(&migrate.stderr));

    let a = Node::start(&url, true)?;
    let b = Node::start(&url, false)?;
    let cookie = sign_in(&a.addr, "amina@carepact.example")?;
    let home = request(&b.addr, "GET", "/", Some(&cookie), None)?;
    assert_eq!(home.status, 200, "signed in on one node, recognised on the other");
    assert!(home.body.contains("Amina Khan"));

    // Signing out on B ends the session on A too.
    let csrf = home.csrf().context("sign-out form")?;
    let out = request(
        &b.addr,
        "POST",
        "/sign-out",
        Some(&cookie),
        Some(&format!("csrf_token={csrf}")),
    )?;
    assert_eq!(out.header("location"), Some("/sign-in"));
    let after = request(&a.addr, "GET", "/", Some(&cookie), None)?;
    assert_eq!(after.header("location"), Some("/sign-in"));

    // Failed sign-ins counted on one node lock the account on the other.
    let form = request(&a.addr, "GET", "/sign-in", None, None)?;
    let anon = form.session_cookie().context("session")?;
    let csrf = form.csrf().context("csrf")?;
    for i in 0..10 {
        let node = if i % 2 == 0 { &a.addr } else { &b.addr };
        let body = format!("csrf_token={csrf}&email=david%40carepact.example&password=wrong");
        assert_eq!(request(node, "POST", "/sign-in", Some(&anon), Some(&body))?.status, 401);
    }
    let body = format!("csrf_token={csrf}&email=david%40carepact.example&password=demo-carepact-2026");
    assert_eq!(
        request(&b.addr, "POST", "/sign-in", Some(&anon), Some(&body))?.status,
        429
    );

    a.stop()?;
    b.stop()?;
    Ok(())
}

#[test]
fn sqlite_survives_a_restart_and_help_speaks_plainly() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("carepact.db").display());
    let node = Node::start(&url, true)?;
    assert_eq!(request(&node.addr, "GET", "/readyz", None, None)?.status, 200);
    node.stop()?;
    assert!(dir.path().join("carepact.db").exists());
    let again = Node::start(&url, true)?;
    let cookie = sign_in(&again.addr, "sarah.patel@carepact.example")?;
    let home = request(&again.addr, "GET", "/", Some(&cookie), None)?;
    assert!(home.body.contains("Riverside Medical Practice"));
    again.stop()?;

    let help = Command::new(BIN).arg("--help").output()?;
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.contains("shared with professionals"), "{text}");
    for sub in ["serve", "migrate", "create-admin"] {
        let out = Command::new(BIN).args([sub, "--help"]).output()?;
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && text.contains("--database-url"), "{sub}: {text}");
    }
    let bad = Command::new(BIN)
        .args(["migrate", "--database-url", "mysql://nope"])
        .output()?;
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("could not open the database"));
    Ok(())
}

#[test]
fn create_admin_prints_a_link_that_sets_up_the_first_administrator() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("carepact.db").display());
    let out = Command::new(BIN)
        .args([
            "create-admin",
            "--database-url",
            &url,
            "--email",
            "ops@example.org",
            "--name",
            "Ops Lead",
            "--public-url",
            "http://x",
        ])
        .output()?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let path = text.split("http://x").nth(1).context("link")?.trim().to_owned();
    let node = Node::start(&url, false)?;
    let form = request(&node.addr, "GET", &path, None, None)?;
    assert_eq!(form.status, 200);
    let cookie = form.session_cookie().context("session")?;
    let csrf = form.csrf().context("csrf")?;
    let body = format!("csrf_token={csrf}&password=ops+lead+passphrase&confirm_password=ops+lead+passphrase");
    assert_eq!(
        request(&node.addr, "POST", &path, Some(&cookie), Some(&body))?.status,
        303
    );
    node.stop()?;
    Ok(())
}

#[test]
fn audit_verify_reports_an_intact_log_and_names_a_tampered_event() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("carepact.db");
    let url = format!("sqlite://{}", path.display());
    let node = Node::start(&url, true)?;
    let cookie = sign_in(&node.addr, "amina@carepact.example")?;
    for _ in 0..3 {
        assert_eq!(
            request(&node.addr, "GET", "/access-log", Some(&cookie), None)?.status,
            200
        );
    }
    node.stop()?;
    let ok = Command::new(BIN)
        .args(["audit", "verify", "--database-url", &url])
        .output()?;
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let said = String::from_utf8_lossy(&ok.stdout);
    let events: usize = said
        .split("The audit log is intact: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.replace(',', "").parse().ok())
        .ok_or_else(|| anyhow::anyhow!("unexpected output: {said}"))?;
    assert!(
        events >= 6,
        "the demo's events and three reads of the log, each audited: {said}"
    );

    // Alter the second event behind CarePact's back, as someone with access to the database file could.
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let db = carepact_store::Db::connect(&url).await?;
        carepact_store::on_db!(&db, write, |p| sqlx::query(
            "UPDATE audit_events SET purpose = 'other' WHERE seq = 2"
        )
        .execute(p)
        .await
        .map(|_| ()))?;
        db.close().await;
        anyhow::Ok(())
    })?;
    let bad = Command::new(BIN)
        .args(["audit", "verify", "--database-url", &url])
        .output()?;
    assert_eq!(bad.status.code(), Some(1));
    let message = String::from_utf8_lossy(&bad.stderr);
    assert!(
        message.contains("event 2") && message.contains("was altered"),
        "{message}"
    );
    Ok(())
}
