/* A bulk action is one transaction however many contacts it changes (S4,
 * S5, R2): its status changes are logged as runs (one undo entry per run,
 * the history holding what each change overwrote, lastmodifieddate aside),
 * so these tests undo large runs mixing every status — at the last
 * persistence callback and at every allocation — and compare the dump
 * (statuses, reasons, lastmodifieddate, history, pending list, list
 * members, events). */
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

/* Past the room a run makes at a time (4,096 changes): several chunks. */
enum { MANY = 9000 };

/* MANY contacts created over time (lastmodifieddate differs between them):
 * id % 4 == 1 MARKETING, == 2 MARKETING then non-marketing (UNTIL_UPDATE,
 * pending), else NON_MARKETING; city Roma but for every fifth. */
static void populate(hubc_store *s, tu_clock *clk) {
  for (int i = 1; i <= MANY; i++) {
    if (i % 100 == 0) clk->now += 7;
    char email[32];
    snprintf(email, sizeof email, "u%d@example.com", i);
    const char *names[] = {"email", "city"}, *values[] = {email, i % 5 ? "Roma" : "Milano"};
    hubc_id id;
    TU_OK(hubc_contact_create(&id, s, ADMIN, NULL, names, values, 2));
    if (i % 4 == 1 || i % 4 == 2) TU_OK(hubc_contact_set_marketing(s, ADMIN, id, HUBC_SOURCE_MANUAL, 1));
    if (i % 4 == 2) TU_OK(hubc_contact_set_non_marketing(s, ADMIN, id, HUBC_SOURCE_MANUAL, 1));
  }
  clk->now += 3600; /* the bulk stamps another lastmodifieddate than any contact holds */
}

/* Selected by city = 'Roma': ids not divisible by 5. */
static int roma(int i) { return i % 5 != 0; }

static uint64_t bulk_entries(hubc_store *s) {
  hubc_history_iterator *it;
  TU_OK(hubc_history_iterator_new(&it, s, 0));
  hubc_history_entry e = {.version = HUBC_HISTORY_ENTRY_VERSION};
  uint64_t n = 0;
  while (hubc_history_iterator_next(&e, it) == 0) n += e.reason_type == HUBC_SOURCE_BULK;
  hubc_history_iterator_free(it);
  return n;
}

static uint64_t members(hubc_store *s, hubc_id list) {
  uint64_t n = 0;
  TU_OK(hubc_list_count(&n, s, list));
  return n;
}

static void filter_free(void *f) { hubc_filter_free(f); }

static void log_free(void *p) {
  free(((ev_log *)p)->ev);
  free(p);
}

static hubc_selection roma_selection(hubc_store *s) {
  hubc_filter *f = NULL;
  TU_OK(hubc_filter_compile(&f, s, "city = 'Roma'"));
  gc_defer(filter_free, f);
  hubc_selection sel = HUBC_SELECTION_INIT;
  sel.filter = f;
  return sel;
}

/* S4, S5, R1, R2: bulk set marketing (NON and UNTIL_UPDATE → MARKETING)
 * and bulk set non-marketing (MARKETING → UNTIL_UPDATE, M4) on thousands
 * of contacts, the backend failing at the last callback (its commit):
 * nothing changed, no event delivered, the active list as it was. Then
 * each commits; a store reopened from the backend dumps the same. */
