//! Schemas of the strings and query values the server checks, so the
//! OpenAPI document publishes the rules the domain enforces: generated
//! clients and fuzzers then send what is accepted, and nothing accepted is
//! excluded. The tests below hold each pattern against the domain's own
//! validation.
//!
//! Patterns use only `\uXXXX` escapes and plain classes, which ECMA-262
//! (what JSON Schema specifies), Python and Rust regexes read alike.

use std::borrow::Cow;

use durable_domain::command::MAX_NAME_BYTES;
use durable_domain::queue::MAX_QUEUE_NAME_BYTES;
use durable_domain::schedule::MAX_SCHEDULE_NAME_BYTES;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{AnyOfBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::{PartialSchema, ToSchema};

/// Any text without control characters, except `.` and `..` (written
/// without look-ahead, which not every regex engine has).
pub const QUEUE_NAME_PATTERN: &str = concat!(
    r"^([^\u0000-\u001f\u007f-\u009f.][^\u0000-\u001f\u007f-\u009f]*",
    r"|\.[^\u0000-\u001f\u007f-\u009f.][^\u0000-\u001f\u007f-\u009f]*",
    r"|\.\.[^\u0000-\u001f\u007f-\u009f]+)$"
);

/// At least one character that is not white space (Unicode `White_Space`,
/// what Rust's `trim` removes), and no NUL anywhere.
pub const NAME_PATTERN: &str = concat!(
    r"^[^\u0000]*",
    r"[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]",
    r"[^\u0000]*$"
);

/// No NUL, which no store can keep in text.
pub const TEXT_PATTERN: &str = r"^[^\u0000]*$";

/// Every spelling `uuid` parses: hyphenated, simple, braced and URN.
pub const UUID_PATTERN: &str = concat!(
    r"^([0-9a-fA-F]{32}",
    r"|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
    r"|\{[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}",
    r"|[uU][rR][nN]:[uU][uU][iI][dD]:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$"
);

/// The shape of an RFC 3339 time; `format` carries the calendar rules.
pub const TIME_PATTERN: &str =
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}.[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$";

fn string(pattern: &str) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String).pattern(Some(pattern))
}

fn named<T: ToSchema>() -> RefOr<Schema> {
    RefOr::Ref(utoipa::openapi::Ref::from_schema_name(T::name()))
}

macro_rules! schema_type {
    ($(#[$doc:meta])* $name:ident => $schema:expr) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                $schema.into()
            }
        }

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    };
}

schema_type!(
    /// A queue name.
    QueueNameText => string(QUEUE_NAME_PATTERN)
        .min_length(Some(1))
        .max_length(Some(MAX_QUEUE_NAME_BYTES))
        .description(Some(format!(
            "1–{MAX_QUEUE_NAME_BYTES} bytes of UTF-8 without control characters, not `.` or `..`."
        )))
);

schema_type!(
    /// A schedule name: a queue name's rules, shorter.
    ScheduleNameText => string(QUEUE_NAME_PATTERN)
        .min_length(Some(1))
        .max_length(Some(MAX_SCHEDULE_NAME_BYTES))
        .description(Some(format!(
            "1–{MAX_SCHEDULE_NAME_BYTES} bytes of UTF-8 without control characters, not `.` or `..`."
        )))
);

schema_type!(
    /// A required name (`task_name`, `event_name`, `step_name`, ...).
    NameText => string(NAME_PATTERN)
        .min_length(Some(1))
        .max_length(Some(MAX_NAME_BYTES))
        .description(Some(format!(
            "Not blank, at most {MAX_NAME_BYTES} bytes of UTF-8, without NUL characters."
        )))
);

schema_type!(
    /// Free text the stores keep.
    Text => string(TEXT_PATTERN).description(Some("Any text without NUL characters."))
);

schema_type!(
    /// A UUID in a body.
    UuidText => string(UUID_PATTERN).format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
);

schema_type!(
    /// An RFC 3339 time in a body.
    TimeText => string(TIME_PATTERN).format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
);

schema_type!(
    /// A claim's `limit`: at least 1; more than 1000 is taken as 1000. No
    /// `format`, whose 64-bit range would read as a maximum.
    ClaimLimit => ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(1))
        .description(Some("How many runs to hand out at most, >= 1; more than 1000 is taken as 1000."))
);

/// An empty query value, which counts as absent.
fn empty() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String).max_length(Some(0))
}

schema_type!(
    /// A time in a query (`created_after`); empty means absent.
    QueryTime => AnyOfBuilder::new().item(TimeText::schema()).item(empty())
);

schema_type!(
    /// A UUID in a query (`cursor`, `task_id`); empty means absent.
    QueryUuid => AnyOfBuilder::new().item(UuidText::schema()).item(empty())
);

