#!/usr/bin/env bash
# Runs the Python bindings' pytest suite against a built libtokenrail.
#   TOKENRAIL_BUILD_DIR  the CMake build tree (default: ../../build/release)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export TOKENRAIL_BUILD_DIR=$(cd "${TOKENRAIL_BUILD_DIR:-$here/../../build/release}" && pwd)
if ! ls "$TOKENRAIL_BUILD_DIR"/capi/libtokenrail.so* >/dev/null 2>&1; then
  echo "no shared libtokenrail under $TOKENRAIL_BUILD_DIR/capi (build with BUILD_SHARED_LIBS=ON first)" >&2
  exit 1
fi
python3 -c "import pytest" 2>/dev/null || python3 -m pip install --quiet pytest
cd "$here"
set +e
PYTHONPATH="$here:$here/tests${PYTHONPATH:+:$PYTHONPATH}" python3 -m pytest -q -p no:cacheprovider tests "$@"
rc=$?
set -e
if [ $rc -eq 5 ]; then
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
exit $rc
