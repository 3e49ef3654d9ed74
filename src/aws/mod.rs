//! The AWS side of rolewarden: SDK configuration, live reads of IAM (enrichment), writes to
//! CloudWatch Logs (the findings sink). The engine never calls into this module; callers fetch
//! what [`crate::Engine::needs`] asks for and hand it over as an [`crate::account::Snapshot`].
//!
//! Retries are the SDK's own: the `standard` retry mode of `BehaviorVersion::latest()`, 3
//! attempts with exponential backoff and jitter (1 s base, 20 s cap) on throttling, 5xx and
//! transient network errors. `AWS_MAX_ATTEMPTS` and `AWS_RETRY_MODE=adaptive` change it without
//! a rebuild. Each attempt is bounded so a hung endpoint cannot eat the function's timeout.

pub mod blocking;
pub mod cache;
pub mod gather;
pub mod https;
pub mod iam;
pub mod logs;
pub mod reader;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_iam::config::ConfigBag;
use aws_sdk_iam::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

/// Loads the SDK configuration from the environment (region, credentials, `AWS_ENDPOINT_URL`),
/// with bounded attempt and connect timeouts, and the HTTPS client of [`https`] (compiled-in
/// root certificates, plus `SSL_CERT_FILE`'s).
pub async fn load_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https::client())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(Duration::from_secs(10))
                .build(),
        )
        .load()
        .await
}

/// Counts API calls per `service:Operation`, once per operation (retries are not calls). The
/// Lambda reports the count per invocation; the tests hold the sweep to its call formula.
#[derive(Debug, Clone, Default)]
pub struct CallCounter {
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
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

    fn add(&self, key: String) {
        if let Ok(mut counts) = self.counts.lock() {
            *counts.entry(key).or_default() += 1;
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

/// The service error code of a failed call (`NoSuchEntity`, `AccessDenied`, `Throttling`), if
/// the service answered at all.
pub fn error_code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<&str> {
    match err {
        SdkError::ServiceError(e) => e.err().code(),
        _ => None,
    }
}

/// One line saying why a call failed: `AccessDenied: User ... is not authorized`, or the
/// transport error when the service could not be reached.
pub fn describe<E, R>(err: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match err {
        SdkError::ServiceError(e) => {
            let inner = e.err();
            match (inner.code(), inner.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_owned(),
                _ => DisplayErrorContext(err).to_string(),
            }
        }
        SdkError::TimeoutError(_) => "timed out".into(),
        SdkError::DispatchFailure(_) => format!("cannot reach the AWS API: {}", chain(err)),
        _ => chain(err),
    }
}

/// An error and its sources, `outer: inner: innermost`, without the SDK's Debug dump.
fn chain(err: &dyn std::error::Error) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(e) = source {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = e.source();
    }
    parts.join(": ")
}
