//! The care and support plan through the pages, on both backends: the person writes, a professional they share the
//! plan with adds actions, both agree the same version, a later edit is "changed since agreed" and the comparison
//! shows it; edits from an old version are refused; nobody without consent sees or changes anything.

mod support;

use anyhow::Context;
use axum::http::StatusCode;
use carepact_store::organisations;
use support::*;

/// The plan version the form on `page` was started from.
fn version_on(page: &Page) -> anyhow::Result<String> {
    let body = &page.body;
    let at = body.find("name=\"version\" value=\"").context("version field")? + "name=\"version\" value=\"".len();
    Ok(body[at..].split('"').next().context("version value")?.to_owned())
}

/// Opens the edit form at `path` and submits `fields` with its CSRF token and version.
async fn edit(client: &mut Client, path: &str, fields: &[(&str, &str)]) -> anyhow::Result<Page> {
    let form = client.get(path).await?;
    anyhow::ensure!(form.status == StatusCode::OK, "{path}: {} {}", form.status, form.h1());
    let csrf = form.csrf().context("csrf")?;
    let version = version_on(&form)?;
    let mut all = vec![("csrf_token", csrf.as_str()), ("version", version.as_str())];
    all.extend_from_slice(fields);
    client.post(path, &all).await
}

/// The first link in `html` starting with `prefix`, up to its closing quote.
fn link(html: &str, prefix: &str) -> Option<String> {
    let start = html.find(prefix)?;
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

carepact_testkit::backend_tests! {
    fixture = app;

    async fn the_person_and_their_gp_write_and_agree_the_plan(app: TestApp) {
        let base = amina_base(&app).await?;
        let plan = format!("{base}/plan");
        let mut amina = app.client().signed_in(PERSON).await?;
        let mut gp = app.client().signed_in(GP).await?;
        assert_eq!(gp.get(&plan).await?.status, StatusCode::NOT_FOUND, "no consent, no plan");

        // Amina's plan was agreed with Nina Clarke, her named contact, a month ago (the demo world).
        let empty = amina.get(&plan).await?;
        assert!(empty.contains(">Agreed<"), "{}", empty.body);
        // Plans and goals imported from her GP record are there to read, not to change.
        let imported = link(&empty.body, &format!("{base}/timeline?kind=")).context("imported plans link")?;
        let history = amina.get(&imported.replace("&amp;", "&")).await?;
        assert_eq!(history.status, StatusCode::OK);
        assert!(history.contains("/items/"), "the GP record's CarePlan and Goal are listed");
        let saved = edit(&mut amina, &format!("{plan}/edit/about"), &[("about_me", "I live with my son Peter."), ("what_matters", "Seeing my grandchildren.")]).await?;
        assert_eq!(saved.location(), Some(format!("{plan}#about").as_str()));
        let goal = edit(&mut amina, &format!("{plan}/edit/goals"), &[("goal", "Walk to the park and back"), ("steps", "Start with the corner shop"), ("target_date_day", "1"), ("target_date_month", "6"), ("target_date_year", "2027")]).await?;
        assert_eq!(goal.status, StatusCode::SEE_OTHER);
        let bad = edit(&mut amina, &format!("{plan}/edit/goals"), &[("goal", ""), ("target_date_day", "31"), ("target_date_month", "2"), ("target_date_year", "2027")]).await?;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(bad.contains("Write something here") && bad.contains("Enter a real date"));
        let page = amina.get(&plan).await?;
        assert!(page.contains("Seeing my grandchildren.") && page.contains("Walk to the park and back") && page.contains("Changed since it was agreed"));

        // Amina shares her plan with the practice, read and write: the GP adds an action and a contingency plan.
        let org = organisations::find_by_name(&app.state.db, "Riverside Medical Practice").await?.context("practice")?.to_string();
        amina.submit("/sharing", "/sharing", &[("grantee", "organisation"), ("organisation", &org), ("sections", "care_plan"), ("labels", "general"), ("access", "write")]).await?;
        let seen = gp.get(&plan).await?;
        assert_eq!(seen.status, StatusCode::OK);
        assert!(seen.contains("Walk to the park and back"));
        // Her own new goal (the demo plan has goals of its own): its change link follows its words.
        let new_goal = seen.body.find("Walk to the park and back").context("new goal")?;
        let goal_id = link(&seen.body[new_goal..], &format!("{plan}/edit/goals/")).context("goal link")?.rsplit('/').next().context("id")?.to_owned();
        edit(&mut gp, &format!("{plan}/edit/actions"), &[("what", "Book a blood pressure check"), ("owner", "professional"), ("who", "Dr Patel"), ("status", "not_started"), ("goal_id", &goal_id)]).await?;
        edit(&mut gp, &format!("{plan}/edit/contingency"), &[("signs", "Chest pain or very breathless"), ("what_i_do", "Stop and sit down"), ("who_to_call", "The practice on 0121 000 0000"), ("out_of_hours", "Call 111, or 999 in an emergency")]).await?;
        let page = gp.get(&plan).await?;
        assert!(page.contains("Book a blood pressure check") && page.contains("Call 111, or 999 in an emergency"));

        // Both agree the same version.
        let agree = |page: &Page| -> anyhow::Result<Vec<(String, String)>> {
            Ok(vec![("csrf_token".into(), page.csrf().context("csrf")?), ("version".into(), version_on(page)?)])
        };
        let fields = agree(&page)?;
        let done = gp.post(&format!("{plan}/agree"), &fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect::<Vec<_>>()).await?;
        assert_eq!(done.location(), Some(plan.as_str()));
        assert!(gp.get(&plan).await?.contains("Changed since it was agreed"), "one side is not enough");
        let page = amina.get(&plan).await?;
        let fields = agree(&page)?;
        amina.post(&format!("{plan}/agree"), &fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect::<Vec<_>>()).await?;
        let agreed = amina.get(&plan).await?;
        assert!(agreed.contains("The plan is agreed by both of you.") && agreed.contains(">Agreed<"), "{}", agreed.body);
        assert!(!agreed.contains(&format!("{plan}/agree")), "nothing left to agree");

        // A later edit: changed since agreed, and the comparison shows what changed.
        let old_form = amina.get(&format!("{plan}/edit/goals/{goal_id}")).await?;
        edit(&mut amina, &format!("{plan}/edit/goals/{goal_id}"), &[("goal", "Walk to the big park and back"), ("steps", "Start with the corner shop"), ("target_date_day", "1"), ("target_date_month", "6"), ("target_date_year", "2027")]).await?;
        assert!(amina.get(&plan).await?.contains("Changed since it was agreed"));
        let versions = amina.get(&format!("{plan}/versions")).await?;
        assert!(versions.contains("Dr Sarah Patel") && versions.contains("Riverside Medical Practice"));
        let latest: i64 = version_on(&amina.get(&format!("{plan}/edit/about")).await?)?.parse()?;
        let compared = amina.get(&format!("{plan}/compare?from={}&to={latest}", latest - 1)).await?;
        assert!(compared.contains("1 part changed.") && compared.contains("<ins>big </ins>"), "{}", compared.body);

        // An edit started before that change is refused, with what was typed kept.
        let csrf = old_form.csrf().context("csrf")?;
        let stale = amina.post(&format!("{plan}/edit/goals/{goal_id}"), &[("csrf_token", csrf.as_str()), ("version", &version_on(&old_form)?), ("goal", "Swim once a week")]).await?;
        assert_eq!(stale.status, StatusCode::BAD_REQUEST);
        assert!(stale.contains("Someone else changed the plan") && stale.contains("Swim once a week"));

        // Progress with a goal-attainment rating; the person's review preparation shows to the GP.
        let progress = format!("{plan}/goals/{goal_id}/progress");
        let wrong = amina.submit(&progress, &progress, &[("note", "Walked halfway"), ("rating", "5")]).await?;
        assert!(wrong.contains("Choose how it is going"));
        let added = amina.submit(&progress, &progress, &[("note", "Walked halfway twice this week"), ("rating", "1")]).await?;
        assert_eq!(added.status, StatusCode::SEE_OTHER);
        amina.submit(&format!("{plan}/prepare"), &format!("{plan}/prepare"), &[("body", "My ankles swell in the evening.")]).await?;
        let page = gp.get(&plan).await?;
        assert!(page.contains("Walked halfway twice this week") && page.contains("More than expected (+1)"));
        assert!(page.contains("My ankles swell in the evening."));
        assert_eq!(gp.get(&format!("{plan}/prepare")).await?.status, StatusCode::NOT_FOUND, "only the person prepares");

        // A review date in the past: the plan says so, and the person is told once.
        edit(&mut amina, &format!("{plan}/edit/review"), &[("review_date_day", "1"), ("review_date_month", "11"), ("review_date_year", "2026")]).await?;
        assert!(amina.get(&plan).await?.contains("Review overdue"));
        assert_eq!(carepact_server::flag_overdue_reviews(&app.state).await?, 1);
        assert_eq!(carepact_server::flag_overdue_reviews(&app.state).await?, 0, "once per review date");
        assert!(amina.get("/notifications").await?.contains("A care plan review is due"));
        let export = amina.get(&format!("{base}/export.json")).await?;
        assert!(export.contains("\"resourceType\": \"CarePlan\"") && export.contains("Walk to the big park and back"));
        assert!(export.contains("\"resourceType\": \"Goal\"") && export.contains("\"code\": \"improving\""));
        Ok(())
    }

    async fn without_consent_the_plan_cannot_be_seen_or_changed(app: TestApp) {
        let base = amina_base(&app).await?;
        let plan = format!("{base}/plan");
        let mut amina = app.client().signed_in(PERSON).await?;
        edit(&mut amina, &format!("{plan}/edit/about"), &[("about_me", "Private words"), ("what_matters", "")]).await?;
        // A read-only share lets the GP read but not change or agree.
        let org = organisations::find_by_name(&app.state.db, "Riverside Medical Practice").await?.context("practice")?.to_string();
        let mut gp = app.client().signed_in(GP).await?;
        for path in [plan.clone(), format!("{plan}/versions"), format!("{plan}/edit/about"), format!("{plan}/print")] {
            assert_eq!(gp.get(&path).await?.status, StatusCode::NOT_FOUND, "{path}");
        }
        let home = gp.get("/").await?;
        let csrf = home.csrf().context("csrf")?;
        let posted = gp.post(&format!("{plan}/edit/about"), &[("csrf_token", csrf.as_str()), ("version", "1"), ("about_me", "Changed by the GP")]).await?;
        assert_eq!(posted.status, StatusCode::NOT_FOUND);
        amina.submit("/sharing", "/sharing", &[("grantee", "organisation"), ("organisation", &org), ("sections", "care_plan"), ("labels", "general"), ("access", "read")]).await?;
        let read = gp.get(&plan).await?;
        assert!(read.contains("Private words") && !read.contains(&format!("{plan}/edit/about")) && !read.contains(&format!("{plan}/agree")));
        assert_eq!(gp.get(&format!("{plan}/edit/about")).await?.status, StatusCode::NOT_FOUND);
        let posted = gp.post(&format!("{plan}/agree"), &[("csrf_token", csrf.as_str()), ("version", "1")]).await?;
        assert_eq!(posted.status, StatusCode::NOT_FOUND);
        assert!(amina.get(&plan).await?.contains("Private words"));
        Ok(())
    }
}
