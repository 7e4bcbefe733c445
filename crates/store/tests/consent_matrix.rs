//! The consent matrix: every kind of actor × consent state × section × sensitivity × read or write, on both
//! backends. Each decision must match the rule as the person would state it, must be audited, and only a permit
//! yields anything that can read the person's data.

use std::sync::Arc;

use anyhow::Result;
use carepact_domain::NhsNumber;
use carepact_domain::consent::{Action, Actor, Consent, Grantee, Labels, Request, Section, Sections, Sensitivity};
use carepact_domain::identity::{Email, NewPerson, OrganisationId, OrganisationKind, PersonId, Role, UserId};
use carepact_store::access::{Ask, authorize};
use carepact_store::audit::{self, AuditWriter};
use carepact_store::people::{self, AccountStart};
use carepact_store::users::{self, NewUser};
use carepact_store::{Db, on_db, organisations};
use carepact_testkit::{Backend, TestDb};
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

const NOW: OffsetDateTime = datetime!(2026-11-23 10:00 UTC);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    None,
    Granted,
    Expired,
    Revoked,
    BreakGlass,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Owner,
    NamedProfessional,
    ColleagueAtGrantedOrganisation,
    LinkWorkerAtGrantedOrganisation,
    AdminAtGrantedOrganisation,
    ProfessionalElsewhere,
    Commissioner,
    NamedCarer,
    OtherCarer,
    OtherPerson,
    SystemAdmin,
}

const EVERYONE: [Who; 11] = [
    Who::Owner,
    Who::NamedProfessional,
    Who::ColleagueAtGrantedOrganisation,
    Who::LinkWorkerAtGrantedOrganisation,
    Who::AdminAtGrantedOrganisation,
    Who::ProfessionalElsewhere,
    Who::Commissioner,
    Who::NamedCarer,
    Who::OtherCarer,
    Who::OtherPerson,
    Who::SystemAdmin,
];

/// What each consent covers: the named professional may read the record and readings (general); the organisation may
/// read and write the care plan (general and mental health); the carer may read and write readings (general).
fn consents(state: State, named: UserId, org: OrganisationId, carer: UserId) -> Vec<Consent> {
    let (ends, revoked) = match state {
        State::Granted => (None, None),
        State::Expired => (Some(NOW - Duration::hours(1)), None),
        State::Revoked => (None, Some(NOW - Duration::minutes(1))),
        State::None | State::BreakGlass => return Vec::new(),
    };
    let base = |grantee, sections: &[Section], labels: &[Sensitivity], write| Consent {
        id: Uuid::now_v7(),
        grantee,
        sections: Sections::of(sections),
        labels: Labels::of(labels),
        write,
        starts: NOW - Duration::days(2),
        ends,
        revoked,
    };
    vec![
        base(
            Grantee::Professional(named),
            &[Section::Record, Section::Readings],
            &[Sensitivity::General],
            false,
        ),
        base(
            Grantee::Organisation(org),
            &[Section::CarePlan],
            &[Sensitivity::General, Sensitivity::MentalHealth],
            true,
        ),
        base(
            Grantee::Carer(carer),
            &[Section::Readings],
            &[Sensitivity::General],
            true,
        ),
    ]
}

fn organisation_allows(r: Request) -> bool {
    r.section == Section::CarePlan && matches!(r.label, Sensitivity::General | Sensitivity::MentalHealth)
}

/// The rule, stated directly from the consents above.
fn expected(state: State, who: Who, r: Request) -> bool {
    let read = r.action == Action::Read;
    match who {
        Who::Owner => true,
        _ if state == State::BreakGlass => who == Who::NamedProfessional && read,
        _ if state != State::Granted => false,
        // The named professional also works at the granted organisation, so both consents apply to them.
        Who::NamedProfessional => {
            (read && matches!(r.section, Section::Record | Section::Readings) && r.label == Sensitivity::General)
                || organisation_allows(r)
        }
        Who::ColleagueAtGrantedOrganisation | Who::LinkWorkerAtGrantedOrganisation => organisation_allows(r),
        Who::NamedCarer => r.section == Section::Readings && r.label == Sensitivity::General,
        _ => false,
    }
}

