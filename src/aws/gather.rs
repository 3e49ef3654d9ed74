//! Reading the account for the sweep: roles from IAM, dependents from Lex V2, Lex V1 and
//! Connect. What cannot be read becomes a [`Gap`] (RW002) and the rules that needed it stay
//! silent; nothing fails the sweep as a whole.
//!
//! API calls for N roles, C candidates (non-SLR roles trusting a profiled service principal),
//! S profiled service-linked roles and R regions: `ceil(N/1000)` ListRoles pages + C GetRole +
//! 2·S (ListRolePolicies, ListAttachedRolePolicies) + one listing per profile with dependents and
//! region (more when a listing has several pages). `ListRoles` carries each trust policy, so
//! candidates are chosen without a call per role; only `GetRole` has `RoleLastUsed`. A re-check
//! after a delete event lists only `/aws-service-role/` roles and reads no policies: a deleted
//! bot cannot change them.
//!
//! Role lookups run with bounded concurrency, retried by the SDK on throttling. Everything runs
//! within a time budget: past the deadline no call starts, calls in flight are abandoned, and
//! what was not read is a gap, so the caller still has time to write what was found.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use aws_config::{Region, SdkConfig};
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::error::{About, AwsError, ErrorKind};
use super::iam::{attached_policy_arns, inline_policy_names, to_chrono};
use super::rest_json::{self, Call, Request};
use super::{CallCounter, Lazy};
use crate::account::Dependent;
use crate::arn;
use crate::baseline::{Baseline, DependentKind, Profile};
use crate::state::{AccountState, Gap, Listing, Scope, SweptRole};

/// Calls in flight at once: enough to hide latency, few enough not to be throttled.
pub const DEFAULT_CONCURRENCY: usize = 8;

const OUT_OF_TIME: &str = "time budget exhausted";

const LIST_ROLES: &str = "iam:ListRoles";

/// The call that lists one kind of dependent.
fn listing_operation(kind: DependentKind) -> &'static str {
    match kind {
        DependentKind::LexV2Bots => "lex:ListBots",
        DependentKind::LexV1Bots => "lex:GetBots",
        DependentKind::ConnectInstances => "connect:ListInstances",
    }
}

/// What to sweep and how long it may take.
#[derive(Debug, Clone)]
pub struct SweepOptions {
    pub scope: Scope,
    /// Regions to list dependents in (see [`regions`]).
    pub regions: Vec<String>,
    /// No call starts, and none is waited for, after this instant.
    pub deadline: Option<Instant>,
    pub concurrency: usize,
    /// The account, when the trigger says (the scheduled event's `account`).
    pub account: Option<String>,
}

/// How a sweep went: the numbers the README's call formula speaks of.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SweepStats {
    pub roles_listed: u64,
    pub list_pages: u64,
    pub candidates: u64,
    pub service_linked_roles: u64,
    pub listings: u64,
    pub gaps: u64,
    /// Every call made, by `service:Operation`.
    pub api_calls: std::collections::BTreeMap<String, u64>,
    pub elapsed_ms: u64,
}

/// The Lex and Connect clients of one region.
#[derive(Clone)]
struct RegionClients {
    lex_v2: Call<ListBots>,
    lex_v1: Call<GetBots>,
    connect: Call<ListInstances>,
}

/// The token a listing's next page is asked for with (none for the first page).
#[derive(Serialize)]
struct PageAfter<'a> {
    #[serde(rename = "nextToken", skip_serializing_if = "Option::is_none")]
    next_token: Option<&'a str>,
}

/// `lex:ListBots`' answer (Lex V2), as much of it as the sweep reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListBots {
    #[serde(default, deserialize_with = "rest_json::list")]
    bot_summaries: Vec<BotSummary>,
    next_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BotSummary {
    bot_id: Option<String>,
    bot_name: Option<String>,
    bot_status: Option<String>,
}

/// `lex:GetBots`' answer (Lex V1).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetBots {
    #[serde(default, deserialize_with = "rest_json::list")]
    bots: Vec<BotMetadata>,
    next_token: Option<String>,
}

#[derive(Debug, Deserialize)]
struct BotMetadata {
    name: Option<String>,
}

/// `connect:ListInstances`'s answer, as much of it as the sweep reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListInstances {
    #[serde(default, deserialize_with = "rest_json::list")]
    instance_summary_list: Vec<InstanceSummary>,
    next_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InstanceSummary {
    id: Option<String>,
    arn: Option<String>,
    instance_alias: Option<String>,
    service_role: Option<String>,
}

/// The SDK clients a sweep needs, built once; Lex and Connect clients once per region.
#[derive(Clone)]
pub struct Sweeper {
    config: SdkConfig,
    calls: CallCounter,
    iam: Lazy<aws_sdk_iam::Client>,
    regional: Arc<Mutex<HashMap<String, RegionClients>>>,
}

