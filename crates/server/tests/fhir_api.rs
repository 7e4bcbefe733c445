//! The FHIR R4 API through the real router, on both backends: the CapabilityStatement; a bearer token is needed and
//! its scopes are obeyed; the person's Patient and Observations are read and searched (code, date prefixes, paging);
//! a device sends a reading, which raises the agreed alert and is not stored twice; errors are OperationOutcomes;
//! another person's data is "not found"; the person's access log names the app.

mod support;

use anyhow::Context;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use carepact_domain::identity::PersonId;
use serde_json::{Value, json};
use support::*;

/// A token for Amina from a registered app with these scopes.
async fn token(app: &TestApp, scopes: &[&str]) -> anyhow::Result<(String, PersonId)> {
    let (token, person, _) = token_and_client(app, scopes).await?;
    Ok((token, person))
}

/// A token for Amina, her id, and the app's client id.
async fn token_and_client(app: &TestApp, scopes: &[&str]) -> anyhow::Result<(String, PersonId, String)> {
    app_token(app, PERSON, PERSON, scopes).await
}

async fn call(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> anyhow::Result<(StatusCode, Value)> {
    let page = fhir_request(app, method, path, token, body.as_ref(), &[]).await?;
    Ok((page.status, page.json()))
}

fn issues(outcome: &Value) -> String {
    diagnostics(outcome)
}

fn blood_pressure(person: PersonId, systolic: i64, at: &str) -> Value {
    json!({
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
        "subject": {"reference": format!("Patient/{}", person.0)},
        "effectiveDateTime": at,
        "device": {"display": "Home blood pressure monitor"},
        "component": [
            {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]}, "valueQuantity": {"value": systolic, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}},
            {"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]}, "valueQuantity": {"value": 95, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}}
        ]
    })
}

