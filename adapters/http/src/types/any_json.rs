use std::borrow::Cow;

use utoipa::openapi::schema::{AnyOfBuilder, ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use super::rules::TEXT_PATTERN;

/// The schema of a field that holds any JSON value (`params`, `result`,
/// `payload`, ...), as the domain's payload check accepts it: strings and
/// keys without NUL, nested to any depth (the schema refers to itself).
/// The numbers' bound (a 64-bit float's range) is only described: utoipa
/// cannot read such a bound back from its own document. utoipa would render
/// `serde_json::Value` as `{}`, which says nothing of these limits.
#[derive(Debug)]
pub struct AnyJson;

impl PartialSchema for AnyJson {
    fn schema() -> RefOr<Schema> {
        let itself = || RefOr::Ref(Ref::from_schema_name(AnyJson::name()));
        let text = || ObjectBuilder::new().schema_type(Type::String).pattern(Some(TEXT_PATTERN));
        AnyOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(SchemaType::Array(vec![Type::Null, Type::Boolean])))
            .item(ObjectBuilder::new().schema_type(Type::Number))
            .item(text())
            .item(ArrayBuilder::new().items(itself()))
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Object)
                    .additional_properties(Some(itself()))
                    .property_names(Some(text())),
            )
            .description(Some(
                "Any JSON value without NUL characters in its strings and keys, and no number beyond a 64-bit float.",
            ))
            .into()
    }
}

impl ToSchema for AnyJson {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("AnyJson")
    }
}
