"""The Store: one account (hubc_store), its iterators, and the machinery
that keeps calls, callbacks and close() safe across threads."""

from __future__ import annotations

import ctypes
import itertools
import os
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from ctypes import POINTER, byref, c_char_p, c_int, c_size_t, c_uint64, c_void_p
from typing import Any, Callable, Generic, Optional, TypeVar, Union

from . import _ffi
from ._ffi import (INT64_MIN, dec, enc, hubc_id, lib, str_array, to_i64, to_int,
                   to_u64, to_uint)
from .constants import (Code, Commitment, FsyncPolicy, PropType, Select,
                        Source, Subscription, TierPolicy)
from .errors import (ActorRequired, Busy, InvalidArgument, NotFound, StoreClosed,
                     check, error)
from .models import (Billing, Contact, Event, HistoryEntry, Period,
                     PropertyInfo, User)

T = TypeVar("T")
PathLike = Union[str, bytes, "os.PathLike[str]"]
Props = Union[Mapping[Any, Any], Iterable[tuple[Any, Any]]]
Clock = Callable[[], int]
Allocator = Callable[[Optional[int], int, int], Optional[int]]
EventHandler = Callable[[Event], Any]

_STORE = object()  # stands for the store handle in _Core.call's arguments


class _Frame:
    """State of one library call, seen by the callbacks it triggers."""
    __slots__ = ("exc", "saved_error")

    def __init__(self) -> None:
        self.exc: Optional[BaseException] = None
        self.saved_error: Optional[tuple[int, str]] = None


class _Gate:
    """Counts the threads inside calls on one store, so close() can wait for
    them before freeing it (R4: no use-after-free), and refuses calls that
    start once close() began. A thread already inside (a multi-step read, an
    event handler) enters again without being counted twice. exclusive()
    runs something while no call is in flight (calls wait meanwhile)."""

    __slots__ = ("cond", "inflight", "closing", "paused", "owner", "tls")

    def __init__(self) -> None:
        # reentrant: a finalizer may run on a thread that holds it
        self.cond = threading.Condition(threading.RLock())
        self.inflight = 0
        self.closing = True  # until the store is open
        self.paused = False
        self.owner = 0  # the thread in exclusive()
        self.tls = threading.local()

    def depth(self) -> int:
        return getattr(self.tls, "depth", 0)

    def __enter__(self) -> None:
        depth = self.depth()
        if not depth:
            with self.cond:
                # the exclusive thread itself may enter (a finalizer freeing
                # an iterator between its C calls): it would wait for itself
                while self.paused and self.owner != threading.get_ident():
                    self.cond.wait()
                if self.closing:
                    raise StoreClosed()
                self.inflight += 1
        self.tls.depth = depth + 1

    def __exit__(self, *exc: object) -> None:
        depth = self.tls.depth = self.tls.depth - 1
        if not depth:
            with self.cond:
                self.inflight -= 1
                if not self.inflight:
                    self.cond.notify_all()

    @contextmanager
    def exclusive(self, what: str) -> Iterator[None]:
        """Waits until no call is in flight, then runs the block while new
        calls wait. Refused from inside a call (it would wait for itself)."""
        if self.depth():
            raise Busy(Code.BUSY, f"{what}: called from inside a call on the same store "
                                  "(an event handler?); nothing done")
        with self.cond:
            while self.paused:
                self.cond.wait()
            if self.closing:
                raise StoreClosed()
            self.paused, self.owner = True, threading.get_ident()
            try:
                while self.inflight:
                    self.cond.wait()
                yield
            finally:
                self.paused, self.owner = False, 0
                self.cond.notify_all()


