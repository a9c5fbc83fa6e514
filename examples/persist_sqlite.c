/* persist_sqlite.c — keep a hubcontacts store in a SQLite database.
 *
 * This is the example to copy when your program already has a database and
 * wants the store's records in it instead of in the bundled journal. It is a
 * complete `hubc_persist` backend (include/hubcontacts/sys/persist.h) in
 * about 200 lines, followed by a small demo program.
 *
 * How a backend works (R1, R2):
 *   - The library owns the record format. A backend only keeps opaque byte
 *     strings keyed by (kind, id) — here one table:
 *
 *       CREATE TABLE records(kind INTEGER, id INTEGER, bytes BLOB,
 *                            PRIMARY KEY(kind, id)) WITHOUT ROWID;
 *
 *   - At hubc_store_open the library calls load(), which streams every row
 *     to hubc_loader_put() (in any order).
 *   - Every mutating call is one transaction: begin, then put/del for each
 *     record the call changed, then commit. If any callback fails the store
 *     calls rollback and undoes the call in memory, so the store and the
 *     database never disagree. Return HUBC_EAGAIN for "busy, try again later"
 *     (the call then returns HUBC_EAGAIN), any other nonzero value for a
 *     failure (the call returns HUBC_EPERSIST).
 *   - Callbacks run with the store locked and must not call back into it.
 *
 * Ownership: persist_sqlite_open() allocates the backend and fills a
 * hubc_persist table; put that table in hubc_store_options.persist. The
 * store's close calls the close callback (statements finalized, database
 * closed); the host then releases the rest with persist_sqlite_free(). If
 * hubc_store_open fails, the close callback is not called: persist_sqlite_free
 * closes the database too.
 *
 *     hubc_persist p;
 *     if (persist_sqlite_open("contacts.db", &p) != 0) ...;
 *     opts.persist = &p;              (the store copies the table)
 *     rc = hubc_store_open(&store, &opts);
 *     ... use the store ...
 *     hubc_store_close(store);        (calls the close callback)
 *     persist_sqlite_free(&p);
 *
 * Build: cc -std=c11 persist_sqlite.c -lhubcontacts -lsqlite3
 * Run:   ./persist_sqlite [DATABASE]   (no argument: a temporary database)
 * Compile with -DPERSIST_SQLITE_NO_MAIN to reuse the backend in your program
 * (the unit test tests/unit/test_persist_sqlite.c does exactly that).
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#endif
#include <hubcontacts.h>
#include <sqlite3.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the backend ---------------------------------------------------------- */

typedef struct persist_sqlite {
  sqlite3 *db;
  /* Prepared once, reused for every call: preparing SQL is the expensive
   * part of a small statement. */
  sqlite3_stmt *put;      /* INSERT OR REPLACE INTO records ... */
  sqlite3_stmt *del;      /* DELETE FROM records WHERE kind=? AND id=? */
  sqlite3_stmt *begin;    /* BEGIN IMMEDIATE */
  sqlite3_stmt *commit;   /* COMMIT */
  sqlite3_stmt *rollback; /* ROLLBACK */
} persist_sqlite;

/* SQLITE_BUSY / SQLITE_LOCKED mean another connection holds the lock: ask
 * the caller to retry (HUBC_EAGAIN). Anything else is a failure. */
static int ps_status(int sqlite_rc) {
  switch (sqlite_rc & 0xff) { /* primary code, ignoring extended bits */
  case SQLITE_OK:
  case SQLITE_DONE:
  case SQLITE_ROW:
    return 0;
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return HUBC_EAGAIN;
  default:
    return -1;
  }
}

/* Runs a prepared statement that returns no rows, then resets it so it can
 * run again (and so it releases its locks). */
static int ps_run(sqlite3_stmt *st) {
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return ps_status(rc);
}

static int ps_load(void *userdata, hubc_loader *loader) {
  persist_sqlite *ps = userdata;
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(ps->db, "SELECT kind, id, bytes FROM records", -1, &st, NULL);
  if (rc != SQLITE_OK) return ps_status(rc);
  int result = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    int kind = sqlite3_column_int(st, 0);
    hubc_id id = (hubc_id)sqlite3_column_int64(st, 1);
    const void *bytes = sqlite3_column_blob(st, 2);
    size_t len = (size_t)sqlite3_column_bytes(st, 2);
    /* The loader copies the bytes; a zero-length blob comes back as NULL. */
    result = hubc_loader_put(loader, kind, id, bytes ? bytes : "", len);
    if (result != 0) break; /* a hubc_* code: the store reports it as is */
  }
  if (result == 0 && rc != SQLITE_DONE) result = ps_status(rc);
  sqlite3_finalize(st);
  return result;
}

/* BEGIN IMMEDIATE takes the write lock now, so a busy database is reported
 * before any record is written (and the store retries nothing by itself). */
static int ps_begin(void *userdata) { return ps_run(((persist_sqlite *)userdata)->begin); }

