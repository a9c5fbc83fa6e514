/* R6 stress: one store shared by four worker threads mixing lookups (find,
 * get, get_by_email, iteration), creates, updates, deletes and status
 * changes over a shared pool of emails, plus a reader holding snapshots
 * across the others' updates, plus shared snapshots read by every thread
 * at once (lazily rendered computed properties). The clock moves forward
 * now and then so update dates (M5) are applied by whichever call comes
 * first, on the read path or the write path.
 *
 * Deterministic per-thread PRNGs; a bounded number of operations; no
 * sleeps and no timing. At the end, single-threaded:
 *   - the contact count equals the contacts found by iteration;
 *   - every live contact found by its email is itself (same id, same
 *     properties), and no email is held by two contacts;
 *   - billing counts equal a recount over all contacts;
 *   - STATUS events delivered equal the history entries written;
 *   - no call failed other than with the codes a race explains.
 * Run it under ThreadSanitizer (the tsan preset) and AddressSanitizer.
 *
 * HUBC_STRESS_OPS=<n> changes the operations per worker (default 20000). */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hubcontacts.h"

#define WORKERS 4
#define EMAILS 400
#define HELD 8
#define SHARED 4
#define ADMIN ((hubc_id)1)

static hubc_store *store;
static _Atomic hubc_time clock_now;
static atomic_int failures;
static atomic_int workers_done;
static atomic_long status_events;
static atomic_long race_notfound, race_exists, held_checks;
static long ops_per_worker = 20000;
static hubc_contact *shared[SHARED];
static char shared_id_text[SHARED][32];
static char shared_created[SHARED][64];

static hubc_time test_clock(void *payload) {
  (void)payload;
  return atomic_load(&clock_now);
}

static void on_event(void *payload, const hubc_event *ev) {
  (void)payload;
  if (ev->type == HUBC_EVENT_STATUS) atomic_fetch_add(&status_events, 1);
}

static void failf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("stress_threads: FAIL: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  if (atomic_fetch_add(&failures, 1) > 50) {
    fputs("stress_threads: too many failures, giving up\n", stderr);
    exit(1);
  }
}

/* rc must be 0 or one of the allowed codes (a race with another thread). */
static int expect(int rc, const char *what, int allow1, int allow2) {
  if (rc == HUBC_ENOTFOUND && (allow1 == rc || allow2 == rc)) atomic_fetch_add(&race_notfound, 1);
  if (rc == HUBC_EEXISTS && (allow1 == rc || allow2 == rc)) atomic_fetch_add(&race_exists, 1);
  if (rc == 0 || (allow1 && rc == allow1) || (allow2 && rc == allow2)) return rc;
  failf("%s: unexpected %d (%s): %s", what, rc, hubc_strerror(rc), hubc_error_last());
  return rc;
}

typedef struct rng {
  uint64_t s;
} rng;

static uint32_t next32(rng *r) { /* xorshift64* */
  r->s ^= r->s >> 12;
  r->s ^= r->s << 25;
  r->s ^= r->s >> 27;
  return (uint32_t)((r->s * 2685821657736338717ull) >> 32);
}

static uint32_t below(rng *r, uint32_t n) { return next32(r) % n; }

/* Email k, canonical form. */
static void email_of(char *buf, size_t cap, uint32_t k) { snprintf(buf, cap, "user%03u@stress.example", k); }

/* Email k spelled with random case and white space (C3: the same email). */
static void spelled(rng *r, char *buf, size_t cap, uint32_t k) {
  char e[64];
  email_of(e, sizeof e, k);
  size_t n = 0;
  if (below(r, 4) == 0) buf[n++] = ' ';
  for (const char *p = e; *p && n + 3 < cap; p++) buf[n++] = below(r, 3) == 0 && *p >= 'a' && *p <= 'z' ? (char)(*p - 32) : *p;
  if (below(r, 4) == 0) buf[n++] = '\t';
  buf[n] = '\0';
}

