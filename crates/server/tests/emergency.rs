//! Emergency (break-glass) access, on both backends: a reason is required, it lasts 24 hours, the person is told
//! by email and sees it in their log, and the organisation's privacy report lists it.

mod support;

use anyhow::Context;
use axum::http::StatusCode;
use carepact_store::outbox;
use support::*;
use time::Duration;

carepact_testkit::backend_tests! {
    fixture = app;

    async fn a_clinician_opens_a_record_in_an_emergency_and_everyone_who_should_knows(app: TestApp) {
        let mut gp = app.client().signed_in(GP).await?;
        let form = gp.get("/emergency-access").await?;
        assert_eq!(form.h1(), "Emergency access to a record");
        let short = gp.submit("/emergency-access", "/emergency-access", &[("nhs_number", "999 000 0026"), ("reason", "urgent"), ("confirm", "yes")]).await?;
        assert_eq!(short.status, StatusCode::BAD_REQUEST);
        assert!(short.contains("Give a fuller reason"));
        let unconfirmed = gp.submit("/emergency-access", "/emergency-access", &[("nhs_number", "999 000 0026"), ("reason", "Collapsed in clinic, unresponsive")]).await?;
        assert!(unconfirmed.contains("Confirm that you understand"));
        let unknown = gp.submit("/emergency-access", "/emergency-access", &[("nhs_number", "999 000 0050"), ("reason", "Collapsed in clinic, unresponsive"), ("confirm", "yes")]).await?;
        assert!(unknown.contains("We could not find a record with that NHS number"));

        let opened = gp.submit("/emergency-access", "/emergency-access", &[("nhs_number", "999 000 0026"), ("reason", "Collapsed in clinic, unresponsive"), ("confirm", "yes")]).await?;
        let record = opened.location().context("redirect to the record")?.to_owned();
        assert!(record.starts_with("/records/"));
        let page = gp.get(&record).await?;
        assert_eq!(page.h1(), "David Evans");
        assert!(page.contains("Emergency access is open for up to 24 hours. The person has been told."));
        assert!(page.contains("under emergency access"));
        assert_eq!(outbox::pending_count(&app.state.db).await?, 1, "the person is emailed at once");

        let mut david = app.client().signed_in("david@carepact.example").await?;
        let log = david.get("/access-log").await?;
        assert!(log.contains("Your record was opened in an emergency"));
        assert!(log.contains("Collapsed in clinic, unresponsive") && log.contains("Dr Sarah Patel"));
        assert!(log.contains("Opened your record in an emergency"));

        let mut officer = app.client().signed_in(ORG_ADMIN).await?;
        let home = officer.get("/").await?;
        let org = home.body.split("href=\"/organisations/").nth(1).and_then(|s| s.split('"').next()).context("org link")?.to_owned();
        let report = officer.get(&format!("/organisations/{org}/emergency-access")).await?;
        assert!(report.contains("Collapsed in clinic, unresponsive") && report.contains("Dr Sarah Patel"));
        assert!(!report.contains("David"), "the report names no person");

        // Non-clinical staff cannot use it.
        assert_eq!(officer.get("/emergency-access").await?.status, StatusCode::FORBIDDEN);
        let mut link_worker = app.client().signed_in("sam.taylor@carepact.example").await?;
        assert_eq!(link_worker.get("/emergency-access").await?.status, StatusCode::FORBIDDEN);

        app.advance(Duration::hours(23));
        let mut gp = app.client().signed_in(GP).await?;
        assert_eq!(gp.get(&record).await?.status, StatusCode::OK, "still open after 23 hours");
        app.advance(Duration::hours(1));
        let mut gp = app.client().signed_in(GP).await?;
        assert_eq!(gp.get(&record).await?.status, StatusCode::NOT_FOUND, "it ends after 24 hours");
        Ok(())
    }
}
