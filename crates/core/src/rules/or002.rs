use chrono::NaiveDate;

use super::{Draft, SweepContext, SweepRule};
use crate::baseline::{DependentKind, Profile};
use crate::state::{slr_in_use, SweptRole};

declare_rule! {
    /// ## What it does
    /// On the account sweep, flags a profiled service-linked role that nothing uses any more,
    /// judged from the profile's `dependents` listing in every region the sweep covers. For
    /// Amazon Lex (V2 `ListBots`, V1 `GetBots`) any bot keeps all of the service's
    /// service-linked roles in use, so the rule fires when no bot is left. An Amazon Connect
    /// instance names its own service-linked role (`ServiceRole`), so the rule fires when no
    /// instance names this one. When a listing is missing or failed the rule stays silent and
    /// RW002 reports the gap. For a service past its `end_of_support` (Amazon Lex V1 since
    /// 2025-09-15) nothing is listed: none of its resources can exist any more, so every
    /// service-linked role of it is left over, and the finding says so and why. A baseline that
    /// sets `list_retired = ["lex-v1"]` gets the listing, and the verdict from it, back.
    ///
    /// ## Why it matters
    /// AWS recommends deleting a service-linked role you no longer need, so that you do not keep
    /// "an unused entity that is not actively monitored or maintained". Lex lets you delete its
    /// roles only after its bots and channels are gone; the role left behind still grants the
    /// service access to the account.
    ///
    /// ## Example
    /// `AWSServiceRoleForLexV2Bots_ABCDEFGHIJ` after the last Lex V2 bot in `us-east-1` and
    /// `eu-west-2` was deleted, `AWSServiceRoleForAmazonConnect_7Hq2nLzXbR` when the only
    /// Connect instance names `AWSServiceRoleForAmazonConnect_Kq81cTzWpE`, or
    /// `AWSServiceRoleForLexBots` after Amazon Lex V1's end of support.
    ///
    /// ## Fix
    /// Confirm that the service is no longer used in any region (including regions the sweep
    /// does not list), then delete the role with `DeleteServiceLinkedRole`; the service creates
    /// it again when it is next used.
    pub struct ServiceLinkedRoleWithoutDependents {
        id: "OR002",
        severity: Low,
        summary: "a profiled SLR exists while no bot (Lex) or instance naming it (Connect) is left in the swept regions",
        trigger: Sweep,
        events: &[],
    }
}

impl SweepRule for ServiceLinkedRoleWithoutDependents {
    fn check(&self, cx: &SweepContext<'_>, out: &mut Vec<Draft>) {
        let mut regions: Vec<&str> = cx.state.regions.iter().map(String::as_str).collect();
        regions.sort_unstable();
        regions.dedup();
        let swept = if regions.is_empty() {
            "the swept regions".to_owned()
        } else {
            regions.join(", ")
        };
        for (role, profile) in cx.service_linked_roles() {
            let Some(spec) = &profile.dependents else {
                if let Some(day) = profile.retired_on(cx.now.date_naive()) {
                    out.push(left_over(role, profile, day));
                }
                continue;
            };
            let Some(dependents) = cx.dependents(profile) else {
                continue;
            };
            let noun = noun(spec.kind);
            if slr_in_use(spec.kind, &role.arn, dependents.iter().copied()) {
                continue;
            }
            let what = if dependents.is_empty() {
                format!("no {noun} is left in {swept}")
            } else {
                format!(
                    "no {noun} in {swept} names it as its service role ({} listed)",
                    dependents.len()
                )
            };
            let message = format!(
                "service-linked role `{}` of {}: {what}",
                role.name, profile.title
            );
            // The regions and the other resources listed stay out of the evidence: a re-check
            // after a delete event may list other regions than the schedule, and the same
            // orphaned role must keep the same finding id.
            out.push(
                Draft::new(message)
                    .resource(role.arn.clone())
                    .evidence("role_name", &role.name)
                    .evidence("service", &profile.title)
                    .evidence("dependent_kind", spec.kind),
            );
        }
    }
}

/// A service-linked role of a service AWS no longer supports: nothing of the service can use it.
fn left_over(role: &SweptRole, profile: &Profile, day: NaiveDate) -> Draft {
    Draft::new(format!(
        "service-linked role `{}` of {}: {} reached its end of support on {day}, so none of its resources can exist any more and the role is left over",
        role.name, profile.title, profile.title
    ))
    .resource(role.arn.clone())
    .evidence("role_name", &role.name)
    .evidence("service", &profile.title)
    .evidence("end_of_support", day.to_string())
}

fn noun(kind: DependentKind) -> &'static str {
    match kind {
        DependentKind::LexV2Bots => "Lex V2 bot",
        DependentKind::LexV1Bots => "Lex V1 bot",
        DependentKind::ConnectInstances => "Connect instance",
    }
}
