#!/usr/bin/env bash
# Packaging tests (D12): tokenrail as its users get it.
#
#   1. shared: configure + build + install libtokenrail.so into a temp prefix,
#      then build two consumers outside the tree against the installed
#      package -- one with find_package(tokenrail CONFIG REQUIRED), one with
#      pkg-config -- and run them (each drives a workflow to completion).
#   2. static: the same with BUILD_SHARED_LIBS=OFF (libtokenrail.a; the
#      package config finds the dependencies again, pkg-config --static).
#   3. conan create, offline, against the system's libraries
#      (tests/packaging/conan/profile: [platform_requires]).
#
# The tokenrail builds use TOKENRAIL_BUILD_TESTS/BENCH/EXAMPLES=OFF (what a
# parent project or a package build does) in build/pkg-shared and
# build/pkg-static, kept between runs so a rerun only rebuilds what changed.
#
# Environment: TOKENRAIL_JOBS (default 2), TOKENRAIL_PKG_STATIC=0 skips 2,
# TOKENRAIL_PKG_CONAN=0 skips 3 (otherwise conan is installed with pip when
# missing, and failing to get it is a failure). TOKENRAIL_BUILD_DIR (set by
# scripts/test): a shared build whose library is installed in step 1 instead
# of building build/pkg-shared.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
jobs=${TOKENRAIL_JOBS:-2}
work=$(mktemp -d "${TMPDIR:-/tmp}/tokenrail-pkg.XXXXXX")
trap 'rm -rf "$work"' EXIT

if [ ! -f "$root/capi/tokenrail.cpp" ]; then
  # Nothing to package before the C ABI library exists (capi/).
  echo "packaging: skipped: capi/tokenrail.cpp does not exist yet"
  exit 0
fi

passed=0
failed=0
check() {  # <name> <command...>: runs one check, counts it, keeps going
  local name=$1; shift
  echo "-- $name"
  # A subshell outside any `if`, so that `set -e` holds inside the check.
  local rc=0
  set +e
  (set -e; "$@") >"$work/log" 2>&1
  rc=$?
  set -e
  if [ "$rc" -eq 0 ]; then
    sed 's/^/   /' "$work/log" | grep -E '^   (consumer|tokenrail|conan|test_package): ' || true
    echo "   PASS $name"
    passed=$((passed + 1))
  else
    sed 's/^/   /' "$work/log" | tail -n 60
    echo "   FAIL $name"
    failed=$((failed + 1))
  fi
}

build_and_install() {  # <build dir> <prefix> <cmake args...>
  local dir=$1 prefix=$2; shift 2
  cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DTOKENRAIL_BUILD_TESTS=OFF -DTOKENRAIL_BUILD_BENCH=OFF -DTOKENRAIL_BUILD_EXAMPLES=OFF \
    -DTOKENRAIL_INSTALL=ON "$@"
  cmake --build "$dir" -j "$jobs"
  cmake --install "$dir" --prefix "$prefix"
}

check_install_tree() {  # <prefix> shared|static
  local prefix=$1 kind=$2 libdir
  libdir=$(dirname "$(find "$prefix" -name tokenrail.pc -path '*/pkgconfig/*' | head -n1)")/..
  test -f "$prefix/include/tokenrail.h"
  test -f "$prefix/include/tokenrail/error.hpp"
  test -f "$libdir/cmake/tokenrail/tokenrail-config.cmake"
  test -f "$libdir/cmake/tokenrail/tokenrail-config-version.cmake"
  test -f "$libdir/cmake/tokenrail/Findlibsodium.cmake"
  test -f "$libdir/cmake/tokenrail/Findlmdb.cmake"
  if [ "$kind" = shared ]; then
    # The SOVERSION chain: libtokenrail.so -> .so.<abi> -> .so.<version>
    test -L "$libdir/libtokenrail.so"
    local soname
    soname=$(readlink "$libdir/libtokenrail.so")
    [[ "$soname" =~ ^libtokenrail\.so\.[0-9]+$ ]] || { echo "bad dev symlink: $soname"; return 1; }
    test -L "$libdir/$soname"
    test -f "$libdir/$(readlink "$libdir/$soname")"
    # Each tool's output is read whole before it is searched: piping it into
    # `grep -q` under pipefail fails at random, when grep exits at the first
    # match and the writer still has output left (SIGPIPE, status 141).
    local headers symbols
    headers=$(objdump -p "$libdir/libtokenrail.so")
    grep -q "SONAME *$soname" <<<"$headers" || { echo "SONAME is not $soname"; return 1; }
    # The C ABI must be there. (That nothing else is exported is the C ABI
    # tests' job; a leak is shown here as a warning.)
    symbols=$(nm -D --defined-only "$libdir/libtokenrail.so")
    grep -q ' T tokenrail_version$' <<<"$symbols" \
      || { echo "tokenrail_version is not exported"; return 1; }
    local leaked
    leaked=$(awk '$2 ~ /^[TDBRVWui]$/ {print $3}' <<<"$symbols" \
      | grep -v '^tokenrail_' | grep -v -E '^(_init|_fini|_edata|_end|__bss_start)$' || true)
    [ -z "$leaked" ] || echo "tokenrail: WARNING: $(echo "$leaked" | wc -l) symbols exported besides tokenrail_*, e.g. $(echo "$leaked" | head -n1)"
  else
    test -f "$libdir/libtokenrail.a"
    ! test -e "$libdir/libtokenrail.so"
  fi
  echo "tokenrail: $kind install tree complete under $prefix"
}

