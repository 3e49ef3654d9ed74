//! PR001-PR003 against a reference evaluator, on generated policy documents.
//!
//! # The reference
//!
//! [`Reference`] decides one request (action, role ARN, `iam:PassedToService`, and
//! `iam:AssociatedResourceARN` or none) by AWS's evaluation logic for one identity policy: an
//! explicit Deny wins, then an Allow, else the request is implicitly denied. A statement
//! applies when its `Action`/`NotAction` covers the action (case-insensitive glob), its
//! `Resource`/`NotResource` covers the role (case-sensitive glob), and every condition holds.
//! Conditions follow the IAM reference: values ORed, conditions ANDed, negated operators true
//! for an absent key, `...IfExists` true for an absent key, `ForAnyValue:` false and
//! `ForAllValues:` true for the empty set an absent single-valued key makes, `Null` tests
//! presence, `Arn...` operators compare six colon-separated components (a pattern of fewer is
//! compared as a whole), and policy variables exist only in version `2012-10-17`.
//!
//! What a policy alone cannot tell is read in the caller's favour, which is what a reviewer of
//! effective grants must assume. A condition on another key (`aws:SourceIp`) may hold or not.
//! A policy variable is one value from the caller's context: the reference tries every value of
//! [`caller_values`] (each occurrence on its own), a set that holds the names, accounts,
//! services and resource ids of the universe but none of its *fresh* values. An Allow applies
//! when it applies for some reading; a Deny counts only when it applies for every reading.
//!
//! # The universe
//!
//! Roles `app`, `lex-bot`, `service-role/worker`, `ops` and the fresh `zz-generic` in accounts
//! `111122223333` and `444455556666` (which patterns name), `555566667777` (which none does, but a
//! caller may be in) and `999999999999` (never named, not even by a caller); services (each with
//! the associated resources it can send, absent included) `lex`, `channels.lex`, `lexv2`,
//! `channels.lexv2` (the baseline's Lex principals), `lambda`, `ec2`, `sagemaker`, `connect`
//! and the fresh `zz-generic.amazonaws.com`. No generated pattern names a fresh value; they stand
//! for "a role, service or resource nobody named".
//!
//! # The correspondence (per Allow statement `i`; `A_i` = the universe's PassRole requests the
//! reference allows through `i`, i.e. `i` applies and no Deny does)
//!
//! - PR001 reports `i` ⇔ `A_i` holds a request for role `zz-generic` (in any account) to
//!   `zz-generic.amazonaws.com`: any role nobody named can go to any service nobody named.
//! - PR002 reports `i` ⇔ not PR001's case, and `A_i` holds a request to
//!   `zz-generic.amazonaws.com`: some roles can go to any service.
//! - PR003 reports `i` ⇔ `A_i` holds no request to `zz-generic.amazonaws.com`, and holds one to a
//!   Lex principal with no associated resource or one in the never-named account.
//! - `pass_role_grants_with` lists `i` whenever `A_i` is not empty.

use std::collections::BTreeSet;

use proptest::prelude::*;
use rolewarden_core::check::check_policy;
use rolewarden_core::policy::{pass_role_grants_with, KnownService, PolicyDocument};
use rolewarden_core::{Baseline, Engine};
use serde_json::{json, Map, Value};

const ACCOUNTS: [&str; 4] = [
    "111122223333",
    "444455556666",
    "555566667777",
    "999999999999",
];
const ROLE_NAMES: [&str; 5] = ["app", "lex-bot", "service-role/worker", "ops", "zz-generic"];
const FRESH_ROLE: &str = "zz-generic";
const FRESH_SERVICE: &str = "zz-generic.amazonaws.com";
const NEVER_NAMED_ACCOUNT: &str = "999999999999";
const LEX: [&str; 4] = [
    "lex.amazonaws.com",
    "channels.lex.amazonaws.com",
    "lexv2.amazonaws.com",
    "channels.lexv2.amazonaws.com",
];
const LEX_RESOURCES: [&str; 5] = [
    "arn:aws:lex:us-east-1:111122223333:bot-alias/BOTID/ALIASID",
    "arn:aws:lex:us-east-1:555566667777:bot-alias/OTHERBOT/OTHERALIAS",
    "arn:aws:lex:us-east-1:111122223333:bot:OrderFlowers:prod",
    "arn:aws:lex:eu-west-2:999999999999:bot-alias/ZZBOT/ZZALIAS",
    "arn:aws:lex:us-east-1:999999999999:bot:ZzBot:zzalias",
];

