/* The due queue (store/schedule.h; W3, W6 later, B1 now): timers fire in
 * (due, set) order, a tick's cost follows what is due and not what is
 * queued, every change is undone with its transaction, and billing's update
 * dates are its first client. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hubcontacts.h"
#include "store/store.h" /* the queue is internal: tests link the static library */
#include "testutil.h"

#define ADMIN 1
#define TK 200 /* a kind with no row: its timers only come out through pop */

static hubc_time T0;

static int setup(void **state) {
  (void)state;
  T0 = tu_time(2026, 3, 10, 12, 0, 0);
  return 0;
}

/* A transaction to work in, as a call would open it. */
static void begin(hubc_store *s) {
  if (hubc__write_begin(s, ADMIN, 0, "schedule test")) fail_msg("begin: %s", hubc_error_last());
}

static uint64_t rnd(uint64_t *x) {
  *x ^= *x << 13;
  *x ^= *x >> 7;
  *x ^= *x << 17;
  return *x;
}

/* W3: timers come out in due order, ties in the order they were set, and
 * only those due; the others stay queued. */
static void w3_timers_come_out_in_due_then_set_order(void **state) {
  (void)state;
  tu_clock clock = {T0};
  hubc_store *s = gc_store(tu_open(&clock, NULL));
  enum { N = 20000 };
  uint64_t x = 88172645463325252ULL;
  begin(s);
  for (int64_t id = 1; id <= N; id++)
    assert_int_equal(hubc__sched_set(s, TK, id, T0 + 1 + (hubc_time)(rnd(&x) % 1000), id * 10), 0);
  assert_int_equal(hubc__write_end(s, 0), 0);
  begin(s);
  hubc_time limit = T0 + 500, last_due = 0;
  uint64_t last_seq = 0;
  size_t popped = 0;
  hubc__timer t;
  int rc;
  while ((rc = hubc__sched_pop_due(s, limit, &t)) == 1) {
    if (t.kind != TK) continue; /* billing's own timer is a month away: never here */
    assert_true(t.due <= limit);
    assert_true(t.due > last_due || (t.due == last_due && t.seq > last_seq));
    assert_int_equal(t.payload, t.id * 10);
    assert_null(hubc__sched_get(s, TK, t.id));
    last_due = t.due;
    last_seq = t.seq;
    popped++;
  }
  assert_int_equal(rc, 0);
  size_t left = 0;
  for (int64_t id = 1; id <= N; id++) {
    const hubc__timer *q = hubc__sched_get(s, TK, id);
    if (q) {
      left++;
      assert_true(q->due > limit);
    }
  }
  assert_int_equal(popped + left, N);
  assert_int_equal(hubc__sched_check(s), 0);
  assert_true(popped > N / 3 && left > N / 3);
  assert_int_equal(hubc__write_end(s, 0), 0);
}

/* The queue's content as text: every test timer by id, and the next due. */
static char *listing(hubc_store *s, int64_t n) {
  size_t cap = (size_t)n * 64 + 64, len = 0;
  char *out = gc_malloc(malloc(cap));
  for (int64_t id = 1; id <= n; id++) {
    const hubc__timer *t = hubc__sched_get(s, TK, id);
    if (t) len += (size_t)snprintf(out + len, cap - len, "%lld:%lld/%lld/%llu\n", (long long)id, (long long)t->due,
                                   (long long)t->payload, (unsigned long long)t->seq);
  }
  snprintf(out + len, cap - len, "next %lld\n", (long long)hubc__sched_next(&s->sched));
  return out;
}

/* R2: adds, moves, cancels and pops inside a failed transaction are all
 * undone; the same inside a committed one stay, and handles freed by it
 * are reused afterwards. */
static void r2_timers_are_undone_with_their_transaction(void **state) {
  (void)state;
  tu_clock clock = {T0};
  hubc_store *s = gc_store(tu_open(&clock, NULL));
  begin(s);
  for (int64_t id = 1; id <= 50; id++) assert_int_equal(hubc__sched_set(s, TK, id, T0 + 100 + id, id), 0);
  assert_int_equal(hubc__write_end(s, 0), 0);
  char *before = listing(s, 200);
  char *dump = gc_dump(s);

  for (int pass = 0; pass < 2; pass++) {
    begin(s);
    for (int64_t id = 51; id <= 120; id++) assert_int_equal(hubc__sched_set(s, TK, id, T0 + 1 + id % 7, 0), 0);
    for (int64_t id = 1; id <= 50; id += 3) assert_int_equal(hubc__sched_set(s, TK, id, T0 + 5, 99), 0);
    for (int64_t id = 2; id <= 50; id += 5) assert_int_equal(hubc__sched_cancel(s, TK, id), 1);
    assert_int_equal(hubc__sched_cancel(s, TK, 9999), 0);
    hubc__timer t;
    for (int k = 0; k < 30; k++) assert_int_equal(hubc__sched_pop_due(s, T0 + 200, &t), 1);
    for (int64_t id = 121; id <= 140; id++) assert_int_equal(hubc__sched_set(s, TK, id, T0 + 300, 1), 0); /* reuse */
    if (pass == 0) {
      assert_int_equal(hubc__write_end(s, hubc__err(HUBC_EINVAL, "undo it")), HUBC_EINVAL);
      assert_string_equal(listing(s, 200), before);
      assert_string_equal(gc_dump(s), dump);
    } else {
      assert_int_equal(hubc__write_end(s, 0), 0);
      assert_string_not_equal(listing(s, 200), before);
    }
  }
  /* committed: 50 + 70 + 20 set, 10 cancelled, 30 popped */
  size_t n = 0;
  for (int64_t id = 1; id <= 200; id++) n += hubc__sched_get(s, TK, id) != NULL;
  assert_int_equal(n, 50 + 70 + 20 - 10 - 30);
  size_t used = s->sched.used;
  begin(s);
  for (int64_t id = 300; id < 340; id++) assert_int_equal(hubc__sched_set(s, TK, id, T0 + 400, 0), 0);
  assert_int_equal(hubc__write_end(s, 0), 0);
  assert_int_equal(s->sched.used, used); /* the 40 freed handles served the 40 new timers */
  assert_int_equal(hubc__store_check(s), 0);
}

