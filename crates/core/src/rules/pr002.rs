use super::{Context, Draft, EventRule};

declare_rule! {
    /// ## What it does
    /// Flags a policy write whose Allow statement effectively lets its holder pass named roles,
    /// a name pattern or a path (`role/service-role/*`) to any service: there is no
    /// `iam:PassedToService` condition, or one that every service meets (read as in PR001).
    /// The roles are the ones the grant reaches once the document's Deny statements are taken
    /// away: `Resource: "*"` with a Deny on every role but `role/lex-*` is reported here, for
    /// `role/lex-*`, not as PR001.
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
        summary: "an Allow effectively grants iam:PassRole on named roles to any service",
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
            if !grant.reach.any_service || grant.reach.every_role {
                continue;
            }
            let mut why = if grant.reach.service_condition {
                "its iam:PassedToService condition lets every service through".to_owned()
            } else {
                "no iam:PassedToService condition".to_owned()
            };
            if grant.effective_roles.is_some() {
                why.push_str("; a Deny keeps it to these roles");
            }
            out.push(
                Draft::new(format!(
                    "{} lets its holder pass `{}` to any service (statement {}: {why})",
                    cx.policy_label(),
                    grant.role_text(),
                    grant.statement,
                ))
                .resource(cx.policy_holder().unwrap_or_default())
                .evidence("grant", grant),
            );
        }
    }
}
