//! People: the owners of records. A person usually has a user account to sign in with, but a record can exist
//! before its owner has an account (an invitation not yet accepted).

use carepact_domain::NhsNumber;
use carepact_domain::identity::{NewPerson, PersonId, Role, UserId};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::outbox::{NewEmail, insert_email};
use crate::tokens::{Purpose, insert_token};
use crate::users::{NewUser, insert_user};
use crate::{Db, DbTime, Result, StoreError, on_db};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: PersonId,
    pub user_id: Option<UserId>,
    pub nhs_number: Option<NhsNumber>,
    pub given_name: String,
    pub family_name: String,
    pub preferred_name: Option<String>,
    pub date_of_birth: Date,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub communication_needs: Option<String>,
    /// The named contact's display name, when the person has one.
    pub named_contact: Option<String>,
}

impl Person {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.given_name, self.family_name)
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    user_id: Option<Uuid>,
    nhs_number: Option<String>,
    given_name: String,
    family_name: String,
    preferred_name: Option<String>,
    date_of_birth: Date,
    email: Option<String>,
    phone: Option<String>,
    communication_needs: Option<String>,
    named_contact: Option<String>,
}

impl TryFrom<Row> for Person {
    type Error = StoreError;
    fn try_from(r: Row) -> Result<Self> {
        let nhs_number = r
            .nhs_number
            .map(|n| NhsNumber::parse(&n).map_err(|_| StoreError::Corrupt("stored NHS number".into())))
            .transpose()?;
        Ok(Self {
            id: PersonId(r.id),
            user_id: r.user_id.map(UserId),
            nhs_number,
            given_name: r.given_name,
            family_name: r.family_name,
            preferred_name: r.preferred_name,
            date_of_birth: r.date_of_birth,
            email: r.email,
            phone: r.phone,
            communication_needs: r.communication_needs,
            named_contact: r.named_contact,
        })
    }
}

macro_rules! select {
    ($rest:literal) => {
        concat!(
            "SELECT p.id, p.user_id, p.nhs_number, p.given_name, p.family_name, p.preferred_name, \
    p.date_of_birth, p.email, p.phone, p.communication_needs, c.display_name AS named_contact \
    FROM people p LEFT JOIN users c ON c.id = p.named_contact_id ",
            $rest
        )
    };
}

/// How the new person's account starts: with a password (demo, tests) or with an emailed invitation.
#[derive(Debug, Clone, Copy)]
pub enum AccountStart<'a> {
    Password(&'a str),
    /// No password yet: an invitation token, and the email that carries it (queued in the same transaction).
    Invitation {
        token_hash: &'a [u8],
        expires: OffsetDateTime,
        email: &'a NewEmail<'a>,
    },
}

/// Creates a person, their user account (role: person) and, if invited, the invitation, in one transaction.
pub async fn create_with_account(
    db: &Db,
    person: &NewPerson,
    start: AccountStart<'_>,
    now: OffsetDateTime,
) -> Result<(PersonId, UserId)> {
    let person_id = PersonId::new();
    let user_id = UserId::new();
    let display_name = match &person.preferred_name {
        Some(preferred) => format!("{preferred} {}", person.family_name),
        None => format!("{} {}", person.given_name, person.family_name),
    };
    let password_hash = match start {
        AccountStart::Password(hash) => Some(hash),
        AccountStart::Invitation { .. } => None,
    };
    let new_user = NewUser {
        email: &person.email,
        display_name: &display_name,
        roles: &[Role::Person],
        organisation_id: None,
        password_hash,
    };
    on_db!(db, write, |p| {
        async {
            let mut tx = p.begin().await?;
            insert_user!(&mut *tx, user_id, new_user, now)?;
            sqlx::query(
                "INSERT INTO people (id, user_id, nhs_number, given_name, family_name, preferred_name, date_of_birth, \
             email, phone, communication_needs, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
            )
            .bind(person_id.0)
            .bind(user_id.0)
            .bind(person.nhs_number.as_digits())
            .bind(&person.given_name)
            .bind(&person.family_name)
            .bind(&person.preferred_name)
            .bind(person.date_of_birth)
            .bind(person.email.as_str())
            .bind(&person.phone)
            .bind(&person.communication_needs)
            .bind(DbTime(now))
            .execute(&mut *tx)
            .await
            .map_err(StoreError::conflict_on("NHS number"))?;
            if let AccountStart::Invitation {
                token_hash,
                expires,
                email,
            } = start
            {
                insert_token!(&mut *tx, token_hash, Purpose::Invitation, user_id, now, expires)?;
                insert_email!(&mut *tx, email, now)?;
            }
            tx.commit().await?;
            Ok::<_, StoreError>(())
        }
        .await
    })?;
    Ok((person_id, user_id))
}

