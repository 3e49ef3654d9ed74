//! Everything an event may need from the live account, fetched in one place: roles and
//! managed policies from IAM (cached), dependents of a service's service-linked roles from Lex
//! and Connect (listed in the baseline's regions).

use std::time::Duration;

use aws_config::SdkConfig;

use super::gather::{regions, Sweeper};
use super::iam::IamReader;
use super::CallCounter;
use crate::account::{Lookup, Needs, Snapshot};
use crate::baseline::Baseline;

pub struct AccountReader {
    iam: IamReader,
    sweeper: Sweeper,
    regions: Vec<String>,
}

impl AccountReader {
    pub fn new(
        config: &SdkConfig,
        calls: &CallCounter,
        ttl: Duration,
        baseline: &Baseline,
    ) -> Self {
        let home = config.region().map(|r| r.to_string());
        Self::with_regions(config, calls, ttl, regions(baseline, home, []))
    }

    /// A reader that lists dependents in `regions`.
    pub fn with_regions(
        config: &SdkConfig,
        calls: &CallCounter,
        ttl: Duration,
        regions: Vec<String>,
    ) -> Self {
        AccountReader {
            iam: IamReader::new(config, calls, ttl),
            sweeper: Sweeper::new(config, calls),
            regions,
        }
    }

    /// The regions enrichment lists dependents in.
    pub fn regions(&self) -> &[String] {
        &self.regions
    }

    pub fn sweeper(&self) -> &Sweeper {
        &self.sweeper
    }

    /// Fetches everything `needs` names; an event that needs nothing costs no call.
    pub async fn snapshot(&self, needs: &Needs, baseline: &Baseline) -> Snapshot {
        let mut snapshot = Snapshot::default();
        for name in &needs.roles {
            snapshot
                .roles
                .insert(name.clone(), self.iam.role(name).await);
        }
        for arn in &needs.managed_policies {
            snapshot
                .managed_policies
                .insert(arn.clone(), self.iam.managed_policy(arn).await);
        }
        let account = needs.account.as_deref();
        for name in &needs.dependents {
            let Some(spec) = baseline
                .profiles
                .iter()
                .find(|p| &p.name == name)
                .and_then(|p| p.dependents.as_ref())
            else {
                continue;
            };
            let mut found = Vec::new();
            let mut failure = None;
            for region in &self.regions {
                match self
                    .sweeper
                    .list_dependents(spec.kind, region, account)
                    .await
                {
                    Ok(resources) => found.extend(resources),
                    Err(e) => {
                        failure = Some(format!("{region}: {e}"));
                        break;
                    }
                }
            }
            let answer = match failure {
                Some(reason) => Lookup::Unavailable(reason),
                None => Lookup::Found(found),
            };
            snapshot.dependents.insert(name.clone(), answer);
        }
        snapshot
    }
}
