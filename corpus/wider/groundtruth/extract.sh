#!/usr/bin/env bash
# How the ground truth's raw facts were produced, with tools other than iotassure. Re-run it to
# check a point or to add an image; then read the facts and the extracted trees by hand and write
# the judgement into build.py.
#
#   bash corpus/wider/fetch.sh
#   bash corpus/wider/groundtruth/extract.sh         # work folder /tmp/wc (WC=...)
#   python3 corpus/wider/groundtruth/build.py /tmp/wc/facts > corpus/wider/ground_truth.json
#
# Tools (versions used): binwalk 2.3.3 (Debian), binwalk 3.1.0 (cargo install binwalk
# --root /tmp/binwalk-root), unblob 26.6.4 (pip), Debian squashfs-tools 4.5 (unsquashfs), 7-Zip
# 16.02 (p7zip-full; the only tool here that reads SquashFS 3.x with LZMA, since sasquatch is not
# packaged), ubi_reader 0.8, john 1.9.0, pyelftools 0.33, checksec.py 0.7.5, esptool 5.6.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${IOTASSURE_WIDER_CORPUS:-$HOME/.cache/iotassure/wider-corpus}
WC=${WC:-/tmp/wc}
BW3=${BW3:-/tmp/binwalk-root/bin/binwalk}
mkdir -p "$WC/img" "$WC/gt" "$WC/facts"
cp -n "$cache"/* "$WC/img/"
# Word list: every user and password token of the shared corpus lists (as the shared ground truth).
cat ../shared/corpus/credentials/*.txt 2>/dev/null | grep -v '^#' | tr ': \t' '\n\n\n' \
  | sort -u > "$WC/facts/words.txt"
cd "$WC"   # unblob writes unblob.log into the current folder
# 7-Zip on a carved SquashFS: as it is first (hsqs, and the 'shsq' of the Ralink image), then with
# the vendor magic (hsqt of DD-WRT) rewritten to hsqs on a copy.
x7() {  # squashfs-file out-dir log
  7z x -o"$2" "$1" >> "$3" 2>&1
  if [[ -z "$(find "$2" -type f 2> /dev/null | head -1)" ]]; then
    rm -rf "$2"; cp "$1" "$1.hsqs"
    printf 'hsqs' | dd of="$1.hsqs" bs=1 conv=notrunc 2> /dev/null
    7z x -o"$2" "$1.hsqs" >> "$3" 2>&1
  fi
}
for img in img/*; do
  f=$(basename "$img"); d="$WC/gt/$f"; mkdir -p "$d/fs"
  binwalk "$img" > "$d/binwalk.txt" 2>&1
  [[ -x "$BW3" ]] && "$BW3" "$img" > "$d/binwalk3.txt" 2>&1
  rm -rf "$d/ext"
  timeout 600 nice unblob -p 1 -d 5 -e "$d/ext" --report "$d/unblob.json" "$img" > "$d/unblob.log" 2>&1
  # unblob carves squashfs but cannot extract it without sasquatch: Debian unsquashfs (4.x, and
  # 3.x gzip) first, then 7-Zip for SquashFS 3.x LZMA.
  n=0
  while IFS= read -r sq; do
    n=$((n + 1)); out="$d/fs/sq$n"; rm -rf "$out"
    if ! unsquashfs -no-xattrs -d "$out" "$sq" > "$d/fs/sq$n.log" 2>&1; then
      rm -rf "$out"; cp "$sq" "$d/fs/sq$n.img"
      x7 "$d/fs/sq$n.img" "$out" "$d/fs/sq$n.log"
    fi
  done < <(find "$d/ext" -type f -name '*.squashfs*' 2> /dev/null)
done
rm -f "$WC/unblob.log"
# SquashFS 3.0 that unblob does not carve (vendor magic, or inside a uImage payload): carved at the
# binwalk 2.3.3 offset by hand, then the same 7z step. Offsets from gt/<image>/binwalk.txt.
carve() {  # image offset
  local d="$WC/gt/$1"; [[ -f "$WC/img/$1" ]] || return 0
  [[ -n "$(find "$d/fs/sq1" -type f 2> /dev/null | head -1)" ]] && return
  rm -rf "$d/fs/sq1"
  dd if="$WC/img/$1" of="$d/fs/carved.sq" bs=1 skip="$2" 2> /dev/null
  x7 "$d/fs/carved.sq" "$d/fs/sq1" "$d/fs/carved.log"
}
carve ddwrt-v24-mini-wrt54g.bin 923904
carve trident-v7209-5.uImage 1179648
carve openwrt-brcm-2.4-awandahl.trx 513024
carve openwrt-brcm-2.4-retroaudio-asus.trx 501760
# ELF hardening cross-check and the facts (accounts, john, init scripts, keys, versions, ELF, strings).
for d in "$WC"/gt/*/fs/sq1; do
  f=$(basename "$(dirname "$(dirname "$d")")")
  timeout 300 checksec -j -r -w 2 "$d" > "$WC/facts/$f.checksec.json" 2> /dev/null
done
WC_IMG="$WC/img" WC_GT="$WC/gt" WC_FACTS="$WC/facts" python3 "$here/facts.py"
