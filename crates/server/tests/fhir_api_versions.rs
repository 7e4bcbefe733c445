//! Versions, corrections and the wider search of Observations through the FHIR R4 API, on both backends: a reading
//! corrected with `If-Match` (412 without it or with a stale version, 409 on a clash, 422 for another measure),
//! its versions read back (vread, `_history`); `category`, `status` and `_include` searches; and professionals and
//! carers using API tokens (`carepact token create`), reaching only what the person shares with them, audited.

mod support;

use anyhow::Context;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use carepact_domain::identity::PersonId;
use carepact_store::api_tokens::{self, By};
use serde_json::{Value, json};
use support::*;

struct Answer {
    status: StatusCode,
    json: Value,
    etag: Option<String>,
}

async fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&Value>,
    if_match: Option<&str>,
) -> anyhow::Result<Answer> {
    let headers: Vec<(header::HeaderName, &str)> = if_match.map(|v| (header::IF_MATCH, v)).into_iter().collect();
    let page = fhir_request(app, method, path, Some(token), body, &headers).await?;
    Ok(Answer {
        status: page.status,
        json: page.json(),
        etag: page.header(header::ETAG).map(str::to_owned),
    })
}

async fn get(app: &TestApp, path: &str, token: &str) -> anyhow::Result<Answer> {
    send(app, "GET", path, token, None, None).await
}

fn entries(bundle: &Value) -> Vec<Value> {
    bundle["entry"].as_array().cloned().unwrap_or_default()
}

fn entries_of(v: &Value) -> Vec<Value> {
    v.as_array().cloned().unwrap_or_default()
}

fn systolic(observation: &Value) -> Option<f64> {
    observation["component"][0]["valueQuantity"]["value"].as_f64()
}

/// An API token for the demo user with this email, as `carepact token create` makes.
async fn user_token(app: &TestApp, email: &str) -> anyhow::Result<String> {
    let email = carepact_domain::identity::Email::parse(email).map_err(anyhow::Error::msg)?;
    let user = carepact_store::users::find_by_email(&app.state.db, &email)
        .await?
        .context("user")?;
    let now = app.state.now();
    let (_, secret) = api_tokens::create(
        &app.state.db,
        user.id,
        "Practice system",
        now + time::Duration::days(30),
        now,
        By::CommandLine,
    )
    .await?
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    Ok(secret)
}

async fn person_id(app: &TestApp, email: &str) -> anyhow::Result<PersonId> {
    let email = carepact_domain::identity::Email::parse(email).map_err(anyhow::Error::msg)?;
    let user = carepact_store::users::find_by_email(&app.state.db, &email)
        .await?
        .context("user")?;
    carepact_store::people::id_for_user(&app.state.db, user.id)
        .await?
        .context("person")
}

