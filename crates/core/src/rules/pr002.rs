use super::{Context, Draft, EventRule};

declare_rule! {
    /// ## What it does
    /// Flags a policy write that grants `iam:PassRole` on named roles, a name pattern or a
    /// path (`role/service-role/*`) without an `iam:PassedToService` condition.
    ///
    /// ## Why it matters
    /// The roles are limited, but not the services they can be handed to: a role built for
    /// Lex conversation logs can be passed to Lambda or EC2 and used from there.
    ///
    /// ## Example
    /// ```json
    /// {"Effect": "Allow", "Action": "iam:PassRole",
    ///  "Resource": "arn:aws:iam::111122223333:role/app-role"}
    /// ```
    ///
    /// ## Fix
    /// Add `"Condition": {"StringEquals": {"iam:PassedToService": "<service principal>"}}`
    /// naming the service the role is meant for.
    pub struct PassRoleWithoutServiceCondition {
        id: "PR002",
        severity: Medium,
        summary: "an Allow grants iam:PassRole on named roles with no iam:PassedToService condition",
        trigger: Listed,
        events: super::POLICY_WRITES,
    }
}

impl EventRule for PassRoleWithoutServiceCondition {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Draft>) {
        if cx.event.failed() {
            return;
        }
        for grant in cx.pass_role_grants() {
            if grant.scope.is_every_role() || grant.passed_to_service.is_some() {
                continue;
            }
            out.push(
                Draft::new(format!(
                    "{} lets its holder pass `{}` to any service (statement {}: no iam:PassedToService condition)",
                    cx.policy_label(),
                    grant.resources.join(", "),
                    grant.statement,
                ))
                .resource(cx.policy_holder().unwrap_or_default())
                .evidence("grant", grant),
            );
        }
    }
}
