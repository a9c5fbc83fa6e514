/* The store itself: versioned structs accepted 1..current (the version
 * helper, store options v1 after the v2 append), the clock (B2a bound, one
 * answer for a refused reading from every call, re-entry from the clock
 * hook), and the store's lifetime (close with iterators and calls in
 * flight, R4). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include <cmocka.h>

#include "hubcontacts.h"
#include "testutil.h"
#include "util/version.h"

#define ADMIN ((hubc_id)1)
#define YEAR ((hubc_time)31557600) /* 365.25 days */

static void expect_error(int rc, int want, const char *needle) {
  if (rc != want) fail_msg("got %d, want %d (%s)", rc, want, hubc_error_last());
  assert_int_equal(hubc_error_last_code(), want);
  if (needle && !strstr(hubc_error_last(), needle))
    fail_msg("message \"%s\" lacks \"%s\"", hubc_error_last(), needle);
}

/* ---- the version helper (issue 10) -------------------------------------- */

/* A test-only struct that gained a field: what a caller built against
 * version 1 hands to a library that knows version 2. */
typedef struct demo_v1 {
  unsigned int version;
  int a;
  const char *p;
} demo_v1;
typedef struct demo {
  unsigned int version;
  int a;
  const char *p;
  int64_t added; /* version 2; 0 is its default */
} demo;
static const size_t demo_size[] = {0, HUBC__VERSION_END(demo, p), sizeof(demo)};
_Static_assert(HUBC__VERSION_END(demo, p) == HUBC__VERSION_END(demo_v1, p), "append-only layout");

/* What a library entry point does with an input struct. */
static int demo_in(demo *got, const demo *in) {
  int rc = hubc__version_check(in->version, 2, "demo options");
  if (rc) return rc;
  hubc__version_in(got, sizeof *got, in, demo_size[in->version]);
  return 0;
}

static void version_check_accepts_1_to_current(void **state) {
  (void)state;
  expect_error(hubc__version_check(0, 2, "demo options"), HUBC_EVERSION, "demo options: version 0");
  assert_int_equal(hubc__version_check(1, 2, "demo options"), 0);
  assert_int_equal(hubc__version_check(2, 2, "demo options"), 0);
  expect_error(hubc__version_check(3, 2, "demo options"), HUBC_EVERSION, "versions 1 to 2");
}

static void version_v1_caller_still_works_after_an_append(void **state) {
  (void)state;
  /* the v1 struct sits at the start of poisoned memory: reading the new
   * field would read 0xAB bytes */
  _Alignas(8) unsigned char mem[sizeof(demo) + 16];
  memset(mem, 0xAB, sizeof mem);
  demo_v1 v1 = {1, 42, "x"};
  memcpy(mem, &v1, sizeof v1);
  demo got;
  assert_int_equal(demo_in(&got, (const demo *)(void *)mem), 0);
  assert_int_equal(got.a, 42);
  assert_string_equal(got.p, "x");
  assert_int_equal(got.added, 0);

  /* an output struct of version 1: only its bytes are written */
  demo full = {2, 7, "y", 99};
  memset(mem, 0xAB, sizeof mem);
  *(unsigned int *)(void *)mem = 1;
  hubc__version_out(mem, &full, demo_size[1]);
  demo_v1 out;
  memcpy(&out, mem, sizeof out);
  assert_int_equal(out.version, 1); /* the caller's version is kept */
  assert_int_equal(out.a, 7);
  for (size_t i = demo_size[1]; i < sizeof mem; i++) assert_int_equal(mem[i], 0xAB);
}

/* A store options struct as a program built against version 1 has it:
 * the bytes after `persist` are not its own. */
static void version_store_options_v1_is_accepted_and_not_read_past(void **state) {
  (void)state;
  const size_t v1_end = HUBC__VERSION_END(hubc_store_options, persist);
  assert_true(v1_end < sizeof(hubc_store_options));
  _Alignas(8) unsigned char mem[sizeof(hubc_store_options) + 8];
  memset(mem, 0xFF, sizeof mem);
  hubc_store_options *o = (hubc_store_options *)(void *)mem;
  assert_int_equal(hubc_store_options_init(o, 1), 0);
  for (size_t i = v1_end; i < sizeof mem; i++) assert_int_equal(mem[i], 0xFF); /* init wrote v1 bytes only */
  assert_int_equal(o->version, 1);

  tu_clock clk = {tu_time(2024, 1, 10, 0, 0, 0)};
  o->clock = tu_clock_fn;
  o->clock_payload = &clk;
  o->admin_email = "admin@example.com";
  hubc_store *s = NULL;
  /* max_clock_jump would read as -1 (refused) if the v1 struct were read past its end */
  int rc = hubc_store_open(&s, o);
  if (rc) fail_msg("open v1: %s", hubc_error_last());
  gc_store(s);
  /* and the default bound applies */
  clk.now += 9 * YEAR;
  assert_int_equal(hubc_store_tick(s), 0);
  clk.now += 11 * YEAR;
  expect_error(hubc_store_tick(s), HUBC_EINVAL, "max_clock_jump");
}

