/* persist_postgres_accounts.c — one process serving many accounts from one
 * PostgreSQL database (README "Beyond one machine").
 *
 *   persist_postgres_accounts [CONNINFO] [--accounts N] [--connections K] [--first ID] [--keep]
 *
 * Opens N stores (default 1,000: accounts ID … ID+N-1, default ID
 * 900000000) over K shared connections (default 4; account i uses
 * connection i mod K), serves them from K threads (each request: create a
 * contact in one account, then look it up), closes them, opens them again
 * and prints what each step cost: open time per account, resident memory
 * per empty store, time per request. The accounts' rows are deleted at the
 * end unless --keep is given. CONNINFO defaults to $HUBC_PG_CONNINFO.
 *
 * Why shared connections: a PostgreSQL connection is a server process (a
 * few MB); 1,000 of them would exceed the default max_connections (100).
 * An account's advisory lock belongs to the connection that took it, and
 * the stores on one connection take turns on it, so K is the number of
 * commits in flight at once.
 */
#define PERSIST_POSTGRES_NO_MAIN
#include "persist_postgres.c"

#include <time.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long rss_bytes(void) { /* resident set size, from /proc/self/statm */
  long pages = 0, resident = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f) return 0;
  if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
  fclose(f);
  return resident * sysconf(_SC_PAGESIZE);
}

typedef struct account {
  hubc_persist p;
  hubc_store *s;
} account;

static account *accts;
static persist_postgres_conn **conns;
static long n_accts, n_conns, first_id = 900000000;

/* Opens account i on its connection; 0 or prints why. */
static int open_account(long i) {
  char err[512];
  int rc = persist_postgres_attach(conns[i % n_conns], first_id + i, &accts[i].p, err, sizeof err);
  if (rc) {
    fprintf(stderr, "account %ld: %s\n", first_id + i, err);
    return rc;
  }
  hubc_store_options o;
  hubc_store_options_init(&o, HUBC_STORE_OPTIONS_VERSION);
  o.admin_email = "owner@example.com";
  o.persist = &accts[i].p;
  rc = hubc_store_open(&accts[i].s, &o);
  if (rc) {
    fprintf(stderr, "account %ld: %s %s\n", first_id + i, hubc_error_last(), persist_postgres_error(&accts[i].p));
    persist_postgres_free(&accts[i].p);
  }
  return rc;
}

static void close_account(long i) {
  hubc_store_close(accts[i].s);
  accts[i].s = NULL;
  persist_postgres_free(&accts[i].p);
}

static int open_all(double *per_account) {
  double t0 = now_s();
  for (long i = 0; i < n_accts; i++)
    if (open_account(i)) return 1;
  *per_account = (now_s() - t0) / (double)n_accts;
  return 0;
}

/* One thread per connection serves that connection's accounts. */
static void *serve(void *arg) {
  long k = (long)(intptr_t)arg;
  for (long i = k; i < n_accts; i += n_conns) {
    char email[64];
    snprintf(email, sizeof email, "customer%ld@example.com", i);
    const char *names[] = {"email", "firstname"}, *values[] = {email, "Ada"};
    hubc_id id, found;
    if (hubc_contact_create(&id, accts[i].s, 1, NULL, names, values, 2) != 0 ||
        hubc_contact_find(&found, accts[i].s, email) != 0 || found != id) {
      fprintf(stderr, "account %ld: %s %s\n", first_id + i, hubc_error_last(), persist_postgres_error(&accts[i].p));
      return (void *)1;
    }
  }
  return NULL;
}

int main(int argc, char **argv) {
  const char *conninfo = getenv("HUBC_PG_CONNINFO");
  int keep = 0;
  n_accts = 1000;
  n_conns = 4;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--accounts") && i + 1 < argc) n_accts = atol(argv[++i]);
    else if (!strcmp(argv[i], "--connections") && i + 1 < argc) n_conns = atol(argv[++i]);
    else if (!strcmp(argv[i], "--first") && i + 1 < argc) first_id = atol(argv[++i]);
    else if (!strcmp(argv[i], "--keep")) keep = 1;
    else if (argv[i][0] != '-') conninfo = argv[i];
    else conninfo = NULL, n_accts = 0;
  }
  if (!conninfo || n_accts < 1 || n_conns < 1) {
    fprintf(stderr, "usage: %s [CONNINFO] [--accounts N] [--connections K] [--first ID] [--keep]\n", argv[0]);
    return 2;
  }
  accts = calloc((size_t)n_accts, sizeof *accts);
  conns = calloc((size_t)n_conns, sizeof *conns);
  for (long k = 0; k < n_conns; k++) {
    char err[512];
    conns[k] = persist_postgres_connect(conninfo, err, sizeof err);
    if (!conns[k]) {
      fprintf(stderr, "connect: %s\n", err);
      return 1;
    }
  }
  /* start from empty accounts */
  char sql[160];
  snprintf(sql, sizeof sql, "DELETE FROM hubc_records WHERE account_id BETWEEN %ld AND %ld", first_id,
           first_id + n_accts - 1);
  PQclear(PQexec(conns[0]->pg, sql));

  long rss0 = rss_bytes();
  double open_empty, open_one;
  if (open_all(&open_empty)) return 1;
  long rss1 = rss_bytes();
  printf("%ld accounts over %ld connections\n", n_accts, n_conns);
  printf("  open an empty account:     %8.3f ms each (advisory lock + COPY + new store)\n", open_empty * 1e3);
  printf("  memory per empty store:    %8.1f KiB (resident set growth / %ld)\n", (double)(rss1 - rss0) / 1024.0 / (double)n_accts,
         n_accts);

  pthread_t *t = calloc((size_t)n_conns, sizeof *t);
  double t0 = now_s();
  for (long k = 0; k < n_conns; k++) pthread_create(&t[k], NULL, serve, (void *)(intptr_t)k);
  int bad = 0;
  for (long k = 0; k < n_conns; k++) {
    void *r;
    pthread_join(t[k], &r);
    bad |= r != NULL;
  }
  double served = now_s() - t0;
  if (bad) return 1;
  printf("  serve one request/account: %8.3f ms each, %ld threads (create = one commit, then a lookup)\n",
         served * 1e3 / (double)n_accts, n_conns);

  t0 = now_s();
  for (long i = 0; i < n_accts; i++) close_account(i);
  printf("  close:                     %8.3f ms each\n", (now_s() - t0) * 1e3 / (double)n_accts);
  if (open_all(&open_one)) return 1;
  printf("  reopen (1 contact each):   %8.3f ms each\n", open_one * 1e3);
  for (long i = 0; i < n_accts; i++) {
    uint64_t n = 0;
    hubc_contact_count(&n, accts[i].s);
    if (n != 1) {
      fprintf(stderr, "account %ld reopened with %llu contacts\n", first_id + i, (unsigned long long)n);
      return 1;
    }
    close_account(i);
  }
  if (!keep) PQclear(PQexec(conns[0]->pg, sql));
  for (long k = 0; k < n_conns; k++) persist_postgres_disconnect(conns[k]);
  free(t);
  free(conns);
  free(accts);
  return 0;
}
