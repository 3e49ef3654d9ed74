use super::{Context, Draft, EventRule};
use crate::policy::trust::{trusted_principals, PrincipalKind, SOURCE_GUARDS};

declare_rule! {
    /// ## What it does
    /// Flags a trust policy statement that lets a profiled service principal assume the role
    /// with no `aws:SourceAccount` or `aws:SourceArn` condition (`aws:SourceOrgID` and
    /// `aws:SourceOrgPaths` also count as a guard). Keys compare case-insensitively.
    ///
    /// ## Why it matters
    /// Without the guard, the service can be asked to assume the role on behalf of a bot or
    /// instance in another account: the confused-deputy problem AWS documents for service
    /// roles.
    ///
    /// ## Example
    /// ```json
    /// {"Effect": "Allow", "Principal": {"Service": "lexv2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    /// ```
    ///
    /// ## Fix
    /// Add `"Condition": {"StringEquals": {"aws:SourceAccount": "<your account id>"}}` (or an
    /// `ArnLike` `aws:SourceArn` naming your bots or instances).
    pub struct ServiceTrustWithoutSourceGuard {
        id: "TR002",
        severity: Low,
        summary: "a role trusting a profiled service principal has no aws:SourceAccount/aws:SourceArn guard",
        trigger: Listed,
        events: &[
            (super::IAM, "CreateRole"),
            (super::IAM, "UpdateAssumeRolePolicy"),
        ],
    }
}

impl EventRule for ServiceTrustWithoutSourceGuard {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Draft>) {
        if cx.event.failed() || cx.slr_target().is_some() {
            return;
        }
        let (Some(doc), Some(role)) = (cx.trust_policy(), cx.role_name()) else {
            return;
        };
        for p in trusted_principals(doc) {
            if p.kind != PrincipalKind::Service || p.source_guarded {
                continue;
            }
            let Some(profile) = cx.baseline.profile_for_principal(&p.value) else {
                continue;
            };
            out.push(
                Draft::new(format!(
                    "role `{role}` trusts `{}` ({}) without a source guard (statement {})",
                    p.value, profile.title, p.statement
                ))
                .resource(cx.role_arn(&role))
                .evidence("principal", &p)
                .evidence("expected_condition_keys", SOURCE_GUARDS),
            );
        }
    }
}
