"""tokenrail: run agent-driven workflows through opaque tokens.

A pure-Python binding (ctypes) of libtokenrail's C ABI. Open an
:class:`Engine`, send it operations as dicts, get dicts back; errors as data
are raised as :class:`TokenrailError` subclasses, one per error family.
"""

from ._lib import abi_version, library_path, operations, version
from .engine import Engine
from .errors import (
    AckAlreadyUsed,
    EngineClosedError,
    RequestError,
    RunStateError,
    StorageError,
    TokenError,
    TokenrailError,
    WorkflowError,
)

__version__ = "0.1.0"

__all__ = [
    "Engine",
    "TokenrailError",
    "RequestError",
    "TokenError",
    "AckAlreadyUsed",
    "WorkflowError",
    "RunStateError",
    "StorageError",
    "EngineClosedError",
    "version",
    "abi_version",
    "operations",
    "library_path",
    "__version__",
]
