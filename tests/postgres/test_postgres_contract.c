/* The persistence contract (tests/unit/persist_contract.h: R1, R2) on the
 * PostgreSQL backend of examples/persist_postgres.c, against the server of
 * HUBC_PG_CONNINFO (skipped, exit 77, without one). Every open attaches
 * the account to one shared connection, as a host serving many accounts
 * does (and a connection costs ~0.1 s on the test machine); fresh
 * connections per open are the fault tests' business. */
#include <stdio.h>
#include <stdlib.h>

#include "persist_contract.h"

#define PERSIST_POSTGRES_NO_MAIN
#include "../../examples/persist_postgres.c"

#include "pg_testutil.h"

typedef struct pctx {
  persist_postgres_conn *conn;
  int64_t account;
  PGconn *admin;
} pctx;

static int p_open(void *ctx, hubc_persist *out) {
  pctx *x = ctx;
  char err[512];
  int rc = persist_postgres_attach(x->conn, x->account, out, err, sizeof err);
  if (rc) fprintf(stderr, "persist_postgres_attach: %s\n", err);
  return rc;
}

static void p_release(void *ctx, hubc_persist *p) {
  (void)ctx;
  persist_postgres_free(p);
}

static void p_wipe(void *ctx) {
  pctx *x = ctx;
  char sql[128];
  snprintf(sql, sizeof sql, "DELETE FROM hubc_records WHERE account_id = %lld", (long long)x->account);
  pg_exec(x->admin, sql);
}

int main(void) {
  pctx x;
  const char *conninfo = pg_conninfo_or_skip("test_postgres_contract");
  x.account = pg_account(1);
  char err[512];
  x.conn = persist_postgres_connect(conninfo, err, sizeof err); /* creates the table */
  if (!x.conn) {
    fprintf(stderr, "connect: %s\n", err);
    return 1;
  }
  /* what a commit leaves is checked, not its durability: no WAL flush wait */
  PQclear(PQexec(x.conn->pg, "SET synchronous_commit = off"));
  x.admin = pg_admin(conninfo);
  const pc_backend b = {"postgres", &x, p_open, p_release, p_wipe};
  int failed = pc_run_contract(&b);
  p_wipe(&x);
  PQfinish(x.admin);
  persist_postgres_disconnect(x.conn);
  return failed ? 1 : 0;
}
