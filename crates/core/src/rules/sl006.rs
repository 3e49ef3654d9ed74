use super::{Context, Draft, EventRule};
use crate::baseline::looks_like_slr;
use crate::finding::Severity;

declare_rule! {
    /// ## What it does
    /// Flags `CreateRole` of a role named like a service-linked role (`AWSServiceRoleFor*`)
    /// outside the `/aws-service-role/` path. Only AWS creates roles under that path (through
    /// `CreateServiceLinkedRole`), so such a role is a look-alike. A `CreateRole` under that
    /// path is reported too: IAM keeps the path for `CreateServiceLinkedRole`, so the call is an
    /// attempt to plant a role where only AWS's are expected. A refused attempt is reported at
    /// medium.
    ///
    /// ## Why it matters
    /// Reviewers and tools skip `AWSServiceRoleFor*` roles as AWS-managed. A look-alike hides
    /// custom permissions and trust behind that name.
    ///
    /// ## Example
    /// `CreateRole` with `roleName` `AWSServiceRoleForLexBots` and path `/`.
    ///
    /// ## Fix
    /// Delete the look-alike role; create the real service-linked role with
    /// `CreateServiceLinkedRole` if the service needs it.
    pub struct ServiceLinkedRoleLookAlike {
        id: "SL006",
        severity: High,
        summary: "a role named like an SLR (AWSServiceRoleFor*) is created with CreateRole (a look-alike)",
        trigger: Listed,
        events: &[(super::IAM, "CreateRole")],
    }
}

impl EventRule for ServiceLinkedRoleLookAlike {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Draft>) {
        let Some(name) = cx.role_name() else {
            return;
        };
        if !looks_like_slr(&name) {
            return;
        }
        let path = cx
            .event
            .param_text("path")
            .or_else(|| cx.event.response_text("role.path"))
            .unwrap_or_else(|| "/".into());
        if path.starts_with("/aws-service-role/") {
            out.push(reserved_path(cx, &name, &path));
            return;
        }
        let draft = Draft::new(format!(
            "CreateRole {} role `{name}` at path `{path}`: named like a service-linked role but not one{}",
            if cx.event.failed() { "tried to create" } else { "created" },
            cx.baseline
                .profile_for_slr(&name)
                .map(|p| format!(" (imitates {})", p.title))
                .unwrap_or_default()
        ))
        .resource(cx.role_arn(&name))
        .evidence("role_name", &name)
        .evidence("path", &path)
        .evidence("outcome", cx.outcome());
        out.push(if cx.event.failed() {
            draft.severity(Severity::Medium)
        } else {
            draft
        });
    }
}

/// `CreateRole` under the reserved path: IAM keeps it for `CreateServiceLinkedRole`, so the call
/// is an attempt to plant a role where reviewers expect only AWS's.
fn reserved_path(cx: &Context<'_>, name: &str, path: &str) -> Draft {
    let draft = Draft::new(format!(
        "CreateRole {} role `{name}` under the reserved path `{path}`, which only CreateServiceLinkedRole may use",
        if cx.event.failed() {
            "tried to create"
        } else {
            "created"
        },
    ))
    .resource(cx.role_arn(name))
    .evidence("role_name", name)
    .evidence("path", path)
    .evidence("outcome", cx.outcome());
    if cx.event.failed() {
        draft.severity(Severity::Medium)
    } else {
        draft
    }
}
