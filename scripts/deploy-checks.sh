#!/usr/bin/env bash
# The deploy checks (issue 4): everything that can be proven about template.yaml and forwarder.yaml
# short of a real AWS account. Called by scripts/test.sh; runs alone too:
#   scripts/deploy-checks.sh
# Needs only Python 3.11, the Rust toolchain (rustup) and curl; installs its pinned tools into
# venvs (.venv, .venv-sam, .venv-checkov; reused while the requirements files are unchanged).
# Idempotent. Exits non-zero on the first failure. Prints each step's duration.
#
# Steps: venvs; cfn-lint on both templates; sam validate --lint; the rolewarden CLI (release, for
# event-pattern and check-policy); sam build for arm64 (asserts .aws-sam/build/RolewardenFunction/
# bootstrap is an aarch64 ELF); checkov on both templates; the pytest tests in tests/deploy/ against
# a local moto server (routing through EventBridge's pattern matcher, least privilege,
# rolewarden check-policy, template structure).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
TIMINGS=()
trap report EXIT

export SAM_CLI_TELEMETRY=0
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
mkdir -p target

timed() {
  local name="$1" start ms
  shift
  step "$name"
  CURRENT_STEP="$name"
  start=$(date +%s%N)
  "$@"
  ms=$((($(date +%s%N) - start) / 1000000))
  TIMINGS+=("$(printf '%5d.%ds  %s' $((ms / 1000)) $((ms % 1000 / 100)) "$name")")
}
report() {
  local status=$?
  # Not in a background job's child that a signal caught before it exec'd (it inherits this trap).
  [ "$BASHPID" = "$$" ] || return 0
  stop_servers
  if [ ${#TIMINGS[@]} -gt 0 ]; then
    printf '\n==> deploy checks: durations\n'
    printf '%s\n' "${TIMINGS[@]}"
  fi
  if [ "$status" -ne 0 ]; then
    printf '\n==> deploy checks FAILED (exit %d) during: %s\n' "$status" "${CURRENT_STEP:-setup}" >&2
  fi
  exit "$status"
}

venvs() {
  # .venv: moto (the local AWS API server) and cargo-lambda with zig (sam build's cross-compiler).
  ensure_venv .venv scripts/requirements/test.txt
  # .venv-sam: aws-sam-cli, the cfn-lint it pins, pytest. Own venv: SAM pins its own boto3.
  ensure_venv .venv-sam scripts/requirements/sam.txt
  # .venv-checkov: checkov pins boto3 1.35, which SAM's does not accept.
  ensure_venv .venv-checkov scripts/requirements/checkov.txt
}

cfn_lint() {
  .venv-sam/bin/cfn-lint template.yaml forwarder.yaml
}

sam_validate() {
  .venv-sam/bin/sam validate --lint --template-file template.yaml
}

rolewarden_cli() {
  # The tests ask the CLI for the event patterns and run check-policy on the templates' policies.
  # scripts/test.sh hands over the binary its release tests built (ROLEWARDEN_BIN): building it
  # again without the dev-dependencies' features would recompile part of the SDK for nothing.
  if [ -n "${ROLEWARDEN_BIN:-}" ] && [ -x "$ROLEWARDEN_BIN" ]; then
    echo "using $ROLEWARDEN_BIN"
  else
    cargo build --release --quiet --bin rolewarden
    ROLEWARDEN_BIN="$PWD/target/release/rolewarden"
  fi
  export ROLEWARDEN_BIN
}

sam_build() {
  # sam build runs `cargo lambda build --release --arm64 --bin bootstrap` in this folder; cargo
  # lambda finds zig as `python3 -m ziglang`, so .venv (ziglang, cargo-lambda) comes first on PATH.
  rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1 || rustup target add aarch64-unknown-linux-gnu
  rm -rf .aws-sam/build # so the assertions below cannot see a previous run's bootstrap
  PATH="$PWD/.venv/bin:$PATH" .venv-sam/bin/sam build --template-file template.yaml \
    --parameter-overrides Architecture=arm64
  local bootstrap=.aws-sam/build/RolewardenFunction/bootstrap description
  if [ ! -f "$bootstrap" ]; then
    echo "sam build did not produce $bootstrap" >&2
    return 1
  fi
  description=$(file -b "$bootstrap" 2>/dev/null || true)
  # ELF magic, 64-bit, little endian, e_machine 0xB7 (EM_AARCH64): checked without `file`.
  python3 - "$bootstrap" <<'PY'
import struct, sys
path = sys.argv[1]
with open(path, "rb") as f:
    header = f.read(20)
assert header[:4] == b"\x7fELF", f"{path}: not an ELF file"
assert header[4] == 2 and header[5] == 1, f"{path}: not a 64-bit little-endian ELF"
machine = struct.unpack_from("<H", header, 18)[0]
assert machine == 0xB7, f"{path}: e_machine {machine:#x}, not aarch64 (0xb7)"
PY
  echo "$bootstrap: aarch64 ELF, $(du -h "$bootstrap" | cut -f1)${description:+ ($description)}"
}

checkov_scan() {
  local out=target/checkov.json
  # --skip-download: no call to the Prisma Cloud API (offline, and nothing to send there).
  # Its exit status is not trusted alone: it passes a file it cannot parse. The report decides.
  .venv-checkov/bin/checkov --file template.yaml --file forwarder.yaml --framework cloudformation \
    --skip-download --output json >"$out" || true
  # checkov passes a file it cannot parse: require parsed resources and no failed check.
  python3 - "$out" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
reports = report if isinstance(report, list) else [report]
(cfn,) = [r for r in reports if r["check_type"] == "cloudformation"]
summary = cfn["summary"]
print(f"checkov {summary['checkov_version']}: {summary['passed']} passed, {summary['failed']} failed, "
      f"{summary['skipped']} skipped (each justified in the template), {summary['resource_count']} resources")
for check in cfn["results"]["failed_checks"]:
    print(f"FAILED {check['check_id']} {check['check_name']}: {check['resource']} ({check['file_path']})")
files = {c["file_path"].lstrip("/") for c in cfn["results"]["passed_checks"]}
assert summary["parsing_errors"] == 0, "checkov could not parse a template"
assert {"template.yaml", "forwarder.yaml"} <= files, f"checkov scanned only {sorted(files)}"
assert summary["failed"] == 0, "checkov found failed checks"
PY
}

deploy_tests() {
  start_moto .venv
  .venv-sam/bin/pytest -q -p no:cacheprovider tests/deploy
}

timed "venvs (.venv, .venv-sam, .venv-checkov)" venvs
timed "cfn-lint template.yaml forwarder.yaml" cfn_lint
timed "sam validate --lint" sam_validate
timed "the rolewarden CLI (event-pattern, check-policy)" rolewarden_cli
timed "sam build (arm64 bootstrap)" sam_build
timed "checkov template.yaml forwarder.yaml" checkov_scan
timed "pytest tests/deploy (moto EventBridge routing, least privilege, check-policy)" deploy_tests
