"""Workflows (W1–W7) from Python: ``Workflows(store)`` defines, activates,
deactivates, deletes and reads workflows, registers host actions as Python
callables, and reads enrollments and their histories. The engine runs on
``store.tick()``.

A host action is called with a ``WorkflowCall`` on the thread calling
``store.tick()``, with no store lock held; calls into the same store from
it raise ``Busy``. It succeeds by returning None or True; returning False or
raising is a failure, retried with growing waits (W6; the exception is not
re-raised: the history holds the attempt). (enrollment, step) identifies the
step for a host that must act once."""

from __future__ import annotations

from ctypes import (CFUNCTYPE, POINTER, Structure, byref, c_char_p, c_int, c_size_t, c_uint,
                    c_void_p, pointer)
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence, Union

from ._core import _STORE
from ._ffi import dec, enc, hubc_id, hubc_time, lib, to_i64
from .constants import Code

if TYPE_CHECKING:
    from .store import Store

WF_ACTION_VERSION = 2
WORKFLOW_DEF_VERSION = 2
WF_CALL_VERSION = 1
ENROLLMENT_VERSION = 1
WF_LOG_VERSION = 1

_SET_STATUS, _SET_PROPERTY, _DELAY, _HOST, _LIST_ADD, _LIST_REMOVE = 1, 2, 3, 4, 5, 6
_STATES = {1: "active", 2: "finished", 3: "ended"}
_EVENTS = {1: "enrolled", 2: "done", 3: "skipped", 4: "failed", 5: "waiting", 6: "finished", 7: "ended"}


class _Action(Structure):
    _fields_ = [("version", c_uint), ("type", c_int), ("marketing", c_int), ("property", c_char_p),
                ("value", c_char_p), ("seconds", hubc_time), ("until", hubc_time), ("name", c_char_p),
                ("payload", c_char_p), ("list", hubc_id)]


class _Def(Structure):
    _fields_ = [("version", c_uint), ("name", c_char_p), ("trigger_form", hubc_id),
                ("trigger_filter", c_char_p), ("enroll_existing", c_int), ("reenroll", c_int),
                ("actions", POINTER(POINTER(_Action))), ("n_actions", c_size_t),
                ("trigger_external_form", hubc_id)]  # version 2 (F6)


class _Call(Structure):
    _fields_ = [("version", c_uint), ("workflow", hubc_id), ("enrollment", hubc_id), ("contact", hubc_id),
                ("step", c_size_t), ("attempt", c_uint), ("time", hubc_time), ("name", c_char_p),
                ("payload", c_char_p)]


class _Enrollment(Structure):
    _fields_ = [("version", c_uint), ("id", hubc_id), ("workflow", hubc_id), ("contact", hubc_id),
                ("state", c_int), ("step", c_size_t), ("attempts", c_uint), ("enrolled", hubc_time),
                ("due", hubc_time)]


class _Log(Structure):
    _fields_ = [("version", c_uint), ("time", hubc_time), ("event", c_int), ("step", c_size_t),
                ("attempt", c_uint), ("code", c_int), ("wait", hubc_time), ("until", hubc_time),
                ("message", c_char_p)]


_ACTION_FN = CFUNCTYPE(c_int, c_void_p, POINTER(_Call))
_P = c_void_p
for _name, _res, _args in [
        ("hubc_workflow_create", c_int, [POINTER(hubc_id), _P, hubc_id, POINTER(_Def)]),
        ("hubc_workflow_update", c_int, [_P, hubc_id, hubc_id, POINTER(_Def)]),
        ("hubc_workflow_activate", c_int, [_P, hubc_id, hubc_id]),
        ("hubc_workflow_deactivate", c_int, [_P, hubc_id, hubc_id]),
        ("hubc_workflow_delete", c_int, [_P, hubc_id, hubc_id]),
        ("hubc_workflow_get", c_int, [POINTER(c_void_p), _P, hubc_id]),
        ("hubc_workflow_free", None, [_P]),
        ("hubc_workflow_id", hubc_id, [_P]),
        ("hubc_workflow_is_active", c_int, [_P]),
        ("hubc_workflow_is_deleted", c_int, [_P]),
        ("hubc_workflow_definition", c_int, [POINTER(_Def), _P]),
        ("hubc_workflow_iterator_new", c_int, [POINTER(c_void_p), _P]),
        ("hubc_workflow_iterator_next", c_int, [POINTER(c_void_p), _P]),
        ("hubc_workflow_iterator_free", None, [_P]),
        ("hubc_workflow_register_action", c_int, [_P, c_char_p, c_int, _ACTION_FN, _P]),
        ("hubc_workflow_set_retry", c_int, [_P, hubc_time, hubc_time]),
        ("hubc_enrollment_get", c_int, [POINTER(_Enrollment), _P, hubc_id]),
        ("hubc_enrollment_iterator_new", c_int, [POINTER(c_void_p), _P, hubc_id, hubc_id]),
        ("hubc_enrollment_iterator_next", c_int, [POINTER(_Enrollment), _P]),
        ("hubc_enrollment_iterator_free", None, [_P]),
        ("hubc_wf_log_iterator_new", c_int, [POINTER(c_void_p), _P, hubc_id]),
        ("hubc_wf_log_iterator_next", c_int, [POINTER(_Log), _P]),
        ("hubc_wf_log_iterator_free", None, [_P])]:
    _fn = getattr(lib, _name)
    _fn.restype, _fn.argtypes = _res, _args
