/* bench_postgres — hubcontacts on PostgreSQL against the journal and SQLite.
 *
 *   bench_postgres [--conninfo CI] [--n N] [--batch B] [--phase strategies|create|all] [--dir DIR]
 *
 * The server comes from --conninfo or HUBC_PG_CONNINFO (e.g. the throwaway
 * cluster of tests/postgres/pg_cluster.sh, a local unix socket); without
 * one the program says so and exits 77.
 *
 *   strategies  How to send a transaction's puts, N records of 170 bytes in
 *               transactions of B new records plus one overwritten record
 *               (as the store's META): a pipeline of one prepared INSERT …
 *               ON CONFLICT per record; one prepared multi-row VALUES
 *               statement; one statement over arrays (unnest — what
 *               examples/persist_postgres.c sends, timed through its
 *               callbacks); COPY into a temporary table then one INSERT …
 *               SELECT … ON CONFLICT. Then how to read an account back:
 *               COPY … TO STDOUT (FORMAT binary) against a binary cursor
 *               fetched 10,000 rows at a time.
 *   create      N generated contacts (10 properties) created with
 *               hubc_contact_create_batch, B per call, through the journal
 *               (fsync every commit), the SQLite example backend (WAL,
 *               synchronous=FULL) and the PostgreSQL example backend
 *               (synchronous_commit on), timed from open to close; then the
 *               reopen of each N-contact store.
 *
 * Build: cmake --preset bench && cmake --build --preset bench
 *        eval "$(tests/postgres/pg_cluster.sh start /tmp/pgbench)"
 *        build/bench/tests/bench_postgres --n 1000000
 */
#define _DEFAULT_SOURCE /* mkdtemp */

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hubcontacts.h"

#define PERSIST_SQLITE_NO_MAIN
#include "../../examples/persist_sqlite.c"
#define PERSIST_POSTGRES_NO_MAIN
#include "../../examples/persist_postgres.c"

#define BENCH_ACCOUNT 777000001 /* the rows of this account are replaced */

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("bench_postgres: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(2);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static PGconn *conn;

static void sql(const char *fmt, ...) {
  char q[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(q, sizeof q, fmt, ap);
  va_end(ap);
  PGresult *r = PQexec(conn, q);
  ExecStatusType st = PQresultStatus(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) die("%s: %s", q, PQresultErrorMessage(r));
  PQclear(r);
}

static void expect(PGresult *r, ExecStatusType want, const char *what) {
  if (PQresultStatus(r) != want) die("%s: %s", what, PQresultErrorMessage(r));
  PQclear(r);
}

/* ---- strategies ------------------------------------------------------------ */

#define REC 170

static void record(unsigned char *b, long i) { /* 170 deterministic bytes */
  uint64_t x = (uint64_t)i * 0x9e3779b97f4a7c15u + 1;
  for (int k = 0; k < REC; k++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    b[k] = (unsigned char)x;
  }
}

static void fresh_table(const char *t) {
  sql("DROP TABLE IF EXISTS %s", t);
  sql("CREATE TABLE %s(account_id bigint NOT NULL, kind smallint NOT NULL, id bigint NOT NULL,"
      " bytes bytea NOT NULL, PRIMARY KEY (account_id, kind, id))",
      t);
}

static void be32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16), p[2] = (unsigned char)(v >> 8),
  p[3] = (unsigned char)v;
}

static void be64(unsigned char *p, uint64_t v) {
  be32(p, (uint32_t)(v >> 32));
  be32(p + 4, (uint32_t)v);
}

/* The keys of batch b: B new contacts, then the META record. */
static void batch_key(long b, long j, long B, int *kind, long *id) {
  if (j == B) *kind = 1, *id = 1;
  else *kind = 3, *id = b * B + j + 1;
}

static void drain_pipeline(void) {
  for (;;) {
    PGresult *r = PQgetResult(conn);
    if (!r) continue;
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_FATAL_ERROR) die("pipeline: %s", PQresultErrorMessage(r));
    PQclear(r);
    if (st == PGRES_PIPELINE_SYNC) break;
  }
  if (!PQexitPipelineMode(conn)) die("exit pipeline: %s", PQerrorMessage(conn));
}

