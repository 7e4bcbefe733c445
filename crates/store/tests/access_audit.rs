//! The choke point and the audit log, on both backends: decisions follow consent, every decision is recorded,
//! revocation is immediate, and any tampering with stored events is detected and named.

use anyhow::Result;
use carepact_domain::NhsNumber;
use carepact_domain::audit::{ChainFault, Event};
use carepact_domain::consent::{Action, Actor, Consent, Grantee, Labels, Request, Section, Sections, Sensitivity};
use carepact_domain::identity::{Email, NewPerson, PersonId, Role, UserId};
use carepact_store::access::{Ask, Denied, authorize};
use carepact_store::audit::{self, AuditWriter};
use carepact_store::people::{self, AccountStart};
use carepact_store::{Db, consents, on_db, organisations};
use carepact_testkit::{Backend, TestDb};
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

const NOW: OffsetDateTime = datetime!(2026-11-23 10:00 UTC);
const READ: Request = Request {
    section: Section::Record,
    label: Sensitivity::General,
    action: Action::Read,
};

struct World {
    t: TestDb,
    audit: AuditWriter,
    person: PersonId,
    owner: Actor,
    gp: Actor,
}

async fn world(backend: Backend) -> Result<World> {
    let t = TestDb::new(backend).await?;
    let org = organisations::create(
        &t.db,
        "Riverside",
        carepact_domain::identity::OrganisationKind::GpPractice,
        NOW,
    )
    .await?;
    let new = NewPerson {
        nhs_number: NhsNumber::parse("9434765919")?,
        given_name: "Amina".into(),
        family_name: "Khan".into(),
        preferred_name: None,
        date_of_birth: date!(1961 - 04 - 12),
        email: Email::parse("amina@example.org").map_err(anyhow::Error::msg)?,
        phone: None,
        communication_needs: None,
    };
    let (person, user) = people::create_with_account(&t.db, &new, AccountStart::Password("h"), NOW).await?;
    let audit = AuditWriter::start(t.db.clone());
    Ok(World {
        audit,
        person,
        owner: Actor {
            user,
            roles: vec![Role::Person],
            organisation: None,
        },
        gp: Actor {
            user: UserId::new(),
            roles: vec![Role::Professional],
            organisation: Some(org),
        },
        t,
    })
}

fn ask<'a>(actor: &'a Actor, person: PersonId, request: Request) -> Ask<'a> {
    Ask {
        actor,
        role: "professional",
        on_behalf_of: None,
        person,
        request,
        entity: "person-summary",
        purpose: "direct-care",
        as_owner: None,
    }
}

/// The person lets the GP's practice read their record's general items, from NOW.
fn read_by_practice(w: &World) -> Consent {
    Consent {
        id: Uuid::now_v7(),
        grantee: Grantee::Organisation(w.gp.organisation.expect("org")),
        sections: Sections::of(&[Section::Record]),
        labels: Labels::of(&[Sensitivity::General]),
        write: false,
        starts: NOW,
        ends: None,
        revoked: None,
    }
}

async fn event_count(db: &Db) -> Result<i64> {
    Ok(on_db!(db, read, |p| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM audit_events"
    )
    .fetch_one(p)
    .await)?)
}

async fn exec(db: &Db, sql: &'static str) -> Result<()> {
    on_db!(db, write, |p| sqlx::query(sql).execute(p).await.map(|_| ()))?;
    Ok(())
}

