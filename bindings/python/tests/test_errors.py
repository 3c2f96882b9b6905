import pytest

import tokenrail
from conftest import advance


def test_errors_are_typed_by_family(engine):
    with pytest.raises(tokenrail.WorkflowError) as info:
        engine.start_workflow("no-such-workflow")
    e = info.value
    assert e.code == "WORKFLOW_NOT_FOUND"
    assert e.numeric_code == 3001
    assert e.family == 3
    assert e.retry["kind"] == "not_retryable"
    assert not e.retryable
    assert isinstance(e, tokenrail.TokenrailError)
    assert e.status == "TOKENRAIL_ERR_RESPONSE"
    assert '"WORKFLOW_NOT_FOUND"' in e.response


def test_not_json_is_a_request_error(engine):
    with pytest.raises(tokenrail.RequestError) as info:
        engine.call("start_workflow", "{workflowId: nope")
    assert info.value.code == "INVALID_JSON"
    assert info.value.numeric_code == 1001


def test_invalid_utf8_is_a_request_error(engine):
    with pytest.raises(tokenrail.RequestError) as info:
        engine.call("start_workflow", b'{"workflowId": "capi-demo\xc3\x28"}')
    assert info.value.code == "INVALID_UTF8"


def test_zero_bytes_is_a_request_error(engine):
    with pytest.raises(tokenrail.RequestError) as info:
        engine.call("start_workflow", b"")
    assert info.value.code == "INVALID_JSON"


def test_unknown_operation(engine):
    with pytest.raises(tokenrail.RequestError) as info:
        engine.call("launch_missiles", {})
    assert info.value.code == "UNKNOWN_OPERATION"


def test_a_forged_token_is_a_token_error(engine):
    for token in ["", "st1_", "garbage", "ak1_" + "A" * 40]:
        with pytest.raises((tokenrail.TokenError, tokenrail.RequestError)) as info:
            engine.continue_workflow(token)
        assert info.value.family in (1, 2)


def test_reusing_an_ack_with_another_body_is_ack_already_used(engine):
    start = engine.start_workflow("capi-demo")
    advance(engine, start, "one")
    with pytest.raises(tokenrail.AckAlreadyUsed) as info:
        advance(engine, start, "another")
    assert isinstance(info.value, tokenrail.TokenError)
    assert info.value.numeric_code == 2008
    assert isinstance(info.value.details, dict)


def test_error_texts_from_the_call_itself_are_typed():
    # A failure that is not an error as data comes through the last error.
    engine = tokenrail.Engine()
    engine.close()
    with pytest.raises(tokenrail.EngineClosedError):
        engine.call("list_workflows", {})
