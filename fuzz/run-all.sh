#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 60) each, seeded from the fixtures.
#   fuzz/run-all.sh [SECONDS] [TARGET...]
# Needs cargo-fuzz (`cargo install cargo-fuzz`). Works on stable Rust: `--sanitizer none`
# avoids the nightly-only sanitizer flags (set RUSTC_BOOTSTRAP=1 and drop it to use ASan).
# Crashes land in fuzz/artifacts/<target>/; reproduce with `cargo fuzz run <target> <file>`.
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-60}"
shift || true
if [ ! -d corpus ] || [ -z "$(ls corpus)" ]; then
  echo "==> writing seeds into fuzz/corpus"
  IOTASSURE_FUZZ_SEEDS="$PWD/corpus" cargo test -q --manifest-path ../Cargo.toml -p iotassure-unpack --test fuzz_smoke >/dev/null
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list)
fi
cargo fuzz build --sanitizer none -O
failed=()
for t in "${targets[@]}"; do
  echo "==> $t (${secs}s)"
  if ! cargo fuzz run --sanitizer none -O "$t" -- -max_total_time="$secs" -rss_limit_mb=1024 -timeout=20 2>&1 | tail -2; then
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all ${#targets[@]} targets ran ${secs}s without a crash"
