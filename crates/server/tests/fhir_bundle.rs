//! Transaction and batch Bundles at `POST /fhir/r4`, through the real router on both backends: a device's
//! transaction of 1,000 readings is stored whole and answered in order; one bad entry refuses the whole transaction
//! and is named; a batch stores the good entries and answers the bad one with an OperationOutcome; the same
//! transaction again reports what was already held; scopes and size limits are obeyed.

mod support;

use anyhow::Context;
use axum::http::StatusCode;
use carepact_domain::identity::PersonId;
use serde_json::{Value, json};
use support::*;

/// A token for Amina from a registered app with these scopes.
async fn token(app: &TestApp, scopes: &[&str]) -> anyhow::Result<(String, PersonId)> {
    let (token, person, _) = app_token(app, PERSON, PERSON, scopes).await?;
    Ok((token, person))
}

async fn call(
    app: &TestApp,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> anyhow::Result<(StatusCode, Value)> {
    let page = fhir_request(app, method, path, Some(token), body, &[]).await?;
    Ok((page.status, page.json()))
}

fn issues(outcome: &Value) -> String {
    diagnostics(outcome)
}

/// A blood pressure taken `minute` minutes after midnight on 1 March 2020 (a day Amina's demo readings miss).
fn blood_pressure(person: PersonId, minute: usize, systolic: i64) -> Value {
    let at = time::macros::datetime!(2020-03-01 00:00 UTC) + time::Duration::minutes(minute as i64);
    json!({
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
        "subject": {"reference": format!("Patient/{}", person.0)},
        "effectiveDateTime": at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        "device": {"display": "Home blood pressure monitor"},
        "component": [
            {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]}, "valueQuantity": {"value": systolic, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}},
            {"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]}, "valueQuantity": {"value": 78, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}}
        ]
    })
}

fn bundle(kind: &str, resources: Vec<Value>) -> Value {
    let entries: Vec<Value> = resources
        .into_iter()
        .map(|r| json!({"fullUrl": format!("urn:uuid:{}", uuid::Uuid::new_v4()), "resource": r, "request": {"method": "POST", "url": "Observation"}}))
        .collect();
    json!({"resourceType": "Bundle", "type": kind, "entry": entries})
}

/// How many of Amina's blood pressures fall on 1 March 2020.
async fn stored_that_day(app: &TestApp, token: &str) -> anyhow::Result<usize> {
    let (status, page) = call(
        app,
        "GET",
        "/fhir/r4/Observation?code=85354-9&date=2020-03-01&_count=1000",
        token,
        None,
    )
    .await?;
    assert_eq!(status, StatusCode::OK, "{page}");
    Ok(page["entry"].as_array().map_or(0, Vec::len))
}

