#!/usr/bin/env bash
# `conan create` of tokenrail, offline, against the system's libraries.
#
# Uses a Conan home of its own (build/pkg-conan-home, no remotes at all), so
# nothing is fetched and the user's ~/.conan2 is left alone. The profile
# (tests/packaging/conan/profile) declares Debian 12's boost, libsodium,
# lmdb and fmt as [platform_requires]. Conan itself comes from PyPI when it
# is not installed (into a venv under build/, else pip --user).
#
# Environment: TOKENRAIL_CONAN_SHARED=1 builds the shared library instead of
# the static default; extra arguments go to `conan create`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)

conan=$(command -v conan || true)
if [ -z "$conan" ] || ! grep -q 'Conan version 2\.' <<<"$("$conan" --version 2>/dev/null || true)"; then
  venv="$root/build/pkg-conan-venv"
  if [ ! -x "$venv/bin/conan" ]; then
    echo "conan: installing Conan 2 from PyPI into $venv"
    if python3 -m venv "$venv" >/dev/null 2>&1; then
      "$venv/bin/python" -m pip install -q "conan>=2,<3"
    else
      rm -rf "$venv"
      python3 -m pip install -q --user "conan>=2,<3" \
        || python3 -m pip install -q --user --break-system-packages "conan>=2,<3"
      venv=""
    fi
  fi
  if [ -n "$venv" ]; then conan="$venv/bin/conan"; else conan="$HOME/.local/bin/conan"; fi
fi
echo "conan: $("$conan" --version)"

export CONAN_HOME="$root/build/pkg-conan-home"
mkdir -p "$CONAN_HOME"
"$conan" profile detect --exist-ok >/dev/null 2>&1
# Offline by construction: no remote to ask.
for remote in $("$conan" remote list --format=json 2>/dev/null | python3 -c \
    'import json,sys; print(" ".join(r["name"] for r in json.load(sys.stdin)))'); do
  "$conan" remote remove "$remote" >/dev/null
done

# One tokenrail in the cache at a time (each commit is a new recipe revision).
"$conan" remove "tokenrail/*" --confirm >/dev/null 2>&1 || true
# conan create builds test_package/ in place: leave the tree as it was.
trap 'rm -rf "$root/test_package/build"' EXIT

shared=False
[ "${TOKENRAIL_CONAN_SHARED:-0}" = 1 ] && shared=True
"$conan" create "$root" --profile:all "$here/profile" --build=missing \
  -o "tokenrail/*:shared=$shared" "$@"
echo "conan: create passed (shared=$shared)"
