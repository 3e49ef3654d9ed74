//! The core's tests, one binary (linked once): every sample event and its snapshot, the
//! corpus of real CloudTrail records, input shapes, properties, the sweep rules.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests"
)]

mod asff;
mod common;
mod corpus;
mod corpus_external;
mod decoder_fuzz;
mod grants_reference;
mod input_formats;
mod lifecycle;
mod ocsf;
mod partitions;
mod policy_cost;
mod proptests;
mod samples;
mod slr_writes;
mod sweep_rules;
mod unreadable_once;
