//! One finding in ASFF, snapshotted: the mapping's whole output for the README's example finding
//! (tests/suite/aws_securityhub.rs in the root package imports every sample's into moto's
//! Security Hub and compares what it holds, field for field).

use chrono::{DateTime, Utc};
use rolewarden_core::asff::{to_asff, Importer};

use crate::common::{evaluate_file, root, test_engine};

#[test]
fn the_readme_example_finding_in_asff() {
    let path = root().join("events/pr005-fires-lexv1-putbotalias-unapproved-role.json");
    let findings = evaluate_file(&test_engine(), &path);
    let [finding] = findings.as_slice() else {
        panic!("one finding expected, got {findings:?}");
    };
    let importer = Importer {
        account: "111122223333".into(),
        region: "us-east-1".into(),
    };
    // The time of writing: fixed, so the snapshot holds still.
    let now: DateTime<Utc> = "2026-11-28T03:00:00Z".parse().unwrap();
    insta::assert_json_snapshot!(to_asff(finding, &importer, now));
}