del _name, _res, _args, _fn


@dataclass(frozen=True)
class SetStatus:
    """Set marketing contact status (W4): M3 or M4 with reason (WORKFLOW,
    the workflow's id). Adding one needs P2."""
    marketing: bool


@dataclass(frozen=True)
class SetProperty:
    """Set a (writable) property; "" removes it."""
    property: str
    value: str


@dataclass(frozen=True)
class Delay:
    """Wait ``seconds`` from when the step is reached, or ``until`` a time."""
    seconds: int = 0
    until: int = 0


@dataclass(frozen=True)
class HostAction:
    """A host action registered by name (Workflows.register_action)."""
    name: str
    payload: str = ""


@dataclass(frozen=True)
class ListAdd:
    """Add the contact to a live static list (already a member: done)."""
    list: int


@dataclass(frozen=True)
class ListRemove:
    """Remove the contact from a static list (not a member: done)."""
    list: int


Action = Union[SetStatus, SetProperty, Delay, HostAction, ListAdd, ListRemove]


@dataclass(frozen=True)
class Workflow:
    id: int
    name: str
    active: bool
    deleted: bool
    form: Optional[int]
    filter: Optional[str]
    enroll_existing: bool
    reenroll: bool
    actions: tuple[Action, ...]
    external_form: Optional[int] = None  # F6: the host's external form id


@dataclass(frozen=True)
class WorkflowCall:
    """What a host action is asked to do."""
    workflow: int
    enrollment: int
    contact: int
    step: int
    attempt: int
    time: int
    name: str
    payload: str


@dataclass(frozen=True)
class Enrollment:
    id: int
    workflow: int
    contact: int
    state: str     # "active" (paused while the workflow is inactive), "finished", "ended"
    step: int      # the next action to run
    attempts: int  # failed attempts of that step so far
    enrolled: int
    due: int


@dataclass(frozen=True)
class LogEntry:
    time: int
    event: str     # enrolled, done, skipped, failed, waiting, finished, ended
    step: int
    attempt: int
    code: int
    wait: int      # failed: seconds until the retry
    until: int     # waiting: when the next step runs
    message: str


def _c_action(a: Action, i: int) -> _Action:
    c = _Action(version=WF_ACTION_VERSION)
    if isinstance(a, SetStatus):
        c.type, c.marketing = _SET_STATUS, 1 if a.marketing else 0
    elif isinstance(a, SetProperty):
        c.type = _SET_PROPERTY
        c.property, c.value = enc(a.property, f"action {i} property"), enc(a.value, f"action {i} value")
    elif isinstance(a, Delay):
        c.type, c.seconds, c.until = _DELAY, to_i64(a.seconds, f"action {i} seconds"), to_i64(a.until, f"action {i} until")
    elif isinstance(a, HostAction):
        c.type = _HOST
        c.name, c.payload = enc(a.name, f"action {i} name"), enc(a.payload, f"action {i} payload")
    elif isinstance(a, (ListAdd, ListRemove)):
        c.type = _LIST_ADD if isinstance(a, ListAdd) else _LIST_REMOVE
        c.list = to_i64(a.list, f"action {i} list")
    else:
        raise TypeError(f"action {i}: expected SetStatus, SetProperty, Delay, HostAction, ListAdd or ListRemove, "
                        f"not {type(a).__name__}")
    return c


def _py_action(c: _Action) -> Action:
    if c.type == _SET_STATUS:
        return SetStatus(bool(c.marketing))
    if c.type == _SET_PROPERTY:
        return SetProperty(dec(c.property) or "", dec(c.value) or "")
    if c.type == _DELAY:
        return Delay(c.seconds, c.until)
    if c.type == _LIST_ADD:
        return ListAdd(c.list)
    if c.type == _LIST_REMOVE:
        return ListRemove(c.list)
    return HostAction(dec(c.name) or "", dec(c.payload) or "")


