/* Shared by the tests labelled `postgres`: the server comes from the
 * environment (tests/postgres/pg_cluster.sh prints it):
 *   HUBC_PG_CONNINFO  libpq connection string of a server the tests may use
 *   HUBC_PG_CTL       command prefix for pg_ctl of that server (stop/start),
 *                     needed only by the tests that stop the server
 *   HUBC_PG_REQUIRED  1: a missing or unreachable server fails the test
 *                     instead of skipping it (CI sets it)
 * Without a reachable server a test prints why and exits 77, which CTest
 * reports as skipped (SKIP_RETURN_CODE) — never as passed. */
#ifndef HUBC_PG_TESTUTIL_H
#define HUBC_PG_TESTUTIL_H

#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PG_SKIP 77

static void pg_skip(const char *test, const char *why) {
  const char *req = getenv("HUBC_PG_REQUIRED");
  if (req && strcmp(req, "1") == 0) {
    fprintf(stderr, "%s: FAILED: %s (HUBC_PG_REQUIRED=1)\n", test, why);
    exit(1);
  }
  printf("%s: SKIPPED: %s; start one with tests/postgres/pg_cluster.sh (see README)\n", test, why);
  fflush(stdout);
  exit(PG_SKIP);
}

/* The connection string, or exits 77 when no server is reachable. */
static const char *pg_conninfo_or_skip(const char *test) {
  const char *ci = getenv("HUBC_PG_CONNINFO");
  if (!ci || !*ci) pg_skip(test, "HUBC_PG_CONNINFO is not set, no PostgreSQL server to test against");
  PGconn *c = PQconnectdb(ci);
  if (PQstatus(c) != CONNECTION_OK) {
    char why[600];
    snprintf(why, sizeof why, "PostgreSQL server not reachable at \"%s\": %s", ci, PQerrorMessage(c));
    size_t n = strlen(why);
    while (n && why[n - 1] == '\n') why[--n] = '\0';
    PQfinish(c);
    pg_skip(test, why);
  }
  PQfinish(c);
  return ci;
}

static inline void sleep_ms(long ms) {
  struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&t, NULL);
}

/* Account ids no other run uses at the same time. */
static int64_t pg_account(int k) { return (int64_t)1000000000 + (int64_t)getpid() * 100 + k; }

/* Runs SQL on conn; aborts the process on failure (test setup). */
static void pg_exec(PGconn *conn, const char *sql) {
  PGresult *r = PQexec(conn, sql);
  ExecStatusType st = PQresultStatus(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    fprintf(stderr, "SQL failed: %s\n%s", sql, PQresultErrorMessage(r));
    abort();
  }
  PQclear(r);
}

/* A connection of the test's own, for setup and inspection. */
static PGconn *pg_admin(const char *conninfo) {
  PGconn *c = PQconnectdb(conninfo);
  if (PQstatus(c) != CONNECTION_OK) {
    fprintf(stderr, "admin connection: %s", PQerrorMessage(c));
    abort();
  }
  pg_exec(c, "SET client_min_messages = warning");
  return c;
}

#endif
