#!/usr/bin/env bash
# Side by side, in one run, against the same daemons the tests use (in a network namespace):
#   1. full TCP port scan:      nmap -sT -p- -T4            vs  iotassure probe --only scan
#   2. service identification:  nmap -sT -sV on open ports  vs  iotassure probe --only identify
#   3. TLS:                     sslyze and testssl           vs  iotassure probe --only tls
# and prints the time ratios (iotassure / other; below 1.0 is faster) and whether the findings
# agree. Needs root (namespace). Installs nmap, testssl.sh (apt) and sslyze (pip, in a venv under
# /tmp) when missing. Usage: bench/device.sh [--runs N]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
RUNS=1
[ "${1:-}" = "--runs" ] && RUNS=${2:-1}
[ "$(id -u)" -eq 0 ] || { echo "bench/device.sh needs root (network namespace)"; exit 2; }
WORK=$(mktemp -d /tmp/iotassure-bench-XXXXXX)
STOP=$WORK/stop
export DEBIAN_FRONTEND=noninteractive

need_apt=()
command -v nmap >/dev/null || need_apt+=(nmap)
command -v testssl >/dev/null || need_apt+=(testssl.sh)
for p in $(sed -e 's/#.*//' .ci/apt/device.txt); do dpkg -s "$p" >/dev/null 2>&1 || need_apt+=("$p"); done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "==> apt-get install ${need_apt[*]}"
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
VENV=/tmp/iotassure-bench-venv
if [ ! -x $VENV/bin/sslyze ]; then
  echo "==> pip install sslyze (in $VENV)"
  python3 -m venv $VENV && $VENV/bin/pip install -q sslyze
fi
SSLYZE=$VENV/bin/sslyze

echo "==> building iotassure (release)"
cargo build -q --release -p iotassure
IOTA_BIN=$ROOT/target/release/iotassure
# iotassure exits 0 (pass) or 1 (fails/incomplete); 2 is an error, which must not pass as a time:
# the wrapper leaves a marker that die_if_failed turns into a failed bench.
IOTA="$WORK/iota-strict"
printf '#!/bin/sh\n"%s" "$@"; rc=$?; [ $rc -le 1 ] || echo "iotassure $* exited $rc" >>"%s"; exit 0\n' "$IOTA_BIN" "$WORK/failed" >"$IOTA"
chmod +x "$IOTA"
die_if_failed() { if [ -e "$WORK/failed" ]; then cat "$WORK/failed"; exit 1; fi; }

