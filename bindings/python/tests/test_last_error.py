import pytest

import tokenrail
from tokenrail import _lib
from tokenrail.engine import _status_error


def test_an_open_failure_has_no_response():
    # TokenrailError.response is "the raw JSON text, when the error came as
    # a response"; a refused open returns no response (the error comes
    # from tokenrail_last_error), like the Rust binding's Error::response.
    with pytest.raises(tokenrail.RequestError) as info:
        tokenrail.Engine({"store": {"backend": "floppy"}})
    assert info.value.code == "INVALID_CONFIG"
    assert info.value.response is None
    assert info.value.details is not None


def test_no_memory_without_a_last_error_is_out_of_memory(engine):
    # tokenrail.h: TOKENRAIL_ERR_NO_MEMORY leaves "no last error at all if
    # even that could not be allocated". After a successful call the last
    # error is NULL, which is what that case looks like.
    engine.call("list_workflows", {})
    assert _lib.lib().tokenrail_last_error() is None
    e = _status_error(_lib.lib(), _lib.ERR_NO_MEMORY)
    assert isinstance(e, tokenrail.StorageError)
    assert e.code == "OUT_OF_MEMORY"
    assert e.numeric_code == 5009
    assert e.retryable
    assert e.status == "TOKENRAIL_ERR_NO_MEMORY"
