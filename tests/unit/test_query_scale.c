/* Bulk actions and filters at scale (issue 11): the status events of a
 * bulk action are each delivered as before (M7 fields, the billable count
 * after each change) while the call queues a bounded amount of memory for
 * them; counts and bulk selections read filter columns (query/columns.h)
 * that stay equal to the records through every change, undo, too many
 * distinct values and allocation failure (S1). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/store.h"
#include "testutil.h"

#define ADMIN ((hubc_id)1)
#define T0 tu_time(2024, 3, 21, 10, 0, 0)

static void ok(int rc) {
  if (rc != 0) fail_msg("call failed: %d (%s): %s", rc, hubc_strerror(rc), hubc_error_last());
}

/* An allocator that tracks the peak of live bytes. */
typedef struct peak_alloc {
  size_t live, peak;
} peak_alloc;

static void *peak_alloc_fn(void *payload, void *ptr, size_t old_size, size_t new_size) {
  peak_alloc *a = payload;
  if (new_size == 0) {
    if (ptr) a->live -= old_size;
    free(ptr);
    return NULL;
  }
  void *p = realloc(ptr, new_size);
  if (p) {
    a->live = a->live - (ptr ? old_size : 0) + new_size;
    if (a->live > a->peak) a->peak = a->live;
  }
  return p;
}

static hubc_store *open_counted(tu_clock *clk, peak_alloc *a) {
  hubc_store_options o;
  ok(hubc_store_options_init(&o, HUBC_STORE_OPTIONS_VERSION));
  o.clock = tu_clock_fn;
  o.clock_payload = clk;
  o.alloc = peak_alloc_fn;
  o.alloc_payload = a;
  o.admin_email = "admin@example.com";
  hubc_store *s = NULL;
  ok(hubc_store_open(&s, &o));
  return gc_store(s);
}

/* n contacts p1..pn@example.com, city Roma for odd ids, Milano for even. */
static void populate(hubc_store *s, int n) {
  for (int i = 1; i <= n; i++) {
    char email[32];
    snprintf(email, sizeof email, "p%d@example.com", i);
    const char *names[] = {"email", "city"};
    const char *values[] = {email, i % 2 ? "Roma" : "Milano"};
    hubc_id id;
    ok(hubc_contact_create(&id, s, ADMIN, NULL, names, values, 2));
    assert_int_equal(id, i);
  }
}

static void filter_free(void *f) { hubc_filter_free(f); }

static hubc_filter *compile(hubc_store *s, const char *text) {
  hubc_filter *f = NULL;
  ok(hubc_filter_compile(&f, s, text));
  return gc_defer(filter_free, f);
}

typedef struct events {
  hubc_event ev[4096];
  size_t n, status;
} events;

static void collect(void *payload, const hubc_event *ev) {
  events *e = payload;
  if (ev->type == HUBC_EVENT_STATUS) e->status++;
  if (e->n < sizeof e->ev / sizeof e->ev[0]) e->ev[e->n++] = *ev;
}

static void commit_all(hubc_store *s, const char *filter, int action, uint64_t confirm) {
  hubc_selection sel = HUBC_SELECTION_INIT;
  sel.filter = compile(s, filter);
  hubc_bulk_summary done = {.version = HUBC_BULK_SUMMARY_VERSION};
  ok(hubc_bulk_commit(&done, s, ADMIN, action, &sel, confirm));
}

/* Each changed contact gets its STATUS event, in id order, with the fields
 * of its history entry and the billable count right after its change —
 * also across a run longer than one delivery batch. A plan delivers none. */
