use super::{Context, Draft, EventRule};
use crate::account::{Lookup, Needs};
use crate::policy::wildcard;

declare_rule! {
    /// ## What it does
    /// Flags `AttachRolePolicy`, `AttachUserPolicy` and `AttachGroupPolicy` calls that attach
    /// a managed policy known to grant `iam:PassRole` on every role without an
    /// `iam:PassedToService` condition: the AWS managed policies listed in the baseline's
    /// `broad_managed_policies` (`AdministratorAccess`, `IAMFullAccess`, ...), and, with
    /// enrichment, customer managed policies whose default version effectively lets any role go
    /// to any service, judged as PR001 judges a policy write (condition values, Deny statements).
    ///
    /// ## Why it matters
    /// Attaching such a policy is the one-step version of PR001: the principal can now pass
    /// any role to any service. It is easy to miss because the policy text is not in the event.
    ///
    /// ## Example
    /// `AttachRolePolicy` with `policyArn` `arn:aws:iam::aws:policy/AdministratorAccess`.
    ///
    /// ## Fix
    /// Detach the policy and grant a policy that names the roles and the
    /// `iam:PassedToService` the principal really needs.
    pub struct BroadPassRolePolicyAttached {
        id: "PR004",
        severity: High,
        summary: "a managed policy that grants PassRole broadly is attached to a role, user or group",
        trigger: Listed,
        events: &[
            (super::IAM, "AttachRolePolicy"),
            (super::IAM, "AttachUserPolicy"),
            (super::IAM, "AttachGroupPolicy"),
        ],
    }
}

impl EventRule for BroadPassRolePolicyAttached {
    /// A customer managed policy's default version; AWS managed ones are judged by name.
    fn needs(&self, cx: &Context<'_>, needs: &mut Needs) {
        if let Some(arn) = cx.event.param_text("policyArn") {
            if !arn.contains(":iam::aws:policy/") {
                needs.managed_policies.insert(arn);
            }
        }
    }

    fn check(&self, cx: &Context<'_>, out: &mut Vec<Draft>) {
        if cx.event.failed() {
            return;
        }
        let Some(policy_arn) = cx.event.param_text("policyArn") else {
            return;
        };
        let holder = cx.policy_holder().unwrap_or_default();
        if let Some(pattern) = cx
            .baseline
            .broad_managed_policies
            .iter()
            .find(|p| wildcard::matches(p, &policy_arn, false))
        {
            out.push(
                Draft::new(format!(
                    "`{policy_arn}` attached to {} grants iam:PassRole on every role with no iam:PassedToService condition",
                    cx.holder_label()
                ))
                .resource(holder)
                .evidence("policy_arn", &policy_arn)
                .evidence("matched_baseline_entry", pattern),
            );
            return;
        }
        // AWS managed policies not in the list are trusted to be narrow; only customer
        // managed ones are looked up.
        if policy_arn.contains(":iam::aws:policy/") {
            return;
        }
        match cx.view.managed_policy(&policy_arn) {
            Lookup::Found(doc) => {
                for grant in cx
                    .effective_grants(&doc)
                    .into_iter()
                    .filter(|g| g.every_role_to_any_service())
                {
                    out.push(
                        Draft::new(format!(
                            "`{policy_arn}` attached to {} lets any role be passed to any service (statement {})",
                            cx.holder_label(),
                            grant.statement
                        ))
                        .resource(holder.clone())
                        .evidence("policy_arn", &policy_arn)
                        .evidence("grant", &grant)
                        .enrichment("policy read from the account"),
                    );
                }
            }
            Lookup::Missing | Lookup::Unavailable(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

    use serde_json::json;

    use crate::account::{Lookup, Snapshot};
    use crate::decode::{Event, Record};
    use crate::policy::PolicyDocument;
    use crate::{Baseline, Engine};

    const ARN: &str = "arn:aws:iam::111122223333:policy/deployers";

    /// PR004's findings for attaching a customer managed policy the account holds.
    fn attach(policy: serde_json::Value) -> Vec<crate::Finding> {
        let mut account = Snapshot::default();
        account.managed_policies.insert(
            ARN.into(),
            Lookup::Found(PolicyDocument::from_value_owned(&policy).unwrap()),
        );
        let record: Record = serde_json::from_value(json!({
            "eventSource": "iam.amazonaws.com",
            "eventName": "AttachRolePolicy",
            "eventID": "pr004-test",
            "recipientAccountId": "111122223333",
            "requestParameters": {"roleName": "ci", "policyArn": ARN},
        }))
        .unwrap();
        Engine::new(Baseline::embedded().unwrap())
            .evaluate(&Event::new(record, None), &account)
            .findings
            .into_iter()
            .filter(|f| f.rule_id == "PR004")
            .collect()
    }

    #[test]
    fn a_customer_policy_is_judged_by_its_effective_grant() {
        let allow = json!({"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*",
            "Condition": {"StringLike": {"iam:PassedToService": "*"}}});
        let findings = attach(json!({"Version": "2012-10-17", "Statement": [allow]}));
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(
            findings[0].message.contains("statement 0"),
            "{}",
            findings[0].message
        );
        let notes = &findings[0].evidence["grant"]["notes"];
        assert!(notes.to_string().contains("does not limit"), "{notes}");

        let only_lambda = json!({"Effect": "Deny", "Action": "iam:PassRole", "Resource": "*",
            "Condition": {"StringNotEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}});
        assert!(
            attach(json!({"Version": "2012-10-17", "Statement": [allow, only_lambda]})).is_empty()
        );
    }
}
