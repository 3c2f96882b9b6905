#!/usr/bin/env bash
# Fails when the shared library exports a defined symbol that is not part of
# the C ABI (prefix tokenrail_), or exports none at all.
#   check_exported_symbols.sh path/to/libtokenrail.so
set -euo pipefail
lib=$1
symbols=$(nm -D --defined-only "$lib" | awk '{print $NF}')
if [ -z "$symbols" ]; then
  echo "FAIL: $lib exports no symbols" >&2
  exit 1
fi
stray=$(printf '%s\n' "$symbols" | grep -v '^tokenrail_' || true)
count=$(printf '%s\n' "$symbols" | wc -l)
if [ -n "$stray" ]; then
  echo "FAIL: $lib exports symbols outside the C ABI:" >&2
  printf '  %s\n' $stray >&2
  exit 1
fi
echo "ok: $count exported symbols, all tokenrail_*:"
printf '  %s\n' $symbols