carepact_testkit::backend_tests! {
    fixture = world;

    async fn consent_decides_and_every_decision_is_audited(w: World) {
        let db = &w.t.db;
        // The person sees their own; a professional without consent is refused.
        let own = authorize(db, &w.audit, &ask(&w.owner, w.person, READ), NOW).await?.expect("owner");
        assert!(own.is_owner());
        assert_eq!(authorize(db, &w.audit, &ask(&w.gp, w.person, READ), NOW).await?.err(), Some(Denied));
        // A person who does not exist is refused exactly the same way.
        assert_eq!(authorize(db, &w.audit, &ask(&w.gp, PersonId::new(), READ), NOW).await?.err(), Some(Denied));
        assert_eq!(event_count(db).await?, 3, "every decision, permit or refusal, is recorded");

        let consent = read_by_practice(&w);
        // Only the person may give consent.
        let gp_grant = authorize(db, &w.audit, &ask(&w.gp, w.person, READ), NOW).await?;
        assert!(gp_grant.is_err());
        consents::give(db, &own, &consent, NOW).await?.expect("owner gives");
        let permitted = authorize(db, &w.audit, &ask(&w.gp, w.person, READ), NOW).await?.expect("consented");
        assert!(!permitted.is_owner());
        assert_eq!(consents::give(db, &permitted, &consent, NOW).await?.err(), Some(Denied), "a professional cannot give consent");
        assert_eq!(audit::access_log(db, &permitted, &everything()).await?.err(), Some(Denied), "nor read the person's access log");
        let write = Request { action: Action::Write, ..READ };
        assert!(authorize(db, &w.audit, &ask(&w.gp, w.person, write), NOW).await?.is_err(), "read-only consent");

        assert!(consents::revoke(db, &own, consent.id, NOW + Duration::seconds(1)).await?.expect("owner revokes"));
        let after = authorize(db, &w.audit, &ask(&w.gp, w.person, READ), NOW + Duration::seconds(1)).await?;
        assert_eq!(after.err(), Some(Denied), "revocation takes effect on the next request");

        let page = audit::access_log(db, &own, &everything()).await?.expect("own log");
        assert_eq!(page.total, i64::try_from(page.entries.len())?);
        let log = page.entries;
        let outcomes: Vec<&str> = log.iter().map(|e| e.outcome.as_str()).collect();
        assert!(outcomes.iter().filter(|o| o.starts_with("permit:consent:")).count() == 1);
        assert!(outcomes.iter().filter(|o| **o == "deny:no-consent").count() >= 3);
        assert!(log.iter().any(|e| e.action == "grant") && log.iter().any(|e| e.action == "revoke"));

        // Filters: by kind, by who, by organisation, by time, and paged.
        let own_grant = &own;
        let filtered = |filter: audit::LogFilter| async move {
            audit::access_log(db, own_grant, &audit::LogFilter { limit: 100, ..filter }).await.map(|r| r.expect("own log"))
        };
        let refused = filtered(audit::LogFilter { kind: Some(audit::LogKind::Refused), ..Default::default() }).await?;
        assert!(refused.total >= 3 && refused.entries.iter().all(|e| e.outcome.starts_with("deny")));
        let sharing = filtered(audit::LogFilter { kind: Some(audit::LogKind::Sharing), ..Default::default() }).await?;
        assert_eq!(sharing.entries.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["revoke", "grant"]);
        let others = filtered(audit::LogFilter { others_only: true, ..Default::default() }).await?;
        assert!(others.total > 0 && others.entries.iter().all(|e| e.outcome != "permit:owner"));
        let practice = w.gp.organisation.map(|o| o.0);
        let by_practice = filtered(audit::LogFilter { organisation: practice, ..Default::default() }).await?;
        assert!(by_practice.total > 0 && by_practice.entries.iter().all(|e| e.organisation_id == practice));
        let before_revoking = filtered(audit::LogFilter { until: Some(NOW + Duration::milliseconds(1)), ..Default::default() }).await?;
        assert!(before_revoking.entries.iter().all(|e| e.action != "revoke") && before_revoking.total < page.total);
        let second = audit::access_log(db, &own, &audit::LogFilter { offset: 1, limit: 1, ..Default::default() }).await?.expect("own log");
        assert_eq!((second.total, second.entries.first().map(|e| e.id)), (page.total, log.get(1).map(|e| e.id)));
        assert_eq!(audit::verify(db).await?.map(|r| r.events), Ok(usize::try_from(event_count(db).await?)?));
        Ok(())
    }

    async fn concurrent_audit_writers_keep_every_chain_intact(w: World) {
        let mut tasks = Vec::new();
        for i in 0..200 {
            let audit = w.audit.clone();
            let person = if i % 2 == 0 { Some(w.person.0) } else { None };
            tasks.push(tokio::spawn(async move {
                audit
                    .record(Event {
                        id: Uuid::now_v7(),
                        occurred_at: NOW,
                        actor: None,
                        actor_role: "system".into(),
                        organisation: None,
                        on_behalf_of: None,
                        person,
                        action: "read".into(),
                        section: None,
                        entity: format!("test-{i}"),
                        purpose: "test".into(),
                        outcome: "permit:owner".into(),
                    })
                    .await
            }));
        }
        for t in tasks {
            t.await??;
        }
        // A second writer (another node) appending to the same chains.
        let other = AuditWriter::start(w.t.db.clone());
        authorize(&w.t.db, &other, &ask(&w.gp, w.person, READ), NOW).await?.ok();
        let report = audit::verify(&w.t.db).await?.expect("intact");
        assert_eq!(report.events, 201);
        assert_eq!(report.chains, 2);
        Ok(())
    }

    async fn a_change_made_by_another_process_is_seen_by_the_next_decision(w: World) {
        // Decisions rest on facts kept in memory between requests; a second connection to the same store (another
        // node, or the command line) changing them must be seen at once, not when the memory is next refreshed.
        let db = &w.t.db;
        let elsewhere = Db::connect(&w.t.url).await?;
        let own = authorize(db, &w.audit, &ask(&w.owner, w.person, READ), NOW).await?.expect("owner");
        assert_eq!(authorize(db, &w.audit, &ask(&w.gp, w.person, READ), NOW).await?.err(), Some(Denied));
        let consent = read_by_practice(&w);
        consents::give(&elsewhere, &own, &consent, NOW).await?.expect("given elsewhere");
        assert!(authorize(db, &w.audit, &ask(&w.gp, w.person, READ), NOW).await?.is_ok(), "consent given elsewhere");
        assert!(authorize(db, &w.audit, &ask(&w.gp, w.person, READ), NOW).await?.is_ok(), "and kept");
        on_db!(&elsewhere, write, |p| sqlx::query("UPDATE consents SET revoked_at = ends_at WHERE id = $1")
            .bind(consent.id)
            .execute(p)
            .await
            .map(|_| ()))?;
        assert!(authorize(db, &w.audit, &ask(&w.gp, w.person, READ), NOW).await?.is_ok(), "a change to nothing decisive");
        assert!(consents::revoke(&elsewhere, &own, consent.id, NOW).await?.expect("revoked elsewhere"));
        assert_eq!(
            authorize(db, &w.audit, &ask(&w.gp, w.person, READ), NOW).await?.err(),
            Some(Denied),
            "withdrawn elsewhere: refused on the very next decision"
        );
        // The person's account detached from their record by hand: they are no longer its owner.
        let owner_ask = Ask { as_owner: Some("person-access"), ..ask(&w.owner, w.person, READ) };
        assert!(authorize(db, &w.audit, &owner_ask, NOW).await?.expect("owner").is_owner());
        on_db!(&elsewhere, write, |p| sqlx::query("UPDATE people SET user_id = NULL WHERE id = $1")
            .bind(w.person.0)
            .execute(p)
            .await
            .map(|_| ()))?;
        assert_eq!(authorize(db, &w.audit, &owner_ask, NOW).await?.err(), Some(Denied));
        // The owner's own reads were recorded as the person's, the professional's as a professional's.
        let roles: Vec<(String, String)> = on_db!(db, read, |p| sqlx::query_as(
            "SELECT actor_role, purpose FROM audit_events WHERE actor_id = $1 ORDER BY occurred_at, seq"
        )
        .bind(w.owner.user.0)
        .fetch_all(p)
        .await)?;
        assert!(roles.contains(&("person".into(), "person-access".into())), "{roles:?}");
        assert!(roles.contains(&("professional".into(), "direct-care".into())), "once detached: {roles:?}");
        elsewhere.close().await;
        Ok(())
    }

    async fn a_large_batch_of_events_keeps_each_chain_in_order(w: World) {
        // More events than one statement carries, three chains interleaved, appended in one transaction.
        let other = people::create_with_account(
            &w.t.db,
            &NewPerson {
                nhs_number: NhsNumber::parse("9434765870")?,
                given_name: "Ben".into(),
                family_name: "Jones".into(),
                preferred_name: None,
                date_of_birth: date!(1950 - 01 - 02),
                email: Email::parse("ben@example.org").map_err(anyhow::Error::msg)?,
                phone: None,
                communication_needs: None,
            },
            AccountStart::Password("h"),
            NOW,
        )
        .await?
        .0;
        authorize(&w.t.db, &w.audit, &ask(&w.gp, w.person, READ), NOW).await?.ok();
        let chains = [Some(w.person.0), None, Some(other.0)];
        let events: Vec<Event> = (0..700)
            .map(|i| Event {
                id: Uuid::now_v7(),
                occurred_at: NOW + Duration::milliseconds(i),
                actor: None,
                actor_role: "system".into(),
                organisation: None,
                on_behalf_of: None,
                person: chains[usize::try_from(i).expect("small") % 3],
                action: "read".into(),
                section: None,
                entity: format!("batch-{i}"),
                purpose: "test".into(),
                outcome: "permit:owner".into(),
            })
            .collect();
        audit::append(&w.t.db, &events).await?;
        let report = audit::verify(&w.t.db).await?.expect("intact");
        assert_eq!((report.events, report.chains), (701, 3));
        // Within each chain, the events are in the order they were given.
        let entities: Vec<String> = on_db!(&w.t.db, read, |p| sqlx::query_scalar(
            "SELECT entity FROM audit_events WHERE person_id = $1 AND entity LIKE 'batch-%' ORDER BY seq"
        )
        .bind(other.0)
        .fetch_all(p)
        .await)?;
        let expected: Vec<String> = (0..700).filter(|i| i % 3 == 2).map(|i| format!("batch-{i}")).collect();
        assert_eq!(entities, expected);
        Ok(())
    }

    async fn tampering_with_stored_events_is_detected_and_named(w: World) {
        for i in 0..5 {
            authorize(&w.t.db, &w.audit, &ask(&w.gp, w.person, READ), NOW + Duration::seconds(i)).await?.ok();
        }
        assert!(audit::verify(&w.t.db).await?.is_ok());
        let db = &w.t.db;

        // Edit: change an outcome.
        exec(db, "UPDATE audit_events SET outcome = 'permit:owner' WHERE seq = 3").await?;
        assert!(matches!(audit::verify(db).await?, Err(ChainFault::BadHash { seq: 3, .. })));
        exec(db, "UPDATE audit_events SET outcome = 'deny:no-consent' WHERE seq = 3").await?;
        assert!(audit::verify(db).await?.is_ok(), "restored");

        // Swap two events' contents (reorder).
        exec(db, "UPDATE audit_events SET seq = -2 WHERE seq = 2").await?;
        exec(db, "UPDATE audit_events SET seq = 2 WHERE seq = 4").await?;
        exec(db, "UPDATE audit_events SET seq = 4 WHERE seq = -2").await?;
        assert!(matches!(audit::verify(db).await?, Err(ChainFault::BadHash { seq: 2, .. })));
        exec(db, "UPDATE audit_events SET seq = -2 WHERE seq = 2").await?;
        exec(db, "UPDATE audit_events SET seq = 2 WHERE seq = 4").await?;
        exec(db, "UPDATE audit_events SET seq = 4 WHERE seq = -2").await?;
        assert!(audit::verify(db).await?.is_ok(), "restored");

        // Cut off the newest event.
        exec(db, "DELETE FROM audit_events WHERE seq = 5").await?;
        assert!(matches!(audit::verify(db).await?, Err(ChainFault::Truncated { head_seq: 5, last_seq: 4, .. })));

        // Delete one in the middle.
        exec(db, "DELETE FROM audit_events WHERE seq = 2").await?;
        assert!(matches!(audit::verify(db).await?, Err(ChainFault::Gap { expected_seq: 2, found_seq: 3, .. })));
        Ok(())
    }
}

fn everything() -> audit::LogFilter {
    audit::LogFilter {
        limit: 1000,
        ..Default::default()
    }
}