/// A person's details, for whoever holds a grant to read their record.
pub async fn summary(db: &Db, grant: &crate::access::Grant) -> Result<Option<Person>> {
    let row: Option<Row> = on_db!(db, read, |p| sqlx::query_as(select!("WHERE p.id = $1"))
        .bind(grant.person().0)
        .fetch_optional(p)
        .await)?;
    row.map(Person::try_from).transpose()
}

/// The account of a person, if they have one. Only the id, for addressing notifications to them.
pub async fn account_of(db: &Db, person: PersonId) -> Result<Option<UserId>> {
    let id: Option<Option<Uuid>> = on_db!(db, read, |p| sqlx::query_scalar(
        "SELECT user_id FROM people WHERE id = $1"
    )
    .bind(person.0)
    .fetch_optional(p)
    .await)?;
    Ok(id.flatten().map(UserId))
}

/// The id of the person whose account this is, if the user is a person. Only the id: reading anything about the
/// person goes through [`crate::access::authorize`].
pub async fn id_for_user(db: &Db, user: UserId) -> Result<Option<PersonId>> {
    let id: Option<Uuid> = on_db!(db, read, |p| sqlx::query_scalar(
        "SELECT id FROM people WHERE user_id = $1"
    )
    .bind(user.0)
    .fetch_optional(p)
    .await)?;
    Ok(id.map(PersonId))
}

pub async fn set_named_contact(db: &Db, person: PersonId, contact: Option<UserId>, now: OffsetDateTime) -> Result<()> {
    on_db!(db, write, |p| sqlx::query(
        "UPDATE people SET named_contact_id = $2, updated_at = $3 WHERE id = $1"
    )
    .bind(person.0)
    .bind(contact.map(|c| c.0))
    .bind(DbTime(now))
    .execute(p)
    .await
    .map(|_| ()))?;
    Ok(())
}

/// The person's own contact details and communication needs, which they may change at any time.
#[derive(Debug, Clone, Default)]
pub struct ContactDetails {
    pub preferred_name: Option<String>,
    pub phone: Option<String>,
    pub communication_needs: Option<String>,
}

/// Changes the person's own contact details. Only the person may, with a write grant on their record; the grant's
/// audit event records the change.
pub async fn update_contact_details(
    db: &Db,
    grant: &crate::access::Grant,
    details: &ContactDetails,
    now: OffsetDateTime,
) -> Result<std::result::Result<(), crate::access::Denied>> {
    if !grant.is_owner() || grant.action() != carepact_domain::consent::Action::Write {
        return Ok(Err(crate::access::Denied));
    }
    on_db!(db, write, |p| sqlx::query(
        "UPDATE people SET preferred_name = $2, phone = $3, communication_needs = $4, updated_at = $5 WHERE id = $1"
    )
    .bind(grant.person().0)
    .bind(&details.preferred_name)
    .bind(&details.phone)
    .bind(&details.communication_needs)
    .bind(DbTime(now))
    .execute(p)
    .await
    .map(|_| ()))?;
    Ok(Ok(()))
}

/// The id of the person with this NHS number, if CarePact knows them. Only the id: reading anything about them goes
/// through [`crate::access`].
pub async fn id_for_nhs_number(db: &Db, nhs_number: &NhsNumber) -> Result<Option<PersonId>> {
    let id: Option<Uuid> = on_db!(db, read, |p| sqlx::query_scalar(
        "SELECT id FROM people WHERE nhs_number = $1"
    )
    .bind(nhs_number.as_digits())
    .fetch_optional(p)
    .await)?;
    Ok(id.map(PersonId))
}

/// A person whose record arrives before they use CarePact (for example `carepact import --create-person`): no
/// account yet; they can be invited later.
pub async fn create_without_account(
    db: &Db,
    nhs_number: &NhsNumber,
    given_name: &str,
    family_name: &str,
    date_of_birth: time::Date,
    now: OffsetDateTime,
) -> Result<PersonId> {
    let id = PersonId::new();
    on_db!(db, write, |p| sqlx::query(
        "INSERT INTO people (id, user_id, nhs_number, given_name, family_name, date_of_birth, created_at, updated_at) \
         VALUES ($1, NULL, $2, $3, $4, $5, $6, $6)"
    )
    .bind(id.0)
    .bind(nhs_number.as_digits())
    .bind(given_name)
    .bind(family_name)
    .bind(date_of_birth)
    .bind(DbTime(now))
    .execute(p)
    .await
    .map(|_| ()))
    .map_err(StoreError::conflict_on("NHS number"))?;
    Ok(id)
}
