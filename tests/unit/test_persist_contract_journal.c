/* The persistence contract (persist_contract.h: R1, R2) on the bundled
 * journal (R3). Without fsync: the contract is about what a commit or a
 * rollback leaves behind, not about power loss (test_persist_journal). */
#define _DEFAULT_SOURCE /* mkdtemp */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "persist_contract.h"

typedef struct jctx {
  char dir[64], path[96], snap[112];
  hubc_journal *j;
} jctx;

static int j_open(void *ctx, hubc_persist *out) {
  jctx *x = ctx;
  hubc_journal_options o = HUBC_JOURNAL_OPTIONS_INIT;
  o.fsync_policy = HUBC_FSYNC_NEVER;
  int rc = hubc_journal_open(&x->j, x->path, &o);
  if (rc) {
    fprintf(stderr, "journal open: %s\n", hubc_error_last());
    return rc;
  }
  *out = *hubc_journal_persist(x->j);
  return 0;
}

static void j_release(void *ctx, hubc_persist *p) {
  jctx *x = ctx;
  hubc_journal_close(x->j);
  x->j = NULL;
  memset(p, 0, sizeof *p);
}

static void j_wipe(void *ctx) {
  jctx *x = ctx;
  unlink(x->path);
  unlink(x->snap);
}

int main(void) {
  jctx x = {0};
  snprintf(x.dir, sizeof x.dir, "/tmp/hubc-contract-XXXXXX");
  if (!mkdtemp(x.dir)) return 1;
  snprintf(x.path, sizeof x.path, "%s/contacts.journal", x.dir);
  snprintf(x.snap, sizeof x.snap, "%s.snap", x.path);
  const pc_backend b = {"journal", &x, j_open, j_release, j_wipe};
  int failed = pc_run_contract(&b);
  j_wipe(&x);
  rmdir(x.dir);
  return failed ? 1 : 0;
}
