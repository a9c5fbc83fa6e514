/* persist_postgres.c — keep hubcontacts stores (one per account) in PostgreSQL.
 *
 * A complete `hubc_persist` backend (include/hubcontacts/sys/persist.h) on
 * libpq, followed by a small demo program. Copy it into a host that serves
 * many accounts from a database every machine can reach; README "Beyond one
 * machine" describes the design around it.
 *
 * Schema — one table for every account; every statement names the account,
 * so the same table distributes by account_id under Citus:
 *
 *   CREATE TABLE hubc_records(account_id bigint, kind smallint, id bigint,
 *     bytes bytea NOT NULL, PRIMARY KEY (account_id, kind, id));
 *   SELECT create_distributed_table('hubc_records', 'account_id');  -- Citus only
 *
 * - One writer per account: opening an account takes the session advisory
 *   lock pg_try_advisory_lock(account_id) (the database's bigint advisory
 *   lock keys belong to hubcontacts). A second open, from any process or
 *   machine, gets HUBC_EBUSY naming the holder (its application_name, by
 *   default "hubcontacts <host> pid <pid>", and server pid). The server drops
 *   the lock when the holder's connection ends, crash included.
 * - One store transaction = one PostgreSQL transaction, sent in one round
 *   trip at commit: BEGIN, one DELETE and one INSERT … ON CONFLICT DO UPDATE
 *   whose rows come as arrays (unnest), COMMIT (pipeline mode). README
 *   "Beyond one machine" has the measurements: a pipeline of one INSERT per
 *   record and COPY into a staging table were slower; a multi-row VALUES
 *   statement was 13-15 % faster but needs one statement per row count.
 * - Load at open streams the account with COPY … TO STDOUT (FORMAT binary):
 *   one statement, never one query per record.
 * - Errors: a serialization failure or deadlock (SQLSTATE class 40), a lock
 *   timeout (55P03) or a statement timeout (57014) return HUBC_EAGAIN (the
 *   server rolled the transaction back; retry the call); anything else
 *   fails the call with HUBC_EPERSIST. Either way the store is unchanged.
 * - Statement timeout: 30 s unless the connection string or the server
 *   already sets one (conninfo "options='-c statement_timeout=5s'").
 * - Reconnects: never behind the store's back. A broken connection has
 *   lost its advisory locks, so another process may already own the
 *   account: every store on it fails from then on (HUBC_EPERSIST, "connection
 *   lost") and the host closes them and opens them again on a new
 *   connection, which takes the lock again (or gets EBUSY) and reloads what
 *   the server committed. A commit cut by a lost connection may or may not
 *   have committed; the reload shows which.
 *
 * One connection may carry many accounts (persist_postgres_connect, then
 * persist_postgres_attach per account): their transactions take turns on
 * it. persist_postgres_open is the one-account shortcut.
 *
 *     hubc_persist p;
 *     char err[256];
 *     if (persist_postgres_open("host=/run/pg dbname=app", 42, &p, err, sizeof err)) ...;
 *     opts.persist = &p;
 *     rc = hubc_store_open(&store, &opts);   (failed? persist_postgres_free(&p))
 *     ... persist_postgres_error(&p) says why a call got EPERSIST/EAGAIN ...
 *     hubc_store_close(store);               (releases the account's lock)
 *     persist_postgres_free(&p);
 *
 * Build: cc -std=c11 persist_postgres.c -lhubcontacts -lpq -lpthread
 * Compile with -DPERSIST_POSTGRES_NO_MAIN to reuse the backend (the tests,
 * the bench and examples/persist_postgres_accounts.c do).
 */
#include <hubcontacts.h>
#include <libpq-fe.h>

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PGP_TABLE "hubc_records"
#define PGP_STATEMENT_TIMEOUT "30s"

/* ---- the backend ---------------------------------------------------------- */

typedef struct persist_postgres_conn {
  PGconn *pg;
  pthread_mutex_t mu; /* one transaction at a time; guards everything below */
  int lost;           /* broken: its locks are gone, nothing more is sent */
  int64_t *held;      /* accounts locked by this session (the lock is reentrant
                         within a session, so a second attach is refused here) */
  size_t n_held, cap_held;
} persist_postgres_conn;

