"""Selecting contacts (S1) and bulk set as marketing / non-marketing (S4,
S5): compiled filters, batched query iterators with sorting and cursor
paging, and the bulk dialog's plan and commit."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from ctypes import POINTER, byref, c_int, c_size_t, c_uint64, c_void_p, cast
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional, Union

from . import _ffi
from ._core import _STORE, _Core, _Handle
from ._ffi import dec, enc, hubc_id, lib, to_i64, to_int, to_size, to_u64
from .constants import BulkAction, Code
from .errors import InvalidArgument, StoreClosed, check
from .models import Contact

if TYPE_CHECKING:
    from .store import Store

ID_BATCH = 4096       # ids per library call
CONTACT_BATCH = 256   # snapshots per library call


class Filter(_Handle):
    """A compiled filter (hubc_filter): compiled once against the store's
    schema, run as often as needed. ``text`` is its source. It belongs to
    its store: closing the store frees it (later use raises StoreClosed)."""

    _free = staticmethod(lib.hubc_filter_free)

    def __init__(self, store: "Store", handle: Any, text: str) -> None:
        super().__init__(store._core, handle)
        self._store = store
        self.text = text

    def _handle(self) -> Any:
        if self._h is None:
            raise InvalidArgument(Code.INVAL, "the filter is closed")
        return self._h

    def count(self) -> int:
        """How many contacts the filter selects now."""
        out = c_uint64()
        with self._core.gate, self._lock:
            self._core.call(lib.hubc_filter_count, byref(out), _STORE, self._handle())
        return out.value

    def matches(self, contact: int) -> bool:
        """Whether the contact matches (NotFound if there is no such contact)."""
        out = c_int()
        with self._core.gate, self._lock:
            self._core.call(lib.hubc_filter_matches, byref(out), _STORE, self._handle(),
                            to_i64(contact, "contact"))
        return bool(out.value)

    def ids(self, *, sort_by: Optional[_ffi.Text] = None, descending: bool = False,
            limit: int = 0, cursor: Optional[str] = None) -> "QueryIds":
        """The selected record ids (see Store.query_ids)."""
        return _query(self._store, QueryIds, self, sort_by, descending, limit, cursor)

    def contacts(self, *, sort_by: Optional[_ffi.Text] = None, descending: bool = False,
                 limit: int = 0, cursor: Optional[str] = None) -> "QueryContacts":
        """The selected contacts (see Store.query_contacts)."""
        return _query(self._store, QueryContacts, self, sort_by, descending, limit, cursor)

    def page(self, size: int, *, sort_by: Optional[_ffi.Text] = None, descending: bool = False,
             cursor: Optional[str] = None) -> "Page":
        """One page of a contacts table (see Store.page)."""
        return _page(self._store, self, size, sort_by, descending, cursor)

    def __iter__(self) -> "QueryIds":
        return self.ids()

    def __repr__(self) -> str:
        return f"<hubcontacts.Filter {self.text!r}>"


# --------------------------------------------------------------------------
# query iterators
# --------------------------------------------------------------------------


class _Query(_Handle):
    """A query iterator (hubc_query_iterator) read in batches: one library
    call and one read lock per batch, not per contact."""

    _free = staticmethod(lib.hubc_query_iterator_free)
    _batch = ID_BATCH

    def __init__(self, core: _Core, handle: Any, filter: Optional[Filter]) -> None:
        super().__init__(core, handle)
        self._filter = filter  # kept alive (the library holds its own reference too)
        self._buf: deque[Any] = deque()
        self._cursor: Optional[str] = None  # after the last fetched, once exhausted

    def __iter__(self) -> Any:
        return self

    def __enter__(self) -> Any:
        return self

    def _fetch(self, cap: int) -> list[Any]:
        raise NotImplementedError

    def _take(self, cap: int) -> list[Any]:
        """Up to cap results from the library (none at the end)."""
        with self._core.gate, self._lock:
            if self._h is None:
                raise StoreClosed("the query is closed")
            return self._fetch(cap)

    def __next__(self) -> Any:
        if self._buf:
            return self._buf.popleft()
        if self._h is None:
            raise StopIteration
        with self._core.gate, self._lock:
            if self._h is None:
                raise StopIteration
            try:
                items = self._fetch(self._batch)
                if not items:
                    self._cursor = dec(lib.hubc_query_iterator_cursor(self._h))
            except BaseException:
                self._release()
                raise
            if not items:
                self._release()
                raise StopIteration
        self._buf.extend(items)
        return self._buf.popleft()

    @property
    def cursor(self) -> str:
        """The position after the last result this iterator returned: pass
        it as ``cursor=`` to a query with the same sort to continue there
        (stable when contacts change meanwhile). Results are fetched in
        batches, so it is known only when every fetched one has been
        returned (always at the end); otherwise ValueError."""
        if self._buf:
            raise ValueError("cursor: results fetched ahead have not been returned yet; "
                             "read them first (or use page())")
        if self._h is None:
            if self._cursor is None:
                raise StoreClosed("cursor: the query was closed before its end")
            return self._cursor
        with self._core.gate, self._lock:
            if self._h is None:
                raise StoreClosed("cursor: the query was closed")
            c = lib.hubc_query_iterator_cursor(self._h)
            if c is None:
                check(lib.hubc_error_last_code())
            return dec(c) or ""


def _fetch_ids(core: _Core, h: Any, cap: int) -> list[int]:
    n = c_size_t()
    ids = (hubc_id * cap)()
    rc = core.call(lib.hubc_query_iterator_next_ids, byref(n), ids, cap, h)
    return [] if rc == Code.ITEROVER else ids[:n.value]


class QueryIds(_Query):
    """Record ids a query selects, fetched in batches (_next_ids)."""

    def _fetch(self, cap: int) -> list[int]:
        return _fetch_ids(self._core, self._h, cap)


class QueryContacts(_Query):
    """Contacts a query selects, fetched in batches of snapshots
    (_next_contacts); contacts deleted meanwhile are skipped."""

    _batch = CONTACT_BATCH

    def _fetch(self, cap: int) -> list[Contact]:
        n = c_size_t()
        snaps = (c_void_p * cap)()
        try:
            rc = self._core.call(lib.hubc_query_iterator_next_contacts, byref(n),
                                 snaps, cap, self._h)
            if rc == Code.ITEROVER:
                return []
            return [Contact._from_snapshot(h) for h in snaps[:n.value]]
        finally:  # every snapshot, even if converting one raised
            for h in snaps[:n.value]:
                lib.hubc_contact_free(h)


@dataclass(frozen=True)
class Page:
    """One page of a sorted query: its contacts, and the cursor of the next
    page (None when this is the last one)."""
    contacts: list[Contact]
    cursor: Optional[str]

    __hash__ = None  # type: ignore[assignment]


def _query(store: "Store", cls: Any, filter: Optional[Filter], sort_by: Optional[_ffi.Text],
           descending: bool, limit: int, cursor: Optional[str], view: int = 0) -> Any:
    core = store._core
    if filter is not None and filter._core is not core:
        raise InvalidArgument(Code.INVAL, "query: the filter was compiled for another store")
    opts = _ffi.QueryOptions()
    check(lib.hubc_query_options_init(byref(opts), _ffi.QUERY_OPTIONS_VERSION))
    sort = enc(sort_by, "sort_by")
    cur = enc(cursor, "cursor")
    opts.sort_by, opts.descending = sort, 1 if descending else 0
    opts.limit, opts.cursor = to_u64(limit, "limit"), cur
    opts.view = view
    with core.gate:  # registered before close() can run
        if filter is None:
            return cls(core, core.make(cls._free, lib.hubc_query_iterator_new, None, byref(opts)),
                       None)
        with filter._lock:
            h = core.make(cls._free, lib.hubc_query_iterator_new, filter._handle(), byref(opts))
        return cls(core, h, filter)


def _page(store: "Store", filter: Optional[Filter], size: int, sort_by: Optional[_ffi.Text],
          descending: bool, cursor: Optional[str], view: int = 0) -> Page:
    size = to_size(size, "size")
    if size == 0:
        raise ValueError("size: a page holds at least one contact")
    # one more than the page: whether it exists says if there is a next page
    with _query(store, QueryContacts, filter, sort_by, descending, size + 1, cursor, view) as q:
        contacts: list[Contact] = []
        while len(contacts) < size:
            got = q._take(size - len(contacts))
            if not got:
                return Page(contacts, None)
            contacts.extend(got)
        after = q.cursor  # just after the page's last contact
        with q._core.gate, q._lock:
            if q._h is None:
                raise StoreClosed("the query is closed")
            more = bool(_fetch_ids(q._core, q._h, 1))
        return Page(contacts, after if more else None)


# --------------------------------------------------------------------------
# bulk actions (S4, S5)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class BulkSummary:
    """The bulk dialog's numbers (hubc_bulk_summary)."""
    selected: int         # contacts selected: the number to confirm
    will_change: int      # of those, whose status the action changes
    unchanged: int
    billable_before: int
    billable_after: int
    tier_before: int
    tier_after: int       # AUTO_UPGRADE's projection
    cap: int              # the HARD_CAP in force; 0 under AUTO_UPGRADE
    cap_refused: bool     # HARD_CAP refuses the commit (B5)

    @classmethod
    def _from_c(cls, s: _ffi.BulkSummaryStruct) -> "BulkSummary":
        return cls(selected=s.selected, will_change=s.will_change, unchanged=s.unchanged,
                   billable_before=s.billable_before, billable_after=s.billable_after,
                   tier_before=s.tier_before, tier_after=s.tier_after, cap=s.cap,
                   cap_refused=bool(s.cap_refused))


