use super::{Context, Draft, EventRule};

declare_rule! {
    /// ## What it does
    /// Flags a policy write whose Allow statement effectively limits `iam:PassRole` to a few
    /// services, a Lex service principal among them, but not to the bots or aliases the role is
    /// for: the role can be passed to Lex with no `iam:AssociatedResourceARN`, or with one in an
    /// account the policy does not name. An `iam:AssociatedResourceARN` condition counts only
    /// if its values tie the role to the policy's own bots: `ArnLike` `arn:aws:lex:*` or
    /// `arn:aws:lex:*:*:bot-alias/*` does not, nor does an `IfExists` or `ForAllValues:` form,
    /// which holds when the service sends no such key. The services may be limited by the
    /// statement's `iam:PassedToService` condition or by a Deny on every other service.
    ///
    /// ## Why it matters
    /// The Lex guide for conversation logs recommends both keys. Without the resource key,
    /// anyone holding the policy can attach the logging role, and the CloudWatch Logs and S3
    /// destinations it can write to, to any bot in the account.
    ///
    /// ## Example
    /// ```json
    /// {"Effect": "Allow", "Action": "iam:PassRole",
    ///  "Resource": "arn:aws:iam::111122223333:role/lex-logs",
    ///  "Condition": {"StringEquals": {"iam:PassedToService": "lex.amazonaws.com"}}}
    /// ```
    ///
    /// ## Fix
    /// Add `"StringLike": {"iam:AssociatedResourceARN": "arn:aws:lex:REGION:ACCOUNT:bot:BOT:ALIAS"}`
    /// (Lex V1) or the bot ARN (Lex V2) to the statement's condition.
    pub struct LexPassRoleWithoutAssociatedResource {
        id: "PR003",
        severity: Low,
        summary: "PassRole limited to a Lex service but not to bots/aliases (no effective iam:AssociatedResourceARN)",
        trigger: Listed,
        events: super::POLICY_WRITES,
    }
}

const LEX_SOURCE: &str = "lex.amazonaws.com";

impl EventRule for LexPassRoleWithoutAssociatedResource {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Draft>) {
        if cx.event.failed() {
            return;
        }
        let lex_principals: Vec<&str> = cx
            .baseline
            .profiles
            .iter()
            .filter(|p| p.event_source.eq_ignore_ascii_case(LEX_SOURCE))
            .flat_map(|p| p.principals.iter().map(String::as_str))
            .collect();
        for grant in cx.pass_role_grants() {
            // A grant open to any service is PR001's or PR002's.
            if grant.reach.any_service {
                continue;
            }
            let lex: Vec<&str> = grant
                .reach
                .services
                .iter()
                .filter(|s| s.any_resource && lex_principals.contains(&s.principal.as_str()))
                .map(|s| s.principal.as_str())
                .collect();
            if lex.is_empty() {
                continue;
            }
            let why = if grant.reach.resource_condition {
                "its iam:AssociatedResourceARN condition does not tie the role to the policy's bots"
            } else {
                "no iam:AssociatedResourceARN condition"
            };
            out.push(
                Draft::new(format!(
                    "{} lets its holder pass `{}` to {} for any bot (statement {}: {why})",
                    cx.policy_label(),
                    grant.role_text(),
                    lex.join(", "),
                    grant.statement,
                ))
                .resource(cx.policy_holder().unwrap_or_default())
                .evidence("grant", grant),
            );
        }
    }
}
