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
BACKGROUND_GROUPS=()
# Servers, and any background build still running when a step fails.
cleanup() {
  # Not in a background job's child that a signal caught before it exec'd (it inherits this trap).
  [ "$BASHPID" = "$$" ] || return 0
  stop_servers
  local group
  for group in "${BACKGROUND_GROUPS[@]}"; do
    kill -- "-$group" 2>/dev/null || true
  done
}
trap cleanup EXIT
SECONDS=0
mkdir -p target

step "python tools into .venv* in the background (moto_server, cargo-lambda; SAM, cfn-lint; checkov; pinned in scripts/requirements/)"
# The installs (uv, scripts/lib.sh: ensure_venv) wait on the network, the compiler on the CPU:
# the venvs install while cargo compiles, and each step that needs one waits for it. Their logs
# are printed if they fail.
# setsid: each its own process group, so a step that fails stops the installer too (pip went on
# writing into .venv* after the script had ended).
# One command a line under `set -e`: in `a && b` errexit is off inside `a`, so a failed install
# would still have written the venv's marker.
setsid bash -c 'set -euo pipefail; source scripts/lib.sh
  ensure_venv .venv scripts/requirements/test.txt' >target/venv-test.log 2>&1 &
VENV_TEST_PID=$!
setsid bash -c 'set -euo pipefail; source scripts/lib.sh
  ensure_venv .venv-sam scripts/requirements/sam.txt
  ensure_venv .venv-checkov scripts/requirements/checkov.txt' >target/venvs.log 2>&1 &
VENVS_PID=$!
BACKGROUND_GROUPS+=("$VENV_TEST_PID" "$VENVS_PID")
# wait_venv PID LOG: the install's status, its log if it failed.
wait_venv() {
  if ! wait "$1"; then
    cat "$2" >&2
    exit 1
  fi
}

# The arm64 release Lambda (the SDK at opt-level "s", thin LTO: 12-15 minutes of CPU, the
# largest part of this script) builds in the background from the start, as soon as .venv holds
# cargo-lambda and zig, in its own target directory so the cargo commands below never wait on
# its lock. This machine has 2 cores and the script is bound by their total CPU time, so the
# build fills every moment the steps below leave a core idle (linking, tests run one at a time)
# instead of running alone at the end. sam build (deploy checks) finds it through
# CARGO_TARGET_DIR and builds nothing again.
ARM64_TARGET="$ROOT/target/arm64"
rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1 || true
# zig comes from the ziglang wheel in .venv and is found as `python3 -m ziglang`.
# setsid: its own process group, so cleanup stops cargo and the compilers with it.
PATH="$ROOT/.venv/bin:$PATH" CARGO_TARGET_DIR="$ARM64_TARGET" setsid bash -c '
  while kill -0 "$1" 2>/dev/null; do sleep 1; done
  [ -x .venv/bin/cargo-lambda ] || { echo "no .venv/bin/cargo-lambda: see target/venv-test.log"; exit 1; }
  exec cargo lambda build --release --arm64 --bin bootstrap' arm64 "$VENV_TEST_PID" \
  >target/arm64-build.log 2>&1 &
ARM64_PID=$!
BACKGROUND_GROUPS+=("$ARM64_PID")

step "cargo fmt --check"
cargo fmt --all -- --check

# Clippy lints while the tests build: `cargo clippy` is `cargo check` with clippy-driver as the
# compiler of the workspace's own crates; here the same driver compiles them for the test build,
# so the lints cost no second pass over the dependencies (a `cargo check` of the whole SDK took
# 200-280 s of this script). The same targets as `cargo clippy --workspace --all-targets`: the
# libraries, binaries and tests below and the benchmark after them; `-D warnings` as there.
# Only these dev-profile builds go through it, never the release package.
CLIPPY_DRIVER="$(rustup which clippy-driver 2>/dev/null || echo "$(rustc --print sysroot)/bin/clippy-driver")"
linted() {
  RUSTC_WORKSPACE_WRAPPER="$CLIPPY_DRIVER" CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__" "$@"
}

# One build in the dev profile (Cargo.toml: the SDK unoptimised, the engine optimised) serves
# every test below, the Lambda binary run through the Runtime API and the CLI the deploy
# checks call. Each package's integration tests are one binary, so the SDK is linked once.
step "clippy -D warnings and cargo test --workspace (core: samples and snapshots, corpus, inputs, properties, sweep rules; CLI; units)"
# CI=true makes insta fail on a missing or changed snapshot instead of writing it. `--tests`
# rather than `--bins`: `--bins` would also build a test harness for `bootstrap` (test = false,
# no tests of its own) and link it with the whole SDK. Benchmarks are left out here (a plain `cargo test` would run them in full); they run once below.
CI="${CI:-true}" linted cargo test --workspace --lib --tests

step "benchmarks compile (clippy) and run once (cargo test --workspace --bench engine -- --test, dev profile)"
# The README's numbers come from `cargo bench` (release profile); here each benchmark only has to
# build and run once on a small input, which the test build's artifacts do without a second,
# release build of the engine and its dependencies. `--workspace`, not `-p rolewarden-core`:
# cargo unifies features over the packages it is asked for, and the core alone asks serde_json,
# chrono, flate2... for fewer, so `-p` rebuilt 38 crates, the engine among them (about 2 minutes
# of CPU); with the same selection as the step above it compiles the benchmark alone.
linted cargo test --workspace --bench engine -- --test

wait_venv "$VENV_TEST_PID" target/venv-test.log

step "AWS tests against moto_server, the bootstrap through cargo lambda's Runtime API, scripts/invoke-local.sh, memory bounds"
# The account of the sample events in events/.
start_moto .venv 111122223333
export ROLEWARDEN_TEST_PYTHON="$ROOT/.venv/bin/python"
export ROLEWARDEN_BOOTSTRAP="$ROOT/target/debug/bootstrap"
export ROLEWARDEN_CARGO_LAMBDA="$ROOT/.venv/bin/cargo-lambda"
linted cargo test --workspace --test suite -- --ignored --nocapture --test-threads 1
stop_servers

step "Lambda package: cargo lambda build --release --arm64 (started in the background at the start), bootstrap under 16 MB"
if ! wait "$ARM64_PID"; then
  cat target/arm64-build.log >&2
  exit 1
fi
tail -n 3 target/arm64-build.log
size=$(stat -c %s "$ARM64_TARGET/lambda/bootstrap/bootstrap")
echo "bootstrap (arm64): $size bytes"
# Our own budget, far under Lambda's (50 MB zipped, 250 MB unzipped): a dependency that grows
# the package by megabytes should be a decision, not an accident. 12 MB until issues 16-17 added
# the S3, Security Hub and DynamoDB clients (13.0 MiB with them; see the README's Performance).
if [ "$size" -ge $((16 * 1024 * 1024)) ]; then
  echo "the arm64 bootstrap is over 16 MB" >&2
  exit 1
fi

step "waiting for the deploy checks' venvs"
wait_venv "$VENVS_PID" target/venvs.log

step "deployment: cfn-lint, sam validate, sam build (arm64), checkov, EventBridge routing on moto (scripts/deploy-checks.sh)"
ROLEWARDEN_BIN="$ROOT/target/debug/rolewarden" CARGO_TARGET_DIR="$ARM64_TARGET" scripts/deploy-checks.sh

echo
echo "all checks passed in ${SECONDS}s"
