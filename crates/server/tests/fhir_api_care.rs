//! The person's care, sharing and answers through the FHIR R4 API, on both backends: Amina's CarePlan (read,
//! search, vread and history over its versions), Goals and CareTeam (Nina Clarke the named contact); her
//! conversation as Communications; her Consents and access log (AuditEvent), read only; Questionnaires and her
//! QuestionnaireResponses, including a PHQ-9 created through the API that raises the urgent alert the page raises,
//! and invalid answers refused with every problem; search parameters and paging with `next` links; scopes obeyed
//! (403); another person's ids "not found"; the app named in her access log.

mod support;

use anyhow::Context;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use carepact_domain::care_plan::PlanDoc;
use carepact_domain::consent::{Action, Request as Ask, Section, Sensitivity};
use carepact_domain::identity::PersonId;
use serde_json::{Value, json};
use support::*;

const NINA: &str = "nina.clarke@carepact.example";
const DAVID: &str = "david@carepact.example";
const PHQ9: &str = "https://carepact.example/fhir/Questionnaire/phq-9";
const ONS4: &str = "https://carepact.example/fhir/Questionnaire/ons4";

/// Every scope this module's types need, for reading and searching (and creating answers).
const ALL: [&str; 9] = [
    "launch/patient",
    "patient/CarePlan.rs",
    "patient/Goal.rs",
    "patient/CareTeam.rs",
    "patient/Communication.rs",
    "patient/Consent.rs",
    "patient/AuditEvent.rs",
    "patient/QuestionnaireResponse.crs",
    "patient/Questionnaire.rs",
];

/// A token for `email`'s own record from a registered app with these scopes.
async fn token_of(app: &TestApp, email: &str, scopes: &[&str]) -> anyhow::Result<(String, PersonId)> {
    let (token, person, _) = app_token(app, email, email, scopes).await?;
    Ok((token, person))
}

/// A token for Amina from a registered app with these scopes.
async fn token(app: &TestApp, scopes: &[&str]) -> anyhow::Result<(String, PersonId)> {
    token_of(app, PERSON, scopes).await
}

async fn send(app: &TestApp, method: &str, path: &str, token: &str, body: Option<&Value>) -> anyhow::Result<Page> {
    fhir_request(app, method, path, Some(token), body, &[]).await
}

async fn get(app: &TestApp, path: &str, token: &str) -> anyhow::Result<(StatusCode, Value)> {
    let page = send(app, "GET", path, token, None).await?;
    Ok((page.status, page.json()))
}

async fn post(
    app: &TestApp,
    path: &str,
    token: &str,
    body: &Value,
) -> anyhow::Result<(StatusCode, Option<String>, Value)> {
    let page = send(app, "POST", path, token, Some(body)).await?;
    let location = page.location().map(str::to_owned);
    Ok((page.status, location, page.json()))
}

fn entries(bundle: &Value) -> Vec<Value> {
    bundle["entry"].as_array().cloned().unwrap_or_default()
}

fn resources(bundle: &Value) -> Vec<Value> {
    entries(bundle).into_iter().map(|e| e["resource"].clone()).collect()
}

fn ids(bundle: &Value) -> Vec<String> {
    resources(bundle)
        .iter()
        .filter_map(|r| r["id"].as_str().map(str::to_owned))
        .collect()
}

/// The path of the bundle's `next` link, if it has one.
fn next(bundle: &Value) -> Option<String> {
    let url = bundle["link"].as_array()?.iter().find(|l| l["relation"] == "next")?["url"]
        .as_str()?
        .to_owned();
    Some(url[url.find("/fhir/r4/")?..].to_owned())
}

/// The id of the first resource a search finds.
async fn first_id(app: &TestApp, path: &str, token: &str) -> anyhow::Result<String> {
    let (status, bundle) = get(app, path, token).await?;
    anyhow::ensure!(status == StatusCode::OK, "{path}: {bundle}");
    ids(&bundle)
        .into_iter()
        .next()
        .with_context(|| format!("{path} found nothing"))
}

/// Every page of a search, following `next` links: the ids in order, and how many pages there were.
async fn every_page(app: &TestApp, path: &str, token: &str) -> anyhow::Result<(Vec<String>, usize)> {
    let mut path = Some(path.to_owned());
    let (mut found, mut pages) = (Vec::new(), 0);
    while let Some(p) = path {
        let (status, page) = get(app, &p, token).await?;
        anyhow::ensure!(status == StatusCode::OK, "{p}: {page}");
        found.extend(ids(&page));
        pages += 1;
        anyhow::ensure!(pages < 100, "too many pages");
        path = next(&page);
    }
    Ok((found, pages))
}

