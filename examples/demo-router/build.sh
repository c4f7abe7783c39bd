#!/usr/bin/env bash
# Rebuilds demo-router.img from rootfs/: a 64-byte vendor header, then a squashfs 4.0 (xz) image,
# so the example exercises carving by magic. Needs squashfs-tools. Reproducible (fixed times, root owner).
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mksquashfs rootfs "$tmp/rootfs.sqfs" -comp xz -all-root -noappend -mkfs-time 0 -all-time 0 -quiet >/dev/null
{ printf 'DEMOFW01 demo-router v1.0.0  '; head -c 64 /dev/zero; } | head -c 64 > "$tmp/hdr"
cat "$tmp/hdr" "$tmp/rootfs.sqfs" > demo-router.img
echo "wrote $(pwd)/demo-router.img ($(stat -c %s demo-router.img) bytes)"
