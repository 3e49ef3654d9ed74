use super::{Context, Draft, EventRule};
use crate::policy::{wildcard, Polarity};

declare_rule! {
    /// ## What it does
    /// Flags a policy statement that names Lex actions for which tag conditions do not work
    /// (`lex:StartImport` ignores tags and relies on `PutBot`'s policy; several V1 actions are
    /// absent from the Lex ABAC table) and conditions them on `lex:ResourceTag/...` or
    /// `aws:ResourceTag/...`. The action list is each profile's `tag_conditions_unsupported`.
    ///
    /// ## Why it matters
    /// The author believes the tag limits the statement, but AWS ignores it for these actions:
    /// an Allow reaches every bot, a Deny protects nothing.
    ///
    /// ## Example
    /// ```json
    /// {"Effect": "Allow", "Action": "lex:StartImport", "Resource": "*",
    ///  "Condition": {"StringEquals": {"lex:ResourceTag/team": "support"}}}
    /// ```
    ///
    /// ## Fix
    /// Limit these actions by resource ARN instead of tags, or control them through the
    /// permission they rely on (`lex:PutBot` for `StartImport`).
    pub struct LexTagConditionUnsupported {
        id: "LX001",
        severity: Medium,
        summary: "a policy relies on resource-tag conditions for a Lex action that ignores them",
        trigger: Listed,
        events: super::POLICY_WRITES,
    }
}

impl EventRule for LexTagConditionUnsupported {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Draft>) {
        if cx.event.failed() {
            return;
        }
        let Some(doc) = cx.permission_policy() else {
            return;
        };
        let unsupported: Vec<&str> = cx
            .baseline
            .profiles
            .iter()
            .flat_map(|p| p.tag_conditions_unsupported.iter().map(String::as_str))
            .collect();
        for s in &doc.statements {
            let tag_keys: Vec<&str> = s
                .conditions
                .iter()
                .filter(|c| {
                    c.key_starts_with("lex:ResourceTag/") || c.key_starts_with("aws:ResourceTag/")
                })
                .map(|c| c.key.as_str())
                .collect();
            if tag_keys.is_empty() {
                continue;
            }
            // Only actions named outright: a wildcard also covers actions that honour tags,
            // and reporting it would be noise.
            let Some((Polarity::Is, actions)) = &s.actions else {
                continue;
            };
            let ignored: Vec<&str> = actions
                .iter()
                .map(|a| a.as_ref())
                .filter(|a| !wildcard::has_wildcard(a))
                .filter(|a| unsupported.iter().any(|u| u.eq_ignore_ascii_case(a.trim())))
                .collect();
            if ignored.is_empty() {
                continue;
            }
            out.push(
                Draft::new(format!(
                    "{} statement {} conditions {} on {}, which Lex does not evaluate for them",
                    cx.policy_label(),
                    s.index,
                    ignored
                        .iter()
                        .map(|a| format!("`{a}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    tag_keys
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                ))
                .resource(cx.policy_holder().unwrap_or_default())
                .evidence("statement", s.index)
                .evidence("sid", &s.sid)
                .evidence("actions", &ignored)
                .evidence("condition_keys", &tag_keys),
            );
        }
    }
}
