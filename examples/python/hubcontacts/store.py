"""The Store: one account (hubc_store) and its iterators."""

from __future__ import annotations

import builtins
import ctypes
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from ctypes import POINTER, byref, c_char_p, c_int, c_size_t, c_uint64, c_void_p
from typing import Any, Optional, Union

from . import _ffi
from ._core import _STORE, Allocator, Clock, EventHandler, _Core, _Iterator
from ._ffi import Props, enc, hubc_id, lib, str_array, to_i64, to_int, to_u64, to_uint
from ._ffi import pairs as _pairs
from .constants import (BulkAction, Code, Commitment, FsyncPolicy, ImportMode, PropType,
                        Select, Source, Subscription, TierPolicy)
from .errors import ActorRequired, InvalidArgument, NotFound, check, error
from .forms import Forms
from .lists import Lists, Views
from .importing import (ImportPlan, ImportRecord, ProgressHandler, import_record,
                        plan_import)
from .models import (Billing, Contact, HistoryEntry, JournalInfo, Period,
                     PropertyInfo, User)
from .query import (Bulk, Filter, Page, QueryContacts, QueryIds, Selection, _page,
                    _query, preset_text)


# --------------------------------------------------------------------------
# iterators
# --------------------------------------------------------------------------


class _IdIterator(_Iterator[int]):
    def _step(self) -> Optional[int]:
        out = hubc_id()
        rc = self._core.call(type(self)._next, byref(out), self._h)
        return None if rc == Code.ITEROVER else out.value


class ContactIds(_IdIterator):
    """Contact record ids in increasing order (hubc_contact_iterator)."""
    _free = staticmethod(lib.hubc_contact_iterator_free)
    _next = staticmethod(lib.hubc_contact_iterator_next)


class UserIds(_IdIterator):
    """User ids in increasing order (hubc_user_iterator)."""
    _free = staticmethod(lib.hubc_user_iterator_free)
    _next = staticmethod(lib.hubc_user_iterator_next)


class HistoryIterator(_Iterator[HistoryEntry]):
    """Status history entries, oldest first (hubc_history_iterator)."""
    _free = staticmethod(lib.hubc_history_iterator_free)

    def _step(self) -> Optional[HistoryEntry]:
        e = _ffi.HistoryEntryStruct(version=_ffi.HISTORY_ENTRY_VERSION)
        rc = self._core.call(lib.hubc_history_iterator_next, byref(e), self._h)
        return None if rc == Code.ITEROVER else HistoryEntry._from_c(e)


class PeriodIterator(_Iterator[Period]):
    """Closed billing periods, oldest first (hubc_period_iterator)."""
    _free = staticmethod(lib.hubc_period_iterator_free)

    def _step(self) -> Optional[Period]:
        p = _ffi.PeriodStruct(version=_ffi.PERIOD_VERSION)
        rc = self._core.call(lib.hubc_period_iterator_next, byref(p), self._h)
        return None if rc == Code.ITEROVER else Period._from_c(p)

# --------------------------------------------------------------------------
# argument helpers
# --------------------------------------------------------------------------


def _create_options(marketing: bool, source: Optional[int], source_id: int) -> _ffi.CreateOptions:
    opts = _ffi.CreateOptions()
    check(lib.hubc_create_options_init(byref(opts), _ffi.CREATE_OPTIONS_VERSION))
    opts.source = to_int(source, "source") if source is not None else 0
    opts.source_id = to_i64(source_id, "source_id")
    opts.marketing = 1 if marketing else 0
    return opts


# --------------------------------------------------------------------------
# the store
# --------------------------------------------------------------------------


