#!/usr/bin/env bash
# The browser tests. Builds `sovereel` (dev profile, shared with the other
# tests), starts it on a free loopback port with a fresh data directory, runs
# the unit tests of the client's verifiers and the browser specs with node's
# test runner, then stops the server. A second server, started with
# SOVEREEL_TRANSCODE=false (as a machine without ffmpeg), runs the spec of the
# poster the browser makes. Screenshots land in artifacts/screenshots/.
#
#   tests/e2e/run.sh                            # against the real server
#   tests/e2e/run.sh specs/journey.spec.mjs     # only some files
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$here"

command -v node >/dev/null || { echo "run.sh: node is required" >&2; exit 1; }
command -v ffmpeg >/dev/null || { echo "run.sh: ffmpeg is required to make test clips" >&2; exit 1; }
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || { echo "run.sh: chromium is required (scripts/ensure-test-deps installs it)" >&2; exit 1; }
if [ ! -d node_modules/playwright-core ]; then
  npm ci --no-audit --no-fund
fi

work="$(mktemp -d)"
pids=()
stop() {
  for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$work"
}
trap stop EXIT

free_port() {
  node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

# The binary `cargo test --workspace` builds for the integration tests: the
# same features, so after scripts/test's test step this builds nothing
# (`cargo build -p sovereel` alone would unify features differently and
# rebuild a dozen crates).
echo "== cargo test --workspace --no-run (the sovereel binary)"
(cd "$root" && cargo test --workspace --locked --no-run --quiet)
bin="$root/target/debug/sovereel"

# start NAME [ENV=VALUE…]: starts a server, waits (at most about a minute) for
# /healthz, and sets $url. `exec` keeps $! the server's own pid.
start() {
  local name="$1"; shift
  local port log
  port="$(free_port)"
  log="$work/$name.log"
  echo "== starting sovereel serve ($name) on 127.0.0.1:$port"
  # The specs sign up, log in and post in bursts from one address: they
  # test journeys, not rate limits (crates/sovereel/tests/limits.rs does).
  (exec env SOVEREEL_LIMITS__RATES__ENABLED=false "$@" "$bin" serve --listen "127.0.0.1:$port" --data-dir "$work/$name-data" >"$log" 2>&1) &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 1 120); do
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    if node -e "fetch('http://127.0.0.1:$port/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"; then
      url="http://127.0.0.1:$port"
      return 0
    fi
    sleep 0.5
  done
  echo "run.sh: the $name server did not answer /healthz; its log:" >&2
  tail -n 50 "$log" >&2 || true
  exit 1
}

# run NAME FILES…: the test files against $url; prints the server log on failure.
run() {
  local name="$1"; shift
  echo "== node --test $* (against $name)"
  local status=0
  SOVEREEL_URL="$url" node --test --test-concurrency=1 "$@" || status=$?
  if [ "$status" -ne 0 ]; then
    echo "== $name server log (last 40 lines)"
    tail -n 40 "$work/$name.log" || true
  fi
  return "$status"
}

# Staff accounts for the staff console's spec, made with the binary's own CLI
# in the main server's data directory before it starts.
if "$bin" staff create --help >/dev/null 2>&1; then
  staff_password="$(node -e "console.log(require('crypto').randomBytes(12).toString('hex'))")"
  SOVEREEL_STAFF_PASSWORD="$staff_password" "$bin" staff create --handle e2e_support --role support --region us --data-dir "$work/main-data" >/dev/null
  SOVEREEL_STAFF_PASSWORD="$staff_password" "$bin" staff create --handle e2e_platform --role support --org platform --data-dir "$work/main-data" >/dev/null
  SOVEREEL_STAFF_PASSWORD="$staff_password" "$bin" staff create --handle e2e_operator --role operator --region au --data-dir "$work/main-data" >/dev/null
  SOVEREEL_STAFF_PASSWORD="$staff_password" "$bin" staff create --handle e2e_moderator --role moderator --region au --data-dir "$work/main-data" >/dev/null
  # A second moderator decides appeals of the first one's decisions.
  SOVEREEL_STAFF_PASSWORD="$staff_password" "$bin" staff create --handle e2e_moderator2 --role moderator --region au --data-dir "$work/main-data" >/dev/null
  export SOVEREEL_E2E_STAFF="us:e2e_support:$staff_password,global:e2e_platform:$staff_password,au:e2e_operator:$staff_password,au:e2e_moderator:$staff_password,au:e2e_moderator2:$staff_password"
fi
status=0
if [ $# -gt 0 ]; then
  start main
  run main "$@" || status=$?
  exit "$status"
fi
# The no-ffmpeg pass first, so the whole suite's summary closes the output.
start no-ffmpeg SOVEREEL_TRANSCODE=false
run no-ffmpeg specs/poster.spec.mjs || status=$?
start main
run main unit/*.test.mjs specs/*.spec.mjs || status=$?
exit "$status"
