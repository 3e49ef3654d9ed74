use super::Draft;
use crate::baseline::Exception;
use crate::finding::Finding;

declare_rule! {
    /// ## What it does
    /// Reports a baseline exception that has passed its `expires` date when it meets a finding
    /// it would have suppressed. The finding itself is reported too: an expired exception
    /// suppresses nothing. `rolewarden baseline check` lists expired exceptions as warnings.
    ///
    /// ## Why it matters
    /// Exceptions are accepted risk with an owner and a deadline. Past the deadline the risk is
    /// no longer accepted, and the owner should decide again.
    ///
    /// ## Example
    /// An exception for PR001 on `arn:aws:iam::111122223333:user/legacy-deployer` with
    /// `expires = 2026-01-31`, and a later `PutUserPolicy` on that user.
    ///
    /// ## Fix
    /// Fix the underlying finding and delete the exception, or have its owner renew it with a
    /// new `expires` date and reason.
    pub struct ExpiredException {
        id: "RW001",
        severity: Low,
        summary: "an exception in the baseline has expired",
        trigger: Engine,
        events: &[],
    }
}

/// The RW001 draft for an expired exception that matched `finding`.
pub fn draft(exception: &Exception, finding: &Finding) -> Draft {
    Draft::new(format!(
        "exception for {} (owner {}{}) expired on {} and no longer suppresses finding {}",
        exception.rule,
        exception.owner,
        exception
            .line
            .map(|l| format!(", baseline line {l}"))
            .unwrap_or_default(),
        exception.expires.map(|d| d.to_string()).unwrap_or_default(),
        finding.id
    ))
    .resource(finding.resource.clone().unwrap_or_default())
    .evidence("exception", exception)
    .evidence("finding_id", &finding.id)
}