typedef struct pgp_buf {
  char *p;
  size_t n, cap;
} pgp_buf;

typedef struct pgp_op {
  int16_t kind;
  int is_del;
  int64_t id;
  size_t off, len; /* the bytes, in the transaction's buffer */
  size_t seq;      /* order of arrival: the last op on a key wins */
} pgp_op;

typedef struct pgp_account {
  persist_postgres_conn *conn;
  int own_conn; /* made by persist_postgres_open: freed with the account */
  int64_t account;
  int locked; /* holds the advisory lock */
  pgp_op *ops;
  size_t n_ops, cap_ops;
  pgp_buf bytes;          /* record bytes of the open transaction */
  pgp_buf a_kind, a_id, a_bytes; /* binary array parameters */
  char err[512];
} pgp_account;

static int pgp_grow(void **p, size_t *cap, size_t need, size_t size) {
  if (need <= *cap) return 0;
  size_t c = *cap ? *cap : 64;
  while (c < need) c *= 2;
  void *q = realloc(*p, c * size);
  if (!q) return -1;
  *p = q;
  *cap = c;
  return 0;
}

static int buf_add(pgp_buf *b, const void *p, size_t n) {
  if (pgp_grow((void **)&b->p, &b->cap, b->n + n, 1)) return -1;
  if (n) memcpy(b->p + b->n, p, n);
  b->n += n;
  return 0;
}

static int buf_be(pgp_buf *b, uint64_t v, int bytes) { /* network byte order */
  unsigned char t[8];
  for (int i = 0; i < bytes; i++) t[i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
  return buf_add(b, t, (size_t)bytes);
}

static uint64_t rd_be(const char *p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; i++) v = v << 8 | (unsigned char)p[i];
  return v;
}

static void set_err(pgp_account *a, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(a->err, sizeof a->err, fmt, ap);
  va_end(ap);
  /* libpq messages span lines and end in a newline: make one line */
  size_t w = 0;
  for (const char *p = a->err; *p; p++) {
    char ch = *p == '\n' || *p == '\t' ? ' ' : *p;
    if (ch == ' ' && (w == 0 || a->err[w - 1] == ' ')) continue;
    if (ch == ')' && w && a->err[w - 1] == ' ') w--;
    a->err[w++] = ch;
  }
  while (w && a->err[w - 1] == ' ') w--;
  a->err[w] = '\0';
}

/* Maps a failed result to a callback code (see the header comment) and
 * records the message. A broken connection marks the connection lost. */
static int fail_result(pgp_account *a, const PGresult *r, const char *what) {
  persist_postgres_conn *c = a->conn;
  const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
  /* Gone, or going: libpq's own errors (no SQLSTATE), connection
   * exceptions (08) and server shutdowns (57P). */
  if (PQstatus(c->pg) == CONNECTION_BAD || !state || !strncmp(state, "08", 2) || !strncmp(state, "57P", 3))
    c->lost = 1;
  if (c->lost) {
    set_err(a, "account %lld: %s: connection lost (%s); close the store and open it again",
            (long long)a->account, what, PQerrorMessage(c->pg));
    return -1;
  }
  set_err(a, "account %lld: %s: %s%s%s", (long long)a->account, what, state ? "SQLSTATE " : "", state ? state : "",
          r ? PQresultErrorMessage(r) : PQerrorMessage(c->pg));
  if (state && (!strncmp(state, "40", 2) || !strcmp(state, "55P03") || !strcmp(state, "57014"))) return HUBC_EAGAIN;
  return -1;
}

/* Runs one statement expecting `want`; 0 or a callback code. */
static int exec_ok(pgp_account *a, PGresult *r, ExecStatusType want, const char *what) {
  int rc = PQresultStatus(r) == want ? 0 : fail_result(a, r, what);
  PQclear(r);
  return rc;
}