/// Every service of the universe with the associated resources it may send.
fn services() -> Vec<(&'static str, Vec<Option<&'static str>>)> {
    let lex: Vec<Option<&str>> = std::iter::once(None)
        .chain(LEX_RESOURCES.iter().copied().map(Some))
        .collect();
    let mut out: Vec<(&str, Vec<Option<&str>>)> = LEX.iter().map(|s| (*s, lex.clone())).collect();
    out.push((
        "lambda.amazonaws.com",
        vec![
            None,
            Some("arn:aws:lambda:us-east-1:111122223333:function:app"),
        ],
    ));
    out.push(("ec2.amazonaws.com", vec![None]));
    out.push((
        "sagemaker.amazonaws.com",
        vec![
            None,
            Some("arn:aws:sagemaker:us-east-1:555566667777:notebook-instance/nb"),
        ],
    ));
    out.push((
        "connect.amazonaws.com",
        vec![
            None,
            Some("arn:aws:connect:us-east-1:111122223333:instance/abc"),
        ],
    ));
    out.push((
        FRESH_SERVICE,
        vec![
            None,
            Some("arn:aws:zz-generic:us-east-1:999999999999:thing/zz"),
        ],
    ));
    out
}

fn roles() -> Vec<String> {
    ACCOUNTS
        .iter()
        .flat_map(|a| {
            ROLE_NAMES
                .iter()
                .map(move |n| format!("arn:aws:iam::{a}:role/{n}"))
        })
        .collect()
}

/// What a policy variable may stand for: every non-fresh value of the universe and its parts,
/// and a value that equals nothing.
fn caller_values() -> Vec<String> {
    let mut out: BTreeSet<String> = BTreeSet::new();
    out.insert("unrelated-value".into());
    out.extend(ACCOUNTS.iter().map(|a| (*a).to_owned()));
    out.extend(ROLE_NAMES.iter().map(|n| (*n).to_owned()));
    for (service, resources) in services() {
        out.insert(service.to_owned());
        for arn in resources.into_iter().flatten() {
            out.extend(arn.split([':', '/']).map(str::to_owned));
        }
    }
    out.extend(
        ROLE_NAMES
            .iter()
            .flat_map(|n| n.split('/').map(str::to_owned)),
    );
    out.retain(|v| !v.is_empty() && !is_fresh(v));
    out.into_iter().collect()
}

fn is_fresh(value: &str) -> bool {
    value.to_ascii_lowercase().contains("zz") || value.contains(NEVER_NAMED_ACCOUNT)
}

// ----- generated documents -----

#[derive(Debug, Clone)]
struct Cond {
    operator: String,
    key: &'static str,
    values: Vec<&'static str>,
}

#[derive(Debug, Clone)]
struct Stmt {
    allow: bool,
    not_action: bool,
    actions: Vec<&'static str>,
    not_resource: bool,
    resources: Vec<&'static str>,
    conditions: Vec<Cond>,
}

#[derive(Debug, Clone)]
struct Doc {
    version: &'static str,
    statements: Vec<Stmt>,
}

impl Doc {
    fn to_json(&self) -> Value {
        let statements: Vec<Value> = self
            .statements
            .iter()
            .map(|s| {
                let mut out = Map::new();
                out.insert(
                    "Effect".into(),
                    json!(if s.allow { "Allow" } else { "Deny" }),
                );
                out.insert(
                    (if s.not_action { "NotAction" } else { "Action" }).into(),
                    json!(s.actions),
                );
                out.insert(
                    (if s.not_resource {
                        "NotResource"
                    } else {
                        "Resource"
                    })
                    .into(),
                    json!(s.resources),
                );
                if !s.conditions.is_empty() {
                    let mut block = Map::new();
                    for c in &s.conditions {
                        let entry = block
                            .entry(c.operator.clone())
                            .or_insert_with(|| Value::Object(Map::new()));
                        entry[c.key] = json!(c.values);
                    }
                    out.insert("Condition".into(), Value::Object(block));
                }
                Value::Object(out)
            })
            .collect();
        json!({"Version": self.version, "Statement": statements})
    }
}

