"""Static and active lists (S2) and saved views (S3): ``store.lists`` and
``store.views``. A list or a view is also a selection: its ``as_filter()``
(``IN LIST n``, ``IN VIEW 'name'``) queries and bulk actions take."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from ctypes import byref, c_int, c_size_t, c_uint64
from typing import TYPE_CHECKING, Any, Optional

from ._core import _STORE, _Record
from ._ffi import Text, dec, enc, hubc_id, lib, to_i64
from .constants import Code
from .query import QueryContacts, QueryIds, _page, _query

if TYPE_CHECKING:
    from .query import Filter, Page
    from .store import Store

ID_BATCH = 4096  # ids per library call


def _batched_ids(store: "Store", fn: Any, *args: Any) -> Iterator[int]:
    """Ids from fn(&n, ids, cap, store, *args, after), a batch per call,
    each batch continuing after the last id of the one before."""
    core = store._core
    buf = (hubc_id * ID_BATCH)()
    n = c_size_t()
    after = 0
    while True:
        rc = core.call(fn, byref(n), buf, ID_BATCH, _STORE, *args, after)
        if rc == Code.ITEROVER:
            return
        batch = buf[:n.value]
        after = batch[-1]
        yield from batch


def _id_array(ids: Iterable[int], what: str) -> tuple[Any, int]:
    if isinstance(ids, (str, bytes)) or not isinstance(ids, Iterable):
        raise TypeError(f"{what}: expected record ids, not {type(ids).__name__}")
    checked = [to_i64(i, f"{what}[{k}]") for k, i in enumerate(ids)]
    return (hubc_id * max(len(checked), 1))(*checked), len(checked)


class ContactList(_Record):
    """A list (S2): static (members added and removed by hand) or active
    (the contacts its filter selects, kept up to date by the library).
    Deleted lists stay readable (``deleted``)."""

    __slots__ = ()
    _get = staticmethod(lib.hubc_list_get)
    _free = staticmethod(lib.hubc_list_free)

    @property
    def name(self) -> str:
        return self._read(lambda h: dec(lib.hubc_list_name(h)) or "")

    @property
    def filter(self) -> Optional[str]:
        """An active list's filter text; None for a static list."""
        return self._read(lambda h: dec(lib.hubc_list_filter(h))
                          if lib.hubc_list_is_active(h) == 1 else None)

    @property
    def active(self) -> bool:
        return self._read(lambda h: lib.hubc_list_is_active(h) == 1)

    @property
    def deleted(self) -> bool:
        return self._read(lambda h: lib.hubc_list_is_deleted(h) == 1)

    def count(self) -> int:
        """Members now."""
        out = c_uint64()
        self._store._core.call(lib.hubc_list_count, byref(out), _STORE, self.id)
        return out.value

    def __len__(self) -> int:
        return self.count()

    def __contains__(self, contact: object) -> bool:
        out = c_int()
        self._store._core.call(lib.hubc_list_contains, byref(out), _STORE, self.id,
                               to_i64(contact, "contact"))
        return bool(out.value)

    def members(self) -> Iterator[int]:
        """Member record ids in increasing order, read 4,096 per library
        call; each batch continues after the last id of the one before."""
        return _batched_ids(self._store, lib.hubc_list_members, self.id)

    def __iter__(self) -> Iterator[int]:
        return self.members()

    def add(self, contacts: Iterable[int], *, actor: Optional[int] = None) -> int:
        """Adds contacts to a static list in one transaction and returns how
        many were not members yet. An id naming no contact: NotFound naming
        it, nothing added. An active list: InvalidArgument."""
        arr, n = _id_array(contacts, "contacts")
        out = c_uint64()
        who = self._store._who(actor, "add to list")
        self._store._core.call(lib.hubc_list_add, byref(out), _STORE, who, self.id, arr, n)
        return out.value

    def remove(self, contacts: Iterable[int], *, actor: Optional[int] = None) -> int:
        """Removes contacts from a static list; returns how many were members."""
        arr, n = _id_array(contacts, "contacts")
        out = c_uint64()
        who = self._store._who(actor, "remove from list")
        self._store._core.call(lib.hubc_list_remove, byref(out), _STORE, who, self.id, arr, n)
        return out.value

    def rename(self, name: Text, *, actor: Optional[int] = None) -> None:
        """Renames the list (names are unique among live lists)."""
        self._act(lib.hubc_list_rename, "rename list", actor, enc(name, "name"))

    def set_filter(self, filter: Text, *, actor: Optional[int] = None) -> None:
        """Replaces an active list's filter; its members are recomputed (and
        the lists reading it follow) in the same call. Refused like
        creation: errors as Store.filter's, a filter reading this list
        (directly or through views and lists), a static list."""
        self._act(lib.hubc_list_set_filter, "set list filter", actor, enc(filter, "filter"))

    def delete(self, *, actor: Optional[int] = None) -> None:
        """Deletes the list; refused (naming the reader) while another list's
        or view's filter reads it."""
        self._act(lib.hubc_list_delete, "delete list", actor)

    def as_filter(self) -> "Filter":
        """``IN LIST n`` compiled: a selection for queries and bulk actions."""
        return self._store.filter(f"IN LIST {self.id}")

    def contacts(self, **query: Any) -> QueryContacts:
        """The members as contacts (Store.query_contacts' options)."""
        return self._store.query_contacts(self.as_filter(), **query)


