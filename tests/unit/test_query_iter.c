/* Query results (S1): ids and snapshots in batches, sorting by one
 * property (ascending/descending, unknown values last, ties by id), a
 * limit, and a cursor that pages through exactly the same order and stays
 * stable while contacts change. */
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
#define N 400

static void ok(int rc) {
  if (rc != 0) fail_msg("call failed: %d (%s): %s", rc, hubc_strerror(rc), hubc_error_last());
}

static uint64_t rng_state = 88172645463325252ULL;
static unsigned rnd(unsigned n) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (unsigned)(rng_state % n);
}

/* The test's own copy of what it stored, to sort by hand. */
typedef struct model {
  int has_score, has_city, has_seen;
  double score;
  char city[16];
  hubc_time seen;
} model;
static model m[N + 1];

static hubc_store *populate(tu_clock *clk) {
  hubc_store *s = gc_store(tu_open(clk, NULL));
  ok(hubc_property_define(s, ADMIN, "score", NULL, HUBC_PROP_NUMBER, NULL, 0));
  ok(hubc_property_define(s, ADMIN, "seen", NULL, HUBC_PROP_DATETIME, NULL, 0));
  static const char *const cities[] = {"Roma", "roma", "Milano", "Bari", "ancona", "Zagarolo"};
  for (int i = 1; i <= N; i++) {
    char email[32], score[32], seen[64];
    snprintf(email, sizeof email, "p%d@example.com", i);
    model *x = &m[i];
    memset(x, 0, sizeof *x);
    x->has_score = rnd(5) != 0;
    x->score = (double)((int)rnd(21) - 10) / 2; /* many ties */
    snprintf(score, sizeof score, "%g", x->score);
    x->has_city = rnd(4) != 0;
    snprintf(x->city, sizeof x->city, "%s", cities[rnd(6)]);
    x->has_seen = rnd(3) != 0;
    int mo = 1 + (int)rnd(12), d = 1 + (int)rnd(28), h = (int)rnd(24);
    x->seen = tu_time(2024, mo, d, h, 0, 0);
    snprintf(seen, sizeof seen, "2024-%02d-%02dT%02d:00:00Z", mo, d, h);
    const char *names[] = {"email", "score", "city"};
    const char *values[] = {email, x->has_score ? score : "", x->has_city ? x->city : ""};
    hubc_id id;
    ok(hubc_contact_create(&id, s, ADMIN, NULL, names, values, 3));
    assert_int_equal(id, i);
    if (x->has_seen) {
      const char *n2[] = {"seen"}, *v2[] = {seen};
      ok(hubc_contact_update(s, ADMIN, id, n2, v2, 1));
    }
  }
  return s;
}

static int ci_cmp(const char *a, const char *b) {
  for (;; a++, b++) {
    int x = (*a >= 'A' && *a <= 'Z') ? *a + 32 : *a, y = (*b >= 'A' && *b <= 'Z') ? *b + 32 : *b;
    if (x != y || !x) return x - y;
  }
}

/* The expected order, written plainly: 0 score, 1 city, 2 seen. */
static int sort_key, sort_desc;
static int known(int id) {
  return sort_key == 0 ? m[id].has_score : sort_key == 1 ? m[id].has_city : m[id].has_seen;
}
static int model_cmp(const void *pa, const void *pb) {
  int a = *(const int *)pa, b = *(const int *)pb;
  if (known(a) != known(b)) return known(a) ? -1 : 1;
  if (known(a)) {
    int c = sort_key == 0   ? (m[a].score > m[b].score) - (m[a].score < m[b].score)
            : sort_key == 1 ? ci_cmp(m[a].city, m[b].city)
                            : (m[a].seen > m[b].seen) - (m[a].seen < m[b].seen);
    c = c < 0 ? -1 : c > 0;
    if (c) return sort_desc ? -c : c;
  }
  return a - b;
}

static const char *const sort_names[] = {"score", "City", "seen"};

