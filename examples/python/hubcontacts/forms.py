"""Forms and submissions (F1–F6), the default road to marketing status:
``store.forms`` creates, lists and reads forms; a Form submits, switches
and lists its submissions."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from ctypes import byref, c_char_p, c_int, c_void_p
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

from . import _ffi
from ._core import _STORE, _Core, _Iterator, _Record
from ._ffi import Props, dec, enc, hubc_id, lib, pairs, to_i64
from .constants import Code, Perm
from .errors import NotFound, PermissionDenied, check

if TYPE_CHECKING:
    from .store import Store


@dataclass(frozen=True)
class FormField:
    """A field of a form (F1): the property it fills (internal name or
    label; read back, the internal name), the label shown (None: the
    property's own) and whether a submission must give it."""
    property: str
    label: Optional[str] = None
    required: bool = False


@dataclass(frozen=True)
class Submission:
    """A recorded submission (F5)."""
    id: int
    form: int                # the form's id, or the external form's (external)
    external: bool           # submitted through an external form (F6)
    contact: int
    time: int                # UTC seconds
    values: dict[str, str]   # property internal name -> submitted non-empty value

    __hash__ = None  # type: ignore[assignment]  # values is a dict

    @classmethod
    def _from_c(cls, s: _ffi.SubmissionStruct) -> "Submission":
        return cls(id=s.id, form=s.form_id, external=bool(s.external), contact=s.contact,
                   time=s.time, values={dec(s.names[i]) or "": dec(s.values[i]) or ""
                                        for i in range(s.n)})


@dataclass(frozen=True)
class Submitted:
    """What a submission did: the contact it found or created, and the
    recorded submission's id."""
    contact: int
    submission: int


class SubmissionIterator(_Iterator[Submission]):
    """Submissions, newest first (hubc_submission_iterator); those made
    after it was created are not listed."""
    _free = staticmethod(lib.hubc_submission_iterator_free)

    def _step(self) -> Optional[Submission]:
        s = _ffi.SubmissionStruct(version=_ffi.SUBMISSION_VERSION)
        rc = self._core.call(lib.hubc_submission_iterator_next, byref(s), self._h)
        return None if rc == Code.ITEROVER else Submission._from_c(s)  # copied: borrowed strings


class _FormIds(_Iterator[int]):
    _free = staticmethod(lib.hubc_form_iterator_free)

    def _step(self) -> Optional[int]:
        snap = c_void_p()
        rc = self._core.call(lib.hubc_form_iterator_next, byref(snap), self._h)
        if rc == Code.ITEROVER:
            return None
        try:
            return lib.hubc_form_id(snap)
        finally:
            lib.hubc_form_free(snap)


def _fields(fields: Any) -> tuple[Any, Any, Any, int]:
    """C arrays of properties, labels and required flags; errors name the row."""
    if isinstance(fields, (str, bytes)) or not isinstance(fields, Iterable):
        raise TypeError("fields: expected a sequence of property names or FormFields, not "
                        f"{type(fields).__name__}")
    props, labels, req = [], [], []
    for i, f in enumerate(fields):
        if isinstance(f, (str, bytes)):
            f = FormField(f)  # type: ignore[arg-type]
        elif not isinstance(f, FormField):
            raise TypeError(f"fields[{i}]: expected a property name or a FormField, not "
                            f"{type(f).__name__}")
        props.append(enc(f.property, f"fields[{i}].property"))
        labels.append(enc(f.label, f"fields[{i}].label"))
        req.append(1 if f.required else 0)
    n = len(props)
    return ((c_char_p * max(n, 1))(*props), (c_char_p * max(n, 1))(*labels),
            (c_int * max(n, 1))(*req), n)


def _submit(core: _Core, fn: Any, form: int, values: Props) -> Submitted:
    names, vals, n = pairs(values, allow_none=False)
    contact, sub = hubc_id(), hubc_id()
    core.call(fn, byref(contact), byref(sub), _STORE, form, names, vals, n)
    return Submitted(contact.value, sub.value)


class Form(_Record):
    """A stored form, by id. Its attributes read the form as it is now
    (another call may have changed it); its actions act on it, as the user
    of the store (or view) it came from unless given ``actor``. Deleted
    forms stay readable (``deleted``) with their submissions."""

    __slots__ = ()
    _get = staticmethod(lib.hubc_form_get)
    _free = staticmethod(lib.hubc_form_free)

    @property
    def name(self) -> str:
        return self._read(lambda h: dec(lib.hubc_form_name(h)) or "")

    @property
    def marketing(self) -> bool:
        """The switch "set contacts created as marketing contacts" (F4)."""
        return self._read(lambda h: lib.hubc_form_marketing(h) == 1)

    @property
    def deleted(self) -> bool:
        return self._read(lambda h: lib.hubc_form_is_deleted(h) == 1)

    @property
    def fields(self) -> tuple[FormField, ...]:
        """The fields in order, email first (properties by internal name)."""
        def read(h: Any) -> tuple[FormField, ...]:
            out = []
            prop, label, req = c_char_p(), c_char_p(), c_int()
            for i in range(lib.hubc_form_field_count(h)):
                check(lib.hubc_form_field_at(byref(prop), byref(label), byref(req), h, i))
                out.append(FormField(dec(prop.value) or "", dec(label.value), bool(req.value)))
            return tuple(out)
        return self._read(read)

    def update(self, *, name: Optional[_ffi.Text] = None, fields: Optional[Iterable[Any]] = None,
               actor: Optional[int] = None) -> None:
        """Replaces the name and/or the fields (None keeps them); needs a
        user. Recorded submissions keep what they were."""
        props = labels = req = None
        n = 0
        if fields is not None:
            props, labels, req, n = _fields(fields)
        self._act(lib.hubc_form_update, "update form", actor, enc(name, "name"),
                  props, labels, req, n)

    def set_marketing(self, on: bool, *, actor: Optional[int] = None) -> None:
        """Turns the marketing switch on or off (F4); needs P2 (D2)."""
        self._act(lib.hubc_form_set_marketing, "set form marketing", actor, 1 if on else 0)

    def delete(self, *, actor: Optional[int] = None) -> None:
        """Deletes the form: later submissions are refused (NotFound); its
        submissions stay listed."""
        self._act(lib.hubc_form_delete, "delete form", actor)

    def submit(self, values: Props) -> Submitted:
        """Submits {field: value} as SYSTEM (P5). Validated whole first (F2):
        an unknown, repeated (as pairs) or missing required field, a bad
        email or value raises with the field named and changes nothing.
        Then finds the contact by email or creates it (F3) and, with the
        switch on, makes it MARKETING (F4). HARD_CAP refuses it whole
        (LimitExceeded, B5)."""
        return _submit(self._store._core, lib.hubc_form_submit, self.id, values)

    def submissions(self) -> SubmissionIterator:
        """This form's submissions, newest first."""
        return self._store.forms.submissions(form=self.id)


class Forms:
    """The forms of a store (``store.forms``)."""

    __slots__ = ("_store",)

    def __init__(self, store: "Store") -> None:
        self._store = store

    def create(self, name: _ffi.Text, fields: Iterable[Any] = (), *, marketing: bool = True,
               actor: Optional[int] = None) -> Form:
        """Creates a form (F1): a name and its fields in order, each a
        property name or label or a FormField. The email field is always
        there, first and required. ``marketing``: the switch "set contacts
        created as marketing contacts"; turning it off needs P2 (D2), and
        without P2 nothing is created. Needs a user."""
        store = self._store
        who = store._who(actor, "create form")
        props, labels, req, n = _fields(fields)
        if not marketing:  # checked first so that a refusal creates nothing
            try:
                user = store.user(who)
            except NotFound:
                user = None  # not a user: the create below refuses it
            if user is not None and not user.can(Perm.MARKETING_ACCESS):
                raise PermissionDenied(Code.PERM, f"create form: user {who} lacks marketing "
                                       "contact access (P2), needed to create a form with "
                                       "its marketing switch off; nothing created")
        out = hubc_id()
        core = store._core
        core.call(lib.hubc_form_create, byref(out), _STORE, who, enc(name, "name"),
                  props, labels, req, n)
        form = Form(store, out.value)
        if not marketing:
            try:
                form.set_marketing(False, actor=who)
            except BaseException:  # P2 lost meanwhile: do not leave a form on
                form.delete(actor=who)
                raise
        return form

    def get(self, form_id: int) -> Form:
        """The form with this id (NotFound if there never was one)."""
        form = Form(self._store, to_i64(form_id, "form"))
        form._read(lambda h: None)
        return form

    def __iter__(self) -> Iterator[Form]:
        """Every form, deleted ones included, in id order."""
        store = self._store
        with store._iterate(_FormIds, lib.hubc_form_iterator_new) as ids:
            for i in ids:
                yield Form(store, i)

    def list(self) -> list[Form]:
        """Every form, deleted ones included, in id order."""
        return list(self)

    def submit_external(self, external_form: int, values: Props) -> Submitted:
        """A submission of a non-HubSpot form (F6) with the host's id of that
        form (> 0): any writable properties, source EXTERNAL_FORM, marketing
        by the store-wide switch (store.set_source_default(
        Source.EXTERNAL_FORM, on)). Validated as Form.submit."""
        return _submit(self._store._core, lib.hubc_form_submit_external,
                       to_i64(external_form, "external_form"), values)

    def submissions(self, *, form: int = 0, contact: int = 0,
                    external: bool = False) -> SubmissionIterator:
        """Recorded submissions, newest first, of one form (with
        ``external``: the external form with that id) and/or one contact;
        0 means any."""
        return self._store._iterate(SubmissionIterator, lib.hubc_submission_iterator_new,
                                    to_i64(form, "form"), 1 if external else 0,
                                    to_i64(contact, "contact"))
