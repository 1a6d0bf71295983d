"""errors.py — one Python exception per sa_status.

Every failed library call raises the subclass of SeqattnError that matches its
status, carrying .status (the int), .status_name ("SA_ERR_SHAPE") and .message
(the library's own text, e.g. "sa_set_input: length 9 of sample 1 is outside
1..8"). Checks done in Python before a call (an array with the wrong number
of features, a closed model) raise the same classes with the status the
library would give.

Where natural the classes also derive from the matching built-in exception,
so `except ValueError` catches a ShapeError and `except LookupError` a
NotFoundError.
"""

# sa_status values (frozen in the header; new codes are only appended)
SA_OK = 0
SA_ERR_INVALID_ARG = 1
SA_ERR_BAD_NODE = 2
SA_ERR_SHAPE = 3
SA_ERR_OVERFLOW = 4
SA_ERR_NO_MEMORY = 5
SA_ERR_STATE = 6
SA_ERR_NOT_FOUND = 7
SA_ERR_NUMERIC = 8
SA_ERR_UNSUPPORTED = 9
SA_ERR_IO = 10
SA_ERR_FORMAT = 11
SA_ERR_INTERNAL = 12

STATUS_NAMES = {
    SA_OK: "SA_OK", SA_ERR_INVALID_ARG: "SA_ERR_INVALID_ARG", SA_ERR_BAD_NODE: "SA_ERR_BAD_NODE",
    SA_ERR_SHAPE: "SA_ERR_SHAPE", SA_ERR_OVERFLOW: "SA_ERR_OVERFLOW",
    SA_ERR_NO_MEMORY: "SA_ERR_NO_MEMORY", SA_ERR_STATE: "SA_ERR_STATE",
    SA_ERR_NOT_FOUND: "SA_ERR_NOT_FOUND", SA_ERR_NUMERIC: "SA_ERR_NUMERIC",
    SA_ERR_UNSUPPORTED: "SA_ERR_UNSUPPORTED", SA_ERR_IO: "SA_ERR_IO", SA_ERR_FORMAT: "SA_ERR_FORMAT",
    SA_ERR_INTERNAL: "SA_ERR_INTERNAL",
}


class SeqattnError(RuntimeError):
    """A seqattn call failed. Attributes: status (int), status_name, message."""

    status = None

    def __init__(self, message, status=None):
        if status is not None:
            self.status = status
        self.message = message
        self.status_name = STATUS_NAMES.get(self.status, f"SA_ERR_UNKNOWN({self.status})")
        super().__init__(f"{self.status_name}: {message}" if self.status is not None else message)


class InvalidArgumentError(SeqattnError, ValueError):
    """SA_ERR_INVALID_ARG: NULL pointer, unknown enum value, bad name or option value."""
    status = SA_ERR_INVALID_ARG


class BadNodeError(SeqattnError, ValueError):
    """SA_ERR_BAD_NODE: node id not in the graph, or of the wrong kind."""
    status = SA_ERR_BAD_NODE


class ShapeError(SeqattnError, ValueError):
    """SA_ERR_SHAPE: shapes do not agree, or a size is outside its range."""
    status = SA_ERR_SHAPE


class SizeOverflowError(SeqattnError, OverflowError):
    """SA_ERR_OVERFLOW: a size computation would overflow."""
    status = SA_ERR_OVERFLOW


class OutOfMemoryError(SeqattnError, MemoryError):
    """SA_ERR_NO_MEMORY: an allocation failed (the model stays usable)."""
    status = SA_ERR_NO_MEMORY


class StateError(SeqattnError):
    """SA_ERR_STATE: call out of order (e.g. backward before a training forward)."""
    status = SA_ERR_STATE


class NotFoundError(SeqattnError, LookupError):
    """SA_ERR_NOT_FOUND: no parameter / input / node of that name."""
    status = SA_ERR_NOT_FOUND


class NumericError(SeqattnError, ValueError):
    """SA_ERR_NUMERIC: NaN or Inf in data given to the library."""
    status = SA_ERR_NUMERIC


class UnsupportedError(SeqattnError):
    """SA_ERR_UNSUPPORTED: a valid request this build cannot do."""
    status = SA_ERR_UNSUPPORTED


class FileIOError(SeqattnError, OSError):
    """SA_ERR_IO: a file could not be read or written."""
    status = SA_ERR_IO


class FormatError(SeqattnError, ValueError):
    """SA_ERR_FORMAT: file content is malformed."""
    status = SA_ERR_FORMAT


class InternalError(SeqattnError):
    """SA_ERR_INTERNAL: a bug in seqattn; please report it."""
    status = SA_ERR_INTERNAL


_BY_STATUS = {cls.status: cls for cls in (
    InvalidArgumentError, BadNodeError, ShapeError, SizeOverflowError, OutOfMemoryError, StateError,
    NotFoundError, NumericError, UnsupportedError, FileIOError, FormatError, InternalError)}


def error_class(status):
    """The exception class for a status (SeqattnError for an unknown code)."""
    return _BY_STATUS.get(status, SeqattnError)


def make_error(status, message):
    """An exception instance for a non-OK status."""
    cls = _BY_STATUS.get(status)
    return cls(message) if cls is not None else SeqattnError(message, status)
