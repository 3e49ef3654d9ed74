//! Live IAM reads behind [`AccountView`]: the roles passed to Lex/Connect (PR005/PR006) and the
//! customer managed policies attached by an event (PR004). IAM returns every policy document
//! URL-encoded; the core decoder ([`PolicyDocument::decode_str`]) reads them.
//!
//! Answers are cached in the warm container (see [`super::cache`]): found and missing entities
//! for the TTL; a failed lookup is not cached, so the next event tries again. A failure is an
//! [`AwsError`] until it leaves this module as [`Lookup::Unavailable`], whose reason is text.

use std::future::Future;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_iam::types::Role;
use aws_sdk_iam::Client;
use chrono::{DateTime, Utc};

use super::cache::{TtlCache, DEFAULT_CAPACITY};
use super::error::{error_code, About, AwsError, ErrorKind};
use super::{CallCounter, Lazy};
use crate::account::{Lookup, NamedPolicy, RoleFacts};
use crate::policy::PolicyDocument;

pub struct IamReader {
    client: Lazy<Client>,
    /// Found (`Some`) and missing (`None`) entities; failures are not cached.
    roles: TtlCache<String, Option<RoleFacts>>,
    policies: TtlCache<String, Option<PolicyDocument<'static>>>,
}

impl IamReader {
    pub fn new(config: &SdkConfig, calls: &CallCounter, ttl: Duration) -> Self {
        IamReader {
            client: counted_client!(aws_sdk_iam, config, calls),
            roles: TtlCache::new(ttl, DEFAULT_CAPACITY),
            policies: TtlCache::new(ttl, DEFAULT_CAPACITY),
        }
    }

    /// A role with its trust policy, inline and attached policies.
    pub async fn role(&self, name: &str) -> Lookup<RoleFacts> {
        lookup(cached(&self.roles, name, || self.fetch_role(name)).await)
    }

    /// The default version of a managed policy.
    pub async fn managed_policy(&self, arn: &str) -> Lookup<PolicyDocument<'static>> {
        lookup(self.policy(arn).await)
    }

    async fn policy(&self, arn: &str) -> Result<Option<PolicyDocument<'static>>, AwsError> {
        cached(&self.policies, arn, || self.fetch_managed_policy(arn)).await
    }

    async fn fetch_role(&self, name: &str) -> Result<Option<RoleFacts>, AwsError> {
        const OPERATION: &str = "iam:GetRole";
        let about = || About::Role(name.to_owned());
        let answer = self.client.get_role().role_name(name).send().await;
        let Some(out) = existing(answer, OPERATION, about)? else {
            return Ok(None);
        };
        let Some(role) = out.role else {
            return Err(AwsError::unusable(OPERATION, "the answer holds no role").about(about()));
        };
        let mut facts = role_facts(&role)?;
        facts.inline_policies = self.inline_policies(name).await?;
        for arn in attached_policy_arns(&self.client, name).await? {
            // Missing when detached between the two calls: it no longer grants anything.
            if let Some(document) = self.policy(&arn).await? {
                facts.attached_policies.push(NamedPolicy {
                    name: arn,
                    document,
                });
            }
        }
        Ok(Some(facts))
    }

    async fn inline_policies(&self, role: &str) -> Result<Vec<NamedPolicy>, AwsError> {
        const OPERATION: &str = "iam:GetRolePolicy";
        let names = inline_policy_names(&self.client, role).await?;
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            let about = || About::RolePolicy {
                role: role.to_owned(),
                policy: name.clone(),
            };
            let answer = self
                .client
                .get_role_policy()
                .role_name(role)
                .policy_name(&name)
                .send()
                .await;
            // Deleted between the listing and this call.
            let Some(policy) = existing(answer, OPERATION, about)? else {
                continue;
            };
            let document = decode(&policy.policy_document, OPERATION, about)?;
            out.push(NamedPolicy { name, document });
        }
        Ok(out)
    }

    async fn fetch_managed_policy(
        &self,
        arn: &str,
    ) -> Result<Option<PolicyDocument<'static>>, AwsError> {
        const GET_VERSION: &str = "iam:GetPolicyVersion";
        let answer = self.client.get_policy().policy_arn(arn).send().await;
        let about = || About::Policy(arn.to_owned());
        let Some(out) = existing(answer, "iam:GetPolicy", about)? else {
            return Ok(None);
        };
        let Some(version) = out.policy.and_then(|p| p.default_version_id) else {
            return Err(AwsError::unusable("iam:GetPolicy", "no default version").about(about()));
        };
        let about = || About::PolicyVersion {
            policy: arn.to_owned(),
            version: version.clone(),
        };
        let answer = self
            .client
            .get_policy_version()
            .policy_arn(arn)
            .version_id(&version)
            .send()
            .await;
        let Some(out) = existing(answer, GET_VERSION, about)? else {
            return Ok(None);
        };
        let Some(text) = out.policy_version.and_then(|v| v.document) else {
            return Err(AwsError::unusable(GET_VERSION, "no document").about(about()));
        };
        decode(&text, GET_VERSION, about).map(Some)
    }
}

