use super::{Draft, SweepContext, SweepRule};
use crate::policy::{wildcard, PrincipalKind, TrustedPrincipal};

/// AWS managed policies for service-linked roles live under this path; only AWS can create
/// them, and only a service attaches them to its own service-linked role.
const SERVICE_ROLE_POLICIES: &str = "arn:aws*:iam::aws:policy/aws-service-role/*";

declare_rule! {
    /// ## What it does
    /// On the account sweep, compares each profiled service-linked role with what AWS defines
    /// for it and flags one that drifted: an inline policy (unless the profile says the service
    /// writes its own, `slr_inline_policies_by_service`: as you enable Amazon Connect features,
    /// "additional permissions are added for the service-linked role to access the resources
    /// associated with those features"), an attached policy other than the AWS
    /// managed service-role policies (`arn:aws:iam::aws:policy/aws-service-role/*`), or a trust
    /// policy that lets anything but the profile's own service principals assume the role. One
    /// finding per role, its evidence listing each kind of drift. Policies are judged only when
    /// the sweep read them.
    ///
    /// ## Why it matters
    /// "Amazon Lex defines the permissions of its service-linked roles, and unless defined
    /// otherwise, only Amazon Lex can assume its roles"; AWS lets you edit only the description.
    /// A service-linked role that holds more, or that someone else can assume, was changed
    /// outside the service (or is a look-alike under the reserved path), and reviewers skip it
    /// as AWS-managed. SL001/SL002 report such a change when its event is seen; this rule finds
    /// it in the account, whenever it happened.
    ///
    /// ## Example
    /// `AWSServiceRoleForLexV2Bots_ABCDEFGHIJ` with `arn:aws:iam::aws:policy/AdministratorAccess`
    /// attached, or a trust policy that also allows `arn:aws:iam::444455556666:root`.
    ///
    /// ## Fix
    /// Delete the added inline policies, detach the extra managed policies and restore the trust
    /// policy to the service principal alone; if IAM refuses, delete the role (after its bots or
    /// instances) and let the service recreate it. Find out who changed it.
    pub struct ServiceLinkedRoleDrifted {
        id: "SL008",
        severity: High,
        summary: "an SLR has inline policies, extra attached policies, or a trust policy other than its service's",
        trigger: Sweep,
        events: &[],
    }
}

impl SweepRule for ServiceLinkedRoleDrifted {
    fn check(&self, cx: &SweepContext<'_>, out: &mut Vec<Draft>) {
        for (role, profile) in cx.service_linked_roles() {
            // Judged only when its policies were read (a full sweep): a re-check after a delete
            // event does not read them, and a verdict on the trust policy alone would give the
            // same role another finding id than the daily sweep.
            if role.inline_policies.is_none() || role.attached_policies.is_none() {
                continue;
            }
            let mut inline: Vec<&str> = match &role.inline_policies {
                Some(names) if !profile.slr_inline_policies_by_service => {
                    names.iter().map(String::as_str).collect()
                }
                _ => Vec::new(),
            };
            inline.sort_unstable();
            let mut attached: Vec<&str> = role
                .attached_policies
                .iter()
                .flatten()
                .map(String::as_str)
                .filter(|arn| !wildcard::matches(SERVICE_ROLE_POLICIES, arn, false))
                .collect();
            attached.sort_unstable();
            let foreign: Vec<TrustedPrincipal> = role
                .trusted()
                .into_iter()
                .filter(|p| {
                    !(p.kind == PrincipalKind::Service && profile.trusts_principal(&p.value))
                })
                .collect();
            if inline.is_empty() && attached.is_empty() && foreign.is_empty() {
                continue;
            }
            let mut drift = Vec::new();
            if !inline.is_empty() {
                drift.push(format!("inline policies {}", quoted(&inline)));
            }
            if !attached.is_empty() {
                drift.push(format!("attached policies {}", quoted(&attached)));
            }
            if !foreign.is_empty() {
                let values: Vec<&str> = foreign.iter().map(|p| p.value.as_str()).collect();
                drift.push(format!("trust policy also allows {}", quoted(&values)));
            }
            out.push(
                Draft::new(format!(
                    "service-linked role `{}` of {} differs from what AWS defines: {}",
                    role.name,
                    profile.title,
                    drift.join("; ")
                ))
                .resource(role.arn.clone())
                .evidence("role_name", &role.name)
                .evidence("service", &profile.title)
                .evidence("inline_policies", (!inline.is_empty()).then_some(&inline))
                .evidence(
                    "extra_attached_policies",
                    (!attached.is_empty()).then_some(&attached),
                )
                .evidence(
                    "foreign_principals",
                    (!foreign.is_empty()).then_some(&foreign),
                )
                .evidence("expected_principals", &profile.principals),
            );
        }
    }
}

fn quoted(items: &[&str]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
