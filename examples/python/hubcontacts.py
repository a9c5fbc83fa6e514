"""hubcontacts — Python binding (ctypes, standard library only).

A thin, idiomatic layer over the public C API of libhubcontacts
(include/hubcontacts/*.h):

    import hubcontacts as hc

    with hc.Store(admin_email="admin@example.com") as store:
        cid = store.create_contact({"email": "anna@example.com", "firstname": "Anna"})
        store.set_marketing(cid)
        print(store.get(cid)["hs_marketable_status"])   # "true"
        print(store.billing()["billable"])              # 1

Library location: the environment variable ``HUBC_LIBRARY`` (a path) if set,
else ``ctypes.util.find_library("hubcontacts")``, else ``libhubcontacts.so.1``.

Conventions:
  * every nonzero (negative) C status raises :class:`HubcError` (or one of
    its subclasses, e.g. :class:`PermissionDenied` for ``HUBC_EPERM``), with
    ``.code``, ``.name`` ("PERM") and the library's own message
    (``hubc_error_last()``), which names the field, record or limit involved;
  * strings go in as ``str`` (encoded as UTF-8) or ``bytes`` (passed as is, so
    the library's own UTF-8 validation can be exercised); they come out as
    ``str``;
  * snapshots (contacts, users) are copied into Python objects and freed at
    once: a :class:`Contact` never refers to library memory;
  * ``actor`` defaults to 1, the first super admin every new store gets
    (``admin_email``). Use :data:`SYSTEM` (0) for automatic sources.
  * every integer passed to the library is range-checked for its C type
    (R4a): out of range raises ValueError, a non-integer (1.5, "1") TypeError
    — never truncated;
  * Python callables given to the store (the clock, event handlers) run on
    the thread that made the call. An exception they raise is re-raised when
    that call returns (for event handlers the change itself has committed; a
    failing clock fails the call and changes nothing);
  * a store may be shared by threads: close() waits for calls in flight,
    later calls (iterators included) raise StoreClosed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import enum
import operator
import os
import threading
from collections.abc import Iterable, Mapping
from ctypes import (CFUNCTYPE, POINTER, Structure, byref, c_char_p, c_int,
                    c_int64, c_size_t, c_uint, c_uint64, c_void_p)
from dataclasses import dataclass

__all__ = [
    "Store", "StoreClosed", "Contact", "User", "Event", "HubcError", "lib", "version",
    "strerror", "status_name", "source_name",
]

# --------------------------------------------------------------------------
# constants mirroring the C enums
# --------------------------------------------------------------------------

SYSTEM = 0  # HUBC_SYSTEM: the actor of automatic sources


class Code(enum.IntEnum):
    """enum hubc_status_code (errors.h)."""
    OK = 0
    ITEROVER = 1
    INVAL = -1
    NOMEM = -2
    NOTFOUND = -3
    EXISTS = -4
    READONLY = -5
    LIMIT = -6
    PERM = -7
    CONFIRM = -8
    TIER = -9
    PERSIST = -10
    AGAIN = -11
    BUSY = -12
    CORRUPT = -13
    IO = -14
    CANCELED = -15
    VERSION = -16


OK = Code.OK
ITEROVER = Code.ITEROVER
EINVAL = Code.INVAL
ENOMEM = Code.NOMEM
ENOTFOUND = Code.NOTFOUND
EEXISTS = Code.EXISTS
EREADONLY = Code.READONLY
ELIMIT = Code.LIMIT
EPERM = Code.PERM
ECONFIRM = Code.CONFIRM
ETIER = Code.TIER
EPERSIST = Code.PERSIST
EAGAIN = Code.AGAIN
EBUSY = Code.BUSY
ECORRUPT = Code.CORRUPT
EIO = Code.IO
ECANCELED = Code.CANCELED
EVERSION = Code.VERSION


class Status(enum.IntEnum):
    """enum hubc_marketing_status (M2)."""
    NON_MARKETING = 0
    MARKETING = 1
    MARKETING_UNTIL_UPDATE = 2


NON_MARKETING = Status.NON_MARKETING
MARKETING = Status.MARKETING
MARKETING_UNTIL_UPDATE = Status.MARKETING_UNTIL_UPDATE


class Source(enum.IntEnum):
    """enum hubc_source (D1): creation sources and reason types."""
    MANUAL = 1
    IMPORT = 2
    FORM = 3
    EXTERNAL_FORM = 4
    CHATFLOW = 5
    INTEGRATION = 6
    MOBILE_APP = 7
    ONE_TO_ONE_EMAIL = 8
    TEAM_INBOX = 9
    DOCUMENT = 10
    MEETINGS = 11
    EMAIL_EXTENSION = 12
    WORKFLOW = 13
    BULK = 14
    UPDATE_DATE = 15


globals().update({"SOURCE_" + s.name: s for s in Source})
MANUAL = Source.MANUAL  # the default reason type of set_marketing


class Perm(enum.IntFlag):
    """enum hubc_permission (P1)."""
    EDIT_CONTACTS = 1 << 0
    IMPORT = 1 << 1
    EDIT_WORKFLOWS = 1 << 2
    MARKETING_ACCESS = 1 << 3  # P2
    MANAGE_USERS = 1 << 4


PERM_EDIT_CONTACTS = Perm.EDIT_CONTACTS
PERM_IMPORT = Perm.IMPORT
PERM_EDIT_WORKFLOWS = Perm.EDIT_WORKFLOWS
PERM_MARKETING_ACCESS = Perm.MARKETING_ACCESS
PERM_MANAGE_USERS = Perm.MANAGE_USERS
PERM_ALL = Perm(0x1F)
PERM_DEFAULT = (Perm.EDIT_CONTACTS | Perm.IMPORT | Perm.EDIT_WORKFLOWS
                | Perm.MARKETING_ACCESS)


class Select(enum.IntEnum):
    """enum hubc_select: what iter_contacts() walks."""
    ALL = 0
    BILLABLE = 1
    MARKETING = 2
    UNTIL_UPDATE = 3
    NON_MARKETING = 4
    UNREACHABLE = 5  # M8


globals().update({"SELECT_" + s.name: s for s in Select})
ALL = Select.ALL


class EventType(enum.IntEnum):
    """enum hubc_event_type."""
    STATUS = 1
    ALERT = 2
    TIER_UPGRADE = 3
    TIER_DOWNGRADE = 4
    PERIOD_CLOSED = 5


globals().update({"EVENT_" + s.name: s for s in EventType})


class Subscription(enum.IntEnum):
    STARTER = 0
    PROFESSIONAL = 1
    ENTERPRISE = 2


class Commitment(enum.IntEnum):
    MONTHLY = 0  # update date: the renewal day each month
    ANNUAL = 1   # update date: the 1st of each month


class TierPolicy(enum.IntEnum):
    AUTO_UPGRADE = 0  # B4
    HARD_CAP = 1      # B5


class PropType(enum.IntEnum):
    STRING = 0
    NUMBER = 1
    BOOL = 2
    DATETIME = 3
    ENUMERATION = 4


class PropFlag(enum.IntFlag):
    BUILTIN = 1 << 0
    READONLY = 1 << 1
    COMPUTED = 1 << 2


STARTER, PROFESSIONAL, ENTERPRISE = Subscription
MONTHLY, ANNUAL = Commitment
AUTO_UPGRADE, HARD_CAP = TierPolicy
globals().update({"PROP_" + t.name: t for t in PropType})

MAX_VALUE_BYTES = 65536
MAX_CONTACT_PROPERTIES = 1000
MAX_EMAIL_BYTES = 254

# struct versions (the C macros)
STORE_OPTIONS_VERSION = 2
CREATE_OPTIONS_VERSION = 1
BILLING_INFO_VERSION = 1
PERIOD_VERSION = 1
EVENT_VERSION = 1
HISTORY_ENTRY_VERSION = 1
PROPERTY_INFO_VERSION = 1
SUPPORTED_MAJOR = 1

# --------------------------------------------------------------------------
# C types
# --------------------------------------------------------------------------

hubc_id = c_int64
hubc_time = c_int64

CLOCK_FN = CFUNCTYPE(hubc_time, c_void_p)
WRITE_FN = CFUNCTYPE(c_int, c_void_p, c_void_p, c_size_t)
ALLOC_FN = CFUNCTYPE(c_void_p, c_void_p, c_void_p, c_size_t, c_size_t)


class StoreOptions(Structure):
    _fields_ = [
        ("version", c_uint),
        ("clock", CLOCK_FN),
        ("clock_payload", c_void_p),
        ("alloc", ALLOC_FN),
        ("alloc_payload", c_void_p),
        ("admin_email", c_char_p),
        ("subscription", c_int),
        ("commitment", c_int),
        ("renewal_anchor", hubc_time),
        ("tier_ladder", POINTER(c_uint64)),
        ("tier_ladder_len", c_size_t),
        ("tier", c_uint64),
        ("tier_policy", c_int),
        ("hard_cap", c_uint64),
        ("persist", c_void_p),  # const hubc_persist *
        ("max_clock_jump", hubc_time),  # version 2 (B2a); 0: 10 years
    ]


class CreateOptions(Structure):
    _fields_ = [
        ("version", c_uint),
        ("source", c_int),
        ("source_id", hubc_id),
        ("marketing", c_int),
    ]


class BillingInfo(Structure):
    _fields_ = [
        ("version", c_uint),
        ("billable", c_uint64),
        ("marketing", c_uint64),
        ("until_update", c_uint64),
        ("non_marketing", c_uint64),
        ("tier", c_uint64),
        ("cap", c_uint64),
        ("tier_policy", c_int),
        ("commitment", c_int),
        ("subscription", c_int),
        ("period_start", hubc_time),
        ("next_update", hubc_time),
        ("period_peak", c_uint64),
        ("downgrade_request", c_uint64),
        ("next_renewal", hubc_time),
    ]


class Period(Structure):
    _fields_ = [
        ("version", c_uint),
        ("number", hubc_id),
        ("start", hubc_time),
        ("end", hubc_time),
        ("peak", c_uint64),
        ("billable_at_close", c_uint64),
        ("tier_at_close", c_uint64),
    ]


class EventStruct(Structure):
    _fields_ = [
        ("version", c_uint),
        ("type", c_int),
        ("time", hubc_time),
        ("contact", hubc_id),
        ("old_status", c_int),
        ("new_status", c_int),
        ("reason_type", c_int),
        ("reason_id", hubc_id),
        ("actor", hubc_id),
        ("billable", c_uint64),
        ("tier", c_uint64),
        ("old_tier", c_uint64),
        ("threshold", c_uint),
        ("period_start", hubc_time),
        ("period_end", hubc_time),
    ]


class HistoryEntry(Structure):
    _fields_ = [
        ("version", c_uint),
        ("seq", hubc_id),
        ("contact", hubc_id),
        ("time", hubc_time),
        ("old_status", c_int),
        ("new_status", c_int),
        ("reason_type", c_int),
        ("reason_id", hubc_id),
        ("actor", hubc_id),
    ]


class PropertyInfo(Structure):
    _fields_ = [
        ("version", c_uint),
        ("name", c_char_p),
        ("label", c_char_p),
        ("type", c_int),
        ("flags", c_uint),
        ("n_options", c_size_t),
        ("options", POINTER(c_char_p)),
    ]


EVENT_FN = CFUNCTYPE(None, c_void_p, POINTER(EventStruct))

# --------------------------------------------------------------------------
# loading the library and declaring every function used
# --------------------------------------------------------------------------


def _find_library() -> str:
    path = os.environ.get("HUBC_LIBRARY")
    if path:
        return path
    return ctypes.util.find_library("hubcontacts") or "libhubcontacts.so.1"


def _load():
    name = _find_library()
    try:
        return ctypes.CDLL(name)
    except OSError as e:
        raise ImportError(
            f"hubcontacts: cannot load the C library {name!r} ({e}); "
            "set HUBC_LIBRARY to the path of libhubcontacts.so") from e


lib = _load()

_P = c_void_p            # opaque handles
_PP = POINTER(c_void_p)  # out-parameters for handles
_NAMES = POINTER(c_char_p)

_SIGNATURES = {
    # version.h / errors.h
    "hubc_version_number": (c_int, []),
    "hubc_version_string": (c_char_p, []),
    "hubc_strerror": (c_char_p, [c_int]),
    "hubc_error_last": (c_char_p, []),
    "hubc_error_last_code": (c_int, []),
    # store.h
    "hubc_store_options_init": (c_int, [POINTER(StoreOptions), c_uint]),
    "hubc_store_options_size": (c_size_t, []),
    "hubc_store_open": (c_int, [_PP, POINTER(StoreOptions)]),
    "hubc_store_close": (None, [_P]),
    "hubc_store_now": (hubc_time, [_P]),
    "hubc_store_tick": (c_int, [_P]),
    "hubc_store_dump": (c_int, [_P, WRITE_FN, c_void_p]),
    "hubc_billing_get": (c_int, [POINTER(BillingInfo), _P]),
    "hubc_billing_request_downgrade": (c_int, [_P, hubc_id, c_uint64]),
    "hubc_period_iterator_new": (c_int, [_PP, _P]),
    "hubc_period_iterator_next": (c_int, [POINTER(Period), _P]),
    "hubc_period_iterator_free": (None, [_P]),
    "hubc_store_set_event_callback": (c_int, [_P, EVENT_FN, c_void_p]),
    # contact.h
    "hubc_property_define": (c_int, [_P, hubc_id, c_char_p, c_char_p, c_int,
                                     _NAMES, c_size_t]),
    "hubc_property_count": (c_int, [POINTER(c_size_t), _P]),
    "hubc_property_at": (c_int, [POINTER(PropertyInfo), _P, c_size_t]),
    "hubc_property_find": (c_int, [POINTER(PropertyInfo), _P, c_char_p]),
    "hubc_source_name": (c_char_p, [c_int]),
    "hubc_source_set_default": (c_int, [_P, hubc_id, c_int, hubc_id, c_int]),
    "hubc_source_get_default": (c_int, [POINTER(c_int), _P, c_int, hubc_id]),
    "hubc_create_options_init": (c_int, [POINTER(CreateOptions), c_uint]),
    "hubc_contact_create": (c_int, [POINTER(hubc_id), _P, hubc_id,
                                    POINTER(CreateOptions), _NAMES, _NAMES,
                                    c_size_t]),
    "hubc_contact_create_batch": (c_int, [POINTER(hubc_id), _P, hubc_id,
                                          POINTER(CreateOptions), _NAMES, c_size_t,
                                          _NAMES, c_size_t]),
    "hubc_contact_update": (c_int, [_P, hubc_id, hubc_id, _NAMES, _NAMES,
                                    c_size_t]),
    "hubc_contact_delete": (c_int, [_P, hubc_id, hubc_id]),
    "hubc_contact_get": (c_int, [_PP, _P, hubc_id]),
    "hubc_contact_get_by_email": (c_int, [_PP, _P, c_char_p]),
    "hubc_contact_find": (c_int, [POINTER(hubc_id), _P, c_char_p]),
    "hubc_contact_get_many": (c_int, [_PP, _P, POINTER(c_char_p), c_size_t]),
    "hubc_contact_find_many": (c_int, [POINTER(hubc_id), _P, POINTER(c_char_p), c_size_t]),
    "hubc_contact_count": (c_int, [POINTER(c_uint64), _P]),
    "hubc_contact_free": (None, [_P]),
    "hubc_contact_id": (hubc_id, [_P]),
    "hubc_contact_prop": (c_char_p, [_P, c_char_p]),
    "hubc_contact_prop_count": (c_size_t, [_P]),
    "hubc_contact_prop_at": (c_int, [POINTER(c_char_p), POINTER(c_char_p),
                                     _P, c_size_t]),
    "hubc_contact_status": (c_int, [_P]),
    "hubc_contact_reason": (c_int, [POINTER(c_int), POINTER(hubc_id), _P]),
    "hubc_contact_source": (c_int, [POINTER(c_int), POINTER(hubc_id), _P]),
    "hubc_contact_created": (hubc_time, [_P]),
    "hubc_contact_modified": (hubc_time, [_P]),
    "hubc_contact_iterator_new": (c_int, [_PP, _P, c_int]),
    "hubc_contact_iterator_next": (c_int, [POINTER(hubc_id), _P]),
    "hubc_contact_iterator_free": (None, [_P]),
    "hubc_contact_set_marketing": (c_int, [_P, hubc_id, hubc_id, c_int,
                                           hubc_id]),
    "hubc_contact_set_non_marketing": (c_int, [_P, hubc_id, hubc_id, c_int,
                                               hubc_id]),
    "hubc_history_iterator_new": (c_int, [_PP, _P, hubc_id]),
    "hubc_history_iterator_next": (c_int, [POINTER(HistoryEntry), _P]),
    "hubc_history_iterator_free": (None, [_P]),
    "hubc_history_export": (c_int, [_P, hubc_id, WRITE_FN, c_void_p]),
    "hubc_status_name": (c_char_p, [c_int]),
    # user.h
    "hubc_user_create": (c_int, [POINTER(hubc_id), _P, hubc_id, c_char_p]),
    "hubc_user_set_permissions": (c_int, [_P, hubc_id, hubc_id, c_uint]),
    "hubc_user_set_super_admin": (c_int, [_P, hubc_id, hubc_id, c_int]),
    "hubc_user_set_disabled": (c_int, [_P, hubc_id, hubc_id, c_int]),
    "hubc_user_get": (c_int, [_PP, _P, hubc_id]),
    "hubc_user_get_by_email": (c_int, [_PP, _P, c_char_p]),
    "hubc_user_free": (None, [_P]),
    "hubc_user_id": (hubc_id, [_P]),
    "hubc_user_email": (c_char_p, [_P]),
    "hubc_user_permissions": (c_uint, [_P]),
    "hubc_user_is_super_admin": (c_int, [_P]),
    "hubc_user_is_disabled": (c_int, [_P]),
    "hubc_user_can": (c_int, [_P, c_uint]),
    "hubc_user_iterator_new": (c_int, [_PP, _P]),
    "hubc_user_iterator_next": (c_int, [POINTER(hubc_id), _P]),
    "hubc_user_iterator_free": (None, [_P]),
    # journal.h
    "hubc_journal_open": (c_int, [_PP, c_char_p, c_void_p]),
    "hubc_journal_persist": (c_void_p, [_P]),
    "hubc_journal_close": (None, [_P]),
    "hubc_journal_compact": (c_int, [_P]),
}

for _name, (_restype, _argtypes) in _SIGNATURES.items():
    _fn = getattr(lib, _name)
    _fn.restype = _restype
    _fn.argtypes = _argtypes
del _name, _restype, _argtypes, _fn

if lib.hubc_version_number() // 10000 != SUPPORTED_MAJOR:
    raise ImportError(
        f"hubcontacts: loaded library version {lib.hubc_version_string().decode()} "
        f"but this module speaks major version {SUPPORTED_MAJOR}")

if ctypes.sizeof(StoreOptions) != lib.hubc_store_options_size():
    raise ImportError(
        f"hubcontacts: ctypes StoreOptions is {ctypes.sizeof(StoreOptions)} bytes "
        f"but the library's hubc_store_options is {lib.hubc_store_options_size()}")

# --------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------


class HubcError(Exception):
    """A negative status from the library.

    ``code`` is the integer (e.g. -4), ``name`` the short name ("EXISTS"),
    ``message`` the library's message naming what is wrong."""

    code = None

    def __init__(self, code: int, message: str = ""):
        self.code = code
        try:
            self.name = Code(code).name
        except ValueError:
            self.name = f"UNKNOWN({code})"
        self.message = message or strerror(code)
        super().__init__(code, self.message)

    def __str__(self):
        return f"{self.name} ({self.code}): {self.message}"


