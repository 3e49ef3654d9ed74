//! Live IAM reads behind [`AccountView`]: the roles passed to Lex/Connect (PR005/PR006) and the
//! customer managed policies attached by an event (PR004). IAM returns every policy document
//! URL-encoded; the core decoder ([`PolicyDocument::decode_str`]) reads them.
//!
//! Answers are cached in the warm container (see [`super::cache`]): found and missing entities
//! for the TTL; a failed lookup is not cached, so the next event tries again.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_iam::types::Role;
use aws_sdk_iam::Client;
use chrono::{DateTime, Utc};

use super::cache::{TtlCache, DEFAULT_CAPACITY};
use super::{describe, error_code, CallCounter};
use crate::account::{Lookup, NamedPolicy, RoleFacts};
use crate::policy::PolicyDocument;

pub struct IamReader {
    client: Client,
    roles: TtlCache<String, Lookup<RoleFacts>>,
    policies: TtlCache<String, Lookup<PolicyDocument>>,
}

impl IamReader {
    pub fn new(config: &SdkConfig, calls: &CallCounter, ttl: Duration) -> Self {
        let conf = aws_sdk_iam::config::Builder::from(config)
            .interceptor(calls.clone())
            .build();
        Self::with_client(Client::from_conf(conf), ttl)
    }

    pub fn with_client(client: Client, ttl: Duration) -> Self {
        IamReader {
            client,
            roles: TtlCache::new(ttl, DEFAULT_CAPACITY),
            policies: TtlCache::new(ttl, DEFAULT_CAPACITY),
        }
    }

    /// A role with its trust policy, inline and attached policies.
    pub async fn role(&self, name: &str) -> Lookup<RoleFacts> {
        if let Some(hit) = self.roles.get(&name.to_owned()) {
            return hit;
        }
        let answer = match self.fetch_role(name).await {
            Ok(answer) => answer,
            Err(reason) => return Lookup::Unavailable(reason),
        };
        self.roles.insert(name.to_owned(), answer.clone());
        answer
    }

    /// The default version of a managed policy.
    pub async fn managed_policy(&self, arn: &str) -> Lookup<PolicyDocument> {
        if let Some(hit) = self.policies.get(&arn.to_owned()) {
            return hit;
        }
        let answer = match self.fetch_managed_policy(arn).await {
            Ok(answer) => answer,
            Err(reason) => return Lookup::Unavailable(reason),
        };
        self.policies.insert(arn.to_owned(), answer.clone());
        answer
    }

    async fn fetch_role(&self, name: &str) -> Result<Lookup<RoleFacts>, String> {
        let role = match self.client.get_role().role_name(name).send().await {
            Ok(out) => out.role,
            Err(e) if error_code(&e) == Some("NoSuchEntity") => return Ok(Lookup::Missing),
            Err(e) => return Err(format!("iam:GetRole `{name}`: {}", describe(&e))),
        };
        let Some(role) = role else {
            return Err(format!("iam:GetRole `{name}`: the answer holds no role"));
        };
        let mut facts = role_facts(&role)?;
        facts.inline_policies = self.inline_policies(name).await?;
        for arn in attached_policy_arns(&self.client, name).await? {
            match self.managed_policy(&arn).await {
                Lookup::Found(document) => facts.attached_policies.push(NamedPolicy {
                    name: arn,
                    document,
                }),
                // Detached between the two calls: it no longer grants anything.
                Lookup::Missing => {}
                Lookup::Unavailable(reason) => return Err(reason),
            }
        }
        Ok(Lookup::Found(facts))
    }

    async fn inline_policies(&self, role: &str) -> Result<Vec<NamedPolicy>, String> {
        let names = inline_policy_names(&self.client, role).await?;
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            let answer = self
                .client
                .get_role_policy()
                .role_name(role)
                .policy_name(&name)
                .send()
                .await;
            let text = match answer {
                Ok(out) => out.policy_document,
                Err(e) if error_code(&e) == Some("NoSuchEntity") => continue,
                Err(e) => {
                    return Err(format!(
                        "iam:GetRolePolicy `{role}`/`{name}`: {}",
                        describe(&e)
                    ))
                }
            };
            let document = PolicyDocument::decode_str(&text)
                .map_err(|e| format!("inline policy `{name}` of role `{role}`: {e}"))?;
            out.push(NamedPolicy { name, document });
        }
        Ok(out)
    }

    async fn fetch_managed_policy(&self, arn: &str) -> Result<Lookup<PolicyDocument>, String> {
        let policy = match self.client.get_policy().policy_arn(arn).send().await {
            Ok(out) => out.policy,
            Err(e) if error_code(&e) == Some("NoSuchEntity") => return Ok(Lookup::Missing),
            Err(e) => return Err(format!("iam:GetPolicy `{arn}`: {}", describe(&e))),
        };
        let Some(version) = policy.and_then(|p| p.default_version_id) else {
            return Err(format!("iam:GetPolicy `{arn}`: no default version"));
        };
        let answer = self
            .client
            .get_policy_version()
            .policy_arn(arn)
            .version_id(&version)
            .send()
            .await;
        let document = match answer {
            Ok(out) => out.policy_version.and_then(|v| v.document),
            Err(e) if error_code(&e) == Some("NoSuchEntity") => return Ok(Lookup::Missing),
            Err(e) => {
                return Err(format!(
                    "iam:GetPolicyVersion `{arn}` {version}: {}",
                    describe(&e)
                ))
            }
        };
        let Some(text) = document else {
            return Err(format!(
                "iam:GetPolicyVersion `{arn}` {version}: no document"
            ));
        };
        PolicyDocument::decode_str(&text)
            .map(Lookup::Found)
            .map_err(|e| format!("managed policy `{arn}` {version}: {e}"))
    }
}

/// The names of a role's inline policies (`ListRolePolicies`, every page).
pub(crate) async fn inline_policy_names(
    client: &Client,
    role: &str,
) -> Result<Vec<String>, String> {
    client
        .list_role_policies()
        .role_name(role)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| format!("iam:ListRolePolicies `{role}`: {}", describe(&e)))
}

/// The ARNs of a role's attached managed policies (`ListAttachedRolePolicies`, every page).
pub(crate) async fn attached_policy_arns(
    client: &Client,
    role: &str,
) -> Result<Vec<String>, String> {
    let attached: Vec<_> = client
        .list_attached_role_policies()
        .role_name(role)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| format!("iam:ListAttachedRolePolicies `{role}`: {}", describe(&e)))?;
    Ok(attached.into_iter().filter_map(|p| p.policy_arn).collect())
}

/// What `GetRole` (or a `ListRoles` entry) says of a role; policies are filled in separately.
pub fn role_facts(role: &Role) -> Result<RoleFacts, String> {
    let trust_policy = match role.assume_role_policy_document.as_deref() {
        None => None,
        Some(text) => Some(
            PolicyDocument::decode_str(text)
                .map_err(|e| format!("trust policy of role `{}`: {e}", role.role_name))?,
        ),
    };
    Ok(RoleFacts {
        arn: role.arn.clone(),
        name: role.role_name.clone(),
        path: role.path.clone(),
        create_date: to_chrono(&role.create_date),
        last_used: role
            .role_last_used
            .as_ref()
            .and_then(|u| u.last_used_date.as_ref())
            .and_then(to_chrono),
        trust_policy,
        inline_policies: Vec::new(),
        attached_policies: Vec::new(),
    })
}

pub(crate) fn to_chrono(t: &aws_sdk_iam::primitives::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}
