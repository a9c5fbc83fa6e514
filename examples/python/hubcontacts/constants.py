"""The library's enums and limits as Python IntEnum / IntFlag classes."""

from __future__ import annotations

import enum
from typing import Final

SYSTEM: Final = 0
"""HUBC_SYSTEM: the actor of automatic sources (forms, workflows, imports
by integrations). It may change data but not configuration."""

MAX_VALUE_BYTES: Final = 65536       # C4
MAX_CONTACT_PROPERTIES: Final = 1000  # C4
MAX_EMAIL_BYTES: Final = 254          # C3
MAX_CLOCK_JUMP_DEFAULT: Final = 315576000  # B2a: 10 years of 365.25 days
FILTER_MAX_BYTES: Final = 1048576  # S1: a filter text
FILTER_MAX_DEPTH: Final = 64       # S1: nested parentheses and NOTs


class Code(enum.IntEnum):
    """enum hubc_status_code (errors.h): 0, ITEROVER or a negative error."""
    OK = 0
    ITEROVER = 1
    INVAL = -1
    NOMEM = -2
    NOTFOUND = -3
    EXISTS = -4
    READONLY = -5
    LIMIT = -6
    PERM = -7
    CONFIRM = -8
    TIER = -9
    PERSIST = -10
    AGAIN = -11
    BUSY = -12
    CORRUPT = -13
    IO = -14
    CANCELED = -15
    VERSION = -16


class Status(enum.IntEnum):
    """enum hubc_marketing_status (M2)."""
    NON_MARKETING = 0
    MARKETING = 1
    MARKETING_UNTIL_UPDATE = 2


class Source(enum.IntEnum):
    """enum hubc_source (D1): creation sources and status reason types."""
    MANUAL = 1
    IMPORT = 2
    FORM = 3
    EXTERNAL_FORM = 4
    CHATFLOW = 5
    INTEGRATION = 6
    MOBILE_APP = 7
    ONE_TO_ONE_EMAIL = 8
    TEAM_INBOX = 9
    DOCUMENT = 10
    MEETINGS = 11
    EMAIL_EXTENSION = 12
    WORKFLOW = 13
    BULK = 14         # reason type of bulk actions
    UPDATE_DATE = 15  # reason type of M5 at an update date


class Perm(enum.IntFlag):
    """enum hubc_permission (P1); DEFAULT is what a new user gets (P2)."""
    EDIT_CONTACTS = 1 << 0
    IMPORT = 1 << 1
    EDIT_WORKFLOWS = 1 << 2
    MARKETING_ACCESS = 1 << 3  # P2
    MANAGE_USERS = 1 << 4
    DEFAULT = EDIT_CONTACTS | IMPORT | EDIT_WORKFLOWS | MARKETING_ACCESS
    ALL = DEFAULT | MANAGE_USERS


class Select(enum.IntEnum):
    """enum hubc_select: which contacts an iteration walks."""
    ALL = 0
    BILLABLE = 1
    MARKETING = 2
    UNTIL_UPDATE = 3
    NON_MARKETING = 4
    UNREACHABLE = 5  # billable but opted out or hard-bounced (M8)


class EventType(enum.IntEnum):
    """enum hubc_event_type."""
    STATUS = 1          # a contact's marketing status changed
    ALERT = 2           # the billable count crossed a threshold (B6)
    TIER_UPGRADE = 3    # B4
    TIER_DOWNGRADE = 4  # a downgrade request applied at renewal
    PERIOD_CLOSED = 5   # B2, B3
    SUBMISSION = 6      # a form was submitted (F5): reason FORM or EXTERNAL_FORM


class BulkAction(enum.IntEnum):
    """enum hubc_bulk_action (S4, S5)."""
    SET_MARKETING = 1      # M3 on each selected contact
    SET_NON_MARKETING = 2  # M4: pending until the update date


class Preset(enum.IntEnum):
    """enum hubc_filter_preset: filters the product offers ready-made."""
    UNENGAGED = 1  # S5: billable contacts that are hard-bounced or opted out (M8)


class Subscription(enum.IntEnum):
    """enum hubc_subscription."""
    STARTER = 0
    PROFESSIONAL = 1
    ENTERPRISE = 2


class Commitment(enum.IntEnum):
    """enum hubc_commitment (B1)."""
    MONTHLY = 0  # update date: the renewal day each month
    ANNUAL = 1   # update date: the 1st of each month


class TierPolicy(enum.IntEnum):
    """enum hubc_tier_policy."""
    AUTO_UPGRADE = 0  # B4: the tier rises to fit
    HARD_CAP = 1      # B5: refuse what would pass the cap


class PropType(enum.IntEnum):
    """enum hubc_prop_type (C4)."""
    STRING = 0
    NUMBER = 1
    BOOL = 2
    DATETIME = 3
    ENUMERATION = 4


class PropFlag(enum.IntFlag):
    """enum hubc_prop_flags."""
    BUILTIN = 1 << 0
    READONLY = 1 << 1  # C6: refused by the generic setter
    COMPUTED = 1 << 2  # derived from the record, not stored


class FsyncPolicy(enum.IntEnum):
    """enum hubc_fsync_policy: when the journal syncs to disk."""
    EVERY_COMMIT = 0  # durable when the call returns
    INTERVAL = 1      # at a commit once fsync_interval_ms have passed
    NEVER = 2         # left to the OS


class ImportMode(enum.IntEnum):
    """enum hubc_import_mode: which rows an import applies."""
    CREATE_AND_UPDATE = 0
    CREATE_ONLY = 1  # rows matching a contact are skipped
    UPDATE_ONLY = 2  # rows matching no contact are skipped


class ImportPhase(enum.IntEnum):
    """enum hubc_import_phase: what an import's progress reports."""
    READ = 0   # reading the files
    CHECK = 1  # parsing and validating rows
    APPLY = 2  # commit: writing contacts


class JournalFlag(enum.IntFlag):
    """hubc_journal_info.flags."""
    READ_ONLY = 1  # opened with read_only
    FAILED = 2     # a failed sync or compaction stopped writes: reopen
