from conftest import advance


def test_advancing_an_old_state_again_forks_the_run(engine):
    start = engine.start_workflow("capi-demo")
    main = advance(engine, start, "first try")

    rehydrated = engine.continue_workflow(start["stateToken"])
    assert rehydrated["pending"]["stepId"] == "gather"
    fork = advance(engine, rehydrated, "second try")

    assert fork["pending"]["stepId"] == "plan"
    assert fork["stateToken"] != main["stateToken"]
    assert fork["session"]["runId"] == main["session"]["runId"]

    # Both branches go on independently to completion.
    for branch in (main, fork):
        r = branch
        while not r["isComplete"]:
            r = advance(engine, r, "next")
        assert r["nextIntent"] == "complete"