struct World {
    t: TestDb,
    audit: AuditWriter,
    person: PersonId,
    actors: Vec<(Who, Actor)>,
    named: UserId,
    org: OrganisationId,
    carer: UserId,
}

async fn account(db: &Db, email: &str, roles: &[Role], organisation: Option<OrganisationId>) -> Result<UserId> {
    let email = Email::parse(email).map_err(anyhow::Error::msg)?;
    let new = NewUser {
        email: &email,
        display_name: "Matrix",
        roles,
        organisation_id: organisation,
        password_hash: None,
    };
    Ok(users::create(db, &new, NOW).await?)
}

async fn world(backend: Backend) -> Result<World> {
    let t = TestDb::new(backend).await?;
    let org = organisations::create(&t.db, "Granted Practice", OrganisationKind::GpPractice, NOW).await?;
    let elsewhere = organisations::create(&t.db, "Elsewhere Trust", OrganisationKind::HospitalTrust, NOW).await?;
    let icb = organisations::create(&t.db, "The ICB", OrganisationKind::Commissioner, NOW).await?;
    let new = NewPerson {
        nhs_number: NhsNumber::parse("9434765919")?,
        given_name: "Amina".into(),
        family_name: "Khan".into(),
        preferred_name: None,
        date_of_birth: date!(1961 - 04 - 12),
        email: Email::parse("amina@example.org").map_err(anyhow::Error::msg)?,
        phone: None,
        communication_needs: None,
    };
    let (person, owner) = people::create_with_account(&t.db, &new, AccountStart::Password("h"), NOW).await?;
    let named = account(&t.db, "named@example.org", &[Role::Professional], Some(org)).await?;
    let carer = account(&t.db, "carer@example.org", &[Role::Carer], None).await?;
    let actor = |user, roles: &[Role], organisation| Actor {
        user,
        roles: roles.to_vec(),
        organisation,
    };
    let actors = EVERYONE
        .iter()
        .map(|who| {
            let a = match who {
                Who::Owner => actor(owner, &[Role::Person], None),
                Who::NamedProfessional => actor(named, &[Role::Professional], Some(org)),
                Who::ColleagueAtGrantedOrganisation => actor(UserId::new(), &[Role::Professional], Some(org)),
                Who::LinkWorkerAtGrantedOrganisation => actor(UserId::new(), &[Role::LinkWorker], Some(org)),
                Who::AdminAtGrantedOrganisation => actor(UserId::new(), &[Role::OrganisationAdmin], Some(org)),
                Who::ProfessionalElsewhere => actor(UserId::new(), &[Role::Professional], Some(elsewhere)),
                Who::Commissioner => actor(UserId::new(), &[Role::Commissioner], Some(icb)),
                Who::NamedCarer => actor(carer, &[Role::Carer], None),
                Who::OtherCarer => actor(UserId::new(), &[Role::Carer], None),
                Who::OtherPerson => actor(UserId::new(), &[Role::Person], None),
                Who::SystemAdmin => actor(UserId::new(), &[Role::SystemAdmin], None),
            };
            (*who, a)
        })
        .collect();
    let audit = AuditWriter::start(t.db.clone());
    Ok(World {
        t,
        audit,
        person,
        actors,
        named,
        org,
        carer,
    })
}