static void version_other_structs_accept_1_to_current(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 1, 10, 0, 0, 0)};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  hubc_billing_info bi = {0};
  bi.version = 1;
  assert_int_equal(hubc_billing_get(&bi, s), 0);
  bi.version = HUBC_BILLING_INFO_VERSION + 1;
  expect_error(hubc_billing_get(&bi, s), HUBC_EVERSION, "versions 1 to");
  hubc_store_options o;
  assert_int_equal(hubc_store_options_init(&o, HUBC_STORE_OPTIONS_VERSION), 0);
  expect_error(hubc_store_options_init(&o, HUBC_STORE_OPTIONS_VERSION + 1), HUBC_EVERSION, "store options");
}

/* ---- the clock ---------------------------------------------------------- */

static hubc_store *open_bound(tu_clock *clk, hubc_time bound, const hubc_persist *p) {
  hubc_store_options o;
  tu_options(&o, clk, p);
  o.max_clock_jump = bound;
  hubc_store *s = NULL;
  int rc = hubc_store_open(&s, &o);
  if (rc) fail_msg("open: %s", hubc_error_last());
  return gc_store(s);
}

static size_t periods(hubc_store *s) {
  hubc_period_iterator *it = NULL;
  assert_int_equal(hubc_period_iterator_new(&it, s), 0);
  hubc_period p = {0};
  p.version = HUBC_PERIOD_VERSION;
  size_t n = 0;
  while (hubc_period_iterator_next(&p, it) == 0) n++;
  hubc_period_iterator_free(it);
  return n;
}

static void B2a_a_jump_past_the_bound_is_refused_with_both_times(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  tu_contact(s, ADMIN, "a@example.com", "A");
  char *before = gc_dump(s);
  clk.now = tu_time(2035, 3, 10, 12, 0, 0); /* 11 years on */
  const char *names[] = {"email"}, *values[] = {"b@example.com"};
  hubc_id id = 0;
  expect_error(hubc_contact_create(&id, s, ADMIN, NULL, names, values, 1), HUBC_EINVAL, "2035-03-10T12:00:00Z");
  assert_non_null(strstr(hubc_error_last(), "2024-03-10T12:00:00Z"));
  expect_error(hubc_store_tick(s), HUBC_EINVAL, "B2a");
  hubc_contact *c = NULL;
  expect_error(hubc_contact_get(&c, s, 1), HUBC_EINVAL, "max_clock_jump");
  clk.now = tu_time(2024, 3, 10, 13, 0, 0);
  char *after = gc_dump(s);
  assert_string_equal(before, after); /* nothing closed, nothing created */
  assert_int_equal(periods(s), 0);
}

static void B2a_the_bound_counts_from_the_latest_time_seen(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  hubc_store *s = open_bound(&clk, 2 * YEAR, NULL);
  clk.now = tu_time(2025, 9, 10, 12, 0, 0); /* 1.5 years: within */
  assert_int_equal(hubc_store_tick(s), 0);
  clk.now = tu_time(2027, 3, 10, 12, 0, 0); /* 3 years since open, 1.5 since seen */
  assert_int_equal(hubc_store_tick(s), 0);
  assert_int_equal(periods(s), 36);
  clk.now = tu_time(2029, 9, 10, 12, 0, 0); /* 2.5 years since seen */
  expect_error(hubc_store_tick(s), HUBC_EINVAL, "2027-03-10T12:00:00Z");
  assert_int_equal(hubc_store_now(s), 0);
  assert_int_equal(hubc_error_last_code(), HUBC_EINVAL);
}

