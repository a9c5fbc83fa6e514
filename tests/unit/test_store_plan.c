/* Plan mode of the transaction (I7, S4, B4, B5): a change planned reports
 * the counts, billable count and tier its commit would produce, then leaves
 * the store as it was: same dump, no persistence callback, no event. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hubcontacts.h"
#include "store/plan.h"
#include "store/store.h" /* the change runs on internals: tests link the static library */
#include "testutil.h"

#define ADMIN 1

/* A store of n non-marketing contacts under a policy, persisted in m. */
static hubc_store *open_with(tu_clock *clock, tu_mem *m, int policy, uint64_t hard_cap, const uint64_t *ladder,
                             size_t ladder_len, int n) {
  hubc_store_options o;
  tu_options(&o, clock, &m->vtable);
  o.tier_policy = policy;
  o.hard_cap = hard_cap;
  o.tier_ladder = ladder;
  o.tier_ladder_len = ladder_len;
  hubc_store *s = NULL;
  if (hubc_store_open(&s, &o)) fail_msg("open: %s", hubc_error_last());
  gc_store(s);
  for (int i = 0; i < n; i++) {
    char email[64];
    snprintf(email, sizeof email, "c%d@example.com", i);
    tu_contact(s, ADMIN, email, "C");
  }
  return s;
}

/* The change under test: contacts [from, to) become marketing (M3). */
typedef struct mark_range {
  hubc_id from, to;
  int fail_after; /* > 0: fail with HUBC_EINVAL after this many */
} mark_range;

static int mark(hubc_store *s, void *ctx) {
  const mark_range *r = ctx;
  for (hubc_id id = r->from; id < r->to; id++) {
    if (r->fail_after && id - r->from == r->fail_after) return hubc__err(HUBC_EINVAL, "planned failure at %lld", (long long)id);
    int rc = hubc__status_reserve(s, 1);
    if (!rc) rc = hubc__status_apply(s, id, 1, HUBC_SOURCE_MANUAL, ADMIN);
    if (rc) return rc;
  }
  return 0;
}

static hubc_billing_info billing(hubc_store *s) {
  hubc_billing_info b;
  memset(&b, 0, sizeof b);
  b.version = HUBC_BILLING_INFO_VERSION;
  if (hubc_billing_get(&b, s)) fail_msg("billing: %s", hubc_error_last());
  return b;
}

/* An event log released by the teardown, its events too (the store that
 * fills it is registered after it, so it is closed first). */
static void free_ev_log(void *p) {
  free(((ev_log *)p)->ev);
  free(p);
}

static ev_log *gc_ev_log(void) { return gc_defer(free_ev_log, calloc(1, sizeof(ev_log))); }

/* Plans `r` and checks that the store did not change in any visible way;
 * the plan's error message goes to `said`. */
static char said[512];

static hubc__plan plan_unchanged(hubc_store *s, tu_mem *m, ev_log *ev, mark_range *r) {
  char *before = gc_dump(s);
  long calls = m->calls;
  size_t events = ev->n;
  hubc__plan p;
  int rc = hubc__run(s, ADMIN, HUBC_PERM_MARKETING_ACCESS, "plan test", mark, r, &p);
  assert_int_equal(rc, p.rc);
  snprintf(said, sizeof said, "%s", hubc_error_last());
  char *after = gc_dump(s);
  assert_string_equal(after, before);
  assert_int_equal(m->calls, calls); /* nothing persisted */
  assert_int_equal(ev->n, events);   /* nothing emitted */
  assert_int_equal(hubc__store_check(s), 0);
  return p;
}

/* I7/S4: plan, then commit the same change: the plan's counts are the
 * commit's, and the plan left the store alone. */
static void i7_plan_then_commit_gives_the_same_counts(void **state) {
  (void)state;
  tu_clock clock = {tu_time(2026, 3, 10, 12, 0, 0)};
  tu_mem *m = gc_mem();
  ev_log *ev = gc_ev_log();
  hubc_store *s = open_with(&clock, m, HUBC_TIER_AUTO_UPGRADE, 0, NULL, 0, 10);
  assert_int_equal(hubc_store_set_event_callback(s, ev_cb, ev), 0);
  mark_range r = {3, 9, 0};
  hubc__plan p = plan_unchanged(s, m, ev, &r);
  assert_int_equal(p.rc, 0);
  assert_int_equal(p.contacts_before, 10);
  assert_int_equal(p.contacts_after, 10);
  assert_int_equal(p.count_before[HUBC_NON_MARKETING], 10);
  assert_int_equal(p.count_after[HUBC_MARKETING], 6);
  assert_int_equal(p.count_after[HUBC_NON_MARKETING], 4);
  assert_int_equal(p.billable_before, 0);
  assert_int_equal(p.billable_after, 6);
  assert_int_equal(p.cap, 0);
  assert_false(p.cap_refused);
  assert_int_equal(p.changes, 6);

  size_t events = ev->n;
  assert_int_equal(hubc__run(s, ADMIN, HUBC_PERM_MARKETING_ACCESS, "commit test", mark, &r, NULL), 0);
  hubc_billing_info b = billing(s);
  assert_int_equal(b.billable, p.billable_after);
  assert_int_equal(b.marketing, p.count_after[HUBC_MARKETING]);
  assert_int_equal(b.non_marketing, p.count_after[HUBC_NON_MARKETING]);
  assert_int_equal(b.tier, p.tier_after);
  assert_int_equal(ev_count(ev, HUBC_EVENT_STATUS), 6); /* the commit emits, the plan did not */
  assert_true(ev->n > events);
}