class InvalidArgument(HubcError): pass      # INVAL
class OutOfMemory(HubcError, MemoryError): pass  # NOMEM
class NotFound(HubcError, LookupError): pass  # NOTFOUND
class Exists(HubcError): pass               # EXISTS
class ReadOnly(HubcError): pass             # READONLY
class LimitExceeded(HubcError): pass        # LIMIT
class PermissionDenied(HubcError): pass     # PERM
class ConfirmMismatch(HubcError): pass      # CONFIRM
class TierUnavailable(HubcError): pass      # TIER
class PersistError(HubcError): pass         # PERSIST
class TryAgain(HubcError): pass             # AGAIN
class Busy(HubcError): pass                 # BUSY
class Corrupt(HubcError): pass              # CORRUPT
class HubcIOError(HubcError): pass          # IO
class Canceled(HubcError): pass             # CANCELED
class VersionMismatch(HubcError): pass      # VERSION


_ERROR_CLASSES = {
    Code.INVAL: InvalidArgument, Code.NOMEM: OutOfMemory,
    Code.NOTFOUND: NotFound, Code.EXISTS: Exists, Code.READONLY: ReadOnly,
    Code.LIMIT: LimitExceeded, Code.PERM: PermissionDenied,
    Code.CONFIRM: ConfirmMismatch, Code.TIER: TierUnavailable,
    Code.PERSIST: PersistError, Code.AGAIN: TryAgain, Code.BUSY: Busy,
    Code.CORRUPT: Corrupt, Code.IO: HubcIOError, Code.CANCELED: Canceled,
    Code.VERSION: VersionMismatch,
}
for _code, _cls in _ERROR_CLASSES.items():
    _cls.code = _code