static void B2a_a_host_raises_the_bound(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  hubc_store *s = open_bound(&clk, 20 * YEAR, NULL);
  clk.now = tu_time(2035, 3, 10, 12, 0, 0);
  assert_int_equal(hubc_store_tick(s), 0);
  assert_int_equal(periods(s), 132);
  assert_int_equal(hubc_store_now(s), clk.now);
}

static void B2a_reopen_far_in_the_future_is_refused(void **state) {
  (void)state;
  tu_mem *m = gc_mem();
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  hubc_store *s = open_bound(&clk, YEAR, &m->vtable);
  tu_contact(s, ADMIN, "a@example.com", "A");
  gc_release(s);
  clk.now = tu_time(2026, 3, 10, 12, 0, 0);
  hubc_store_options o;
  assert_int_equal(hubc_store_options_init(&o, HUBC_STORE_OPTIONS_VERSION), 0);
  o.clock = tu_clock_fn;
  o.clock_payload = &clk;
  o.max_clock_jump = YEAR;
  o.persist = &m->vtable;
  s = NULL;
  expect_error(hubc_store_open(&s, &o), HUBC_EINVAL, "2026-03-10T12:00:00Z");
  assert_null(s);
  o.max_clock_jump = 3 * YEAR;
  assert_int_equal(hubc_store_open(&s, &o), 0);
  gc_store(s);
}

static void B2a_a_negative_bound_is_refused(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  hubc_store_options o;
  tu_options(&o, &clk, NULL);
  o.max_clock_jump = -1;
  hubc_store *s = NULL;
  expect_error(hubc_store_open(&s, &o), HUBC_EINVAL, "max_clock_jump");
  assert_null(s);
}

/* Issue 9 item 10: tick said 0 while create was refused. */
static void B2a_a_clock_out_of_range_gets_one_answer_from_every_call(void **state) {
  (void)state;
  const hubc_time bad[] = {INT64_MIN, INT64_MAX, tu_time(10000, 1, 1, 0, 0, 0)};
  for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
    tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
    hubc_store *s = gc_store(tu_open(&clk, NULL));
    tu_contact(s, ADMIN, "a@example.com", "A");
    char *before = gc_dump(s);
    clk.now = bad[k];
    const char *names[] = {"email"}, *values[] = {"b@example.com"};
    hubc_id id = 0;
    uint64_t n = 0;
    hubc_contact *c = NULL;
    hubc_billing_info bi = {0};
    bi.version = HUBC_BILLING_INFO_VERSION;
    expect_error(hubc_store_tick(s), HUBC_EINVAL, "store clock");
    expect_error(hubc_contact_create(&id, s, ADMIN, NULL, names, values, 1), HUBC_EINVAL, "store clock");
    expect_error(hubc_contact_count(&n, s), HUBC_EINVAL, "store clock");
    expect_error(hubc_contact_get(&c, s, 1), HUBC_EINVAL, "store clock");
    expect_error(hubc_contact_find(&id, s, "a@example.com"), HUBC_EINVAL, "store clock");
    expect_error(hubc_billing_get(&bi, s), HUBC_EINVAL, "store clock");
    assert_int_equal(hubc_store_now(s), 0);
    expect_error(HUBC_EINVAL, HUBC_EINVAL, "store clock");
    clk.now = tu_time(2024, 3, 10, 13, 0, 0);
    char *after = gc_dump(s);
    assert_string_equal(before, after);
    gc_release(after);
    gc_release(before);
    gc_release(s);
  }
}

/* ---- re-entry from the clock hook (R4, R6) ------------------------------ */

typedef struct reentrant_clock {
  hubc_store *s;
  hubc_time now;
  int depth, max_depth, calls;
  int inner_code;
  hubc_time inner;
} reentrant_clock;

static hubc_time reentrant_clock_fn(void *payload) {
  reentrant_clock *r = payload;
  if (++r->depth > r->max_depth) r->max_depth = r->depth;
  if (r->s && r->depth < 8) { /* the cut-off only keeps a failing run finite */
    r->calls++;
    r->inner = hubc_store_now(r->s);
    r->inner_code = hubc_error_last_code();
  }
  r->depth--;
  return r->now;
}

