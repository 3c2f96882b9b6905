import json

from conftest import advance


def test_a_replayed_advance_returns_the_same_dict(engine):
    start = engine.start_workflow("capi-demo")
    first = advance(engine, start, "gathered")
    second = advance(engine, start, "gathered")
    assert second == first


def test_a_replayed_advance_is_byte_identical(engine):
    start = engine.start_workflow("capi-demo")
    request = {"stateToken": start["stateToken"], "ackToken": start["ackToken"],
               "output": {"notesMarkdown": "gathered"}}
    first = engine.call_text("continue_workflow", request)
    second = engine.call_text("continue_workflow", json.dumps(request))
    assert second == first
    assert json.loads(first)["pending"]["stepId"] == "plan"
