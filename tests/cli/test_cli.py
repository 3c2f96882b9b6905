#!/usr/bin/env python3
"""CLI tests: test_cli.py CASE TOKENRAIL WORKFLOWS_DIR SCRATCH_DIR [DOT].

Each case runs the `tokenrail` binary and checks exit codes and output.
Exit 0: passed; 1: failed; 77: a feature this case needs is not in this
engine build (reported, never counted as passed)."""
import json
import os
import shutil
import subprocess
import sys

CASE, CLI, WORKFLOWS, SCRATCH = sys.argv[1:5]
DOT = sys.argv[5] if len(sys.argv) > 5 else ""
CONTEXT = '{"ticket": "BUG-1042", "severity": "high", "component": "checkout"}'
SKIP = 77


class Skip(Exception):
    pass


def run(*args, stdin=None, env=None, check_rc=None, cwd=None):
    full_env = dict(os.environ)
    for k in ("TOKENRAIL_STORE", "TOKENRAIL_WORKFLOWS"):
        full_env.pop(k, None)
    full_env.update(env or {})
    p = subprocess.run([CLI, *args], input=stdin, capture_output=True, env=full_env, timeout=120, cwd=cwd)
    out, err = p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
    if check_rc is not None and p.returncode != check_rc:
        raise AssertionError(f"tokenrail {' '.join(args)}: exit {p.returncode}, expected {check_rc}\n"
                             f"stdout: {out[:2000]}\nstderr: {err[:2000]}")
    return p.returncode, out, err


def mem(*args, **kw):
    return run("--memory", "--workflows", WORKFLOWS, *args, **kw)


def store(*args, **kw):
    return run("--store", os.path.join(SCRATCH, "store"), "--workflows", WORKFLOWS, *args, **kw)


def operations():
    _, out, _ = mem("call", "__no_such_operation__", check_rc=1)
    return json.loads(out)["error"]["details"]["known"]


def need_ops(*ops):
    missing = [op for op in ops if op not in operations()]
    if missing:
        raise Skip(f"engine operation(s) not in this build: {', '.join(missing)}")


def need_lmdb():
    rc, out, err = store("call", "list_workflows")
    if rc != 0 and "lmdb backend is not built" in err:
        raise Skip("the LMDB backend is not in this build")
    if rc != 0 and "keyring files are not available" in err:
        raise Skip("keyring files (needed by an LMDB store) are not in this build")
    assert rc == 0, err


def run_auto_with_trace(name="trace.jsonl", *extra):
    trace = os.path.join(SCRATCH, name)
    store("run", "bug-triage", "--auto", "--context", CONTEXT, "--trace", trace, *extra, check_rc=0)
    with open(trace) as f:
        return [json.loads(line) for line in f]


# --------------------------------------------------------------------------
def case_help():
    rc, out, _ = run("--help", check_rc=0)
    assert out.startswith("usage: tokenrail"), out
    for cmd in ("call", "run", "sessions", "show", "export", "import", "verify", "mcp"):
        assert cmd in out
        _, sub, _ = run(cmd, "--help", check_rc=0)
        assert sub.startswith(f"usage: tokenrail {cmd}"), sub
        _, sub, _ = run(cmd, "-h", check_rc=0)
        assert sub.startswith(f"usage: tokenrail {cmd}")
    _, out, _ = run("--version", check_rc=0)
    assert out.startswith("tokenrail "), out
    run(check_rc=2)
    _, _, err = run("frobnicate", check_rc=2)
    assert "unknown command" in err
    run("--store", check_rc=2)
    for cmd in ("call", "run", "show", "export", "import", "sessions", "verify", "mcp"):
        _, _, err = run("--memory", cmd, "--no-such-option", check_rc=2)
        assert f"tokenrail {cmd}:" in err, err