/// A call's answer, or `None` when IAM says the entity does not exist (`NoSuchEntity`).
fn existing<T, E>(
    answer: Result<T, SdkError<E, aws_smithy_runtime_api::http::Response>>,
    operation: &'static str,
    about: impl FnOnce() -> About,
) -> Result<Option<T>, AwsError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match answer {
        Ok(out) => Ok(Some(out)),
        Err(e) if error_code(&e) == Some("NoSuchEntity") => Ok(None),
        Err(e) => Err(AwsError::from_sdk(operation, &e).about(about())),
    }
}

/// A policy document from `operation`'s answer (IAM returns them URL-encoded).
fn decode(
    text: &str,
    operation: &'static str,
    about: impl FnOnce() -> About,
) -> Result<PolicyDocument<'static>, AwsError> {
    PolicyDocument::decode_str(text)
        .map(PolicyDocument::into_owned)
        .map_err(|e| AwsError::new(operation, ErrorKind::Document(e)).about(about()))
}

/// `key`'s answer from `cache`, else from `fetch`. Found and missing entities are cached; a
/// failure is not, so the next event tries again.
async fn cached<T, F>(
    cache: &TtlCache<String, Option<T>>,
    key: &str,
    fetch: impl FnOnce() -> F,
) -> Result<Option<T>, AwsError>
where
    T: Clone,
    F: Future<Output = Result<Option<T>, AwsError>>,
{
    let key = key.to_owned();
    if let Some(hit) = cache.get(&key) {
        return Ok(hit);
    }
    let answer = fetch().await?;
    cache.insert(key, answer.clone());
    Ok(answer)
}

/// A read as the core takes it: a failure is unavailable, with the reason in words.
fn lookup<T>(answer: Result<Option<T>, AwsError>) -> Lookup<T> {
    match answer {
        Ok(Some(found)) => Lookup::Found(found),
        Ok(None) => Lookup::Missing,
        Err(e) => Lookup::Unavailable(e.to_string()),
    }
}

/// The names of a role's inline policies (`ListRolePolicies`, every page).
pub(crate) async fn inline_policy_names(
    client: &Client,
    role: &str,
) -> Result<Vec<String>, AwsError> {
    client
        .list_role_policies()
        .role_name(role)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| {
            AwsError::from_sdk("iam:ListRolePolicies", &e).about(About::Role(role.to_owned()))
        })
}

/// The ARNs of a role's attached managed policies (`ListAttachedRolePolicies`, every page).
pub(crate) async fn attached_policy_arns(
    client: &Client,
    role: &str,
) -> Result<Vec<String>, AwsError> {
    let attached: Vec<_> = client
        .list_attached_role_policies()
        .role_name(role)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| {
            AwsError::from_sdk("iam:ListAttachedRolePolicies", &e)
                .about(About::Role(role.to_owned()))
        })?;
    Ok(attached.into_iter().filter_map(|p| p.policy_arn).collect())
}

/// What `GetRole` (or a `ListRoles` entry) says of a role; policies are filled in separately.
pub fn role_facts(role: &Role) -> Result<RoleFacts, AwsError> {
    let trust_policy = match role.assume_role_policy_document.as_deref() {
        None => None,
        Some(text) => Some(decode(text, "iam:GetRole", || {
            About::Role(role.role_name.clone())
        })?),
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
