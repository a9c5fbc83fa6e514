"""The C side: loading libhubcontacts, its structs and function signatures,
and the checked conversions every argument goes through (private)."""

from __future__ import annotations

import ctypes
import ctypes.util
import operator
import os
from collections.abc import Iterable, Mapping
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char_p, c_int, c_int64,
                    c_size_t, c_uint, c_uint64, c_void_p)
from typing import Any, Callable, Optional, Union

# struct versions this package speaks (the C macros)
STORE_OPTIONS_VERSION = 2
CREATE_OPTIONS_VERSION = 1
BILLING_INFO_VERSION = 1
PERIOD_VERSION = 1
EVENT_VERSION = 2
HISTORY_ENTRY_VERSION = 1
PROPERTY_INFO_VERSION = 1
JOURNAL_OPTIONS_VERSION = 2
JOURNAL_INFO_VERSION = 1
IMPORT_OPTIONS_VERSION = 1
IMPORT_SUMMARY_VERSION = 1
IMPORT_ERROR_VERSION = 1
IMPORT_RECORD_VERSION = 1
SUBMISSION_VERSION = 1
QUERY_OPTIONS_VERSION = 2
SELECTION_VERSION = 1
BULK_SUMMARY_VERSION = 1
SUPPORTED_MAJOR = 1

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


class PeriodStruct(Structure):
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
        ("submission", hubc_id),  # version 2: SUBMISSION events
    ]


class HistoryEntryStruct(Structure):
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


class PropertyInfoStruct(Structure):
    _fields_ = [
        ("version", c_uint),
        ("name", c_char_p),
        ("label", c_char_p),
        ("type", c_int),
        ("flags", c_uint),
        ("n_options", c_size_t),
        ("options", POINTER(c_char_p)),
    ]


class JournalOptions(Structure):
    _fields_ = [
        ("version", c_uint),
        ("fsync_policy", c_int),
        ("fsync_interval_ms", c_uint),
        ("auto_compact_bytes", c_uint64),
        ("read_only", c_int),  # version 2
    ]


class JournalInfoStruct(Structure):
    _fields_ = [
        ("version", c_uint),
        ("flags", c_uint),
        ("torn_bytes", c_uint64),
        ("log_bytes", c_uint64),
        ("snapshot_bytes", c_uint64),
        ("generation", c_uint64),
        ("compactions", c_uint64),
        ("compact_failures", c_uint64),
    ]


EVENT_FN = CFUNCTYPE(None, c_void_p, POINTER(EventStruct))


class ImportProgressStruct(Structure):
    _fields_ = [
        ("version", c_uint),
        ("phase", c_int),
        ("bytes_done", c_uint64),
        ("bytes_total", c_uint64),
        ("rows_done", c_uint64),
    ]


READ_FN = CFUNCTYPE(c_int, c_void_p, c_void_p, c_size_t, POINTER(c_size_t))
PROGRESS_FN = CFUNCTYPE(c_int, c_void_p, POINTER(ImportProgressStruct))


class ImportOptions(Structure):
    _fields_ = [
        ("version", c_uint),
        ("files", POINTER(c_char_p)),
        ("n_files", c_size_t),
        ("read", c_void_p),          # const hubc_read_fn *: not used by this package
        ("read_payload", c_void_p),
        ("delimiter", ctypes.c_char),
        ("mode", c_int),
        ("set_marketing", c_int),
        ("other_objects", c_int),
        ("map_columns", POINTER(c_char_p)),
        ("map_properties", POINTER(c_char_p)),
        ("n_map", c_size_t),
        ("max_rows", c_uint64),
        ("max_bytes", c_uint64),
        ("max_columns", c_size_t),
        ("progress", PROGRESS_FN),
        ("progress_payload", c_void_p),
    ]


class ImportSummaryStruct(Structure):
    _fields_ = [
        ("version", c_uint),
        ("rows", c_uint64),
        ("to_create", c_uint64),
        ("to_update", c_uint64),
        ("unchanged", c_uint64),
        ("to_set_marketing", c_uint64),
        ("skipped", c_uint64),
        ("merged", c_uint64),
        ("unmapped_columns", c_uint64),
        ("billable_before", c_uint64),
        ("projected_billable", c_uint64),
        ("projected_tier", c_uint64),
        ("over_cap", c_int),
        ("import_id", hubc_id),
    ]


