#!/usr/bin/env bash
# Runs the Lambda function on this machine and invokes it with event files: see usage() below.
# The same path the test suite takes (tests/lambda_runtime.rs): the `bootstrap` binary under the
# real Lambda Runtime API emulator, `cargo lambda watch --only-lambda-apis`, sent each payload
# with `cargo lambda invoke`. Both bind 127.0.0.1 on a free port and are stopped on exit.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/invoke-local.sh [OPTIONS] FILE|FOLDER|-...

Runs the rolewarden Lambda function on this machine and invokes it with each event file, in
turn: you see what the deployed function would do with an event before you deploy it. A folder
stands for every .json file under it, `-` for standard input. Each file is one invocation
payload: an EventBridge event (as the rules deliver them), the schedule's event, a raw
CloudTrail record (as CloudTrail's event history shows it) or a CloudTrail log file
({"Records": [...]}, unzipped). events/ holds samples of each rule, of the schedule
(sweep-scheduled-event.json) and of delete events that re-check the account (recheck-*.json).

For each file it prints the function's answer (status, finding ids, counts, AWS calls) and the
findings the function wrote, then its warnings and errors. At the end it stops the function and
the Runtime API emulator, also on Ctrl-C or an error. Exit status: 0 when every invocation
succeeded, 1 when one failed, 2 on bad arguments.

Without --aws no AWS account is used or needed: the function runs with no credentials at all
(your AWS_* variables and ~/.aws are hidden from it) and FINDINGS_SINK=stdout, so the findings
it writes are printed here. Rules that read the account say so in their findings
(`"enrichment": "unavailable (... no credentials ...)"`), and the schedule or a delete event
answers `swept` with an RW002 finding naming what it could not read.

Options:
  --aws              Run against your own account: the function keeps your credentials and
                     region (AWS_PROFILE, AWS_REGION, the environment or ~/.aws, as the aws CLI
                     reads them), enriches events from the account (PR004, PR006, SL005), runs
                     the sweep for the schedule and delete events, and writes findings to a
                     CloudWatch Logs group (FINDINGS_SINK=cloudwatch), as deployed. It reads
                     IAM, Lex and Connect, and writes only to that group; your credentials need
                     what the function's role has (FunctionRole in template.yaml).
  --log-group NAME   With --aws: the findings log group, created when missing (default
                     /rolewarden/local/findings; the deployed stack writes to
                     /rolewarden/STACK/findings). A group the function creates keeps its events
                     forever: set a retention or delete it when done.
  --sink stdout      With --aws: enrich from the account but print findings here instead.
  --region REGION    With --aws: the function's region (default: your AWS_REGION or profile).
  --baseline FILE    A baseline TOML for the function (ROLEWARDEN_BASELINE); default: the
                     embedded one (`rolewarden baseline show`).
  -v, --verbose      Print the function's whole log for each invocation, not only warnings.
  -h, --help         This help.

Environment:
  ROLEWARDEN_BOOTSTRAP      an existing bootstrap binary to run (default: build it with
                            `cargo build --release --bin bootstrap`, a few minutes the first time)
  ROLEWARDEN_CARGO_LAMBDA   an existing cargo-lambda binary (default: install the pinned one
                            into .venv from scripts/requirements/test.txt, as scripts/test.sh does)
  RUST_LOG                  the function's log level (default info)

Examples:
  scripts/invoke-local.sh events/pr005-fires-lexv2-createbot-unapproved-role.json
  scripts/invoke-local.sh events/                       # every sample, one after the other
  scripts/invoke-local.sh --baseline my-baseline.toml events/pr005-*.json
  AWS_PROFILE=audit scripts/invoke-local.sh --aws events/sweep-scheduled-event.json
  aws logs tail /rolewarden/local/findings --since 15m --format short     # what --aws wrote

In the real-account mode the function enriches an event whatever account it names (the emulator
gives it no function ARN to tell its own account by, unlike Lambda): send events of the account
your credentials belong to, or the sample events will be judged against roles of yours that
happen to share their names.
EOF
}

