use super::{Context, Draft, EventRule};

declare_rule! {
    /// ## What it does
    /// Records `CreateServiceLinkedRole` for a profiled service (`lex.amazonaws.com`,
    /// `lexv2.amazonaws.com`, `connect.amazonaws.com`...): an inventory entry at `info`.
    ///
    /// ## Why it matters
    /// Service-linked roles appear when someone first uses a feature. Knowing when and by
    /// whom they were created is what the orphan checks and audits start from.
    ///
    /// ## Example
    /// `CreateServiceLinkedRole` with `aWSServiceName` `lexv2.amazonaws.com`.
    ///
    /// ## Fix
    /// Nothing to fix. Disable with `rules.disabled = ["SL007"]` if not needed.
    pub struct ServiceLinkedRoleCreated {
        id: "SL007",
        severity: Info,
        summary: "CreateServiceLinkedRole for a profiled service (inventory)",
        trigger: Listed,
        events: &[(super::IAM, "CreateServiceLinkedRole")],
    }
}

impl EventRule for ServiceLinkedRoleCreated {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Draft>) {
        let Some(service) = cx.event.param_text("aWSServiceName") else {
            return;
        };
        let Some(profile) = cx.baseline.profile_for_principal(&service) else {
            return;
        };
        let role = cx.event.response_text("role.arn");
        out.push(
            Draft::new(format!(
                "service-linked role for {} ({service}) {}{}",
                profile.title,
                if cx.event.failed() {
                    "creation refused"
                } else {
                    "created"
                },
                role.as_deref()
                    .map(|r| format!(": `{r}`"))
                    .unwrap_or_default()
            ))
            .resource(role.clone().unwrap_or_else(|| service.clone()))
            .evidence("service", &service)
            .evidence("custom_suffix", cx.event.param_text("customSuffix"))
            .evidence("outcome", cx.outcome()),
        );
    }
}