static int ps_put(void *userdata, int kind, hubc_id id, const void *bytes, size_t len) {
  persist_sqlite *ps = userdata;
  if (len > (size_t)0x7fffffff) return -1;
  sqlite3_bind_int(ps->put, 1, kind);
  sqlite3_bind_int64(ps->put, 2, (sqlite3_int64)id);
  /* SQLITE_STATIC: the bytes stay valid until sqlite3_step returns. */
  if (len == 0) sqlite3_bind_zeroblob(ps->put, 3, 0);
  else sqlite3_bind_blob(ps->put, 3, bytes, (int)len, SQLITE_STATIC);
  return ps_run(ps->put);
}

static int ps_del(void *userdata, int kind, hubc_id id) {
  persist_sqlite *ps = userdata;
  sqlite3_bind_int(ps->del, 1, kind);
  sqlite3_bind_int64(ps->del, 2, (sqlite3_int64)id);
  return ps_run(ps->del);
}

static int ps_commit(void *userdata) { return ps_run(((persist_sqlite *)userdata)->commit); }

static int ps_rollback(void *userdata) {
  persist_sqlite *ps = userdata;
  /* After a failed COMMIT SQLite may already have rolled back by itself;
   * only roll back a transaction that is still open. */
  if (sqlite3_get_autocommit(ps->db)) return 0;
  return ps_run(ps->rollback);
}

/* Finalizes the statements and closes the database (idempotent). */
static void ps_close(void *userdata) {
  persist_sqlite *ps = userdata;
  if (!ps || !ps->db) return;
  sqlite3_finalize(ps->put);
  sqlite3_finalize(ps->del);
  sqlite3_finalize(ps->begin);
  sqlite3_finalize(ps->commit);
  sqlite3_finalize(ps->rollback);
  ps->put = ps->del = ps->begin = ps->commit = ps->rollback = NULL;
  sqlite3_close(ps->db);
  ps->db = NULL;
}

/* Releases what persist_sqlite_open allocated: after hubc_store_close, or
 * instead of it when hubc_store_open failed. Safe on a zeroed table. */
void persist_sqlite_free(hubc_persist *p) {
  if (!p || !p->userdata) return;
  ps_close(p->userdata);
  free(p->userdata);
  p->userdata = NULL;
}

/* Opens (creating if needed) the database at `path` and fills *out with the
 * callbacks. Returns 0, or -1 with a message on stderr. */
