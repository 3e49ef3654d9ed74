//! What a document lets its holder do with `iam:PassRole`: which roles, to which services, tied
//! to which resources, once its Deny statements are taken away.
//!
//! Each Allow statement that covers PassRole is a grant. Its *effective* reach is computed by
//! judging the whole document, with AWS's evaluation logic (an explicit Deny wins, then an
//! Allow, else nothing), on the requests of [`super::probe`]: roles, services and associated
//! resources nobody named, and the ones the document and the baseline name. A condition is read
//! for its values, not its presence: `StringLike` `*.amazonaws.com` on `iam:PassedToService`
//! lets every service through and restricts nothing. A Deny narrows a grant wherever it
//! certainly applies (its `Resource`/`NotResource`, `Action`/`NotAction` and conditions on the
//! PassRole keys are evaluated); where it depends on something the policy does not say (the
//! caller's IP, tags, a policy variable) it is not counted on, and the grant's notes say so.

use serde::Serialize;

use super::document::{Effect, Polarity, PolicyDocument, Statement};
use super::evaluate::{CompiledStatement, Key, Request, Truth};
pub use super::probe::KnownService;
use super::probe::{Probes, ResourceProbe, RoleKind, RoleProbe, ServiceProbe};
use super::value::{Budget, VARIABLES_VERSION};
use super::wildcard::{action_matches, has_wildcard, matches};

pub const PASS_ROLE: &str = "iam:PassRole";
pub const PASSED_TO_SERVICE: &str = "iam:PassedToService";
pub const ASSOCIATED_RESOURCE: &str = "iam:AssociatedResourceARN";

/// How many roles a grant reaches, broadest first.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum RoleScope {
    /// Every role in every account (`*`, `arn:aws:iam::*:role/*`, or a `NotResource`).
    AnyAccount,
    /// Every role of one account (`arn:aws:iam::123456789012:role/*`).
    Account(String),
    /// Every role under a path (`arn:aws:iam::123456789012:role/service-role/*`).
    PathPrefix(String),
    /// Roles whose names match a pattern (`role/lex-*`).
    NamePattern(String),
    /// Named roles, no wildcard.
    Named(String),
}

impl RoleScope {
    /// Every role of at least one account.
    pub fn is_every_role(&self) -> bool {
        matches!(self, RoleScope::AnyAccount | RoleScope::Account(_))
    }
}

/// An Allow statement that grants `iam:PassRole`, with its effective reach.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PassRoleGrant {
    pub statement: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The action pattern that matched, or `NotAction [...]`.
    pub matched_action: String,
    /// The resource patterns that reach roles (or `NotResource [...]`), as written.
    pub resources: Vec<String>,
    /// The broadest scope of the roles the grant effectively reaches: those it lets go to any
    /// service when it lets any service through, else those it lets go to the services it names.
    pub scope: RoleScope,
    /// The role patterns the grant still reaches when a Deny narrowed `resources`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effective_roles: Option<Vec<String>>,
    /// Roles a Deny takes out of the grant.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub except_roles: Vec<String>,
    /// The services the grant is effectively limited to; `None` when it lets any service
    /// through (no `iam:PassedToService` condition, or one that every service meets).
    pub passed_to_service: Option<Vec<String>>,
    /// The resources the role is effectively tied to; `None` when it can be passed for a
    /// resource nobody named, or with no `iam:AssociatedResourceARN` at all.
    pub associated_resource: Option<Vec<String>>,
    /// Why the effective grant differs from a plain reading of the statement.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// What the rules decide on.
    #[serde(skip)]
    pub reach: Reach,
}

/// The verdicts the rules need, from the probe requests the grant lets through.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Reach {
    /// Some role can be passed to a service nobody named.
    pub any_service: bool,
    /// A role nobody named (in some account) can be passed, to any service when `any_service`.
    pub every_role: bool,
    /// The statement has a condition on `iam:PassedToService`.
    pub service_condition: bool,
    /// The statement has a condition on `iam:AssociatedResourceARN`.
    pub resource_condition: bool,
    /// Named services (from the document or the baseline) the grant reaches.
    pub services: Vec<ServiceReach>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServiceReach {
    pub principal: String,
    /// The role can be associated with a resource nobody named, or with none.
    pub any_resource: bool,
}

impl PassRoleGrant {
    /// Any role nobody named, to any service nobody named: PR001's and PR004's case.
    pub fn every_role_to_any_service(&self) -> bool {
        self.reach.any_service && self.reach.every_role
    }

