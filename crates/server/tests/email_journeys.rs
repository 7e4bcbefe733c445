//! Journeys that go through email, delivered over real SMTP to a local aiosmtpd server: password reset, staff
//! invitations, registering a person; plus the outbox's retries and dead letters.

mod support;

use anyhow::Context;
use axum::http::StatusCode;
use carepact_server::mail;
use carepact_store::{outbox, users};
use support::*;
use time::Duration;

/// Delivers whatever the outbox holds to `sink` and returns the newest message.
async fn deliver(app: &TestApp, sink: &SmtpSink) -> anyhow::Result<String> {
    let transport = mail::transport(&sink.url())?;
    let sent = mail::deliver_due(&app.state, &transport).await?;
    anyhow::ensure!(sent > 0, "nothing was sent");
    sink.messages()?.pop().context("the SMTP server received nothing")
}

carepact_testkit::backend_tests! {
    fixture = app;

    async fn a_person_resets_their_password_by_emailed_link(app: TestApp) {
        let sink = SmtpSink::start()?;
        let mut browser = app.client();
        let sent = browser.submit("/password-reset", "/password-reset", &[("email", "Amina@CarePact.example")]).await?;
        assert_eq!(sent.h1(), "Check your email");
        let mail = deliver(&app, &sink).await?;
        assert!(mail.contains("To: amina@carepact.example"));
        assert!(mail.contains("Subject: Reset your CarePact password"));
        assert!(!mail.contains("diabetes"), "emails carry no clinical detail");
        let link = link_in(&mail, "http://127.0.0.1:8080/password-reset/").context("link in the email")?;
        let path = link.trim_start_matches("http://127.0.0.1:8080");

        let form = browser.get(path).await?;
        assert_eq!(form.h1(), "Choose a new password");
        let short = browser.submit(path, path, &[("password", "short"), ("confirm_password", "short")]).await?;
        assert_eq!(short.status, StatusCode::BAD_REQUEST);
        assert!(short.contains("Your password must be at least 12 characters"));
        let mismatch = browser.submit(path, path, &[("password", "a new long passphrase"), ("confirm_password", "another one entirely")]).await?;
        assert!(mismatch.contains("The passwords do not match"));
        let done = browser.submit(path, path, &[("password", "a new long passphrase"), ("confirm_password", "a new long passphrase")]).await?;
        assert_eq!(done.location(), Some("/sign-in"));
        assert!(browser.get("/sign-in").await?.contains("Your password has been changed."));

        assert_eq!(browser.sign_in(PERSON, PASSWORD).await?.status, StatusCode::UNAUTHORIZED);
        assert_eq!(browser.sign_in(PERSON, "a new long passphrase").await?.status, StatusCode::SEE_OTHER);
        // The link worked once.
        assert_eq!(app.client().get(path).await?.h1(), "This link has expired or has already been used");
        Ok(())
    }

    async fn reset_links_expire_and_unknown_addresses_get_the_same_answer(app: TestApp) {
        let mut browser = app.client();
        let unknown = browser.submit("/password-reset", "/password-reset", &[("email", "nobody@example.org")]).await?;
        assert_eq!(unknown.h1(), "Check your email");
        assert_eq!(outbox::pending_count(&app.state.db).await?, 0, "no email for an address without an account");
        let invalid = browser.submit("/password-reset", "/password-reset", &[("email", "not an address")]).await?;
        assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
        assert!(invalid.contains("Enter an email address in the correct format"));

        let sink = SmtpSink::start()?;
        browser.submit("/password-reset", "/password-reset", &[("email", PERSON)]).await?;
        let mail = deliver(&app, &sink).await?;
        let link = link_in(&mail, "http://127.0.0.1:8080/password-reset/").context("link")?;
        let path = link.trim_start_matches("http://127.0.0.1:8080").to_owned();
        app.advance(Duration::minutes(61));
        let expired = app.client().get(&path).await?;
        assert_eq!(expired.status, StatusCode::NOT_FOUND);
        assert_eq!(expired.h1(), "This link has expired or has already been used");
        for junk in ["/password-reset/abc", "/password-reset/%00", &format!("/password-reset/{}", "0".repeat(64))] {
            assert_eq!(app.client().get(junk).await?.status, StatusCode::NOT_FOUND, "{junk}");
        }
        Ok(())
    }

    async fn an_organisation_admin_invites_staff_who_then_sign_in(app: TestApp) {
        let sink = SmtpSink::start()?;
        let mut admin = app.client().signed_in(ORG_ADMIN).await?;
        let home = admin.get("/").await?;
        let org_path = home.body.split("href=\"/organisations/").nth(1).and_then(|s| s.split('"').next()).context("manage staff link")?;
        let org = format!("/organisations/{org_path}");
        let invite = format!("{org}/invite");
        let empty = admin.submit(&invite, &invite, &[]).await?;
        assert_eq!(empty.status, StatusCode::BAD_REQUEST);
        for message in ["Enter their full name", "Enter an email address", "Select at least one role"] {
            assert!(empty.contains(message), "{message}");
        }
        let taken = admin.submit(&invite, &invite, &[("name", "Someone"), ("email", GP), ("roles", "professional")]).await?;
        assert!(taken.contains("This email address already has a CarePact account"));
        let sent = admin
            .submit(&invite, &invite, &[("name", "Nurse Nia Jones"), ("email", "nia.jones@example.org"), ("roles", "professional"), ("roles", "link_worker")])
            .await?;
        assert_eq!(sent.location(), Some(org.as_str()));
        let page = admin.get(&org).await?;
        assert!(page.contains("The invitation has been sent."));
        assert!(page.contains("Nurse Nia Jones") && page.contains("Invited"));

        let mail = deliver(&app, &sink).await?;
        assert!(mail.contains("To: nia.jones@example.org"));
        let link = link_in(&mail, "http://127.0.0.1:8080/invitation/").context("invitation link")?;
        let path = link.trim_start_matches("http://127.0.0.1:8080");
        let mut nia = app.client();
        assert_eq!(nia.sign_in("nia.jones@example.org", "anything at all").await?.status, StatusCode::UNAUTHORIZED, "no password until accepted");
        assert_eq!(nia.get(path).await?.h1(), "Set up your CarePact account");
        nia.submit(path, path, &[("password", "nia's own passphrase"), ("confirm_password", "nia's own passphrase")]).await?;
        assert!(nia.get("/sign-in").await?.contains("Your account is ready."));
        assert_eq!(nia.sign_in("nia.jones@example.org", "nia's own passphrase").await?.status, StatusCode::SEE_OTHER);
        let home = nia.get("/").await?;
        assert!(home.contains("Riverside Medical Practice"));
        let user = users::find_by_email(&app.state.db, &carepact_domain::identity::Email::parse("nia.jones@example.org").map_err(anyhow::Error::msg)?).await?.context("user")?;
        assert_eq!(user.roles.len(), 2);

        // An organisation admin manages only their own organisation.
        let mut system = app.client().signed_in(SYSTEM_ADMIN).await?;
        let list = system.get("/admin/organisations").await?;
        let other = list
            .body
            .split("href=\"/organisations/")
            .skip(1)
            .filter_map(|s| s.split('"').next())
            .find(|id| *id != org_path)
            .context("another organisation")?
            .to_owned();
        assert_eq!(admin.get(&format!("/organisations/{other}")).await?.status, StatusCode::FORBIDDEN);
        assert_eq!(admin.get(&format!("/organisations/{other}/invite")).await?.status, StatusCode::FORBIDDEN);
        Ok(())
    }

    async fn the_system_admin_adds_an_organisation(app: TestApp) {
        let mut admin = app.client().signed_in(SYSTEM_ADMIN).await?;
        let empty = admin.submit("/admin/organisations/new", "/admin/organisations/new", &[]).await?;
        assert!(empty.contains("<a href=\"#name\">Enter the organisation"));
        assert!(empty.contains("Select the type of organisation"));
        let made = admin.submit("/admin/organisations/new", "/admin/organisations/new", &[("name", "Hillside Surgery"), ("kind", "gp_practice")]).await?;
        let location = made.location().context("redirect")?.to_owned();
        let page = admin.get(&location).await?;
        assert_eq!(page.h1(), "Hillside Surgery");
        assert!(page.contains("The organisation has been added."));
        let again = admin.submit("/admin/organisations/new", "/admin/organisations/new", &[("name", "hillside surgery"), ("kind", "gp_practice")]).await?;
        assert!(again.contains("An organisation with this name already exists"));
        Ok(())
    }

    async fn a_professional_registers_a_person_without_learning_who_already_exists(app: TestApp) {
        let sink = SmtpSink::start()?;
        let mut gp = app.client().signed_in(GP).await?;
        let bad = gp
            .submit("/people/new", "/people/new", &[("nhs_number", "943 476 5918"), ("dob_day", "31"), ("dob_month", "2"), ("dob_year", "1970")])
            .await?;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(bad.contains("<a href=\"#nhs_number\">Enter a valid NHS number: check it has been typed correctly</a>"));
        assert!(bad.contains("<a href=\"#dob_day\">Date of birth must be a real date</a>"));
        assert!(bad.contains("value=\"943 476 5918\""), "what was typed is kept");

        let person = [
            ("nhs_number", "999 000 0050"),
            ("given_name", "Grace"),
            ("family_name", "Okoro"),
            ("dob_day", "1"),
            ("dob_month", "2"),
            ("dob_year", "1970"),
            ("email", "grace@example.org"),
        ];
        let done = gp.submit("/people/new", "/people/new", &person).await?;
        assert_eq!(done.location(), Some("/"));
        let notice = gp.get("/").await?;
        assert!(notice.contains("If this person did not already have a CarePact account"));
        let mail = deliver(&app, &sink).await?;
        assert!(mail.contains("To: grace@example.org"));
        assert!(mail.contains("You decide who sees your record."));

        // The same NHS number again (an existing record): the same words, and nothing created or sent.
        let users_before = users::count(&app.state.db).await?;
        let mut again = person;
        again[6] = ("email", "someone.else@example.org");
        gp.submit("/people/new", "/people/new", &again).await?;
        assert!(gp.get("/").await?.contains("If this person did not already have a CarePact account"));
        assert_eq!(users::count(&app.state.db).await?, users_before);
        assert_eq!(outbox::pending_count(&app.state.db).await?, 0);

        // The invited person sets a password and sees their own home page.
        let link = link_in(&mail, "http://127.0.0.1:8080/invitation/").context("link")?;
        let path = link.trim_start_matches("http://127.0.0.1:8080");
        let mut grace = app.client();
        grace.submit(path, path, &[("password", "grace's long passphrase"), ("confirm_password", "grace's long passphrase")]).await?;
        grace.sign_in("grace@example.org", "grace's long passphrase").await?;
        let home = grace.get("/").await?;
        assert_eq!(home.h1(), "Grace Okoro");
        assert!(home.contains("999 000 0050"));
        Ok(())
    }

    async fn undeliverable_email_is_retried_then_kept_as_a_dead_letter(app: TestApp) {
        let mut browser = app.client();
        browser.submit("/password-reset", "/password-reset", &[("email", PERSON)]).await?;
        // Nothing listens on this port: every attempt fails.
        let closed = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let transport = mail::transport(&format!("smtp://127.0.0.1:{closed}"))?;
        for attempt in 1..=mail::MAX_ATTEMPTS {
            assert_eq!(mail::deliver_due(&app.state, &transport).await?, 0, "attempt {attempt}");
            app.advance(Duration::hours(2));
        }
        assert_eq!(outbox::pending_count(&app.state.db).await?, 0);
        let dead = outbox::dead_letters(&app.state.db).await?;
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].attempts, mail::MAX_ATTEMPTS);
        let mut admin = app.client().signed_in(SYSTEM_ADMIN).await?;
        let page = admin.get("/admin/emails").await?;
        assert!(page.contains("Reset your CarePact password"));
        assert!(page.contains("amina@carepact.example"));
        Ok(())
    }
}
