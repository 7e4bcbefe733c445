//! FHIR Bulk Data Access (`Patient/$export`) through the real router, on both backends: the kick-off needs
//! `Prefer: respond-async` and checks its parameters; the export runs in the background and its manifest lists
//! NDJSON files per type with counts; every line is one of Amina's resources and none of David's; the files need
//! the same token's user and app; the token's scopes narrow what is exported; a cancelled export is gone.

mod support;

use std::collections::HashSet;

use anyhow::Context;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use carepact_domain::identity::PersonId;
use serde_json::Value;
use support::*;

const DAVID: &str = "david@carepact.example";

/// A token for `email`'s person from a newly registered app with these scopes, and the person's id.
async fn token(app: &TestApp, email: &str, scopes: &[&str]) -> anyhow::Result<(String, PersonId)> {
    let (token, person, _) = app_token(app, email, email, scopes).await?;
    Ok((token, person))
}

/// Sends a request; the answer's status, headers and body.
async fn call(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    prefer_async: bool,
) -> anyhow::Result<(StatusCode, HeaderMap, String)> {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, "127.0.0.1:8080")
        .header(header::ACCEPT, "application/fhir+json");
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    if prefer_async {
        req = req.header("prefer", "respond-async");
    }
    let page = app.client().send(req.body(Body::empty())?).await?;
    Ok((page.status, page.headers, page.body))
}

/// The path of an absolute address under the API.
fn path_of(url: &str) -> anyhow::Result<String> {
    let at = url.find("/fhir/r4").context("an address under /fhir/r4")?;
    Ok(url[at..].to_owned())
}

/// Starts an export; the status path.
async fn kick_off(app: &TestApp, token: &str, query: &str) -> anyhow::Result<String> {
    let (status, headers, body) = call(
        app,
        "GET",
        &format!("/fhir/r4/Patient/$export{query}"),
        Some(token),
        true,
    )
    .await?;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let location = headers
        .get(header::CONTENT_LOCATION)
        .and_then(|v| v.to_str().ok())
        .context("Content-Location")?;
    assert!(location.contains("/fhir/r4/$export-status/"), "{location}");
    path_of(location)
}

