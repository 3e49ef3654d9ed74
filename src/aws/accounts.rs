//! Reading many accounts: the credentials' own account with its own credentials, every other
//! account through its reader role (`arn:<partition>:iam::<account>:role/<name>`, deployed by
//! `forwarder.yaml` in each member account), assumed with `sts:AssumeRole`.
//!
//! Assumed credentials are kept per account until five minutes before they expire, in a
//! bounded map; each account has its own [`AccountReader`], so IAM answers are cached per
//! account and never cross from one account to another. A role that cannot be assumed is
//! remembered for a minute, so a burst of events from a misconfigured account costs one call,
//! and each of those events says why it was not enriched. Without a reader role nothing but the
//! own account is read: an event from elsewhere is judged from what it carries. When nobody can
//! say whose the credentials are (STS unreachable), they are used as they are.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use aws_config::SdkConfig;
use aws_sdk_sts::config::{Credentials, SharedCredentialsProvider};
use tokio::sync::OnceCell;

use super::cache::TtlCache;
use super::error::{About, AwsError};
use super::gather::{SweepOptions, SweepStats};
use super::reader::AccountReader;
use super::{CallCounter, Lazy};
use crate::account::{Lookup, Needs, Organization, Snapshot};
use crate::baseline::Baseline;
use crate::state::{AccountState, Gap};

/// Assumed credentials are renewed this long before they expire.
const RENEW_BEFORE: Duration = Duration::from_secs(300);
/// How long a failed `AssumeRole` is remembered before it is tried again.
const RETRY_FAILED_AFTER: Duration = Duration::from_secs(60);
/// Accounts whose credentials are kept at once; past it the entry that expires first goes.
pub const MAX_ACCOUNTS: usize = 256;
/// The longest assumed credentials are kept (AssumeRole's default lifetime is an hour).
const CREDENTIALS_AT_MOST: Duration = Duration::from_secs(12 * 3600);
/// The session name CloudTrail shows in the member account for every call rolewarden makes.
pub const SESSION_NAME: &str = "rolewarden";
const ASSUME_ROLE: &str = "sts:AssumeRole";

/// The role rolewarden assumes in every account but its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderRole {
    /// The role's name, the same in every account (`RolewardenReader`).
    pub name: String,
    /// `sts:ExternalId`, when the role's trust policy asks for one.
    pub external_id: Option<String>,
}

impl ReaderRole {
    /// The reader role's ARN in `account`, in the partition of `region`.
    pub fn arn(&self, account: &str, region: Option<&str>) -> String {
        let partition = crate::arn::partition(region.unwrap_or("us-east-1"));
        format!("arn:{partition}:iam::{account}:role/{}", self.name)
    }
}

/// Every account rolewarden reads, each with the right credentials.
pub struct Accounts {
    config: SdkConfig,
    calls: CallCounter,
    ttl: Duration,
    regions: Vec<String>,
    own: Arc<AccountReader>,
    /// The credentials' own account: given (the function's ARN), else asked of STS once.
    home: OnceCell<Option<String>>,
    role: Option<ReaderRole>,
    sts: Lazy<aws_sdk_sts::Client>,
    /// Each account's reader, until shortly before its credentials expire, or why there is
    /// none, for a minute.
    assumed: TtlCache<String, Result<Arc<AccountReader>, String>>,
    organizations: super::organization::OrganizationsClient,
    /// The organization, for the IAM cache's TTL (a failure for a minute).
    organization: TtlCache<(), Lookup<Organization>>,
}

impl Accounts {
    /// `home`: the credentials' own account when the caller knows it; `role`: the reader role to
    /// assume in every other account (`None`: other accounts are not read).
    pub fn new(
        config: &SdkConfig,
        calls: &CallCounter,
        ttl: Duration,
        baseline: &Baseline,
        home: Option<String>,
        role: Option<ReaderRole>,
    ) -> Self {
        let own = AccountReader::new(config, &calls.child(), ttl, baseline);
        let regions = own.regions().to_vec();
        let cell = OnceCell::new();
        if home.is_some() {
            let _ = cell.set(home);
        }
        Accounts {
            config: config.clone(),
            calls: calls.clone(),
            ttl,
            regions,
            own: Arc::new(own),
            home: cell,
            role,
            sts: counted_client!(aws_sdk_sts, config, calls),
            assumed: TtlCache::new(CREDENTIALS_AT_MOST, MAX_ACCOUNTS),
            organizations: super::organization::organizations_client(config, calls),
            organization: TtlCache::new(ttl, 1),
        }
    }

    /// The credentials' own account, when the caller learns it (the function's ARN); ignored
    /// once known.
    pub fn set_home(&self, account: &str) {
        let _ = self.home.set(Some(account.to_owned()));
    }

    pub fn role(&self) -> Option<&ReaderRole> {
        self.role.as_ref()
    }

    pub fn own(&self) -> &AccountReader {
        &self.own
    }

    /// The region the SDK is configured for.
    pub fn home_region(&self) -> Option<String> {
        self.own.sweeper().home_region()
    }

    /// The credentials' own account (`sts:GetCallerIdentity`, asked once); `None` when STS
    /// cannot say.
    pub async fn home(&self) -> Option<String> {
        self.home
            .get_or_init(|| async {
                super::caller_account(&self.sts)
                    .await
                    .map_err(|e| {
                        tracing::warn!("cannot tell which account the credentials are in: {e}");
                    })
                    .ok()
            })
            .await
            .clone()
    }

