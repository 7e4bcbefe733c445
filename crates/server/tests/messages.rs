//! The care team and secure messages through the pages, on both backends: the person builds their team and names
//! their contact, a message reaches the named contact (in the app and by a real email with no clinical detail),
//! replies come back, a thread is passed to a colleague, and removing a member stops their access at once.

mod support;

use anyhow::Context;
use axum::http::StatusCode;
use carepact_domain::identity::{Email, UserId};
use carepact_server::mail;
use carepact_store::care_team::{self, Availability};
use carepact_store::{organisations, users};
use support::*;

async fn user_id(app: &TestApp, email: &str) -> anyhow::Result<UserId> {
    Ok(
        users::find_by_email(&app.state.db, &Email::parse(email).map_err(anyhow::Error::msg)?)
            .await?
            .context("user")?
            .id,
    )
}

/// Delivers the outbox to a real SMTP server and returns what arrived.
async fn delivered(app: &TestApp, sink: &SmtpSink) -> anyhow::Result<Vec<String>> {
    let transport = mail::transport(&sink.url())?;
    mail::deliver_due(&app.state, &transport).await?;
    sink.messages()
}

fn attr(html: &str, prefix: &str) -> Option<String> {
    let start = html.find(prefix)?;
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

carepact_testkit::backend_tests! {
    fixture = app;

    async fn a_message_reaches_the_named_contact_and_the_answer_comes_back(app: TestApp) {
        let sink = SmtpSink::start()?;
        let base = amina_base(&app).await?;
        let mut amina = app.client().signed_in(PERSON).await?;
        let mut gp = app.client().signed_in(GP).await?;
        assert_eq!(gp.get(&format!("{base}/messages")).await?.status, StatusCode::NOT_FOUND, "no consent, no messages");

        // Amina builds her team: her GP, as named contact, sharing her plan and messages.
        let team = format!("{base}/team");
        let bad = amina.submit(&team, &team, &[("email", "nobody@carepact.example"), ("role", "")]).await?;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(bad.contains("Enter their role") && bad.contains("Select at least one part"));
        let added = amina.submit(&team, &team, &[("email", GP), ("role", "GP"), ("sections", "care_plan"), ("sections", "messages"), ("access", "write"), ("named", "yes")]).await?;
        assert_eq!(added.location(), Some(team.as_str()));
        let sarah = user_id(&app, GP).await?;
        care_team::set_availability(&app.state.db, sarah, &Availability { reply_within_days: 2, away: false, cover: None }, app.state.now()).await?;
        let page = amina.get(&team).await?;
        assert!(page.contains("Dr Sarah Patel") && page.contains("Named contact") && page.contains("Usually replies within 2 working days."));
        assert!(amina.get("/").await?.contains("Dr Sarah Patel"), "the home page names the named contact");

        // A message to the named contact: the form says when to expect a reply.
        let new = format!("{base}/messages/new");
        let form = amina.get(&new).await?;
        assert!(form.contains("Usually replies within 2 working days.") && form.contains("checked"));
        let empty = amina.submit(&new, &new, &[("to", &sarah.0.to_string()), ("subject", ""), ("body", "")]).await?;
        assert!(empty.contains("Enter a subject") && empty.contains("Write your message"));
        let sent = amina.submit(&new, &new, &[("to", &sarah.0.to_string()), ("subject", "My ankles"), ("body", "My ankles swell every evening since the new tablets.")]).await?;
        let thread = sent.location().context("thread")?.to_owned();
        assert!(amina.get(&thread).await?.contains("My ankles swell every evening"));

        // The GP sees it in their inbox and notifications, and gets an email that says only that there is a message.
        let inbox = gp.get("/messages").await?;
        assert!(inbox.contains("Amina Khan") && inbox.contains("1 conversation with new messages"), "{}", inbox.body);
        assert!(gp.get("/notifications").await?.contains("You have a new message"));
        let mail = delivered(&app, &sink).await?;
        let to_gp: Vec<&String> = mail.iter().filter(|m| m.contains(GP)).collect();
        assert_eq!(to_gp.len(), 1, "{mail:?}");
        assert!(to_gp[0].contains("You have a new message in CarePact") && to_gp[0].contains(&format!("{base}/messages")));
        assert!(!to_gp[0].contains("ankles"), "no clinical detail in email");

        // The GP goes away, with the practice nurse covering: Amina is told when she writes.
        let tom = user_id(&app, "tom.hughes@carepact.example").await?;
        let away = gp.submit("/account", "/account/availability", &[("reply_within_days", "3"), ("away", "yes"), ("cover", &tom.0.to_string())]).await?;
        assert_eq!(away.location(), Some("/account"));
        assert!(amina.get(&new).await?.contains("Usually replies within 3 working days. Away at the moment: Tom Hughes is covering."));
        gp.submit("/account", "/account/availability", &[("reply_within_days", "2")]).await?;

        // The GP replies; Amina sees it as new.
        app.advance(time::Duration::minutes(5));
        let reply = gp.submit(&thread, &format!("{thread}/reply"), &[("body", "Please come in on Tuesday so we can check.")]).await?;
        assert_eq!(reply.location(), Some(thread.as_str()));
        assert!(gp.get("/messages").await?.contains("Amina Khan") && !gp.get("/messages").await?.contains("new messages"));
        // Her demo conversation with Nina has an unread reply too: one "new" tag each.
        let list = amina.get(&format!("{base}/messages")).await?;
        assert_eq!(list.body.matches("1 new").count(), 2, "{}", list.body);
        assert!(amina.get(&thread).await?.contains("Please come in on Tuesday"));
        assert_eq!(amina.get(&format!("{base}/messages")).await?.body.matches("1 new").count(), 1, "read once opened");

        // The GP can pass it only to colleagues Amina's sharing covers: Nina Clarke, her named contact, but not
        // the practice nurse.
        let offered = gp.get(&thread).await?;
        assert!(offered.contains("Pass to colleague") && offered.contains("Nina Clarke") && !offered.contains("Tom Hughes"), "{}", offered.body);
        let early = gp.submit(&thread, &format!("{thread}/pass"), &[("colleague", &tom.0.to_string())]).await?;
        assert_eq!(early.status, StatusCode::BAD_REQUEST);
        // Once her practice-wide sharing covers the practice nurse, the GP passes it to him.
        let org = organisations::find_by_name(&app.state.db, "Riverside Medical Practice").await?.context("practice")?.to_string();
        amina.submit("/sharing", "/sharing", &[("grantee", "organisation"), ("organisation", &org), ("sections", "messages"), ("labels", "general"), ("access", "write")]).await?;
        let passed = gp.submit(&thread, &format!("{thread}/pass"), &[("colleague", &tom.0.to_string())]).await?;
        assert_eq!(passed.location(), Some(thread.as_str()));
        let mut nurse = app.client().signed_in("tom.hughes@carepact.example").await?;
        assert!(nurse.get("/messages").await?.contains("Amina Khan"));
        let page = nurse.get(&thread).await?;
        assert!(page.contains("Dr Sarah Patel passed this conversation to Tom Hughes."));

        // Email choices: with messages turned off by email, the next one is only in the app.
        let choices = nurse.submit("/notifications", "/notifications", &[("email", "message-passed")]).await?;
        assert_eq!(choices.location(), Some("/notifications"));
        app.advance(time::Duration::minutes(5));
        amina.submit(&thread, &format!("{thread}/reply"), &[("body", "Tuesday is fine.")]).await?;
        let mail = delivered(&app, &sink).await?;
        assert!(!mail.iter().any(|m| m.contains("tom.hughes@carepact.example") && m.contains("You have a new message")));
        let note = attr(&nurse.get("/notifications").await?.body, "/notifications/0").context("notification link")?;
        assert_eq!(nurse.get(&note).await?.location(), Some(thread.as_str()));

        // Her export holds the team and the conversation, as FHIR.
        let export: serde_json::Value = serde_json::from_str(&amina.get(&format!("{base}/export.json")).await?.body)?;
        let types: Vec<&str> = export["entry"].as_array().context("entries")?.iter().filter_map(|e| e["resource"]["resourceType"].as_str()).collect();
        assert!(types.contains(&"CareTeam"), "{types:?}");
        assert!(types.iter().filter(|t| **t == "Communication").count() >= 3, "{types:?}");
        let urls: Vec<&str> = export["entry"].as_array().context("entries")?.iter().filter_map(|e| e["fullUrl"].as_str()).collect();
        let mut unique = urls.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), urls.len(), "every entry has its own fullUrl");

        // Someone without consent sees nothing; removing the GP from the team stops their access at once.
        let mut social_worker = app.client().signed_in("chris.murphy@carepact.example").await?;
        assert_eq!(social_worker.get(&thread).await?.status, StatusCode::NOT_FOUND);
        let page = amina.get(&team).await?;
        let remove = attr(&page.body, &format!("{team}/")).filter(|l| l.ends_with("/named") || l.ends_with("/end")).context("member form")?;
        let member = remove.trim_start_matches(&format!("{team}/")).split('/').next().context("member")?.to_owned();
        amina.submit(&team, &format!("{team}/{member}/end"), &[]).await?;
        assert!(!amina.get(&team).await?.contains("Named contact"));
        // The practice-wide sharing still covers the GP for messages; her own named consent (the plan) is gone.
        assert_eq!(gp.get(&format!("{base}/plan")).await?.status, StatusCode::NOT_FOUND);
        Ok(())
    }

    async fn a_professional_asks_to_join_the_team_and_the_person_accepts(app: TestApp) {
        let base = amina_base(&app).await?;
        let team = format!("{base}/team");
        let mut gp = app.client().signed_in(GP).await?;
        assert_eq!(gp.get(&team).await?.status, StatusCode::NOT_FOUND, "no sharing, no team");
        let mut amina = app.client().signed_in(PERSON).await?;
        let org = organisations::find_by_name(&app.state.db, "Riverside Medical Practice").await?.context("practice")?.to_string();
        amina.submit("/sharing", "/sharing", &[("grantee", "organisation"), ("organisation", &org), ("sections", "record"), ("labels", "general"), ("access", "read")]).await?;
        let page = gp.get(&team).await?;
        assert!(page.contains("Ask to join"), "{}", page.body);
        assert_eq!(gp.get(&format!("{base}/plan")).await?.status, StatusCode::NOT_FOUND, "the record share does not cover the plan");
        let asked = gp.submit(&team, &format!("{team}/propose"), &[("role", "GP")]).await?;
        assert_eq!(asked.location(), Some(team.as_str()));
        assert!(!gp.get(&team).await?.contains("Ask to join"), "asked once");

        let page = amina.get(&team).await?;
        assert!(page.contains("Asked to join") && page.contains("Dr Sarah Patel"));
        let prefix = format!("{team}/");
        let accept = page
            .body
            .match_indices(&prefix)
            .filter_map(|(at, _)| attr(&page.body[at..], &prefix))
            .find(|l| l.ends_with("/accept"))
            .context("accept form")?;
        let done = amina.submit(&team, &accept, &[]).await?;
        assert_eq!(done.location(), Some(team.as_str()));
        assert!(!amina.get(&team).await?.contains("Asked to join"));
        assert_eq!(gp.get(&format!("{base}/plan")).await?.status, StatusCode::OK, "membership brings the plan");
        assert_eq!(gp.get(&format!("{base}/messages")).await?.status, StatusCode::OK, "and messages");
        // Another professional, with no sharing at all, cannot ask.
        let mut social_worker = app.client().signed_in("chris.murphy@carepact.example").await?;
        let home = social_worker.get("/").await?;
        let csrf = home.csrf().context("csrf")?;
        let refused = social_worker.post(&format!("{team}/propose"), &[("csrf_token", csrf.as_str()), ("role", "Social worker")]).await?;
        assert_eq!(refused.status, StatusCode::NOT_FOUND);
        Ok(())
    }
}
