"""What every handle of a store goes through (private): the gate that
lets close() wait for calls in flight, the per-call frame that carries a
Python callback's exception back to its caller, and the base class of the
handles a store hands out (iterators, import plans)."""

from __future__ import annotations

import ctypes
import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from ctypes import byref, c_void_p
from typing import Any, Callable, Generic, Optional, TypeVar

from . import _ffi
from ._ffi import INT64_MIN, dec, lib, to_i64
from .constants import Code
from .errors import Busy, StoreClosed, error
from .models import Event

Clock = Callable[[], int]
Allocator = Callable[[Optional[int], int, int], Optional[int]]
EventHandler = Callable[[Event], Any]

T = TypeVar("T")

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

    def collect(self, fn: Any, *args: Any) -> bytes:
        """The bytes fn(*args, write, NULL) writes (dump, CSV exports)."""
        chunks: list[bytes] = []

        def write(_payload: Any, data: int, length: int) -> int:
            try:
                chunks.append(ctypes.string_at(data, length))
                return 0
            except BaseException as e:
                self._fail(e)
                return 1

        cb = _ffi.WRITE_FN(write)
        self.call(fn, *args, cb, None)
        return b"".join(chunks)

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
# handles the store hands out
# --------------------------------------------------------------------------


class _Handle:
    """A library object made from a store (an iterator, an import plan),
    also a context manager. Its handle is registered with the store, which
    frees it at close() if this object has not: a use after that raises
    StoreClosed instead of reading freed memory. Safe to share between
    threads (one call at a time)."""

    _free: Any = None

    def __init__(self, core: _Core, handle: c_void_p) -> None:
        self._core = core
        self._h: Optional[c_void_p] = handle
        self._key = core.adopt(handle, type(self)._free)
        self._lock = threading.Lock()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def _release(self) -> None:
        h, self._h = self._h, None
        if h is not None and self._core.handles.pop(self._key, None) is not None:
            type(self)._free(h)

    def close(self) -> None:
        """Frees the library object (idempotent)."""
        if self._h is None:
            return
        try:
            with self._core.gate, self._lock:
                self._release()
        except StoreClosed:  # the store freed it
            self._h = None


class _Iterator(_Handle, Generic[T]):
    """A library iterator: freed at exhaustion, on close(), or when the
    store closes (next() then raises StoreClosed)."""

    _next: Any = None

    def __iter__(self) -> "_Iterator[T]":
        return self

    def __enter__(self) -> "_Iterator[T]":
        return self

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


class _Record:
    """A stored record by id (a form, a list, a view), from the store or
    view it came from. Its attributes read the record as it is now
    (another call may have changed it); its actions act on it as that
    store's user unless given ``actor``."""

    __slots__ = ("_store", "id")
    _get: Any = None   # hubc_X_get(&snapshot, store, id)
    _free: Any = None  # hubc_X_free(snapshot)

    def __init__(self, store: Any, record_id: int) -> None:
        self._store = store
        self.id = record_id

    def _read(self, what: Callable[[Any], T]) -> T:
        """what(snapshot) on a fresh snapshot (NotFound if there is none)."""
        core = self._store._core
        free = type(self)._free
        with core.gate:
            h = core.make(free, type(self)._get, self.id)
            try:
                return what(h)
            finally:
                free(h)

    def _act(self, fn: Any, what: str, actor: Optional[int], *args: Any) -> None:
        """fn(store, actor, id, *args), the actor resolved as the store's."""
        who = self._store._who(actor, what)
        self._store._core.call(fn, _STORE, who, self.id, *args)

    def __eq__(self, other: object) -> bool:
        return (type(other) is type(self) and other.id == self.id  # type: ignore[attr-defined]
                and other._store._core is self._store._core)  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self), id(self._store._core), self.id))

    def __repr__(self) -> str:
        return f"<hubcontacts.{type(self).__name__} id={self.id}>"