fn not_found(status: StatusCode, outcome: &Value) -> bool {
    status == StatusCode::NOT_FOUND
        && outcome["resourceType"] == "OperationOutcome"
        && outcome["issue"][0]["code"] == "not-found"
}

/// Saves a second version of Amina's plan (what matters to her changes), as CarePact's operator would.
async fn change_plan(app: &TestApp, person: PersonId) -> anyhow::Result<i64> {
    let request = Ask {
        section: Section::CarePlan,
        label: Sensitivity::General,
        action: Action::Write,
    };
    let grant = carepact_store::access::authorize_operator(
        &app.state.db,
        &app.state.audit,
        person,
        request,
        "test",
        app.state.now(),
    )
    .await?
    .map_err(|_| anyhow::anyhow!("operator refused"))?;
    let plan = carepact_store::care_plan::get(&app.state.db, &grant)
        .await?
        .map_err(|_| anyhow::anyhow!("refused"))?
        .context("her plan")?;
    let doc = PlanDoc {
        what_matters: "Keeping up with my grandchildren, and dancing at my niece's wedding.".into(),
        ..plan.latest.doc.clone()
    };
    let author = carepact_store::care_plan::Author {
        role: "person",
        organisation: None,
    };
    carepact_store::care_plan::save(
        &app.state.db,
        &grant,
        plan.latest.number,
        &doc,
        &author,
        app.state.now(),
    )
    .await?
    .map_err(|e| anyhow::anyhow!("{e:?}"))
}

/// A completed PHQ-9 from Amina: every item "not at all" but item 9, which is `item9`.
fn phq9(person: PersonId, item9: &str) -> Value {
    let answer = |link: &str, code: &str| json!({"linkId": link, "answer": [{"valueCoding": {"system": "http://loinc.org", "code": code}}]});
    let mut items: Vec<Value> = (1..=8).map(|i| answer(&format!("phq9-{i}"), "LA6568-5")).collect();
    items.push(answer("phq9-9", item9));
    json!({
        "resourceType": "QuestionnaireResponse",
        "questionnaire": PHQ9,
        "status": "completed",
        "subject": {"reference": format!("Patient/{}", person.0)},
        "item": items
    })
}

