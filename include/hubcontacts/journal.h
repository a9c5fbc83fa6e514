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

#define HUBC_JOURNAL_OPTIONS_VERSION 1

typedef struct hubc_journal_options {
  unsigned int version;          /* HUBC_JOURNAL_OPTIONS_VERSION */
  int fsync_policy;              /* enum hubc_fsync_policy */
  unsigned int fsync_interval_ms; /* INTERVAL: 0 means 1000 */
  /* Compact automatically when the log exceeds this many bytes and is
   * more than twice the last snapshot; 0: 64 MiB; UINT64_MAX: never. */
  uint64_t auto_compact_bytes;
} hubc_journal_options;

#define HUBC_JOURNAL_OPTIONS_INIT { HUBC_JOURNAL_OPTIONS_VERSION, 0, 0, 0 }
HUBC_API int hubc_journal_options_init(hubc_journal_options *opts, unsigned int version);

typedef struct hubc_journal hubc_journal;

/* Opens (creating if needed) the journal at `path` (files path and
 * path + ".snap"). A torn tail is truncated; a damaged record before the
 * tail fails with HUBC_ECORRUPT and its offset in the message. */
HUBC_API int hubc_journal_open(hubc_journal **out, const char *path,
                               const hubc_journal_options *opts);
/* The callback table to put in hubc_store_options.persist; valid while the
 * journal is open. The store's close flushes it; the host then frees the
 * journal with hubc_journal_close (after hubc_store_close). */
HUBC_API const hubc_persist *hubc_journal_persist(hubc_journal *journal);
HUBC_API void hubc_journal_close(hubc_journal *journal);
/* Rewrites the live records into a new snapshot (temp file, fsync, rename)
 * and starts an empty log. Must not race with the store's calls. */
HUBC_API int hubc_journal_compact(hubc_journal *journal);

HUBC_END_DECLS

#endif
