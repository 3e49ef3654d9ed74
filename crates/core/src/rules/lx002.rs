use std::collections::BTreeSet;

use serde::Serialize;

use super::reach::{source_guard, Guards, Reach, SourceGuard};
use super::{Context, Draft, EventRule};
use crate::finding::Severity;
use crate::policy::trust::principal_account;
use crate::policy::{Polarity, Statement};

/// The Lex V2 runtime calls: what "invoking" a bot alias means.
const RUNTIME_ACTIONS: &[&str] = &[
    "lex:RecognizeText",
    "lex:RecognizeUtterance",
    "lex:RecognizeMessageAsync",
    "lex:StartConversation",
    "lex:PutSession",
    "lex:GetSession",
    "lex:DeleteSession",
];

declare_rule! {
    /// ## What it does
    /// Judges the resource-based policies of Amazon Lex V2 bots and bot aliases as they are
    /// written, and flags an Allow that lets someone outside the account invoke or change the
    /// bot: everyone (`"*"`, `{"AWS": "*"}`, `NotPrincipal`) is high; an account other than
    /// the bot's own and the baseline's `trusted_accounts`, or a service principal with no
    /// `aws:SourceAccount`/`aws:SourceArn` (or `aws:SourceOrgID`) guard, or one guarded to
    /// another account, is medium. Statements that only allow `lex:Describe*`/`lex:List*` are
    /// left alone; `aws:PrincipalOrgID`, `aws:PrincipalAccount` and `aws:PrincipalArn` narrow
    /// a statement as in TR003. Refused calls changed nothing and are skipped; LX003 records
    /// every change.
    ///
    /// What the rule relies on. Lex V2's model-building API (CloudTrail `eventSource`
    /// `lex.amazonaws.com`, shared with Lex V1, which has no such calls) keeps at most one
    /// policy per bot ARN (`arn:aws:lex:REGION:ACCOUNT:bot/BOTID`) or bot alias ARN
    /// (`...:bot-alias/BOTID/ALIASID`), and writes it in two ways. `CreateResourcePolicy` and
    /// `UpdateResourcePolicy` send the whole document as a JSON string in `policy`, next to
    /// `resourceArn` (and, for an update, the `expectedRevisionId` it replaces).
    /// `CreateResourcePolicyStatement` adds one statement whose parts travel as separate
    /// parameters: `statementId` (its `Sid`), `effect` (`Allow` or `Deny`), `principal` (a
    /// list of objects holding either `service`, a service principal, or `arn`, an IAM account,
    /// user or role ARN), `action` (a list of `lex:` actions) and `condition` (operator, then
    /// key, then value); the rule rebuilds that statement and reads it like a document. Lex
    /// refuses a statement added that way that gives another account access, and asks for both
    /// a source-account and a source-ARN condition when the principal is a service; a whole
    /// document is not held to either, which is why both forms are judged the same way.
    /// `DeleteResourcePolicy` and `DeleteResourcePolicyStatement` (by `statementId`) remove
    /// them. Amazon Connect depends on this: associating a Lex V2 bot alias with a Connect
    /// instance adds a statement to the alias's policy that allows `connect.amazonaws.com` to
    /// call `lex:RecognizeText` and `lex:StartConversation` (newer instances also
    /// `lex:RecognizeMessageAsync`) on that alias, on condition that `AWS:SourceAccount`
    /// equals the account and `AWS:SourceArn` equals the instance ARN
    /// (`arn:aws:connect:REGION:ACCOUNT:instance/ID`). That statement is quiet here; the same
    /// statement without its conditions is the confused-deputy case.
    ///
    /// ## Why it matters
    /// A bot alias policy decides who can talk to the bot (and so reach the Lambda functions,
    /// knowledge bases and customer data behind it) and a bot policy who can change it. A
    /// statement open to everyone or to a foreign account hands that over outside IAM's
    /// identity policies; a service principal without a source guard lets the service act on
    /// the bot for any customer who points it there, such as someone else's Connect instance.
    ///
    /// ## Example
    /// `CreateResourcePolicyStatement` on `arn:aws:lex:us-east-1:111122223333:bot-alias/ORDERFLWRS/TSTALIASID`
    /// with `principal` `[{"service": "connect.amazonaws.com"}]`, `action`
    /// `["lex:RecognizeText", "lex:StartConversation"]` and no `condition`.
    ///
    /// ## Fix
    /// Remove the statement, or give it the guards Connect itself writes:
    /// `"StringEquals": {"AWS:SourceAccount": "<account>"}` and
    /// `"ArnEquals": {"AWS:SourceArn": "<instance ARN>"}`. Name only your own accounts (or add
    /// a vetted one to `trusted_accounts`), never `*`. Find out who wrote the policy.
    pub struct LexResourcePolicyOpen {
        id: "LX002",
        severity: Medium,
        summary: "a Lex V2 bot or alias policy lets everyone (high), another account or an unguarded service (medium) invoke or change it",
        trigger: Listed,
        events: &[
            (super::LEX, "CreateResourcePolicy"),
            (super::LEX, "UpdateResourcePolicy"),
            (super::LEX, "CreateResourcePolicyStatement"),
        ],
    }
}

