#!/usr/bin/env bash
# Install test: installs the build tree into a temporary prefix, then builds
# tests/install/consumer.c against it through pkg-config and through
# find_package(hubcontacts 1), and runs the programs.
# usage: run.sh <build-dir> <work-dir> <cmake> <c-compiler> [<extra C/link flags>]
set -euo pipefail
build=$1 work=$2 cmake=$3 cc=$4 extra=${5:-}
here=$(cd "$(dirname "$0")" && pwd)
step() { echo; echo "+ $*"; "$@"; }

rm -rf "$work"
mkdir -p "$work"
prefix="$work/prefix"

step "$cmake" --install "$build" --prefix "$prefix"

libdir=$(dirname "$(find "$prefix" -name 'libhubcontacts.so' | head -n1)")
[[ -d $libdir ]] || { echo "FAIL: libhubcontacts.so not installed"; exit 1; }
for f in "$prefix/include/hubcontacts.h" "$prefix/include/hubcontacts/sys/persist.h" \
         "$libdir/libhubcontacts.a" "$libdir/libhubcontacts.so.1" \
         "$libdir/pkgconfig/hubcontacts.pc" \
         "$libdir/cmake/hubcontacts/hubcontactsConfig.cmake" \
         "$libdir/cmake/hubcontacts/hubcontactsConfigVersion.cmake"; do
  [[ -e $f ]] || { echo "FAIL: $f not installed"; exit 1; }
done
echo "installed files:"; (cd "$prefix" && find . -type f -o -type l | LC_ALL=C sort | sed 's/^/  /')

# ---- pkg-config ----------------------------------------------------------------
export PKG_CONFIG_PATH="$libdir/pkgconfig"
step pkg-config --modversion hubcontacts
flags=$(pkg-config --cflags --libs hubcontacts)
echo "pkg-config --cflags --libs hubcontacts: $flags"
# shellcheck disable=SC2086
step "$cc" -std=c99 -Wall -Wextra -Werror $extra "$here/consumer.c" $flags -o "$work/consumer-pkgconfig"
# Static link through the Libs.private line.
sflags=$(pkg-config --static --libs-only-other --libs-only-L hubcontacts)
# shellcheck disable=SC2086
step "$cc" -std=c99 -Wall -Wextra -Werror $extra -I "$prefix/include" "$here/consumer.c" \
  $sflags -Wl,-Bstatic -lhubcontacts -Wl,-Bdynamic $(pkg-config --static --libs-only-l hubcontacts | sed 's/-lhubcontacts//') \
  -o "$work/consumer-pkgconfig-static"

# ---- CMake package ---------------------------------------------------------------
step "$cmake" -S "$here" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_C_FLAGS="$extra" -DCMAKE_EXE_LINKER_FLAGS="$extra"
step "$cmake" --build "$work/cmake-build"

# ---- run -------------------------------------------------------------------
export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
for exe in "$work/consumer-pkgconfig" "$work/consumer-pkgconfig-static" \
           "$work/cmake-build/consumer" "$work/cmake-build/consumer_static"; do
  step "$exe"
done
# The dynamic consumers really use the installed library.
for exe in "$work/consumer-pkgconfig" "$work/cmake-build/consumer"; do
  deps=$(ldd "$exe")
  if [[ $deps != *"$libdir/libhubcontacts.so.1 "* ]]; then
    echo "FAIL: $exe does not load $libdir/libhubcontacts.so.1:"; echo "$deps"; exit 1
  fi
done
echo; echo "OK: install, pkg-config and find_package(hubcontacts 1) consumers work"
