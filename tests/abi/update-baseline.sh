#!/usr/bin/env bash
# Regenerates tests/abi/symbols.txt and tests/abi/libhubcontacts.abi from a
# built tree (a Debug or RelWithDebInfo build: abidw needs debug info).
# usage: tests/abi/update-baseline.sh <build-dir>      e.g. build/dev
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: $0 <build-dir>" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
. "$here/abi-common.sh"

build=$1
lib=$(find "$build" -maxdepth 3 -name 'libhubcontacts.so.*.*.*' -type f | head -n1)
[[ -n $lib ]] || { echo "no libhubcontacts.so.X.Y.Z under $build (build it first)" >&2; exit 1; }
echo "library: $lib"
hubc_has_debug_info "$lib" || { echo "$lib has no debug info: use a Debug build (e.g. build/dev)" >&2; exit 1; }
command -v abidw >/dev/null || { echo "abidw not found (apt-get install abigail-tools)" >&2; exit 1; }

hubc_exported_functions "$lib" > "$here/symbols.txt"
echo "wrote $here/symbols.txt ($(wc -l < "$here/symbols.txt") functions)"
hubc_abidw "$lib" "$src/include" "$here/libhubcontacts.abi"
echo "wrote $here/libhubcontacts.abi"
if command -v git >/dev/null && git -C "$src" rev-parse >/dev/null 2>&1; then
  git -C "$src" --no-pager diff --stat -- tests/abi/symbols.txt tests/abi/libhubcontacts.abi || true
fi