fn condition() -> impl Strategy<Value = Cond> {
    let services = prop::sample::subsequence(
        vec![
            "*",
            "*.amazonaws.com",
            "lex.amazonaws.com",
            "lexv2.amazonaws.com",
            "lambda.amazonaws.com",
            "lex*",
            "LEXV2.amazonaws.com",
            "${aws:PrincipalTag/svc}",
            "${*}",
        ],
        1..3,
    );
    let resources = prop::sample::subsequence(
        vec![
            "*",
            "arn:aws:lex:*",
            "arn:aws:lex:*:*:bot-alias/*",
            "arn:aws:lex:us-east-1:111122223333:bot-alias/*",
            "arn:aws:lex:us-east-1:111122223333:bot:OrderFlowers:prod",
            "arn:aws:lex:*:111122223333:*",
            "arn:aws:lex:us-east-1:111122223333:bot-alias/${aws:PrincipalTag/bot}/*",
            "arn:aws:lambda:*",
        ],
        1..3,
    );
    let compare = (
        prop::sample::select(vec!["", "", "", "ForAnyValue:", "ForAllValues:"]),
        prop::sample::select(vec![
            "StringEquals",
            "StringNotEquals",
            "StringLike",
            "StringNotLike",
            "StringEqualsIgnoreCase",
            "ArnLike",
            "ArnNotLike",
            "ArnEquals",
        ]),
        prop::sample::select(vec!["", "", "IfExists"]),
    )
        .prop_map(|(set, base, if_exists)| format!("{set}{base}{if_exists}"));
    prop_oneof![
        5 => (compare.clone(), prop::sample::select(vec!["iam:PassedToService", "iam:passedtoservice"]), services)
            .prop_map(|(operator, key, values)| Cond { operator, key, values }),
        4 => (compare, prop::sample::select(vec!["iam:AssociatedResourceARN", "iam:AssociatedResourceArn"]), resources)
            .prop_map(|(operator, key, values)| Cond { operator, key, values }),
        1 => (prop::sample::select(vec!["iam:PassedToService", "iam:AssociatedResourceARN"]), prop::sample::select(vec!["true", "false"]))
            .prop_map(|(key, v)| Cond { operator: "Null".into(), key, values: vec![v] }),
        1 => prop::sample::select(vec![
                ("NotIpAddress", "aws:SourceIp", "10.0.0.0/8"),
                ("Bool", "aws:MultiFactorAuthPresent", "true"),
                ("NumericLessThan", "iam:PassedToService", "3"),
            ])
            .prop_map(|(operator, key, v)| Cond { operator: operator.into(), key, values: vec![v] }),
    ]
}

fn statement() -> impl Strategy<Value = Stmt> {
    let actions = prop::sample::subsequence(
        vec![
            "iam:PassRole",
            "iam:Pass*",
            "iam:*",
            "*",
            "iam:GetRole",
            "s3:*",
            "IAM:passrole",
        ],
        1..3,
    );
    let resources = prop::sample::subsequence(
        vec![
            "*",
            "arn:aws:iam::111122223333:role/*",
            "arn:aws:iam::*:role/*",
            "arn:aws:iam::111122223333:role/lex-*",
            "arn:aws:iam::111122223333:role/service-role/*",
            "arn:aws:iam::111122223333:role/app",
            "arn:aws:iam::444455556666:role/*",
            "arn:aws:iam::111122223333:*",
            "arn:aws:s3:::bucket/*",
            "arn:aws:iam::111122223333:role/${aws:username}",
            "arn:aws:iam::${aws:PrincipalAccount}:role/*",
            "arn:aws:iam::*:role/lex-*",
        ],
        1..3,
    );
    (
        prop::bool::weighted(0.6),
        prop::bool::weighted(0.15),
        actions,
        prop::bool::weighted(0.25),
        resources,
        prop::collection::vec(condition(), 0..3),
    )
        .prop_map(
            |(allow, not_action, actions, not_resource, resources, conditions)| {
                // One JSON entry per (operator, key): later duplicates would overwrite earlier ones.
                let mut seen = BTreeSet::new();
                let conditions = conditions
                    .into_iter()
                    .filter(|c| seen.insert((c.operator.clone(), c.key)))
                    .collect();
                Stmt {
                    allow,
                    not_action,
                    actions,
                    not_resource,
                    resources,
                    conditions,
                }
            },
        )
}

