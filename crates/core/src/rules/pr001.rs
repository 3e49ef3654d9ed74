use super::{Context, Draft, EventRule};

declare_rule! {
    /// ## What it does
    /// Flags a policy write (`CreatePolicy`, `CreatePolicyVersion`, `PutRolePolicy`,
    /// `PutUserPolicy`, `PutGroupPolicy`) whose Allow statement effectively lets its holder
    /// pass any role (every role of an account, or of every account) to any service. The grant
    /// may come from `iam:PassRole`, `iam:Pass*`, `iam:*`, `*`, or a `NotAction` that does not
    /// exclude PassRole; a `NotResource` counts as every role.
    ///
    /// The whole document is judged, as IAM evaluates it. An `iam:PassedToService` condition
    /// limits the services only if its values do: `StringLike` `*` or `*.amazonaws.com`, a
    /// negated operator, `Null` `false`, and an `IfExists` or `ForAllValues:` form (the key is
    /// always present for PassRole) let every service through, and the finding's notes say so.
    /// A Deny statement narrows the grant where it certainly applies: one that keeps only some
    /// roles turns the finding into PR002, one that denies every other service silences it. A
    /// Deny that depends on what the policy does not say (the caller's IP or tags, a policy
    /// variable) narrows nothing, and the notes say that too.
    ///
    /// ## Why it matters
    /// Whoever holds the policy can hand any role, including administrator roles, to any
    /// service that accepts one (Lambda, EC2, Lex, Glue...) and then act with that role's
    /// permissions through the service: a classic privilege escalation path.
    ///
    /// ## Example
    /// ```json
    /// {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*",
    ///  "Condition": {"StringLike": {"iam:PassedToService": "*.amazonaws.com"}}}
    /// ```
    ///
    /// ## Fix
    /// Name the roles in `Resource` and add a `Condition` with `StringEquals`
    /// `iam:PassedToService` for the one service that needs them.
    pub struct PassRoleOnAnyRole {
        id: "PR001",
        severity: High,
        summary: "an Allow effectively grants iam:PassRole on every role to any service",
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
            if !grant.every_role_to_any_service() {
                continue;
            }
            let mut why = String::new();
            if grant.reach.service_condition {
                why.push_str("; its iam:PassedToService condition lets every service through");
            }
            if !grant.except_roles.is_empty() {
                // The evidence lists them all; the message names a few.
                let mut except: Vec<String> = grant
                    .except_roles
                    .iter()
                    .take(3)
                    .map(|r| format!("`{r}`"))
                    .collect();
                if grant.except_roles.len() > 3 {
                    except.push(format!("{} more", grant.except_roles.len() - 3));
                }
                why.push_str(&format!("; a Deny takes out only {}", except.join(", ")));
            }
            out.push(
                Draft::new(format!(
                    "{} lets its holder pass any role to any service (statement {}{}: `{}` on `{}`{why})",
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
