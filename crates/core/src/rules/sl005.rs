use super::{Context, Draft, EventRule};
use crate::account::{Lookup, Needs};
use crate::finding::Severity;
use crate::state::slr_in_use;

declare_rule! {
    /// ## What it does
    /// Flags `DeleteServiceLinkedRole` for a service-linked role of a profiled service (Lex,
    /// Connect). With enrichment (the Lambda, `--enrich`) it lists the service's dependent
    /// resources in the baseline's regions, the same listing as the account sweep: if a bot (or,
    /// for Connect, an instance naming this role) is still there, the finding is high;
    /// otherwise it stays medium, and without enrichment it says the dependents were not checked.
    ///
    /// ## Why it matters
    /// AWS lets you delete a service-linked role "only after first deleting its related
    /// resources": while a bot or instance still depends on it, the deletion task fails. A
    /// request made anyway is an attempt to pull the service's permissions from under live
    /// resources (or a cleanup done in the wrong order), hence high. After the last resource
    /// it is housekeeping, but should still be deliberate.
    ///
    /// ## Example
    /// `DeleteServiceLinkedRole` with `roleName` `AWSServiceRoleForLexV2Bots_ABC` while bot
    /// `OrderFlowers` still exists in `us-east-1`.
    ///
    /// ## Fix
    /// Check that no bot or instance still uses the role; if one does, recreate the role with
    /// `CreateServiceLinkedRole` for the service.
    pub struct ServiceLinkedRoleDeleted {
        id: "SL005",
        severity: Medium,
        summary: "DeleteServiceLinkedRole for a profiled SLR (high while bots or instances still depend on it)",
        trigger: Listed,
        events: &[(super::IAM, "DeleteServiceLinkedRole")],
    }
}

impl EventRule for ServiceLinkedRoleDeleted {
    /// The dependents of the deleted role's service, to tell whether any still uses it.
    fn needs(&self, cx: &Context<'_>, needs: &mut Needs) {
        if let Some(profile) = cx
            .slr_target()
            .and_then(|t| t.profile)
            .filter(|p| p.dependents.is_some())
        {
            needs.dependents.insert(profile.name.clone());
        }
    }

    fn check(&self, cx: &Context<'_>, out: &mut Vec<Draft>) {
        let Some(target) = cx.slr_target() else {
            return;
        };
        let Some(profile) = target.profile else {
            return;
        };
        let draft = cx
            .slr_draft(&target, "deletion requested")
            .evidence("deletion_task_id", cx.event.response_text("deletionTaskId"));
        let Some(spec) = &profile.dependents else {
            let note = match cx.event.time().and_then(event_day).and_then(|d| profile.retired_on(d)) {
                Some(day) => format!(
                    "{} reached its end of support on {day}: none of its resources can depend on the role",
                    profile.title
                ),
                None => "the profile names no dependent resources to check".to_owned(),
            };
            out.push(draft.enrichment(note));
            return;
        };
        let draft = match cx.view.dependents(&profile.name) {
            Lookup::Found(dependents) => {
                let in_use = slr_in_use(spec.kind, &target.arn, &dependents);
                let names: Vec<&str> = dependents
                    .iter()
                    .filter(|d| {
                        !spec.kind.names_its_role() || slr_in_use(spec.kind, &target.arn, [*d])
                    })
                    .map(|d| d.arn.as_str())
                    .collect();
                let mut draft = draft
                    .evidence("dependents_left", &names)
                    .enrichment(format!("{} listed", spec.kind.as_str()));
                if in_use {
                    draft.message.push_str(&format!(
                        " while {} resource(s) still depend on it",
                        names.len()
                    ));
                    draft = draft.severity(Severity::High);
                }
                draft
            }
            Lookup::Missing => draft.enrichment(format!("{} listed", spec.kind.as_str())),
            Lookup::Unavailable(reason) => draft.enrichment(format!("unavailable ({reason})")),
        };
        out.push(draft);
    }
}

/// The day of an event's `eventTime` (`2024-05-07T13:38:35Z`).
fn event_day(time: &str) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(time.get(..10)?, "%Y-%m-%d").ok()
}
