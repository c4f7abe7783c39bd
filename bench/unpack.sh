#!/usr/bin/env bash
# Side-by-side unpack benchmark: iotassure, binwalk v3 and unblob on the shared corpus, in one run.
#
#   bench/unpack.sh [IMAGE...]        (default: every image in ../shared/corpus/firmware)
#
# For each image and tool it reports the regular files extracted (`find -type f`, the same count
# for every tool; iotassure's manifest.json and the tools' links to their input are not counted),
# the wall time (median of REPEAT runs, default 3) and the peak RSS, then the ratios
# iotassure/binwalk and iotassure/unblob. Targets (issue 3): time <= 0.5x binwalk v3 and <= 0.33x
# unblob; file count >= the better of the two, on every image.
#
# The other tools are installed under $BENCH (default /tmp/iotassure-bench) when missing, never
# into the repository:
#   binwalk 3.1.0   cargo install binwalk --version 3.1.0 --root $BENCH/binwalk
#   unblob          python3 -m venv $BENCH/unblob-venv; pip install unblob jefferson ubi_reader
#   sasquatch       built from https://github.com/onekey-sec/sasquatch (unblob needs it for
#                   squashfs 1-3 and vendor LZMA); set SASQUATCH_SRC to a checkout if offline
#   apt             p7zip-full lziprecover unar lzop lz4 zstd e2fsprogs (unblob's extractors)
# Results go to $BENCH/results-<time>.md and standard output.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
BENCH="${BENCH:-/tmp/iotassure-bench}"
REPEAT="${REPEAT:-3}"
mkdir -p "$BENCH/bin"
export PATH="$BENCH/bin:$BENCH/binwalk/bin:$BENCH/unblob-venv/bin:$PATH"

log() { echo "==> $*" >&2; }

# --- tools -------------------------------------------------------------------------------
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  missing=""
  for p in p7zip-full lziprecover unar lzop lz4 zstd e2fsprogs; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
  done
  if [ -n "$missing" ]; then
    log "apt-get install$missing"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  fi
fi
if ! command -v binwalk >/dev/null || ! binwalk --version 2>/dev/null | grep -q "3.1.0"; then
  log "installing binwalk 3.1.0 into $BENCH/binwalk (takes a few minutes)"
  cargo install binwalk --version 3.1.0 --root "$BENCH/binwalk" >&2
fi
if [ ! -x "$BENCH/unblob-venv/bin/unblob" ]; then
  log "installing unblob into $BENCH/unblob-venv"
  python3 -m venv "$BENCH/unblob-venv"
  "$BENCH/unblob-venv/bin/pip" install -q unblob jefferson ubi_reader >&2
fi
if ! command -v sasquatch >/dev/null; then
  src="${SASQUATCH_SRC:-$BENCH/sasquatch-src}"
  if [ ! -d "$src/squashfs-tools" ]; then
    log "cloning sasquatch into $src"
    git clone -q --depth 1 https://github.com/onekey-sec/sasquatch "$src" >&2 ||
      log "WARNING: no sasquatch (offline?): unblob will miss squashfs 1-3 and vendor LZMA"
  fi
  if [ -d "$src/squashfs-tools" ]; then
    log "building sasquatch"
    make -C "$src/squashfs-tools" -j2 >/dev/null 2>&1 && cp "$src/squashfs-tools/sasquatch" "$BENCH/bin/"
  fi
fi
log "building iotassure (release)"
cargo build -q --release -p iotassure --manifest-path "$here/Cargo.toml" >&2
IOTASSURE="$here/target/release/iotassure"

# --- runs --------------------------------------------------------------------------------
if [ $# -eq 0 ]; then
  set -- "$here"/../shared/corpus/firmware/*
fi
work="$(mktemp -d "$BENCH/run.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# run TOOL IMAGE OUT → "seconds rss_kb files"
run() {
  local tool="$1" img="$2" out="$3"
  rm -rf "$out"
  local t="$work/time"
  case "$tool" in
    iotassure) /usr/bin/time -f "%e %M" -o "$t" "$IOTASSURE" -q unpack "$img" --out "$out" >/dev/null 2>&1 || true ;;
    binwalk) mkdir -p "$out"; /usr/bin/time -f "%e %M" -o "$t" binwalk -q -Me -C "$out" "$img" >/dev/null 2>&1 || true ;;
    unblob) /usr/bin/time -f "%e %M" -o "$t" unblob -e "$out" "$img" >/dev/null 2>&1 || true ;;
  esac
  local files=0
  [ -d "$out" ] && files=$(find "$out" -type f ! -name manifest.json | wc -l)
  echo "$(tail -1 "$t") $files"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

table() {
printf "| image | files iotassure | files binwalk v3 | files unblob | time iotassure (s) | time binwalk (s) | time unblob (s) | ratio vs binwalk | ratio vs unblob | peak RSS iotassure / binwalk / unblob (MiB) |\n"
printf "|---|---|---|---|---|---|---|---|---|---|\n"
for img in "$@"; do
  name="$(basename "$img")"
  declare -A T R F
  for tool in iotassure binwalk unblob; do
    times=""
    rss=0
    for i in $(seq "$REPEAT"); do
      read -r s m f < <(run "$tool" "$img" "$work/$tool")
      times="$times $s"
      rss=$((m > rss ? m : rss))
      F[$tool]=$f
    done
    T[$tool]=$(echo $times | tr ' ' '\n' | median)
    R[$tool]=$((rss / 1024))
  done
  ratio_b=$(awk -v a="${T[iotassure]}" -v b="${T[binwalk]}" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
  ratio_u=$(awk -v a="${T[iotassure]}" -v b="${T[unblob]}" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
  printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s / %s |\n" "$name" \
    "${F[iotassure]}" "${F[binwalk]}" "${F[unblob]}" "${T[iotassure]}" "${T[binwalk]}" "${T[unblob]}" \
    "$ratio_b" "$ratio_u" "${R[iotassure]}" "${R[binwalk]}" "${R[unblob]}"
done
}
table "$@" | tee "$BENCH/results-$(date +%Y%m%d-%H%M%S).md"
