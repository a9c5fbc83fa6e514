/* Allocation failure in every list and view call (S2, S3, R2): the n-th
 * allocation fails, for n = 1, 2, … until the call succeeds; each failure
 * is HUBC_ENOMEM with a message and leaves the store as it was (dump
 * compare, every active list a fresh evaluation), through a persistence
 * backend so record encoding fails too. The readers (snapshots, query
 * iterators over a view) give ENOMEM and no object. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/store.h" /* hubc__store_check: every kind's derived state, active lists included */
#include "testutil.h"

#define ADMIN 1
#define T0 tu_time(2024, 3, 10, 12, 0, 0)
enum { N = 200 };

/* The store every call starts from: N contacts (every third in Roma),
 * static list 1 (ids 1..40), view 'V' (Roma, by first name), active list 2
 * (IN VIEW 'V' AND NOT IN LIST 1), active list 3 (IN LIST 2 OR marketing). */
typedef struct fx {
  tu_clock clk;
  tu_alloc a;
  tu_mem *m;
  hubc_store *s;
  hubc_id ids[2 * N];
} fx;

static void fx_open(fx *f) {
  memset(f, 0, sizeof *f);
  f->clk.now = T0;
  f->m = gc_mem();
  f->s = gc_store(tu_open_alloc(&f->clk, &f->a, &f->m->vtable));
  const char *names[] = {"email", "city", "firstname"};
  for (int i = 0; i < N; i++) {
    char email[32], first[16];
    snprintf(email, sizeof email, "c%d@example.com", i);
    snprintf(first, sizeof first, "n%d", (i * 7) % 13);
    const char *values[] = {email, i % 3 ? "Milano" : "Roma", first};
    TU_OK(hubc_contact_create(NULL, f->s, ADMIN, NULL, names, values, 3));
  }
  for (int i = 0; i < 2 * N; i++) f->ids[i] = (hubc_id)(i % N) + 1; /* every id twice */
  TU_OK(hubc_list_create(NULL, f->s, ADMIN, "S", NULL));
  TU_OK(hubc_list_add(NULL, f->s, ADMIN, 1, f->ids, 40));
  TU_OK(hubc_view_create(NULL, f->s, ADMIN, "V", "city = 'Roma'", "firstname", 0));
  TU_OK(hubc_list_create(NULL, f->s, ADMIN, "A", "IN VIEW 'V' AND NOT IN LIST 1"));
  TU_OK(hubc_list_create(NULL, f->s, ADMIN, "B", "IN LIST 2 OR hs_marketable_status = TRUE"));
}

typedef int (*call_fn)(fx *f);

