use std::collections::BTreeSet;

use serde::Serialize;

use super::reach::{Guards, Reach};
use super::{Context, Draft, EventRule};
use crate::finding::Severity;
use crate::policy::trust::{principal_account, trusted_principals, PrincipalKind};

declare_rule! {
    /// ## What it does
    /// Flags a trust policy (`CreateRole`, `UpdateAssumeRolePolicy`, succeeded) that lets
    /// someone outside the account assume the role: everyone (`"AWS": "*"`, `"Principal": "*"`,
    /// `NotPrincipal`) is high, a named account that is neither the role's own nor in the
    /// baseline's `trusted_accounts` is medium. Conditions that narrow who the statement
    /// applies to are read: `aws:PrincipalOrgID` or `aws:PrincipalOrgPaths` (one organization's
    /// accounts) makes the statement quiet; `aws:PrincipalAccount` and `aws:PrincipalArn` narrow
    /// everyone down to the accounts they name, and are judged like named accounts. A guard
    /// counts only with a positive operator (`StringEquals`, `StringLike`, `ArnLike`...), no
    /// `...IfExists`, and no value that is `*` alone. `sts:ExternalId` is stated in the evidence
    /// but narrows nothing: it is a value shared with the third party, not an identity. Roles
    /// that trust a profiled service principal (Lex, Connect) are TR001's and skipped here.
    ///
    /// ## Why it matters
    /// Opening a role's trust to another account's root, or to everyone, is the classic
    /// persistence backdoor: the attacker comes back from their own account with the role's
    /// permissions, and nothing in the victim account has to stay compromised. With
    /// `"AWS": "*"`, anyone with an AWS account (who knows the external id, if there is one)
    /// can assume the role.
    ///
    /// ## Example
    /// `UpdateAssumeRolePolicy` on `ops-deploy` with
    /// `{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"}, "Action": "sts:AssumeRole"}`,
    /// while `trusted_accounts` does not list `444455556666`.
    ///
    /// ## Fix
    /// Restore the trust policy to your own principals. If the other account is yours or a
    /// vetted vendor, add it to `trusted_accounts`; a vendor's statement should also require
    /// `sts:ExternalId`. Never trust `"AWS": "*"` without an `aws:PrincipalOrgID` condition naming
    /// your organization. Find out who changed the policy.
    pub struct TrustOpenedOutsideAccount {
        id: "TR003",
        severity: Medium,
        summary: "a trust policy lets everyone (high) or an account outside trusted_accounts (medium) assume a role",
        trigger: Listed,
        events: &[
            (super::IAM, "CreateRole"),
            (super::IAM, "UpdateAssumeRolePolicy"),
        ],
    }
}

/// One principal that reaches outside the trusted accounts.
#[derive(Debug, Serialize)]
struct Outside {
    statement: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
    principal: String,
    reach: Reach,
    guards: Guards,
}

impl EventRule for TrustOpenedOutsideAccount {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Draft>) {
        if cx.event.failed() {
            return;
        }
        let (Some(doc), Some(role)) = (cx.trust_policy(), cx.role_name()) else {
            return;
        };
        let principals = trusted_principals(doc);
        let service_role = principals.iter().any(|p| {
            p.kind == PrincipalKind::Service
                && cx.baseline.profile_for_principal(&p.value).is_some()
        });
        if service_role {
            return;
        }
        let own = cx.event.account();
        let trusted = |account: &str| {
            own == Some(account) || cx.baseline.trusted_accounts.iter().any(|a| a == account)
        };
        let mut outside = Vec::new();
        for p in principals {
            let reach = match p.kind {
                PrincipalKind::Anyone => Reach::Everyone,
                PrincipalKind::Aws => match principal_account(&p.value) {
                    Some(account) => Reach::Accounts(BTreeSet::from([account.to_owned()])),
                    // A unique id (`AROA...`) left by a deleted principal names no account.
                    None => continue,
                },
                PrincipalKind::Service | PrincipalKind::Federated | PrincipalKind::Other => {
                    continue
                }
            };
            let statement = doc.statements.iter().find(|s| s.index == p.statement);
            let guards = Guards::of(statement);
            let reach = match guards.narrow(reach) {
                None => continue,
                Some(Reach::Everyone) => Reach::Everyone,
                Some(Reach::Accounts(accounts)) => {
                    let foreign: BTreeSet<String> =
                        accounts.into_iter().filter(|a| !trusted(a)).collect();
                    if foreign.is_empty() {
                        continue;
                    }
                    Reach::Accounts(foreign)
                }
            };
            outside.push(Outside {
                statement: p.statement,
                sid: p.sid,
                principal: p.value,
                reach,
                guards,
            });
        }
        if outside.is_empty() {
            return;
        }
        let everyone = outside.iter().any(|o| o.reach == Reach::Everyone);
        let described: Vec<String> = outside.iter().map(describe).collect();
        let draft = Draft::new(format!(
            "role `{role}` can be assumed from outside the trusted accounts: {}",
            described.join("; ")
        ))
        .resource(cx.role_arn(&role))
        .evidence("outside", &outside);
        out.push(if everyone {
            draft.severity(Severity::High)
        } else {
            draft
        });
    }
}

fn describe(o: &Outside) -> String {
    let who = match &o.reach {
        Reach::Everyone => "everyone".to_owned(),
        Reach::Accounts(accounts) => format!(
            "account {}",
            accounts
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let external_id = if o.guards.external_id {
        ", with an sts:ExternalId condition, which is a shared value, not an identity"
    } else {
        ""
    };
    format!(
        "{who} (`{}`, statement {}{external_id})",
        o.principal, o.statement
    )
}
