use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};

use super::{Draft, SweepContext, SweepRule};
use crate::state::SweptRole;

declare_rule! {
    /// ## What it does
    /// On the account sweep, flags a role whose trust policy lets a profiled service principal
    /// (`lex.amazonaws.com`, `lexv2.amazonaws.com`, `connect.amazonaws.com`...) assume it and
    /// that has not been used for `orphan_after_days` (90 by default): its `RoleLastUsed` date
    /// is older than that, or it was never used and was created longer ago than that. Only
    /// roles the sweep read with `GetRole` are judged (`ListRoles` does not return
    /// `RoleLastUsed`); the service's own service-linked roles are left to OR002.
    ///
    /// ## Why it matters
    /// A service role outlives the bot or instance it was made for. Nobody reviews it any more,
    /// yet it keeps its permissions and stays ready to be passed to a new bot, by anyone who
    /// may pass it, to read the buckets and logs it still reaches.
    ///
    /// ## Example
    /// `service-role/lex-logs-retired-bot`, trusting `lexv2.amazonaws.com`, last used on
    /// 2025-09-14, on a sweep of 2026-06-01.
    ///
    /// ## Fix
    /// Check that no bot or instance still uses the role (CloudTrail `AssumeRole` by the
    /// service), then delete it, or remove its approved passes from the baseline and keep it
    /// deliberately with an exception naming an owner.
    pub struct OrphanedServiceRole {
        id: "OR001",
        severity: Medium,
        summary: "a role trusting a profiled service principal is unused for orphan_after_days (or never used and older)",
        trigger: Sweep,
        events: &[],
    }
}

impl SweepRule for OrphanedServiceRole {
    fn check(&self, cx: &SweepContext<'_>, out: &mut Vec<Draft>) {
        let days = cx.baseline.orphan_after_days;
        // A threshold before chrono's range means nothing can be that old.
        let Some(threshold) =
            TimeDelta::try_days(i64::from(days)).and_then(|age| cx.now.checked_sub_signed(age))
        else {
            return;
        };
        for role in &cx.state.roles {
            // Without GetRole there is no RoleLastUsed: an unused role and a busy one look alike.
            if !role.detailed || role.is_profiled_slr(cx.baseline) {
                continue;
            }
            let services = role.profiled_services(cx.baseline);
            if services.is_empty() {
                continue;
            }
            let Some(idle) = idleness(role, threshold) else {
                continue;
            };
            let titles: Vec<String> = services
                .iter()
                .map(|p| {
                    let title = cx
                        .baseline
                        .profile_for_principal(&p.value)
                        .map_or("a service", |profile| profile.title.as_str());
                    format!("{title} (`{}`)", p.value)
                })
                .collect();
            let what = match idle {
                Idle::LastUsed(at) => format!(
                    "was last used on {} ({} days ago)",
                    at.date_naive(),
                    (cx.now - at).num_days()
                ),
                Idle::NeverUsed(created) => format!(
                    "has no recorded use since it was created on {} ({} days ago)",
                    created.date_naive(),
                    (cx.now - created).num_days()
                ),
            };
            out.push(
                Draft::new(format!(
                    "role `{}` trusts {} and {what}; `orphan_after_days` is {days}",
                    role.arn,
                    titles.join(", ")
                ))
                .resource(role.arn.clone())
                .evidence("service_principals", &services)
                .evidence("last_used", role.last_used.map(timestamp))
                .evidence("never_used", role.last_used.is_none())
                .evidence("created", role.create_date.map(timestamp))
                .evidence("orphan_after_days", days),
            );
        }
    }
}

enum Idle {
    LastUsed(DateTime<Utc>),
    NeverUsed(DateTime<Utc>),
}

/// How the role is idle past `threshold`, if it is. A never-used role without a creation date
/// has no age to judge, so it is not reported.
fn idleness(role: &SweptRole, threshold: DateTime<Utc>) -> Option<Idle> {
    match (role.last_used, role.create_date) {
        (Some(at), _) => (at < threshold).then_some(Idle::LastUsed(at)),
        (None, Some(created)) => (created < threshold).then_some(Idle::NeverUsed(created)),
        (None, None) => None,
    }
}

/// Evidence holds the account's own dates, never a count of days since: the same state must
/// give the same finding id on every daily sweep.
fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}
