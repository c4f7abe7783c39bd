#!/usr/bin/env bash
# Accuracy on the wider corpus: assess every cached image (corpus/wider/fetch.sh) with one binary,
# then compare each report.json with corpus/wider/ground_truth.json (bench/accuracy.py): recall per
# check family, false FAIL, false PASS, and the images that ended without a report.
#
#   bash corpus/wider/fetch.sh                      # once: copy the images into the cache
#   bash bench/accuracy.sh                          # target/release/iotassure
#   IOTASSURE_BIN=/tmp/iotassure-main bash bench/accuracy.sh
#   REUSE=1 bash bench/accuracy.sh                  # score existing reports, assess only the missing
#   JSON=/tmp/acc.json bash bench/accuracy.sh       # also write the figures as JSON
#
# Extra password lists: ../shared/corpus/credentials/*.txt when present (the same lists the ground
# truth was cracked with). One image at a time; each assess is bounded by --max-time and timeout.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${IOTASSURE_BIN:-target/release/iotassure}
CACHE=${IOTASSURE_WIDER_CORPUS:-$HOME/.cache/iotassure/wider-corpus}
OUT=${OUT:-/tmp/iotassure-accuracy}
GT=corpus/wider/ground_truth.json
[[ -x "$BIN" ]] || { echo "no iotassure binary at $BIN (cargo build --release, or set IOTASSURE_BIN)" >&2; exit 2; }
[[ -d "$CACHE" ]] || { echo "no image cache at $CACHE: run bash corpus/wider/fetch.sh" >&2; exit 2; }
creds=()
for c in ../shared/corpus/credentials/*.txt; do [[ -f "$c" ]] && creds+=(--creds "$c"); done
mkdir -p "$OUT"
mapfile -t names < <(python3 -c 'import json,sys; [print(r["file"]) for r in json.load(open(sys.argv[1]))]' "$GT")
for name in "${names[@]}"; do
  # Each report folder is removed and rebuilt: keep it a plain name inside $OUT.
  if [[ -z "$name" || "$name" == */* || "$name" == .* ]]; then echo "skipped odd name: $name" >&2; continue; fi
  img="$CACHE/$name"
  dir="$OUT/$name"
  if [[ ! -f "$img" ]]; then echo "not cached: $name" >&2; continue; fi
  if [[ "${REUSE:-0}" == 1 && -f "$dir/report.json" ]]; then continue; fi
  rm -rf "$dir"; mkdir -p "$dir"
  t0=$(date +%s.%N)
  # Exit 1 only says the profile did not pass; a missing report.json is what counts as a failure.
  timeout 900 "$BIN" assess "$img" --out "$dir/out" --quiet --max-time 600 "${creds[@]}" \
    > "$dir/stdout.txt" 2> "$dir/stderr.txt"
  echo $? > "$dir/exit"
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc -l > "$dir/seconds"
  [[ -f "$dir/out/report.json" ]] && cp "$dir/out/report.json" "$dir/report.json"
done
python3 bench/accuracy.py --ground-truth "$GT" --reports "$OUT" ${JSON:+--json "$JSON"}