def case_call():
    _, out, _ = mem("call", "list_workflows", check_rc=0)
    ids = [w["workflowId"] for w in json.loads(out)["workflows"]]
    assert ids == ["bug-triage"], ids
    _, out, _ = mem("call", "nope", check_rc=1)
    assert json.loads(out)["error"]["code"] == "UNKNOWN_OPERATION"
    _, out, _ = mem("call", "start_workflow", "{not json", check_rc=1)
    assert json.loads(out)["error"]["code"] == "INVALID_JSON"
    _, out, _ = mem("call", "start_workflow", '{"workflowId": 42}', check_rc=1)
    err = json.loads(out)["error"]
    assert err["code"] == "INVALID_REQUEST" and err["details"]["pointer"] == "/workflowId", err
    _, out, _ = mem("call", "start_workflow", "-", stdin=b'{"workflowId": "bug-triage", "context": ' + CONTEXT.encode() + b"}", check_rc=0)
    r = json.loads(out)
    assert r["pending"]["stepId"] == "intake" and r["stateToken"].startswith("st1_"), r
    _, md, _ = mem("call", "--render", "start_workflow", '{"workflowId": "bug-triage", "context": ' + CONTEXT + "}", check_rc=0)
    assert md.startswith("# Intake BUG-1042\n"), md
    assert "```json\n{\n  \"stateToken\": \"st1_" in md, md
    mem("call", check_rc=2)
    mem("call", "a", "{}", "extra", check_rc=2)


def case_run():
    trace = os.path.join(SCRATCH, "mem-trace.jsonl")
    _, out, _ = mem("run", "bug-triage", "--auto", "--context", CONTEXT, "--loop-iterations", "2", "--trace", trace, check_rc=0)
    lines = out.splitlines()
    assert lines[0].startswith("started run run_"), out
    assert "[1] Intake BUG-1042  (intake)" in out, out
    assert "loop narrow-down iteration 1: continue" in out and "loop narrow-down iteration 2: stop" in out, out
    assert "[confirmed]" in out, out
    assert lines[-2].startswith("completed run run_") and lines[-2].endswith(" in 10 steps"), out
    calls = [json.loads(l) for l in open(trace)]
    assert calls[0]["op"] == "start_workflow" and calls[-1]["response"]["isComplete"] is True
    arts = [c["request"]["output"].get("artifacts") for c in calls[1:] if c["request"]["output"].get("artifacts")]
    assert arts[-1] == [{"kind": "loop_control", "loopId": "narrow-down", "decision": "stop"}], arts
    # A low-severity bug skips the reproduction and the regression test.
    _, out, _ = mem("run", "bug-triage", "--auto", "--context", '{"ticket": "T-1", "severity": "low", "component": "ui"}', check_rc=0)
    assert "(reproduce)" not in out and "(regression-test)" not in out and "in 6 steps" in out, out
    # --render prints each step's text-first rendering.
    _, out, _ = mem("run", "bug-triage", "--auto", "--render", "--context", CONTEXT, check_rc=0)
    assert out.count("```json\n{\n  \"stateToken\"") == 9 and "# Workflow complete" in out, out[-500:]
    _, _, err = mem("run", "no-such-workflow", "--auto", check_rc=1)
    assert "WORKFLOW_NOT_FOUND" in err, err
    mem("run", "bug-triage", check_rc=2)                      # --auto is required
    mem("run", "--auto", check_rc=2)                          # no workflow
    mem("run", "bug-triage", "--auto", "--context", "[1]", check_rc=2)
    mem("run", "bug-triage", "--auto", "--max-steps", "0", check_rc=2)
    _, _, err = mem("run", "bug-triage", "--auto", "--context", CONTEXT, "--max-steps", "3", check_rc=1)
    assert "--max-steps" in err


def case_env():
    # Workflow directories from TOKENRAIL_WORKFLOWS (colon-separated).
    _, _, err = run("--memory", "call", "list_workflows", env={"TOKENRAIL_WORKFLOWS": "/nonexistent-dir:" + WORKFLOWS}, check_rc=1)
    assert "/nonexistent-dir" in err, err  # every listed directory is used, and a bad one is named
    # --workflows replaces the environment's list.
    _, out, _ = run("--memory", "--workflows", WORKFLOWS, "call", "list_workflows", env={"TOKENRAIL_WORKFLOWS": "/nonexistent-dir"}, check_rc=0)
    assert "bug-triage" in out
    _, out2, _ = run("--memory", "call", "list_workflows", env={"TOKENRAIL_WORKFLOWS": WORKFLOWS}, check_rc=0)
    assert "bug-triage" in out2
    _, out3, _ = run("--memory", "call", "list_workflows", check_rc=0)
    assert json.loads(out3)["workflows"] == []
    # The store: flag > TOKENRAIL_STORE > $XDG_DATA_HOME/tokenrail > ~/.local/share/tokenrail.
    xdg = os.path.join(SCRATCH, "xdg")
    run("call", "list_workflows", env={"XDG_DATA_HOME": xdg})
    assert os.path.isdir(os.path.join(xdg, "tokenrail")), "default store under $XDG_DATA_HOME/tokenrail"
    home = os.path.join(SCRATCH, "home")
    run("call", "list_workflows", env={"HOME": home, "XDG_DATA_HOME": ""})
    assert os.path.isdir(os.path.join(home, ".local/share/tokenrail"))
    env_store = os.path.join(SCRATCH, "env-store")
    run("call", "list_workflows", env={"TOKENRAIL_STORE": env_store, "XDG_DATA_HOME": xdg})
    assert os.path.isdir(env_store)
    flag_store = os.path.join(SCRATCH, "flag-store")
    run("--store", flag_store, "call", "list_workflows", env={"TOKENRAIL_STORE": env_store})
    assert os.path.isdir(flag_store)


