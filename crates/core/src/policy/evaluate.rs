//! One `iam:PassRole` request judged by one statement, with AWS's reading of every element.
//!
//! The request context holds what a PassRole call always carries: the action, the role ARN,
//! `iam:PassedToService` (always present) and `iam:AssociatedResourceARN` (present only when the
//! receiving service supplies it). Anything else a condition may ask about (`aws:SourceIp`, the
//! caller's tags, an operator rolewarden does not implement) is not in the policy: such a test is
//! `Unknown`, and so is a test that hinges on a policy variable. Callers decide what `Unknown`
//! means: an Allow is assumed to apply, a Deny is not relied on.
//!
//! Conditions follow the IAM reference: operators and keys are case-insensitive, values are
//! ORed within a condition and conditions ANDed; a negated operator (`StringNotEquals`,
//! `ArnNotLike`) is true when the key is absent; `...IfExists` is true when it is absent;
//! `ForAnyValue:` sees a single-valued key as a set of one value (the empty set when absent, for
//! which it is false) and `ForAllValues:` likewise (true for the empty set); `Null` tests
//! presence.

use super::document::{Condition, Effect, Polarity, Statement};
use super::passrole::{statement_action, ASSOCIATED_RESOURCE, PASSED_TO_SERVICE, PASS_ROLE};
use super::value::{Budget, Pattern, Syntax};

/// Three-valued logic (Kleene): `Unknown` when the policy alone cannot tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Truth {
    False,
    Unknown,
    True,
}

impl Truth {
    pub fn from_bool(b: bool) -> Self {
        if b {
            Truth::True
        } else {
            Truth::False
        }
    }

    pub fn any(items: impl IntoIterator<Item = Truth>) -> Self {
        items.into_iter().max().unwrap_or(Truth::False)
    }

    pub fn all(items: impl IntoIterator<Item = Truth>) -> Self {
        items.into_iter().min().unwrap_or(Truth::True)
    }

    /// Not known to be false.
    pub fn possible(self) -> bool {
        self != Truth::False
    }
}

impl std::ops::Not for Truth {
    type Output = Truth;

    fn not(self) -> Truth {
        match self {
            Truth::False => Truth::True,
            Truth::Unknown => Truth::Unknown,
            Truth::True => Truth::False,
        }
    }
}

/// A PassRole request as IAM evaluates it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub role: &'a str,
    pub passed_to_service: &'a str,
    pub associated_resource: Option<&'a str>,
}

/// The request keys a PassRole condition can test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    PassedToService,
    AssociatedResource,
    /// A key the policy alone cannot tell (`aws:SourceIp`, `aws:PrincipalTag/...`).
    Other,
}

impl Key {
    fn of(name: &str) -> Self {
        if name.eq_ignore_ascii_case(PASSED_TO_SERVICE) {
            Key::PassedToService
        } else if name.eq_ignore_ascii_case(ASSOCIATED_RESOURCE) {
            Key::AssociatedResource
        } else {
            Key::Other
        }
    }

