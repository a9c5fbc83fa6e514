/* Editing an active list's filter (S2): hubc_list_set_filter recomputes
 * the members in the call's transaction, the lists and views reading the
 * list follow, the same refusals as at creation (compile errors with their
 * position, a list reading itself directly or through views and lists),
 * persisted, undone on any persistence failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "query/watch.h" /* hubc__watch_check: every active list against a fresh evaluation */
#include "store/store.h" /* hubc__store_check */
#include "testutil.h"

#define ADMIN 1
#define T0 tu_time(2024, 3, 10, 12, 0, 0)

static hubc_id contact(hubc_store *s, const char *email, const char *city) {
  const char *n[] = {"email", "city"}, *v[] = {email, city};
  hubc_id id = 0;
  TU_OK(hubc_contact_create(&id, s, ADMIN, NULL, n, v, 2));
  return id;
}

static void set_city(hubc_store *s, hubc_id id, const char *city) {
  const char *n[] = {"city"}, *v[] = {city};
  TU_OK(hubc_contact_update(s, ADMIN, id, n, v, 1));
}

static int has(hubc_store *s, hubc_id list, hubc_id c) {
  int in = -1;
  TU_OK(hubc_list_contains(&in, s, list, c));
  return in;
}

static uint64_t count(hubc_store *s, hubc_id list) {
  uint64_t n = 0;
  TU_OK(hubc_list_count(&n, s, list));
  return n;
}

static uint64_t filter_count(hubc_store *s, const char *text) {
  hubc_filter *f = NULL;
  TU_OK(hubc_filter_compile(&f, s, text));
  uint64_t n = 0;
  TU_OK(hubc_filter_count(&n, s, f));
  hubc_filter_free(f);
  return n;
}

static void expect_fresh(hubc_store *s) {
  if (hubc__watch_check(s) != 0) fail_msg("active lists: %s", hubc_error_last());
  if (hubc__store_check(s) != 0) fail_msg("store: %s", hubc_error_last());
}

static void s2_set_filter_recomputes_members_and_readers_follow(void **state) {
  (void)state;
  tu_clock clk = {T0};
  hubc_store *s = tu_open_gc(&clk);
  hubc_id a = contact(s, "a@example.com", "Roma"), b = contact(s, "b@example.com", "Milano");
  hubc_id c = contact(s, "c@example.com", "Roma");
  hubc_id l = 0, reader = 0;
  TU_OK(hubc_list_create(&l, s, ADMIN, "Local", "city = 'Roma'"));
  char text[64];
  snprintf(text, sizeof text, "NOT IN LIST %lld", (long long)l);
  TU_OK(hubc_list_create(&reader, s, ADMIN, "Elsewhere", text));
  TU_OK(hubc_view_create(NULL, s, ADMIN, "Local view", text + 4, NULL, 0)); /* IN LIST l */
  assert_int_equal(count(s, l), 2);
  assert_int_equal(has(s, reader, b), 1);

  TU_OK(hubc_list_set_filter(s, ADMIN, l, "city = 'Milano'"));
  assert_int_equal(count(s, l), 1);
  assert_int_equal(has(s, l, b), 1);
  assert_int_equal(has(s, l, a), 0);
  assert_int_equal(count(s, reader), 2); /* a list reading it follows in the same call */
  assert_int_equal(has(s, reader, a), 1);
  assert_int_equal(has(s, reader, b), 0);
  assert_int_equal(filter_count(s, "IN VIEW 'Local view'"), 1); /* and a view */
  hubc_list *snap = NULL;
  TU_OK(hubc_list_get(&snap, s, l));
  assert_string_equal(hubc_list_filter(snap), "city = 'Milano'");
  assert_string_equal(hubc_list_name(snap), "Local");
  assert_int_equal(hubc_list_size(snap), 1);
  hubc_list_free(snap);
  expect_fresh(s);

  /* later changes follow the new filter, not the old one */
  set_city(s, c, "Milano");
  assert_int_equal(has(s, l, c), 1);
  assert_int_equal(has(s, reader, c), 0);
  set_city(s, b, "Roma");
  assert_int_equal(has(s, l, b), 0);
  assert_int_equal(has(s, reader, b), 1);
  expect_fresh(s);

  /* the new filter may read other lists and views (not itself) */
  hubc_id vip = 0;
  TU_OK(hubc_list_create(&vip, s, ADMIN, "VIP", NULL));
  TU_OK(hubc_list_add(NULL, s, ADMIN, vip, &a, 1));
  snprintf(text, sizeof text, "IN LIST %lld OR city = 'Milano'", (long long)vip);
  TU_OK(hubc_list_set_filter(s, ADMIN, l, text));
  assert_int_equal(count(s, l), 2); /* a (VIP), c (Milano) */
  assert_int_equal(has(s, reader, a), 0);
  TU_OK(hubc_list_remove(NULL, s, ADMIN, vip, &a, 1)); /* the dependency is registered: l, then reader follow */
  assert_int_equal(has(s, l, a), 0);
  assert_int_equal(has(s, reader, a), 1);
  expect_fresh(s);
}