def case_mcp():
    lines = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
         "params": {"name": "start_workflow", "arguments": {"workflowId": "bug-triage", "context": json.loads(CONTEXT)}}},
    ]
    data = b"".join(json.dumps(l).encode() + b"\n" for l in lines) + b"garbage\n\x00\xff\n" + b"x" * (5 << 20) + b"\n"
    data += b'{"jsonrpc":"2.0","id":4,"method":"ping"}\n'
    _, out, _ = mem("mcp", stdin=data, check_rc=0)
    replies = [json.loads(l) for l in out.splitlines()]
    assert [r.get("id") for r in replies] == [1, 2, 3, None, None, None, 4], replies
    assert replies[0]["result"]["protocolVersion"] == "2025-03-26"
    names = [t["name"] for t in replies[1]["result"]["tools"]]
    assert "start_workflow" in names and "continue_workflow" in names and "rotate_key" not in names, names
    res = replies[2]["result"]
    assert res["isError"] is False and res["content"][0]["text"].startswith("# Intake BUG-1042"), res
    assert [r["error"]["code"] for r in replies[3:6]] == [-32700, -32700, -32600], replies[3:6]
    assert replies[6]["result"] == {}
    # The line limit takes a byte count, nothing else ("-1" is not "no limit").
    for bad in ("-1", "12abc", "", "10"):
        mem("mcp", "--max-message-bytes", bad, stdin=b"", check_rc=2)
    _, out, _ = mem("mcp", "--max-message-bytes", "64", stdin=b'{"jsonrpc":"2.0","id":9,"method":"ping"}\n' + b"x" * 100 + b"\n",
                    check_rc=0)
    assert [json.loads(l).get("id") for l in out.splitlines()] == [9, None], out


def case_closed_stdout():
    # Started with stdout closed, the next file the CLI opens (the store's
    # lock.mdb) would become fd 1 and take every reply. The CLI occupies a
    # closed standard descriptor with /dev/null first.
    need_lmdb()
    path = os.path.join(SCRATCH, "store")
    lock = os.path.join(path, "lock.mdb")
    size = os.path.getsize(lock)
    line = b'{"jsonrpc":"2.0","id":1,"method":"ping"}\n'
    for args in (["mcp"], ["call", "list_workflows"]):
        p = subprocess.run([CLI, "--store", path, "--workflows", WORKFLOWS, *args], input=line,
                           stderr=subprocess.PIPE, preexec_fn=lambda: os.close(1), timeout=120)
        assert p.returncode == 0, (args, p.returncode, p.stderr)
        with open(lock, "rb") as f:
            held = f.read()
        assert b"jsonrpc" not in held and b"workflows" not in held, args
        assert os.path.getsize(lock) == size, (args, size, os.path.getsize(lock))
    store("verify", check_rc=0)