    fn value<'a>(self, request: &Request<'a>) -> Option<&'a str> {
        match self {
            Key::PassedToService => Some(request.passed_to_service),
            Key::AssociatedResource => request.associated_resource,
            Key::Other => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetPrefix {
    None,
    AnyValue,
    AllValues,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compare {
    Equals,
    EqualsIgnoreCase,
    Like,
    Arn,
}

#[derive(Debug, Clone, PartialEq)]
enum Test {
    /// A string or ARN comparison; `negated` for the `Not` forms.
    Compare {
        how: Compare,
        negated: bool,
        values: Vec<Pattern>,
    },
    /// `Null`: `true` asks for an absent key, `false` for a present one.
    Null(Vec<Option<bool>>),
    /// An operator rolewarden does not evaluate.
    Unsupported,
}

/// A condition compiled once per document.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledCondition {
    pub source: Condition,
    pub key: Key,
    set: Option<SetPrefix>,
    if_exists: bool,
    test: Test,
}

impl CompiledCondition {
    fn new(condition: &Condition, variables: bool) -> Self {
        let set = match condition.operator.split_once(':') {
            None => Some(SetPrefix::None),
            Some((prefix, _)) if prefix.eq_ignore_ascii_case("ForAnyValue") => {
                Some(SetPrefix::AnyValue)
            }
            Some((prefix, _)) if prefix.eq_ignore_ascii_case("ForAllValues") => {
                Some(SetPrefix::AllValues)
            }
            Some(_) => None,
        };
        let base = condition.base_operator.to_ascii_lowercase();
        let (negated, positive) = match base.strip_prefix("stringnot") {
            Some(rest) => (true, format!("string{rest}")),
            None => match base.strip_prefix("arnnot") {
                Some(rest) => (true, format!("arn{rest}")),
                None => (false, base.clone()),
            },
        };
        let how = match positive.as_str() {
            "stringequals" => Some(Compare::Equals),
            "stringequalsignorecase" => Some(Compare::EqualsIgnoreCase),
            "stringlike" => Some(Compare::Like),
            "arnequals" | "arnlike" => Some(Compare::Arn),
            _ => None,
        };
        let test = match how {
            Some(how) => Test::Compare {
                how,
                negated,
                values: condition
                    .values
                    .iter()
                    .map(|v| {
                        Pattern::parse(
                            v,
                            Syntax {
                                wildcards: matches!(how, Compare::Like | Compare::Arn),
                                variables,
                            },
                        )
                    })
                    .collect(),
            },
            None if base == "null" && !condition.if_exists => Test::Null(
                condition
                    .values
                    .iter()
                    .map(|v| match v.trim() {
                        v if v.eq_ignore_ascii_case("true") => Some(true),
                        v if v.eq_ignore_ascii_case("false") => Some(false),
                        _ => None,
                    })
                    .collect(),
            ),
            None => Test::Unsupported,
        };
        CompiledCondition {
            source: condition.clone(),
            key: Key::of(&condition.key),
            set,
            if_exists: condition.if_exists,
            test,
        }
    }

    pub fn truth(&self, request: &Request<'_>, fresh: char, budget: &Budget) -> Truth {
        let (Some(set), Key::PassedToService | Key::AssociatedResource) = (self.set, self.key)
        else {
            return Truth::Unknown;
        };
        let value = self.key.value(request);
        match &self.test {
            Test::Unsupported => Truth::Unknown,
            Test::Null(wants) => {
                if set != SetPrefix::None {
                    return Truth::Unknown;
                }
                Truth::any(wants.iter().map(|w| match w {
                    Some(absent) => Truth::from_bool(*absent == value.is_none()),
                    None => Truth::Unknown,
                }))
            }
            Test::Compare {
                how,
                negated,
                values,
            } => match (value, set) {
                (None, _) if self.if_exists => Truth::True,
                (None, SetPrefix::AnyValue) => Truth::False,
                (None, SetPrefix::AllValues) => Truth::True,
                (None, SetPrefix::None) => Truth::from_bool(*negated),
                (Some(v), _) => {
                    let hit = Truth::any(values.iter().map(|p| match how {
                        Compare::Equals | Compare::Like => p.matches(v, false, fresh, budget),
                        Compare::EqualsIgnoreCase => p.matches(v, true, fresh, budget),
                        Compare::Arn => p.matches_arn(v, fresh, budget),
                    }));
                    if *negated {
                        !hit
                    } else {
                        hit
                    }
                }
            },
        }
    }

    /// The values compared with, compiled (none for `Null` and operators not evaluated).
    pub fn patterns(&self) -> &[Pattern] {
        match &self.test {
            Test::Compare { values, .. } => values,
            Test::Null(_) | Test::Unsupported => &[],
        }
    }

    /// Why the condition cannot be evaluated from the policy alone, if it cannot.
    fn unknowable(&self) -> Option<String> {
        if self.key == Key::Other {
            return Some(format!("a condition on `{}`", self.source.key));
        }
        if self.set.is_none() || self.test == Test::Unsupported {
            return Some(format!("the operator `{}`", self.source.operator));
        }
        match &self.test {
            Test::Compare { values, .. } => values
                .iter()
                .find(|p| p.has_variable())
                .map(|p| format!("the policy variable in `{}`", p.text())),
            Test::Null(wants) => wants
                .contains(&None)
                .then(|| format!("the `Null` value of `{}`", self.source.key)),
            Test::Unsupported => None,
        }
    }
}

/// A statement that covers `iam:PassRole`, compiled once per document.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledStatement {
    pub index: usize,
    pub sid: Option<String>,
    pub effect: Effect,
    pub matched_action: String,
    pub resources: Option<(Polarity, Vec<Pattern>)>,
    pub conditions: Vec<CompiledCondition>,
}

