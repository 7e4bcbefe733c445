//! The person's imported record through the FHIR R4 API, on both backends: Conditions searched by patient, code,
//! date and `_lastUpdated`, sorted and read; MedicationStatements paged with `next` links; scopes obeyed (403);
//! another person's data "not found"; `Patient/{id}/$everything` with only the types the scopes allow, paged.

mod support;

use anyhow::Context;
use axum::http::StatusCode;
use carepact_domain::consent::{Action, Request as Ask, Section, Sensitivity};
use carepact_domain::identity::PersonId;
use carepact_store::record::{ImportMeta, ImportOutcome};
use serde_json::{Value, json};
use support::*;

/// A token for Amina from a registered app with these scopes.
async fn token(app: &TestApp, scopes: &[&str]) -> anyhow::Result<(String, PersonId)> {
    token_for(app, PERSON, scopes).await
}

/// A token for `email`'s use of Amina's record from a registered app with these scopes.
async fn token_for(app: &TestApp, email: &str, scopes: &[&str]) -> anyhow::Result<(String, PersonId)> {
    let (token, person, _) = app_token(app, email, PERSON, scopes).await?;
    Ok((token, person))
}

async fn get(app: &TestApp, path: &str, token: &str) -> anyhow::Result<(StatusCode, Value)> {
    let page = fhir_request(app, "GET", path, Some(token), None, &[]).await?;
    Ok((page.status, page.json()))
}

fn entries(bundle: &Value) -> Vec<Value> {
    bundle["entry"].as_array().cloned().unwrap_or_default()
}

fn types(bundle: &Value) -> Vec<String> {
    entries(bundle)
        .iter()
        .filter_map(|e| e["resource"]["resourceType"].as_str().map(str::to_owned))
        .collect()
}

/// The path of the bundle's `next` link, if it has one.
fn next(bundle: &Value) -> Option<String> {
    let url = bundle["link"].as_array()?.iter().find(|l| l["relation"] == "next")?["url"]
        .as_str()?
        .to_owned();
    Some(url[url.find("/fhir/r4/")?..].to_owned())
}