def case_replay_fork():
    need_lmdb()
    calls = run_auto_with_trace()
    # Replay, across processes: the same (stateToken, ackToken) and body gives
    # the first response, byte for byte.
    recorded = calls[3]
    assert recorded["op"] == "continue_workflow"
    body = json.dumps(recorded["request"])
    _, a, _ = store("call", "continue_workflow", body, check_rc=0)
    _, b, _ = store("call", "continue_workflow", body, check_rc=0)
    assert a == b, "replays are byte-identical"
    assert json.loads(a) == recorded["response"], "a replay returns the recorded response"
    # Same pair, different body: ACK_ALREADY_USED (errors as data, exit 1).
    other = dict(recorded["request"], output={"notesMarkdown": "different"})
    _, out, _ = store("call", "continue_workflow", json.dumps(other), check_rc=1)
    assert json.loads(out)["error"]["code"] == "ACK_ALREADY_USED"
    # Fork: rehydrate the start's stateToken and advance it again.
    first = calls[0]["response"]
    _, out, _ = store("call", "continue_workflow", json.dumps({"stateToken": first["stateToken"]}), check_rc=0)
    rh = json.loads(out)
    assert rh["pending"]["stepId"] == "intake" and rh["ackToken"] != first["ackToken"]
    _, out, _ = store("call", "continue_workflow", json.dumps(
        {"stateToken": rh["stateToken"], "ackToken": rh["ackToken"], "output": {"notesMarkdown": "## Fork\n\nanother way"}}), check_rc=0)
    child = json.loads(out)
    assert child["stateToken"] != calls[1]["response"]["stateToken"], "a second child"
    run_id = first["session"]["runId"]
    _, out, _ = store("call", "get_run", json.dumps({"runId": run_id}), check_rc=0)
    status = json.loads(out)["status"]
    assert len(status["tips"]) == 2, status
    assert status["phase"] == "Completed" or status["phase"] == "Running", status


def case_show():
    need_lmdb()
    need_ops("export_session")
    calls = run_auto_with_trace()
    first = calls[0]["response"]
    run_id = first["session"]["runId"]
    _, out, _ = store("call", "continue_workflow", json.dumps({"stateToken": first["stateToken"]}), check_rc=0)
    rh = json.loads(out)
    store("call", "continue_workflow", json.dumps(
        {"stateToken": rh["stateToken"], "ackToken": rh["ackToken"], "output": {"notesMarkdown": "fork"}}), check_rc=0)
    _, text, _ = store("show", run_id, check_rc=0)
    assert text.startswith(f"run {run_id} (bug-triage)"), text
    assert "(fork: 2 branches)" in text and "1 fork point" in text, text
    _, text2, _ = store("show", run_id, "--format", "text", check_rc=0)
    assert text2 == text
    _, dot, _ = store("show", run_id, "--format", "dot", check_rc=0)
    assert dot.startswith("digraph") and "n0 -> n1;" in dot and "n0 -> n" in dot, dot
    if DOT:
        p = subprocess.run([DOT, "-Tsvg"], input=dot.encode(), capture_output=True)
        assert p.returncode == 0, p.stderr.decode()
        assert b"<svg" in p.stdout
    else:
        raise Skip("graphviz `dot` not found: the DOT output was not checked by Graphviz")
    _, mm, _ = store("show", run_id, "--format", "mermaid", check_rc=0)
    assert mm.startswith("flowchart TD\n") and "n0 --> n1" in mm, mm
    store("show", run_id, "--format", "svg", check_rc=2)
    store("show", check_rc=2)
    _, _, err = store("show", "run_ffffffffffffffff", check_rc=1)
    assert "RUN_NOT_FOUND" in err, err


def case_verify():
    need_lmdb()
    need_ops("verify")
    run_auto_with_trace()
    _, out, _ = store("verify", check_rc=0)
    assert json.loads(out), out
    store("verify", "a", "b", check_rc=2)


def case_sessions():
    need_ops("resume_session")
    need_lmdb()
    calls = run_auto_with_trace()
    sid = calls[0]["response"]["session"]["sessionId"]
    _, out, _ = store("sessions", check_rc=0)
    assert out.startswith("SESSION\tRUN") and sid in out, out
    _, out, _ = store("sessions", "--json", check_rc=0)
    assert json.loads(out)["candidates"], out
    # More runs than resume_session's default 5 are all listed (default 50).
    for _ in range(7):
        store("call", "start_workflow", json.dumps({"workflowId": "bug-triage"}), check_rc=0)
    _, out, _ = store("sessions", check_rc=0)
    assert len(out.splitlines()) == 1 + 8, out
    _, out, _ = store("sessions", "--limit", "3", check_rc=0)
    assert len(out.splitlines()) == 1 + 3, out
    for bad in ("0", "1001", "x", ""):
        store("sessions", "--limit", bad, check_rc=2)