/* W3/W6: a million timers queued; a tick with nothing due does no queue
 * work at all, and popping k due timers costs O(k log n) heap steps. */
static void w3_a_tick_costs_what_is_due_not_what_is_queued(void **state) {
  (void)state;
  tu_clock clock = {T0};
  hubc_store *s = gc_store(tu_open(&clock, NULL));
  enum { N = 1000000, DUE = 10 };
  begin(s);
  for (int64_t id = 1; id <= N; id++)
    assert_int_equal(hubc__sched_set(s, TK, id, tu_time(2090, 1, 1, 0, 0, 0) + id % 86400, 0), 0);
  for (int64_t id = N + 1; id <= N + DUE; id++) assert_int_equal(hubc__sched_set(s, TK, id, T0 + 60, 0), 0);
  assert_int_equal(hubc__write_end(s, 0), 0);

  uint64_t work = s->sched.work;
  assert_int_equal(hubc_store_tick(s), 0); /* nothing due now */
  assert_int_equal(s->sched.work, work);

  begin(s);
  hubc__timer t;
  size_t popped = 0;
  while (hubc__sched_pop_due(s, T0 + 60, &t) == 1) popped++;
  uint64_t steps = s->sched.work - work;
  assert_int_equal(hubc__write_end(s, 0), 0);
  assert_int_equal(popped, DUE);
  assert_int_equal(hubc__store_check(s), 0);
  /* a removal sifts down: at most 2 comparisons per level, 21 levels */
  if (steps > DUE * 2 * 21) fail_msg("popping %d due timers of %d took %llu heap steps", DUE, N, (unsigned long long)steps);
}

/* B1: billing's update dates are a timer of the queue (META, 1), due at
 * the next update date; the tick that passes it closes the period and sets
 * the next one, and a reopened store sets it again from META. */
static void b1_update_dates_are_the_queues_first_client(void **state) {
  (void)state;
  tu_clock clock = {T0};
  tu_mem *m = gc_mem();
  hubc_store *s = gc_store(tu_open(&clock, &m->vtable));
  hubc_billing_info b;
  memset(&b, 0, sizeof b);
  b.version = HUBC_BILLING_INFO_VERSION;
  assert_int_equal(hubc_billing_get(&b, s), 0);
  const hubc__timer *t = hubc__sched_get(s, HUBC_REC_META, 1);
  assert_non_null(t);
  assert_int_equal(t->due, b.next_update);
  assert_int_equal(hubc__sched_next(&s->sched), b.next_update);
  hubc_time first = b.next_update;

  clock.now = first + 1;
  assert_int_equal(hubc_store_tick(s), 0);
  assert_int_equal(hubc_billing_get(&b, s), 0);
  assert_int_equal(b.period_start, first);
  assert_true(b.next_update > first);
  assert_int_equal(hubc__sched_get(s, HUBC_REC_META, 1)->due, b.next_update);

  gc_release(s);
  s = gc_store(tu_open(&clock, &m->vtable));
  assert_int_equal(hubc__sched_get(s, HUBC_REC_META, 1)->due, b.next_update);
}

/* R2: a transaction that touches no timer commits cleanly while the
 * queue has never journaled one (its freed list is still unallocated); the
 * asan preset makes a memcpy from that NULL list fatal. */
static void r2_a_commit_without_timer_changes_copies_nothing(void **state) {
  (void)state;
  tu_clock clock = {T0};
  hubc_store *s = gc_store(tu_open(&clock, NULL)); /* its bootstrap commit is the first such one */
  assert_null(s->sched.freed);
  size_t free_n = s->sched.free_n;
  begin(s);
  assert_int_equal(hubc__write_end(s, 0), 0);
  assert_null(s->sched.freed);
  assert_int_equal(s->sched.free_n, free_n);
  assert_int_equal(s->sched.freed_n, 0);
  assert_int_equal(hubc__store_check(s), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(w3_timers_come_out_in_due_then_set_order, setup, gc_teardown),
      cmocka_unit_test_setup_teardown(r2_timers_are_undone_with_their_transaction, setup, gc_teardown),
      cmocka_unit_test_setup_teardown(w3_a_tick_costs_what_is_due_not_what_is_queued, setup, gc_teardown),
      cmocka_unit_test_setup_teardown(b1_update_dates_are_the_queues_first_client, setup, gc_teardown),
      cmocka_unit_test_setup_teardown(r2_a_commit_without_timer_changes_copies_nothing, setup, gc_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