carepact_testkit::backend_tests! {
    fixture = app;

    async fn a_reading_is_corrected_with_its_version_and_its_history_is_kept(app: TestApp) {
        let (t, _, _) = app_token(&app, PERSON, PERSON, &["launch/patient", "patient/Observation.cruds"]).await?;
        let page = get(&app, "/fhir/r4/Observation?code=85354-9&_count=2", &t).await?;
        let found = entries(&page.json);
        let first = found.first().context("a blood pressure")?["resource"].clone();
        let id = first["id"].as_str().context("id")?.to_owned();
        let path = format!("/fhir/r4/Observation/{id}");

        let read = get(&app, &path, &t).await?;
        assert_eq!(read.status, StatusCode::OK);
        assert_eq!(read.etag.as_deref(), Some("W/\"1\""));
        assert_eq!(read.json["meta"]["versionId"], "1");
        assert_eq!(read.json["status"], "final");
        let before = systolic(&read.json).context("systolic")?;

        // Without If-Match, or with a version that is not a number: refused, nothing changed.
        let mut corrected = read.json.clone();
        corrected["component"][0]["valueQuantity"]["value"] = json!(before + 7.0);
        let refused = send(&app, "PUT", &path, &t, Some(&corrected), None).await?;
        assert_eq!(refused.status, StatusCode::PRECONDITION_FAILED, "{}", refused.json);
        assert!(diagnostics(&refused.json).contains("If-Match"));
        let bad = send(&app, "PUT", &path, &t, Some(&corrected), Some("W/\"one\"")).await?;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);

        // With the version read: corrected, now version 2, marked as corrected.
        let done = send(&app, "PUT", &path, &t, Some(&corrected), Some("W/\"1\"")).await?;
        assert_eq!(done.status, StatusCode::OK, "{}", done.json);
        assert_eq!(done.etag.as_deref(), Some("W/\"2\""));
        assert_eq!(done.json["meta"]["versionId"], "2");
        assert_eq!(done.json["status"], "corrected");
        assert_eq!(systolic(&done.json), Some(before + 7.0));

        // A second correction of version 1 (someone else's stale copy) is refused: the first is not lost.
        let mut stale = read.json.clone();
        stale["component"][0]["valueQuantity"]["value"] = json!(before - 5.0);
        let lost = send(&app, "PUT", &path, &t, Some(&stale), Some("W/\"1\"")).await?;
        assert_eq!(lost.status, StatusCode::PRECONDITION_FAILED);
        assert!(diagnostics(&lost.json).contains("version 2"), "{}", lost.json);
        assert_eq!(systolic(&get(&app, &path, &t).await?.json), Some(before + 7.0));

        // Both versions can be read back, and the history lists them newest first.
        let v1 = get(&app, &format!("{path}/_history/1"), &t).await?;
        assert_eq!((v1.status, systolic(&v1.json)), (StatusCode::OK, Some(before)));
        assert_eq!(v1.json["meta"]["versionId"], "1");
        let v2 = get(&app, &format!("{path}/_history/2"), &t).await?;
        assert_eq!(systolic(&v2.json), Some(before + 7.0));
        assert_eq!(get(&app, &format!("{path}/_history/3"), &t).await?.status, StatusCode::NOT_FOUND);
        assert_eq!(get(&app, &format!("{path}/_history/x"), &t).await?.status, StatusCode::NOT_FOUND);
        let history = get(&app, &format!("{path}/_history"), &t).await?;
        assert_eq!(history.json["type"], "history");
        let versions: Vec<Value> = entries(&history.json).iter().map(|e| e["resource"]["meta"]["versionId"].clone()).collect();
        assert_eq!(versions, vec![json!("2"), json!("1")]);
        assert_eq!(entries(&history.json)[0]["request"]["method"], "PUT");

        // Another measure is another reading (422); moving it onto another reading's moment is a conflict (409).
        let mut weight = done.json.clone();
        weight["code"] = json!({"coding": [{"system": "http://loinc.org", "code": "29463-7"}]});
        weight.as_object_mut().context("object")?.remove("component");
        weight["valueQuantity"] = json!({"value": 80, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"});
        let other = send(&app, "PUT", &path, &t, Some(&weight), Some("W/\"2\"")).await?;
        assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", other.json);
        let second = found.get(1).context("a second blood pressure")?["resource"].clone();
        let mut clash = done.json.clone();
        clash["effectiveDateTime"] = second["effectiveDateTime"].clone();
        let conflict = send(&app, "PUT", &path, &t, Some(&clash), Some("W/\"2\"")).await?;
        assert_eq!(conflict.status, StatusCode::CONFLICT, "{}", conflict.json);
        let mut wrong_id = done.json.clone();
        wrong_id["id"] = json!(uuid::Uuid::now_v7().to_string());
        assert_eq!(send(&app, "PUT", &path, &t, Some(&wrong_id), Some("W/\"2\"")).await?.status, StatusCode::BAD_REQUEST);
        let missing_id = uuid::Uuid::now_v7().to_string();
        let mut missing = done.json.clone();
        missing["id"] = json!(missing_id);
        let path_missing = format!("/fhir/r4/Observation/{missing_id}");
        assert_eq!(send(&app, "PUT", &path_missing, &t, Some(&missing), Some("W/\"2\"")).await?.status, StatusCode::NOT_FOUND);

        // Deleting is not something CarePact does through the API: an OperationOutcome says so.
        let delete = send(&app, "DELETE", &path, &t, None, None).await?;
        assert_eq!((delete.status, delete.json["resourceType"].as_str()), (StatusCode::METHOD_NOT_ALLOWED, Some("OperationOutcome")));
        let (audit, _, _) = app_token(&app, PERSON, PERSON, &["patient/AuditEvent.rs"]).await?;
        let write_log = send(&app, "POST", "/fhir/r4/AuditEvent", &audit, Some(&json!({"resourceType": "AuditEvent"})), None).await?;
        assert_eq!((write_log.status, write_log.json["resourceType"].as_str()), (StatusCode::METHOD_NOT_ALLOWED, Some("OperationOutcome")));

        // An app that may only read cannot correct.
        let (read_only, _, _) = app_token(&app, PERSON, PERSON, &["patient/Observation.rs"]).await?;
        assert_eq!(send(&app, "PUT", &path, &read_only, Some(&done.json), Some("W/\"2\"")).await?.status, StatusCode::FORBIDDEN);

        // A correction that crosses the agreed threshold raises the alert like a new reading.
        let mut high = done.json.clone();
        high["component"][0]["valueQuantity"]["value"] = json!(185);
        high["effectiveDateTime"] = json!(app.state.now().format(&time::format_description::well_known::Rfc3339)?);
        let mut nina = app.client().signed_in("nina.clarke@carepact.example").await?;
        assert!(!nina.get("/alerts").await?.contains("Amina Khan"), "no open alert for her yet");
        let raised = send(&app, "PUT", &path, &t, Some(&high), Some("W/\"2\"")).await?;
        assert_eq!(raised.status, StatusCode::OK, "{}", raised.json);
        let mut another = high.clone();
        another["id"] = json!(null);
        another.as_object_mut().context("object")?.remove("id");
        another.as_object_mut().context("object")?.remove("meta");
        another["status"] = json!("final");
        another["effectiveDateTime"] = json!((app.state.now() - time::Duration::hours(1)).format(&time::format_description::well_known::Rfc3339)?);
        let second_high = send(&app, "POST", "/fhir/r4/Observation", &t, Some(&another), None).await?;
        assert_eq!(second_high.status, StatusCode::CREATED, "{}", second_high.json);
        assert!(nina.get("/alerts").await?.contains("Amina Khan"), "the corrected reading counts towards the agreed alert");
        let status = get(&app, "/fhir/r4/Observation?status=corrected", &t).await?;
        assert_eq!(entries(&status.json).len(), 1, "only the corrected reading is corrected");
        let finals = get(&app, "/fhir/r4/Observation?status=final&code=85354-9&_count=1000", &t).await?;
        assert!(entries(&finals.json).iter().all(|e| e["resource"]["id"] != json!(id)));
        Ok(())
    }

    async fn observations_are_searched_by_category_status_and_include_the_patient(app: TestApp) {
        let (t, person, _) = app_token(&app, PERSON, PERSON, &["launch/patient", "patient/Observation.rs", "patient/Patient.r"]).await?;
        let vital = get(&app, "/fhir/r4/Observation?category=vital-signs&_count=1000", &t).await?;
        assert_eq!(vital.status, StatusCode::OK, "{}", vital.json);
        let all = entries(&vital.json);
        assert!(!all.is_empty());
        assert!(all.iter().all(|e| e["resource"]["category"][0]["coding"][0]["code"] == "vital-signs"));
        let with_system = get(&app, "/fhir/r4/Observation?category=http://terminology.hl7.org/CodeSystem/observation-category|vital-signs&_count=1000", &t).await?;
        assert_eq!(entries(&with_system.json).len(), all.len());
        let lab = get(&app, "/fhir/r4/Observation?category=laboratory&code=85354-9", &t).await?;
        assert!(entries(&lab.json).is_empty(), "a blood pressure is not a laboratory result");
        let either = get(&app, "/fhir/r4/Observation?code=85354-9,15074-8&_count=1000", &t).await?;
        let codes: std::collections::BTreeSet<String> = entries(&either.json).iter().filter_map(|e| e["resource"]["code"]["coding"][0]["code"].as_str().map(str::to_owned)).collect();
        assert!(codes.contains("85354-9"), "{codes:?}");
        assert!(codes.iter().all(|c| c == "85354-9" || c == "15074-8"), "{codes:?}");
        let none = get(&app, "/fhir/r4/Observation?status=preliminary", &t).await?;
        assert_eq!(none.status, StatusCode::OK);
        assert!(entries(&none.json).is_empty());
        let bad = get(&app, "/fhir/r4/Observation?status=sideways&_include=Observation:performer", &t).await?;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(diagnostics(&bad.json).contains("status") && diagnostics(&bad.json).contains("_include"), "{}", bad.json);

        // `_include` adds the person once, as an include.
        let included = get(&app, "/fhir/r4/Observation?code=85354-9&_count=3&_include=Observation:patient", &t).await?;
        let found = entries(&included.json);
        let patients: Vec<&Value> = found.iter().filter(|e| e["resource"]["resourceType"] == "Patient").collect();
        assert_eq!(patients.len(), 1, "{}", included.json);
        assert_eq!(patients[0]["search"]["mode"], "include");
        assert_eq!(patients[0]["resource"]["id"], person.0.to_string());
        assert_eq!(found.iter().filter(|e| e["search"]["mode"] == "match").count(), 3);
        // Without the Patient scope the include is left out, and the search still answers.
        let (no_patient, _, _) = app_token(&app, PERSON, PERSON, &["patient/Observation.rs"]).await?;
        let left_out = get(&app, "/fhir/r4/Observation?code=85354-9&_count=3&_include=Observation:subject", &no_patient).await?;
        assert_eq!(left_out.status, StatusCode::OK);
        assert!(entries(&left_out.json).iter().all(|e| e["resource"]["resourceType"] == "Observation"));
        // The record's types include the person the same way.
        let (record, _, _) = app_token(&app, PERSON, PERSON, &["patient/Condition.rs", "patient/Patient.r"]).await?;
        let conditions = get(&app, "/fhir/r4/Condition?_include=Condition:patient", &record).await?;
        assert_eq!(conditions.status, StatusCode::OK, "{}", conditions.json);
        let kinds: Vec<String> = entries(&conditions.json).iter().filter_map(|e| e["resource"]["resourceType"].as_str().map(str::to_owned)).collect();
        assert!(kinds.contains(&"Condition".to_owned()) && kinds.last().map(String::as_str) == Some("Patient"), "{kinds:?}");
        Ok(())
    }

    async fn a_professional_token_reaches_only_what_the_person_shares(app: TestApp) {
        let amina = person_id(&app, PERSON).await?;
        let nina = user_token(&app, "nina.clarke@carepact.example").await?;

        // A token holder names the person; Amina shares her readings with her named contact.
        let unnamed = get(&app, "/fhir/r4/Observation?code=85354-9", &nina).await?;
        assert_eq!(unnamed.status, StatusCode::BAD_REQUEST);
        assert!(diagnostics(&unnamed.json).contains("patient"), "{}", unnamed.json);
        let search = get(&app, &format!("/fhir/r4/Observation?patient=Patient/{}&code=85354-9&_count=2", amina.0), &nina).await?;
        assert_eq!(search.status, StatusCode::OK, "{}", search.json);
        let found = entries(&search.json);
        assert_eq!(found.len(), 2);
        let next = search.json["link"].as_array().context("links")?.iter().find(|l| l["relation"] == "next").context("next")?["url"].as_str().context("url")?.to_owned();
        let next_page = get(&app, &next[next.find("/fhir/r4/").context("path")?..], &nina).await?;
        assert_eq!(next_page.status, StatusCode::OK, "the next link names the person too");
        let id = found[0]["resource"]["id"].as_str().context("id")?.to_owned();
        let read = get(&app, &format!("/fhir/r4/Observation/{id}"), &nina).await?;
        assert_eq!(read.status, StatusCode::OK);
        assert_eq!(read.json["subject"]["reference"], format!("Patient/{}", amina.0));
        let patient = get(&app, &format!("/fhir/r4/Patient/{}", amina.0), &nina).await?;
        assert_eq!(patient.status, StatusCode::OK, "{}", patient.json);

        // Someone Amina does not share with sees nothing, and a refusal looks like nothing being there.
        let jo = user_token(&app, "jo.adeyemi@carepact.example").await?;
        let refused_read = get(&app, &format!("/fhir/r4/Observation/{id}"), &jo).await?;
        let absent_read = get(&app, &format!("/fhir/r4/Observation/{}", uuid::Uuid::now_v7()), &jo).await?;
        assert_eq!((refused_read.status, &refused_read.json), (absent_read.status, &absent_read.json));
        assert_eq!(refused_read.status, StatusCode::NOT_FOUND);
        let refused_search = get(&app, &format!("/fhir/r4/Observation?patient={}", amina.0), &jo).await?;
        let absent_search = get(&app, &format!("/fhir/r4/Observation?patient={}", uuid::Uuid::now_v7()), &jo).await?;
        assert_eq!((refused_search.status, &refused_search.json), (absent_search.status, &absent_search.json));
        assert_eq!(refused_search.status, StatusCode::NOT_FOUND);
        for path in [format!("/fhir/r4/Patient/{}", amina.0), format!("/fhir/r4/Patient/{}/$everything", amina.0), format!("/fhir/r4/Condition?patient={}", amina.0)] {
            assert_eq!(get(&app, &path, &jo).await?.status, StatusCode::NOT_FOUND, "{path}");
        }
        // Bulk export is for the person's own apps.
        assert_eq!(get(&app, "/fhir/r4/Patient/$export", &nina).await?.status, StatusCode::FORBIDDEN);

        // A revoked token stops at once.
        let email = carepact_domain::identity::Email::parse("nina.clarke@carepact.example").map_err(anyhow::Error::msg)?;
        let nina_user = carepact_store::users::find_by_email(&app.state.db, &email).await?.context("user")?;
        let listed = api_tokens::list_for_user(&app.state.db, nina_user.id).await?;
        let token_id = listed.first().context("her token")?.id;
        let revoked = api_tokens::revoke(&app.state.db, token_id, By::User(nina_user.id), app.state.now()).await?;
        assert_eq!(revoked, api_tokens::Revoked::Done);
        assert_eq!(get(&app, &format!("/fhir/r4/Observation/{id}"), &nina).await?.status, StatusCode::UNAUTHORIZED);

        // Amina's access log shows what her named contact read through the token, and the refusal is not hers
        // to worry about but is recorded too.
        let mut page = app.client().signed_in(PERSON).await?;
        let log = page.get("/access-log").await?;
        assert!(log.contains("Nina Clarke, through a connected system"), "{}", log.body);
        Ok(())
    }

    async fn a_professional_token_records_a_reading_as_the_professional(app: TestApp) {
        let amina = person_id(&app, PERSON).await?;
        let nina = user_token(&app, "nina.clarke@carepact.example").await?;
        let at = (app.state.now() - time::Duration::hours(2)).format(&time::format_description::well_known::Rfc3339)?;
        let weight = json!({
            "resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
            "subject": {"reference": format!("Patient/{}", amina.0)},
            "effectiveDateTime": at,
            "valueQuantity": {"value": 81.5, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"}
        });
        // Amina lets her named contact add to her readings: the reading is the nurse's, not a device's.
        let created = send(&app, "POST", "/fhir/r4/Observation", &nina, Some(&weight), None).await?;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.json);
        assert_eq!(created.json["performer"][0]["display"], "Nina Clarke");
        let mut amina_page = app.client().signed_in(PERSON).await?;
        let readings = amina_page.get(&format!("/records/{}/readings/weight", amina.0)).await?;
        assert!(readings.contains("81.5"), "{}", readings.body);

        // A token holder must say whose reading it is; someone she does not share with gets "not found".
        let mut no_subject = weight.clone();
        no_subject.as_object_mut().context("object")?.remove("subject");
        let refused = send(&app, "POST", "/fhir/r4/Observation", &nina, Some(&no_subject), None).await?;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.json);
        let jo = user_token(&app, "jo.adeyemi@carepact.example").await?;
        let other = send(&app, "POST", "/fhir/r4/Observation", &jo, Some(&weight), None).await?;
        assert_eq!(other.status, StatusCode::NOT_FOUND, "{}", other.json);
        Ok(())
    }

    async fn browser_apps_on_other_origins_may_call_the_api(app: TestApp) {
        let preflight = |path: &str| {
            Request::builder()
                .method("OPTIONS")
                .uri(path)
                .header(header::HOST, "127.0.0.1:8080")
                .header(header::ORIGIN, "https://diary.example")
                .header(header::ACCESS_CONTROL_REQUEST_METHOD, "PUT")
                .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "authorization, if-match, content-type")
                .body(Body::empty())
        };
        for path in ["/fhir/r4/Observation/0190e1c2-0000-7000-8000-000000000000", "/oauth/token", "/fhir/r4/metadata"] {
            let page = app.client().send(preflight(path)?).await?;
            assert!(page.status.is_success(), "{path}: {}", page.status);
            assert_eq!(page.headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).and_then(|v| v.to_str().ok()), Some("*"), "{path}");
            let methods = page.headers.get(header::ACCESS_CONTROL_ALLOW_METHODS).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
            assert!(methods.contains("PUT"), "{methods}");
            let allowed = page.headers.get(header::ACCESS_CONTROL_ALLOW_HEADERS).and_then(|v| v.to_str().ok()).unwrap_or_default().to_ascii_lowercase();
            assert!(allowed.contains("if-match") && allowed.contains("authorization"), "{allowed}");
        }
        let (t, _, _) = app_token(&app, PERSON, PERSON, &["patient/Observation.rs"]).await?;
        let req = Request::get("/fhir/r4/Observation?_count=1")
            .header(header::HOST, "127.0.0.1:8080")
            .header(header::ORIGIN, "https://diary.example")
            .header(header::AUTHORIZATION, format!("Bearer {t}"))
            .body(Body::empty())?;
        let page = app.client().send(req).await?;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(page.headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).and_then(|v| v.to_str().ok()), Some("*"));
        let exposed = page.headers.get(header::ACCESS_CONTROL_EXPOSE_HEADERS).and_then(|v| v.to_str().ok()).unwrap_or_default().to_ascii_lowercase();
        assert!(exposed.contains("etag") && exposed.contains("location"), "{exposed}");
        // The pages, which carry cookies, are not opened to other origins.
        let req = Request::get("/sign-in").header(header::HOST, "127.0.0.1:8080").header(header::ORIGIN, "https://diary.example").body(Body::empty())?;
        let page = app.client().send(req).await?;
        assert!(page.headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
        let (_, cap) = (StatusCode::OK, serde_json::from_str::<Value>(&app.client().get("/fhir/r4/metadata").await?.body)?);
        assert_eq!(cap["rest"][0]["security"]["cors"], true);
        Ok(())
    }

    async fn references_in_the_record_point_at_this_server(app: TestApp) {
        let (t, person, _) = app_token(&app, PERSON, PERSON, &["patient/*.rs"]).await?;
        let everything = get(&app, &format!("/fhir/r4/Patient/{}/$everything", person.0), &t).await?;
        assert_eq!(everything.status, StatusCode::OK);
        let text = everything.json.to_string();
        for source_id in ["Patient/amina", "Condition/diabetes", "Condition/hypertension", "Organization/riverside"] {
            assert!(!text.contains(&format!("\"{source_id}\"")), "{source_id} is the source's id");
        }
        let medicines = get(&app, "/fhir/r4/MedicationStatement?_count=100", &t).await?;
        let reasons: Vec<String> = entries(&medicines.json)
            .iter()
            .flat_map(|e| entries_of(&e["resource"]["reasonReference"]))
            .filter_map(|r| r["reference"].as_str().map(str::to_owned))
            .collect();
        assert!(!reasons.is_empty(), "Amina's medicines say what they are for");
        for reason in reasons {
            let condition = get(&app, &format!("/fhir/r4/{reason}"), &t).await?;
            assert_eq!((condition.status, condition.json["resourceType"].as_str()), (StatusCode::OK, Some("Condition")), "{reason}");
        }
        Ok(())
    }
}