/* Drops the account from its connection's held list. */
static void unhold(persist_postgres_conn *c, int64_t account) {
  for (size_t i = 0; i < c->n_held; i++)
    if (c->held[i] == account) {
      c->held[i] = c->held[--c->n_held];
      return;
    }
}

/* ---- load: COPY … TO STDOUT (FORMAT binary), parsed as it streams ---- */

typedef struct copy_parse {
  pgp_buf in;
  size_t pos;
  int header_done, trailer;
} copy_parse;

/* Consumes complete tuples from cp->in; 0, 1 (need more), or an error code
 * (a hubc_* code from the loader, or -1 for a malformed stream). */
static int copy_consume(pgp_account *a, copy_parse *cp, hubc_loader *loader) {
  static const char sig[11] = "PGCOPY\n\377\r\n";
  for (;;) {
    const char *p = cp->in.p + cp->pos;
    size_t left = cp->in.n - cp->pos;
    if (!cp->header_done) {
      if (left < 19) return 1;
      if (memcmp(p, sig, 11) != 0) return set_err(a, "account %lld: load: not a binary COPY stream", (long long)a->account), -1;
      size_t ext = (size_t)rd_be(p + 15, 4);
      if (left < 19 + ext) return 1;
      cp->pos += 19 + ext;
      cp->header_done = 1;
      continue;
    }
    if (cp->trailer) return 0;
    if (left < 2) return 1;
    int16_t nf = (int16_t)rd_be(p, 2);
    if (nf == -1) {
      cp->trailer = 1;
      cp->pos += 2;
      return 0;
    }
    if (nf != 3) return set_err(a, "account %lld: load: %d columns, expected 3", (long long)a->account, nf), -1;
    /* kind (int2, 4+2), id (int8, 4+8), bytes (4+len) */
    if (left < 2 + 6 + 12 + 4) return 1;
    if (rd_be(p + 2, 4) != 2 || rd_be(p + 8, 4) != 8)
      return set_err(a, "account %lld: load: unexpected column widths", (long long)a->account), -1;
    int kind = (int16_t)rd_be(p + 6, 2);
    hubc_id id = (hubc_id)rd_be(p + 12, 8);
    size_t len = (size_t)rd_be(p + 20, 4);
    if (len == 0xffffffffu) return set_err(a, "account %lld: load: NULL bytes", (long long)a->account), -1;
    if (left < 24 + len) return 1;
    int rc = hubc_loader_put(loader, kind, id, p + 24, len);
    if (rc) return set_err(a, "account %lld: load: %s", (long long)a->account, hubc_error_last()), rc;
    cp->pos += 24 + len;
  }
}

static int pgp_load(void *ud, hubc_loader *loader) {
  pgp_account *a = ud;
  persist_postgres_conn *c = a->conn;
  pthread_mutex_lock(&c->mu);
  int rc = 0;
  if (c->lost) {
    set_err(a, "account %lld: load: connection lost; open it again on a new connection", (long long)a->account);
    rc = -1;
  }
  char sql[160];
  snprintf(sql, sizeof sql, "COPY (SELECT kind, id, bytes FROM " PGP_TABLE " WHERE account_id = %lld) TO STDOUT (FORMAT binary)",
           (long long)a->account);
  if (!rc) {
    PGresult *r = PQexec(c->pg, sql);
    if (PQresultStatus(r) != PGRES_COPY_OUT) rc = fail_result(a, r, "load");
    PQclear(r);
    if (rc) goto out;
    copy_parse cp = {{NULL, 0, 0}, 0, 0, 0};
    char *msg;
    int n, perr = 0;
    while ((n = PQgetCopyData(c->pg, &msg, 0)) > 0) {
      if (!perr) {
        /* Rows usually arrive whole: parse in place, keep only a tail. */
        if (cp.pos == cp.in.n) cp.in.n = cp.pos = 0;
        else if (cp.pos > 65536) {
          memmove(cp.in.p, cp.in.p + cp.pos, cp.in.n - cp.pos);
          cp.in.n -= cp.pos;
          cp.pos = 0;
        }
        if (buf_add(&cp.in, msg, (size_t)n)) {
          set_err(a, "account %lld: load: out of memory", (long long)a->account);
          perr = HUBC_ENOMEM;
        } else {
          int r2 = copy_consume(a, &cp, loader);
          if (r2 < 0) perr = r2;
        }
      }
      PQfreemem(msg); /* after an error the rest is drained, not parsed */
    }
    if (!perr && (!cp.trailer || cp.pos != cp.in.n)) {
      set_err(a, "account %lld: load: COPY stream ended early", (long long)a->account);
      perr = -1;
    }
    free(cp.in.p);
    r = PQgetResult(c->pg);
    int qrc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : fail_result(a, r, "load");
    PQclear(r);
    while ((r = PQgetResult(c->pg))) PQclear(r);
    rc = qrc ? qrc : perr;
  }
out:
  pthread_mutex_unlock(&c->mu);
  return rc;
}