static void s4_s5_large_mixed_bulk_failing_at_the_last_callback_changes_nothing(void **state) {
  (void)state;
  tu_clock *clk = gc_malloc(calloc(1, sizeof *clk)); /* freed after the stores */
  clk->now = T0;
  tu_mem *m = gc_mem();
  ev_log *log = gc_defer(log_free, calloc(1, sizeof *log));
  hubc_store *s = gc_store(tu_open(clk, &m->vtable));
  TU_OK(hubc_store_set_event_callback(s, ev_cb, log));
  populate(s, clk);
  hubc_id list;
  TU_OK(hubc_list_create(&list, s, ADMIN, "Marketing", "hs_marketable_status = TRUE"));
  hubc_selection sel = roma_selection(s);
  uint64_t roma_n = MANY - MANY / 5, history = 0;
  for (int step = 0; step < 2; step++) {
    int action = step == 0 ? HUBC_BULK_SET_MARKETING : HUBC_BULK_SET_NON_MARKETING;
    hubc_bulk_summary p = {.version = HUBC_BULK_SUMMARY_VERSION};
    TU_OK(hubc_bulk_plan(&p, s, ADMIN, action, &sel));
    uint64_t want = 0; /* step 0: Roma's NON and UNTIL_UPDATE; step 1: all of Roma */
    for (int i = 1; i <= MANY; i++) want += roma(i) && (step == 1 || i % 4 != 1);
    assert_int_equal(p.selected, roma_n);
    assert_int_equal(p.will_change, want);
    char *before = gc_dump(s);
    uint64_t list_before = members(s, list), billable_before = tu_billing(s).billable;
    size_t events_before = log->n;
    /* callbacks: begin, a put per changed contact and per history entry,
     * META, commit */
    m->calls = 0;
    m->fail_at = (long)(1 + 2 * want + 1 + 1);
    m->fail_code = -1;
    TU_BAD(HUBC_EPERSIST, "callback commit",
           hubc_bulk_commit(NULL, s, ADMIN, action, &sel, roma_n));
    assert_int_equal(m->calls, m->fail_at); /* it was the last one */
    m->fail_at = 0;
    TU_SAME(s, before);
    assert_int_equal(log->n, events_before);
    assert_int_equal(members(s, list), list_before);
    assert_int_equal(tu_billing(s).billable, billable_before);

    hubc_bulk_summary done = {.version = HUBC_BULK_SUMMARY_VERSION};
    TU_OK(hubc_bulk_commit(&done, s, ADMIN, action, &sel, roma_n));
    assert_int_equal(done.will_change, want);
    history += want;
    assert_int_equal(bulk_entries(s), history);
    uint64_t status_events = 0, last_billable = 0; /* one STATUS event per change, delivered from the run */
    for (size_t k = events_before; k < log->n; k++) {
      const hubc_event *e = &log->ev[k];
      if (e->type != HUBC_EVENT_STATUS) continue;
      status_events++;
      last_billable = e->billable;
      assert_int_equal(e->reason_type, HUBC_SOURCE_BULK);
      assert_int_equal(e->actor, ADMIN);
      assert_true(roma((int)e->contact));
      assert_int_equal(e->new_status, step == 0 ? HUBC_MARKETING : HUBC_MARKETING_UNTIL_UPDATE);
    }
    assert_int_equal(status_events, want);
    assert_int_equal(last_billable, done.billable_after);
    for (int i = 1; i <= MANY; i += 97) {
      int want_status = !roma(i) ? (i % 4 == 1   ? HUBC_MARKETING
                                    : i % 4 == 2 ? HUBC_MARKETING_UNTIL_UPDATE
                                                 : HUBC_NON_MARKETING)
                        : step == 0 ? HUBC_MARKETING
                                    : HUBC_MARKETING_UNTIL_UPDATE;
      assert_int_equal(tu_status_of(s, i), want_status);
    }
  }
  hubc_filter *f = NULL; /* the active list followed every change: a fresh count agrees */
  TU_OK(hubc_filter_compile(&f, s, "hs_marketable_status = TRUE"));
  gc_defer(filter_free, f);
  uint64_t fresh = 0;
  TU_OK(hubc_filter_count(&fresh, s, f));
  assert_int_equal(members(s, list), fresh);
  char *live = gc_dump(s);
  hubc_store *again = gc_store(tu_open(clk, &m->vtable));
  char *reopened = gc_dump(again);
  tu_expect_same(live, reopened, "reopened from the backend");
}

/* R2: an allocation failure at every allocation of a large bulk set
 * marketing, then set non-marketing, on the mix (the history, the
 * lastmodifieddate log, the pending list and the queued events grow by
 * chunks, so failures come after thousands of changes too) leaves the
 * store as it was; then each commits what its plan said. */
static void s4_s5_large_bulk_allocation_failure_at_every_point_changes_nothing(void **state) {
  (void)state;
  /* on the heap: the teardown frees the filter through them after return */
  tu_clock *clk = gc_malloc(calloc(1, sizeof *clk));
  clk->now = T0;
  tu_alloc *alloc = gc_malloc(calloc(1, sizeof *alloc));
  ev_log *log = gc_defer(log_free, calloc(1, sizeof *log));
  hubc_store *s = gc_store(tu_open_alloc(clk, alloc, NULL));
  populate(s, clk);
  TU_OK(hubc_store_set_event_callback(s, ev_cb, log));
  hubc_selection sel = roma_selection(s);
  uint64_t history = 0;
  for (int step = 0; step < 2; step++) {
    int action = step == 0 ? HUBC_BULK_SET_MARKETING : HUBC_BULK_SET_NON_MARKETING;
    hubc_bulk_summary p = {.version = HUBC_BULK_SUMMARY_VERSION};
    TU_OK(hubc_bulk_plan(&p, s, ADMIN, action, &sel));
    assert_true(p.will_change > 4096); /* more than one chunk of room */
    char *before = gc_dump(s);
    size_t events_before = log->n;
    int rc = -1;
    size_t k;
    for (k = 1; k < 1000 && rc != 0; k++) {
      alloc->count = 0;
      alloc->fail_at = k;
      hubc_bulk_summary done = {.version = HUBC_BULK_SUMMARY_VERSION};
      rc = hubc_bulk_commit(&done, s, ADMIN, action, &sel, p.selected);
      alloc->fail_at = 0;
      if (rc == 0) {
        assert_int_equal(done.will_change, p.will_change);
      } else {
        assert_int_equal(rc, HUBC_ENOMEM);
        TU_SAME(s, before);
        assert_int_equal(log->n, events_before);
      }
    }
    assert_int_equal(rc, 0);
    assert_true(k > 4); /* the commit allocates: its failures were tried */
    history += p.will_change;
    assert_int_equal(bulk_entries(s), history);
    assert_int_equal(ev_count(log, HUBC_EVENT_STATUS), history);
    assert_int_equal(tu_billing(s).billable, p.billable_after); /* M4: billable until the update date */
  }
  hubc_billing_info b = tu_billing(s);
  clk->now = b.next_update + 1; /* M5 for every pending contact, the bulk's included */
  TU_OK(hubc_store_tick(s));
  uint64_t left = 0; /* MARKETING outside Roma */
  for (int i = 1; i <= MANY; i++) left += !roma(i) && i % 4 == 1;
  assert_int_equal(tu_billing(s).billable, left);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(s4_s5_large_mixed_bulk_failing_at_the_last_callback_changes_nothing, gc_teardown),
    cmocka_unit_test_teardown(s4_s5_large_bulk_allocation_failure_at_every_point_changes_nothing, gc_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
