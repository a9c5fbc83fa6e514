/* Enrollment timers in the due queue (W3, W6, R2): they are found by id
 * through an array (store/schedule.h, HUBC__SCHED_DENSE_KIND), not the
 * (kind, id) hash, so a tick setting or popping many in id order touches
 * memory in order; the array path is undone with its transaction like the
 * hash path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hubcontacts.h"
#include "store/store.h" /* the queue is internal: tests link the static library */
#include "testutil.h"

#define ADMIN 1
#define KE HUBC_REC_ENROLLMENT

static hubc_time T0;

static void begin(hubc_store *s) {
  if (hubc__write_begin(s, ADMIN, 0, "queue test")) fail_msg("begin: %s", hubc_error_last());
}

/* The enrollment timers 1..n as text, and the next due time. */
static char *listing(hubc_store *s, int64_t n) {
  size_t cap = (size_t)n * 64 + 64, len = 0;
  char *out = gc_malloc(malloc(cap));
  for (int64_t id = 1; id <= n; id++) {
    const hubc__timer *t = hubc__sched_get(s, KE, id);
    if (t) len += (size_t)snprintf(out + len, cap - len, "%lld:%lld/%lld/%llu\n", (long long)id, (long long)t->due,
                                   (long long)t->payload, (unsigned long long)t->seq);
  }
  snprintf(out + len, cap - len, "next %lld\n", (long long)hubc__sched_next(&s->sched));
  return out;
}

static void test_W3_enrollment_timers_are_found_by_id_not_hashed(void **state) {
  (void)state;
  tu_clock clock = {T0};
  hubc_store *s = gc_store(tu_open(&clock, NULL));
  size_t hashed = s->sched.hashed; /* billing's update date */
  begin(s);
  for (int64_t id = 1; id <= 5000; id++) assert_int_equal(hubc__sched_set(s, KE, id, T0 + 60 + id % 7, id), 0);
  assert_int_equal(hubc__write_end(s, 0), 0);
  assert_int_equal(s->sched.hashed, hashed);
  for (int64_t id = 1; id <= 5000; id++) assert_int_equal(hubc__sched_get(s, KE, id)->payload, id);
  assert_null(hubc__sched_get(s, KE, 5001));
  assert_null(hubc__sched_get(s, KE, 0));
  assert_null(hubc__sched_get(s, KE, -1));
  assert_null(hubc__sched_get(s, KE, INT64_MAX));
  assert_non_null(hubc__sched_get(s, HUBC_REC_META, 1)); /* other kinds stay in the hash */
  assert_int_equal(hubc__sched_check(s), 0);
}

static void test_W3_R2_enrollment_timers_are_undone_with_their_transaction(void **state) {
  (void)state;
  tu_clock clock = {T0};
  hubc_store *s = gc_store(tu_open(&clock, NULL));
  begin(s);
  for (int64_t id = 1; id <= 50; id++) assert_int_equal(hubc__sched_set(s, KE, id, T0 + 100 + id, id), 0);
  assert_int_equal(hubc__write_end(s, 0), 0);
  char *before = listing(s, 200);
  for (int pass = 0; pass < 2; pass++) {
    begin(s);
    for (int64_t id = 51; id <= 120; id++) assert_int_equal(hubc__sched_set(s, KE, id, T0 + 1 + id % 7, 0), 0);
    for (int64_t id = 1; id <= 50; id += 3) assert_int_equal(hubc__sched_set(s, KE, id, T0 + 5, 99), 0);
    for (int64_t id = 2; id <= 50; id += 5) assert_int_equal(hubc__sched_cancel(s, KE, id), 1);
    assert_int_equal(hubc__sched_cancel(s, KE, 9999), 0);
    hubc__timer t;
    for (int k = 0; k < 30; k++) {
      assert_int_equal(hubc__sched_pop_due(s, T0 + 200, &t), 1);
      assert_null(hubc__sched_get(s, (int)t.kind, t.id));
    }
    for (int64_t id = 121; id <= 140; id++) assert_int_equal(hubc__sched_set(s, KE, id, T0 + 300, 1), 0);
    assert_int_equal(hubc__sched_check(s), 0);
    if (pass == 0) {
      assert_int_equal(hubc__write_end(s, hubc__err(HUBC_EINVAL, "undo it")), HUBC_EINVAL);
      assert_string_equal(listing(s, 200), before);
    } else {
      assert_int_equal(hubc__write_end(s, 0), 0);
    }
    assert_int_equal(hubc__sched_check(s), 0);
  }
  size_t n = 0;
  for (int64_t id = 1; id <= 200; id++) n += hubc__sched_get(s, KE, id) != NULL;
  assert_int_equal(n, 50 + 70 + 20 - 10 - 30);
}

static int setup(void **state) {
  (void)state;
  T0 = tu_time(2026, 3, 10, 12, 0, 0);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_W3_enrollment_timers_are_found_by_id_not_hashed, setup, gc_teardown),
      cmocka_unit_test_setup_teardown(test_W3_R2_enrollment_timers_are_undone_with_their_transaction, setup,
                                      gc_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
