use super::{Context, Draft, EventRule};
use crate::finding::Severity;

declare_rule! {
    /// ## What it does
    /// Flags any change to a service-linked role's permissions: `PutRolePolicy`,
    /// `DeleteRolePolicy`, `AttachRolePolicy`, `DetachRolePolicy`,
    /// `PutRolePermissionsBoundary`, `DeleteRolePermissionsBoundary` on a role named
    /// `AWSServiceRoleFor*`. Critical when the call succeeded, medium when AWS refused it
    /// (`UnmodifiableEntity`): the attempt is still a finding.
    ///
    /// ## Why it matters
    /// AWS defines a service-linked role's permissions and lets you edit only its description.
    /// A change that went through means the role is not what AWS ships (or is a look-alike);
    /// an attempt means someone is trying to widen what a service can do in the account.
    ///
    /// ## Example
    /// `AttachRolePolicy` of `arn:aws:iam::aws:policy/AdministratorAccess` to
    /// `AWSServiceRoleForLexBots`.
    ///
    /// ## Fix
    /// Undo the change (detach or delete the added policy); if the role is a look-alike, delete
    /// it and let the service recreate its real service-linked role. Find out who tried.
    pub struct ServiceLinkedRolePermissionsModified {
        id: "SL001",
        severity: Critical,
        summary: "an SLR's permissions are touched (critical if it succeeded, medium if refused)",
        trigger: Listed,
        events: &[
            (super::IAM, "PutRolePolicy"),
            (super::IAM, "DeleteRolePolicy"),
            (super::IAM, "AttachRolePolicy"),
            (super::IAM, "DetachRolePolicy"),
            (super::IAM, "PutRolePermissionsBoundary"),
            (super::IAM, "DeleteRolePermissionsBoundary"),
        ],
    }
}

impl EventRule for ServiceLinkedRolePermissionsModified {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Draft>) {
        let Some(target) = cx.slr_target() else {
            return;
        };
        let detail = cx
            .event
            .param_text("policyArn")
            .or_else(|| cx.event.param_text("policyName"))
            .or_else(|| cx.event.param_text("permissionsBoundary"));
        let draft = cx
            .slr_draft(&target, "permissions changed")
            .evidence("policy", &detail);
        out.push(if cx.event.failed() {
            draft.severity(Severity::Medium)
        } else {
            draft
        });
    }
}
