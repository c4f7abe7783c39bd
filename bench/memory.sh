#!/usr/bin/env bash
# Peak memory of `unpack` and `assess` on a 256 MB image, against the image's size (issue 15's
# targets: assessment within 2x the image, and within 512 MiB for a 256 MB image), and what
# `--max-memory` does to it.
#
#   bash bench/memory.sh                 # builds a release binary
#   IOTASSURE_BIN=target/debug/iotassure bash bench/memory.sh
#
# The image is a SquashFS 4 (xz) built here with mksquashfs: a small Linux tree (passwd, init
# scripts) plus 256 MB of files, three quarters incompressible and the rest text, in files
# from 4 KiB to 24 MiB. Peak RSS from GNU time; one run, no timing. The RSS includes the input
# image, which is memory-mapped read-only (file pages the kernel can drop under pressure), so
# about one image size of every row is that mapping; `--max-memory` caps the heap, which is
# what the binary counts.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-/tmp/iotassure-bench-memory}
BIN=${IOTASSURE_BIN:-}
if [ -z "$BIN" ]; then cargo build -q --release --bin iotassure -p iotassure; BIN=target/release/iotassure; fi
command -v mksquashfs >/dev/null || { echo "mksquashfs missing: apt-get install squashfs-tools"; exit 2; }
[ -x /usr/bin/time ] || { echo "GNU time missing: apt-get install time"; exit 2; }
rm -rf "$WORK"; mkdir -p "$WORK/root/etc/init.d" "$WORK/root/usr/lib" "$WORK/root/www"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$WORK/root/etc/passwd"
printf 'root:$1$$iC.dUsGpxNNJGeOm1dFio/:0:0:99999:7:::\n' > "$WORK/root/etc/shadow"
printf '#!/bin/sh\ntelnetd -l /bin/login\n' > "$WORK/root/etc/init.d/rcS"
python3 - "$WORK/root" <<'PY'
import os, random, sys
root = sys.argv[1]; rnd = random.Random(15); total = 0; i = 0
sizes = [24 << 20, 16 << 20, 8 << 20, 1 << 20, 256 << 10, 4 << 10]
while total < 256_000_000:
    size = sizes[i % len(sizes)]
    text = i % 4 == 3
    d = os.path.join(root, "www" if text else "usr/lib")
    with open(os.path.join(d, f"f{i}.{'html' if text else 'bin'}"), "wb") as f:
        f.write((b"<p>lorem ipsum %d</p>\n" % i) * (size // 24) if text else rnd.randbytes(size))
    total += size; i += 1
PY
mksquashfs "$WORK/root" "$WORK/big.sqfs" -noappend -quiet -comp xz >/dev/null
img_mib=$(( $(stat -c %s "$WORK/big.sqfs") >> 20 ))
peak() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
rss() { echo $(( $1 / 1024 )); }
printf "| run | peak RSS MiB | x image (%s MiB) |\n|---|---|---|\n" "$img_mib"
row() { local k; k=$(peak "${@:2}" || true); printf "| %s | %s | %s |\n" "$1" "$(rss "$k")" "$(echo "scale=2; $(rss "$k") / $img_mib" | bc)"; }
row "iotassure unpack" "$BIN" -q unpack "$WORK/big.sqfs" --out "$WORK/u" --force
row "iotassure assess" "$BIN" -q assess "$WORK/big.sqfs" --out "$WORK/a" --force
row "iotassure assess --max-memory 128" "$BIN" -q assess "$WORK/big.sqfs" --out "$WORK/c" --force --max-memory 128
python3 -c "import json;print('assess --max-memory 128 limits:', json.load(open('$WORK/c/report.json'))['subject']['firmware']['limits_hit'])" 2>/dev/null || true