/* A snapshot is internally consistent (taken under the lock as one version). */
static void check_snapshot(const hubc_contact *c, const char *want_email) {
  hubc_id id = hubc_contact_id(c);
  if (id <= 0) failf("snapshot with id %" PRId64, id);
  char idt[32];
  snprintf(idt, sizeof idt, "%" PRId64, id);
  const char *oid = hubc_contact_prop(c, "hs_object_id");
  if (!oid || strcmp(oid, idt) != 0) failf("snapshot %s: hs_object_id '%s'", idt, oid ? oid : "(null)");
  const char *email = hubc_contact_prop(c, "email");
  if (want_email && (!email || strcmp(email, want_email) != 0))
    failf("snapshot %s: email '%s', looked up by '%s'", idt, email ? email : "(null)", want_email);
  int st = hubc_contact_status(c);
  const char *mk = hubc_contact_prop(c, "hs_marketable_status");
  const char *until = hubc_contact_prop(c, "hs_marketable_until_renewal");
  if (st < HUBC_NON_MARKETING || st > HUBC_MARKETING_UNTIL_UPDATE) failf("snapshot %s: status %d", idt, st);
  if (!mk || strcmp(mk, st == HUBC_NON_MARKETING ? "false" : "true") != 0)
    failf("snapshot %s: status %d but hs_marketable_status '%s'", idt, st, mk ? mk : "(null)");
  if (!until || strcmp(until, st == HUBC_MARKETING_UNTIL_UPDATE ? "true" : "false") != 0)
    failf("snapshot %s: status %d but hs_marketable_until_renewal '%s'", idt, st, until ? until : "(null)");
  size_t n = hubc_contact_prop_count(c);
  for (size_t i = 0; i < n; i++) {
    const char *name, *value;
    if (hubc_contact_prop_at(&name, &value, c, i)) failf("snapshot %s: prop_at %zu failed", idt, i);
    else if (!value || strcmp(value, hubc_contact_prop(c, name) ? hubc_contact_prop(c, name) : "") != 0)
      failf("snapshot %s: prop_at %zu (%s) disagrees with prop", idt, i, name);
  }
}

/* Every thread reads the shared snapshots (computed values are rendered
 * lazily on first use, possibly by several threads at once). */
static void read_shared(rng *r) {
  int k = (int)below(r, SHARED);
  const char *oid = hubc_contact_prop(shared[k], "hs_object_id");
  if (!oid || strcmp(oid, shared_id_text[k]) != 0) failf("shared snapshot %d: hs_object_id '%s'", k, oid ? oid : "");
  const char *cd = hubc_contact_prop(shared[k], "createdate");
  if (!cd || strcmp(cd, shared_created[k]) != 0) failf("shared snapshot %d: createdate changed", k);
  const char *lm = hubc_contact_prop(shared[k], "lastmodifieddate");
  if (!lm) failf("shared snapshot %d: lastmodifieddate missing", k);
  const char *fn = hubc_contact_prop(shared[k], "firstname");
  if (!fn || strcmp(fn, "shared") != 0) failf("shared snapshot %d: firstname '%s'", k, fn ? fn : "");
}

static const char *const stages[] = {"subscriber", "lead", "marketingqualifiedlead", "customer"};
static const char *const cities[] = {"Roma", "Milano", "Torino", "Napoli", "Bari"};

static void op_lookup(rng *r) {
  char e[80], canon[64];
  uint32_t k = below(r, EMAILS);
  spelled(r, e, sizeof e, k);
  email_of(canon, sizeof canon, k);
  hubc_id id = 0;
  if (expect(hubc_contact_find(&id, store, e), "find", HUBC_ENOTFOUND, 0) == 0) {
    hubc_contact *c = NULL;
    if (expect(hubc_contact_get(&c, store, id), "get", HUBC_ENOTFOUND, 0) == 0) {
      check_snapshot(c, NULL);
      hubc_contact_free(c);
    }
  }
  hubc_contact *c = NULL;
  if (expect(hubc_contact_get_by_email(&c, store, e), "get_by_email", HUBC_ENOTFOUND, 0) == 0) {
    check_snapshot(c, canon);
    hubc_contact_free(c);
  }
}