/* Every id in one batch-read run of an iterator. */
static size_t drain(hubc_query_iterator *it, hubc_id *out, size_t cap, size_t batch) {
  size_t total = 0, n;
  int rc;
  while ((rc = hubc_query_iterator_next_ids(&n, out + total, batch < cap - total ? batch : cap - total, it)) == 0) {
    assert_true(n > 0);
    total += n;
    if (total == cap) break;
  }
  if (total < cap) {
    assert_int_equal(rc, HUBC_ITEROVER);
    assert_int_equal(n, 0);
  }
  return total;
}

static void s1_sorted_results_follow_value_direction_unknown_last_ties_by_id(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 21, 10, 0, 0)};
  hubc_store *s = populate(&clk);
  for (sort_key = 0; sort_key < 3; sort_key++) {
    for (sort_desc = 0; sort_desc < 2; sort_desc++) {
      int want[N];
      for (int i = 0; i < N; i++) want[i] = i + 1;
      qsort(want, N, sizeof *want, model_cmp);
      hubc_query_options o = HUBC_QUERY_OPTIONS_INIT;
      o.sort_by = sort_names[sort_key];
      o.descending = sort_desc;
      hubc_query_iterator *it;
      ok(hubc_query_iterator_new(&it, s, NULL, &o));
      hubc_id got[N + 1];
      assert_int_equal(drain(it, got, N + 1, 37), N);
      for (int i = 0; i < N; i++)
        if (got[i] != want[i])
          fail_msg("sort by %s %s: position %d is %lld, expected %d", sort_names[sort_key], sort_desc ? "desc" : "asc",
                   i, (long long)got[i], want[i]);
      hubc_query_iterator_free(it);
    }
  }
}

/* Pages of `limit` results, each continuing from the previous page's
 * cursor, give the same sequence as one run. */
static void s1_limit_and_cursor_page_through_the_same_order(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 21, 10, 0, 0)};
  hubc_store *s = populate(&clk);
  hubc_filter *f;
  ok(hubc_filter_compile(&f, s, "score >= -3 OR city IS NOT KNOWN"));
  for (int key = -1; key < 3; key++) {
    for (int desc = 0; desc < 2; desc++) {
      hubc_query_options o = HUBC_QUERY_OPTIONS_INIT;
      o.sort_by = key < 0 ? NULL : sort_names[key];
      o.descending = desc;
      hubc_query_iterator *it;
      ok(hubc_query_iterator_new(&it, s, f, &o));
      hubc_id all[N + 1];
      size_t total = drain(it, all, N + 1, 1000);
      hubc_query_iterator_free(it);
      assert_true(total > 10 && total < N);

      char cursor[4096] = "";
      size_t seen = 0;
      for (int page = 0;; page++) {
        o.limit = 7;
        o.cursor = cursor;
        ok(hubc_query_iterator_new(&it, s, f, &o));
        hubc_id got[8];
        size_t n = drain(it, got, 8, 3);
        assert_true(n <= 7);
        for (size_t i = 0; i < n; i++)
          if (got[i] != all[seen + i])
            fail_msg("sort %s %s page %d: item %zu is %lld, expected %lld", o.sort_by ? o.sort_by : "(id)",
                     desc ? "desc" : "asc", page, i, (long long)got[i], (long long)all[seen + i]);
        seen += n;
        const char *c = hubc_query_iterator_cursor(it);
        assert_non_null(c);
        assert_true(strlen(c) < sizeof cursor);
        if (n == 0) assert_string_equal(c, cursor); /* nothing returned: the cursor given */
        strcpy(cursor, c);
        hubc_query_iterator_free(it);
        if (n < 7) break;
      }
      assert_int_equal(seen, total);
    }
  }
  hubc_filter_free(f);
}

/* A cursor names a sort position, not an offset: deleting contacts already
 * shown or adding contacts before it does not shift the next page. */