static double s_pipeline(long n, long B) {
  fresh_table("hubc_bench_pipeline");
  expect(PQprepare(conn, "one",
                   "INSERT INTO hubc_bench_pipeline VALUES ($1, $2, $3, $4)"
                   " ON CONFLICT (account_id, kind, id) DO UPDATE SET bytes = excluded.bytes",
                   4, NULL),
         PGRES_COMMAND_OK, "prepare");
  unsigned char rec[REC], k2[2], id8[8];
  double t0 = now_s();
  for (long b = 0; b < n / B; b++) {
    if (!PQenterPipelineMode(conn)) die("pipeline");
    PQsendQueryParams(conn, "BEGIN", 0, NULL, NULL, NULL, NULL, 0);
    for (long j = 0; j <= B; j++) {
      int kind;
      long id;
      batch_key(b, j, B, &kind, &id);
      record(rec, id);
      k2[0] = 0, k2[1] = (unsigned char)kind;
      be64(id8, (uint64_t)id);
      const char *v[4] = {"777", (char *)k2, (char *)id8, (char *)rec};
      int l[4] = {0, 2, 8, REC}, f[4] = {0, 1, 1, 1};
      if (!PQsendQueryPrepared(conn, "one", 4, v, l, f, 0)) die("send: %s", PQerrorMessage(conn));
    }
    PQsendQueryParams(conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0);
    PQpipelineSync(conn);
    drain_pipeline();
  }
  return now_s() - t0;
}

static double s_values(long n, long B) {
  fresh_table("hubc_bench_values");
  size_t cap = 200 + (size_t)(B + 1) * 40;
  char *q = malloc(cap);
  size_t len = (size_t)snprintf(q, cap, "INSERT INTO hubc_bench_values VALUES ");
  for (long j = 0; j <= B; j++)
    len += (size_t)snprintf(q + len, cap - len, "%s($1, $%ld, $%ld, $%ld)", j ? "," : "", 2 + 3 * j, 3 + 3 * j,
                            4 + 3 * j);
  snprintf(q + len, cap - len, " ON CONFLICT (account_id, kind, id) DO UPDATE SET bytes = excluded.bytes");
  expect(PQprepare(conn, "many", q, 0, NULL), PGRES_COMMAND_OK, "prepare values");
  free(q);
  int np = 1 + 3 * (int)(B + 1);
  const char **v = calloc((size_t)np, sizeof *v);
  int *l = calloc((size_t)np, sizeof *l), *f = calloc((size_t)np, sizeof *f);
  unsigned char *data = malloc((size_t)(B + 1) * (REC + 10));
  v[0] = "777";
  double t0 = now_s();
  for (long b = 0; b < n / B; b++) {
    for (long j = 0; j <= B; j++) {
      int kind;
      long id;
      batch_key(b, j, B, &kind, &id);
      unsigned char *d = data + j * (REC + 10);
      d[0] = 0, d[1] = (unsigned char)kind;
      be64(d + 2, (uint64_t)id);
      record(d + 10, id);
      v[1 + 3 * j] = (char *)d, l[1 + 3 * j] = 2, f[1 + 3 * j] = 1;
      v[2 + 3 * j] = (char *)d + 2, l[2 + 3 * j] = 8, f[2 + 3 * j] = 1;
      v[3 + 3 * j] = (char *)d + 10, l[3 + 3 * j] = REC, f[3 + 3 * j] = 1;
    }
    if (!PQenterPipelineMode(conn)) die("pipeline");
    PQsendQueryParams(conn, "BEGIN", 0, NULL, NULL, NULL, NULL, 0);
    PQsendQueryPrepared(conn, "many", np, v, l, f, 0);
    PQsendQueryParams(conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0);
    PQpipelineSync(conn);
    drain_pipeline();
  }
  double t = now_s() - t0;
  free(v), free(l), free(f), free(data);
  return t;
}

/* Through the backend's own callbacks: what the store would send. */
static double s_arrays(persist_postgres_conn *pc, long n, long B) {
  sql("DELETE FROM hubc_records WHERE account_id = %d", BENCH_ACCOUNT);
  hubc_persist p;
  char err[512];
  if (persist_postgres_attach(pc, BENCH_ACCOUNT, &p, err, sizeof err)) die("attach: %s", err);
  unsigned char rec[REC];
  double t0 = now_s();
  for (long b = 0; b < n / B; b++) {
    if (p.begin(p.userdata)) die("begin: %s", persist_postgres_error(&p));
    for (long j = 0; j <= B; j++) {
      int kind;
      long id;
      batch_key(b, j, B, &kind, &id);
      record(rec, id);
      if (p.put(p.userdata, kind, id, rec, REC)) die("put: %s", persist_postgres_error(&p));
    }
    if (p.commit(p.userdata)) die("commit: %s", persist_postgres_error(&p));
  }
  double t = now_s() - t0;
  persist_postgres_free(&p);
  return t;
}