impl CompiledStatement {
    /// `None` when the statement does not cover `iam:PassRole`.
    pub fn new(statement: &Statement, variables: bool) -> Option<Self> {
        let matched_action = statement_action(statement, PASS_ROLE)?;
        let syntax = Syntax {
            wildcards: true,
            variables,
        };
        Some(CompiledStatement {
            index: statement.index,
            sid: statement.sid.as_deref().map(str::to_owned),
            effect: statement.effect,
            matched_action,
            resources: statement.resources.as_ref().map(|(polarity, patterns)| {
                (
                    polarity.clone(),
                    patterns
                        .iter()
                        .map(|p| Pattern::parse(p.trim(), syntax))
                        .collect(),
                )
            }),
            conditions: statement
                .conditions
                .iter()
                .map(|c| CompiledCondition::new(c, variables))
                .collect(),
        })
    }

    /// Whether the statement applies to the request.
    pub fn truth(&self, request: &Request<'_>, fresh: char, budget: &Budget) -> Truth {
        match self.resource_truth(request.role, fresh, budget) {
            Truth::False => Truth::False,
            resource => resource.min(self.condition_truth(request, fresh, budget)),
        }
    }

    /// Whether `Resource`/`NotResource` covers the role.
    pub fn resource_truth(&self, role: &str, fresh: char, budget: &Budget) -> Truth {
        match &self.resources {
            Some((polarity, patterns)) => {
                let hit = Truth::any(
                    patterns
                        .iter()
                        .map(|p| p.matches(role, false, fresh, budget)),
                );
                match polarity {
                    Polarity::Is => hit,
                    Polarity::Not => !hit,
                }
            }
            // An identity policy statement needs a resource; IAM rejects one without.
            None => Truth::False,
        }
    }

    /// Whether every condition holds (they never depend on the role).
    pub fn condition_truth(&self, request: &Request<'_>, fresh: char, budget: &Budget) -> Truth {
        Truth::all(
            self.conditions
                .iter()
                .map(|c| c.truth(request, fresh, budget)),
        )
    }

    /// Why the statement cannot always be evaluated from the policy alone.
    pub fn unknowables(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .resources
            .iter()
            .flat_map(|(_, patterns)| patterns.iter())
            .filter(|p| p.has_variable())
            .map(|p| format!("the policy variable in `{}`", p.text()))
            .collect();
        out.extend(
            self.conditions
                .iter()
                .filter_map(CompiledCondition::unknowable),
        );
        out.dedup();
        out
    }

