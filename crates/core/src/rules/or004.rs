use serde::Serialize;

use super::{Draft, SweepContext, SweepRule};
use crate::baseline::Approval;
use crate::policy::wildcard;
use crate::state::Scope;

declare_rule! {
    /// ## What it does
    /// On a full account sweep, flags a role ARN pattern of the baseline's `approved_passes`
    /// that names the swept account and matches no role in it. Patterns for another account, or
    /// with a wildcard in the account field, may name roles that live elsewhere and are not
    /// judged. The rule stays silent when the sweep could not list every role (a gap on
    /// `iam:ListRoles`, or a re-check after a delete event, which lists service-linked roles
    /// only): an incomplete list proves nothing. One finding per pattern, whatever the number
    /// of services it is approved for.
    ///
    /// ## Why it matters
    /// The baseline approves a role that does not exist. Whoever creates a role with that name
    /// next, with any trust and permissions, can pass it to a bot and rolewarden will treat the
    /// pass as approved. OR003 reports the deletion when it is seen; this rule also finds
    /// approvals that were wrong from the start, or whose deletion happened before rolewarden
    /// watched the account.
    ///
    /// ## Example
    /// `approved_passes` names
    /// `arn:aws:iam::111122223333:role/service-role/lex-conversation-logs` for
    /// `lexv2.amazonaws.com`, and account 111122223333 has no role of that name.
    ///
    /// ## Fix
    /// Remove the approved pass from the baseline, or create the role it names and review its
    /// trust and permissions before a bot uses it.
    pub struct ApprovedRoleMissing {
        id: "OR004",
        severity: Medium,
        summary: "an approved pass in the baseline names a role of this account that does not exist",
        trigger: Sweep,
        events: &[],
    }
}

/// One approval of the missing role, without its baseline line: editing the baseline elsewhere
/// must not change the finding id.
#[derive(Debug, Serialize)]
struct Approved<'a> {
    service: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    associated_resource: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    principal: Option<&'a str>,
}

impl SweepRule for ApprovedRoleMissing {
    fn check(&self, cx: &SweepContext<'_>, out: &mut Vec<Draft>) {
        let state = cx.state;
        if state.scope != Scope::Full
            || state
                .gaps
                .iter()
                .any(|g| g.what.starts_with("iam:ListRoles"))
        {
            return;
        }
        let Some(account) = state.account.clone().or_else(|| state.account_from_roles()) else {
            return;
        };
        // Patterns in baseline order, each with every approval that names it.
        let mut missing: Vec<(&str, Vec<&Approval>)> = Vec::new();
        for approval in &cx.baseline.approved_passes {
            let pattern = approval.role.as_str();
            if pattern.split(':').nth(4) != Some(account.as_str())
                || state
                    .roles
                    .iter()
                    .any(|r| wildcard::matches(pattern, &r.arn, true))
            {
                continue;
            }
            match missing.iter_mut().find(|(p, _)| *p == pattern) {
                Some((_, approvals)) => approvals.push(approval),
                None => missing.push((pattern, vec![approval])),
            }
        }
        for (pattern, approvals) in missing {
            let services: Vec<String> = approvals
                .iter()
                .map(|a| match a.line {
                    Some(line) => format!("`{}` (line {line})", a.service),
                    None => format!("`{}`", a.service),
                })
                .collect();
            let what = if wildcard::has_wildcard(pattern) {
                "no role matching"
            } else {
                "no role"
            };
            let evidence: Vec<Approved<'_>> = approvals
                .iter()
                .map(|a| Approved {
                    service: &a.service,
                    associated_resource: a.associated_resource.as_deref(),
                    principal: a.principal.as_deref(),
                })
                .collect();
            out.push(
                Draft::new(format!(
                    "account {account} has {what} `{pattern}`, which the baseline approves for {}",
                    services.join(", ")
                ))
                .resource(pattern)
                .evidence("approved_role", pattern)
                .evidence("approved_for", &evidence),
            );
        }
    }
}