consumer_cmake() {  # <prefix> <build dir>
  cmake -S "$here/consumer_cmake" -B "$2" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$1"
  cmake --build "$2"
  "$2/consumer_cmake"
}

package_versions() {  # <prefix>: the version files say what the project says
  local version pcdir
  version=$(awk '/^project\(tokenrail/ {p = 1} p && $1 == "VERSION" {print $2; exit}' "$root/CMakeLists.txt")
  pcdir=$(dirname "$(find "$1" -name tokenrail.pc -path '*/pkgconfig/*' | head -n1)")
  PKG_CONFIG_PATH="$pcdir" pkg-config --validate tokenrail
  [ "$(PKG_CONFIG_PATH="$pcdir" pkg-config --modversion tokenrail)" = "$version" ] \
    || { echo "tokenrail.pc version is not $version"; return 1; }
  # SameMajorVersion: the next major version is refused.
  local next=$(( ${version%%.*} + 1 )).0
  if cmake -S "$here/consumer_cmake" -B "$work/version-check" -G Ninja \
       -DCMAKE_PREFIX_PATH="$1" -DTOKENRAIL_WANT="$next" >"$work/version-check.log" 2>&1; then
    echo "find_package(tokenrail $next) accepted version $version"; return 1
  fi
  grep -q 'compatible with requested version' "$work/version-check.log" \
    || { cat "$work/version-check.log"; return 1; }
  rm -rf "$work/version-check"
  echo "tokenrail: package version $version; find_package(tokenrail $next) refused"
}

consumer_pkgconfig() {  # <prefix> <build dir> [STATIC=1]
  local prefix=$1 dir=$2; shift 2
  mkdir -p "$dir"
  local pcdir
  pcdir=$(dirname "$(find "$prefix" -name tokenrail.pc -path '*/pkgconfig/*' | head -n1)")
  make -C "$here/consumer_pkgconfig" --no-print-directory -B \
    PKG_CONFIG_PATH="$pcdir" BUILD="$dir" "$@"
  # A shared build must run without LD_LIBRARY_PATH help only if installed
  # system-wide; here the prefix is private, so point the loader at it.
  LD_LIBRARY_PATH="$pcdir/.." "$dir/consumer_pkgconfig"
}

install_from_build() {  # <build dir> <prefix>: the library's components only
  cmake --build "$1" -j "$jobs" --target tokenrail
  cmake --install "$1" --prefix "$2" --component Runtime
  cmake --install "$1" --prefix "$2" --component Development
}

last_failed() { [ "$failed" -gt "$1" ]; }

echo "== packaging: shared libtokenrail"
before=$failed
if [ -n "${TOKENRAIL_BUILD_DIR:-}" ] && [ -f "$TOKENRAIL_BUILD_DIR/CMakeCache.txt" ] \
   && grep -q '^BUILD_SHARED_LIBS:BOOL=ON$' "$TOKENRAIL_BUILD_DIR/CMakeCache.txt" \
   && grep -q '^TOKENRAIL_INSTALL:BOOL=ON$' "$TOKENRAIL_BUILD_DIR/CMakeCache.txt"; then
  # scripts/test has just built the shared library: install that one.
  check "install (shared, from $TOKENRAIL_BUILD_DIR)" install_from_build "$TOKENRAIL_BUILD_DIR" "$work/shared"
else
  check "build + install (shared)" build_and_install "$root/build/pkg-shared" "$work/shared" -DBUILD_SHARED_LIBS=ON
fi
if ! last_failed "$before"; then  # nothing to check without an install
  check "install tree (shared)" check_install_tree "$work/shared" shared
  check "package version (shared)" package_versions "$work/shared"
  check "consumer: find_package (shared)" consumer_cmake "$work/shared" "$work/cmake-shared"
  check "consumer: pkg-config (shared)" consumer_pkgconfig "$work/shared" "$work/pc-shared"
fi

if [ "${TOKENRAIL_PKG_STATIC:-1}" != 0 ]; then
  echo "== packaging: static libtokenrail"
  before=$failed
  check "build + install (static)" build_and_install "$root/build/pkg-static" "$work/static" -DBUILD_SHARED_LIBS=OFF
  if ! last_failed "$before"; then
    check "install tree (static)" check_install_tree "$work/static" static
    check "consumer: find_package (static)" consumer_cmake "$work/static" "$work/cmake-static"
    check "consumer: pkg-config --static (static)" consumer_pkgconfig "$work/static" "$work/pc-static" STATIC=1
  fi
fi

if [ "${TOKENRAIL_PKG_CONAN:-1}" != 0 ]; then
  echo "== packaging: conan create (offline, system libraries)"
  check "conan create" bash "$here/conan/create.sh"
fi

echo "packaging: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
