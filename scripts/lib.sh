# Shared shell helpers for scripts/test.sh and the deploy checks. Source it; do not run it.
# Everything binds 127.0.0.1 and cleans up after itself through stop_servers (call it from a trap).

ROOT="${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
SERVER_PIDS=()

# A step's header, with the seconds since the script started (bash's SECONDS), so a slow step
# shows in the log.
step() { printf '\n==> [%ds] %s\n' "$SECONDS" "$*"; }

# ensure_venv DIR REQUIREMENTS: a venv at DIR with exactly the pinned requirements. A marker
# holding the requirements' checksum skips the install when nothing changed. Installed by uv
# (pinned in scripts/requirements/uv.txt, itself installed by pip into .venv-uv once): pip took
# about 115 s of CPU for the three venvs of scripts/test.sh, uv about 13 s, CPU the compilers
# running beside the installs need. uv compiles no bytecode (Python compiles a module when it
# first imports it). Unlike `python3 -m venv`, a uv venv holds no setuptools: a tool that
# imports `pkg_resources` must list it (scripts/requirements/compare.txt does, for parliament).
ensure_venv() {
  local dir="$1" req="$2"
  venv_is_current "$dir" "$req" && return 0
  ensure_uv
  rm -rf "$dir"
  "$ROOT/.venv-uv/bin/uv" venv --quiet --python "$(command -v python3)" "$dir"
  "$ROOT/.venv-uv/bin/uv" pip install --quiet --python "$dir/bin/python" -r "$req"
  sha256sum "$req" | cut -d' ' -f1 >"$dir/.requirements.sha256"
}

# venv_is_current DIR REQUIREMENTS: DIR was installed from these requirements as they are now.
venv_is_current() {
  local sum
  sum=$(sha256sum "$2" | cut -d' ' -f1)
  [ -f "$1/.requirements.sha256" ] && [ "$(cat "$1/.requirements.sha256")" = "$sum" ]
}

# ensure_uv: .venv-uv with the pinned uv, installed by pip. Several installs start at once
# (scripts/test.sh), so one installs it while the others wait on the lock.
ensure_uv() {
  local req="$ROOT/scripts/requirements/uv.txt"
  mkdir -p "$ROOT/target"
  (
    flock 9
    venv_is_current "$ROOT/.venv-uv" "$req" && exit 0
    rm -rf "$ROOT/.venv-uv"
    python3 -m venv "$ROOT/.venv-uv"
    "$ROOT/.venv-uv/bin/pip" install --quiet --disable-pip-version-check --no-compile -r "$req"
    sha256sum "$req" | cut -d' ' -f1 >"$ROOT/.venv-uv/.requirements.sha256"
  ) 9>"$ROOT/target/uv.lock"
}

# free_port: a TCP port nobody listens on now (the kernel picks it).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_http URL SECONDS: until URL answers, or fail.
wait_http() {
  local url="$1" seconds="${2:-30}" i
  for ((i = 0; i < seconds * 10; i++)); do
    if curl -fsS -o /dev/null "$url" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "timed out waiting for $url" >&2
  return 1
}

# start_moto VENV [ACCOUNT]: moto_server on 127.0.0.1, a free port, behind tests/moto/server.py (a thin shim
# that fixes moto's Lex V2/Connect wire format and lets tests move IAM's clock; see its header).
# Exports the SDK environment that points every AWS client at it (static test credentials, no
# instance metadata) and MOTO_CLOCK_OFFSET_FILE / MOTO_LEXV1_BOTS_FILE for the tests.
start_moto() {
  local venv="$1" account="${2:-}" port
  port=$(free_port)
  mkdir -p "$ROOT/target/moto"
  export MOTO_CLOCK_OFFSET_FILE="$ROOT/target/moto/clock-offset-$port"
  export MOTO_LEXV1_BOTS_FILE="$ROOT/target/moto/lexv1-bots-$port.json"
  echo 0 >"$MOTO_CLOCK_OFFSET_FILE"
  echo '[]' >"$MOTO_LEXV1_BOTS_FILE"
  # ACCOUNT: the account moto plays (the Rust tests use the sample events' account, so enrichment
  # reads the account the events come from). Set only when given: MOTO_ACCOUNT_ID pins every
  # request to one account, which the deploy tests' cross-account forwarding must not have.
  env ${account:+MOTO_ACCOUNT_ID="$account"} MOTO_IAM_LOAD_MANAGED_POLICIES=true \
    "$venv/bin/python" "$ROOT/tests/moto/server.py" \
    -H 127.0.0.1 -p "$port" >"$ROOT/target/moto/server-$port.log" 2>&1 &
  SERVER_PIDS+=($!)
  export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
  export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing
  export AWS_EC2_METADATA_DISABLED=true
  wait_http "$AWS_ENDPOINT_URL/moto-api/" 30
  echo "moto_server on $AWS_ENDPOINT_URL (log: target/moto/server-$port.log)"
}

stop_servers() {
  local pid
  for pid in "${SERVER_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${SERVER_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  SERVER_PIDS=()
}