static int c_create_static(fx *f) { return hubc_list_create(NULL, f->s, ADMIN, "New", NULL); }
static int c_create_active(fx *f) {
  return hubc_list_create(NULL, f->s, ADMIN, "New", "IN VIEW 'V' OR (IN LIST 3 AND firstname STARTS WITH 'n1')");
}
static int c_rename(fx *f) { return hubc_list_rename(f->s, ADMIN, 2, "Renamed"); }
/* before the deletes and the rename: list 2 reads neither list 1 nor view V */
static void unread(fx *f) { TU_OK(hubc_list_set_filter(f->s, ADMIN, 2, "city = 'Roma'")); }
static int c_delete_static(fx *f) { return hubc_list_delete(f->s, ADMIN, 1); }
static int c_delete_active(fx *f) { return hubc_list_delete(f->s, ADMIN, 3); }
static int c_add_few(fx *f) { return hubc_list_add(NULL, f->s, ADMIN, 1, f->ids + 30, 20); }
static int c_add_bulk(fx *f) { return hubc_list_add(NULL, f->s, ADMIN, 1, f->ids, 2 * N); } /* the saved-set path */
static int c_remove_few(fx *f) { return hubc_list_remove(NULL, f->s, ADMIN, 1, f->ids + 10, 20); }
static int c_remove_bulk(fx *f) { return hubc_list_remove(NULL, f->s, ADMIN, 1, f->ids, 2 * N); }
static int c_set_filter(fx *f) { return hubc_list_set_filter(f->s, ADMIN, 2, "city = 'Milano' AND NOT IN LIST 1"); }
static int c_view_create(fx *f) {
  return hubc_view_create(NULL, f->s, ADMIN, "W", "IN VIEW 'V' OR IN LIST 3", "email", 1);
}
static int c_view_update(fx *f) { return hubc_view_update(f->s, ADMIN, 1, "city = 'Milano'", "email", 1); }
static int c_view_rename(fx *f) { return hubc_view_rename(f->s, ADMIN, 1, "Renamed"); }
static int c_view_delete(fx *f) { return hubc_view_delete(f->s, ADMIN, 1); }
/* contact changes the active lists follow (membership undo) */
static int c_contact_update(fx *f) {
  const char *n[] = {"city"}, *v[] = {"Roma"};
  return hubc_contact_update(f->s, ADMIN, 42, n, v, 1); /* enters lists 2 and 3 */
}
static int c_bulk(fx *f) {
  hubc_selection sel;
  TU_OK(hubc_selection_init(&sel, HUBC_SELECTION_VERSION));
  sel.view = "V";
  return hubc_bulk_commit(NULL, f->s, ADMIN, HUBC_BULK_SET_MARKETING, &sel, (N + 2) / 3);
}

/* S2, S3, R2: every changing call under the n-th allocation failing. */
static void s2_s3_every_list_and_view_call_survives_allocation_failure_n(void **state) {
  (void)state;
  static const struct {
    const char *what;
    call_fn fn;
    void (*prep)(fx *f);
  } calls[] = {
      {"create static list", c_create_static, NULL}, {"create active list", c_create_active, NULL},
      {"rename list", c_rename, NULL},               {"delete static list", c_delete_static, unread},
      {"delete active list", c_delete_active, NULL}, {"add a few", c_add_few, NULL},
      {"add in bulk", c_add_bulk, NULL},             {"remove a few", c_remove_few, NULL},
      {"remove in bulk", c_remove_bulk, NULL},       {"set filter", c_set_filter, NULL},
      {"create view", c_view_create, NULL},          {"update view", c_view_update, NULL},
      {"rename view", c_view_rename, unread},        {"delete view", c_view_delete, unread},
      {"contact update", c_contact_update, NULL},    {"bulk on a view", c_bulk, NULL},
  };
  for (size_t i = 0; i < sizeof calls / sizeof *calls; i++) {
    /* what the call gives without failures */
    fx *ref = gc_malloc(malloc(sizeof *ref));
    fx_open(ref);
    if (calls[i].prep) calls[i].prep(ref);
    TU_OK(calls[i].fn(ref));
    char *want = gc_dump(ref->s);
    fx *f = gc_malloc(malloc(sizeof *f));
    fx_open(f);
    if (calls[i].prep) calls[i].prep(f);
    size_t n = 1, failed_runs = 0, absorbed = 0;
    for (;; n++) {
      if (n > 5000) fail_msg("%s: still failing at allocation %zu", calls[i].what, n);
      char *before = gc_dump(f->s);
      size_t failures = f->a.failures;
      f->a.fail_at = f->a.count + n;
      tu_clear_err();
      int rc = calls[i].fn(f);
      f->a.fail_at = 0;
      int hit = f->a.failures > failures;
      if (rc == 0) {
        gc_release(before);
        if (!hit) break; /* it needs fewer than n allocations */
        /* an allocation the call could do without (a filter column): the
         * right result still, then on from a fresh store */
        absorbed++;
        tu_expect_dump(f->s, want, calls[i].what);
        f = gc_malloc(malloc(sizeof *f));
        fx_open(f);
        if (calls[i].prep) calls[i].prep(f);
        continue;
      }
      failed_runs++;
      if (rc != HUBC_ENOMEM || !hit)
        fail_msg("%s at allocation %zu: %d (%s), %s", calls[i].what, n, rc, hubc_error_last(),
                 hit ? "the allocation failed" : "no allocation failed");
      if (!hubc_error_last()[0]) fail_msg("%s at allocation %zu: no message", calls[i].what, n);
      tu_expect_dump(f->s, before, calls[i].what);
      gc_release(before);
      if (hubc__store_check(f->s) != 0) fail_msg("%s at %zu: %s", calls[i].what, n, hubc_error_last());
    }
    assert_true(failed_runs > 0);
    tu_expect_dump(f->s, want, calls[i].what); /* and the right result */
    if (hubc__store_check(f->s) != 0) fail_msg("%s: %s", calls[i].what, hubc_error_last());
    /* what committed is what a reopen finds */
    char *now = gc_dump(f->s);
    hubc_store *r = gc_store(tu_open(&f->clk, &f->m->vtable));
    tu_expect_dump(r, now, calls[i].what);
    gc_release(r);
    print_message("%-20s %zu allocations: each failing one ENOMEM, store unchanged (%zu done without)\n",
                  calls[i].what, n - 1, absorbed);
  }
}

