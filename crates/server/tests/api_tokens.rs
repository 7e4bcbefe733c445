//! Personal API tokens through the store and the real router, on both backends: a token made at the command line
//! is found by its secret until it expires, is revoked by its user or by their organisation's admin and then stops at
//! once, cannot be revoked by anyone else, stops working when the account is deactivated, and its secret never
//! appears on a page. Making and revoking (and refusals) are in the audit log.

mod support;

use anyhow::{Context, Result};
use axum::http::StatusCode;
use carepact_domain::identity::{Email, Role, UserId};
use carepact_store::api_tokens::{self, ApiToken, By, Found, NotCreated, Revoked, Status};
use carepact_store::users::{self, NewUser, User};
use carepact_store::{audit, on_db, organisations};
use support::*;
use time::Duration;
use uuid::Uuid;

const NURSE: &str = "tom.hughes@carepact.example";
const OTHER_ADMIN: &str = "olu.admin@carepact.example";

async fn user(app: &TestApp, email: &str) -> Result<User> {
    let email = Email::parse(email).map_err(anyhow::Error::msg)?;
    users::find_by_email(&app.state.db, &email).await?.context("user")
}

/// A token made at the command line for `email`, lasting `lifetime`.
async fn make(app: &TestApp, email: &str, label: &str, lifetime: Duration) -> Result<(ApiToken, String)> {
    let u = user(app, email).await?;
    let now = app.state.now();
    api_tokens::create(&app.state.db, u.id, label, now + lifetime, now, By::CommandLine)
        .await?
        .map_err(|e| anyhow::anyhow!("not created: {e:?}"))
}

async fn find(app: &TestApp, secret: &str) -> Result<Option<Found>> {
    Ok(api_tokens::find(&app.state.db, secret, app.state.now()).await?)
}

async fn token(app: &TestApp, id: Uuid) -> Result<ApiToken> {
    api_tokens::get(&app.state.db, id).await?.context("token")
}

/// The audit events of `action`, oldest first: (actor, on behalf of, outcome, entity).
async fn events(app: &TestApp, action: &str) -> Result<Vec<(Option<Uuid>, Option<String>, String, String)>> {
    let db = &app.state.db;
    Ok(on_db!(db, read, |p| sqlx::query_as(
        "SELECT actor_id, on_behalf_of, outcome, entity FROM audit_events WHERE action = $1 AND person_id IS NULL \
         ORDER BY occurred_at, seq"
    )
    .bind(action)
    .fetch_all(p)
    .await)?)
}

async fn set_active(app: &TestApp, email: &str, active: bool) -> Result<()> {
    let db = &app.state.db;
    on_db!(db, write, |p| sqlx::query(
        "UPDATE users SET active = $2 WHERE email = $1"
    )
    .bind(email)
    .bind(active)
    .execute(p)
    .await
    .map(|_| ()))?;
    Ok(())
}

/// An organisation admin of another organisation (the community mental health team), with the demo password.
async fn other_admin(app: &TestApp) -> Result<UserId> {
    let org = organisations::find_by_name(&app.state.db, "Northfield Community Mental Health Team")
        .await?
        .context("organisation")?;
    let hash = app.state.passwords.hash(PASSWORD).await?;
    let email = Email::parse(OTHER_ADMIN).map_err(anyhow::Error::msg)?;
    let new = NewUser {
        email: &email,
        display_name: "Olu Bankole",
        roles: &[Role::OrganisationAdmin],
        organisation_id: Some(org),
        password_hash: Some(&hash),
    };
    Ok(users::create(&app.state.db, &new, app.state.now()).await?)
}

/// Neither the secret nor its random part is anywhere on the page.
fn no_secret(page: &Page, secret: &str) {
    assert!(!page.contains(secret), "the secret is on the page");
    assert!(!page.contains(&secret[4..]), "the secret is on the page");
}