class _Core:
    """What a Store and its as_user() views share: the handle, the journal,
    the gate, the iterator handles to free at close, and the Python
    callbacks (kept here so they outlive every call that may run them)."""

    def __init__(self, clock: Optional[Clock], alloc: Optional[Allocator]) -> None:
        self.h: Optional[c_void_p] = None
        self.journal: Optional[c_void_p] = None
        self.gate = _Gate()
        self.handles: dict[int, tuple[Callable[[Any], None], c_void_p]] = {}
        self.keys = itertools.count(1)  # next() is atomic: calls run on many threads
        self.tls = threading.local()
        self.handlers: list[EventHandler] = []
        self.event_cb: Any = None
        self.clock = clock
        self.clock_cb = _ffi.CLOCK_FN(self._clock_trampoline) if clock else None
        self.alloc = alloc
        self.alloc_cb = _ffi.ALLOC_FN(self._alloc_trampoline) if alloc else None

    # ---- calls -----------------------------------------------------------

    def call(self, fn: Any, *args: Any, check: bool = True) -> Any:
        """One C call on this store, inside the gate; _STORE in args stands
        for the store handle (read inside, where it cannot be freed)."""
        with self.gate:
            return self.invoke(fn, *(self.h if a is _STORE else a for a in args),
                               check=check)

    def invoke(self, fn: Any, *args: Any, check: bool = True) -> Any:
        """Runs fn(*args). Raises what a Python callback raised during it
        (noting the library's error if the call failed too), else the
        HubcError of a negative status."""
        tls = self.tls
        outer = getattr(tls, "frame", None)
        frame = tls.frame = _Frame()
        try:
            rc = fn(*args)
        finally:
            tls.frame = outer
        err = error(rc, frame.saved_error) if check and rc < 0 else None
        if frame.exc is not None:
            if err is not None and hasattr(frame.exc, "add_note"):
                frame.exc.add_note(f"hubcontacts: the call failed: {err}")
            raise frame.exc
        if err is not None:
            raise err
        return rc

    def make(self, free: Any, fn: Any, *args: Any) -> c_void_p:
        """fn(&handle, store, *args) for the caller inside the gate. Should a
        Python callback raise although the C call succeeded, the new handle
        is freed, not leaked (after a failed call it is NULL, which free
        accepts)."""
        h = c_void_p()
        try:
            self.call(fn, byref(h), _STORE, *args)
        except BaseException:
            free(h)
            raise
        return h

    def adopt(self, handle: c_void_p, free: Callable[[Any], None]) -> int:
        """Registers an iterator handle for close() to free."""
        key = next(self.keys)
        self.handles[key] = (free, handle)
        return key

    def _frame(self) -> Optional[_Frame]:
        return getattr(self.tls, "frame", None)

    def _fail(self, e: BaseException) -> None:
        frame = self._frame()
        if frame is not None and frame.exc is None:
            frame.exc = e

    # ---- callbacks (never unwind through C) ---------------------------------

    def _clock_trampoline(self, _payload: Any) -> int:
        # A failing clock returns INT64_MIN, a time the library refuses for
        # every call (EINVAL, nothing changed); the call then raises the
        # Python exception.
        try:
            return to_i64(self.clock(), "clock")  # type: ignore[misc]
        except BaseException as e:
            self._fail(e)
            return INT64_MIN

    def _alloc_trampoline(self, _payload: Any, ptr: Optional[int], old_size: int,
                          new_size: int) -> Optional[int]:
        try:
            return self.alloc(ptr, old_size, new_size) or None  # type: ignore[misc]
        except BaseException as e:  # an allocation failure: NULL
            self._fail(e)
            return None

    def _event_trampoline(self, _payload: Any, ev_ptr: Any) -> None:
        frame = self._frame()
        if frame is not None and frame.saved_error is None:
            # a handler may call the library and overwrite the thread's
            # last error before the call that delivers events returns
            frame.saved_error = (lib.hubc_error_last_code(), dec(lib.hubc_error_last()) or "")
        try:
            event = Event._from_c(ev_ptr.contents)
            for handler in list(self.handlers):
                handler(event)
        except BaseException as e:
            self._fail(e)

    # ---- close -----------------------------------------------------------

    def close(self) -> None:
        gate = self.gate
        if gate.depth():
            raise Busy(Code.BUSY, "close: called from inside a call on the same store "
                                  "(an event handler?); nothing closed")
        with gate.cond:
            while gate.paused:
                gate.cond.wait()
            if gate.closing:
                return
            gate.closing = True
            while gate.inflight:
                gate.cond.wait()
            # nobody is inside a call now, and nobody can enter
            for free, h in self.handles.values():
                free(h)
            self.handles.clear()
            h, self.h = self.h, None
            lib.hubc_store_close(h)
            self.close_journal()

    def close_journal(self) -> None:
        j, self.journal = self.journal, None
        if j is not None:
            lib.hubc_journal_close(j)

    def __del__(self) -> None:
        # collected: no call is in flight (a call holds a reference)
        if getattr(self, "h", None) is not None:
            try:
                self.close()
            except Exception:
                pass

