//! The requests a document is judged on: a few PassRole requests that stand for every request.
//!
//! Patterns tell values apart only by the text they spell out. A *fresh* value is made of a
//! character the document never uses, longer than any of its patterns: only a pattern that
//! matches every value (`*`, `role/*`, `*.amazonaws.com`) matches it, and no policy variable
//! stands for it. So a grant that lets a fresh role go to a fresh service lets any role nobody
//! named go to any service nobody named. The other requests are the values the document (and the
//! baseline's service principals) name, with their wildcards filled with fresh text and their
//! variables with a stand-in for the caller's value: they tell which named roles, services and
//! resources a grant still reaches after its Deny statements. Roles and associated resources
//! also get the values where two or more of the document's patterns meet: a grant (with its Deny
//! statements) may reach only roles or resources that several patterns name at once.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::evaluate::{CompiledStatement, Key};
use super::value::{Budget, Pattern, Syntax};

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
    /// Named values left out to keep the judgement bounded (see [`MAX_COST`]).
    pub truncated: bool,
    /// The steps the pattern tests of the judgement may take (see [`MAX_MATCH_STEPS`]).
    pub budget: Budget,
}

/// The most pattern and condition tests a document gets: every role probe against every
/// resource pattern, every service and resource probe against every condition, and a truth per
/// statement and request. IAM caps a policy at 10,240 characters, which stays well below; a
/// hand-made document (`check-policy`) may not. Beyond it named roles, then named resources,
/// then named services are left out, last first: the fresh probes, which decide PR001 and
/// PR002, always stay.
pub const MAX_COST: usize = 1_000_000;

/// The most characters pattern tests walk in one judgement, all together: tens of milliseconds.
/// [`MAX_COST`] counts tests, but one test of a star-heavy value on a long probe walks thousands
/// of characters. Tests beyond it are `Unknown`, read on the safe side, and the notes say so.
/// The fresh probes are judged first and in full, whatever they walk: only named ones are cut.
pub const MAX_MATCH_STEPS: usize = 20_000_000;

/// The longest named probe: a value with many wildcards, each filled with fresh text longer
/// than any pattern, grows with the square of the document's values. Longer ones are left out
/// like any named value the bound drops.
const MAX_PROBE_BYTES: usize = 4_096;

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
        let ones = resources
            .iter()
            .chain(services.iter())
            .chain(associated.iter())
            .map(|p| p.ones())
            .max()
            .unwrap_or_default();
        let mut free = candidates().filter(|c| !used.contains(c));
        let fresh = free.next().unwrap_or('Q');
        let caller = free.next().unwrap_or('Z');
        let text = Fill {
            wild: std::iter::repeat_n(fresh, longest + 1).collect(),
            account: std::iter::repeat_n(fresh, 12).collect(),
            caller: std::iter::repeat_n(caller, longest + 1).collect(),
            short_wild: std::iter::repeat_n(fresh, ones + 1).collect(),
            short_caller: std::iter::repeat_n(caller, ones + 1).collect(),
            caller_account: std::iter::repeat_n(caller, 12).collect(),
            fresh,
        };
        let (role_meets, roles_complete) = meets(&resources);
        let (meets, complete) = meets(&associated);
        let associated: Vec<&Pattern> = associated.into_iter().chain(&meets).collect();
        let mut too_long = false;
        let budget = Budget::new(MAX_MATCH_STEPS);
        let roles = role_probes(&resources, &role_meets, &text, &mut too_long);
        let services = service_probes(
            &services,
            &associated,
            known,
            (&text, &budget),
            &mut too_long,
        );
        let mut probes = Probes {
            fresh,
            roles,
            services,
            truncated: !complete || !roles_complete,
            budget,
        };
        probes.truncated |= too_long;
        probes.bound(Cost {
            statements: statements.len(),
            patterns: resources.len(),
            // Each value of a condition is a test of its own.
            conditions: statements
                .iter()
                .flat_map(|s| &s.conditions)
                .map(|c| c.patterns().len().max(1))
                .sum(),
        });
        probes
    }

    fn pairs(&self) -> usize {
        self.services.iter().map(|s| s.resources.len()).sum()
    }

    fn cost(&self, of: &Cost) -> usize {
        let pairs = self.pairs();
        self.roles.len() * (of.patterns + pairs * of.statements) + pairs * of.conditions
    }

    fn bound(&mut self, of: Cost) {
        if self.cost(&of) <= MAX_COST {
            return;
        }
        self.truncated = true;
        let per_role = of.patterns + self.pairs() * of.statements;
        let fresh_roles = self
            .roles
            .iter()
            .filter(|r| matches!(r.kind, RoleKind::Fresh { .. }))
            .count();
        let mut keep_named = (MAX_COST / per_role.max(1)).saturating_sub(fresh_roles);
        self.roles.retain(|r| match r.kind {
            RoleKind::Fresh { .. } => true,
            RoleKind::Named { .. } => {
                let keep = keep_named > 0;
                keep_named = keep_named.saturating_sub(1);
                keep
            }
        });
        // Still too many: fewer named resources per service (absent and fresh stay), then
        // fewer named services (the fresh one stays).
        let per_pair = self.roles.len() * of.statements + of.conditions;
        let per_service = MAX_COST / per_pair.max(1) / self.services.len().max(1);
        for service in &mut self.services {
            service.resources.truncate(per_service.max(2));
        }
        while self.cost(&of) > MAX_COST && self.services.len() > 1 {
            self.services.pop();
        }
    }
}

