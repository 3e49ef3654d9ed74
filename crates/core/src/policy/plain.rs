//! A policy document read by a pass of our own when it is plainly simple, else by the serde
//! visitors of [`super::read`].
//!
//! Why: the visitors read any document exactly, but through serde's layers a 2 KB policy took
//! three times as long as serde_json merely skimming it (README, Performance: the typical
//! event). Most documents are plain: every key spelled as IAM spells it and written once, text
//! without escapes, `Action` and `Resource` a string or a list of strings. Such a document is
//! read here, straight into its statements, with the same judgement of each
//! ([`Elements::judge`]) and the same ordering of principals and conditions.
//!
//! Anything else is left to the visitors (`None`), which then decide: a key in another case or
//! written twice, an escape, a number or a boolean where text is read, a value of an
//! unexpected shape (the visitors word the problem), an unknown key whose value is not plain
//! text, a `Statement` element that is not an object, JSON this pass does not read. So a
//! document read here is the one the visitors read (tests hold it to that).

use std::borrow::Cow;

use super::document::{PolicyDocument, Principals};
use super::read::{conditions, in_key_order, principals, push, Elements, OperatorKeys};

/// The document in `text`, when it is plainly simple (see the module), else `None`.
pub(super) fn document(text: &str) -> Option<PolicyDocument<'_>> {
    let mut reader = Reader { text, at: 0 };
    let mut doc = PolicyDocument::default();
    let (mut version, mut statement) = (None, false);
    reader.object(|reader, key| {
        match key {
            "Version" if version.is_none() => version = Some(reader.string()?),
            "Statement" if !statement => {
                statement = true;
                reader.statements(&mut doc)?;
            }
            _ => reader.unknown(key)?,
        }
        Some(())
    })?;
    reader.blank();
    if reader.at != text.len() || !statement {
        return None;
    }
    doc.version = version.map(str::to_owned);
    Some(doc)
}

struct Reader<'a> {
    text: &'a str,
    at: usize,
}

