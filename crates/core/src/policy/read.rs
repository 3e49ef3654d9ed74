//! The policy document read straight from its JSON by serde visitors, with no tree in between.
//!
//! Why: building a tree of the document (even one that borrows from the text) and then taking
//! it apart was most of the cost of decoding a 2 KB policy: a vector per object, a vector per
//! array, a sort per object, then the statements built from it (README, Performance: the
//! typical event). Here each element is read into its final form as the parser meets it; a
//! `Sid`, action or resource without escapes is borrowed from the text (`'de`), not copied; and
//! the value of a key that will not be kept is read without being kept ([`Unkept`]).
//!
//! The reading is the one a `serde_json::Value` gives a document, which the findings depend on:
//! of a key written twice the last one counts; of keys that differ only in case, the one
//! spelled as IAM spells it wins, else the first in byte order; principals and conditions come
//! in key order. Problems inside a statement (a wrong type, an unknown `Effect`) make that
//! statement a problem and never stop the reading. The document fails on invalid JSON anywhere
//! in it (kept or not), and when its `Statement` is missing or neither an object nor an array.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Number;

use super::document::{Condition, Effect, Polarity, PolicyDocument, Principals, Statement};
use super::PolicyError;

/// A whole document. `Err` of the outer result: the input is not JSON; of the inner: it is JSON
/// but no policy document.
pub(super) fn document<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Result<PolicyDocument<'de>, PolicyError>, D::Error> {
    deserializer.deserialize_any(Read(DocumentShape))
}

/// A JSON scalar as the parser hands it over. Text is borrowed from the input when it has no
/// escapes (`'de`), else lent for the call (`'s`) or given.
enum Scalar<'s, 'de> {
    Null,
    Bool(bool),
    Number(Number),
    Borrowed(&'de str),
    Lent(&'s str),
    Given(String),
}

impl<'de> Scalar<'_, 'de> {
    fn kind(&self) -> &'static str {
        match self {
            Scalar::Null => "null",
            Scalar::Bool(_) => "a boolean",
            Scalar::Number(_) => "a number",
            Scalar::Borrowed(_) | Scalar::Lent(_) | Scalar::Given(_) => "a string",
        }
    }

    /// The string, if it is one, kept: borrowed from the input when it can be.
    fn into_str(self) -> Option<Cow<'de, str>> {
        match self {
            Scalar::Borrowed(s) => Some(Cow::Borrowed(s)),
            Scalar::Lent(s) => Some(Cow::Owned(s.to_owned())),
            Scalar::Given(s) => Some(Cow::Owned(s)),
            _ => None,
        }
    }

    /// The scalar as text, as `crate::decode::lenient::text_of` reads a `Value`.
    fn into_text(self) -> Option<Cow<'de, str>> {
        match self {
            Scalar::Null => None,
            Scalar::Bool(b) => Some(Cow::Owned(b.to_string())),
            Scalar::Number(n) => Some(Cow::Owned(n.to_string())),
            text => text.into_str(),
        }
    }
}

const ARRAY: &str = "an array";
const OBJECT: &str = "an object";

/// What a value is read into. A shape that does not take arrays or objects still reads them
/// ([`Unkept`]), then answers with [`Shape::other`].
trait Shape<'de>: Sized {
    type Out;

    /// A value of a type this shape does not take, named as error messages name it.
    fn other(self, kind: &'static str) -> Self::Out;

    fn scalar(self, value: Scalar<'_, 'de>) -> Self::Out {
        let kind = value.kind();
        self.other(kind)
    }

    fn seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Out, A::Error> {
        while seq.next_element::<Unkept>()?.is_some() {}
        Ok(self.other(ARRAY))
    }

    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Out, A::Error> {
        while map.next_entry::<Key, Unkept>()?.is_some() {}
        Ok(self.other(OBJECT))
    }
}

/// A shape as a serde seed and visitor.
struct Read<S>(S);