/// Adds two more medicines to Amina's record, from another file.
async fn import_medicines(app: &TestApp, person: PersonId) -> anyhow::Result<()> {
    let medicine = |id: &str, code: &str, name: &str, start: &str| {
        json!({
            "resourceType": "MedicationStatement", "id": id, "status": "active",
            "medicationCodeableConcept": {"coding": [{"system": "https://dmd.nhs.uk", "code": code, "display": name}], "text": name},
            "subject": {"reference": "Patient/amina"}, "effectivePeriod": {"start": start}
        })
        .to_string()
    };
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("medicines.ndjson");
    std::fs::write(
        &file,
        format!(
            "{}\n{}\n",
            medicine("ramipril", "318898001", "Ramipril 5mg capsules", "2020-07-01"),
            medicine("atorvastatin", "320000009", "Atorvastatin 20mg tablets", "2021-02-15"),
        ),
    )?;
    let request = Ask {
        section: Section::Record,
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
    let meta = ImportMeta {
        source: "test".into(),
        file_name: None,
        format: "",
        supplier: None,
        actor_organisation: None,
    };
    let outcome =
        carepact_server::record_import::import_file(&app.state.db, &grant, &file, meta, None, app.state.now())
            .await?
            .map_err(|_| anyhow::anyhow!("import refused"))?;
    anyhow::ensure!(matches!(outcome, ImportOutcome::Imported(_)), "{outcome:?}");
    Ok(())
}

carepact_testkit::backend_tests! {
    fixture = app;

    async fn an_app_searches_and_reads_the_imported_record(app: TestApp) {
        let (t, person) = token(&app, &["launch/patient", "patient/Condition.rs", "patient/MedicationStatement.rs"]).await?;
        let me = format!("Patient/{}", person.0);

        // Every Condition of her GP record, hers alone, pointing at her Patient here.
        let (status, all) = get(&app, &format!("/fhir/r4/Condition?patient={}", person.0), &t).await?;
        assert_eq!(status, StatusCode::OK, "{all}");
        assert_eq!(all["type"], "searchset");
        assert_eq!(all["total"], 4, "{all}");
        assert!(types(&all).iter().all(|t| t == "Condition"));
        assert!(entries(&all).iter().all(|e| e["resource"]["subject"]["reference"] == me.as_str()), "{all}");
        assert!(entries(&all).iter().any(|e| e["resource"]["code"]["text"] == "Depressive disorder"), "her own token reaches every label");

        // By SNOMED code, with or without the system.
        let (_, diabetes) = get(&app, "/fhir/r4/Condition?code=http://snomed.info/sct|44054006", &t).await?;
        assert_eq!(entries(&diabetes).len(), 1, "{diabetes}");
        assert_eq!(diabetes["entry"][0]["resource"]["code"]["text"], "Type 2 diabetes mellitus");
        let (_, bare) = get(&app, "/fhir/r4/Condition?code=44054006", &t).await?;
        assert_eq!(bare["entry"][0]["fullUrl"], diabetes["entry"][0]["fullUrl"]);
        let (_, none) = get(&app, "/fhir/r4/Condition?code=http://loinc.org|44054006", &t).await?;
        assert!(none["entry"].is_null(), "another system's code is another code");

        // Dates with prefixes, _lastUpdated, and sorting.
        let (_, since) = get(&app, "/fhir/r4/Condition?date=ge2020-01-01", &t).await?;
        assert_eq!(entries(&since).len(), 2, "{since}");
        let (_, day) = get(&app, "/fhir/r4/Condition?date=2019-03-14", &t).await?;
        assert_eq!(day["entry"][0]["resource"]["code"]["text"], "Type 2 diabetes mellitus");
        let (_, oldest) = get(&app, "/fhir/r4/Condition?_sort=date", &t).await?;
        assert_eq!(oldest["entry"][0]["resource"]["code"]["text"], "Type 2 diabetes mellitus", "{oldest}");
        let (_, newest) = get(&app, "/fhir/r4/Condition?_sort=-date", &t).await?;
        assert_eq!(newest["entry"][0]["resource"]["code"]["text"], "Acute bronchitis");
        let (_, recent) = get(&app, "/fhir/r4/Condition?_lastUpdated=ge2000-01-01", &t).await?;
        assert_eq!(recent["total"], 4);
        let (_, old) = get(&app, "/fhir/r4/Condition?_lastUpdated=lt2000-01-01", &t).await?;
        assert_eq!(old["total"], 0);
        let (status, bad) = get(&app, "/fhir/r4/Condition?_sort=title&_lastUpdated=soon", &t).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(bad["issue"].as_array().map(Vec::len), Some(2), "{bad}");

        // Read one: the stored resource with CarePact's id.
        let id = diabetes["entry"][0]["resource"]["id"].as_str().context("id")?.to_owned();
        let (status, one) = get(&app, &format!("/fhir/r4/Condition/{id}"), &t).await?;
        assert_eq!(status, StatusCode::OK, "{one}");
        assert_eq!(one["id"], id.as_str());
        assert_eq!(one["subject"]["reference"], me.as_str());
        assert_eq!(one["code"]["coding"][0]["code"], "44054006");
        assert!(one["meta"]["lastUpdated"].is_string());
        for missing in [format!("/fhir/r4/Condition/{}", uuid::Uuid::now_v7()), "/fhir/r4/Condition/diabetes".into(), format!("/fhir/r4/MedicationStatement/{id}")] {
            let (status, outcome) = get(&app, &missing, &t).await?;
            assert_eq!((status, outcome["resourceType"].as_str()), (StatusCode::NOT_FOUND, Some("OperationOutcome")), "{missing}");
        }

        // Another person's record is simply not there.
        let (_, elsewhere) = get(&app, &format!("/fhir/r4/Condition?patient={}", uuid::Uuid::now_v7()), &t).await?;
        assert!(elsewhere["entry"].is_null(), "{elsewhere}");

        // Medicines, two at a time, following the next link.
        import_medicines(&app, person).await?;
        let (status, first) = get(&app, "/fhir/r4/MedicationStatement?_count=2", &t).await?;
        assert_eq!(status, StatusCode::OK, "{first}");
        assert_eq!((entries(&first).len(), first["total"].as_i64()), (2, Some(3)), "{first}");
        assert_eq!(first["entry"][0]["resource"]["medicationCodeableConcept"]["text"], "Atorvastatin 20mg tablets");
        let second_path = next(&first).context("next link")?;
        let (_, second) = get(&app, &second_path, &t).await?;
        assert_eq!(types(&second), ["MedicationStatement"], "{second}");
        assert_eq!(second["entry"][0]["resource"]["medicationCodeableConcept"]["text"], "Metformin 500mg tablets");
        assert!(next(&second).is_none(), "the last page has no next link");

        // The CapabilityStatement says what is served.
        let (_, cap) = get(&app, "/fhir/r4/metadata", &t).await?;
        let resources = cap["rest"][0]["resource"].as_array().context("resources")?;
        let condition = resources.iter().find(|r| r["type"] == "Condition").context("Condition")?;
        assert!(condition["searchParam"].as_array().context("params")?.iter().any(|p| p["name"] == "_lastUpdated"));
        let patient = resources.iter().find(|r| r["type"] == "Patient").context("Patient")?;
        assert_eq!(patient["operation"][0]["name"], "everything");

        // Her access log names the app that read her record.
        let mut amina = app.client().signed_in(PERSON).await?;
        let log = amina.get("/access-log").await?;
        assert!(log.contains("Amina Khan, through the app “Pressure Diary”"), "{}", log.body);
        Ok(())
    }

    async fn scopes_decide_which_record_types_an_app_sees(app: TestApp) {
        let (t, _) = token(&app, &["launch/patient", "patient/MedicationStatement.rs"]).await?;
        let (status, outcome) = get(&app, "/fhir/r4/Condition", &t).await?;
        assert_eq!((status, outcome["issue"][0]["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
        let (status, _) = get(&app, &format!("/fhir/r4/Condition/{}", uuid::Uuid::now_v7()), &t).await?;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = get(&app, "/fhir/r4/MedicationStatement", &t).await?;
        assert_eq!(status, StatusCode::OK);
        Ok(())
    }

    async fn everything_holds_what_the_scopes_allow(app: TestApp) {
        let (t, person) = token(&app, &["launch/patient", "patient/Patient.r", "patient/Condition.rs", "patient/Observation.rs"]).await?;
        let (status, all) = get(&app, &format!("/fhir/r4/Patient/{}/$everything", person.0), &t).await?;
        assert_eq!(status, StatusCode::OK, "{all}");
        assert_eq!(all["type"], "searchset");
        let found = types(&all);
        assert_eq!(found.first().map(String::as_str), Some("Patient"));
        assert_eq!(found.iter().filter(|t| *t == "Condition").count(), 4, "{found:?}");
        assert!(found.iter().any(|t| t == "Observation"), "her readings: {found:?}");
        assert!(!found.iter().any(|t| t == "MedicationStatement" || t == "AllergyIntolerance"), "no scope, no entries: {found:?}");
        assert!(next(&all).is_none());

        // Paged across the parts: every entry once.
        let mut path = Some(format!("/fhir/r4/Patient/{}/$everything?_count=3", person.0));
        let mut paged = Vec::new();
        while let Some(p) = path {
            let (status, page) = get(&app, &p, &t).await?;
            assert_eq!(status, StatusCode::OK, "{page}");
            assert!(entries(&page).len() <= 3);
            paged.extend(entries(&page).iter().map(|e| e["fullUrl"].clone()));
            path = next(&page);
        }
        let whole: Vec<Value> = entries(&all).iter().map(|e| e["fullUrl"].clone()).collect();
        assert_eq!(paged, whole);

        // Only the person's own id.
        let (status, outcome) = get(&app, &format!("/fhir/r4/Patient/{}/$everything", uuid::Uuid::now_v7()), &t).await?;
        assert_eq!((status, outcome["resourceType"].as_str()), (StatusCode::NOT_FOUND, Some("OperationOutcome")));

        // Without a Patient scope, the Patient is left out too.
        let (t, _) = token(&app, &["launch/patient", "patient/AllergyIntolerance.rs"]).await?;
        let (status, some) = get(&app, &format!("/fhir/r4/Patient/{}/$everything", person.0), &t).await?;
        assert_eq!(status, StatusCode::OK, "{some}");
        assert_eq!(types(&some), ["AllergyIntolerance"]);
        Ok(())
    }

    async fn labels_the_person_has_not_shared_are_never_returned(app: TestApp) {
        // Her named contact sees only her general items: not the depression, however it is asked for.
        let scopes = ["launch/patient", "patient/Patient.r", "patient/Condition.rs"];
        let (own, person) = token(&app, &scopes).await?;
        let (_, hers) = get(&app, "/fhir/r4/Condition?code=35489007", &own).await?;
        let id = hers["entry"][0]["resource"]["id"].as_str().context("her own token finds it")?.to_owned();
        let (t, _) = token_for(&app, "nina.clarke@carepact.example", &scopes).await?;
        let (status, shared) = get(&app, "/fhir/r4/Condition", &t).await?;
        assert_eq!(status, StatusCode::OK, "{shared}");
        assert_eq!(shared["total"], 3, "{shared}");
        assert!(!entries(&shared).iter().any(|e| e["resource"]["id"] == id.as_str()));
        let (_, by_code) = get(&app, "/fhir/r4/Condition?code=35489007", &t).await?;
        assert!(by_code["entry"].is_null(), "{by_code}");
        let (status, _) = get(&app, &format!("/fhir/r4/Condition/{id}"), &t).await?;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (_, all) = get(&app, &format!("/fhir/r4/Patient/{}/$everything", person.0), &t).await?;
        assert_eq!(types(&all).iter().filter(|t| *t == "Condition").count(), 3, "{all}");
        Ok(())
    }
}