    /// The roles as the rules' messages name them: the effective patterns when a Deny narrowed
    /// them, else the statement's own.
    pub fn role_text(&self) -> String {
        self.effective_roles
            .as_ref()
            .unwrap_or(&self.resources)
            .join(", ")
    }
}

/// Every PassRole grant in the document, judged with no service beyond the ones it names.
pub fn pass_role_grants(doc: &PolicyDocument) -> Vec<PassRoleGrant> {
    pass_role_grants_with(doc, &[])
}

/// Every PassRole grant in the document, with what it effectively reaches; `known` services
/// (the baseline's principals) are probed besides the ones the document names.
pub fn pass_role_grants_with(
    doc: &PolicyDocument,
    known: &[KnownService<'_>],
) -> Vec<PassRoleGrant> {
    let variables = doc
        .version
        .as_deref()
        .is_some_and(|v| v.trim() == VARIABLES_VERSION);
    let statements: Vec<CompiledStatement> = doc
        .statements
        .iter()
        .filter_map(|s| CompiledStatement::new(s, variables))
        .collect();
    if !statements.iter().any(|s| s.effect == Effect::Allow) {
        return Vec::new();
    }
    let probes = Probes::new(&statements, known);
    let table = Table::new(&statements, &probes);
    statements
        .iter()
        .enumerate()
        .filter(|(_, s)| s.effect == Effect::Allow)
        .filter_map(|(k, s)| grant_of(k, s, &statements, &probes, &table))
        .collect()
}

/// One probe request: indices into the role, service and the service's resource probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Probe {
    pub(super) role: usize,
    pub(super) service: usize,
    pub(super) resource: usize,
}

/// Every statement's truth on every probe request.
struct Table {
    rows: Vec<Row>,
}

struct Row {
    probe: Probe,
    /// Every statement's truth on the request.
    truths: Vec<Truth>,
    /// The Deny statements that certainly apply.
    denied_by: Vec<usize>,
    /// The Deny statements that may apply, for all rolewarden can tell.
    unsure: Vec<usize>,
}

impl Table {
    fn new(statements: &[CompiledStatement], probes: &Probes) -> Self {
        // The fresh role and service probes decide PR001 and PR002: they are judged first and in
        // full, and what they walk is charged to the shared budget, so only the named probes
        // (judged after them) can be cut short.
        let fresh = Budget::unlimited();
        let role_truths = |r: &RoleProbe, budget: &Budget| -> Vec<Truth> {
            statements
                .iter()
                .map(|st| st.resource_truth(&r.arn, probes.fresh, budget))
                .collect()
        };
        // Conditions never ask about the role: judge them once per service and resource.
        let condition_truths = |s: &ServiceProbe, budget: &Budget| -> Vec<Vec<Truth>> {
            s.resources
                .iter()
                .map(|a| {
                    let request = Request {
                        role: "",
                        passed_to_service: &s.principal,
                        associated_resource: a.arn.as_deref(),
                    };
                    statements
                        .iter()
                        .map(|st| st.condition_truth(&request, probes.fresh, budget))
                        .collect()
                })
                .collect()
        };
        let is_fresh_role = |r: &RoleProbe| matches!(r.kind, RoleKind::Fresh { .. });
        let mut by_role: Vec<Option<Vec<Truth>>> = probes
            .roles
            .iter()
            .map(|r| is_fresh_role(r).then(|| role_truths(r, &fresh)))
            .collect();
        let mut by_service: Vec<Option<Vec<Vec<Truth>>>> = probes
            .services
            .iter()
            .map(|s| s.is_fresh().then(|| condition_truths(s, &fresh)))
            .collect();
        probes.budget.charge(fresh.spent());
        // Named services before named roles: fresh roles go to them, and whether every role
        // does (PR003) rests on their conditions.
        for (truths, s) in by_service.iter_mut().zip(&probes.services) {
            if truths.is_none() {
                *truths = Some(condition_truths(s, &probes.budget));
            }
        }
        for (truths, r) in by_role.iter_mut().zip(&probes.roles) {
            if truths.is_none() {
                *truths = Some(role_truths(r, &probes.budget));
            }
        }
        // Every entry is judged by now; an empty one would only drop its rows, never shift them.
        let by_role: Vec<Vec<Truth>> = by_role.into_iter().map(Option::unwrap_or_default).collect();
        let by_service: Vec<Vec<Vec<Truth>>> = by_service
            .into_iter()
            .map(Option::unwrap_or_default)
            .collect();
        let mut rows = Vec::new();
        for (service, by_resource) in by_service.iter().enumerate() {
            for (resource, conditions) in by_resource.iter().enumerate() {
                for (role, resources) in by_role.iter().enumerate() {
                    let truths: Vec<Truth> = resources
                        .iter()
                        .zip(conditions)
                        .map(|(&r, &c)| r.min(c))
                        .collect();
                    let denies_with = |want: Truth| -> Vec<usize> {
                        truths
                            .iter()
                            .zip(statements)
                            .enumerate()
                            .filter(|(_, (&t, st))| st.effect == Effect::Deny && t == want)
                            .map(|(i, _)| i)
                            .collect()
                    };
                    let (denied_by, unsure) =
                        (denies_with(Truth::True), denies_with(Truth::Unknown));
                    rows.push(Row {
                        probe: Probe {
                            role,
                            service,
                            resource,
                        },
                        truths,
                        denied_by,
                        unsure,
                    });
                }
            }
        }
        Table { rows }
    }
}

