import copy
import pickle

import pytest

import tokenrail
from conftest import advance


def _roundtrips(e):
    for clone in (pickle.loads(pickle.dumps(e)), copy.copy(e), copy.deepcopy(e)):
        assert type(clone) is type(e)
        assert str(clone) == str(e)
        for attr in ("code", "numeric_code", "message", "retry", "details", "response", "status"):
            assert getattr(clone, attr) == getattr(e, attr), attr


def test_errors_as_data_pickle_and_copy(engine):
    # multiprocessing and concurrent.futures pickle exceptions to send them
    # back to the parent; copy.copy uses the same protocol.
    with pytest.raises(tokenrail.WorkflowError) as info:
        engine.start_workflow("no-such-workflow")
    _roundtrips(info.value)
    start = engine.start_workflow("capi-demo")
    advance(engine, start, "one")
    with pytest.raises(tokenrail.AckAlreadyUsed) as info:
        advance(engine, start, "another")
    _roundtrips(info.value)


def test_a_closed_engine_error_pickles():
    engine = tokenrail.Engine()
    engine.close()
    with pytest.raises(tokenrail.EngineClosedError) as info:
        engine.call("list_workflows", {})
    _roundtrips(info.value)
