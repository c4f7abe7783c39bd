#!/usr/bin/env bash
# Trust-center benchmarks, side by side in one run (DESIGN.md §6 targets):
#
#   admission  >= 20,000 look-ups/s with p99 <= 5 ms on SQLite, 10,000 certified releases in the
#              registry, each request asking about a different image (a wrk Lua script walks the
#              10,000 SHA-256s); driven by wrk from a second process over loopback.
#              Three rows: the service as shipped (answers cached per audit generation), the
#              same with the cache off (every answer from SQLite), and the ceiling: a static
#              response (/healthz) of the same HTTP stack.
#   re-check   10,000 certified releases against 1,000 new advisories in <= 10 s.
#
#   bench/admission.sh            (DURATION=10s CONNECTIONS=32 THREADS=1 by default)
#
# Needs wrk (Debian package, .ci/apt/trustcenter.txt). Builds iotassure in release mode.
# Work goes to $BENCH (default /tmp/iotassure-bench/tc); results to standard output.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
BENCH="${BENCH:-/tmp/iotassure-bench/tc}"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-32}"
THREADS="${THREADS:-1}"
FIRMWARE="${FIRMWARE:-10000}"
ADVISORIES="${ADVISORIES:-1000}"
PORT="${PORT:-18700}"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 2; }

log() { echo "==> $*" >&2; }
cd "$here"
log "building (release)"
cargo build --release -q -p iotassure -p iotassure-trustcenter --example bench_recheck
bin="$here/target/release/iotassure"
fill="$here/target/release/examples/bench_recheck"

rm -rf "$BENCH"; mkdir -p "$BENCH"
log "re-check: $FIRMWARE certified releases x $ADVISORIES advisories"
recheck=$("$fill" --firmware "$FIRMWARE" --advisories "$ADVISORIES")
log "filling the registry for admission ($FIRMWARE certified releases)"
"$fill" --firmware "$FIRMWARE" --data "$BENCH/data" 2>/dev/null

# wrk script: each request asks about the next image of the 10,000.
cat > "$BENCH/walk.lua" <<LUA
local shas = {}
for line in io.lines("$BENCH/data/shas.txt") do shas[#shas + 1] = line end
local i = 0
request = function()
  i = i % #shas + 1
  return wrk.format("GET", "/api/v1/admission?sha256=" .. shas[i], { ["Authorization"] = "Bearer " .. os.getenv("TOKEN") })
end
LUA

pid=""
stop() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=""; fi; }
trap stop EXIT
start() {
  "$bin" serve --data "$BENCH/data" --listen "127.0.0.1:$PORT" "$@" >"$BENCH/serve.out" 2>"$BENCH/serve.err" &
  pid=$!
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && return; sleep 0.1; done
  echo "serve did not start: $(cat "$BENCH/serve.err")" >&2; exit 2
}
# Requests/s and p99 (ms) from wrk --latency output.
measure() {
  local out rps p99 errs
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@")
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}' <<<"$out")
  errs=$(awk '/Non-2xx or 3xx responses:/ {print $5}' <<<"$out")
  echo "$rps ${p99} ${errs:-0}"
}

start
TOKEN_ADMIN=$(cat "$BENCH/data/admin-token")
"$bin" tc --server "http://127.0.0.1:$PORT" --token "$TOKEN_ADMIN" org create "Bench Operator" --kind operator >/dev/null
export TOKEN=$("$bin" tc --server "http://127.0.0.1:$PORT" --token "$TOKEN_ADMIN" token create --role operator --org "Bench Operator" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
check=$(curl -fs -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/v1/admission?sha256=$(head -1 "$BENCH/data/shas.txt")")
grep -q '"decision":"allow"' <<<"$check" || { echo "admission sanity check failed: $check" >&2; exit 2; }

log "admission, cache on ($DURATION, $CONNECTIONS connections)"
read -r c_rps c_p99 c_err < <(measure -s "$BENCH/walk.lua" "http://127.0.0.1:$PORT")
log "ceiling: static /healthz of the same stack"
read -r s_rps s_p99 s_err < <(measure "http://127.0.0.1:$PORT/healthz")
stop
start --no-admission-cache
log "admission, cache off (every answer from SQLite)"
read -r n_rps n_p99 n_err < <(measure -s "$BENCH/walk.lua" "http://127.0.0.1:$PORT")
stop

ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
cat <<MD

| row | requests/s | p99 ms | non-2xx | vs ceiling |
|---|---:|---:|---:|---:|
| admission (as shipped: cache per audit generation) | $c_rps | $c_p99 | $c_err | $(ratio "$c_rps" "$s_rps") |
| admission, cache off (SQLite every time) | $n_rps | $n_p99 | $n_err | $(ratio "$n_rps" "$s_rps") |
| ceiling: static /healthz, same axum stack | $s_rps | $s_p99 | $s_err | 1.00 |

targets: >= 20000 requests/s, p99 <= 5 ms ($(nproc) cores, wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $FIRMWARE certified releases)

$recheck (target <= 10 s)
MD