    /// `statement 2` or ``statement 2 `Sid` `` for messages.
    pub fn label(&self) -> String {
        match &self.sid {
            Some(sid) => format!("statement {} `{sid}`", self.index),
            None => format!("statement {}", self.index),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::PolicyDocument;
    use serde_json::json;

    fn statement(condition: serde_json::Value) -> CompiledStatement {
        let doc = PolicyDocument::from_value_owned(&json!({"Version": "2012-10-17", "Statement": {
            "Effect": "Allow", "Action": "iam:PassRole", "Resource": "*", "Condition": condition}}))
        .unwrap();
        CompiledStatement::new(&doc.statements[0], true).unwrap()
    }

    fn truth(condition: serde_json::Value, service: &str, resource: Option<&str>) -> Truth {
        statement(condition).truth(
            &Request {
                role: "arn:aws:iam::1:role/r",
                passed_to_service: service,
                associated_resource: resource,
            },
            'Q',
            &Budget::unlimited(),
        )
    }

    #[test]
    fn operators_on_passed_to_service() {
        let lex = "lex.amazonaws.com";
        let cases = [
            (
                json!({"StringEquals": {"iam:PassedToService": lex}}),
                Truth::True,
            ),
            (
                json!({"StringEquals": {"iam:passedtoservice": "lex*"}}),
                Truth::False,
            ),
            (
                json!({"StringLike": {"iam:PassedToService": "*.amazonaws.com"}}),
                Truth::True,
            ),
            (
                json!({"StringNotEquals": {"iam:PassedToService": lex}}),
                Truth::False,
            ),
            (
                json!({"StringEqualsIgnoreCase": {"iam:PassedToService": "LEX.amazonaws.com"}}),
                Truth::True,
            ),
            (
                json!({"ForAnyValue:StringEquals": {"iam:PassedToService": lex}}),
                Truth::True,
            ),
            (
                json!({"StringEqualsIfExists": {"iam:PassedToService": "ec2.amazonaws.com"}}),
                Truth::False,
            ),
            (
                json!({"Null": {"iam:PassedToService": "false"}}),
                Truth::True,
            ),
            (
                json!({"Null": {"iam:PassedToService": "true"}}),
                Truth::False,
            ),
            (
                json!({"StringEquals": {"iam:PassedToService": "${aws:PrincipalTag/svc}"}}),
                Truth::Unknown,
            ),
            (
                json!({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
                Truth::Unknown,
            ),
            (
                json!({"NumericEquals": {"iam:PassedToService": "1"}}),
                Truth::Unknown,
            ),
        ];
        for (condition, want) in cases {
            assert_eq!(truth(condition.clone(), lex, None), want, "{condition}");
        }
    }

    #[test]
    fn an_absent_associated_resource() {
        let key = "iam:AssociatedResourceARN";
        let arn = "arn:aws:lex:us-east-1:1:bot-alias/B/A";
        let cases = [
            (json!({"ArnLike": {key: arn}}), Truth::False),
            (json!({"ArnNotLike": {key: arn}}), Truth::True),
            (json!({"ArnLikeIfExists": {key: arn}}), Truth::True),
            (json!({"ForAnyValue:ArnLike": {key: arn}}), Truth::False),
            (json!({"ForAllValues:ArnLike": {key: arn}}), Truth::True),
            (json!({"ForAnyValue:ArnNotLike": {key: arn}}), Truth::False),
            (json!({"Null": {key: "true"}}), Truth::True),
        ];
        for (condition, want) in cases {
            assert_eq!(
                truth(condition.clone(), "lex.amazonaws.com", None),
                want,
                "{condition}"
            );
        }
        assert_eq!(
            truth(
                json!({"ArnLike": {key: "arn:aws:lex:*"}}),
                "lex.amazonaws.com",
                Some(arn)
            ),
            Truth::True
        );
    }

    #[test]
    fn unknowables_are_named() {
        let s = statement(json!({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"},
            "StringEquals": {"iam:PassedToService": "${aws:PrincipalTag/svc}"}}));
        let reasons = s.unknowables();
        assert!(
            reasons.iter().any(|r| r.contains("aws:SourceIp")),
            "{reasons:?}"
        );
        assert!(
            reasons.iter().any(|r| r.contains("policy variable")),
            "{reasons:?}"
        );
    }
}