/* Many lookups in one call see the store at one instant: rows with the
 * same email get the same contact, or none. */
static void op_lookup_many(rng *r) {
  enum { N = 8 };
  char text[N][80], canon[N][64];
  const char *emails[N];
  uint32_t first = 0;
  for (int i = 0; i < N; i++) {
    uint32_t k = i == N - 1 ? first : below(r, EMAILS); /* the last row repeats the first email */
    if (i == 0) first = k;
    spelled(r, text[i], sizeof text[i], k);
    email_of(canon[i], sizeof canon[i], k);
    emails[i] = text[i];
  }
  hubc_contact *c[N];
  if (expect(hubc_contact_get_many(c, store, emails, N), "get_many", 0, 0) == 0) {
    for (int i = 0; i < N; i++)
      if (c[i]) check_snapshot(c[i], canon[i]);
    if ((c[0] == NULL) != (c[N - 1] == NULL) || (c[0] && hubc_contact_id(c[0]) != hubc_contact_id(c[N - 1])))
      failf("get_many: one email, two answers in one call (%s)", canon[0]);
    for (int i = 0; i < N; i++) hubc_contact_free(c[i]);
  }
  hubc_id ids[N];
  if (expect(hubc_contact_find_many(ids, store, emails, N), "find_many", 0, 0) == 0 && ids[0] != ids[N - 1])
    failf("find_many: one email, two answers in one call (%s)", canon[0]);
}

static void op_iterate(rng *r) {
  static const int selects[] = {HUBC_SELECT_ALL, HUBC_SELECT_BILLABLE, HUBC_SELECT_MARKETING,
                                HUBC_SELECT_UNTIL_UPDATE, HUBC_SELECT_NON_MARKETING, HUBC_SELECT_UNREACHABLE};
  hubc_contact_iterator *it = NULL;
  if (expect(hubc_contact_iterator_new(&it, store, selects[below(r, 6)]), "iterator_new", 0, 0)) return;
  hubc_id prev = 0, id = 0;
  int rc = 0;
  for (int i = 0; i < 48 && (rc = hubc_contact_iterator_next(&id, it)) == 0; i++) {
    if (id <= prev) failf("iterator: %" PRId64 " after %" PRId64, id, prev);
    prev = id;
  }
  if (rc != 0 && rc != HUBC_ITEROVER) failf("iterator_next: %d (%s)", rc, hubc_error_last());
  hubc_contact_iterator_free(it);
}

static hubc_id some_id(rng *r) {
  char e[64];
  email_of(e, sizeof e, below(r, EMAILS));
  hubc_id id = 0;
  expect(hubc_contact_find(&id, store, e), "find", HUBC_ENOTFOUND, 0);
  return id; /* 0 when absent */
}

static void op_create(rng *r) {
  char e[80];
  spelled(r, e, sizeof e, below(r, EMAILS));
  const char *n[] = {"email", "firstname", "city", "lifecyclestage"};
  const char *v[] = {e, "created", cities[below(r, 5)], stages[below(r, 4)]};
  hubc_create_options o = HUBC_CREATE_OPTIONS_INIT;
  o.marketing = (int)below(r, 2);
  hubc_id id = 0;
  expect(hubc_contact_create(&id, store, ADMIN, &o, n, v, 4), "create", HUBC_EEXISTS, 0);
}

