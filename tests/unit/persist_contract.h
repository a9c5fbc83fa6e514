/* The persistence contract (R1, R2) as one cmocka suite that any backend
 * runs: the bundled journal, the SQLite example backend and the PostgreSQL
 * example backend each have a small driver that describes how to open,
 * release and empty its storage.
 *
 * What it checks, through a shim between the store and the backend that
 * mirrors every committed transaction and can fail any callback:
 *   - a store holding every record kind reopens identical (round trip), and
 *     identical to a store loaded from the mirror in shuffled orders;
 *   - every mutating call, failing at every callback (-1 and HUBC_EAGAIN),
 *     leaves the store and the backend's storage as before, and the same
 *     call then succeeds and persists (a failing put or del has already
 *     reached the backend: its rollback must drop it);
 *   - a long seeded random workload (creates, batches, updates, deletes,
 *     statuses, update dates) reopens identical at every checkpoint. */
#ifndef HUBC_PERSIST_CONTRACT_H
#define HUBC_PERSIST_CONTRACT_H

#include <hubcontacts.h>

typedef struct pc_backend {
  const char *name;
  void *ctx;
  /* Opens the backend on its storage (which persists across opens); 0 or
   * a nonzero code with a message on stderr. */
  int (*open)(void *ctx, hubc_persist *out);
  /* Releases what open made: after hubc_store_close (which already called
   * the table's close), or after a failed hubc_store_open. */
  void (*release)(void *ctx, hubc_persist *p);
  /* Empties the storage: the next open starts a new store. */
  void (*wipe)(void *ctx);
} pc_backend;

/* Runs the suite against b; returns the number of failed tests. */
int pc_run_contract(const pc_backend *b);

#endif
