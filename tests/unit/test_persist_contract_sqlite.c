/* The persistence contract (persist_contract.h: R1, R2) on the SQLite
 * backend of examples/persist_sqlite.c, with synchronous=OFF: the contract
 * is about what a commit or a rollback leaves behind, not power loss. */
#define _DEFAULT_SOURCE /* mkdtemp */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "persist_contract.h"

#define PERSIST_SQLITE_NO_MAIN
#include "../../examples/persist_sqlite.c"

typedef struct sctx {
  char dir[64], path[96];
} sctx;

static int s_open(void *ctx, hubc_persist *out) {
  int rc = persist_sqlite_open(((sctx *)ctx)->path, out);
  if (rc == 0) sqlite3_exec(((persist_sqlite *)out->userdata)->db, "PRAGMA synchronous=OFF", NULL, NULL, NULL);
  return rc;
}

static void s_release(void *ctx, hubc_persist *p) {
  (void)ctx;
  persist_sqlite_free(p);
}

static void s_wipe(void *ctx) {
  static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
  for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
    char p[128];
    snprintf(p, sizeof p, "%s%s", ((sctx *)ctx)->path, suffixes[i]);
    unlink(p);
  }
}

int main(void) {
  sctx x;
  snprintf(x.dir, sizeof x.dir, "/tmp/hubc-contract-XXXXXX");
  if (!mkdtemp(x.dir)) return 1;
  snprintf(x.path, sizeof x.path, "%s/contacts.db", x.dir);
  const pc_backend b = {"sqlite", &x, s_open, s_release, s_wipe};
  int failed = pc_run_contract(&b);
  s_wipe(&x);
  rmdir(x.dir);
  return failed ? 1 : 0;
}