schema_type!(
    /// A listing's `limit`: at least 1; more than 1000 is taken as 1000; empty means the default, 50.
    QueryLimit => AnyOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)))
        .item(empty())
        .description(Some("At least 1, default 50; more than 1000 is taken as 1000."))
);

schema_type!(
    /// `force` of a queue delete.
    QueryFlag => ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["true", "false", "1", "0", ""]))
);

macro_rules! status_filter {
    ($name:ident, $status:ty) => {
        schema_type!(
            /// A status filter; empty means none.
            $name => AnyOfBuilder::new().item(named::<$status>()).item(empty())
        );
    };
}

status_filter!(QueryTaskStatus, super::status::TaskStatus);
status_filter!(QueryRunStatus, super::status::RunStatus);
status_filter!(QueryWorkflowStatus, super::status::WorkflowStatus);

#[cfg(test)]
mod tests {
    use durable_domain::QueueName;
    use durable_domain::command::non_empty;
    use regex::Regex;
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;
    use uuid::Uuid;

    use super::*;

    fn matches(pattern: &str, value: &str) -> bool {
        Regex::new(pattern).unwrap().is_match(value)
    }

    /// Samples near every edge of the rules: blanks, dots, controls,
    /// NUL, non-ASCII letters and white space.
    const SAMPLES: &[&str] = &[
        "",
        " ",
        "\t",
        "\u{3000}",
        "\u{1c}",
        "a",
        " a ",
        ".",
        "..",
        "...",
        ".a",
        "..a",
        "a.",
        "emails:high",
        "billing/eu",
        "tâches",
        "a\0b",
        "\0",
        "tab\there",
        "line\n",
        "\u{7f}",
        "\u{85}",
        "\u{9f}",
        "\u{a0}",
        "\u{200b}",
        "😀",
        "%2e%2e",
    ];

    #[test]
    fn queue_name_pattern_is_the_domain_rule() {
        for sample in SAMPLES {
            let valid = QueueName::parse("name", sample).is_ok();
            assert_eq!(matches(QUEUE_NAME_PATTERN, sample), valid, "{sample:?}");
        }
    }

    #[test]
    fn name_pattern_is_the_domain_rule() {
        for sample in SAMPLES {
            assert_eq!(matches(NAME_PATTERN, sample), non_empty("f", sample).is_ok(), "{sample:?}");
        }
    }

    #[test]
    fn text_pattern_is_the_domain_rule() {
        for sample in SAMPLES {
            let valid = durable_domain::command::text("f", sample).is_ok();
            assert_eq!(matches(TEXT_PATTERN, sample), valid, "{sample:?}");
        }
    }

    #[test]
    fn uuid_pattern_is_what_the_parser_takes() {
        let id = "0192b9d4-5e3a-7f00-8000-00000000000a";
        let samples = [
            id.to_owned(),
            id.to_uppercase(),
            id.replace('-', ""),
            format!("{{{id}}}"),
            format!("urn:uuid:{id}"),
            format!("URN:UUID:{id}"),
            format!("{{{}}}", id.replace('-', "")),
            format!("urn:uuid:{}", id.replace('-', "")),
            id[1..].to_owned(),
            format!("{id}0"),
            id.replace('a', "g"),
            String::new(),
        ];
        for sample in samples {
            assert_eq!(matches(UUID_PATTERN, &sample), Uuid::parse_str(&sample).is_ok(), "{sample:?}");
        }
    }

    #[test]
    fn time_pattern_admits_every_time_the_parser_takes() {
        for sample in [
            "2026-01-02T03:04:05Z",
            "2026-01-02t03:04:05z",
            "2026-01-02 03:04:05.123456789+01:00",
            "2026-01-02T03:04:05-23:59",
            "2026-12-31T23:59:60Z",
        ] {
            assert!(OffsetDateTime::parse(sample, &Rfc3339).is_ok(), "{sample:?}");
            assert!(matches(TIME_PATTERN, sample), "{sample:?}");
        }
        for sample in ["", "2026-01-02", "2026-01-02T03:04:05", "yesterday"] {
            assert!(OffsetDateTime::parse(sample, &Rfc3339).is_err(), "{sample:?}");
            assert!(!matches(TIME_PATTERN, sample), "{sample:?}");
        }
    }

    #[test]
    fn byte_limits_are_the_domain_limits() {
        assert!(QueueName::parse("name", &"a".repeat(MAX_QUEUE_NAME_BYTES)).is_ok());
        assert!(QueueName::parse("name", &"a".repeat(MAX_QUEUE_NAME_BYTES + 1)).is_err());
        assert!(non_empty("f", &"a".repeat(MAX_NAME_BYTES)).is_ok());
        assert!(non_empty("f", &"a".repeat(MAX_NAME_BYTES + 1)).is_err());
    }
}