static void m7_bulk_delivers_one_status_event_per_change_with_its_billable_count(void **state) {
  (void)state;
  tu_clock clk = {T0};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  populate(s, 1500);
  /* 1..10 marketing first: the bulk's count starts at 10, and they do not change */
  for (hubc_id id = 1; id <= 10; id++) ok(hubc_contact_set_marketing(s, ADMIN, id, HUBC_SOURCE_MANUAL, 1));
  events *got = gc_malloc(calloc(1, sizeof *got));
  ok(hubc_store_set_event_callback(s, collect, got));

  hubc_selection sel = HUBC_SELECTION_INIT;
  sel.filter = compile(s, "hs_object_id > 0");
  hubc_bulk_summary p = {.version = HUBC_BULK_SUMMARY_VERSION};
  ok(hubc_bulk_plan(&p, s, ADMIN, HUBC_BULK_SET_MARKETING, &sel));
  assert_int_equal(got->status, 0);
  clk.now = T0 + 60;
  commit_all(s, "hs_object_id > 0", HUBC_BULK_SET_MARKETING, 1500);
  assert_int_equal(got->status, 1490);
  for (size_t i = 0; i < 1490; i++) {
    const hubc_event *ev = &got->ev[i];
    assert_int_equal(ev->version, HUBC_EVENT_VERSION);
    assert_int_equal(ev->type, HUBC_EVENT_STATUS);
    assert_int_equal(ev->contact, (hubc_id)(11 + i));
    assert_int_equal(ev->time, T0 + 60);
    assert_int_equal(ev->old_status, HUBC_NON_MARKETING);
    assert_int_equal(ev->new_status, HUBC_MARKETING);
    assert_int_equal(ev->reason_type, HUBC_SOURCE_BULK);
    assert_int_equal(ev->reason_id, ADMIN);
    assert_int_equal(ev->actor, ADMIN);
    assert_int_equal(ev->billable, 11 + i);
    assert_int_equal(ev->tier, 1000); /* the upgrade comes when the call ends, after the changes */
    assert_int_equal(ev->old_tier, 0);
  }

  /* M4 back: MARKETING → UNTIL_UPDATE keeps every contact billable */
  got->n = got->status = 0;
  commit_all(s, "city = 'Roma'", HUBC_BULK_SET_NON_MARKETING, 750);
  assert_int_equal(got->status, 750);
  for (size_t i = 0; i < 750; i++) {
    assert_int_equal(got->ev[i].contact, (hubc_id)(2 * i + 1));
    assert_int_equal(got->ev[i].old_status, HUBC_MARKETING);
    assert_int_equal(got->ev[i].new_status, HUBC_MARKETING_UNTIL_UPDATE);
    assert_int_equal(got->ev[i].billable, 1500);
  }
}

/* A failed bulk delivers no status event; the next call's are its own. */
static void m7_failed_bulk_delivers_no_status_event(void **state) {
  (void)state;
  tu_clock clk = {T0};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  populate(s, 40);
  events *got = gc_malloc(calloc(1, sizeof *got));
  ok(hubc_store_set_event_callback(s, collect, got));
  hubc_selection sel = HUBC_SELECTION_INIT;
  sel.filter = compile(s, "city = 'Roma'");
  assert_int_equal(hubc_bulk_commit(NULL, s, ADMIN, HUBC_BULK_SET_MARKETING, &sel, 21), HUBC_ECONFIRM);
  assert_int_equal(got->status, 0);
  ok(hubc_contact_set_marketing(s, ADMIN, 2, HUBC_SOURCE_MANUAL, 7));
  assert_int_equal(got->status, 1);
  assert_int_equal(got->ev[0].contact, 2);
  assert_int_equal(got->ev[0].reason_id, ADMIN); /* a user's manual change names the user */
  assert_int_equal(got->ev[0].billable, 1);
}

/* Issue 11: a bulk action does not queue an event per contact. The peak
 * memory of the same commit with and without an event callback differs by
 * a few queued items — not the 20,000 x sizeof(hubc_event) (2.4 MB) a
 * queue of one event per change took. */