static double s_copy(long n, long B) {
  fresh_table("hubc_bench_copy");
  sql("CREATE TEMP TABLE IF NOT EXISTS hubc_stage(kind smallint, id bigint, bytes bytea) ON COMMIT DELETE ROWS");
  size_t cap = 19 + (size_t)(B + 1) * (2 + 6 + 12 + 4 + REC) + 2;
  unsigned char *buf = malloc(cap);
  double t0 = now_s();
  for (long b = 0; b < n / B; b++) {
    size_t len = 0;
    memcpy(buf, "PGCOPY\n\377\r\n\0", 11);
    be32(buf + 11, 0), be32(buf + 15, 0);
    len = 19;
    for (long j = 0; j <= B; j++) {
      int kind;
      long id;
      batch_key(b, j, B, &kind, &id);
      buf[len] = 0, buf[len + 1] = 3;
      be32(buf + len + 2, 2), buf[len + 6] = 0, buf[len + 7] = (unsigned char)kind;
      be32(buf + len + 8, 8), be64(buf + len + 12, (uint64_t)id);
      be32(buf + len + 20, REC);
      record(buf + len + 24, id);
      len += 24 + REC;
    }
    buf[len] = 0xff, buf[len + 1] = 0xff;
    len += 2;
    sql("BEGIN");
    expect(PQexec(conn, "COPY hubc_stage FROM STDIN (FORMAT binary)"), PGRES_COPY_IN, "copy");
    if (PQputCopyData(conn, (char *)buf, (int)len) != 1 || PQputCopyEnd(conn, NULL) != 1) die("copy data");
    expect(PQgetResult(conn), PGRES_COMMAND_OK, "copy end");
    sql("INSERT INTO hubc_bench_copy SELECT 777, kind, id, bytes FROM hubc_stage"
        " ON CONFLICT (account_id, kind, id) DO UPDATE SET bytes = excluded.bytes");
    sql("COMMIT");
  }
  free(buf);
  return now_s() - t0;
}

/* Reads the bench account back: rows and bytes, by COPY or a cursor. */
static double load_copy(long *rows) {
  double t0 = now_s();
  char q[160];
  snprintf(q, sizeof q,
           "COPY (SELECT kind, id, bytes FROM hubc_records WHERE account_id = %d) TO STDOUT (FORMAT binary)",
           BENCH_ACCOUNT);
  expect(PQexec(conn, q), PGRES_COPY_OUT, "copy out");
  char *m;
  int len;
  *rows = 0;
  while ((len = PQgetCopyData(conn, &m, 0)) > 0) {
    *rows += len > 24;
    PQfreemem(m);
  }
  expect(PQgetResult(conn), PGRES_COMMAND_OK, "copy out end");
  return now_s() - t0;
}

static double load_cursor(long *rows) {
  double t0 = now_s();
  sql("BEGIN");
  sql("DECLARE c BINARY CURSOR FOR SELECT kind, id, bytes FROM hubc_records WHERE account_id = %d", BENCH_ACCOUNT);
  *rows = 0;
  for (;;) {
    PGresult *r = PQexec(conn, "FETCH 10000 FROM c");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) die("fetch: %s", PQresultErrorMessage(r));
    int nt = PQntuples(r);
    long sum = 0;
    for (int i = 0; i < nt; i++) sum += PQgetlength(r, i, 2) + *PQgetvalue(r, i, 0);
    (void)sum;
    *rows += nt;
    PQclear(r);
    if (nt == 0) break;
  }
  sql("COMMIT");
  return now_s() - t0;
}

static void phase_strategies(const char *ci, long n, long B) {
  char err[512];
  persist_postgres_conn *pc = persist_postgres_connect(ci, err, sizeof err);
  if (!pc) die("connect: %s", err);
  printf("puts: %ld records of %d bytes, %ld per transaction (+1 overwrite), synchronous_commit on\n", n, REC, B);
  double t;
  t = s_pipeline(n, B);
  printf("  pipeline, one INSERT per record   %7.2f s  %6.2f us/record\n", t, t * 1e6 / (double)n);
  t = s_values(n, B);
  printf("  one multi-row VALUES statement    %7.2f s  %6.2f us/record\n", t, t * 1e6 / (double)n);
  t = s_arrays(pc, n, B);
  printf("  one statement over arrays (used)  %7.2f s  %6.2f us/record\n", t, t * 1e6 / (double)n);
  t = s_copy(n, B);
  printf("  COPY to a temp table + INSERT     %7.2f s  %6.2f us/record\n", t, t * 1e6 / (double)n);
  long rows;
  printf("load of the %ld-record account:\n", n);
  for (int rep = 0; rep < 2; rep++) { /* the first pass also warms the cache */
    t = load_copy(&rows);
    printf("  COPY TO STDOUT (binary)           %7.2f s  (%ld rows)%s\n", t, rows, rep ? "" : " cold");
    t = load_cursor(&rows);
    printf("  binary cursor, FETCH 10000        %7.2f s  (%ld rows)%s\n", t, rows, rep ? "" : " cold");
  }
  sql("DROP TABLE hubc_bench_pipeline");
  sql("DROP TABLE hubc_bench_values");
  sql("DROP TABLE hubc_bench_copy");
  sql("DELETE FROM hubc_records WHERE account_id = %d", BENCH_ACCOUNT);
  persist_postgres_disconnect(pc);
}

