use super::{Context, Draft, EventRule};
use crate::finding::Severity;

declare_rule! {
    /// ## What it does
    /// Flags `UpdateAssumeRolePolicy` on a service-linked role: critical when it succeeded,
    /// medium when refused.
    ///
    /// ## Why it matters
    /// The trust policy decides who can assume the role. AWS owns it for service-linked roles;
    /// adding a principal would let someone act with the service's permissions.
    ///
    /// ## Example
    /// `UpdateAssumeRolePolicy` on `AWSServiceRoleForLexBots` adding
    /// `{"AWS": "arn:aws:iam::444455556666:root"}`.
    ///
    /// ## Fix
    /// Restore the trust policy the service defines (recreate the service-linked role if
    /// needed) and investigate the caller.
    pub struct ServiceLinkedRoleTrustModified {
        id: "SL002",
        severity: Critical,
        summary: "UpdateAssumeRolePolicy on an SLR (critical if it succeeded, medium if refused)",
        trigger: Listed,
        events: &[(super::IAM, "UpdateAssumeRolePolicy")],
    }
}

impl EventRule for ServiceLinkedRoleTrustModified {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Draft>) {
        let Some(target) = cx.slr_target() else {
            return;
        };
        let draft = cx.slr_draft(&target, "trust policy changed");
        out.push(if cx.event.failed() {
            draft.severity(Severity::Medium)
        } else {
            draft
        });
    }
}
