//! Importing FHIR records, on both backends: all or nothing, idempotent, references resolved, labels respected,
//! and synthetic records from carebundle (made by `scripts/fhir-test-data`).

mod support;

use std::path::{Path, PathBuf};

use anyhow::Context;
use carepact_domain::NhsNumber;
use carepact_domain::consent::{Action, Actor, Consent, Grantee, Labels, Request, Section, Sections, Sensitivity};
use carepact_domain::identity::{Email, PersonId};
use carepact_fhir::Kind;
use carepact_server::record_import::import_file;
use carepact_store::access::{Ask, Grant, authorize, authorize_labels, authorize_operator};
use carepact_store::record::{self, ImportMeta, ImportOutcome, ImportReport, TimelineFilter};
use carepact_store::{Db, consents, on_db, organisations, people, users};
use support::*;

fn fhir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fhir")
        .join(name)
}

fn meta() -> ImportMeta {
    ImportMeta {
        source: "test".into(),
        file_name: None,
        format: "",
        supplier: None,
        actor_organisation: None,
    }
}

async fn operator(app: &TestApp, person: PersonId, action: Action) -> anyhow::Result<Grant> {
    let request = Request {
        section: Section::Record,
        label: Sensitivity::General,
        action,
    };
    authorize_operator(
        &app.state.db,
        &app.state.audit,
        person,
        request,
        "test",
        app.state.now(),
    )
    .await?
    .map_err(|_| anyhow::anyhow!("operator refused"))
}

async fn import(app: &TestApp, person: PersonId, file: &Path) -> anyhow::Result<ImportOutcome> {
    let grant = operator(app, person, Action::Write).await?;
    import_file(&app.state.db, &grant, file, meta(), None, app.state.now())
        .await?
        .map_err(|_| anyhow::anyhow!("import refused"))
}

fn imported(outcome: ImportOutcome) -> anyhow::Result<ImportReport> {
    match outcome {
        ImportOutcome::Imported(r) => Ok(r),
        ImportOutcome::Rejected { problems, .. } => anyhow::bail!("rejected: {problems:?}"),
    }
}

async fn amina(app: &TestApp) -> anyhow::Result<PersonId> {
    let user = users::find_by_email(&app.state.db, &Email::parse(PERSON).map_err(anyhow::Error::msg)?)
        .await?
        .context("user")?;
    people::id_for_user(&app.state.db, user.id).await?.context("person")
}

/// Rows in every record table: what "the store is unchanged" means.
async fn record_rows(db: &Db) -> anyhow::Result<Vec<i64>> {
    let mut out = Vec::new();
    for table in ["record_imports", "record_items", "record_links", "people"] {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        let n: i64 = on_db!(db, read, |p| sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
            .fetch_one(p)
            .await)?;
        out.push(n);
    }
    Ok(out)
}