fn grant_of(
    k: usize,
    statement: &CompiledStatement,
    statements: &[CompiledStatement],
    probes: &Probes,
    table: &Table,
) -> Option<PassRoleGrant> {
    let mut allowed: Vec<Probe> = Vec::new();
    // Covered by the Allow but certainly denied, with the Deny statements that did it.
    let mut denied: Vec<(Probe, &[usize])> = Vec::new();
    let mut unsure: Vec<usize> = Vec::new();
    for row in &table.rows {
        if !row.truths.get(k).is_some_and(|t| t.possible()) {
            continue;
        }
        if row.denied_by.is_empty() {
            allowed.push(row.probe);
            unsure.extend(&row.unsure);
        } else {
            denied.push((row.probe, &row.denied_by));
        }
    }
    if allowed.is_empty() {
        return None;
    }
    let resources = written_resources(statement, probes)?;

    let any_service = allowed.iter().any(|p| is_fresh_service(probes, p.service));
    // The rules judge the roles that go to any service when some do, else those that go to
    // the services the grant is limited to.
    let slice: Vec<&Probe> = allowed
        .iter()
        .filter(|p| is_fresh_service(probes, p.service) == any_service)
        .collect();
    let roles = RolesReached::of(&slice, probes, &resources)?;

    let narrowing: Vec<usize> = dedup_indices(denied.iter().flat_map(|(_, d)| d.iter().copied()));
    let except_roles = except_roles(&denied, &narrowing, statements, probes, any_service);

    let mut services: Vec<ServiceReach> = Vec::new();
    for index in dedup_indices(allowed.iter().map(|p| p.service)) {
        let Some(service) = probes.services.get(index).filter(|s| !s.is_fresh()) else {
            continue;
        };
        services.push(ServiceReach {
            principal: service.principal.clone(),
            any_resource: allowed
                .iter()
                .any(|p| p.service == index && resource_of(probes, p).is_some_and(|r| r.unbound)),
        });
    }
    let passed_to_service = (!any_service).then(|| {
        let named: Vec<(&str, &str)> = dedup_indices(allowed.iter().map(|p| p.service))
            .into_iter()
            .filter_map(|i| probes.services.get(i))
            .filter_map(|s| s.source.as_deref().map(|src| (src, s.principal.as_str())))
            .collect();
        narrowest(&named)
    });
    let unbound: Vec<&Probe> = allowed
        .iter()
        .filter(|p| resource_of(probes, p).is_some_and(|r| r.unbound))
        .collect();
    let associated_resource = unbound.is_empty().then(|| {
        let bound: Vec<(&str, &str)> = allowed
            .iter()
            .filter_map(|p| resource_of(probes, p))
            .filter_map(|r| Some((r.source.as_deref()?, r.arn.as_deref()?)))
            .collect();
        narrowest(&bound)
    });

    let reach = Reach {
        any_service,
        every_role: roles.every_role,
        service_condition: statement
            .conditions
            .iter()
            .any(|c| c.key == Key::PassedToService),
        resource_condition: statement
            .conditions
            .iter()
            .any(|c| c.key == Key::AssociatedResource),
        services,
    };
    let notes = super::notes::notes(
        statement,
        statements,
        probes,
        &reach,
        &unbound,
        &narrowing,
        &dedup_indices(unsure),
    );
    Some(PassRoleGrant {
        statement: statement.index,
        sid: statement.sid.clone(),
        matched_action: statement.matched_action.clone(),
        resources,
        scope: roles.scope,
        effective_roles: roles.effective,
        except_roles,
        passed_to_service,
        associated_resource,
        notes,
        reach,
    })
}

