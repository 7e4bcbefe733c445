//! Questionnaires through the pages, on both backends: no consent, no questionnaires; a PHQ-9 is checked, scored
//! and explained, and an answer of self-harm thoughts shows safety advice at once and raises an urgent alert for the
//! named contact; a professional asks for a questionnaire on a schedule and the person is reminded when it is due;
//! an organisation loads its own questionnaire, which its staff can then ask for.

mod support;

use anyhow::Context;
use axum::http::StatusCode;
use support::*;

const NINA: &str = "nina.clarke@carepact.example";
const NOT_AT_ALL: &str = "LA6568-5";
const SEVERAL_DAYS: &str = "LA6569-3";
const MORE_THAN_HALF: &str = "LA6570-1";

/// The link on `html` whose text is `text`: its href.
fn link_to(html: &str, text: &str) -> Option<String> {
    let at = html.find(&format!(">{text}</a>"))?;
    let start = html[..at].rfind("href=\"")? + "href=\"".len();
    Some(html[start..at].split('"').next()?.replace("&amp;", "&"))
}

carepact_testkit::backend_tests! {
    fixture = app;

    async fn a_phq9_with_thoughts_of_self_harm_shows_safety_advice_and_alerts_the_named_contact(app: TestApp) {
        let base = amina_base(&app).await?;
        let list_path = format!("{base}/questionnaires");
        let mut gp = app.client().signed_in(GP).await?;
        assert_eq!(gp.get(&list_path).await?.status, StatusCode::NOT_FOUND, "no consent, no questionnaires");

        let mut amina = app.client().signed_in(PERSON).await?;
        let list = amina.get(&list_path).await?;
        assert!(list.contains("Confidence managing your health (SEMCD-6)") && list.contains("<svg"), "her demo answers are charted");
        assert!(list.contains("Personal wellbeing (ONS4)") && list.contains("Asked by Nina Clarke."), "{}", list.body);
        let phq9 = link_to(&list.body, "Patient Health Questionnaire (PHQ-9)")
            .or_else(|| link_to(&list.body, "Mood (PHQ-9)"))
            .context("PHQ-9 link")?;

        // Unanswered questions are named; the optional one is not.
        let form = amina.get(&phq9).await?;
        assert!(form.contains("Over the last 2 weeks") || form.contains("little interest"), "{}", form.body);
        let missing = amina.submit(&phq9, &phq9, &[("phq9-1", SEVERAL_DAYS)]).await?;
        assert_eq!(missing.status, StatusCode::BAD_REQUEST);
        assert_eq!(missing.body.matches("Answer this question").count(), 8 * 2, "8 unanswered, in the summary and by each");

        // Item 9 above 0: safety advice at once, whatever the total.
        let mut answers: Vec<(String, String)> = (1..=8).map(|i| (format!("phq9-{i}"), NOT_AT_ALL.to_owned())).collect();
        answers[0].1 = MORE_THAN_HALF.to_owned();
        answers.push(("phq9-9".into(), SEVERAL_DAYS.into()));
        let fields: Vec<(&str, &str)> = answers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let saved = amina.submit(&phq9, &phq9, &fields).await?;
        let result = saved.location().context("result")?.to_owned();
        let page = amina.get(&result).await?;
        assert!(page.contains("You said you have had thoughts of hurting yourself") && page.contains("116 123"), "{}", page.body);
        assert!(page.contains("Total: 3 out of 27 (none or minimal)"), "{}", page.body);

        // The named contact has an urgent alert that links to the answers.
        let mut nina = app.client().signed_in(NINA).await?;
        let alerts = nina.get("/alerts").await?;
        assert!(alerts.contains("Amina Khan") && alerts.contains("Urgent") && alerts.contains("Mood (PHQ-9)"), "{}", alerts.body);
        let alert = link_to(&alerts.body, "Amina Khan").context("alert link")?;
        let alert_page = nina.get(&alert).await?;
        assert!(alert_page.contains(&result), "the alert links to the answers");
        assert!(nina.get(&result).await?.contains("Thoughts of self-harm were reported"));
        Ok(())
    }

    async fn a_professional_asks_for_a_questionnaire_every_four_weeks_and_the_person_is_reminded(app: TestApp) {
        let base = amina_base(&app).await?;
        let list_path = format!("{base}/questionnaires");
        let mut nina = app.client().signed_in(NINA).await?;
        let page = nina.get(&list_path).await?;
        let gad7 = page
            .body
            .split("<option value=\"")
            .find(|o| o.contains("GAD-7"))
            .and_then(|o| o.split('"').next())
            .context("GAD-7 option")?
            .to_owned();
        let bad = nina.submit(&list_path, &format!("{list_path}/assign"), &[("questionnaire", &gad7), ("every", "99")]).await?;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(bad.contains("from 1 to 52"));
        let asked = nina.submit(&list_path, &format!("{list_path}/assign"), &[("questionnaire", &gad7), ("every", "4")]).await?;
        assert_eq!(asked.location(), Some(list_path.as_str()));

        let mut amina = app.client().signed_in(PERSON).await?;
        let list = amina.get(&list_path).await?;
        assert!(list.contains("due now") && list.contains("Every 28 days."), "{}", list.body);
        assert!(carepact_server::remind_questionnaires(&app.state).await? >= 1, "hers, and David's from the demo");
        assert_eq!(carepact_server::remind_questionnaires(&app.state).await?, 0, "reminded once for each due date");
        assert!(amina.get("/notifications").await?.contains("A questionnaire is ready for you to fill in"));

        let answer = list
            .body
            .split("href=\"")
            .find(|h| h.contains("/answer?assignment="))
            .and_then(|h| h.split('"').next())
            .context("assignment link")?
            .replace("&amp;", "&");
        let fields: Vec<(String, String)> = (1..=7).map(|i| (format!("gad7-{i}"), SEVERAL_DAYS.to_owned())).collect();
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let saved = amina.submit(&answer, &answer, &fields).await?;
        let result = saved.location().context("result")?.to_owned();
        assert!(amina.get(&result).await?.contains("Total: 7 out of 21 (mild)"));
        let list = amina.get(&list_path).await?;
        assert!(!list.contains("due now"), "answered: next due in 4 weeks");

        // Four weeks on, it is due again and she is reminded again.
        app.advance(time::Duration::days(29));
        assert!(carepact_server::remind_questionnaires(&app.state).await? >= 1);
        Ok(())
    }

    async fn an_organisation_loads_its_own_questionnaire(app: TestApp) {
        let mut admin = app.client().signed_in(ORG_ADMIN).await?;
        let home = admin.get("/").await?;
        let org_link = home.body.split("href=\"/organisations/").nth(1).and_then(|s| s.split('"').next()).context("organisation link")?.to_owned();
        let page = format!("/organisations/{org_link}/questionnaires");
        assert_eq!(admin.get(&page).await?.status, StatusCode::OK);
        let not_json = admin.submit(&page, &page, &[("json", "this is not json")]).await?;
        assert_eq!(not_json.status, StatusCode::BAD_REQUEST);
        assert!(not_json.contains("this is not JSON"));
        let broken = r#"{"resourceType":"Questionnaire","url":"https://riverside.example/q/feet","status":"active","title":"Foot check","item":[{"text":"No link id","type":"boolean"}]}"#;
        let refused = admin.submit(&page, &page, &[("json", broken)]).await?;
        assert!(refused.contains("Problems with the questionnaire") && refused.contains("item[0]"), "{}", refused.body);
        let good = r#"{"resourceType":"Questionnaire","url":"https://riverside.example/q/feet","version":"1","status":"active","title":"Foot check","item":[{"linkId":"sore","text":"Do you have any sores on your feet?","type":"boolean","required":true},{"linkId":"where","text":"Where are they?","type":"string","enableWhen":[{"question":"sore","operator":"=","answerBoolean":true}]}]}"#;
        let loaded = admin.submit(&page, &page, &[("json", good)]).await?;
        assert_eq!(loaded.location(), Some(page.as_str()), "{}", loaded.body);
        assert!(admin.get(&page).await?.contains("Foot check"));
        let again = admin.submit(&page, &page, &[("json", good)]).await?;
        assert!(again.contains("already loaded"));

        // A practice nurse at that organisation can ask Amina to fill it in; she answers.
        let base = amina_base(&app).await?;
        let list_path = format!("{base}/questionnaires");
        let mut nina = app.client().signed_in(NINA).await?;
        let list = nina.get(&list_path).await?;
        let feet = list.body.split("<option value=\"").find(|o| o.contains("Foot check")).and_then(|o| o.split('"').next()).context("Foot check option")?.to_owned();
        nina.submit(&list_path, &format!("{list_path}/assign"), &[("questionnaire", &feet), ("every", "")]).await?;
        let mut amina = app.client().signed_in(PERSON).await?;
        let mine = amina.get(&list_path).await?;
        let asked = mine.body.matches("/answer?assignment=").count();
        let answer = link_to(&mine.body, "Foot check").context("answer link")?;
        let missing = amina.submit(&answer, &answer, &[]).await?;
        assert!(missing.contains("Answer this question"));
        let saved = amina.submit(&answer, &answer, &[("sore", "true"), ("where", "Left heel")]).await?;
        let result = saved.location().context("result")?.to_owned();
        let shown = amina.get(&result).await?;
        assert!(shown.contains("Left heel") && shown.contains("Yes"));
        let after = amina.get(&list_path).await?;
        assert_eq!(after.body.matches("/answer?assignment=").count(), asked - 1, "a one-off ends once answered");
        Ok(())
    }
}
