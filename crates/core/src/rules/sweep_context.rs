//! What a sweep rule sees: the account state, the baseline and the time of the sweep.

use chrono::{DateTime, Utc};

use crate::account::Dependent;
use crate::baseline::{Baseline, Profile};
use crate::state::{AccountState, Listing, SweptRole};

/// What a sweep rule sees.
pub struct SweepContext<'a> {
    pub state: &'a AccountState,
    pub baseline: &'a Baseline,
    /// When the sweep ran; ages are judged against it.
    pub now: DateTime<Utc>,
}

impl<'a> SweepContext<'a> {
    pub fn new(state: &'a AccountState, baseline: &'a Baseline, now: DateTime<Utc>) -> Self {
        SweepContext {
            state,
            baseline,
            now,
        }
    }

    /// Profiled service-linked roles (right name, `/aws-service-role/` path) with their profile,
    /// for the profiles the sweep covers: a re-check of Lex lists Connect's roles too (one
    /// path prefix), but judges only Lex's, as the full sweep would.
    pub fn service_linked_roles(&self) -> Vec<(&'a SweptRole, &'a Profile)> {
        self.state
            .roles
            .iter()
            .filter_map(|role| {
                self.baseline
                    .profiles
                    .iter()
                    .find(|p| p.owns_slr(&role.name, &role.path))
                    .filter(|p| self.state.scope.covers(&p.name))
                    .map(|p| (role, p))
            })
            .collect()
    }

    /// The profile's dependents across every region swept, or `None` when a listing of them
    /// is missing (failed, or not made): then nobody can say the role is unused.
    pub fn dependents(&self, profile: &Profile) -> Option<Vec<&'a Dependent>> {
        let spec = profile.dependents.as_ref()?;
        if self
            .state
            .gaps
            .iter()
            .any(|g| g.profile.as_deref() == Some(profile.name.as_str()))
        {
            return None;
        }
        let listings: Vec<&Listing> = self
            .state
            .listings
            .iter()
            .filter(|l| l.profile == profile.name && l.kind == spec.kind)
            .collect();
        let every_region = self
            .state
            .regions
            .iter()
            .all(|region| listings.iter().any(|l| &l.region == region));
        if listings.is_empty() || !every_region {
            return None;
        }
        Some(listings.iter().flat_map(|l| l.resources.iter()).collect())
    }
}