class ImportErrorStruct(Structure):
    _fields_ = [
        ("version", c_uint),
        ("file", c_size_t),
        ("line", c_uint64),
        ("column", c_char_p),
        ("code", c_int),
        ("message", c_char_p),
    ]


class ImportRecordStruct(Structure):
    _fields_ = [
        ("version", c_uint),
        ("id", hubc_id),
        ("time", hubc_time),
        ("actor", hubc_id),
        ("mode", c_int),
        ("set_marketing", c_int),
        ("files", c_char_p),
        ("rows", c_uint64),
        ("created", c_uint64),
        ("updated", c_uint64),
        ("set_as_marketing", c_uint64),
        ("skipped", c_uint64),
        ("merged", c_uint64),
    ]



class SubmissionStruct(Structure):
    _fields_ = [
        ("version", c_uint),
        ("id", hubc_id),
        ("form_id", hubc_id),
        ("external", c_int),
        ("contact", hubc_id),
        ("time", hubc_time),
        ("n", c_size_t),
        ("names", POINTER(c_char_p)),
        ("values", POINTER(c_char_p)),
    ]


class QueryOptions(Structure):
    _fields_ = [
        ("version", c_uint),
        ("sort_by", c_char_p),
        ("descending", c_int),
        ("limit", c_uint64),
        ("cursor", c_char_p),
        ("view", hubc_id),  # version 2
    ]


class Selection(Structure):
    _fields_ = [
        ("version", c_uint),
        ("filter", c_void_p),
        ("ids", POINTER(hubc_id)),
        ("n_ids", c_size_t),
    ]


class BulkSummaryStruct(Structure):
    _fields_ = [
        ("version", c_uint),
        ("selected", c_uint64),
        ("will_change", c_uint64),
        ("unchanged", c_uint64),
        ("billable_before", c_uint64),
        ("billable_after", c_uint64),
        ("tier_before", c_uint64),
        ("tier_after", c_uint64),
        ("cap", c_uint64),
        ("cap_refused", c_int),
    ]

# --------------------------------------------------------------------------
# finding and loading the library
# --------------------------------------------------------------------------

_HERE = os.path.dirname(os.path.abspath(__file__))
LIBRARY_NAME = "libhubcontacts.so.1"


def library_candidates() -> list[str]:
    """Where the library is looked for, in order: the HUBC_LIBRARY
    environment variable (a path), a copy next to this package's files,
    then the system loader (ld.so's search path, ldconfig)."""
    out = []
    env = os.environ.get("HUBC_LIBRARY")
    if env:
        out.append(env)
    beside = os.path.join(_HERE, LIBRARY_NAME)
    if os.path.exists(beside):
        out.append(beside)
    out.append(ctypes.util.find_library("hubcontacts") or LIBRARY_NAME)
    return out


def _load() -> ctypes.CDLL:
    env = os.environ.get("HUBC_LIBRARY")
    errors = []
    for name in library_candidates():
        try:
            return ctypes.CDLL(name)
        except OSError as e:
            if env and name == env:  # a path given on purpose must work
                raise ImportError(f"hubcontacts: cannot load HUBC_LIBRARY={env!r}: {e}") from e
            errors.append(f"{name}: {e}")
    raise ImportError(
        "hubcontacts: cannot find the C library libhubcontacts (" + "; ".join(errors) +
        "). Set HUBC_LIBRARY to its path, e.g. build/dev/lib/libhubcontacts.so.1, "
        "or install it (cmake --install).")


lib = _load()

_P = c_void_p            # opaque handles
_PP = POINTER(c_void_p)  # out-parameters for handles
_NAMES = POINTER(c_char_p)