/// The most pairs of patterns [`meets`] tries, and the most meets it keeps: a document has a
/// handful of resource patterns, so the bounds only stop a hand-made one from costing
/// quadratic time.
const MAX_MEET_TRIES: usize = 4_096;
const MAX_MEETS: usize = 64;
/// The most steps all of a document's meets take together (a step is a few hash operations).
const MAX_MEET_STEPS: usize = MAX_COST;

/// The patterns in which two or more of `patterns` meet (see [`Pattern::meet`]), and whether
/// none was left out. A single pattern's values stand only for that pattern: a grant with
/// `ArnLike` `arn:aws:lex:*:111122223333:*` and `StringLike` `arn:aws:lex:*:*:bot-alias/*`
/// (or a Deny that spares only the first) reaches only resources that match both, and the
/// values made from either alone match one; a grant on `arn:aws:iam::*:role/lex-*` with a Deny
/// on `NotResource` `arn:aws:iam::111122223333:*` reaches only `lex-` roles of that account.
fn meets(patterns: &[&Pattern]) -> (Vec<Pattern>, bool) {
    let mut all: Vec<Pattern> = Vec::new();
    // A text and the way it is read make one pattern (a meet's text parses back to it).
    let mut texts: HashSet<(String, Syntax)> = HashSet::new();
    for pattern in patterns {
        if texts.insert((pattern.text().to_owned(), pattern.syntax())) {
            all.push((*pattern).clone());
        }
    }
    let originals = all.len();
    let mut tries = 0;
    let mut steps = MAX_MEET_STEPS;
    // Meets of meets too: three conditions, or two and a Deny, may have to hold at once.
    let mut i = 1;
    while i < all.len() {
        for j in 0..i {
            if tries == MAX_MEET_TRIES || all.len() - originals == MAX_MEETS || steps == 0 {
                return (all.split_off(originals), false);
            }
            tries += 1;
            let (Some(a), Some(b)) = (all.get(j), all.get(i)) else {
                continue;
            };
            if let Some(meet) = a.meet_within(b, &mut steps) {
                if texts.insert((meet.text().to_owned(), meet.syntax())) {
                    all.push(meet);
                }
            }
        }
        i += 1;
    }
    (all.split_off(originals), true)
}

/// The size of a document, as the probes' cost counts it.
struct Cost {
    statements: usize,
    patterns: usize,
    conditions: usize,
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
    /// `wild` and `caller` as long as a value needs to stand for any longer one: one more
    /// character than the most `?` of a pattern, so that in a match some `*` (or variable)
    /// takes a character of each run, and would take any longer run as well. For values that
    /// the full fill would make longer than [`MAX_PROBE_BYTES`].
    short_wild: String,
    short_caller: String,
}

impl Fill {
    /// What fills `pattern`'s `wild` (`self.wild` or `self.caller`) and variables: the full
    /// texts, the short ones when the value would be too long, `None` when even that is.
    fn for_pattern<'f>(&'f self, pattern: &Pattern, wild: &'f str) -> Option<(&'f str, &'f str)> {
        if pattern.instantiated_len(wild, &self.caller) <= MAX_PROBE_BYTES {
            return Some((wild, &self.caller));
        }
        let short = if wild == self.wild {
            &self.short_wild
        } else {
            &self.short_caller
        };
        (pattern.instantiated_len(short, &self.short_caller) <= MAX_PROBE_BYTES)
            .then_some((short, &self.short_caller))
    }

    fn is_fresh(&self, text: &str) -> bool {
        !text.is_empty() && text.chars().all(|c| c == self.fresh)
    }
}

