#!/usr/bin/env bash
# The policy check side by side with the tools users would pick instead: rolewarden's
# `check-policy`, Parliament and cloudsplaining (PyPI, pinned in scripts/requirements/compare.txt)
# on the same 2,000 generated IAM permissions policies, 500 of which grant iam:PassRole on every
# role to any service and 150 of which grant it properly scoped (named roles, iam:PassedToService).
#
# Measures, per tool, the wall time of ONE process judging all 2,000 documents (median of the
# interleaved rounds), documents per second, and how many broad and scoped PassRole documents it
# flags (rolewarden: PR001/PR002; the others: any finding that names iam:PassRole). The documents
# come from scripts/compare/generate_policies.py (seeded: every run judges the same bytes).
#
# Usage:
#   cargo build --release --bin rolewarden
#   scripts/compare-policies.sh
# Environment:
#   ROLEWARDEN_BIN          the binary to time (default: target/release/rolewarden)
#   ROUNDS                  rounds for rolewarden and Parliament (default 3)
#   CLOUDSPLAINING_ROUNDS   cloudsplaining rounds (default 1: a scan takes a minute or more; 0 skips it)
#   KEEP=1                  keep the documents and the tools' output (the path is printed)
# Needs python3 and PyPI (first run only: creates .venv-compare).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

ROLEWARDEN_BIN="${ROLEWARDEN_BIN:-$ROOT/target/release/rolewarden}"
if [ ! -x "$ROLEWARDEN_BIN" ]; then
  echo "no rolewarden binary at $ROLEWARDEN_BIN: run 'cargo build --release --bin rolewarden' or set ROLEWARDEN_BIN" >&2
  exit 2
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/rolewarden-compare.XXXXXX")
if [ "${KEEP:-0}" = 1 ]; then
  trap 'echo "kept: $WORK"' EXIT
else
  trap 'rm -rf "$WORK"' EXIT
fi

step "venv .venv-compare (scripts/requirements/compare.txt)"
ensure_venv "$ROOT/.venv-compare" "$ROOT/scripts/requirements/compare.txt"

step "2,000 policy documents in $WORK/policies"
# The labels and the account file live beside the documents, not among them: Parliament's
# --directory mode reads every .json it finds.
python3 "$ROOT/scripts/compare/generate_policies.py" "$WORK/policies" "$WORK/labels.json" \
  --auth-details "$WORK/auth-details.json"

step "timing ${ROUNDS:-3} interleaved rounds ($ROLEWARDEN_BIN)"
mkdir "$WORK/out"
python3 "$ROOT/scripts/compare/measure.py" \
  --rolewarden "$ROLEWARDEN_BIN" \
  --venv "$ROOT/.venv-compare" \
  --policies "$WORK/policies" \
  --labels "$WORK/labels.json" \
  --auth-details "$WORK/auth-details.json" \
  --work "$WORK/out" \
  --rounds "${ROUNDS:-3}" \
  --cloudsplaining-rounds "${CLOUDSPLAINING_ROUNDS:-1}"
