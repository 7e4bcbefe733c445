//! CarePact's FHIR output checked by a real FHIR R4 validator (`scripts/fhir-validate`: the PyPI package
//! fhir.resources 6.4.0, R4 4.0.1, in its own virtualenv under target/fhir-venv), on both backends: the
//! CapabilityStatement, Amina's Patient, an Observation search Bundle, a created Observation, transaction- and
//! batch-response Bundles, an OperationOutcome, a read and a search Bundle of each of CarePlan (with a version and
//! its history Bundle), Goal, CareTeam, Communication, Consent, AuditEvent, Questionnaire and QuestionnaireResponse
//! (and a created one), and her whole record as exported from `/records/{id}/export.json`.

mod support;

use std::path::PathBuf;
use std::process::Command;

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

/// The API's answer, which must have the status expected.
async fn fetch(
    app: &TestApp,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
    want: StatusCode,
) -> anyhow::Result<String> {
    let page = fhir_request(app, method, path, Some(token), body.as_ref(), &[]).await?;
    assert_eq!(page.status, want, "{method} {path}: {}", page.body);
    Ok(page.body)
}

fn blood_pressure(person: PersonId, at: &str, systolic: i64) -> Value {
    json!({
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
        "subject": {"reference": format!("Patient/{}", person.0)},
        "effectiveDateTime": at,
        "device": {"display": "Home blood pressure monitor"},
        "component": [
            {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]}, "valueQuantity": {"value": systolic, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}},
            {"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]}, "valueQuantity": {"value": 82, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}}
        ]
    })
}

/// Runs the validator on the files; its output when it finds anything (or cannot run).
fn validate(files: &[PathBuf]) -> anyhow::Result<Result<String, String>> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/fhir-validate");
    let out = Command::new(&script)
        .args(files)
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(if out.status.success() { Ok(said) } else { Err(said) })
}

