//! `carepact seed` as the operator (or a benchmark) runs it, against fresh SQLite databases: it makes the people,
//! their plans, consents and readings; the same seed makes the same data; a second run without `--append` is
//! refused with nothing written; `--append` carries on the numbering; the audit log verifies; and a seeded
//! person's data is reachable through the consent choke point by their named contact and their practice, and not
//! by a professional of another organisation.

use std::process::{Command, Output};

use anyhow::{Context, Result};
use carepact_domain::consent::{Action, Actor, Request, Section, Sensitivity};
use carepact_domain::identity::{Email, OrganisationId, OrganisationKind, PersonId, Role, UserId};
use carepact_store::access::{Ask, authorize};
use carepact_store::audit::AuditWriter;
use carepact_store::users::{self, NewUser};
use carepact_store::{Db, on_db, organisations};
use time::OffsetDateTime;
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_carepact");

fn carepact(url: &str, args: &[&str]) -> Result<Output> {
    Ok(Command::new(BIN)
        .args(args)
        .args(["--database-url", url, "--log", "warn"])
        .output()?)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn count(db: &Db, table: &str) -> Result<i64> {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    Ok(on_db!(db, read, |p| sqlx::query_scalar(sqlx::AssertSqlSafe(
        sql.clone()
    ))
    .fetch_one(p)
    .await)?)
}

/// Everything the seed writes, as row counts per table.
async fn counts(db: &Db) -> Result<Vec<(&'static str, i64)>> {
    let mut out = Vec::new();
    for table in [
        "organisations",
        "users",
        "people",
        "consents",
        "care_team_members",
        "record_items",
        "care_plans",
        "care_plan_agreements",
        "readings",
        "questionnaire_responses",
        "messages",
        "alerts",
        "audit_events",
    ] {
        out.push((table, count(db, table).await?));
    }
    Ok(out)
}

/// A fingerprint of the readings: how many, and sums over their values and times.
async fn readings_fingerprint(db: &Db) -> Result<(i64, i64, i64)> {
    Ok(on_db!(db, read, |p| sqlx::query_as(
        "SELECT COUNT(*), COALESCE(SUM(value_1), 0), COALESCE(SUM(taken_at % 1000000007), 0) FROM readings"
    )
    .fetch_one(p)
    .await)?)
}

async fn ask(db: &Db, audit: &AuditWriter, actor: &Actor, person: PersonId, section: Section) -> Result<bool> {
    let ask = Ask {
        actor,
        role: "professional",
        on_behalf_of: None,
        person,
        request: Request {
            section,
            label: Sensitivity::General,
            action: Action::Read,
        },
        entity: "seed-test",
        purpose: "direct-care",
        as_owner: None,
    };
    Ok(authorize(db, audit, &ask, OffsetDateTime::now_utc()).await?.is_ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeding_makes_people_refuses_a_second_run_and_shares_only_by_consent() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("carepact.db").display());
    let twin = format!("sqlite://{}", dir.path().join("twin.db").display());

    let seeded = carepact(&url, &["seed", "--people", "200", "--seed", "7", "--chunk", "64"])?;
    assert!(seeded.status.success(), "{}", text(&seeded.stderr));
    let stdout = text(&seeded.stdout);
    assert!(stdout.contains("Seeded 200 people"), "{stdout}");
    assert!(stdout.contains("p0.ltc1@seed.carepact.example"), "{stdout}");

    let db = Db::connect(&url).await?;
    let before = counts(&db).await?;
    let get = |name: &str| before.iter().find(|(t, _)| *t == name).map_or(0, |(_, n)| *n);
    assert_eq!(get("people"), 200);
    assert_eq!(get("audit_events"), 200);
    // The showcase person with type 1 diabetes wears a continuous monitor: 288 readings a day for a year.
    assert!(get("readings") > 365 * 288, "{before:?}");
    let plans = get("care_plans");
    assert!(plans > 20 && plans < 200, "{before:?}");
    // Everyone shares with their practice; everyone with a plan with their named contact too.
    assert!(get("consents") >= 200 + plans, "{before:?}");
    assert!(get("care_team_members") >= plans);
    assert!(get("record_items") >= 200 + plans);
    assert!(get("care_plan_agreements") >= plans);
    assert!(get("questionnaire_responses") > 0 && get("messages") > 0 && get("alerts") > 0);
    let named_contacts: i64 = on_db!(&db, read, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM people WHERE named_contact_id IS NOT NULL"
    )
    .fetch_one(p)
    .await)?;
    assert_eq!(named_contacts, plans);

    // The same seed makes the same data.
    let again = carepact(&twin, &["seed", "--people", "200", "--seed", "7"])?;
    assert!(again.status.success(), "{}", text(&again.stderr));
    let twin_db = Db::connect(&twin).await?;
    assert_eq!(counts(&twin_db).await?, before);
    assert_eq!(readings_fingerprint(&twin_db).await?, readings_fingerprint(&db).await?);
    twin_db.close().await;

    // A second run without --append is refused, and writes nothing.
    let refused = carepact(&url, &["seed", "--people", "10"])?;
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused.stderr));
    assert!(text(&refused.stderr).contains("--append"), "{}", text(&refused.stderr));
    assert_eq!(counts(&db).await?, before);

    // The audit log verifies.
    let verified = carepact(&url, &["audit", "verify"])?;
    assert!(verified.status.success(), "{}", text(&verified.stdout));
    assert!(
        text(&verified.stdout).contains("200 events"),
        "{}",
        text(&verified.stdout)
    );

    // The choke point: a person with a named contact.
    let (person, contact, practice): (Uuid, Uuid, Uuid) = on_db!(&db, read, |p| {
        sqlx::query_as(
        "SELECT p.id, p.named_contact_id, u.organisation_id FROM people p JOIN users u ON u.id = p.named_contact_id \
         ORDER BY p.nhs_number LIMIT 1"
    )
    .fetch_one(p)
    .await
    })?;
    let person = PersonId(person);
    let audit = AuditWriter::start(db.clone());
    let professional = |user: Uuid, organisation: Uuid| Actor {
        user: UserId(user),
        roles: vec![Role::Professional],
        organisation: Some(OrganisationId(organisation)),
    };
    let named = professional(contact, practice);
    for section in [Section::Record, Section::CarePlan, Section::Readings, Section::Messages] {
        assert!(ask(&db, &audit, &named, person, section).await?, "{section:?}");
    }
    // A GP of the same practice, through the practice's consent.
    let gp: Uuid = on_db!(&db, read, |p| sqlx::query_scalar(
        "SELECT id FROM users WHERE email = $1"
    )
    .bind("p0.gp1@seed.carepact.example")
    .fetch_one(p)
    .await)?;
    assert!(ask(&db, &audit, &professional(gp, practice), person, Section::Readings).await?);
    // A professional of another practice sees nothing.
    let now = OffsetDateTime::now_utc();
    let elsewhere = organisations::create(&db, "Far Away Surgery", OrganisationKind::GpPractice, now).await?;
    let email = Email::parse("gp@far-away.example").map_err(anyhow::Error::msg)?;
    let stranger = users::create(
        &db,
        &NewUser {
            email: &email,
            display_name: "Dr Far Away",
            roles: &[Role::Professional],
            organisation_id: Some(elsewhere),
            password_hash: None,
        },
        now,
    )
    .await?;
    let outsider = professional(stranger.0, elsewhere.0);
    for section in [Section::Record, Section::CarePlan, Section::Readings, Section::Messages] {
        assert!(!ask(&db, &audit, &outsider, person, section).await?, "{section:?}");
    }
    // Nor does a community nurse who is not in this person's team.
    let (nurse, cmht): (Uuid, Uuid) = on_db!(&db, read, |p| sqlx::query_as(
        "SELECT u.id, u.organisation_id FROM users u WHERE u.email LIKE 'cmht.%' AND NOT EXISTS \
         (SELECT 1 FROM care_team_members m WHERE m.user_id = u.id AND m.person_id = $1) LIMIT 1"
    )
    .bind(person.0)
    .fetch_one(p)
    .await)?;
    assert!(!ask(&db, &audit, &professional(nurse, cmht), person, Section::Readings).await?);
    drop(audit);

    // --append carries on the numbering.
    let appended = carepact(&url, &["seed", "--people", "20", "--append", "--seed", "8"])?;
    assert!(appended.status.success(), "{}", text(&appended.stderr));
    assert_eq!(count(&db, "people").await?, 220);
    let distinct: i64 = on_db!(&db, read, |p| sqlx::query_scalar(
        "SELECT COUNT(DISTINCT nhs_number) FROM people"
    )
    .fetch_one(p)
    .await)?;
    assert_eq!(distinct, 220);
    let verified = carepact(&url, &["audit", "verify"])?;
    assert!(verified.status.success(), "{}", text(&verified.stdout));
    db.close().await;
    Ok(())
}

