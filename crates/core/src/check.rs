//! `rolewarden check-policy`: an IAM policy document judged by the same rules as the CloudTrail
//! call that would write it. A permissions policy is evaluated as `CreatePolicy`, a trust policy
//! (one with a `Principal`) as `CreateRole`, so PR001-PR003, LX001, TR001 and TR002 apply with
//! no second implementation.

use serde_json::json;

use crate::account::NoAccountView;
use crate::decode::{Event, Record};
use crate::engine::Engine;
use crate::finding::Finding;
use crate::policy::PolicyDocument;
use crate::policy::PolicyError;

/// Which kind of document a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    /// An identity-based permissions policy.
    Permissions,
    /// A role trust policy: its statements name a `Principal`.
    Trust,
}

impl PolicyKind {
    pub fn of(doc: &PolicyDocument) -> Self {
        if doc.statements.iter().any(|s| s.principals.is_some()) {
            PolicyKind::Trust
        } else {
            PolicyKind::Permissions
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PolicyKind::Permissions => "permissions policy",
            PolicyKind::Trust => "trust policy",
        }
    }
}

/// Findings for one policy document. `name` names it in messages and findings (the file stem).
/// Fails when the text is not a policy document at all.
pub fn check_policy(
    engine: &Engine,
    text: &str,
    name: &str,
) -> Result<(PolicyKind, Vec<Finding>), PolicyError> {
    let doc = PolicyDocument::decode_str(text)?;
    let kind = PolicyKind::of(&doc);
    let (event_name, params) = match kind {
        PolicyKind::Permissions => (
            "CreatePolicy",
            json!({"policyName": name, "policyDocument": text}),
        ),
        PolicyKind::Trust => (
            "CreateRole",
            json!({"roleName": name, "assumeRolePolicyDocument": text}),
        ),
    };
    let record = json!({
        "eventSource": "iam.amazonaws.com",
        "eventName": event_name,
        "eventID": format!("check-policy:{name}"),
        "requestParameters": params,
    });
    let record: Record =
        serde_json::from_str(&record.to_string()).map_err(|e| PolicyError::NotJson {
            reason: e.to_string(),
        })?;
    let event = Event::new(record, None);
    Ok((kind, engine.evaluate(&event, &NoAccountView).findings))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Baseline;

    fn engine() -> Engine {
        Engine::new(Baseline::embedded().unwrap())
    }

    fn rule_ids(findings: &[Finding]) -> Vec<&str> {
        findings.iter().map(|f| f.rule_id.as_str()).collect()
    }

    #[test]
    fn a_broad_pass_role_grant_is_pr001() {
        let text = r#"{"Statement":{"Effect":"Allow","Action":"iam:PassRole","Resource":"*"}}"#;
        let (kind, findings) = check_policy(&engine(), text, "broad").unwrap();
        assert_eq!(kind, PolicyKind::Permissions);
        assert_eq!(rule_ids(&findings), ["PR001"]);
        assert!(
            findings[0].message.contains("broad"),
            "{}",
            findings[0].message
        );
    }

    #[test]
    fn a_deny_narrows_the_grant_it_judges() {
        let narrowed = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":"iam:PassRole","Resource":"*"},
            {"Effect":"Deny","Action":"iam:PassRole","NotResource":"arn:aws:iam::111122223333:role/lex-*"}]}"#;
        let (_, findings) = check_policy(&engine(), narrowed, "lex-roles").unwrap();
        assert_eq!(rule_ids(&findings), ["PR002"]);
        assert!(
            findings[0]
                .message
                .contains("`arn:aws:iam::111122223333:role/lex-*` to any service"),
            "{}",
            findings[0].message
        );
        let unevaluable = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":"iam:PassRole","Resource":"*"},
            {"Effect":"Deny","Action":"iam:PassRole","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"false"}}}]}"#;
        let (_, findings) = check_policy(&engine(), unevaluable, "mfa").unwrap();
        assert_eq!(rule_ids(&findings), ["PR001"]);
    }

    #[test]
    fn a_trust_policy_is_judged_as_create_role() {
        let text = r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"lexv2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        let (kind, findings) = check_policy(&engine(), text, "bot-role").unwrap();
        assert_eq!(kind, PolicyKind::Trust);
        assert_eq!(rule_ids(&findings), ["TR002"]);
    }

    #[test]
    fn a_scoped_policy_is_clean_and_garbage_is_an_error() {
        let text = r#"{"Statement":[{"Effect":"Allow","Action":["iam:GetRole","iam:ListRoles"],"Resource":"*"}]}"#;
        assert!(check_policy(&engine(), text, "read").unwrap().1.is_empty());
        assert!(check_policy(&engine(), "[1,2]", "x").is_err());
        assert!(check_policy(&engine(), "{\"Version\":\"2012-10-17\"}", "x").is_err());
    }
}
