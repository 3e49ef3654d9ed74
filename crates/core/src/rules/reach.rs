//! Who a policy statement lets in: its principal, narrowed by the conditions that restrict
//! who the statement applies to (TR003, LX002). A guard counts only when it restricts: a
//! positive operator, no `...IfExists` (an absent key passes), no value that is `*` alone.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::policy::trust::principal_account;
use crate::policy::{Condition, Statement};

/// Who a statement lets in, once its principal-narrowing conditions are applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reach {
    Everyone,
    Accounts(BTreeSet<String>),
}

/// The principal-narrowing conditions of one statement.
#[derive(Debug, Default, Serialize)]
pub struct Guards {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub principal_org: Vec<String>,
    /// Accounts `aws:PrincipalAccount`/`aws:PrincipalArn` narrow to; `None` without them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal_accounts: Option<BTreeSet<String>>,
    pub external_id: bool,
}

impl Guards {
    pub fn of(statement: Option<&Statement>) -> Self {
        let mut guards = Guards::default();
        for c in statement
            .map(|s| s.conditions.as_slice())
            .unwrap_or_default()
        {
            if c.key_is("sts:ExternalId") {
                guards.external_id |= c.is_positive_match();
                continue;
            }
            if !narrows(c) {
                continue;
            }
            if c.key_is("aws:PrincipalOrgID") || c.key_is("aws:PrincipalOrgPaths") {
                guards.principal_org.extend(c.values.iter().cloned());
            } else if c.key_is("aws:PrincipalAccount") || c.key_is("aws:PrincipalArn") {
                // An ARN pattern whose account is a wildcard narrows to no account we can name.
                let accounts = named_accounts(&c.values);
                if let Some(accounts) = accounts {
                    // Two narrowing conditions both apply: the statement reaches their overlap.
                    guards.principal_accounts = Some(match guards.principal_accounts.take() {
                        Some(before) => before.intersection(&accounts).cloned().collect(),
                        None => accounts,
                    });
                }
            }
        }
        guards
    }

    /// What a principal reaches through this statement; `None` when the statement is limited
    /// to one organization.
    pub fn narrow(&self, reach: Reach) -> Option<Reach> {
        if !self.principal_org.is_empty() {
            return None;
        }
        Some(match (reach, &self.principal_accounts) {
            (reach, None) => reach,
            (Reach::Everyone, Some(only)) => Reach::Accounts(only.clone()),
            (Reach::Accounts(named), Some(only)) => {
                Reach::Accounts(named.intersection(only).cloned().collect())
            }
        })
    }
}

/// A positive match that restricts: no `IfExists` (an absent key passes), no lone `*`.
pub fn narrows(c: &Condition) -> bool {
    c.is_positive_match()
        && !c.if_exists
        && !c.values.is_empty()
        && c.values.iter().all(|v| v.trim() != "*")
}

/// What the `aws:Source*` conditions of a statement for a service principal tie the service to:
/// the confused-deputy guard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceGuard {
    /// No restricting `aws:SourceAccount`, `aws:SourceArn`, `aws:SourceOrgID` or
    /// `aws:SourceOrgPaths`: the service acts for anyone who asks it to.
    Unguarded,
    /// One organization's resources.
    Organization,
    /// Resources of these accounts (`aws:SourceAccount` values, `aws:SourceArn` account fields;
    /// both present: their overlap).
    Accounts(BTreeSet<String>),
}

/// The source guard of a statement.
pub fn source_guard(statement: &Statement) -> SourceGuard {
    let mut accounts: Option<BTreeSet<String>> = None;
    for c in statement.conditions.iter().filter(|c| narrows(c)) {
        if c.key_is("aws:SourceOrgID") || c.key_is("aws:SourceOrgPaths") {
            return SourceGuard::Organization;
        }
        if !(c.key_is("aws:SourceAccount") || c.key_is("aws:SourceArn")) {
            continue;
        }
        // An ARN pattern with a wildcard account ties the service to no account we can name.
        let named = named_accounts(&c.values);
        if let Some(named) = named {
            accounts = Some(match accounts.take() {
                Some(before) => before.intersection(&named).cloned().collect(),
                None => named,
            });
        }
    }
    accounts.map_or(SourceGuard::Unguarded, SourceGuard::Accounts)
}

