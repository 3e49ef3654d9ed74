//! Does a statement grant `iam:PassRole`, on which roles, to which services?

use serde::Serialize;

use super::document::{Effect, Polarity, PolicyDocument, Statement};
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

/// An Allow statement that grants `iam:PassRole`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PassRoleGrant {
    pub statement: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The action pattern that matched, or `NotAction [...]`.
    pub matched_action: String,
    /// The resource patterns that reach roles (or `NotResource [...]`).
    pub resources: Vec<String>,
    /// The broadest scope among `resources`.
    pub scope: RoleScope,
    /// Values of a positive `iam:PassedToService` condition; `None` when there is none.
    pub passed_to_service: Option<Vec<String>>,
    /// Values of a positive `iam:AssociatedResourceARN` condition; `None` when there is none.
    pub associated_resource: Option<Vec<String>>,
}

/// Every PassRole grant in the document, after unconditional Deny statements that cover the
/// same resources (or all of them) have been taken away.
pub fn pass_role_grants(doc: &PolicyDocument) -> Vec<PassRoleGrant> {
    let denies_everything = doc.statements.iter().any(|s| {
        s.effect == Effect::Deny
            && s.conditions.is_empty()
            && statement_action(s, PASS_ROLE).is_some()
            && matches!(&s.resources, Some((Polarity::Is, r)) if r.iter().any(|p| p.trim() == "*"))
    });
    if denies_everything {
        return Vec::new();
    }
    doc.statements
        .iter()
        .filter(|s| s.is_allow())
        .filter_map(grant_of)
        .collect()
}

fn grant_of(statement: &Statement) -> Option<PassRoleGrant> {
    let matched_action = statement_action(statement, PASS_ROLE)?;
    let (resources, scope) = match &statement.resources {
        Some((Polarity::Is, patterns)) => {
            let reaching: Vec<(String, RoleScope)> = patterns
                .iter()
                .filter_map(|p| role_scope(p).map(|scope| (p.clone(), scope)))
                .collect();
            let scope = reaching.iter().map(|(_, s)| s.clone()).min()?;
            (reaching.into_iter().map(|(p, _)| p).collect(), scope)
        }
        Some((Polarity::Not, patterns)) => {
            // NotResource grants every role it does not name; unless it excludes all roles.
            if patterns
                .iter()
                .any(|p| p.trim() == "*" || matches(p, "arn:aws:iam::000000000000:role/x", false))
            {
                return None;
            }
            (
                vec![format!("NotResource {}", patterns.join(", "))],
                RoleScope::AnyAccount,
            )
        }
        // Identity policies need a Resource; IAM rejects such a statement.
        None => return None,
    };
    Some(PassRoleGrant {
        statement: statement.index,
        sid: statement.sid.clone(),
        matched_action,
        resources,
        scope,
        passed_to_service: statement.positive_values(PASSED_TO_SERVICE),
        associated_resource: statement.positive_values(ASSOCIATED_RESOURCE),
    })
}

/// The pattern through which a statement's Action/NotAction covers `action`, if it does.
pub fn statement_action(statement: &Statement, action: &str) -> Option<String> {
    match &statement.actions {
        Some((Polarity::Is, patterns)) => {
            patterns.iter().find(|p| action_matches(p, action)).cloned()
        }
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
}