/* The readers: snapshots and a query over a view give ENOMEM and no
 * object, then the right answer. */
static void s2_s3_readers_survive_allocation_failure_n(void **state) {
  (void)state;
  fx *f = gc_malloc(malloc(sizeof *f));
  fx_open(f);
  uint64_t want = 0;
  TU_OK(hubc_list_count(&want, f->s, 2));
  for (int k = 0; k < 3; k++) {
    size_t n = 1;
    for (;; n++) {
      if (n > 1000) fail_msg("reader %d: still failing at allocation %zu", k, n);
      hubc_list *l = (hubc_list *)&n;
      hubc_view *v = (hubc_view *)&n;
      hubc_query_iterator *it = (hubc_query_iterator *)&n;
      int created = 0;
      size_t failures = f->a.failures;
      f->a.fail_at = f->a.count + n;
      int rc;
      hubc_id got[N];
      size_t n_got = 0, total = 0;
      if (k == 0) {
        rc = hubc_list_get(&l, f->s, 2);
      } else if (k == 1) {
        rc = hubc_view_get(&v, f->s, 1);
      } else {
        hubc_query_options o = HUBC_QUERY_OPTIONS_INIT;
        o.view = 1;
        o.limit = N;
        rc = hubc_query_iterator_new(&it, f->s, NULL, &o);
        created = rc == 0;
        while (rc == 0 && (rc = hubc_query_iterator_next_ids(&n_got, got + total, N - total, it)) == 0) total += n_got;
        if (rc == HUBC_ITEROVER) rc = 0;
        if (rc == 0 && !hubc_query_iterator_cursor(it)) rc = hubc_error_last_code();
      }
      f->a.fail_at = 0;
      int hit = f->a.failures > failures;
      if (rc == 0) {
        if (hit) fail_msg("reader %d: allocation %zu failed but the call succeeded", k, n);
        if (k == 0) assert_int_equal(hubc_list_size(l), want), hubc_list_free(l);
        if (k == 1) assert_string_equal(hubc_view_name(v), "V"), hubc_view_free(v);
        if (k == 2) assert_int_equal(total, (N + 2) / 3), hubc_query_iterator_free(it);
        break;
      }
      assert_int_equal(rc, HUBC_ENOMEM);
      if (k == 0) assert_null(l);
      if (k == 1) assert_null(v);
      if (k == 2 && created) hubc_query_iterator_free(it); /* a batch or the cursor failed */
      if (k == 2 && !created) assert_null(it);
    }
    print_message("reader %d succeeded at allocation %zu\n", k, n);
  }
  assert_int_equal(hubc__store_check(f->s), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(s2_s3_every_list_and_view_call_survives_allocation_failure_n, gc_teardown),
      cmocka_unit_test_teardown(s2_s3_readers_survive_allocation_failure_n, gc_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
