#!/usr/bin/env bash
# Codegen check: the optimizer keeps every prefetch the contact lookups ask
# for. gcc -O2 once judged an out-of-line prefetch helper "pure" (a
# prefetch is no side effect to it) and deleted its call: get_many lost its
# record-prefetch pass and ran 50 % slower while every test still passed.
# lib/contact/contact.c reaches three prefetch sites (the slot pass, the
# record pass and the probe's record fetch, lib/contact/email_index.h).
# Compiled at -O2 (as the benchmarks are; -O3 unrolls the loops, and its
# count would hide a lost site), the object must hold one for each.
# usage: check-prefetch.sh <cc> <source-dir> <work-dir>
set -euo pipefail
cc=$1 src=$2 work=$3
mkdir -p "$work"
obj="$work/contact-O2.o"
"$cc" -O2 -DNDEBUG -std=c11 -D_POSIX_C_SOURCE=200809L -fPIC -fvisibility=hidden \
  -I"$src/include" -I"$src/lib" -c "$src/lib/contact/contact.c" -o "$obj"
n=$("${OBJDUMP:-objdump}" -d --no-show-raw-insn "$obj" | grep -c prefetch || true)
echo "check-prefetch: $cc -O2 lib/contact/contact.c holds $n prefetch instructions (want >= 3)"
if (( n < 3 )); then
  echo "FAIL: the compiler dropped a prefetch of the batched lookups; keep the"
  echo "      helpers in lib/contact/email_index.h always inlined (HUBC__PREFETCH_HELPER)"
  exit 1
fi