/// Keys a document or a statement is read for, in any case: one spelled otherwise is left to
/// the visitors, which pick among spellings.
const NAMES: [&str; 11] = [
    "Version",
    "Statement",
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

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn blank(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    /// The next byte after blanks, consumed.
    fn token(&mut self) -> Option<u8> {
        self.blank();
        let b = self.peek()?;
        self.at += 1;
        Some(b)
    }

    fn next_is(&mut self, want: u8) -> bool {
        self.blank();
        let is = self.peek() == Some(want);
        if is {
            self.at += 1;
        }
        is
    }

    /// A string without escapes or control bytes: its text, borrowed.
    fn string(&mut self) -> Option<&'a str> {
        if self.token()? != b'"' {
            return None;
        }
        let rest = self.text.get(self.at..)?;
        // A byte loop: a policy's strings are short, shorter than a vector search takes to
        // start (`memchr2` here was a tenth of the typical event).
        let end = rest
            .bytes()
            .position(|b| b == b'"' || b == b'\\' || b < 0x20)?;
        if rest.as_bytes().get(end) != Some(&b'"') {
            return None;
        }
        self.at += end + 1;
        rest.get(..end)
    }

    /// An object: each key (plain, each at most once) handed to `entry`, which reads its
    /// value.
    fn object(&mut self, mut entry: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        if self.token()? != b'{' {
            return None;
        }
        if self.next_is(b'}') {
            return Some(());
        }
        loop {
            let key = self.string()?;
            if self.token()? != b':' {
                return None;
            }
            entry(self, key)?;
            match self.token()? {
                b',' => {}
                b'}' => return Some(()),
                _ => return None,
            }
        }
    }

    /// An array: each element read by `element`.
    fn array(&mut self, mut element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        if self.token()? != b'[' {
            return None;
        }
        if self.next_is(b']') {
            return Some(());
        }
        loop {
            element(self)?;
            match self.token()? {
                b',' => {}
                b']' => return Some(()),
                _ => return None,
            }
        }
    }

    /// The value of a key that is not read here: plain text only, and never under one of
    /// [`NAMES`] in any case (another spelling of a read key, a second `Version` or
    /// `Statement`, a statement's element at the document's level or the other way round),
    /// which the visitors judge.
    fn unknown(&mut self, key: &str) -> Option<()> {
        if NAMES.iter().any(|name| name.eq_ignore_ascii_case(key)) {
            return None;
        }
        self.string().map(drop)
    }

    /// A string or a list of strings.
    fn list(&mut self) -> Option<Vec<Cow<'a, str>>> {
        self.blank();
        if self.peek()? == b'"' {
            return Some(vec![Cow::Borrowed(self.string()?)]);
        }
        let mut items = Vec::new();
        self.array(|reader| {
            items.push(Cow::Borrowed(reader.string()?));
            Some(())
        })?;
        Some(items)
    }

    /// `Statement`: a list of statements or a lone one.
    fn statements(&mut self, doc: &mut PolicyDocument<'a>) -> Option<()> {
        self.blank();
        if self.peek()? == b'{' {
            let statement = self.statement()?.judge(0);
            push(doc, 0, statement);
            return Some(());
        }
        let mut index = 0;
        self.array(|reader| {
            let statement = reader.statement()?.judge(index);
            push(doc, index, statement);
            index += 1;
            Some(())
        })
    }

    fn statement(&mut self) -> Option<Elements<'a>> {
        let mut e = Elements::default();
        let mut seen = 0u16;
        self.object(|reader, key| {
            let bit = match NAMES.iter().position(|name| *name == key) {
                // `Version` and `Statement` are no statement elements.
                Some(n) if n >= 2 => 1 << n,
                _ => return reader.unknown(key),
            };
            if seen & bit != 0 {
                return None;
            }
            seen |= bit;
            match key {
                "Effect" => e.effect.put(key, true, Ok(Cow::Borrowed(reader.string()?))),
                "Sid" => e.sid.put(key, true, Some(Cow::Borrowed(reader.string()?))),
                "Action" => e.action.put(key, true, Ok(reader.list()?)),
                "NotAction" => e.not_action.put(key, true, Ok(reader.list()?)),
                "Resource" => e.resource.put(key, true, Ok(reader.list()?)),
                "NotResource" => e.not_resource.put(key, true, Ok(reader.list()?)),
                "Principal" => e.principal.put(key, true, Ok(reader.principal()?)),
                "NotPrincipal" => e.not_principal.put(key, true, Ok(reader.principal()?)),
                "Condition" => e.condition.put(key, true, Ok(reader.condition()?)),
                _ => return None,
            }
            Some(())
        })?;
        Some(e)
    }

    /// `"*"` (or another string, an AWS principal) or an object of kind to string or strings.
    fn principal(&mut self) -> Option<Principals> {
        self.blank();
        if self.peek()? == b'"' {
            let text = self.string()?;
            return Some(match text.trim() {
                "*" => Principals {
                    wildcard: true,
                    entries: Vec::new(),
                },
                _ => Principals {
                    wildcard: false,
                    entries: vec![("AWS".into(), text.to_owned())],
                },
            });
        }
        let mut kinds: Vec<(String, Vec<Cow<'a, str>>)> = Vec::new();
        self.object(|reader, kind| {
            if kinds.iter().any(|(k, _)| k == kind) {
                return None;
            }
            let values = reader.list()?;
            kinds.push((kind.to_owned(), values));
            Some(())
        })?;
        Some(principals(in_key_order(kinds)))
    }

    /// An object of operator to an object of key to a string or strings.
    fn condition(&mut self) -> Option<Vec<super::Condition>> {
        let mut operators: OperatorKeys = Vec::new();
        self.object(|reader, operator| {
            if operators.iter().any(|(o, _)| o == operator) {
                return None;
            }
            let mut keys: Vec<(String, Vec<String>)> = Vec::new();
            reader.object(|reader, key| {
                if keys.iter().any(|(k, _)| k == key) {
                    return None;
                }
                let values = reader.list()?.into_iter().map(Cow::into_owned).collect();
                keys.push((key.to_owned(), values));
                Some(())
            })?;
            operators.push((operator.to_owned(), keys));
            Some(())
        })?;
        Some(conditions(in_key_order(operators)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The visitors' reading, whatever this pass does.
    fn visitors(text: &str) -> Result<PolicyDocument<'_>, crate::policy::PolicyError> {
        let mut json = serde_json::Deserializer::from_str(text);
        let doc = super::super::read::document(&mut json).unwrap();
        json.end().unwrap();
        doc
    }

    #[test]
    fn plain_documents_are_read_here_as_the_visitors_read_them() {
        for text in [
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":["iam:PassRole","iam:GetRole"],"Resource":"*","Condition":{"StringEquals":{"iam:PassedToService":["lexv2.amazonaws.com","connect.amazonaws.com"]},"ForAnyValue:StringLikeIfExists":{"aws:b":"x","aws:a":[]}}},{"Effect":" deny ","NotAction":"s3:*","NotResource":[]}]}"#,
            "{\n  \"Statement\": {\n    \"Effect\": \"Allow\",\n    \"Principal\": {\"Service\": [\"lex.amazonaws.com\"], \"AWS\": \"arn:aws:iam::1:root\"},\n    \"Action\": \"sts:AssumeRole\"\n  },\n  \"Id\": \"x\"\n}\n",
            r#"{"Statement":[{"Effect":"Allow","Principal":" * ","Action":"a"},{"Effect":"Allow","NotPrincipal":"arn:aws:iam::1:user/u"}]}"#,
            // Problems the judgement finds: worded as the visitors word them.
            r#"{"Statement":[{"Effect":"Maybe"},{"Action":"a"},{"Effect":"Allow","Action":"a","NotAction":"b"}]}"#,
            r#"{"Statement":[]}"#,
            r#"{"Statement":{}}"#,
        ] {
            let doc = document(text).unwrap_or_else(|| panic!("not taken: {text}"));
            assert_eq!(Ok(doc), visitors(text), "{text}");
        }
    }

    #[test]
    fn anything_else_is_left_to_the_visitors() {
        for text in [
            r#"{"statement":[]}"#,
            r#"{"Statement":[],"Statement":[]}"#,
            r#"{"Statement":[{"effect":"Allow"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Effect":"Deny"}]}"#,
            r#"{"Statement":[{"Effect":"Al\u006cow"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Sid":7}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Action":[7]}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Condition":{"Bool":{"aws:x":true}}}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Condition":null}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"a","AWS":"b"}}]}"#,
            r#"{"Statement":[7]}"#,
            r#"{"Statement":7}"#,
            r#"{"Version":"2012-10-17"}"#,
            r#"{"Statement":[],"Id":{}}"#,
            r#"{"Statement":[]} x"#,
            r#"{"Statement":["#,
            "{\"Statement\":[{\"Sid\":\"a\u{1}\"}]}",
        ] {
            assert!(document(text).is_none(), "{text}");
        }
    }
}