echo "==> starting the daemons"
IOTASSURE_BENCH_STOP=$STOP cargo test -q -p iotassure-device --test bench_fixture -- --ignored --nocapture >"$WORK/fixture.log" 2>&1 &
FIXTURE=$!
cleanup() { touch "$STOP"; wait $FIXTURE 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
for _ in $(seq 1 600); do grep -q '^READY' "$WORK/fixture.log" && break; sleep 0.5; done
grep -q '^READY' "$WORK/fixture.log" || { cat "$WORK/fixture.log"; echo "fixture did not start"; exit 1; }
T=$(awk '/^READY/{print $2}' "$WORK/fixture.log")
echo "    device at $T"

now() { date +%s.%N; }
# best of RUNS wall-clock seconds of a command (its output to a file)
timeit() { local out=$1; shift; local best=""; for _ in $(seq 1 "$RUNS"); do local s e d; s=$(now); "$@" >"$out" 2>&1 || true; e=$(now); d=$(echo "$e - $s" | bc -l); if [ -z "$best" ] || [ "$(echo "$d < $best" | bc -l)" = 1 ]; then best=$d; fi; done; printf '%.3f' "$best"; }
ratio() { echo "scale=3; $1 / $2" | bc -l | sed 's/^\./0./'; }

echo "==> 1. full TCP port scan"
t_nmap_scan=$(timeit "$WORK/nmap-scan.txt" nmap -sT -p- -T4 -n -Pn "$T")
t_iota_scan=$(timeit "$WORK/iota-scan.txt" "$IOTA" -q probe "$T" --only scan --no-udp --out "$WORK/scan" --force); die_if_failed
nmap_open=$(grep -E '^[0-9]+/tcp +open' "$WORK/nmap-scan.txt" | cut -d/ -f1 | sort -n | paste -sd, -)
iota_open=$(python3 -c "import json;print(','.join(map(str,json.load(open('$WORK/scan/probe.json'))['scan']['open'])))")
echo "    nmap -sT -p- -T4: ${t_nmap_scan}s open=$nmap_open"
echo "    iotassure:        ${t_iota_scan}s open=$iota_open"
[ "$nmap_open" = "$iota_open" ] && scan_same=yes || scan_same=NO

echo "==> 2. service identification on $iota_open"
t_nmap_sv=$(timeit "$WORK/nmap-sv.txt" nmap -sT -sV -p "$iota_open" -n -Pn "$T")
t_iota_sv=$(timeit "$WORK/iota-sv.txt" "$IOTA" -q probe "$T" --ports "$iota_open" --only identify --no-udp --out "$WORK/sv" --force); die_if_failed
echo "    nmap -sT -sV: ${t_nmap_sv}s"
grep -E '^[0-9]+/tcp' "$WORK/nmap-sv.txt" | sed 's/^/      nmap      /'
python3 - "$WORK/sv/probe.json" <<'EOF'
import json, sys
for s in json.load(open(sys.argv[1]))["services"]:
    if not s["udp"]:
        name = s["proto"] + ("+tls" if s["tls"] and s["proto"] != "tls" else "")
        print(f"      iotassure {s['port']}/tcp {name} {s.get('banner') or ''}"[:140])
EOF
echo "    iotassure:    ${t_iota_sv}s"

echo "==> 3. TLS: sslyze, testssl, iotassure"
cat >"$WORK/openssl.cnf" <<'EOF'
openssl_conf = default_conf
[default_conf]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
MinProtocol = None
CipherString = DEFAULT:@SECLEVEL=0
EOF
tls_same=yes
t_sslyze=0; t_testssl=0; t_iota_tls=0
for port in 4431 4432 443; do
  a=$(timeit "$WORK/sslyze-$port.txt" "$SSLYZE" --json_out="$WORK/sslyze-$port.json" "$T:$port")
  # testssl refuses to overwrite its JSON file: a fresh one per run.
  b=$(timeit "$WORK/testssl-$port.txt" sh -c "rm -f '$WORK/testssl-$port.json'; OPENSSL_CONF='$WORK/openssl.cnf' exec testssl --quiet --color 0 --warnings off -p -e -S --jsonfile '$WORK/testssl-$port.json' '$T:$port'")
  c=$(timeit "$WORK/iota-tls-$port.txt" "$IOTA" -q probe "$T" --ports "$port" --only tls --no-udp --out "$WORK/tls-$port" --force); die_if_failed
  t_sslyze=$(echo "$t_sslyze + $a" | bc -l); t_testssl=$(echo "$t_testssl + $b" | bc -l); t_iota_tls=$(echo "$t_iota_tls + $c" | bc -l)
  cmp=$(python3 - "$WORK/sslyze-$port.json" "$WORK/tls-$port/probe.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))["server_scan_results"][0]["scan_result"]
names = {"ssl_3_0_cipher_suites": "SSLv3", "tls_1_0_cipher_suites": "TLS 1.0", "tls_1_1_cipher_suites": "TLS 1.1",
         "tls_1_2_cipher_suites": "TLS 1.2", "tls_1_3_cipher_suites": "TLS 1.3"}
theirs = {}
for k, v in names.items():
    acc = (s.get(k) or {}).get("result") or {}
    got = {c["cipher_suite"]["name"] for c in acc.get("accepted_cipher_suites", [])}
    if got:
        theirs[v] = got
ours = {}
for t in json.load(open(sys.argv[2]))["tls"]:
    for v, suites in t["suites"].items():
        ours[v] = {x["name"] for x in suites}
cert = (s.get("certificate_info") or {}).get("result") or {}
missed, extra = [], []
for v in sorted(set(theirs) | set(ours)):
    a, b = theirs.get(v, set()), ours.get(v, set())
    missed += [f"{v} {x}" for x in sorted(a - b)]
    extra += [f"{v} {x}" for x in sorted(b - a)]
n = sum(len(x) for x in ours.values())
verdict = "same" if not missed and not extra else ("superset" if not missed else "DIFF")
line = f"{verdict}: versions {sorted(ours)}, {n} suites"
if missed:
    line += f" | sslyze only: {missed[:6]}"
if extra:
    line += f" | iotassure also: {extra[:6]}"
print(line)
EOF
)
  case "$cmp" in same*) ;; superset*) [ "$tls_same" = yes ] && tls_same="yes, plus suites sslyze does not test" ;; *) tls_same=NO ;; esac
  printf '    %-5s sslyze %6.2fs  testssl %6.2fs  iotassure %6.2fs  findings vs sslyze: %s\n' "$port" "$a" "$b" "$c" "$cmp"
done

echo
echo "== results (one run, best of $RUNS; ratio = iotassure / other, below 1.0 = faster)"
printf '%-34s %9s %9s %7s %s\n' "measure" "other(s)" "iota(s)" "ratio" "same facts"
printf '%-34s %9.2f %9.2f %7s %s\n' "full scan vs nmap -sT -p- -T4" "$t_nmap_scan" "$t_iota_scan" "$(ratio "$t_iota_scan" "$t_nmap_scan")" "$scan_same (open ports)"
printf '%-34s %9.2f %9.2f %7s %s\n' "identification vs nmap -sT -sV" "$t_nmap_sv" "$t_iota_sv" "$(ratio "$t_iota_sv" "$t_nmap_sv")" "(see the lists above)"
printf '%-34s %9.2f %9.2f %7s %s\n' "TLS (3 servers) vs sslyze" "$t_sslyze" "$t_iota_tls" "$(ratio "$t_iota_tls" "$t_sslyze")" "$tls_same (versions and suites)"
printf '%-34s %9.2f %9.2f %7s %s\n' "TLS (3 servers) vs testssl -p -e -S" "$t_testssl" "$t_iota_tls" "$(ratio "$t_iota_tls" "$t_testssl")" ""
