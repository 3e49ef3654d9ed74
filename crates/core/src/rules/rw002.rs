use super::{Draft, SweepContext, SweepRule};
use crate::state::Gap;

declare_rule! {
    /// ## What it does
    /// Reports an account sweep that could not read everything it needed: a listing that
    /// failed or was not made (`iam:ListRoles`, `GetRole` of a candidate, Lex bots or Connect
    /// instances in a region), or a sweep that ran out of time. One finding per sweep lists
    /// every gap with its reason; the rules that needed the missing part stayed silent.
    ///
    /// ## Why it matters
    /// The sweep's findings are about absences (a role nobody uses, a service-linked role with
    /// no bot left). A listing that failed looks exactly like an empty one; staying silent on
    /// it would turn a permission error or throttling into a clean bill of health.
    ///
    /// ## Example
    /// `lex-v2-bots in eu-west-2` unread because `lex:ListBots` was denied to the sweep's role,
    /// and `iam:GetRole lex-logs-support-bot` unread because the time budget ran out.
    ///
    /// ## Fix
    /// Give the sweep's role the missing read permissions (see the reason of each gap), raise
    /// the function's timeout if the budget ran out, or remove regions where the service is not
    /// offered from the baseline's `regions`; the next sweep then covers the account.
    pub struct SweepIncomplete {
        id: "RW002",
        severity: Low,
        summary: "the account sweep could not read everything: one finding lists every gap",
        trigger: Sweep,
        events: &[],
    }
}

impl SweepRule for SweepIncomplete {
    fn check(&self, cx: &SweepContext<'_>, out: &mut Vec<Draft>) {
        let mut gaps: Vec<&Gap> = cx.state.gaps.iter().collect();
        if gaps.is_empty() {
            return;
        }
        gaps.sort_by(|a, b| {
            (&a.what, &a.reason, &a.profile).cmp(&(&b.what, &b.reason, &b.profile))
        });
        gaps.dedup();
        let listed: Vec<String> = gaps
            .iter()
            .map(|g| format!("`{}` ({})", g.what, g.reason))
            .collect();
        // The reasons (error texts, counts) go in the message only: evidence, and so the
        // finding id, stays the same from one sweep to the next while the same parts fail.
        let mut parts: Vec<&str> = gaps.iter().map(|g| g.what.as_str()).collect();
        parts.dedup();
        out.push(
            Draft::new(format!(
                "account sweep incomplete, and the rules that needed what is missing stayed silent: {}",
                listed.join("; ")
            ))
            .evidence("unread", &parts),
        );
    }
}
