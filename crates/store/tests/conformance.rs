//! The store's conformance suite: every repository behaves the same on SQLite and on PostgreSQL.

use anyhow::Result;
use carepact_domain::NhsNumber;
use carepact_domain::consent::{Action, Actor, Request, Section, Sensitivity};
use carepact_domain::identity::{Email, NewPerson, OrganisationKind, Role};
use carepact_store::access::{Ask, authorize};
use carepact_store::audit::AuditWriter;
use carepact_store::people::AccountStart;
use carepact_store::users::NewUser;
use carepact_store::{DbTime, StoreError, organisations, outbox, people, sessions, throttle, tokens, users};
use carepact_testkit::{Backend, TestDb};
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};

async fn fixture(backend: Backend) -> Result<TestDb> {
    TestDb::new(backend).await
}

const NOW: OffsetDateTime = datetime!(2026-11-23 10:00:00.123456 UTC);

fn person(nhs: &str, email: &str) -> Result<NewPerson> {
    Ok(NewPerson {
        nhs_number: NhsNumber::parse(nhs)?,
        given_name: "Amina".into(),
        family_name: "Khan".into(),
        preferred_name: None,
        date_of_birth: date!(1961 - 04 - 12),
        email: Email::parse(email).map_err(anyhow::Error::msg)?,
        phone: Some("07700 900123".into()),
        communication_needs: Some("Large print".into()),
    })
}