static void op_update(rng *r) {
  hubc_id id = some_id(r);
  if (!id) return;
  switch (below(r, 4)) {
  case 0: { /* move to another email of the pool: may collide */
    char e[80];
    spelled(r, e, sizeof e, below(r, EMAILS));
    const char *n[] = {"email"};
    const char *v[] = {e};
    expect(hubc_contact_update(store, ADMIN, id, n, v, 1), "update email", HUBC_ENOTFOUND, HUBC_EEXISTS);
    break;
  }
  case 1: {
    const char *n[] = {"hs_email_optout", "hs_email_hard_bounced"};
    const char *v[] = {below(r, 2) ? "true" : "false", below(r, 3) ? NULL : "true"};
    expect(hubc_contact_update(store, ADMIN, id, n, v, 2), "update consent", HUBC_ENOTFOUND, 0);
    break;
  }
  default: {
    char name[32];
    snprintf(name, sizeof name, "n%u", below(r, 1000));
    const char *n[] = {"firstname", "city", "lifecyclestage", "company"};
    const char *v[] = {name, cities[below(r, 5)], stages[below(r, 4)], below(r, 2) ? "ACME" : NULL};
    expect(hubc_contact_update(store, ADMIN, id, n, v, 4), "update", HUBC_ENOTFOUND, 0);
    break;
  }
  }
}

static void op_delete(rng *r) {
  hubc_id id = some_id(r);
  if (id) expect(hubc_contact_delete(store, ADMIN, id), "delete", HUBC_ENOTFOUND, 0);
}

static void op_status(rng *r) {
  hubc_id id = some_id(r);
  if (!id) return;
  if (below(r, 3)) expect(hubc_contact_set_marketing(store, ADMIN, id, HUBC_SOURCE_MANUAL, (hubc_id)below(r, 50) + 1),
                          "set_marketing", HUBC_ENOTFOUND, 0);
  else expect(hubc_contact_set_non_marketing(store, ADMIN, id, HUBC_SOURCE_MANUAL, 1), "set_non_marketing",
              HUBC_ENOTFOUND, 0);
}

static void *worker(void *arg) {
  int t = (int)(intptr_t)arg;
  rng r = {UINT64_C(0x9E3779B97F4A7C15) * ((uint64_t)t + 1u)};
  for (long i = 0; i < ops_per_worker && atomic_load(&failures) == 0; i++) {
    uint32_t p = below(&r, 100);
    if (p < 27) op_lookup(&r);
    else if (p < 30) op_lookup_many(&r);
    else if (p < 35) op_iterate(&r);
    else if (p < 40) read_shared(&r);
    else if (p < 58) op_create(&r);
    else if (p < 76) op_update(&r);
    else if (p < 86) op_delete(&r);
    else op_status(&r);
    /* thread 0 moves the clock three days now and then: update dates pass
     * while the others work (and the next call applies them) */
    if (t == 0 && i % 500 == 499) atomic_fetch_add(&clock_now, 3 * 86400);
  }
  atomic_fetch_add(&workers_done, 1);
  return NULL;
}

/* Holds snapshots while the workers change the contacts, and checks that
 * each still shows exactly what it showed when taken. */
typedef struct held {
  hubc_contact *c;
  char *props; /* "name=value\n" for every property at taking time */
} held;

static char *render(const hubc_contact *c) {
  size_t cap = 256, len = 0;
  char *s = malloc(cap);
  if (!s) abort();
  s[0] = '\0';
  size_t n = hubc_contact_prop_count(c);
  for (size_t i = 0; i < n; i++) {
    const char *name, *value;
    if (hubc_contact_prop_at(&name, &value, c, i)) {
      failf("held snapshot: prop_at %zu failed", i);
      break;
    }
    size_t need = strlen(name) + strlen(value) + 3;
    while (len + need >= cap) {
      cap *= 2;
      s = realloc(s, cap);
      if (!s) abort();
    }
    len += (size_t)snprintf(s + len, cap - len, "%s=%s\n", name, value);
  }
  char tail[64];
  snprintf(tail, sizeof tail, "status=%d modified=%" PRId64 "\n", hubc_contact_status(c), hubc_contact_modified(c));
  while (len + strlen(tail) + 1 >= cap) {
    cap *= 2;
    s = realloc(s, cap);
    if (!s) abort();
  }
  strcpy(s + len, tail);
  return s;
}

