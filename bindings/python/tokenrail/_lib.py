"""Loading libtokenrail and declaring the C ABI (capi/tokenrail.h)."""

import ctypes
import ctypes.util
import json
import os
import sys
import threading

#: The ABI version (SOVERSION) these declarations match: TOKENRAIL_ABI_VERSION.
ABI_VERSION = 1

#: Status codes of tokenrail.h (tokenrail_status).
OK = 0
ERR_RESPONSE = 1
ERR_INVALID_ARGUMENT = 2
ERR_CLOSED = 3
ERR_NO_MEMORY = 4
ERR_OPEN_FAILED = 5
ERR_INTERNAL = 6

#: TOKENRAIL_NUL_TERMINATED: a length meaning "up to the first NUL".
NUL_TERMINATED = ctypes.c_size_t(-1).value

if sys.platform == "darwin":
    _NAMES = ["libtokenrail.%d.dylib" % ABI_VERSION, "libtokenrail.dylib"]
elif sys.platform.startswith("win"):
    _NAMES = ["tokenrail.dll"]
else:
    _NAMES = ["libtokenrail.so.%d" % ABI_VERSION, "libtokenrail.so"]


def _candidates():
    """Where to look for the library, best first (see README.md)."""
    explicit = os.environ.get("TOKENRAIL_LIBRARY")
    if explicit:
        # An explicit choice is the only one: a wrong path must not fall
        # back silently to another library.
        return [explicit]
    found = []
    build_dir = os.environ.get("TOKENRAIL_BUILD_DIR")
    if build_dir:
        for sub in ("capi", "lib", ""):
            for name in _NAMES:
                path = os.path.join(build_dir, sub, name)
                if os.path.exists(path):
                    found.append(path)
    system = ctypes.util.find_library("tokenrail")
    if system:
        found.append(system)
    found.extend(_NAMES)  # the dynamic loader's own search (LD_LIBRARY_PATH)
    return found


def _declare(lib):
    c_engine_p = ctypes.c_void_p
    lib.tokenrail_version.argtypes = []
    lib.tokenrail_version.restype = ctypes.c_char_p
    lib.tokenrail_abi_version.argtypes = []
    lib.tokenrail_abi_version.restype = ctypes.c_int
    lib.tokenrail_status_name.argtypes = [ctypes.c_int]
    lib.tokenrail_status_name.restype = ctypes.c_char_p
    lib.tokenrail_last_error.argtypes = []
    lib.tokenrail_last_error.restype = ctypes.c_char_p
    lib.tokenrail_engine_open.argtypes = [ctypes.POINTER(c_engine_p), ctypes.c_char_p, ctypes.c_size_t]
    lib.tokenrail_engine_open.restype = ctypes.c_int
    lib.tokenrail_engine_close.argtypes = [c_engine_p]
    lib.tokenrail_engine_close.restype = ctypes.c_int
    # The response is taken as a void* (not c_char_p, which would copy it
    # and lose the pointer that tokenrail_string_free needs).
    lib.tokenrail_call.argtypes = [
        c_engine_p,
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_size_t,
        ctypes.POINTER(ctypes.c_void_p),
        ctypes.POINTER(ctypes.c_size_t),
    ]
    lib.tokenrail_call.restype = ctypes.c_int
    lib.tokenrail_string_free.argtypes = [ctypes.c_void_p]
    lib.tokenrail_string_free.restype = None
    lib.tokenrail_operations.argtypes = []
    lib.tokenrail_operations.restype = ctypes.c_char_p


_lock = threading.Lock()
_lib = None
_path = None


def lib():
    """The loaded library (loaded on first use, once)."""
    global _lib, _path
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is not None:
            return _lib
        errors = []
        for candidate in _candidates():
            try:
                loaded = ctypes.CDLL(candidate)
            except OSError as e:
                errors.append("%s: %s" % (candidate, e))
                continue
            _declare(loaded)
            got = loaded.tokenrail_abi_version()
            if got != ABI_VERSION:
                errors.append("%s: ABI version %d, this package needs %d" % (candidate, got, ABI_VERSION))
                continue
            _path = candidate
            _lib = loaded
            return _lib
        raise OSError(
            "libtokenrail not found; set TOKENRAIL_LIBRARY to the library's path or "
            "TOKENRAIL_BUILD_DIR to a build tree. Tried:\n  " + "\n  ".join(errors)
        )


def library_path():
    """The path (or name) the library was loaded from."""
    lib()
    return _path


def version():
    """The version of the loaded library, "MAJOR.MINOR.PATCH"."""
    return lib().tokenrail_version().decode("ascii")


def abi_version():
    """The ABI version of the loaded library."""
    return lib().tokenrail_abi_version()


def operations():
    """The names of every operation Engine.call accepts."""
    text = lib().tokenrail_operations()
    if text is None:
        raise MemoryError("tokenrail_operations: out of memory")
    return json.loads(text.decode("utf-8"))


def status_name(status):
    return lib().tokenrail_status_name(status).decode("ascii")
