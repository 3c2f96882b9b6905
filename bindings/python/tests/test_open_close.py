import threading

import pytest

import tokenrail
from conftest import memory_config


def test_open_with_no_config_is_a_memory_engine():
    engine = tokenrail.Engine()
    assert not engine.closed
    engine.close()
    assert engine.closed


def test_context_manager_closes():
    with tokenrail.Engine(memory_config()) as engine:
        engine.start_workflow("capi-demo")
    assert engine.closed
    with pytest.raises(tokenrail.EngineClosedError) as info:
        engine.start_workflow("capi-demo")
    assert info.value.numeric_code == 5011
    assert isinstance(info.value, tokenrail.StorageError)


def test_close_is_idempotent():
    engine = tokenrail.Engine(memory_config())
    engine.close()
    engine.close()
    assert engine.closed


def test_config_as_json_text():
    with tokenrail.Engine('{"store": {"backend": "memory"}}') as engine:
        assert not engine.closed


def test_a_refused_config_raises_with_the_engine_error():
    with pytest.raises(tokenrail.RequestError) as info:
        tokenrail.Engine({"store": {"backend": "floppy"}})
    assert info.value.code == "INVALID_CONFIG"
    assert info.value.status == "TOKENRAIL_ERR_OPEN_FAILED"


def test_threads_share_one_engine_and_close_waits_for_them():
    engine = tokenrail.Engine(memory_config())
    start = engine.start_workflow("capi-demo")
    seen = {"ok": 0, "closed": 0}
    lock = threading.Lock()
    started = threading.Barrier(5)

    def worker():
        started.wait()
        for _ in range(100000):
            try:
                engine.continue_workflow(start["stateToken"])
                with lock:
                    seen["ok"] += 1
            except tokenrail.EngineClosedError:
                with lock:
                    seen["closed"] += 1
                return

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    started.wait()
    while True:
        with lock:
            if seen["ok"] >= 20:
                break
    engine.close()
    for t in threads:
        t.join()
    assert seen["closed"] == 4
    assert seen["ok"] >= 20
