#!/usr/bin/env bash
# Side-by-side unpack benchmark: iotassure, binwalk v3 and unblob on the shared corpus, in one run.
#
#   bench/unpack.sh [IMAGE...]        (default: every image in ../shared/corpus/firmware)
#
# For each image and tool it reports two counts:
#   files    regular files written (`find -type f`, the same for every tool; iotassure's
#            manifest.json is not counted)
#   entries  every non-directory entry extracted: files, symlinks, device nodes and FIFOs. The
#            other tools create these on disk (unsquashfs makes device nodes as root; binwalk and
#            unblob write a cpio's device node as an empty regular file); iotassure records them in
#            manifest.json and never creates a device node, so its count comes from the manifest.
#            binwalk's link to its input is not counted.
# the wall time and the CPU time (user + system), each the best of REPEAT runs (default 5: on a
# shared machine the best run is the one least disturbed by other work; the tools take turns
# within each repetition so the load falls on all of them alike), the peak RSS, then the
# wall-time ratios iotassure/binwalk and iotassure/unblob. Counts are the best of the runs too;
# times come only from runs that reached that count (a run that failed early is not "fast"). Targets (issue 3): time <= 0.5x binwalk v3 and <= 0.33x
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
REPEAT="${REPEAT:-5}"
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

# run TOOL IMAGE OUT → "seconds rss_kb cpu_seconds files entries"
run() {
  local tool="$1" img="$2" out="$3"
  rm -rf "$out"
  local t="$work/time"
  case "$tool" in
    iotassure) /usr/bin/time -f "%e %M %U %S" -o "$t" "$IOTASSURE" -q unpack "$img" --out "$out" >/dev/null 2>&1 || true ;;
    binwalk) mkdir -p "$out"; /usr/bin/time -f "%e %M %U %S" -o "$t" binwalk -q -Me -C "$out" "$img" >/dev/null 2>&1 || true ;;
    unblob) /usr/bin/time -f "%e %M %U %S" -o "$t" unblob --log "$work/unblob.log" -e "$out" "$img" >/dev/null 2>&1 || true ;;
  esac
  local files=0 entries=0
  if [ -d "$out" ]; then
    files=$(find "$out" -type f ! -name manifest.json | wc -l)
    case "$tool" in
      iotassure) entries=$(python3 -c 'import json,sys; print(sum(1 for e in json.load(open(sys.argv[1]))["entries"] if e["type"] != "dir"))' "$out/manifest.json") ;;
      binwalk) entries=$(find "$out" -mindepth 2 ! -type d | wc -l) ;;
      *) entries=$(find "$out" ! -type d | wc -l) ;;
    esac
  fi
  read -r e m u sy < <(tail -1 "$t")
  echo "$e $m $(awk -v u="$u" -v s="$sy" 'BEGIN { printf "%.2f", u + s }') $files $entries"
}

best() { sort -n | head -1; }

table() {
printf "| image | files: iotassure / binwalk v3 / unblob | entries: iotassure / binwalk v3 / unblob | wall s: iotassure / binwalk v3 / unblob | ratio vs binwalk v3 | ratio vs unblob | CPU s: iotassure / binwalk v3 / unblob | peak RSS MiB: iotassure / binwalk v3 / unblob |\n"
printf "|---|---|---|---|---|---|---|---|\n"
for img in "$@"; do
  name="$(basename "$img")"
  declare -A RUNS R F E
  for tool in iotassure binwalk unblob; do RUNS[$tool]=""; R[$tool]=0; F[$tool]=0; E[$tool]=0; done
  for i in $(seq "$REPEAT"); do
    for tool in iotassure binwalk unblob; do
      read -r s m c f e < <(run "$tool" "$img" "$work/$tool-$i")
      rm -rf "$work/$tool-$i"
      RUNS[$tool]="${RUNS[$tool]}$s $c $f"$'\n'
      R[$tool]=$((m > R[$tool] ? m : R[$tool]))
      F[$tool]=$((f > F[$tool] ? f : F[$tool]))
      E[$tool]=$((e > E[$tool] ? e : E[$tool]))
    done
  done
  # Best times among the runs that extracted everything the tool manages (a run that failed
  # early would otherwise look fast).
  declare -A T C
  for tool in iotassure binwalk unblob; do
    T[$tool]=$(printf "%s" "${RUNS[$tool]}" | awk -v f="${F[$tool]}" '$3 == f {print $1}' | best)
    C[$tool]=$(printf "%s" "${RUNS[$tool]}" | awk -v f="${F[$tool]}" '$3 == f {print $2}' | best)
  done
  ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b < 0.02) print "n/a (< 20 ms)"; else printf "%.2f", a / b }'; }
  printf "| %s | %s / %s / %s | %s / %s / %s | %s / %s / %s | %s | %s | %s / %s / %s | %s / %s / %s |\n" "$name" \
    "${F[iotassure]}" "${F[binwalk]}" "${F[unblob]}" "${E[iotassure]}" "${E[binwalk]}" "${E[unblob]}" \
    "${T[iotassure]}" "${T[binwalk]}" "${T[unblob]}" "$(ratio "${T[iotassure]}" "${T[binwalk]}")" \
    "$(ratio "${T[iotassure]}" "${T[unblob]}")" "${C[iotassure]}" "${C[binwalk]}" "${C[unblob]}" \
    "$((R[iotassure] / 1024))" "$((R[binwalk] / 1024))" "$((R[unblob] / 1024))"
done
}
table "$@" | tee "$BENCH/results-$(date +%Y%m%d-%H%M%S).md"
