//! Field decoders that accept what real CloudTrail writes instead of what the schema promises.
//!
//! A record that carries a number where a string was expected, or a string `"True"` where a
//! boolean was expected, must still be evaluated: these helpers never fail on a type mismatch.
//! They turn scalars into the expected form and silently skip containers, because the fields they
//! serve are context (region, account, time), not evidence a rule decides on.

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Any scalar as text; `null`, arrays and objects as `None`.
pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_any(Lenient::<true>)
}

/// What [`string`] accepts and rejects, by the same parse of the same value (a string's UTF-8,
/// escapes and control characters, a number's range), without keeping it: a skimmed record is
/// checked exactly as one read whole.
pub fn check<'de, D: Deserializer<'de>>(d: D) -> Result<(), D::Error> {
    d.deserialize_any(Lenient::<false>).map(drop)
}

/// [`string`] (`KEEP`) or [`check`]: one visitor, so that both accept the same values.
struct Lenient<const KEEP: bool>;

impl<'de, const KEEP: bool> Visitor<'de> for Lenient<KEEP> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(KEEP.then(|| v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(KEEP.then_some(v))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(KEEP.then(|| v.to_string()))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(KEEP.then(|| v.to_string()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(KEEP.then(|| v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(KEEP.then(|| v.to_string()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

/// Interprets a JSON value as a boolean the way CloudTrail producers write one:
/// `true`, `"true"`, `"True"`, `"TRUE"`, `1`. Anything else is `None`.
pub fn bool_of(value: &serde_json::Value) -> Option<bool> {
    match value {
        serde_json::Value::Bool(b) => Some(*b),
        serde_json::Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Some(true),
            "false" | "0" | "no" => Some(false),
            _ => None,
        },
        serde_json::Value::Number(n) => n.as_i64().map(|n| n != 0),
        _ => None,
    }
}

/// A scalar as text, for JSON values already in memory (request parameters).
pub fn text_of(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Probe {
        #[serde(default, deserialize_with = "string")]
        v: Option<String>,
    }

    fn probe(json: &str) -> Option<String> {
        serde_json::from_str::<Probe>(json)
            .map(|p| p.v)
            .unwrap_or(Some("ERR".into()))
    }

    #[test]
    fn scalars_become_text_and_containers_are_skipped() {
        assert_eq!(probe(r#"{"v":"a"}"#), Some("a".into()));
        assert_eq!(probe(r#"{"v":12345}"#), Some("12345".into()));
        assert_eq!(
            probe(r#"{"v":1625211991.692}"#),
            Some("1625211991.692".into())
        );
        assert_eq!(probe(r#"{"v":true}"#), Some("true".into()));
        assert_eq!(probe(r#"{"v":null}"#), None);
        assert_eq!(probe(r#"{"v":[1,{"a":2}]}"#), None);
        assert_eq!(probe(r#"{"v":{"a":[1]}}"#), None);
        assert_eq!(probe(r#"{}"#), None);
    }

    #[test]
    fn booleans_written_as_strings() {
        use serde_json::json;
        assert_eq!(bool_of(&json!("True")), Some(true));
        assert_eq!(bool_of(&json!("False")), Some(false));
        assert_eq!(bool_of(&json!(true)), Some(true));
        assert_eq!(bool_of(&json!("maybe")), None);
        assert_eq!(bool_of(&json!(null)), None);
    }
}