static void issue11_bulk_event_queue_is_bounded(void **state) {
  (void)state;
  enum { N = 20000 };
  size_t growth[2];
  size_t delivered[2];
  for (int with_callback = 0; with_callback < 2; with_callback++) {
    /* the clock and the allocator outlive this scope: the store and the
     * filter are released by the teardown, after the loop */
    tu_clock *clk = gc_malloc(malloc(sizeof *clk));
    *clk = (tu_clock){T0};
    peak_alloc *a = gc_malloc(calloc(1, sizeof *a));
    hubc_store *s = open_counted(clk, a);
    populate(s, N);
    events *got = gc_malloc(calloc(1, sizeof *got));
    if (with_callback) ok(hubc_store_set_event_callback(s, collect, got));
    hubc_selection sel = HUBC_SELECTION_INIT;
    sel.filter = compile(s, "hs_marketable_status = FALSE");
    size_t live0 = a->live;
    a->peak = live0;
    ok(hubc_bulk_commit(NULL, s, ADMIN, HUBC_BULK_SET_MARKETING, &sel, N));
    growth[with_callback] = a->peak - live0;
    delivered[with_callback] = got->status;
  }
  assert_int_equal(delivered[0], 0);
  assert_int_equal(delivered[1], N);
  size_t extra = growth[1] > growth[0] ? growth[1] - growth[0] : 0;
  if (extra > 16384) fail_msg("the event callback added %zu bytes to the bulk's peak (limit 16384)", extra);
}

/* What the records say: one hubc_filter_matches per contact (the
 * record path, no columns). */
static uint64_t count_by_records(hubc_store *s, const hubc_filter *f, int64_t max_id) {
  uint64_t n = 0;
  for (hubc_id id = 1; id <= max_id; id++) {
    int m = 0;
    int rc = hubc_filter_matches(&m, s, f, id);
    if (rc == HUBC_ENOTFOUND) continue;
    ok(rc);
    n += (uint64_t)m;
  }
  return n;
}

static uint64_t count_of(hubc_store *s, const hubc_filter *f) {
  uint64_t n = 0;
  ok(hubc_filter_count(&n, s, f));
  return n;
}

static const char *const CITIES[] = {"Roma", "roma", "Milano", "Napoli", "ROMA ", "Torino", ""};
static const char *const STAGES[] = {"subscriber", "lead", "customer", ""};
static const char *const SCORES[] = {"3.5", "3.50", "10", "-2", "1e3", ""};
static const char *const WHENS[] = {"2024-03-21", "2024-03-21T10:00:00Z", "2023-12-31", ""};

static void random_values(unsigned *seed, const char **v) {
  *seed = *seed * 1103515245u + 12345u;
  unsigned r = *seed >> 8;
  v[0] = CITIES[r % 7];
  v[1] = STAGES[(r >> 3) % 4];
  v[2] = SCORES[(r >> 5) % 6];
  v[3] = (r >> 8) % 3 ? "false" : "true";
  v[4] = WHENS[(r >> 10) % 4];
}

/* Counts (columns) equal the records after every kind of change made
 * after the columns were built: creates, updates that set and remove
 * values, deletes, and batches undone by a bad row. */