impl<'de, S: Shape<'de>> DeserializeSeed<'de> for Read<S> {
    type Value = S::Out;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Out, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, S: Shape<'de>> Visitor<'de> for Read<S> {
    type Value = S::Out;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<S::Out, E> {
        Ok(self.0.scalar(Scalar::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<S::Out, E> {
        Ok(self.0.scalar(Scalar::Number(v.into())))
    }

    fn visit_u64<E>(self, v: u64) -> Result<S::Out, E> {
        Ok(self.0.scalar(Scalar::Number(v.into())))
    }

    fn visit_f64<E>(self, v: f64) -> Result<S::Out, E> {
        // As `Value` reads it: a number that is not finite is null.
        Ok(self
            .0
            .scalar(Number::from_f64(v).map_or(Scalar::Null, Scalar::Number)))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<S::Out, E> {
        Ok(self.0.scalar(Scalar::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<S::Out, E> {
        Ok(self.0.scalar(Scalar::Lent(v)))
    }

    fn visit_string<E>(self, v: String) -> Result<S::Out, E> {
        Ok(self.0.scalar(Scalar::Given(v)))
    }

    fn visit_unit<E>(self) -> Result<S::Out, E> {
        Ok(self.0.scalar(Scalar::Null))
    }

    fn visit_none<E>(self) -> Result<S::Out, E> {
        Ok(self.0.scalar(Scalar::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<S::Out, A::Error> {
        self.0.seq(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<S::Out, A::Error> {
        self.0.map(map)
    }
}

/// A value that is not kept (an unknown key's, a losing spelling's, a wrong type's), read as a
/// kept one is: a string's escapes and UTF-8, a number's range, the nesting limit. serde's
/// `IgnoredAny` only skims (serde_json does not check what it skips), and a document must not
/// pass or fail by which of its values are kept.
struct Unkept;

impl<'de> de::Deserialize<'de> for Unkept {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(Read(UnkeptShape))
    }
}

struct UnkeptShape;

impl<'de> Shape<'de> for UnkeptShape {
    type Out = Unkept;

    fn other(self, _kind: &'static str) -> Unkept {
        Unkept
    }
}

/// An object key, borrowed when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
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

/// The value kept for one element of an object, by the rule in the module comment: the key
/// spelled exactly wins; among other spellings the first in byte order; of one key written
/// twice, the last.
pub(super) struct Pick<T> {
    /// The value, with the key it was written under when that was not the exact spelling.
    held: Option<(Option<Box<str>>, T)>,
}

impl<T> Default for Pick<T> {
    fn default() -> Self {
        Pick { held: None }
    }
}

impl<T> Pick<T> {
    /// Whether a value under `key` would replace what is held; decided before it is read, so a
    /// value that loses is only checked ([`Unkept`]).
    fn wants(&self, key: &str, exact: bool) -> bool {
        match &self.held {
            None => true,
            Some((None, _)) => exact,
            Some((Some(held), _)) => exact || key <= held.as_ref(),
        }
    }

    pub(super) fn put(&mut self, key: &str, exact: bool, value: T) {
        self.held = Some(((!exact).then(|| key.into()), value));
    }

    fn take(self) -> Option<T> {
        self.held.map(|(_, value)| value)
    }

    /// Reads the entry's value with `shape` when it is wanted, else only checks it.
    fn offer<'de, A, S>(
        &mut self,
        map: &mut A,
        key: &str,
        exact: bool,
        shape: S,
    ) -> Result<(), A::Error>
    where
        A: MapAccess<'de>,
        S: Shape<'de, Out = T>,
    {
        if self.wants(key, exact) {
            let value = map.next_value_seed(Read(shape))?;
            self.put(key, exact, value);
        } else {
            map.next_value::<Unkept>()?;
        }
        Ok(())
    }
}

/// Entries of an object in key order, of a key written twice the last (a `Value`'s order).
pub(super) fn in_key_order<T>(mut entries: Vec<(String, T)>) -> Vec<(String, T)> {
    // Stable: of equal keys the last written stays last; `dedup_by` keeps the first of a run,
    // so the later entry is swapped into its place first.
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries.dedup_by(|later, kept| {
        let same = later.0 == kept.0;
        if same {
            std::mem::swap(later, kept);
        }
        same
    });
    entries
}

/// A scalar as text (`Version`, `Sid`, a condition value); anything else is none.
struct TextShape;

impl<'de> Shape<'de> for TextShape {
    type Out = Option<Cow<'de, str>>;

    fn other(self, _kind: &'static str) -> Self::Out {
        None
    }

    fn scalar(self, value: Scalar<'_, 'de>) -> Self::Out {
        value.into_text()
    }
}

/// A string only (`Effect`).
struct StringShape;

impl<'de> Shape<'de> for StringShape {
    type Out = Result<Cow<'de, str>, &'static str>;

    fn other(self, kind: &'static str) -> Self::Out {
        Err(kind)
    }

    fn scalar(self, value: Scalar<'_, 'de>) -> Self::Out {
        let kind = value.kind();
        value.into_str().ok_or(kind)
    }
}

/// A string or an array of strings (`Action`, `Resource`, a principal kind's values).
struct ListShape;

impl<'de> Shape<'de> for ListShape {
    type Out = Result<Vec<Cow<'de, str>>, String>;

    fn other(self, kind: &'static str) -> Self::Out {
        Err(format!("expected a string or an array, found {kind}"))
    }

    fn scalar(self, value: Scalar<'_, 'de>) -> Self::Out {
        let kind = value.kind();
        match value.into_str() {
            Some(s) => Ok(vec![s]),
            None => self.other(kind),
        }
    }

    fn seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Out, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        let mut wrong = None;
        while let Some(item) = seq.next_element_seed(Read(StringShape))? {
            match item {
                Ok(s) => items.push(s),
                Err(kind) => {
                    wrong.get_or_insert(kind);
                }
            }
        }
        Ok(match wrong {
            None => Ok(items),
            Some(kind) => Err(format!("expected a string, found {kind}")),
        })
    }
}

/// `Principal` or `NotPrincipal`: `"*"` or a map of kind to string-or-array.
struct PrincipalShape;

impl<'de> Shape<'de> for PrincipalShape {
    type Out = Result<Principals, String>;

    fn other(self, kind: &'static str) -> Self::Out {
        Err(format!("expected \"*\" or an object, found {kind}"))
    }

    fn scalar(self, value: Scalar<'_, 'de>) -> Self::Out {
        let kind = value.kind();
        match value.into_str() {
            Some(s) if s.trim() == "*" => Ok(Principals {
                wildcard: true,
                entries: Vec::new(),
            }),
            // A bare string other than "*" is not valid IAM; read it as an AWS principal.
            Some(s) => Ok(Principals {
                wildcard: false,
                entries: vec![("AWS".into(), s.into_owned())],
            }),
            None => self.other(kind),
        }
    }

    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Out, A::Error> {
        let mut kinds = Vec::new();
        while let Some(Key(kind)) = map.next_key()? {
            kinds.push((kind.into_owned(), map.next_value_seed(Read(ListShape))?));
        }
        let mut read = Vec::with_capacity(kinds.len());
        for (kind, values) in in_key_order(kinds) {
            match values {
                Ok(values) => read.push((kind, values)),
                Err(e) => return Ok(Err(format!("{kind}: {e}"))),
            }
        }
        Ok(Ok(principals(read)))
    }
}

/// A `Principal` object's entries, its kinds in key order (see [`in_key_order`]).
pub(super) fn principals(kinds: Vec<(String, Vec<Cow<'_, str>>)>) -> Principals {
    let mut principals = Principals::default();
    for (kind, values) in kinds {
        principals
            .entries
            .extend(values.into_iter().map(|v| (kind.clone(), v.into_owned())));
    }
    principals
}

/// `Condition`: operator to key to value or values.
struct ConditionShape;

impl<'de> Shape<'de> for ConditionShape {
    type Out = Result<Vec<Condition>, String>;

    fn other(self, kind: &'static str) -> Self::Out {
        Err(format!("Condition: expected an object, found {kind}"))
    }

    fn scalar(self, value: Scalar<'_, 'de>) -> Self::Out {
        match value {
            Scalar::Null => Ok(Vec::new()),
            other => self.other(other.kind()),
        }
    }

    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Out, A::Error> {
        let mut operators = Vec::new();
        while let Some(Key(operator)) = map.next_key()? {
            operators.push((
                operator.into_owned(),
                map.next_value_seed(Read(ConditionKeysShape))?,
            ));
        }
        let mut read = Vec::with_capacity(operators.len());
        for (operator, keys) in in_key_order(operators) {
            match keys {
                Ok(keys) => read.push((operator, keys)),
                Err(kind) => {
                    return Ok(Err(format!(
                        "Condition {operator}: expected an object, found {kind}"
                    )))
                }
            }
        }
        Ok(Ok(conditions(read)))
    }
}

/// A `Condition` object's conditions, its operators in key order (see [`in_key_order`]), the
/// keys of each put in key order here.
pub(super) fn conditions(operators: OperatorKeys) -> Vec<Condition> {
    let mut out = Vec::new();
    for (operator, keys) in operators {
        let (base_operator, if_exists) = split_operator(&operator);
        let base_operator = base_operator.to_owned();
        for (key, values) in in_key_order(keys) {
            out.push(Condition {
                operator: operator.clone(),
                base_operator: base_operator.clone(),
                if_exists,
                key,
                values,
            });
        }
    }
    out
}

/// Each condition operator with its keys and their values as text.
pub(super) type OperatorKeys = Vec<(String, Vec<(String, Vec<String>)>)>;

/// `ForAnyValue:StringLikeIfExists` → (`StringLike`, true).
fn split_operator(operator: &str) -> (&str, bool) {
    let without_set = operator.split_once(':').map_or(operator, |(_, rest)| rest);
    match without_set.len().checked_sub("IfExists".len()) {
        Some(cut)
            if without_set
                .get(cut..)
                .is_some_and(|tail| tail.eq_ignore_ascii_case("IfExists")) =>
        {
            (without_set.get(..cut).unwrap_or(without_set), true)
        }
        _ => (without_set, false),
    }
}

/// One operator's keys, each with its values as text (non-scalars in an array are dropped).
struct ConditionKeysShape;

impl<'de> Shape<'de> for ConditionKeysShape {
    type Out = Result<Vec<(String, Vec<String>)>, &'static str>;

    fn other(self, kind: &'static str) -> Self::Out {
        Err(kind)
    }

    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Out, A::Error> {
        let mut keys = Vec::new();
        while let Some(Key(key)) = map.next_key()? {
            keys.push((key.into_owned(), map.next_value_seed(Read(ValuesShape))?));
        }
        Ok(Ok(keys))
    }
}

/// A condition key's value: a scalar, or an array whose scalars count.
struct ValuesShape;

impl<'de> Shape<'de> for ValuesShape {
    type Out = Vec<String>;

    fn other(self, _kind: &'static str) -> Vec<String> {
        Vec::new()
    }

    fn scalar(self, value: Scalar<'_, 'de>) -> Vec<String> {
        value.into_text().map(Cow::into_owned).into_iter().collect()
    }

    fn seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
        let mut values = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(value) = seq.next_element_seed(Read(TextShape))? {
            values.extend(value.map(Cow::into_owned));
        }
        Ok(values)
    }
}

/// The statement elements, by the exact spelling [`Pick`] compares keys with.
const EFFECT: &str = "Effect";
const SID: &str = "Sid";
const ACTION: &str = "Action";
const NOT_ACTION: &str = "NotAction";
const RESOURCE: &str = "Resource";
const NOT_RESOURCE: &str = "NotResource";
const PRINCIPAL: &str = "Principal";
const NOT_PRINCIPAL: &str = "NotPrincipal";
const CONDITION: &str = "Condition";

/// One statement's elements as read, before they are judged together.
#[derive(Default)]
pub(super) struct Elements<'de> {
    pub effect: Pick<Result<Cow<'de, str>, &'static str>>,
    pub sid: Pick<Option<Cow<'de, str>>>,
    pub action: Pick<Result<Vec<Cow<'de, str>>, String>>,
    pub not_action: Pick<Result<Vec<Cow<'de, str>>, String>>,
    pub resource: Pick<Result<Vec<Cow<'de, str>>, String>>,
    pub not_resource: Pick<Result<Vec<Cow<'de, str>>, String>>,
    pub principal: Pick<Result<Principals, String>>,
    pub not_principal: Pick<Result<Principals, String>>,
    pub condition: Pick<Result<Vec<Condition>, String>>,
}

impl<'de> Elements<'de> {
    fn read<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut e = Elements::default();
        while let Some(Key(key)) = map.next_key()? {
            let key = key.as_ref();
            let is = |name: &str| key.eq_ignore_ascii_case(name);
            let exact = |name: &str| key == name;
            let m = &mut map;
            if is(EFFECT) {
                e.effect.offer(m, key, exact(EFFECT), StringShape)?;
            } else if is(SID) {
                e.sid.offer(m, key, exact(SID), TextShape)?;
            } else if is(ACTION) {
                e.action.offer(m, key, exact(ACTION), ListShape)?;
            } else if is(NOT_ACTION) {
                e.not_action.offer(m, key, exact(NOT_ACTION), ListShape)?;
            } else if is(RESOURCE) {
                e.resource.offer(m, key, exact(RESOURCE), ListShape)?;
            } else if is(NOT_RESOURCE) {
                e.not_resource
                    .offer(m, key, exact(NOT_RESOURCE), ListShape)?;
            } else if is(PRINCIPAL) {
                e.principal
                    .offer(m, key, exact(PRINCIPAL), PrincipalShape)?;
            } else if is(NOT_PRINCIPAL) {
                e.not_principal
                    .offer(m, key, exact(NOT_PRINCIPAL), PrincipalShape)?;
            } else if is(CONDITION) {
                e.condition
                    .offer(m, key, exact(CONDITION), ConditionShape)?;
            } else {
                map.next_value::<Unkept>()?;
            }
        }
        Ok(e)
    }

    /// The statement, or why it is not one; the checks in the order IAM's reading implies.
    pub(super) fn judge(self, index: usize) -> Result<Statement<'de>, String> {
        let effect = match self.effect.take() {
            Some(Ok(e)) => match e.trim() {
                e if e.eq_ignore_ascii_case("allow") => Effect::Allow,
                e if e.eq_ignore_ascii_case("deny") => Effect::Deny,
                e => return Err(format!("unknown Effect `{e}`")),
            },
            _ => return Err("missing Effect".into()),
        };
        let sid = self.sid.take().flatten().filter(|s| !s.is_empty());
        let actions = polar(self.action, self.not_action, ACTION, NOT_ACTION)?;
        let resources = polar(self.resource, self.not_resource, RESOURCE, NOT_RESOURCE)?;
        let principals = polar(self.principal, self.not_principal, PRINCIPAL, NOT_PRINCIPAL)?;
        let conditions = self.condition.take().transpose()?.unwrap_or_default();
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
}

/// An element and its `Not` form: at most one of them.
fn polar<T>(
    is: Pick<Result<T, String>>,
    not: Pick<Result<T, String>>,
    is_name: &str,
    not_name: &str,
) -> Result<Option<(Polarity, T)>, String> {
    match (is.take(), not.take()) {
        (Some(_), Some(_)) => Err(format!("both {is_name} and {not_name}")),
        (Some(v), None) => v
            .map(|x| Some((Polarity::Is, x)))
            .map_err(|e| format!("{is_name}: {e}")),
        (None, Some(v)) => v
            .map(|x| Some((Polarity::Not, x)))
            .map_err(|e| format!("{not_name}: {e}")),
        (None, None) => Ok(None),
    }
}

/// One statement, `index` its position in the `Statement` array.
struct StatementShape {
    index: usize,
}

impl<'de> Shape<'de> for StatementShape {
    type Out = Result<Statement<'de>, String>;

    fn other(self, kind: &'static str) -> Self::Out {
        Err(format!("expected an object, found {kind}"))
    }

    fn map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Out, A::Error> {
        Ok(Elements::read(map)?.judge(self.index))
    }
}

/// `Statement`: an array of statements or a lone one, read into the document (`Err`: what it
/// was instead). A later `Statement` key that wins replaces what an earlier one read.
struct StatementsShape<'d, 'de> {
    doc: &'d mut PolicyDocument<'de>,
}

impl<'de> StatementsShape<'_, 'de> {
    fn clear(&mut self) {
        self.doc.statements.clear();
        self.doc.problems.clear();
    }

    fn push(&mut self, index: usize, statement: Result<Statement<'de>, String>) {
        push(self.doc, index, statement);
    }
}

/// A statement into the document, or why it is none into its problems.
pub(super) fn push<'de>(
    doc: &mut PolicyDocument<'de>,
    index: usize,
    statement: Result<Statement<'de>, String>,
) {
    match statement {
        Ok(statement) => doc.statements.push(statement),
        Err(reason) => doc.problems.push(format!("statement {index}: {reason}")),
    }
}

impl<'de> Shape<'de> for StatementsShape<'_, 'de> {
    type Out = Result<(), &'static str>;

    fn other(mut self, kind: &'static str) -> Self::Out {
        self.clear();
        Err(kind)
    }

    fn seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<Self::Out, A::Error> {
        self.clear();
        let mut index = 0;
        while let Some(statement) = seq.next_element_seed(Read(StatementShape { index }))? {
            self.push(index, statement);
            index += 1;
        }
        Ok(Ok(()))
    }

    fn map<A: MapAccess<'de>>(mut self, map: A) -> Result<Self::Out, A::Error> {
        self.clear();
        let statement = StatementShape { index: 0 }.map(map)?;
        self.push(0, statement);
        Ok(Ok(()))
    }
}

/// The document: `Version` and `Statement`, keys read as statement elements are.
struct DocumentShape;

impl<'de> Shape<'de> for DocumentShape {
    type Out = Result<PolicyDocument<'de>, PolicyError>;

    fn other(self, kind: &'static str) -> Self::Out {
        Err(PolicyError::WrongType { found: kind })
    }

    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Out, A::Error> {
        let mut doc = PolicyDocument::default();
        let mut version = Pick::default();
        let mut statement = Pick::default();
        while let Some(Key(key)) = map.next_key()? {
            let key = key.as_ref();
            if key.eq_ignore_ascii_case("Version") {
                version.offer(&mut map, key, key == "Version", TextShape)?;
            } else if key.eq_ignore_ascii_case("Statement") {
                let shape = StatementsShape { doc: &mut doc };
                statement.offer(&mut map, key, key == "Statement", shape)?;
            } else {
                map.next_value::<Unkept>()?;
            }
        }
        match statement.take() {
            None => Ok(Err(PolicyError::MissingStatement)),
            Some(Err(found)) => Ok(Err(PolicyError::BadStatement { found })),
            Some(Ok(())) => {
                doc.version = version.take().flatten().map(Cow::into_owned);
                Ok(Ok(doc))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    use serde_json::Value;

    /// The reading the module comment states, written over a `serde_json::Value` (which keeps
    /// the last of a key written twice and orders keys as bytes): the reference the visitors
    /// must agree with.
    mod reference {
        use super::*;
        use serde_json::Map;

        fn kind(v: &Value) -> &'static str {
            crate::policy::document::json_type(v)
        }

        fn text(v: &Value) -> Option<String> {
            match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                Value::Bool(b) => Some(b.to_string()),
                _ => None,
            }
        }

        /// Exact key, else the first key in order that matches case-insensitively.
        fn get<'m>(map: &'m Map<String, Value>, key: &str) -> Option<&'m Value> {
            map.get(key).or_else(|| {
                map.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                    .map(|(_, v)| v)
            })
        }

        fn list(v: &Value) -> Result<Vec<String>, String> {
            match v {
                Value::String(s) => Ok(vec![s.clone()]),
                Value::Array(items) => items
                    .iter()
                    .map(|i| match i {
                        Value::String(s) => Ok(s.clone()),
                        other => Err(format!("expected a string, found {}", kind(other))),
                    })
                    .collect(),
                other => Err(format!(
                    "expected a string or an array, found {}",
                    kind(other)
                )),
            }
        }

        fn principals(v: &Value) -> Result<Principals, String> {
            match v {
                Value::String(s) if s.trim() == "*" => Ok(Principals {
                    wildcard: true,
                    entries: vec![],
                }),
                Value::String(s) => Ok(Principals {
                    wildcard: false,
                    entries: vec![("AWS".into(), s.clone())],
                }),
                Value::Object(m) => {
                    let mut p = Principals::default();
                    for (k, v) in m {
                        for v in list(v).map_err(|e| format!("{k}: {e}"))? {
                            p.entries.push((k.clone(), v));
                        }
                    }
                    Ok(p)
                }
                other => Err(format!(
                    "expected \"*\" or an object, found {}",
                    kind(other)
                )),
            }
        }

        fn conditions(v: &Value) -> Result<Vec<Condition>, String> {
            let Value::Object(ops) = v else {
                return Err(format!("Condition: expected an object, found {}", kind(v)));
            };
            let mut out = vec![];
            for (op, keys) in ops {
                let Value::Object(keys) = keys else {
                    return Err(format!(
                        "Condition {op}: expected an object, found {}",
                        kind(keys)
                    ));
                };
                let (base, if_exists) = split_operator(op);
                for (key, values) in keys {
                    let values = match values {
                        Value::Array(items) => items.iter().filter_map(text).collect(),
                        other => text(other).into_iter().collect(),
                    };
                    out.push(Condition {
                        operator: op.clone(),
                        base_operator: base.to_owned(),
                        if_exists,
                        key: key.clone(),
                        values,
                    });
                }
            }
            Ok(out)
        }

        fn polar<T>(
            m: &Map<String, Value>,
            is: &str,
            not: &str,
            f: fn(&Value) -> Result<T, String>,
        ) -> Result<Option<(Polarity, T)>, String> {
            match (get(m, is), get(m, not)) {
                (Some(_), Some(_)) => Err(format!("both {is} and {not}")),
                (Some(v), None) => f(v)
                    .map(|x| Some((Polarity::Is, x)))
                    .map_err(|e| format!("{is}: {e}")),
                (None, Some(v)) => f(v)
                    .map(|x| Some((Polarity::Not, x)))
                    .map_err(|e| format!("{not}: {e}")),
                (None, None) => Ok(None),
            }
        }

        fn statement(index: usize, v: &Value) -> Result<Statement<'static>, String> {
            let Value::Object(m) = v else {
                return Err(format!("expected an object, found {}", kind(v)));
            };
            let effect = match get(m, "Effect") {
                Some(Value::String(e)) => match e.trim() {
                    e if e.eq_ignore_ascii_case("allow") => Effect::Allow,
                    e if e.eq_ignore_ascii_case("deny") => Effect::Deny,
                    e => return Err(format!("unknown Effect `{e}`")),
                },
                _ => return Err("missing Effect".into()),
            };
            let sid = get(m, "Sid")
                .and_then(text)
                .filter(|s| !s.is_empty())
                .map(Cow::Owned);
            let cows = |(p, list): (Polarity, Vec<String>)| {
                (p, list.into_iter().map(Cow::Owned).collect::<Vec<_>>())
            };
            let actions = polar(m, "Action", "NotAction", list)?.map(cows);
            let resources = polar(m, "Resource", "NotResource", list)?.map(cows);
            let principals = polar(m, "Principal", "NotPrincipal", principals)?;
            let conditions = match get(m, "Condition") {
                None | Some(Value::Null) => vec![],
                Some(c) => conditions(c)?,
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

        pub fn document(v: &Value) -> Result<PolicyDocument<'static>, PolicyError> {
            let Value::Object(m) = v else {
                return Err(PolicyError::WrongType { found: kind(v) });
            };
            let raw = match get(m, "Statement") {
                None => return Err(PolicyError::MissingStatement),
                Some(Value::Array(items)) => items.iter().collect(),
                Some(single @ Value::Object(_)) => vec![single],
                Some(other) => return Err(PolicyError::BadStatement { found: kind(other) }),
            };
            let mut doc = PolicyDocument {
                version: get(m, "Version").and_then(text),
                ..Default::default()
            };
            for (index, v) in raw.into_iter().enumerate() {
                match statement(index, v) {
                    Ok(s) => doc.statements.push(s),
                    Err(e) => doc.problems.push(format!("statement {index}: {e}")),
                }
            }
            Ok(doc)
        }
    }

    /// JSON as written, keys in any order and repeated: what a `Value` cannot hold.
    #[derive(Debug, Clone)]
    enum Written {
        Scalar(&'static str),
        Array(Vec<Written>),
        Object(Vec<(String, Written)>),
    }

    impl Written {
        fn render(&self, out: &mut String) {
            match self {
                Written::Scalar(s) => out.push_str(s),
                Written::Array(items) => {
                    out.push('[');
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        item.render(out);
                    }
                    out.push(']');
                }
                Written::Object(entries) => {
                    out.push('{');
                    for (i, (k, v)) in entries.iter().enumerate() {
                        if i > 0 {
                            out.push_str(", ");
                        }
                        out.push_str(&serde_json::to_string(k).unwrap());
                        out.push(':');
                        v.render(out);
                    }
                    out.push('}');
                }
            }
        }
    }

    const SCALARS: &[&str] = &[
        "\"*\"",
        "\" * \"",
        "\"Allow\"",
        "\" deny \"",
        "\"Maybe\"",
        "\"iam:PassRole\"",
        "\"lexv2.amazonaws.com\"",
        "\"\"",
        "\"a\\nb\\u00e9\"",
        "1",
        "-2",
        "1.5e3",
        "18446744073709551615",
        "true",
        "null",
    ];

    /// Keys a policy reader looks for, in several spellings, and some it does not.
    const KEYS: &[&str] = &[
        "Version",
        "version",
        "Statement",
        "statement",
        "STATEMENT",
        "Effect",
        "effect",
        "EFFECT",
        "Sid",
        "sid",
        "Action",
        "action",
        "ACTION",
        "NotAction",
        "notaction",
        "Resource",
        "resource",
        "NotResource",
        "Principal",
        "principal",
        "NotPrincipal",
        "Condition",
        "condition",
        "Service",
        "AWS",
        "StringEquals",
        "ForAnyValue:StringLikeIfExists",
        "iam:PassedToService",
        "Other",
        "\u{e9}",
    ];

    fn written() -> impl Strategy<Value = Written> {
        let leaf = prop::sample::select(SCALARS).prop_map(Written::Scalar);
        leaf.prop_recursive(5, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Written::Array),
                prop::collection::vec(
                    (prop::sample::select(KEYS).prop_map(str::to_owned), inner),
                    0..7
                )
                .prop_map(Written::Object),
            ]
        })
    }

    fn strings() -> impl Strategy<Value = Written> {
        let string = prop::sample::select(&SCALARS[..9]).prop_map(Written::Scalar);
        prop_oneof![
            string.clone(),
            prop::collection::vec(string, 0..4).prop_map(Written::Array),
        ]
    }

    fn object_of(
        keys: &'static [&'static str],
        value: impl Strategy<Value = Written>,
        most: usize,
    ) -> impl Strategy<Value = Written> {
        prop::collection::vec(
            (prop::sample::select(keys).prop_map(str::to_owned), value),
            0..most,
        )
        .prop_map(Written::Object)
    }

    /// A statement: mostly its elements with values of the right shape, some of them spelled
    /// twice or in another case, now and then a value of any shape.
    fn statement() -> impl Strategy<Value = Written> {
        let effect = prop_oneof![
            Just(Written::Scalar("\"Allow\"")),
            Just(Written::Scalar("\" deny \"")),
            prop::sample::select(SCALARS).prop_map(Written::Scalar),
        ];
        let principal = prop_oneof![
            Just(Written::Scalar("\"*\"")),
            object_of(&["Service", "AWS", "Federated"], strings(), 3),
        ];
        let condition = object_of(
            &[
                "StringEquals",
                "ForAnyValue:StringLikeIfExists",
                "ArnLike",
                "Null",
            ],
            object_of(
                &[
                    "iam:PassedToService",
                    "aws:SourceArn",
                    "IAM:passedtoservice",
                ],
                written(),
                3,
            ),
            3,
        );
        let entry = prop_oneof![
            4 => (prop::sample::select(&["Effect", "effect", "EFFECT"][..]), effect),
            2 => (prop::sample::select(&["Sid", "sid"][..]), prop::sample::select(SCALARS).prop_map(Written::Scalar)),
            4 => (prop::sample::select(&["Action", "action", "NotAction", "Resource", "NotResource", "resource"][..]), strings()),
            2 => (prop::sample::select(&["Principal", "NotPrincipal", "principal"][..]), principal),
            2 => (prop::sample::select(&["Condition", "condition"][..]), condition),
            1 => (prop::sample::select(KEYS), written()),
        ];
        prop::collection::vec(entry, 0..8).prop_map(|entries| {
            Written::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect(),
            )
        })
    }

    /// A document-like value: `Version`, `Statement` (an array, one statement, or anything) and
    /// other keys, in several spellings and repeated.
    fn document_text() -> impl Strategy<Value = String> {
        let statements = prop_oneof![
            4 => prop::collection::vec(statement(), 0..5).prop_map(Written::Array),
            1 => statement(),
            1 => written(),
        ];
        let entry = prop_oneof![
            4 => (prop::sample::select(&["Statement", "statement", "STATEMENT"][..]), statements),
            1 => (prop::sample::select(&["Version", "version"][..]), prop::sample::select(SCALARS).prop_map(Written::Scalar)),
            1 => (prop::sample::select(KEYS), written()),
        ];
        prop::collection::vec(entry, 0..5).prop_map(|entries| {
            let doc = Written::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect(),
            );
            let mut out = String::new();
            doc.render(&mut out);
            out
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// From text (keys repeated and in any order) and from a `Value` in memory, the visitors
        /// read what the reference reads from the same text's `Value`.
        #[test]
        fn the_visitors_read_what_the_reference_reads(text in document_text()) {
            let value: Value = serde_json::from_str(&text).unwrap();
            let expected = reference::document(&value);
            prop_assert_eq!(&PolicyDocument::decode_str(&text), &expected, "{}", text);
            prop_assert_eq!(&PolicyDocument::from_value(&value), &expected, "{}", text);
        }
    }

    /// An object of some of `keys`, each once, in any order.
    fn plain_object(
        keys: &'static [&'static str],
        value: BoxedStrategy<Written>,
    ) -> BoxedStrategy<Written> {
        prop::sample::subsequence(keys.to_vec(), 0..=keys.len())
            .prop_shuffle()
            .prop_flat_map(move |keys| {
                let values = vec![value.clone(); keys.len()];
                (Just(keys), values)
            })
            .prop_map(|(keys, values)| {
                Written::Object(keys.into_iter().map(str::to_owned).zip(values).collect())
            })
            .boxed()
    }

    /// Documents as most are written: each key spelled as IAM spells it and written once,
    /// values of the shape read, text without escapes (`SCALARS[..8]`), now and then an unknown
    /// key with text, or a value of another shape.
    fn plain_document_text() -> impl Strategy<Value = String> {
        let text = prop::sample::select(&SCALARS[..8])
            .prop_map(Written::Scalar)
            .boxed();
        let any = prop::sample::select(SCALARS)
            .prop_map(Written::Scalar)
            .boxed();
        let list = prop_oneof![
            4 => text.clone(),
            4 => prop::collection::vec(text.clone(), 0..4).prop_map(Written::Array),
            1 => any.clone(),
        ]
        .boxed();
        let principal = prop_oneof![
            text.clone(),
            plain_object(&["AWS", "Federated", "Service"], list.clone()),
        ]
        .boxed();
        let keys = plain_object(
            &[
                "aws:SourceArn",
                "iam:PassedToService",
                "IAM:passedtoservice",
            ],
            list.clone(),
        );
        let condition = plain_object(
            &[
                "ArnLike",
                "Null",
                "StringEquals",
                "ForAnyValue:StringLikeIfExists",
            ],
            keys,
        );
        let value = move |name: &str| match name {
            "Action" | "NotAction" | "Resource" | "NotResource" => list.clone(),
            "Principal" | "NotPrincipal" => principal.clone(),
            "Condition" => condition.clone(),
            "Effect" => {
                prop_oneof![4 => Just(Written::Scalar("\"Allow\"")), 1 => text.clone()].boxed()
            }
            _ => prop_oneof![4 => text.clone(), 1 => any.clone()].boxed(),
        };
        let names = [
            "Sid",
            "Effect",
            "Action",
            "NotAction",
            "Resource",
            "NotResource",
            "Principal",
            "NotPrincipal",
            "Condition",
            "Id",
        ];
        let statement = prop::sample::subsequence(names.to_vec(), 0..=names.len())
            .prop_shuffle()
            .prop_flat_map(move |names| {
                let values: Vec<_> = names.iter().map(|n| value(n)).collect();
                (Just(names), values)
            })
            .prop_map(|(names, values)| {
                Written::Object(names.into_iter().map(str::to_owned).zip(values).collect())
            });
        let statements = prop_oneof![
            4 => prop::collection::vec(statement.clone(), 0..5).prop_map(Written::Array),
            1 => statement,
        ];
        (
            statements,
            any_of(&[None, Some("\"2012-10-17\"")]),
            any_of(&[None, Some("\"x\"")]),
        )
            .prop_map(|(statements, version, id)| {
                let mut entries = vec![("Statement".to_owned(), statements)];
                entries.extend(version.map(|v| ("Version".to_owned(), Written::Scalar(v))));
                entries.extend(id.map(|v| ("Id".to_owned(), Written::Scalar(v))));
                let mut out = String::new();
                Written::Object(entries).render(&mut out);
                out
            })
    }

    fn any_of(
        options: &'static [Option<&'static str>],
    ) -> impl Strategy<Value = Option<&'static str>> {
        prop::sample::select(options)
    }

    /// Of generated documents, plain ones and any, those the plain pass takes it reads as the
    /// visitors do (through `decode_str` the property above holds it to the reference too).
    #[test]
    fn the_plain_pass_reads_what_the_visitors_read() {
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let (mut taken, mut statements) = (0, 0);
        for case in 0..6000 {
            let text = match case % 3 {
                0 => document_text().new_tree(&mut runner).unwrap().current(),
                _ => plain_document_text()
                    .new_tree(&mut runner)
                    .unwrap()
                    .current(),
            };
            let Some(plain) = super::super::plain::document(&text) else {
                continue;
            };
            let mut json = serde_json::Deserializer::from_str(&text);
            let visitors = document(&mut json).unwrap();
            assert_eq!(Ok(&plain), visitors.as_ref(), "{text}");
            taken += 1;
            statements += plain.statements.len() + plain.problems.len();
        }
        assert!(
            taken > 1500 && statements > 2000,
            "{taken} taken, {statements} statements"
        );
    }

    #[test]
    fn generated_documents_reach_every_branch() {
        // The generator must make statements the reference accepts and ones it rejects, else the
        // property above compares mostly errors.
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let (mut decoded, mut problems, mut failed) = (0, 0, 0);
        for _ in 0..2000 {
            let text = document_text().new_tree(&mut runner).unwrap().current();
            match reference::document(&serde_json::from_str(&text).unwrap()) {
                Ok(doc) => {
                    decoded += doc.statements.len();
                    problems += doc.problems.len();
                }
                Err(_) => failed += 1,
            }
        }
        assert!(
            decoded > 100 && problems > 100 && failed > 100,
            "{decoded} {problems} {failed}"
        );
    }

    #[test]
    fn of_two_spellings_the_exact_one_else_the_first_in_byte_order() {
        let doc = PolicyDocument::decode_str(
            r#"{"statement":[],"Statement":[{"effect":"Deny","EFFECT":"Allow","Action":"a","action":"b","Action":"c"}],"STATEMENT":7}"#,
        )
        .unwrap();
        let s = &doc.statements[0];
        assert_eq!(s.effect, Effect::Allow, "EFFECT sorts before effect");
        assert_eq!(s.actions, Some((Polarity::Is, vec!["c".into()])));
    }

    #[test]
    fn a_value_that_loses_is_not_judged() {
        // The losing `Action` holds a number; only the kept one counts.
        let doc = PolicyDocument::decode_str(
            r#"{"Statement":{"Effect":"Allow","action":1,"Action":"s3:*"}}"#,
        )
        .unwrap();
        assert!(doc.problems.is_empty(), "{:?}", doc.problems);
        assert_eq!(doc.statements.len(), 1);
    }

    /// serde_json's `raw_value` feature makes a `Value` of this one key's text; the visitors keep
    /// it as the ordinary key it is in a policy.
    #[test]
    fn serde_jsons_private_raw_value_key_is_an_ordinary_key() {
        let text = r#"{"$serde_json::private::RawValue":"{\"Statement\":[]}","Statement":[]}"#;
        let doc = PolicyDocument::decode_str(text).unwrap();
        assert!(doc.statements.is_empty() && doc.problems.is_empty());
        assert_eq!(
            PolicyDocument::decode_str(
                r#"{"$serde_json::private::RawValue":"{\"Statement\":[]}"}"#
            ),
            Err(PolicyError::MissingStatement)
        );
    }

    /// Kept or not (an unknown key, a losing spelling, a value of the wrong type), a value is
    /// read as fully: serde_json's skim would pass a lone surrogate, a number out of range and
    /// any depth.
    #[test]
    fn invalid_json_anywhere_fails_the_document() {
        let deep = format!("{}{}", "[".repeat(130), "]".repeat(130));
        for text in [
            r#"{"Statement":[{"Effect":"Allow"}]"#.to_owned(),
            r#"{"Statement":[],"Other":[1,]}"#.to_owned(),
            r#"{"Statement":[]} trailing"#.to_owned(),
            r#"{"Statement":[{"Effect":"Allow","Action":"\ud800"}]}"#.to_owned(),
            r#"{"Statement":[],"Other":"\ud800"}"#.to_owned(),
            r#"{"Statement":[],"x":1e400}"#.to_owned(),
            format!(r#"{{"Statement":[],"x":{deep}}}"#),
            r#"{"Statement":{"Effect":"Allow","action":"\ud800","Action":"s3:*"}}"#.to_owned(),
            r#"{"Statement":{"Effect":"Allow","Action":[["\ud800"]]}}"#.to_owned(),
            r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":{"\ud800":1}}}}"#.to_owned(),
        ] {
            let doc = PolicyDocument::decode_str(&text);
            assert!(
                matches!(doc, Err(PolicyError::NotJson { .. })),
                "{text}: {doc:?}"
            );
            assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
        }
    }

    #[test]
    fn escaped_keys_are_the_keys_they_spell() {
        let text =
            r#"{"St\u0061tement":[{"\u0045ffect":"Allow","Acti\u006fn":["a","b"],"Sid":"x"}]}"#;
        let expected = reference::document(&serde_json::from_str(text).unwrap());
        let doc = PolicyDocument::decode_str(text);
        assert_eq!(doc, expected);
        assert_eq!(
            doc.unwrap().statements[0].actions.as_ref().unwrap().1,
            ["a", "b"]
        );
    }
}