# --------------------------------------------------------------------------
# iterators
# --------------------------------------------------------------------------


class _Iterator(Generic[T]):
    """A library iterator, also a context manager. Freed at exhaustion, on
    close(), or when the store closes (its handle is registered with the
    store): next() after that raises StoreClosed instead of reading freed
    memory. Safe to share between threads (one step at a time)."""

    _free: Any = None
    _next: Any = None

    def __init__(self, core: _Core, handle: c_void_p) -> None:
        self._core = core
        self._h: Optional[c_void_p] = handle
        self._key = core.adopt(handle, type(self)._free)
        self._lock = threading.Lock()

    def __iter__(self) -> "_Iterator[T]":
        return self

    def __enter__(self) -> "_Iterator[T]":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def _step(self) -> Optional[T]:
        raise NotImplementedError

    def __next__(self) -> T:
        if self._h is None:
            raise StopIteration
        with self._core.gate, self._lock:
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

    def _release(self) -> None:
        h, self._h = self._h, None
        if h is not None and self._core.handles.pop(self._key, None) is not None:
            type(self)._free(h)

    def close(self) -> None:
        """Frees the library iterator (idempotent)."""
        if self._h is None:
            return
        try:
            with self._core.gate, self._lock:
                self._release()
        except StoreClosed:  # the store freed it
            self._h = None


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


def _pairs(props: Props, allow_none: bool) -> tuple[Any, Any, int]:
    """{name: value} (or pairs) -> (names array, values array, n)."""
    items = list(props.items() if isinstance(props, Mapping) else props)
    names = [enc(k, "property name") for k, _ in items]
    values = [enc("" if v is None and not allow_none else v, f"property {k!r}")
              for k, v in items]
    n = len(items)
    return (c_char_p * max(n, 1))(*names), (c_char_p * max(n, 1))(*values), n

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
    ``auto_compact_bytes`` are its options (0: the library's default).
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
                 journal: Optional[PathLike] = None,
                 fsync: int = FsyncPolicy.EVERY_COMMIT,
                 fsync_interval_ms: int = 0,
                 auto_compact_bytes: int = 0,
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

    def _collect(self, fn: Any, *args: Any) -> bytes:
        chunks: list[bytes] = []
        core = self._core

        def write(_payload: Any, data: int, length: int) -> int:
            try:
                chunks.append(ctypes.string_at(data, length))
                return 0
            except BaseException as e:
                core._fail(e)
                return 1

        cb = _ffi.WRITE_FN(write)
        core.call(fn, _STORE, *args, cb, None)
        return b"".join(chunks)

    def dump(self) -> str:
        """The canonical text dump: equal content, equal text."""
        return self._collect(lib.hubc_store_dump).decode("utf-8", errors="surrogateescape")

    def history_export(self, contact: int = 0) -> str:
        """The status history as CSV (RFC 4180, header row); 0: every contact."""
        return self._collect(lib.hubc_history_export,
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
        """The contacts themselves, in id order (one snapshot each: the
        library has no batch read by id; by email, use get_many)."""
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