static void s1_count_equals_the_records_after_every_change(void **state) {
  (void)state;
  tu_clock clk = {T0};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  ok(hubc_property_define(s, ADMIN, "score", NULL, HUBC_PROP_NUMBER, NULL, 0));
  ok(hubc_property_define(s, ADMIN, "renewal", NULL, HUBC_PROP_DATETIME, NULL, 0));
  static const char *const texts[] = {
    "city = 'Roma'",
    "lifecyclestage = 'subscriber' AND city = 'roma'",
    "city != 'Roma' OR NOT lifecyclestage IN ('lead', 'customer')",
    "city IS NOT KNOWN OR (score >= 3.5 AND hs_email_optout = TRUE)",
    "city CONTAINS 'om' AND renewal < '2024-03-21T09:00:00Z'",
    "score = 3.5 OR renewal = '2024-03-21T00:00:00Z' OR hs_marketable_status = TRUE",
    "NOT (city STARTS WITH 'r' AND score IS KNOWN) AND hs_object_id > 30",
  };
  enum { N_FILTERS = sizeof texts / sizeof texts[0] };
  const hubc_filter *f[N_FILTERS];
  for (size_t i = 0; i < N_FILTERS; i++) f[i] = compile(s, texts[i]);
  const char *names[] = {"email", "city", "lifecyclestage", "score", "hs_email_optout", "renewal"};
  unsigned seed = 7;
  int64_t max_id = 0;
  for (int i = 0; i < 200; i++) {
    char email[32];
    snprintf(email, sizeof email, "c%d@example.com", i);
    const char *v[6] = {email};
    random_values(&seed, v + 1);
    ok(hubc_contact_create(NULL, s, ADMIN, NULL, names, v, 6));
    max_id++;
  }
  for (size_t i = 0; i < N_FILTERS; i++) /* builds the columns */
    assert_int_equal(count_of(s, f[i]), count_by_records(s, f[i], max_id));
  for (int step = 0; step < 300; step++) {
    seed = seed * 1103515245u + 12345u;
    unsigned r = seed >> 8;
    hubc_id id = 1 + (hubc_id)(r % (unsigned)max_id);
    const char *v[6] = {NULL};
    random_values(&seed, v + 1);
    switch (r % 5) {
    case 0: case 1: { /* update (an empty value removes the property) */
      int rc = hubc_contact_update(s, ADMIN, id, names + 1, v + 1, 5);
      if (rc != HUBC_ENOTFOUND) ok(rc);
      break;
    }
    case 2: {
      int rc = hubc_contact_delete(s, ADMIN, id);
      if (rc != HUBC_ENOTFOUND) ok(rc);
      break;
    }
    case 3: { /* a batch of 3 whose last row is bad: undone whole */
      char e[3][32];
      const char *rows[18];
      for (int k = 0; k < 3; k++) {
        snprintf(e[k], sizeof e[k], k == 2 ? "not an email %d" : "b%d.%d@example.com", step, k);
        rows[6 * k] = e[k];
        random_values(&seed, rows + 6 * k + 1);
      }
      assert_int_not_equal(hubc_contact_create_batch(NULL, s, ADMIN, NULL, names, 6, rows, 3), 0);
      break;
    }
    default: {
      char email[32];
      snprintf(email, sizeof email, "n%d@example.com", step);
      v[0] = email;
      ok(hubc_contact_create(NULL, s, ADMIN, NULL, names, v, 6));
      max_id++;
      break;
    }
    }
    for (size_t i = 0; i < N_FILTERS; i++) {
      uint64_t want = count_by_records(s, f[i], max_id + 3 * 300);
      if (count_of(s, f[i]) != want) fail_msg("step %d, filter %s: count %llu, records %llu", step, texts[i],
                                              (unsigned long long)count_of(s, f[i]), (unsigned long long)want);
    }
  }
}

/* A property with more than 65,535 distinct values has no column (or
 * loses it when a change passes the limit): its counts still read the
 * records. */
static void s1_count_past_the_column_limit_of_distinct_values(void **state) {
  (void)state;
  enum { N = 65600 };
  tu_clock clk = {T0};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  char (*first)[16] = gc_malloc(calloc(N, 16));
  const char **rows = gc_malloc(calloc(2 * N, sizeof *rows));
  for (int i = 0; i < N; i++) {
    snprintf(first[i], sizeof first[i], "n%d", i);
    rows[2 * i] = first[i];
    rows[2 * i + 1] = i % 2 ? "Roma" : "Milano";
  }
  const char *names[] = {"firstname", "city"};
  ok(hubc_contact_create_batch(NULL, s, ADMIN, NULL, names, 2, rows, 65500)); /* 65,500 values: a column */
  const hubc_filter *f = compile(s, "firstname STARTS WITH 'N655' OR (city = 'roma' AND firstname < 'n1')");
  assert_int_equal(count_of(s, f), count_by_records(s, f, 65500));
  assert_non_null(s->qcols.props[HUBC__P_FIRSTNAME].col);
  ok(hubc_contact_create_batch(NULL, s, ADMIN, NULL, names, 2, rows + 2 * 65500, N - 65500)); /* past the limit */
  assert_int_equal(count_of(s, f), count_by_records(s, f, N));
  /* n655, n6550..n6559, n65500..n65599; below 'n1' only n0, in Milano */
  assert_int_equal(count_of(s, f), 1 + 10 + 100);
  assert_null(s->qcols.props[HUBC__P_FIRSTNAME].col);
  assert_true(s->qcols.props[HUBC__P_FIRSTNAME].refused);
  assert_non_null(s->qcols.props[HUBC__P_CITY].col);
}

