#!/usr/bin/env bash
# ABI check (a): the exported functions of the built shared library are
# exactly tests/abi/symbols.txt; every exported symbol is hubc_*, none is an
# internal hubc__* name, all carry the HUBCONTACTS_* version node, and the
# SONAME is libhubcontacts.so.<major>.
# With <include-dir>, also: every HUBC_API function declared in the public
# headers is exported, and every exported function is declared there.
# usage: check-symbols.sh <libhubcontacts.so> <symbols.txt> [<include-dir>]
set -euo pipefail
lib=$1 list=$2 inc=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/abi-common.sh"

fail=0
echo "check-symbols: $lib against $list"
[[ -f $list ]] || { echo "FAIL: $list does not exist (run tests/abi/update-baseline.sh <build-dir>)"; exit 1; }

all=$(hubc_dynsyms "$lib")
[[ -n $all ]] || { echo "FAIL: no exported symbols in $lib"; exit 1; }

bad_prefix=$(awk '$2 !~ /^hubc_/ { print "  " $1 " " $2 }' <<<"$all")
if [[ -n $bad_prefix ]]; then
  echo "FAIL: exported symbols without the hubc_ prefix:"; echo "$bad_prefix"; fail=1
fi
internal=$(awk '$2 ~ /^hubc__/ || $2 ~ /hubc__/ { print "  " $2 }' <<<"$all")
if [[ -n $internal ]]; then
  echo "FAIL: internal hubc__* symbols are exported (hidden visibility missing?):"; echo "$internal"; fail=1
fi
unversioned=$(awk '$3 !~ /^HUBCONTACTS_/ { print "  " $2 " (" $3 ")" }' <<<"$all")
if [[ -n $unversioned ]] && awk '$3 != "-" { found = 1 } END { exit !found }' <<<"$all"; then
  echo "FAIL: symbols outside a HUBCONTACTS_* version node:"; echo "$unversioned"; fail=1
fi
data=$(awk '$1 != "T" && $1 != "W" && $1 != "i" { print "  " $1 " " $2 }' <<<"$all")
if [[ -n $data ]]; then
  echo "note: exported non-function symbols (not part of symbols.txt):"; echo "$data"
fi

actual=$(hubc_exported_functions "$lib")
expected=$(grep -v '^[[:space:]]*\(#\|$\)' "$list" | LC_ALL=C sort -u)
if [[ $(grep -v '^[[:space:]]*\(#\|$\)' "$list") != "$expected" ]]; then
  echo "FAIL: $list is not sorted (LC_ALL=C sort) or has duplicates"; fail=1
fi
missing=$(LC_ALL=C comm -23 <(echo "$expected") <(echo "$actual"))
added=$(LC_ALL=C comm -13 <(echo "$expected") <(echo "$actual"))
if [[ -n $missing ]]; then
  echo "FAIL: in symbols.txt but not exported (an ABI break):"; sed 's/^/  - /' <<<"$missing"; fail=1
fi
if [[ -n $added ]]; then
  echo "FAIL: exported but not in symbols.txt (new API? run tests/abi/update-baseline.sh <build-dir>):"
  sed 's/^/  + /' <<<"$added"; fail=1
fi

if [[ -n $inc ]]; then
  declared=$(find "$inc" -name '*.h' -exec cat {} + \
    | perl -0777 -ne 'while (/\bHUBC_API\b[^;(]*?\b(hubc_\w+)\s*\(/g) { print "$1\n" }' \
    | LC_ALL=C sort -u)
  undeclared=$(LC_ALL=C comm -13 <(echo "$declared") <(echo "$actual"))
  unexported=$(LC_ALL=C comm -23 <(echo "$declared") <(echo "$actual"))
  if [[ -n $unexported ]]; then
    echo "FAIL: declared HUBC_API in include/ but not exported (not implemented?):"
    sed 's/^/  /' <<<"$unexported"; fail=1
  fi
  if [[ -n $undeclared ]]; then
    echo "FAIL: exported but not declared HUBC_API in a public header:"
    sed 's/^/  /' <<<"$undeclared"; fail=1
  fi
fi

soname=$(LC_ALL=C readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
if [[ ! $soname =~ ^libhubcontacts\.so\.[0-9]+$ ]]; then
  echo "FAIL: unexpected SONAME '$soname'"; fail=1
fi

n=$(wc -l <<<"$actual")
if [[ $fail -eq 0 ]]; then
  echo "OK: $n exported functions, all hubc_*, none hubc__*; SONAME $soname"
fi
exit $fail