async fn set_state(db: &Db, w: &World, state: State) -> Result<()> {
    on_db!(db, write, |p| sqlx::query("DELETE FROM consents")
        .execute(p)
        .await
        .map(|_| ()))?;
    on_db!(db, write, |p| sqlx::query("DELETE FROM break_glass")
        .execute(p)
        .await
        .map(|_| ()))?;
    for c in consents(state, w.named, w.org, w.carer) {
        let (kind, user, org) = match c.grantee {
            Grantee::Professional(u) => ("professional", Some(u.0), None),
            Grantee::Carer(u) => ("carer", Some(u.0), None),
            Grantee::Organisation(o) => ("organisation", None, Some(o.0)),
        };
        on_db!(db, write, |p| {
            sqlx::query(
            "INSERT INTO consents (id, person_id, grantee_kind, grantee_user_id, grantee_organisation_id, sections, labels, \
             can_write, starts_at, ends_at, revoked_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $9)"
        )
        .bind(c.id)
        .bind(w.person.0)
        .bind(kind)
        .bind(user)
        .bind(org)
        .bind(c.sections.bits())
        .bind(c.labels.bits())
        .bind(c.write)
        .bind(carepact_store::DbTime(c.starts))
        .bind(c.ends.map(carepact_store::DbTime))
        .bind(c.revoked.map(carepact_store::DbTime))
        .execute(p)
        .await
        .map(|_| ())
        })?;
    }
    if state == State::BreakGlass {
        // The named professional opened the record in an emergency an hour ago (it lasts up to 24 hours).
        on_db!(db, write, |p| {
            sqlx::query(
            "INSERT INTO break_glass (id, person_id, user_id, organisation_id, reason, starts_at, ends_at) VALUES ($1, $2, $3, $4, 'matrix', $5, $6)"
        )
        .bind(Uuid::now_v7())
        .bind(w.person.0)
        .bind(w.named.0)
        .bind(w.org.0)
        .bind(carepact_store::DbTime(NOW - Duration::hours(1)))
        .bind(carepact_store::DbTime(NOW + Duration::hours(23)))
        .execute(p)
        .await
        .map(|_| ())
        })?;
    }
    Ok(())
}

carepact_testkit::backend_tests! {
    fixture = world;

    async fn every_actor_state_section_label_and_action(w: World) {
        let db = w.t.db.clone();
        let mut decisions = 0usize;
        let mut permits = 0usize;
        for state in [State::None, State::Granted, State::Expired, State::Revoked, State::BreakGlass] {
            set_state(&db, &w, state).await?;
            let mut tasks = Vec::new();
            for (who, actor) in w.actors.clone() {
                for section in Section::ALL {
                    for label in [Sensitivity::General, Sensitivity::MentalHealth] {
                        for action in [Action::Read, Action::Write] {
                            let (db, audit, person, actor) = (db.clone(), w.audit.clone(), w.person, Arc::new(actor.clone()));
                            tasks.push(tokio::spawn(async move {
                                let request = Request { section, label, action };
                                let ask = Ask { actor: &actor, role: "matrix", on_behalf_of: None, person, request, entity: "matrix", purpose: "test", as_owner: None };
                                let decision = authorize(&db, &audit, &ask, NOW).await?;
                                // Only a permit can reach the person's data.
                                let disclosed = match &decision {
                                    Ok(grant) => people::summary(&db, grant).await?.map(|p| p.given_name),
                                    Err(_) => None,
                                };
                                anyhow::Ok((who, request, decision.is_ok(), disclosed))
                            }));
                        }
                    }
                }
            }
            for task in tasks {
                let (who, request, permitted, disclosed) = task.await??;
                let want = expected(state, who, request);
                assert_eq!(permitted, want, "{state:?} {who:?} {request:?}");
                assert_eq!(disclosed.is_some(), want, "{state:?} {who:?} {request:?}: disclosure follows the decision");
                decisions += 1;
                permits += usize::from(permitted);
            }
        }
        assert_eq!(decisions, 5 * EVERYONE.len() * Section::ALL.len() * 2 * 2);
        assert!(permits > 0 && permits < decisions);
        // Every decision was audited, and the chain is intact.
        let report = audit::verify(&db).await?.map_err(|f| anyhow::anyhow!("{f:?}"))?;
        assert_eq!(report.events, decisions);
        Ok(())
    }
}
