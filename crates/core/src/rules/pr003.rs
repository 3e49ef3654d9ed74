use super::{Context, Draft, EventRule};
use crate::policy::wildcard;

declare_rule! {
    /// ## What it does
    /// Flags a policy write that limits `iam:PassRole` to a Lex service principal
    /// (`iam:PassedToService`) but not to the bots or aliases the role is for
    /// (`iam:AssociatedResourceARN`).
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
        summary: "PassRole limited to a Lex service but not to bots/aliases (no iam:AssociatedResourceARN)",
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
            let Some(services) = &grant.passed_to_service else {
                continue;
            };
            let lex: Vec<&str> = lex_principals
                .iter()
                .copied()
                .filter(|p| services.iter().any(|s| wildcard::matches(s, p, true)))
                .collect();
            if lex.is_empty() || grant.associated_resource.is_some() {
                continue;
            }
            out.push(
                Draft::new(format!(
                    "{} lets its holder pass `{}` to {} for any bot (statement {}: no iam:AssociatedResourceARN condition)",
                    cx.policy_label(),
                    grant.resources.join(", "),
                    lex.join(", "),
                    grant.statement,
                ))
                .resource(cx.policy_holder().unwrap_or_default())
                .evidence("grant", grant),
            );
        }
    }
}
