#!/usr/bin/env bash
# Inspection speed and coverage, side by side with Debian's checksec (ELF hardening) and
# detect-secrets from PyPI (secrets), on the same extracted corpus trees.
#
#   bash bench/inspect.sh            # all Linux corpus images
#   KEEP=1 bash bench/inspect.sh     # keep /tmp/iotassure-bench-inspect for a look
#
# Needs: apt-get install checksec python3-venv; ../shared/corpus. detect-secrets goes into a
# venv under /tmp. Reports one run's figures (no timed assertions; see BRIEF.md).
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=${CORPUS:-../shared/corpus}
WORK=${WORK:-/tmp/iotassure-bench-inspect}
rm -rf "$WORK"; mkdir -p "$WORK"
command -v checksec >/dev/null || { echo "checksec missing: apt-get install checksec"; exit 2; }
if [ ! -x /tmp/ds-venv/bin/detect-secrets ]; then
  python3 -m venv /tmp/ds-venv && /tmp/ds-venv/bin/pip -q install detect-secrets
fi
cargo build -q --release --bin iotassure -p iotassure
cargo build -q --release -p iotassure-inspect --example inspect_tree
IOT=target/release/iotassure
INS=target/release/examples/inspect_tree
now() { date +%s.%N; }
printf "%-62s %9s %9s %7s %9s %7s\n" image inspect_s checksec_s ratio detsec_s ratio
for img in ddwrt-tl-wr841nd-v9-factory-to-ddwrt.bin openwrt-CC-r45001-freifunk-tl-wr841n-v9-squashfs-factory.bin \
           tplink-tl-wr841n-v14-2023-rootfs.squashfs emux_DV-ARM_rootfs-arm.tar.bz2 DIR-300A1_FW105b09.bin tplink-tl-wr841n-v14-2023-kernel.bin; do
  out="$WORK/$img"
  "$IOT" unpack "$CORPUS/firmware/$img" --out "$out" >/dev/null 2>&1 || { echo "$img: unpack failed"; continue; }
  manifest="$out/manifest.json"
  # The rootfs folders of the tree (what checksec and detect-secrets get).
  mapfile -t roots < <(python3 -c "import json,sys;m=json.load(open('$manifest'));[print('$out/'+r['path']) for r in m['rootfs']]")
  t0=$(now); "$INS" "$manifest" "$CORPUS/firmware/$img" --json "$out.obs.json" >/dev/null; t1=$(now)
  ins=$(echo "$t1 - $t0" | bc -l)
  cs=0; ds=0
  for r in "${roots[@]}"; do
    t0=$(now); checksec --dir="$r" --output=json > "$out.checksec.json" 2>/dev/null || true; t1=$(now)
    cs=$(echo "$cs + $t1 - $t0" | bc -l)
    t0=$(now); (cd "$r" && /tmp/ds-venv/bin/detect-secrets scan --all-files . > "$out.detect-secrets.json" 2>/dev/null || true); t1=$(now)
    ds=$(echo "$ds + $t1 - $t0" | bc -l)
  done
  rc=$( [ "${#roots[@]}" -gt 0 ] && echo "scale=1; $cs / $ins" | bc -l || echo "-")
  rd=$( [ "${#roots[@]}" -gt 0 ] && echo "scale=1; $ds / $ins" | bc -l || echo "-")
  printf "%-62s %9.3f %9.3f %6sx %9.3f %6sx\n" "$img" "$ins" "$cs" "$rc" "$ds" "$rd"
  # What each found: secrets by file for detect-secrets vs iotassure's 5.4/5.1 FAILs.
  python3 - "$out" <<'PY'
import json, sys, os
out = sys.argv[1]
obs = json.load(open(out + ".obs.json"))
ours = set()
for f in obs["findings"]:
    if f["outcome"] == "fail" and any(p in ("5.1-1", "5.4-3", "5.4-1") for p in f["provisions"]):
        for e in f["evidence"]:
            loc = e["location"]
            if loc.get("kind") == "file":
                ours.add(loc["path"])
ds = set()
try:
    d = json.load(open(out + ".detect-secrets.json"))
    ds = {"/" + p.lstrip("./") for p in d.get("results", {})}
except Exception:
    pass
print(f"    secrets: iotassure {len(ours)} files, detect-secrets {len(ds)} files; only iotassure: {sorted(ours - ds)[:6]}; only detect-secrets: {sorted(ds - ours)[:6]}")
try:
    cs = json.load(open(out + ".checksec.json"))
    files = cs if isinstance(cs, dict) else {}
    canary = sum(1 for v in files.values() if isinstance(v, dict) and v.get("canary") == "yes")
    print(f"    checksec: {len(files)} files, canary yes {canary}")
except Exception as e:
    print(f"    checksec output not parsed: {e}")
PY
done
[ -n "${KEEP:-}" ] || rm -rf "$WORK"