/* ---- transactions ---- */

static int pgp_begin(void *ud) {
  pgp_account *a = ud;
  pthread_mutex_lock(&a->conn->mu);
  if (a->conn->lost) {
    set_err(a, "account %lld: connection lost; close the store and open it again", (long long)a->account);
    pthread_mutex_unlock(&a->conn->mu);
    return -1;
  }
  a->n_ops = 0;
  a->bytes.n = 0;
  return 0; /* the transaction is sent at commit, in one round trip */
}

static int add_op(pgp_account *a, int kind, hubc_id id, const void *bytes, size_t len, int is_del) {
  if (len > 0x3fffffff || pgp_grow((void **)&a->ops, &a->cap_ops, a->n_ops + 1, sizeof *a->ops) ||
      buf_add(&a->bytes, bytes, len)) {
    set_err(a, "account %lld: out of memory buffering the transaction", (long long)a->account);
    return -1;
  }
  pgp_op *o = &a->ops[a->n_ops];
  o->kind = (int16_t)kind;
  o->is_del = is_del;
  o->id = id;
  o->off = a->bytes.n - len;
  o->len = len;
  o->seq = a->n_ops++;
  return 0;
}

static int pgp_put(void *ud, int kind, hubc_id id, const void *bytes, size_t len) {
  return add_op(ud, kind, id, bytes, len, 0);
}

static int pgp_del(void *ud, int kind, hubc_id id) { return add_op(ud, kind, id, NULL, 0, 1); }

