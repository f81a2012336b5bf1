//! Field deserializers whose `expecting` text reads well in an error message
//! (`"owner_run must be a valid UUID"`), since serde's defaults do not.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, MapAccess, Unexpected, Visitor};
use serde::{Deserialize, Deserializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

/// A visitor together with the `deserialize_*` call that feeds it. The
/// hint matters: with serde_json's `arbitrary_precision`, `deserialize_any`
/// hands a number over as a map, which a number visitor refuses.
trait Field<'de>: Visitor<'de> + Sized {
    fn read<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error>;
}

struct UuidVisitor;

impl Visitor<'_> for UuidVisitor {
    type Value = Uuid;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a valid UUID")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Uuid, E> {
        Uuid::parse_str(value).map_err(|_| E::invalid_value(Unexpected::Str(value), &self))
    }
}

impl<'de> Field<'de> for UuidVisitor {
    fn read<D: Deserializer<'de>>(self, deserializer: D) -> Result<Uuid, D::Error> {
        deserializer.deserialize_str(self)
    }
}

pub fn uuid<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Uuid, D::Error> {
    UuidVisitor.read(deserializer)
}

pub fn opt_uuid<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Uuid>, D::Error> {
    deserializer.deserialize_option(OptionOf(UuidVisitor))
}

struct TimeVisitor;

impl Visitor<'_> for TimeVisitor {
    type Value = OffsetDateTime;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an RFC 3339 time")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<OffsetDateTime, E> {
        OffsetDateTime::parse(value, &Rfc3339)
            .map(|t| t.to_offset(time::UtcOffset::UTC))
            .map_err(|_| E::invalid_value(Unexpected::Str(value), &self))
    }
}

impl<'de> Field<'de> for TimeVisitor {
    fn read<D: Deserializer<'de>>(self, deserializer: D) -> Result<OffsetDateTime, D::Error> {
        deserializer.deserialize_str(self)
    }
}

pub fn time<'de, D: Deserializer<'de>>(deserializer: D) -> Result<OffsetDateTime, D::Error> {
    TimeVisitor.read(deserializer)
}

pub fn opt_time<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<OffsetDateTime>, D::Error> {
    deserializer.deserialize_option(OptionOf(TimeVisitor))
}

/// Whole seconds (TTLs); a float is accepted and its fraction dropped,
/// since every seconds field of the API takes both.
struct WholeSecondsVisitor;

impl Visitor<'_> for WholeSecondsVisitor {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number of seconds >= 0")
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<u64, E> {
        Ok(value)
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<u64, E> {
        u64::try_from(value).map_err(|_| E::invalid_value(Unexpected::Signed(value), &self))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<u64, E> {
        if value.is_finite() && value >= 0.0 {
            // `as` saturates at u64::MAX, which is "keep forever" in practice.
            Ok(value as u64)
        } else {
            Err(E::invalid_value(Unexpected::Float(value), &self))
        }
    }
}

impl<'de> Field<'de> for WholeSecondsVisitor {
    fn read<D: Deserializer<'de>>(self, deserializer: D) -> Result<u64, D::Error> {
        deserializer.deserialize_f64(self)
    }
}

pub fn opt_whole_seconds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    deserializer.deserialize_option(OptionOf(WholeSecondsVisitor))
}

/// A whole number (`limit`, `max_attempts`), saturating at the ends of
/// `i64`: one too large for 64 bits is still just over the maximum, which
/// the domain then judges. An integral float (`10.0`) is an integer to JSON
/// Schema, so it is one here too.
struct IntegerVisitor;

impl Visitor<'_> for IntegerVisitor {
    type Value = i64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer")
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<i64, E> {
        Ok(value)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<i64, E> {
        Ok(i64::try_from(value).unwrap_or(i64::MAX))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<i64, E> {
        if value.is_finite() && value.fract() == 0.0 {
            // `as` saturates at the ends of i64.
            Ok(value as i64)
        } else {
            Err(E::invalid_type(Unexpected::Float(value), &self))
        }
    }
}

impl<'de> Field<'de> for IntegerVisitor {
    fn read<D: Deserializer<'de>>(self, deserializer: D) -> Result<i64, D::Error> {
        deserializer.deserialize_i64(self)
    }
}

pub fn integer<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    IntegerVisitor.read(deserializer)
}

pub fn opt_integer<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    deserializer.deserialize_option(OptionOf(IntegerVisitor))
}

/// A field where `null` means something (remove a setting) and absence
/// another (keep it): with `#[serde(default)]`, absent is `None`, `null`
/// is `Some(None)`.
pub fn present_opt_integer<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<i64>>, D::Error> {
    opt_integer(deserializer).map(Some)
}

/// A nested object of a body (`cleanup`, `retry_strategy`, an item of
/// `tasks`). serde's derive would also read a struct from an array, by
/// position; the API's objects are objects.
struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ObjectVisitor(PhantomData)).map(Object)
    }
}

struct ObjectVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(map))
    }
}