/* Allocation failure at every step of a first count (which builds
 * columns) and of a bulk plan: the answer is right or ENOMEM, never
 * wrong, and the next call is right. */
static void s1_count_and_bulk_under_allocation_failure(void **state) {
  (void)state;
  for (size_t fail_at = 1;; fail_at++) {
    tu_clock clk = {T0};
    tu_alloc a = {0, 0, 0, 0};
    hubc_store *s = tu_open_alloc(&clk, &a, NULL);
    populate(s, 50);
    hubc_filter *f = NULL;
    ok(hubc_filter_compile(&f, s, "city = 'Roma' AND hs_object_id > 10"));
    a.fail_at = a.count + fail_at;
    uint64_t n = 0;
    int rc = hubc_filter_count(&n, s, f);
    if (rc == 0) assert_int_equal(n, 20);
    else assert_int_equal(rc, HUBC_ENOMEM);
    hubc_selection sel = HUBC_SELECTION_INIT;
    sel.filter = f;
    hubc_bulk_summary p = {.version = HUBC_BULK_SUMMARY_VERSION};
    rc = hubc_bulk_plan(&p, s, ADMIN, HUBC_BULK_SET_MARKETING, &sel);
    if (rc == 0) assert_int_equal(p.selected, 20);
    else assert_int_equal(rc, HUBC_ENOMEM);
    size_t failures = a.failures;
    a.fail_at = 0;
    ok(hubc_filter_count(&n, s, f));
    assert_int_equal(n, 20);
    ok(hubc_bulk_plan(&p, s, ADMIN, HUBC_BULK_SET_MARKETING, &sel));
    assert_int_equal(p.selected, 20);
    hubc_filter_free(f);
    hubc_store_close(s);
    if (!failures) break;
  }
}

/* S4: the plan (which reads the store and projects the counts) gives the
 * numbers the commit then reports, on random stores, both actions, under
 * AUTO_UPGRADE across a tier and under a HARD_CAP that refuses. */
