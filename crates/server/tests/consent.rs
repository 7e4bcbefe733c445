//! Consent through the pages, on both backends: nothing without the person's say-so, revocation on the very
//! next request, a refusal that looks exactly like "no such person", and every access in the person's log.

mod support;

use anyhow::Context;
use axum::http::StatusCode;
use carepact_domain::identity::Email;
use carepact_store::{organisations, people, users};
use support::*;

async fn person_id(app: &TestApp, email: &str) -> anyhow::Result<String> {
    let user = users::find_by_email(&app.state.db, &Email::parse(email).map_err(anyhow::Error::msg)?)
        .await?
        .context("user")?;
    Ok(people::id_for_user(&app.state.db, user.id)
        .await?
        .context("person")?
        .to_string())
}

async fn riverside(app: &TestApp) -> anyhow::Result<String> {
    let orgs = organisations::list(&app.state.db).await?;
    Ok(orgs
        .iter()
        .find(|o| o.name == "Riverside Medical Practice")
        .context("org")?
        .id
        .to_string())
}

carepact_testkit::backend_tests! {
    fixture = app;

    async fn a_person_shares_with_their_practice_then_stops(app: TestApp) {
        let amina = person_id(&app, PERSON).await?;
        let record = format!("/records/{amina}");
        let mut gp = app.client().signed_in(GP).await?;
        let before = gp.get(&record).await?;
        assert_eq!(before.status, StatusCode::NOT_FOUND);
        let nobody = gp.get("/records/0190c9a0-0000-7000-8000-000000000000").await?;
        assert_eq!((nobody.status, nobody.h1()), (before.status, before.h1()), "refused looks exactly like absent");
        assert!(gp.get("/").await?.contains("No one has shared their record with you yet."));

        let mut person = app.client().signed_in(PERSON).await?;
        let org = riverside(&app).await?;
        let shared = person
            .submit("/sharing", "/sharing", &[("grantee", "organisation"), ("organisation", &org), ("sections", "record"), ("labels", "general"), ("access", "read")])
            .await?;
        assert_eq!(shared.location(), Some("/sharing"));
        let list = person.get("/sharing").await?;
        assert!(list.contains("You are now sharing your record."));
        assert!(list.contains("Riverside Medical Practice") && list.contains("Health record"));

        let home = gp.get("/").await?;
        assert!(home.contains("Amina Khan"), "the practice's GP now sees Amina in their list");
        let opened = gp.get(&record).await?;
        assert_eq!(opened.status, StatusCode::OK);
        assert_eq!(opened.h1(), "Amina Khan");
        assert!(opened.contains("943 476 5919"));
        // Staff of another organisation still see nothing.
        let mut social_worker = app.client().signed_in("chris.murphy@carepact.example").await?;
        assert_eq!(social_worker.get(&record).await?.status, StatusCode::NOT_FOUND);

        let page = person.get("/sharing").await?;
        let revoke = page.body.split("action=\"/sharing/").nth(1).and_then(|s| s.split('"').next()).context("revoke form")?.to_owned();
        let csrf = page.csrf().context("csrf")?;
        let done = person.post(&format!("/sharing/{revoke}"), &[("csrf_token", csrf.as_str())]).await?;
        assert_eq!(done.location(), Some("/sharing"));
        assert_eq!(gp.get(&record).await?.status, StatusCode::NOT_FOUND, "revocation works on the very next request");
        assert!(!gp.get("/").await?.contains("Amina Khan"));

        let log = person.get("/access-log").await?;
        assert!(log.contains("Dr Sarah Patel"));
        assert!(log.contains("Riverside Medical Practice"));
        assert!(log.contains("Looked at your health record"));
        assert!(log.contains("Refused"), "refused attempts are shown too");
        assert!(log.contains("You started sharing your record") && log.contains("You stopped sharing your record"));
        assert!(log.contains("Chris Murphy"), "the social worker's refused attempt is listed");
        assert!(log.contains("You looked at who can see your record"));
        // Today's entries only: in the demo world she recorded readings a month ago, which are changes.
        let today = app.state.now().date();
        let today = format!("{:04}-{:02}-{:02}", today.year(), u8::from(today.month()), today.day());
        let recent = person.get(&format!("/access-log?from={today}")).await?;
        assert!(recent.contains("You started sharing your record"), "{}", recent.body);
        assert!(!recent.contains("Changed your health record"), "sharing is not shown as a change to the record");

        // The log can be filtered: by who, by what happened, and by date.
        let others = person.get("/access-log?who=others").await?;
        assert!(others.contains("Dr Sarah Patel") && !others.contains("You looked at who can see your record"));
        let refused = person.get("/access-log?kind=refused").await?;
        assert!(refused.contains("Chris Murphy") && !refused.contains("You started sharing your record"));
        let sharing = person.get("/access-log?kind=sharing").await?;
        assert!(sharing.contains("You started sharing your record") && !sharing.contains("Chris Murphy"));
        let practice = person.get(&format!("/access-log?who={org}")).await?;
        assert!(practice.contains("Dr Sarah Patel") && !practice.contains("Chris Murphy"));
        let long_ago = person.get("/access-log?to=2001-01-01").await?;
        assert!(long_ago.contains("Nothing in your log matches what you chose."));
        let bad = person.get("/access-log?from=31%20March&to=2001-01-01").await?;
        assert_eq!(bad.status, StatusCode::OK);
        assert!(bad.contains("There is a problem") && bad.contains("Enter a date like 2024-03-31"));
        Ok(())
    }

    async fn a_practice_with_many_people_lists_them_a_page_at_a_time(app: TestApp) {
        // Thirty more people share with Riverside; the GP's home page lists 25 at a time by family name, and only
        // the people on the page shown are opened through the choke point.
        let db = &app.state.db;
        let practice = organisations::list(db).await?.into_iter().find(|o| o.name == "Riverside Medical Practice").context("org")?.id;
        let mut made = 0;
        for n in 0u32.. {
            if made == 30 {
                break;
            }
            let nine: Vec<u8> = format!("999{:06}", 100 + n).bytes().map(|b| b - b'0').collect();
            let Some(check) = carepact_domain::nhs_number::check_digit(&nine) else { continue };
            let number = format!("{}{check}", nine.iter().map(u8::to_string).collect::<String>());
            let new = carepact_domain::identity::NewPerson {
                nhs_number: carepact_domain::NhsNumber::parse(&number)?,
                given_name: "Test".into(),
                family_name: format!("Zz{made:02}"),
                preferred_name: None,
                date_of_birth: time::macros::date!(1950 - 01 - 01),
                email: Email::parse(&format!("many.{made}@example.org")).map_err(anyhow::Error::msg)?,
                phone: None,
                communication_needs: None,
            };
            let (person, user) = people::create_with_account(db, &new, people::AccountStart::Password("h"), app.state.now()).await?;
            let owner = carepact_domain::consent::Actor { user, roles: vec![carepact_domain::identity::Role::Person], organisation: None };
            let request = carepact_domain::consent::Request { section: carepact_domain::consent::Section::Record, label: carepact_domain::consent::Sensitivity::General, action: carepact_domain::consent::Action::Write };
            let ask = carepact_store::access::Ask { actor: &owner, role: "person", on_behalf_of: None, person, request, entity: "consents", purpose: "person-choice", as_owner: None };
            let own = carepact_store::access::authorize(db, &app.state.audit, &ask, app.state.now()).await?.map_err(|_| anyhow::anyhow!("own"))?;
            let consent = carepact_domain::consent::Consent {
                id: uuid::Uuid::now_v7(),
                grantee: carepact_domain::consent::Grantee::Organisation(practice),
                sections: carepact_domain::consent::Sections::of(&[carepact_domain::consent::Section::Record]),
                labels: carepact_domain::consent::Labels::of(&[carepact_domain::consent::Sensitivity::General]),
                write: false,
                starts: app.state.now(),
                ends: None,
                revoked: None,
            };
            carepact_store::consents::give(db, &own, &consent, app.state.now()).await?.map_err(|_| anyhow::anyhow!("give"))?;
            made += 1;
        }
        let mut gp = app.client().signed_in(GP).await?;
        let first = gp.get("/").await?;
        assert!(first.contains("30 people share their record with you, listed by family name. This is page 1 of 2."), "{}", first.body);
        assert_eq!(first.body.matches("href=\"/records/").count(), 25);
        assert!(first.contains("Zz00") && first.contains("Zz24") && !first.contains("Zz25"));
        assert!(first.contains("href=\"/?page=2\"") && !first.contains("Previous page"));
        let second = gp.get("/?page=2").await?;
        assert_eq!(second.body.matches("href=\"/records/").count(), 5);
        assert!(second.contains("Zz29") && second.contains("href=\"/?page=1\"") && !second.contains("Next page"));
        let beyond = gp.get("/?page=9").await?;
        assert_eq!((beyond.status, beyond.body.matches("href=\"/records/").count()), (StatusCode::OK, 0));
        let nonsense = gp.get("/?page=x").await?;
        assert!(nonsense.contains("This is page 1 of 2."));
        // Only those shown were opened through the choke point: Zz00 on each view of page 1, Zz29 on page 2.
        let opened = |family: &'static str| async move {
            let id: uuid::Uuid = carepact_store::on_db!(db, read, |p| sqlx::query_scalar("SELECT id FROM people WHERE family_name = $1").bind(family).fetch_one(p).await)?;
            Ok::<i64, anyhow::Error>(carepact_store::on_db!(db, read, |p| sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM audit_events WHERE person_id = $1 AND entity = 'person-list'").bind(id).fetch_one(p).await)?)
        };
        assert_eq!(opened("Zz00").await?, 2);
        assert_eq!(opened("Zz29").await?, 1);
        Ok(())
    }

    async fn a_carer_sees_only_what_the_person_shares(app: TestApp) {
        let margaret = person_id(&app, "margaret@carepact.example").await?;
        let mut peter = app.client().signed_in("peter@carepact.example").await?;
        assert_eq!(peter.get(&format!("/records/{margaret}")).await?.status, StatusCode::NOT_FOUND);
        let mut person = app.client().signed_in("margaret@carepact.example").await?;
        let shared = person
            .submit("/sharing", "/sharing", &[("grantee", "carer"), ("carer_email", "peter@carepact.example"), ("sections", "record"), ("sections", "care_plan"), ("labels", "general"), ("access", "write"), ("end_day", "1"), ("end_month", "1"), ("end_year", "2030")])
            .await?;
        assert_eq!(shared.location(), Some("/sharing"));
        assert!(peter.get("/").await?.contains("Margaret Wilson"));
        assert_eq!(peter.get(&format!("/records/{margaret}")).await?.status, StatusCode::OK);
        // Peter is not a professional: sharing with him "as a professional" is refused with a clear message.
        let wrong = person
            .submit("/sharing", "/sharing", &[("grantee", "professional"), ("professional_email", "peter@carepact.example"), ("sections", "record"), ("labels", "general"), ("access", "read")])
            .await?;
        assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
        assert!(wrong.contains("We could not find a professional with that email address"));
        Ok(())
    }

    async fn the_sharing_form_explains_every_problem(app: TestApp) {
        let mut person = app.client().signed_in(PERSON).await?;
        let empty = person.submit("/sharing", "/sharing", &[]).await?;
        assert_eq!(empty.status, StatusCode::BAD_REQUEST);
        for message in ["Select who you want to share with", "Select at least one part of your record", "Select at least one kind of information", "Select what they can do"] {
            assert!(empty.contains(message), "{message}");
        }
        let past = person
            .submit("/sharing", "/sharing", &[("grantee", "organisation"), ("organisation", "not-an-id"), ("sections", "record"), ("labels", "general"), ("access", "read"), ("end_day", "1"), ("end_month", "1"), ("end_year", "2020")])
            .await?;
        assert!(past.contains("Choose an organisation"));
        assert!(past.contains("The end date must be a real date after today"));
        Ok(())
    }

    async fn only_the_person_manages_their_sharing(app: TestApp) {
        let mut gp = app.client().signed_in(GP).await?;
        assert_eq!(gp.get("/sharing").await?.status, StatusCode::FORBIDDEN);
        assert_eq!(gp.get("/access-log").await?.status, StatusCode::FORBIDDEN);
        let mut stranger = app.client();
        assert_eq!(stranger.get("/sharing").await?.location(), Some("/sign-in"));
        // One person cannot open another's record, nor revoke their consents.
        let david = person_id(&app, "david@carepact.example").await?;
        let mut amina = app.client().signed_in(PERSON).await?;
        assert_eq!(amina.get(&format!("/records/{david}")).await?.status, StatusCode::NOT_FOUND);
        let csrf = amina.get("/sharing").await?.csrf().context("csrf")?;
        let forged = amina.post("/sharing/0190c9a0-0000-7000-8000-000000000000/revoke", &[("csrf_token", csrf.as_str())]).await?;
        assert_eq!(forged.status, StatusCode::NOT_FOUND);
        Ok(())
    }
}
