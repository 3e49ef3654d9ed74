use super::{Context, Draft, EventRule};

declare_rule! {
    /// ## What it does
    /// Flags a policy write (`CreatePolicy`, `CreatePolicyVersion`, `PutRolePolicy`,
    /// `PutUserPolicy`, `PutGroupPolicy`) whose Allow statement grants `iam:PassRole` on every
    /// role of an account (or of every account) with no `iam:PassedToService` condition. The
    /// grant may come from `iam:PassRole`, `iam:Pass*`, `iam:*`, `*`, or a `NotAction` that
    /// does not exclude PassRole; a `NotResource` counts as every role.
    ///
    /// ## Why it matters
    /// Whoever holds the policy can hand any role, including administrator roles, to any
    /// service that accepts one (Lambda, EC2, Lex, Glue...) and then act with that role's
    /// permissions through the service: a classic privilege escalation path.
    ///
    /// ## Example
    /// ```json
    /// {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}
    /// ```
    ///
    /// ## Fix
    /// Name the roles in `Resource` and add a `Condition` with `StringEquals`
    /// `iam:PassedToService` for the one service that needs them.
    pub struct PassRoleOnAnyRole {
        id: "PR001",
        severity: High,
        summary: "an Allow grants iam:PassRole on every role with no iam:PassedToService condition",
        trigger: Listed,
        events: super::POLICY_WRITES,
    }
}

impl EventRule for PassRoleOnAnyRole {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Draft>) {
        // A refused policy write grants nothing.
        if cx.event.failed() {
            return;
        }
        for grant in cx.pass_role_grants() {
            if !grant.scope.is_every_role() || grant.passed_to_service.is_some() {
                continue;
            }
            out.push(
                Draft::new(format!(
                    "{} lets its holder pass any role to any service (statement {}{}: `{}` on `{}`)",
                    cx.policy_label(),
                    grant.statement,
                    grant.sid.as_deref().map(|s| format!(" `{s}`")).unwrap_or_default(),
                    grant.matched_action,
                    grant.resources.join(", "),
                ))
                .resource(cx.policy_holder().unwrap_or_default())
                .evidence("grant", grant),
            );
        }
    }
}