Selection = Union[Filter, str, Iterable[int]]


class Bulk:
    """A bulk action on a selection, as the product's dialog: plan() gives
    the numbers, commit(confirm=n) applies it once the person typed the
    number of selected contacts. The selection (a Filter, a filter text, a
    ContactList, a View or record ids) is evaluated again by each call."""

    def __init__(self, store: "Store", action: int, selection: Selection, actor: int) -> None:
        self._store = store
        self.action = BulkAction(to_int(action, "action"))
        self._actor = actor
        self._filter: Optional[Filter] = None
        self._ids: Any = None
        self._n = 0
        if hasattr(selection, "as_filter"):  # a ContactList or a View
            selection = selection.as_filter()
        if isinstance(selection, Filter):
            if selection._core is not store._core:
                raise InvalidArgument(Code.INVAL, "bulk: the filter was compiled for another store")
            self._filter = selection
        elif isinstance(selection, str):
            self._filter = store.filter(selection)
        elif isinstance(selection, bytes) or not isinstance(selection, Iterable):
            raise TypeError("selection: expected a Filter, a filter text, a list, a view or "
                            "record ids, not "
                            f"{type(selection).__name__}")
        else:
            ids = [to_i64(i, f"selection[{k}]") for k, i in enumerate(selection)]
            self._n = len(ids)
            self._ids = (hubc_id * max(self._n, 1))(*ids)

    def _run(self, fn: Any, *extra: Any) -> BulkSummary:
        core = self._store._core
        out = _ffi.BulkSummaryStruct(version=_ffi.BULK_SUMMARY_VERSION)
        sel = _ffi.Selection()
        check(lib.hubc_selection_init(byref(sel), _ffi.SELECTION_VERSION))
        with core.gate:
            if self._filter is None:
                sel.ids, sel.n_ids = cast(self._ids, POINTER(hubc_id)), self._n
                core.call(fn, byref(out), _STORE, self._actor, self.action, byref(sel), *extra)
            else:
                with self._filter._lock:
                    sel.filter = self._filter._handle()
                    core.call(fn, byref(out), _STORE, self._actor, self.action, byref(sel),
                              *extra)
        return BulkSummary._from_c(out)

    def plan(self) -> BulkSummary:
        """What a commit would do now, changing nothing (needs P2). A HARD_CAP
        refusal shows as ``cap_refused``, not as an error."""
        return self._run(lib.hubc_bulk_plan)

    def commit(self, confirm: int) -> BulkSummary:
        """Applies the action in one transaction, reason type BULK with the
        actor as reason id (needs P2). ``confirm`` must equal the number of
        contacts the selection selects now, else ConfirmMismatch naming that
        number, and nothing changes. HARD_CAP raises LimitExceeded."""
        return self._run(lib.hubc_bulk_commit, to_u64(confirm, "confirm"))

    def __repr__(self) -> str:
        return f"<hubcontacts.Bulk {self.action.name}>"


def preset_text(preset: int) -> str:
    """The filter text of a preset (Preset.UNENGAGED: the clean-up wizard's
    bounced or opted-out billable contacts)."""
    t = lib.hubc_filter_preset_text(to_int(preset, "preset"))
    if t is None:
        check(lib.hubc_error_last_code())
    return dec(t) or ""
