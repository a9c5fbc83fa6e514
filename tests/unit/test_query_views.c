/* A saved view's contacts in its saved order (S3: a view is named filters
 * plus a sort): hubc_query_options version 2 names the view; ties by id,
 * contacts without a value last, limit, and a cursor that stays stable
 * while contacts change. Version 1 options are still read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

#define ADMIN 1
#define T0 tu_time(2024, 3, 10, 12, 0, 0)

/* ids 1..8: firstname (NULL: none), city */
static const char *const people[][2] = {{"Bea", "Roma"},  {"anna", "Roma"}, {NULL, "Roma"},    {"Carla", "Milano"},
                                        {"bea", "Roma"},  {"Anna", "Roma"}, {NULL, "Roma"},    {"Dario", "Roma"}};

static hubc_id person(hubc_store *s, const char *firstname, const char *city) {
  static int n;
  char email[40];
  snprintf(email, sizeof email, "p%d@example.com", ++n);
  const char *names[] = {"email", "city", "firstname"}, *values[] = {email, city, firstname};
  hubc_id id = 0;
  TU_OK(hubc_contact_create(&id, s, ADMIN, NULL, names, values, firstname ? 3 : 2));
  return id;
}

static hubc_store *populate(tu_clock *clk) {
  hubc_store *s = tu_open_gc(clk);
  for (size_t i = 0; i < sizeof people / sizeof *people; i++)
    assert_int_equal(person(s, people[i][0], people[i][1]), (hubc_id)i + 1);
  return s;
}

static hubc_query_options view_opts(hubc_id view, uint64_t limit, const char *cursor) {
  hubc_query_options o = HUBC_QUERY_OPTIONS_INIT;
  o.view = view;
  o.limit = limit;
  o.cursor = cursor;
  return o;
}

/* Every id the iterator returns (cap per call), into out; returns how many. */
static size_t drain(hubc_query_iterator *it, hubc_id *out, size_t max, size_t cap) {
  size_t total = 0, n = 0;
  int rc;
  while ((rc = hubc_query_iterator_next_ids(&n, out + total, cap < max - total ? cap : max - total, it)) == 0)
    total += n;
  assert_int_equal(rc, HUBC_ITEROVER);
  return total;
}

static void expect_ids(const hubc_id *got, size_t n, const hubc_id *want, size_t n_want, const char *what) {
  int same = n == n_want;
  for (size_t i = 0; same && i < n; i++) same = got[i] == want[i];
  if (same) return;
  char g[256] = "", w[256] = "";
  for (size_t i = 0; i < n; i++) snprintf(g + strlen(g), sizeof g - strlen(g), " %lld", (long long)got[i]);
  for (size_t i = 0; i < n_want; i++) snprintf(w + strlen(w), sizeof w - strlen(w), " %lld", (long long)want[i]);
  fail_msg("%s: got%s, want%s", what, g, w);
}

/* Pages of `limit` through the view, each a new iterator from the last
 * page's cursor; returns how many ids in all. */
static size_t page_through(hubc_store *s, hubc_id view, uint64_t limit, hubc_id *out, size_t max) {
  char cursor[512] = "";
  size_t total = 0;
  for (;;) {
    hubc_query_options o = view_opts(view, limit, cursor);
    hubc_query_iterator *it = NULL;
    TU_OK(hubc_query_iterator_new(&it, s, NULL, &o));
    size_t n = drain(it, out + total, max - total, 2);
    assert_true(n <= limit);
    total += n;
    snprintf(cursor, sizeof cursor, "%s", hubc_query_iterator_cursor(it));
    hubc_query_iterator_free(it);
    if (n < limit) return total;
  }
}

static void s3_query_by_view_in_its_saved_order(void **state) {
  (void)state;
  tu_clock clk = {T0};
  hubc_store *s = populate(&clk);
  hubc_id asc = 0, desc = 0, by_id = 0;
  TU_OK(hubc_view_create(&asc, s, ADMIN, "Romans A-Z", "city = 'Roma'", "firstname", 0));
  TU_OK(hubc_view_create(&desc, s, ADMIN, "Romans Z-A", "city = 'Roma'", "First Name", 1)); /* a label */
  TU_OK(hubc_view_create(&by_id, s, ADMIN, "Romans newest", "city = 'Roma'", NULL, 1));
  /* case-insensitive values, ties by id ascending, no value last in both directions */
  const hubc_id want_asc[] = {2, 6, 1, 5, 8, 3, 7}, want_desc[] = {8, 1, 5, 2, 6, 3, 7}, want_id[] = {8, 7, 6, 5, 3, 2, 1};
  hubc_id got[16];
  for (uint64_t limit = 1; limit <= 8; limit++) {
    expect_ids(got, page_through(s, asc, limit, got, 16), want_asc, 7, "ascending, paged");
    expect_ids(got, page_through(s, desc, limit, got, 16), want_desc, 7, "descending, paged");
    expect_ids(got, page_through(s, by_id, limit, got, 16), want_id, 7, "record id descending, paged");
  }
  /* no limit, snapshots: the same order */
  hubc_query_options o = view_opts(desc, 0, NULL);
  hubc_query_iterator *it = NULL;
  TU_OK(hubc_query_iterator_new(&it, s, NULL, &o));
  hubc_contact *c[16];
  size_t n = 0;
  TU_OK(hubc_query_iterator_next_contacts(&n, c, 16, it));
  assert_int_equal(n, 7);
  for (size_t i = 0; i < n; i++) {
    got[i] = hubc_contact_id(c[i]);
    hubc_contact_free(c[i]);
  }
  expect_ids(got, n, want_desc, 7, "snapshots");
  hubc_query_iterator_free(it);
  /* what the filter IN VIEW with the view's sort spelled out gives */
  hubc_filter *f = NULL;
  TU_OK(hubc_filter_compile(&f, s, "IN VIEW 'Romans A-Z'"));
  hubc_query_options spelled = HUBC_QUERY_OPTIONS_INIT;
  spelled.sort_by = "firstname";
  TU_OK(hubc_query_iterator_new(&it, s, f, &spelled));
  expect_ids(got, drain(it, got, 16, 16), want_asc, 7, "IN VIEW spelled out");
  hubc_query_iterator_free(it);
  hubc_filter_free(f);
}

