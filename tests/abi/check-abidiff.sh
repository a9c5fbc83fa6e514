#!/usr/bin/env bash
# ABI check (c): abidiff --no-added-syms between the committed baseline and
# the built library; any nonzero status fails (compatible changes too: the
# baseline is regenerated deliberately with update-baseline.sh). The layout
# of opaque handles and of internal hubc__* types is suppressed: not ABI.
# usage: check-abidiff.sh <libhubcontacts.so> <baseline.abi> <include-dir> <work-dir>
# exit 77 (skipped) without abidw/abidiff or without debug info.
set -euo pipefail
lib=$1 baseline=$2 headers=$3 work=$4
here=$(cd "$(dirname "$0")" && pwd)
. "$here/abi-common.sh"

if ! command -v abidw >/dev/null || ! command -v abidiff >/dev/null; then
  echo "SKIP: abidw/abidiff not installed (apt-get install abigail-tools)"; exit 77
fi
if ! hubc_has_debug_info "$lib"; then
  echo "SKIP: $lib has no debug info (abidw needs -g: use a Debug or RelWithDebInfo build)"; exit 77
fi
[[ -f $baseline ]] || { echo "FAIL: no baseline $baseline (run tests/abi/update-baseline.sh <build-dir>)"; exit 1; }

mkdir -p "$work"
current="$work/libhubcontacts.abi"
echo "+ abidw $lib > $current"
hubc_abidw "$lib" "$headers" "$current"
suppr="$work/opaque-types.suppr"
hubc_abi_suppressions "$headers" "$suppr"
echo "+ abidiff --no-added-syms --suppressions $suppr $baseline $current"
sed 's/^/    /' "$suppr"
set +e
abidiff --no-added-syms --suppressions "$suppr" "$baseline" "$current"
status=$?
set -e
if [[ $status -ne 0 ]]; then
  echo "FAIL: abidiff exit status $status (bits: 1 error, 2 usage, 4 ABI change, 8 incompatible change)."
  echo "If the change is intended and compatible, run tests/abi/update-baseline.sh <build-dir>."
  exit 1
fi
echo "OK: no ABI change against the baseline"
