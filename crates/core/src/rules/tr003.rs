use std::collections::BTreeSet;

use serde::Serialize;

use super::reach::{Guards, Reach};
use super::{Context, Draft, EventRule};
use crate::account::{Lookup, Needs, Organization};
use crate::finding::Severity;
use crate::policy::trust::{
    principal_account, trusted_principals, PrincipalKind, TrustedPrincipal,
};

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
    /// With enrichment, the account's organization is read (Organizations): its accounts are
    /// not outside, and an `aws:PrincipalOrgID` or `aws:PrincipalOrgPaths` naming another
    /// organization is (medium); without it, any organization condition is taken as the
    /// account's own.
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

/// Who a principal reaches outside the trusted accounts. Serialized as [`Reach`] is, so the
/// evidence (and the finding id) of a reach that is not another organization stays the same.
#[derive(Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Who {
    Everyone,
    Accounts(BTreeSet<String>),
    /// Everyone in these organizations, none of them the account's own.
    Organizations(BTreeSet<String>),
}

/// One principal that reaches outside the trusted accounts.
#[derive(Debug, Serialize)]
struct Outside {
    statement: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
    principal: String,
    reach: Who,
    guards: Guards,
}

/// A role that trusts a profiled service principal (Lex, Connect): TR001's, not this rule's.
fn trusts_profiled_service(cx: &Context<'_>, principals: &[TrustedPrincipal]) -> bool {
    principals.iter().any(|p| {
        p.kind == PrincipalKind::Service && cx.baseline.profile_for_principal(&p.value).is_some()
    })
}

/// The organization id an `aws:PrincipalOrgID` or `aws:PrincipalOrgPaths` value names
/// (`o-a1b2c3d4e5`, `o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*`).
fn organization_of(value: &str) -> &str {
    value.split('/').next().unwrap_or(value).trim()
}

/// The organization conditions that let in another organization than `own`.
fn other_organizations(guards: &Guards, own: &Organization) -> BTreeSet<String> {
    guards
        .principal_org
        .iter()
        .map(|v| organization_of(v))
        .filter(|id| !id.eq_ignore_ascii_case(&own.id))
        .map(str::to_owned)
        .collect()
}

impl EventRule for TrustOpenedOutsideAccount {
    /// The organization, when a principal reaches past the account and `trusted_accounts`
    /// (its accounts may be the organization's) or an organization condition guards one.
    fn needs(&self, cx: &Context<'_>, needs: &mut Needs) {
        let Some(doc) = cx.trust_policy() else {
            return;
        };
        let own = cx.event.account();
        let principals = trusted_principals(doc);
        if trusts_profiled_service(cx, &principals) {
            return;
        }
        let guarded = |statement: usize| {
            doc.statements
                .iter()
                .find(|s| s.index == statement)
                .is_some_and(|s| !Guards::of(Some(s)).principal_org.is_empty())
        };
        needs.organization |= principals.iter().any(|p| match p.kind {
            PrincipalKind::Anyone => true,
            PrincipalKind::Aws => {
                guarded(p.statement)
                    || principal_account(&p.value).is_some_and(|a| {
                        own != Some(a) && !cx.baseline.trusted_accounts.iter().any(|t| t == a)
                    })
            }
            _ => false,
        });
    }

    fn check(&self, cx: &Context<'_>, out: &mut Vec<Draft>) {
        if cx.event.failed() {
            return;
        }
        let (Some(doc), Some(role)) = (cx.trust_policy(), cx.role_name()) else {
            return;
        };
        let principals = trusted_principals(doc);
        if trusts_profiled_service(cx, &principals) {
            return;
        }
        let own = cx.event.account();
        let organization = match cx.view.organization() {
            Lookup::Found(o) => Some(o),
            _ => None,
        };
        let mut used_organization = false;
        let mut trusted = |account: &str| {
            if own == Some(account) || cx.baseline.trusted_accounts.iter().any(|a| a == account) {
                return true;
            }
            let member = organization
                .as_ref()
                .is_some_and(|o| o.has_account(account));
            used_organization |= member;
            member
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
                // Limited to organizations: outside only when one of them is not the
                // account's own, which only a known organization can say.
                None => match &organization {
                    Some(o) => {
                        let others = other_organizations(&guards, o);
                        if others.is_empty() {
                            continue;
                        }
                        Who::Organizations(others)
                    }
                    None => continue,
                },
                Some(Reach::Everyone) => Who::Everyone,
                Some(Reach::Accounts(accounts)) => {
                    let foreign: BTreeSet<String> =
                        accounts.into_iter().filter(|a| !trusted(a)).collect();
                    if foreign.is_empty() {
                        continue;
                    }
                    Who::Accounts(foreign)
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
        let everyone = outside.iter().any(|o| o.reach == Who::Everyone);
        let other_organization = outside
            .iter()
            .any(|o| matches!(o.reach, Who::Organizations(_)));
        let described: Vec<String> = outside.iter().map(describe).collect();
        let mut draft = Draft::new(format!(
            "role `{role}` can be assumed from outside the trusted accounts: {}",
            described.join("; ")
        ))
        .resource(cx.role_arn(&role))
        .evidence("outside", &outside);
        if let (true, Some(o)) = (used_organization || other_organization, &organization) {
            draft = draft.enrichment(format!("organization `{}` read from the account", o.id));
        }
        out.push(if everyone {
            draft.severity(Severity::High)
        } else {
            draft
        });
    }
}

fn describe(o: &Outside) -> String {
    let listed = |ids: &BTreeSet<String>| {
        ids.iter()
            .map(|a| format!("`{a}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let who = match &o.reach {
        Who::Everyone => "everyone".to_owned(),
        Who::Accounts(accounts) => format!("account {}", listed(accounts)),
        Who::Organizations(ids) => format!(
            "every account of organization {}, not this account's",
            listed(ids)
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
