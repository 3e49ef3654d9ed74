//! One decoder for every form an IAM policy document arrives in.
//!
//! CloudTrail logs the document a caller sent as a JSON string (compact or pretty-printed), IAM
//! read APIs and `responseElements` return it URL-encoded, and some producers have already parsed
//! it into an object. Inside, `Statement` may be an object or an array, element values a string or
//! an array, `Principal` a `"*"` or a map of string-or-array. The decoder keeps every statement it
//! can understand and lists the ones it cannot, so a single odd statement never hides the rest.

use serde_json::Value;

use super::tree::{Json, Object};

use crate::policy::PolicyError;

/// A decoded IAM policy document (identity policy or trust policy).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PolicyDocument {
    pub version: Option<String>,
    pub statements: Vec<Statement>,
    /// Statements that could not be decoded, with the reason; they grant nothing.
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// `Action` or `NotAction` (likewise for resources and principals): the element's polarity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Polarity {
    Is,
    Not,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// Position in the `Statement` array (0 for a lone object).
    pub index: usize,
    pub sid: Option<String>,
    pub effect: Effect,
    pub actions: Option<(Polarity, Vec<String>)>,
    pub resources: Option<(Polarity, Vec<String>)>,
    pub principals: Option<(Polarity, Principals)>,
    pub conditions: Vec<Condition>,
}

/// The `Principal` element of a trust policy.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Principals {
    /// `"Principal": "*"`.
    pub wildcard: bool,
    /// `(kind, value)` pairs, kind as written (`AWS`, `Service`, `Federated`, `CanonicalUser`).
    pub entries: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The operator as written, e.g. `ForAnyValue:StringLikeIfExists`.
    pub operator: String,
    /// The operator without set prefix or `IfExists` suffix, e.g. `StringLike`.
    pub base_operator: String,
    pub if_exists: bool,
    /// The key as written; compare with [`Condition::key_is`], keys are case-insensitive.
    pub key: String,
    pub values: Vec<String>,
}

impl Condition {
    pub fn key_is(&self, key: &str) -> bool {
        self.key.eq_ignore_ascii_case(key)
    }

    /// A key prefix test such as `aws:ResourceTag/`, case-insensitive.
    pub fn key_starts_with(&self, prefix: &str) -> bool {
        self.key
            .get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
    }

    /// Whether the operator restricts the key to the listed values (as opposed to excluding
    /// them, testing for null, or comparing numbers).
    pub fn is_positive_match(&self) -> bool {
        matches!(
            self.base_operator.to_ascii_lowercase().as_str(),
            "stringequals" | "stringlike" | "stringequalsignorecase" | "arnequals" | "arnlike"
        )
    }
}

impl Statement {
    pub fn is_allow(&self) -> bool {
        self.effect == Effect::Allow
    }

    /// Conditions on `key` (case-insensitive) with a positive operator.
    pub fn positive_values(&self, key: &str) -> Option<Vec<String>> {
        let values: Vec<String> = self
            .conditions
            .iter()
            .filter(|c| c.key_is(key) && c.is_positive_match())
            .flat_map(|c| c.values.iter().cloned())
            .collect();
        let present = self
            .conditions
            .iter()
            .any(|c| c.key_is(key) && c.is_positive_match());
        present.then_some(values)
    }
}

impl PolicyDocument {
    /// Decodes a document from any JSON value CloudTrail may carry: a string (JSON, pretty JSON,
    /// URL-encoded JSON) or an object.
    pub fn from_value(value: &Value) -> Result<Self, PolicyError> {
        match value {
            Value::String(s) => Self::decode_str(s),
            // Rare (CloudTrail and IAM carry documents as text): the same tree, borrowed.
            Value::Object(map) => Self::from_object(Object::from_map(map)),
            other => Err(PolicyError::WrongType {
                found: json_type(other),
            }),
        }
    }

