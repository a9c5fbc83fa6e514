/* R1, R2 through the SQLite backend of examples/persist_sqlite.c: a store
 * written through it reopens byte-equal; a busy database, a failing put and a
 * failing COMMIT each leave the store and the database unchanged. */
#define _DEFAULT_SOURCE /* mkdtemp */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

#define PERSIST_SQLITE_NO_MAIN
#include "../../examples/persist_sqlite.c"

/* ---- helpers ------------------------------------------------------------ */

typedef struct fixture {
  char dir[64];
  char path[96];
  tu_clock clock;
  hubc_persist persist;
  hubc_store *store;
} fixture;

static void fx_open(fixture *f) {
  assert_int_equal(persist_sqlite_open(f->path, &f->persist), 0);
  f->store = tu_open(&f->clock, &f->persist);
}

static void fx_close(fixture *f) {
  hubc_store_close(f->store);
  f->store = NULL;
  persist_sqlite_free(&f->persist);
  assert_null(f->persist.userdata);
}

/* Closes and reopens the store on the same database; returns the dump. */
static char *fx_reopen_dump(fixture *f) {
  fx_close(f);
  fx_open(f);
  return tu_dump(f->store);
}

static sqlite3 *fx_db(fixture *f) { return ((persist_sqlite *)f->persist.userdata)->db; }

static void exec_ok(sqlite3 *db, const char *sql) {
  char *err = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
    fail_msg("%s: %s", sql, err ? err : "?");
  }
}

static long long count_rows(sqlite3 *db, const char *sql) {
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  long long n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return n;
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  assert_non_null(f);
  snprintf(f->dir, sizeof f->dir, "/tmp/hubc-sqlite-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->path, sizeof f->path, "%s/contacts.db", f->dir);
  f->clock.now = tu_time(2024, 3, 10, 9, 0, 0);
  fx_open(f);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  if (f->store || f->persist.userdata) fx_close(f);
  static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
  for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
    char p[128];
    snprintf(p, sizeof p, "%s%s", f->path, suffixes[i]);
    unlink(p);
  }
  assert_int_equal(rmdir(f->dir), 0);
  free(f);
  return 0;
}

static hubc_id create3(hubc_store *s, hubc_id actor, const char *email, const char *first, const char *city) {
  const char *names[] = {"email", "firstname", "city"};
  const char *values[] = {email, first, city};
  hubc_id id = 0;
  int rc = hubc_contact_create(&id, s, actor, NULL, names, values, 3);
  if (rc) fail_msg("create %s: %s", email, hubc_error_last());
  return id;
}

/* ---- R1: round trip ------------------------------------------------------ */

/* Every kind of record (meta, property, contact, history, user, period,
 * switch) is written through SQLite and reloaded into an identical store. */