del _code, _cls


def _dec(b):
    return None if b is None else b.decode("utf-8", errors="surrogateescape")


def strerror(code: int) -> str:
    """hubc_strerror: a short fixed description of a status code."""
    return _dec(lib.hubc_strerror(code))


def status_name(status: int):
    """hubc_status_name: "MARKETING" etc., None for an unknown value."""
    return _dec(lib.hubc_status_name(status))


def source_name(source: int):
    """hubc_source_name: "MANUAL", "FORM", …, None for an unknown value."""
    return _dec(lib.hubc_source_name(source))


def version() -> str:
    """The version of the loaded library ("1.0.0")."""
    return _dec(lib.hubc_version_string())


def _error(rc: int, saved=None) -> HubcError:
    """Builds the exception for status rc from the thread's last message
    (or from one saved before a callback could overwrite it)."""
    if saved is not None and saved[0] == rc:
        msg = saved[1]
    elif lib.hubc_error_last_code() == rc:
        msg = _dec(lib.hubc_error_last())
    else:  # the library returned a code without a message of its own
        msg = ""
    return _ERROR_CLASSES.get(rc, HubcError)(rc, msg)


def _check(rc: int) -> int:
    if rc < 0:
        raise _error(rc)
    return rc

# --------------------------------------------------------------------------
# argument conversion
# --------------------------------------------------------------------------