/// Who one statement lets in from outside.
#[derive(Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Who {
    Everyone,
    Accounts(BTreeSet<String>),
    /// A service principal with no source guard.
    UnguardedService(String),
    /// A service principal guarded to resources of other accounts.
    ServiceForAccounts {
        service: String,
        accounts: BTreeSet<String>,
    },
}

#[derive(Debug, Serialize)]
struct Opening {
    statement: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
    principal: String,
    who: Who,
    /// `invoke` when the statement allows runtime calls only, `change` otherwise.
    allows: &'static str,
    actions: Vec<String>,
}

impl EventRule for LexResourcePolicyOpen {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Draft>) {
        if cx.event.failed() {
            return;
        }
        let Some(doc) = cx.lex_resource_policy() else {
            return;
        };
        let own = cx.event.account();
        let trusted = |account: &str| {
            own == Some(account) || cx.baseline.trusted_accounts.iter().any(|a| a == account)
        };
        let mut openings = Vec::new();
        for s in doc.statements.iter().filter(|s| s.is_allow()) {
            let Some(allows) = allows(s) else {
                continue;
            };
            let actions = match &s.actions {
                Some((Polarity::Is, a)) => a.iter().map(|a| a.to_string()).collect(),
                Some((Polarity::Not, a)) => vec![format!("NotAction {}", a.join(", "))],
                None => Vec::new(),
            };
            for (principal, who) in outside(s, &trusted) {
                openings.push(Opening {
                    statement: s.index,
                    sid: s.sid.as_deref().map(str::to_owned),
                    principal,
                    who,
                    allows,
                    actions: actions.clone(),
                });
            }
        }
        if openings.is_empty() {
            return;
        }
        let resource = cx
            .event
            .param_text("resourceArn")
            .unwrap_or_else(|| "(unnamed resource)".into());
        let kind = if resource.contains(":bot-alias/") {
            "bot alias"
        } else {
            "bot"
        };
        let described: Vec<String> = openings.iter().map(describe).collect();
        let everyone = openings.iter().any(|o| o.who == Who::Everyone);
        let draft = Draft::new(format!(
            "Lex V2 {kind} `{resource}`: {} {}",
            cx.event.name(),
            described.join("; ")
        ))
        .resource(resource)
        .evidence("openings", &openings);
        out.push(if everyone {
            draft.severity(Severity::High)
        } else {
            draft
        });
    }
}

/// `Some("invoke")` or `Some("change")` for a statement that does either; `None` for one that
/// only reads (`lex:Describe*`, `lex:List*`).
fn allows(s: &Statement) -> Option<&'static str> {
    let patterns = match &s.actions {
        Some((Polarity::Is, patterns)) => patterns,
        Some((Polarity::Not, _)) => return Some("change"),
        None => return None,
    };
    let lower = |p: &str| p.trim().to_ascii_lowercase();
    let reads = |p: &str| {
        let p = lower(p);
        p.starts_with("lex:describe") || p.starts_with("lex:list")
    };
    let runtime = |p: &str| {
        let p = lower(p);
        RUNTIME_ACTIONS.iter().any(|a| a.eq_ignore_ascii_case(&p))
    };
    let doing: Vec<&str> = patterns
        .iter()
        .map(|p| p.as_ref())
        .filter(|p| !reads(p))
        .collect();
    if doing.is_empty() {
        None
    } else if doing.iter().all(|p| runtime(p)) {
        Some("invoke")
    } else {
        Some("change")
    }
}