static int op_cmp(const void *x, const void *y) {
  const pgp_op *a = x, *b = y;
  if (a->kind != b->kind) return a->kind < b->kind ? -1 : 1;
  if (a->id != b->id) return a->id < b->id ? -1 : 1;
  return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Starts a one-dimensional binary array of `n` elements of type `oid`. */
static int array_start(pgp_buf *b, uint32_t oid, size_t n) {
  b->n = 0;
  return buf_be(b, 1, 4) || buf_be(b, 0, 4) || buf_be(b, oid, 4) || buf_be(b, n, 4) || buf_be(b, 1, 4);
}

/* Sends the transaction: puts and dels as two array statements. The last op
 * on a key wins, so each key appears once (ON CONFLICT DO UPDATE refuses a
 * row touched twice in one statement). */
static int send_ops(pgp_account *a, int want_del, const char *stmt) {
  size_t n = 0;
  for (size_t i = 0; i < a->n_ops; i++) n += a->ops[i].is_del == want_del;
  if (n == 0) return 0;
  enum { INT2 = 21, INT8 = 20, BYTEA = 17 };
  int bad = array_start(&a->a_kind, INT2, n) || array_start(&a->a_id, INT8, n) ||
            (!want_del && array_start(&a->a_bytes, BYTEA, n));
  for (size_t i = 0; i < a->n_ops && !bad; i++) {
    const pgp_op *o = &a->ops[i];
    if (o->is_del != want_del) continue;
    bad = buf_be(&a->a_kind, 2, 4) || buf_be(&a->a_kind, (uint16_t)o->kind, 2) || buf_be(&a->a_id, 8, 4) ||
          buf_be(&a->a_id, (uint64_t)o->id, 8) ||
          (!want_del && (buf_be(&a->a_bytes, o->len, 4) || buf_add(&a->a_bytes, a->bytes.p + o->off, o->len)));
  }
  if (bad || a->a_bytes.n > 0x7fffffff) { /* libpq takes a parameter's length as an int */
    set_err(a, "account %lld: %s", (long long)a->account,
            bad ? "out of memory building the statement" : "transaction over 2 GiB: split the call");
    return -1;
  }
  char acct[24];
  snprintf(acct, sizeof acct, "%lld", (long long)a->account);
  const char *vals[4] = {acct, a->a_kind.p, a->a_id.p, a->a_bytes.p};
  int lens[4] = {0, (int)a->a_kind.n, (int)a->a_id.n, (int)a->a_bytes.n};
  int fmts[4] = {0, 1, 1, 1};
  if (!PQsendQueryPrepared(a->conn->pg, stmt, want_del ? 3 : 4, vals, lens, fmts, 0))
    return fail_result(a, NULL, "commit");
  return 0;
}

static int pgp_commit(void *ud) {
  pgp_account *a = ud;
  persist_postgres_conn *c = a->conn;
  if (a->n_ops > 1) { /* keep the last op on each key */
    qsort(a->ops, a->n_ops, sizeof *a->ops, op_cmp);
    size_t w = 0;
    for (size_t i = 0; i < a->n_ops; i++) {
      if (w && a->ops[w - 1].kind == a->ops[i].kind && a->ops[w - 1].id == a->ops[i].id) w--;
      a->ops[w++] = a->ops[i];
    }
    a->n_ops = w;
  }
  int rc = 0;
  if (!PQenterPipelineMode(c->pg)) return fail_result(a, NULL, "commit");
  if (!PQsendQueryParams(c->pg, "BEGIN", 0, NULL, NULL, NULL, NULL, 0)) rc = fail_result(a, NULL, "commit");
  if (!rc) rc = send_ops(a, 1, "hubc_del");
  if (!rc) rc = send_ops(a, 0, "hubc_put");
  if (!rc && !PQsendQueryParams(c->pg, "COMMIT", 0, NULL, NULL, NULL, NULL, 0)) rc = fail_result(a, NULL, "commit");
  if (!rc && !PQpipelineSync(c->pg)) rc = fail_result(a, NULL, "commit");
  /* Read every result up to the sync; the first error decides. A NULL
   * ends each statement's results; two in a row mean the connection broke
   * (libpq may not have marked it bad yet). */
  for (int synced = rc != 0, nulls = 0; !synced;) {
    PGresult *r = PQgetResult(c->pg);
    if (!r) {
      if (PQstatus(c->pg) == CONNECTION_BAD || ++nulls > 1) {
        c->lost = 1;
        if (!rc) rc = fail_result(a, NULL, "commit");
        break;
      }
      continue;
    }
    nulls = 0;
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_PIPELINE_SYNC) synced = 1;
    else if (st == PGRES_FATAL_ERROR && !rc) rc = fail_result(a, r, "commit");
    PQclear(r);
  }
  if (!PQexitPipelineMode(c->pg) && !rc) rc = fail_result(a, NULL, "commit");
  if (!rc && PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
    set_err(a, "account %lld: commit: transaction still open", (long long)a->account);
    rc = -1;
  }
  if (!rc) pthread_mutex_unlock(&c->mu); /* on failure, rollback follows */
  return rc;
}

static int pgp_rollback(void *ud) {
  pgp_account *a = ud;
  persist_postgres_conn *c = a->conn;
  int rc = 0;
  /* A failed statement leaves the transaction aborted: end it. */
  if (!c->lost && PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
    if (PQpipelineStatus(c->pg) != PQ_PIPELINE_OFF) c->lost = 1; /* could not leave pipeline mode */
    else rc = exec_ok(a, PQexec(c->pg, "ROLLBACK"), PGRES_COMMAND_OK, "rollback");
  }
  a->n_ops = 0;
  a->bytes.n = 0;
  pthread_mutex_unlock(&c->mu);
  return rc;
}