carepact_testkit::backend_tests! {
    fixture = fixture;

    async fn organisations_round_trip_and_names_are_unique(t: TestDb) {
        let id = organisations::create(&t.db, "Riverside Medical Practice", OrganisationKind::GpPractice, NOW).await?;
        let org = organisations::get(&t.db, id).await?.expect("created");
        assert_eq!(org.name, "Riverside Medical Practice");
        assert_eq!(org.kind, OrganisationKind::GpPractice);
        let clash = organisations::create(&t.db, "riverside medical practice", OrganisationKind::Voluntary, NOW).await;
        assert!(matches!(clash, Err(StoreError::Conflict(_))), "{clash:?}");
        assert_eq!(organisations::list(&t.db).await?.len(), 1);
        Ok(())
    }

    async fn users_keep_roles_and_emails_are_unique(t: TestDb) {
        let org = organisations::create(&t.db, "Riverside", OrganisationKind::GpPractice, NOW).await?;
        let email = Email::parse("sarah@example.org").map_err(anyhow::Error::msg)?;
        let new = NewUser {
            email: &email,
            display_name: "Dr Sarah Patel",
            roles: &[Role::OrganisationAdmin, Role::Professional],
            organisation_id: Some(org),
            password_hash: Some("hash"),
        };
        let id = users::create(&t.db, &new, NOW).await?;
        let user = users::get(&t.db, id).await?.expect("created");
        assert_eq!(user.roles, vec![Role::Professional, Role::OrganisationAdmin]);
        assert!(user.has_password);
        assert_eq!(users::find_by_email(&t.db, &email).await?.map(|u| u.id), Some(id));
        assert!(matches!(users::create(&t.db, &new, NOW).await, Err(StoreError::Conflict("email address"))));
        assert_eq!(users::list_staff(&t.db, org).await?.len(), 1);
        assert_eq!(organisations::get(&t.db, org).await?.map(|o| o.staff_count), Some(1));
        users::link_external_identity(&t.db, id, "https://auth.login.nhs.uk", "subject-1", NOW).await?;
        assert_eq!(users::find_by_external_identity(&t.db, "https://auth.login.nhs.uk", "subject-1").await?, Some(id));
        Ok(())
    }

    async fn a_person_and_their_account_are_created_together_or_not_at_all(t: TestDb) {
        let p = person("9434765919", "amina@example.org")?;
        let (person_id, user) = people::create_with_account(&t.db, &p, AccountStart::Password("hash"), NOW).await?;
        assert_eq!(people::id_for_user(&t.db, user).await?, Some(person_id));
        // Reading the person's details needs a grant, here the person's own.
        let owner = Actor { user, roles: vec![Role::Person], organisation: None };
        let request = Request { section: Section::Record, label: Sensitivity::General, action: Action::Read };
        let ask = Ask { actor: &owner, role: "person", on_behalf_of: None, person: person_id, request, entity: "test", purpose: "test", as_owner: None };
        let grant = authorize(&t.db, &AuditWriter::start(t.db.clone()), &ask, NOW).await?.expect("own record");
        let stored = people::summary(&t.db, &grant).await?.expect("created");
        assert_eq!(stored.nhs_number.map(|n| n.to_string()).as_deref(), Some("943 476 5919"));
        assert_eq!(stored.date_of_birth, date!(1961 - 04 - 12));
        assert_eq!(stored.named_contact, None);
        // Same NHS number, new email: refused, and no orphan user is left behind.
        let again = person("9434765919", "other@example.org")?;
        let clash = people::create_with_account(&t.db, &again, AccountStart::Password("hash"), NOW).await;
        assert!(matches!(clash, Err(StoreError::Conflict("NHS number"))), "{clash:?}");
        assert_eq!(users::count(&t.db).await?, 1);
        Ok(())
    }

    async fn sessions_store_times_exactly_and_rotate(t: TestDb) {
        sessions::create(&t.db, b"old", None, "csrf1", NOW).await?;
        let s = sessions::load(&t.db, b"old").await?.expect("stored");
        assert_eq!(s.created_at, NOW);
        sessions::rotate(&t.db, Some(b"old"), b"new", None, "csrf2", Some("flash"), NOW).await?;
        assert!(sessions::load(&t.db, b"old").await?.is_none());
        let s = sessions::load(&t.db, b"new").await?.expect("rotated");
        assert_eq!((s.csrf_token.as_str(), s.flash.as_deref()), ("csrf2", Some("flash")));
        sessions::touch(&t.db, b"new", NOW + Duration::minutes(5)).await?;
        assert_eq!(sessions::purge(&t.db, NOW + Duration::minutes(1), NOW - Duration::hours(12)).await?, 0);
        assert_eq!(sessions::purge(&t.db, NOW + Duration::minutes(6), NOW - Duration::hours(12)).await?, 1);
        Ok(())
    }

    async fn sign_in_failures_are_counted_in_a_window(t: TestDb) {
        let keys = ["account:a@example.org".to_string(), "address:127.0.0.1".to_string()];
        for i in 0..3 {
            throttle::record_failure(&t.db, &keys, NOW + Duration::minutes(i)).await?;
        }
        assert_eq!(throttle::failures_since(&t.db, &keys[0], NOW).await?, 3);
        assert_eq!(throttle::failures_since(&t.db, &keys[1], NOW + Duration::minutes(1)).await?, 2);
        throttle::clear(&t.db, &keys[0]).await?;
        assert_eq!(throttle::failures_since(&t.db, &keys[0], NOW).await?, 0);
        assert_eq!(throttle::failures_since(&t.db, &keys[1], NOW).await?, 3);
        Ok(())
    }

    async fn one_time_tokens_work_once_and_expire(t: TestDb) {
        let email = Email::parse("new@example.org").map_err(anyhow::Error::msg)?;
        let new = NewUser { email: &email, display_name: "New", roles: &[Role::Professional], organisation_id: None, password_hash: None };
        let mail = outbox::NewEmail { to: "new@example.org", subject: "Invitation", body: "link", idempotency_key: None };
        let user = tokens::invite(&t.db, &new, b"tok", &mail, NOW, NOW + Duration::days(7)).await?;
        assert_eq!(outbox::pending_count(&t.db).await?, 1, "the invitation email is queued with the user");
        assert!(!users::get(&t.db, user).await?.expect("user").has_password);
        assert_eq!(tokens::peek(&t.db, b"tok", tokens::Purpose::Invitation, NOW).await?, Some(user));
        assert_eq!(tokens::peek(&t.db, b"tok", tokens::Purpose::PasswordReset, NOW).await?, None);
        let used = tokens::consume_and_set_password(&t.db, b"tok", tokens::Purpose::Invitation, "h", NOW).await?;
        assert_eq!(used, Some(user));
        assert!(users::get(&t.db, user).await?.expect("user").has_password);
        assert_eq!(tokens::consume_and_set_password(&t.db, b"tok", tokens::Purpose::Invitation, "h", NOW).await?, None);
        // A newer reset token withdraws the older one; expiry is enforced.
        tokens::issue(&t.db, b"r1", tokens::Purpose::PasswordReset, user, NOW, NOW + Duration::hours(1)).await?;
        tokens::issue(&t.db, b"r2", tokens::Purpose::PasswordReset, user, NOW, NOW + Duration::hours(1)).await?;
        assert_eq!(tokens::peek(&t.db, b"r1", tokens::Purpose::PasswordReset, NOW).await?, None);
        assert_eq!(tokens::peek(&t.db, b"r2", tokens::Purpose::PasswordReset, NOW + Duration::hours(2)).await?, None);
        assert_eq!(tokens::peek(&t.db, b"r2", tokens::Purpose::PasswordReset, NOW).await?, Some(user));
        Ok(())
    }

    async fn the_outbox_delivers_each_message_once_with_retries(t: TestDb) {
        let mail = outbox::NewEmail { to: "a@example.org", subject: "s", body: "b", idempotency_key: Some("k1") };
        outbox::enqueue(&t.db, &mail, NOW).await?;
        outbox::enqueue(&t.db, &mail, NOW).await?;
        assert_eq!(outbox::pending_count(&t.db).await?, 1);
        let lease = NOW + Duration::minutes(5);
        let first = outbox::claim_next(&t.db, NOW, lease).await?.expect("due");
        assert_eq!(first.attempts, 1);
        assert!(outbox::claim_next(&t.db, NOW, lease).await?.is_none(), "claimed messages are not handed out twice");
        outbox::mark_failed(&t.db, first.id, "connection refused", Some(NOW + Duration::minutes(1))).await?;
        assert!(outbox::claim_next(&t.db, NOW, lease).await?.is_none(), "not due yet");
        let second = outbox::claim_next(&t.db, NOW + Duration::minutes(1), lease).await?.expect("due again");
        assert_eq!(second.attempts, 2);
        outbox::mark_failed(&t.db, second.id, "mailbox unavailable", None).await?;
        assert_eq!(outbox::pending_count(&t.db).await?, 0);
        let dead = outbox::dead_letters(&t.db).await?;
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].last_error.as_deref(), Some("mailbox unavailable"));
        Ok(())
    }

    async fn a_leased_message_is_reclaimed_after_its_lease(t: TestDb) {
        let mail = outbox::NewEmail { to: "a@example.org", subject: "s", body: "b", idempotency_key: None };
        outbox::enqueue(&t.db, &mail, NOW).await?;
        let lease = NOW + Duration::minutes(5);
        let claimed = outbox::claim_next(&t.db, NOW, lease).await?.expect("due");
        let again = outbox::claim_next(&t.db, lease, lease + Duration::minutes(5)).await?.expect("lease ran out");
        assert_eq!(claimed.id, again.id);
        outbox::mark_sent(&t.db, again.id, lease).await?;
        assert_eq!(outbox::pending_count(&t.db).await?, 0);
        Ok(())
    }

    async fn the_first_signing_key_stored_is_kept(t: TestDb) {
        use carepact_store::signing_keys::{self, SigningKey};
        assert!(signing_keys::current(&t.db, "ES256").await?.is_none());
        let key = |kid: &str, pkcs8: &[u8]| SigningKey {
            kid: kid.into(),
            algorithm: "ES256".into(),
            pkcs8: pkcs8.to_vec(),
            created_at: DbTime(NOW),
        };
        let first = signing_keys::current_or_insert(&t.db, &key("first", b"one"), NOW).await?;
        assert_eq!((first.kid.as_str(), first.pkcs8.as_slice(), first.created_at), ("first", &b"one"[..], DbTime(NOW)));
        // Another node's key, made at the same moment, loses: everyone signs with the first.
        let second = signing_keys::current_or_insert(&t.db, &key("second", b"two"), NOW + Duration::seconds(1)).await?;
        assert_eq!(second, first);
        assert_eq!(signing_keys::current(&t.db, "ES256").await?, Some(first.clone()));
        assert_eq!(signing_keys::published(&t.db, "ES256").await?, vec![first]);
        assert!(signing_keys::current(&t.db, "RS256").await?.is_none());
        Ok(())
    }
}

#[tokio::test]
async fn both_backends_have_the_same_tables_and_columns() -> Result<()> {
    let sqlite = TestDb::sqlite().await?.db.schema().await?;
    let postgres = TestDb::postgres().await?.db.schema().await?;
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, postgres);
    Ok(())
}

#[test]
fn stored_times_keep_microseconds() {
    assert_eq!(
        DbTime::truncate(datetime!(2026-01-01 0:00:00.123456789 UTC)),
        datetime!(2026-01-01 0:00:00.123456 UTC)
    );
}
