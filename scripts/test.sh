#!/usr/bin/env bash
# The whole test suite, from a fresh clone: formatting, lints, every test.
# Usage: scripts/test.sh   (CI runs exactly this through .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings

step "cargo test (unit, samples and snapshots, corpus, CLI, property tests)"
# CI=true makes insta fail on a missing or changed snapshot instead of writing it.
CI="${CI:-true}" cargo test --all-targets

step "benchmarks compile and run once (cargo bench -- --test)"
cargo bench --bench engine -- --test

step "memory: a 1,000,000-record log file in under 100 MB (release build)"
cargo test --release --test memory -- --ignored --nocapture
