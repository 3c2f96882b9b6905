"""Engine: an open libtokenrail engine, driven with dicts."""

import ctypes
import json
import threading

from . import _lib
from .errors import closed_error, from_error_object, from_error_text, RequestError, StorageError, TokenrailError


def _encode(value, what):
    """JSON text (bytes) for a dict, or str/bytes passed through as-is."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass")


def _operation_name(operation):
    """The operation name as the bytes tokenrail_call reads up to a NUL."""
    if isinstance(operation, str):
        op = operation.encode("utf-8", "surrogatepass")
    elif isinstance(operation, (bytes, bytearray)):
        op = bytes(operation)
    else:
        # bytes(5) would be five NUL bytes, not a name: refuse non-text.
        raise TypeError("operation must be str or bytes, not %s" % type(operation).__name__)
    if b"\0" in op:
        # The C ABI takes the name NUL-terminated: a NUL inside would cut it
        # short and silently run another operation ("list_workflows\0x").
        raise RequestError(
            "INVALID_ARGUMENT",
            1010,
            "the operation name contains a NUL byte",
            details={"argument": "operation"},
            status="TOKENRAIL_ERR_INVALID_ARGUMENT",
        )
    return op


def _status_error(lib, status):
    """The exception for a failed status (not an error as data)."""
    text = lib.tokenrail_last_error()
    name = _lib.status_name(status)
    if text is None and status == _lib.ERR_NO_MEMORY:
        # tokenrail.h: out of memory may leave no last error at all; report
        # it as what it is, like the library's own OUT_OF_MEMORY fallback.
        return StorageError(
            "OUT_OF_MEMORY", 5009, "memory ran out", retry={"kind": "retryable_immediate"}, status=name
        )
    if text is None:
        return TokenrailError("INTERNAL", 5010, "%s without a last error" % name, status=name)
    return from_error_text(text.decode("utf-8", "replace"), status=name)


class Engine:
    """An open tokenrail engine.

    ``Engine(config)`` opens one from a config dict (or JSON text), e.g.
    ``{"store": {"backend": "lmdb", "path": "/var/lib/app/tr"},
    "workflows": ["./workflows"]}``; ``Engine()`` opens one over a memory
    store. Close it with ``close()`` or a ``with`` block; ``close()`` is
    idempotent. One engine may be used from many threads at once.
    """

    def __init__(self, config=None):
        self._lib = _lib.lib()
        self._lock = threading.Lock()
        self._handle = None
        text = _encode({} if config is None else config, "config")
        handle = ctypes.c_void_p()
        status = self._lib.tokenrail_engine_open(ctypes.byref(handle), text, len(text))
        if status != _lib.OK:
            raise _status_error(self._lib, status)
        self._handle = handle.value

    # -- lifetime ---------------------------------------------------------

    def close(self):
        """Closes the engine. Waits for calls running on other threads;
        later calls raise EngineClosedError. Closing twice is a no-op."""
        with self._lock:
            handle, self._handle = self._handle, None
        if handle is not None:
            status = self._lib.tokenrail_engine_close(handle)
            if status != _lib.OK:
                raise _status_error(self._lib, status)

    @property
    def closed(self):
        return self._handle is None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        # Deterministic closing is close()/with; this only stops a leak. The
        # close runs on a thread of its own: __del__ can run on any thread,
        # between a failed call and the read of that call's last error
        # (per thread in the C library), and closing here would clear it.
        handle = getattr(self, "_handle", None)
        if handle is None:
            return
        self._handle = None
        try:
            threading.Thread(target=self._lib.tokenrail_engine_close, args=(handle,), daemon=True).start()
        except Exception:  # no new threads (interpreter shutdown): close here
            try:
                self._lib.tokenrail_engine_close(handle)
            except Exception:
                pass

    # -- calls ------------------------------------------------------------

    def call_text(self, operation, request=None):
        """Runs an operation and returns the raw response text, as the C ABI
        returned it: byte-identical for a replay, and an error as data is
        returned (not raised). Failures of the call itself (closed engine,
        bad argument, out of memory) raise."""
        status, text = self._call(operation, request)
        return text

    def call(self, operation, request=None):
        """Runs an operation: request dict in, response dict out. An error
        as data raises the TokenrailError subclass of its family."""
        status, text = self._call(operation, request)
        body = json.loads(text)
        if status == _lib.ERR_RESPONSE:
            raise from_error_object(body["error"], response=text, status=_lib.status_name(status))
        return body

    def _call(self, operation, request):
        with self._lock:
            handle = self._handle
        if handle is None:
            raise closed_error()
        op = _operation_name(operation)
        body = _encode({} if request is None else request, "request")
        out = ctypes.c_void_p()
        out_len = ctypes.c_size_t()
        status = self._lib.tokenrail_call(handle, op, body, len(body), ctypes.byref(out), ctypes.byref(out_len))
        if status in (_lib.OK, _lib.ERR_RESPONSE):
            try:
                text = ctypes.string_at(out.value, out_len.value).decode("utf-8")
            finally:
                self._lib.tokenrail_string_free(out)
            return status, text
        raise _status_error(self._lib, status)

    # -- the operations of the contract, as methods -----------------------

    def list_workflows(self, **fields):
        return self.call("list_workflows", fields)

    def inspect_workflow(self, workflow_id, **fields):
        return self.call("inspect_workflow", dict(fields, workflowId=workflow_id))

    def start_workflow(self, workflow_id, context=None, session_id=None, labels=None, parent=None, **fields):
        """start_workflow: returns {stateToken, ackToken, pending, ...}."""
        request = dict(fields, workflowId=workflow_id)
        if context is not None:
            request["context"] = context
        if session_id is not None:
            request["sessionId"] = session_id
        if labels is not None:
            request["labels"] = labels
        if parent is not None:
            request["parent"] = parent
        return self.call("start_workflow", request)

    def continue_workflow(self, state_token, ack_token=None, context=None, output=None, **fields):
        """continue_workflow: advances with ack_token, rehydrates without."""
        request = dict(fields, stateToken=state_token)
        if ack_token is not None:
            request["ackToken"] = ack_token
        if context is not None:
            request["context"] = context
        if output is not None:
            request["output"] = output
        return self.call("continue_workflow", request)

    def checkpoint_workflow(self, state_token, notes_markdown, artifacts=None, **fields):
        request = dict(fields, stateToken=state_token, notesMarkdown=notes_markdown)
        if artifacts is not None:
            request["artifacts"] = artifacts
        return self.call("checkpoint_workflow", request)

    def resume_session(self, **fields):
        return self.call("resume_session", fields)

    def get_run(self, run_id):
        return self.call("get_run", {"runId": run_id})

    def cancel_run(self, run_id, **fields):
        return self.call("cancel_run", dict(fields, runId=run_id))

    def export_session(self, session_id):
        return self.call("export_session", {"sessionId": session_id})

    def import_session(self, bundle):
        return self.call("import_session", {"bundle": bundle})
