#!/usr/bin/env bash
# Compile cost of the macros: clean and incremental build time of crates that
# use #[authorization_server] / the derives, and the share of rustc's time
# spent in macro expansion (from -Z time-passes, enabled on stable through
# RUSTC_BOOTSTRAP=1 for this measurement only).
#
#   bench/compile/run.sh [package ...]     (default: attesto-demo)
#
# Dependencies are built first and not counted; each figure is the median of
# three runs. Uses $CARGO_TARGET_DIR (default target/).
set -euo pipefail
cd "$(dirname "$0")/../.."
pkgs=("${@:-attesto-demo}")

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
secs() { local s; s=$(date +%s.%N); "$@" >/dev/null 2>&1; echo "$(date +%s.%N) - $s" | bc; }

for pkg in "${pkgs[@]}"; do
  dir=$(cargo metadata --no-deps --format-version 1 | python3 -c "import json,sys;d=json.load(sys.stdin);print([p['manifest_path'] for p in d['packages'] if p['name']=='$pkg'][0].rsplit('/',1)[0])")
  # the file holding the annotated impl (or a derive)
  file=$(grep -rl -E 'authorization_server\(|derive\([^)]*(OAuthClient|Principal)' "$dir/src" | head -1)
  cargo build -q -p "$pkg" --lib
  clean=$(for _ in 1 2 3; do cargo clean -q -p "$pkg"; secs cargo build -q -p "$pkg" --lib; done | median)
  incr=$(for i in 1 2 3; do
    echo "// bench edit $i" >> "$file"
    secs cargo build -q -p "$pkg" --lib
    sed -i '$ d' "$file"
  done | median)
  cargo build -q -p "$pkg" --lib
  cargo clean -q -p "$pkg"
  # -Z flags for this crate only (RUSTFLAGS would rebuild every dependency)
  passes=$(RUSTC_BOOTSTRAP=1 cargo rustc -p "$pkg" --lib -- -Ztime-passes 2>&1 | grep -E "time: *[0-9.]+;.*(expand_crate|total)$" || true)
  expand=$(echo "$passes" | grep -E "expand_crate$" | head -1 | awk '{print $2}' | tr -d ';')
  total=$(echo "$passes" | grep -E "total$" | tail -1 | awk '{print $2}' | tr -d ';')
  cargo build -q -p "$pkg" --lib
  printf '%s: clean %.2f s, incremental %.2f s, expansion %s s of %s s rustc (%s%%)\n' \
    "$pkg" "$clean" "$incr" "${expand:-?}" "${total:-?}" \
    "$(echo "scale=1; 100*${expand:-0}/${total:-1}" | bc)"
done
