//! One finding in OCSF, snapshotted: the mapping's whole output for the README's example finding
//! (tests/suite/ocsf.rs in the root package validates every sample's with py-ocsf-models).

use rolewarden_core::ocsf::DetectionFinding;

use crate::common::{evaluate_file, root, test_engine};

#[test]
fn the_readme_example_finding_in_ocsf() {
    let path = root().join("events/pr005-fires-lexv1-putbotalias-unapproved-role.json");
    let findings = evaluate_file(&test_engine(), &path);
    let [finding] = findings.as_slice() else {
        panic!("one finding expected, got {findings:?}");
    };
    // The time of writing is used only when the event has no time: this one has.
    insta::assert_json_snapshot!(DetectionFinding::new(finding, 0));
}
