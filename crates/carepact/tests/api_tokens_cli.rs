//! `carepact token` as the operator runs it, against a fresh SQLite database: `create` prints a token (and only the
//! token) on stdout that the FHIR API's lookup accepts; a bad `--expires-in` is refused with exit status 2; an
//! unknown or deactivated user gets a clear message and nothing is written; `list` and `revoke` work by id; making and
//! revoking are audited as done at the command line.

use std::process::{Command, Output};

use anyhow::{Context, Result};
use carepact_domain::identity::{Email, Role};
use carepact_store::api_tokens::{self, Found};
use carepact_store::users::{self, NewUser};
use carepact_store::{Db, on_db};
use time::OffsetDateTime;

const BIN: &str = env!("CARGO_BIN_EXE_carepact");
const GP: &str = "gp@riverside.example";
const LEFT: &str = "left@riverside.example";

fn carepact(url: &str, args: &[&str]) -> Result<Output> {
    Ok(Command::new(BIN)
        .args(args)
        .args(["--database-url", url, "--log", "warn"])
        .output()?)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn open(url: &str) -> Result<Db> {
    Ok(Db::connect(url).await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_makes_lists_and_revokes_tokens() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("carepact.db").display());
    let migrated = carepact(&url, &["migrate"])?;
    assert!(migrated.status.success(), "{}", text(&migrated.stderr));

    // Two staff accounts; one has left and is deactivated.
    let db = open(&url).await?;
    let now = OffsetDateTime::now_utc();
    let mut ids = Vec::new();
    for (email, name) in [(GP, "Dr Sarah Patel"), (LEFT, "Former Colleague")] {
        let email = Email::parse(email).map_err(anyhow::Error::msg)?;
        let new = NewUser {
            email: &email,
            display_name: name,
            roles: &[Role::Professional],
            organisation_id: None,
            password_hash: None,
        };
        ids.push(users::create(&db, &new, now).await?);
    }
    on_db!(&db, write, |p| sqlx::query(
        "UPDATE users SET active = FALSE WHERE email = $1"
    )
    .bind(LEFT)
    .execute(p)
    .await
    .map(|_| ()))?;
    db.close().await;

    // create prints the token alone on stdout, and on stderr whose it is and until when.
    let made = carepact(
        &url,
        &[
            "token",
            "create",
            "--user",
            GP,
            "--expires-in",
            "1h",
            "--label",
            "Nightly export",
        ],
    )?;
    assert_eq!(made.status.code(), Some(0), "{}", text(&made.stderr));
    let stdout = text(&made.stdout);
    let secret = stdout.trim_end_matches('\n');
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(secret.starts_with("cpt_") && secret.len() == 47, "{secret}");
    let stderr = text(&made.stderr);
    for words in [GP, "Dr Sarah Patel", "Nightly export", "UTC"] {
        assert!(stderr.contains(words), "{words}: {stderr}");
    }

    // The FHIR API's lookup accepts it, as the GP; the default lifetime is 30 days.
    let db = open(&url).await?;
    let found = api_tokens::find(&db, secret, OffsetDateTime::now_utc()).await?;
    let Some(Found { id, user }) = found else {
        anyhow::bail!("the token printed is not found");
    };
    assert_eq!(user, ids[0]);
    let token = api_tokens::get(&db, id).await?.context("token")?;
    let lifetime = token.expires_at.0 - token.created_at.0;
    assert_eq!(lifetime, time::Duration::hours(1));
    db.close().await;
    let default = carepact(&url, &["token", "create", "--user", GP])?;
    assert_eq!(default.status.code(), Some(0), "{}", text(&default.stderr));

    // A bad lifetime is a usage error (exit 2) that says what to write; nothing is made.
    for bad in ["5y", "366d", "0m", "1.5h", "soon", ""] {
        let refused = carepact(&url, &["token", "create", "--user", GP, "--expires-in", bad])?;
        assert_eq!(refused.status.code(), Some(2), "{bad}: {}", text(&refused.stderr));
        assert!(refused.stdout.is_empty());
        let message = text(&refused.stderr);
        assert!(message.contains("--expires-in"), "{message}");
        assert!(message.contains("30m") || message.contains("365 days"), "{message}");
    }

    // An unknown or deactivated user: a clear message, a failing status, nothing made.
    let unknown = carepact(&url, &["token", "create", "--user", "nobody@riverside.example"])?;
    assert_eq!(unknown.status.code(), Some(1));
    assert!(unknown.stdout.is_empty());
    assert!(
        text(&unknown.stderr).contains("There is no CarePact account"),
        "{}",
        text(&unknown.stderr)
    );
    let left = carepact(&url, &["token", "create", "--user", LEFT])?;
    assert_eq!(left.status.code(), Some(1));
    assert!(left.stdout.is_empty());
    assert!(text(&left.stderr).contains("deactivated"), "{}", text(&left.stderr));
    let db = open(&url).await?;
    assert_eq!(api_tokens::list_for_user(&db, ids[0]).await?.len(), 2);
    assert!(api_tokens::list_for_user(&db, ids[1]).await?.is_empty());
    db.close().await;

    // list names the tokens by id (never the secret); revoke stops one at once.
    let listed = carepact(&url, &["token", "list", "--user", GP])?;
    assert!(listed.status.success());
    let listing = text(&listed.stdout);
    assert!(listing.contains(&id.to_string()) && listing.contains("Nightly export") && listing.contains("active"));
    assert!(!listing.contains(secret) && !listing.contains(&secret[4..]));
    let revoked = carepact(&url, &["token", "revoke", &id.to_string()])?;
    assert_eq!(revoked.status.code(), Some(0), "{}", text(&revoked.stderr));
    let again = carepact(&url, &["token", "revoke", &id.to_string()])?;
    assert_eq!(again.status.code(), Some(0));
    assert!(text(&again.stdout).contains("already revoked"));
    let nonsense = carepact(&url, &["token", "revoke", "not-an-id"])?;
    assert_eq!(nonsense.status.code(), Some(1));
    let db = open(&url).await?;
    assert_eq!(api_tokens::find(&db, secret, OffsetDateTime::now_utc()).await?, None);

    // Making and revoking are audited as the operator at the command line, and the log is intact.
    let audited: Vec<(String, Option<String>, String)> = on_db!(&db, read, |p| {
        sqlx::query_as(
        "SELECT action, on_behalf_of, outcome FROM audit_events WHERE action LIKE '%-api-token' ORDER BY occurred_at, seq"
    )
    .fetch_all(p)
    .await
    })?;
    db.close().await;
    let expected = |action: &str| {
        (
            action.to_owned(),
            Some("command-line".to_owned()),
            "permit:operator".to_owned(),
        )
    };
    assert_eq!(
        audited,
        [
            expected("create-api-token"),
            expected("create-api-token"),
            expected("revoke-api-token")
        ]
    );
    let verified = carepact(&url, &["audit", "verify"])?;
    assert!(verified.status.success(), "{}", text(&verified.stderr));
    Ok(())
}