def case_export_import():
    need_lmdb()
    need_ops("export_session", "import_session")
    calls = run_auto_with_trace()
    sid = calls[0]["response"]["session"]["sessionId"]
    bundle = os.path.join(SCRATCH, "bundle.json")
    store("export", sid, "-o", bundle, check_rc=0)
    other = os.path.join(SCRATCH, "other-store")
    _, out, _ = run("--store", other, "--workflows", WORKFLOWS, "import", bundle, check_rc=0)
    assert json.loads(out)["sessionId"] == sid, out
    _, again, _ = run("--store", other, "--workflows", WORKFLOWS, "import", bundle, check_rc=0)
    assert json.loads(again)["sessionId"] == sid
    _, md, _ = store("export", sid, "--format", "md", check_rc=0)
    assert md.startswith(f"# Session `{sid}`"), md[:200]
    _, _, err = store("export", "ses_nope", check_rc=1)
    assert "SESSION_NOT_FOUND" in err, err
    # The imported store verifies, and the imported run continues there.
    run("--store", other, "--workflows", WORKFLOWS, "verify", check_rc=0)
    # The imported run continues with a token of the importing store
    # (resume_session mints a fresh one).
    _, out, _ = run("--store", other, "--workflows", WORKFLOWS, "sessions", "--json", check_rc=0)
    cand = [c for c in json.loads(out)["candidates"] if c["sessionId"] == sid][0]
    _, out, _ = run("--store", other, "--workflows", WORKFLOWS, "call", "continue_workflow",
                    json.dumps({"stateToken": cand["stateToken"]}), check_rc=0)
    assert json.loads(out)["session"]["runId"] == calls[0]["response"]["session"]["runId"], out
    store("export", check_rc=2)
    store("export", sid, "--format", "pdf", check_rc=2)
    run("--store", other, "import", check_rc=2)


def case_output_errors():
    # A write error on stdout (here a full device) must not end in exit 0:
    # a script would take a lost response for a delivered one.
    if not os.path.exists("/dev/full"):
        raise Skip("no /dev/full on this system")
    for args in (["--help"], ["--memory", "--workflows", WORKFLOWS, "call", "list_workflows"],
                 ["--memory", "--workflows", WORKFLOWS, "run", "bug-triage", "--auto", "--context", CONTEXT]):
        with open("/dev/full", "wb") as full:
            p = subprocess.run([CLI, *args], stdout=full, stderr=subprocess.PIPE, timeout=120)
        assert p.returncode == 1, (args, p.returncode, p.stderr)
        assert b"cannot write to standard output" in p.stderr, (args, p.stderr)
    # A usage error keeps its own exit code.
    with open("/dev/full", "wb") as full:
        p = subprocess.run([CLI, "--memory", "call"], stdout=full, stderr=subprocess.PIPE, timeout=120)
    assert p.returncode == 2, p


def case_run_utf8():
    # run --auto quotes the first 240 bytes of each prompt in its notes; a
    # cut inside a multi-byte character made the notes invalid UTF-8 and the
    # engine refused the step (INVALID_UTF8), so the run never completed.
    # The titles carry markup characters and a line break.
    wf_dir = os.path.join(SCRATCH, "workflows")
    os.makedirs(wf_dir)
    steps = [{"id": f"s{i}", "title": "Ünïcødé ✓ \"quoted\" [x] | <y>\nline 2", "prompt": "x" * i + "é✓" * 200} for i in range(4)]
    with open(os.path.join(wf_dir, "utf8.json"), "w", encoding="utf-8") as f:
        json.dump({"id": "utf8", "name": "utf8", "description": "d", "version": "1.0.0", "steps": steps}, f)
    _, out, _ = run("--memory", "--workflows", wf_dir, "run", "utf8", "--auto", check_rc=0)
    assert "completed run run_" in out and " in 4 steps" in out, out
    # One line per step, even when a title has a line break.
    assert '[1] Ünïcødé ✓ "quoted" [x] | <y> line 2  (s0)\n' in out, out


