//! Who may assume a role, read from its trust policy.

use serde::Serialize;

use super::document::{Polarity, PolicyDocument};
use super::passrole::statement_action;

/// Condition keys that tie a service principal to the caller's own account or resource, the
/// confused-deputy guard AWS recommends for service roles.
pub const SOURCE_GUARDS: &[&str] = &[
    "aws:SourceAccount",
    "aws:SourceArn",
    "aws:SourceOrgID",
    "aws:SourceOrgPaths",
];

/// One principal allowed to assume the role.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrustedPrincipal {
    pub statement: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    pub kind: PrincipalKind,
    /// As written (`lex.amazonaws.com`, `arn:aws:iam::123:root`, `*`).
    pub value: String,
    /// The statement carries an `aws:SourceAccount`/`aws:SourceArn` style condition.
    pub source_guarded: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    /// `"Principal": "*"`, `{"AWS": "*"}` or a `NotPrincipal`.
    Anyone,
    Service,
    /// An account, user or role (`AWS`).
    Aws,
    Federated,
    Other,
}

/// Every principal an Allow statement lets assume the role (any `sts:AssumeRole*` action).
pub fn trusted_principals(doc: &PolicyDocument) -> Vec<TrustedPrincipal> {
    let mut out = Vec::new();
    for s in doc.statements.iter().filter(|s| s.is_allow()) {
        let assumes = [
            "sts:AssumeRole",
            "sts:AssumeRoleWithWebIdentity",
            "sts:AssumeRoleWithSAML",
        ]
        .iter()
        .any(|a| statement_action(s, a).is_some());
        if !assumes {
            continue;
        }
        let source_guarded = s
            .conditions
            .iter()
            .any(|c| SOURCE_GUARDS.iter().any(|g| c.key_is(g)));
        let mut push = |kind, value: &str| {
            out.push(TrustedPrincipal {
                statement: s.index,
                sid: s.sid.as_deref().map(str::to_owned),
                kind,
                value: value.to_owned(),
                source_guarded,
            })
        };
        match &s.principals {
            Some((Polarity::Not, _)) => push(PrincipalKind::Anyone, "NotPrincipal"),
            Some((Polarity::Is, p)) => {
                if p.wildcard {
                    push(PrincipalKind::Anyone, "*");
                }
                for (kind, value) in &p.entries {
                    let kind = match kind.to_ascii_lowercase().as_str() {
                        _ if value.trim() == "*" => PrincipalKind::Anyone,
                        "service" => PrincipalKind::Service,
                        "aws" => PrincipalKind::Aws,
                        "federated" => PrincipalKind::Federated,
                        _ => PrincipalKind::Other,
                    };
                    push(kind, value);
                }
            }
            None => {}
        }
    }
    out
}

/// The account an `AWS` principal belongs to: a bare 12-digit id or the account field of an ARN.
pub fn principal_account(value: &str) -> Option<&str> {
    let value = value.trim();
    if value.starts_with("arn:") {
        value.split(':').nth(4).filter(|a| !a.is_empty())
    } else if !value.is_empty() && value.chars().all(|c| c.is_ascii_digit()) {
        Some(value)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_principals_and_guards() {
        let doc = PolicyDocument::from_value_owned(&json!({"Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lexv2.amazonaws.com"}, "Action": "sts:AssumeRole",
             "Condition": {"StringEquals": {"AWS:SourceAccount": "111122223333"}}},
            {"Effect": "Allow", "Principal": {"AWS": ["*", "arn:aws:iam::444455556666:root"], "Federated": "cognito-identity.amazonaws.com"}, "Action": "sts:AssumeRoleWithWebIdentity"},
            {"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole"},
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"}
        ]}))
        .unwrap();
        let t = trusted_principals(&doc);
        let kinds: Vec<_> = t.iter().map(|p| p.kind).collect();
        assert_eq!(
            kinds,
            [
                PrincipalKind::Service,
                PrincipalKind::Anyone,
                PrincipalKind::Aws,
                PrincipalKind::Federated
            ]
        );
        assert!(t[0].source_guarded);
        assert!(!t[1].source_guarded);
        assert_eq!(
            principal_account("arn:aws:iam::444455556666:root"),
            Some("444455556666")
        );
        assert_eq!(principal_account("444455556666"), Some("444455556666"));
        assert_eq!(principal_account("*"), None);
    }
}