_SIGNATURES: dict[str, tuple[Any, list[Any]]] = {
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
    "hubc_period_iterator_next": (c_int, [POINTER(PeriodStruct), _P]),
    "hubc_period_iterator_free": (None, [_P]),
    "hubc_store_set_event_callback": (c_int, [_P, EVENT_FN, c_void_p]),
    # contact.h
    "hubc_property_define": (c_int, [_P, hubc_id, c_char_p, c_char_p, c_int,
                                     _NAMES, c_size_t]),
    "hubc_property_count": (c_int, [POINTER(c_size_t), _P]),
    "hubc_property_at": (c_int, [POINTER(PropertyInfoStruct), _P, c_size_t]),
    "hubc_property_find": (c_int, [POINTER(PropertyInfoStruct), _P, c_char_p]),
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
    "hubc_contact_get_many": (c_int, [_PP, _P, _NAMES, c_size_t]),
    "hubc_contact_find_many": (c_int, [POINTER(hubc_id), _P, _NAMES, c_size_t]),
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
    "hubc_history_iterator_next": (c_int, [POINTER(HistoryEntryStruct), _P]),
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
    # import.h
    "hubc_import_options_init": (c_int, [POINTER(ImportOptions), c_uint]),
    "hubc_import_plan": (c_int, [_PP, _P, hubc_id, POINTER(ImportOptions)]),
    "hubc_import_summary_get": (c_int, [_P, POINTER(ImportSummaryStruct)]),
    "hubc_import_commit": (c_int, [POINTER(hubc_id), _P, c_uint64]),
    "hubc_import_error_count": (c_size_t, [_P]),
    "hubc_import_error_at": (c_int, [_P, c_size_t, POINTER(ImportErrorStruct)]),
    "hubc_import_unmapped_at": (c_char_p, [_P, c_size_t]),
    "hubc_import_write_errors": (c_int, [_P, c_size_t, WRITE_FN, c_void_p]),
    "hubc_import_free": (None, [_P]),
    "hubc_import_record_get": (c_int, [_P, hubc_id, POINTER(ImportRecordStruct)]),
    # form.h
    "hubc_form_create": (c_int, [POINTER(hubc_id), _P, hubc_id, c_char_p, _NAMES, _NAMES,
                                 POINTER(c_int), c_size_t]),
    "hubc_form_update": (c_int, [_P, hubc_id, hubc_id, c_char_p, _NAMES, _NAMES,
                                 POINTER(c_int), c_size_t]),
    "hubc_form_set_marketing": (c_int, [_P, hubc_id, hubc_id, c_int]),
    "hubc_form_delete": (c_int, [_P, hubc_id, hubc_id]),
    "hubc_form_get": (c_int, [_PP, _P, hubc_id]),
    "hubc_form_free": (None, [_P]),
    "hubc_form_id": (hubc_id, [_P]),
    "hubc_form_name": (c_char_p, [_P]),
    "hubc_form_marketing": (c_int, [_P]),
    "hubc_form_is_deleted": (c_int, [_P]),
    "hubc_form_field_count": (c_size_t, [_P]),
    "hubc_form_field_at": (c_int, [POINTER(c_char_p), POINTER(c_char_p), POINTER(c_int),
                                   _P, c_size_t]),
    "hubc_form_iterator_new": (c_int, [_PP, _P]),
    "hubc_form_iterator_next": (c_int, [_PP, _P]),
    "hubc_form_iterator_free": (None, [_P]),
    "hubc_form_submit": (c_int, [POINTER(hubc_id), POINTER(hubc_id), _P, hubc_id, _NAMES,
                                 _NAMES, c_size_t]),
    "hubc_form_submit_external": (c_int, [POINTER(hubc_id), POINTER(hubc_id), _P, hubc_id,
                                          _NAMES, _NAMES, c_size_t]),
    "hubc_submission_iterator_new": (c_int, [_PP, _P, hubc_id, c_int, hubc_id]),
    "hubc_submission_iterator_next": (c_int, [POINTER(SubmissionStruct), _P]),
    "hubc_submission_iterator_free": (None, [_P]),
    # query.h
    "hubc_filter_compile": (c_int, [_PP, _P, c_char_p]),
    "hubc_filter_free": (None, [_P]),
    "hubc_filter_count": (c_int, [POINTER(c_uint64), _P, _P]),
    "hubc_filter_matches": (c_int, [POINTER(c_int), _P, _P, hubc_id]),
    "hubc_query_options_init": (c_int, [POINTER(QueryOptions), c_uint]),
    "hubc_query_iterator_new": (c_int, [_PP, _P, _P, POINTER(QueryOptions)]),
    "hubc_query_iterator_next_ids": (c_int, [POINTER(c_size_t), POINTER(hubc_id), c_size_t, _P]),
    "hubc_query_iterator_next_contacts": (c_int, [POINTER(c_size_t), POINTER(c_void_p),
                                                  c_size_t, _P]),
    "hubc_query_iterator_cursor": (c_char_p, [_P]),
    "hubc_query_iterator_free": (None, [_P]),
    "hubc_selection_init": (c_int, [POINTER(Selection), c_uint]),
    "hubc_bulk_plan": (c_int, [POINTER(BulkSummaryStruct), _P, hubc_id, c_int,
                               POINTER(Selection)]),
    "hubc_bulk_commit": (c_int, [POINTER(BulkSummaryStruct), _P, hubc_id, c_int,
                                 POINTER(Selection), c_uint64]),
    "hubc_filter_preset_text": (c_char_p, [c_int]),
    # query.h: lists (S2) and saved views (S3)
    "hubc_list_create": (c_int, [POINTER(hubc_id), _P, hubc_id, c_char_p, c_char_p]),
    "hubc_list_rename": (c_int, [_P, hubc_id, hubc_id, c_char_p]),
    "hubc_list_delete": (c_int, [_P, hubc_id, hubc_id]),
    "hubc_list_set_filter": (c_int, [_P, hubc_id, hubc_id, c_char_p]),
    "hubc_list_add": (c_int, [POINTER(c_uint64), _P, hubc_id, hubc_id, POINTER(hubc_id), c_size_t]),
    "hubc_list_remove": (c_int, [POINTER(c_uint64), _P, hubc_id, hubc_id, POINTER(hubc_id),
                                 c_size_t]),
    "hubc_list_contains": (c_int, [POINTER(c_int), _P, hubc_id, hubc_id]),
    "hubc_list_count": (c_int, [POINTER(c_uint64), _P, hubc_id]),
    "hubc_list_members": (c_int, [POINTER(c_size_t), POINTER(hubc_id), c_size_t, _P, hubc_id,
                                  hubc_id]),
    "hubc_list_find": (c_int, [POINTER(hubc_id), _P, c_char_p]),
    "hubc_list_ids": (c_int, [POINTER(c_size_t), POINTER(hubc_id), c_size_t, _P, hubc_id]),
    "hubc_list_get": (c_int, [_PP, _P, hubc_id]),
    "hubc_list_free": (None, [_P]),
    "hubc_list_id": (hubc_id, [_P]),
    "hubc_list_name": (c_char_p, [_P]),
    "hubc_list_filter": (c_char_p, [_P]),
    "hubc_list_is_active": (c_int, [_P]),
    "hubc_list_is_deleted": (c_int, [_P]),
    "hubc_list_size": (c_uint64, [_P]),
    "hubc_view_create": (c_int, [POINTER(hubc_id), _P, hubc_id, c_char_p, c_char_p, c_char_p,
                                 c_int]),
    "hubc_view_update": (c_int, [_P, hubc_id, hubc_id, c_char_p, c_char_p, c_int]),
    "hubc_view_rename": (c_int, [_P, hubc_id, hubc_id, c_char_p]),
    "hubc_view_delete": (c_int, [_P, hubc_id, hubc_id]),
    "hubc_view_find": (c_int, [POINTER(hubc_id), _P, c_char_p]),
    "hubc_view_ids": (c_int, [POINTER(c_size_t), POINTER(hubc_id), c_size_t, _P, hubc_id]),
    "hubc_view_get": (c_int, [_PP, _P, hubc_id]),
    "hubc_view_free": (None, [_P]),
    "hubc_view_id": (hubc_id, [_P]),
    "hubc_view_name": (c_char_p, [_P]),
    "hubc_view_filter": (c_char_p, [_P]),
    "hubc_view_sort_by": (c_char_p, [_P]),
    "hubc_view_descending": (c_int, [_P]),
    "hubc_view_is_deleted": (c_int, [_P]),
    # journal.h
    "hubc_journal_options_init": (c_int, [POINTER(JournalOptions), c_uint]),
    "hubc_journal_open": (c_int, [_PP, c_char_p, POINTER(JournalOptions)]),
    "hubc_journal_persist": (c_void_p, [_P]),
    "hubc_journal_close": (None, [_P]),
    "hubc_journal_compact": (c_int, [_P]),
    "hubc_journal_get_info": (c_int, [POINTER(JournalInfoStruct), _P]),
}

