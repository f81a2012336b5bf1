use std::borrow::Cow;

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::{PartialSchema, ToSchema};

/// The schema of a field that holds any JSON value (`params`, `result`,
/// `payload`, ...). utoipa would render `serde_json::Value` as `{}`, which
/// its own `OpenApi` type cannot read back; listing every JSON type says the
/// same in a form that round-trips.
#[derive(Debug)]
pub struct AnyJson;

impl PartialSchema for AnyJson {
    fn schema() -> RefOr<Schema> {
        let every = vec![Type::Object, Type::Array, Type::String, Type::Number, Type::Boolean, Type::Null];
        ObjectBuilder::new().schema_type(SchemaType::Array(every)).description(Some("Any JSON value.")).into()
    }
}

impl ToSchema for AnyJson {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("AnyJson")
    }
}