# One checked converter per C integer type (R4a): every integer that
# crosses into C goes through one of these, so an out-of-range value is
# refused instead of being truncated by ctypes (2**64 + 1 would become 1).
# operator.index refuses floats (1.5 is not silently 1) and str.

def _int_converter(ctype, signed: bool):
    bits = 8 * ctypes.sizeof(ctype)
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)

    def convert(value, what: str) -> int:
        if isinstance(value, bool):
            raise TypeError(f"{what}: expected an integer, not bool")
        try:
            v = operator.index(value)
        except TypeError:
            raise TypeError(f"{what}: expected an integer, not "
                            f"{type(value).__name__}") from None
        if not lo <= v <= hi:
            raise ValueError(f"{what}: {v} is out of range ({lo} to {hi})")
        return v
    convert.__name__ = f"_{ctype.__name__}"
    return convert


_i64 = _int_converter(c_int64, True)     # hubc_id, hubc_time
_u64 = _int_converter(c_uint64, False)   # counts, tiers
_int = _int_converter(c_int, True)       # enums
_uint = _int_converter(c_uint, False)    # permission masks
_size = _int_converter(c_size_t, False)  # indexes

INT64_MIN = -(1 << 63)


def _enc(value, what: str):
    """str → UTF-8 bytes; bytes as is (the library validates UTF-8, R4)."""
    if value is None:
        return None
    if isinstance(value, bytes):
        b = value
    elif isinstance(value, str):
        b = value.encode("utf-8", errors="surrogateescape")
    elif isinstance(value, bool):
        b = b"true" if value else b"false"
    elif isinstance(value, (int, float)):
        b = str(value).encode()
    else:
        raise TypeError(f"{what}: expected str or bytes, not {type(value).__name__}")
    if b"\0" in b:
        raise ValueError(f"{what}: contains a NUL byte")
    return b


def _create_options(marketing, source, source_id) -> "CreateOptions":
    opts = CreateOptions()
    _check(lib.hubc_create_options_init(byref(opts), CREATE_OPTIONS_VERSION))
    opts.source = _int(source, "source") if source is not None else 0
    opts.source_id = _i64(source_id, "source_id")
    opts.marketing = 1 if marketing else 0
    return opts


def _str_array(items, what: str, item: str):
    """A C array of encoded strings and its length; errors name the row.
    A lone str or bytes is refused: "abc" is not three items a, b, c."""
    if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
        raise TypeError(f"{what}: expected a sequence of {item}s, not "
                        f"{type(items).__name__}")
    enc = [_enc(e, f"{item} in row {i}") for i, e in enumerate(items)]
    return (c_char_p * max(len(enc), 1))(*enc), len(enc)


def _email_array(emails):
    return _str_array(emails, "emails", "email")


def _pairs(props, allow_none: bool):
    """A dict (or iterable of pairs) → (names array, values array, n, refs)."""
    items = list(props.items() if isinstance(props, Mapping) else props)
    names = [_enc(k, "property name") for k, _ in items]
    values = []
    for k, v in items:
        if v is None and not allow_none:
            v = ""  # creation ignores empty values
        values.append(_enc(v, f"property {k!r}"))
    n = len(items)
    arr_n = (c_char_p * max(n, 1))(*names)
    arr_v = (c_char_p * max(n, 1))(*values)
    return arr_n, arr_v, n


class _Frame:
    """State of one library call, seen by the callbacks it triggers."""
    __slots__ = ("exc", "saved_error")

    def __init__(self):
        self.exc = None
        self.saved_error = None


def _enum(cls, value):
    try:
        return cls(value)
    except ValueError:
        return value

# --------------------------------------------------------------------------
# value objects
# --------------------------------------------------------------------------