    /// The reader of `account`: the own one for the own account (or an unknown one), an
    /// assumed one for another account, or why there is none.
    pub async fn reader(&self, account: Option<&str>) -> Result<Arc<AccountReader>, String> {
        let Some(account) = account else {
            return Ok(self.own.clone());
        };
        // When STS cannot say whose the credentials are (unreachable, none), they are used as
        // they are: a call they cannot make fails and says why, as it always did.
        let Some(home) = self.home().await else {
            return Ok(self.own.clone());
        };
        if home == account {
            return Ok(self.own.clone());
        }
        let Some(role) = &self.role else {
            return Err(format!(
                "the event is from account {account}; enrichment reads account {home} only (no reader role to assume)"
            ));
        };
        if let Some(known) = self.assumed.get(&account.to_owned()) {
            return known;
        }
        let (answer, until) = self.assume(role, account).await;
        self.assumed
            .insert_until(account.to_owned(), answer.clone(), until);
        answer
    }

    /// The account's reader through its reader role, or why there is none; and until when
    /// the answer may be kept.
    async fn assume(
        &self,
        role: &ReaderRole,
        account: &str,
    ) -> (Result<Arc<AccountReader>, String>, Instant) {
        let arn = role.arn(account, self.home_region().as_deref());
        let failed = |reason: String| (Err(reason), Instant::now() + RETRY_FAILED_AFTER);
        let answer = self
            .sts
            .assume_role()
            .role_arn(&arn)
            .role_session_name(SESSION_NAME)
            .set_external_id(role.external_id.clone())
            .send()
            .await;
        let credentials = match answer {
            Ok(answer) => answer.credentials,
            Err(e) => {
                let e = AwsError::from_sdk(ASSUME_ROLE, &e).about(About::Role(arn));
                return failed(e.to_string());
            }
        };
        let Some(c) = credentials else {
            return failed(
                AwsError::unusable(ASSUME_ROLE, "the answer holds no credentials")
                    .about(About::Role(arn))
                    .to_string(),
            );
        };
        let expires = SystemTime::try_from(c.expiration).ok();
        let renew_at = expires
            .and_then(|at| at.duration_since(SystemTime::now()).ok())
            .map_or(Instant::now() + RETRY_FAILED_AFTER, |left| {
                Instant::now() + left.saturating_sub(RENEW_BEFORE)
            });
        let credentials = Credentials::new(
            c.access_key_id,
            c.secret_access_key,
            Some(c.session_token),
            expires,
            "rolewarden-reader-role",
        );
        let config = self
            .config
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .build();
        let reader = AccountReader::with_regions(
            &config,
            &self.calls.child(),
            self.ttl,
            self.regions.clone(),
        );
        (Ok(Arc::new(reader)), renew_at)
    }

    /// Everything `needs` names, read from the event's account, or a snapshot that says why it
    /// cannot be. The organization is the same for every account of it, so it is read with the
    /// credentials' own.
    pub async fn snapshot(&self, needs: &Needs, baseline: &Baseline) -> Snapshot {
        let mut snapshot = match self.reader(needs.account.as_deref()).await {
            Ok(reader) => reader.snapshot(needs, baseline).await,
            Err(reason) => Snapshot::unavailable(reason),
        };
        if needs.organization {
            snapshot.organization = Some(self.organization().await);
        }
        snapshot
    }

    /// The organization of the credentials' account: its id (`DescribeOrganization`), and
    /// its accounts when they may be listed (`ListAccounts`: the management account or a
    /// delegated administrator). Kept for the cache's TTL, a failure for a minute.
    pub async fn organization(&self) -> Lookup<Organization> {
        if let Some(known) = self.organization.get(&()) {
            return known;
        }
        let answer = match super::organization::organization_id(&self.organizations).await {
            Ok(id) => match id {
                Some(id) => {
                    let accounts = super::organization::organization_accounts(&self.organizations)
                        .await
                        .ok()
                        .map(|a| a.into_iter().collect());
                    Lookup::Found(Organization { id, accounts })
                }
                None => Lookup::Unavailable(
                    "organizations:DescribeOrganization: the answer names no organization".into(),
                ),
            },
            Err(e) => Lookup::Unavailable(e.to_string()),
        };
        match answer {
            Lookup::Found(_) => self.organization.insert((), answer.clone()),
            _ => self.organization.insert_until(
                (),
                answer.clone(),
                Instant::now() + RETRY_FAILED_AFTER,
            ),
        }
        answer
    }
    /// A sweep of `options.account` (the own account when `None`). An account that cannot be
    /// read at all is one gap, so its sweep reports RW002 with the cause and nothing else.
    pub async fn sweep(
        &self,
        baseline: &Baseline,
        options: &SweepOptions,
    ) -> (AccountState, SweepStats) {
        match self.reader(options.account.as_deref()).await {
            Ok(reader) => reader.sweeper().gather(baseline, options).await,
            Err(reason) => {
                let state = AccountState {
                    account: options.account.clone(),
                    scope: options.scope.clone(),
                    regions: options.regions.clone(),
                    gaps: vec![Gap {
                        // The rules that judge the account's roles stay silent on this one.
                        what: "iam:ListRoles".into(),
                        reason,
                        profile: None,
                    }],
                    ..AccountState::default()
                };
                let stats = SweepStats {
                    gaps: 1,
                    ..SweepStats::default()
                };
                (state, stats)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reader_role_takes_the_partition_of_the_region() {
        let role = ReaderRole {
            name: "RolewardenReader".into(),
            external_id: None,
        };
        assert_eq!(
            role.arn("444455556666", Some("eu-west-2")),
            "arn:aws:iam::444455556666:role/RolewardenReader"
        );
        assert_eq!(
            role.arn("444455556666", Some("cn-north-1")),
            "arn:aws-cn:iam::444455556666:role/RolewardenReader"
        );
    }
}
