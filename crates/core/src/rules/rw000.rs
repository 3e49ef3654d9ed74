use super::{Context, Draft, EventRule};

declare_rule! {
    /// ## What it does
    /// Records a watched event, or an input, that could not be decoded: a policy document
    /// that is not JSON or has the wrong type, a statement rolewarden cannot read, a record
    /// that is not valid JSON, a succeeded call whose event carries no request parameters at
    /// all (`null` or `{}`, whatever the call). The rest of the event is still evaluated; one
    /// broken input is one finding.
    ///
    /// ## Why it matters
    /// A decoder that drops what it cannot read is a blind spot an attacker can aim for. Every
    /// undecodable input is kept as a finding so it is seen, and never retried forever.
    ///
    /// ## Example
    /// `PutRolePolicy` whose `policyDocument` is the number `42`, or a truncated JSON string.
    ///
    /// ## Fix
    /// Look at the raw event in CloudTrail. If AWS accepted the call, report the event shape
    /// to the rolewarden project so the decoder learns it.
    pub struct UndecodableEvent {
        id: "RW000",
        severity: Low,
        summary: "a watched event could not be decoded: recorded, never dropped",
        trigger: AnyWatched,
        events: &[],
    }
}

impl EventRule for UndecodableEvent {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Draft>) {
        for failure in cx.decode_failures() {
            out.push(
                Draft::new(format!(
                    "{} could not be fully decoded: `{}`: {}",
                    cx.event.name(),
                    failure.field,
                    failure.reason
                ))
                .resource(
                    cx.policy_holder()
                        .or_else(|| cx.role_name())
                        .unwrap_or_default(),
                )
                .evidence("field", &failure.field)
                .evidence("reason", &failure.reason),
            );
        }
    }
}