fn document() -> impl Strategy<Value = Doc> {
    (
        prop::sample::select(vec!["2012-10-17", "2012-10-17", "2012-10-17", "2008-10-17"]),
        prop::collection::vec(statement(), 1..5),
    )
        .prop_map(|(version, statements)| Doc {
            version,
            statements,
        })
}

// ----- the reference evaluator -----

#[derive(Debug, Clone, Copy, PartialEq)]
enum Part {
    Lit(char),
    Star,
    One,
    Var,
}

/// Can it be true, can it be false, over the readings of what the policy does not say.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Range {
    can_true: bool,
    can_false: bool,
}

impl Range {
    const TRUE: Range = Range {
        can_true: true,
        can_false: false,
    };
    const FALSE: Range = Range {
        can_true: false,
        can_false: true,
    };
    const EITHER: Range = Range {
        can_true: true,
        can_false: true,
    };

    fn exact(b: bool) -> Range {
        if b {
            Range::TRUE
        } else {
            Range::FALSE
        }
    }

    fn and(self, o: Range) -> Range {
        Range {
            can_true: self.can_true && o.can_true,
            can_false: self.can_false || o.can_false,
        }
    }

    fn or(self, o: Range) -> Range {
        Range {
            can_true: self.can_true || o.can_true,
            can_false: self.can_false && o.can_false,
        }
    }

    fn not(self) -> Range {
        Range {
            can_true: self.can_false,
            can_false: self.can_true,
        }
    }
}

fn glob(p: &[Part], t: &[char], ci: bool) -> bool {
    match (p.first(), t.first()) {
        (None, None) => true,
        (None, Some(_)) => false,
        (Some(Part::Star), _) => glob(&p[1..], t, ci) || (!t.is_empty() && glob(p, &t[1..], ci)),
        (Some(_), None) => false,
        (Some(Part::One), Some(_)) => glob(&p[1..], &t[1..], ci),
        (Some(Part::Lit(a)), Some(b)) => {
            let same = if ci {
                a.to_lowercase().eq(b.to_lowercase())
            } else {
                a == b
            };
            same && glob(&p[1..], &t[1..], ci)
        }
        (Some(Part::Var), Some(_)) => unreachable!("variables are substituted first"),
    }
}

struct Reference {
    variables: bool,
    caller_values: Vec<String>,
    memo: std::cell::RefCell<std::collections::HashMap<(String, String, bool, bool), Range>>,
}

