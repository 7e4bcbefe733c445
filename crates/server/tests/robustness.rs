//! Bad input gets a clear page, never a panic, a 500 or a stack trace; operations endpoints answer.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use support::*;

carepact_testkit::backend_tests! {
    fixture = app;

    async fn unknown_routes_and_methods_get_the_not_found_page(app: TestApp) {
        let mut b = app.client();
        for path in ["/no-such-page", "/organisations/not-a-uuid", "/organisations/00000000-0000-0000-0000-000000000000", "/%E2%82%AC/..%2F..", "/assets/nhsuk/missing.css"] {
            let page = b.get(path).await?;
            assert!(page.status == StatusCode::NOT_FOUND || page.status.is_redirection(), "{path}: {}", page.status);
        }
        let page = b.get("/no-such-page").await?;
        assert_eq!(page.h1(), "Page not found");
        assert!(page.headers.get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/html")));
        // Without a session, an unexpected method is sent to sign in; signed in, it is refused with a page.
        let wrong_method = b.send(Request::delete("/sign-in").header("host", "127.0.0.1:8080").body(Body::empty())?).await?;
        assert_eq!(wrong_method.location(), Some("/sign-in"));
        let mut person = app.client().signed_in(PERSON).await?;
        let csrf = person.get("/").await?.csrf().expect("token");
        let req = Request::delete("/").header("host", "127.0.0.1:8080").header("x-csrf-token", csrf.as_str()).body(Body::empty())?;
        let wrong_method = person.send(req).await?;
        assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
        assert!(wrong_method.contains("<!DOCTYPE html>"));
        Ok(())
    }

    async fn malformed_forms_are_explained_not_crashed_on(app: TestApp) {
        let mut person = app.client().signed_in(PERSON).await?;
        let csrf = person.get("/account").await?.csrf().expect("token");
        let bodies: Vec<Vec<u8>> = vec![
            format!("csrf_token={csrf}&phone=%ZZ%").into_bytes(),
            [format!("csrf_token={csrf}&phone=").into_bytes(), vec![0xff, 0xfe, 0x00]].concat(),
            format!("csrf_token={csrf}&&&==&preferred_name={}", "x".repeat(500)).into_bytes(),
        ];
        for body in bodies {
            let page = person.post_raw("/account/details", "application/x-www-form-urlencoded", body).await?;
            assert!(page.status.is_client_error() || page.status.is_redirection(), "{}", page.status);
            assert!(!page.status.is_server_error());
        }
        let long_name = person.get("/account").await?;
        assert!(!long_name.contains(&"x".repeat(500)), "an over-long field is refused, not stored");
        // A body that is not a form at all.
        let req = Request::post("/account/details")
            .header("host", "127.0.0.1:8080")
            .header("content-type", "application/json")
            .header("x-csrf-token", csrf.as_str())
            .body(Body::from("{\"phone\": 1}"))?;
        let page = person.send(req).await?;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        assert!(page.contains("We could not read what you sent."));
        Ok(())
    }

    async fn oversized_bodies_are_refused_with_a_page(app: TestApp) {
        let mut b = app.client();
        let csrf = b.get("/sign-in").await?.csrf().expect("token");
        let body = format!("csrf_token={csrf}&email={}", "a".repeat(200 * 1024));
        let page = b.post_raw("/sign-in", "application/x-www-form-urlencoded", body).await?;
        assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(page.h1(), "What you sent is too large");
        Ok(())
    }

    async fn bad_cookies_are_treated_as_no_session(app: TestApp) {
        for cookie in ["carepact_session=", "carepact_session=../../etc/passwd", "carepact_session=%00%ff", "=;;;=", &format!("carepact_session={}", "f".repeat(64)), &format!("carepact_session={}", "a".repeat(5000))] {
            let mut b = app.client();
            let req = Request::get("/").header("host", "127.0.0.1:8080").header("cookie", cookie).body(Body::empty())?;
            let page = b.send(req).await?;
            assert_eq!(page.location(), Some("/sign-in"), "{cookie}");
            let req = Request::get("/sign-in").header("host", "127.0.0.1:8080").header("cookie", cookie).body(Body::empty())?;
            assert_eq!(b.send(req).await?.status, StatusCode::OK, "{cookie}");
        }
        Ok(())
    }

    async fn operations_endpoints_answer(app: TestApp) {
        let mut b = app.client();
        assert_eq!(b.get("/healthz").await?.body, "ok\n");
        assert_eq!(b.get("/readyz").await?.body, "ready\n");
        b.get("/sign-in").await?;
        b.get("/organisations/0190c9a0-0000-7000-8000-000000000000").await?;
        let metrics = b.get("/metrics").await?;
        assert!(metrics.contains("carepact_http_requests_total{method=\"GET\",route=\"/sign-in\",status=\"200\"} 1"), "{}", metrics.body);
        assert!(metrics.contains("carepact_http_request_duration_seconds_count{method=\"GET\",route=\"/sign-in\"} 1"));
        assert!(metrics.contains("route=\"/organisations/{id}\""), "route templates, never raw paths");
        assert!(!metrics.contains("0190c9a0"));
        let page = b.get("/sign-in").await?;
        assert!(page.headers.contains_key("x-request-id"));
        assert!(page.headers.get("content-security-policy").is_some());
        assert_eq!(page.headers.get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
        let css = b.get("/assets/nhsuk/nhsuk-frontend.min.css").await?;
        assert_eq!(css.status, StatusCode::OK);
        assert!(!css.contains("assets.nhs.uk"), "no third-party font requests");
        Ok(())
    }

    async fn a_database_outage_gets_the_sorry_page_and_not_ready(app: TestApp) {
        let mut b = app.client();
        app.state.db.close().await;
        let page = b.get("/sign-in").await?;
        assert_eq!(page.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(page.h1(), "Sorry, there is a problem with the service");
        assert!(page.contains("Nothing you entered has been saved."));
        assert!(!page.contains("sqlx") && !page.contains("pool"), "no internals shown");
        assert_eq!(b.get("/readyz").await?.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(b.get("/healthz").await?.status, StatusCode::OK);
        Ok(())
    }

    async fn the_page_language_follows_the_setting_or_the_browser(app: TestApp) {
        let mut b = app.client();
        let req = Request::get("/sign-in").header("host", "127.0.0.1:8080").header("accept-language", "cy-GB,cy;q=0.9,en;q=0.5").body(Body::empty())?;
        let page = b.send(req).await?;
        assert!(page.contains("<html lang=\"en\">"), "English until a Welsh catalogue exists");
        let mut person = app.client().signed_in(PERSON).await?;
        let saved = person.submit("/account", "/account/language", &[("language", "en")]).await?;
        assert_eq!(saved.location(), Some("/account"));
        assert!(person.get("/account").await?.contains("Your language setting has been saved."));
        let unknown = person.submit("/account", "/account/language", &[("language", "xx")]).await?;
        assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
        Ok(())
    }

    async fn a_person_updates_their_contact_details(app: TestApp) {
        let mut person = app.client().signed_in(PERSON).await?;
        let saved = person
            .submit("/account", "/account/details", &[("preferred_name", "Mina"), ("phone", "07700 900999"), ("communication_needs", "Large print, please")])
            .await?;
        assert_eq!(saved.location(), Some("/account"));
        let page = person.get("/account").await?;
        assert!(page.contains("Your details have been saved."));
        assert!(page.contains("value=\"07700 900999\""));
        assert!(page.contains("Large print, please"));
        let home = person.get("/").await?;
        assert!(home.contains("Mina"));
        Ok(())
    }
}