carepact_testkit::backend_tests! {
    fixture = app;

    async fn a_token_is_found_by_its_secret_until_it_expires(app: TestApp) {
        let gp = user(&app, GP).await?;
        let (made, secret) = make(&app, GP, "Practice script", Duration::hours(1)).await?;
        assert!(secret.starts_with("cpt_") && secret.len() == 47, "{secret}");
        assert!(secret[4..].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{secret}");
        assert_eq!(made.user_id, gp.id);
        assert_eq!(made.label, "Practice script");
        assert_eq!(made.created_by, "command-line");
        assert_eq!(made.status(app.state.now()), Status::Active);
        assert_eq!(made.last_used_at, None);

        // Only the SHA-256 of the secret is stored.
        let db = &app.state.db;
        let stored: Vec<u8> = on_db!(db, read, |p| sqlx::query_scalar("SELECT token_hash FROM api_tokens WHERE id = $1")
            .bind(made.id)
            .fetch_one(p)
            .await)?;
        assert_eq!(stored, carepact_domain::smart::token_hash(&secret));

        // Found, and marked used — at most once a minute.
        assert_eq!(find(&app, &secret).await?, Some(Found { id: made.id, user: gp.id }));
        let first = token(&app, made.id).await?.last_used_at.context("marked used")?;
        assert_eq!(first.0, carepact_store::DbTime::truncate(app.state.now()));
        app.advance(Duration::seconds(30));
        assert!(find(&app, &secret).await?.is_some());
        assert_eq!(token(&app, made.id).await?.last_used_at, Some(first), "not written again within a minute");
        app.advance(Duration::seconds(31));
        assert!(find(&app, &secret).await?.is_some());
        let second = token(&app, made.id).await?.last_used_at.context("used")?;
        assert!(second > first);

        // Anything else is not a token.
        let mut wrong = secret.clone();
        wrong.pop();
        wrong.push(if secret.ends_with('A') { 'B' } else { 'A' });
        for junk in ["", "cpt_", "Bearer", &secret[4..], &wrong, &format!("{secret} "), &secret.to_uppercase()] {
            assert_eq!(find(&app, junk).await?, None, "{junk:?}");
        }

        // It stops at its expiry.
        app.advance(Duration::minutes(58));
        assert!(find(&app, &secret).await?.is_some(), "a minute before it expires");
        app.advance(Duration::minutes(1));
        assert_eq!(find(&app, &secret).await?, None, "expired");
        assert_eq!(token(&app, made.id).await?.status(app.state.now()), Status::Expired);

        // Refused lifetimes, labels and users write nothing.
        let now = app.state.now();
        let create = |user: UserId, label: &'static str, expires: time::OffsetDateTime| {
            api_tokens::create(&app.state.db, user, label, expires, now, By::CommandLine)
        };
        assert_eq!(create(gp.id, "x", now + Duration::days(366)).await?.err(), Some(NotCreated::BadExpiry));
        assert_eq!(create(gp.id, "x", now).await?.err(), Some(NotCreated::BadExpiry));
        assert_eq!(create(gp.id, "  ", now + Duration::days(1)).await?.err(), Some(NotCreated::BadLabel));
        assert_eq!(create(gp.id, "two\nlines", now + Duration::days(1)).await?.err(), Some(NotCreated::BadLabel));
        assert_eq!(create(UserId::new(), "x", now + Duration::days(1)).await?.err(), Some(NotCreated::NoSuchUser));
        assert!(create(gp.id, "A year", now + Duration::days(365)).await?.is_ok(), "365 days is allowed");
        assert_eq!(api_tokens::list_for_user(&app.state.db, gp.id).await?.len(), 2);

        // Making them is audited on the system chain, as the operator at the command line; the chain is intact.
        let made_events = events(&app, "create-api-token").await?;
        assert_eq!(made_events.len(), 2, "{made_events:?}");
        let (actor, via, outcome, entity) = &made_events[0];
        assert_eq!(*actor, None);
        assert_eq!(via.as_deref(), Some("command-line"));
        assert_eq!(outcome, "permit:operator");
        assert_eq!(entity, &format!("api-token:{}; user:{}", made.id, gp.id));
        assert!(audit::verify(&app.state.db).await?.is_ok());
        Ok(())
    }

    async fn the_user_and_their_organisation_admin_revoke_tokens_on_the_pages(app: TestApp) {
        let gp = user(&app, GP).await?;
        let admin = user(&app, ORG_ADMIN).await?;
        let (script, script_secret) = make(&app, GP, "Practice script", Duration::days(30)).await?;
        let (feed, feed_secret) = make(&app, GP, "Lab results feed", Duration::days(90)).await?;
        let (old, old_secret) = make(&app, GP, "Old export", Duration::hours(1)).await?;
        app.advance(Duration::hours(2));
        assert!(find(&app, &script_secret).await?.is_some());
        let secrets = [&script_secret, &feed_secret, &old_secret];

        // The GP's own list: every token with its dates and status, how tokens are made, a Revoke for the live ones.
        let mut doctor = app.client().signed_in(GP).await?;
        let account = doctor.get("/account").await?;
        assert!(account.contains("href=\"/account/tokens\""), "{}", account.body);
        let list = doctor.get("/account/tokens").await?;
        assert_eq!(list.status, StatusCode::OK, "{}", list.body);
        assert_eq!(list.h1(), "Your API tokens");
        for words in ["Practice script", "Lab results feed", "Old export", "carepact token create", "Active", "Expired", "Not used yet", "Last used", "Works until", "23 November 2026 09:00 UTC"] {
            assert!(list.contains(words), "{words}: {}", list.body);
        }
        assert!(list.contains(&format!("action=\"/account/tokens/{}/revoke\"", script.id)));
        assert!(list.contains(&format!("action=\"/account/tokens/{}/revoke\"", feed.id)));
        assert!(!list.contains(&format!("/account/tokens/{}/revoke", old.id)), "no Revoke for an expired token");
        for s in secrets {
            no_secret(&list, s);
        }

        // The GP revokes one: it stops at once, and the list says so.
        let done = doctor.submit("/account/tokens", &format!("/account/tokens/{}/revoke", script.id), &[]).await?;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert_eq!(done.location(), Some("/account/tokens"));
        assert_eq!(find(&app, &script_secret).await?, None);
        let after = doctor.get("/account/tokens").await?;
        assert!(after.contains("The token has been revoked. It no longer works."), "{}", after.body);
        assert!(after.contains("Revoked"));
        assert!(!after.contains(&format!("/account/tokens/{}/revoke", script.id)));
        let revoked = token(&app, script.id).await?;
        assert_eq!(revoked.status(app.state.now()), Status::Revoked);
        assert_eq!(revoked.revoked_by, Some(gp.id));
        // Posting again (a second tab) changes nothing and is not an error.
        let again = doctor.submit("/account/tokens", &format!("/account/tokens/{}/revoke", script.id), &[]).await?;
        assert_eq!(again.status, StatusCode::SEE_OTHER);

        // The practice's admin finds the list from the organisation's page and sees whose each token is.
        let mut manager = app.client().signed_in(ORG_ADMIN).await?;
        let org = admin.organisation_id.context("admin's organisation")?;
        let org_page = manager.get(&format!("/organisations/{org}")).await?;
        assert!(org_page.contains("href=\"/admin/tokens\""), "{}", org_page.body);
        let staff = manager.get("/admin/tokens").await?;
        assert_eq!(staff.status, StatusCode::OK, "{}", staff.body);
        assert_eq!(staff.h1(), "API tokens of your staff");
        for words in ["Dr Sarah Patel", GP, "Practice script", "Lab results feed", "Revoked", "carepact token create"] {
            assert!(staff.contains(words), "{words}: {}", staff.body);
        }
        for s in secrets {
            no_secret(&staff, s);
        }
        let done = manager.submit("/admin/tokens", &format!("/admin/tokens/{}/revoke", feed.id), &[]).await?;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert_eq!(done.location(), Some("/admin/tokens"));
        assert_eq!(find(&app, &feed_secret).await?, None, "revoked by the admin, at once");
        assert_eq!(token(&app, feed.id).await?.revoked_by, Some(admin.id));
        let own = manager.get("/account/tokens").await?;
        assert!(own.contains("You have no API tokens."), "{}", own.body);

        // Both are in the audit log, as the user themself and as the organisation's admin.
        let revocations = events(&app, "revoke-api-token").await?;
        let outcomes: Vec<(Option<Uuid>, &str)> = revocations.iter().map(|e| (e.0, e.2.as_str())).collect();
        assert_eq!(outcomes, [(Some(gp.id.0), "permit:self"), (Some(admin.id.0), "permit:organisation-admin")]);
        assert!(revocations.iter().all(|e| e.1.is_none()));
        assert!(audit::verify(&app.state.db).await?.is_ok());
        Ok(())
    }

    async fn nobody_else_may_make_or_revoke_a_token(app: TestApp) {
        let (t, secret) = make(&app, GP, "Practice script", Duration::days(30)).await?;
        let revoke_own = format!("/account/tokens/{}/revoke", t.id);
        let revoke_staff = format!("/admin/tokens/{}/revoke", t.id);

        // A colleague who is not an admin: not their token (404), not an admin (403).
        let mut nurse = app.client().signed_in(NURSE).await?;
        assert_eq!(nurse.submit("/account/tokens", &revoke_own, &[]).await?.status, StatusCode::NOT_FOUND);
        assert_eq!(nurse.get("/admin/tokens").await?.status, StatusCode::FORBIDDEN);
        assert_eq!(nurse.submit("/account/tokens", &revoke_staff, &[]).await?.status, StatusCode::FORBIDDEN);

        // An admin of another organisation neither sees it nor can revoke it.
        let olu = other_admin(&app).await?;
        let mut elsewhere = app.client().signed_in(OTHER_ADMIN).await?;
        let list = elsewhere.get("/admin/tokens").await?;
        assert_eq!(list.status, StatusCode::OK);
        assert!(list.contains("Nobody in your organisation has an API token."), "{}", list.body);
        assert!(!list.contains("Practice script"));
        assert_eq!(elsewhere.submit("/admin/tokens", &revoke_staff, &[]).await?.status, StatusCode::NOT_FOUND);
        assert_eq!(elsewhere.submit("/account/tokens", &revoke_own, &[]).await?.status, StatusCode::NOT_FOUND);

        // A person, and the system admin, have no staff list; junk ids are not found.
        let mut amina = app.client().signed_in(PERSON).await?;
        assert_eq!(amina.get("/admin/tokens").await?.status, StatusCode::FORBIDDEN);
        assert_eq!(amina.submit("/account/tokens", &revoke_own, &[]).await?.status, StatusCode::NOT_FOUND);
        let mut system = app.client().signed_in(SYSTEM_ADMIN).await?;
        assert_eq!(system.get("/admin/tokens").await?.status, StatusCode::FORBIDDEN);
        let mut doctor = app.client().signed_in(GP).await?;
        assert_eq!(doctor.submit("/account/tokens", "/account/tokens/not-an-id/revoke", &[]).await?.status, StatusCode::NOT_FOUND);
        let unknown = format!("/account/tokens/{}/revoke", Uuid::now_v7());
        assert_eq!(doctor.submit("/account/tokens", &unknown, &[]).await?.status, StatusCode::NOT_FOUND);
        // Without the form's CSRF token, not even the owner can.
        assert_ne!(doctor.post(&revoke_own, &[]).await?.status, StatusCode::SEE_OTHER);

        // In the store too; and a deactivated admin of the right organisation is refused.
        let now = app.state.now();
        let gp = user(&app, GP).await?;
        let admin = user(&app, ORG_ADMIN).await?;
        let nurse_id = user(&app, NURSE).await?.id;
        let expires = now + Duration::days(1);
        let by_self = api_tokens::create(&app.state.db, gp.id, "Mine", expires, now, By::User(gp.id)).await?;
        assert_eq!(by_self.map(|(t, _)| t.created_by).ok(), Some(gp.id.0.to_string()));
        let by_admin = api_tokens::create(&app.state.db, gp.id, "Theirs", expires, now, By::User(admin.id)).await?;
        assert!(by_admin.is_ok(), "the organisation's admin may make one");
        for stranger in [olu, nurse_id] {
            let refused = api_tokens::create(&app.state.db, gp.id, "No", expires, now, By::User(stranger)).await?;
            assert_eq!(refused.err(), Some(NotCreated::NotAllowed));
        }
        let made: Vec<String> = events(&app, "create-api-token").await?.into_iter().map(|e| e.2).collect();
        assert_eq!(made, ["permit:operator", "permit:self", "permit:organisation-admin", "deny:not-allowed", "deny:not-allowed"]);
        assert_eq!(api_tokens::list_for_user(&app.state.db, gp.id).await?.len(), 3);
        assert_eq!(api_tokens::revoke(&app.state.db, t.id, By::User(olu), now).await?, Revoked::NotFound);
        set_active(&app, ORG_ADMIN, false).await?;
        assert_eq!(api_tokens::revoke(&app.state.db, t.id, By::User(admin.id), now).await?, Revoked::NotFound);
        assert_eq!(api_tokens::revoke(&app.state.db, Uuid::now_v7(), By::CommandLine, now).await?, Revoked::NotFound);
        assert!(find(&app, &secret).await?.is_some(), "still works");
        assert_eq!(token(&app, t.id).await?.revoked_at, None);

        // The refusals are audited; the operator may revoke it.
        let refusals = events(&app, "revoke-api-token").await?;
        assert_eq!(refusals.len(), 6, "{refusals:?}");
        assert!(refusals.iter().all(|e| e.2 == "deny:not-allowed"), "{refusals:?}");
        assert!(refusals.iter().any(|e| e.0 == Some(olu.0)));
        assert_eq!(api_tokens::revoke(&app.state.db, t.id, By::CommandLine, now).await?, Revoked::Done);
        assert_eq!(api_tokens::revoke(&app.state.db, t.id, By::CommandLine, now).await?, Revoked::Already);
        assert_eq!(find(&app, &secret).await?, None);
        let last = events(&app, "revoke-api-token").await?.pop().context("event")?;
        assert_eq!((last.0, last.1.as_deref(), last.2.as_str()), (None, Some("command-line"), "permit:operator"));
        Ok(())
    }

    async fn a_deactivated_users_token_is_not_found(app: TestApp) {
        let (t, secret) = make(&app, GP, "Practice script", Duration::days(30)).await?;
        assert!(find(&app, &secret).await?.is_some());
        set_active(&app, GP, false).await?;
        assert_eq!(find(&app, &secret).await?, None, "the account is closed");
        assert_eq!(token(&app, t.id).await?.revoked_at, None);
        assert_eq!(token(&app, t.id).await?.status(app.state.now()), api_tokens::Status::AccountOff, "listed as not working");
        let mut admin = app.client().signed_in(ORG_ADMIN).await?;
        let listed = admin.get("/admin/tokens").await?;
        assert!(listed.contains("Not working: the account is switched off"), "{}", listed.body);
        let gp = user(&app, GP).await?;
        let now = app.state.now();
        let refused = api_tokens::create(&app.state.db, gp.id, "Another", now + Duration::days(1), now, By::CommandLine).await?;
        assert_eq!(refused.err(), Some(NotCreated::Deactivated));
        assert_eq!(api_tokens::list_for_user(&app.state.db, gp.id).await?.len(), 1, "nothing written");
        Ok(())
    }
}