impl Reference {
    fn parse(&self, text: &str, wildcards: bool) -> Vec<Part> {
        let mut out = Vec::new();
        let chars: Vec<char> = text.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            if self.variables && chars[i] == '$' && chars.get(i + 1) == Some(&'{') {
                if let Some(len) = chars[i..].iter().position(|&c| c == '}') {
                    let inner: String = chars[i + 2..i + len].iter().collect();
                    out.push(match inner.as_str() {
                        "*" => Part::Lit('*'),
                        "?" => Part::Lit('?'),
                        "$" => Part::Lit('$'),
                        _ => Part::Var,
                    });
                    i += len + 1;
                    continue;
                }
            }
            out.push(match chars[i] {
                '*' if wildcards => Part::Star,
                '?' if wildcards => Part::One,
                c => Part::Lit(c),
            });
            i += 1;
        }
        out
    }

    /// Every reading of the pattern's variables, as concrete patterns.
    fn readings(&self, parts: &[Part]) -> Vec<Vec<Part>> {
        let mut out: Vec<Vec<Part>> = vec![Vec::new()];
        for part in parts {
            if *part == Part::Var {
                out = out
                    .into_iter()
                    .flat_map(|prefix| {
                        self.caller_values.iter().map(move |v| {
                            let mut next = prefix.clone();
                            next.extend(v.chars().map(Part::Lit));
                            next
                        })
                    })
                    .collect();
            } else {
                for o in &mut out {
                    o.push(*part);
                }
            }
        }
        out
    }

    fn matches(&self, pattern: &str, text: &str, wildcards: bool, ci: bool) -> Range {
        let key = (pattern.to_owned(), text.to_owned(), wildcards, ci);
        if let Some(known) = self.memo.borrow().get(&key) {
            return *known;
        }
        let range = self.matches_uncached(pattern, text, wildcards, ci);
        self.memo.borrow_mut().insert(key, range);
        range
    }

    fn matches_uncached(&self, pattern: &str, text: &str, wildcards: bool, ci: bool) -> Range {
        let t: Vec<char> = text.chars().collect();
        let results: Vec<bool> = self
            .readings(&self.parse(pattern, wildcards))
            .iter()
            .map(|p| glob(p, &t, ci))
            .collect();
        Range {
            can_true: results.iter().any(|&r| r),
            can_false: results.iter().any(|&r| !r),
        }
    }

    fn matches_arn(&self, pattern: &str, text: &str) -> Range {
        let parts = split_arn(pattern, self.variables);
        if parts.len() < 6 {
            return self.matches(pattern, text, true, false);
        }
        let values: Vec<&str> = text.splitn(6, ':').collect();
        if values.len() < 6 {
            return Range::FALSE;
        }
        parts.iter().zip(values).fold(Range::TRUE, |acc, (p, v)| {
            acc.and(self.matches(p, v, true, false))
        })
    }

    fn condition(&self, c: &Cond, service: &str, resource: Option<&str>) -> Range {
        let value = match c.key.to_ascii_lowercase().as_str() {
            "iam:passedtoservice" => Some(service),
            "iam:associatedresourcearn" => resource,
            _ => return Range::EITHER,
        };
        let (set, rest) = match c.operator.split_once(':') {
            Some((set, rest)) => (set, rest),
            None => ("", c.operator.as_str()),
        };
        if rest == "Null" {
            return c.values.iter().fold(Range::FALSE, |acc, v| {
                acc.or(Range::exact((*v == "true") == value.is_none()))
            });
        }
        let (base, if_exists) = match rest.strip_suffix("IfExists") {
            Some(base) => (base, true),
            None => (rest, false),
        };
        let negated = base.contains("Not");
        let positive = base.replace("Not", "");
        if ![
            "StringEquals",
            "StringLike",
            "StringEqualsIgnoreCase",
            "ArnLike",
            "ArnEquals",
        ]
        .contains(&positive.as_str())
        {
            return Range::EITHER;
        }
        let Some(v) = value else {
            return match (if_exists, set) {
                (true, _) => Range::TRUE,
                (false, "ForAnyValue") => Range::FALSE,
                (false, "ForAllValues") => Range::TRUE,
                _ => Range::exact(negated),
            };
        };
        let hit = c.values.iter().fold(Range::FALSE, |acc, p| {
            acc.or(match positive.as_str() {
                "StringEquals" => self.matches(p, v, false, false),
                "StringEqualsIgnoreCase" => self.matches(p, v, false, true),
                "StringLike" => self.matches(p, v, true, false),
                _ => self.matches_arn(p, v),
            })
        });
        if negated {
            hit.not()
        } else {
            hit
        }
    }

    fn statement(
        &self,
        s: &Stmt,
        action: &str,
        role: &str,
        service: &str,
        resource: Option<&str>,
    ) -> Range {
        let action_hit = s.actions.iter().any(|p| {
            glob(
                &self.parse_action(p),
                &action.chars().collect::<Vec<_>>(),
                true,
            )
        });
        if action_hit == s.not_action {
            return Range::FALSE;
        }
        let resource_hit = s.resources.iter().fold(Range::FALSE, |acc, p| {
            acc.or(self.matches(p, role, true, false))
        });
        let mut out = if s.not_resource {
            resource_hit.not()
        } else {
            resource_hit
        };
        for c in &s.conditions {
            out = out.and(self.condition(c, service, resource));
        }
        out
    }

    fn parse_action(&self, pattern: &str) -> Vec<Part> {
        pattern
            .chars()
            .map(|c| match c {
                '*' => Part::Star,
                '?' => Part::One,
                c => Part::Lit(c),
            })
            .collect()
    }

    /// Whether statement `i` (an Allow) lets the request through and no Deny stops it.
    fn allows_through(
        &self,
        doc: &Doc,
        i: usize,
        role: &str,
        service: &str,
        resource: Option<&str>,
    ) -> bool {
        let action = "iam:PassRole";
        if !self
            .statement(&doc.statements[i], action, role, service, resource)
            .can_true
        {
            return false;
        }
        !doc.statements.iter().any(|s| {
            let r = self.statement(s, action, role, service, resource);
            !s.allow && r.can_true && !r.can_false
        })
    }
}

