use super::{Context, Draft, EventRule};
use crate::policy::trust::{
    principal_account, trusted_principals, PrincipalKind, TrustedPrincipal,
};

declare_rule! {
    /// ## What it does
    /// Flags a trust policy (`CreateRole`, `UpdateAssumeRolePolicy`) that lets a profiled
    /// service principal (`lex.amazonaws.com`, `lexv2.amazonaws.com`, `connect.amazonaws.com`...)
    /// assume the role **and** also something broader: anyone (`*`, `NotPrincipal`), a principal
    /// of another account, or a federated identity.
    ///
    /// ## Why it matters
    /// A service role is usually passed to a bot or instance and trusted to write logs or read
    /// data. Sharing its trust with people or other accounts lets them assume the same
    /// permissions directly, outside the service.
    ///
    /// ## Example
    /// ```json
    /// {"Statement": [
    ///   {"Effect": "Allow", "Principal": {"Service": "lexv2.amazonaws.com"}, "Action": "sts:AssumeRole"},
    ///   {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}
    /// ```
    ///
    /// ## Fix
    /// Keep the service principal alone in the trust policy, with an `aws:SourceAccount` or
    /// `aws:SourceArn` condition; give other principals their own role.
    pub struct ServiceTrustSharedWithBroaderPrincipal {
        id: "TR001",
        severity: High,
        summary: "a trust policy lets a profiled service principal and something broader assume the role",
        trigger: Listed,
        events: &[
            (super::IAM, "CreateRole"),
            (super::IAM, "UpdateAssumeRolePolicy"),
        ],
    }
}

impl EventRule for ServiceTrustSharedWithBroaderPrincipal {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Draft>) {
        if cx.event.failed() {
            return;
        }
        let Some(doc) = cx.trust_policy() else {
            return;
        };
        let principals = trusted_principals(doc);
        let services: Vec<&TrustedPrincipal> = principals
            .iter()
            .filter(|p| {
                p.kind == PrincipalKind::Service
                    && cx.baseline.profile_for_principal(&p.value).is_some()
            })
            .collect();
        if services.is_empty() {
            return;
        }
        let own_account = cx.event.account();
        let broader: Vec<&TrustedPrincipal> = principals
            .iter()
            .filter(|p| match p.kind {
                PrincipalKind::Anyone | PrincipalKind::Federated => true,
                PrincipalKind::Aws => principal_account(&p.value) != own_account,
                PrincipalKind::Service | PrincipalKind::Other => false,
            })
            .collect();
        if broader.is_empty() {
            return;
        }
        let Some(role) = cx.role_name() else {
            return;
        };
        out.push(
            Draft::new(format!(
                "role `{role}` trusts {} and also {}",
                services
                    .iter()
                    .map(|p| format!("`{}`", p.value))
                    .collect::<Vec<_>>()
                    .join(", "),
                broader
                    .iter()
                    .map(|p| format!("`{}`", p.value))
                    .collect::<Vec<_>>()
                    .join(", "),
            ))
            .resource(cx.role_arn(&role))
            .evidence("service_principals", &services)
            .evidence("broader_principals", &broader),
        );
    }
}