    /// Decodes a document from text: JSON, or URL-encoded JSON as IAM returns it.
    pub fn decode_str(text: &str) -> Result<Self, PolicyError> {
        let mut current = std::borrow::Cow::Borrowed(text.trim());
        // IAM encodes once; tolerate one more layer from tools that encode again.
        for _ in 0..3 {
            if current.starts_with('{') {
                let tree: Json =
                    serde_json::from_str(&current).map_err(|e| PolicyError::NotJson {
                        reason: e.to_string(),
                    })?;
                return match tree {
                    Json::Object(object) => Self::from_object(object),
                    other => Err(PolicyError::WrongType {
                        found: other.kind(),
                    }),
                };
            }
            if !current.contains('%') {
                break;
            }
            let decoded = percent_encoding::percent_decode_str(&current)
                .decode_utf8()
                .map_err(|e| PolicyError::NotJson {
                    reason: format!("URL-encoded text is not UTF-8: {e}"),
                })?
                .trim()
                .to_owned();
            current = std::borrow::Cow::Owned(decoded);
        }
        // Valid JSON of another type is a type error, not a syntax error.
        match serde_json::from_str::<Json>(&current) {
            Ok(other) => Err(PolicyError::WrongType {
                found: other.kind(),
            }),
            Err(_) => Err(PolicyError::NotJson {
                reason: format!("expected a JSON object, found `{}`", preview(&current)),
            }),
        }
    }

    /// Takes the document apart rather than copying out of it: every string moves into the
    /// statements, which keeps decoding a large policy to at most one allocation per string.
    fn from_object(mut object: Object) -> Result<Self, PolicyError> {
        let version = get(&object, "Version").cloned().and_then(Json::into_text);
        let statement_key = key_of(&object, "Statement")
            .ok_or(PolicyError::MissingStatement)?
            .to_owned();
        let raw_statements: Vec<Json> = match object.remove(&statement_key) {
            Some(Json::Array(items)) => items,
            Some(single @ Json::Object(_)) => vec![single],
            Some(other) => {
                return Err(PolicyError::BadStatement {
                    found: other.kind(),
                })
            }
            None => return Err(PolicyError::MissingStatement),
        };
        let mut doc = PolicyDocument {
            version,
            statements: Vec::with_capacity(raw_statements.len()),
            ..Default::default()
        };
        for (index, raw) in raw_statements.into_iter().enumerate() {
            match decode_statement(index, raw) {
                Ok(statement) => doc.statements.push(statement),
                Err(reason) => doc.problems.push(format!("statement {index}: {reason}")),
            }
        }
        Ok(doc)
    }
}

/// Looks a policy key up as written, then case-insensitively: IAM itself is strict, but a
/// document that reached CloudTrail may come from a tool that is not.
fn get<'o, 'a>(object: &'o Object<'a>, key: &str) -> Option<&'o Json<'a>> {
    object.get(key_of(object, key)?)
}

/// The key [`get`] finds `key` under: as written, else the first (in key order) that matches
/// case-insensitively.
fn key_of<'o>(object: &'o Object, key: &str) -> Option<&'o str> {
    object
        .key(key)
        .or_else(|| object.keys().find(|k| k.eq_ignore_ascii_case(key)))
}

/// The elements of a statement, found in one pass over its keys with [`get`]'s rule: the key as
/// written wins, else the first that matches case-insensitively.
#[derive(Default)]
struct Elements<'a> {
    slots: [Option<(Json<'a>, bool)>; ELEMENTS.len()],
}

const ELEMENTS: [&str; 9] = [
    "Effect",
    "Sid",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Principal",
    "NotPrincipal",
    "Condition",
];

impl<'a> Elements<'a> {
    fn of(object: Object<'a>) -> Self {
        let mut elements = Elements::default();
        for (key, value) in object {
            let Some(i) = ELEMENTS.iter().position(|e| e.eq_ignore_ascii_case(&key)) else {
                continue;
            };
            let exact = ELEMENTS.get(i).is_some_and(|e| *e == key);
            if let Some(slot) = elements.slots.get_mut(i) {
                let replace = match slot {
                    None => true,
                    Some((_, was_exact)) => exact && !*was_exact,
                };
                if replace {
                    *slot = Some((value, exact));
                }
            }
        }
        elements
    }

    fn take(&mut self, name: &str) -> Option<Json<'a>> {
        let i = ELEMENTS.iter().position(|e| *e == name)?;
        self.slots.get_mut(i)?.take().map(|(value, _)| value)
    }
}

