//! Readings from a CSV file through the upload page, on both backends: ten thousand readings are added in one go
//! and counted, bad rows are listed by line and never stop the rest, the same file again adds nothing; a
//! professional without consent sees nothing; a column the file does not have is named on the form; and high blood
//! pressure readings in a file raise the alert agreed in the plan, linked from the report.

mod support;

use anyhow::Context;
use axum::http::StatusCode;
use support::*;
use time::{Duration, OffsetDateTime};

const NINA: &str = "nina.clarke@carepact.example";

/// A `multipart/form-data` body as a browser sends the upload form: the CSRF token first, the other fields, the file.
fn upload_body(csrf: &str, fields: &[(&str, &str)], file_name: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----CarePactReadingsBoundary4k2J9xQ";
    let mut body = Vec::new();
    for (name, value) in std::iter::once(("csrf_token", csrf)).chain(fields.iter().copied()) {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
             Content-Type: text/csv\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// The form's fields as a browser sends them untouched: the usual unit and column names, and the measure.
fn form_for(measure: &str) -> Vec<(&str, &str)> {
    vec![
        ("measure", measure),
        ("unit", "standard"),
        ("col_date", "date"),
        ("col_value", "value"),
        ("col_systolic", "systolic"),
        ("col_diastolic", "diastolic"),
        ("col_pulse", "pulse"),
        ("col_note", "note"),
    ]
}

/// Opens the upload page and sends `bytes` from it with `fields`.
async fn upload(
    client: &mut Client,
    base: &str,
    fields: &[(&str, &str)],
    file_name: &str,
    bytes: &[u8],
) -> anyhow::Result<Page> {
    let url = format!("{base}/readings/upload");
    let form = client.get(&url).await?;
    let csrf = form
        .csrf()
        .with_context(|| format!("no upload form: {} {}", form.status, form.h1()))?;
    let (content_type, body) = upload_body(&csrf, fields, file_name, bytes);
    client.post_raw(&url, &content_type, body).await
}

/// The value shown against `key` in the report's summary list.
fn count(page: &Page, key: &str) -> Option<String> {
    let marker = format!("<dt class=\"nhsuk-summary-list__key\">{key}</dt>");
    let at = page.body.find(&marker)? + marker.len();
    let rest = &page.body[at..];
    let start =
        rest.find("<dd class=\"nhsuk-summary-list__value\">")? + "<dd class=\"nhsuk-summary-list__value\">".len();
    let end = rest[start..].find("</dd>")? + start;
    Some(rest[start..end].trim().to_owned())
}

/// The line numbers in the report's table of rows not added.
fn problem_lines(page: &Page) -> Vec<u64> {
    let Some(table) = page.body.split("id=\"problems\"").nth(1) else {
        return Vec::new();
    };
    let body = table.split("</table>").next().unwrap_or("");
    body.split("<tr>")
        .skip(2)
        .filter_map(|row| row.split("<td>").nth(1)?.split("</td>").next()?.trim().parse().ok())
        .collect()
}

/// True when the page's text (with HTML escapes undone) contains `text`.
fn says(page: &Page, text: &str) -> bool {
    page.body
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
        .contains(text)
}

fn ymd_hm(t: OffsetDateTime) -> String {
    format!("{} {:02}:{:02}", t.date(), t.hour(), t.minute())
}

/// Ten thousand hourly blood glucose readings going back from `now`, in each of the accepted date forms, with a
/// byte order mark, CRLF line ends and quoted notes; then three bad rows and two repeated rows. Returns the file and
/// the lines of the bad rows.
fn glucose_file(now: OffsetDateTime) -> (Vec<u8>, Vec<u64>) {
    let mut rows: Vec<String> = (0..10_000_i64)
        .map(|k| {
            // 17 minutes past the hour, so no row lands on a demo reading (those are on the hour).
            let at = now - Duration::hours(k + 1) - Duration::minutes(17);
            let when = match k % 3 {
                0 => format!("{}T{:02}:{:02}:00Z", at.date(), at.hour(), at.minute()),
                1 => ymd_hm(at),
                _ => format!(
                    "{:02}/{:02}/{} {:02}:{:02}",
                    at.day(),
                    u8::from(at.month()),
                    at.year(),
                    at.hour(),
                    at.minute()
                ),
            };
            let value = format!("{}.{}", 4 + (k % 60) / 10, k % 10);
            let note = if k % 500 == 0 {
                "\"after breakfast, \"\"big\"\" one\""
            } else {
                ""
            };
            format!("{when},{value},{note}")
        })
        .collect();
    let repeated = [rows[0].clone(), rows[1].clone()];
    // Bad rows among the good ones: line = index + 2 (the header is line 1).
    let bad = [
        (10, "2026-13-45 08:00,7.1,".to_owned()),
        (
            5_001,
            format!("{},seven,", ymd_hm(now - Duration::days(3) - Duration::minutes(5))),
        ),
        (
            10_002,
            format!("{},75.0,", ymd_hm(now - Duration::days(2) - Duration::minutes(5))),
        ),
    ];
    for (i, row) in &bad {
        rows.insert(*i, row.clone());
    }
    rows.extend(repeated);
    let mut file = b"\xEF\xBB\xBFDate,Value,Note\r\n".to_vec();
    for row in rows {
        file.extend_from_slice(row.as_bytes());
        file.extend_from_slice(b"\r\n");
    }
    (file, bad.iter().map(|(i, _)| *i as u64 + 2).collect())
}

carepact_testkit::backend_tests! {
    fixture = app;

    async fn ten_thousand_readings_are_added_and_counted_and_bad_rows_are_listed(app: TestApp) {
        let base = amina_base(&app).await?;
        let mut amina = app.client().signed_in(PERSON).await?;
        let readings = amina.get(&format!("{base}/readings")).await?;
        assert!(readings.contains(&format!("href=\"{base}/readings/upload\"")), "the readings page links to the upload");
        let form = amina.get(&format!("{base}/readings/upload")).await?;
        assert_eq!(form.status, StatusCode::OK);
        assert!(form.contains("enctype=\"multipart/form-data\"") && form.contains("15/03/2026 08:30"), "{}", form.body);

        let now = app.state.now();
        let (file, bad_lines) = glucose_file(now);
        let report = upload(&mut amina, &base, &form_for("blood-glucose"), "meter-export.csv", &file).await?;
        assert_eq!(report.status, StatusCode::OK, "{}", report.h1());
        assert_eq!(count(&report, "Rows of readings in the file").as_deref(), Some("10,005"), "{}", report.body);
        assert_eq!(count(&report, "Readings added").as_deref(), Some("10,000"));
        assert_eq!(count(&report, "Already in CarePact, so skipped").as_deref(), Some("0"));
        assert_eq!(count(&report, "Repeated in the file, so skipped").as_deref(), Some("2"));
        assert_eq!(count(&report, "Not added because of a problem").as_deref(), Some("3"));
        assert_eq!(problem_lines(&report), bad_lines);
        assert!(says(&report, "The date and time \"2026-13-45 08:00\" cannot be read."), "{}", report.body);
        assert!(says(&report, "\"seven\" in the \"Value\" column is not a number."));
        assert!(says(&report, "75.0 in the \"Value\" column is not between 0.5 and 50.0 mmol/L."));
        assert!(report.contains("meter-export.csv"));

        // The newest reading is on the readings page, at the time the file gave it, with its source.
        let overview = amina.get(&format!("{base}/readings")).await?;
        let newest = now - Duration::hours(1) - Duration::minutes(17);
        assert!(overview.contains(&format!("{} November 2026 {:02}:{:02} UTC", newest.day(), newest.hour(), newest.minute())), "{}", overview.body);

        // The same file again adds nothing: every reading is already there.
        let again = upload(&mut amina, &base, &form_for("blood-glucose"), "meter-export.csv", &file).await?;
        assert_eq!(count(&again, "Readings added").as_deref(), Some("0"), "{}", again.body);
        assert_eq!(count(&again, "Already in CarePact, so skipped").as_deref(), Some("10,000"));
        assert_eq!(count(&again, "Repeated in the file, so skipped").as_deref(), Some("2"));
        assert_eq!(count(&again, "Not added because of a problem").as_deref(), Some("3"));
        assert!(again.contains("No new readings were added."));
        Ok(())
    }

    async fn a_professional_without_consent_cannot_open_or_post_the_upload(app: TestApp) {
        let base = amina_base(&app).await?;
        let url = format!("{base}/readings/upload");
        let mut gp = app.client().signed_in(GP).await?;
        assert_eq!(gp.get(&url).await?.status, StatusCode::NOT_FOUND);
        // A token from a page the GP may open: the refusal comes from the consent check, not the CSRF check.
        let csrf = gp.get("/").await?.csrf().context("home page token")?;
        let (content_type, body) = upload_body(&csrf, &form_for("blood-glucose"), "x.csv", b"date,value\n2026-11-20 08:00,7.0\n");
        let refused = gp.post_raw(&url, &content_type, body).await?;
        assert_eq!(refused.status, StatusCode::NOT_FOUND);
        assert!(!refused.contains("Readings added"));
        Ok(())
    }

    async fn a_column_the_file_does_not_have_is_named_on_the_form(app: TestApp) {
        let base = amina_base(&app).await?;
        let mut amina = app.client().signed_in(PERSON).await?;
        let file = b"Date,Glucose (mmol/L)\n2026-11-20 08:00,7.0\n";
        let missing = upload(&mut amina, &base, &form_for("blood-glucose"), "g.csv", file).await?;
        assert_eq!(missing.status, StatusCode::BAD_REQUEST);
        assert!(
            says(&missing, "The file has no column called \"value\". Its columns are: \"Date\", \"Glucose (mmol/L)\""),
            "{}",
            missing.body
        );
        assert!(says(&missing, "href=\"#col_value\""), "the error summary links to the field");
        assert!(!missing.contains("Readings added"));
        // Named as in the file (any capitals), it is read.
        let mut fields = form_for("blood-glucose");
        fields[3] = ("col_value", " GLUCOSE (mmol/l) ");
        let taken = upload(&mut amina, &base, &fields, "g.csv", file).await?;
        assert_eq!(count(&taken, "Readings added").as_deref(), Some("1"), "{}", taken.body);
        // An empty file, a file that is not CSV and a unit that does not fit are form errors too.
        let empty = upload(&mut amina, &base, &form_for("blood-glucose"), "g.csv", b"").await?;
        assert_eq!(empty.status, StatusCode::BAD_REQUEST);
        assert!(empty.contains("The file is empty"), "{}", empty.body);
        let binary = upload(&mut amina, &base, &form_for("blood-glucose"), "g.xlsx", b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00").await?;
        assert_eq!(binary.status, StatusCode::BAD_REQUEST);
        assert!(binary.contains("This is not a CSV file."), "{}", binary.body);
        let mut fields = form_for("blood-pressure");
        fields[1] = ("unit", "mg-dl");
        let unit = upload(&mut amina, &base, &fields, "bp.csv", b"date,systolic,diastolic\n2026-11-20 08:00,120,80\n").await?;
        assert!(unit.contains("mg/dL is for blood glucose"), "{}", unit.body);
        // A file over the limit is a form error (with the choices kept), not a failure.
        let mut huge = b"date,value\n".to_vec();
        huge.resize(33 * 1024 * 1024, b'7');
        // Sent in pieces, as a browser sends it, so the fields before the file arrive before the limit is reached.
        let url = format!("{base}/readings/upload");
        let csrf = amina.get(&url).await?.csrf().context("upload form")?;
        let (content_type, body) = upload_body(&csrf, &form_for("blood-glucose"), "huge.csv", &huge);
        let pieces: Vec<Result<Vec<u8>, std::io::Error>> = body.chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
        // Each piece waits a moment, as pieces from a network do.
        let streamed = axum::body::Body::from_stream(futures_util::StreamExt::then(
            futures_util::stream::iter(pieces),
            |piece| async move {
                tokio::task::yield_now().await;
                piece
            },
        ));
        let too_big = amina.post_raw(&url, &content_type, streamed).await?;
        assert_eq!(too_big.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(too_big.contains("The file is too big") && too_big.contains("value=\"blood-glucose\" selected"), "{}", too_big.body);
        Ok(())
    }

    async fn high_blood_pressure_in_a_file_raises_the_agreed_alert(app: TestApp) {
        let base = amina_base(&app).await?;
        // Her named contact adds readings Amina sent her, from a spreadsheet.
        let mut nina = app.client().signed_in(NINA).await?;
        let now = app.state.now();
        let file = format!(
            "Date,Systolic,Diastolic\n{},138,84\n{},170,100\n{},165,95\n",
            ymd_hm(now - Duration::days(4)),
            ymd_hm(now - Duration::days(2)),
            ymd_hm(now - Duration::hours(1)),
        );
        let report = upload(&mut nina, &base, &form_for("blood-pressure"), "home-bp.csv", file.as_bytes()).await?;
        assert_eq!(count(&report, "Readings added").as_deref(), Some("3"), "{}", report.body);
        assert!(report.contains("A reading in this file matches an alert agreed in the care plan."));
        assert!(report.contains("Your blood pressure has been above 160 twice this week."));
        assert!(says(&report, "The file has no column called \"pulse\", so no pulse readings were added."));
        let marker = format!("href=\"{base}/alerts/");
        let at = report.body.find(&marker).context("a link to the alert")? + "href=\"".len();
        let alert = report.body[at..].split('"').next().context("alert link")?.to_owned();
        let page = nina.get(&alert).await?;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.contains("170/100 mmHg") && page.contains("165/95 mmHg"), "{}", page.body);
        assert!(nina.get("/alerts").await?.contains("Amina Khan"), "the alert is on the named contact's list");
        Ok(())
    }
}
