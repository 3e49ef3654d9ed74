//! One decoder for every form an IAM policy document arrives in.
//!
//! CloudTrail logs the document a caller sent as a JSON string (compact or pretty-printed), IAM
//! read APIs and `responseElements` return it URL-encoded, and some producers have already parsed
//! it into an object. Inside, `Statement` may be an object or an array, element values a string or
//! an array, `Principal` a `"*"` or a map of string-or-array. The decoder keeps every statement it
//! can understand and lists the ones it cannot, so a single odd statement never hides the rest.

use std::borrow::Cow;

use serde_json::Value;

use crate::policy::PolicyError;

/// A decoded IAM policy document (identity policy or trust policy). The `Sid`, actions and
/// resources of its statements borrow from the text it was read from where they can (a string
/// without escapes): for a 2 KB policy that was most of decoding it (README, Performance: the
/// typical event). [`PolicyDocument::into_owned`] detaches it from the text.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PolicyDocument<'a> {
    pub version: Option<String>,
    pub statements: Vec<Statement<'a>>,
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
pub struct Statement<'a> {
    /// Position in the `Statement` array (0 for a lone object).
    pub index: usize,
    pub sid: Option<Cow<'a, str>>,
    pub effect: Effect,
    pub actions: Option<(Polarity, Vec<Cow<'a, str>>)>,
    pub resources: Option<(Polarity, Vec<Cow<'a, str>>)>,
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

impl Statement<'_> {
    /// The statement, detached from the text it was read from.
    pub fn into_owned(self) -> Statement<'static> {
        let owned = |list: Vec<Cow<'_, str>>| {
            list.into_iter()
                .map(|s| Cow::Owned(s.into_owned()))
                .collect()
        };
        Statement {
            index: self.index,
            sid: self.sid.map(|s| Cow::Owned(s.into_owned())),
            effect: self.effect,
            actions: self.actions.map(|(p, list)| (p, owned(list))),
            resources: self.resources.map(|(p, list)| (p, owned(list))),
            principals: self.principals,
            conditions: self.conditions,
        }
    }

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

impl PolicyDocument<'static> {
    /// [`PolicyDocument::from_value`], detached from the value (one built in place, a stored one).
    pub fn from_value_owned(value: &Value) -> Result<Self, PolicyError> {
        PolicyDocument::from_value(value).map(PolicyDocument::into_owned)
    }
}

impl<'a> PolicyDocument<'a> {
    /// The document, detached from the text it was read from.
    pub fn into_owned(self) -> PolicyDocument<'static> {
        PolicyDocument {
            version: self.version,
            statements: self
                .statements
                .into_iter()
                .map(Statement::into_owned)
                .collect(),
            problems: self.problems,
        }
    }

    /// Decodes a document from any JSON value CloudTrail may carry: a string (JSON, pretty JSON,
    /// URL-encoded JSON) or an object.
    pub fn from_value(value: &'a Value) -> Result<Self, PolicyError> {
        match value {
            Value::String(s) => Self::decode_str(s),
            // Rare (CloudTrail and IAM carry documents as text): read by the same visitors.
            Value::Object(_) => super::read::document(value).unwrap_or_else(|e| {
                Err(PolicyError::NotJson {
                    reason: e.to_string(),
                })
            }),
            other => Err(PolicyError::WrongType {
                found: json_type(other),
            }),
        }
    }

    /// Decodes a document from text: JSON, or URL-encoded JSON as IAM returns it.
    pub fn decode_str(text: &'a str) -> Result<Self, PolicyError> {
        let mut current = Cow::Borrowed(text.trim());
        // IAM encodes once; tolerate one more layer from tools that encode again. (A third
        // layer was once decoded and then never parsed, which called the document "an object,
        // expected a JSON object".)
        const LAYERS: usize = 2;
        for layer in 0..=LAYERS {
            if current.starts_with('{') {
                return match current {
                    Cow::Borrowed(text) => read_text(text),
                    // Decoded here: nothing to borrow from once this returns.
                    Cow::Owned(text) => read_text(&text).map(PolicyDocument::into_owned),
                };
            }
            if layer == LAYERS || !current.contains('%') {
                break;
            }
            let decoded = percent_encoding::percent_decode_str(&current)
                .decode_utf8()
                .map_err(|e| PolicyError::NotJson {
                    reason: format!("URL-encoded text is not UTF-8: {e}"),
                })?
                .trim()
                .to_owned();
            current = Cow::Owned(decoded);
        }
        // Valid JSON of another type is a type error, not a syntax error.
        match serde_json::from_str::<Value>(&current) {
            Ok(other) => Err(PolicyError::WrongType {
                found: json_type(&other),
            }),
            Err(_) => Err(PolicyError::NotJson {
                reason: format!("expected a JSON object, found `{}`", preview(&current)),
            }),
        }
    }
}