/* B4: AUTO_UPGRADE's projected tier is the tier the commit moves to. */
static void b4_plan_projects_the_auto_upgrade(void **state) {
  (void)state;
  static const uint64_t ladder[] = {2, 4, 8};
  tu_clock clock = {tu_time(2026, 3, 10, 12, 0, 0)};
  tu_mem *m = gc_mem();
  ev_log *ev = gc_ev_log();
  hubc_store *s = open_with(&clock, m, HUBC_TIER_AUTO_UPGRADE, 0, ladder, 3, 6);
  assert_int_equal(hubc_store_set_event_callback(s, ev_cb, ev), 0);
  mark_range r = {1, 6, 0}; /* 5 billable: past 2 and 4 */
  hubc__plan p = plan_unchanged(s, m, ev, &r);
  assert_int_equal(p.rc, 0);
  assert_int_equal(p.tier_before, 2);
  assert_int_equal(p.tier_after, 8);
  assert_int_equal(billing(s).tier, 2);
  assert_int_equal(hubc__run(s, ADMIN, HUBC_PERM_MARKETING_ACCESS, "commit test", mark, &r, NULL), 0);
  assert_int_equal(billing(s).tier, p.tier_after);
  assert_int_equal(ev_count(ev, HUBC_EVENT_TIER_UPGRADE), 1);
}

/* B5: the plan says HARD_CAP would refuse, with the commit's code and
 * message, and the commit does refuse. */
static void b5_plan_reports_the_hard_cap_refusal_of_the_commit(void **state) {
  (void)state;
  tu_clock clock = {tu_time(2026, 3, 10, 12, 0, 0)};
  tu_mem *m = gc_mem();
  ev_log *ev = gc_ev_log();
  hubc_store *s = open_with(&clock, m, HUBC_TIER_HARD_CAP, 4, NULL, 0, 8);
  assert_int_equal(hubc_store_set_event_callback(s, ev_cb, ev), 0);
  mark_range r = {1, 7, 0}; /* 6 > 4 */
  hubc__plan p = plan_unchanged(s, m, ev, &r);
  assert_int_equal(p.rc, HUBC_ELIMIT);
  assert_true(p.cap_refused);
  assert_int_equal(p.cap, 4);
  assert_int_equal(p.billable_after, 6);
  assert_non_null(strstr(said, "hard cap of 4"));
  char *before = gc_dump(s);
  assert_int_equal(hubc__run(s, ADMIN, HUBC_PERM_MARKETING_ACCESS, "commit test", mark, &r, NULL), HUBC_ELIMIT);
  assert_string_equal(hubc_error_last(), said);
  assert_string_equal(gc_dump(s), before);

  mark_range fits = {1, 5, 0}; /* 4: at the cap, allowed */
  p = plan_unchanged(s, m, ev, &fits);
  assert_int_equal(p.rc, 0);
  assert_false(p.cap_refused);
}

/* A change that fails part-way: the plan reports its error, and the store
 * is untouched (R2). */
static void r2_plan_of_a_failing_change_reports_it_and_changes_nothing(void **state) {
  (void)state;
  tu_clock clock = {tu_time(2026, 3, 10, 12, 0, 0)};
  tu_mem *m = gc_mem();
  ev_log *ev = gc_ev_log();
  hubc_store *s = open_with(&clock, m, HUBC_TIER_AUTO_UPGRADE, 0, NULL, 0, 5);
  assert_int_equal(hubc_store_set_event_callback(s, ev_cb, ev), 0);
  mark_range r = {1, 5, 2};
  hubc__plan p = plan_unchanged(s, m, ev, &r);
  assert_int_equal(p.rc, HUBC_EINVAL);
  assert_non_null(strstr(said, "planned failure at 3"));
  assert_int_equal(p.billable_after, 2); /* as far as it went */
}

/* A plan refused at the door (permission) is refused like the call. */
static void p2_plan_needs_the_calls_permission(void **state) {
  (void)state;
  tu_clock clock = {tu_time(2026, 3, 10, 12, 0, 0)};
  tu_mem *m = gc_mem();
  hubc_store *s = open_with(&clock, m, HUBC_TIER_AUTO_UPGRADE, 0, NULL, 0, 2);
  hubc_id u;
  assert_int_equal(hubc_user_create(&u, s, ADMIN, "plain@example.com"), 0);
  assert_int_equal(hubc_user_set_permissions(s, ADMIN, u, HUBC_PERM_EDIT_CONTACTS), 0);
  char *before = gc_dump(s);
  mark_range r = {1, 3, 0};
  hubc__plan p;
  assert_int_equal(hubc__run(s, u, HUBC_PERM_MARKETING_ACCESS, "plan test", mark, &r, &p), HUBC_EPERM);
  assert_int_equal(p.rc, HUBC_EPERM);
  assert_string_equal(gc_dump(s), before);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(i7_plan_then_commit_gives_the_same_counts, gc_teardown),
      cmocka_unit_test_teardown(b4_plan_projects_the_auto_upgrade, gc_teardown),
      cmocka_unit_test_teardown(b5_plan_reports_the_hard_cap_refusal_of_the_commit, gc_teardown),
      cmocka_unit_test_teardown(r2_plan_of_a_failing_change_reports_it_and_changes_nothing, gc_teardown),
      cmocka_unit_test_teardown(p2_plan_needs_the_calls_permission, gc_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