#[test]
fn a_bad_now_is_refused_before_anything_is_written() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("carepact.db").display());
    let out = carepact(&url, &["seed", "--people", "5", "--now", "yesterday"])?;
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("--now"), "{}", text(&out.stderr));
    let rt = tokio::runtime::Runtime::new().context("runtime")?;
    rt.block_on(async {
        let db = Db::connect(&url).await?;
        assert_eq!(count(&db, "people").await?, 0);
        assert_eq!(count(&db, "organisations").await?, 0);
        db.close().await;
        Ok(())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeding_works_on_postgresql() -> Result<()> {
    let url = carepact_testkit::postgres_database().await?;
    let seeded = carepact(&url, &["seed", "--people", "60", "--chunk", "25"])?;
    assert!(seeded.status.success(), "{}", text(&seeded.stderr));
    let db = Db::connect(&url).await?;
    let before = counts(&db).await?;
    let get = |name: &str| before.iter().find(|(t, _)| *t == name).map_or(0, |(_, n)| *n);
    assert_eq!(get("people"), 60);
    assert!(get("readings") > 365 * 288, "{before:?}");
    assert!(
        get("care_plans") >= 5 && get("consents") >= 60 + get("care_plans"),
        "{before:?}"
    );

    // The same data as on SQLite, value for value.
    let dir = tempfile::tempdir()?;
    let sqlite = format!("sqlite://{}", dir.path().join("carepact.db").display());
    let twin = carepact(&sqlite, &["seed", "--people", "60", "--chunk", "25"])?;
    assert!(twin.status.success(), "{}", text(&twin.stderr));
    let twin_db = Db::connect(&sqlite).await?;
    assert_eq!(counts(&twin_db).await?, before);
    let sums = |db: &Db| {
        let db = db.clone();
        async move {
            let row: (i64, i64) = on_db!(&db, read, |p| sqlx::query_as(
                "SELECT COUNT(*), CAST(COALESCE(SUM(value_1), 0) AS BIGINT) FROM readings"
            )
            .fetch_one(p)
            .await)?;
            anyhow::Ok(row)
        }
    };
    assert_eq!(sums(&db).await?, sums(&twin_db).await?);
    twin_db.close().await;

    let refused = carepact(&url, &["seed", "--people", "10"])?;
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused.stderr));
    assert_eq!(counts(&db).await?, before);
    let verified = carepact(&url, &["audit", "verify"])?;
    assert!(verified.status.success(), "{}", text(&verified.stdout));

    let (person, contact, practice): (Uuid, Uuid, Uuid) = on_db!(&db, read, |p| {
        sqlx::query_as(
        "SELECT p.id, p.named_contact_id, u.organisation_id FROM people p JOIN users u ON u.id = p.named_contact_id \
         ORDER BY p.nhs_number LIMIT 1"
    )
    .fetch_one(p)
    .await
    })?;
    let audit = AuditWriter::start(db.clone());
    let named = Actor {
        user: UserId(contact),
        roles: vec![Role::Professional],
        organisation: Some(OrganisationId(practice)),
    };
    assert!(ask(&db, &audit, &named, PersonId(person), Section::Readings).await?);
    drop(audit);
    db.close().await;
    Ok(())
}