static void R4_clock_hook_calling_store_now_gets_ebusy(void **state) {
  (void)state;
  reentrant_clock rc = {NULL, tu_time(2024, 3, 10, 12, 0, 0), 0, 0, 0, 0, 0};
  hubc_store_options o;
  assert_int_equal(hubc_store_options_init(&o, HUBC_STORE_OPTIONS_VERSION), 0);
  o.clock = reentrant_clock_fn;
  o.clock_payload = &rc;
  o.admin_email = "admin@example.com";
  hubc_store *s = NULL;
  assert_int_equal(hubc_store_open(&s, &o), 0);
  gc_store(s);
  rc.s = s;
  assert_int_equal(hubc_store_now(s), rc.now);
  assert_int_equal(hubc_error_last_code(), 0);
  assert_int_equal(rc.max_depth, 1); /* no recursion */
  assert_int_equal(rc.inner, 0);
  assert_int_equal(rc.inner_code, HUBC_EBUSY);
  rc.inner_code = 0;
  tu_contact(s, ADMIN, "a@example.com", "A");
  assert_int_equal(rc.max_depth, 1);
  assert_int_equal(rc.inner_code, HUBC_EBUSY);
  assert_int_equal(hubc_store_tick(s), 0);
  assert_int_equal(rc.max_depth, 1);
}

/* ---- the store's lifetime (R4, issue 9 items 1 and 3) ------------------ */

static void sleep_ms(long ms) {
  struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&t, NULL);
}

static void R4_iterator_next_after_close_is_an_error(void **state) {
  (void)state;
  tu_alloc a = {0};
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  hubc_store *s = tu_open_alloc(&clk, &a, NULL);
  hubc_id id = tu_contact(s, ADMIN, "a@example.com", "A");
  assert_int_equal(hubc_contact_set_marketing(s, ADMIN, id, HUBC_SOURCE_MANUAL, ADMIN), 0);
  clk.now = tu_time(2024, 5, 10, 12, 0, 0); /* a closed period */
  assert_int_equal(hubc_store_tick(s), 0);
  hubc_contact_iterator *ci = NULL;
  hubc_user_iterator *ui = NULL;
  hubc_period_iterator *pi = NULL;
  hubc_history_iterator *hi = NULL;
  assert_int_equal(hubc_contact_iterator_new(&ci, s, HUBC_SELECT_ALL), 0);
  assert_int_equal(hubc_user_iterator_new(&ui, s), 0);
  assert_int_equal(hubc_period_iterator_new(&pi, s), 0);
  assert_int_equal(hubc_history_iterator_new(&hi, s, id), 0);
  hubc_store_close(s);
  assert_int_equal(hubc_error_last_code(), 0);
  hubc_id got = 0;
  hubc_period p = {0};
  p.version = HUBC_PERIOD_VERSION;
  hubc_history_entry h = {0};
  h.version = HUBC_HISTORY_ENTRY_VERSION;
  expect_error(hubc_contact_iterator_next(&got, ci), HUBC_EINVAL, "closed");
  expect_error(hubc_user_iterator_next(&got, ui), HUBC_EINVAL, "closed");
  expect_error(hubc_period_iterator_next(&p, pi), HUBC_EINVAL, "closed");
  expect_error(hubc_history_iterator_next(&h, hi), HUBC_EINVAL, "closed");
  /* a second close while the handle lives is refused, not a double free */
  hubc_store_close(s);
  expect_error(hubc_error_last_code(), HUBC_EINVAL, "already closed");
  /* so is a new iterator on it */
  hubc_period_iterator *pi2 = NULL;
  expect_error(hubc_period_iterator_new(&pi2, s), HUBC_EINVAL, "closed");
  assert_true(a.live > 0); /* the handle lives until the last iterator goes */
  hubc_contact_iterator_free(ci);
  hubc_user_iterator_free(ui);
  hubc_period_iterator_free(pi);
  assert_true(a.live > 0);
  hubc_history_iterator_free(hi);
  assert_int_equal(a.live, 0);
}

/* A clock that blocks the first call that reads it once armed. */
typedef struct slow_clock {
  hubc_time now;
  atomic_int armed, inside, done;
} slow_clock;

static hubc_time slow_clock_fn(void *payload) {
  slow_clock *c = payload;
  if (atomic_exchange(&c->armed, 0)) {
    atomic_store(&c->inside, 1);
    sleep_ms(200);
    atomic_store(&c->done, 1);
  }
  return c->now;
}

typedef struct caller {
  hubc_store *s;
  int rc;
  long ok, closed, other;
  hubc_period_iterator *it; /* taken before the thread starts: keeps the handle */
} caller;

static void *count_once(void *p) {
  caller *c = p;
  uint64_t n = 0;
  c->rc = hubc_contact_count(&n, c->s);
  return NULL;
}