die_usage() {
  echo "invoke-local.sh: $*" >&2
  echo "Run scripts/invoke-local.sh --help for usage." >&2
  exit 2
}

aws_mode=false
sink=""
log_group="/rolewarden/local/findings"
region=""
baseline="${ROLEWARDEN_BASELINE:-}"
verbose=false
inputs=()
while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --aws) aws_mode=true ;;
    --sink)
      [ $# -ge 2 ] || die_usage "--sink needs a value: stdout or cloudwatch"
      sink="$2"; shift ;;
    --log-group)
      [ $# -ge 2 ] || die_usage "--log-group needs a name"
      log_group="$2"; shift ;;
    --region)
      [ $# -ge 2 ] || die_usage "--region needs a region"
      region="$2"; shift ;;
    --baseline)
      [ $# -ge 2 ] || die_usage "--baseline needs a file"
      baseline="$2"; shift ;;
    -v | --verbose) verbose=true ;;
    --) shift; inputs+=("$@"); break ;;
    -) inputs+=("$1") ;;
    -*) die_usage "unknown option \`$1\`" ;;
    *) inputs+=("$1") ;;
  esac
  shift
done

[ ${#inputs[@]} -gt 0 ] || die_usage "no event file or folder given"
if $aws_mode; then
  sink="${sink:-cloudwatch}"
else
  [ -z "$sink" ] || die_usage "--sink needs --aws (without it there is no account to write to)"
  [ -z "$region" ] || die_usage "--region needs --aws"
  sink=stdout
fi
case "$sink" in stdout | cloudwatch) ;; *) die_usage "--sink: expected \`stdout\` or \`cloudwatch\`, not \`$sink\`" ;; esac

