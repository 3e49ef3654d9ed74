//! The requests a document is judged on: a few PassRole requests that stand for every request.
//!
//! Patterns tell values apart only by the text they spell out. A *fresh* value is made of a
//! character the document never uses, longer than any of its patterns: only a pattern that
//! matches every value (`*`, `role/*`, `*.amazonaws.com`) matches it, and no policy variable
//! stands for it. So a grant that lets a fresh role go to a fresh service lets any role nobody
//! named go to any service nobody named. The other requests are the values the document (and the
//! baseline's service principals) name, with their wildcards filled with fresh text and their
//! variables with a stand-in for the caller's value: they tell which named roles, services and
//! resources a grant still reaches after its Deny statements.

use std::collections::BTreeSet;

use super::evaluate::{CompiledStatement, Key};
use super::value::Pattern;

/// A service principal the caller knows of, with the ARN namespace of its resources
/// (`lexv2.amazonaws.com` makes `arn:aws:lex:...` resources).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownService<'a> {
    pub principal: &'a str,
    pub namespace: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleKind {
    /// A role nobody named, at the root path, in `account` (`None`: an account nobody named;
    /// else the account as the document writes it, a variable included).
    Fresh { account: Option<String> },
    /// A role a pattern of the document names.
    Named { pattern: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleProbe {
    pub arn: String,
    pub kind: RoleKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceProbe {
    /// `None`: the request carries no `iam:AssociatedResourceARN`.
    pub arn: Option<String>,
    /// Absent, or in an account nobody named: the role is tied to no resource of the policy's.
    pub unbound: bool,
    /// The condition value it was made from.
    pub source: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceProbe {
    pub principal: String,
    /// The value it was made from; `None` for the fresh service.
    pub source: Option<String>,
    pub resources: Vec<ResourceProbe>,
}

impl ServiceProbe {
    pub fn is_fresh(&self) -> bool {
        self.source.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probes {
    /// The character of fresh values; policy variables never stand for it.
    pub fresh: char,
    pub roles: Vec<RoleProbe>,
    /// The fresh service first.
    pub services: Vec<ServiceProbe>,
}

/// Characters fresh values and a caller's values are made of, most readable first; the first
/// two the document does not use are taken.
fn candidates() -> impl Iterator<Item = char> {
    "QZJXKWVYqzjxkwvy"
        .chars()
        .chain((0xE000..0xF900).filter_map(char::from_u32))
}

impl Probes {
    pub fn new(statements: &[CompiledStatement], known: &[KnownService<'_>]) -> Self {
        let resources: Vec<&Pattern> = statements
            .iter()
            .flat_map(|s| s.resources.iter().flat_map(|(_, p)| p.iter()))
            .collect();
        let values = |key: Key| -> Vec<&Pattern> {
            statements
                .iter()
                .flat_map(|s| s.conditions.iter())
                .filter(|c| c.key == key)
                .flat_map(|c| c.patterns().iter())
                .collect()
        };
        let services = values(Key::PassedToService);
        let associated = values(Key::AssociatedResource);

        let mut used: BTreeSet<char> = "arn:aws:iam::role/.amazonaws.com".chars().collect();
        let mut longest = 0;
        for text in resources
            .iter()
            .chain(services.iter())
            .chain(associated.iter())
            .map(|p| p.text())
            .chain(known.iter().flat_map(|k| [k.principal, k.namespace]))
        {
            used.extend(text.chars());
            longest = longest.max(text.chars().count());
        }
        let mut free = candidates().filter(|c| !used.contains(c));
        let fresh = free.next().unwrap_or('Q');
        let caller = free.next().unwrap_or('Z');
        let text = Fill {
            wild: std::iter::repeat_n(fresh, longest + 1).collect(),
            account: std::iter::repeat_n(fresh, 12).collect(),
            caller: std::iter::repeat_n(caller, longest + 1).collect(),
            caller_account: std::iter::repeat_n(caller, 12).collect(),
            fresh,
        };
        Probes {
            fresh,
            roles: role_probes(&resources, &text),
            services: service_probes(&services, &associated, known, &text),
        }
    }
}

/// Texts that fill the wildcards and variables of patterns.
struct Fill {
    /// Longer than any pattern, so `?`-only patterns do not match it.
    wild: String,
    account: String,
    /// What a policy variable stands for in a named value.
    caller: String,
    caller_account: String,
    fresh: char,
}

impl Fill {
    fn is_fresh(&self, text: &str) -> bool {
        !text.is_empty() && text.chars().all(|c| c == self.fresh)
    }
}

fn role_probes(resources: &[&Pattern], fill: &Fill) -> Vec<RoleProbe> {
    let mut partitions: Vec<String> = vec!["aws".into()];
    let mut accounts: Vec<(String, Option<String>)> = vec![(fill.account.clone(), None)];
    for parts in resources.iter().filter_map(|p| p.arn_parts()) {
        if let Some(partition) = parts.get(1).and_then(Pattern::literal) {
            if !partition.is_empty() && !partitions.contains(&partition) {
                partitions.push(partition);
            }
        }
        let Some(account) = parts.get(4) else {
            continue;
        };
        let probe = match account.literal() {
            Some(literal) if !literal.is_empty() => (literal.clone(), Some(literal)),
            _ if account.has_variable() => (
                account.instantiate(&fill.account, &fill.caller_account),
                Some(account.text().to_owned()),
            ),
            _ => continue,
        };
        if !accounts.iter().any(|(a, _)| *a == probe.0) {
            accounts.push(probe);
        }
    }
    let mut out: Vec<RoleProbe> = Vec::new();
    let mut push = |probe: RoleProbe| {
        if !out.iter().any(|p| p.arn == probe.arn) {
            out.push(probe);
        }
    };
    for partition in &partitions {
        for (account, written) in &accounts {
            push(RoleProbe {
                arn: format!("arn:{partition}:iam::{account}:role/{}", fill.wild),
                kind: RoleKind::Fresh {
                    account: written.clone(),
                },
            });
        }
    }
    // Wildcards filled with fresh text first, then with the caller's: `role/service-role/*`
    // also stands for a role under that path that a `${aws:username}` may name.
    let fills = [&fill.wild, &fill.caller];
    for (pattern, wild) in fills.iter().flat_map(|w| {
        resources
            .iter()
            .filter(|p| !p.is_star())
            .map(move |p| (p, *w))
    }) {
        let arn = pattern.instantiate(wild, &fill.caller);
        if !is_role_arn(&arn, fill) {
            continue;
        }
        // A pattern such as `arn:aws:iam::*:role/*` makes a fresh role: classify by what the
        // value is, not by where it came from.
        let (name, account) = role_name_and_account(&arn);
        let kind = match (name, account) {
            (Some(name), Some(account)) if name == fill.wild => RoleKind::Fresh {
                account: (!fill.is_fresh(account)).then(|| account.to_owned()),
            },
            _ => RoleKind::Named {
                pattern: pattern.text().to_owned(),
            },
        };
        push(RoleProbe { arn, kind });
    }
    out
}

/// An ARN a role can have: IAM names and paths use letters, digits and `+=,.@_-/` (a pattern
/// of an old policy version may spell `${aws:username}`, which no role is called).
fn is_role_arn(arn: &str, fill: &Fill) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let name = parts.get(5).and_then(|r| r.strip_prefix("role/"));
    parts.get(2) == Some(&"iam")
        && name.is_some_and(|n| {
            n.chars().all(|c| {
                c.is_ascii_alphanumeric()
                    || "+=,.@_-/".contains(c)
                    || c == fill.fresh
                    || fill.caller.starts_with(c)
            })
        })
}

/// The name after `role/` (root path only) and the account of a role ARN.
fn role_name_and_account(arn: &str) -> (Option<&str>, Option<&str>) {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let account = parts.get(4).copied();
    let name = parts
        .get(5)
        .and_then(|r| r.strip_prefix("role/"))
        .filter(|n| !n.contains('/'));
    (name, account)
}

fn service_probes(
    services: &[&Pattern],
    associated: &[&Pattern],
    known: &[KnownService<'_>],
    fill: &Fill,
) -> Vec<ServiceProbe> {
    let mut named: Vec<(String, String, String)> = Vec::new();
    let fills = [&fill.wild, &fill.caller];
    for (value, wild) in fills
        .iter()
        .flat_map(|w| services.iter().map(move |v| (v, *w)))
    {
        let principal = value.instantiate(wild, &fill.caller);
        let namespace = known
            .iter()
            .find(|k| k.principal == principal)
            .map_or_else(|| namespace_of(&principal), |k| k.namespace.to_owned());
        named.push((principal, value.text().to_owned(), namespace));
    }
    for k in known {
        named.push((k.principal.into(), k.principal.into(), k.namespace.into()));
    }
    // The service that owns the resources a condition names: with no `iam:PassedToService`
    // condition, `arn:aws:lex:...` still keeps the role to Lex.
    for namespace in associated
        .iter()
        .filter_map(|p| p.text().split(':').nth(2))
        .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
    {
        let namespace = namespace.to_owned();
        let principal = format!("{namespace}.amazonaws.com");
        named.push((principal.clone(), principal, namespace));
    }
    let mut out = vec![ServiceProbe {
        principal: format!("{}.amazonaws.com", fill.wild),
        source: None,
        resources: fresh_resources(&fill.wild, fill),
    }];
    for (principal, source, namespace) in named {
        if out.iter().any(|s| s.principal == principal) {
            continue;
        }
        let mut resources = fresh_resources(&namespace, fill);
        for pattern in associated {
            let Some(parts) = pattern.arn_parts() else {
                continue;
            };
            let fits = parts
                .get(2)
                .is_some_and(|service| service.matches(&namespace, false, fill.fresh).possible());
            if !fits {
                continue;
            }
            let named = pattern.instantiate(&fill.wild, &fill.caller);
            let callers = pattern.instantiate(&fill.caller, &fill.caller);
            let elsewhere: Vec<String> = parts
                .iter()
                .enumerate()
                .map(|(i, part)| {
                    if i == 4 {
                        fill.account.clone()
                    } else {
                        part.instantiate(&fill.wild, &fill.wild)
                    }
                })
                .collect();
            for arn in [named, callers, elsewhere.join(":")] {
                if resources
                    .iter()
                    .any(|r| r.arn.as_deref() == Some(arn.as_str()))
                {
                    continue;
                }
                let account = arn.split(':').nth(4).unwrap_or_default();
                resources.push(ResourceProbe {
                    unbound: fill.is_fresh(account),
                    arn: Some(arn),
                    source: Some(pattern.text().to_owned()),
                });
            }
        }
        out.push(ServiceProbe {
            principal,
            source: Some(source),
            resources,
        });
    }
    out
}

/// The ARN namespace of a service principal the baseline does not describe: its first label,
/// without a version suffix (`lexv2.amazonaws.com` makes `arn:aws:lex:...` resources).
fn namespace_of(principal: &str) -> String {
    let label = principal.split('.').next().unwrap_or_default();
    match label.rsplit_once('v') {
        Some((head, version))
            if !head.is_empty()
                && !version.is_empty()
                && version.chars().all(|c| c.is_ascii_digit()) =>
        {
            head.to_owned()
        }
        _ => label.to_owned(),
    }
}

/// No associated resource, and one of `namespace` in an account nobody named.
fn fresh_resources(namespace: &str, fill: &Fill) -> Vec<ResourceProbe> {
    vec![
        ResourceProbe {
            arn: None,
            unbound: true,
            source: None,
        },
        ResourceProbe {
            arn: Some(format!(
                "arn:aws:{namespace}:{}:{}:{}",
                fill.wild, fill.account, fill.wild
            )),
            unbound: true,
            source: None,
        },
    ]
}