/* The refusals of creation, each leaving the store as it was. */
/* A list reading the edited list is re-evaluated with the per-value
 * tables it kept; contacts holding values newer than those tables (the
 * column's dictionary grew since) are answered from their records, not
 * read past the tables (S2; an over-read gave them wrong memberships). */
static void s2_set_filter_readers_answer_values_newer_than_their_tables(void **state) {
  (void)state;
  tu_clock clk = {T0};
  hubc_store *s = tu_open_gc(&clk);
  contact(s, "a@example.com", "Roma");
  hubc_id b = contact(s, "b@example.com", "Milano");
  hubc_id l = 0, reader = 0;
  TU_OK(hubc_list_create(&l, s, ADMIN, "Local", "city = 'Roma'"));
  char text[96];
  snprintf(text, sizeof text, "city = 'Napoli' OR IN LIST %lld", (long long)l);
  TU_OK(hubc_list_create(&reader, s, ADMIN, "Reader", text));
  hubc_id newer[60];
  for (int i = 0; i < 60; i++) { /* 60 cities the reader's tables never saw */
    char email[32], city[16];
    snprintf(email, sizeof email, "n%d@example.com", i);
    snprintf(city, sizeof city, "Town %d", i);
    newer[i] = contact(s, email, city);
  }
  hubc_id napoli = contact(s, "z@example.com", "Napoli");
  TU_OK(hubc_list_set_filter(s, ADMIN, l, "city = 'Milano'"));
  expect_fresh(s);
  for (int i = 0; i < 60; i++) assert_int_equal(has(s, reader, newer[i]), 0);
  assert_int_equal(has(s, reader, b), 1);
  assert_int_equal(has(s, reader, napoli), 1);
  assert_int_equal(count(s, reader), filter_count(s, text));
}

