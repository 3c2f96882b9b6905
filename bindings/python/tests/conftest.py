import pytest

import tokenrail

DEMO = {
    "id": "capi-demo",
    "name": "C ABI demo",
    "description": "three plain steps",
    "version": "1.0.0",
    "steps": [
        {"id": "gather", "title": "Gather the facts", "prompt": "List what you know."},
        {"id": "plan", "title": "Make a plan", "prompt": "Write a short plan."},
        {"id": "report", "title": "Report", "prompt": "Summarise what was done."},
    ],
}


def memory_config():
    return {"store": {"backend": "memory"}, "definitions": [DEMO]}


@pytest.fixture
def engine():
    with tokenrail.Engine(memory_config()) as e:
        yield e


def advance(engine, response, notes):
    return engine.continue_workflow(
        response["stateToken"], response["ackToken"], output={"notesMarkdown": notes}
    )
