#!/usr/bin/env bash
# The browser tests. Builds `sovereel` (dev profile, shared with the other
# tests), starts it on a free loopback port with a fresh data directory, runs
# the unit tests of the client's verifiers and the browser specs with node's
# test runner, then stops the server. Screenshots land in artifacts/screenshots/.
#
#   tests/e2e/run.sh                      # against the real server
#   SOVEREEL_E2E_SERVER=mock tests/e2e/run.sh   # against the contract mock
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

port="$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")"
work="$(mktemp -d)"
log="$work/server.log"
pid=""
stop() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap stop EXIT

if [ "${SOVEREEL_E2E_SERVER:-real}" = mock ]; then
  echo "== starting the contract mock on 127.0.0.1:$port"
  node mock/server.mjs --listen "127.0.0.1:$port" >"$log" 2>&1 &
  pid=$!
else
  echo "== cargo build -p sovereel"
  (cd "$root" && cargo build -p sovereel)
  bin="$root/target/debug/sovereel"
  if ! "$bin" serve --help >/dev/null 2>&1; then
    echo "run.sh: $bin has no 'serve' subcommand yet; use SOVEREEL_E2E_SERVER=mock to test the client alone" >&2
    exit 1
  fi
  echo "== starting sovereel serve on 127.0.0.1:$port"
  "$bin" serve --listen "127.0.0.1:$port" --data-dir "$work/data" >"$log" 2>&1 &
  pid=$!
fi

# Wait (at most about a minute) for /healthz; stop early if the server died.
up=""
for _ in $(seq 1 120); do
  if ! kill -0 "$pid" 2>/dev/null; then break; fi
  if node -e "fetch('http://127.0.0.1:$port/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"; then up=1; break; fi
  sleep 0.5
done
if [ -z "$up" ]; then
  echo "run.sh: the server did not answer /healthz; its log:" >&2
  tail -n 50 "$log" >&2 || true
  exit 1
fi

files=("$@")
if [ ${#files[@]} -eq 0 ]; then
  files=(unit/*.test.mjs specs/*.spec.mjs)
fi
echo "== node --test ${files[*]}"
status=0
SOVEREEL_URL="http://127.0.0.1:$port" node --test --test-concurrency=1 "${files[@]}" || status=$?
if [ "$status" -ne 0 ]; then
  echo "== server log (last 40 lines)"
  tail -n 40 "$log" || true
fi
exit "$status"
