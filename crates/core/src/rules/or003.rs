use super::{Context, Draft, EventRule};
use crate::policy::wildcard;

declare_rule! {
    /// ## What it does
    /// Flags `DeleteRole` of a role that an `approved_passes` entry of the baseline names
    /// exactly (no wildcard in the role name).
    ///
    /// ## Why it matters
    /// The baseline now approves a role that does not exist. If someone recreates a role with
    /// that name, with any permissions, rolewarden will treat passing it as approved.
    ///
    /// ## Example
    /// `DeleteRole` of `lex-conversation-logs` while the baseline approves
    /// `arn:aws:iam::111122223333:role/service-role/lex-conversation-logs` for Lex.
    ///
    /// ## Fix
    /// Remove the approved pass from the baseline, or recreate the role and review it.
    pub struct ApprovedRoleDeleted {
        id: "OR003",
        severity: Medium,
        summary: "a role named in an approved pass is deleted (the baseline is now stale)",
        trigger: Listed,
        events: &[(super::IAM, "DeleteRole")],
    }
}

impl EventRule for ApprovedRoleDeleted {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Draft>) {
        if cx.event.failed() {
            return;
        }
        let Some(name) = cx.role_name() else {
            return;
        };
        let account = cx.event.account().unwrap_or_default();
        for approval in &cx.baseline.approved_passes {
            let Some((head, approved_name)) = approval.role.rsplit_once('/') else {
                continue;
            };
            let account_fits = head
                .split(':')
                .nth(4)
                .is_some_and(|a| wildcard::matches(a, account, false));
            if wildcard::has_wildcard(approved_name)
                || !approved_name.eq_ignore_ascii_case(&name)
                || !account_fits
            {
                continue;
            }
            out.push(
                Draft::new(format!(
                    "role `{name}` was deleted but the baseline still approves `{}` for `{}`{}",
                    approval.role,
                    approval.service,
                    approval
                        .line
                        .map(|l| format!(" (line {l})"))
                        .unwrap_or_default()
                ))
                .resource(approval.role.clone())
                .evidence("approved_pass", approval),
            );
        }
    }
}
