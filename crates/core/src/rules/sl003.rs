use super::{Context, Draft, EventRule};
use crate::finding::Severity;

declare_rule! {
    /// ## What it does
    /// Flags changes to a service-linked role's other settings: `UpdateRole` with anything
    /// besides `description` (such as `maxSessionDuration`, or nothing at all), `TagRole`,
    /// `UntagRole`, and `AddRoleToInstanceProfile`/`RemoveRoleFromInstanceProfile`. Adding the
    /// role to an instance profile is medium: it is a step towards using the service's
    /// permissions from an EC2 instance.
    ///
    /// ## Why it matters
    /// These changes do not widen permissions by themselves, but AWS manages service-linked
    /// roles and tags can drive attribute-based access control: a new tag may grant someone
    /// access to the role. An instance profile holding a service-linked role has no business
    /// existing. Either way it is drift from what AWS defines, succeeded or refused.
    ///
    /// ## Example
    /// `UpdateRole` with `"maxSessionDuration": 43200` on `AWSServiceRoleForAmazonConnect_abc`.
    ///
    /// ## Fix
    /// Revert the setting or tag, and check that no policy grants access based on the tag.
    pub struct ServiceLinkedRoleSettingsModified {
        id: "SL003",
        severity: Low,
        summary: "other SLR settings change (UpdateRole other than description, tags, instance profiles)",
        trigger: Listed,
        events: &[
            (super::IAM, "UpdateRole"),
            (super::IAM, "TagRole"),
            (super::IAM, "UntagRole"),
            (super::IAM, "AddRoleToInstanceProfile"),
            (super::IAM, "RemoveRoleFromInstanceProfile"),
        ],
    }
}

impl EventRule for ServiceLinkedRoleSettingsModified {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Draft>) {
        let Some(target) = cx.slr_target() else {
            return;
        };
        let instance_profile = cx
            .event
            .param_text("instanceProfileName")
            .unwrap_or_else(|| "(unnamed)".into());
        let changed: Vec<String> = match cx.event.name() {
            "UpdateRole" => {
                let other: Vec<String> = cx
                    .event
                    .params
                    .as_object()
                    .map(|m| {
                        m.keys()
                            .filter(|k| {
                                !k.eq_ignore_ascii_case("roleName")
                                    && !k.eq_ignore_ascii_case("description")
                            })
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default();
                // A description alone is SL004's; an UpdateRole that changes nothing is still a
                // write on the role, and reported here.
                if other.is_empty() && cx.event.param("description").is_some() {
                    return;
                }
                if other.is_empty() {
                    vec!["UpdateRole naming no setting".into()]
                } else {
                    other
                }
            }
            "TagRole" => vec!["tags".into()],
            "AddRoleToInstanceProfile" => {
                vec![format!("added to instance profile `{instance_profile}`")]
            }
            "RemoveRoleFromInstanceProfile" => {
                vec![format!(
                    "removed from instance profile `{instance_profile}`"
                )]
            }
            _ => vec!["tags removed".into()],
        };
        let draft = cx
            .slr_draft(
                &target,
                &format!("settings changed ({})", changed.join(", ")),
            )
            .evidence("changed", &changed)
            .evidence("request", &cx.event.params);
        out.push(if cx.event.name() == "AddRoleToInstanceProfile" {
            draft.severity(Severity::Medium)
        } else {
            draft
        });
    }
}