class Contact(Mapping):
    """A copy of a contact snapshot: ``contact["email"]``, ``contact.props``
    (every set property, stored then computed), ``.id``, ``.status``."""

    __slots__ = ("id", "status", "props", "reason_type", "reason_id",
                 "source", "source_id", "created", "modified")

    def __init__(self, handle):
        self.id = lib.hubc_contact_id(handle)
        self.status = _enum(Status, lib.hubc_contact_status(handle))
        props = {}
        name, value = c_char_p(), c_char_p()
        for i in range(lib.hubc_contact_prop_count(handle)):
            _check(lib.hubc_contact_prop_at(byref(name), byref(value), handle, i))
            props[_dec(name.value)] = _dec(value.value)
        self.props = props
        rt, rid = c_int(), hubc_id()
        _check(lib.hubc_contact_reason(byref(rt), byref(rid), handle))
        self.reason_type = _enum(Source, rt.value) if rt.value else None
        self.reason_id = rid.value
        src, sid = c_int(), hubc_id()
        _check(lib.hubc_contact_source(byref(src), byref(sid), handle))
        self.source = _enum(Source, src.value)
        self.source_id = sid.value
        self.created = lib.hubc_contact_created(handle)
        self.modified = lib.hubc_contact_modified(handle)

    def __getitem__(self, name):
        return self.props[name]

    def __iter__(self):
        return iter(self.props)

    def __len__(self):
        return len(self.props)

    @property
    def email(self):
        return self.props.get("email")

    @property
    def is_billable(self) -> bool:
        return self.status != Status.NON_MARKETING

    def __repr__(self):
        return (f"Contact(id={self.id}, status={getattr(self.status, 'name', self.status)}, "
                f"props={self.props!r})")


@dataclass(frozen=True)
class User:
    """A copy of a user snapshot."""
    id: int
    email: str
    permissions: Perm
    super_admin: bool
    disabled: bool

    def can(self, permission: int) -> bool:
        """hubc_user_can semantics: not disabled and (super admin or holds it)."""
        permission = int(permission)
        if self.disabled or permission == 0 or permission & ~int(PERM_ALL):
            return False
        return self.super_admin or (int(self.permissions) & permission) == permission


@dataclass(frozen=True)
class Event:
    """A copy of a hubc_event; fields that do not apply to the type are 0."""
    type: EventType
    time: int
    contact: int
    old_status: int
    new_status: int
    reason_type: int
    reason_id: int
    actor: int
    billable: int
    tier: int
    old_tier: int
    threshold: int
    period_start: int
    period_end: int

    @classmethod
    def _from_c(cls, ev: EventStruct) -> "Event":
        return cls(
            type=_enum(EventType, ev.type), time=ev.time, contact=ev.contact,
            old_status=_enum(Status, ev.old_status),
            new_status=_enum(Status, ev.new_status),
            reason_type=_enum(Source, ev.reason_type) if ev.reason_type else 0,
            reason_id=ev.reason_id, actor=ev.actor, billable=ev.billable,
            tier=ev.tier, old_tier=ev.old_tier, threshold=ev.threshold,
            period_start=ev.period_start, period_end=ev.period_end)


def _struct_dict(s: Structure) -> dict:
    return {name: getattr(s, name) for name, _ in s._fields_ if name != "version"}


def _prop_info_dict(info: PropertyInfo) -> dict:
    return {
        "name": _dec(info.name),
        "label": _dec(info.label),
        "type": _enum(PropType, info.type),
        "flags": PropFlag(info.flags),
        "options": [_dec(info.options[i]) for i in range(info.n_options)],
    }

# --------------------------------------------------------------------------
# calls in flight: close() waits for them (R4: no use-after-free)
# --------------------------------------------------------------------------


class StoreClosed(ValueError):
    """A call on a closed store (or on an iterator of one)."""


_STORE = object()  # stands for the store handle in Store._call's arguments


class _Gate:
    """Counts the threads inside calls on one store, so close() can wait for
    them before freeing the store, and refuses calls that start after
    close() began. A thread already inside (a multi-step read, an event
    handler) enters again without being counted twice."""

    __slots__ = ("cond", "inflight", "closing", "tls")

    def __init__(self):
        # reentrant: a finalizer may run on a thread that holds it
        self.cond = threading.Condition(threading.RLock())
        self.inflight = 0
        self.closing = False
        self.tls = threading.local()

    def depth(self) -> int:
        return getattr(self.tls, "depth", 0)

    def __enter__(self):
        depth = self.depth()
        if not depth:
            with self.cond:
                if self.closing:
                    raise StoreClosed("operation on a closed hubcontacts.Store")
                self.inflight += 1
        self.tls.depth = depth + 1

    def __exit__(self, *exc):
        depth = self.tls.depth = self.tls.depth - 1
        if not depth:
            with self.cond:
                self.inflight -= 1
                if not self.inflight:
                    self.cond.notify_all()

# --------------------------------------------------------------------------
# iterators (freed at exhaustion, on close(), or when the store closes)
# --------------------------------------------------------------------------


