use super::{Context, Draft, Rule, RuleMeta};

declare_rule! {
    /// ## What it does
    /// Flags `DeleteServiceLinkedRole` for a service-linked role of a profiled service (Lex,
    /// Connect). The event alone cannot tell whether bots or instances still depend on the
    /// role; the finding says so, and the account sweep reports what is left.
    ///
    /// ## Why it matters
    /// Deleting the role while resources still use it breaks them (bots stop speaking,
    /// instances lose recordings); deleting it after the last resource is housekeeping, but
    /// should still be deliberate.
    ///
    /// ## Example
    /// `DeleteServiceLinkedRole` with `roleName` `AWSServiceRoleForLexV2Bots_ABC`.
    ///
    /// ## Fix
    /// Check that no bot or instance still uses the role; if one does, recreate the role with
    /// `CreateServiceLinkedRole` for the service.
    pub struct ServiceLinkedRoleDeleted {
        id: "SL005",
        severity: Medium,
        summary: "DeleteServiceLinkedRole for a profiled SLR",
        trigger: Listed,
        events: &[(super::IAM, "DeleteServiceLinkedRole")],
    }
}

impl Rule for ServiceLinkedRoleDeleted {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, out: &mut Vec<Draft>) {
        let Some(target) = cx.slr_target() else {
            return;
        };
        if target.profile.is_none() {
            return;
        }
        out.push(
            cx.slr_draft(&target, "deletion requested")
                .evidence("deletion_task_id", cx.event.response_text("deletionTaskId"))
                .enrichment("dependent resources not checked from the event; the account sweep reports bots and instances left"),
        );
    }
}
