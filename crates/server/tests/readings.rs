//! Readings, agreed alert rules and alerts through the pages, on both backends: a professional without consent
//! sees nothing; an implausible reading is refused with its range; a rule agreed in the plan fires on the second
//! high reading within a week, shows the person the agreed advice, reaches the named contact's alert list and an
//! email with no clinical detail; acknowledging clears it; an alert nobody acknowledges is passed up a level.

mod support;

use anyhow::Context;
use axum::http::StatusCode;
use carepact_server::mail;
use support::*;

const NINA: &str = "nina.clarke@carepact.example";

/// The plan's latest version, from the hidden field of an edit form.
fn plan_version(html: &str) -> Option<String> {
    let at = html.find("name=\"version\" value=\"")? + "name=\"version\" value=\"".len();
    Some(html[at..].split('"').next()?.to_owned())
}

fn bp<'a>(systolic: &'a str, diastolic: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![("systolic", systolic), ("diastolic", diastolic), ("pulse", "")]
}

carepact_testkit::backend_tests! {
    fixture = app;

    async fn a_rule_agreed_in_the_plan_raises_an_alert_the_named_contact_acknowledges(app: TestApp) {
        let sink = SmtpSink::start()?;
        // The demo's outbox is delivered first, so only what this test sends is counted.
        let transport = mail::transport(&sink.url())?;
        mail::deliver_due(&app.state, &transport).await?;
        let earlier = sink.messages()?.len();
        let base = amina_base(&app).await?;
        let mut amina = app.client().signed_in(PERSON).await?;
        let mut gp = app.client().signed_in(GP).await?;
        let readings = format!("{base}/readings");
        let new_bp = format!("{readings}/new/blood-pressure");

        // Without consent the GP sees nothing, not even the form; Amina's named contact, Nina, sees her readings.
        assert_eq!(gp.get(&readings).await?.status, StatusCode::NOT_FOUND);
        assert_eq!(gp.get(&new_bp).await?.status, StatusCode::NOT_FOUND);
        assert!(!gp.get("/alerts").await?.contains("Amina Khan"));

        // An implausible reading is refused, naming the range; nothing is stored.
        let before = amina.get(&format!("{readings}/blood-pressure?days=7")).await?;
        let bad = amina.submit(&new_bp, &new_bp, &bp("400", "90")).await?;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(bad.contains("Enter a reading between 50 and 300 mmHg"), "{}", bad.body);
        let order = amina.submit(&new_bp, &new_bp, &bp("80", "95")).await?;
        assert!(order.contains("must be less than the higher number"));
        assert_eq!(amina.get(&format!("{readings}/blood-pressure?days=7")).await?.body, before.body);

        // Her named contact adds a rule to her plan; a rule without a threshold or advice is refused.
        let mut nina = app.client().signed_in(NINA).await?;
        let rule_form = format!("{base}/plan/edit/rules");
        let version = plan_version(&nina.get(&rule_form).await?.body).context("plan version")?;
        let mut rule = vec![("version", version.as_str()), ("component", "heart-rate:value"), ("comparison", "above"), ("threshold", ""), ("times", "1"), ("within_days", "1"), ("tell", "named-contact"), ("urgent", "no"), ("advice", ""), ("escalate_after_hours", "24")];
        let refused = nina.submit(&rule_form, &rule_form, &rule).await?;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        assert!(refused.contains("Enter the threshold") && refused.contains("Write the advice the person will see"));
        rule[3] = ("threshold", "120");
        rule[8] = ("advice", "Sit down and rest, then measure again.");
        let saved = nina.submit(&rule_form, &rule_form, &rule).await?;
        assert_eq!(saved.location(), Some(format!("{base}/plan#rules").as_str()), "{}", saved.body);
        let plan = amina.get(&format!("{base}/plan")).await?;
        assert!(plan.contains("If Heart rate is above 120 beats a minute on any reading,"), "{}", plan.body);
        assert!(plan.contains("If Systolic (the higher number, mmHg) is above 160 mmHg on 2 readings within 7 days,"));
        assert!(plan.contains("Changed since it was agreed"), "a new rule is a change to the agreed plan");
        let rate = format!("{readings}/new/heart-rate");
        let fast = amina.submit(&rate, &rate, &[("value", "130")]).await?;
        let fast_alert = fast.location().context("heart-rate alert")?.to_owned();
        assert!(amina.get(&fast_alert).await?.contains("Sit down and rest, then measure again."));
        let quiet = amina.submit(&rate, &rate, &[("value", "72"), ("when_day", "1"), ("when_month", "1"), ("when_year", "2026")]).await?;
        assert_eq!(quiet.location(), Some(format!("{readings}/heart-rate").as_str()));
        nina.submit(&fast_alert, &format!("{fast_alert}/acknowledge"), &[]).await?;

        // One high reading: saved, no alert.
        let first = amina.submit(&new_bp, &new_bp, &bp("165", "95")).await?;
        assert_eq!(first.location(), Some(format!("{readings}/blood-pressure").as_str()));
        app.advance(time::Duration::hours(26));
        // Sessions end after 30 idle minutes: both sign in again.
        (amina, nina) = (app.client().signed_in(PERSON).await?, app.client().signed_in(NINA).await?);
        // The second within the week: straight to the agreed advice.
        let second = amina.submit(&new_bp, &new_bp, &bp("170", "100")).await?;
        let alert = second.location().context("alert")?.to_owned();
        assert!(alert.starts_with(&format!("{base}/alerts/")), "{alert}");
        let page = amina.get(&alert).await?;
        assert!(page.contains("Sit quietly for five minutes and measure it again.") && page.contains("170/100 mmHg") && page.contains("165/95 mmHg"), "{}", page.body);
        let chart = amina.get(&format!("{readings}/blood-pressure?days=7")).await?;
        assert!(chart.contains("<svg") && chart.contains("role=\"img\"") && chart.contains("The latest was 170/100 mmHg"), "{}", chart.body);

        // The named contact sees it, by notification and an email that says nothing clinical.
        let list = nina.get("/alerts").await?;
        assert!(list.contains("Amina Khan") && list.contains("Blood pressure"), "{}", list.body);
        assert!(nina.get("/notifications").await?.contains("A reading or answer needs attention"));
        mail::deliver_due(&app.state, &transport).await?;
        let mail: Vec<String> = sink.messages()?.into_iter().skip(earlier).collect();
        let to_nina: Vec<&String> = mail.iter().filter(|m| m.contains(NINA)).collect();
        assert_eq!(to_nina.len(), 2, "one for the heart rate, one for the blood pressure: {mail:?}");
        for m in to_nina {
            let body = m.split_once("\n\n").map_or(m.as_str(), |(_, b)| b);
            assert!(body.contains("/alerts") && !body.contains("170") && !body.contains("pressure") && !body.contains("heart"), "{m}");
        }

        // A third high reading joins the open alert rather than raising another.
        app.advance(time::Duration::hours(1));
        // Sessions end after 30 idle minutes: both sign in again.
        (amina, nina) = (app.client().signed_in(PERSON).await?, app.client().signed_in(NINA).await?);
        let third = amina.submit(&new_bp, &new_bp, &bp("168", "96")).await?;
        assert_eq!(third.location(), Some(alert.as_str()));

        // The GP acknowledges it: gone from the open list, shown as acknowledged to Amina.
        let done = nina.submit(&alert, &format!("{alert}/acknowledge"), &[]).await?;
        assert_eq!(done.location(), Some("/alerts"));
        assert!(!nina.get("/alerts").await?.contains("Amina Khan"));
        assert!(amina.get(&alert).await?.contains("Acknowledged by Nina Clarke"));
        let again = nina.submit(&alert, &format!("{alert}/acknowledge"), &[]).await?;
        assert_eq!(again.location(), Some("/alerts"), "acknowledging twice is harmless");

        // Two more high readings a week later raise a new alert; nobody acknowledges it, so after 48 hours it is
        // passed to the care team (the demo rule allows 48 hours).
        app.advance(time::Duration::days(8));
        // Sessions end after 30 idle minutes: she signs in again.
        amina = app.client().signed_in(PERSON).await?;
        amina.submit(&new_bp, &new_bp, &bp("172", "99")).await?;
        app.advance(time::Duration::hours(1));
        // Sessions end after 30 idle minutes: she signs in again.
        amina = app.client().signed_in(PERSON).await?;
        let late = amina.submit(&new_bp, &new_bp, &bp("175", "101")).await?;
        let second_alert = late.location().context("second alert")?.to_owned();
        assert_ne!(second_alert, alert);
        carepact_server::escalate_alerts(&app.state).await?;
        assert!(!amina.get(&second_alert).await?.contains("so it was passed to"), "not due yet");
        app.advance(time::Duration::hours(49));
        // Sessions end after 30 idle minutes: both sign in again.
        (amina, nina) = (app.client().signed_in(PERSON).await?, app.client().signed_in(NINA).await?);
        assert!(carepact_server::escalate_alerts(&app.state).await? >= 1);
        assert!(amina.get(&second_alert).await?.contains("so it was passed to Their care team"));
        assert!(nina.get("/alerts").await?.contains("Their care team"));

        // Snoozed: out of the list until the snooze ends.
        nina.submit(&second_alert, &format!("{second_alert}/snooze"), &[("for", "4")]).await?;
        assert!(!nina.get("/alerts").await?.contains("Amina Khan"));
        app.advance(time::Duration::hours(5));
        // Sessions end after 30 idle minutes: Nina signs in again.
        nina = app.client().signed_in(NINA).await?;
        assert!(nina.get("/alerts").await?.contains("Amina Khan"));
        Ok(())
    }

    async fn readings_sent_at_once_share_a_commit_and_each_gets_its_own_answer(app: TestApp) {
        // Forty readings at once, twenty moments each sent twice (a device retrying): twenty stored, twenty
        // duplicates. A reading for a record removed meanwhile fails alone; the others in its group are stored.
        use carepact_domain::consent::{Action, Request, Section, Sensitivity};
        use carepact_domain::readings::{Measure, Milli};
        use carepact_store::readings::{Added, NewReading};
        let db = &app.state.db;
        let now = app.state.now();
        let write = Request { section: Section::Readings, label: Sensitivity::General, action: Action::Write };
        let amina: carepact_domain::identity::PersonId = amina_base(&app).await?.trim_start_matches("/records/").parse::<uuid::Uuid>().map(carepact_domain::identity::PersonId)?;
        let grant = carepact_store::access::authorize_operator(db, &app.state.audit, amina, write, "test", now).await?.map_err(|_| anyhow::anyhow!("grant"))?;
        let gone = carepact_store::people::create_with_account(
            db,
            &carepact_domain::identity::NewPerson {
                nhs_number: carepact_domain::NhsNumber::parse("9434765870")?,
                given_name: "Gone".into(),
                family_name: "Away".into(),
                preferred_name: None,
                date_of_birth: time::macros::date!(1950 - 01 - 01),
                email: carepact_domain::identity::Email::parse("gone@example.org").map_err(anyhow::Error::msg)?,
                phone: None,
                communication_needs: None,
            },
            carepact_store::people::AccountStart::Password("h"),
            now,
        )
        .await?
        .0;
        let gone_grant = carepact_store::access::authorize_operator(db, &app.state.audit, gone, write, "test", now).await?.map_err(|_| anyhow::anyhow!("grant"))?;
        carepact_store::on_db!(db, write, |p| sqlx::query("DELETE FROM people WHERE id = $1").bind(gone.0).execute(p).await.map(|_| ()))?;
        let stored = |person: carepact_domain::identity::PersonId| async move {
            Ok::<i64, anyhow::Error>(carepact_store::on_db!(db, read, |p| sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM readings WHERE person_id = $1 AND measure = 'heart-rate'").bind(person.0).fetch_one(p).await)?)
        };
        let before = stored(amina).await?;
        let mail = carepact_store::readings::AlertMail { subject: "s".into(), body_for_person: "p".into(), body_for_staff: "t".into() };
        let mut tasks = Vec::new();
        for i in 0..41 {
            let (state, grant, gone_grant, mail) = (app.state.clone(), grant.clone(), gone_grant.clone(), mail.clone());
            tasks.push(tokio::spawn(async move {
                let values = std::collections::BTreeMap::from([("value", Milli(70_000 + (i % 20) * 1000))]);
                let reading = NewReading {
                    measure: Measure::HeartRate,
                    taken_at: now - time::Duration::minutes(i % 20 + 1),
                    values: &values,
                    note: None,
                    source: "device",
                    device: Some("test monitor"),
                };
                let grant = if i == 40 { &gone_grant } else { &grant };
                state.readings.add(&state.db, grant, &reading, &mail, now).await
            }));
        }
        let mut added = 0;
        let mut duplicates = 0;
        let mut failed = 0;
        for t in tasks {
            match t.await? {
                Ok(Ok(Added::Added { .. })) => added += 1,
                Ok(Ok(Added::Duplicate)) => duplicates += 1,
                Ok(Err(_)) => anyhow::bail!("refused"),
                Err(_) => failed += 1,
            }
        }
        assert_eq!((added, duplicates, failed), (20, 20, 1));
        assert_eq!(stored(amina).await? - before, 20);
        assert_eq!(stored(gone).await?, 0);
        Ok(())
    }

    async fn readings_convert_units_and_refuse_bad_dates(app: TestApp) {
        let base = amina_base(&app).await?;
        let mut amina = app.client().signed_in(PERSON).await?;
        let glucose = format!("{base}/readings/new/blood-glucose");
        let saved = amina.submit(&glucose, &glucose, &[("unit", "mg-dl"), ("value", "126")]).await?;
        assert!(saved.location().is_some(), "{}", saved.body);
        assert!(amina.get(&format!("{base}/readings/blood-glucose")).await?.contains("7.0 mmol/L"));
        let weight = format!("{base}/readings/new/weight");
        let saved = amina.submit(&weight, &weight, &[("unit", "st-lb"), ("stones", "11"), ("pounds", "4")]).await?;
        assert!(saved.location().is_some(), "{}", saved.body);
        assert!(amina.get(&format!("{base}/readings/weight")).await?.contains("71.7 kg"));
        let future = amina.submit(&weight, &weight, &[("value", "70"), ("when_day", "1"), ("when_month", "1"), ("when_year", "2999")]).await?;
        assert!(future.contains("cannot be in the future"));
        let odd = amina.submit(&weight, &weight, &[("value", "70"), ("when_day", "31"), ("when_month", "2"), ("when_year", "2026")]).await?;
        assert!(odd.contains("Enter a real date"));
        let symptoms = format!("{base}/readings/new/symptoms");
        let empty = amina.submit(&symptoms, &symptoms, &[("note", " ")]).await?;
        assert!(empty.contains("Say what your symptoms are"));
        assert_eq!(amina.get(&format!("{base}/readings/new/bmi")).await?.status, StatusCode::NOT_FOUND, "BMI is worked out, never typed");
        assert_eq!(amina.get(&format!("{base}/readings/new/nonsense")).await?.status, StatusCode::NOT_FOUND);
        Ok(())
    }
}
