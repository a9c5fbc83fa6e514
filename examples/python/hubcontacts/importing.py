"""CSV import (I1–I10): plan, confirm, commit — the product's dialog in
two steps. Store.plan_import reads and checks the files and counts what a
commit would do, changing nothing; ImportPlan.commit takes the number of
contacts to set as marketing that the person confirmed."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from ctypes import byref, c_char_p
from dataclasses import dataclass
from typing import Any, Callable, Optional, Union

from . import _ffi
from ._core import _STORE, _Core, _Handle
from ._ffi import dec, enc, hubc_id, lib, str_array, to_int, to_size, to_u64
from .constants import Code, ImportMode, ImportPhase
from .errors import check
from .models import _enum



@dataclass(frozen=True)
class ImportProgress:
    """Where a plan or commit is (hubc_import_progress)."""
    phase: ImportPhase
    bytes_done: int   # of bytes_total, over all files
    bytes_total: int
    rows_done: int    # data rows read (CHECK) or applied (APPLY)


ProgressHandler = Callable[[ImportProgress], Any]


@dataclass(frozen=True)
class ImportSummary:
    """What a commit would do (after a plan) or did (after the commit)."""
    rows: int                # data rows in all files
    to_create: int
    to_update: int
    unchanged: int           # matched contacts whose values are already so
    to_set_marketing: int    # the number the person must confirm (I7)
    skipped: int             # rows with errors (ImportPlan.errors)
    merged: int              # rows merged into an earlier row of the same email
    unmapped_columns: int    # columns skipped (ImportPlan.unmapped)
    billable_before: int
    projected_billable: int  # billable count after the commit
    projected_tier: int      # tier after the commit (AUTO_UPGRADE may raise it)
    over_cap: bool           # HARD_CAP would refuse the commit (B5)
    import_id: int           # after a commit: the import's record id (I10); else 0


@dataclass(frozen=True)
class ImportRowError:
    """One skipped row (I5)."""
    file: int     # index into the files given to plan_import
    line: int     # physical line where the row starts (1-based)
    column: str   # the column's header, "" when the row as a whole is wrong
    code: Code
    message: str


@dataclass(frozen=True)
class ImportRecord:
    """A committed import, kept with the store (I10)."""
    id: int
    time: int
    actor: int
    mode: ImportMode
    set_marketing: bool
    files: tuple[str, ...]
    rows: int
    created: int
    updated: int
    set_as_marketing: int
    skipped: int
    merged: int

    @classmethod
    def _from_c(cls, r: _ffi.ImportRecordStruct) -> "ImportRecord":
        return cls(id=r.id, time=r.time, actor=r.actor, mode=_enum(ImportMode, r.mode),
                   set_marketing=bool(r.set_marketing),
                   files=tuple((dec(r.files) or "").splitlines()),
                   rows=r.rows, created=r.created, updated=r.updated,
                   set_as_marketing=r.set_as_marketing, skipped=r.skipped, merged=r.merged)


class ImportPlan(_Handle):
    """A planned import (hubc_import), also a context manager. Read its
    summary, errors and unmapped columns, write the error file, then
    commit() once with the confirmed number of contacts to set as
    marketing. Closing it (or the store) frees it."""

    _free = staticmethod(lib.hubc_import_free)

    def __init__(self, core: _Core, handle: Any, progress_cb: Any) -> None:
        super().__init__(core, handle)
        self._progress_cb = progress_cb  # commit reports progress too

    def _handle(self) -> Any:
        if self._h is None:
            raise ValueError("the import plan is closed")
        return self._h

    @property
    def summary(self) -> ImportSummary:
        """What a commit would do (before commit()) or did (after)."""
        out = _ffi.ImportSummaryStruct(version=_ffi.IMPORT_SUMMARY_VERSION)
        with self._core.gate, self._lock:
            self._core.call(lib.hubc_import_summary_get, self._handle(), byref(out))
        return ImportSummary(
            rows=out.rows, to_create=out.to_create, to_update=out.to_update,
            unchanged=out.unchanged, to_set_marketing=out.to_set_marketing,
            skipped=out.skipped, merged=out.merged, unmapped_columns=out.unmapped_columns,
            billable_before=out.billable_before, projected_billable=out.projected_billable,
            projected_tier=out.projected_tier, over_cap=bool(out.over_cap),
            import_id=out.import_id)

    def errors(self) -> list[ImportRowError]:
        """The skipped rows, in file order (I5)."""
        out = []
        with self._core.gate, self._lock:
            h = self._handle()
            for i in range(lib.hubc_import_error_count(h)):
                e = _ffi.ImportErrorStruct(version=_ffi.IMPORT_ERROR_VERSION)
                self._core.call(lib.hubc_import_error_at, h, i, byref(e))
                out.append(ImportRowError(file=e.file, line=e.line, column=dec(e.column) or "",
                                          code=_enum(Code, e.code), message=dec(e.message) or ""))
        return out

    def unmapped(self) -> list[str]:
        """Headers of the columns that map to no property ("file:column")."""
        out = []
        with self._core.gate, self._lock:
            h = self._handle()
            while (name := lib.hubc_import_unmapped_at(h, len(out))) is not None:
                out.append(dec(name) or "")
        return out

    def error_file(self, file: int = 0) -> str:
        """The error file of one input file (I5): its header plus
        error_line, error_column and error, then each skipped row as read."""
        with self._core.gate, self._lock:
            return self._core.collect(lib.hubc_import_write_errors, self._handle(),
                                      to_size(file, "file")).decode("utf-8", "surrogateescape")

    def commit(self, confirm_marketing: int) -> int:
        """Applies every valid row in one transaction (I8) and returns the
        import's record id. ``confirm_marketing`` must equal the number of
        contacts this commit sets as marketing (summary.to_set_marketing),
        else ConfirmMismatch names the right number and nothing changes."""
        out = hubc_id()
        with self._core.gate, self._lock:
            self._core.call(lib.hubc_import_commit, byref(out), self._handle(),
                            to_u64(confirm_marketing, "confirm_marketing"))
        return out.value


def plan_import(core: _Core, actor: int,
                files: Union[_ffi.PathLike, Sequence[_ffi.PathLike]], *,
                mode: int, set_marketing: bool, other_objects: bool,
                delimiter: Optional[str], mapping: Optional[Mapping[str, Optional[str]]],
                max_rows: int, max_bytes: int, max_columns: int,
                progress: Optional[ProgressHandler]) -> ImportPlan:
    """Store.plan_import's work (see there); actor is checked already."""
    if isinstance(files, (str, bytes, os.PathLike)):
        files = [files]
    paths, n_files = str_array([os.fsdecode(f) for f in files], "files", "file")
    opts = _ffi.ImportOptions()
    check(lib.hubc_import_options_init(byref(opts), _ffi.IMPORT_OPTIONS_VERSION))
    opts.files, opts.n_files = paths, n_files
    if delimiter is not None:
        if delimiter not in (",", ";", "\t"):
            raise ValueError(f"delimiter: {delimiter!r} is not ',', ';' or a tab")
        opts.delimiter = delimiter.encode()
    opts.mode = to_int(mode, "mode")
    opts.set_marketing = 1 if set_marketing else 0
    opts.other_objects = 1 if other_objects else 0
    if mapping:
        for c, p in mapping.items():
            if not isinstance(c, (str, bytes)) or not isinstance(p, (str, bytes, type(None))):
                raise TypeError(f"mapping: {c!r}: {p!r} is not header: property name (or None)")
        cols, n = str_array(list(mapping.keys()), "mapping", "column")
        props = (c_char_p * max(n, 1))(*[enc("" if p is None else p, f"mapping[{c!r}]")
                                          for c, p in mapping.items()])
        opts.map_columns, opts.map_properties, opts.n_map = cols, props, n
    opts.max_rows = to_u64(max_rows, "max_rows")
    opts.max_bytes = to_u64(max_bytes, "max_bytes")
    opts.max_columns = to_size(max_columns, "max_columns")
    progress_cb = None
    if progress is not None:
        def trampoline(_payload: Any, p: Any) -> int:
            try:
                c = p.contents
                return 1 if progress(ImportProgress(_enum(ImportPhase, c.phase), c.bytes_done,
                                                    c.bytes_total, c.rows_done)) else 0
            except BaseException as e:  # cancels; the call raises it
                core._fail(e)
                return 1
        progress_cb = _ffi.PROGRESS_FN(trampoline)
        opts.progress = progress_cb
    with core.gate:  # registered before close() can run
        h = core.make(lib.hubc_import_free, lib.hubc_import_plan, actor, byref(opts))
        return ImportPlan(core, h, progress_cb)


def import_record(core: _Core, record: int) -> ImportRecord:
    """The committed import with this id (I10); NotFound if none."""
    out = _ffi.ImportRecordStruct(version=_ffi.IMPORT_RECORD_VERSION)
    with core.gate:  # the file names are the store's
        core.call(lib.hubc_import_record_get, _STORE, record, byref(out))
        return ImportRecord._from_c(out)