/* The cursor names the (value, id) of the last contact shown: deleting a
 * shown contact, creating one that sorts before the cursor and moving one
 * out of the view neither repeat nor skip any. */
static void s3_query_by_view_cursor_is_stable_while_contacts_change(void **state) {
  (void)state;
  tu_clock clk = {T0};
  hubc_store *s = populate(&clk);
  hubc_id v = 0;
  TU_OK(hubc_view_create(&v, s, ADMIN, "Romans", "city = 'Roma'", "firstname", 0));
  hubc_query_options o = view_opts(v, 3, NULL);
  hubc_query_iterator *it = NULL;
  TU_OK(hubc_query_iterator_new(&it, s, NULL, &o));
  hubc_id got[16];
  const hubc_id first[] = {2, 6, 1};
  expect_ids(got, drain(it, got, 16, 16), first, 3, "page 1");
  char cursor[512];
  snprintf(cursor, sizeof cursor, "%s", hubc_query_iterator_cursor(it));
  hubc_query_iterator_free(it);
  TU_OK(hubc_contact_delete(s, ADMIN, 2));                 /* shown */
  assert_int_equal(person(s, "Aaron", "Roma"), 9);         /* sorts before the cursor */
  const char *n[] = {"city"}, *val[] = {"Milano"};
  TU_OK(hubc_contact_update(s, ADMIN, 8, n, val, 1));      /* leaves the view */
  o = view_opts(v, 0, cursor);
  TU_OK(hubc_query_iterator_new(&it, s, NULL, &o));
  const hubc_id rest[] = {5, 3, 7};
  expect_ids(got, drain(it, got, 16, 1), rest, 3, "page 2 after changes");
  hubc_query_iterator_free(it);
}

/* A filter argument narrows the view; sort_by replaces its sort. */
static void s3_query_by_view_with_a_filter_and_another_sort(void **state) {
  (void)state;
  tu_clock clk = {T0};
  hubc_store *s = populate(&clk);
  hubc_id v = 0;
  TU_OK(hubc_view_create(&v, s, ADMIN, "Romans", "city = 'Roma'", "firstname", 1));
  hubc_filter *f = NULL;
  TU_OK(hubc_filter_compile(&f, s, "firstname STARTS WITH 'a' OR firstname = 'Carla' OR firstname IS NOT KNOWN"));
  hubc_query_options o = view_opts(v, 0, NULL);
  hubc_query_iterator *it = NULL;
  TU_OK(hubc_query_iterator_new(&it, s, f, &o));
  hubc_id got[16];
  const hubc_id both[] = {2, 6, 3, 7}; /* Carla (Milano) is not in the view */
  expect_ids(got, drain(it, got, 16, 16), both, 4, "filter and view");
  hubc_query_iterator_free(it);
  o.sort_by = "hs_object_id";
  o.descending = 1;
  TU_OK(hubc_query_iterator_new(&it, s, f, &o));
  const hubc_id by_id[] = {7, 6, 3, 2};
  expect_ids(got, drain(it, got, 16, 16), by_id, 4, "sort_by replaces the view's");
  hubc_query_iterator_free(it);
  hubc_filter_free(f);
}

/* The view is read when the iterator is created: updating or deleting it
 * later does not change a running iterator (in record-id order it reads
 * the contacts as it goes, with the view's filter as it was). */