/// Splits on the colons outside `${...}`, into at most six parts.
fn split_arn(pattern: &str, variables: bool) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut depth = false;
    let chars: Vec<char> = pattern.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if variables && c == '{' && i > 0 && chars[i - 1] == '$' {
            depth = true;
        }
        if variables && c == '}' {
            depth = false;
        }
        if c == ':' && !depth && parts.len() < 6 {
            parts.push(String::new());
        } else {
            parts.last_mut().unwrap().push(c);
        }
    }
    parts
}

#[derive(Debug, Default, PartialEq)]
struct Verdicts {
    pr001: BTreeSet<usize>,
    pr002: BTreeSet<usize>,
    pr003: BTreeSet<usize>,
    granting: BTreeSet<usize>,
}

fn reference_verdicts(doc: &Doc) -> Verdicts {
    let reference = Reference {
        variables: doc.version == "2012-10-17",
        caller_values: caller_values(),
        memo: Default::default(),
    };
    let roles = roles();
    let mut out = Verdicts::default();
    for (i, s) in doc.statements.iter().enumerate() {
        if !s.allow {
            continue;
        }
        let (mut fresh_to_fresh, mut any_to_fresh, mut lex_unbound, mut any) =
            (false, false, false, false);
        for role in &roles {
            for (service, resources) in services() {
                for resource in resources {
                    if !reference.allows_through(doc, i, role, service, resource) {
                        continue;
                    }
                    any = true;
                    if service == FRESH_SERVICE {
                        any_to_fresh = true;
                        fresh_to_fresh |= role.ends_with(&format!("role/{FRESH_ROLE}"));
                    }
                    if LEX.contains(&service)
                        && resource.is_none_or(|r| r.contains(NEVER_NAMED_ACCOUNT))
                    {
                        lex_unbound = true;
                    }
                }
            }
        }
        if fresh_to_fresh {
            out.pr001.insert(i);
        } else if any_to_fresh {
            out.pr002.insert(i);
        }
        if !any_to_fresh && lex_unbound {
            out.pr003.insert(i);
        }
        if any {
            out.granting.insert(i);
        }
    }
    out
}

fn engine() -> &'static Engine {
    static ENGINE: std::sync::OnceLock<Engine> = std::sync::OnceLock::new();
    ENGINE.get_or_init(|| Engine::new(Baseline::embedded().unwrap()))
}

fn rule_verdicts(doc: &Doc) -> Verdicts {
    let text = doc.to_json().to_string();
    let (_, findings) = check_policy(engine(), &text, "generated").unwrap();
    let mut out = Verdicts::default();
    for f in &findings {
        let statement = f
            .evidence
            .get("grant")
            .and_then(|g| g["statement"].as_u64());
        let Some(i) = statement.and_then(|s| usize::try_from(s).ok()) else {
            continue;
        };
        match f.rule_id.as_str() {
            "PR001" => out.pr001.insert(i),
            "PR002" => out.pr002.insert(i),
            "PR003" => out.pr003.insert(i),
            _ => false,
        };
    }
    let baseline = Baseline::embedded().unwrap();
    let known: Vec<KnownService<'_>> = baseline
        .profiles
        .iter()
        .flat_map(|p| {
            let namespace = p.event_source.split('.').next().unwrap_or_default();
            p.principals.iter().map(move |principal| KnownService {
                principal,
                namespace,
            })
        })
        .collect();
    let parsed = PolicyDocument::decode_str(&text).unwrap();
    out.granting = pass_role_grants_with(&parsed, &known)
        .iter()
        .map(|g| g.statement)
        .collect();
    out
}