static void r1_round_trip_through_sqlite_is_byte_equal(void **state) {
  fixture *f = *state;
  hubc_store *s = f->store;
  const hubc_id admin = 1;

  /* custom properties (string and enumeration) */
  static const char *const colors[] = {"red", "green", "blue"};
  assert_int_equal(hubc_property_define(s, admin, "favourite_color", "Favourite color", HUBC_PROP_ENUMERATION,
                                        colors, 3),
                   0);
  assert_int_equal(hubc_property_define(s, admin, "shoe_size", "Shoe size", HUBC_PROP_NUMBER, NULL, 0), 0);

  /* users: one without marketing access, one disabled */
  hubc_id bob = 0, eve = 0;
  assert_int_equal(hubc_user_create(&bob, s, admin, "bob@example.com"), 0);
  assert_int_equal(hubc_user_set_permissions(s, admin, bob, HUBC_PERM_EDIT_CONTACTS), 0);
  assert_int_equal(hubc_user_create(&eve, s, admin, "eve@example.com"), 0);
  assert_int_equal(hubc_user_set_disabled(s, admin, eve, 1), 0);

  /* a switch: chatflow 7 creates marketing contacts */
  assert_int_equal(hubc_source_set_default(s, admin, HUBC_SOURCE_CHATFLOW, 7, 1), 0);

  /* contacts with built-in and custom properties, from several sources */
  hubc_id anna = create3(s, admin, "Anna.Rossi@Example.com", "Anna", "Roma");
  hubc_id marco = create3(s, bob, "marco@example.com", "Marco", "Milano");
  hubc_id giulia = create3(s, admin, "giulia@example.com", "Giulia", "Torino");
  hubc_id gone = create3(s, admin, "gone@example.com", "Gone", "Napoli");
  const char *names[] = {"email", "favourite_color", "shoe_size", "lifecyclestage", "phone"};
  const char *values[] = {"chat@example.org", "blue", "42.5", "lead", "+39 06 1234 5678"};
  hubc_create_options opts;
  assert_int_equal(hubc_create_options_init(&opts, HUBC_CREATE_OPTIONS_VERSION), 0);
  opts.source = HUBC_SOURCE_CHATFLOW;
  opts.source_id = 7;
  hubc_id chat = 0;
  assert_int_equal(hubc_contact_create(&chat, s, HUBC_SYSTEM, &opts, names, values, 5), 0);

  const char *un[] = {"favourite_color", "city"};
  const char *uv[] = {"red", ""};
  assert_int_equal(hubc_contact_update(s, admin, marco, un, uv, 2), 0);

  /* statuses and history */
  assert_int_equal(hubc_contact_set_marketing(s, admin, anna, HUBC_SOURCE_MANUAL, admin), 0);
  assert_int_equal(hubc_contact_set_marketing(s, HUBC_SYSTEM, giulia, HUBC_SOURCE_INTEGRATION, 99), 0);
  assert_int_equal(hubc_contact_set_marketing(s, admin, gone, HUBC_SOURCE_MANUAL, admin), 0);
  assert_int_equal(hubc_contact_set_non_marketing(s, admin, giulia, HUBC_SOURCE_MANUAL, admin), 0);
  assert_int_equal(hubc_contact_delete(s, admin, gone), 0);
  assert_int_equal(hubc_billing_request_downgrade(s, admin, 0), 0);

  /* a billing period closes when the clock passes the update date (B2) */
  hubc_billing_info bi;
  memset(&bi, 0, sizeof bi);
  bi.version = HUBC_BILLING_INFO_VERSION;
  assert_int_equal(hubc_billing_get(&bi, s), 0);
  f->clock.now = bi.next_update + 3600;
  assert_int_equal(hubc_store_tick(s), 0);
  hubc_contact *c = NULL;
  assert_int_equal(hubc_contact_get(&c, s, giulia), 0);
  assert_int_equal(hubc_contact_status(c), HUBC_NON_MARKETING); /* M5 applied */
  hubc_contact_free(c);
  assert_int_equal(hubc_contact_set_marketing(s, admin, marco, HUBC_SOURCE_MANUAL, admin), 0);

  /* the database holds every kind of record */
  sqlite3 *db = fx_db(f);
  for (int kind = HUBC_REC_META; kind <= HUBC_REC_SWITCH; kind++) {
    char sql[80];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM records WHERE kind = %d", kind);
    if (count_rows(db, sql) == 0) fail_msg("no record of kind %d in the database", kind);
  }
  assert_int_equal(count_rows(db, "SELECT count(*) FROM records WHERE kind = 3"), 4); /* `gone` deleted */

  char *before = tu_dump(s);
  char *after = fx_reopen_dump(f);
  tu_expect_same(before, after, "after reopening the SQLite database");
  free(after);

  /* the reloaded store is usable, and its ids continue (C1) */
  hubc_id next = create3(f->store, admin, "new@example.com", "New", "Bari");
  assert_true(next > chat);
  hubc_id found = 0;
  assert_int_equal(hubc_contact_find(&found, f->store, " ANNA.ROSSI@example.com "), 0);
  assert_int_equal(found, anna);
  char *before2 = tu_dump(f->store);
  char *after2 = fx_reopen_dump(f);
  tu_expect_same(before2, after2, "second reopen");
  free(before);
  free(before2);
  free(after2);
}

/* ---- R2: failures leave everything unchanged ------------------------------ */

/* Another connection holds the write lock: begin gets SQLITE_BUSY, the call
 * returns HUBC_EAGAIN, nothing changes; once the lock is gone the same call
 * succeeds. */