/// The principals of an Allow statement that reach outside the trusted accounts.
fn outside(s: &Statement, trusted: &dyn Fn(&str) -> bool) -> Vec<(String, Who)> {
    let guards = Guards::of(Some(s));
    let foreign = |reach: Reach| -> Option<Who> {
        match guards.narrow(reach)? {
            Reach::Everyone => Some(Who::Everyone),
            Reach::Accounts(accounts) => {
                let accounts: BTreeSet<String> =
                    accounts.into_iter().filter(|a| !trusted(a)).collect();
                (!accounts.is_empty()).then_some(Who::Accounts(accounts))
            }
        }
    };
    let mut out = Vec::new();
    match &s.principals {
        Some((Polarity::Not, _)) => {
            out.extend(foreign(Reach::Everyone).map(|who| ("NotPrincipal".to_owned(), who)))
        }
        Some((Polarity::Is, p)) => {
            if p.wildcard {
                out.extend(foreign(Reach::Everyone).map(|who| ("*".to_owned(), who)));
            }
            for (kind, value) in &p.entries {
                let who = if value.trim() == "*" {
                    foreign(Reach::Everyone)
                } else if kind.eq_ignore_ascii_case("service") {
                    match source_guard(s) {
                        SourceGuard::Organization => None,
                        SourceGuard::Unguarded => Some(Who::UnguardedService(value.clone())),
                        SourceGuard::Accounts(accounts) => {
                            let accounts: BTreeSet<String> =
                                accounts.into_iter().filter(|a| !trusted(a)).collect();
                            (!accounts.is_empty()).then(|| Who::ServiceForAccounts {
                                service: value.clone(),
                                accounts,
                            })
                        }
                    }
                } else if kind.eq_ignore_ascii_case("aws") {
                    principal_account(value).and_then(|account| {
                        foreign(Reach::Accounts(BTreeSet::from([account.to_owned()])))
                    })
                } else {
                    None
                };
                out.extend(who.map(|who| (value.clone(), who)));
            }
        }
        None => {}
    }
    out
}

fn describe(o: &Opening) -> String {
    let accounts = |a: &BTreeSet<String>| {
        a.iter()
            .map(|a| format!("`{a}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (who, qualifier) = match &o.who {
        Who::Everyone => ("everyone".to_owned(), String::new()),
        Who::Accounts(a) => (format!("account {}", accounts(a)), String::new()),
        Who::UnguardedService(service) => (
            format!("`{service}`"),
            " with no aws:SourceAccount/aws:SourceArn guard, on behalf of any account".to_owned(),
        ),
        Who::ServiceForAccounts {
            service,
            accounts: a,
        } => (
            format!("`{service}`"),
            format!(" on behalf of account {}", accounts(a)),
        ),
    };
    format!(
        "lets {who} {} it{qualifier} (statement {}{})",
        o.allows,
        o.statement,
        o.sid
            .as_deref()
            .map(|sid| format!(" `{sid}`"))
            .unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

    use serde_json::json;

    use super::*;
    use crate::policy::PolicyDocument;

    fn statement(s: serde_json::Value) -> Statement<'static> {
        PolicyDocument::from_value_owned(&json!({ "Statement": [s] }))
            .unwrap()
            .statements[0]
            .clone()
    }

    fn own(account: &str) -> bool {
        account == "111122223333"
    }

    #[test]
    fn actions_are_read_invoke_or_change() {
        let read = statement(json!({"Effect": "Allow", "Principal": "*",
            "Action": ["lex:DescribeBot", "lex:ListBotAliases"]}));
        assert_eq!(allows(&read), None);
        let invoke = statement(json!({"Effect": "Allow", "Principal": "*",
            "Action": ["lex:RecognizeText", "LEX:StartConversation", "lex:DescribeBotAlias"]}));
        assert_eq!(allows(&invoke), Some("invoke"));
        for change in [json!("lex:*"), json!("*"), json!(["lex:Recognize*"])] {
            let s = statement(json!({"Effect": "Allow", "Principal": "*", "Action": change}));
            assert_eq!(allows(&s), Some("change"), "{change}");
        }
        let not =
            statement(json!({"Effect": "Allow", "Principal": "*", "NotAction": "lex:DeleteBot"}));
        assert_eq!(allows(&not), Some("change"));
    }

    #[test]
    fn who_is_outside() {
        let s = statement(
            json!({"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:root"},
            "Action": "lex:RecognizeText"}),
        );
        assert_eq!(
            outside(&s, &own),
            [("NotPrincipal".to_owned(), Who::Everyone)]
        );
        // Narrowed by aws:PrincipalAccount to the own account: nobody outside.
        let s = statement(
            json!({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "lex:RecognizeText",
            "Condition": {"StringEquals": {"aws:PrincipalAccount": "111122223333"}}}),
        );
        assert!(outside(&s, &own).is_empty());
        // Connect guarded to someone else's instance: the service acts for that account.
        let s = statement(
            json!({"Effect": "Allow", "Principal": {"Service": "connect.amazonaws.com"},
            "Action": "lex:RecognizeText",
            "Condition": {"ArnEquals": {"aws:SourceArn": "arn:aws:connect:us-east-1:444455556666:instance/x"}}}),
        );
        assert_eq!(
            outside(&s, &own),
            [(
                "connect.amazonaws.com".to_owned(),
                Who::ServiceForAccounts {
                    service: "connect.amazonaws.com".into(),
                    accounts: BTreeSet::from(["444455556666".to_owned()])
                }
            )]
        );
        let s = statement(
            json!({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/app"},
            "Action": "lex:RecognizeText"}),
        );
        assert!(outside(&s, &own).is_empty());
    }
}