static void s1_cursor_is_stable_while_contacts_change(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 21, 10, 0, 0)};
  hubc_store *s = populate(&clk);
  hubc_query_options o = HUBC_QUERY_OPTIONS_INIT;
  o.sort_by = "score";
  o.limit = 50;
  hubc_query_iterator *it;
  ok(hubc_query_iterator_new(&it, s, NULL, &o));
  hubc_id first[50];
  assert_int_equal(drain(it, first, 50, 50), 50);
  char cursor[256];
  snprintf(cursor, sizeof cursor, "%s", hubc_query_iterator_cursor(it));
  hubc_query_iterator_free(it);
  /* the rest, as it was */
  o.limit = 0;
  o.cursor = cursor;
  ok(hubc_query_iterator_new(&it, s, NULL, &o));
  hubc_id rest[N];
  size_t n_rest = drain(it, rest, N, 64);
  hubc_query_iterator_free(it);
  assert_int_equal(n_rest, N - 50);
  /* change the store: delete shown contacts, add ones sorting before */
  for (int i = 0; i < 20; i++) ok(hubc_contact_delete(s, ADMIN, first[i]));
  for (int i = 0; i < 5; i++) {
    char email[32];
    snprintf(email, sizeof email, "new%d@example.com", i);
    const char *names[] = {"email", "score"}, *values[] = {email, "-100"};
    hubc_id id;
    ok(hubc_contact_create(&id, s, ADMIN, NULL, names, values, 2));
  }
  ok(hubc_query_iterator_new(&it, s, NULL, &o));
  hubc_id again[N];
  assert_int_equal(drain(it, again, N, 64), n_rest);
  assert_memory_equal(again, rest, n_rest * sizeof *rest);
  hubc_query_iterator_free(it);
}

static void s1_snapshots_in_batches(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 21, 10, 0, 0)};
  hubc_store *s = populate(&clk);
  hubc_filter *f;
  ok(hubc_filter_compile(&f, s, "city = 'roma'"));
  uint64_t count;
  ok(hubc_filter_count(&count, s, f));
  hubc_query_options o = HUBC_QUERY_OPTIONS_INIT;
  o.sort_by = "score";
  o.descending = 1;
  hubc_query_iterator *it;
  ok(hubc_query_iterator_new(&it, s, f, &o));
  hubc_contact *batch[16];
  size_t n, total = 0;
  int rc;
  double last = 1e9;
  int unknown_seen = 0;
  while ((rc = hubc_query_iterator_next_contacts(&n, batch, 16, it)) == 0) {
    for (size_t i = 0; i < n; i++) {
      hubc_id id = hubc_contact_id(batch[i]);
      assert_true(ci_cmp(hubc_contact_prop(batch[i], "city"), "roma") == 0);
      assert_int_equal(m[id].has_city, 1);
      const char *sc = hubc_contact_prop(batch[i], "score");
      if (sc) {
        assert_false(unknown_seen); /* unknown values come last */
        assert_true(strtod(sc, NULL) <= last);
        last = strtod(sc, NULL);
      } else {
        unknown_seen = 1;
      }
      hubc_contact_free(batch[i]);
    }
    total += n;
  }
  assert_int_equal(rc, HUBC_ITEROVER);
  assert_int_equal(total, count);
  hubc_query_iterator_free(it);
  hubc_filter_free(f);
}

static void s1_sorted_iterator_skips_contacts_deleted_meanwhile(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 21, 10, 0, 0)};
  hubc_store *s = populate(&clk);
  hubc_query_options o = HUBC_QUERY_OPTIONS_INIT;
  o.sort_by = "city";
  hubc_query_iterator *it;
  ok(hubc_query_iterator_new(&it, s, NULL, &o));
  hubc_id first, id;
  ok(hubc_query_iterator_next(&first, it));
  for (hubc_id d = 1; d <= N; d += 2) ok(hubc_contact_delete(s, ADMIN, d));
  size_t n = 0;
  int rc;
  while ((rc = hubc_query_iterator_next(&id, it)) == 0) {
    assert_int_equal(id % 2, 0);
    assert_int_not_equal(id, first);
    n++;
  }
  assert_int_equal(rc, HUBC_ITEROVER);
  assert_int_equal(n, N / 2 - (first % 2 == 0)); /* every even id but the one already returned */
  hubc_query_iterator_free(it);
}

