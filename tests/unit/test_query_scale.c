/* Bulk actions and filters at scale (issue 11): the status events of a
 * bulk action are each delivered as before (M7 fields, the billable count
 * after each change) while the call queues a bounded amount of memory for
 * them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

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
    tu_clock clk = {T0};
    peak_alloc a = {0, 0};
    hubc_store *s = open_counted(&clk, &a);
    populate(s, N);
    events *got = gc_malloc(calloc(1, sizeof *got));
    if (with_callback) ok(hubc_store_set_event_callback(s, collect, got));
    hubc_selection sel = HUBC_SELECTION_INIT;
    sel.filter = compile(s, "hs_marketable_status = FALSE");
    size_t live0 = a.live;
    a.peak = live0;
    ok(hubc_bulk_commit(NULL, s, ADMIN, HUBC_BULK_SET_MARKETING, &sel, N));
    growth[with_callback] = a.peak - live0;
    delivered[with_callback] = got->status;
  }
  assert_int_equal(delivered[0], 0);
  assert_int_equal(delivered[1], N);
  size_t extra = growth[1] > growth[0] ? growth[1] - growth[0] : 0;
  if (extra > 16384) fail_msg("the event callback added %zu bytes to the bulk's peak (limit 16384)", extra);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(m7_bulk_delivers_one_status_event_per_change_with_its_billable_count, gc_teardown),
    cmocka_unit_test_teardown(m7_failed_bulk_delivers_no_status_event, gc_teardown),
    cmocka_unit_test_teardown(issue11_bulk_event_queue_is_bounded, gc_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
