#!/usr/bin/env bash
# CVE lists on the Linux images of ../shared/corpus: iotassure against cve-bin-tool, both fed the
# same NVD snapshot (bench/data/nvd-corpus-snapshot.json.xz, see bench/data/README.md), offline.
# cve-bin-tool runs both ways its users run it: on the unpacked tree (its binary checkers) and on
# iotassure's CycloneDX SBOM. grype is not run: see docs/advisories.md for why.
#
#   bash bench/compare-cve.sh                         # target/release/iotassure
#   IOTASSURE_BIN=target/debug/iotassure bash bench/compare-cve.sh
#   JSON=/tmp/cmp.json bash bench/compare-cve.sh      # also write the comparison as JSON
#
# cve-bin-tool 3.4 comes from PyPI into a venv ($CBT_VENV, default /tmp/cbt); its database is built
# by bench/cbt_nvd_db.py with cve-bin-tool's own NVD 2.0 parser, under a private $HOME so the
# user's ~/.cache/cve-bin-tool is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${IOTASSURE_BIN:-target/release/iotassure}
CORPUS=${IOTASSURE_CORPUS:-../shared/corpus/firmware}
WORK=${WORK:-/tmp/iotassure-compare-cve}
CBT_VENV=${CBT_VENV:-/tmp/cbt}
SNAPSHOT=bench/data/nvd-corpus-snapshot.json.xz
IMAGES=(
  DIR-300A1_FW105b09.bin
  openwrt-CC-r45001-freifunk-tl-wr841n-v9-squashfs-factory.bin
  tplink-tl-wr841n-v14-2023-rootfs.squashfs
  tplink-tl-wr841n-v14-2023-kernel.bin
  ddwrt-tl-wr841nd-v9-factory-to-ddwrt.bin
  emux_DV-ARM_rootfs-arm.tar.bz2
)
[[ -x "$BIN" ]] || { echo "no iotassure binary at $BIN (cargo build --release, or set IOTASSURE_BIN)" >&2; exit 2; }
[[ -d "$CORPUS" ]] || { echo "no corpus at $CORPUS (set IOTASSURE_CORPUS)" >&2; exit 2; }
if [[ ! -x "$CBT_VENV/bin/cve-bin-tool" ]]; then
  python3 -m venv "$CBT_VENV"
  "$CBT_VENV/bin/pip" install --quiet 'cve-bin-tool==3.4'
fi
# Each run starts from nothing: the folder is ours alone (a plain path under /tmp by default).
case "$WORK" in /|"$HOME"|.|..|"") echo "refusing WORK=$WORK" >&2; exit 2;; esac
rm -rf "$WORK"; mkdir -p "$WORK/cbthome"
xz -dc "$SNAPSHOT" > "$WORK/nvd.json"
"$BIN" advisories update --advisories-db "$WORK/adv.db" --from "$WORK/nvd.json" | tail -1
HOME="$WORK/cbthome" "$CBT_VENV/bin/python" bench/cbt_nvd_db.py "$WORK/nvd.json"
for name in "${IMAGES[@]}"; do
  img="$CORPUS/$name"
  [[ -f "$img" ]] || { echo "missing image: $img" >&2; exit 2; }
  d="$WORK/$name"; mkdir -p "$d"
  # Exit 1 only says the profile did not pass; the VEX document is what is compared.
  "$BIN" assess "$img" --advisories-db "$WORK/adv.db" --out "$d/assess" --quiet > "$d/assess.log" 2>&1 || true
  [[ -f "$d/assess/vex.cdx.json" ]] || { echo "no vex.cdx.json for $name (see $d/assess.log)" >&2; exit 1; }
  "$BIN" unpack "$img" --out "$d/tree" --quiet > /dev/null
  # cve-bin-tool exits with the number of products with CVEs; only a missing report is a failure.
  HOME="$WORK/cbthome" "$CBT_VENV/bin/cve-bin-tool" --offline --disable-version-check -f json \
    -o "$d/cbt-binary.json" "$d/tree" > "$d/cbt-binary.log" 2>&1 || true
  HOME="$WORK/cbthome" "$CBT_VENV/bin/cve-bin-tool" --offline --disable-version-check -f json \
    --sbom cyclonedx --sbom-file "$d/assess/sbom.cdx.json" -o "$d/cbt-sbom.json" > "$d/cbt-sbom.log" 2>&1 || true
done
python3 bench/compare_cve.py --work "$WORK" --snapshot "$WORK/nvd.json" ${JSON:+--json "$JSON"} "${IMAGES[@]}"
