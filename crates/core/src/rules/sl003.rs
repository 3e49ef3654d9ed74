use super::{Context, Draft, EventRule};

declare_rule! {
    /// ## What it does
    /// Flags changes to a service-linked role's other settings: `UpdateRole` with anything
    /// besides `description` (such as `maxSessionDuration`), `TagRole`, `UntagRole`.
    ///
    /// ## Why it matters
    /// These changes do not widen permissions, but AWS manages service-linked roles and tags
    /// can drive attribute-based access control: a new tag may grant someone access to the
    /// role. Either way it is drift from what AWS defines.
    ///
    /// ## Example
    /// `UpdateRole` with `"maxSessionDuration": 43200` on `AWSServiceRoleForAmazonConnect_abc`.
    ///
    /// ## Fix
    /// Revert the setting or tag, and check that no policy grants access based on the tag.
    pub struct ServiceLinkedRoleSettingsModified {
        id: "SL003",
        severity: Low,
        summary: "other SLR settings change (UpdateRole other than description, TagRole, UntagRole)",
        trigger: Listed,
        events: &[
            (super::IAM, "UpdateRole"),
            (super::IAM, "TagRole"),
            (super::IAM, "UntagRole"),
        ],
    }
}

impl EventRule for ServiceLinkedRoleSettingsModified {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Draft>) {
        let Some(target) = cx.slr_target() else {
            return;
        };
        let changed: Vec<String> = match cx.event.name() {
            "UpdateRole" => cx
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
                .unwrap_or_default(),
            "TagRole" => vec!["tags".into()],
            _ => vec!["tags removed".into()],
        };
        if changed.is_empty() {
            return;
        }
        out.push(
            cx.slr_draft(
                &target,
                &format!("settings changed ({})", changed.join(", ")),
            )
            .evidence("changed", &changed)
            .evidence("request", &cx.event.params),
        );
    }
}
