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
        assert_eq!(partition(""), "aws");
    }
}