carepact_testkit::backend_tests! {
    fixture = app;

    async fn an_app_reads_and_searches_her_plan_goals_and_team(app: TestApp) {
        let (t, person) = token(&app, &ALL).await?;
        let me = format!("Patient/{}", person.0);

        // Her one plan: agreed, with its version, searchable by patient, status, category and review date.
        let (status, plans) = get(&app, &format!("/fhir/r4/CarePlan?patient={}", person.0), &t).await?;
        assert_eq!(status, StatusCode::OK, "{plans}");
        assert_eq!((plans["type"].as_str(), plans["total"].as_i64()), (Some("searchset"), Some(1)), "{plans}");
        let plan = &resources(&plans)[0];
        assert_eq!(plan["subject"]["reference"], me.as_str());
        assert_eq!(plan["status"], "active", "agreed by both sides");
        assert_eq!(plan["meta"]["versionId"], "1");
        assert!(plan["meta"]["lastUpdated"].is_string());
        assert_eq!(plan["description"], "Keeping up with my grandchildren, and not needing insulin.");
        let plan_id = plan["id"].as_str().context("plan id")?.to_owned();
        for query in ["subject=Patient/{me}", "status=active", "category=http://snomed.info/sct|734163000", "category=734163000", "category=http://snomed.info/sct|", "date=ge2027-01-01", "_lastUpdated=lt2026-11-23", "_id={plan}"] {
            let query = query.replace("{me}", &person.0.to_string()).replace("{plan}", &plan_id);
            let (status, found) = get(&app, &format!("/fhir/r4/CarePlan?{query}"), &t).await?;
            assert_eq!((status, ids(&found)), (StatusCode::OK, vec![plan_id.clone()]), "{query}: {found}");
        }
        for query in ["status=draft", "category=http://loinc.org|734163000", "date=lt2026-11-23", "_lastUpdated=ge2026-11-01", "patient=Patient/0190a4f8-0000-7000-8000-000000000000"] {
            let (status, found) = get(&app, &format!("/fhir/r4/CarePlan?{query}"), &t).await?;
            assert_eq!((status, found["total"].as_i64()), (StatusCode::OK, Some(0)), "{query}: {found}");
            assert!(found["entry"].is_null(), "{query}: {found}");
        }
        let (status, one) = get(&app, &format!("/fhir/r4/CarePlan/{plan_id}"), &t).await?;
        assert_eq!(status, StatusCode::OK, "{one}");
        assert_eq!(&one, plan, "a read gives what the search gives");

        // Unknown parameters, bad dates and bad sorts are named.
        let (status, bad) = get(&app, "/fhir/r4/CarePlan?colour=red&date=soon&_sort=title&_count=5000", &t).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        let said: Vec<&str> = bad["issue"].as_array().context("issues")?.iter().filter_map(|i| i["diagnostics"].as_str()).collect();
        assert_eq!(said.len(), 4, "{bad}");
        assert!(said[0].starts_with("colour:") && said[1].starts_with("date:") && said[2].starts_with("_sort:") && said[3].starts_with("_count:"), "{said:?}");

        // Her two goals, in the plan's order, each pointing back at her; the plan refers to them.
        let (status, goals) = get(&app, "/fhir/r4/Goal", &t).await?;
        assert_eq!(status, StatusCode::OK, "{goals}");
        let goal_ids = ids(&goals);
        assert_eq!(goal_ids.len(), 2, "{goals}");
        assert_eq!(goals["entry"][0]["resource"]["description"]["text"], "Walk to the shop and back instead of taking the car");
        let referenced: Vec<String> = plan["goal"].as_array().context("plan goals")?.iter().filter_map(|g| g["reference"].as_str().map(str::to_owned)).collect();
        assert_eq!(referenced, goal_ids.iter().map(|g| format!("Goal/{g}")).collect::<Vec<_>>());
        for g in resources(&goals) {
            assert_eq!(g["subject"]["reference"], me.as_str());
            assert_eq!(g["meta"]["versionId"], "1", "the plan's version");
        }
        let (_, active) = get(&app, "/fhir/r4/Goal?lifecycle-status=active&target-date=ge2026-12-01&_sort=-target-date", &t).await?;
        assert_eq!(ids(&active).len(), 2, "{active}");
        let (_, none) = get(&app, "/fhir/r4/Goal?date=lt2026-11-01", &t).await?;
        assert_eq!(none["total"], 0, "{none}");
        let (_, by_id) = get(&app, &format!("/fhir/r4/Goal?_id={}", goal_ids[1]), &t).await?;
        assert_eq!(ids(&by_id), [goal_ids[1].clone()]);
        let (status, goal) = get(&app, &format!("/fhir/r4/Goal/{}", goal_ids[1]), &t).await?;
        assert_eq!((status, goal["description"]["text"].as_str()), (StatusCode::OK, Some("Bring my sugar down without more tablets")), "{goal}");

        // Her care team: Nina Clarke, her named contact.
        let (status, teams) = get(&app, "/fhir/r4/CareTeam?status=active", &t).await?;
        assert_eq!((status, ids(&teams).len()), (StatusCode::OK, 1), "{teams}");
        let team = &resources(&teams)[0];
        assert_eq!(team["subject"]["reference"], me.as_str());
        assert_eq!(team["meta"]["versionId"], "1");
        let nina = team["participant"].as_array().context("participants")?.iter().find(|p| p["member"]["display"] == "Nina Clarke").context("Nina")?.clone();
        let roles: Vec<&str> = nina["role"].as_array().context("roles")?.iter().filter_map(|r| r["text"].as_str()).collect();
        assert_eq!(roles, ["Long-term conditions nurse", "Named contact"]);
        let team_id = team["id"].as_str().context("team id")?;
        let (status, read) = get(&app, &format!("/fhir/r4/CareTeam/{team_id}"), &t).await?;
        assert_eq!((status, &read), (StatusCode::OK, team));
        let (status, outcome) = get(&app, "/fhir/r4/CareTeam?_lastUpdated=ge2026-01-01", &t).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST, "a team has no lastUpdated to search: {outcome}");

        // The CapabilityStatement lists each type with what it supports.
        let (_, cap) = get(&app, "/fhir/r4/metadata", &t).await?;
        let listed = cap["rest"][0]["resource"].as_array().context("resources")?;
        let of = |name: &str| listed.iter().find(|r| r["type"] == name).cloned().unwrap_or(Value::Null);
        let codes = |r: &Value| -> Vec<String> { r["interaction"].as_array().map(|i| i.iter().filter_map(|x| x["code"].as_str().map(str::to_owned)).collect()).unwrap_or_default() };
        assert_eq!(codes(&of("CarePlan")), ["read", "vread", "search-type", "history-instance"]);
        assert_eq!(codes(&of("QuestionnaireResponse")), ["read", "search-type", "create"]);
        for name in ["Goal", "CareTeam", "Communication", "Consent", "AuditEvent", "Questionnaire"] {
            assert_eq!(codes(&of(name)), ["read", "search-type"], "{name}");
        }
        let params = |r: &Value| -> Vec<String> { r["searchParam"].as_array().map(|p| p.iter().filter_map(|x| x["name"].as_str().map(str::to_owned)).collect()).unwrap_or_default() };
        assert!(params(&of("Communication")).contains(&"sent".to_owned()));
        assert!(!params(&of("Consent")).contains(&"subject".to_owned()));
        Ok(())
    }

    async fn the_care_plan_keeps_every_version(app: TestApp) {
        let (t, person) = token(&app, &ALL).await?;
        let plan_id = first_id(&app, "/fhir/r4/CarePlan", &t).await?;
        app.advance(time::Duration::minutes(10));
        assert_eq!(change_plan(&app, person).await?, 2);

        // The latest: version 2, changed since both sides agreed version 1 (so still active).
        let (_, now) = get(&app, &format!("/fhir/r4/CarePlan/{plan_id}"), &t).await?;
        assert_eq!(now["meta"]["versionId"], "2", "{now}");
        assert_eq!(now["description"], "Keeping up with my grandchildren, and dancing at my niece's wedding.");
        let (_, goals) = get(&app, "/fhir/r4/Goal", &t).await?;
        assert!(resources(&goals).iter().all(|g| g["meta"]["versionId"] == "2"), "{goals}");

        // Each version as it was.
        let (status, first) = get(&app, &format!("/fhir/r4/CarePlan/{plan_id}/_history/1"), &t).await?;
        assert_eq!(status, StatusCode::OK, "{first}");
        assert_eq!((first["meta"]["versionId"].as_str(), first["status"].as_str()), (Some("1"), Some("active")));
        assert_eq!(first["description"], "Keeping up with my grandchildren, and not needing insulin.");
        let (_, second) = get(&app, &format!("/fhir/r4/CarePlan/{plan_id}/_history/2"), &t).await?;
        assert_eq!(second, now, "the latest version read and vread alike");
        for missing in ["3", "0", "latest"] {
            let (status, outcome) = get(&app, &format!("/fhir/r4/CarePlan/{plan_id}/_history/{missing}"), &t).await?;
            assert!(not_found(status, &outcome), "{missing}: {outcome}");
        }

        // The history: newest first, with how each version came.
        let (status, history) = get(&app, &format!("/fhir/r4/CarePlan/{plan_id}/_history"), &t).await?;
        assert_eq!(status, StatusCode::OK, "{history}");
        assert_eq!((history["type"].as_str(), history["total"].as_i64()), (Some("history"), Some(2)), "{history}");
        let versions: Vec<String> = entries(&history).iter().filter_map(|e| e["resource"]["meta"]["versionId"].as_str().map(str::to_owned)).collect();
        assert_eq!(versions, ["2", "1"]);
        assert_eq!(history["entry"][0]["request"], json!({"method": "PUT", "url": format!("CarePlan/{plan_id}")}));
        assert_eq!(history["entry"][1]["request"], json!({"method": "POST", "url": "CarePlan"}));
        assert_eq!(history["entry"][1]["response"]["etag"], "W/\"1\"");
        assert_eq!(history["entry"][1]["resource"], first);

        // Paged one version at a time, and since a moment.
        let (_, page) = get(&app, &format!("/fhir/r4/CarePlan/{plan_id}/_history?_count=1"), &t).await?;
        assert_eq!(entries(&page).len(), 1);
        let (_, rest) = get(&app, &next(&page).context("next")?, &t).await?;
        assert_eq!(rest["entry"][0]["resource"]["meta"]["versionId"], "1", "{rest}");
        assert!(next(&rest).is_none());
        let since = (app.state.now() - time::Duration::minutes(5)).format(&time::format_description::well_known::Rfc3339)?;
        let (_, recent) = get(&app, &format!("/fhir/r4/CarePlan/{plan_id}/_history?_since={since}"), &t).await?;
        assert_eq!(recent["total"], 1, "{recent}");
        let (status, _) = get(&app, &format!("/fhir/r4/CarePlan/{plan_id}/_history?_at=2026"), &t).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        // Anyone else's plan, or none, has no history here.
        let (david, _) = token_of(&app, DAVID, &ALL).await?;
        let his = first_id(&app, "/fhir/r4/CarePlan", &david).await?;
        for path in [format!("/fhir/r4/CarePlan/{his}/_history"), format!("/fhir/r4/CarePlan/{his}/_history/1"), format!("/fhir/r4/CarePlan/{}/_history", uuid::Uuid::now_v7()), "/fhir/r4/CarePlan/plan/_history".into()] {
            let (status, outcome) = get(&app, &path, &t).await?;
            assert!(not_found(status, &outcome), "{path}: {outcome}");
        }
        Ok(())
    }

    async fn her_messages_sharing_and_access_log_are_read_only_resources(app: TestApp) {
        let (t, person) = token(&app, &ALL).await?;
        let me = format!("Patient/{}", person.0);

        // Her conversation with Nina: her question, then Nina's answer to it.
        let (status, talk) = get(&app, "/fhir/r4/Communication?_sort=date", &t).await?;
        assert_eq!(status, StatusCode::OK, "{talk}");
        let messages = resources(&talk);
        assert_eq!(messages.len(), 2, "{talk}");
        assert_eq!(messages[0]["sender"]["reference"], me.as_str());
        assert_eq!(messages[1]["recipient"][0]["reference"], me.as_str());
        assert_eq!(messages[1]["inResponseTo"][0]["reference"], format!("Communication/{}", messages[0]["id"].as_str().unwrap_or("")));
        assert_eq!(messages[1]["meta"]["lastUpdated"], messages[1]["sent"]);
        let (_, newest) = get(&app, "/fhir/r4/Communication", &t).await?;
        assert_eq!(ids(&newest), ids(&talk).into_iter().rev().collect::<Vec<_>>(), "newest first by default");
        let thread = messages[0]["identifier"][0]["value"].as_str().context("thread")?;
        let (_, by_thread) = get(&app, &format!("/fhir/r4/Communication?identifier=urn:carepact:message-thread|{thread}&status=completed"), &t).await?;
        assert_eq!(by_thread["total"], 2);
        let answered = messages[1]["sent"].as_str().context("sent")?;
        let (_, since) = get(&app, &format!("/fhir/r4/Communication?sent=ge{answered}"), &t).await?;
        assert_eq!(ids(&since), [messages[1]["id"].as_str().unwrap_or("").to_owned()]);
        let (status, one) = get(&app, &format!("/fhir/r4/Communication/{}", messages[0]["id"].as_str().unwrap_or("")), &t).await?;
        assert_eq!((status, &one), (StatusCode::OK, &messages[0]));

        // Her sharing: Nina's consent, active, with its category.
        let (status, consents) = get(&app, "/fhir/r4/Consent?status=active&category=http://loinc.org|59284-0", &t).await?;
        assert_eq!(status, StatusCode::OK, "{consents}");
        let nina = resources(&consents).into_iter().find(|c| c["provision"]["actor"][0]["reference"]["display"] == "Nina Clarke").context("Nina's consent")?;
        assert_eq!((nina["patient"]["reference"].as_str(), nina["meta"]["versionId"].as_str()), (Some(me.as_str()), Some("1")));
        let (status, read) = get(&app, &format!("/fhir/r4/Consent/{}", nina["id"].as_str().unwrap_or("")), &t).await?;
        assert_eq!((status, read), (StatusCode::OK, nina));
        let (_, stopped) = get(&app, "/fhir/r4/Consent?status=inactive", &t).await?;
        assert_eq!(stopped["total"], 0);
        let (status, _) = get(&app, &format!("/fhir/r4/Consent?subject={me}"), &t).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST, "Consent names its person as patient");

        // Her access log: newest first, this very search at the top, the app named; paged with next links.
        let (status, log) = get(&app, "/fhir/r4/AuditEvent?_count=5", &t).await?;
        assert_eq!(status, StatusCode::OK, "{log}");
        let total = log["total"].as_i64().context("total")?;
        assert!(total > 10, "{log}");
        let top = &log["entry"][0]["resource"];
        assert_eq!((top["action"].as_str(), top["outcome"].as_str()), (Some("R"), Some("0")), "{top}");
        assert!(top["agent"].as_array().context("agents")?.iter().any(|a| a["who"]["display"].as_str().is_some_and(|w| w.starts_with("app:"))), "{top}");
        assert_eq!(top["meta"]["lastUpdated"], top["recorded"]);
        assert!(top["meta"]["profile"].is_array(), "the BALP profile is kept");
        let (every, pages) = every_page(&app, "/fhir/r4/AuditEvent?_count=5&_sort=date", &t).await?;
        assert!(every.len() as i64 > total && pages as i64 >= total / 5, "each page is itself in the log: {} of {total}", every.len());
        let unique: std::collections::BTreeSet<&String> = every.iter().collect();
        assert_eq!(unique.len(), every.len(), "no event twice");
        let (status, today) = get(&app, &format!("/fhir/r4/AuditEvent?date=2026-11-23&action=R&outcome=0&patient={}", person.0), &t).await?;
        assert_eq!(status, StatusCode::OK, "{today}");
        assert!(resources(&today).iter().all(|e| e["recorded"].as_str().is_some_and(|r| r.starts_with("2026-11-23")) && e["action"] == "R"), "{today}");
        assert!(today["total"].as_i64().is_some_and(|n| n >= 3), "{today}");
        let (_, before) = get(&app, "/fhir/r4/AuditEvent?date=lt2000-01-01", &t).await?;
        assert_eq!(before["total"], 0);
        let event = top["id"].as_str().context("event id")?;
        let (status, read) = get(&app, &format!("/fhir/r4/AuditEvent/{event}"), &t).await?;
        assert_eq!((status, &read["id"]), (StatusCode::OK, &top["id"]), "{read}");

        // Read only: nothing can be written, whatever the scopes say.
        for (path, body) in [("/fhir/r4/AuditEvent", top.clone()), ("/fhir/r4/Consent", nina_body(&read))] {
            let page = send(&app, "POST", path, &t, Some(&body)).await?;
            assert!(!page.status.is_success(), "{path}: {}", page.status);
        }

        // Her access log on the pages names the app that read her plan, sharing and log.
        let mut amina = app.client().signed_in(PERSON).await?;
        let page = amina.get("/access-log").await?;
        assert!(page.contains("Amina Khan, through the app “Pressure Diary”"), "{}", page.body);

        // Only the person sees her sharing and her log: not her named contact, even with her app.
        let (nina_token, _, _) = app_token(&app, NINA, PERSON, &ALL).await?;
        let (status, plans) = get(&app, "/fhir/r4/CarePlan", &nina_token).await?;
        assert_eq!((status, plans["total"].as_i64()), (StatusCode::OK, Some(1)), "the plan is shared with her: {plans}");
        for path in ["/fhir/r4/Consent".to_owned(), "/fhir/r4/AuditEvent".to_owned(), format!("/fhir/r4/AuditEvent/{event}")] {
            let (status, outcome) = get(&app, &path, &nina_token).await?;
            assert!(not_found(status, &outcome), "{path}: {outcome}");
        }
        Ok(())
    }

    async fn questionnaires_and_her_answers(app: TestApp) {
        let (t, person) = token(&app, &ALL).await?;
        let me = format!("Patient/{}", person.0);

        // The five built-in definitions, searchable; no consent needed but a token is.
        let (status, all) = get(&app, "/fhir/r4/Questionnaire", &t).await?;
        assert_eq!((status, all["total"].as_i64()), (StatusCode::OK, Some(5)), "{all}");
        let (_, phq) = get(&app, &format!("/fhir/r4/Questionnaire?url={PHQ9}&status=active"), &t).await?;
        assert_eq!(resources(&phq).len(), 1, "{phq}");
        let phq_def = &resources(&phq)[0];
        assert_eq!((phq_def["meta"]["versionId"].as_str(), phq_def["url"].as_str()), (Some("1"), Some(PHQ9)));
        for query in [format!("url={PHQ9}|1"), "title=patient%20health".into(), "title:contains=PHQ-9".into(), "name=phq9".into(), "name:exact=PHQ9".into()] {
            let (_, found) = get(&app, &format!("/fhir/r4/Questionnaire?{query}"), &t).await?;
            assert_eq!(ids(&found), ids(&phq), "{query}: {found}");
        }
        let (_, none) = get(&app, &format!("/fhir/r4/Questionnaire?url={PHQ9}|2"), &t).await?;
        assert_eq!(none["total"], 0);
        let (_, paged) = get(&app, "/fhir/r4/Questionnaire?_count=2&_offset=4", &t).await?;
        assert_eq!((ids(&paged).len(), next(&paged)), (1, None), "{paged}");
        let (status, read) = get(&app, &format!("/fhir/r4/Questionnaire/{}", ids(&phq)[0]), &t).await?;
        assert_eq!((status, &read), (StatusCode::OK, phq_def));
        let (status, outcome) = get(&app, "/fhir/r4/Questionnaire/phq-9", &t).await?;
        assert!(not_found(status, &outcome));
        let (status, _) = get(&app, "/fhir/r4/Questionnaire?publisher=CarePact", &t).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let page = app.client().send(Request::get("/fhir/r4/Questionnaire").header(header::HOST, "127.0.0.1:8080").body(Body::empty())?).await?;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);

        // Her six answers from the demo, newest first, by questionnaire and date, paged.
        let (status, answers) = get(&app, &format!("/fhir/r4/QuestionnaireResponse?subject={me}"), &t).await?;
        assert_eq!((status, answers["total"].as_i64()), (StatusCode::OK, Some(6)), "{answers}");
        let dates: Vec<String> = resources(&answers).iter().filter_map(|r| r["authored"].as_str().map(str::to_owned)).collect();
        assert!(dates.windows(2).all(|w| w[0] >= w[1]), "{dates:?}");
        let (_, ons4) = get(&app, &format!("/fhir/r4/QuestionnaireResponse?questionnaire={ONS4}"), &t).await?;
        assert_eq!(ons4["total"], 2, "{ons4}");
        let (_, recent) = get(&app, "/fhir/r4/QuestionnaireResponse?authored=ge2026-10-01&status=completed", &t).await?;
        let (_, old) = get(&app, "/fhir/r4/QuestionnaireResponse?date=lt2026-10-01", &t).await?;
        assert_eq!(recent["total"].as_i64().unwrap_or(0) + old["total"].as_i64().unwrap_or(0), 6);
        let (every, pages) = every_page(&app, "/fhir/r4/QuestionnaireResponse?_count=4", &t).await?;
        assert_eq!((every, pages), (ids(&answers), 2));
        let first = &resources(&answers)[0];
        let (status, read) = get(&app, &format!("/fhir/r4/QuestionnaireResponse/{}", first["id"].as_str().unwrap_or("")), &t).await?;
        assert_eq!((status, &read), (StatusCode::OK, first));

        // A PHQ-9 from her app with thoughts of self-harm: stored, scored and alerted exactly as from the page.
        let (status, location, created) = post(&app, "/fhir/r4/QuestionnaireResponse", &t, &phq9(person, "LA6569-3")).await?;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let id = created["id"].as_str().context("id")?.to_owned();
        assert!(location.as_deref().is_some_and(|l| l.ends_with(&format!("/fhir/r4/QuestionnaireResponse/{id}"))), "{location:?}");
        assert_eq!((created["questionnaire"].as_str(), created["subject"]["reference"].as_str()), (Some(format!("{PHQ9}|1").as_str()), Some(me.as_str())), "{created}");
        assert_eq!(created["item"].as_array().map(Vec::len), Some(9));
        assert_eq!(created["meta"]["versionId"], "1");
        let (_, read) = get(&app, &format!("/fhir/r4/QuestionnaireResponse/{id}"), &t).await?;
        assert_eq!(read, created);
        let (_, phq_answers) = get(&app, &format!("/fhir/r4/QuestionnaireResponse?questionnaire={PHQ9}"), &t).await?;
        assert_eq!(ids(&phq_answers), std::slice::from_ref(&id));

        let base = amina_base(&app).await?;
        let mut amina = app.client().signed_in(PERSON).await?;
        let result = amina.get(&format!("{base}/questionnaires/responses/{id}")).await?;
        assert_eq!(result.status, StatusCode::OK);
        assert!(result.contains("Total: 1 out of 27 (none or minimal)"), "{}", result.body);
        assert!(result.contains("You said you have had thoughts of hurting yourself"), "{}", result.body);
        let mut nina = app.client().signed_in(NINA).await?;
        let alerts = nina.get("/alerts").await?;
        assert!(alerts.contains("Amina Khan") && alerts.contains("Urgent") && alerts.contains("PHQ-9"), "{}", alerts.body);

        // Invalid answers: every problem at once, nothing stored.
        let mut bad = phq9(person, "LA6569-3");
        bad["status"] = json!("in-progress");
        bad["authored"] = json!("2099-01-01T00:00:00Z");
        bad["item"][0]["answer"][0]["valueCoding"]["code"] = json!("LA9999-9");
        if let Some(items) = bad["item"].as_array_mut() {
            items.remove(1);
            items.push(json!({"linkId": "phq9-42", "answer": [{"valueInteger": 3}]}));
        }
        let (status, _, outcome) = post(&app, "/fhir/r4/QuestionnaireResponse", &t, &bad).await?;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{outcome}");
        let said: Vec<String> = outcome["issue"].as_array().context("issues")?.iter().filter_map(|i| i["diagnostics"].as_str().map(str::to_owned)).collect();
        for expected in ["status:", "item[0].answer[0]:", "phq9-42", "phq9-2", "authored:"] {
            assert!(said.iter().any(|s| s.contains(expected)), "{expected} in {said:?}");
        }
        let mut elsewhere = phq9(person, "LA6568-5");
        elsewhere["subject"] = json!({"reference": format!("Patient/{}", uuid::Uuid::now_v7())});
        let mut unknown = phq9(person, "LA6568-5");
        unknown["questionnaire"] = json!("https://example.org/Questionnaire/mood");
        let mut missing = phq9(person, "LA6568-5");
        if let Some(o) = missing.as_object_mut() {
            o.remove("questionnaire");
        }
        for (what, body) in [("subject", elsewhere), ("unknown", unknown), ("missing", missing), ("not a response", json!({"resourceType": "Observation"}))] {
            let (status, _, outcome) = post(&app, "/fhir/r4/QuestionnaireResponse", &t, &body).await?;
            assert_eq!((status, outcome["resourceType"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("OperationOutcome")), "{what}: {outcome}");
        }
        let (_, after) = get(&app, "/fhir/r4/QuestionnaireResponse", &t).await?;
        assert_eq!(after["total"], 7, "only the good one was stored");
        Ok(())
    }

    async fn scopes_decide_and_other_peoples_ids_are_not_found(app: TestApp) {
        // Only the plan: every other type is refused, reading and searching alike.
        let (t, person) = token(&app, &["launch/patient", "patient/CarePlan.rs"]).await?;
        let (status, _) = get(&app, "/fhir/r4/CarePlan", &t).await?;
        assert_eq!(status, StatusCode::OK);
        for path in ["/fhir/r4/Goal".to_owned(), "/fhir/r4/CareTeam".into(), "/fhir/r4/Communication".into(), "/fhir/r4/Consent".into(), "/fhir/r4/AuditEvent".into(), "/fhir/r4/QuestionnaireResponse".into(), "/fhir/r4/Questionnaire".into(), format!("/fhir/r4/Communication/{}", uuid::Uuid::now_v7()), format!("/fhir/r4/Questionnaire/{}", uuid::Uuid::now_v7())] {
            let (status, outcome) = get(&app, &path, &t).await?;
            assert_eq!((status, outcome["issue"][0]["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{path}: {outcome}");
        }
        // Reading answers does not allow writing them.
        let (r, _) = token(&app, &["launch/patient", "patient/QuestionnaireResponse.rs"]).await?;
        let (status, _, outcome) = post(&app, "/fhir/r4/QuestionnaireResponse", &r, &phq9(person, "LA6568-5")).await?;
        assert_eq!(status, StatusCode::FORBIDDEN, "{outcome}");

        // David's resources, each by its id: not found for Amina's app, exactly as ids that do not exist.
        let (david, david_id) = token_of(&app, DAVID, &ALL).await?;
        let (amina, _) = token(&app, &ALL).await?;
        for t in ["CarePlan", "Goal", "CareTeam", "Communication", "Consent", "AuditEvent", "QuestionnaireResponse"] {
            let his = first_id(&app, &format!("/fhir/r4/{t}"), &david).await?;
            let (status, _) = get(&app, &format!("/fhir/r4/{t}/{his}"), &david).await?;
            assert_eq!(status, StatusCode::OK, "{t} is his");
            for id in [his.clone(), uuid::Uuid::now_v7().to_string(), "not-a-uuid".into()] {
                let (status, outcome) = get(&app, &format!("/fhir/r4/{t}/{id}"), &amina).await?;
                assert!(not_found(status, &outcome), "{t}/{id}: {status} {outcome}");
            }
            // Searching for him finds nothing: never an error.
            let (status, found) = get(&app, &format!("/fhir/r4/{t}?patient={}", david_id.0), &amina).await?;
            assert_eq!((status, found["total"].as_i64()), (StatusCode::OK, Some(0)), "{t}: {found}");
            let (_, by_id) = get(&app, &format!("/fhir/r4/{t}?_id={his}"), &amina).await?;
            assert_eq!(by_id["total"], 0, "{t}: {by_id}");
        }
        Ok(())
    }
}

/// A Consent body to try to write.
fn nina_body(consent: &Value) -> Value {
    let mut body = consent.clone();
    if let Some(o) = body.as_object_mut() {
        o.remove("id");
        o.remove("meta");
    }
    body
}