/* Releases the account's advisory lock (the store's close callback). */
static void pgp_close(void *ud) {
  pgp_account *a = ud;
  if (!a || !a->locked) return;
  persist_postgres_conn *c = a->conn;
  pthread_mutex_lock(&c->mu);
  if (!c->lost) {
    char acct[24];
    snprintf(acct, sizeof acct, "%lld", (long long)a->account);
    const char *v[1] = {acct};
    PQclear(PQexecParams(c->pg, "SELECT pg_advisory_unlock($1::bigint)", 1, NULL, v, NULL, NULL, 0));
  }
  unhold(c, a->account);
  a->locked = 0;
  pthread_mutex_unlock(&c->mu);
}

/* ---- connections and accounts ---- */

static void quiet(void *arg, const char *message) {
  (void)arg;
  (void)message;
}

/* Connects, makes sure the table exists, prepares the statements. NULL on
 * failure, with the reason in err. */
persist_postgres_conn *persist_postgres_connect(const char *conninfo, char *err, size_t errlen) {
  char app[128], host[64] = "?";
  gethostname(host, sizeof host - 1);
  snprintf(app, sizeof app, "hubcontacts %s pid %ld", host, (long)getpid());
  const char *keys[] = {"dbname", "fallback_application_name", NULL};
  const char *vals[] = {conninfo ? conninfo : "", app, NULL};
  persist_postgres_conn *c = calloc(1, sizeof *c);
  if (!c) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  pthread_mutex_init(&c->mu, NULL);
  c->pg = PQconnectdbParams(keys, vals, 1);
  PQsetNoticeProcessor(c->pg, quiet, NULL); /* the server logs them; a library prints nothing */
  const char *step = "connect";
  PGresult *r = NULL;
  if (PQstatus(c->pg) == CONNECTION_OK) {
    step = "setup";
    /* A statement timeout unless the caller chose one; the table (created
     * once, under a transaction lock so two first opens do not race). */
    r = PQexec(c->pg,
               "SET client_min_messages = warning;"
               "SELECT set_config('statement_timeout', '" PGP_STATEMENT_TIMEOUT "', false)"
               "  WHERE current_setting('statement_timeout') IN ('0', '0ms');"
               "BEGIN; SELECT pg_advisory_xact_lock(1752523363, 0);" /* 'hubc': another key space than accounts' */
               "CREATE TABLE IF NOT EXISTS " PGP_TABLE "(account_id bigint NOT NULL, kind smallint NOT NULL,"
               "  id bigint NOT NULL, bytes bytea NOT NULL, PRIMARY KEY (account_id, kind, id));"
               "COMMIT");
    if (PQresultStatus(r) == PGRES_COMMAND_OK) {
      PQclear(r);
      r = PQprepare(c->pg, "hubc_put",
                    "INSERT INTO " PGP_TABLE "(account_id, kind, id, bytes)"
                    " SELECT $1, k, i, b FROM unnest($2::int2[], $3::int8[], $4::bytea[]) AS t(k, i, b)"
                    " ON CONFLICT (account_id, kind, id) DO UPDATE SET bytes = excluded.bytes",
                    4, NULL);
    }
    if (PQresultStatus(r) == PGRES_COMMAND_OK) {
      PQclear(r);
      r = PQprepare(c->pg, "hubc_del",
                    "DELETE FROM " PGP_TABLE " WHERE account_id = $1"
                    " AND (kind, id) IN (SELECT * FROM unnest($2::int2[], $3::int8[]))",
                    3, NULL);
    }
    if (PQresultStatus(r) == PGRES_COMMAND_OK) {
      PQclear(r);
      return c;
    }
  }
  snprintf(err, errlen, "%s: %s", step, r ? PQresultErrorMessage(r) : PQerrorMessage(c->pg));
  size_t n = strlen(err);
  while (n && err[n - 1] == '\n') err[--n] = '\0';
  PQclear(r);
  PQfinish(c->pg);
  pthread_mutex_destroy(&c->mu);
  free(c);
  return NULL;
}