pub fn opt_object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<T>, D::Error> {
    Ok(Option::<Object<T>>::deserialize(deserializer)?.map(|Object(value)| value))
}

pub fn objects<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Vec<T>, D::Error> {
    Ok(Vec::<Object<T>>::deserialize(deserializer)?.into_iter().map(|Object(value)| value).collect())
}

/// `null` → `None`, anything else through the inner visitor.
struct OptionOf<V>(V);

impl<'de, V: Field<'de>> Visitor<'de> for OptionOf<V> {
    type Value = Option<V::Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        self.0.read(deserializer).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;
    use crate::decode::decode;

    #[derive(Debug, Deserialize)]
    struct Body {
        #[serde(deserialize_with = "uuid")]
        id: Uuid,
        #[serde(default, deserialize_with = "opt_time")]
        at: Option<OffsetDateTime>,
        #[serde(default, deserialize_with = "opt_whole_seconds")]
        ttl: Option<u64>,
        #[serde(default, deserialize_with = "opt_integer")]
        count: Option<i64>,
        #[serde(default, deserialize_with = "opt_object")]
        inner: Option<Inner>,
    }

    #[derive(Debug, Deserialize)]
    struct Inner {
        #[serde(default)]
        a: Option<i64>,
    }

    #[derive(Debug, Deserialize)]
    struct List {
        #[serde(deserialize_with = "objects")]
        items: Vec<Inner>,
    }

    #[test]
    fn nested_objects_are_not_read_from_arrays() {
        let message = |body: &str| decode::<Body>(body.as_bytes()).unwrap_err().message;
        assert_eq!(message(&format!(r#"{{"id": "{ID}", "inner": [1]}}"#)), "inner must be an object");
        let body: Body = decode(format!(r#"{{"id": "{ID}", "inner": {{"a": 2}}}}"#).as_bytes()).unwrap();
        assert_eq!(body.inner.unwrap().a, Some(2));
        let body: Body = decode(format!(r#"{{"id": "{ID}", "inner": null}}"#).as_bytes()).unwrap();
        assert!(body.inner.is_none());
        let list = |body: &str| decode::<List>(body.as_bytes());
        assert_eq!(list(r#"{"items": [{"a": 1}, [2]]}"#).unwrap_err().message, "items[1] must be an object");
        assert_eq!(list(r#"{"items": [{"a": 1}, {}]}"#).unwrap().items.len(), 2);
    }

    const ID: &str = "0192b9d4-5e3a-7f00-8000-000000000001";

    #[test]
    fn parses_ids_times_and_seconds() {
        let body = format!(r#"{{"id": "{ID}", "at": "2026-01-02T03:04:05+01:00", "ttl": 3600.0}}"#);
        let body: Body = decode(body.as_bytes()).unwrap();
        assert_eq!(body.id.to_string(), ID);
        assert_eq!(body.at.unwrap().offset(), time::UtcOffset::UTC);
        assert_eq!(body.at.unwrap().hour(), 2);
        assert_eq!(body.ttl, Some(3600));
        let body: Body = decode(format!(r#"{{"id": "{ID}", "at": null}}"#).as_bytes()).unwrap();
        assert_eq!((body.at, body.ttl), (None, None));
    }

    #[test]
    fn integers_saturate_and_may_be_written_as_floats() {
        let count = |value: &str| {
            let body: Body = decode(format!(r#"{{"id": "{ID}", "count": {value}}}"#).as_bytes()).unwrap();
            body.count
        };
        assert_eq!(count("5"), Some(5));
        assert_eq!(count("-5"), Some(-5));
        assert_eq!(count("1e3"), Some(1000));
        assert_eq!(count("10.0"), Some(10));
        assert_eq!(count("18446744073709551615"), Some(i64::MAX));
        assert_eq!(count("99999999999999999999999"), Some(i64::MAX));
        assert_eq!(count("-99999999999999999999999"), Some(i64::MIN));
        assert_eq!(count("null"), None);
    }

    #[test]
    fn rejections_name_the_field() {
        let message = |body: &str| decode::<Body>(body.as_bytes()).unwrap_err().message;
        assert_eq!(message(r#"{"id": "x"}"#), "id must be a valid UUID");
        assert_eq!(message(r#"{"id": 5}"#), "id must be a valid UUID");
        assert_eq!(message(&format!(r#"{{"id": "{ID}", "at": "yesterday"}}"#)), "at must be an RFC 3339 time");
        assert_eq!(message(&format!(r#"{{"id": "{ID}", "ttl": -1}}"#)), "ttl must be a number of seconds >= 0");
        assert_eq!(message(&format!(r#"{{"id": "{ID}", "ttl": "1"}}"#)), "ttl must be a number of seconds >= 0");
        assert_eq!(message(&format!(r#"{{"id": "{ID}", "count": 1.5}}"#)), "count must be an integer");
        assert_eq!(message(&format!(r#"{{"id": "{ID}", "count": "5"}}"#)), "count must be an integer");
    }
}