/// `meets`: where two or more of `resources` meet, which name roles but no account of their own.
/// `too_long` is set when a value would make a probe over [`MAX_PROBE_BYTES`] (it is left out).
fn role_probes(
    resources: &[&Pattern],
    meets: &[Pattern],
    fill: &Fill,
    too_long: &mut bool,
) -> Vec<RoleProbe> {
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
    let mut seen: HashSet<String> = HashSet::new();
    let mut push = |probe: RoleProbe| {
        if seen.insert(probe.arn.clone()) {
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
            .copied()
            .chain(meets)
            .filter(|p| !p.is_star())
            .map(move |p| (p, *w))
    }) {
        let Some((wild, var)) = fill.for_pattern(pattern, wild) else {
            *too_long = true;
            continue;
        };
        let arn = pattern.instantiate(wild, var);
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
    (fill, budget): (&Fill, &Budget),
    too_long: &mut bool,
) -> Vec<ServiceProbe> {
    let mut named: Vec<(String, String, String)> = Vec::new();
    let fills = [&fill.wild, &fill.caller];
    for (value, wild) in fills
        .iter()
        .flat_map(|w| services.iter().map(move |v| (v, *w)))
    {
        let Some((wild, var)) = fill.for_pattern(value, wild) else {
            *too_long = true;
            continue;
        };
        let principal = value.instantiate(wild, var);
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
    // Each resource pattern made into values once; a service takes those of its namespace.
    let mut by_namespace: HashMap<String, Vec<usize>> = HashMap::new();
    let mut any_namespace: Vec<(Pattern, usize)> = Vec::new();
    let mut made: Vec<Vec<ResourceProbe>> = Vec::new();
    for pattern in associated {
        let Some(parts) = pattern.arn_parts() else {
            continue;
        };
        let Some(service) = parts.get(2) else {
            continue;
        };
        let (Some((wild, var)), Some((caller, _))) = (
            fill.for_pattern(pattern, &fill.wild),
            fill.for_pattern(pattern, &fill.caller),
        ) else {
            *too_long = true;
            continue;
        };
        let elsewhere: Vec<String> = parts
            .iter()
            .enumerate()
            .map(|(i, part)| {
                if i == 4 {
                    fill.account.clone()
                } else {
                    part.instantiate(wild, wild)
                }
            })
            .collect();
        let arns = [
            pattern.instantiate(wild, var),
            pattern.instantiate(caller, var),
            elsewhere.join(":"),
        ];
        let index = made.len();
        made.push(
            arns.into_iter()
                .map(|arn| ResourceProbe {
                    unbound: fill.is_fresh(arn.split(':').nth(4).unwrap_or_default()),
                    arn: Some(arn),
                    source: Some(pattern.text().to_owned()),
                })
                .collect(),
        );
        match service.literal() {
            Some(literal) => by_namespace.entry(literal).or_default().push(index),
            None => any_namespace.push((service.clone(), index)),
        }
    }
    let mut seen_services: HashSet<String> = out.iter().map(|s| s.principal.clone()).collect();
    for (principal, source, namespace) in named {
        if !seen_services.insert(principal.clone()) {
            continue;
        }
        let mut resources = fresh_resources(&namespace, fill);
        let mut seen: HashSet<String> = resources.iter().filter_map(|r| r.arn.clone()).collect();
        let mut fitting: Vec<usize> = by_namespace.get(&namespace).cloned().unwrap_or_default();
        fitting.extend(
            any_namespace
                .iter()
                .filter(|(service, _)| {
                    service
                        .matches(&namespace, false, fill.fresh, budget)
                        .possible()
                })
                .map(|(_, index)| *index),
        );
        fitting.sort_unstable();
        for probe in fitting.iter().filter_map(|&i| made.get(i)).flatten() {
            if probe
                .arn
                .as_ref()
                .is_some_and(|arn| seen.insert(arn.clone()))
            {
                resources.push(probe.clone());
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