/* ---- create and reopen N contacts through three backends ------------------------ */

static const char *const first[] = {"Anna", "Marco", "Giulia", "Luca", "Sofia", "Paolo", "Elena", "Davide"};
static const char *const last[] = {"Rossi", "Bianchi", "Verdi", "Russo", "Ferrari", "Esposito", "Romano"};
static const char *const cities[] = {"Roma", "Milano", "Torino", "Napoli", "Bologna", "Firenze", "Bari"};
static const char *const companies[] = {"Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne"};
static const char *const jobs[] = {"Engineer", "Manager", "Designer", "Analyst", "Director", "Consultant"};
static const char *const names[] = {"email", "firstname", "lastname", "city", "company", "jobtitle",
                                    "phone", "website", "country", "lifecyclestage"};
#define NPROP 10

static char (*cell)[64]; /* B rows x NPROP values */

static void fill_batch(const char **values, long b, long B) {
  for (long j = 0; j < B; j++) {
    long i = b * B + j;
    char(*c)[64] = cell + j * NPROP;
    snprintf(c[0], 64, "contact%ld@example%ld.com", i, i % 97);
    snprintf(c[1], 64, "%s", first[i % 8]);
    snprintf(c[2], 64, "%s", last[(i / 8) % 7]);
    snprintf(c[3], 64, "%s", cities[(i / 3) % 7]);
    snprintf(c[4], 64, "%s %ld", companies[(i / 5) % 7], i % 1000);
    snprintf(c[5], 64, "%s", jobs[(i / 7) % 6]);
    snprintf(c[6], 64, "+39 06 %07ld", (i * 7919) % 10000000);
    snprintf(c[7], 64, "https://www.example%ld.com", i % 97);
    snprintf(c[8], 64, "%s", i % 4 ? "Italy" : "Switzerland");
    snprintf(c[9], 64, "%s", i % 3 ? "lead" : "subscriber");
    for (int k = 0; k < NPROP; k++) values[j * NPROP + k] = c[k];
  }
}

typedef struct backend {
  const char *name;
  int (*open)(void *ctx, hubc_persist *p); /* fills p */
  void (*release)(void *ctx, hubc_persist *p);
  void *ctx;
  hubc_journal *j;
} backend;

static int j_open(void *ctx, hubc_persist *p) {
  backend *b = ctx;
  char *path = b->ctx;
  if (hubc_journal_open(&b->j, path, NULL)) return -1;
  *p = *hubc_journal_persist(b->j);
  return 0;
}
static void j_release(void *ctx, hubc_persist *p) {
  backend *b = ctx;
  (void)p;
  hubc_journal_close(b->j);
}
static int s_open(void *ctx, hubc_persist *p) { return persist_sqlite_open(((backend *)ctx)->ctx, p); }
static void s_release(void *ctx, hubc_persist *p) {
  (void)ctx;
  persist_sqlite_free(p);
}
static int p_open(void *ctx, hubc_persist *p) {
  char err[512];
  int rc = persist_postgres_open(((backend *)ctx)->ctx, BENCH_ACCOUNT, p, err, sizeof err);
  if (rc) fprintf(stderr, "postgres: %s\n", err);
  return rc;
}
static void p_release(void *ctx, hubc_persist *p) {
  (void)ctx;
  persist_postgres_free(p);
}

static hubc_store *open_store(backend *b, hubc_persist *p) {
  if (b->open(b, p)) die("%s: open failed", b->name);
  hubc_store_options o;
  hubc_store_options_init(&o, HUBC_STORE_OPTIONS_VERSION);
  o.admin_email = "admin@example.com";
  o.persist = p;
  hubc_store *s = NULL;
  int rc = hubc_store_open(&s, &o);
  if (rc) die("%s: store open: %s", b->name, hubc_error_last());
  return s;
}