static void r2_busy_database_gives_eagain_and_changes_nothing(void **state) {
  fixture *f = *state;
  hubc_id anna = create3(f->store, 1, "anna@example.com", "Anna", "Roma");
  char *d0 = tu_dump(f->store);

  sqlite3 *other = NULL;
  assert_int_equal(sqlite3_open(f->path, &other), SQLITE_OK);
  exec_ok(other, "BEGIN IMMEDIATE");

  hubc_id id = 0;
  const char *names[] = {"email"};
  const char *values[] = {"marco@example.com"};
  assert_int_equal(hubc_contact_create(&id, f->store, 1, NULL, names, values, 1), HUBC_EAGAIN);
  assert_int_equal(hubc_error_last_code(), HUBC_EAGAIN);
  assert_non_null(strstr(hubc_error_last(), "retry"));
  assert_int_equal(hubc_contact_set_marketing(f->store, 1, anna, HUBC_SOURCE_MANUAL, 1), HUBC_EAGAIN);
  char *d1 = tu_dump(f->store);
  tu_expect_same(d0, d1, "after EAGAIN");
  free(d1);
  assert_int_equal(hubc_contact_find(&id, f->store, "marco@example.com"), HUBC_ENOTFOUND);

  exec_ok(other, "ROLLBACK");
  assert_int_equal(sqlite3_close(other), SQLITE_OK);

  /* the database still holds the state before the refused calls */
  char *d2 = fx_reopen_dump(f);
  tu_expect_same(d0, d2, "database after EAGAIN");
  free(d2);

  /* retry succeeds and persists */
  assert_int_equal(hubc_contact_create(&id, f->store, 1, NULL, names, values, 1), 0);
  assert_int_equal(hubc_contact_set_marketing(f->store, 1, anna, HUBC_SOURCE_MANUAL, 1), 0);
  char *d3 = tu_dump(f->store);
  assert_string_not_equal(d0, d3);
  char *d4 = fx_reopen_dump(f);
  tu_expect_same(d3, d4, "after the retry");
  free(d0);
  free(d3);
  free(d4);
}

/* A put fails after others of the same transaction were written: the
 * rollback must undo those in SQLite too, and the store is unchanged. */
static void r2_failing_put_rolls_back_the_whole_transaction(void **state) {
  fixture *f = *state;
  hubc_id anna = create3(f->store, 1, "anna@example.com", "Anna", "Roma");
  char *d0 = tu_dump(f->store);
  long long rows0 = count_rows(fx_db(f), "SELECT count(*) FROM records");

  /* Fail the second put of every transaction: the first one has then
   * already been written inside the SQLite transaction. `puts` counts the
   * puts of the open transaction (its update is rolled back with it). */
  exec_ok(fx_db(f), "CREATE TABLE puts(n INTEGER); INSERT INTO puts VALUES(0);"
                    "CREATE TRIGGER count_puts AFTER INSERT ON records BEGIN UPDATE puts SET n = n + 1; END;"
                    "CREATE TRIGGER fail_second_put BEFORE INSERT ON records WHEN (SELECT n FROM puts) >= 1 "
                    "BEGIN SELECT RAISE(ABORT, 'injected failure'); END;");
  assert_int_equal(hubc_contact_set_marketing(f->store, 1, anna, HUBC_SOURCE_MANUAL, 1), HUBC_EPERSIST);
  assert_non_null(strstr(hubc_error_last(), "put"));
  hubc_id id = 0;
  const char *names[] = {"email"};
  const char *values[] = {"marco@example.com"};
  assert_int_equal(hubc_contact_create(&id, f->store, 1, NULL, names, values, 1), HUBC_EPERSIST);

  char *d1 = tu_dump(f->store);
  tu_expect_same(d0, d1, "store after a failing put");
  free(d1);
  assert_int_equal(sqlite3_get_autocommit(fx_db(f)), 1); /* no transaction left open */
  assert_int_equal(count_rows(fx_db(f), "SELECT count(*) FROM records"), rows0);
  assert_int_equal(count_rows(fx_db(f), "SELECT count(*) FROM records WHERE kind = 4"), 0); /* no history */

  assert_int_equal(count_rows(fx_db(f), "SELECT n FROM puts"), 0);
  exec_ok(fx_db(f), "DROP TRIGGER fail_second_put; DROP TRIGGER count_puts");
  char *d2 = fx_reopen_dump(f);
  tu_expect_same(d0, d2, "database after a failing put");
  free(d2);

  assert_int_equal(hubc_contact_set_marketing(f->store, 1, anna, HUBC_SOURCE_MANUAL, 1), 0);
  char *d3 = tu_dump(f->store);
  char *d4 = fx_reopen_dump(f);
  tu_expect_same(d3, d4, "after the retry");
  free(d0);
  free(d3);
  free(d4);
}