/* After every store on it is closed and its backends freed. */
void persist_postgres_disconnect(persist_postgres_conn *c) {
  if (!c) return;
  PQfinish(c->pg);
  pthread_mutex_destroy(&c->mu);
  free(c->held);
  free(c);
}

/* Who holds the advisory lock of `account` (for the EBUSY message). */
static void describe_holder(persist_postgres_conn *c, int64_t account, char *out, size_t n) {
  char hi[16], lo[16];
  snprintf(hi, sizeof hi, "%u", (unsigned)((uint64_t)account >> 32));
  snprintf(lo, sizeof lo, "%u", (unsigned)((uint64_t)account & 0xffffffffu));
  const char *v[2] = {hi, lo};
  PGresult *r = PQexecParams(c->pg,
                             "SELECT coalesce(a.application_name, ''), l.pid, coalesce(a.client_addr::text, 'local'),"
                             "  to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS TZ')"
                             " FROM pg_locks l LEFT JOIN pg_stat_activity a USING (pid)"
                             " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
                             "  AND l.classid = $1::oid AND l.objid = $2::oid AND l.database ="
                             "  (SELECT oid FROM pg_database WHERE datname = current_database())",
                             2, NULL, v, NULL, NULL, 0);
  if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
    snprintf(out, n, "\"%s\" (server pid %s, client %s, connected %s)", PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1),
             PQgetvalue(r, 0, 2), PQgetvalue(r, 0, 3));
  else
    snprintf(out, n, "another session (it has just let go: retry)");
  PQclear(r);
}

static hubc_persist table_for(pgp_account *a) {
  hubc_persist p;
  memset(&p, 0, sizeof p);
  p.version = HUBC_PERSIST_VERSION;
  p.userdata = a;
  p.load = pgp_load;
  p.begin = pgp_begin;
  p.put = pgp_put;
  p.del = pgp_del;
  p.commit = pgp_commit;
  p.rollback = pgp_rollback;
  p.close = pgp_close;
  return p;
}

/* Takes `account` on connection c and fills *out. 0; HUBC_EBUSY when the
 * account is open elsewhere (err names the holder); HUBC_EPERSIST when the
 * server cannot be asked; HUBC_EINVAL, HUBC_ENOMEM. */
int persist_postgres_attach(persist_postgres_conn *c, int64_t account, hubc_persist *out, char *err, size_t errlen) {
  if (!c || !out) {
    snprintf(err, errlen, "persist_postgres_attach: NULL argument");
    return HUBC_EINVAL;
  }
  memset(out, 0, sizeof *out);
  pgp_account *a = calloc(1, sizeof *a);
  if (!a) return snprintf(err, errlen, "out of memory"), HUBC_ENOMEM;
  a->conn = c;
  a->account = account;
  int rc = 0;
  pthread_mutex_lock(&c->mu);
  for (size_t i = 0; i < c->n_held; i++)
    if (c->held[i] == account) {
      snprintf(err, errlen, "account %lld is already open on this connection", (long long)account);
      rc = HUBC_EBUSY;
    }
  if (!rc && c->lost) {
    snprintf(err, errlen, "account %lld: connection lost; connect again", (long long)account);
    rc = HUBC_EPERSIST;
  }
  if (!rc && pgp_grow((void **)&c->held, &c->cap_held, c->n_held + 1, sizeof *c->held)) {
    snprintf(err, errlen, "out of memory");
    rc = HUBC_ENOMEM;
  }
  if (!rc) {
    char acct[24];
    snprintf(acct, sizeof acct, "%lld", (long long)account);
    const char *v[1] = {acct};
    PGresult *r = PQexecParams(c->pg, "SELECT pg_try_advisory_lock($1::bigint)", 1, NULL, v, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
      if (PQstatus(c->pg) == CONNECTION_BAD) c->lost = 1;
      snprintf(err, errlen, "account %lld: lock: %s", (long long)account, PQresultErrorMessage(r));
      rc = HUBC_EPERSIST;
    } else if (strcmp(PQgetvalue(r, 0, 0), "t") != 0) {
      char who[320];
      describe_holder(c, account, who, sizeof who);
      snprintf(err, errlen, "account %lld is open elsewhere: held by %s", (long long)account, who);
      rc = HUBC_EBUSY;
    } else {
      c->held[c->n_held++] = account;
      a->locked = 1;
    }
    PQclear(r);
  }
  pthread_mutex_unlock(&c->mu);
  if (rc) {
    free(a);
    return rc;
  }
  *out = table_for(a);
  return 0;
}