/// A fixed seed keeps CI deterministic. `PROPTEST_RNG_SEED=random` (or another number) and
/// `PROPTEST_CASES` run a wider campaign; what one finds becomes a plain test below, as
/// [`a_resource_in_two_patterns_at_once`] did.
fn reference_config() -> ProptestConfig {
    let mut config = ProptestConfig::with_cases(512);
    config.rng_seed = match std::env::var("PROPTEST_RNG_SEED").ok().as_deref() {
        Some("random") => proptest::test_runner::RngSeed::Random,
        Some(n) => n.parse().map_or(
            proptest::test_runner::RngSeed::Fixed(20261127),
            proptest::test_runner::RngSeed::Fixed,
        ),
        None => proptest::test_runner::RngSeed::Fixed(20261127),
    };
    if let Some(cases) = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
    {
        config.cases = cases;
    }
    config
}

/// Why the rules' verdicts differ from the reference's on `doc`, if they do.
fn disagreement(doc: &Doc) -> Option<String> {
    let want = reference_verdicts(doc);
    let got = rule_verdicts(doc);
    let json = serde_json::to_string_pretty(&doc.to_json()).unwrap();
    for (rule, got, want) in [
        ("PR001", &got.pr001, &want.pr001),
        ("PR002", &got.pr002, &want.pr002),
        ("PR003", &got.pr003, &want.pr003),
    ] {
        if got != want {
            return Some(format!(
                "{rule}: rules say {got:?}, the reference {want:?}, on {json}"
            ));
        }
    }
    (!want.granting.is_subset(&got.granting)).then(|| {
        format!(
            "statements {:?} grant PassRole but only {:?} are listed, on {json}",
            want.granting, got.granting
        )
    })
}

proptest! {
    #![proptest_config(reference_config())]

    #[test]
    fn rules_agree_with_the_reference(doc in document()) {
        if let Some(why) = disagreement(&doc) {
            prop_assert!(false, "{}", why);
        }
    }
}

fn pass_role(resources: Vec<&'static str>, conditions: Vec<Cond>) -> Stmt {
    Stmt {
        allow: true,
        not_action: false,
        actions: vec!["iam:PassRole"],
        not_resource: false,
        resources,
        conditions,
    }
}

fn cond(operator: &str, key: &'static str, values: Vec<&'static str>) -> Cond {
    Cond {
        operator: operator.into(),
        key,
        values,
    }
}

const RESOURCE_KEY: &str = "iam:AssociatedResourceARN";

/// Random campaigns found these (minimised): a resource of the grant must match two patterns
/// at once, and no value made from either pattern alone matches the other.
#[test]
fn a_resource_in_two_patterns_at_once() {
    let in_account = "arn:aws:lex:*:111122223333:*";
    let aliases = "arn:aws:lex:*:*:bot-alias/*";
    let docs = [
        // Two conditions on the key, under two operators.
        vec![pass_role(
            vec!["*"],
            vec![
                cond("ArnLike", RESOURCE_KEY, vec![in_account]),
                cond("StringLike", RESOURCE_KEY, vec![aliases]),
            ],
        )],
        // One condition, and a Deny that spares only resources of the other pattern, on a role
        // named by a policy variable.
        vec![
            pass_role(
                vec!["arn:aws:iam::111122223333:role/${aws:username}"],
                vec![cond("StringLike", RESOURCE_KEY, vec![aliases])],
            ),
            Stmt {
                allow: false,
                actions: vec!["*"],
                ..pass_role(
                    vec!["arn:aws:iam::111122223333:role/*"],
                    vec![cond("StringNotLike", RESOURCE_KEY, vec![in_account])],
                )
            },
        ],
        // The two conditions, and a Deny that writes one's text under `StringEquals`, where
        // `*` is no wildcard: the same text, another pattern.
        vec![
            Stmt {
                allow: false,
                ..pass_role(
                    vec!["arn:aws:iam::*:role/*"],
                    vec![
                        cond(
                            "StringEquals",
                            "iam:PassedToService",
                            vec!["LEXV2.amazonaws.com"],
                        ),
                        cond("StringEquals", RESOURCE_KEY, vec![aliases]),
                    ],
                )
            },
            pass_role(
                vec!["arn:aws:iam::*:role/lex-*"],
                vec![
                    cond("ArnLike", RESOURCE_KEY, vec![in_account]),
                    cond("StringLike", RESOURCE_KEY, vec![aliases]),
                ],
            ),
        ],
    ];
    for statements in docs {
        let doc = Doc {
            version: "2012-10-17",
            statements,
        };
        assert!(!reference_verdicts(&doc).granting.is_empty(), "{doc:?}");
        if let Some(why) = disagreement(&doc) {
            panic!("{why}");
        }
    }
}

