use serde::Serialize;

use super::{Context, Draft, EventRule};
use crate::account::{Lookup, Needs, RoleFacts};
use crate::baseline::Profile;
use crate::policy::{wildcard, Polarity, Statement};

declare_rule! {
    /// ## What it does
    /// For a role passed to a Lex/Connect service (see PR005), reads the role's inline and
    /// attached policies from the account and flags every allowed action or resource beyond
    /// the service profile's `role_permissions` (for Lex conversation logs:
    /// `logs:CreateLogStream`/`logs:PutLogEvents` on a log group, `s3:PutObject` on `bucket/*`,
    /// KMS data keys). Needs enrichment; without it the rule stays silent.
    ///
    /// ## Why it matters
    /// The service acts with everything the role holds. A logging role with `s3:*` on `*` or
    /// `iam:*` turns a chatbot into a path to your data and your IAM.
    ///
    /// ## Example
    /// A role passed in `CreateBot` whose inline policy allows `"Action": "s3:*", "Resource": "*"`.
    ///
    /// ## Fix
    /// Reduce the role's policies to the actions and resources the profile lists, or use a
    /// dedicated role for the bot.
    pub struct PassedRoleOverPrivileged {
        id: "PR006",
        severity: Medium,
        summary: "the passed role holds more than its service profile allows (needs enrichment)",
        trigger: Passes,
        events: &[],
    }
}

/// One permission the role holds beyond its profile.
#[derive(Debug, Serialize)]
struct Excess {
    policy: String,
    statement: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
    actions: Vec<String>,
    resources: Vec<String>,
}

impl EventRule for PassedRoleOverPrivileged {
    /// The passed roles (not the service's own service-linked role), to read their policies.
    fn needs(&self, cx: &Context<'_>, needs: &mut Needs) {
        for passed in cx.passed_roles().iter().filter(|p| !p.is_own_slr()) {
            needs.roles.insert(passed.role_name().to_owned());
        }
    }

    fn check(&self, cx: &Context<'_>, out: &mut Vec<Draft>) {
        for passed in cx.passed_roles() {
            if passed.is_own_slr() {
                continue;
            }
            let Lookup::Found(facts) = cx.view.role(passed.role_name()) else {
                continue;
            };
            let excess = excess_permissions(&facts, passed.profile);
            if excess.is_empty() {
                continue;
            }
            let actions: Vec<&str> = excess
                .iter()
                .flat_map(|e| e.actions.iter().map(String::as_str))
                .collect();
            out.push(
                Draft::new(format!(
                    "role `{}` passed to {} holds more than the service needs: {}",
                    passed.role_arn,
                    passed.profile.title,
                    actions.join(", ")
                ))
                .resource(passed.role_arn.clone())
                .evidence("passed_role", &passed.role_arn)
                .evidence("excess", &excess)
                .evidence("profile", &passed.profile.name)
                .enrichment("role policies read from the account"),
            );
        }
    }
}

fn excess_permissions(facts: &RoleFacts, profile: &Profile) -> Vec<Excess> {
    let mut out = Vec::new();
    for policy in facts.inline_policies.iter().chain(&facts.attached_policies) {
        for s in policy.document.statements.iter().filter(|s| s.is_allow()) {
            let (actions, resources) = statement_excess(s, profile);
            if !actions.is_empty() {
                out.push(Excess {
                    policy: policy.name.clone(),
                    statement: s.index,
                    sid: s.sid.as_deref().map(str::to_owned),
                    actions,
                    resources,
                });
            }
        }
    }
    out
}

/// Actions of the statement that no permission spec covers together with all its resources.
/// A pattern is covered when a spec pattern matches its literal text (`logs:*` covers
/// `logs:Put*`), which reads containment of one glob in another conservatively.
fn statement_excess(s: &Statement, profile: &Profile) -> (Vec<String>, Vec<String>) {
    let resources = match &s.resources {
        Some((Polarity::Is, r)) => r.iter().map(|r| r.to_string()).collect(),
        Some((Polarity::Not, r)) => vec![format!("NotResource {}", r.join(", "))],
        None => vec!["*".into()],
    };
    let actions = match &s.actions {
        Some((Polarity::Is, a)) => a.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
        Some((Polarity::Not, a)) => {
            return (vec![format!("NotAction {}", a.join(", "))], resources)
        }
        None => return (Vec::new(), resources),
    };
    let excess: Vec<String> = actions
        .into_iter()
        .filter(|action| {
            !profile.role_permissions.iter().any(|spec| {
                spec.actions
                    .iter()
                    .any(|allowed| wildcard::matches(allowed, action, true))
                    && resources.iter().all(|r| {
                        spec.resources
                            .iter()
                            .any(|allowed| wildcard::matches(allowed, r, false))
                    })
            })
        })
        .collect();
    (excess, resources)
}
