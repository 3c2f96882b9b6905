import pytest

import tokenrail


def test_a_nul_in_the_operation_name_is_refused_not_truncated(engine):
    # tokenrail_call reads the name up to its first NUL: without a check,
    # "list_workflows\0anything" would silently run list_workflows.
    with pytest.raises(tokenrail.RequestError) as info:
        engine.call("list_workflows\0garbage", {})
    assert info.value.code == "INVALID_ARGUMENT"
    assert info.value.numeric_code == 1010
    assert info.value.details == {"argument": "operation"}
    with pytest.raises(tokenrail.RequestError):
        engine.call_text(b"list_workflows\0", b"{}")


def test_an_operation_name_that_is_not_text_is_a_type_error(engine):
    # bytes(5) would be five NUL bytes, not the name "5".
    with pytest.raises(TypeError):
        engine.call(5, {})
    with pytest.raises(TypeError):
        engine.call(None, {})


def test_bytes_names_still_work(engine):
    assert "workflows" in engine.call(b"list_workflows", {})
