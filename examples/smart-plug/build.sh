#!/usr/bin/env bash
# Rebuilds smart-plug.img from rootfs/: a 64-byte Example Plugs header (model, hardware, firmware
# version, payload size), then a squashfs 4.0 (xz) root filesystem. Needs squashfs-tools.
#
# Reproducible: the tree is copied with normalised modes (git keeps only the exec bit, and
# checkouts differ by umask), the empty mount points git cannot hold are created, and times,
# owners and compression settings are fixed. With squashfs-tools 4.5.1 (Debian 12) the result is
# byte-identical to the committed image; other versions may order or compress differently.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -a rootfs "$tmp/root"
for d in data dev factory home/admin lib proc root sys tmp var; do
	mkdir -p "$tmp/root/$d"
done
find "$tmp/root" -type d -exec chmod 755 {} +
find "$tmp/root" -type f -perm -u+x -exec chmod 755 {} +
find "$tmp/root" -type f ! -perm -u+x -exec chmod 644 {} +
chmod 700 "$tmp/root/root"
chmod 1777 "$tmp/root/tmp"
chmod 600 "$tmp/root/etc/shadow"
mksquashfs "$tmp/root" "$tmp/rootfs.sqfs" -comp xz -b 131072 -all-root -noappend -no-xattrs \
	-mkfs-time 0 -all-time 0 -processors 1 -quiet >/dev/null
size=$(stat -c %s "$tmp/rootfs.sqfs")
{ printf 'EXPLUGS1 SP-1 B2 fw 2.4.1 rootfs squashfs-xz %d' "$size"; head -c 64 /dev/zero; } |
	head -c 64 >"$tmp/hdr"
cat "$tmp/hdr" "$tmp/rootfs.sqfs" >smart-plug.img.new
mv smart-plug.img.new smart-plug.img
echo "wrote $(pwd)/smart-plug.img ($(stat -c %s smart-plug.img) bytes, sha256 $(sha256sum smart-plug.img | cut -d' ' -f1))"
