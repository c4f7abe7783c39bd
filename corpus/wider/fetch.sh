#!/usr/bin/env bash
# Copy every image of the wider corpus (images.tsv) from the local mirrors of its public repository
# into a cache folder, checking each sha256. Images are never committed: this script is how a
# machine gets them.
#
#   bash corpus/wider/fetch.sh                 # cache: ~/.cache/iotassure/wider-corpus
#   IOTASSURE_WIDER_CORPUS=/x bash corpus/wider/fetch.sh
#   IOTASSURE_MIRROR=/work/.mirror             # where owner+name/repo bare git dirs live
#
# A repository that is not mirrored, a commit or path it lacks (git snapshots drop files of
# 4 MiB and more, and LFS content), or a wrong sha256 is reported by name; the exit status is
# the number of images that could not be had (0 = all present and verified).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
list="$here/images.tsv"
cache=${IOTASSURE_WIDER_CORPUS:-$HOME/.cache/iotassure/wider-corpus}
mirror=${IOTASSURE_MIRROR:-/work/.mirror}
mkdir -p "$cache"
ok=0 missing=0
while IFS=$'\t' read -r repo commit path sha name vendor class; do
  [[ -z "$repo" || "$repo" == \#* ]] && continue
  # Names come from our own list, but keep them to one plain file inside the cache anyway.
  if [[ "$name" == */* || "$name" == .* ]]; then
    echo "REFUSED  $name: not a plain file name" >&2; missing=$((missing + 1)); continue
  fi
  dest="$cache/$name"
  if [[ -f "$dest" ]] && [[ "$(sha256sum "$dest" | cut -d' ' -f1)" == "$sha" ]]; then
    ok=$((ok + 1)); continue
  fi
  gitdir="$mirror/${repo/\//+}/repo"
  if [[ ! -d "$gitdir" ]]; then
    echo "MISSING  $name: no mirror of $repo at $gitdir (bring it with the search tool's fetch)" >&2
    missing=$((missing + 1)); continue
  fi
  tmp="$dest.part"
  if ! git --git-dir="$gitdir" show "$commit:$path" > "$tmp" 2>/dev/null; then
    echo "MISSING  $name: $repo has no $path at $commit" >&2
    rm -f "$tmp"; missing=$((missing + 1)); continue
  fi
  got=$(sha256sum "$tmp" | cut -d' ' -f1)
  if [[ "$got" != "$sha" ]]; then
    echo "MISMATCH $name: sha256 $got, expected $sha ($repo @ $commit : $path)" >&2
    rm -f "$tmp"; missing=$((missing + 1)); continue
  fi
  mv "$tmp" "$dest"
  ok=$((ok + 1))
done < "$list"
echo "wider corpus: $ok image(s) verified in $cache, $missing could not be had"
exit "$missing"