static void r4_query_calls_refuse_bad_arguments_and_cursors(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 21, 10, 0, 0)};
  hubc_store *s = populate(&clk);
  hubc_query_iterator *it = NULL;
  hubc_query_options o = HUBC_QUERY_OPTIONS_INIT;
  assert_int_equal(hubc_query_iterator_new(NULL, s, NULL, NULL), HUBC_EINVAL);
  assert_int_equal(hubc_query_iterator_new(&it, NULL, NULL, NULL), HUBC_EINVAL);
  o.version = 99;
  assert_int_equal(hubc_query_iterator_new(&it, s, NULL, &o), HUBC_EVERSION);
  assert_int_equal(hubc_query_options_init(&o, 99), HUBC_EVERSION);
  assert_int_equal(hubc_query_options_init(NULL, HUBC_QUERY_OPTIONS_VERSION), HUBC_EINVAL);
  ok(hubc_query_options_init(&o, HUBC_QUERY_OPTIONS_VERSION));
  o.descending = 2;
  assert_int_equal(hubc_query_iterator_new(&it, s, NULL, &o), HUBC_EINVAL);
  o.descending = 0;
  o.sort_by = "shoe_size";
  assert_int_equal(hubc_query_iterator_new(&it, s, NULL, &o), HUBC_ENOTFOUND);
  assert_non_null(strstr(hubc_error_last(), "'shoe_size'"));
  o.sort_by = "score";
  static const char *const bad[] = {"garbage", "q1:city:a:5:s61", "q1:score:d:5:n0000000000000000",
                                    "q1:score:a:0:-", "q1:score:a:5:i12", "q1:score:a:5:nzz", "q1:score:a:5:",
                                    "q1:score:a:99999999999999999999:-", "q1:score:a:5:n7ff8000000000000"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    o.cursor = bad[i];
    if (hubc_query_iterator_new(&it, s, NULL, &o) != HUBC_EINVAL) fail_msg("cursor '%s' was accepted", bad[i]);
    assert_non_null(strstr(hubc_error_last(), "cursor"));
    assert_null(it);
  }
  o.cursor = NULL;
  ok(hubc_query_iterator_new(&it, s, NULL, &o));
  hubc_id ids[4];
  size_t n;
  assert_int_equal(hubc_query_iterator_next_ids(NULL, ids, 4, it), HUBC_EINVAL);
  assert_int_equal(hubc_query_iterator_next_ids(&n, NULL, 4, it), HUBC_EINVAL);
  assert_int_equal(hubc_query_iterator_next_ids(&n, ids, 0, it), HUBC_EINVAL);
  assert_int_equal(hubc_query_iterator_next_ids(&n, ids, 4, NULL), HUBC_EINVAL);
  assert_int_equal(hubc_query_iterator_next_contacts(&n, NULL, 4, it), HUBC_EINVAL);
  assert_int_equal(hubc_query_iterator_next(NULL, it), HUBC_EINVAL);
  assert_null(hubc_query_iterator_cursor(NULL));
  assert_int_equal(hubc_error_last_code(), HUBC_EINVAL);
  assert_string_equal(hubc_query_iterator_cursor(it), ""); /* nothing returned yet */
  hubc_query_iterator_free(it);
  hubc_query_iterator_free(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(s1_sorted_results_follow_value_direction_unknown_last_ties_by_id, gc_teardown),
    cmocka_unit_test_teardown(s1_limit_and_cursor_page_through_the_same_order, gc_teardown),
    cmocka_unit_test_teardown(s1_cursor_is_stable_while_contacts_change, gc_teardown),
    cmocka_unit_test_teardown(s1_snapshots_in_batches, gc_teardown),
    cmocka_unit_test_teardown(s1_sorted_iterator_skips_contacts_deleted_meanwhile, gc_teardown),
    cmocka_unit_test_teardown(r4_query_calls_refuse_bad_arguments_and_cursors, gc_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
