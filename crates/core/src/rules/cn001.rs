use super::{Draft, SweepContext, SweepRule};
use crate::baseline::DependentKind;

declare_rule! {
    /// ## What it does
    /// On the account sweep, flags an Amazon Connect instance (from the `connect-instances`
    /// listing, `ListInstances`) that names no service-linked role (`ServiceRole`). Instances
    /// created before October 2018 have none: "If your Amazon Connect instance was created
    /// before October 2018, you don't have service-linked roles set up."
    ///
    /// ## Why it matters
    /// Amazon Connect needs its service-linked role for newer features (tagging support, the
    /// new user interface in User management and Routing profiles, queues with CloudTrail
    /// support). An instance without one also escapes the sweep's other checks: there is no
    /// role whose permissions AWS defines for SL008 to compare, and none for OR002 to tie to
    /// the instance.
    ///
    /// ## Example
    /// `arn:aws:connect:us-east-1:111122223333:instance/0f3c1f5e-1d1a-4a52-9b0f-3f7c6a1b2c3d`,
    /// created in 2017, whose `ListInstances` entry has no `ServiceRole`.
    ///
    /// ## Fix
    /// In the Amazon Connect console, open the Account overview page of the instance and
    /// choose Create service-linked role; the next sweep then checks that role like any other.
    pub struct ConnectInstanceWithoutServiceLinkedRole {
        id: "CN001",
        severity: Low,
        summary: "a Connect instance has no service-linked role (instances from before October 2018)",
        trigger: Sweep,
        events: &[],
    }
}

impl SweepRule for ConnectInstanceWithoutServiceLinkedRole {
    fn check(&self, cx: &SweepContext<'_>, out: &mut Vec<Draft>) {
        let listings = cx
            .state
            .listings
            .iter()
            .filter(|l| l.kind == DependentKind::ConnectInstances);
        for listing in listings {
            let title = cx
                .baseline
                .profiles
                .iter()
                .find(|p| p.name == listing.profile)
                .map_or("Amazon Connect", |p| p.title.as_str());
            for instance in listing.resources.iter().filter(|i| i.role.is_none()) {
                let label = if instance.name.is_empty() {
                    format!("`{}`", instance.arn)
                } else {
                    format!("`{}` (`{}`)", instance.name, instance.arn)
                };
                out.push(
                    Draft::new(format!(
                        "{title} instance {label} in {} has no service-linked role (instances created before October 2018 have none)",
                        listing.region
                    ))
                    .resource(instance.arn.clone())
                    .region(listing.region.clone())
                    .evidence("instance", &instance.arn)
                    .evidence("instance_alias", Some(&instance.name).filter(|n| !n.is_empty())),
                );
            }
        }
    }
}
