//! ARNs that rolewarden builds itself, for a role or a bot an event or a listing names without
//! its ARN. An ARN takes the partition of the region its resource lives in: a role in an
//! `aws-cn` account named `arn:aws:...` would match no exception or approved pass written for it.

/// The partition of `region`: `aws-cn` for China, `aws-us-gov` for GovCloud, the ISO
/// partitions for theirs, else `aws`.
pub fn partition(region: &str) -> &'static str {
    const PREFIXES: [(&str, &str); 6] = [
        ("cn-", "aws-cn"),
        ("us-gov-", "aws-us-gov"),
        ("us-isob-", "aws-iso-b"),
        ("us-iso-", "aws-iso"),
        ("eu-isoe-", "aws-iso-e"),
        ("us-isof-", "aws-iso-f"),
    ];
    PREFIXES
        .iter()
        .find(|(prefix, _)| region.starts_with(prefix))
        .map_or("aws", |(_, partition)| partition)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_partition_follows_the_region() {
        assert_eq!(partition("us-east-1"), "aws");
        assert_eq!(partition("eu-west-2"), "aws");
        assert_eq!(partition("cn-north-1"), "aws-cn");
        assert_eq!(partition("cn-northwest-1"), "aws-cn");
        assert_eq!(partition("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition("us-iso-east-1"), "aws-iso");
        assert_eq!(partition("us-isob-east-1"), "aws-iso-b");
        assert_eq!(partition(""), "aws");
    }
}
