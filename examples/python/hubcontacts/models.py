"""Typed result objects: copies of what the library returns, never
referring to library memory once built."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from ctypes import byref, c_char_p, c_int, c_void_p
from dataclasses import dataclass
from typing import Any, Optional, Union

from . import _ffi
from ._ffi import dec, hubc_id, lib
from .constants import (Commitment, EventType, JournalFlag, Perm, PropFlag,
                        PropType, Source, Status, Subscription, TierPolicy)
from .errors import check


def _enum(cls: Any, value: int) -> Any:
    """The enum member for value, or the plain int for a value this package
    does not know (a newer library may add some)."""
    try:
        return cls(value)
    except ValueError:
        return value


def _reason(value: int) -> Union[Source, int]:
    return _enum(Source, value) if value else 0


_STATUS = {int(m): m for m in Status}
_SOURCE = {int(m): m for m in Source}


@dataclass(frozen=True)
class Contact(Mapping[str, str]):
    """A copy of a contact snapshot. It is a read-only mapping of its set
    properties (``contact["email"]``; stored ones first, then the computed
    ``hs_object_id``, ``createdate``, ``hs_marketable_*`` …), with the
    record's fields as attributes."""

    id: int
    status: Status
    props: dict[str, str]
    reason_type: Optional[Source]   # how it became marketing (None if never)
    reason_id: int
    source: Source                  # how it was created (D1)
    source_id: int
    created: int                    # UTC seconds
    modified: int

    __hash__ = None  # type: ignore[assignment]  # props is a dict

    @classmethod
    def _from_snapshot(cls, h: Any) -> "Contact":
        # The hot path of every read (get_many reads thousands): local
        # names, no per-property Python helper calls.
        prop_at = lib.hubc_contact_prop_at
        name, value = c_char_p(), c_char_p()
        pname, pvalue = byref(name), byref(value)
        props = {}
        for i in range(lib.hubc_contact_prop_count(h)):
            rc = prop_at(pname, pvalue, h, i)
            if rc:
                check(rc)
            props[name.value.decode("utf-8", "surrogateescape")] = \
                value.value.decode("utf-8", "surrogateescape")  # type: ignore[union-attr]
        rt, rid, src, sid = c_int(), hubc_id(), c_int(), hubc_id()
        check(lib.hubc_contact_reason(byref(rt), byref(rid), h))
        check(lib.hubc_contact_source(byref(src), byref(sid), h))
        status = lib.hubc_contact_status(h)
        return cls(id=lib.hubc_contact_id(h),
                   status=_STATUS.get(status, status),
                   props=props,
                   reason_type=_SOURCE.get(rt.value, rt.value) if rt.value else None,
                   reason_id=rid.value,
                   source=_SOURCE.get(src.value, src.value), source_id=sid.value,
                   created=lib.hubc_contact_created(h),
                   modified=lib.hubc_contact_modified(h))

    def __getitem__(self, name: str) -> str:
        return self.props[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.props)

    def __len__(self) -> int:
        return len(self.props)

    @property
    def email(self) -> Optional[str]:
        """The normalized email (C3), or None."""
        return self.props.get("email")

    @property
    def is_billable(self) -> bool:
        """MARKETING or MARKETING_UNTIL_UPDATE (M6)."""
        return self.status != Status.NON_MARKETING


@dataclass(frozen=True)
class User:
    """A copy of a user snapshot."""
    id: int
    email: str
    permissions: Perm
    super_admin: bool
    disabled: bool

    @classmethod
    def _from_snapshot(cls, h: c_void_p) -> "User":
        return cls(id=lib.hubc_user_id(h), email=dec(lib.hubc_user_email(h)) or "",
                   permissions=Perm(lib.hubc_user_permissions(h)),
                   super_admin=bool(lib.hubc_user_is_super_admin(h)),
                   disabled=bool(lib.hubc_user_is_disabled(h)))

    def can(self, permission: int) -> bool:
        """hubc_user_can: not disabled and (super admin or holds every bit)."""
        permission = int(permission)
        if self.disabled or permission == 0 or permission & ~int(Perm.ALL):
            return False
        return self.super_admin or (int(self.permissions) & permission) == permission