static void s2_set_filter_refusals_change_nothing(void **state) {
  (void)state;
  tu_clock clk = {T0};
  hubc_store *s = tu_open_gc(&clk);
  contact(s, "a@example.com", "Roma");
  hubc_id l = 0, st = 0, other = 0, u = 0;
  TU_OK(hubc_list_create(&l, s, ADMIN, "Local", "city = 'Roma'"));
  TU_OK(hubc_list_create(&st, s, ADMIN, "Static", NULL));
  char self[64], via_list[64];
  snprintf(self, sizeof self, "city = 'x' OR IN LIST %lld", (long long)l);
  snprintf(via_list, sizeof via_list, "IN LIST %lld", (long long)l);
  TU_OK(hubc_list_create(&other, s, ADMIN, "Reader", via_list));
  TU_OK(hubc_view_create(NULL, s, ADMIN, "On local", via_list, NULL, 0));
  TU_OK(hubc_view_create(NULL, s, ADMIN, "Outer", "IN VIEW 'On local'", NULL, 0));
  TU_OK(hubc_user_create(&u, s, ADMIN, "reader@example.com"));
  TU_OK(hubc_user_set_permissions(s, ADMIN, u, HUBC_PERM_IMPORT));
  char *before = gc_dump(s);
  TU_BAD(HUBC_EINVAL, "byte 7", hubc_list_set_filter(s, ADMIN, l, "city = "));
  TU_SAME(s, before);
  TU_BAD(HUBC_ENOTFOUND, "town", hubc_list_set_filter(s, ADMIN, l, "town = 'x'"));
  TU_BAD(HUBC_EINVAL, "soon", hubc_list_set_filter(s, ADMIN, l, "createdate > 'soon'"));
  TU_BAD(HUBC_ENOTFOUND, "list 99", hubc_list_set_filter(s, ADMIN, l, "IN LIST 99"));
  TU_SAME(s, before);
  /* reading itself: directly, through a view, through views, through another list */
  TU_BAD(HUBC_EINVAL, "list 1 ('Local') would read itself", hubc_list_set_filter(s, ADMIN, l, self));
  TU_BAD(HUBC_EINVAL, "'Local') would read itself", hubc_list_set_filter(s, ADMIN, l, "IN VIEW 'On local'"));
  TU_BAD(HUBC_EINVAL, "'Local') would read itself", hubc_list_set_filter(s, ADMIN, l, "NOT IN VIEW 'outer'"));
  snprintf(self, sizeof self, "IN LIST %lld", (long long)other);
  TU_BAD(HUBC_EINVAL, "'Local') would read itself", hubc_list_set_filter(s, ADMIN, l, self));
  TU_SAME(s, before);
  /* not an active list, not a live list, no filter, no permission */
  TU_BAD(HUBC_EINVAL, "static", hubc_list_set_filter(s, ADMIN, st, "city = 'Roma'"));
  TU_BAD(HUBC_ENOTFOUND, "77", hubc_list_set_filter(s, ADMIN, 77, "city = 'Roma'"));
  TU_BAD(HUBC_EINVAL, "filter is NULL", hubc_list_set_filter(s, ADMIN, l, NULL));
  TU_BAD(HUBC_EPERM, "edit contacts", hubc_list_set_filter(s, u, l, "city = 'Milano'"));
  TU_BAD(HUBC_EPERM, "SYSTEM", hubc_list_set_filter(s, HUBC_SYSTEM, l, "city = 'Milano'"));
  TU_BAD(HUBC_EINVAL, "store", hubc_list_set_filter(NULL, ADMIN, l, "city = 'Milano'"));
  TU_SAME(s, before);
  /* a deleted list */
  hubc_id gone = 0;
  TU_OK(hubc_list_create(&gone, s, ADMIN, "Gone", "city = 'x'"));
  TU_OK(hubc_list_delete(s, ADMIN, gone));
  TU_BAD(HUBC_ENOTFOUND, "deleted", hubc_list_set_filter(s, ADMIN, gone, "city = 'Roma'"));
  /* a list it read before may be deleted once the filter no longer reads it */
  hubc_id vip = 0;
  TU_OK(hubc_list_create(&vip, s, ADMIN, "VIP", NULL));
  snprintf(self, sizeof self, "IN LIST %lld", (long long)vip);
  TU_OK(hubc_list_set_filter(s, ADMIN, l, self));
  TU_BAD(HUBC_EINVAL, "list 1 ('Local')", hubc_list_delete(s, ADMIN, vip));
  TU_OK(hubc_list_set_filter(s, ADMIN, l, "city = 'Roma'"));
  TU_OK(hubc_list_delete(s, ADMIN, vip));
  expect_fresh(s);
}

/* R2: a persistence failure at any callback leaves the store as it was
 * (members of the list and of its readers included); what commits is what
 * a reopen finds. */
static void s2_set_filter_persistence_failure_at_every_callback_changes_nothing(void **state) {
  (void)state;
  tu_clock clk = {T0};
  tu_mem *m = gc_mem();
  hubc_store *s = gc_store(tu_open(&clk, &m->vtable));
  for (int i = 0; i < 6; i++) {
    char e[32];
    snprintf(e, sizeof e, "p%d@example.com", i);
    contact(s, e, i % 2 ? "Roma" : "Milano");
  }
  hubc_id l = 0;
  TU_OK(hubc_list_create(&l, s, ADMIN, "Local", "city = 'Roma'"));
  char text[64];
  snprintf(text, sizeof text, "NOT IN LIST %lld", (long long)l);
  TU_OK(hubc_list_create(NULL, s, ADMIN, "Elsewhere", text));
  const char *filters[] = {"city = 'Milano'", "email STARTS WITH 'p1' OR email STARTS WITH 'p2'", "city IS KNOWN"};
  for (size_t i = 0; i < sizeof filters / sizeof *filters; i++) {
    int done = 0;
    for (long k = 1; k < 50 && !done; k++) {
      char *before = gc_dump(s);
      m->calls = 0, m->fail_at = k, m->fail_code = -1;
      int rc = hubc_list_set_filter(s, ADMIN, l, filters[i]);
      long failures = m->failures;
      m->fail_at = 0;
      if (rc == 0) {
        done = 1;
        break;
      }
      assert_true(failures > 0);
      tu_expect_rc(rc, HUBC_EPERSIST, filters[i]);
      tu_expect_dump(s, before, filters[i]);
      expect_fresh(s);
      gc_release(before);
    }
    if (!done) fail_msg("set filter '%s' never succeeded", filters[i]);
    expect_fresh(s);
    char *now = gc_dump(s);
    hubc_store *r = gc_store(tu_open(&clk, &m->vtable));
    tu_expect_dump(r, now, "reopened");
    expect_fresh(r);
    hubc_list *snap = NULL;
    TU_OK(hubc_list_get(&snap, r, l));
    assert_string_equal(hubc_list_filter(snap), filters[i]);
    hubc_list_free(snap);
    gc_release(r);
  }
}