static void s4_plan_numbers_equal_the_commit_on_random_stores(void **state) {
  (void)state;
  static const char *const texts[] = {"city = 'Roma'", "hs_object_id > 100 OR city = 'milano'",
                                      "NOT city = 'Roma' AND hs_marketable_status = TRUE"};
  unsigned seed = 11;
  for (int round = 0; round < 24; round++) {
    tu_clock clk = {T0};
    hubc_store_options o;
    ok(hubc_store_options_init(&o, HUBC_STORE_OPTIONS_VERSION));
    o.clock = tu_clock_fn;
    o.clock_payload = &clk;
    o.admin_email = "admin@example.com";
    if (round % 3 == 2) {
      o.tier_policy = HUBC_TIER_HARD_CAP;
      o.hard_cap = 600;
    }
    hubc_store *s = NULL;
    ok(hubc_store_open(&s, &o));
    populate(s, 1100);
    for (hubc_id id = 1; id <= 1100; id++) {
      seed = seed * 1103515245u + 12345u;
      unsigned r = (seed >> 8) % 4;
      if (r >= 1) ok(hubc_contact_set_marketing(s, ADMIN, id, HUBC_SOURCE_MANUAL, 1));
      if (r == 2) ok(hubc_contact_set_non_marketing(s, ADMIN, id, HUBC_SOURCE_MANUAL, 1));
      if (round % 3 == 2 && id >= 500) break; /* under the cap */
    }
    hubc_filter *f = NULL;
    ok(hubc_filter_compile(&f, s, texts[round % 3]));
    hubc_selection sel = HUBC_SELECTION_INIT;
    sel.filter = f;
    int action = round % 2 ? HUBC_BULK_SET_NON_MARKETING : HUBC_BULK_SET_MARKETING;
    hubc_bulk_summary p = {.version = HUBC_BULK_SUMMARY_VERSION}, c = {.version = HUBC_BULK_SUMMARY_VERSION};
    ok(hubc_bulk_plan(&p, s, ADMIN, action, &sel));
    int rc = hubc_bulk_commit(&c, s, ADMIN, action, &sel, p.selected);
    if (p.cap_refused) {
      assert_int_equal(rc, HUBC_ELIMIT);
    } else {
      ok(rc);
      assert_int_equal(c.selected, p.selected);
      assert_int_equal(c.will_change, p.will_change);
      assert_int_equal(c.unchanged, p.unchanged);
      assert_int_equal(c.billable_before, p.billable_before);
      assert_int_equal(c.billable_after, p.billable_after);
      assert_int_equal(c.tier_before, p.tier_before);
      assert_int_equal(c.tier_after, p.tier_after);
      assert_int_equal(c.cap, p.cap);
      hubc_billing_info b = {.version = HUBC_BILLING_INFO_VERSION};
      ok(hubc_billing_get(&b, s));
      assert_int_equal(b.billable, p.billable_after);
      assert_int_equal(b.tier, p.tier_after);
    }
    hubc_filter_free(f);
    hubc_store_close(s);
  }
}

typedef struct race {
  hubc_store *s;
  const hubc_filter *f;
  int writer;
} race;

static void *race_run(void *p) {
  race *r = p;
  for (int i = 0; i < 300; i++) {
    if (r->writer) {
      const char *names[] = {"city"};
      const char *values[] = {i % 3 ? "Roma" : "Napoli"};
      if (hubc_contact_update(r->s, ADMIN, 1 + i % 200, names, values, 1)) return "update failed";
    } else {
      uint64_t n;
      if (hubc_filter_count(&n, r->s, r->f) || n > 200) return "count failed";
    }
  }
  return NULL;
}

/* R6: counts that build and read columns run beside a writer changing the
 * property; every count succeeds and the last equals the records. */
static void r6_counts_and_updates_from_several_threads(void **state) {
  (void)state;
  tu_clock clk = {T0};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  populate(s, 200);
  const hubc_filter *f = compile(s, "city = 'roma' OR (city = 'Napoli' AND hs_object_id > 100)");
  race r[3] = {{s, f, 1}, {s, f, 0}, {s, f, 0}};
  pthread_t t[3];
  for (int i = 0; i < 3; i++) assert_int_equal(pthread_create(&t[i], NULL, race_run, &r[i]), 0);
  for (int i = 0; i < 3; i++) {
    void *why = NULL;
    pthread_join(t[i], &why);
    if (why) fail_msg("thread %d: %s: %s", i, (const char *)why, hubc_error_last());
  }
  assert_int_equal(count_of(s, f), count_by_records(s, f, 200));
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(m7_bulk_delivers_one_status_event_per_change_with_its_billable_count, gc_teardown),
    cmocka_unit_test_teardown(m7_failed_bulk_delivers_no_status_event, gc_teardown),
    cmocka_unit_test_teardown(issue11_bulk_event_queue_is_bounded, gc_teardown),
    cmocka_unit_test_teardown(s1_count_equals_the_records_after_every_change, gc_teardown),
    cmocka_unit_test_teardown(s1_count_past_the_column_limit_of_distinct_values, gc_teardown),
    cmocka_unit_test_teardown(s1_count_and_bulk_under_allocation_failure, gc_teardown),
    cmocka_unit_test_teardown(s4_plan_numbers_equal_the_commit_on_random_stores, gc_teardown),
    cmocka_unit_test_teardown(r6_counts_and_updates_from_several_threads, gc_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