fn decode_statement(index: usize, raw: Json) -> Result<Statement, String> {
    let Json::Object(object) = raw else {
        return Err(format!("expected an object, found {}", raw.kind()));
    };
    let mut elements = Elements::of(object);
    let effect = match elements.take("Effect") {
        Some(Json::String(e)) => match e.trim() {
            e if e.eq_ignore_ascii_case("allow") => Effect::Allow,
            e if e.eq_ignore_ascii_case("deny") => Effect::Deny,
            e => return Err(format!("unknown Effect `{e}`")),
        },
        _ => return Err("missing Effect".into()),
    };
    let sid = elements
        .take("Sid")
        .and_then(Json::into_text)
        .filter(|s| !s.is_empty());
    let actions = polar(&mut elements, "Action", "NotAction", string_list)?;
    let resources = polar(&mut elements, "Resource", "NotResource", string_list)?;
    let principals = polar(&mut elements, "Principal", "NotPrincipal", principal_list)?;
    let conditions = match elements.take("Condition") {
        None | Some(Json::Null) => Vec::new(),
        Some(value) => conditions(value)?,
    };
    Ok(Statement {
        index,
        sid,
        effect,
        actions,
        resources,
        principals,
        conditions,
    })
}

fn polar<'a, T>(
    elements: &mut Elements<'a>,
    is: &str,
    not: &str,
    decode: fn(Json<'a>) -> Result<T, String>,
) -> Result<Option<(Polarity, T)>, String> {
    match (elements.take(is), elements.take(not)) {
        (Some(_), Some(_)) => Err(format!("both {is} and {not}")),
        (Some(v), None) => decode(v)
            .map(|x| Some((Polarity::Is, x)))
            .map_err(|e| format!("{is}: {e}")),
        (None, Some(v)) => decode(v)
            .map(|x| Some((Polarity::Not, x)))
            .map_err(|e| format!("{not}: {e}")),
        (None, None) => Ok(None),
    }
}

fn string_list(value: Json) -> Result<Vec<String>, String> {
    match value {
        Json::String(s) => Ok(vec![s.into_owned()]),
        Json::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Json::String(s) => Ok(s.into_owned()),
                other => Err(format!("expected a string, found {}", other.kind())),
            })
            .collect(),
        other => Err(format!(
            "expected a string or an array, found {}",
            other.kind()
        )),
    }
}

fn principal_list(value: Json) -> Result<Principals, String> {
    match value {
        Json::String(s) if s.trim() == "*" => Ok(Principals {
            wildcard: true,
            entries: Vec::new(),
        }),
        // A bare string other than "*" is not valid IAM; read it as an AWS principal.
        Json::String(s) => Ok(Principals {
            wildcard: false,
            entries: vec![("AWS".into(), s.into_owned())],
        }),
        Json::Object(object) => {
            let mut principals = Principals::default();
            for (kind, values) in object {
                for v in string_list(values).map_err(|e| format!("{kind}: {e}"))? {
                    principals.entries.push((kind.to_string(), v));
                }
            }
            Ok(principals)
        }
        other => Err(format!(
            "expected \"*\" or an object, found {}",
            other.kind()
        )),
    }
}

fn conditions(value: Json) -> Result<Vec<Condition>, String> {
    let Json::Object(ops) = value else {
        return Err(format!(
            "Condition: expected an object, found {}",
            value.kind()
        ));
    };
    let mut out = Vec::new();
    for (operator, keys) in ops {
        let Json::Object(keys) = keys else {
            return Err(format!(
                "Condition {operator}: expected an object, found {}",
                keys.kind()
            ));
        };
        let without_set = operator
            .split_once(':')
            .map_or(operator.as_ref(), |(_, rest)| rest);
        let (base, if_exists) = match without_set.len().checked_sub("IfExists".len()) {
            Some(cut)
                if without_set
                    .get(cut..)
                    .is_some_and(|tail| tail.eq_ignore_ascii_case("IfExists")) =>
            {
                (without_set.get(..cut).unwrap_or(without_set), true)
            }
            _ => (without_set, false),
        };
        let base_operator = base.to_owned();
        for (key, raw_values) in keys {
            let values = match raw_values {
                Json::Array(items) => items.into_iter().filter_map(Json::into_text).collect(),
                other => other.into_text().into_iter().collect(),
            };
            out.push(Condition {
                operator: operator.to_string(),
                base_operator: base_operator.clone(),
                if_exists,
                key: key.into_owned(),
                values,
            });
        }
    }
    Ok(out)
}

