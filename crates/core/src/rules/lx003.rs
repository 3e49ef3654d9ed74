use super::{Context, Draft, EventRule};

declare_rule! {
    /// ## What it does
    /// Records every change to a Lex V2 bot's or bot alias's resource-based policy that went
    /// through: `CreateResourcePolicy`, `UpdateResourcePolicy`, `DeleteResourcePolicy`,
    /// `CreateResourcePolicyStatement`, `DeleteResourcePolicyStatement`. An audit trail at
    /// `info`; LX002 judges what a new policy or statement allows.
    ///
    /// ## Why it matters
    /// These policies decide who may call or change a bot outside IAM's identity policies, and
    /// Amazon Connect writes into them when a bot is associated with an instance. Knowing when
    /// a policy changed, and who changed it, is where a review of a bot's exposure starts; a
    /// deleted statement may also be what broke a Connect flow.
    ///
    /// ## Example
    /// `DeleteResourcePolicyStatement` of statement `connect-us-east-1-7d3c3b1e` from
    /// `arn:aws:lex:us-east-1:111122223333:bot-alias/ORDERFLWRS/TSTALIASID`.
    ///
    /// ## Fix
    /// Nothing to fix. Disable with `rules.disabled = ["LX003"]` if not needed.
    pub struct LexResourcePolicyChanged {
        id: "LX003",
        severity: Info,
        summary: "a Lex V2 bot or alias resource-based policy changes (recorded for audit)",
        trigger: Listed,
        events: &[
            (super::LEX, "CreateResourcePolicy"),
            (super::LEX, "UpdateResourcePolicy"),
            (super::LEX, "DeleteResourcePolicy"),
            (super::LEX, "CreateResourcePolicyStatement"),
            (super::LEX, "DeleteResourcePolicyStatement"),
        ],
    }
}

impl EventRule for LexResourcePolicyChanged {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Draft>) {
        if cx.event.failed() {
            return;
        }
        let e = cx.event;
        let Some(resource) = e.param_text("resourceArn") else {
            return;
        };
        let statement = e.param_text("statementId");
        let what = match (e.name(), &statement) {
            ("CreateResourcePolicy", _) => "policy created".to_owned(),
            ("UpdateResourcePolicy", _) => "policy replaced".to_owned(),
            ("DeleteResourcePolicy", _) => "policy deleted".to_owned(),
            ("CreateResourcePolicyStatement", Some(sid)) => format!("statement `{sid}` added"),
            ("DeleteResourcePolicyStatement", Some(sid)) => format!("statement `{sid}` removed"),
            ("CreateResourcePolicyStatement", None) => "statement added".to_owned(),
            _ => "statement removed".to_owned(),
        };
        let kind = if resource.contains(":bot-alias/") {
            "bot alias"
        } else {
            "bot"
        };
        out.push(
            Draft::new(format!(
                "Lex V2 {kind} `{resource}`: resource-based {what} by {}",
                e.name()
            ))
            .resource(resource)
            .evidence("statement_id", &statement)
            .evidence("revision_id", e.response_text("revisionId")),
        );
    }
}