/* Connects and takes one account; the connection is closed with it. */
int persist_postgres_open(const char *conninfo, int64_t account, hubc_persist *out, char *err, size_t errlen) {
  if (!out) return HUBC_EINVAL;
  memset(out, 0, sizeof *out);
  persist_postgres_conn *c = persist_postgres_connect(conninfo, err, errlen);
  if (!c) return HUBC_EPERSIST;
  int rc = persist_postgres_attach(c, account, out, err, errlen);
  if (rc) {
    persist_postgres_disconnect(c);
    return rc;
  }
  ((pgp_account *)out->userdata)->own_conn = 1;
  return 0;
}

/* Why the last failed callback failed ("" if none). */
const char *persist_postgres_error(const hubc_persist *p) {
  return p && p->userdata ? ((pgp_account *)p->userdata)->err : "";
}

/* Releases the backend: after hubc_store_close, or instead of it when
 * hubc_store_open failed (the lock is then released here). Safe on a
 * zeroed table. */
void persist_postgres_free(hubc_persist *p) {
  if (!p || !p->userdata) return;
  pgp_account *a = p->userdata;
  pgp_close(a);
  if (a->own_conn) persist_postgres_disconnect(a->conn);
  free(a->ops);
  free(a->bytes.p);
  free(a->a_kind.p);
  free(a->a_id.p);
  free(a->a_bytes.p);
  free(a);
  p->userdata = NULL;
}

/* ---- the demo --------------------------------------------------------------- */
#ifndef PERSIST_POSTGRES_NO_MAIN

static int fail(const char *what, int rc, const hubc_persist *p) {
  fprintf(stderr, "%s: %s (%s) %s\n", what, hubc_strerror(rc), hubc_error_last(), persist_postgres_error(p));
  return 1;
}

int main(int argc, char **argv) {
  const char *conninfo = argc > 1 ? argv[1] : getenv("HUBC_PG_CONNINFO");
  long long account = argc > 2 ? atoll(argv[2]) : 1;
  if (!conninfo) {
    fprintf(stderr, "usage: %s CONNINFO [ACCOUNT]   (or set HUBC_PG_CONNINFO)\n", argv[0]);
    return 2;
  }
  hubc_persist persist;
  char err[512];
  int rc = persist_postgres_open(conninfo, account, &persist, err, sizeof err);
  if (rc) {
    fprintf(stderr, "%s: %s\n", hubc_strerror(rc), err);
    return 1;
  }
  hubc_store_options opts;
  hubc_store_options_init(&opts, HUBC_STORE_OPTIONS_VERSION);
  opts.admin_email = "admin@example.com";
  opts.persist = &persist;
  hubc_store *store = NULL;
  rc = hubc_store_open(&store, &opts);
  if (rc) {
    fail("open", rc, &persist);
    persist_postgres_free(&persist);
    return 1;
  }
  uint64_t count = 0;
  hubc_contact_count(&count, store);
  if (count == 0) {
    static const char *const names[] = {"email", "firstname"};
    static const char *const people[][2] = {{"anna.rossi@example.com", "Anna"}, {"marco@example.com", "Marco"}};
    for (size_t i = 0; i < 2 && !rc; i++) {
      hubc_id id;
      rc = hubc_contact_create(&id, store, 1, NULL, names, people[i], 2);
      if (rc) fail("create", rc, &persist);
    }
    if (!rc) printf("account %lld: created 2 contacts\n", account);
  } else {
    printf("account %lld already holds %llu contacts (loaded at open)\n", account, (unsigned long long)count);
  }
  hubc_store_close(store);
  persist_postgres_free(&persist);
  return rc ? 1 : 0;
}

#endif /* PERSIST_POSTGRES_NO_MAIN */
