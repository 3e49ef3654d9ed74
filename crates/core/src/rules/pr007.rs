use super::{Context, Draft, EventRule};

declare_rule! {
    /// ## What it does
    /// Flags a Lex/Connect call that would pass a role (see PR005) and was refused with an
    /// access error whose message names `iam:PassRole`.
    ///
    /// ## Why it matters
    /// AWS stopped it, but someone tried to hand a role to a service without the right to do
    /// so: a misconfigured pipeline to fix, or a probe for an escalation path to look at.
    ///
    /// ## Example
    /// `CreateBot` failed with `AccessDeniedException`: "... is not authorized to perform:
    /// iam:PassRole on resource: arn:aws:iam::111122223333:role/service-role/lex-logs".
    ///
    /// ## Fix
    /// If the caller should pass the role, grant `iam:PassRole` on that role with
    /// `iam:PassedToService` (and `iam:AssociatedResourceARN` for Lex); otherwise find out who
    /// made the call and why.
    pub struct PassRoleRefused {
        id: "PR007",
        severity: Medium,
        summary: "a call that passes a role failed with an access error naming iam:PassRole",
        trigger: Passes,
        events: &[],
    }
}

/// The event failed with an access error about `iam:PassRole`.
pub fn names_pass_role_denial(cx: &Context<'_>) -> bool {
    let access_error = cx.event.error_code().is_some_and(|code| {
        let code = code.to_ascii_lowercase();
        code.contains("accessdenied") || code.contains("unauthorized")
    });
    access_error
        && cx
            .event
            .record
            .error_message
            .as_deref()
            .is_some_and(|m| m.to_ascii_lowercase().contains("iam:passrole"))
}

impl EventRule for PassRoleRefused {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Draft>) {
        if !names_pass_role_denial(cx) {
            return;
        }
        let message = cx.event.record.error_message.clone().unwrap_or_default();
        let role = cx
            .passed_roles()
            .first()
            .map(|p| p.role_arn.clone())
            .or_else(|| {
                message
                    .split_whitespace()
                    .find(|w| w.starts_with("arn:") && w.contains(":role/"))
                    .map(|w| w.trim_end_matches(['.', ',']).to_owned())
            });
        let title = cx
            .passed_roles()
            .first()
            .map_or("the service", |p| p.profile.title.as_str());
        out.push(
            Draft::new(format!(
                "{} was refused: the caller may not pass `{}` to {title}",
                cx.event.name(),
                role.as_deref().unwrap_or("the role")
            ))
            .resource(role.clone().unwrap_or_default())
            .evidence("passed_role", &role)
            .evidence("error_message", &message),
        );
    }
}