class View(_Record):
    """A saved view (S3): a named filter plus a sort. Deleted views stay
    readable (``deleted``)."""

    __slots__ = ()
    _get = staticmethod(lib.hubc_view_get)
    _free = staticmethod(lib.hubc_view_free)

    @property
    def name(self) -> str:
        return self._read(lambda h: dec(lib.hubc_view_name(h)) or "")

    @property
    def filter(self) -> str:
        return self._read(lambda h: dec(lib.hubc_view_filter(h)) or "")

    @property
    def sort_by(self) -> Optional[str]:
        """The sort property's internal name; None: by record id."""
        return self._read(lambda h: dec(lib.hubc_view_sort_by(h)))

    @property
    def descending(self) -> bool:
        return self._read(lambda h: lib.hubc_view_descending(h) == 1)

    @property
    def deleted(self) -> bool:
        return self._read(lambda h: lib.hubc_view_is_deleted(h) == 1)

    def update(self, *, filter: Optional[Text] = None, sort_by: Optional[Text] = None,
               descending: bool = False, actor: Optional[int] = None) -> None:
        """Replaces the sort (``sort_by`` None: by record id) and, unless
        None, the filter. Lists reading the view follow at once."""
        self._act(lib.hubc_view_update, "update view", actor, enc(filter, "filter"),
                  enc(sort_by, "sort_by"), 1 if descending else 0)

    def rename(self, name: Text, *, actor: Optional[int] = None) -> None:
        """Renames the view; refused while a list's or view's filter reads it."""
        self._act(lib.hubc_view_rename, "rename view", actor, enc(name, "name"))

    def delete(self, *, actor: Optional[int] = None) -> None:
        """Deletes the view; refused while a list's or view's filter reads it."""
        self._act(lib.hubc_view_delete, "delete view", actor)

    def as_filter(self) -> "Filter":
        """``IN VIEW 'name'`` compiled: a selection for queries and bulk
        actions (the view as it is when the filter runs)."""
        return self._store.filter("IN VIEW '" + self.name.replace("'", "''") + "'")

    def ids(self, *, limit: int = 0, cursor: Optional[str] = None) -> QueryIds:
        """The record ids the view selects, in its saved sort (ties by id,
        no value last), 4,096 per library call. The view is read once, when
        the query starts; ``cursor`` continues after a page (stable while
        contacts change; refused if the view's sort changed meanwhile)."""
        return _query(self._store, QueryIds, None, None, False, limit, cursor, self.id)

    def __iter__(self) -> QueryIds:
        return self.ids()

    def contacts(self, *, limit: int = 0, cursor: Optional[str] = None) -> QueryContacts:
        """The view's contacts in its saved sort, as ids()."""
        return _query(self._store, QueryContacts, None, None, False, limit, cursor, self.id)

    def page(self, size: int, *, cursor: Optional[str] = None) -> "Page":
        """One page of the view in its saved sort (as Store.page)."""
        return _page(self._store, None, size, None, False, cursor, self.id)


class _Records:
    """What store.lists and store.views share."""

    __slots__ = ("_store",)
    _cls: Any = None
    _find: Any = None
    _ids: Any = None

    def __init__(self, store: "Store") -> None:
        self._store = store

    def get(self, record_id: int) -> Any:
        """The record with this id (NotFound if there never was one)."""
        rec = self._cls(self._store, to_i64(record_id, "id"))
        rec._read(lambda h: None)
        return rec

    def __getitem__(self, key: "int | str") -> Any:
        """``store.views[3]`` by id (as get), ``store.views["Rome"]`` by
        name (as find)."""
        return self.find(key) if isinstance(key, str) else self.get(key)

    def find(self, name: Text) -> Any:
        """The live record with this name, case-insensitively (NotFound)."""
        out = hubc_id()
        self._store._core.call(type(self)._find, byref(out), _STORE, enc(name, "name"))
        return self._cls(self._store, out.value)

    def __iter__(self) -> Iterator[Any]:
        """The live records in id order."""
        store, cls = self._store, self._cls
        return (cls(store, i) for i in _batched_ids(store, type(self)._ids))

    def list(self) -> list[Any]:
        """The live records in id order."""
        return list(self)


class Lists(_Records):
    """The lists of a store (``store.lists``)."""

    __slots__ = ()
    _cls = ContactList
    _find = staticmethod(lib.hubc_list_find)
    _ids = staticmethod(lib.hubc_list_ids)

    def create(self, name: Text, filter: Optional[Text] = None, *,
               actor: Optional[int] = None) -> ContactList:
        """A static list, or with ``filter`` an active one (compiled now:
        its errors as Store.filter's). Needs a user with "edit contacts"."""
        who = self._store._who(actor, "create list")
        out = hubc_id()
        self._store._core.call(lib.hubc_list_create, byref(out), _STORE, who,
                               enc(name, "name"), enc(filter, "filter"))
        return ContactList(self._store, out.value)


class Views(_Records):
    """The saved views of a store (``store.views``)."""

    __slots__ = ()
    _cls = View
    _find = staticmethod(lib.hubc_view_find)
    _ids = staticmethod(lib.hubc_view_ids)

    def create(self, name: Text, filter: Text, *, sort_by: Optional[Text] = None,
               descending: bool = False, actor: Optional[int] = None) -> View:
        """A saved view: a named filter and a sort (``sort_by`` None: by
        record id). A view whose filter reads itself is refused."""
        who = self._store._who(actor, "create view")
        out = hubc_id()
        self._store._core.call(lib.hubc_view_create, byref(out), _STORE, who,
                               enc(name, "name"), enc(filter, "filter"),
                               enc(sort_by, "sort_by"), 1 if descending else 0)
        return View(self._store, out.value)