/// A document from JSON text, borrowing from it.
fn read_text(text: &str) -> Result<PolicyDocument<'_>, PolicyError> {
    // Most documents are plain: read by a pass of our own, which leaves anything else here.
    if let Some(doc) = super::plain::document(text) {
        return Ok(doc);
    }
    let mut json = serde_json::Deserializer::from_str(text);
    let read = super::read::document(&mut json).and_then(|doc| {
        json.end()?;
        Ok(doc)
    });
    read.unwrap_or_else(|e| {
        Err(PolicyError::NotJson {
            reason: e.to_string(),
        })
    })
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
            PolicyDocument::from_value_owned(&serde_json::from_str::<Value>(COMPACT).unwrap())
                .unwrap();
        assert_eq!(compact, pretty);
        assert_eq!(compact, url);
        assert_eq!(compact, object);
        assert_eq!(compact.statements.len(), 1);
        assert_eq!(compact.statements[0].sid.as_deref(), Some("A"));
    }

    #[test]
    fn single_statement_object_and_scalar_elements() {
        let doc = PolicyDocument::from_value_owned(&json!({
            "Statement": {"Effect": "Deny", "NotAction": "s3:*", "NotResource": ["arn:aws:s3:::b"]}
        }))
        .unwrap();
        let s = &doc.statements[0];
        assert_eq!(s.effect, Effect::Deny);
        assert_eq!(s.actions, Some((Polarity::Not, vec!["s3:*".into()])));
        assert_eq!(
            s.resources,
            Some((Polarity::Not, vec!["arn:aws:s3:::b".into()]))
        );
    }

    #[test]
    fn condition_operators_are_split() {
        let doc = PolicyDocument::from_value_owned(&json!({"Statement": [{
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
        let doc = PolicyDocument::from_value_owned(&json!({"Statement": [
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
        let doc = PolicyDocument::from_value_owned(&json!({"Statement": [
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
    fn two_layers_of_url_encoding_are_read_and_a_third_is_named() {
        let once: String =
            percent_encoding::utf8_percent_encode(COMPACT, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        let twice: String =
            percent_encoding::utf8_percent_encode(&once, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        let thrice: String =
            percent_encoding::utf8_percent_encode(&twice, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        let plain = PolicyDocument::decode_str(COMPACT).unwrap();
        assert_eq!(PolicyDocument::decode_str(&once).unwrap(), plain);
        assert_eq!(PolicyDocument::decode_str(&twice).unwrap(), plain);
        match PolicyDocument::decode_str(&thrice) {
            Err(PolicyError::NotJson { reason }) => assert!(reason.contains("`%7B"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(PolicyDocument::decode_str("{\"Statement\": [").is_err());
        assert!(PolicyDocument::decode_str("None").is_err());
        assert!(PolicyDocument::from_value_owned(&json!(42)).is_err());
        assert!(PolicyDocument::from_value_owned(&json!({"Version": "x"})).is_err());
    }
}