/// Polls the status until the export is done; the manifest.
async fn finished(app: &TestApp, token: &str, status_path: &str) -> anyhow::Result<Value> {
    for _ in 0..300 {
        let (status, headers, body) = call(app, "GET", status_path, Some(token), false).await?;
        match status {
            StatusCode::ACCEPTED => {
                assert!(headers.contains_key("x-progress"));
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            StatusCode::OK => return Ok(serde_json::from_str(&body)?),
            other => anyhow::bail!("status {other}: {body}"),
        }
    }
    anyhow::bail!("the export did not finish")
}

/// Every resource in the manifest's files, by type, checking each file's count.
async fn resources(app: &TestApp, token: &str, manifest: &Value) -> anyhow::Result<Vec<(String, Value)>> {
    let mut out = Vec::new();
    for file in manifest["output"].as_array().context("output")? {
        let t = file["type"].as_str().context("type")?.to_owned();
        let (status, headers, body) = call(
            app,
            "GET",
            &path_of(file["url"].as_str().context("url")?)?,
            Some(token),
            false,
        )
        .await?;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(headers[header::CONTENT_TYPE], "application/fhir+ndjson");
        let lines: Vec<&str> = body.lines().collect();
        assert_eq!(lines.len() as u64, file["count"].as_u64().context("count")?, "{t}");
        for line in lines {
            let v: Value = serde_json::from_str(line).with_context(|| format!("a JSON line: {line}"))?;
            assert_eq!(v["resourceType"], t.as_str());
            out.push((t.clone(), v));
        }
    }
    Ok(out)
}

fn types(manifest: &Value) -> HashSet<String> {
    manifest["output"]
        .as_array()
        .map(|o| o.iter().filter_map(|f| f["type"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// The patient a resource is about, where it says.
fn patient_of(v: &Value) -> Option<&str> {
    ["subject", "patient", "for"]
        .iter()
        .find_map(|f| v.get(*f).and_then(|r| r["reference"].as_str()))
}

carepact_testkit::backend_tests! {
    fixture = app;

    async fn a_person_exports_everything_of_theirs_and_nothing_of_anyone_else(app: TestApp) {
        let (amina, amina_id) = token(&app, PERSON, &["patient/*.rs"]).await?;
        let (david, david_id) = token(&app, DAVID, &["patient/*.rs"]).await?;

        // The capability statement offers it.
        let (_, _, cap) = call(&app, "GET", "/fhir/r4/metadata", None, false).await?;
        let cap: Value = serde_json::from_str(&cap)?;
        assert_eq!(cap["rest"][0]["operation"][0]["name"], "export");

        // Kick-off: asynchronous only, NDJSON only, known types only, a token needed.
        let (status, _, body) = call(&app, "GET", "/fhir/r4/Patient/$export", Some(&amina), false).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body.contains("OperationOutcome") && body.contains("respond-async"), "{body}");
        for query in ["?_outputFormat=text/csv", "?_type=Spaceship", "?_since=yesterday", "?_typeFilter=x"] {
            let (status, _, body) =
                call(&app, "GET", &format!("/fhir/r4/Patient/$export{query}"), Some(&amina), true).await?;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
            assert!(body.contains("OperationOutcome"));
        }
        let (status, _, _) = call(&app, "GET", "/fhir/r4/Patient/$export", None, true).await?;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, _, _) =
            call(&app, "GET", &format!("/fhir/r4/Patient/{}/$export", david_id.0), Some(&amina), true).await?;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // David's own export, to know what is his.
        let david_status = kick_off(&app, &david, "").await?;
        let david_manifest = finished(&app, &david, &david_status).await?;
        let david_ids: HashSet<String> = resources(&app, &david, &david_manifest)
            .await?
            .into_iter()
            .filter(|(t, _)| t != "AuditEvent")
            .filter_map(|(_, v)| v["id"].as_str().map(str::to_owned))
            .collect();
        assert!(!david_ids.is_empty());

        // Amina's, through her own id.
        let (status, headers, _) = call(
            &app,
            "GET",
            &format!("/fhir/r4/Patient/{}/$export?_outputFormat=application%2Ffhir%2Bndjson", amina_id.0),
            Some(&amina),
            true,
        )
        .await?;
        assert_eq!(status, StatusCode::ACCEPTED);
        let status_path = path_of(headers[header::CONTENT_LOCATION].to_str()?)?;
        // Someone else's status is not found.
        let (status, _, _) = call(&app, "GET", &status_path, Some(&david), false).await?;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let manifest = finished(&app, &amina, &status_path).await?;
        assert_eq!(manifest["requiresAccessToken"], true);
        assert!(manifest["transactionTime"].is_string());
        assert!(manifest["request"].as_str().is_some_and(|r| r.contains("$export")));
        assert_eq!(manifest["error"], serde_json::json!([]));
        let listed = types(&manifest);
        for t in ["Patient", "Observation", "Condition", "Consent"] {
            assert!(listed.contains(t), "{t} missing from {listed:?}");
        }
        let all = resources(&app, &amina, &manifest).await?;
        let patients: Vec<&Value> = all.iter().filter(|(t, _)| t == "Patient").map(|(_, v)| v).collect();
        assert_eq!(patients.len(), 1);
        assert_eq!(patients[0]["id"], amina_id.0.to_string());
        let hers = format!("Patient/{}", amina_id.0);
        let his = david_id.0.to_string();
        for (t, v) in &all {
            if let Some(p) = patient_of(v) {
                assert_eq!(p, hers, "{t} {v}");
            }
            assert!(!v.to_string().contains(&his), "David's id in Amina's {t}: {v}");
            if t != "AuditEvent" {
                let id = v["id"].as_str().unwrap_or("");
                assert!(!david_ids.contains(id), "David's {t} {id} in Amina's export");
            }
        }

        // The files need the token, and the same app's.
        let first = path_of(manifest["output"][0]["url"].as_str().context("url")?)?;
        let (status, _, _) = call(&app, "GET", &first, None, false).await?;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (other_app, _) = token(&app, PERSON, &["patient/*.rs"]).await?;
        let (status, _, _) = call(&app, "GET", &first, Some(&other_app), false).await?;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _, _) = call(&app, "GET", &first, Some(&david), false).await?;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _, _) = call(&app, "GET", &status_path, Some(&other_app), false).await?;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // Cancelling (discarding) it: then it is gone.
        let (status, _, _) = call(&app, "DELETE", &status_path, Some(&amina), false).await?;
        assert_eq!(status, StatusCode::ACCEPTED);
        let (status, _, _) = call(&app, "GET", &status_path, Some(&amina), false).await?;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _, _) = call(&app, "GET", &first, Some(&amina), false).await?;
        assert_eq!(status, StatusCode::NOT_FOUND);
        Ok(())
    }

    async fn the_token_scopes_and_the_type_list_narrow_the_export(app: TestApp) {
        let (readings_only, _) = token(&app, PERSON, &["patient/Observation.rs"]).await?;
        let status_path = kick_off(&app, &readings_only, "").await?;
        let manifest = finished(&app, &readings_only, &status_path).await?;
        assert_eq!(types(&manifest), HashSet::from(["Observation".to_owned()]));
        let all = resources(&app, &readings_only, &manifest).await?;
        assert!(!all.is_empty());

        // Asking only for types the scopes do not reach is forbidden.
        let (status, _, body) =
            call(&app, "GET", "/fhir/r4/Patient/$export?_type=Condition", Some(&readings_only), true).await?;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

        // `_type` narrows an everything token.
        let (everything, _) = token(&app, PERSON, &["patient/*.read"]).await?;
        let status_path = kick_off(&app, &everything, "?_type=Patient,Condition").await?;
        let manifest = finished(&app, &everything, &status_path).await?;
        assert_eq!(
            types(&manifest),
            HashSet::from(["Patient".to_owned(), "Condition".to_owned()])
        );

        // Cancelling a running or finished export, then the status is gone.
        let status_path = kick_off(&app, &everything, "").await?;
        let (status, _, _) = call(&app, "DELETE", &status_path, Some(&everything), false).await?;
        assert_eq!(status, StatusCode::ACCEPTED);
        let (status, _, _) = call(&app, "GET", &status_path, Some(&everything), false).await?;
        assert_eq!(status, StatusCode::NOT_FOUND);
        Ok(())
    }
}
