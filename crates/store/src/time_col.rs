//! Timestamps in the database: integer microseconds on SQLite (sortable and exact), `timestamptz` on PostgreSQL.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Decode, Encode, Postgres, Sqlite, Type};
use time::OffsetDateTime;

/// A UTC instant as stored. Precision is one microsecond on both backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DbTime(pub OffsetDateTime);

impl DbTime {
    fn micros(self) -> i64 {
        i64::try_from(self.0.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
    }

    fn from_micros(micros: i64) -> Result<Self, BoxDynError> {
        Ok(Self(OffsetDateTime::from_unix_timestamp_nanos(
            i128::from(micros) * 1_000,
        )?))
    }

    /// Truncates to whole microseconds, as the database will.
    pub fn truncate(t: OffsetDateTime) -> OffsetDateTime {
        let micros = t.unix_timestamp_nanos() / 1_000;
        OffsetDateTime::from_unix_timestamp_nanos(micros * 1_000).unwrap_or(t)
    }
}

impl From<OffsetDateTime> for DbTime {
    fn from(t: OffsetDateTime) -> Self {
        Self(t)
    }
}

impl Type<Sqlite> for DbTime {
    fn type_info() -> <Sqlite as sqlx::Database>::TypeInfo {
        <i64 as Type<Sqlite>>::type_info()
    }
    fn compatible(ty: &<Sqlite as sqlx::Database>::TypeInfo) -> bool {
        <i64 as Type<Sqlite>>::compatible(ty)
    }
}

impl Encode<'_, Sqlite> for DbTime {
    fn encode_by_ref(&self, buf: &mut <Sqlite as sqlx::Database>::ArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <i64 as Encode<Sqlite>>::encode_by_ref(&self.micros(), buf)
    }
}

impl<'r> Decode<'r, Sqlite> for DbTime {
    fn decode(value: <Sqlite as sqlx::Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
        Self::from_micros(<i64 as Decode<Sqlite>>::decode(value)?)
    }
}

impl Type<Postgres> for DbTime {
    fn type_info() -> <Postgres as sqlx::Database>::TypeInfo {
        <OffsetDateTime as Type<Postgres>>::type_info()
    }
    fn compatible(ty: &<Postgres as sqlx::Database>::TypeInfo) -> bool {
        <OffsetDateTime as Type<Postgres>>::compatible(ty)
    }
}

impl Encode<'_, Postgres> for DbTime {
    fn encode_by_ref(&self, buf: &mut <Postgres as sqlx::Database>::ArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <OffsetDateTime as Encode<Postgres>>::encode_by_ref(&Self::truncate(self.0), buf)
    }
}

impl<'r> Decode<'r, Postgres> for DbTime {
    fn decode(value: <Postgres as sqlx::Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Self(<OffsetDateTime as Decode<Postgres>>::decode(value)?))
    }
}