pub(crate) fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn preview(text: &str) -> String {
    let mut out: String = text.chars().take(40).collect();
    if text.chars().count() > 40 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const COMPACT: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":"iam:PassRole","Resource":"*","Condition":{"StringEquals":{"iam:PassedToService":"lexv2.amazonaws.com"}}}]}"#;

    #[test]
    fn every_encoding_gives_the_same_document() {
        let compact = PolicyDocument::decode_str(COMPACT).unwrap();
        let pretty_text =
            serde_json::to_string_pretty(&serde_json::from_str::<Value>(COMPACT).unwrap()).unwrap();
        let pretty = PolicyDocument::decode_str(&pretty_text).unwrap();
        let encoded: String =
            percent_encoding::utf8_percent_encode(COMPACT, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        let url = PolicyDocument::decode_str(&encoded).unwrap();
        let object =
            PolicyDocument::from_value(&serde_json::from_str::<Value>(COMPACT).unwrap()).unwrap();
        assert_eq!(compact, pretty);
        assert_eq!(compact, url);
        assert_eq!(compact, object);
        assert_eq!(compact.statements.len(), 1);
        assert_eq!(compact.statements[0].sid.as_deref(), Some("A"));
    }

    #[test]
    fn single_statement_object_and_scalar_elements() {
        let doc = PolicyDocument::from_value(&json!({
            "Statement": {"Effect": "Deny", "NotAction": "s3:*", "NotResource": ["arn:aws:s3:::b"]}
        }))
        .unwrap();
        let s = &doc.statements[0];
        assert_eq!(s.effect, Effect::Deny);
        assert_eq!(s.actions, Some((Polarity::Not, vec!["s3:*".to_string()])));
        assert_eq!(
            s.resources,
            Some((Polarity::Not, vec!["arn:aws:s3:::b".to_string()]))
        );
    }

    #[test]
    fn condition_operators_are_split() {
        let doc = PolicyDocument::from_value(&json!({"Statement": [{
            "Effect": "Allow", "Action": "*", "Resource": "*",
            "Condition": {"ForAnyValue:StringLikeIfExists": {"IAM:PassedToService": ["a", "b"]}}
        }]}))
        .unwrap();
        let c = &doc.statements[0].conditions[0];
        assert_eq!(c.base_operator, "StringLike");
        assert!(c.if_exists);
        assert!(c.key_is("iam:passedtoservice"));
        assert_eq!(c.values, vec!["a", "b"]);
    }

    #[test]
    fn principals_star_and_map() {
        let doc = PolicyDocument::from_value(&json!({"Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"},
            {"Effect": "Allow", "Principal": {"Service": ["lex.amazonaws.com"], "AWS": "arn:aws:iam::1:root"}, "Action": "sts:AssumeRole"}
        ]}))
        .unwrap();
        assert!(doc.statements[0].principals.as_ref().unwrap().1.wildcard);
        assert_eq!(
            doc.statements[1]
                .principals
                .as_ref()
                .unwrap()
                .1
                .entries
                .len(),
            2
        );
    }

    #[test]
    fn bad_statements_are_listed_not_fatal() {
        let doc = PolicyDocument::from_value(&json!({"Statement": [
            {"Effect": "Maybe", "Action": "*"},
            {"Effect": "Allow", "Action": 42, "Resource": "*"},
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
        ]}))
        .unwrap();
        assert_eq!(doc.statements.len(), 1);
        assert_eq!(doc.problems.len(), 2);
        assert!(doc.problems[0].contains("unknown Effect `Maybe`"));
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(PolicyDocument::decode_str("{\"Statement\": [").is_err());
        assert!(PolicyDocument::decode_str("None").is_err());
        assert!(PolicyDocument::from_value(&json!(42)).is_err());
        assert!(PolicyDocument::from_value(&json!({"Version": "x"})).is_err());
    }
}