for _name, (_restype, _argtypes) in _SIGNATURES.items():
    _fn = getattr(lib, _name)
    _fn.restype = _restype
    _fn.argtypes = _argtypes
del _name, _restype, _argtypes, _fn

if lib.hubc_version_number() // 10000 != SUPPORTED_MAJOR:
    raise ImportError(
        f"hubcontacts: loaded library version {lib.hubc_version_string().decode()} "
        f"but this package speaks major version {SUPPORTED_MAJOR}")

# The library accepts every struct version up to its own: one at least as
# new as this package's layout is enough.
if ctypes.sizeof(StoreOptions) > lib.hubc_store_options_size():
    raise ImportError(
        f"hubcontacts: this package's store options ({ctypes.sizeof(StoreOptions)} bytes, "
        f"version {STORE_OPTIONS_VERSION}) are newer than the loaded library's "
        f"({lib.hubc_store_options_size()} bytes); update libhubcontacts")

# --------------------------------------------------------------------------
# checked conversions (R4a: refused, never truncated)
# --------------------------------------------------------------------------

def _int_converter(ctype: Any, signed: bool) -> Callable[[Any, str], int]:
    """One checked converter per C integer type: every integer that crosses
    into C goes through one of these, so 2**64 + 1 is refused instead of
    reaching C as 1. operator.index refuses floats (1.5 is not silently 1)
    and str; bool is refused as a likely mistake."""
    bits = 8 * ctypes.sizeof(ctype)
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)

    def convert(value: Any, what: str) -> int:
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
    convert.__name__ = f"to_{ctype.__name__}"
    return convert