/// `future`'s output, unless the deadline comes first (`None`). Past the deadline it is not
/// started at all (`timeout_at` would poll it once, and so send the call).
async fn within<T>(deadline: Option<Instant>, future: impl Future<Output = T>) -> Option<T> {
    match deadline {
        None => Some(future.await),
        Some(at) if Instant::now() >= at => None,
        Some(at) => tokio::time::timeout_at(at.into(), future).await.ok(),
    }
}

/// `operation` was cut off by the time budget.
fn out_of_time(operation: &'static str) -> AwsError {
    AwsError::new(operation, ErrorKind::OutOfTime)
}

impl Sweeper {
    pub fn new(config: &SdkConfig, calls: &CallCounter) -> Self {
        Sweeper {
            config: config.clone(),
            calls: calls.clone(),
            iam: counted_client!(aws_sdk_iam, config, calls),
            regional: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The region the SDK is configured for: the sweep's default region.
    pub fn home_region(&self) -> Option<String> {
        self.config.region().map(|r| r.to_string())
    }

    fn clients(&self, region: &str) -> RegionClients {
        let build = || {
            let r = Region::new(region.to_owned());
            RegionClients {
                lex_v2: Call::in_region(
                    &self.config,
                    r.clone(),
                    rest_json::LEX_V2,
                    "ListBots",
                    &self.calls,
                ),
                lex_v1: Call::in_region(
                    &self.config,
                    r.clone(),
                    rest_json::LEX_V1,
                    "GetBots",
                    &self.calls,
                ),
                connect: Call::in_region(
                    &self.config,
                    r,
                    rest_json::CONNECT,
                    "ListInstances",
                    &self.calls,
                ),
            }
        };
        match self.regional.lock() {
            Ok(mut cache) => cache.entry(region.to_owned()).or_insert_with(build).clone(),
            Err(_) => build(),
        }
    }

    /// Reads the account as `options` asks.
    pub async fn gather(
        &self,
        baseline: &Baseline,
        options: &SweepOptions,
    ) -> (AccountState, SweepStats) {
        let started = Instant::now();
        let before = self.calls.snapshot();
        let mut stats = SweepStats::default();
        let mut state = AccountState {
            account: options.account.clone(),
            scope: options.scope.clone(),
            regions: options.regions.clone(),
            ..Default::default()
        };
        let profiles: Vec<&Profile> = baseline
            .profiles
            .iter()
            .filter(|p| options.scope.covers(&p.name))
            .collect();

        let path_prefix = match options.scope {
            Scope::Full => None,
            // A re-check looks at service-linked roles only; they all live under this path.
            Scope::Profiles(_) => Some("/aws-service-role/"),
        };
        match self
            .list_roles(path_prefix, options.deadline, &mut stats, &mut state.gaps)
            .await
        {
            Ok(roles) => state.roles = roles,
            Err(e) => state.gaps.push(Gap {
                what: LIST_ROLES.into(),
                reason: e.kind.to_string(),
                profile: None,
            }),
        }
        if state.account.is_none() {
            state.account = state.account_from_roles();
        }

        self.detail_roles(baseline, &profiles, options, &mut state, &mut stats)
            .await;

        for profile in &profiles {
            let Some(spec) = &profile.dependents else {
                continue;
            };
            for region in &options.regions {
                let what = format!("{} in {region}", spec.kind.as_str());
                if past(options.deadline) {
                    state.gaps.push(Gap {
                        what,
                        reason: format!("{OUT_OF_TIME} before the listing started"),
                        profile: Some(profile.name.clone()),
                    });
                    continue;
                }
                stats.listings += 1;
                let listed = within(
                    options.deadline,
                    self.list_dependents(spec.kind, region, state.account.as_deref()),
                )
                .await
                .unwrap_or_else(|| Err(out_of_time(listing_operation(spec.kind))));
                match listed {
                    Ok(resources) => state.listings.push(Listing {
                        profile: profile.name.clone(),
                        kind: spec.kind,
                        region: region.clone(),
                        resources,
                    }),
                    Err(e) => state.gaps.push(Gap {
                        what,
                        reason: e.to_string(),
                        profile: Some(profile.name.clone()),
                    }),
                }
            }
        }

        state.gaps.sort_by(|a, b| a.what.cmp(&b.what));
        stats.gaps = state.gaps.len() as u64;
        stats.api_calls = super::difference(&before, &self.calls.snapshot());
        stats.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        (state, stats)
    }

    async fn list_roles(
        &self,
        path_prefix: Option<&str>,
        deadline: Option<Instant>,
        stats: &mut SweepStats,
        gaps: &mut Vec<Gap>,
    ) -> Result<Vec<SweptRole>, AwsError> {
        let mut pages = self
            .iam
            .list_roles()
            .set_path_prefix(path_prefix.map(str::to_owned))
            .max_items(1000)
            .into_paginator()
            .send();
        let mut out = Vec::new();
        loop {
            let next = within(deadline, pages.next())
                .await
                .ok_or_else(|| out_of_time(LIST_ROLES))?;
            let Some(page) = next else {
                return Ok(out);
            };
            let page = page.map_err(|e| AwsError::from_sdk(LIST_ROLES, &e))?;
            stats.list_pages += 1;
            for role in page.roles {
                stats.roles_listed += 1;
                let (role, problem) = swept_role(&role);
                if let Some(reason) = problem {
                    gaps.push(Gap {
                        what: format!("trust policy of role `{}`", role.name),
                        reason,
                        profile: None,
                    });
                }
                out.push(role);
            }
        }
    }

    /// GetRole for OR001 candidates; in a full sweep, the policy listings of profiled
    /// service-linked roles (SL008).
    async fn detail_roles(
        &self,
        baseline: &Baseline,
        profiles: &[&Profile],
        options: &SweepOptions,
        state: &mut AccountState,
        stats: &mut SweepStats,
    ) {
        #[derive(Clone, Copy)]
        enum Want {
            LastUsed,
            Policies,
        }
        let full = matches!(options.scope, Scope::Full);
        let mut work: Vec<(usize, Want)> = Vec::new();
        for (i, role) in state.roles.iter().enumerate() {
            if profiles.iter().any(|p| p.owns_slr(&role.name, &role.path)) {
                stats.service_linked_roles += 1;
                if full {
                    work.push((i, Want::Policies));
                }
            } else if full && role.trusts_profiled_service(baseline) {
                stats.candidates += 1;
                work.push((i, Want::LastUsed));
            }
        }

        let permits = Arc::new(Semaphore::new(options.concurrency.max(1)));
        let mut tasks: JoinSet<(usize, Result<RoleDetail, AwsError>)> = JoinSet::new();
        let mut not_started = 0usize;
        for (index, want) in work {
            let permit = match within(options.deadline, permits.clone().acquire_owned()).await {
                Some(Ok(permit)) if !past(options.deadline) => permit,
                _ => {
                    not_started += 1;
                    continue;
                }
            };
            let iam = self.iam.clone();
            let name = state
                .roles
                .get(index)
                .map(|r| r.name.clone())
                .unwrap_or_default();
            tasks.spawn(async move {
                let detail = match want {
                    Want::LastUsed => last_used(&iam, &name).await.map(RoleDetail::LastUsed),
                    Want::Policies => {
                        let inline = inline_policy_names(&iam, &name).await;
                        let attached = attached_policy_arns(&iam, &name).await;
                        inline.and_then(|inline| {
                            attached.map(|attached| RoleDetail::Policies { inline, attached })
                        })
                    }
                };
                drop(permit);
                (index, detail)
            });
        }
        let mut failed: Vec<String> = Vec::new();
        let mut abandoned = 0usize;
        loop {
            let joined = match options.deadline {
                None => tasks.join_next().await,
                Some(at) => match tokio::time::timeout_at(at.into(), tasks.join_next()).await {
                    Ok(joined) => joined,
                    Err(_) => {
                        abandoned = tasks.len();
                        tasks.abort_all();
                        break;
                    }
                },
            };
            let Some(joined) = joined else {
                break;
            };
            let Ok((index, detail)) = joined else {
                failed.push("a role lookup task stopped".into());
                continue;
            };
            let Some(role) = state.roles.get_mut(index) else {
                continue;
            };
            match detail {
                Ok(RoleDetail::LastUsed(last)) => {
                    role.last_used = last;
                    role.detailed = true;
                }
                Ok(RoleDetail::Policies { inline, attached }) => {
                    role.inline_policies = Some(inline);
                    role.attached_policies = Some(attached);
                }
                Err(e) => failed.push(e.to_string()),
            }
        }
        if not_started + abandoned > 0 {
            state.gaps.push(Gap {
                what: "iam role details".into(),
                reason: format!(
                    "{OUT_OF_TIME}: {} lookups not started, {abandoned} abandoned",
                    not_started
                ),
                profile: None,
            });
        }
        failed.sort();
        for reason in failed {
            state.gaps.push(Gap {
                what: "iam role details".into(),
                reason,
                profile: None,
            });
        }
    }

    /// One profile's dependents in one region. Lex V2 bots already being deleted (`DeleteBot`
    /// is asynchronous: the bot stays listed as `Deleting` for a while) are left out: a
    /// re-check right after the event must see the bot as gone.
    pub async fn list_dependents(
        &self,
        kind: DependentKind,
        region: &str,
        account: Option<&str>,
    ) -> Result<Vec<Dependent>, AwsError> {
        let clients = self.clients(region);
        let operation = listing_operation(kind);
        // Listed resources are named by ARN; without the account, by what the listing says.
        let arn = |resource: &str| match account {
            Some(account) => format!(
                "arn:{}:lex:{region}:{account}:{resource}",
                arn::partition(region)
            ),
            None => resource.to_owned(),
        };
        let listed = match kind {
            DependentKind::LexV2Bots => {
                let request =
                    |token: Option<&str>| Request::post("/bots/", &PageAfter { next_token: token });
                clients
                    .lex_v2
                    .list(request, |page, out| {
                        // `DeleteBot` is asynchronous: a bot being deleted is already gone.
                        let live = page
                            .bot_summaries
                            .into_iter()
                            .filter(|bot| bot.bot_status.as_deref() != Some("Deleting"));
                        out.extend(live.map(|bot| {
                            let id = bot.bot_id.unwrap_or_default();
                            Dependent {
                                arn: arn(&format!("bot/{id}")),
                                name: bot.bot_name.unwrap_or(id),
                                role: None,
                            }
                        }));
                        page.next_token
                    })
                    .await
            }
            // Lex V1 is past its end of support; bots left there still keep the V1
            // service-linked roles, so the sweep still lists them.
            DependentKind::LexV1Bots => {
                let request = |token: Option<&str>| Request::get("/bots/", &[("nextToken", token)]);
                clients
                    .lex_v1
                    .list(request, |page, out| {
                        out.extend(page.bots.into_iter().map(|bot| {
                            let name = bot.name.unwrap_or_default();
                            Dependent {
                                arn: arn(&format!("bot:{name}")),
                                name,
                                role: None,
                            }
                        }));
                        page.next_token
                    })
                    .await
            }
            DependentKind::ConnectInstances => {
                let request =
                    |token: Option<&str>| Request::get("/instance", &[("nextToken", token)]);
                clients
                    .connect
                    .list(request, |page, out| {
                        out.extend(page.instance_summary_list.into_iter().map(|i| Dependent {
                            arn: i.arn.unwrap_or_default(),
                            name: i.instance_alias.or(i.id).unwrap_or_default(),
                            role: i.service_role.filter(|r| !r.is_empty()),
                        }));
                        page.next_token
                    })
                    .await
            }
        };
        listed.map_err(|e| AwsError::from_sdk(operation, &e))
    }
}

/// A `ListRoles` entry as the sweep keeps it. A trust policy that cannot be decoded is left out
/// (the role is then no candidate) and its reason returned, to be reported as a gap.
fn swept_role(role: &aws_sdk_iam::types::Role) -> (SweptRole, Option<String>) {
    let (trust_policy, problem) = match role.assume_role_policy_document.as_deref() {
        None => (None, None),
        Some(text) => match crate::policy::PolicyDocument::decode_str(text) {
            Ok(doc) => (Some(doc.into_owned()), None),
            Err(e) => (None, Some(e.to_string())),
        },
    };
    let swept = SweptRole {
        arn: role.arn.clone(),
        name: role.role_name.clone(),
        path: role.path.clone(),
        create_date: to_chrono(&role.create_date),
        last_used: None,
        detailed: false,
        trust_policy,
        inline_policies: None,
        attached_policies: None,
    };
    (swept, problem)
}

enum RoleDetail {
    LastUsed(Option<chrono::DateTime<chrono::Utc>>),
    Policies {
        inline: Vec<String>,
        attached: Vec<String>,
    },
}

fn past(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|d| Instant::now() >= d)
}

async fn last_used(
    iam: &aws_sdk_iam::Client,
    name: &str,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, AwsError> {
    const OPERATION: &str = "iam:GetRole";
    let about = || About::Role(name.to_owned());
    let out = iam
        .get_role()
        .role_name(name)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(OPERATION, &e).about(about()))?;
    let role = out
        .role
        .ok_or_else(|| AwsError::unusable(OPERATION, "the answer holds no role").about(about()))?;
    Ok(role
        .role_last_used
        .as_ref()
        .and_then(|u| u.last_used_date.as_ref())
        .and_then(to_chrono))
}

/// Regions to list dependents in: the baseline's, else the SDK's own, plus `extra` (the regions
/// of delete events), sorted and without repeats.
pub fn regions<'e>(
    baseline: &Baseline,
    home: Option<String>,
    extra: impl IntoIterator<Item = &'e str>,
) -> Vec<String> {
    let mut set: BTreeSet<String> = baseline.regions.iter().cloned().collect();
    if set.is_empty() {
        set.extend(home);
    }
    set.extend(extra.into_iter().map(str::to_owned));
    if set.is_empty() {
        set.insert("us-east-1".into());
    }
    set.into_iter().collect()
}
