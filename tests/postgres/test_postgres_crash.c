/* R2 on the PostgreSQL backend when the server dies: a stream of batches
 * (hubc_contact_create_batch, 100 contacts per transaction) runs while
 * another process stops the server with `pg_ctl stop -m immediate` (no
 * shutdown checkpoint: a crash, then WAL recovery) at a random moment.
 * After the restart every acknowledged batch is stored whole; the batch
 * that failed is stored whole or not at all (its COMMIT may have reached
 * the server); nothing else. The failed call left the in-memory store as
 * before, and every later call fails until the store is reopened.
 * Needs HUBC_PG_CONNINFO and HUBC_PG_CTL (tests/postgres/pg_cluster.sh);
 * skipped (exit 77) without them. */
#include <setjmp.h>
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

#define ROUNDS 5
#define BATCH 100
#define MAX_BATCHES 400

static const char *conninfo, *pg_ctl;

static int ctl(const char *args) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "%s %s >/dev/null 2>&1", pg_ctl, args);
  return system(cmd);
}

static void email(char *out, size_t n, int round, int batch, int i) {
  snprintf(out, n, "r%d.b%d.i%d@example.com", round, batch, i);
}

static int create_batch(hubc_store *s, int round, int batch) {
  static char emails[BATCH][48];
  const char *values[BATCH];
  for (int i = 0; i < BATCH; i++) {
    email(emails[i], sizeof emails[i], round, batch, i);
    values[i] = emails[i];
  }
  const char *names[] = {"email"};
  return hubc_contact_create_batch(NULL, s, 1, NULL, names, 1, values, BATCH);
}

static hubc_store *open_store(hubc_persist *p, int64_t account, tu_clock *clock) {
  char err[512];
  int rc = persist_postgres_open(conninfo, account, p, err, sizeof err);
  if (rc) fail_msg("open account %lld: %d %s", (long long)account, rc, err);
  return tu_open(clock, p);
}

/* How many contacts of batch b are stored (0..BATCH). */
static int stored_of_batch(hubc_store *s, int round, int b) {
  int n = 0;
  for (int i = 0; i < BATCH; i++) {
    char e[48];
    hubc_id id;
    email(e, sizeof e, round, b, i);
    n += hubc_contact_find(&id, s, e) == 0;
  }
  return n;
}

static void r2_pg_server_killed_during_batches_keeps_every_acknowledged_batch_whole(void **state) {
  (void)state;
  unsigned seed = (unsigned)time(NULL);
  printf("seed %u (delays before the stop)\n", seed);
  srand(seed);
  int64_t account = pg_account(40);
  for (int round = 0; round < ROUNDS; round++) {
    PGconn *admin = pg_admin(conninfo);
    char sql[128];
    snprintf(sql, sizeof sql, "DELETE FROM hubc_records WHERE account_id = %lld", (long long)account);
    pg_exec(admin, sql);
    PQfinish(admin);

    tu_clock clock = {tu_time(2024, 3, 10, 12, 0, 0)};
    hubc_persist p;
    hubc_store *s = open_store(&p, account, &clock);
    long delay = 50 + rand() % 700;
    fflush(NULL);
    pid_t killer = fork();
    assert_true(killer >= 0);
    if (killer == 0) {
      sleep_ms(delay);
      _exit(ctl("stop -m immediate") == 0 ? 0 : 1);
    }
    int acked = 0, rc = 0;
    char *before = NULL;
    while (acked < MAX_BATCHES) {
      free(before);
      before = tu_dump(s);
      rc = create_batch(s, round, acked);
      if (rc) break;
      acked++;
    }
    int status;
    assert_int_equal(waitpid(killer, &status, 0), killer);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (acked == MAX_BATCHES) fail_msg("round %d: the server outlived %d batches", round, MAX_BATCHES);
    printf("round %d: stopped after %ld ms, %d batches acknowledged; the next failed: %s\n", round, delay, acked,
           persist_postgres_error(&p));
    assert_int_equal(rc, HUBC_EPERSIST);
    char *after = tu_dump(s);
    assert_string_equal(before, after); /* the failed call changed nothing */
    free(after);
    hubc_id id;
    const char *n[] = {"email"}, *v[] = {"late@example.com"};
    assert_int_equal(hubc_contact_create(&id, s, 1, NULL, n, v, 1), HUBC_EPERSIST); /* no silent reconnect */
    hubc_store_close(s);
    persist_postgres_free(&p);

    assert_int_equal(ctl("start -w"), 0);
    s = open_store(&p, account, &clock);
    for (int b = 0; b < acked; b++) {
      int got = stored_of_batch(s, round, b);
      if (got != BATCH) fail_msg("round %d: acknowledged batch %d has %d of %d contacts", round, b, got, BATCH);
    }
    int failed = stored_of_batch(s, round, acked);
    if (failed != 0 && failed != BATCH)
      fail_msg("round %d: the failed batch %d is partly stored (%d of %d)", round, acked, failed, BATCH);
    uint64_t count = 0;
    assert_int_equal(hubc_contact_count(&count, s), 0);
    assert_int_equal(count, (uint64_t)(acked + (failed ? 1 : 0)) * BATCH);
    if (!failed) { /* nothing more than the store held before the failed call */
      char *d = tu_dump(s);
      assert_string_equal(before, d);
      free(d);
    }
    printf("round %d: after restart %llu contacts; the failed batch was %s\n", round, (unsigned long long)count,
           failed ? "committed (its acknowledgement was lost)" : "not committed");
    free(before);
    hubc_store_close(s);
    persist_postgres_free(&p);
  }
  PGconn *admin = pg_admin(conninfo);
  char sql[128];
  snprintf(sql, sizeof sql, "DELETE FROM hubc_records WHERE account_id = %lld", (long long)account);
  pg_exec(admin, sql);
  PQfinish(admin);
}

/* A failed assertion may leave the server stopped: start it again. */
static int restart_if_down(void **state) {
  (void)state;
  if (ctl("status") != 0) ctl("start -w");
  return 0;
}

int main(void) {
  conninfo = pg_conninfo_or_skip("test_postgres_crash");
  pg_ctl = getenv("HUBC_PG_CTL");
  if (!pg_ctl || !*pg_ctl) pg_skip("test_postgres_crash", "HUBC_PG_CTL is not set, cannot stop and start the server");
  char err[512];
  persist_postgres_conn *c = persist_postgres_connect(conninfo, err, sizeof err); /* creates the table */
  if (!c) {
    fprintf(stderr, "connect: %s\n", err);
    return 1;
  }
  persist_postgres_disconnect(c);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(r2_pg_server_killed_during_batches_keeps_every_acknowledged_batch_whole,
                                restart_if_down),
  };
  return cmocka_run_group_tests(tests, NULL, NULL) ? 1 : 0;
}
