#!/usr/bin/env bash
# The MCP end-to-end test (called by scripts/test with TOKENRAIL_BUILD_DIR):
# installs the official MCP TypeScript SDK from the lock file, then drives
# `tokenrail mcp` with it. Needs node >= 18 and npm. Exits non-zero on any failure.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${TOKENRAIL_BUILD_DIR:-$root/build/release}"
cli="$build/examples/cli/tokenrail"
if [ ! -x "$cli" ]; then
  echo "tests/mcp: $cli not found (build the tokenrail-cli target first)" >&2
  exit 1
fi
command -v node >/dev/null && command -v npm >/dev/null || { echo "tests/mcp: node and npm are required" >&2; exit 1; }
cd "$here"
if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
else
  npm install --no-audit --no-fund --loglevel=error
fi
node e2e.mjs "$cli" "$root/examples/workflows"