static void *reader(void *arg) {
  (void)arg;
  rng r = {0xD1B54A32D192ED03ull};
  held h[HELD];
  memset(h, 0, sizeof h);
  long rounds = 0;
  while (atomic_load(&workers_done) < WORKERS && rounds < 50L * ops_per_worker && atomic_load(&failures) == 0) {
    int slot = (int)(rounds++ % HELD);
    if (h[slot].c) {
      char *now = render(h[slot].c);
      atomic_fetch_add(&held_checks, 1);
      if (strcmp(now, h[slot].props) != 0)
        failf("held snapshot %" PRId64 " changed:\n--- taken\n%s--- now\n%s", hubc_contact_id(h[slot].c),
              h[slot].props, now);
      free(now);
      free(h[slot].props);
      hubc_contact_free(h[slot].c);
      h[slot].c = NULL;
    }
    char e[80];
    spelled(&r, e, sizeof e, below(&r, EMAILS));
    if (expect(hubc_contact_get_by_email(&h[slot].c, store, e), "reader get_by_email", HUBC_ENOTFOUND, 0) == 0)
      h[slot].props = render(h[slot].c);
    read_shared(&r);
  }
  for (int i = 0; i < HELD; i++)
    if (h[i].c) {
      char *now = render(h[i].c);
      if (strcmp(now, h[i].props) != 0) failf("held snapshot %" PRId64 " changed", hubc_contact_id(h[i].c));
      free(now);
      free(h[i].props);
      hubc_contact_free(h[i].c);
    }
  return NULL;
}

/* ---- final checks (single-threaded) ------------------------------------ */

static int count_select(int select) {
  hubc_contact_iterator *it = NULL;
  if (hubc_contact_iterator_new(&it, store, select)) {
    failf("iterator_new: %s", hubc_error_last());
    return -1;
  }
  int n = 0;
  hubc_id id;
  int rc;
  while ((rc = hubc_contact_iterator_next(&id, it)) == 0) n++;
  if (rc != HUBC_ITEROVER) failf("iterator_next: %d", rc);
  hubc_contact_iterator_free(it);
  return n;
}

static long count_periods(void) {
  hubc_period_iterator *it = NULL;
  if (hubc_period_iterator_new(&it, store)) return -1;
  hubc_period p;
  memset(&p, 0, sizeof p);
  p.version = HUBC_PERIOD_VERSION;
  long n = 0;
  while (hubc_period_iterator_next(&p, it) == 0) n++;
  hubc_period_iterator_free(it);
  return n;
}

