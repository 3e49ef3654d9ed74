use super::{Context, Draft, EventRule};
use crate::finding::Severity;

declare_rule! {
    /// ## What it does
    /// Flags `DeleteRole` (rather than `DeleteServiceLinkedRole`) on a role named like a
    /// service-linked role. IAM refuses it on a real service-linked role
    /// (`UnmodifiableEntity`): the attempt is reported at medium. When the call succeeded, the
    /// role was not a real service-linked role (only a look-alike outside `/aws-service-role/`
    /// can be deleted that way), and the finding is low: the record that a look-alike existed.
    ///
    /// ## Why it matters
    /// `DeleteServiceLinkedRole` is the only way to delete a service-linked role, and it checks
    /// that no resource of the service still depends on the role. Calling `DeleteRole` instead
    /// is either someone testing what IAM lets them do to an AWS-managed role, or a cleanup
    /// script that does not know the difference; SL005 never sees it, because it watches the
    /// right API.
    ///
    /// ## Example
    /// `DeleteRole` with `roleName` `AWSServiceRoleForLexV2Bots_ABC`, refused with
    /// `UnmodifiableEntity`.
    ///
    /// ## Fix
    /// Find out who tried and why. To retire a service-linked role, delete the service's
    /// resources first, then call `DeleteServiceLinkedRole`. If the call succeeded, check how
    /// the look-alike came to exist (SL006) and whether anything still referred to it.
    pub struct ServiceLinkedRoleDeleteRoleAttempt {
        id: "SL009",
        severity: Medium,
        summary: "DeleteRole on an SLR name (refused on a real SLR: an attempt; succeeded: it was a look-alike)",
        trigger: Listed,
        events: &[(super::IAM, "DeleteRole")],
    }
}

impl EventRule for ServiceLinkedRoleDeleteRoleAttempt {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Draft>) {
        let Some(target) = cx.slr_target() else {
            return;
        };
        if cx.event.failed() {
            out.push(cx.slr_draft(
                &target,
                "deletion outside DeleteServiceLinkedRole attempted",
            ));
        } else {
            let mut draft = cx
                .slr_draft(&target, "deleted outside DeleteServiceLinkedRole")
                .severity(Severity::Low);
            draft.message.push_str(
                ": only a look-alike can be deleted this way, so it was not the real one",
            );
            out.push(draft);
        }
    }
}