/// The roles a grant reaches among its probe requests.
struct RolesReached {
    /// A role nobody named, in some account.
    every_role: bool,
    scope: RoleScope,
    /// The patterns of the named roles reached, when they differ from the statement's own.
    effective: Option<Vec<String>>,
}

impl RolesReached {
    fn of(slice: &[&Probe], probes: &Probes, written: &[String]) -> Option<Self> {
        let reached: Vec<&RoleProbe> = dedup_indices(slice.iter().map(|p| p.role))
            .into_iter()
            .filter_map(|i| probes.roles.get(i))
            .collect();
        let fresh_accounts: Vec<&Option<String>> = reached
            .iter()
            .filter_map(|r| match &r.kind {
                RoleKind::Fresh { account } => Some(account),
                RoleKind::Named { .. } => None,
            })
            .collect();
        let named: Vec<(&str, &str)> = reached
            .iter()
            .filter_map(|r| match &r.kind {
                RoleKind::Named { pattern } => Some((pattern.as_str(), r.arn.as_str())),
                RoleKind::Fresh { .. } => None,
            })
            .collect();
        let scope = if fresh_accounts.contains(&&None) {
            RoleScope::AnyAccount
        } else if let Some(Some(account)) = fresh_accounts.first() {
            RoleScope::Account(account.clone())
        } else {
            named
                .iter()
                .map(|(pattern, _)| match role_scope(pattern) {
                    Some(scope) if !scope.is_every_role() => scope,
                    _ => RoleScope::NamePattern((*pattern).to_owned()),
                })
                .min()?
        };
        let every_role = !fresh_accounts.is_empty();
        let effective = (!every_role)
            .then(|| narrowest(&named))
            .filter(|effective| {
                let mut effective = effective.clone();
                effective.sort();
                let mut written = written.to_vec();
                written.sort();
                written.dedup();
                effective != written
            });
        Some(RolesReached {
            every_role,
            scope,
            effective,
        })
    }
}

fn is_fresh_service(probes: &Probes, index: usize) -> bool {
    probes.services.get(index).is_some_and(|s| s.is_fresh())
}

pub(super) fn resource_of<'p>(probes: &'p Probes, p: &Probe) -> Option<&'p ResourceProbe> {
    probes
        .services
        .get(p.service)
        .and_then(|s| s.resources.get(p.resource))
}

/// The statement's resource patterns that can reach a role, as written; `None` when none can.
fn written_resources(statement: &CompiledStatement, probes: &Probes) -> Option<Vec<String>> {
    match &statement.resources {
        Some((Polarity::Is, patterns)) => {
            let reaching: Vec<String> = patterns
                .iter()
                .filter(|p| {
                    probes.roles.iter().any(|r| {
                        p.matches(&r.arn, false, probes.fresh, &probes.budget)
                            .possible()
                    })
                })
                .map(|p| p.text().to_owned())
                .collect();
            (!reaching.is_empty()).then_some(reaching)
        }
        Some((Polarity::Not, patterns)) => Some(vec![format!(
            "NotResource {}",
            patterns
                .iter()
                .map(|p| p.text())
                .collect::<Vec<_>>()
                .join(", ")
        )]),
        None => None,
    }
}

/// The `Resource` patterns of the Deny statements that took roles out of the grant (among the
/// requests the rules judge it on).
fn except_roles(
    denied: &[(Probe, &[usize])],
    narrowing: &[usize],
    statements: &[CompiledStatement],
    probes: &Probes,
    any_service: bool,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for &d in narrowing {
        let Some(Some((Polarity::Is, patterns))) = statements.get(d).map(|s| &s.resources) else {
            continue;
        };
        let roles: Vec<&str> = denied
            .iter()
            .filter(|(p, by)| by.contains(&d) && is_fresh_service(probes, p.service) == any_service)
            .filter_map(|(p, _)| probes.roles.get(p.role))
            .map(|r| r.arn.as_str())
            .collect();
        for pattern in patterns.iter().filter(|p| !p.is_star()) {
            let takes = roles.iter().any(|arn| {
                pattern.matches(arn, false, probes.fresh, &probes.budget) == Truth::True
            });
            if takes && !out.iter().any(|o| o == pattern.text()) {
                out.push(pattern.text().to_owned());
            }
        }
    }
    out
}