static void final_checks(void) {
  uint64_t count = 0;
  if (hubc_contact_count(&count, store)) failf("count: %s", hubc_error_last());
  hubc_contact_iterator *it = NULL;
  if (hubc_contact_iterator_new(&it, store, HUBC_SELECT_ALL)) {
    failf("iterator_new: %s", hubc_error_last());
    return;
  }
  uint64_t seen = 0, by_status[3] = {0, 0, 0};
  int email_owner[EMAILS];
  memset(email_owner, 0, sizeof email_owner);
  hubc_id id;
  int rc;
  while ((rc = hubc_contact_iterator_next(&id, it)) == 0) {
    seen++;
    hubc_contact *c = NULL;
    if (hubc_contact_get(&c, store, id)) {
      failf("contact %" PRId64 " iterated but get failed: %s", id, hubc_error_last());
      continue;
    }
    check_snapshot(c, NULL);
    int st = hubc_contact_status(c);
    if (st >= 0 && st <= 2) by_status[st]++;
    const char *email = hubc_contact_prop(c, "email");
    if (email && strncmp(email, "shared", 6) == 0) {
      int k = -1;
      for (int j = 0; j < SHARED; j++)
        if (strcmp(shared_id_text[j], hubc_contact_prop(c, "hs_object_id")) == 0) k = j;
      if (k < 0 || strcmp(hubc_contact_prop(c, "firstname"), "shared") != 0)
        failf("contact %" PRId64 ": '%s' is not one of the untouched shared contacts", id, email);
    } else if (email) {
      unsigned k = 0;
      if (sscanf(email, "user%u@stress.example", &k) != 1 || k >= EMAILS) failf("contact %" PRId64 ": odd email '%s'", id, email);
      else if (email_owner[k]) failf("email '%s' held by %d and %" PRId64, email, email_owner[k], id);
      else email_owner[k] = (int)id;
      hubc_id found = 0;
      if (hubc_contact_find(&found, store, email) || found != id)
        failf("contact %" PRId64 ": find('%s') gave %" PRId64 " (%s)", id, email, found, hubc_error_last());
      hubc_contact *d = NULL;
      if (hubc_contact_get_by_email(&d, store, email)) {
        failf("contact %" PRId64 ": get_by_email('%s') failed: %s", id, email, hubc_error_last());
      } else {
        char *a = render(c), *b = render(d);
        if (hubc_contact_id(d) != id || strcmp(a, b) != 0)
          failf("contact %" PRId64 ": get_by_email gives a different contact:\n%s---\n%s", id, a, b);
        free(a);
        free(b);
        hubc_contact_free(d);
      }
    }
    hubc_contact_free(c);
  }
  if (rc != HUBC_ITEROVER) failf("iterator_next: %d", rc);
  hubc_contact_iterator_free(it);
  if (seen != count) failf("count says %" PRIu64 ", iteration found %" PRIu64, count, seen);
  /* emails nobody holds are not found */
  for (unsigned k = 0; k < EMAILS; k++) {
    if (email_owner[k]) continue;
    char e[64];
    email_of(e, sizeof e, k);
    hubc_id found = 0;
    if (hubc_contact_find(&found, store, e) != HUBC_ENOTFOUND) failf("'%s' is held by no contact but find gives %" PRId64, e, found);
  }

  hubc_billing_info bi;
  memset(&bi, 0, sizeof bi);
  bi.version = HUBC_BILLING_INFO_VERSION;
  if (hubc_billing_get(&bi, store)) failf("billing_get: %s", hubc_error_last());
  if (bi.marketing != by_status[HUBC_MARKETING] || bi.until_update != by_status[HUBC_MARKETING_UNTIL_UPDATE] ||
      bi.non_marketing != by_status[HUBC_NON_MARKETING] ||
      bi.billable != by_status[HUBC_MARKETING] + by_status[HUBC_MARKETING_UNTIL_UPDATE])
    failf("billing counts m=%" PRIu64 " u=%" PRIu64 " n=%" PRIu64 " b=%" PRIu64 "; recount m=%" PRIu64
          " u=%" PRIu64 " n=%" PRIu64,
          bi.marketing, bi.until_update, bi.non_marketing, bi.billable, by_status[1], by_status[2], by_status[0]);
  if ((uint64_t)count_select(HUBC_SELECT_MARKETING) != by_status[HUBC_MARKETING] ||
      (uint64_t)count_select(HUBC_SELECT_UNTIL_UPDATE) != by_status[HUBC_MARKETING_UNTIL_UPDATE] ||
      (uint64_t)count_select(HUBC_SELECT_NON_MARKETING) != by_status[HUBC_NON_MARKETING] ||
      (uint64_t)count_select(HUBC_SELECT_BILLABLE) != bi.billable)
    failf("selections disagree with the recount");
  if (bi.period_peak < bi.billable) failf("period peak %" PRIu64 " below billable %" PRIu64, bi.period_peak, bi.billable);

  /* every status change was delivered as one event and recorded once */
  hubc_history_iterator *hit = NULL;
  long hist = 0;
  if (hubc_history_iterator_new(&hit, store, 0)) {
    failf("history: %s", hubc_error_last());
  } else {
    hubc_history_entry e;
    memset(&e, 0, sizeof e);
    e.version = HUBC_HISTORY_ENTRY_VERSION;
    hubc_id prev = 0;
    while ((rc = hubc_history_iterator_next(&e, hit)) == 0) {
      if (e.seq != prev + 1) failf("history seq %" PRId64 " after %" PRId64, e.seq, prev);
      prev = e.seq;
      hist++;
    }
    hubc_history_iterator_free(hit);
  }
  if (hist != atomic_load(&status_events))
    failf("%ld history entries but %ld STATUS events delivered", hist, atomic_load(&status_events));
  printf("stress_threads: %d workers x %ld ops; %" PRIu64 " contacts left (%" PRIu64 " billable), %ld status "
         "changes, %ld update dates passed; NOTFOUND %ld, EXISTS %ld; %ld held snapshots re-checked\n",
         WORKERS, ops_per_worker, count, bi.billable, hist, count_periods(), atomic_load(&race_notfound),
         atomic_load(&race_exists), atomic_load(&held_checks));
}

