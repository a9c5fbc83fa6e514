/* hubcontacts — the bundled journal backend (R3): an append-only file of
 * checksummed records, compacted into a snapshot by atomic rename. */
#ifndef HUBCONTACTS_JOURNAL_H
#define HUBCONTACTS_JOURNAL_H

#include "common.h"
#include "sys/persist.h"

HUBC_BEGIN_DECLS

enum hubc_fsync_policy {
  HUBC_FSYNC_EVERY_COMMIT = 0, /* durable when the call returns */
  HUBC_FSYNC_INTERVAL = 1,     /* at a commit when fsync_interval_ms have passed since
                                  the last sync; the last commits before the host goes
                                  idle are synced at the next commit or at close */
  HUBC_FSYNC_NEVER = 2         /* leave it to the OS */
};

#define HUBC_JOURNAL_OPTIONS_VERSION 2

typedef struct hubc_journal_options {
  unsigned int version;          /* HUBC_JOURNAL_OPTIONS_VERSION (1 and 2 accepted) */
  int fsync_policy;              /* enum hubc_fsync_policy */
  unsigned int fsync_interval_ms; /* INTERVAL: 0 means 1000 */
  /* Compact automatically when the log exceeds this many bytes and is
   * more than twice the last snapshot; 0: 64 MiB; UINT64_MAX: never. */
  uint64_t auto_compact_bytes;
  /* Version 2. Nonzero: open an existing journal read-only (for checks,
   * backups, reports): the files are opened O_RDONLY under a shared lock
   * and never written, so a journal on read-only media opens. A torn tail
   * is left in place and reported in hubc_journal_info.torn_bytes; a store
   * on it loads, and every call that would change it fails (the store
   * returns HUBC_EPERSIST with a message naming read-only) with nothing
   * changed. A missing journal is HUBC_ENOTFOUND. */
  int read_only;
} hubc_journal_options;

#define HUBC_JOURNAL_OPTIONS_INIT { HUBC_JOURNAL_OPTIONS_VERSION, 0, 0, 0, 0 }
/* Defaults for a struct of `version` (1..HUBC_JOURNAL_OPTIONS_VERSION);
 * writes only that version's fields. */
HUBC_API int hubc_journal_options_init(hubc_journal_options *opts, unsigned int version);

typedef struct hubc_journal hubc_journal;

/* Opens (creating if needed, unless read-only) the journal at `path`
 * (files path and path + ".snap"). `opts` may be NULL (defaults). A torn
 * tail is truncated; a damaged record before the tail fails with
 * HUBC_ECORRUPT and its offset in the message. A log without a valid
 * header is new only when it never held a transaction (0 bytes, or cut
 * inside the header this library writes: README "The bundled journal");
 * otherwise it is HUBC_ECORRUPT at offset 0. Another handle on the same
 * journal, in this process or another, is HUBC_EBUSY (two read-only
 * handles may share it). */
HUBC_API int hubc_journal_open(hubc_journal **out, const char *path,
                               const hubc_journal_options *opts);
/* The callback table to put in hubc_store_options.persist; valid while the
 * journal is open. One store at a time: opening a second store on it while
 * the first is open fails with HUBC_EBUSY. The store's close flushes it;
 * the host then frees the journal with hubc_journal_close (after
 * hubc_store_close). */
HUBC_API const hubc_persist *hubc_journal_persist(hubc_journal *journal);
HUBC_API void hubc_journal_close(hubc_journal *journal);
/* Rewrites the live records into a new snapshot (temp file, fsync, rename)
 * and starts an empty log. Must not race with the store's calls. A
 * read-only journal refuses it (HUBC_EREADONLY). */
HUBC_API int hubc_journal_compact(hubc_journal *journal);

#define HUBC_JOURNAL_INFO_VERSION 1

/* hubc_journal_info.flags */
#define HUBC_JOURNAL_READ_ONLY 1u /* opened with read_only */
#define HUBC_JOURNAL_FAILED 2u    /* a failed sync or compaction stopped writes: reopen */

typedef struct hubc_journal_info {
  unsigned int version;      /* set by the caller: HUBC_JOURNAL_INFO_VERSION */
  unsigned int flags;        /* HUBC_JOURNAL_READ_ONLY, HUBC_JOURNAL_FAILED */
  uint64_t torn_bytes;       /* torn tail found at open: cut off (read-only: left, not read) */
  uint64_t log_bytes;        /* valid bytes of the log, header included */
  uint64_t snapshot_bytes;   /* 0: no snapshot yet */
  uint64_t generation;       /* compactions the journal has had, over its life */
  uint64_t compactions;      /* done through this handle, explicit and automatic */
  uint64_t compact_failures; /* automatic ones that failed (their commit still succeeded) */
} hubc_journal_info;

/* Fills `out` (its version set by the caller; older versions get their
 * fields only). Must not race with the store's calls. */
HUBC_API int hubc_journal_get_info(hubc_journal_info *out, const hubc_journal *journal);

HUBC_END_DECLS

#endif