static void s3_query_by_view_keeps_the_view_it_was_created_with(void **state) {
  (void)state;
  tu_clock clk = {T0};
  hubc_store *s = populate(&clk);
  hubc_id v = 0;
  TU_OK(hubc_view_create(&v, s, ADMIN, "Romans", "city = 'Roma'", NULL, 0));
  hubc_query_options o = view_opts(v, 0, NULL);
  hubc_query_iterator *it = NULL;
  TU_OK(hubc_query_iterator_new(&it, s, NULL, &o));
  hubc_id id = 0;
  TU_OK(hubc_query_iterator_next(&id, it));
  assert_int_equal(id, 1);
  TU_OK(hubc_view_update(s, ADMIN, v, "city = 'Milano'", NULL, 0));
  TU_OK(hubc_view_delete(s, ADMIN, v));
  hubc_id got[16];
  const hubc_id rest[] = {2, 3, 5, 6, 7, 8};
  expect_ids(got, drain(it, got, 16, 16), rest, 6, "after the view changed");
  hubc_query_iterator_free(it);
}

static void s3_query_by_view_refusals(void **state) {
  (void)state;
  tu_clock clk = {T0};
  hubc_store *s = populate(&clk);
  hubc_id v = 0, gone = 0;
  TU_OK(hubc_view_create(&v, s, ADMIN, "Romans", "city = 'Roma'", "firstname", 0));
  TU_OK(hubc_view_create(&gone, s, ADMIN, "Gone", "city = 'Roma'", NULL, 0));
  TU_OK(hubc_view_delete(s, ADMIN, gone));
  hubc_query_iterator *it = NULL;
  hubc_query_options o = view_opts(99, 0, NULL);
  TU_BAD(HUBC_ENOTFOUND, "no view with id 99", hubc_query_iterator_new(&it, s, NULL, &o));
  assert_null(it);
  o = view_opts(gone, 0, NULL);
  TU_BAD(HUBC_ENOTFOUND, "'Gone') was deleted", hubc_query_iterator_new(&it, s, NULL, &o));
  o = view_opts(v, 0, NULL);
  o.descending = 1;
  TU_BAD(HUBC_EINVAL, "descending without sort_by", hubc_query_iterator_new(&it, s, NULL, &o));
  /* a cursor of the view's old sort, after the view's sort changed */
  o = view_opts(v, 2, NULL);
  TU_OK(hubc_query_iterator_new(&it, s, NULL, &o));
  hubc_id got[4];
  assert_int_equal(drain(it, got, 4, 4), 2);
  char cursor[512];
  snprintf(cursor, sizeof cursor, "%s", hubc_query_iterator_cursor(it));
  hubc_query_iterator_free(it);
  it = NULL;
  TU_OK(hubc_view_update(s, ADMIN, v, NULL, "firstname", 1));
  o = view_opts(v, 2, cursor);
  TU_BAD(HUBC_EINVAL, "another sort", hubc_query_iterator_new(&it, s, NULL, &o));
  assert_null(it);
  /* a sort_by replacing the view's must exist */
  o = view_opts(v, 0, NULL);
  o.sort_by = "no_such_property";
  TU_BAD(HUBC_ENOTFOUND, "no_such_property", hubc_query_iterator_new(&it, s, NULL, &o));
}

/* A caller built against version 1 (no view field) still works, and
 * hubc_query_options_init of version 1 writes only version 1's bytes. */
static void s1_query_options_version_1_still_read(void **state) {
  (void)state;
  tu_clock clk = {T0};
  hubc_store *s = populate(&clk);
  struct {
    unsigned int version;
    const char *sort_by;
    int descending;
    uint64_t limit;
    const char *cursor;
    hubc_id after; /* where version 2's view is: not version 1's */
  } v1;
  memset(&v1, 0xab, sizeof v1);
  TU_OK(hubc_query_options_init((hubc_query_options *)(void *)&v1, 1));
  assert_int_equal(v1.version, 1);
  assert_null(v1.sort_by);
  assert_int_equal(v1.limit, 0);
  assert_int_equal((uint64_t)v1.after, 0xababababababababULL); /* untouched */
  v1.sort_by = "firstname";
  v1.limit = 3;
  hubc_query_iterator *it = NULL;
  TU_OK(hubc_query_iterator_new(&it, s, NULL, (const hubc_query_options *)(const void *)&v1));
  hubc_id got[4];
  const hubc_id want[] = {2, 6, 1};
  expect_ids(got, drain(it, got, 4, 4), want, 3, "version 1 options");
  hubc_query_iterator_free(it);
  hubc_query_options o;
  TU_BAD(HUBC_EVERSION, "versions 1 to 2", hubc_query_options_init(&o, 3));
  o.version = 0;
  TU_BAD(HUBC_EVERSION, "version 0", hubc_query_iterator_new(&it, s, NULL, &o));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(s3_query_by_view_in_its_saved_order, gc_teardown),
      cmocka_unit_test_teardown(s3_query_by_view_cursor_is_stable_while_contacts_change, gc_teardown),
      cmocka_unit_test_teardown(s3_query_by_view_with_a_filter_and_another_sort, gc_teardown),
      cmocka_unit_test_teardown(s3_query_by_view_keeps_the_view_it_was_created_with, gc_teardown),
      cmocka_unit_test_teardown(s3_query_by_view_refusals, gc_teardown),
      cmocka_unit_test_teardown(s1_query_options_version_1_still_read, gc_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
