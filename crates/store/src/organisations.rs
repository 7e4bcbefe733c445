//! Organisations that take part in care: GP practices, trusts, community and social care, voluntary groups, ICBs.

use carepact_domain::identity::{OrganisationId, OrganisationKind};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{Db, DbTime, Result, StoreError, on_db};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    pub id: OrganisationId,
    pub name: String,
    pub kind: OrganisationKind,
    pub staff_count: i64,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    name: String,
    kind: String,
    staff_count: i64,
}

impl TryFrom<Row> for Organisation {
    type Error = StoreError;
    fn try_from(r: Row) -> Result<Self> {
        let kind = OrganisationKind::from_code(&r.kind)
            .ok_or_else(|| StoreError::Corrupt(format!("organisation kind {}", r.kind)))?;
        Ok(Self {
            id: OrganisationId(r.id),
            name: r.name,
            kind,
            staff_count: r.staff_count,
        })
    }
}

macro_rules! select {
    ($rest:literal) => {
        concat!(
            "SELECT o.id, o.name, o.kind, (SELECT COUNT(*) FROM users u WHERE u.organisation_id = o.id) AS staff_count \
             FROM organisations o ",
            $rest
        )
    };
}

pub async fn create(db: &Db, name: &str, kind: OrganisationKind, now: OffsetDateTime) -> Result<OrganisationId> {
    let id = OrganisationId::new();
    on_db!(db, write, |p| sqlx::query(
        "INSERT INTO organisations (id, name, kind, created_at) VALUES ($1, $2, $3, $4)"
    )
    .bind(id.0)
    .bind(name)
    .bind(kind.code())
    .bind(DbTime(now))
    .execute(p)
    .await
    .map(|_| ()))
    .map_err(StoreError::conflict_on("organisation name"))?;
    Ok(id)
}

pub async fn get(db: &Db, id: OrganisationId) -> Result<Option<Organisation>> {
    let row: Option<Row> = on_db!(db, read, |p| sqlx::query_as(select!("WHERE o.id = $1"))
        .bind(id.0)
        .fetch_optional(p)
        .await)?;
    row.map(Organisation::try_from).transpose()
}

pub async fn list(db: &Db) -> Result<Vec<Organisation>> {
    let rows: Vec<Row> = on_db!(db, read, |p| sqlx::query_as(select!("ORDER BY lower(o.name)"))
        .fetch_all(p)
        .await)?;
    rows.into_iter().map(Organisation::try_from).collect()
}

pub async fn count(db: &Db) -> Result<i64> {
    Ok(on_db!(db, read, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM organisations"
    )
    .fetch_one(p)
    .await)?)
}

/// The organisation with this name (names are unique, ignoring case).
pub async fn find_by_name(db: &Db, name: &str) -> Result<Option<OrganisationId>> {
    let id: Option<uuid::Uuid> = on_db!(db, read, |p| sqlx::query_scalar(
        "SELECT id FROM organisations WHERE lower(name) = lower($1)"
    )
    .bind(name)
    .fetch_optional(p)
    .await)?;
    Ok(id.map(OrganisationId))
}
