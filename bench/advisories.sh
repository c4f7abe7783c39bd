#!/usr/bin/env bash
# Advisory database speed: import of a CVE JSON 5 corpus the size of the real one (250,000
# records, synthetic, in the cvelistV5 bulk-zip layout) and matching a 200-component SBOM
# against it; then the curated-table path the database replaces, for comparison.
#
#   bash bench/advisories.sh                 # 250,000 records
#   RECORDS=50000 bash bench/advisories.sh   # a smaller run
#
# Speed only; the CVE lists against cve-bin-tool are bench/compare-cve.sh. Reports one run's
# figures (targets: match <= 1 s, import <= 5 min on 2 cores; no timed assertions).
set -euo pipefail
cd "$(dirname "$0")/.."
RECORDS=${RECORDS:-250000}
WORK=${WORK:-/tmp/iotassure-bench-advisories}
rm -rf "$WORK"; mkdir -p "$WORK"
cargo build -q --release --bin iotassure -p iotassure
cargo build -q --release -p iotassure-advisories --examples
IOT=target/release/iotassure
EX=target/release/examples
now() { date +%s.%N; }
t0=$(now); "$EX/synth_feed" "$WORK" "$RECORDS" >/dev/null; t1=$(now)
printf "generate %d records: %.1f s, zip %s\n" "$RECORDS" "$(echo "$t1 - $t0" | bc)" "$(du -h "$WORK/cves.zip" | cut -f1)"
t0=$(now)
/usr/bin/time -f "import max RSS %M KiB" "$IOT" advisories update --advisories-db "$WORK/adv.db" --from "$WORK/cves.zip" | tail -1
t1=$(now)
printf "import (first): %.1f s wall, db %s\n" "$(echo "$t1 - $t0" | bc)" "$(du -h "$WORK/adv.db" | cut -f1)"
t0=$(now); "$IOT" advisories update --advisories-db "$WORK/adv.db" --from "$WORK/cves.zip" >/dev/null; t1=$(now)
printf "import (again, all unchanged): %.1f s wall\n" "$(echo "$t1 - $t0" | bc)"
for i in 1 2 3; do "$EX/bench_match" "$WORK/adv.db" "$WORK/sbom.cdx.json"; done
# The previous path: the curated table only (153 CVEs), the same 200 components.
cargo build -q --release -p iotassure-advisories --example recheck
printf '{"components":%s}\n' "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(json.dumps([dict(name=c["name"],version=c["version"],method="sbom",evidence=[]) for c in d["components"]]))' "$WORK/sbom.cdx.json")" > "$WORK/report.json"
"$EX/recheck" "$WORK/report.json" | tail -2
[ -n "${KEEP:-}" ] || rm -rf "$WORK"