carepact_testkit::backend_tests! {
    fixture = app;

    async fn the_fhir_carepact_serves_and_exports_passes_an_r4_validator(app: TestApp) {
        let (t, person) = token(&app, &["launch/patient", "patient/Patient.rs", "patient/Observation.crs"]).await?;
        let now = app.state.now();
        let at = |minutes: i64| (now - time::Duration::minutes(minutes)).format(&time::format_description::well_known::Rfc3339);
        let mut outputs: Vec<(&str, String)> = Vec::new();
        outputs.push(("metadata", fetch(&app, "GET", "/fhir/r4/metadata", &t, None, StatusCode::OK).await?));
        outputs.push(("patient", fetch(&app, "GET", &format!("/fhir/r4/Patient/{}", person.0), &t, None, StatusCode::OK).await?));
        outputs.push(("created-observation", fetch(&app, "POST", "/fhir/r4/Observation", &t, Some(blood_pressure(person, &at(90)?, 134)), StatusCode::CREATED).await?));
        outputs.push(("searchset", fetch(&app, "GET", "/fhir/r4/Observation?_count=30", &t, None, StatusCode::OK).await?));
        let entry = |r: Value| json!({"fullUrl": format!("urn:uuid:{}", uuid::Uuid::new_v4()), "resource": r, "request": {"method": "POST", "url": "Observation"}});
        let transaction = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
            entry(blood_pressure(person, &at(80)?, 128)), entry(blood_pressure(person, &at(90)?, 134))
        ]});
        outputs.push(("transaction-response", fetch(&app, "POST", "/fhir/r4", &t, Some(transaction), StatusCode::OK).await?));
        let batch = json!({"resourceType": "Bundle", "type": "batch", "entry": [
            entry(blood_pressure(person, &at(70)?, 126)), entry(blood_pressure(person, &at(60)?, 999))
        ]});
        outputs.push(("batch-response", fetch(&app, "POST", "/fhir/r4", &t, Some(batch), StatusCode::OK).await?));
        outputs.push(("operation-outcome", fetch(&app, "GET", "/fhir/r4/Observation?colour=red", &t, None, StatusCode::BAD_REQUEST).await?));

        // The care plan, team, messages, sharing, access log, questionnaires and answers: a read and a search each.
        let mut more: Vec<(String, String)> = Vec::new();
        let (care, _) = token(&app, &["launch/patient", "patient/CarePlan.rs", "patient/Goal.rs", "patient/CareTeam.rs", "patient/Communication.rs", "patient/Consent.rs", "patient/AuditEvent.rs", "patient/Questionnaire.rs", "patient/QuestionnaireResponse.crs"]).await?;
        for (name, search) in [("CarePlan", "CarePlan"), ("Goal", "Goal"), ("CareTeam", "CareTeam"), ("Communication", "Communication"), ("Consent", "Consent"), ("AuditEvent", "AuditEvent?_count=40"), ("Questionnaire", "Questionnaire"), ("QuestionnaireResponse", "QuestionnaireResponse")] {
            let found = fetch(&app, "GET", &format!("/fhir/r4/{search}"), &care, None, StatusCode::OK).await?;
            let bundle: Value = serde_json::from_str(&found)?;
            let id = bundle["entry"][0]["resource"]["id"].as_str().with_context(|| format!("no {name} found"))?.to_owned();
            more.push((format!("read-{name}"), fetch(&app, "GET", &format!("/fhir/r4/{name}/{id}"), &care, None, StatusCode::OK).await?));
            more.push((format!("search-{name}"), found));
            if name == "CarePlan" {
                more.push(("vread-CarePlan".into(), fetch(&app, "GET", &format!("/fhir/r4/CarePlan/{id}/_history/1"), &care, None, StatusCode::OK).await?));
                more.push(("history-CarePlan".into(), fetch(&app, "GET", &format!("/fhir/r4/CarePlan/{id}/_history"), &care, None, StatusCode::OK).await?));
            }
        }
        let answers = json!({
            "resourceType": "QuestionnaireResponse",
            "questionnaire": "https://carepact.example/fhir/Questionnaire/gad-7",
            "status": "completed",
            "subject": {"reference": format!("Patient/{}", person.0)},
            "item": (1..=7).map(|i| json!({"linkId": format!("gad7-{i}"), "answer": [{"valueCoding": {"system": "http://loinc.org", "code": "LA6569-3"}}]})).collect::<Vec<_>>()
        });
        more.push(("created-QuestionnaireResponse".into(), fetch(&app, "POST", "/fhir/r4/QuestionnaireResponse", &care, Some(answers), StatusCode::CREATED).await?));

        let base = amina_base(&app).await?;
        let mut amina = app.client().signed_in(PERSON).await?;
        let export = amina.get(&format!("{base}/export.json")).await?;
        assert_eq!(export.status, StatusCode::OK);
        outputs.push(("export", export.body));

        let dir = tempfile::tempdir()?;
        let mut files = Vec::new();
        let outputs = outputs.into_iter().map(|(name, body)| (name.to_owned(), body)).chain(more);
        for (name, body) in outputs {
            let file = dir.path().join(format!("{name}.json"));
            std::fs::write(&file, body)?;
            files.push(file);
        }
        // The validator must be able to fail: a broken Observation and Bundle are refused, each problem named.
        let broken = dir.path().join("broken.json");
        std::fs::write(&broken, json!({"resourceType": "Bundle", "type": "searchset", "entry": [
            {"resource": {"resourceType": "Observation", "code": {"text": "x"}}},
            {"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "valueQuantity": {"value": "high"}}}
        ]}).to_string())?;
        let refused = tokio::task::spawn_blocking(move || validate(&[broken])).await??;
        let said = refused.err().context("the validator passed a broken Bundle")?;
        assert!(said.contains("entry.0.resource.status") && said.contains("entry.1.resource.valueQuantity.value"), "{said}");

        match tokio::task::spawn_blocking(move || validate(&files)).await?? {
            Ok(said) => println!("{said}"),
            Err(found) => panic!("the FHIR validator found problems in CarePact's output:\n{found}"),
        }
        Ok(())
    }
}