int persist_sqlite_open(const char *path, hubc_persist *out) {
  if (!path || !out) return -1;
  memset(out, 0, sizeof *out);
  persist_sqlite *ps = calloc(1, sizeof *ps);
  if (!ps) return -1;
  int rc = sqlite3_open_v2(path, &ps->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
  if (rc == SQLITE_OK)
    /* WAL: readers (e.g. a reporting tool) do not block the store's commits;
     * synchronous=FULL: a commit the store acknowledged survives a power
     * loss (NORMAL is faster and still never corrupts the file, but may
     * lose the last commits). */
    rc = sqlite3_exec(ps->db,
                      "PRAGMA journal_mode=WAL;"
                      "PRAGMA synchronous=FULL;"
                      "CREATE TABLE IF NOT EXISTS records("
                      "  kind INTEGER NOT NULL,"
                      "  id INTEGER NOT NULL,"
                      "  bytes BLOB NOT NULL,"
                      "  PRIMARY KEY(kind, id)) WITHOUT ROWID;",
                      NULL, NULL, NULL);
  /* No busy timeout: if another connection holds the write lock, begin
   * returns HUBC_EAGAIN at once and the host decides when to retry. Set one
   * with sqlite3_busy_timeout(ps->db, ms) to wait inside the call instead. */
  if (rc == SQLITE_OK)
    rc = sqlite3_prepare_v2(ps->db, "INSERT OR REPLACE INTO records(kind, id, bytes) VALUES(?1, ?2, ?3)",
                            -1, &ps->put, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_prepare_v2(ps->db, "DELETE FROM records WHERE kind = ?1 AND id = ?2", -1, &ps->del, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(ps->db, "BEGIN IMMEDIATE", -1, &ps->begin, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(ps->db, "COMMIT", -1, &ps->commit, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(ps->db, "ROLLBACK", -1, &ps->rollback, NULL);
  if (rc != SQLITE_OK) {
    fprintf(stderr, "persist_sqlite: %s: %s\n", path, ps->db ? sqlite3_errmsg(ps->db) : sqlite3_errstr(rc));
    ps_close(ps);
    free(ps);
    return -1;
  }
  out->version = HUBC_PERSIST_VERSION;
  out->userdata = ps;
  out->load = ps_load;
  out->begin = ps_begin;
  out->put = ps_put;
  out->del = ps_del;
  out->commit = ps_commit;
  out->rollback = ps_rollback;
  out->close = ps_close;
  return 0;
}

/* ---- the demo --------------------------------------------------------------- */
#ifndef PERSIST_SQLITE_NO_MAIN

/* Prints the error of the last failed call and returns 1 (for main). */
static int fail(const char *what, int rc) {
  fprintf(stderr, "%s: %s (%s)\n", what, hubc_strerror(rc), hubc_error_last());
  return 1;
}

static void show(hubc_store *store, hubc_id id) {
  hubc_contact *c = NULL;
  if (hubc_contact_get(&c, store, id) != 0) return;
  const char *first = hubc_contact_prop(c, "firstname");
  const char *last = hubc_contact_prop(c, "lastname");
  const char *email = hubc_contact_prop(c, "email");
  printf("  #%lld %s %s <%s> %s\n", (long long)id, first ? first : "", last ? last : "",
         email ? email : "", hubc_status_name(hubc_contact_status(c)));
  hubc_contact_free(c);
}

/* Opens the store kept in the database at path, creates three contacts if
 * it is new, lists them and closes. Returns 0 or 1 (for main). */
static int run(const char *path) {
  hubc_persist persist;
  if (persist_sqlite_open(path, &persist) != 0) return 1;

  hubc_store_options opts;
  hubc_store_options_init(&opts, HUBC_STORE_OPTIONS_VERSION);
  opts.admin_email = "admin@example.com"; /* user 1, used only by a new store */
  opts.persist = &persist;
  hubc_store *store = NULL;
  int rc = hubc_store_open(&store, &opts);
  if (rc != 0) {
    persist_sqlite_free(&persist); /* the store did not take the backend */
    return fail("open", rc);
  }
  const hubc_id admin = 1;

  uint64_t count = 0;
  hubc_contact_count(&count, store);
  if (count == 0) {
    /* A new database: each create is one SQLite transaction. */
    static const char *const people[][3] = {
        {"anna.rossi@example.com", "Anna", "Rossi"},
        {"marco.bianchi@example.com", "Marco", "Bianchi"},
        {"giulia.verdi@example.com", "Giulia", "Verdi"},
    };
    static const char *const names[] = {"email", "firstname", "lastname"};
    for (size_t i = 0; i < sizeof people / sizeof people[0]; i++) {
      hubc_id id = 0;
      rc = hubc_contact_create(&id, store, admin, NULL, names, people[i], 3);
      if (rc != 0) {
        hubc_store_close(store);
        persist_sqlite_free(&persist);
        return fail("create", rc);
      }
    }
    /* Anna becomes a marketing contact: she now counts toward the tier. */
    hubc_id anna = 0;
    hubc_contact_find(&anna, store, "Anna.Rossi@example.com");
    rc = hubc_contact_set_marketing(store, admin, anna, HUBC_SOURCE_MANUAL, admin);
    if (rc != 0) {
      hubc_store_close(store);
      persist_sqlite_free(&persist);
      return fail("set marketing", rc);
    }
    printf("created 3 contacts in %s\n", path);
  } else {
    printf("%s already holds %llu contacts (loaded at open)\n", path, (unsigned long long)count);
  }

  hubc_contact_iterator *it = NULL;
  if (hubc_contact_iterator_new(&it, store, HUBC_SELECT_ALL) == 0) {
    hubc_id id;
    while (hubc_contact_iterator_next(&id, it) == 0) show(store, id);
    hubc_contact_iterator_free(it);
  }

  hubc_billing_info info;
  memset(&info, 0, sizeof info);
  info.version = HUBC_BILLING_INFO_VERSION;
  if (hubc_billing_get(&info, store) == 0)
    printf("billable %llu (marketing %llu, until update %llu, non-marketing %llu), tier %llu\n",
           (unsigned long long)info.billable, (unsigned long long)info.marketing,
           (unsigned long long)info.until_update, (unsigned long long)info.non_marketing,
           (unsigned long long)info.tier);

  hubc_store_close(store); /* calls ps_close: statements finalized, db closed */
  persist_sqlite_free(&persist);
  return 0;
}

/* With a path argument the database is kept there (run it twice to see the
 * store loaded from it); without one, the demo works in a new temporary
 * directory, opens the store twice (the second open loads what the first
 * wrote) and removes the files at the end. */
int main(int argc, char **argv) {
  if (argc > 2) {
    fprintf(stderr, "usage: %s [DATABASE]\n", argv[0]);
    return 2;
  }
  if (argc == 2) return run(argv[1]);
  const char *tmp = getenv("TMPDIR");
  char dir[512], path[600];
  snprintf(dir, sizeof dir, "%s/hubc-sqlite-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  snprintf(path, sizeof path, "%s/contacts.db", dir);
  int rc = run(path);
  if (rc == 0) rc = run(path);
  static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
  for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
    char f[640];
    snprintf(f, sizeof f, "%s%s", path, suffixes[i]);
    remove(f);
  }
  remove(dir);
  return rc;
}

#endif /* PERSIST_SQLITE_NO_MAIN */