carepact_testkit::backend_tests! {
    fixture = app;

    async fn an_app_reads_and_searches_readings_and_a_device_sends_them(app: TestApp) {
        let (status, cap) = call(&app, "GET", "/fhir/r4/metadata", None, None).await?;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(cap["resourceType"], "CapabilityStatement");
        assert_eq!(cap["fhirVersion"], "4.0.1");

        let (status, outcome) = call(&app, "GET", "/fhir/r4/Observation", None, None).await?;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(outcome["resourceType"], "OperationOutcome");
        let (status, _) = call(&app, "GET", "/fhir/r4/Observation", Some("not-a-token"), None).await?;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        let (t, person) = token(&app, &["launch/patient", "patient/Patient.rs", "patient/Observation.crs"]).await?;
        let (status, me) = call(&app, "GET", &format!("/fhir/r4/Patient/{}", person.0), Some(&t), None).await?;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(me["name"][0]["family"], "Khan");
        let (status, other) = call(&app, "GET", &format!("/fhir/r4/Patient/{}", uuid::Uuid::now_v7()), Some(&t), None).await?;
        assert_eq!((status, other["resourceType"].as_str()), (StatusCode::NOT_FOUND, Some("OperationOutcome")));

        // Search her blood pressures, two at a time, following the next link.
        let (status, page) = call(&app, "GET", "/fhir/r4/Observation?code=http://loinc.org|85354-9&_count=2", Some(&t), None).await?;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(page["type"], "searchset");
        let entries = page["entry"].as_array().context("entries")?;
        assert_eq!(entries.len(), 2);
        assert!(entries.iter().all(|e| e["resource"]["code"]["coding"][0]["code"] == "85354-9"));
        let next = page["link"].as_array().context("links")?.iter().find(|l| l["relation"] == "next").context("next link")?["url"].as_str().context("url")?.to_owned();
        let next_path = &next[next.find("/fhir/r4/").context("path")?..];
        let (_, second) = call(&app, "GET", next_path, Some(&t), None).await?;
        assert_ne!(second["entry"][0]["fullUrl"], entries[0]["fullUrl"], "the next page moves on");
        let id = entries[0]["resource"]["id"].as_str().context("id")?.to_owned();
        let (status, one) = call(&app, "GET", &format!("/fhir/r4/Observation/{id}"), Some(&t), None).await?;
        assert_eq!((status, one["id"].as_str()), (StatusCode::OK, Some(id.as_str())));

        // Dates with prefixes narrow the search; a bad parameter is a 400 naming it.
        let (_, none) = call(&app, "GET", "/fhir/r4/Observation?code=85354-9&date=lt2000-01-01", Some(&t), None).await?;
        assert!(none["entry"].is_null(), "{none}");
        let (status, bad) = call(&app, "GET", "/fhir/r4/Observation?date=yesterday&colour=red", Some(&t), None).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(issues(&bad).contains("date") && issues(&bad).contains("colour"), "{bad}");
        let (_, elsewhere) = call(&app, "GET", &format!("/fhir/r4/Observation?patient={}", uuid::Uuid::now_v7()), Some(&t), None).await?;
        assert!(elsewhere["entry"].is_null(), "another person's readings are simply not there");

        // A device sends two high readings a day apart: the second raises the agreed alert for her named contact.
        let now = app.state.now();
        let earlier = (now - time::Duration::days(1)).format(&time::format_description::well_known::Rfc3339)?;
        let latest = now.format(&time::format_description::well_known::Rfc3339)?;
        let (status, created) = call(&app, "POST", "/fhir/r4/Observation", Some(&t), Some(blood_pressure(person, 168, &earlier))).await?;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        assert_eq!(created["device"]["display"], "Home blood pressure monitor");
        let (status, again) = call(&app, "POST", "/fhir/r4/Observation", Some(&t), Some(blood_pressure(person, 168, &earlier))).await?;
        assert_eq!(status, StatusCode::OK, "the same reading again is not stored twice");
        assert_eq!(again["id"], created["id"]);
        call(&app, "POST", "/fhir/r4/Observation", Some(&t), Some(blood_pressure(person, 172, &latest))).await?;
        let mut nina = app.client().signed_in("nina.clarke@carepact.example").await?;
        assert!(nina.get("/alerts").await?.contains("Amina Khan"), "the device's readings raise the agreed alert");

        // Invalid resources are refused with their problems; nothing is stored.
        let (status, refused) = call(&app, "POST", "/fhir/r4/Observation", Some(&t), Some(blood_pressure(person, 400, &latest))).await?;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(issues(&refused).contains("between 50 and 300"), "{refused}");
        let (status, _) = call(&app, "POST", "/fhir/r4/Observation", Some(&t), Some(json!({"resourceType": "Observation"}))).await?;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let mut not_json = Request::post("/fhir/r4/Observation").header(header::HOST, "127.0.0.1:8080").header(header::AUTHORIZATION, format!("Bearer {t}"));
        not_json = not_json.header(header::CONTENT_TYPE, "application/fhir+json");
        let page = app.client().send(not_json.body(Body::from("{"))?).await?;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        let (status, _) = call(&app, "POST", "/fhir/r4/Observation", Some(&t), Some(blood_pressure(PersonId(uuid::Uuid::now_v7()), 150, &latest))).await?;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a reading for someone else is refused");

        // Her access log names what the app read and wrote.
        let mut amina = app.client().signed_in(PERSON).await?;
        let log = amina.get("/access-log").await?;
        assert!(log.contains("Amina Khan, through the app “Pressure Diary”"), "{}", log.body);
        Ok(())
    }

    async fn scopes_limit_what_an_app_may_do(app: TestApp) {
        let (t, person) = token(&app, &["launch/patient", "patient/Observation.rs"]).await?;
        let (status, _) = call(&app, "GET", "/fhir/r4/Observation?_count=1", Some(&t), None).await?;
        assert_eq!(status, StatusCode::OK);
        let (status, outcome) = call(&app, "POST", "/fhir/r4/Observation", Some(&t), Some(blood_pressure(person, 130, "2026-11-01T08:00:00Z"))).await?;
        assert_eq!(status, StatusCode::FORBIDDEN, "read-only scopes cannot create");
        assert_eq!(outcome["issue"][0]["code"], "forbidden");
        let (status, _) = call(&app, "GET", &format!("/fhir/r4/Patient/{}", person.0), Some(&t), None).await?;
        assert_eq!(status, StatusCode::FORBIDDEN, "no Patient scope");
        let (status, outcome) = call(&app, "GET", "/fhir/r4/Basic", Some(&t), None).await?;
        assert_eq!((status, outcome["issue"][0]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not-supported")));
        Ok(())
    }

    async fn introspection_says_whether_a_token_is_live(app: TestApp) {
        let (t, person, client_id) = token_and_client(&app, &["launch/patient", "patient/Observation.rs"]).await?;
        let ask = |token: String, client: String| {
            let body = form_urlencoded::Serializer::new(String::new()).append_pair("token", &token).append_pair("client_id", &client).finish();
            Request::post("/oauth/introspect")
                .header(header::HOST, "127.0.0.1:8080")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body))
        };
        let live = app.client().send(ask(t.clone(), client_id.clone())?).await?;
        let live: Value = serde_json::from_str(&live.body)?;
        assert_eq!(live["active"], true, "{live}");
        assert_eq!(live["patient"], person.0.to_string());
        assert_eq!(live["scope"], "launch/patient patient/Observation.rs");
        let (_, _, other_client) = token_and_client(&app, &["patient/Observation.rs"]).await?;
        let theirs: Value = serde_json::from_str(&app.client().send(ask(t.clone(), other_client)?).await?.body)?;
        assert_eq!(theirs, json!({"active": false}), "an app cannot look at another app's token");
        let unknown: Value = serde_json::from_str(&app.client().send(ask("nonsense".into(), client_id)?).await?.body)?;
        assert_eq!(unknown, json!({"active": false}));
        Ok(())
    }
}