# Everything this script starts, stopped on any exit (Ctrl-C and errors included).
work=$(mktemp -d "${TMPDIR:-/tmp}/rolewarden-invoke.XXXXXX")
watch_pid=""
function_pid=""
invoke_pid=""
stop_pid() {
  local pid="$1" i
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || return 0
  # cargo lambda watch shuts down gracefully within about a second; do not wait forever.
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local status=$?
  # A background command's forked child is this shell until it execs, traps and all: a signal in
  # that window (stop_pid on an invoke started a moment ago, when the function died at once) ran
  # this cleanup in the child, which stopped everything and removed $work under the script.
  [ "$BASHPID" = "$$" ] || exit "$status"
  trap - EXIT INT TERM
  stop_pid "$invoke_pid"
  stop_pid "$function_pid"
  stop_pid "$watch_pid"
  if [ -n "$watch_pid" ]; then
    echo "stopped the function and cargo lambda watch" >&2
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Payload files, resolved before the cd below so relative paths mean what the user meant; shown
# as given.
files=()
shown=()
for input in "${inputs[@]}"; do
  if [ "$input" = - ]; then
    # Standard input, e.g. `sam local generate-event cloudwatch scheduled-event | ... -`.
    [ ! -e "$work/stdin.json" ] || die_usage "standard input (\`-\`) given twice"
    cat >"$work/stdin.json"
    files+=("$work/stdin.json"); shown+=("(standard input)")
  elif [ -d "$input" ]; then
    found=0
    while IFS= read -r -d '' f; do
      files+=("$(realpath "$f")"); shown+=("$f"); found=$((found + 1))
    done < <(find "$input" -type f -name '*.json' -print0 | sort -z)
    [ "$found" -gt 0 ] || die_usage "no .json file under \`$input\`"
  elif [ -f "$input" ]; then
    files+=("$(realpath "$input")"); shown+=("$input")
  else
    die_usage "no such file or folder: \`$input\`"
  fi
done
if [ -n "$baseline" ]; then
  [ -f "$baseline" ] || die_usage "no such baseline file: \`$baseline\`"
  baseline="$(realpath "$baseline")"
fi

cd "$(dirname "$0")/.."
source scripts/lib.sh


# The function binary.
if [ -n "${ROLEWARDEN_BOOTSTRAP:-}" ]; then
  bootstrap="$ROLEWARDEN_BOOTSTRAP"
  [ -x "$bootstrap" ] || die_usage "ROLEWARDEN_BOOTSTRAP: \`$bootstrap\` is not an executable file"
else
  echo "building the function: cargo build --release --bin bootstrap (minutes the first time)" >&2
  cargo build --release --bin bootstrap
  bootstrap="$(realpath "${CARGO_TARGET_DIR:-target}")/release/bootstrap"
fi

# The Runtime API emulator, pinned like the test suite's.
if [ -n "${ROLEWARDEN_CARGO_LAMBDA:-}" ]; then
  cargo_lambda="$ROLEWARDEN_CARGO_LAMBDA"
  [ -x "$cargo_lambda" ] || die_usage "ROLEWARDEN_CARGO_LAMBDA: \`$cargo_lambda\` is not an executable file"
else
  if [ ! -f .venv/.requirements.sha256 ]; then
    echo "installing the pinned cargo-lambda into .venv (scripts/requirements/test.txt)" >&2
  fi
  ensure_venv .venv scripts/requirements/test.txt
  cargo_lambda="$ROOT/.venv/bin/cargo-lambda"
fi

# cargo lambda watch prints the environment the function needs, then starts serving.
port=$(free_port)
# Created here: the background child opens it, maybe after the first grep below.
: >"$work/watch.log"
"$cargo_lambda" lambda watch --only-lambda-apis -A 127.0.0.1 -P "$port" >"$work/watch.log" 2>&1 &
watch_pid=$!
ready=false
for ((i = 0; i < 600; i++)); do
  if grep -q 'starting Runtime server' "$work/watch.log"; then ready=true; break; fi
  kill -0 "$watch_pid" 2>/dev/null || break
  sleep 0.1
done
if ! $ready; then
  echo "cargo lambda watch did not start on 127.0.0.1:$port:" >&2
  cat "$work/watch.log" >&2
  exit 1
fi
lambda_env=()
while IFS= read -r pair; do
  lambda_env+=("$pair")
done < <(sed -n 's/^.*INFO \(AWS_LAMBDA_[A-Z_]*=[^ ]*\)$/\1/p' "$work/watch.log")
printf '%s\n' "${lambda_env[@]}" | grep -q '^AWS_LAMBDA_RUNTIME_API=' || {
  echo "cargo lambda watch printed no AWS_LAMBDA_RUNTIME_API:" >&2
  cat "$work/watch.log" >&2
  exit 1
}
function_name=$(printf '%s\n' "${lambda_env[@]}" | sed -n 's/^AWS_LAMBDA_FUNCTION_NAME=//p')
function_name="${function_name:-_}"

: >"$work/function.out"
: >"$work/function.log"
# The function's environment: what the emulator said, the sink, and the account (or none).
function_env=("${lambda_env[@]}" "FINDINGS_SINK=$sink")
[ -z "$baseline" ] || function_env+=("ROLEWARDEN_BASELINE=$baseline")
for var in RUST_LOG AWS_LAMBDA_LOG_LEVEL AWS_LAMBDA_LOG_FORMAT ROLEWARDEN_CACHE_TTL_SECONDS; do
  [ -z "${!var:-}" ] || function_env+=("$var=${!var}")
done
if $aws_mode; then
  function_env+=("FINDINGS_LOG_GROUP=$log_group")
  [ -z "$region" ] || function_env+=("AWS_REGION=$region")
  env "${function_env[@]}" "$bootstrap" >>"$work/function.out" 2>>"$work/function.log" &
else
  # A clean environment, as Lambda gives: no credentials, no profile, no instance metadata, so
  # nothing can reach an account. The region is the one IAM's events arrive in.
  env -i "${function_env[@]}" AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true \
    AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
    "$bootstrap" >>"$work/function.out" 2>>"$work/function.log" &
fi
function_pid=$!

echo "cargo lambda watch (pid $watch_pid) on 127.0.0.1:$port; function $bootstrap (pid $function_pid)" >&2
if $aws_mode; then
  if [ "$sink" = cloudwatch ]; then
    echo "mode: your AWS account; findings go to log group $log_group" >&2
  else
    echo "mode: your AWS account; findings printed here (FINDINGS_SINK=stdout)" >&2
  fi
else
  echo "mode: no AWS account (no credentials); findings printed here (FINDINGS_SINK=stdout)" >&2
fi

# The answer: valid JSON, one top-level key a line. Each finding: a line for people, then the
# line the function wrote, as written.
show_answer='
import json, sys
answer = json.load(open(sys.argv[1]))
lines = [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in answer.items()]
print("{\n" + ",\n".join(lines) + "\n}")
'
show_findings='
import json, sys
for line in open(sys.argv[1]):
    try:
        f = json.loads(line)
        print("[%s] %s %s: %s" % (f["severity"], f["rule_id"], f["rule_name"], f["message"]))
    except (ValueError, KeyError, TypeError):
        pass
    print(line, end="")
'

# The bytes a file gained since `offset`.
since() { tail -c "+$(($2 + 1))" "$1"; }
size() { wc -c <"$1" | tr -d " "; }

failed=0
for index in "${!files[@]}"; do
  file="${files[$index]}"
  echo
  echo "==> ${shown[$index]}"
  out_at=$(size "$work/function.out")
  log_at=$(size "$work/function.log")
  "$cargo_lambda" lambda invoke -A 127.0.0.1 -P "$port" --data-file "$file" "$function_name" \
    >"$work/answer" 2>"$work/invoke.err" &
  invoke_pid=$!
  # A function that dies (an invalid baseline fails its start) would leave the invoke waiting.
  while kill -0 "$invoke_pid" 2>/dev/null; do
    if ! kill -0 "$function_pid" 2>/dev/null; then
      stop_pid "$invoke_pid"
      break
    fi
    sleep 0.02
  done
  if wait "$invoke_pid" 2>/dev/null; then invoked=true; else invoked=false; fi
  invoke_pid=""
  if $invoked; then
    echo "answer:"
    python3 -c "$show_answer" "$work/answer" 2>/dev/null || cat "$work/answer"
  else
    failed=$((failed + 1))
    if kill -0 "$function_pid" 2>/dev/null; then
      echo "invocation failed:"
      cat "$work/answer" "$work/invoke.err"
    else
      echo "invocation failed: the function stopped"
    fi
  fi
  since "$work/function.out" "$out_at" >"$work/findings"
  if [ "$sink" = stdout ]; then
    echo "findings written (FINDINGS_SINK=stdout): $(wc -l <"$work/findings")"
    python3 -c "$show_findings" "$work/findings" 2>/dev/null || cat "$work/findings"
  else
    echo "findings written to log group $log_group: their ids are in the answer" \
      "(aws logs tail $log_group --since 15m --format short)"
  fi
  if $verbose; then
    echo "function log:"
    since "$work/function.log" "$log_at" | sed 's/^/  /'
  else
    since "$work/function.log" "$log_at" | grep -E '^ *(WARN|ERROR)|"level":"(WARN|ERROR)"' |
      sed 's/^/  /' || true
  fi
  if ! kill -0 "$function_pid" 2>/dev/null; then
    echo
    echo "the function stopped; its log:" >&2
    cat "$work/function.log" >&2
    exit 1
  fi
done

echo
echo "${#files[@]} invocations, $failed failed"
[ "$failed" -eq 0 ]
