from conftest import advance


def test_drive_a_workflow_to_completion(engine):
    r = engine.start_workflow("capi-demo")
    assert r["isComplete"] is False
    assert r["session"]["runId"]
    steps = []
    while not r["isComplete"]:
        assert r["nextIntent"] == "perform_pending_then_continue"
        steps.append(r["pending"]["stepId"])
        r = advance(engine, r, "done: " + steps[-1])
        assert r["kind"] == "ok"
        assert len(steps) <= 10
    assert steps == ["gather", "plan", "report"]
    assert r["nextIntent"] == "complete"


def test_generic_call_matches_the_convenience_method(engine):
    r = engine.call("start_workflow", {"workflowId": "capi-demo"})
    assert r["pending"]["stepId"] == "gather"
    assert r["pending"]["title"] == "Gather the facts"


def test_rehydrate_returns_the_same_pending_step(engine):
    r = engine.start_workflow("capi-demo")
    again = engine.continue_workflow(r["stateToken"])
    assert again["pending"]["stepId"] == r["pending"]["stepId"]
    assert again["ackToken"] != r["ackToken"]
