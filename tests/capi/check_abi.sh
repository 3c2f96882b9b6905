#!/usr/bin/env bash
# Compares the built libtokenrail with the checked-in ABI baseline.
#   check_abi.sh <built library> <baseline.abi> <TOKENRAIL_ABI_VERSION> <public headers dir>
#
# - No change: pass.
# - Additions only (new functions; abidiff already filters harmless changes
#   such as a new enumerator at the end): pass, and say that the baseline
#   should be refreshed (capi/abi/update.sh).
# - Anything else -- a removed function, a changed signature or type (abidiff
#   flags only removals as "incompatible", exit bit 8; a changed parameter
#   list is only "a change", bit 4, so the summary lines are read too): fail,
#   unless TOKENRAIL_ABI_VERSION (the SOVERSION) differs from the baseline's
#   -- then the break is declared and the baseline must be regenerated.
# abidiff's exit status is a bit field: 1 error, 2 usage, 4 ABI change,
# 8 incompatible ABI change.
set -uo pipefail
lib=$1 baseline=$2 abi_version=$3 headers=$4

if [ ! -f "$baseline" ]; then
  echo "FAIL: no ABI baseline at $baseline; create it with capi/abi/update.sh" >&2
  exit 1
fi
baseline_soname=$(grep -o "soname='[^']*'" "$baseline" | head -1 | sed "s/soname='\(.*\)'/\1/")
baseline_version=${baseline_soname##*.so.}
echo "baseline: $baseline_soname (ABI version $baseline_version); built: TOKENRAIL_ABI_VERSION=$abi_version"

report=$(abidiff --no-show-locs --exported-interfaces-only --headers-dir2 "$headers" --drop-private-types \
          "$baseline" "$lib")
status=$?
printf '%s\n' "$report"
if [ $((status & 3)) -ne 0 ]; then
  echo "FAIL: abidiff could not compare (status $status)" >&2
  exit 1
fi
# "Functions changes summary: 0 Removed, 1 Changed (3 filtered out), 0 Added functions"
breaking=$(printf '%s\n' "$report" | grep -E 'changes summary:' |
           grep -E '[1-9][0-9]* Removed|[1-9][0-9]* Changed' || true)
if [ $((status & 8)) -ne 0 ] || [ -n "$breaking" ]; then
  if [ "$baseline_version" != "$abi_version" ]; then
    echo "note: incompatible ABI change, declared by the ABI version bump $baseline_version -> $abi_version;"
    echo "      regenerate the baseline: capi/abi/update.sh"
    exit 0
  fi
  echo "FAIL: incompatible ABI change without bumping TOKENRAIL_ABI_VERSION (top CMakeLists.txt" >&2
  echo "      and tokenrail.h), or undo the change. See the report above." >&2
  exit 1
fi
if [ $((status & 4)) -ne 0 ]; then
  echo "note: compatible ABI change (for example a new function); refresh the baseline with capi/abi/update.sh"
  exit 0
fi
echo "ok: the ABI matches the baseline"