class _Closable:
    """Context manager and finalizer for objects with a close() method."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class _Iterator(_Closable):
    """A library iterator. Its handle is registered with the store, which
    frees it at close() if this object has not: next() after the store
    closed raises StoreClosed instead of touching freed memory."""

    _free = None

    def __init__(self, store: "Store", handle: c_void_p):
        self._store = store
        self._h = handle
        self._key = store._adopt(handle, type(self)._free)
        self._lock = threading.Lock()  # one next() or close() at a time

    def __iter__(self):
        return self

    def _step(self):
        raise NotImplementedError

    def __next__(self):
        if self._h is None:
            raise StopIteration
        with self._store._gate, self._lock:
            if self._h is None:
                raise StopIteration
            try:
                item = self._step()
            except BaseException:
                self._release()
                raise
            if item is None:
                self._release()
                raise StopIteration
            return item

    def _release(self):
        h, self._h = self._h, None
        if h is not None and self._store._handles.pop(self._key, None) is not None:
            type(self)._free(h)

    def close(self):
        if self._h is None:
            return
        try:
            with self._store._gate, self._lock:
                self._release()
        except StoreClosed:  # the store freed the handle
            self._h = None


class _IdIter(_Iterator):
    """An iterator yielding ids; subclasses name their C next/free."""

    def _step(self):
        out = hubc_id()
        rc = self._store._call(type(self)._next, byref(out), self._h)
        return None if rc == Code.ITEROVER else out.value


class ContactIds(_IdIter):
    """Record ids in increasing order (hubc_contact_iterator)."""
    _free = staticmethod(lib.hubc_contact_iterator_free)
    _next = staticmethod(lib.hubc_contact_iterator_next)


class _HistoryIter(_Iterator):
    _free = staticmethod(lib.hubc_history_iterator_free)

    def _step(self):
        e = HistoryEntry(version=HISTORY_ENTRY_VERSION)
        rc = self._store._call(lib.hubc_history_iterator_next, byref(e), self._h)
        if rc == Code.ITEROVER:
            return None
        d = _struct_dict(e)
        d["old_status"] = _enum(Status, d["old_status"])
        d["new_status"] = _enum(Status, d["new_status"])
        d["reason_type"] = _enum(Source, d["reason_type"]) if d["reason_type"] else 0
        return d


class _PeriodIter(_Iterator):
    _free = staticmethod(lib.hubc_period_iterator_free)

    def _step(self):
        p = Period(version=PERIOD_VERSION)
        rc = self._store._call(lib.hubc_period_iterator_next, byref(p), self._h)
        return None if rc == Code.ITEROVER else _struct_dict(p)


class _UserIter(_IdIter):
    _free = staticmethod(lib.hubc_user_iterator_free)
    _next = staticmethod(lib.hubc_user_iterator_next)

# --------------------------------------------------------------------------
# the store
# --------------------------------------------------------------------------


class Store(_Closable):
    """One account (hubc_store). Use as a context manager or call close().

    ``clock``: a callable returning the current UTC time in whole seconds as
    an int (tests use it to cross update dates); None uses the system clock.
    Should it raise or return a value outside int64, the call fails with
    that exception and changes nothing (the library refuses the time).
    ``journal``: a file path for the bundled journal backend (R3); None keeps
    the store in memory only.
    ``alloc``: an allocator hook ``alloc(ptr, old_size, new_size) -> address``
    shaped like lua_Alloc (new_size 0 frees ptr and returns None; None for
    new_size > 0 is an allocation failure, reported as OutOfMemory). Tests
    use it to count allocations and to fail the Nth one.

    A store may be shared by threads (R6); close() waits for the calls in
    flight on other threads, and later calls raise StoreClosed.
    """

    def __init__(self, admin_email=None, *, clock=None,
                 subscription=Subscription.STARTER,
                 commitment=Commitment.MONTHLY,
                 tier_policy=TierPolicy.AUTO_UPGRADE, hard_cap=0,
                 tier_ladder=None, tier=0, renewal_anchor=0, journal=None,
                 alloc=None):
        self._h = None
        self._journal = None
        self._gate = _Gate()
        self._gate.closing = True  # until open succeeds
        self._handles = {}  # key -> (free, handle) of live iterators
        self._next_key = 0
        self._tls = threading.local()
        self._handlers = []
        self._event_cb = None
        self._clock = clock
        # ctypes callbacks must outlive every call that may run them:
        # they are kept on the object until it is collected.
        self._clock_cb = CLOCK_FN(self._clock_trampoline) if clock else None
        self._alloc = alloc
        self._alloc_cb = ALLOC_FN(self._alloc_trampoline) if alloc else None

        opts = StoreOptions()
        _check(lib.hubc_store_options_init(byref(opts), STORE_OPTIONS_VERSION))
        if self._clock_cb is not None:
            opts.clock = self._clock_cb
        if self._alloc_cb is not None:
            opts.alloc = self._alloc_cb
        admin = _enc(admin_email, "admin_email")
        opts.admin_email = admin
        opts.subscription = _int(subscription, "subscription")
        opts.commitment = _int(commitment, "commitment")
        opts.tier_policy = _int(tier_policy, "tier_policy")
        opts.hard_cap = _u64(hard_cap, "hard_cap")
        opts.tier = _u64(tier, "tier")
        opts.renewal_anchor = _i64(renewal_anchor, "renewal_anchor")
        ladder = None
        if tier_ladder is not None:
            if not isinstance(tier_ladder, Iterable) or isinstance(tier_ladder, (str, bytes)):
                raise TypeError("tier_ladder: expected a sequence of integers, not "
                                f"{type(tier_ladder).__name__}")
            rungs = [_u64(r, f"tier_ladder[{i}]") for i, r in enumerate(tier_ladder)]
            ladder = (c_uint64 * max(len(rungs), 1))(*rungs)
            opts.tier_ladder = ctypes.cast(ladder, POINTER(c_uint64))
            opts.tier_ladder_len = len(rungs)
        if journal is not None:
            j = c_void_p()
            _check(lib.hubc_journal_open(byref(j), _enc(os.fspath(journal), "journal"), None))
            self._journal = j
            opts.persist = lib.hubc_journal_persist(j)
        h = c_void_p()
        try:
            self._invoke(lib.hubc_store_open, byref(h), byref(opts))
        except BaseException:
            lib.hubc_store_close(h)  # opened, but a Python callback raised
            self._close_journal()
            raise
        self._h = h
        self._gate.closing = False
        del admin, ladder  # copied by the library

    # ---- lifetime --------------------------------------------------------

    def close(self) -> None:
        """Closes the store (idempotent). Waits for calls other threads are
        making on it; calls made afterwards raise StoreClosed. Open
        iterators are freed first. From inside a call on this store (an
        event handler) it raises Busy and closes nothing."""
        gate = self._gate
        if gate.depth():
            raise Busy(Code.BUSY, "close: called from inside a call on the same "
                                  "store; nothing closed")
        with gate.cond:
            if gate.closing:
                return
            gate.closing = True
            while gate.inflight:
                gate.cond.wait()
            # nobody is inside a call now, and nobody can enter
            for free, h in self._handles.values():
                free(h)
            self._handles.clear()
            h, self._h = self._h, None
            lib.hubc_store_close(h)
            self._close_journal()

    def _close_journal(self):
        j, self._journal = self._journal, None
        if j is not None:
            lib.hubc_journal_close(j)

    def __del__(self):
        # A store that failed to open has nothing to free; one that is
        # collected has no call in flight (a call holds a reference).
        if getattr(self, "_h", None) is not None:
            try:
                self.close()
            except Exception:
                pass

    @property
    def closed(self) -> bool:
        return self._gate.closing

    def _adopt(self, handle, free) -> int:
        """Registers an iterator handle for close() to free."""
        key = self._next_key = self._next_key + 1
        self._handles[key] = (free, handle)
        return key

    # ---- calling into the library ---------------------------------------

    def _call(self, fn, *args, check=True):
        """One C call on this store, inside the gate; _STORE in args stands
        for the store handle (read inside, where it cannot be freed)."""
        with self._gate:
            args = tuple(self._h if a is _STORE else a for a in args)
            return self._invoke(fn, *args, check=check)

    def _invoke(self, fn, *args, check=True):
        """Runs fn(*args); raises what a Python callback raised during it
        (noting the library's error if the call failed too) or else the
        HubcError of a negative status."""
        tls = self._tls
        outer = getattr(tls, "frame", None)
        frame = tls.frame = _Frame()
        try:
            rc = fn(*args)
        finally:
            tls.frame = outer
        err = _error(rc, frame.saved_error) if check and rc < 0 else None
        if frame.exc is not None:
            if err is not None and hasattr(frame.exc, "add_note"):
                frame.exc.add_note(f"hubcontacts: the call failed: {err}")
            raise frame.exc
        if err is not None:
            raise err
        return rc

    def _frame(self):
        return getattr(self._tls, "frame", None)

    def _clock_trampoline(self, _payload):
        # A failing clock returns INT64_MIN, a time the library refuses for
        # every call (EINVAL, nothing changed); the call then raises the
        # Python exception. Never unwind through C.
        try:
            return _i64(self._clock(), "clock")
        except BaseException as e:
            frame = self._frame()
            if frame is not None and frame.exc is None:
                frame.exc = e
            return INT64_MIN

    def _alloc_trampoline(self, _payload, ptr, old_size, new_size):
        try:
            return self._alloc(ptr, old_size, new_size) or None
        except BaseException as e:  # an allocator failure: NULL
            frame = self._frame()
            if frame is not None and frame.exc is None:
                frame.exc = e
            return None

    def _event_trampoline(self, _payload, ev_ptr):
        frame = self._frame()
        if frame is not None and frame.saved_error is None:
            # a handler may call the library and overwrite the thread's
            # last error before the call that delivers events returns
            frame.saved_error = (lib.hubc_error_last_code(),
                                 _dec(lib.hubc_error_last()))
        try:
            event = Event._from_c(ev_ptr.contents)
            for handler in list(self._handlers):
                handler(event)
        except BaseException as e:
            if frame is not None and frame.exc is None:
                frame.exc = e

    # ---- clock, tick, dump ------------------------------------------------

    def now(self) -> int:
        """The store clock's current time."""
        return self._call(lib.hubc_store_now, _STORE, check=False)

    def tick(self) -> None:
        """Applies every update date that has passed (B2, M5)."""
        self._call(lib.hubc_store_tick, _STORE)

    def _collect(self, fn, *args) -> bytes:
        chunks = []

        def write(_payload, data, length):
            try:
                chunks.append(ctypes.string_at(data, length))
                return 0
            except BaseException as e:
                frame = self._frame()
                if frame is not None and frame.exc is None:
                    frame.exc = e
                return 1

        cb = WRITE_FN(write)
        self._call(fn, _STORE, *args, cb, None)
        return b"".join(chunks)

    def dump(self) -> str:
        """The canonical text dump (equal content, equal text)."""
        return self._collect(lib.hubc_store_dump).decode("utf-8", errors="surrogateescape")

    def history_export(self, contact: int = 0) -> str:
        """The status history as CSV (RFC 4180), contact 0 for all."""
        return self._collect(lib.hubc_history_export, _i64(contact, "contact")).decode("utf-8")

    # ---- events -----------------------------------------------------------

    def on_event(self, handler):
        """Adds handler(event: Event), called after each call commits, on the
        calling thread. It must not call into this store (Busy). Returns the
        handler, so it also works as a decorator."""
        if not callable(handler):
            raise TypeError("on_event: handler must be callable")
        if self._event_cb is None:
            cb = EVENT_FN(self._event_trampoline)
            self._call(lib.hubc_store_set_event_callback, _STORE, cb, None)
            self._event_cb = cb
        self._handlers.append(handler)
        return handler

    def off_event(self, handler) -> None:
        """Removes a handler; unregisters from the library when none is left."""
        self._handlers.remove(handler)
        if not self._handlers and self._event_cb is not None:
            self._call(lib.hubc_store_set_event_callback, _STORE,
                       EVENT_FN(), None)
            self._event_cb = None

    # ---- contacts -----------------------------------------------------------

    def create_contact(self, props, actor: int = 1, marketing: bool = False,
                       source=None, source_id: int = 0) -> int:
        """Creates a contact from {name or label: value}; returns its record id.
        Empty values are ignored. ``marketing`` (manual creation only) needs
        P2; other sources take their configured default (D1)."""
        opts = _create_options(marketing, source, source_id)
        names, values, n = _pairs(props, allow_none=False)
        out = hubc_id()
        self._call(lib.hubc_contact_create, byref(out), _STORE, _i64(actor, "actor"),
                   byref(opts), names, values, n)
        return out.value

    def create_contacts(self, rows, actor: int = 1, marketing: bool = False,
                        source=None, source_id: int = 0) -> list:
        """Creates a contact per row ({name or label: value}) in one
        transaction, all or none; returns their record ids. The columns are
        every key of every row (a key a row lacks stays unset there), so
        spell each property the same way throughout. Errors name the row."""
        rows = [r if isinstance(r, Mapping) else dict(r) for r in rows]
        columns = list(dict.fromkeys(k for r in rows for k in r))
        names = [_enc(k, "property name") for k in columns]
        values = [_enc("" if r.get(k) is None else r[k], f"row {i}: property {k!r}")
                  for i, r in enumerate(rows) for k in columns]
        out = (hubc_id * max(len(rows), 1))()
        self._call(lib.hubc_contact_create_batch, out, _STORE, _i64(actor, "actor"),
                   byref(_create_options(marketing, source, source_id)),
                   (c_char_p * max(len(names), 1))(*names), len(names),
                   (c_char_p * max(len(values), 1))(*values), len(rows))
        return list(out[:len(rows)])

    def update_contact(self, contact: int, props, actor: int = 1) -> None:
        """Sets properties; a None or "" value removes the property."""
        names, values, n = _pairs(props, allow_none=True)
        self._call(lib.hubc_contact_update, _STORE, _i64(actor, "actor"),
                   _i64(contact, "contact"), names, values, n)

    def delete_contact(self, contact: int, actor: int = 1) -> None:
        self._call(lib.hubc_contact_delete, _STORE, _i64(actor, "actor"), _i64(contact, "contact"))

    def _make(self, free, fn, *args) -> c_void_p:
        """Runs fn(&handle, store, *args); the caller is inside the gate.
        Should a Python callback raise although the C call succeeded, the
        new handle is freed, not leaked (after a failed call it is NULL,
        which free accepts)."""
        h = c_void_p()
        try:
            self._call(fn, byref(h), _STORE, *args)
        except BaseException:
            free(h)
            raise
        return h

    def _iterate(self, cls, new, *args):
        """A new iterator of class cls, registered while the store cannot close."""
        with self._gate:
            return cls(self, self._make(cls._free, new, *args))

    def _snapshot(self, getter, *args) -> Contact:
        with self._gate:
            snap = self._make(lib.hubc_contact_free, getter, *args)
            try:
                return Contact(snap)
            finally:
                lib.hubc_contact_free(snap)

    def get(self, contact: int) -> Contact:
        """A copy of the contact (NotFound if there is none)."""
        return self._snapshot(lib.hubc_contact_get, _i64(contact, "contact"))

    def get_by_email(self, email) -> Contact:
        """The contact with this email, matched as C3 (NotFound if none)."""
        return self._snapshot(lib.hubc_contact_get_by_email, _enc(email, "email"))

    def find(self, email):
        """The record id of the contact with this email, or None."""
        out = hubc_id()
        try:
            self._call(lib.hubc_contact_find, byref(out), _STORE,
                       _enc(email, "email"))
        except NotFound:
            return None
        return out.value

    def get_many(self, emails) -> list:
        """The contact for each email (None where there is none), all read
        at one instant; much faster per email than get_by_email."""
        arr, n = _email_array(emails)
        out = (c_void_p * n)()
        with self._gate:
            try:
                self._call(lib.hubc_contact_get_many, out, _STORE, arr, n)
                return [Contact(c_void_p(h)) if h else None for h in out]
            finally:  # every snapshot, even if a Python callback raised
                for h in out:
                    lib.hubc_contact_free(h)

    def find_many(self, emails) -> list:
        """The record id for each email (None where there is none)."""
        arr, n = _email_array(emails)
        out = (hubc_id * n)()
        self._call(lib.hubc_contact_find_many, out, _STORE, arr, n)
        return [i or None for i in out]

    def count(self) -> int:
        out = c_uint64()
        self._call(lib.hubc_contact_count, byref(out), _STORE)
        return out.value

    def iter_contacts(self, select=Select.ALL) -> ContactIds:
        """Record ids in increasing order, filtered by a Select value."""
        return self._iterate(ContactIds, lib.hubc_contact_iterator_new,
                             _int(select, "select"))

    def __iter__(self):
        return self.iter_contacts()

    # ---- marketing status --------------------------------------------------

    def set_marketing(self, contact: int, actor: int = 1, reason=Source.MANUAL,
                      reason_id: int = 0) -> None:
        """M3: takes effect at once; a no-op on a MARKETING contact."""
        self._call(lib.hubc_contact_set_marketing, _STORE, _i64(actor, "actor"),
                   _i64(contact, "contact"), _int(reason, "reason"), _i64(reason_id, "reason_id"))

    def set_non_marketing(self, contact: int, actor: int = 1, reason=Source.MANUAL,
                          reason_id: int = 0) -> None:
        """M4: MARKETING becomes MARKETING_UNTIL_UPDATE; others unchanged."""
        self._call(lib.hubc_contact_set_non_marketing, _STORE, _i64(actor, "actor"),
                   _i64(contact, "contact"), _int(reason, "reason"), _i64(reason_id, "reason_id"))

    def history(self, contact: int = 0) -> list:
        """Status history entries (dicts), oldest first; 0 for every contact."""
        with self._iterate(_HistoryIter, lib.hubc_history_iterator_new,
                           _i64(contact, "contact")) as entries:
            return list(entries)

    def set_source_default(self, source, marketing: bool, source_id: int = 0,
                           actor: int = 1) -> None:
        """D1/D2: default status for contacts created by a configurable source."""
        self._call(lib.hubc_source_set_default, _STORE, _i64(actor, "actor"), _int(source, "source"),
                   _i64(source_id, "source_id"), 1 if marketing else 0)

    def source_default(self, source, source_id: int = 0) -> bool:
        out = c_int()
        self._call(lib.hubc_source_get_default, byref(out), _STORE, _int(source, "source"),
                   _i64(source_id, "source_id"))
        return bool(out.value)

    # ---- billing -------------------------------------------------------------

    def billing(self) -> dict:
        info = BillingInfo(version=BILLING_INFO_VERSION)
        self._call(lib.hubc_billing_get, byref(info), _STORE)
        d = _struct_dict(info)
        d["tier_policy"] = _enum(TierPolicy, d["tier_policy"])
        d["commitment"] = _enum(Commitment, d["commitment"])
        d["subscription"] = _enum(Subscription, d["subscription"])
        return d

    def periods(self) -> list:
        """Closed billing periods (dicts), oldest first (B3)."""
        with self._iterate(_PeriodIter, lib.hubc_period_iterator_new) as periods:
            return list(periods)

    def request_downgrade(self, tier: int, actor: int = 1) -> None:
        """B4: ask for a lower tier from the next renewal (0 cancels)."""
        self._call(lib.hubc_billing_request_downgrade, _STORE, _i64(actor, "actor"), _u64(tier, "tier"))

    # ---- property schema -----------------------------------------------------

    def define_property(self, name, label, type=PropType.STRING, options=None,
                        actor: int = 1) -> None:
        """Defines a custom property; ``options`` for ENUMERATION only."""
        arr, n = _str_array([] if options is None else options, "options", "option")
        self._call(lib.hubc_property_define, _STORE, _i64(actor, "actor"),
                   _enc(name, "name"), _enc(label, "label"), _int(type, "type"),
                   arr if n else None, n)

    def properties(self) -> list:
        """Every property definition (dicts), built-ins first."""
        n = c_size_t()
        out = []
        with self._gate:  # the strings are the store's
            self._call(lib.hubc_property_count, byref(n), _STORE)
            for i in range(n.value):
                info = PropertyInfo(version=PROPERTY_INFO_VERSION)
                self._call(lib.hubc_property_at, byref(info), _STORE, i)
                out.append(_prop_info_dict(info))
        return out

    def property(self, name_or_label) -> dict:
        info = PropertyInfo(version=PROPERTY_INFO_VERSION)
        with self._gate:  # the strings are the store's
            self._call(lib.hubc_property_find, byref(info), _STORE,
                       _enc(name_or_label, "name"))
            return _prop_info_dict(info)

    # ---- users -----------------------------------------------------------------

    def create_user(self, email, actor: int = 1) -> int:
        """Creates a user with PERM_DEFAULT; returns the user id."""
        out = hubc_id()
        self._call(lib.hubc_user_create, byref(out), _STORE, _i64(actor, "actor"),
                   _enc(email, "email"))
        return out.value

    def set_permissions(self, user: int, perms, actor: int = 1) -> None:
        self._call(lib.hubc_user_set_permissions, _STORE, _i64(actor, "actor"), _i64(user, "user"),
                   _uint(perms, "permissions"))

    def set_super_admin(self, user: int, super_admin: bool = True, actor: int = 1) -> None:
        self._call(lib.hubc_user_set_super_admin, _STORE, _i64(actor, "actor"), _i64(user, "user"),
                   1 if super_admin else 0)

    def disable_user(self, user: int, actor: int = 1) -> None:
        self._call(lib.hubc_user_set_disabled, _STORE, _i64(actor, "actor"), _i64(user, "user"), 1)

    def enable_user(self, user: int, actor: int = 1) -> None:
        self._call(lib.hubc_user_set_disabled, _STORE, _i64(actor, "actor"), _i64(user, "user"), 0)

    def _user(self, getter, arg) -> User:
        with self._gate:
            snap = self._make(lib.hubc_user_free, getter, arg)
            try:
                return User(id=lib.hubc_user_id(snap),
                            email=_dec(lib.hubc_user_email(snap)),
                            permissions=Perm(lib.hubc_user_permissions(snap)),
                            super_admin=bool(lib.hubc_user_is_super_admin(snap)),
                            disabled=bool(lib.hubc_user_is_disabled(snap)))
            finally:
                lib.hubc_user_free(snap)

    def user(self, user: int) -> User:
        return self._user(lib.hubc_user_get, _i64(user, "user"))

    def user_by_email(self, email) -> User:
        return self._user(lib.hubc_user_get_by_email, _enc(email, "email"))

    def users(self) -> list:
        """Every user id, increasing."""
        with self._iterate(_UserIter, lib.hubc_user_iterator_new) as ids:
            return list(ids)

    def __repr__(self):
        return "<hubcontacts.Store closed>" if self.closed else \
            f"<hubcontacts.Store contacts={self.count()}>"