static int seed_store(void) {
  /* half the pool exists at the start; the shared snapshots are of
   * contacts outside the pool, which nobody else touches */
  for (uint32_t k = 0; k < EMAILS; k += 2) {
    char e[64];
    email_of(e, sizeof e, k);
    const char *n[] = {"email", "firstname"};
    const char *v[] = {e, "seed"};
    hubc_id id;
    if (hubc_contact_create(&id, store, ADMIN, NULL, n, v, 2)) return -1;
    if (k % 6 == 0 && hubc_contact_set_marketing(store, ADMIN, id, HUBC_SOURCE_MANUAL, 1)) return -1;
  }
  for (int k = 0; k < SHARED; k++) {
    char e[64];
    snprintf(e, sizeof e, "shared%d@elsewhere.example", k);
    const char *n[] = {"email", "firstname"};
    const char *v[] = {e, "shared"};
    hubc_id id;
    if (hubc_contact_create(&id, store, ADMIN, NULL, n, v, 2)) return -1;
    if (hubc_contact_get(&shared[k], store, id)) return -1;
    snprintf(shared_id_text[k], sizeof shared_id_text[k], "%" PRId64, id);
    /* the expected createdate, read from a separate snapshot so the shared
     * one is rendered for the first time by the threads */
    hubc_contact *probe = NULL;
    if (hubc_contact_get(&probe, store, id)) return -1;
    snprintf(shared_created[k], sizeof shared_created[k], "%s", hubc_contact_prop(probe, "createdate"));
    hubc_contact_free(probe);
  }
  return 0;
}

int main(void) {
  const char *env = getenv("HUBC_STRESS_OPS");
  if (env && atol(env) > 0) ops_per_worker = atol(env);
  atomic_store(&clock_now, (hubc_time)1711015200); /* 2024-03-21T10:00:00Z */
  hubc_store_options o;
  if (hubc_store_options_init(&o, HUBC_STORE_OPTIONS_VERSION)) return 1;
  o.clock = test_clock;
  o.admin_email = "admin@example.com";
  if (hubc_store_open(&store, &o)) {
    fprintf(stderr, "stress_threads: open: %s\n", hubc_error_last());
    return 1;
  }
  if (hubc_store_set_event_callback(store, on_event, NULL) || seed_store()) {
    fprintf(stderr, "stress_threads: seeding: %s\n", hubc_error_last());
    return 1;
  }
  pthread_t th[WORKERS + 1];
  for (int t = 0; t < WORKERS; t++)
    if (pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t)) return 1;
  if (pthread_create(&th[WORKERS], NULL, reader, NULL)) return 1;
  for (int t = 0; t <= WORKERS; t++) pthread_join(th[t], NULL);

  /* the shared snapshots never changed */
  rng r = {42};
  for (int i = 0; i < SHARED * 4; i++) read_shared(&r);
  final_checks();
  for (int k = 0; k < SHARED; k++) hubc_contact_free(shared[k]);
  hubc_store_close(store);
  int f = atomic_load(&failures);
  if (f) {
    fprintf(stderr, "stress_threads: %d failure(s)\n", f);
    return 1;
  }
  puts("stress_threads: ok");
  return 0;
}