class Store:
    """One account (hubc_store). Use it as a context manager or call close().

    Calls that act on behalf of a user (creating, changing, configuring)
    need an actor: pass ``actor=ID`` to the call, or set it once with
    ``Store(..., actor=ID)`` or ``store.as_user(ID)``. There is no default:
    a call with no actor raises ActorRequired. User 1 is the first super
    admin of a new store (``admin_email``); SYSTEM (0) is the actor of
    automatic sources.

    ``clock``: a callable returning the current UTC time in whole seconds as
    an int (tests use it to cross update dates); None uses the system
    clock. Should it raise or return something that is not an int64, the
    call raises that and changes nothing. ``max_clock_jump`` (B2a): a
    reading further than this many seconds past the latest time the store
    has seen is refused; 0 means 10 years.
    ``journal``: a file path for the bundled journal (R3); None keeps the
    store in memory only. ``fsync``, ``fsync_interval_ms`` and
    ``auto_compact_bytes`` are its options (0: the library's default);
    ``read_only`` opens an existing journal without ever writing it (for
    checks, backups, reports): every change then raises PersistError.
    ``alloc``: an allocator hook ``alloc(ptr, old_size, new_size) -> address``
    shaped like lua_Alloc (new_size 0 frees ptr and returns None; None for
    new_size > 0 is an allocation failure, reported as OutOfMemory).

    A store may be shared by threads (R6): close() waits for calls other
    threads are making, and later calls raise StoreClosed. Python callbacks
    (clock, event handlers) run on the thread that made the call; what they
    raise is raised by that call (for event handlers the change itself has
    committed).
    """

    def __init__(self, admin_email: Optional[_ffi.Text] = None, *,
                 actor: Optional[int] = None,
                 clock: Optional[Clock] = None,
                 subscription: int = Subscription.STARTER,
                 commitment: int = Commitment.MONTHLY,
                 tier_policy: int = TierPolicy.AUTO_UPGRADE,
                 hard_cap: int = 0,
                 tier_ladder: Optional[Sequence[int]] = None,
                 tier: int = 0,
                 renewal_anchor: int = 0,
                 max_clock_jump: int = 0,
                 journal: Optional[_ffi.PathLike] = None,
                 fsync: int = FsyncPolicy.EVERY_COMMIT,
                 fsync_interval_ms: int = 0,
                 auto_compact_bytes: int = 0,
                 read_only: bool = False,
                 alloc: Optional[Allocator] = None) -> None:
        self._actor = None if actor is None else to_i64(actor, "actor")
        core = self._core = _Core(clock, alloc)
        opts = _ffi.StoreOptions()
        check(lib.hubc_store_options_init(byref(opts), _ffi.STORE_OPTIONS_VERSION))
        if core.clock_cb is not None:
            opts.clock = core.clock_cb
        if core.alloc_cb is not None:
            opts.alloc = core.alloc_cb
        admin = enc(admin_email, "admin_email")
        opts.admin_email = admin
        opts.subscription = to_int(subscription, "subscription")
        opts.commitment = to_int(commitment, "commitment")
        opts.tier_policy = to_int(tier_policy, "tier_policy")
        opts.hard_cap = to_u64(hard_cap, "hard_cap")
        opts.tier = to_u64(tier, "tier")
        opts.renewal_anchor = to_i64(renewal_anchor, "renewal_anchor")
        opts.max_clock_jump = to_i64(max_clock_jump, "max_clock_jump")
        ladder = None
        if tier_ladder is not None:
            if isinstance(tier_ladder, (str, bytes)) or not isinstance(tier_ladder, Iterable):
                raise TypeError("tier_ladder: expected a sequence of integers, not "
                                f"{type(tier_ladder).__name__}")
            rungs = [to_u64(r, f"tier_ladder[{i}]") for i, r in enumerate(tier_ladder)]
            ladder = (c_uint64 * max(len(rungs), 1))(*rungs)
            opts.tier_ladder = ctypes.cast(ladder, POINTER(c_uint64))
            opts.tier_ladder_len = len(rungs)
        if journal is not None:
            jopts = _ffi.JournalOptions()
            check(lib.hubc_journal_options_init(byref(jopts), _ffi.JOURNAL_OPTIONS_VERSION))
            jopts.fsync_policy = to_int(fsync, "fsync")
            jopts.fsync_interval_ms = to_uint(fsync_interval_ms, "fsync_interval_ms")
            jopts.auto_compact_bytes = to_u64(auto_compact_bytes, "auto_compact_bytes")
            jopts.read_only = 1 if read_only else 0
            j = c_void_p()
            check(lib.hubc_journal_open(byref(j), enc(os.fsdecode(journal), "journal"),
                                        byref(jopts)))
            core.journal = j
            opts.persist = lib.hubc_journal_persist(j)
        h = c_void_p()
        try:
            core.invoke(lib.hubc_store_open, byref(h), byref(opts))
        except BaseException:
            lib.hubc_store_close(h)  # opened, but a Python callback raised
            core.close_journal()
            raise
        core.h = h
        core.gate.closing = False
        del admin, ladder  # copied by the library

    # ---- lifetime and actor ------------------------------------------------

    def close(self) -> None:
        """Closes the store (idempotent), for this object and every view of
        it. Waits for calls other threads are making on it; calls made
        afterwards, iterators included, raise StoreClosed. From inside a
        call on this store (an event handler) it raises Busy and closes
        nothing."""
        self._core.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._core.gate.closing

    @property
    def actor(self) -> Optional[int]:
        """The actor of calls given none (None: such calls raise)."""
        return self._actor

    def as_user(self, user: int) -> "Store":
        """A view of this store whose calls act as ``user`` unless they name
        another actor. It shares everything else, close() included."""
        view = object.__new__(Store)
        view._core = self._core
        view._actor = to_i64(user, "user")
        return view

    def _who(self, actor: Optional[int], what: str) -> int:
        if actor is None:
            actor = self._actor
            if actor is None:
                raise ActorRequired(what)
        return to_i64(actor, "actor")

    def compact(self) -> None:
        """Rewrites the journal into a new snapshot and starts an empty log
        (hubc_journal_compact). Waits for calls in flight; calls made
        meanwhile wait for it. Needs a store opened with ``journal``."""
        core = self._core
        with core.gate.exclusive("compact"):
            if core.journal is None:
                raise InvalidArgument(Code.INVAL, "compact: the store has no journal")
            core.invoke(lib.hubc_journal_compact, core.journal)

    def journal_info(self) -> JournalInfo:
        """The journal's sizes, torn tail found at open, compactions and
        flags (read-only, failed). Needs a store opened with ``journal``."""
        core = self._core
        out = _ffi.JournalInfoStruct(version=_ffi.JOURNAL_INFO_VERSION)
        with core.gate.exclusive("journal info"):  # must not race with calls
            if core.journal is None:
                raise InvalidArgument(Code.INVAL, "journal info: the store has no journal")
            core.invoke(lib.hubc_journal_get_info, byref(out), core.journal)
        return JournalInfo._from_c(out)

    # ---- clock, tick, dump ------------------------------------------------

    def now(self) -> int:
        """The time a call made now would be stamped with (UTC seconds)."""
        t = self._core.call(lib.hubc_store_now, _STORE, check=False)
        if t == 0 and lib.hubc_error_last_code() < 0:
            raise error(lib.hubc_error_last_code())
        return t

    def tick(self) -> None:
        """Applies every update date that has passed (B2, M5); every other
        call does this first too."""
        self._core.call(lib.hubc_store_tick, _STORE)

    def dump(self) -> str:
        """The canonical text dump: equal content, equal text."""
        return self._core.collect(lib.hubc_store_dump, _STORE).decode(
            "utf-8", errors="surrogateescape")

    def history_export(self, contact: int = 0) -> str:
        """The status history as CSV (RFC 4180, header row); 0: every contact."""
        return self._core.collect(lib.hubc_history_export, _STORE,
                                  to_i64(contact, "contact")).decode("utf-8")

    # ---- events -----------------------------------------------------------

    def on_event(self, handler: EventHandler) -> EventHandler:
        """Adds ``handler(event)``, called after each call commits, on the
        calling thread. It must not call into this store (Busy). Returns the
        handler, so it also works as a decorator."""
        if not callable(handler):
            raise TypeError("on_event: handler must be callable")
        core = self._core
        if core.event_cb is None:
            cb = _ffi.EVENT_FN(core._event_trampoline)
            core.call(lib.hubc_store_set_event_callback, _STORE, cb, None)
            core.event_cb = cb
        core.handlers.append(handler)
        return handler

    def off_event(self, handler: EventHandler) -> None:
        """Removes a handler; unregisters from the library when none is left."""
        core = self._core
        core.handlers.remove(handler)
        if not core.handlers and core.event_cb is not None:
            core.call(lib.hubc_store_set_event_callback, _STORE, _ffi.EVENT_FN(), None)
            core.event_cb = None

    # ---- contacts -----------------------------------------------------------

    def create_contact(self, props: Props, *, actor: Optional[int] = None,
                       marketing: bool = False, source: Optional[int] = None,
                       source_id: int = 0) -> int:
        """Creates a contact from {name or label: value}; returns its record
        id. Empty values are ignored. ``marketing`` (manual creation only)
        needs P2; other sources take their configured default (D1)."""
        who = self._who(actor, "create contact")
        opts = _create_options(marketing, source, source_id)
        names, values, n = _pairs(props, allow_none=False)
        out = hubc_id()
        self._core.call(lib.hubc_contact_create, byref(out), _STORE, who, byref(opts),
                        names, values, n)
        return out.value

    def create_contacts(self, rows: Iterable[Props], *, actor: Optional[int] = None,
                        marketing: bool = False, source: Optional[int] = None,
                        source_id: int = 0) -> list[int]:
        """Creates a contact per row ({name or label: value}) in one
        transaction, all or none; returns their record ids. The columns are
        every key of every row (a key a row lacks stays unset there), so
        spell each property the same way throughout. Errors name the row."""
        who = self._who(actor, "create contacts")
        maps = [r if isinstance(r, Mapping) else dict(r) for r in rows]
        columns = list(dict.fromkeys(k for r in maps for k in r))
        names = [enc(k, "property name") for k in columns]
        values = [enc("" if r.get(k) is None else r[k], f"row {i}: property {k!r}")
                  for i, r in enumerate(maps) for k in columns]
        out = (hubc_id * max(len(maps), 1))()
        self._core.call(lib.hubc_contact_create_batch, out, _STORE, who,
                        byref(_create_options(marketing, source, source_id)),
                        (c_char_p * max(len(names), 1))(*names), len(names),
                        (c_char_p * max(len(values), 1))(*values), len(maps))
        return list(out[:len(maps)])

    def update_contact(self, contact: int, props: Props, *,
                       actor: Optional[int] = None) -> None:
        """Sets properties; a None or "" value removes the property."""
        who = self._who(actor, "update contact")
        names, values, n = _pairs(props, allow_none=True)
        self._core.call(lib.hubc_contact_update, _STORE, who,
                        to_i64(contact, "contact"), names, values, n)

    def delete_contact(self, contact: int, *, actor: Optional[int] = None) -> None:
        """Deletes a contact; its email is free again at once (C7)."""
        who = self._who(actor, "delete contact")
        self._core.call(lib.hubc_contact_delete, _STORE, who, to_i64(contact, "contact"))

    def _snapshot(self, getter: Any, *args: Any) -> Contact:
        core = self._core
        with core.gate:
            snap = core.make(lib.hubc_contact_free, getter, *args)
            try:
                return Contact._from_snapshot(snap)
            finally:
                lib.hubc_contact_free(snap)

    def get(self, contact: int) -> Contact:
        """A copy of the contact (NotFound if there is none)."""
        return self._snapshot(lib.hubc_contact_get, to_i64(contact, "contact"))

    def get_by_email(self, email: _ffi.Text) -> Contact:
        """The contact with this email, matched as C3 (NotFound if none)."""
        return self._snapshot(lib.hubc_contact_get_by_email, enc(email, "email"))

    def find(self, email: _ffi.Text) -> Optional[int]:
        """The record id of the contact with this email, or None."""
        out = hubc_id()
        try:
            self._core.call(lib.hubc_contact_find, byref(out), _STORE, enc(email, "email"))
        except NotFound:
            return None
        return out.value

    def get_many(self, emails: Sequence[_ffi.Text]) -> list[Optional[Contact]]:
        """The contact for each email (None where there is none), all read
        at one instant in one library call (hubc_contact_get_many)."""
        arr, n = str_array(emails, "emails", "email")
        out = (c_void_p * max(n, 1))()
        core = self._core
        with core.gate:
            try:
                core.call(lib.hubc_contact_get_many, out, _STORE, arr, n)
                return [Contact._from_snapshot(h) if h else None
                        for h in out[:n]]
            finally:  # every snapshot, even if a Python callback raised
                for h in out[:n]:
                    lib.hubc_contact_free(h)

    def find_many(self, emails: Sequence[_ffi.Text]) -> list[Optional[int]]:
        """The record id for each email (None where there is none), in one
        library call (hubc_contact_find_many)."""
        arr, n = str_array(emails, "emails", "email")
        out = (hubc_id * max(n, 1))()
        self._core.call(lib.hubc_contact_find_many, out, _STORE, arr, n)
        return [i or None for i in out[:n]]

    def count(self) -> int:
        """How many contacts the store holds."""
        out = c_uint64()
        self._core.call(lib.hubc_contact_count, byref(out), _STORE)
        return out.value

    def _iterate(self, cls: Any, new: Any, *args: Any) -> Any:
        core = self._core
        with core.gate:  # registered before close() can run
            return cls(core, core.make(cls._free, new, *args))

    def iter_contacts(self, select: int = Select.ALL) -> ContactIds:
        """Record ids in increasing order, filtered by a Select value."""
        return self._iterate(ContactIds, lib.hubc_contact_iterator_new,
                             to_int(select, "select"))

    def __iter__(self) -> ContactIds:
        return self.iter_contacts()

    def contacts(self, select: int = Select.ALL) -> Iterator[Contact]:
        """The contacts themselves, in id order. Every contact (Select.ALL)
        is read in batches (query_contacts); another selection reads one
        snapshot per id (the library has no batch read by id; by email, use
        get_many)."""
        if to_int(select, "select") == Select.ALL:
            with self.query_contacts() as batched:
                yield from batched
            return
        with self.iter_contacts(select) as ids:
            for cid in ids:
                try:
                    yield self.get(cid)
                except NotFound:  # deleted meanwhile
                    continue

    # ---- marketing status --------------------------------------------------

    def set_marketing(self, contact: int, *, actor: Optional[int] = None,
                      reason: int = Source.MANUAL, reason_id: int = 0) -> None:
        """M3: takes effect at once; a no-op on a MARKETING contact (the
        first reason is kept). Needs P2."""
        who = self._who(actor, "set marketing")
        self._core.call(lib.hubc_contact_set_marketing, _STORE, who,
                        to_i64(contact, "contact"), to_int(reason, "reason"),
                        to_i64(reason_id, "reason_id"))

    def set_non_marketing(self, contact: int, *, actor: Optional[int] = None,
                          reason: int = Source.MANUAL, reason_id: int = 0) -> None:
        """M4: MARKETING becomes MARKETING_UNTIL_UPDATE (still billable until
        the update date); others unchanged. Needs P2."""
        who = self._who(actor, "set non-marketing")
        self._core.call(lib.hubc_contact_set_non_marketing, _STORE, who,
                        to_i64(contact, "contact"), to_int(reason, "reason"),
                        to_i64(reason_id, "reason_id"))

    def iter_history(self, contact: int = 0) -> HistoryIterator:
        """Status history entries, oldest first; 0 for every contact's."""
        return self._iterate(HistoryIterator, lib.hubc_history_iterator_new,
                             to_i64(contact, "contact"))

    def history(self, contact: int = 0) -> list[HistoryEntry]:
        """Status history entries, oldest first; 0 for every contact's."""
        with self.iter_history(contact) as entries:
            return list(entries)

    def set_source_default(self, source: int, marketing: bool, *, source_id: int = 0,
                           actor: Optional[int] = None) -> None:
        """D1/D2: default status for contacts created by a configurable
        source (CHATFLOW and INTEGRATION per source_id, EXTERNAL_FORM
        store-wide). Needs a user with P2."""
        who = self._who(actor, "set source default")
        self._core.call(lib.hubc_source_set_default, _STORE, who,
                        to_int(source, "source"), to_i64(source_id, "source_id"),
                        1 if marketing else 0)

    def source_default(self, source: int, source_id: int = 0) -> bool:
        """Whether contacts from this source are created as marketing (D1)."""
        out = c_int()
        self._core.call(lib.hubc_source_get_default, byref(out), _STORE,
                        to_int(source, "source"), to_i64(source_id, "source_id"))
        return bool(out.value)

    # ---- billing -------------------------------------------------------------

    def billing(self) -> Billing:
        """Counts, tier and dates now (B1–B7)."""
        info = _ffi.BillingInfo(version=_ffi.BILLING_INFO_VERSION)
        self._core.call(lib.hubc_billing_get, byref(info), _STORE)
        return Billing._from_c(info)

    def iter_periods(self) -> PeriodIterator:
        """Closed billing periods, oldest first (B3)."""
        return self._iterate(PeriodIterator, lib.hubc_period_iterator_new)

    def periods(self) -> list[Period]:
        """Closed billing periods, oldest first (B3)."""
        with self.iter_periods() as periods:
            return list(periods)

    def request_downgrade(self, tier: int, *, actor: Optional[int] = None) -> None:
        """B4: asks for a lower tier from the next renewal (0 cancels)."""
        who = self._who(actor, "request downgrade")
        self._core.call(lib.hubc_billing_request_downgrade, _STORE, who,
                        to_u64(tier, "tier"))

    # ---- property schema -----------------------------------------------------

    def define_property(self, name: _ffi.Text, label: _ffi.Text,
                        type: int = PropType.STRING,
                        options: Optional[Sequence[_ffi.Text]] = None, *,
                        actor: Optional[int] = None) -> None:
        """Defines a custom property; ``options`` for ENUMERATION only."""
        who = self._who(actor, "define property")
        arr, n = str_array([] if options is None else options, "options", "option")
        self._core.call(lib.hubc_property_define, _STORE, who, enc(name, "name"),
                        enc(label, "label"), to_int(type, "type"), arr if n else None, n)

    def properties(self) -> list[PropertyInfo]:
        """Every property definition, built-ins first."""
        n = c_size_t()
        out = []
        core = self._core
        with core.gate:  # the strings are the store's
            core.call(lib.hubc_property_count, byref(n), _STORE)
            for i in range(n.value):
                info = _ffi.PropertyInfoStruct(version=_ffi.PROPERTY_INFO_VERSION)
                core.call(lib.hubc_property_at, byref(info), _STORE, i)
                out.append(PropertyInfo._from_c(info))
        return out

    def property(self, name_or_label: _ffi.Text) -> PropertyInfo:
        """A property by internal name or label, case-insensitively."""
        info = _ffi.PropertyInfoStruct(version=_ffi.PROPERTY_INFO_VERSION)
        core = self._core
        with core.gate:  # the strings are the store's
            core.call(lib.hubc_property_find, byref(info), _STORE,
                      enc(name_or_label, "name"))
            return PropertyInfo._from_c(info)

    # ---- import (I1–I10) -------------------------------------------------------

    def plan_import(self, files: Union[_ffi.PathLike, Sequence[_ffi.PathLike]], *,
                    actor: Optional[int] = None,
                    mode: int = ImportMode.CREATE_AND_UPDATE,
                    set_marketing: bool = False, other_objects: bool = False,
                    delimiter: Optional[str] = None,
                    mapping: Optional[Mapping[str, Optional[str]]] = None,
                    max_rows: int = 0, max_bytes: int = 0, max_columns: int = 0,
                    progress: Optional[ProgressHandler] = None) -> ImportPlan:
        """Reads and checks CSV files and counts what importing them would do,
        changing nothing (I1–I7). Columns map to properties by header (name
        or label) unless ``mapping`` says {header: property} (None skips a
        column). ``set_marketing`` (needs P2) sets every imported contact as
        marketing. ``delimiter``: ",", ";" or a tab; None detects it. Limits
        of 0 are the library's (I3). ``progress(ImportProgress)`` is called
        now and then; returning True (or raising) cancels: Canceled, nothing
        changed. File-level problems raise, naming file, line and column;
        bad rows are counted in the plan's summary and listed by errors().
        Commit with ``plan.commit(plan.summary.to_set_marketing)`` once the
        person has confirmed that number."""
        who = self._who(actor, "plan import")
        return plan_import(self._core, who, files, mode=mode, set_marketing=set_marketing,
                           other_objects=other_objects, delimiter=delimiter,
                           mapping=mapping, max_rows=max_rows, max_bytes=max_bytes,
                           max_columns=max_columns, progress=progress)

    def import_record(self, record: int) -> ImportRecord:
        """A committed import by id (1, 2, … in commit order; I10)."""
        return import_record(self._core, to_i64(record, "record"))

    def imports(self) -> list[ImportRecord]:
        """Every committed import, oldest first (I10)."""
        out: list[ImportRecord] = []
        while True:
            try:
                out.append(self.import_record(len(out) + 1))
            except NotFound:
                return out

    # ---- forms (F1–F6) ---------------------------------------------------------

    @builtins.property  # the name `property` is a method of this class
    def forms(self) -> Forms:
        """The store's forms: ``store.forms.create(...)``, ``.get(id)``,
        iteration, external submissions and submission listings."""
        return Forms(self)

    # ---- selecting contacts (S1), lists (S2), views (S3), bulk (S4, S5) --------

    @builtins.property
    def lists(self) -> Lists:
        """Static and active lists (S2): ``store.lists.create(name,
        filter=None)``, ``.get(id)``, ``.find(name)``, iteration."""
        return Lists(self)

    @builtins.property
    def views(self) -> Views:
        """Saved views (S3): ``store.views.create(name, filter, sort_by=)``,
        ``.get(id)``, ``.find(name)``, iteration."""
        return Views(self)

    def filter(self, text: _ffi.Text) -> Filter:
        """Compiles a filter (S1; grammar in the README). A parse error
        (InvalidArgument) names the byte position, what was found and what
        was expected; an unknown property or option is NotFound naming it;
        a value of the wrong type (``createdate > 'soon'``) InvalidArgument."""
        core = self._core
        b = enc(text, "filter")
        with core.gate:  # registered before close() can run
            h = core.make(lib.hubc_filter_free, lib.hubc_filter_compile, b)
            return Filter(self, h, _ffi.dec(b) or "")

    def filter_preset(self, preset: int) -> Filter:
        """A preset's filter compiled (Preset.UNENGAGED: billable contacts
        that are hard-bounced or opted out, the clean-up wizard's, S5)."""
        return self.filter(preset_text(preset))

    def query_ids(self, filter: Optional[Filter] = None, *, sort_by: Optional[_ffi.Text] = None,
                  descending: bool = False, limit: int = 0,
                  cursor: Optional[str] = None) -> QueryIds:
        """Record ids a filter selects (None: every contact), fetched a batch
        per library call. Without ``sort_by`` in id order, read as the
        iterator advances; sorted by a property (name or label; ties by id,
        contacts without a value last), the selection and its order are
        fixed when the query starts. ``limit`` 0: no limit. ``cursor``: from
        a query with the same sort (``.cursor``, Page.cursor): continue
        strictly after that position."""
        return _query(self, QueryIds, filter, sort_by, descending, limit, cursor)

    def query_contacts(self, filter: Optional[Filter] = None, *,
                       sort_by: Optional[_ffi.Text] = None, descending: bool = False,
                       limit: int = 0, cursor: Optional[str] = None) -> QueryContacts:
        """The contacts themselves, as query_ids, read in batches of
        snapshots (one library call per batch); deleted ones are skipped."""
        return _query(self, QueryContacts, filter, sort_by, descending, limit, cursor)

    def page(self, size: int, filter: Optional[Filter] = None, *,
             sort_by: Optional[_ffi.Text] = None, descending: bool = False,
             cursor: Optional[str] = None) -> Page:
        """One page of a contacts table: up to ``size`` contacts after
        ``cursor`` (None: from the start), and the next page's cursor (None
        after the last page). Pages neither repeat nor skip contacts when
        others change in between."""
        return _page(self, filter, size, sort_by, descending, cursor)

    def bulk_set_marketing(self, selection: Selection, *, actor: Optional[int] = None) -> Bulk:
        """Bulk "set as marketing contacts" (S4) on a Filter, a filter text,
        a ContactList, a View or record ids: ``.plan()`` gives the numbers, ``.commit(confirm=n)``
        applies it. Needs P2."""
        return Bulk(self, BulkAction.SET_MARKETING, selection,
                    self._who(actor, "bulk set marketing"))

    def bulk_set_non_marketing(self, selection: Selection, *,
                               actor: Optional[int] = None) -> Bulk:
        """Bulk "set as non-marketing" (S5): M4 on each selected contact
        (MARKETING ones stay billable until the update date). Needs P2."""
        return Bulk(self, BulkAction.SET_NON_MARKETING, selection,
                    self._who(actor, "bulk set non-marketing"))

    # ---- users -----------------------------------------------------------------

    def create_user(self, email: _ffi.Text, *, actor: Optional[int] = None) -> int:
        """Creates a user with Perm.DEFAULT; returns the user id."""
        who = self._who(actor, "create user")
        out = hubc_id()
        self._core.call(lib.hubc_user_create, byref(out), _STORE, who, enc(email, "email"))
        return out.value

    def set_permissions(self, user: int, perms: int, *, actor: Optional[int] = None) -> None:
        """Replaces a user's permissions (a Perm mask)."""
        who = self._who(actor, "set permissions")
        self._core.call(lib.hubc_user_set_permissions, _STORE, who,
                        to_i64(user, "user"), to_uint(perms, "permissions"))

    def set_super_admin(self, user: int, super_admin: bool = True, *,
                        actor: Optional[int] = None) -> None:
        """Makes a user a super admin (every permission), or not."""
        who = self._who(actor, "set super admin")
        self._core.call(lib.hubc_user_set_super_admin, _STORE, who,
                        to_i64(user, "user"), 1 if super_admin else 0)

    def disable_user(self, user: int, *, actor: Optional[int] = None) -> None:
        """P3: applies to the user's next call."""
        who = self._who(actor, "disable user")
        self._core.call(lib.hubc_user_set_disabled, _STORE, who, to_i64(user, "user"), 1)

    def enable_user(self, user: int, *, actor: Optional[int] = None) -> None:
        """Undoes disable_user."""
        who = self._who(actor, "enable user")
        self._core.call(lib.hubc_user_set_disabled, _STORE, who, to_i64(user, "user"), 0)

    def _user(self, getter: Any, arg: Any) -> User:
        core = self._core
        with core.gate:
            snap = core.make(lib.hubc_user_free, getter, arg)
            try:
                return User._from_snapshot(snap)
            finally:
                lib.hubc_user_free(snap)

    def user(self, user: int) -> User:
        """A copy of the user (NotFound if there is none)."""
        return self._user(lib.hubc_user_get, to_i64(user, "user"))

    def user_by_email(self, email: _ffi.Text) -> User:
        """A copy of the user with this email (NotFound if there is none)."""
        return self._user(lib.hubc_user_get_by_email, enc(email, "email"))

    def iter_users(self) -> UserIds:
        """User ids in increasing order."""
        return self._iterate(UserIds, lib.hubc_user_iterator_new)

    def users(self) -> list[int]:
        """Every user id, increasing."""
        with self.iter_users() as ids:
            return list(ids)

    def __repr__(self) -> str:
        if self.closed:
            return "<hubcontacts.Store closed>"
        return f"<hubcontacts.Store actor={self._actor}>"
