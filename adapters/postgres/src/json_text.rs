//! User payloads bound as PostgreSQL `json`: the text a client sent, kept
//! as it is (see `migrations/postgres/0002_payloads_as_json_text.sql`).
//! sqlx binds a `serde_json::Value` as `jsonb`, which would rewrite its
//! numbers on the way in even when the column is `json`.

use serde_json::Value;
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::types::Oid;
use sqlx::postgres::{PgArgumentBuffer, PgHasArrayType, PgTypeInfo};
use sqlx::{Encode, Postgres, Type};

/// `json` and `json[]` in `pg_type`; built in, so stable across servers.
const JSON_OID: Oid = Oid(114);
const JSON_ARRAY_OID: Oid = Oid(199);

/// A JSON document as the text PostgreSQL stores in a `json` column.
#[derive(Debug, Clone)]
pub(crate) struct JsonText(String);

impl JsonText {
    pub(crate) fn of(value: &Value) -> Self {
        // A `Value` always serializes: its map keys are strings.
        Self(value.to_string())
    }

    pub(crate) fn of_opt(value: Option<&Value>) -> Option<Self> {
        value.map(Self::of)
    }
}

impl Type<Postgres> for JsonText {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_oid(JSON_OID)
    }
}

impl PgHasArrayType for JsonText {
    fn array_type_info() -> PgTypeInfo {
        PgTypeInfo::with_oid(JSON_ARRAY_OID)
    }
}

impl Encode<'_, Postgres> for JsonText {
    // The binary form of `json` is its text (unlike `jsonb`'s, which starts
    // with a version byte).
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        buf.extend_from_slice(self.0.as_bytes());
        Ok(IsNull::No)
    }
}
