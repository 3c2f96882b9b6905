#!/usr/bin/env bash
# Regenerates the ABI baseline capi/abi/tokenrail.abi from a built shared
# libtokenrail (RelWithDebInfo or Debug: abidw reads the DWARF of
# capi/tokenrail.cpp, which is always compiled with -g).
#
#   capi/abi/update.sh [path/to/libtokenrail.so]     (default: build/release)
#
# When: after a compatible addition to tokenrail.h (the ABI test then says
# "refresh the baseline"), or after an incompatible change together with a
# bump of TOKENRAIL_ABI_VERSION (top CMakeLists.txt and tokenrail.h). The
# baseline records the SONAME, and so the ABI version it was made for.
#
# The dump holds no absolute path (no corpus path, no compilation dir, no
# source locations; the translation unit's path is made relative to the
# source root), so it is the same from any clone.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
lib=${1:-$root/build/release/capi/libtokenrail.so}
out=$root/capi/abi/tokenrail.abi
[ -f "$lib" ] || { echo "no library at $lib (build it first, or pass its path)" >&2; exit 1; }
abidw --no-show-locs --no-corpus-path --no-comp-dir-path --no-elf-needed \
      --exported-interfaces-only --drop-private-types --headers-dir "$root/capi" \
      "$lib" | sed "s#path='$root/#path='#g" > "$out.tmp"
mv "$out.tmp" "$out"
grep -o "soname='[^']*'" "$out"
echo "wrote $out"
