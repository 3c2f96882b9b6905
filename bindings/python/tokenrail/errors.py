"""The exception hierarchy: one class per error family of the contract.

Errors as data ({"error": {code, numericCode, message, retry, details?}})
become exceptions of the family of their numeric code:

    TokenrailError
      RequestError      1xxx  the request itself
      TokenError        2xxx  tokens
        AckAlreadyUsed  2008  the ack was used with another request
      WorkflowError     3xxx  workflow definitions
      RunStateError     4xxx  run state
      StorageError      5xxx  storage and internal
        EngineClosedError 5011 the engine was closed
"""

import json


class TokenrailError(Exception):
    """An error reported by tokenrail.

    Attributes: code ("TOKEN_INVALID"), numeric_code (2004), message,
    retry ({"kind": "not_retryable" | "retryable_immediate" |
    "retryable_after_ms", "afterMs"?: int}), details (dict or None),
    response (the raw JSON text, when the error came as a response) and
    status (the C status name, e.g. "TOKENRAIL_ERR_CLOSED").
    """

    def __init__(self, code, numeric_code, message, retry=None, details=None, response=None, status=None):
        super().__init__("%s (%d): %s" % (code, numeric_code, message))
        self.code = code
        self.numeric_code = numeric_code
        self.message = message
        self.retry = retry if retry is not None else {"kind": "not_retryable"}
        self.details = details
        self.response = response
        self.status = status

    def __reduce__(self):
        # Exception's default reduce replays __init__ with self.args (the
        # formatted message only), which fails: pickling (multiprocessing,
        # concurrent.futures) and copy.copy need every constructor argument.
        return (
            self.__class__,
            (self.code, self.numeric_code, self.message, self.retry, self.details, self.response, self.status),
        )

    @property
    def family(self):
        """The thousand of the numeric code: 1 request ... 5 storage."""
        return self.numeric_code // 1000

    @property
    def retryable(self):
        return self.retry.get("kind", "not_retryable") != "not_retryable"


class RequestError(TokenrailError):
    """1xxx: the request is malformed, missing a field, too large..."""


class TokenError(TokenrailError):
    """2xxx: a token is malformed, forged, of the wrong kind or scope."""


class AckAlreadyUsed(TokenError):
    """2008: the ackToken was already used with a different request.

    details carry the recorded response; rehydrate (continue without an
    ackToken) to branch.
    """


class WorkflowError(TokenrailError):
    """3xxx: a workflow definition is missing or invalid."""


class RunStateError(TokenrailError):
    """4xxx: the run's state does not allow the operation."""


class StorageError(TokenrailError):
    """5xxx: the store failed, or an internal error."""


class EngineClosedError(StorageError):
    """5011: the engine was closed."""


_FAMILIES = {1: RequestError, 2: TokenError, 3: WorkflowError, 4: RunStateError, 5: StorageError}
_SPECIFIC = {2008: AckAlreadyUsed, 5011: EngineClosedError}


def error_class(numeric_code):
    return _SPECIFIC.get(numeric_code) or _FAMILIES.get(numeric_code // 1000, TokenrailError)


def from_error_object(error, response=None, status=None):
    """The exception for the inner object of {"error": {...}}."""
    numeric = int(error.get("numericCode", 5010))
    cls = error_class(numeric)
    return cls(
        error.get("code", "INTERNAL"),
        numeric,
        error.get("message", ""),
        retry=error.get("retry"),
        details=error.get("details"),
        response=response,
        status=status,
    )


def from_error_text(text, status=None):
    """The exception for a JSON text {"error": {...}} (a last error)."""
    try:
        doc = json.loads(text)
        # A last error is not a response: response stays None, as documented
        # on TokenrailError (and as the Rust binding does).
        return from_error_object(doc["error"], response=None, status=status)
    except (ValueError, KeyError, TypeError):
        return TokenrailError("INTERNAL", 5010, "unreadable error: %r" % (text,), status=status)


def closed_error():
    return EngineClosedError("ENGINE_CLOSED", 5011, "the engine is closed", status="TOKENRAIL_ERR_CLOSED")