def case_dashdash():
    # POSIX Guideline 10: "--" ends a command's options; every argument after
    # it is an operand, even one that starts with '-'. (In-memory store.)
    # (a) An operand after "--".
    _, out, _ = mem("call", "--", "list_workflows", check_rc=0)
    assert [w["workflowId"] for w in json.loads(out)["workflows"]] == ["bug-triage"], out
    _, md, _ = mem("call", "--render", "--", "start_workflow", '{"workflowId": "bug-triage", "context": ' + CONTEXT + "}",
                   check_rc=0)
    assert md.startswith("# Intake BUG-1042\n"), md
    _, out, _ = mem("call", "--", "-x", check_rc=1)                 # an operation named -x: the engine's answer
    assert json.loads(out)["error"]["code"] == "UNKNOWN_OPERATION", out
    _, out, _ = mem("call", "--", "start_workflow", "-", stdin=b'{"workflowId": "bug-triage"}', check_rc=0)
    assert json.loads(out)["pending"]["stepId"] == "intake", out   # "-" after "--" still reads stdin
    _, out, _ = mem("run", "--auto", "--context", CONTEXT, "--quiet", "--", "bug-triage", check_rc=0)
    assert out.startswith("completed run run_"), out
    # A FILE named -bundle.json: read (the engine refuses its content), not refused as an option.
    with open(os.path.join(SCRATCH, "-bundle.json"), "w") as f:
        f.write("{not json")
    _, _, err = mem("import", "-bundle.json", cwd=SCRATCH, check_rc=2)
    assert "expected exactly one FILE" in err, err
    _, _, err = mem("import", "--", "-bundle.json", cwd=SCRATCH, check_rc=1)
    assert "INVALID_JSON" in err, err
    # (b) "--" with no operand after it, where operands are optional.
    _, out, _ = mem("call", "list_workflows", "--", check_rc=0)
    assert "bug-triage" in out, out
    _, out, _ = mem("mcp", "--", stdin=b'{"jsonrpc":"2.0","id":1,"method":"ping"}\n', check_rc=0)
    assert json.loads(out) == {"jsonrpc": "2.0", "id": 1, "result": {}}, out
    _, out, _ = mem("run", "bug-triage", "--auto", "--quiet", "--", check_rc=0)
    assert out.startswith("completed run run_"), out
    # (c) Option-looking arguments after "--" are operands: never parsed as options.
    _, _, err = mem("mcp", "--", "--max-message-bytes", "64", stdin=b"", check_rc=2)   # mcp takes no operands
    assert "tokenrail mcp: unknown argument --max-message-bytes" in err, err
    _, _, err = mem("run", "bug-triage", "--", "--auto", check_rc=2)
    assert "tokenrail run: unexpected argument --auto" in err, err
    _, _, err = mem("run", "--", "--auto", check_rc=2)              # a workflow named --auto, and no --auto
    assert "only --auto is supported" in err, err
    _, out, _ = mem("call", "list_workflows", "--", "--render", check_rc=1)   # the request JSON, not --render
    assert json.loads(out)["error"]["code"] == "INVALID_JSON", out
    _, out, _ = mem("call", "--", "list_workflows", "--", check_rc=1)         # only the first "--" ends the options
    assert json.loads(out)["error"]["code"] == "INVALID_JSON", out
    _, out, _ = mem("call", "--", "--help", check_rc=1)             # not a help request after "--"
    assert json.loads(out)["error"]["code"] == "UNKNOWN_OPERATION", out
    _, _, err = mem("import", "--", "--help", cwd=SCRATCH, check_rc=2)
    assert "cannot read --help" in err, err
    _, _, err = mem("verify", "--", "-a", "-b", check_rc=2)
    assert "expected at most one SESSION" in err, err
    # An option's value may be "--" (as with getopt); it does not end the options.
    _, _, err = mem("show", "--format", "--", "--json", check_rc=2)
    assert "unknown option --json" in err, err
    # The usage texts say so.
    _, out, _ = run("--help", check_rc=0)
    assert '"--" ends its options' in out, out
    for cmd in ("call", "run", "sessions", "show", "export"):
        _, out, _ = run(cmd, "--help", check_rc=0)
        assert "\n  --  " in out, (cmd, out)
    for cmd in ("import", "verify"):
        _, out, _ = run(cmd, "--help", check_rc=0)
        assert out.startswith(f"usage: tokenrail {cmd} [--] "), out