to_i64 = _int_converter(c_int64, True)     # hubc_id, hubc_time
to_u64 = _int_converter(c_uint64, False)   # counts, tiers
to_int = _int_converter(c_int, True)       # enums
to_uint = _int_converter(c_uint, False)    # permission masks
to_size = _int_converter(c_size_t, False)  # indexes, lengths

INT64_MIN = -(1 << 63)

Text = Union[str, bytes]
PathLike = Union[str, bytes, "os.PathLike[str]"]
Props = Union[Mapping[Any, Any], Iterable[tuple[Any, Any]]]


def enc(value: Any, what: str) -> Optional[bytes]:
    """A value for a const char * argument: str as UTF-8, bytes as is (the
    library validates UTF-8, R4), bool as true/false, numbers as their
    decimal text; None stays NULL. A NUL byte is refused (C would cut
    the string there)."""
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


def dec(b: Optional[bytes]) -> Optional[str]:
    return None if b is None else b.decode("utf-8", errors="surrogateescape")


def str_array(items: Any, what: str, item: str) -> tuple[Any, int]:
    """A C array of encoded strings and its length; errors name the row.
    A lone str or bytes is refused: "abc" is not three items a, b, c."""
    if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
        raise TypeError(f"{what}: expected a sequence of {item}s, not "
                        f"{type(items).__name__}")
    encoded = [enc(e, f"{item} in row {i}") for i, e in enumerate(items)]
    return (c_char_p * max(len(encoded), 1))(*encoded), len(encoded)


def pairs(props: Props, allow_none: bool) -> tuple[Any, Any, int]:
    """{name: value} (or pairs) -> (names array, values array, n)."""
    items = list(props.items() if isinstance(props, Mapping) else props)
    names = [enc(k, "property name") for k, _ in items]
    values = [enc("" if v is None and not allow_none else v, f"property {k!r}")
              for k, v in items]
    n = len(items)
    return (c_char_p * max(n, 1))(*names), (c_char_p * max(n, 1))(*values), n