/// The sources of the probes a grant reaches, without those another listed source covers:
/// `lex*` stands for `lex.amazonaws.com` as well.
fn narrowest(sources: &[(&str, &str)]) -> Vec<String> {
    let mut unique: Vec<(&str, &str)> = Vec::new();
    for &(source, value) in sources {
        if !unique.iter().any(|(s, _)| *s == source) {
            unique.push((source, value));
        }
    }
    // Quadratic: a hand-made document with thousands of values keeps them all.
    if unique.len() > 200 {
        return unique.iter().map(|(s, _)| (*s).to_owned()).collect();
    }
    unique
        .iter()
        .filter(|(source, value)| {
            !unique.iter().any(|(other, other_value)| {
                other != source
                    && matches(other, value, false)
                    && !matches(source, other_value, false)
            })
        })
        .map(|(source, _)| (*source).to_owned())
        .collect()
}

fn dedup_indices(items: impl IntoIterator<Item = usize>) -> Vec<usize> {
    let mut out: Vec<usize> = items.into_iter().collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The pattern through which a statement's Action/NotAction covers `action`, if it does.
pub fn statement_action(statement: &Statement, action: &str) -> Option<String> {
    match &statement.actions {
        Some((Polarity::Is, patterns)) => patterns
            .iter()
            .find(|p| action_matches(p, action))
            .map(|p| p.to_string()),
        Some((Polarity::Not, patterns)) => (!patterns.iter().any(|p| action_matches(p, action)))
            .then(|| format!("NotAction {}", patterns.join(", "))),
        None => None,
    }
}

/// Which roles a resource pattern reaches; `None` when it cannot match a role ARN.
pub fn role_scope(pattern: &str) -> Option<RoleScope> {
    let pattern = pattern.trim();
    if pattern == "*" {
        return Some(RoleScope::AnyAccount);
    }
    let mut parts = pattern.splitn(6, ':');
    let (arn, _partition, service, _region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if !arn.eq_ignore_ascii_case("arn") || !matches(service, "iam", false) {
        return None;
    }
    let any_account = account.is_empty() || has_wildcard(account);
    let Some(path_and_name) = resource.strip_prefix("role/") else {
        // `*`, `r*`, `role*`: a wildcard before the `role/` type prefix reaches every role.
        let literal_head = resource.split(['*', '?']).next().unwrap_or_default();
        let reaches_roles = has_wildcard(resource) && "role/".starts_with(literal_head);
        return reaches_roles.then(|| account_scope(account, any_account));
    };
    if any_account {
        return Some(RoleScope::AnyAccount);
    }
    match path_and_name.find(['*', '?']) {
        None => Some(RoleScope::Named(pattern.to_owned())),
        Some(0) => Some(account_scope(account, any_account)),
        Some(at) => {
            let head = path_and_name.get(..at).unwrap_or_default();
            // A wildcard right after a `/` is a path prefix: `role/service-role/*`.
            if head.ends_with('/') {
                Some(RoleScope::PathPrefix(format!("/{head}")))
            } else {
                Some(RoleScope::NamePattern(pattern.to_owned()))
            }
        }
    }
}

fn account_scope(account: &str, any_account: bool) -> RoleScope {
    if any_account {
        RoleScope::AnyAccount
    } else {
        RoleScope::Account(account.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn grants(v: serde_json::Value) -> Vec<PassRoleGrant> {
        pass_role_grants(&PolicyDocument::from_value(&v).unwrap())
    }

    #[test]
    fn scopes() {
        assert_eq!(role_scope("*"), Some(RoleScope::AnyAccount));
        assert_eq!(
            role_scope("arn:aws:iam::*:role/*"),
            Some(RoleScope::AnyAccount)
        );
        assert_eq!(
            role_scope("arn:aws:iam::123:role/*"),
            Some(RoleScope::Account("123".into()))
        );
        assert_eq!(
            role_scope("arn:aws:iam::123:*"),
            Some(RoleScope::Account("123".into()))
        );
        assert_eq!(
            role_scope("arn:aws:iam::123:role/service-role/*"),
            Some(RoleScope::PathPrefix("/service-role/".into()))
        );
        assert_eq!(
            role_scope("arn:aws:iam::123:role/lex-*"),
            Some(RoleScope::NamePattern("arn:aws:iam::123:role/lex-*".into()))
        );
        assert_eq!(
            role_scope("arn:aws:iam::123:role/app"),
            Some(RoleScope::Named("arn:aws:iam::123:role/app".into()))
        );
        assert_eq!(role_scope("arn:aws:iam::123:user/*"), None);
        assert_eq!(role_scope("arn:aws:s3:::bucket/*"), None);
    }

    #[test]
    fn wildcard_actions_and_not_action_grant_pass_role() {
        for action in [
            json!("iam:PassRole"),
            json!("iam:Pass*"),
            json!("IAM:*"),
            json!("*"),
        ] {
            let g = grants(
                json!({"Statement": {"Effect": "Allow", "Action": action, "Resource": "*"}}),
            );
            assert_eq!(g.len(), 1, "{action}");
        }
        let g = grants(
            json!({"Statement": {"Effect": "Allow", "NotAction": ["s3:*"], "Resource": "*"}}),
        );
        assert_eq!(g[0].matched_action, "NotAction s3:*");
        let g = grants(
            json!({"Statement": {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}}),
        );
        assert!(g.is_empty());
    }

    #[test]
    fn deny_and_not_resource() {
        assert!(grants(json!({"Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": "iam:PassRole", "Resource": "*"}
        ]}))
        .is_empty());
        assert!(grants(
            json!({"Statement": {"Effect": "Deny", "Action": "iam:PassRole", "Resource": "*"}})
        )
        .is_empty());
        let g = grants(
            json!({"Statement": {"Effect": "Allow", "Action": "iam:PassRole", "NotResource": "arn:aws:iam::1:role/admin"}}),
        );
        assert_eq!(g[0].scope, RoleScope::AnyAccount);
        assert!(grants(
            json!({"Statement": {"Effect": "Allow", "Action": "iam:PassRole", "NotResource": "*"}})
        )
        .is_empty());
    }

    #[test]
    fn conditions_are_read() {
        let g = grants(
            json!({"Statement": {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*",
            "Condition": {"StringEquals": {"iam:passedtoservice": "lexv2.amazonaws.com"},
                          "ArnLike": {"iam:AssociatedResourceArn": "arn:aws:lex:*:1:bot/*"}}}}),
        );
        assert_eq!(
            g[0].passed_to_service,
            Some(vec!["lexv2.amazonaws.com".into()])
        );
        assert_eq!(
            g[0].associated_resource,
            Some(vec!["arn:aws:lex:*:1:bot/*".into()])
        );
        let g = grants(
            json!({"Statement": {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*",
            "Condition": {"StringNotEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}}}),
        );
        assert_eq!(g[0].passed_to_service, None);
    }

    const ROLE: &str = "arn:aws:iam::111122223333:role";

    fn allow_all(extra: serde_json::Value) -> Vec<PassRoleGrant> {
        let mut statements =
            vec![json!({"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"})];
        if let serde_json::Value::Array(more) = extra {
            statements.extend(more);
        }
        grants(json!({"Version": "2012-10-17", "Statement": statements}))
    }

    fn allow_if(condition: serde_json::Value) -> PassRoleGrant {
        let g = grants(
            json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow",
            "Action": "iam:PassRole", "Resource": "*", "Condition": condition}}),
        );
        assert_eq!(g.len(), 1, "{condition}");
        g.into_iter().next().unwrap()
    }

    #[test]
    fn a_condition_every_service_meets_restricts_nothing() {
        for condition in [
            json!({"StringLike": {"iam:PassedToService": "*"}}),
            json!({"StringLike": {"iam:PassedToService": ["lambda.amazonaws.com", "*.amazonaws.com"]}}),
            json!({"StringNotEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}),
            json!({"Null": {"iam:PassedToService": "false"}}),
            json!({"ForAllValues:StringLike": {"iam:PassedToService": "*"}}),
        ] {
            let g = allow_if(condition.clone());
            assert!(g.every_role_to_any_service(), "{condition}");
            assert_eq!(g.passed_to_service, None, "{condition}");
            assert!(g.reach.service_condition);
            assert!(
                g.notes
                    .iter()
                    .any(|n| n.contains("does not limit where the role goes")),
                "{condition}: {:?}",
                g.notes
            );
        }
    }

    #[test]
    fn a_condition_that_names_services_restricts_them() {
        for condition in [
            json!({"StringEqualsIfExists": {"iam:PassedToService": "lambda.amazonaws.com"}}),
            json!({"ForAnyValue:StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}),
            json!({"StringLike": {"iam:PassedToService": "lambda.amazonaws.*"}}),
        ] {
            let g = allow_if(condition.clone());
            assert!(!g.reach.any_service, "{condition}");
            assert_eq!(
                g.passed_to_service.as_ref().map(Vec::len),
                Some(1),
                "{condition}"
            );
        }
        // Matches no service at all: the statement grants nothing.
        assert!(grants(
            json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow",
            "Action": "iam:PassRole", "Resource": "*",
            "Condition": {"Null": {"iam:PassedToService": "true"}}}})
        )
        .is_empty());
    }

    #[test]
    fn a_deny_on_every_role_but_some_narrows_the_roles() {
        let g = allow_all(json!([{"Effect": "Deny", "Action": "iam:PassRole",
            "NotResource": format!("{ROLE}/lex-*")}]));
        assert!(g[0].reach.any_service);
        assert!(!g[0].reach.every_role);
        assert_eq!(g[0].scope, RoleScope::NamePattern(format!("{ROLE}/lex-*")));
        assert_eq!(g[0].effective_roles, Some(vec![format!("{ROLE}/lex-*")]));
        assert_eq!(g[0].role_text(), format!("{ROLE}/lex-*"));
        assert!(
            g[0].notes
                .iter()
                .any(|n| n == "statement 1 (Deny) narrows the grant"),
            "{:?}",
            g[0].notes
        );
    }

    #[test]
    fn a_deny_on_some_roles_leaves_every_other_role() {
        let g = allow_all(json!([{"Effect": "Deny", "Action": "iam:*",
            "Resource": [format!("{ROLE}/admin"), "arn:aws:s3:::bucket"]}]));
        assert!(g[0].every_role_to_any_service());
        assert_eq!(g[0].except_roles, vec![format!("{ROLE}/admin")]);
        assert_eq!(g[0].effective_roles, None);
    }

    #[test]
    fn a_deny_on_every_other_service_narrows_the_services() {
        for deny in [
            json!({"StringNotEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}),
            json!({"StringNotEqualsIfExists": {"iam:PassedToService": "lambda.amazonaws.com"}}),
            json!({"ForAnyValue:StringNotLike": {"iam:PassedToService": "lambda.*"}}),
        ] {
            let g = allow_all(
                json!([{"Effect": "Deny", "Action": "iam:PassRole", "Resource": "*",
                "Condition": deny}]),
            );
            assert!(!g[0].reach.any_service, "{deny}");
            assert!(g[0].reach.every_role, "{deny}");
            assert_eq!(g[0].scope, RoleScope::AnyAccount);
            assert_eq!(
                g[0].passed_to_service.as_ref().map(Vec::len),
                Some(1),
                "{deny}"
            );
        }
        // Denying one service leaves every other.
        let g = allow_all(
            json!([{"Effect": "Deny", "Action": "iam:PassRole", "Resource": "*",
            "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}}]),
        );
        assert!(g[0].every_role_to_any_service());
    }

    #[test]
    fn a_deny_that_cannot_be_evaluated_narrows_nothing() {
        let g = allow_all(
            json!([{"Sid": "OfficeOnly", "Effect": "Deny", "Action": "iam:PassRole",
            "Resource": "*", "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]),
        );
        assert!(g[0].every_role_to_any_service());
        assert!(
            g[0].notes.iter().any(|n| n.contains(
                "statement 1 `OfficeOnly` (Deny) depends on a condition on `aws:SourceIp`"
            ) && n.contains("narrow nothing")),
            "{:?}",
            g[0].notes
        );
        // A Deny on NotAction that leaves PassRole out, and one on another action, change nothing.
        let g = allow_all(json!([
            {"Effect": "Deny", "NotAction": "iam:PassRole", "Resource": "*"},
            {"Effect": "Deny", "Action": "iam:GetRole", "Resource": "*"}
        ]));
        assert!(g[0].every_role_to_any_service());
        assert!(g[0].notes.is_empty(), "{:?}", g[0].notes);
    }

    #[test]
    fn associated_resource_values() {
        let lex = json!({"StringEquals": {"iam:PassedToService": "lexv2.amazonaws.com"}});
        let with = |key_condition: serde_json::Value| {
            let mut condition = lex.clone();
            for (op, body) in key_condition.as_object().unwrap() {
                condition[op] = body.clone();
            }
            allow_if(condition)
        };
        let key = "iam:AssociatedResourceARN";
        for unbound in [
            json!({"ArnLike": {key: "arn:aws:lex:*"}}),
            json!({"ArnLike": {key: "arn:aws:lex:*:*:bot-alias/*"}}),
            json!({"ArnLikeIfExists": {key: "arn:aws:lex:us-east-1:111122223333:bot-alias/*"}}),
            json!({"ForAllValues:ArnLike": {key: "arn:aws:lex:us-east-1:111122223333:bot-alias/*"}}),
        ] {
            let g = with(unbound.clone());
            assert_eq!(g.associated_resource, None, "{unbound}");
            assert!(g.reach.services.iter().any(|s| s.any_resource), "{unbound}");
            assert!(
                g.notes.iter().any(|n| n.contains("does not tie the role")),
                "{unbound}: {:?}",
                g.notes
            );
        }
        for bound in [
            json!({"ArnLike": {key: "arn:aws:lex:us-east-1:111122223333:bot-alias/*"}}),
            json!({"ForAnyValue:ArnEquals": {key: "arn:aws:lex:us-east-1:111122223333:bot-alias/B/A"}}),
        ] {
            let g = with(bound.clone());
            assert_eq!(
                g.associated_resource.as_ref().map(Vec::len),
                Some(1),
                "{bound}"
            );
            assert!(g.reach.services.iter().all(|s| !s.any_resource), "{bound}");
        }
        // A Lex resource condition alone keeps the role to Lex: no other service sends one.
        let g =
            allow_if(json!({"ArnLike": {key: "arn:aws:lex:us-east-1:111122223333:bot-alias/*"}}));
        assert!(!g.reach.any_service);
    }

    #[test]
    fn policy_variables_are_one_value_of_the_callers() {
        let g = grants(
            json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow",
            "Action": "iam:PassRole", "Resource": format!("{ROLE}/${{aws:username}}")}}),
        );
        assert!(g[0].reach.any_service);
        assert!(!g[0].reach.every_role);
        assert!(
            matches!(g[0].scope, RoleScope::Named(_)),
            "{:?}",
            g[0].scope
        );
        let g = grants(
            json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow",
            "Action": "iam:PassRole", "Resource": "arn:aws:iam::${aws:PrincipalAccount}:role/*"}}),
        );
        assert!(g[0].every_role_to_any_service());
        assert_eq!(
            g[0].scope,
            RoleScope::Account("${aws:PrincipalAccount}".into())
        );
        // Before version 2012-10-17 `${...}` is text, and this one names no role.
        let g = grants(
            json!({"Version": "2008-10-17", "Statement": {"Effect": "Allow",
            "Action": "iam:PassRole", "Resource": "arn:aws:iam::${aws:PrincipalAccount}:role/*"}}),
        );
        assert!(g.is_empty(), "{g:?}");
        // A Deny on every service but the caller's own narrows what nobody named, and nothing
        // rolewarden cannot tell.
        let g = allow_all(
            json!([{"Effect": "Deny", "Action": "iam:PassRole", "Resource": "*",
            "Condition": {"StringNotEquals": {"iam:PassedToService": "${aws:PrincipalTag/service}"}}}]),
        );
        assert!(!g[0].reach.any_service);
        assert!(
            g[0].notes.iter().any(|n| n.contains("policy variable")),
            "{:?}",
            g[0].notes
        );
    }

    #[test]
    fn an_oversized_document_is_judged_on_fewer_named_values() {
        let mut statements: Vec<serde_json::Value> = (0..100)
            .map(|i| {
                let roles: Vec<String> = (0..30).map(|j| format!("{ROLE}/r-{i}-{j}")).collect();
                json!({"Effect": "Deny", "Action": "iam:PassRole", "Resource": roles})
            })
            .collect();
        statements.push(json!({"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}));
        let g = grants(json!({"Version": "2012-10-17", "Statement": statements}));
        assert!(g[0].every_role_to_any_service());
        assert!(
            g[0].notes.iter().any(|n| n.contains("too many values")),
            "{:?}",
            g[0].notes.first()
        );
    }

    #[test]
    fn many_patterns_meet_within_a_bound() {
        // Star-heavy values meet in many ways: the search stops at its bounds and says so.
        let values: Vec<String> = (0..20)
            .map(|i| format!("arn:aws:lex:*:*:*{i}{}*", "*a".repeat(10)))
            .collect();
        let g = grants(
            json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow",
            "Action": "iam:PassRole", "Resource": "*",
            "Condition": {"StringLike": {"iam:AssociatedResourceARN": values}}}}),
        );
        assert!(!g[0].reach.any_service, "{g:?}");
        assert!(
            g[0].notes.iter().any(|n| n.contains("too many values")),
            "{:?}",
            g[0].notes
        );
    }
}
