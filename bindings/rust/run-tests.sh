#!/usr/bin/env bash
# Runs `cargo test` for the Rust bindings against a built libtokenrail.
#   TOKENRAIL_BUILD_DIR  the CMake build tree (default: ../../build/release)
# Needs crates.io once to fetch serde_json and pkg-config (Cargo.lock pins
# them); offline afterwards.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${TOKENRAIL_BUILD_DIR:-$here/../../build/release}" && pwd)
export TOKENRAIL_LIB_DIR="$build/capi"
if ! ls "$TOKENRAIL_LIB_DIR"/libtokenrail.so* >/dev/null 2>&1; then
  echo "no shared libtokenrail in $TOKENRAIL_LIB_DIR (build with BUILD_SHARED_LIBS=ON first)" >&2
  exit 1
fi
export LD_LIBRARY_PATH="$TOKENRAIL_LIB_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
cd "$here"
exec cargo test --locked "$@"
