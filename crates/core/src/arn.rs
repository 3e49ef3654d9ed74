//! ARNs that rolewarden builds itself, for a role or a bot an event or a listing names without
//! its ARN. An ARN takes the partition of the region its resource lives in: a role in an
//! `aws-cn` account named `arn:aws:...` would match no exception or approved pass written for it.

/// The partition of `region`: `aws-cn` for China, `aws-us-gov` for GovCloud, `aws-eusc` for
/// the European Sovereign Cloud, the ISO partitions for theirs, else `aws`.
pub fn partition(region: &str) -> &'static str {
    Partition::of(region).id
}

/// An AWS partition: its id (an ARN's second field) and its DNS names (the SDK's partition
/// table), one table for the ARNs rolewarden builds and the endpoints it calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    pub id: &'static str,
    pub suffix: &'static str,
    pub dual_stack_suffix: &'static str,
    /// Where a global service of the partition (Organizations) is called and signed for: the
    /// SDK table's `implicitGlobalRegion`.
    pub global_region: &'static str,
}

impl Partition {
    /// The partition a region belongs to, by its name's prefix; any other name is in `aws`, as
    /// the SDK's partition resolver falls back to it.
    pub fn of(region: &str) -> Self {
        const TABLE: [(&str, Partition); 7] = [
            (
                "us-gov-",
                Partition::new("aws-us-gov", "amazonaws.com", "api.aws", "us-gov-west-1"),
            ),
            (
                "cn-",
                Partition::new(
                    "aws-cn",
                    "amazonaws.com.cn",
                    "api.amazonwebservices.com.cn",
                    "cn-northwest-1",
                ),
            ),
            (
                "eusc-de-",
                Partition::new(
                    "aws-eusc",
                    "amazonaws.eu",
                    "api.amazonwebservices.eu",
                    "eusc-de-east-1",
                ),
            ),
            (
                "us-iso-",
                Partition::new("aws-iso", "c2s.ic.gov", "api.aws.ic.gov", "us-iso-east-1"),
            ),
            (
                "us-isob-",
                Partition::new(
                    "aws-iso-b",
                    "sc2s.sgov.gov",
                    "api.aws.scloud",
                    "us-isob-east-1",
                ),
            ),
            (
                "eu-isoe-",
                Partition::new(
                    "aws-iso-e",
                    "cloud.adc-e.uk",
                    "api.cloud-aws.adc-e.uk",
                    "eu-isoe-west-1",
                ),
            ),
            (
                "us-isof-",
                Partition::new(
                    "aws-iso-f",
                    "csp.hci.ic.gov",
                    "api.aws.hci.ic.gov",
                    "us-isof-south-1",
                ),
            ),
        ];
        TABLE
            .iter()
            .find(|(prefix, _)| region.starts_with(prefix))
            .map_or(
                Partition::new("aws", "amazonaws.com", "api.aws", "us-east-1"),
                |(_, partition)| *partition,
            )
    }

    const fn new(
        id: &'static str,
        suffix: &'static str,
        dual_stack_suffix: &'static str,
        global_region: &'static str,
    ) -> Self {
        Partition {
            id,
            suffix,
            dual_stack_suffix,
            global_region,
        }
    }
}

/// Field `index` of `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE` (1 is the partition); none
/// when the text is not an ARN or the field is empty (the region of an IAM ARN).
pub fn field(arn: &str, index: usize) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    (parts.next() == Some("arn")).then_some(())?;
    parts.nth(index.checked_sub(1)?).filter(|p| !p.is_empty())
}

/// The service and the resource's kind (`("iam", "role")`, `("lex", "bot")`) of an ARN, what
/// each output format names its resource types from.
pub fn service_and_kind(arn: &str) -> Option<(&str, &str)> {
    let kind = field(arn, 5)?.split(['/', ':']).next()?;
    Some((field(arn, 2)?, kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_of_an_arn() {
        let role = "arn:aws:iam::111122223333:role/service-role/x";
        assert_eq!(field(role, 1), Some("aws"));
        assert_eq!(field(role, 3), None);
        assert_eq!(field(role, 5), Some("role/service-role/x"));
        assert_eq!(service_and_kind(role), Some(("iam", "role")));
        assert_eq!(
            service_and_kind("arn:aws:lex:us-east-1:1:bot-alias/B/A"),
            Some(("lex", "bot-alias"))
        );
        assert_eq!(field("events/x.json", 1), None);
        assert_eq!(field(role, 0), None);
    }

    #[test]
    fn the_partition_follows_the_region() {
        assert_eq!(partition("us-east-1"), "aws");
        assert_eq!(partition("eu-west-2"), "aws");
        assert_eq!(partition("cn-north-1"), "aws-cn");
        assert_eq!(partition("cn-northwest-1"), "aws-cn");
        assert_eq!(partition("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition("us-iso-east-1"), "aws-iso");
        assert_eq!(partition("us-isob-east-1"), "aws-iso-b");
        assert_eq!(partition("eusc-de-east-1"), "aws-eusc");
        assert_eq!(partition("eu-isoe-west-1"), "aws-iso-e");
        assert_eq!(partition("us-isof-south-1"), "aws-iso-f");
        assert_eq!(partition(""), "aws");
    }
}
