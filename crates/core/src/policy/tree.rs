//! A JSON tree that borrows from the policy text it was read from: what the document decoder
//! takes apart instead of a `serde_json::Value`.
//!
//! Why: a `Value` allocates every key and every string and keeps objects in B-trees; for a
//! 2 KB policy that was two thirds of decoding it (README, Performance: the typical event).
//! Here keys and strings without escapes are slices of the text, and an object is a vector.
//! Objects keep the meaning a `Value` gives them, which the decoder's results depend on
//! (which of two keys differing in case wins, the order of principals and conditions): entries
//! sorted by key, and of a key written twice the last one kept.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Number;

#[derive(Debug, Clone, PartialEq)]
pub enum Json<'a> {
    Null,
    Bool(bool),
    Number(Number),
    String(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    Object(Object<'a>),
}

/// An object's entries, sorted by key, each key once (the last written).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Object<'a> {
    entries: Vec<(Cow<'a, str>, Json<'a>)>,
}

impl<'a> Object<'a> {
    fn from_written(mut entries: Vec<(Cow<'a, str>, Json<'a>)>) -> Self {
        // Stable: of equal keys the last written stays last; `dedup_by` keeps the first of a
        // run, so the later entry's content is swapped into it first.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                std::mem::swap(later, kept);
            }
            same
        });
        Object { entries }
    }

    /// A `Value`'s object, its strings borrowed (already sorted, each key once).
    pub fn from_map(map: &'a serde_json::Map<String, serde_json::Value>) -> Self {
        Object {
            entries: map
                .iter()
                .map(|(k, v)| (Cow::Borrowed(k.as_str()), Json::from_value(v)))
                .collect(),
        }
    }

    pub fn get(&self, key: &str) -> Option<&Json<'a>> {
        self.position(key)
            .and_then(|i| self.entries.get(i))
            .map(|(_, v)| v)
    }

    /// The key as written, if present.
    pub fn key(&self, key: &str) -> Option<&str> {
        self.position(key)
            .and_then(|i| self.entries.get(i))
            .map(|(k, _)| k.as_ref())
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_ref())
    }

    pub fn remove(&mut self, key: &str) -> Option<Json<'a>> {
        self.position(key).map(|i| self.entries.remove(i).1)
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.entries
            .binary_search_by(|(k, _)| k.as_ref().cmp(key))
            .ok()
    }
}

impl<'a> IntoIterator for Object<'a> {
    type Item = (Cow<'a, str>, Json<'a>);
    type IntoIter = std::vec::IntoIter<(Cow<'a, str>, Json<'a>)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<'a> Json<'a> {
    /// A `Value` already in memory, its strings borrowed (its objects are already sorted, each
    /// key once).
    pub fn from_value(value: &'a serde_json::Value) -> Self {
        use serde_json::Value;
        match value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Number(n) => Json::Number(n.clone()),
            Value::String(s) => Json::String(Cow::Borrowed(s)),
            Value::Array(items) => Json::Array(items.iter().map(Json::from_value).collect()),
            Value::Object(map) => Json::Object(Object::from_map(map)),
        }
    }

    /// What kind of value this is, as error messages name it.
    pub fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Number(_) => "a number",
            Json::String(_) => "a string",
            Json::Array(_) => "an array",
            Json::Object(_) => "an object",
        }
    }

    /// A scalar as text, as `crate::decode::lenient::text_of` reads a `Value`; a string is
    /// moved out, not copied.
    pub fn into_text(self) -> Option<String> {
        match self {
            Json::String(s) => Some(s.into_owned()),
            Json::Number(n) => Some(n.to_string()),
            Json::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Json<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        // As `Value` reads it: a number that is not finite is null.
        Ok(Number::from_f64(v).map_or(Json::Null, Json::Number))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Json::String(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Json::String(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Json::String(Cow::Owned(v)))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Json::Null)
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Json::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some(Key(key)) = map.next_key()? {
            entries.push((key, map.next_value()?));
        }
        Ok(Json::Object(Object::from_written(entries)))
    }
}

/// An object key, borrowed when it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Key<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object key")
            }

            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }

            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }

            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// The tree as a `Value`, to compare with what serde_json reads from the same text.
    fn to_value(json: &Json) -> Value {
        match json {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => Value::Number(n.clone()),
            Json::String(s) => Value::String(s.to_string()),
            Json::Array(items) => Value::Array(items.iter().map(to_value).collect()),
            Json::Object(object) => Value::Object(
                object
                    .entries
                    .iter()
                    .map(|(k, v)| (k.to_string(), to_value(v)))
                    .collect(),
            ),
        }
    }

    #[test]
    fn reads_what_a_value_reads_keys_sorted_and_the_last_of_a_key_kept() {
        for text in [
            r#"{"b":1,"a":[true,null,"x\"y",-2,1.5e3,18446744073709551615],"B":{},"b":2}"#,
            r#"{"Statement":{"Effect":"Allow"},"statement":[],"Statement":"last"}"#,
            r#"[{"\u0041":"\u00e9"},{}]"#,
            r#""just a string""#,
        ] {
            let tree: Json = serde_json::from_str(text).unwrap();
            let value: Value = serde_json::from_str(text).unwrap();
            assert_eq!(to_value(&tree), value, "{text}");
            if let Json::Object(object) = &tree {
                let keys: Vec<&str> = object.keys().collect();
                let mut sorted = keys.clone();
                sorted.sort();
                sorted.dedup();
                assert_eq!(keys, sorted, "{text}");
            }
        }
        let tree: Json = serde_json::from_str(r#"{"k":"last?","k":"last"}"#).unwrap();
        let Json::Object(object) = tree else { panic!() };
        assert_eq!(object.get("k"), Some(&Json::String("last".into())));
    }

    #[test]
    fn a_value_in_memory_is_the_same_tree() {
        let text = r#"{"b":[1,2.5,"x",null,{"Z":true,"a":{}}],"A":"y"}"#;
        let value: Value = serde_json::from_str(text).unwrap();
        let tree: Json = serde_json::from_str(text).unwrap();
        assert_eq!(Json::from_value(&value), tree);
    }

    /// serde_json's `raw_value` feature makes a `Value` of this one key's text; the tree keeps
    /// it as the ordinary key it is in a policy.
    #[test]
    fn serde_jsons_private_raw_value_key_is_an_ordinary_key() {
        let text = r#"{"$serde_json::private::RawValue":"{\"Statement\":[]}"}"#;
        let tree: Json = serde_json::from_str(text).unwrap();
        let Json::Object(object) = tree else { panic!() };
        assert_eq!(
            object.keys().collect::<Vec<_>>(),
            ["$serde_json::private::RawValue"]
        );
    }

    #[test]
    fn strings_without_escapes_are_borrowed() {
        let text = r#"{"Action":["iam:PassRole","a\nb"]}"#;
        let tree: Json = serde_json::from_str(text).unwrap();
        let Json::Object(object) = tree else { panic!() };
        let Some(Json::Array(items)) = object.get("Action") else {
            panic!()
        };
        assert!(matches!(
            items[0],
            Json::String(Cow::Borrowed("iam:PassRole"))
        ));
        assert!(matches!(&items[1], Json::String(Cow::Owned(s)) if s == "a\nb"));
    }
}
