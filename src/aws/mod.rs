//! The AWS side of rolewarden: SDK configuration and call counting (here), reads of the live
//! account for enrichment ([`reader`], [`iam`]) and for the sweep ([`gather`]: IAM, Lex,
//! Connect), the CloudWatch Logs writer of the findings sink ([`logs`]), finding state in
//! DynamoDB ([`state_table`]), a blocking front for
//! the CLI ([`blocking`]) and the typed error every call returns ([`error`]). The core never
//! calls into this module; callers fetch what [`crate::Engine::needs`] asks for and hand it
//! over as an [`crate::account::Snapshot`], or a sweep's [`crate::state::AccountState`].
//!
//! Retries are the SDK's own: the `standard` retry mode of `BehaviorVersion::latest()`, 3
//! attempts with exponential backoff and jitter (1 s base, 20 s cap) on throttling, 5xx and
//! transient network errors. `AWS_MAX_ATTEMPTS` and `AWS_RETRY_MODE=adaptive` change it without
//! a rebuild. Each attempt is bounded so a hung endpoint cannot eat the function's timeout.

/// A [`Lazy`] client of the SDK crate `$sdk`, configured from `$config` (an `&SdkConfig`) and
/// counting its calls in `$calls`; `|builder| ...` adjusts the configuration builder.
macro_rules! counted_client {
    ($sdk:ident, $config:expr, $calls:expr) => {
        counted_client!($sdk, $config, $calls, |builder| builder)
    };
    ($sdk:ident, $config:expr, $calls:expr, |$builder:ident| $adjust:expr) => {{
        let (config, calls) = (
            ::aws_config::SdkConfig::clone($config),
            $crate::aws::CallCounter::clone($calls),
        );
        $crate::aws::lazy(move || {
            let $builder = $sdk::config::Builder::from(&config).interceptor(calls);
            $sdk::Client::from_conf($adjust.build())
        })
    }};
}

pub mod accounts;
pub mod blocking;
pub mod cache;
pub mod error;
pub mod gather;
pub mod https;
pub mod iam;
pub mod logs;
pub mod organization;
pub mod reader;
pub mod rest_json;
pub mod s3;
pub mod securityhub;
pub mod state_table;

pub use error::{error_code, About, AwsError, ErrorKind};

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_iam::config::ConfigBag;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

/// An SDK client built at its first call, not when its owner is. Building a generated client
/// resolves its crate's endpoint partitions (a JSON document parsed, regular expressions
/// compiled) and assembles its runtime plugins; the Lambda used to build all seven before its
/// first poll, though an invocation calls one or two of them (an event without enrichment:
/// CloudWatch Logs alone). Dereferences to the client, so calls read as they would on the
/// client itself; clones share the one client.
pub type Lazy<C> = Arc<LazyLock<C, Box<dyn FnOnce() -> C + Send>>>;

/// A [`Lazy`] client that `build` makes at the first call.
pub fn lazy<C>(build: impl FnOnce() -> C + Send + 'static) -> Lazy<C> {
    Arc::new(LazyLock::new(Box::new(build)))
}

/// Loads the SDK configuration from the environment (region, credentials, `AWS_ENDPOINT_URL`),
/// with bounded attempt and connect timeouts, and the HTTPS client of [`https`] (compiled-in
/// root certificates, plus `SSL_CERT_FILE`'s).
///
/// Credentials in the environment (always, in Lambda) are taken from it directly: the default
/// chain asks the same provider first, but building the chain makes its web-identity (STS) and
/// instance-metadata clients before anything is asked. Whether the environment provider has
/// credentials is asked of the provider itself, so the choice is the chain's own.
pub async fn load_config() -> SdkConfig {
    use aws_sdk_sts::config::ProvideCredentials;
    let loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(https::client())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(Duration::from_secs(10))
                .build(),
        );
    let environment = aws_config::environment::EnvironmentVariableCredentialsProvider::new();
    let loader = if environment.provide_credentials().await.is_ok() {
        loader.credentials_provider(environment)
    } else {
        loader
    };
    loader.load().await
}

/// Counts API calls per `service:Operation`, once per operation (retries are not calls). The
/// Lambda reports the count per invocation; the tests hold the sweep to its call formula.
#[derive(Debug, Clone, Default)]
pub struct CallCounter {
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
    /// A child also counts into its parent: each account of an organization run has its own
    /// counts (its summary line), and the run's total stays whole.
    parent: Option<Arc<Mutex<BTreeMap<String, u64>>>>,
}

impl CallCounter {
    /// Calls so far, by `service:Operation` (`IAM:GetRole`).
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.counts.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// Calls so far to one service (`IAM`, `CloudWatch Logs`, ...), case-insensitive.
    pub fn total_for(&self, service: &str) -> u64 {
        self.snapshot()
            .iter()
            .filter(|(k, _)| {
                k.split_once(':')
                    .is_some_and(|(s, _)| s.eq_ignore_ascii_case(service))
            })
            .map(|(_, n)| n)
            .sum()
    }

    pub fn total(&self) -> u64 {
        self.snapshot().values().sum()
    }

    /// A counter of its own whose calls also count here.
    pub fn child(&self) -> CallCounter {
        CallCounter {
            counts: Arc::default(),
            parent: Some(self.counts.clone()),
        }
    }

    fn add(&self, key: String) {
        for counts in std::iter::once(&self.counts).chain(self.parent.as_ref()) {
            if let Ok(mut counts) = counts.lock() {
                *counts.entry(key.clone()).or_default() += 1;
            }
        }
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "rolewarden::CallCounter"
    }

    // Serialization runs once per operation, retries or not, and by then the operation's
    // `Metadata` is in the config bag (it is not yet at `read_before_execution`).
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let key = cfg.load::<Metadata>().map_or_else(
            || "unknown:unknown".to_owned(),
            |m| format!("{}:{}", m.service(), m.name()),
        );
        self.add(key);
        Ok(())
    }
}

/// The account the credentials belong to (`sts:GetCallerIdentity`, which needs no
/// permission): what the sweep, the Security Hub sink and the cross-account reader each ask.
pub async fn caller_account(sts: &aws_sdk_sts::Client) -> Result<String, AwsError> {
    const OPERATION: &str = "sts:GetCallerIdentity";
    sts.get_caller_identity()
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(OPERATION, &e))?
        .account
        .ok_or_else(|| AwsError::unusable(OPERATION, "the answer names no account"))
}

/// Calls made between two snapshots of a [`CallCounter`].
pub fn difference(
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
) -> BTreeMap<String, u64> {
    after
        .iter()
        .filter_map(|(k, n)| {
            let delta = n.saturating_sub(before.get(k).copied().unwrap_or(0));
            (delta > 0).then(|| (k.clone(), delta))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lazy_client_is_built_once_at_its_first_use_and_shared_by_its_clones() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let built = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&built);
        let client = lazy(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            String::from("client")
        });
        let clone = Arc::clone(&client);
        assert_eq!(built.load(Ordering::SeqCst), 0);
        assert_eq!(client.len(), 6);
        assert_eq!(clone.as_str(), "client");
        assert_eq!(built.load(Ordering::SeqCst), 1);
    }
}