@dataclass(frozen=True)
class Event:
    """A copy of a hubc_event; fields that do not apply to the type are 0."""
    type: EventType
    time: int
    contact: int
    old_status: Status
    new_status: Status
    reason_type: Union[Source, int]
    reason_id: int
    actor: int
    billable: int
    tier: int
    old_tier: int
    threshold: int
    period_start: int
    period_end: int
    submission: int = 0  # SUBMISSION: the recorded submission's id (F5)

    @classmethod
    def _from_c(cls, ev: _ffi.EventStruct) -> "Event":
        return cls(
            type=_enum(EventType, ev.type), time=ev.time, contact=ev.contact,
            old_status=_enum(Status, ev.old_status),
            new_status=_enum(Status, ev.new_status),
            reason_type=_reason(ev.reason_type), reason_id=ev.reason_id,
            actor=ev.actor, billable=ev.billable, tier=ev.tier,
            old_tier=ev.old_tier, threshold=ev.threshold,
            period_start=ev.period_start, period_end=ev.period_end,
            submission=ev.submission if ev.version >= 2 else 0)


@dataclass(frozen=True)
class Billing:
    """hubc_billing_info: the account's counts and tier now (B1–B7)."""
    billable: int            # MARKETING + MARKETING_UNTIL_UPDATE (M6)
    marketing: int
    until_update: int
    non_marketing: int
    tier: int
    cap: int                 # HARD_CAP limit, 0 under AUTO_UPGRADE
    tier_policy: TierPolicy
    commitment: Commitment
    subscription: Subscription
    period_start: int
    next_update: int         # B1
    period_peak: int         # B3, B7
    downgrade_request: int   # requested tier, 0 if none (B4)
    next_renewal: int        # when a downgrade request is considered

    @classmethod
    def _from_c(cls, b: _ffi.BillingInfo) -> "Billing":
        return cls(billable=b.billable, marketing=b.marketing,
                   until_update=b.until_update, non_marketing=b.non_marketing,
                   tier=b.tier, cap=b.cap,
                   tier_policy=_enum(TierPolicy, b.tier_policy),
                   commitment=_enum(Commitment, b.commitment),
                   subscription=_enum(Subscription, b.subscription),
                   period_start=b.period_start, next_update=b.next_update,
                   period_peak=b.period_peak, downgrade_request=b.downgrade_request,
                   next_renewal=b.next_renewal)


@dataclass(frozen=True)
class Period:
    """A closed billing period (B3)."""
    number: int
    start: int
    end: int
    peak: int
    billable_at_close: int
    tier_at_close: int

    @classmethod
    def _from_c(cls, p: _ffi.PeriodStruct) -> "Period":
        return cls(number=p.number, start=p.start, end=p.end, peak=p.peak,
                   billable_at_close=p.billable_at_close, tier_at_close=p.tier_at_close)


@dataclass(frozen=True)
class HistoryEntry:
    """One marketing status change (M7)."""
    seq: int
    contact: int
    time: int
    old_status: Status
    new_status: Status
    reason_type: Union[Source, int]
    reason_id: int
    actor: int

    @classmethod
    def _from_c(cls, e: _ffi.HistoryEntryStruct) -> "HistoryEntry":
        return cls(seq=e.seq, contact=e.contact, time=e.time,
                   old_status=_enum(Status, e.old_status),
                   new_status=_enum(Status, e.new_status),
                   reason_type=_reason(e.reason_type), reason_id=e.reason_id,
                   actor=e.actor)


@dataclass(frozen=True)
class PropertyInfo:
    """A property definition (C2, C4)."""
    name: str
    label: str
    type: PropType
    flags: PropFlag
    options: tuple[str, ...]  # ENUMERATION only

    @classmethod
    def _from_c(cls, info: _ffi.PropertyInfoStruct) -> "PropertyInfo":
        return cls(name=dec(info.name) or "", label=dec(info.label) or "",
                   type=_enum(PropType, info.type), flags=PropFlag(info.flags),
                   options=tuple(dec(info.options[i]) or "" for i in range(info.n_options)))


@dataclass(frozen=True)
class JournalInfo:
    """The bundled journal's state (hubc_journal_info)."""
    flags: JournalFlag
    torn_bytes: int        # torn tail found at open: cut off (read-only: left, not read)
    log_bytes: int         # valid bytes of the log, header included
    snapshot_bytes: int    # 0: no snapshot yet
    generation: int        # compactions over the journal's life
    compactions: int       # done through this handle
    compact_failures: int  # automatic ones that failed (their commit still succeeded)

    @classmethod
    def _from_c(cls, j: _ffi.JournalInfoStruct) -> "JournalInfo":
        return cls(flags=JournalFlag(j.flags), torn_bytes=j.torn_bytes, log_bytes=j.log_bytes,
                   snapshot_bytes=j.snapshot_bytes, generation=j.generation,
                   compactions=j.compactions, compact_failures=j.compact_failures)