/// Random campaigns found these (minimised) once the generator wrote `arn:aws:iam::*:role/lex-*`:
/// the roles a grant reaches lie where its `Resource` meets a Deny's `NotResource`.
#[test]
fn a_role_in_two_patterns_at_once() {
    let lex_anywhere = "arn:aws:iam::*:role/lex-*";
    let deny_not = |resource: &'static str| Stmt {
        allow: false,
        not_resource: true,
        ..pass_role(vec![resource], vec![])
    };
    let docs = [
        // `lex-` roles of the account, named by the caller's own name.
        vec![
            deny_not("arn:aws:iam::111122223333:role/${aws:username}"),
            pass_role(vec![lex_anywhere], vec![]),
        ],
        // Every resource of the account, of which the Deny spares only the `lex-` roles.
        vec![
            pass_role(vec!["arn:aws:iam::111122223333:*"], vec![]),
            deny_not(lex_anywhere),
        ],
        // The same with the pattern the other way round, and a condition the key never meets
        // when present with a fresh resource.
        vec![
            pass_role(
                vec![lex_anywhere],
                vec![cond(
                    "ForAllValues:StringEqualsIgnoreCase",
                    RESOURCE_KEY,
                    vec!["arn:aws:lex:us-east-1:111122223333:bot-alias/${aws:PrincipalTag/bot}/*"],
                )],
            ),
            deny_not("arn:aws:iam::111122223333:role/*"),
        ],
    ];
    for statements in docs {
        let doc = Doc {
            version: "2012-10-17",
            statements,
        };
        assert!(!reference_verdicts(&doc).pr002.is_empty(), "{doc:?}");
        if let Some(why) = disagreement(&doc) {
            panic!("{why}");
        }
    }
}

/// The reference itself, on the cases the issue names.
#[test]
fn the_reference_reads_the_named_cases() {
    let allow_all = Stmt {
        allow: true,
        not_action: false,
        actions: vec!["iam:PassRole"],
        not_resource: false,
        resources: vec!["*"],
        conditions: vec![],
    };
    let deny = |not_resource: bool, resources: Vec<&'static str>, conditions: Vec<Cond>| Stmt {
        allow: false,
        not_action: false,
        actions: vec!["iam:PassRole"],
        not_resource,
        resources,
        conditions,
    };
    let doc = |statements: Vec<Stmt>| Doc {
        version: "2012-10-17",
        statements,
    };
    let cases = [
        (doc(vec![allow_all.clone()]), [true, false, false]),
        (
            doc(vec![
                allow_all.clone(),
                deny(true, vec!["arn:aws:iam::111122223333:role/lex-*"], vec![]),
            ]),
            [false, true, false],
        ),
        (
            doc(vec![
                allow_all.clone(),
                deny(
                    false,
                    vec!["*"],
                    vec![Cond {
                        operator: "StringNotEquals".into(),
                        key: "iam:PassedToService",
                        values: vec!["lambda.amazonaws.com"],
                    }],
                ),
            ]),
            [false, false, false],
        ),
        (
            doc(vec![
                allow_all.clone(),
                deny(
                    false,
                    vec!["*"],
                    vec![Cond {
                        operator: "NotIpAddress".into(),
                        key: "aws:SourceIp",
                        values: vec!["10.0.0.0/8"],
                    }],
                ),
            ]),
            [true, false, false],
        ),
        (
            doc(vec![Stmt {
                conditions: vec![Cond {
                    operator: "StringEquals".into(),
                    key: "iam:PassedToService",
                    values: vec!["lexv2.amazonaws.com"],
                }],
                ..allow_all.clone()
            }]),
            [false, false, true],
        ),
    ];
    for (doc, [pr001, pr002, pr003]) in cases {
        let want = reference_verdicts(&doc);
        assert_eq!(want.pr001.contains(&0), pr001, "{doc:?}");
        assert_eq!(want.pr002.contains(&0), pr002, "{doc:?}");
        assert_eq!(want.pr003.contains(&0), pr003, "{doc:?}");
        let got = rule_verdicts(&doc);
        assert_eq!(
            (got.pr001, got.pr002, got.pr003),
            (want.pr001, want.pr002, want.pr003),
            "{doc:?}"
        );
    }
}