/* COMMIT itself fails (a deferred foreign key, checked only at COMMIT, is
 * violated by a trigger): the call returns HUBC_EPERSIST naming the commit,
 * the store is unchanged and so is the database. */
static void r2_failing_commit_gives_epersist_and_changes_nothing(void **state) {
  fixture *f = *state;
  hubc_id anna = create3(f->store, 1, "anna@example.com", "Anna", "Roma");
  char *d0 = tu_dump(f->store);

  sqlite3 *db = fx_db(f);
  exec_ok(db, "PRAGMA foreign_keys = ON;"
              "CREATE TABLE parent(id INTEGER PRIMARY KEY);"
              "CREATE TABLE child(pid INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);"
              "CREATE TRIGGER fail_commit AFTER INSERT ON records WHEN NEW.kind = 3 "
              "BEGIN INSERT INTO child VALUES(42); END;");

  assert_int_equal(hubc_contact_set_marketing(f->store, 1, anna, HUBC_SOURCE_MANUAL, 1), HUBC_EPERSIST);
  assert_non_null(strstr(hubc_error_last(), "commit"));
  char *d1 = tu_dump(f->store);
  tu_expect_same(d0, d1, "store after a failing commit");
  free(d1);
  assert_int_equal(sqlite3_get_autocommit(db), 1); /* the rollback callback closed it */
  assert_int_equal(count_rows(db, "SELECT count(*) FROM records WHERE kind = 4"), 0);

  /* the database, reopened, holds the state before the failing call */
  exec_ok(db, "DROP TRIGGER fail_commit");
  char *d2 = fx_reopen_dump(f);
  tu_expect_same(d0, d2, "database after a failing commit");
  free(d2);

  assert_int_equal(hubc_contact_set_marketing(f->store, 1, anna, HUBC_SOURCE_MANUAL, 1), 0);
  char *d3 = tu_dump(f->store);
  assert_string_not_equal(d0, d3);
  char *d4 = fx_reopen_dump(f);
  tu_expect_same(d3, d4, "after the retry");
  free(d0);
  free(d3);
  free(d4);
}

/* A damaged record in the database: the open fails (nothing half-loaded),
 * the host frees the backend itself, and nothing leaks. */
static void r1_damaged_record_fails_open_and_backend_is_freed(void **state) {
  fixture *f = *state;
  create3(f->store, 1, "anna@example.com", "Anna", "Roma");
  fx_close(f);

  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
  exec_ok(db, "UPDATE records SET bytes = x'ff00ff00' WHERE kind = 3");
  assert_int_equal(sqlite3_close(db), SQLITE_OK);

  assert_int_equal(persist_sqlite_open(f->path, &f->persist), 0);
  hubc_store_options o;
  tu_options(&o, &f->clock, &f->persist);
  hubc_store *s = NULL;
  int rc = hubc_store_open(&s, &o);
  assert_true(rc == HUBC_ECORRUPT || rc == HUBC_EVERSION);
  assert_null(s);
  assert_string_not_equal(hubc_error_last(), "");
  persist_sqlite_free(&f->persist);
  assert_null(f->persist.userdata);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(r1_round_trip_through_sqlite_is_byte_equal, setup, teardown),
      cmocka_unit_test_setup_teardown(r1_damaged_record_fails_open_and_backend_is_freed, setup, teardown),
      cmocka_unit_test_setup_teardown(r2_busy_database_gives_eagain_and_changes_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(r2_failing_put_rolls_back_the_whole_transaction, setup, teardown),
      cmocka_unit_test_setup_teardown(r2_failing_commit_gives_epersist_and_changes_nothing, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
