"""hubcontacts — Python package for libhubcontacts (ctypes, standard
library only).

    import hubcontacts as hc

    with hc.Store(admin_email="owner@example.com", actor=1) as store:
        cid = store.create_contact({"email": "anna@example.com", "firstname": "Anna"})
        store.set_marketing(cid)                  # billable at once (M3)
        print(store.get(cid)["hs_marketable_status"])   # "true"
        print(store.billing().billable)                 # 1

The C library is found through the HUBC_LIBRARY environment variable (a
path), else a copy next to this package's files, else the system loader.

Conventions: every failing library call raises a HubcError subclass (one
per error code, e.g. Exists for EXISTS) carrying the library's message,
which names the field, row or limit; a failed call changes nothing. Every
integer passed to the library is range-checked for its C type (R4a):
out of range raises ValueError, a non-integer TypeError, never truncated.
Strings go in as str (UTF-8) or bytes (passed as is) and come out as str.
Results are copies (dataclasses): they never refer to library memory.
"""

from ._ffi import LIBRARY_NAME, lib, library_candidates
from ._ffi import dec as _dec
from .constants import (FILTER_MAX_BYTES, FILTER_MAX_DEPTH,
                        MAX_CLOCK_JUMP_DEFAULT, MAX_CONTACT_PROPERTIES,
                        MAX_EMAIL_BYTES, MAX_VALUE_BYTES, SYSTEM, BulkAction,
                        Code, Commitment, EventType, FsyncPolicy, ImportMode,
                        ImportPhase, JournalFlag, Perm, Preset, PropFlag,
                        PropType, Select, Source, Status, Subscription,
                        TierPolicy)
from .errors import (ActorRequired, Busy, Canceled, ConfirmMismatch, Corrupt,
                     Exists, HubcError, HubcIOError, InvalidArgument,
                     LimitExceeded, NotFound, OutOfMemory, PermissionDenied,
                     PersistError, ReadOnly, StoreClosed, TierUnavailable,
                     TryAgain, VersionMismatch, strerror)
from .forms import Form, FormField, Forms, Submission, SubmissionIterator, Submitted
from .lists import ContactList, Lists, View, Views
from .importing import (ImportPlan, ImportProgress, ImportRecord,
                        ImportRowError, ImportSummary)
from .models import (Billing, Contact, Event, HistoryEntry, JournalInfo,
                     Period, PropertyInfo, User)
from .query import (Bulk, BulkSummary, Filter, Page, QueryContacts, QueryIds,
                    preset_text)
from .store import ContactIds, HistoryIterator, PeriodIterator, Store, UserIds

__version__ = "1.0.0"


def version() -> str:
    """The version of the loaded C library ("1.0.0")."""
    return _dec(lib.hubc_version_string()) or ""


def status_name(status: int) -> "str | None":
    """hubc_status_name: "MARKETING" etc., None for an unknown value."""
    return _dec(lib.hubc_status_name(status))


def source_name(source: int) -> "str | None":
    """hubc_source_name: "MANUAL", "FORM", …, None for an unknown value."""
    return _dec(lib.hubc_source_name(source))


__all__ = [
    # the store and its iterators
    "Store", "ContactIds", "UserIds", "HistoryIterator", "PeriodIterator", "ImportPlan",
    "Forms", "Form", "SubmissionIterator", "Filter", "QueryIds", "QueryContacts", "Bulk",
    "Lists", "ContactList", "Views", "View",
    # results
    "Contact", "User", "Event", "Billing", "Period", "HistoryEntry", "PropertyInfo",
    "ImportSummary", "ImportRowError", "ImportRecord", "ImportProgress", "JournalInfo",
    "FormField", "Submission", "Submitted", "Page", "BulkSummary",
    # constants
    "SYSTEM", "MAX_VALUE_BYTES", "MAX_CONTACT_PROPERTIES", "MAX_EMAIL_BYTES",
    "MAX_CLOCK_JUMP_DEFAULT", "FILTER_MAX_BYTES", "FILTER_MAX_DEPTH", "Code", "Status", "Source", "Perm", "Select",
    "EventType", "FsyncPolicy", "Subscription", "Commitment", "TierPolicy", "PropType",
    "PropFlag", "ImportMode", "ImportPhase", "JournalFlag", "BulkAction", "Preset",
    # errors
    "HubcError", "InvalidArgument", "OutOfMemory", "NotFound", "Exists", "ReadOnly",
    "LimitExceeded", "PermissionDenied", "ConfirmMismatch", "TierUnavailable",
    "PersistError", "TryAgain", "Busy", "Corrupt", "HubcIOError", "Canceled",
    "VersionMismatch", "StoreClosed", "ActorRequired",
    # functions
    "version", "strerror", "status_name", "source_name", "preset_text", "library_candidates",
    "LIBRARY_NAME", "lib",
]
