/* R2 and one writer per account on the PostgreSQL backend
 * (examples/persist_postgres.c), against the server of HUBC_PG_CONNINFO:
 * a connection cut in the middle of COMMIT, a real serialization failure,
 * a statement timeout, two processes opening one account, two accounts on
 * one connection. Skipped (exit 77) without a server. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

#define PERSIST_POSTGRES_NO_MAIN
#include "../../examples/persist_postgres.c"

#include "pg_testutil.h"

static const char *conninfo;
static PGconn *admin;

/* ---- helpers ------------------------------------------------------------ */

typedef struct acct {
  int64_t id;
  hubc_persist p;
  tu_clock clock;
  hubc_store *s;
} acct;

static void sqlf(const char *fmt, ...) {
  char sql[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(sql, sizeof sql, fmt, ap);
  va_end(ap);
  pg_exec(admin, sql);
}

/* Opens the account on its own connection (conninfo + extra); rc. */
static int acct_open_rc(acct *a, const char *extra, char *err, size_t errlen) {
  char ci[1024];
  snprintf(ci, sizeof ci, "%s %s", conninfo, extra ? extra : "");
  int rc = persist_postgres_open(ci, a->id, &a->p, err, errlen);
  if (rc) return rc;
  a->clock.now = tu_time(2024, 3, 10, 12, 0, 0);
  hubc_store_options o;
  hubc_store_options_init(&o, HUBC_STORE_OPTIONS_VERSION);
  o.clock = tu_clock_fn;
  o.clock_payload = &a->clock;
  o.admin_email = "admin@example.com";
  o.persist = &a->p;
  rc = hubc_store_open(&a->s, &o);
  if (rc) {
    snprintf(err, errlen, "store open: %.240s / %.240s", hubc_error_last(), persist_postgres_error(&a->p));
    persist_postgres_free(&a->p);
  }
  return rc;
}

static void acct_open(acct *a, const char *extra) {
  char err[512];
  int rc = acct_open_rc(a, extra, err, sizeof err);
  if (rc) fail_msg("open account %lld: %d %s", (long long)a->id, rc, err);
}

static void acct_close(acct *a) {
  hubc_store_close(a->s);
  a->s = NULL;
  persist_postgres_free(&a->p);
}

static int backend_pid(acct *a) { return PQbackendPID(((pgp_account *)a->p.userdata)->conn->pg); }

static hubc_id add(hubc_store *s, const char *email) {
  hubc_id id = 0;
  const char *n[] = {"email"}, *v[] = {email};
  int rc = hubc_contact_create(&id, s, 1, NULL, n, v, 1);
  if (rc) fail_msg("create %s: %d %s", email, rc, hubc_error_last());
  return id;
}

static void expect_contains(const char *hay, const char *needle) {
  if (!strstr(hay, needle)) fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
}

/* Reopens the account on a new connection and checks its dump. */
static void expect_stored(int64_t id, const char *want) {
  acct b = {.id = id};
  acct_open(&b, NULL);
  char *d = tu_dump(b.s);
  if (strcmp(d, want) != 0) {
    fprintf(stderr, "--- expected\n%s--- stored\n%s", want, d);
    fail_msg("account %lld: the stored store differs", (long long)id);
  }
  free(d);
  acct_close(&b);
}

/* A store call on its own thread, so the test can act while it waits. */
typedef struct bg_call {
  pthread_t t;
  hubc_store *s;
  const char *email;
  int rc;
  char msg[512];
} bg_call;

static void *bg_run(void *arg) {
  bg_call *c = arg;
  hubc_id id;
  const char *n[] = {"email"}, *v[] = {c->email};
  c->rc = hubc_contact_create(&id, c->s, 1, NULL, n, v, 1);
  snprintf(c->msg, sizeof c->msg, "%s", hubc_error_last());
  return NULL;
}

static void bg_start(bg_call *c, hubc_store *s, const char *email) {
  c->s = s;
  c->email = email;
  assert_int_equal(pthread_create(&c->t, NULL, bg_run, c), 0);
}

static void bg_join(bg_call *c) { assert_int_equal(pthread_join(c->t, NULL), 0); }

/* Waits (up to 20 s) until server process pid sleeps in pg_sleep. */
static void wait_sleeping(int pid) {
  char sql[256];
  snprintf(sql, sizeof sql, "SELECT 1 FROM pg_stat_activity WHERE pid = %d AND wait_event = 'PgSleep'", pid);
  for (int i = 0; i < 2000; i++) {
    PGresult *r = PQexec(admin, sql);
    int n = PQntuples(r);
    PQclear(r);
    if (n > 0) return;
    sleep_ms(10);
  }
  fail_msg("server process %d never reached pg_sleep", pid);
}

/* A trigger on the account's rows that sleeps `seconds` in pg_sleep. A
 * deferred constraint trigger runs inside COMMIT; a BEFORE trigger on the
 * META record runs before that record's upsert. */
static void sleep_trigger(int64_t id, int deferred, double seconds) {
  sqlf("CREATE OR REPLACE FUNCTION hubc_test_sleep_%lld() RETURNS trigger LANGUAGE plpgsql AS "
       "$$BEGIN PERFORM pg_sleep(%g); RETURN NEW; END$$",
       (long long)id, seconds);
  if (deferred)
    sqlf("CREATE CONSTRAINT TRIGGER hubc_test_%lld AFTER INSERT OR UPDATE ON hubc_records "
         "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.account_id = %lld AND NEW.kind = 1) "
         "EXECUTE FUNCTION hubc_test_sleep_%lld()",
         (long long)id, (long long)id, (long long)id);
  else
    sqlf("CREATE TRIGGER hubc_test_%lld BEFORE INSERT ON hubc_records FOR EACH ROW "
         "WHEN (NEW.account_id = %lld AND NEW.kind = 1) EXECUTE FUNCTION hubc_test_sleep_%lld()",
         (long long)id, (long long)id, (long long)id);
}

static void drop_trigger(int64_t id) {
  sqlf("DROP TRIGGER IF EXISTS hubc_test_%lld ON hubc_records", (long long)id);
  sqlf("DROP FUNCTION IF EXISTS hubc_test_sleep_%lld()", (long long)id);
}

static void wipe(int64_t id) { sqlf("DELETE FROM hubc_records WHERE account_id = %lld", (long long)id); }

/* ---- R2: the connection cut in the middle of COMMIT ---------------------- */

/* The server process is terminated while COMMIT runs (inside a deferred
 * trigger): the call returns EPERSIST with the store unchanged; every later
 * call fails too (the account's lock went with the connection), naming the
 * lost connection; a reopen on a new connection holds what was committed. */
static void r2_pg_connection_cut_mid_commit_gives_epersist_and_reopen_holds_the_committed(void **state) {
  (void)state;
  acct a = {.id = pg_account(10)};
  wipe(a.id);
  acct_open(&a, NULL);
  hubc_id anna = add(a.s, "anna@example.com");
  char *d0 = tu_dump(a.s);

  sleep_trigger(a.id, 1, 30);
  bg_call c;
  bg_start(&c, a.s, "marco@example.com");
  int pid = backend_pid(&a);
  wait_sleeping(pid);
  sqlf("SELECT pg_terminate_backend(%d)", pid);
  bg_join(&c);
  drop_trigger(a.id);

  assert_int_equal(c.rc, HUBC_EPERSIST);
  expect_contains(c.msg, "nothing changed");
  expect_contains(persist_postgres_error(&a.p), "connection lost");
  char *d1 = tu_dump(a.s);
  assert_string_equal(d0, d1);
  free(d1);
  /* no silent reconnect: the next call fails as well */
  assert_int_equal(hubc_contact_set_marketing(a.s, 1, anna, HUBC_SOURCE_MANUAL, 1), HUBC_EPERSIST);
  expect_contains(persist_postgres_error(&a.p), "connection lost");
  acct_close(&a);

  expect_stored(a.id, d0);
  /* the reopened store works */
  acct_open(&a, NULL);
  add(a.s, "marco@example.com");
  char *d2 = tu_dump(a.s);
  acct_close(&a);
  expect_stored(a.id, d2);
  free(d0);
  free(d2);
  wipe(a.id);
}

/* ---- R2: a real serialization failure -> HUBC_EAGAIN ---------------------- */

/* With SERIALIZABLE transactions (a host's choice, via the connection
 * string), another session updates the META record after the store's
 * transaction took its snapshot and before its upsert reaches that row:
 * PostgreSQL refuses with SQLSTATE 40001, the call returns HUBC_EAGAIN with
 * nothing changed, and the same call then succeeds. */
static void r2_pg_serialization_failure_gives_eagain_and_the_retry_succeeds(void **state) {
  (void)state;
  acct a = {.id = pg_account(11)};
  wipe(a.id);
  acct_open(&a, "options='-c default_transaction_isolation=serializable'");
  add(a.s, "anna@example.com");
  char *d0 = tu_dump(a.s);

  sleep_trigger(a.id, 0, 1);
  bg_call c;
  bg_start(&c, a.s, "marco@example.com");
  wait_sleeping(backend_pid(&a));
  sqlf("UPDATE hubc_records SET bytes = bytes WHERE account_id = %lld AND kind = 1", (long long)a.id);
  bg_join(&c);
  drop_trigger(a.id);

  assert_int_equal(c.rc, HUBC_EAGAIN);
  expect_contains(c.msg, "retry");
  expect_contains(persist_postgres_error(&a.p), "40001");
  char *d1 = tu_dump(a.s);
  assert_string_equal(d0, d1);
  free(d1);

  add(a.s, "marco@example.com"); /* the retry, on the same connection */
  char *d2 = tu_dump(a.s);
  acct_close(&a);
  expect_stored(a.id, d2);
  free(d0);
  free(d2);
  wipe(a.id);
}

/* ---- statement timeout -> HUBC_EAGAIN, connection kept ----------------------- */

static void r2_pg_statement_timeout_gives_eagain_and_keeps_the_connection(void **state) {
  (void)state;
  acct a = {.id = pg_account(12)};
  wipe(a.id);
  acct_open(&a, "options='-c statement_timeout=300'");
  add(a.s, "anna@example.com");
  char *d0 = tu_dump(a.s);
  sleep_trigger(a.id, 0, 5);
  hubc_id id;
  const char *n[] = {"email"}, *v[] = {"marco@example.com"};
  assert_int_equal(hubc_contact_create(&id, a.s, 1, NULL, n, v, 1), HUBC_EAGAIN);
  expect_contains(persist_postgres_error(&a.p), "57014");
  drop_trigger(a.id);
  char *d1 = tu_dump(a.s);
  assert_string_equal(d0, d1);
  free(d1);
  add(a.s, "marco@example.com");
  char *d2 = tu_dump(a.s);
  acct_close(&a);
  expect_stored(a.id, d2);
  free(d0);
  free(d2);
  wipe(a.id);
}

/* ---- R1: a damaged record ------------------------------------------------------- */

/* A damaged record fails the open (ECORRUPT or EVERSION, nothing half
 * loaded) though the COPY stream goes on after it; freeing the backend
 * releases the account's lock, so the repaired account opens again. */
static void r1_pg_damaged_record_fails_open_and_releases_the_account(void **state) {
  (void)state;
  acct a = {.id = pg_account(13)};
  wipe(a.id);
  acct_open(&a, NULL);
  for (int i = 0; i < 50; i++) {
    char e[32];
    snprintf(e, sizeof e, "c%d@example.com", i);
    add(a.s, e);
  }
  char *d0 = tu_dump(a.s);
  acct_close(&a);
  sqlf("CREATE TABLE hubc_test_saved_%lld AS SELECT * FROM hubc_records WHERE account_id = %lld AND kind = 3 AND id = 7",
       (long long)a.id, (long long)a.id);
  sqlf("UPDATE hubc_records SET bytes = '\\xff00ff00' WHERE account_id = %lld AND kind = 3 AND id = 7", (long long)a.id);
  char err[512];
  int rc = acct_open_rc(&a, NULL, err, sizeof err);
  assert_true(rc == HUBC_ECORRUPT || rc == HUBC_EVERSION);
  expect_contains(err, "(kind 3, id 7)");
  sqlf("UPDATE hubc_records r SET bytes = s.bytes FROM hubc_test_saved_%lld s"
       " WHERE r.account_id = s.account_id AND r.kind = s.kind AND r.id = s.id",
       (long long)a.id);
  sqlf("DROP TABLE hubc_test_saved_%lld", (long long)a.id);
  expect_stored(a.id, d0); /* the failed open let go of the lock */
  free(d0);
  wipe(a.id);
}

/* ---- one writer per account -------------------------------------------------- */

/* Two processes open one account: the second gets EBUSY naming the first
 * (application_name "hubcontacts <host> pid <pid>"); once the first is
 * killed (SIGKILL: no close, no unlock) the server drops its lock and the
 * second can open, seeing what the first committed. */
static void pg_second_process_gets_ebusy_naming_the_holder_until_it_dies(void **state) {
  (void)state;
  int64_t id = pg_account(20);
  wipe(id);
  int ready[2];
  assert_int_equal(pipe(ready), 0);
  fflush(NULL);
  pid_t child = fork();
  assert_true(child >= 0);
  if (child == 0) { /* the first process: open, write, wait to be killed */
    close(ready[0]);
    acct a = {.id = id};
    char err[512];
    if (acct_open_rc(&a, NULL, err, sizeof err) != 0) _exit(2);
    hubc_id cid;
    const char *n[] = {"email"}, *v[] = {"first@example.com"};
    if (hubc_contact_create(&cid, a.s, 1, NULL, n, v, 1) != 0) _exit(3);
    if (write(ready[1], "R", 1) != 1) _exit(4);
    for (;;) pause();
  }
  close(ready[1]);
  char r;
  assert_int_equal(read(ready[0], &r, 1), 1);
  close(ready[0]);

  acct b = {.id = id};
  char err[512], want[64];
  assert_int_equal(acct_open_rc(&b, NULL, err, sizeof err), HUBC_EBUSY);
  expect_contains(err, "is open elsewhere");
  snprintf(want, sizeof want, "pid %ld", (long)child);
  expect_contains(err, want);
  expect_contains(err, "hubcontacts");

  assert_int_equal(kill(child, SIGKILL), 0);
  int status;
  assert_int_equal(waitpid(child, &status, 0), child);
  /* the server notices the closed socket at once; give it up to 10 s */
  int rc = HUBC_EBUSY;
  for (int i = 0; i < 1000 && rc == HUBC_EBUSY; i++) {
    rc = acct_open_rc(&b, NULL, err, sizeof err);
    if (rc == HUBC_EBUSY) sleep_ms(10);
  }
  if (rc) fail_msg("open after the holder died: %d %s", rc, err);
  hubc_id found;
  assert_int_equal(hubc_contact_find(&found, b.s, "first@example.com"), 0);
  acct_close(&b);
  wipe(id);
}

/* Accounts on one connection are separate stores with separate locks; the
 * same account twice on one connection is refused (the server's advisory
 * lock is reentrant within a session, so the backend checks itself). */
static void pg_accounts_sharing_a_connection_are_separate(void **state) {
  (void)state;
  int64_t x = pg_account(30), y = pg_account(31);
  wipe(x);
  wipe(y);
  char err[512];
  persist_postgres_conn *c = persist_postgres_connect(conninfo, err, sizeof err);
  if (!c) fail_msg("connect: %s", err);
  hubc_persist px, py, again;
  assert_int_equal(persist_postgres_attach(c, x, &px, err, sizeof err), 0);
  assert_int_equal(persist_postgres_attach(c, x, &again, err, sizeof err), HUBC_EBUSY);
  expect_contains(err, "already open on this connection");
  assert_int_equal(persist_postgres_attach(c, y, &py, err, sizeof err), 0);
  tu_clock clock = {tu_time(2024, 3, 10, 12, 0, 0)};
  hubc_store *sx = tu_open(&clock, &px), *sy = tu_open(&clock, &py);
  add(sx, "x@example.com");
  add(sy, "y@example.com");
  hubc_id found;
  assert_int_equal(hubc_contact_find(&found, sx, "y@example.com"), HUBC_ENOTFOUND);

  /* closing x releases x only */
  hubc_store_close(sx);
  persist_postgres_free(&px);
  acct ox = {.id = x}, oy = {.id = y};
  acct_open(&ox, NULL);
  assert_int_equal(hubc_contact_find(&found, ox.s, "x@example.com"), 0);
  assert_int_equal(hubc_contact_find(&found, ox.s, "y@example.com"), HUBC_ENOTFOUND);
  acct_close(&ox);
  assert_int_equal(acct_open_rc(&oy, NULL, err, sizeof err), HUBC_EBUSY);
  hubc_store_close(sy);
  persist_postgres_free(&py);
  persist_postgres_disconnect(c);
  wipe(x);
  wipe(y);
}

int main(void) {
  conninfo = pg_conninfo_or_skip("test_postgres_faults");
  admin = pg_admin(conninfo);
  char err[512];
  persist_postgres_conn *c = persist_postgres_connect(conninfo, err, sizeof err); /* creates the table */
  if (!c) {
    fprintf(stderr, "connect: %s\n", err);
    return 1;
  }
  persist_postgres_disconnect(c);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(r2_pg_connection_cut_mid_commit_gives_epersist_and_reopen_holds_the_committed),
      cmocka_unit_test(r2_pg_serialization_failure_gives_eagain_and_the_retry_succeeds),
      cmocka_unit_test(r2_pg_statement_timeout_gives_eagain_and_keeps_the_connection),
      cmocka_unit_test(r1_pg_damaged_record_fails_open_and_releases_the_account),
      cmocka_unit_test(pg_second_process_gets_ebusy_naming_the_holder_until_it_dies),
      cmocka_unit_test(pg_accounts_sharing_a_connection_are_separate),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  PQfinish(admin);
  return failed ? 1 : 0;
}