/// The first link or form action in `html` starting with `prefix`, up to its closing quote.
fn attr_link(html: &str, prefix: &str) -> Option<String> {
    let start = html.find(prefix)?;
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

fn nth_nhs_number(n: u32) -> NhsNumber {
    (n..)
        .find_map(|k| NhsNumber::parse(&format!("{}{}", 999_100_000 + k, check(999_100_000 + k)?)).ok())
        .unwrap_or_else(|| unreachable!())
}

fn check(first_nine: u32) -> Option<u8> {
    let digits: Vec<u8> = first_nine.to_string().bytes().map(|b| b - b'0').collect();
    carepact_domain::nhs_number::check_digit(&digits)
}

/// A `multipart/form-data` body as a browser sends the upload form: the CSRF token first (when given), then the file.
fn upload_body(csrf: Option<&str>, file_name: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----CarePactTestBoundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    if let Some(token) = csrf {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/json\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Opens the upload page and sends `file` from it.
async fn upload(client: &mut Client, base: &str, file_name: &str, bytes: &[u8]) -> anyhow::Result<Page> {
    let form = client.get(&format!("{base}/import")).await?;
    let csrf = form
        .csrf()
        .with_context(|| format!("no upload form: {} {}", form.status, form.h1()))?;
    let (content_type, body) = upload_body(Some(&csrf), file_name, bytes);
    client.post_raw(&format!("{base}/import"), &content_type, body).await
}

carepact_testkit::backend_tests! {
    fixture = app;

    async fn the_same_file_twice_is_one_copy_and_a_broken_file_changes_nothing(app: TestApp) {
        let person = amina(&app).await?;
        // The demo already imported Amina's GP record; the same file again adds nothing.
        let before = record_rows(&app.state.db).await?;
        let again = imported(import(&app, person, &fhir("gp-record-small.json")).await?)?;
        assert_eq!((again.added, again.updated, again.unchanged), (0, 0, 31));
        let again = imported(import(&app, person, &fhir("gp-record-small.json")).await?)?;
        assert_eq!((again.added, again.updated), (0, 0));
        let after = record_rows(&app.state.db).await?;
        assert_eq!(before[1..], after[1..], "no new items, links or people");

        let cases: [(&str, &[&str]); 6] = [
            ("broken-not-json.json", &[""]),
            ("broken-bundle-type.json", &["type"]),
            ("broken-entries.json", &["entry[1].resource.subject", "entry[3].resource.effectiveDateTime", "entry[4]"]),
            ("broken-two-patients.json", &["Patient|https://fhir.nhs.uk/Id/nhs-number|9990000026"]),
            ("broken-wrong-type.json", &["resourceType"]),
            ("broken-line.ndjson", &["line 3"]),
        ];
        for (file, paths) in cases {
            let before = record_rows(&app.state.db).await?;
            match import(&app, person, &fhir(file)).await? {
                ImportOutcome::Rejected { problems, total } => {
                    let found: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
                    for path in paths {
                        assert!(found.contains(path), "{file}: expected a problem at {path}, got {found:?}");
                    }
                    assert_eq!(total, problems.len());
                }
                other => panic!("{file} was not rejected: {other:?}"),
            }
            assert_eq!(record_rows(&app.state.db).await?, before, "{file} left the store unchanged");
        }
        Ok(())
    }

    async fn references_are_resolved_forwards_and_across_files(app: TestApp) {
        let person = amina(&app).await?;
        imported(import(&app, person, &fhir("gp-record-transaction.json")).await?)?;
        let read = operator(&app, person, Action::Read).await?;
        let page = record::timeline(&app.state.db, &read, &TimelineFilter { kinds: vec![Kind::Result], limit: 500, ..Default::default() })
            .await?
            .map_err(|_| anyhow::anyhow!("denied"))?;
        let mut forward = false;
        for row in &page.items {
            let detail = record::item(&app.state.db, &read, row.id).await?.map_err(|_| anyhow::anyhow!("denied"))?;
            forward |= detail.refers_to.iter().any(|(path, to)| path == "encounter.reference" && to.kind == "encounter");
        }
        assert!(forward, "an Observation refers to an Encounter later in the transaction file");
        // An NDJSON file whose references are relative ids resolves them too.
        let ndjson = imported(import(&app, person, &fhir("gp-record.ndjson")).await?)?;
        assert!(ndjson.links > 0);
        Ok(())
    }

    async fn the_summary_shows_current_items_and_the_latest_result_within_the_shared_labels(app: TestApp) {
        let person = amina(&app).await?;
        let owner = operator(&app, person, Action::Read).await?;
        let summary = record::summary(&app.state.db, &owner).await?.map_err(|_| anyhow::anyhow!("denied"))?;
        let titles = |rows: &[record::ItemRow]| rows.iter().map(|r| r.title.to_lowercase()).collect::<Vec<_>>().join("; ");
        assert!(titles(&summary.problems).contains("diabetes"), "{}", titles(&summary.problems));
        assert!(!summary.problems.iter().any(|r| r.status.as_deref() == Some("resolved")), "resolved problems are not current");
        assert!(titles(&summary.medicines).contains("metformin"));
        assert!(titles(&summary.allergies).contains("penicillin"));
        let hba1c: Vec<_> = summary.results.iter().filter(|r| r.title.to_lowercase().contains("hba1c")).collect();
        assert_eq!(hba1c.len(), 1, "one latest HbA1c: {hba1c:?}");
        let newest = record::timeline(&app.state.db, &owner, &TimelineFilter { kinds: vec![Kind::Result], limit: 500, ..Default::default() })
            .await?
            .map_err(|_| anyhow::anyhow!("denied"))?
            .items
            .into_iter()
            .filter(|r| r.title.to_lowercase().contains("hba1c"))
            .filter_map(|r| r.effective_date)
            .max();
        assert_eq!(hba1c[0].effective_date, newest);

        // Amina shares general items only with her practice: its GP sees the record without the labelled items.
        let db = &app.state.db;
        let org = organisations::find_by_name(db, "Riverside Medical Practice").await?.context("practice")?;
        let amina_user = users::find_by_email(db, &Email::parse(PERSON).map_err(anyhow::Error::msg)?).await?.context("user")?;
        let owner_actor = Actor { user: amina_user.id, roles: amina_user.roles.clone(), organisation: None };
        let ask = Ask { actor: &owner_actor, role: "person", on_behalf_of: None, person, request: Request { section: Section::Record, label: Sensitivity::General, action: Action::Write }, entity: "consents", purpose: "person-choice", as_owner: None };
        let own = authorize(db, &app.state.audit, &ask, app.state.now()).await?.map_err(|_| anyhow::anyhow!("own"))?;
        let consent = Consent {
            id: uuid::Uuid::now_v7(),
            grantee: Grantee::Organisation(org),
            sections: Sections::of(&[Section::Record]),
            labels: Labels::of(&[Sensitivity::General]),
            write: false,
            starts: app.state.now(),
            ends: None,
            revoked: None,
        };
        consents::give(db, &own, &consent, app.state.now()).await?.map_err(|_| anyhow::anyhow!("give"))?;
        let gp = users::find_by_email(db, &Email::parse(GP).map_err(anyhow::Error::msg)?).await?.context("gp")?;
        let gp_actor = Actor { user: gp.id, roles: gp.roles.clone(), organisation: gp.organisation_id };
        let ask = Ask { actor: &gp_actor, role: "professional", on_behalf_of: None, person, request: Request { section: Section::Record, label: Sensitivity::General, action: Action::Read }, entity: "record-summary", purpose: "direct-care", as_owner: None };
        let grant = authorize_labels(db, &app.state.audit, &ask, Labels::all(), app.state.now()).await?.map_err(|_| anyhow::anyhow!("gp"))?;
        assert_eq!(grant.labels(), Labels::of(&[Sensitivity::General]));
        let all = record::all_resources(db, &owner).await?.map_err(|_| anyhow::anyhow!("denied"))?;
        let seen = record::all_resources(db, &grant).await?.map_err(|_| anyhow::anyhow!("denied"))?;
        let labelled: Vec<_> = all.iter().filter(|(r, _)| r.label != "general").collect();
        assert!(labelled.len() >= 2, "the file has a mental-health and a sexual-health item");
        assert_eq!(seen.len(), all.len() - labelled.len());
        for (row, _) in &labelled {
            assert!(record::item(db, &grant, row.id).await?.is_err(), "a labelled item is not found by the GP");
        }
        Ok(())
    }

    async fn synthetic_records_from_carebundle_import_whole(app: TestApp) {
        let dir = std::env::var("CAREPACT_FHIR_TEST_DATA")
            .map(PathBuf::from)
            .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/fhir-test-data"));
        let bundles = dir.join("bundles");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&bundles)
            .with_context(|| format!("no carebundle data at {}: run scripts/fhir-test-data", bundles.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        assert!(files.len() >= 10, "carebundle made {} bundles", files.len());
        for (n, file) in files.iter().enumerate() {
            let person = people::create_without_account(
                &app.state.db,
                &nth_nhs_number(n as u32 * 3),
                "Test",
                &format!("Person {n}"),
                time::macros::date!(1960 - 01 - 01),
                app.state.now(),
            )
            .await?;
            let entries = serde_json::from_slice::<serde_json::Value>(&std::fs::read(file)?)?["entry"]
                .as_array()
                .map(Vec::len)
                .context("entries")?;
            let report = imported(import(&app, person, file).await?)?;
            assert_eq!(report.added as usize, entries, "{}", file.display());
            assert!(report.links > 0, "urn:uuid references resolved in {}", file.display());
            let again = imported(import(&app, person, file).await?)?;
            assert_eq!((again.added, again.unchanged as usize), (0, entries));
            let read = operator(&app, person, Action::Read).await?;
            let summary = record::summary(&app.state.db, &read).await?.map_err(|_| anyhow::anyhow!("denied"))?;
            assert!(!summary.results.is_empty(), "{} has results", file.display());
        }
        Ok(())
    }

    async fn the_person_reads_their_record_adds_a_note_and_asks_for_a_correction(app: TestApp) {
        let person = amina(&app).await?;
        let base = format!("/records/{person}");
        let mut amina = app.client().signed_in(PERSON).await?;
        assert!(amina.get("/").await?.contains(&base), "the home page links to the record");
        let front = amina.get(&base).await?;
        assert_eq!(front.status, axum::http::StatusCode::OK);
        for text in ["Current problems", "Current medicines", "Allergies", "Latest results", "Metformin", "Penicillin"] {
            assert!(front.body.to_lowercase().contains(&text.to_lowercase()), "the summary shows {text}");
        }
        let medicines = amina.get(&format!("{base}/timeline?kind=medication&from=&to=")).await?;
        assert!(medicines.contains("Metformin") && !medicines.contains("HbA1c"), "filtered by kind");
        let old = amina.get(&format!("{base}/timeline?kind=&from=2000-01-01&to=2002-12-31")).await?;
        assert!(old.body.to_lowercase().contains("penicillin") && !old.contains("Metformin"), "filtered by date");
        let bad = amina.get(&format!("{base}/timeline?from=31/12/2024&to=")).await?;
        assert!(bad.contains("nhsuk-error-summary") && bad.contains("Enter a date like 2024-03-31"));

        let db = &app.state.db;
        let owner = operator(&app, person, Action::Read).await?;
        let all = record::all_resources(db, &owner).await?.map_err(|_| anyhow::anyhow!("denied"))?;
        let metformin = all.iter().find(|(r, _)| r.title.contains("Metformin")).context("metformin")?.0.id;
        let item = format!("{base}/items/{metformin}");
        let page = amina.get(&item).await?;
        assert!(page.contains("Riverside Medical Practice"), "the item names its source");
        let empty = amina.submit(&item, &format!("{item}/notes"), &[("note", "  ")]).await?;
        assert!(empty.contains("Enter your note"));
        let noted = amina.submit(&item, &format!("{item}/notes"), &[("note", "I take this with breakfast.")]).await?;
        assert_eq!(noted.location(), Some(item.as_str()));
        assert!(amina.get(&item).await?.contains("I take this with breakfast."));
        let sent = amina.submit(&item, &format!("{item}/corrections"), &[("correction", "I stopped this in March.")]).await?;
        assert_eq!(sent.location(), Some(item.as_str()));
        let page = amina.get(&item).await?;
        assert!(page.contains("I stopped this in March.") && page.contains("Waiting for a reply"));
        let practice = organisations::find_by_name(db, "Riverside Medical Practice").await?.context("practice")?;
        assert_eq!(carepact_store::queries::addressed_to(db, practice).await?.len(), 1, "the request is in the practice's work list");

        // Someone without consent sees nothing, not even that the item exists.
        let mut gp = app.client().signed_in(GP).await?;
        assert_eq!(gp.get(&item).await?.status, axum::http::StatusCode::NOT_FOUND);
        assert_eq!(gp.get(&format!("{base}/timeline")).await?.status, axum::http::StatusCode::NOT_FOUND);
        let posted = gp.submit("/", &format!("{item}/notes"), &[("note", "x")]).await?;
        assert_eq!(posted.status, axum::http::StatusCode::NOT_FOUND);

        // The person's log names what was looked at and what they did.
        let title = &all.iter().find(|(r, _)| r.id == metformin).context("metformin")?.0.title;
        let log = amina.get("/access-log").await?;
        for line in [
            format!("Looked at &quot;{title}&quot; in your health record"),
            format!("You added a note to &quot;{title}&quot;"),
            format!("You said &quot;{title}&quot; is wrong or missing"),
            "Looked at the list of everything in your health record".to_owned(),
        ] {
            assert!(log.contains(&line) || log.contains(&line.replace("&quot;", "&#34;")), "{line}");
        }
        Ok(())
    }

    async fn the_person_downloads_everything_as_fhir_and_as_a_page(app: TestApp) {
        let person = amina(&app).await?;
        let base = format!("/records/{person}");
        let mut amina = app.client().signed_in(PERSON).await?;
        amina.get(&base).await?;
        let page = amina.get(&format!("{base}/export")).await?;
        assert_eq!(page.status, axum::http::StatusCode::OK);
        assert!(page.contains("Metformin") && page.contains("943 476 5919"));
        assert!(page.contains("readings. They are in the file as FHIR Observations."));
        let file = amina.get(&format!("{base}/export.json")).await?;
        assert_eq!(file.status, axum::http::StatusCode::OK);
        assert_eq!(file.headers.get("content-type").and_then(|v| v.to_str().ok()), Some("application/fhir+json"));
        let bundle: serde_json::Value = serde_json::from_str(&file.body)?;
        assert_eq!((bundle["resourceType"].as_str(), bundle["type"].as_str()), (Some("Bundle"), Some("collection")));
        let types: Vec<&str> = bundle["entry"]
            .as_array()
            .context("entries")?
            .iter()
            .filter_map(|e| e["resource"]["resourceType"].as_str())
            .collect();
        let count = |t: &str| types.iter().filter(|x| **x == t).count();
        assert_eq!(count("Patient"), 2, "CarePact's own details and the GP's Patient");
        assert!(count("Condition") >= 4 && count("DocumentReference") == 2);
        assert!(count("AuditEvent") >= 3, "the log comes too: {}", count("AuditEvent"));
        // Her months of home blood pressure readings come as the LOINC panel, about CarePact's Patient (the GP's
        // Observations are about theirs).
        let own = format!("urn:uuid:{}", person.0);
        let bp = bundle["entry"]
            .as_array()
            .context("entries")?
            .iter()
            .map(|e| &e["resource"])
            .filter(|r| r["resourceType"] == "Observation" && r["code"]["coding"][0]["code"] == "85354-9")
            .filter(|r| r["subject"]["reference"] == own.as_str())
            .count();
        assert!(bp >= 10, "blood pressure readings as Observations: {bp}");
        // Anyone else, even with consent, cannot export the person's record.
        let mut gp = app.client().signed_in(GP).await?;
        assert_eq!(gp.get(&format!("{base}/export.json")).await?.status, axum::http::StatusCode::NOT_FOUND);
        Ok(())
    }

    async fn the_practice_answers_a_correction_and_a_query_about_an_access(app: TestApp) {
        let person = amina(&app).await?;
        let base = format!("/records/{person}");
        let db = &app.state.db;
        let owner = operator(&app, person, Action::Read).await?;
        let all = record::all_resources(db, &owner).await?.map_err(|_| anyhow::anyhow!("denied"))?;
        let metformin = all.iter().find(|(r, _)| r.title.contains("Metformin")).context("metformin")?.0.id;
        let item = format!("{base}/items/{metformin}");
        let mut amina = app.client().signed_in(PERSON).await?;
        amina.submit(&item, &format!("{item}/corrections"), &[("correction", "I stopped this in March.")]).await?;

        // The practice's admin sees it in the work list, without any consent to the record, and answers it.
        let mut admin = app.client().signed_in(ORG_ADMIN).await?;
        let work = admin.get("/work").await?;
        assert!(work.contains("I stopped this in March.") && work.contains("Amina Khan"), "{}", work.body);
        let action = attr_link(&work.body, "/work/corrections/").context("answer form")?;
        let answered = admin.submit("/work", &action, &[("response", "Thank you: we have updated your medicines.")]).await?;
        assert_eq!(answered.location(), Some("/work"));
        assert!(admin.get("/work").await?.contains("There are no requests waiting."));
        let page = amina.get(&item).await?;
        assert!(page.contains("Thank you: we have updated your medicines.") && page.contains("Answered"));
        // Other organisations' staff see nothing of it.
        let mut nurse = app.client().signed_in("jo.adeyemi@carepact.example").await?;
        assert!(nurse.get("/work").await?.contains("There are no requests waiting."));

        // An access by the practice's GP (emergency access needs no consent), questioned by Amina.
        let mut gp = app.client().signed_in(GP).await?;
        let opened = gp
            .submit("/emergency-access", "/emergency-access", &[("nhs_number", "9434765919"), ("reason", "Unconscious in clinic; need her medicines."), ("confirm", "yes")])
            .await?;
        assert!(opened.location().is_some(), "emergency access opened");
        gp.get(&base).await?;
        let log = amina.get("/access-log").await?;
        let query = attr_link(&log.body, "/access-log/0").context("an 'I don't recognise this' link")?;
        let empty = amina.submit(&query, &query, &[("body", "")]).await?;
        assert!(empty.contains("nhsuk-error-summary") && empty.contains("recognise</a>"));
        let sent = amina.submit(&query, &query, &[("body", "I was not at the practice that day.")]).await?;
        assert_eq!(sent.location(), Some("/access-log"));
        let work = admin.get("/work").await?;
        assert!(work.contains("I was not at the practice that day.") && work.contains("Dr Sarah Patel"));
        Ok(())
    }
    async fn the_person_and_a_professional_they_let_write_add_files_from_the_upload_page(app: TestApp) {
        use axum::http::StatusCode;
        let person = amina(&app).await?;
        let base = format!("/records/{person}");
        let db = &app.state.db;
        let mut amina = app.client().signed_in(PERSON).await?;
        assert!(amina.get(&base).await?.contains(&format!("href=\"{base}/import\"")), "the person is offered the upload");

        // A broken file: refused whole, every problem listed, nothing stored.
        let before = record_rows(db).await?;
        let broken = std::fs::read(fhir("broken-entries.json"))?;
        let refused = upload(&mut amina, &base, "broken-entries.json", &broken).await?;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.contains("Nothing from the file has been added") && refused.contains("entry[1]") && refused.contains("entry[3]"), "{}", refused.body);
        assert_eq!(record_rows(db).await?, before);

        // No file chosen, a form without its CSRF token, and a file over the limit: clear answers, nothing stored.
        let empty = upload(&mut amina, &base, "", b"").await?;
        assert_eq!(empty.status, StatusCode::BAD_REQUEST);
        assert!(empty.contains("Select a file to upload"));
        let (content_type, body) = upload_body(None, "gp.json", &std::fs::read(fhir("gp-record-transaction.json"))?);
        let forged = amina.post_raw(&format!("{base}/import"), &content_type, body).await?;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
        let huge = upload(&mut amina, &base, "huge.json", &vec![b' '; carepact_server::record_import::UPLOAD_LIMIT + 1]).await?;
        assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(huge.contains("The file is too big to add here"));
        assert_eq!(record_rows(db).await?, before);

        // A good file is added; the same file again adds nothing.
        let good = std::fs::read(fhir("gp-record-transaction.json"))?;
        let added = upload(&mut amina, &base, "gp-record-transaction.json", &good).await?;
        assert_eq!(added.status, StatusCode::OK, "{}", added.body);
        assert!(added.contains("The file has been added to the record") && added.contains("gp-record-transaction.json"));
        let after = record_rows(db).await?;
        assert!(after[1] > before[1], "items were added: {before:?} → {after:?}");
        let again = upload(&mut amina, &base, "gp-record-transaction.json", &good).await?;
        assert!(again.contains("Everything in this file was already in the record"), "{}", again.body);
        assert_eq!(record_rows(db).await?[1], after[1]);

        // The practice's GP, with read-only consent, is not offered the upload and cannot use it.
        let org = organisations::find_by_name(db, "Riverside Medical Practice").await?.context("practice")?.to_string();
        let share = |access: &'static str| [("grantee", "organisation"), ("organisation", org.as_str()), ("sections", "record"), ("labels", "general"), ("access", access)];
        amina.submit("/sharing", "/sharing", &share("read")).await?;
        let mut gp = app.client().signed_in(GP).await?;
        let summary = gp.get(&base).await?;
        assert_eq!(summary.status, StatusCode::OK);
        assert!(!summary.contains(&format!("{base}/import")));
        assert_eq!(gp.get(&format!("{base}/import")).await?.status, StatusCode::NOT_FOUND);

        // With read-and-write consent the GP adds a file; the items are supplied by the practice, so corrections go to it.
        let sharing = amina.get("/sharing").await?;
        let revoke = attr_link(&sharing.body, "/sharing/").filter(|l| l.ends_with("/revoke")).context("revoke link")?;
        amina.submit("/sharing", &revoke, &[]).await?;
        amina.submit("/sharing", "/sharing", &share("write")).await?;
        assert!(gp.get(&base).await?.contains(&format!("href=\"{base}/import\"")));
        let ndjson = std::fs::read(fhir("gp-record.ndjson"))?;
        let by_gp = upload(&mut gp, &base, "gp-record.ndjson", &ndjson).await?;
        assert_eq!(by_gp.status, StatusCode::OK, "{}", by_gp.body);
        let supplied: Option<uuid::Uuid> = on_db!(db, read, |p| sqlx::query_scalar(
            "SELECT organisation_id FROM record_imports WHERE file_name = 'gp-record.ndjson'"
        )
        .fetch_optional(p)
        .await)?
        .flatten();
        assert_eq!(supplied.map(|u| u.to_string()), Some(org.clone()));
        // Every upload is decided and audited through the choke point: Amina's, and the GP's as a professional.
        let audited: Vec<String> = on_db!(db, read, |p| sqlx::query_scalar(
            "SELECT actor_role FROM audit_events WHERE person_id = $1 AND entity LIKE 'import-record%' AND action = 'write' \
             AND outcome LIKE 'permit%' ORDER BY occurred_at"
        )
        .bind(person.0)
        .fetch_all(p)
        .await)?;
        assert_eq!(audited.iter().filter(|r| *r == "person").count(), 5, "{audited:?}");
        assert_eq!(audited.iter().filter(|r| *r == "professional").count(), 1, "{audited:?}");
        Ok(())
    }
}