static void run_backend(backend *b, long n, long B) {
  const char **values = malloc((size_t)B * NPROP * sizeof *values);
  hubc_persist p;
  double t0 = now_s();
  hubc_store *s = open_store(b, &p);
  for (long i = 0; i < n / B; i++) {
    fill_batch(values, i, B);
    int rc = hubc_contact_create_batch(NULL, s, 1, NULL, names, NPROP, values, (size_t)B);
    if (rc) die("%s: batch %ld: %s", b->name, i, hubc_error_last());
  }
  hubc_store_close(s);
  b->release(b, &p);
  double create = now_s() - t0;
  t0 = now_s();
  s = open_store(b, &p);
  double reopen = now_s() - t0;
  uint64_t count = 0;
  hubc_contact_count(&count, s);
  if (count != (uint64_t)(n / B * B)) die("%s: reopened %llu contacts", b->name, (unsigned long long)count);
  hubc_store_close(s);
  b->release(b, &p);
  printf("  %-34s create %7.2f s (%6.2f us/contact)   reopen %6.2f s\n", b->name, create, create * 1e6 / (double)n,
         reopen);
  free(values);
}

static void phase_create(const char *ci, long n, long B, const char *dir) {
  char jpath[256], jsnap[272], spath[256];
  snprintf(jpath, sizeof jpath, "%s/bench.journal", dir);
  snprintf(jsnap, sizeof jsnap, "%s.snap", jpath);
  snprintf(spath, sizeof spath, "%s/bench.db", dir);
  unlink(jpath), unlink(jsnap), unlink(spath);
  sql("DELETE FROM hubc_records WHERE account_id = %d", BENCH_ACCOUNT);
  cell = malloc((size_t)B * NPROP * sizeof *cell);
  printf("create %ld contacts (10 properties), %ld per hubc_contact_create_batch, then reopen:\n", n, B);
  backend bs[] = {{"journal (fsync every commit)", j_open, j_release, jpath, NULL},
                  {"SQLite (WAL, synchronous=FULL)", s_open, s_release, spath, NULL},
                  {"PostgreSQL (local socket)", p_open, p_release, (void *)ci, NULL}};
  for (size_t i = 0; i < sizeof bs / sizeof *bs; i++) run_backend(&bs[i], n, B);
  free(cell);
  unlink(jpath), unlink(jsnap), unlink(spath);
  char wal[540], shm[540];
  snprintf(wal, sizeof wal, "%s-wal", spath);
  snprintf(shm, sizeof shm, "%s-shm", spath);
  unlink(wal), unlink(shm);
  sql("DELETE FROM hubc_records WHERE account_id = %d", BENCH_ACCOUNT);
}

int main(int argc, char **argv) {
  const char *ci = getenv("HUBC_PG_CONNINFO"), *phase = "all", *dir = NULL;
  long n = 1000000, B = 1000;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--conninfo") && i + 1 < argc) ci = argv[++i];
    else if (!strcmp(argv[i], "--n") && i + 1 < argc) n = atol(argv[++i]);
    else if (!strcmp(argv[i], "--batch") && i + 1 < argc) B = atol(argv[++i]);
    else if (!strcmp(argv[i], "--phase") && i + 1 < argc) phase = argv[++i];
    else if (!strcmp(argv[i], "--dir") && i + 1 < argc) dir = argv[++i];
    else die("usage: bench_postgres [--conninfo CI] [--n N] [--batch B] [--phase strategies|create|all] [--dir DIR]");
  }
  if (!ci || !*ci) {
    printf("bench_postgres: no server (set HUBC_PG_CONNINFO or --conninfo; tests/postgres/pg_cluster.sh starts one)\n");
    return 77;
  }
  if (n < B || B < 1) die("--n must be at least --batch");
  n = n / B * B;
  conn = PQconnectdb(ci);
  if (PQstatus(conn) != CONNECTION_OK) die("connect: %s", PQerrorMessage(conn));
  sql("SET client_min_messages = warning");
  char tmp[] = "/tmp/hubc-bench-XXXXXX";
  if (!dir) {
    if (!mkdtemp(tmp)) die("mkdtemp");
    dir = tmp;
  }
  int all = !strcmp(phase, "all");
  if (all || !strcmp(phase, "strategies")) phase_strategies(ci, n, B);
  if (all || !strcmp(phase, "create")) phase_create(ci, n, B, dir);
  if (dir == tmp) rmdir(tmp);
  PQfinish(conn);
  return 0;
}
