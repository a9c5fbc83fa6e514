#!/usr/bin/env bash
# ABI check (b): every public header compiles on its own (and twice: include
# guards) as C99 (-std=c99 -pedantic -Wall -Wextra -Werror) and as C++11
# (-std=c++11, same warnings; with g++ when available, else skipped with a
# message). Every HUBC_<X>_INIT macro must initialize its hubc_<x> struct
# without warnings.
# usage: check-headers.sh <include-dir> <work-dir> <c-compiler> [<c++-compiler>]
set -euo pipefail
inc=$(cd "$1" && pwd) work=$2 cc=$3 cxx=${4:-}
mkdir -p "$work"
rm -f "$work"/*.c "$work"/*.cc

mapfile -t headers < <(cd "$inc" && find . -name '*.h' | sed 's|^\./||' | LC_ALL=C sort)
[[ ${#headers[@]} -gt 0 ]] || { echo "FAIL: no headers under $inc"; exit 1; }

cflags=(-std=c99 -pedantic -Wall -Wextra -Werror -Wstrict-prototypes -I "$inc")
cxxflags=(-std=c++11 -pedantic -Wall -Wextra -Werror -I "$inc")
fail=0
run() { if ! "$@"; then echo "FAIL: $*"; fail=1; fi; }

for h in "${headers[@]}"; do
  base=$(echo "$h" | tr '/.' '__')
  printf '#include <%s>\n#include <%s>\nint main(void) { return 0; }\n' "$h" "$h" > "$work/$base.c"
  printf '#include <%s>\n#include <%s>\nint main() { return 0; }\n' "$h" "$h" > "$work/$base.cc"
done

# Option/INIT macros: HUBC_STORE_OPTIONS_INIT initializes hubc_store_options.
inits=$(cd "$inc" && grep -rhoE '^#[[:space:]]*define[[:space:]]+HUBC_[A-Z0-9_]+_INIT\b' . \
        | awk '{print $NF}' | LC_ALL=C sort -u || true)
{
  echo '#include <hubcontacts.h>'
  echo 'int main(void) {'
  for m in $inits; do
    t=$(echo "${m%_INIT}" | tr 'A-Z' 'a-z')
    v="v_${t}"
    echo "  $t $v = $m; (void)$v;"
  done
  echo '  return 0;'
  echo '}'
} > "$work/init_macros.c"
sed 's/int main(void)/int main()/' "$work/init_macros.c" > "$work/init_macros.cc"

# The umbrella header includes every other public header.
if [[ -f $inc/hubcontacts.h ]]; then
  for h in "${headers[@]}"; do
    [[ $h == hubcontacts.h ]] && continue
    if ! grep -qE "^#[[:space:]]*include[[:space:]]+[\"<]$h[\">]" "$inc/hubcontacts.h"; then
      echo "FAIL: the umbrella hubcontacts.h does not include $h"; fail=1
    fi
  done
fi

echo "C:   $cc ${cflags[*]}"
for f in "$work"/*.c; do run "$cc" "${cflags[@]}" -fsyntax-only "$f"; done
if [[ -n $cxx ]] && command -v "$cxx" >/dev/null; then
  echo "C++: $cxx ${cxxflags[*]}"
  for f in "$work"/*.cc; do run "$cxx" "${cxxflags[@]}" -fsyntax-only -x c++ "$f"; done
else
  echo "SKIP (C++ half): no C++ compiler (g++) found"
fi

n=${#headers[@]}
m=$(echo $inits | wc -w)
[[ $fail -eq 0 ]] && echo "OK: $n headers compile alone as C99 and C++11; $m INIT macros checked"
exit $fail
