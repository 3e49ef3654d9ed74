//! The finding: rolewarden's public output contract (documented in the README).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity `{0}` (expected info, low, medium, high or critical)")]
pub struct UnknownSeverity(pub String);

impl FromStr for Severity {
    type Err = UnknownSeverity;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|sev| sev.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownSeverity(s.to_owned()))
    }
}

/// The event a finding came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct EventRef {
    pub id: Option<String>,
    pub name: Option<String>,
    pub source: Option<String>,
    pub time: Option<String>,
    pub error_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Deterministic: a digest of the rule, the event id, the resource and the evidence, so the
    /// same event evaluated twice yields the same id.
    pub id: String,
    pub rule_id: String,
    pub rule_name: String,
    pub severity: Severity,
    pub message: String,
    pub account: Option<String>,
    pub region: Option<String>,
    /// The ARN (or name, when the event gives no more) of what the finding is about.
    pub resource: Option<String>,
    /// The session issuer's ARN when there is one, else the caller's ARN.
    pub actor: Option<String>,
    pub event: EventRef,
    pub evidence: BTreeMap<String, Value>,
    pub remediation: String,
    /// How live-account enrichment went, when the rule depends on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrichment: Option<String>,
    /// Set when `evidence` was shrunk to fit a sink's size limit.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    /// Where the finding stands when finding state is kept (issue 16's lifecycle); absent
    /// without state, so offline replays stay stateless.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// When this finding's id was first written (RFC 3339), when finding state is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<String>,
    /// When and why the finding was resolved: on `resolved` records only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
}

/// A finding's lifecycle: `new` the first time its id is written, `open` each time after,
/// `resolved` once its cause is gone (a complete sweep no longer reports it, or a later event
/// replaced the policy that fired it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    New,
    Open,
    Resolved,
}

impl Status {
    pub const ALL: [Status; 3] = [Status::New, Status::Open, Status::Resolved];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Open => "open",
            Status::Resolved => "resolved",
        }
    }
}

/// A status as [`Status::as_str`] writes it (a state store's `status` attribute).
impl std::str::FromStr for Status {
    type Err = UnknownStatus;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| UnknownStatus(text.to_owned()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown status `{0}` (new, open or resolved)")]
pub struct UnknownStatus(pub String);

/// Why a finding was resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    /// RFC 3339.
    pub at: String,
    /// What showed the cause gone, e.g. `not reported by the sweep of 2026-11-28T02:00:00Z`.
    pub reason: String,
}

impl Finding {
    /// Computes the deterministic id from the other fields.
    pub fn compute_id(&self) -> String {
        let mut hasher = Sha256::new();
        for part in [
            self.rule_id.as_str(),
            self.event.id.as_deref().unwrap_or_default(),
            self.event.name.as_deref().unwrap_or_default(),
            self.resource.as_deref().unwrap_or_default(),
            self.account.as_deref().unwrap_or_default(),
        ] {
            hasher.update(part.as_bytes());
            hasher.update([0u8]);
        }
        // BTreeMap serialises in key order, so equal evidence hashes equally.
        if let Ok(evidence) = serde_json::to_vec(&self.evidence) {
            hasher.update(&evidence);
        }
        let digest = hasher.finalize();
        let mut id = String::with_capacity(32);
        for byte in digest.iter().take(16) {
            id.push_str(&format!("{byte:02x}"));
        }
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_reads_back_what_it_writes() {
        for status in Status::ALL {
            assert_eq!(status.as_str().parse::<Status>(), Ok(status));
        }
        assert_eq!(
            "closed".parse::<Status>(),
            Err(UnknownStatus("closed".into()))
        );
    }
}
