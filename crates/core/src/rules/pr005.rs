use super::{Context, Draft, EventRule, PassedRole};
use crate::account::Lookup;
use crate::baseline::Approval;
use crate::policy::wildcard;

declare_rule! {
    /// ## What it does
    /// Flags a Lex or Connect call that hands the service a role (Lex V2 `CreateBot`/`UpdateBot`
    /// `roleArn`, Lex V1 `PutBotAlias` `conversationLogs.iamRoleArn`, or any `passes` entry of
    /// a profile) when no `approved_passes` entry of the baseline allows that role, for that
    /// service, for that bot, by that caller. The service's own service-linked role is
    /// approved by default. A refused call is reported too: the attempt is the evidence.
    ///
    /// ## Why it matters
    /// CloudTrail never logs `iam:PassRole` itself; the call that received the role is the only
    /// trace. A role the team did not approve for Lex may carry far more than logging rights,
    /// and the bot then acts with them.
    ///
    /// ## Example
    /// Lex V2 `CreateBot` with `"roleArn": "arn:aws:iam::111122223333:role/AdminRole"`.
    ///
    /// ## Fix
    /// Point the bot at the service-linked role or an approved, minimal role; if the role is
    /// right, add it to `approved_passes` in the baseline with the service and bot it is for.
    pub struct UnapprovedRolePassed {
        id: "PR005",
        severity: High,
        summary: "a Lex/Connect call passes a role that no approved pass allows",
        trigger: Passes,
        events: &[],
    }
}

impl EventRule for UnapprovedRolePassed {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Draft>) {
        // A PassRole denial is PR007's finding; reporting it twice would be noise.
        if super::pr007::names_pass_role_denial(cx) {
            return;
        }
        let actor = cx.event.identity.actor();
        for passed in cx.passed_roles() {
            if passed.is_own_slr() && cx.baseline.approve_service_linked_roles {
                continue;
            }
            let candidates: Vec<&Approval> = cx
                .baseline
                .approved_passes
                .iter()
                .filter(|a| wildcard::matches(&a.role, &passed.role_arn, false))
                .collect();
            let fitting = candidates.iter().find(|a| approves(a, passed, actor));
            if fitting.is_some() {
                continue;
            }
            let why = if candidates.is_empty() {
                "no approved pass names this role".to_owned()
            } else {
                candidates
                    .iter()
                    .map(|a| mismatch(a, passed, actor))
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            let mut draft = Draft::new(format!(
                "{} {} role `{}` to {} via `{}`: {why}",
                cx.event.name(),
                if cx.event.failed() {
                    "tried to pass"
                } else {
                    "passed"
                },
                passed.role_arn,
                passed.profile.title,
                passed.parameter
            ))
            .resource(passed.role_arn.clone())
            .evidence("passed_role", &passed.role_arn)
            .evidence("service", &passed.profile.principals)
            .evidence("parameter", &passed.parameter)
            .evidence("associated_resource", &passed.associated_resource)
            .evidence(
                "approvals_for_role",
                candidates.iter().map(|a| &a.role).collect::<Vec<_>>(),
            )
            .evidence("outcome", cx.outcome());
            // Whether PR006 could judge the role's privileges: a refused call passed nothing.
            if !cx.event.failed() && cx.baseline.is_enabled("PR006") {
                draft = draft.enrichment(match cx.view.role(passed.role_name()) {
                    Lookup::Found(_) => "role read from the account".to_owned(),
                    Lookup::Missing => "the role does not exist in the account".to_owned(),
                    Lookup::Unavailable(reason) => format!("unavailable ({reason})"),
                });
            }
            out.push(draft);
        }
    }
}

fn approves(a: &Approval, passed: &PassedRole<'_>, actor: Option<&str>) -> bool {
    passed.profile.trusts_principal(&a.service)
        && a.associated_resource.as_deref().is_none_or(|pattern| {
            passed
                .associated_resource
                .as_deref()
                .is_some_and(|r| wildcard::matches(pattern, r, false))
        })
        && a.principal
            .as_deref()
            .is_none_or(|pattern| actor.is_some_and(|who| wildcard::matches(pattern, who, false)))
}

fn mismatch(a: &Approval, passed: &PassedRole<'_>, actor: Option<&str>) -> String {
    if !passed.profile.trusts_principal(&a.service) {
        return format!("approved for `{}`, not {}", a.service, passed.profile.title);
    }
    if let Some(pattern) = &a.associated_resource {
        match &passed.associated_resource {
            None => {
                return format!("approved only for `{pattern}` and the event does not name the bot")
            }
            Some(r) if !wildcard::matches(pattern, r, false) => {
                return format!("approved only for `{pattern}`, not `{r}`")
            }
            Some(_) => {}
        }
    }
    match (&a.principal, actor) {
        (Some(pattern), Some(who)) => {
            format!("approved only when passed by `{pattern}`, not `{who}`")
        }
        (Some(pattern), None) => {
            format!("approved only when passed by `{pattern}`; caller unknown")
        }
        _ => "approval does not fit".into(),
    }
}
