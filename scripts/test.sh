#!/usr/bin/env bash
# The whole test suite, from a fresh clone: formatting, lints, every test, the AWS tests against
# a local moto_server (enrichment, CloudWatch Logs sink, account sweep), the release Lambda
# through the real Runtime API (cargo lambda), benchmarks once, the memory check, the Lambda
# package size, and the deployment checks (templates, SAM, checkov, EventBridge routing).
# Usage: scripts/test.sh   (CI runs exactly this through .ci/run)
# Needs: the Rust toolchain (rustup), python3 with venv, curl. Everything else is installed into
# .venv*/ folders here; servers bind 127.0.0.1 and are stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
trap stop_servers EXIT
SECONDS=0
mkdir -p target

step "python tools into .venv (moto_server, cargo-lambda; pinned in scripts/requirements/test.txt)"
ensure_venv .venv scripts/requirements/test.txt

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings

# One release build serves every step below (tests, the Lambda binary, benchmarks, the memory
# check): a second, debug build of the AWS SDK would cost CI several minutes for nothing.
step "cargo test --release (unit, samples and snapshots, corpus, CLI, property tests)"
# CI=true makes insta fail on a missing or changed snapshot instead of writing it.
# Benchmarks are left out here (a plain `cargo test` would run them in full); they run once below.
CI="${CI:-true}" cargo test --release --lib --bins --tests

step "AWS tests against moto_server, the release bootstrap through cargo lambda's Runtime API, scripts/invoke-local.sh"
# The account of the sample events in events/.
start_moto .venv 111122223333
export ROLEWARDEN_TEST_PYTHON="$ROOT/.venv/bin/python"
export ROLEWARDEN_BOOTSTRAP="$ROOT/target/release/bootstrap"
export ROLEWARDEN_CARGO_LAMBDA="$ROOT/.venv/bin/cargo-lambda"
cargo test --release --test aws --test aws_sweep --test lambda_runtime --test invoke_local -- --ignored --nocapture --test-threads 1
stop_servers

step "benchmarks compile and run once (cargo bench -- --test)"
cargo bench --bench engine -- --test

step "memory: a 1,000,000-record log file in under 100 MB (release build)"
cargo test --release --test memory -- --ignored --nocapture

step "Lambda package: cargo lambda build --release --arm64, bootstrap under 12 MB"
rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1 || true
# zig comes from the ziglang wheel in .venv and is found as `python3 -m ziglang`.
PATH="$ROOT/.venv/bin:$PATH" cargo lambda build --release --arm64 --bin bootstrap
size=$(stat -c %s target/lambda/bootstrap/bootstrap)
echo "bootstrap (arm64): $size bytes"
if [ "$size" -ge $((12 * 1024 * 1024)) ]; then
  echo "the arm64 bootstrap is over 12 MB" >&2
  exit 1
fi

step "deployment: cfn-lint, sam validate, sam build (arm64), checkov, EventBridge routing on moto (scripts/deploy-checks.sh)"
ROLEWARDEN_BIN="$ROOT/target/release/rolewarden" scripts/deploy-checks.sh

echo
echo "all checks passed in ${SECONDS}s"
