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


def test_a_leaked_engine_collected_mid_call_keeps_the_last_error(engine):
    # The last error is per thread in the C library, and every status call
    # clears it. A leaked Engine collected on this thread between a failed
    # call and the read of its last error must not clear it: its close runs
    # on a thread of its own.
    import ctypes
    import threading

    lib = _lib.lib()
    leaked = tokenrail.Engine()
    closed = tokenrail.Engine()
    handle = closed._handle
    closed.close()
    out, out_len = ctypes.c_void_p(), ctypes.c_size_t()
    status = lib.tokenrail_call(handle, b"list_workflows", b"{}", 2, ctypes.byref(out), ctypes.byref(out_len))
    assert status == _lib.ERR_CLOSED
    before = set(threading.enumerate())
    del leaked  # the last reference: __del__ runs here, on this thread
    e = _status_error(lib, status)
    assert e.code == "ENGINE_CLOSED", (e.code, e.message)
    for t in set(threading.enumerate()) - before:
        t.join(10)
