//! Signing in and out, sessions and their timeouts, CSRF, and throttling — through the real router, on SQLite
//! and on PostgreSQL.

mod support;

use axum::http::StatusCode;
use support::*;
use time::Duration;

carepact_testkit::backend_tests! {
    fixture = app;

    async fn a_person_signs_in_and_sees_their_own_home_page(app: TestApp) {
        let mut browser = app.client();
        let form = browser.get("/sign-in").await?;
        assert_eq!(form.status, StatusCode::OK);
        assert!(form.contains("Sign in to CarePact"));
        let done = browser.sign_in(PERSON, PASSWORD).await?;
        assert_eq!((done.status, done.location()), (StatusCode::SEE_OTHER, Some("/")));
        let home = browser.get("/").await?;
        assert_eq!(home.status, StatusCode::OK);
        assert_eq!(home.h1(), "Amina Khan");
        assert!(home.contains("943 476 5919"));
        assert!(home.contains("Nina Clarke"), "her named contact");
        assert!(home.contains("12 April 1961"));
        Ok(())
    }

    async fn a_professional_sees_their_organisation_and_no_shared_records(app: TestApp) {
        let mut gp = app.client().signed_in(GP).await?;
        let home = gp.get("/").await?;
        assert_eq!(home.h1(), "Dr Sarah Patel");
        assert!(home.contains("Riverside Medical Practice"));
        assert!(home.contains("No one has shared their record with you yet."));
        Ok(())
    }

    async fn a_wrong_password_explains_itself_and_reveals_nothing(app: TestApp) {
        let mut browser = app.client();
        let wrong = browser.sign_in(PERSON, "not the password").await?;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        assert!(wrong.contains("nhsuk-error-summary"));
        assert!(wrong.contains("<a href=\"#email\">Enter a correct email address and password</a>"));
        assert!(wrong.body.starts_with("<!DOCTYPE html>"));
        // An unknown account gets exactly the same answer.
        let unknown = browser.sign_in("nobody@example.org", "not the password").await?;
        assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
        assert!(unknown.contains("Enter a correct email address and password"));
        let empty = browser.sign_in("", "").await?;
        assert_eq!(empty.status, StatusCode::BAD_REQUEST);
        assert!(empty.contains("<a href=\"#email\">Enter your email address</a>"));
        assert!(empty.contains("<a href=\"#password\">Enter your password</a>"));
        assert!(empty.contains("<title>Error:"));
        Ok(())
    }

    async fn signing_in_rotates_the_session_and_signing_out_ends_it(app: TestApp) {
        let mut browser = app.client();
        browser.get("/sign-in").await?;
        let before = browser.cookie.clone().expect("a session for the form");
        browser.sign_in(PERSON, PASSWORD).await?;
        let after = browser.cookie.clone().expect("a new session");
        assert_ne!(before, after, "the session id changes at sign-in");
        // The pre-sign-in id (which an attacker could have planted) is worthless.
        let mut planted = app.client();
        planted.cookie = Some(before);
        assert_eq!(planted.get("/").await?.location(), Some("/sign-in"));

        let home = browser.get("/").await?;
        let csrf = home.csrf().expect("sign-out form");
        let out = browser.post("/sign-out", &[("csrf_token", &csrf)]).await?;
        assert_eq!(out.location(), Some("/sign-in"));
        let page = browser.get("/sign-in").await?;
        assert!(page.contains("You have signed out."));
        let mut old = app.client();
        old.cookie = Some(after);
        assert_eq!(old.get("/").await?.location(), Some("/sign-in"), "the signed-out session no longer works");
        Ok(())
    }

    async fn sessions_end_after_30_idle_minutes_and_after_12_hours(app: TestApp) {
        let mut browser = app.client().signed_in(PERSON).await?;
        app.advance(Duration::minutes(29));
        assert_eq!(browser.get("/").await?.status, StatusCode::OK, "29 idle minutes is fine");
        app.advance(Duration::minutes(30));
        let expired = browser.get("/").await?;
        assert_eq!(expired.location(), Some("/sign-in"));
        let page = browser.get("/sign-in").await?;
        assert!(page.contains("You were signed out because you had not used CarePact for a while."));

        let mut busy = app.client().signed_in(PERSON).await?;
        for _ in 0..35 {
            app.advance(Duration::minutes(20));
            assert_eq!(busy.get("/").await?.status, StatusCode::OK);
        }
        app.advance(Duration::minutes(20)); // 12 hours since sign-in, though active
        assert_eq!(busy.get("/").await?.location(), Some("/sign-in"));
        Ok(())
    }

    async fn the_eleventh_failure_for_an_account_is_refused_for_a_while(app: TestApp) {
        for i in 0..10 {
            // Different addresses: the account limit, not the address limit, is what bites.
            let mut b = app.client_from(&format!("192.0.2.{}:4000", 20 + i));
            assert_eq!(b.sign_in(PERSON, "guess").await?.status, StatusCode::UNAUTHORIZED);
        }
        let mut b = app.client_from("198.51.100.7:4000");
        let locked = b.sign_in(PERSON, PASSWORD).await?;
        assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS, "even the right password waits");
        assert_eq!(locked.headers.get("retry-after").and_then(|v| v.to_str().ok()), Some("900"));
        assert!(locked.contains("Too many attempts"));
        // Another account from another address is unaffected.
        assert_eq!(app.client_from("198.51.100.8:4000").sign_in(GP, PASSWORD).await?.status, StatusCode::SEE_OTHER);
        app.advance(Duration::minutes(16));
        assert_eq!(b.sign_in(PERSON, PASSWORD).await?.status, StatusCode::SEE_OTHER);
        Ok(())
    }

    async fn the_eleventh_failure_from_an_address_is_refused(app: TestApp) {
        let mut b = app.client_from("203.0.113.9:5000");
        for i in 0..10 {
            let email = format!("person{i}@example.org");
            assert_eq!(b.sign_in(&email, "guess").await?.status, StatusCode::UNAUTHORIZED);
        }
        assert_eq!(b.sign_in(GP, PASSWORD).await?.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(app.client_from("203.0.113.10:5000").sign_in(GP, PASSWORD).await?.status, StatusCode::SEE_OTHER);
        Ok(())
    }

    async fn forms_without_the_right_csrf_token_change_nothing(app: TestApp) {
        let mut person = app.client().signed_in(PERSON).await?;
        let forged = person.post("/account/details", &[("phone", "0000"), ("csrf_token", "0".repeat(64).as_str())]).await?;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
        assert!(forged.contains("This form has expired"));
        let missing = person.post("/account/details", &[("phone", "0000")]).await?;
        assert_eq!(missing.status, StatusCode::FORBIDDEN);
        let account = person.get("/account").await?;
        assert!(!account.contains("value=\"0000\""));
        // A form from another site is refused even with a valid token.
        let csrf = account.csrf().expect("token");
        let req = axum::http::Request::post("/account/details")
            .header("host", "127.0.0.1:8080")
            .header("origin", "https://evil.example")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(axum::body::Body::from(format!("csrf_token={csrf}&phone=0000")))?;
        let cross = person.send(req).await?;
        assert_eq!(cross.status, StatusCode::FORBIDDEN);
        assert!(cross.contains("This request came from another website"));
        // With no session at all, a post sends the visitor to sign in rather than failing bluntly.
        let mut stranger = app.client();
        let anonymous = stranger.post("/sign-in", &[("email", PERSON), ("password", PASSWORD)]).await?;
        assert_eq!(anonymous.location(), Some("/sign-in"));
        assert!(stranger.get("/sign-in").await?.contains("The page you were using had expired."));
        Ok(())
    }

    async fn pages_need_the_right_role(app: TestApp) {
        let mut stranger = app.client();
        for path in ["/", "/account", "/people/new", "/admin/organisations", "/admin/emails"] {
            assert_eq!(stranger.get(path).await?.location(), Some("/sign-in"), "{path} needs sign-in");
        }
        let mut person = app.client().signed_in(PERSON).await?;
        for path in ["/people/new", "/admin/organisations", "/admin/emails"] {
            let page = person.get(path).await?;
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
            assert_eq!(page.h1(), "You cannot do that");
        }
        Ok(())
    }
}