/* Filter edits between random contact changes, some failing in
 * persistence: every active list equals a fresh evaluation throughout. */
static void s2_set_filter_among_random_changes_keeps_lists_fresh(void **state) {
  (void)state;
  tu_clock clk = {T0};
  tu_mem *m = gc_mem();
  hubc_store *s = gc_store(tu_open(&clk, &m->vtable));
  static const char *const cities[] = {"Roma", "Milano", "Napoli"};
  hubc_id ids[30];
  for (int i = 0; i < 30; i++) {
    char e[32];
    snprintf(e, sizeof e, "r%d@example.com", i);
    ids[i] = contact(s, e, cities[i % 3]);
  }
  hubc_id a = 0, b = 0, c = 0;
  TU_OK(hubc_list_create(&a, s, ADMIN, "A", "city = 'Roma'"));
  char t[128];
  snprintf(t, sizeof t, "IN LIST %lld OR city = 'Napoli'", (long long)a);
  TU_OK(hubc_list_create(&b, s, ADMIN, "B", t));
  TU_OK(hubc_view_create(NULL, s, ADMIN, "V", t, NULL, 0));
  TU_OK(hubc_list_create(&c, s, ADMIN, "C", "NOT IN VIEW 'V'"));
  const char *a_filters[] = {"city = 'Roma'", "city != 'Roma'", "email CONTAINS '1'", "city IN ('Milano', 'Napoli')"};
  uint64_t seed = 0x9e3779b97f4a7c15ULL;
  long failures = 0;
  for (int step = 0; step < 600; step++) {
    seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
    int fail = seed % 5 == 0;
    char *before = fail ? tu_dump(s) : NULL;
    if (fail) m->calls = 0, m->fail_at = (long)(seed >> 8) % 3 + 1, m->fail_code = -1;
    int rc;
    if (seed % 3 == 0) {
      rc = hubc_list_set_filter(s, ADMIN, a, a_filters[(seed >> 16) % 4]);
    } else {
      const char *n[] = {"city"}, *v[] = {cities[(seed >> 20) % 3]};
      rc = hubc_contact_update(s, ADMIN, ids[(seed >> 24) % 30], n, v, 1);
    }
    m->fail_at = 0;
    if (rc == HUBC_EPERSIST && fail) {
      failures++;
      tu_expect_dump(s, before, "a failed step");
    } else if (rc) {
      fail_msg("step %d: %d (%s)", step, rc, hubc_error_last());
    }
    free(before);
    if (hubc__watch_check(s) != 0) fail_msg("step %d: %s", step, hubc_error_last());
  }
  assert_true(failures > 0);
  char *now = gc_dump(s);
  hubc_store *r = gc_store(tu_open(&clk, &m->vtable));
  tu_expect_dump(r, now, "reopened");
  expect_fresh(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(s2_set_filter_recomputes_members_and_readers_follow, gc_teardown),
      cmocka_unit_test_teardown(s2_set_filter_readers_answer_values_newer_than_their_tables, gc_teardown),
      cmocka_unit_test_teardown(s2_set_filter_refusals_change_nothing, gc_teardown),
      cmocka_unit_test_teardown(s2_set_filter_persistence_failure_at_every_callback_changes_nothing, gc_teardown),
      cmocka_unit_test_teardown(s2_set_filter_among_random_changes_keeps_lists_fresh, gc_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