def case_dashdash_store():
    # "--" for the commands that need a store (LMDB) and its operations.
    need_lmdb()
    need_ops("export_session", "import_session", "resume_session", "verify")
    calls = run_auto_with_trace()
    sid = calls[0]["response"]["session"]["sessionId"]
    run_id = calls[0]["response"]["session"]["runId"]
    # (a) An operand after "--": the session, the run, a FILE starting with '-'.
    store("export", "-o", os.path.join(SCRATCH, "-bundle.json"), "--", sid, check_rc=0)
    other = os.path.join(SCRATCH, "other-store")
    run("--store", other, "import", "-bundle.json", cwd=SCRATCH, check_rc=2)
    _, out, _ = run("--store", other, "--workflows", WORKFLOWS, "import", "--", "-bundle.json", cwd=SCRATCH, check_rc=0)
    assert json.loads(out)["sessionId"] == sid, out
    _, text, _ = store("show", "--format", "text", "--", run_id, check_rc=0)
    assert text.startswith(f"run {run_id} (bug-triage)"), text
    _, out, _ = store("verify", "--", sid, check_rc=0)
    assert json.loads(out), out
    _, out, _ = store("sessions", "--json", "--", sid, check_rc=0)
    assert sid in [c["sessionId"] for c in json.loads(out)["candidates"]], out
    # (b) "--" with no operand after it.
    _, out, _ = store("sessions", "--", check_rc=0)
    assert out.startswith("SESSION\tRUN") and sid in out, out
    store("verify", "--", check_rc=0)
    # (c) Option-looking arguments after "--" are operands.
    _, out, _ = store("sessions", "--limit", "3", "--", "--json", check_rc=0)   # a QUERY, not --json
    assert not out.startswith("{"), out
    _, _, err = store("sessions", "--", "--limit", "3", check_rc=2)
    assert "one query at most" in err, err
    _, _, err = store("export", "--", "--format", check_rc=1)       # a session named --format
    assert "SESSION_NOT_FOUND" in err, err
    _, _, err = store("show", "--", "--format", check_rc=1)         # a run named --format
    assert "tokenrail show: unknown option" not in err and err, err


def case_invalid_files():
    # A workflow directory with one broken file: by default the file is left
    # out with a warning and the others work; --strict-workflows fails.
    wfdir = os.path.join(SCRATCH, "workflows")
    shutil.copytree(WORKFLOWS, wfdir)
    with open(os.path.join(wfdir, "zz-broken.json"), "w") as f:
        f.write("{ not json")
    _, out, err = run("--memory", "--workflows", wfdir, "call", "list_workflows", check_rc=0)
    listed = json.loads(out)
    assert "bug-triage" in [w["workflowId"] for w in listed["workflows"]], out
    assert [s["file"] for s in listed["skippedFiles"]] == [os.path.join(wfdir, "zz-broken.json")], out
    assert listed["skippedFiles"][0]["error"]["code"] == "INVALID_JSON", out
    assert err.count("warning: workflow file left out") == 1 and "zz-broken.json" in err, err
    run("--memory", "--workflows", wfdir, "call", "start_workflow", '{"workflowId": "bug-triage"}', check_rc=0)
    _, _, err = run("--memory", "--workflows", wfdir, "--strict-workflows", "call", "list_workflows", check_rc=1)
    assert "INVALID_JSON" in err and "zz-broken.json" in err, err
    # Two files with one id: both left out, one warning naming both.
    shutil.copy(os.path.join(wfdir, "bug-triage.json"), os.path.join(wfdir, "zz-copy.json"))
    _, out, err = run("--memory", "--workflows", wfdir, "call", "list_workflows", check_rc=0)
    assert "bug-triage" not in [w["workflowId"] for w in json.loads(out)["workflows"]], out
    dup = [l for l in err.splitlines() if "declare the id" in l]
    assert len(dup) == 1 and "bug-triage.json" in dup[0] and "zz-copy.json" in dup[0], err
    # A clean directory prints no warning.
    _, _, err = mem("call", "list_workflows", check_rc=0)
    assert "warning" not in err, err


def main():
    shutil.rmtree(SCRATCH, ignore_errors=True)
    os.makedirs(SCRATCH)
    try:
        globals()["case_" + CASE]()
    except Skip as s:
        print(f"SKIPPED: {s}")
        return SKIP
    print(f"cli:{CASE} passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
