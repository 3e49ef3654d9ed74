use super::{Context, Draft, EventRule};

declare_rule! {
    /// ## What it does
    /// Records a change of a service-linked role's description (`UpdateRoleDescription`, or
    /// `UpdateRole` with `description`). AWS allows it; this is an audit trail at `info`.
    ///
    /// ## Why it matters
    /// The description is the only thing you may edit on a service-linked role, so it is also
    /// where a look-alike or a confused operator shows up first. Keeping the record costs
    /// nothing; disable the rule in the baseline if you do not want it.
    ///
    /// ## Example
    /// `UpdateRoleDescription` on `AWSServiceRoleForLexV2Bots_ABC` with a new description.
    ///
    /// ## Fix
    /// Nothing to fix. Disable with `rules.disabled = ["SL004"]` if not needed.
    pub struct ServiceLinkedRoleDescriptionChanged {
        id: "SL004",
        severity: Info,
        summary: "an SLR's description changes (allowed by AWS; recorded for audit)",
        trigger: Listed,
        events: &[
            (super::IAM, "UpdateRoleDescription"),
            (super::IAM, "UpdateRole"),
        ],
    }
}

impl EventRule for ServiceLinkedRoleDescriptionChanged {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Draft>) {
        let Some(target) = cx.slr_target() else {
            return;
        };
        let Some(description) = cx.event.param("description") else {
            return;
        };
        out.push(
            cx.slr_draft(&target, "description changed")
                .evidence("description", description),
        );
    }
}