fn statuses(reply: &Value) -> Vec<String> {
    reply["entry"]
        .as_array()
        .map(|e| {
            e.iter()
                .map(|x| x["response"]["status"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

carepact_testkit::backend_tests! {
    fixture = app;

    async fn a_transaction_of_1000_readings_is_stored_whole_and_again_reports_them_held(app: TestApp) {
        let (t, person) = token(&app, &["launch/patient", "patient/Observation.crs"]).await?;
        let sent = bundle("transaction", (0..1000).map(|i| blood_pressure(person, i, 110 + (i % 40) as i64)).collect());
        let (status, reply) = call(&app, "POST", "/fhir/r4", &t, Some(&sent)).await?;
        assert_eq!(status, StatusCode::OK, "{reply}");
        assert_eq!(reply["resourceType"], "Bundle");
        assert_eq!(reply["type"], "transaction-response");
        assert!(statuses(&reply).iter().all(|s| s == "201 Created") && statuses(&reply).len() == 1000, "{reply}");
        assert_eq!(stored_that_day(&app, &t).await?, 1000);

        // Entries are answered in order: the tenth location is the tenth reading.
        let location = reply["entry"][9]["response"]["location"].as_str().context("location")?.to_owned();
        let path = &location[location.find("/fhir/r4/").context("path")?..];
        let (status, tenth) = call(&app, "GET", path, &t, None).await?;
        assert_eq!(status, StatusCode::OK, "{tenth}");
        assert_eq!(tenth["effectiveDateTime"], sent["entry"][9]["resource"]["effectiveDateTime"]);
        assert_eq!(tenth["component"][0]["valueQuantity"]["value"], 119);

        // The same transaction again: nothing new, each entry points at the reading already held.
        let (status, again) = call(&app, "POST", "/fhir/r4", &t, Some(&sent)).await?;
        assert_eq!(status, StatusCode::OK, "{again}");
        assert!(statuses(&again).iter().all(|s| s == "200 OK") && statuses(&again).len() == 1000, "{again}");
        assert_eq!(again["entry"][9]["response"]["location"], reply["entry"][9]["response"]["location"]);
        assert_eq!(stored_that_day(&app, &t).await?, 1000);

        // A new reading among held ones is the only 201.
        let mut mixed = sent.clone();
        mixed["entry"][3]["resource"] = blood_pressure(person, 1200, 130);
        let (_, mixed) = call(&app, "POST", "/fhir/r4", &t, Some(&mixed)).await?;
        assert_eq!(statuses(&mixed).iter().filter(|s| *s == "201 Created").count(), 1);
        assert_eq!(statuses(&mixed)[3], "201 Created");
        Ok(())
    }

    async fn a_transaction_with_one_bad_entry_stores_nothing_and_names_it(app: TestApp) {
        let (t, person) = token(&app, &["launch/patient", "patient/Observation.crs"]).await?;
        let mut sent = bundle("transaction", (0..20).map(|i| blood_pressure(person, i, 120)).collect());
        sent["entry"][7]["resource"] = blood_pressure(person, 7, 400);
        let (status, outcome) = call(&app, "POST", "/fhir/r4", &t, Some(&sent)).await?;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{outcome}");
        assert_eq!(outcome["resourceType"], "OperationOutcome");
        assert!(issues(&outcome).contains("Bundle.entry[7].resource") && issues(&outcome).contains("between 50 and 300"), "{outcome}");
        assert_eq!(stored_that_day(&app, &t).await?, 0, "nothing of a refused transaction is stored");

        // Every problem is listed: a second bad entry, and a request CarePact does not serve (a 400).
        sent["entry"][12]["resource"]["subject"]["reference"] = json!(format!("Patient/{}", uuid::Uuid::now_v7()));
        sent["entry"][15]["request"] = json!({"method": "DELETE", "url": "Observation/1"});
        let (status, outcome) = call(&app, "POST", "/fhir/r4", &t, Some(&sent)).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{outcome}");
        let said = issues(&outcome);
        assert!(said.contains("Bundle.entry[7]") && said.contains("Bundle.entry[12].resource.subject") && said.contains("Bundle.entry[15].request"), "{outcome}");
        assert_eq!(stored_that_day(&app, &t).await?, 0);
        Ok(())
    }

    async fn a_batch_stores_the_good_entries_and_answers_the_bad_one(app: TestApp) {
        let (t, person) = token(&app, &["launch/patient", "patient/Observation.crs"]).await?;
        let mut sent = bundle("batch", (0..10).map(|i| blood_pressure(person, i, 125)).collect());
        sent["entry"][2]["resource"] = blood_pressure(person, 2, 20);
        let (status, reply) = call(&app, "POST", "/fhir/r4", &t, Some(&sent)).await?;
        assert_eq!(status, StatusCode::OK, "{reply}");
        assert_eq!(reply["type"], "batch-response");
        let s = statuses(&reply);
        assert_eq!(s.len(), 10);
        assert_eq!(s[2], "422 Unprocessable Entity");
        assert_eq!(reply["entry"][2]["response"]["outcome"]["resourceType"], "OperationOutcome");
        assert!(issues(&reply["entry"][2]["response"]["outcome"]).contains("between 50 and 300"), "{reply}");
        assert!(s.iter().enumerate().all(|(i, s)| i == 2 || s == "201 Created"), "{reply}");
        assert_eq!(stored_that_day(&app, &t).await?, 9);
        Ok(())
    }

    async fn bundles_need_the_create_scope_and_a_sensible_size(app: TestApp) {
        let (read_only, person) = token(&app, &["launch/patient", "patient/Observation.rs"]).await?;
        let sent = bundle("transaction", vec![blood_pressure(person, 1, 120)]);
        let (status, outcome) = call(&app, "POST", "/fhir/r4", &read_only, Some(&sent)).await?;
        assert_eq!(status, StatusCode::FORBIDDEN, "{outcome}");
        assert_eq!(outcome["issue"][0]["code"], "forbidden");
        assert_eq!(stored_that_day(&app, &read_only).await?, 0);

        let (t, _) = token(&app, &["launch/patient", "patient/Observation.crs"]).await?;
        let huge = json!({"resourceType": "Bundle", "type": "batch", "entry": vec![json!({"request": {"method": "POST", "url": "Observation"}}); 10_001]});
        let (status, outcome) = call(&app, "POST", "/fhir/r4", &t, Some(&huge)).await?;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{outcome}");
        assert_eq!(outcome["resourceType"], "OperationOutcome");

        let (status, outcome) = call(&app, "POST", "/fhir/r4", &t, Some(&json!({"resourceType": "Bundle", "type": "collection"}))).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(issues(&outcome).contains("Bundle.type"), "{outcome}");
        let (status, outcome) = call(&app, "POST", "/fhir/r4", &t, Some(&blood_pressure(person, 1, 120))).await?;
        assert_eq!((status, outcome["resourceType"].as_str()), (StatusCode::BAD_REQUEST, Some("OperationOutcome")));

        let (_, cap) = call(&app, "GET", "/fhir/r4/metadata", &t, None).await?;
        assert_eq!(cap["rest"][0]["interaction"], json!([{"code": "transaction"}, {"code": "batch"}]));
        Ok(())
    }
}
