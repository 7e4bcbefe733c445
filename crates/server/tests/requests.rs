//! Asking for access, on both backends: the person decides; the professional sees only "shared" or "waiting", and
//! cannot tell a declined request from one about an NHS number nobody uses.

mod support;

use anyhow::Context;
use axum::http::StatusCode;
use carepact_store::outbox;
use support::*;

carepact_testkit::backend_tests! {
    fixture = app;

    async fn a_professional_asks_and_the_person_decides(app: TestApp) {
        let mut worker = app.client().signed_in("jo.adeyemi@carepact.example").await?;
        let empty = worker.submit("/access-requests", "/access-requests", &[]).await?;
        assert_eq!(empty.status, StatusCode::BAD_REQUEST);
        assert!(empty.contains("Select at least one part of the record") && empty.contains("Say why you are asking"));
        let ask = [("nhs_number", "999 000 0026"), ("sections", "record"), ("sections", "questionnaires"), ("reason", "Following up your referral for anxiety")];
        assert_eq!(worker.submit("/access-requests", "/access-requests", &ask).await?.location(), Some("/access-requests"));
        let nobody = [("nhs_number", "999 000 0050"), ("sections", "record"), ("reason", "Referral")];
        worker.submit("/access-requests", "/access-requests", &nobody).await?;
        assert_eq!(outbox::pending_count(&app.state.db).await?, 1, "only a real person is emailed");
        let mine = worker.get("/access-requests").await?;
        assert_eq!(mine.body.matches("Waiting").count(), 2, "an unknown number looks like an unanswered request");

        let mut david = app.client().signed_in("david@carepact.example").await?;
        let sharing = david.get("/sharing").await?;
        assert!(sharing.contains("Requests to see your record"));
        assert!(sharing.contains("Jo Adeyemi") && sharing.contains("Following up your referral for anxiety"));
        let approve = sharing.body.split("action=\"/sharing/requests/").nth(1).and_then(|s| s.split('"').next()).context("approve form")?.to_owned();
        assert!(approve.ends_with("/approve"));
        let csrf = sharing.csrf().context("csrf")?;
        assert_eq!(david.post(&format!("/sharing/requests/{approve}"), &[("csrf_token", csrf.as_str())]).await?.location(), Some("/sharing"));
        let after = david.get("/sharing").await?;
        assert!(after.contains("You are now sharing your record with them."));
        assert!(after.contains("Jo Adeyemi") && after.contains("Questionnaires"));
        assert!(!after.contains("Requests to see your record"));
        // Answering twice does nothing.
        assert_eq!(david.post(&format!("/sharing/requests/{approve}"), &[("csrf_token", csrf.as_str())]).await?.status, StatusCode::NOT_FOUND);

        let mine = worker.get("/access-requests").await?;
        assert!(mine.contains("Shared with you"));
        assert!(worker.get("/").await?.contains("David Evans"));
        Ok(())
    }

    async fn a_declined_request_stays_waiting_to_the_professional(app: TestApp) {
        let mut gp = app.client().signed_in(GP).await?;
        gp.submit("/access-requests", "/access-requests", &[("nhs_number", "943 476 5919"), ("sections", "record"), ("reason", "Annual review")]).await?;
        let mut amina = app.client().signed_in(PERSON).await?;
        let sharing = amina.get("/sharing").await?;
        let decline = sharing
            .body
            .split("action=\"/sharing/requests/")
            .filter_map(|s| s.split('"').next())
            .find(|a| a.ends_with("/decline"))
            .context("decline form")?
            .to_owned();
        let csrf = sharing.csrf().context("csrf")?;
        amina.post(&format!("/sharing/requests/{decline}"), &[("csrf_token", csrf.as_str())]).await?;
        assert!(amina.get("/sharing").await?.contains("You have declined the request."));
        let mine = gp.get("/access-requests").await?;
        assert!(mine.contains("Waiting") && !mine.contains("Shared with you"));
        assert!(!gp.get("/").await?.contains("Amina Khan"));
        // Someone else cannot answer Amina's requests.
        let mut david = app.client().signed_in("david@carepact.example").await?;
        let csrf = david.get("/sharing").await?.csrf().context("csrf")?;
        assert_eq!(david.post(&format!("/sharing/requests/{decline}"), &[("csrf_token", csrf.as_str())]).await?.status, StatusCode::NOT_FOUND);
        Ok(())
    }
}