class Workflows:
    """The workflows of a store. Creating or activating one on a STARTER
    store raises TierError (W1); editing needs "edit workflows", a status
    action P2 (W4). A definition is checked whole: the error names the
    action by index and nothing changes."""

    def __init__(self, store: "Store") -> None:
        self._store = store
        core = store._core
        if not hasattr(core, "_wf_actions"):  # the callbacks live as long as the store
            core._wf_actions = {}

    def _def(self, name: Any, actions: Sequence[Action], form: Optional[int], filter: Optional[str],
             enroll_existing: bool, reenroll: bool, external_form: Optional[int]) -> tuple[_Def, Any]:
        acts = [_c_action(a, i) for i, a in enumerate(actions)]
        ptrs = (POINTER(_Action) * max(len(acts), 1))(*[pointer(a) for a in acts])
        d = _Def(version=WORKFLOW_DEF_VERSION, name=enc(name, "name"),
                 trigger_form=to_i64(form or 0, "form"), trigger_filter=enc(filter, "filter"),
                 enroll_existing=1 if enroll_existing else 0, reenroll=1 if reenroll else 0,
                 actions=ptrs, n_actions=len(acts),
                 trigger_external_form=to_i64(external_form or 0, "external_form"))
        return d, (acts, ptrs)  # the second keeps the arrays alive for the call

    def create(self, name: str, actions: Sequence[Action], *, form: Optional[int] = None,
               filter: Optional[str] = None, enroll_existing: bool = False, reenroll: bool = False,
               external_form: Optional[int] = None, actor: Optional[int] = None) -> int:
        """Creates an inactive workflow; returns its id. external_form: a
        submission of that external form (forms.submit_external) enrolls (F6)."""
        who = self._store._who(actor, "create workflow")
        d, keep = self._def(name, actions, form, filter, enroll_existing, reenroll, external_form)
        out = hubc_id()
        self._store._core.call(lib.hubc_workflow_create, byref(out), _STORE, who, byref(d))
        del keep
        return out.value

    def update(self, workflow: int, name: str, actions: Sequence[Action], *, form: Optional[int] = None,
               filter: Optional[str] = None, enroll_existing: bool = False, reenroll: bool = False,
               external_form: Optional[int] = None, actor: Optional[int] = None) -> None:
        """Replaces an inactive workflow's definition (an active one is
        refused); its unfinished enrollments end."""
        who = self._store._who(actor, "update workflow")
        d, keep = self._def(name, actions, form, filter, enroll_existing, reenroll, external_form)
        self._store._core.call(lib.hubc_workflow_update, _STORE, who, to_i64(workflow, "workflow"), byref(d))
        del keep

    def _set(self, fn: Any, what: str, workflow: int, actor: Optional[int]) -> None:
        who = self._store._who(actor, what)
        self._store._core.call(fn, _STORE, who, to_i64(workflow, "workflow"))

    def activate(self, workflow: int, *, actor: Optional[int] = None) -> None:
        self._set(lib.hubc_workflow_activate, "activate workflow", workflow, actor)

    def deactivate(self, workflow: int, *, actor: Optional[int] = None) -> None:
        """Stops its enrollments where they are; they resume on activation."""
        self._set(lib.hubc_workflow_deactivate, "deactivate workflow", workflow, actor)

    def delete(self, workflow: int, *, actor: Optional[int] = None) -> None:
        """Ends its unfinished enrollments; everything stays readable."""
        self._set(lib.hubc_workflow_delete, "delete workflow", workflow, actor)

    def get(self, workflow: int) -> Workflow:
        core = self._store._core
        snap = c_void_p()
        core.call(lib.hubc_workflow_get, byref(snap), _STORE, to_i64(workflow, "workflow"))
        try:
            d = _Def(version=WORKFLOW_DEF_VERSION)
            core.call(lib.hubc_workflow_definition, byref(d), snap)
            return Workflow(id=lib.hubc_workflow_id(snap), name=dec(d.name) or "",
                            active=bool(lib.hubc_workflow_is_active(snap)),
                            deleted=bool(lib.hubc_workflow_is_deleted(snap)),
                            form=d.trigger_form or None, filter=dec(d.trigger_filter),
                            enroll_existing=bool(d.enroll_existing), reenroll=bool(d.reenroll),
                            actions=tuple(_py_action(d.actions[i].contents) for i in range(d.n_actions)),
                            external_form=d.trigger_external_form or None)
        finally:
            lib.hubc_workflow_free(snap)

    def list(self) -> list[Workflow]:
        """Every workflow, deleted ones included, in id order."""
        core = self._store._core
        it = c_void_p()
        core.call(lib.hubc_workflow_iterator_new, byref(it), _STORE)
        ids = []
        try:
            snap = c_void_p()
            while core.call(lib.hubc_workflow_iterator_next, byref(snap), it) != Code.ITEROVER:
                ids.append(lib.hubc_workflow_id(snap))
                lib.hubc_workflow_free(snap)
        finally:
            lib.hubc_workflow_iterator_free(it)
        return [self.get(i) for i in ids]

    def register_action(self, name: str, fn: Optional[Callable[[WorkflowCall], Any]], *,
                        marketing: bool = False) -> None:
        """Registers (or with fn None removes) a host action. ``marketing``:
        it skips NON_MARKETING contacts, logging "non-marketing contact"
        (W5). Not stored: register again after every open."""
        core = self._store._core
        key = enc(name, "name")
        if fn is None:
            core.call(lib.hubc_workflow_register_action, _STORE, key, 0, _ACTION_FN(), None)
            core._wf_actions.pop(key, None)
            return

        def trampoline(_payload: Any, call: Any) -> int:
            c = call.contents
            try:
                ok = fn(WorkflowCall(workflow=c.workflow, enrollment=c.enrollment, contact=c.contact,
                                     step=c.step, attempt=c.attempt, time=c.time,
                                     name=dec(c.name) or "", payload=dec(c.payload) or ""))
                return 0 if ok is None or ok is True else 1
            except BaseException:  # never unwinds through C: a failed attempt, retried (W6)
                return 2

        cb = _ACTION_FN(trampoline)
        core.call(lib.hubc_workflow_register_action, _STORE, key, 1 if marketing else 0, cb, None)
        core._wf_actions[key] = cb

    def set_retry(self, first_wait: int = 0, max_wait: int = 0) -> None:
        """W6 waits: first_wait seconds (default 60), doubling, capped at
        max_wait (default 3600); 0 keeps a default. Not stored."""
        self._store._core.call(lib.hubc_workflow_set_retry, _STORE, to_i64(first_wait, "first_wait"),
                               to_i64(max_wait, "max_wait"))

    def enrollment(self, enrollment: int) -> Enrollment:
        e = _Enrollment(version=ENROLLMENT_VERSION)
        self._store._core.call(lib.hubc_enrollment_get, byref(e), _STORE, to_i64(enrollment, "enrollment"))
        return _enrollment(e)

    def enrollments(self, workflow: int = 0, contact: int = 0) -> list[Enrollment]:
        """Enrollments in id order, of one workflow and/or contact (0: any)."""
        core = self._store._core
        it = c_void_p()
        core.call(lib.hubc_enrollment_iterator_new, byref(it), _STORE, to_i64(workflow, "workflow"),
                  to_i64(contact, "contact"))
        out = []
        try:
            e = _Enrollment(version=ENROLLMENT_VERSION)
            while core.call(lib.hubc_enrollment_iterator_next, byref(e), it) != Code.ITEROVER:
                out.append(_enrollment(e))
        finally:
            lib.hubc_enrollment_iterator_free(it)
        return out

    def history(self, enrollment: int) -> list[LogEntry]:
        """Every step and attempt of an enrollment, oldest first (W6)."""
        core = self._store._core
        it = c_void_p()
        core.call(lib.hubc_wf_log_iterator_new, byref(it), _STORE, to_i64(enrollment, "enrollment"))
        out = []
        try:
            lg = _Log(version=WF_LOG_VERSION)
            while core.call(lib.hubc_wf_log_iterator_next, byref(lg), it) != Code.ITEROVER:
                out.append(LogEntry(time=lg.time, event=_EVENTS.get(lg.event, "?"), step=lg.step,
                                    attempt=lg.attempt, code=lg.code, wait=lg.wait, until=lg.until,
                                    message=dec(lg.message) or ""))
        finally:
            lib.hubc_wf_log_iterator_free(it)
        return out


def _enrollment(e: _Enrollment) -> Enrollment:
    return Enrollment(id=e.id, workflow=e.workflow, contact=e.contact, state=_STATES.get(e.state, "?"),
                      step=e.step, attempts=e.attempts, enrolled=e.enrolled, due=e.due)


__all__ = ["Workflows", "Workflow", "SetStatus", "SetProperty", "Delay", "HostAction", "ListAdd", "ListRemove", "WorkflowCall",
           "Enrollment", "LogEntry"]