/// The accounts a condition's values name (an account id, or an ARN's account): `None` when one
/// of them names no account we can tell (a wildcard), which narrows to nothing we can name.
fn named_accounts(values: &[String]) -> Option<BTreeSet<String>> {
    values
        .iter()
        .map(|v| {
            principal_account(v)
                .filter(|a| a.bytes().all(|b| b.is_ascii_digit()))
                .map(str::to_owned)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

    use serde_json::json;

    use super::*;
    use crate::policy::PolicyDocument;

    fn reach(statement: serde_json::Value, principal: Reach) -> Option<Reach> {
        let doc = PolicyDocument::from_value_owned(&json!({ "Statement": [statement] })).unwrap();
        Guards::of(doc.statements.first()).narrow(principal)
    }

    fn accounts(ids: &[&str]) -> Reach {
        Reach::Accounts(ids.iter().map(|a| (*a).to_owned()).collect())
    }

    #[test]
    fn organization_conditions_close_the_statement() {
        let s = json!({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"AWS:PrincipalOrgID": "o-a1b2c3d4e5"}}});
        assert_eq!(reach(s, Reach::Everyone), None);
        let s = json!({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole",
            "Condition": {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": "o-a1b2c3d4e5/r-ab12/*"}}});
        assert_eq!(reach(s, Reach::Everyone), None);
    }

    #[test]
    fn conditions_that_restrict_nothing_are_not_guards() {
        for condition in [
            json!({"StringEqualsIfExists": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}),
            json!({"StringLike": {"aws:PrincipalOrgID": "*"}}),
            json!({"StringNotEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}),
            json!({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/admin"}}),
            json!({"StringEquals": {"sts:ExternalId": "shared"}}),
        ] {
            let s = json!({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole",
                "Condition": condition});
            assert_eq!(
                reach(s, Reach::Everyone),
                Some(Reach::Everyone),
                "{condition}"
            );
        }
    }

    #[test]
    fn account_conditions_narrow_everyone_to_the_accounts_they_name() {
        let s = json!({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:PrincipalAccount": ["444455556666", "777788889999"]},
                          "ArnLike": {"aws:PrincipalArn": "arn:aws:iam::777788889999:role/*"}}});
        assert_eq!(
            reach(s.clone(), Reach::Everyone),
            Some(accounts(&["777788889999"]))
        );
        assert_eq!(reach(s, accounts(&["444455556666"])), Some(accounts(&[])));
    }

    fn statement(condition: serde_json::Value) -> Statement<'static> {
        let doc = PolicyDocument::from_value_owned(&json!({"Statement": [
            {"Effect": "Allow", "Principal": {"Service": "connect.amazonaws.com"},
             "Action": "lex:RecognizeText", "Condition": condition}]}))
        .unwrap();
        doc.statements[0].clone()
    }

    #[test]
    fn source_guards_name_the_accounts_a_service_may_act_for() {
        let connect = json!({"StringEquals": {"AWS:SourceAccount": "111122223333"},
            "ArnEquals": {"AWS:SourceArn": "arn:aws:connect:us-east-1:111122223333:instance/7d3c3b1e"}});
        assert_eq!(
            source_guard(&statement(connect)),
            SourceGuard::Accounts(BTreeSet::from(["111122223333".to_owned()]))
        );
        let org = json!({"StringEquals": {"aws:SourceOrgID": "o-a1b2c3d4e5"}});
        assert_eq!(source_guard(&statement(org)), SourceGuard::Organization);
        for loose in [
            json!({}),
            json!({"ArnLike": {"aws:SourceArn": "arn:aws:connect:*:*:instance/*"}}),
            json!({"StringEqualsIfExists": {"aws:SourceAccount": "111122223333"}}),
            json!({"StringLike": {"aws:SourceAccount": "*"}}),
        ] {
            assert_eq!(
                source_guard(&statement(loose.clone())),
                SourceGuard::Unguarded,
                "{loose}"
            );
        }
    }
}
