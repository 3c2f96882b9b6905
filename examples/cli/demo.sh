#!/usr/bin/env bash
# The README demo: drives the bundled bug-triage workflow to completion on a
# fresh embedded LMDB store, then shows that a replayed advance returns the
# same bytes, that an older stateToken forks the run, and the run's DAG.
#
#   examples/cli/demo.sh <build dir>      (scripts/demo passes build/release)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="$(cd "${1:-$root/build/release}" && pwd)"
cli="$build/examples/cli/tokenrail"
[ -x "$cli" ] || { echo "demo: $cli not found; build the tokenrail-cli target first" >&2; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
export TOKENRAIL_STORE="$tmp/store"
export TOKENRAIL_WORKFLOWS="$root/examples/workflows"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# jget FILE EXPR: a value out of a JSON file (EXPR is Python over `d`).
jget() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
# trace N FIELD: field ("request" or "response") of the N-th call of the run.
trace() { python3 -c 'import json,sys; l=open(sys.argv[1]).read().splitlines()[int(sys.argv[2])]; print(json.dumps(json.loads(l)[sys.argv[3]]))' "$tmp/trace.jsonl" "$1" "$2"; }

say "tokenrail ($cli) on a fresh LMDB store: $TOKENRAIL_STORE (durable)"
"$cli" call list_workflows | python3 -m json.tool

say "1. run bug-triage --auto (every call recorded in a trace)"
"$cli" run bug-triage --auto --loop-iterations 2 \
  --context '{"ticket": "BUG-1042", "severity": "high", "component": "checkout"}' \
  --trace "$tmp/trace.jsonl"
trace 0 response >"$tmp/start.json"
run_id="$(jget "$tmp/start.json" 'd["session"]["runId"]')"

say "2. replay: the third advance sent again, twice, with the same tokens and body"
trace 3 request >"$tmp/advance.json"
echo "request: $(head -c 160 "$tmp/advance.json")..."
"$cli" call continue_workflow - <"$tmp/advance.json" >"$tmp/replay-1.json"
"$cli" call continue_workflow - <"$tmp/advance.json" >"$tmp/replay-2.json"
echo "replay 1: $(head -c 200 "$tmp/replay-1.json")..."
echo "replay 2: $(head -c 200 "$tmp/replay-2.json")..."
cmp "$tmp/replay-1.json" "$tmp/replay-2.json"
echo "cmp: identical ($(wc -c <"$tmp/replay-1.json") bytes); nothing was written, the run did not advance twice"

say "3. fork: rehydrate the first stateToken (no ackToken), then advance it differently"
python3 -c 'import json,sys; print(json.dumps({"stateToken": json.load(open(sys.argv[1]))["stateToken"]}))' \
  "$tmp/start.json" >"$tmp/rehydrate-req.json"
"$cli" call continue_workflow - <"$tmp/rehydrate-req.json" >"$tmp/rehydrate.json"
echo "rehydrated: pending $(jget "$tmp/rehydrate.json" 'd["pending"]["stepId"]'), fresh ackToken $(jget "$tmp/rehydrate.json" 'd["ackToken"]')"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(json.dumps({"stateToken": d["stateToken"], "ackToken": d["ackToken"], "output": {"notesMarkdown": "## Intake, second reading\n\nThe reporter was on the mobile app, not the web."}}))' \
  "$tmp/rehydrate.json" >"$tmp/fork-req.json"
"$cli" call --render continue_workflow - <"$tmp/fork-req.json"

say "4. the run's DAG (tokenrail show $run_id)"
if "$cli" show "$run_id" --format text; then
  echo "(also: tokenrail show $run_id --format dot | dot -Tsvg > run.svg, or --format mermaid)"
else
  echo "demo: 'show' is not available in this engine build (see above); the run resource instead:"
  "$cli" call get_run "{\"runId\": \"$run_id\"}" | python3 -m json.tool
fi

say "5. verify the store (hash chains + replay)"
if "$cli" verify; then echo "verify: ok"; else echo "demo: verify did not pass (or is not in this engine build)"; fi
