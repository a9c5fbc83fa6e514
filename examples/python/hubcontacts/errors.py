"""Exceptions: one class per library error code, all subclasses of
HubcError, each carrying the library's own message."""

from __future__ import annotations

from typing import ClassVar, Optional

from ._ffi import dec, lib
from .constants import Code


def strerror(code: int) -> str:
    """hubc_strerror: a short fixed description of a status code."""
    return dec(lib.hubc_strerror(code)) or ""


class HubcError(Exception):
    """A negative status from the library.

    ``code`` is the Code (e.g. Code.EXISTS), ``name`` its short name
    ("EXISTS"), ``message`` the library's message (hubc_error_last), which
    names the field, row, record or limit involved."""

    code: ClassVar[Optional[Code]] = None

    def __init__(self, code: int, message: str = "") -> None:
        try:
            self.code = Code(code)  # type: ignore[misc]
            self.name = self.code.name
        except ValueError:
            self.code = code  # type: ignore[misc,assignment]
            self.name = f"UNKNOWN({code})"
        self.message = message or strerror(code)
        super().__init__(code, self.message)

    def __str__(self) -> str:
        return f"{self.name} ({int(self.code or 0)}): {self.message}"


class InvalidArgument(HubcError, ValueError):
    """INVAL: a bad argument; the message names it."""


class OutOfMemory(HubcError, MemoryError):
    """NOMEM: an allocation failed; nothing changed."""


class NotFound(HubcError, LookupError):
    """NOTFOUND: no such contact, user or property."""


class Exists(HubcError):
    """EXISTS: a duplicate (C5: the message names the record id)."""


class ReadOnly(HubcError):
    """READONLY: a read-only property (C6)."""


class LimitExceeded(HubcError):
    """LIMIT: a size limit or the hard cap (B5)."""


class PermissionDenied(HubcError):
    """PERM: the actor lacks a permission (P1–P4)."""


class ConfirmMismatch(HubcError):
    """CONFIRM: a typed confirmation did not match."""


class TierUnavailable(HubcError):
    """TIER: no tier fits."""


class PersistError(HubcError):
    """PERSIST: the persistence backend refused; nothing changed."""


class TryAgain(HubcError):
    """AGAIN: retry later."""


class Busy(HubcError):
    """BUSY: a callback called back into its own store (R6), or a resource
    is held elsewhere."""


class Corrupt(HubcError):
    """CORRUPT: stored data is damaged; the message says where."""


class HubcIOError(HubcError):
    """IO: an I/O error, or a write callback asked to stop."""


class Canceled(HubcError):
    """CANCELED: the operation was canceled."""


class VersionMismatch(HubcError):
    """VERSION: an unsupported struct or format version."""


class StoreClosed(InvalidArgument):
    """A call on a closed Store (or on an iterator of one). Raised by this
    package: the library is never called with a freed store."""

    def __init__(self, message: str = "the hubcontacts.Store is closed") -> None:
        super().__init__(Code.INVAL, message)


class ActorRequired(InvalidArgument, TypeError):
    """A call that acts on behalf of a user was given no actor, and the
    store has no default one (Store(..., actor=ID) or store.as_user(ID))."""

    def __init__(self, what: str) -> None:
        super().__init__(Code.INVAL, f"{what}: no actor; pass actor=ID, or open the "
                                     "store with Store(..., actor=ID) or use store.as_user(ID)")


ERROR_CLASSES: dict[int, type[HubcError]] = {
    Code.INVAL: InvalidArgument, Code.NOMEM: OutOfMemory,
    Code.NOTFOUND: NotFound, Code.EXISTS: Exists, Code.READONLY: ReadOnly,
    Code.LIMIT: LimitExceeded, Code.PERM: PermissionDenied,
    Code.CONFIRM: ConfirmMismatch, Code.TIER: TierUnavailable,
    Code.PERSIST: PersistError, Code.AGAIN: TryAgain, Code.BUSY: Busy,
    Code.CORRUPT: Corrupt, Code.IO: HubcIOError, Code.CANCELED: Canceled,
    Code.VERSION: VersionMismatch,
}
for _code, _cls in ERROR_CLASSES.items():
    _cls.code = Code(_code)
del _code, _cls


def error(rc: int, saved: Optional[tuple[int, str]] = None) -> HubcError:
    """The exception for status rc, with the thread's last message (or one
    saved before a callback could overwrite it)."""
    if saved is not None and saved[0] == rc:
        msg = saved[1]
    elif lib.hubc_error_last_code() == rc:
        msg = dec(lib.hubc_error_last()) or ""
    else:  # the library returned a code without a message of its own
        msg = ""
    return ERROR_CLASSES.get(rc, HubcError)(rc, msg)


def check(rc: int) -> int:
    if rc < 0:
        raise error(rc)
    return rc