static void R4_close_waits_for_a_call_in_flight(void **state) {
  (void)state;
  slow_clock clk = {tu_time(2024, 3, 10, 12, 0, 0), 0, 0, 0};
  hubc_store_options o;
  assert_int_equal(hubc_store_options_init(&o, HUBC_STORE_OPTIONS_VERSION), 0);
  o.clock = slow_clock_fn;
  o.clock_payload = &clk;
  o.admin_email = "admin@example.com";
  hubc_store *s = NULL;
  assert_int_equal(hubc_store_open(&s, &o), 0);
  caller c = {s, 1, 0, 0, 0, NULL};
  atomic_store(&clk.armed, 1);
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, count_once, &c), 0);
  while (!atomic_load(&clk.inside)) sleep_ms(1);
  hubc_store_close(s); /* the other thread is inside hubc_contact_count */
  assert_int_equal(atomic_load(&clk.done), 1);
  pthread_join(t, NULL);
  assert_int_equal(c.rc, 0);
}

static void *call_until_closed(void *p) {
  caller *c = p;
  const char *emails[] = {"a@example.com", "b@example.com", "nobody@example.com"};
  hubc_id ids[3];
  hubc_period_iterator *it = c->it;
  for (;;) {
    int rc = hubc_contact_find_many(ids, c->s, emails, 3);
    if (rc == 0) {
      hubc_period per = {0};
      per.version = HUBC_PERIOD_VERSION;
      rc = hubc_period_iterator_next(&per, it);
      if (rc == HUBC_ITEROVER) rc = 0;
    }
    if (rc == 0) c->ok++;
    else if (rc == HUBC_EINVAL && strstr(hubc_error_last(), "closed")) {
      c->closed++;
      break;
    } else {
      c->other++;
      break;
    }
  }
  hubc_period_iterator_free(it); /* the last reference: frees the handle */
  return NULL;
}

/* Issue 9 item 1 (C side): the Python run that crashed one time in six.
 * Each thread holds an iterator, which keeps the handle alive, so its
 * calls after the close are answered "closed". */
static void R4_close_racing_calls_on_other_threads(void **state) {
  (void)state;
  for (int round = 0; round < 20; round++) {
    tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
    hubc_store *s = tu_open(&clk, NULL);
    tu_contact(s, ADMIN, "a@example.com", "A");
    tu_contact(s, ADMIN, "b@example.com", "B");
    caller c[2] = {{s, 0, 0, 0, 0, NULL}, {s, 0, 0, 0, 0, NULL}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
      assert_int_equal(hubc_period_iterator_new(&c[i].it, s), 0);
      assert_int_equal(pthread_create(&t[i], NULL, call_until_closed, &c[i]), 0);
    }
    sleep_ms(round % 4);
    hubc_store_close(s);
    for (int i = 0; i < 2; i++) {
      pthread_join(t[i], NULL);
      assert_int_equal(c[i].other, 0);
      assert_int_equal(c[i].closed, 1);
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(version_check_accepts_1_to_current),
      cmocka_unit_test(version_v1_caller_still_works_after_an_append),
      cmocka_unit_test_teardown(version_store_options_v1_is_accepted_and_not_read_past, gc_teardown),
      cmocka_unit_test_teardown(version_other_structs_accept_1_to_current, gc_teardown),
      cmocka_unit_test_teardown(B2a_a_jump_past_the_bound_is_refused_with_both_times, gc_teardown),
      cmocka_unit_test_teardown(B2a_the_bound_counts_from_the_latest_time_seen, gc_teardown),
      cmocka_unit_test_teardown(B2a_a_host_raises_the_bound, gc_teardown),
      cmocka_unit_test_teardown(B2a_reopen_far_in_the_future_is_refused, gc_teardown),
      cmocka_unit_test_teardown(B2a_a_negative_bound_is_refused, gc_teardown),
      cmocka_unit_test_teardown(B2a_a_clock_out_of_range_gets_one_answer_from_every_call, gc_teardown),
      cmocka_unit_test_teardown(R4_clock_hook_calling_store_now_gets_ebusy, gc_teardown),
      cmocka_unit_test(R4_iterator_next_after_close_is_an_error),
      cmocka_unit_test(R4_close_waits_for_a_call_in_flight),
      cmocka_unit_test(R4_close_racing_calls_on_other_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
