/* How filters are evaluated on one contact (S1, S2): a contact's record is
 * decoded once and shared by every condition and by every active list a
 * change re-evaluates. These tests cover what that sharing must keep:
 * records with more fields than are kept decoded, conditions that read a
 * property before and after another in the same filter, views inside
 * filters, and active lists whose properties have grown new values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "query/watch.h" /* hubc__watch_check: a fresh evaluation of every active list */
#include "testutil.h"

#define ADMIN 1
#define N_PROPS 40 /* more than the fields a decoded contact keeps (HUBC__QROW_FIELDS) */

static void ok(int rc) {
  if (rc != 0) fail_msg("call failed: %d (%s)", rc, hubc_error_last());
}

static int matches(hubc_store *s, const char *text, hubc_id id) {
  hubc_filter *f = NULL;
  ok(hubc_filter_compile(&f, s, text));
  int m = -1;
  ok(hubc_filter_matches(&m, s, f, id));
  hubc_filter_free(f);
  return m;
}

static int has(hubc_store *s, hubc_id list, hubc_id c) {
  int in = -1;
  ok(hubc_list_contains(&in, s, list, c));
  return in;
}

/* Properties p00..p39 (strings); contact 1 holds every one (pNN = 'vNN'),
 * contact 2 only the even ones, contact 3 all but p39. */
static hubc_store *wide_store(tu_clock *clk) {
  hubc_store *s = gc_store(tu_open(clk, NULL));
  char names[N_PROPS + 1][8], values[N_PROPS + 1][8];
  const char *n[N_PROPS + 1], *v[N_PROPS + 1];
  n[0] = "email";
  for (int i = 0; i < N_PROPS; i++) {
    snprintf(names[i], sizeof names[i], "p%02d", i);
    snprintf(values[i], sizeof values[i], "v%02d", i);
    ok(hubc_property_define(s, ADMIN, names[i], NULL, HUBC_PROP_STRING, NULL, 0));
  }
  for (int c = 1; c <= 3; c++) {
    size_t k = 1;
    v[0] = c == 1 ? "all@example.com" : c == 2 ? "even@example.com" : "most@example.com";
    for (int i = 0; i < N_PROPS; i++)
      if (c == 1 || (c == 2 && i % 2 == 0) || (c == 3 && i < N_PROPS - 1)) n[k] = names[i], v[k++] = values[i];
    hubc_id id = 0;
    ok(hubc_contact_create(&id, s, ADMIN, NULL, n, v, k));
    assert_int_equal(id, c);
  }
  return s;
}

/* S1: a contact with more fields than a decoded record keeps matches on
 * every one of them, in any order within one filter. */
static void s1_conditions_read_every_field_of_a_wide_record(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  hubc_store *s = wide_store(&clk);
  char text[128];
  for (int i = 0; i < N_PROPS; i++) {
    snprintf(text, sizeof text, "p%02d = 'V%02d'", i, i);
    assert_int_equal(matches(s, text, 1), 1);
    assert_int_equal(matches(s, text, 2), i % 2 == 0);
    snprintf(text, sizeof text, "p%02d IS NOT KNOWN", i);
    assert_int_equal(matches(s, text, 2), i % 2 == 1);
  }
  /* past the decoded fields, back to the first, then in between */
  assert_int_equal(matches(s, "p39 = 'v39' AND p00 = 'v00' AND p35 = 'v35' AND p20 = 'v20'", 1), 1);
  assert_int_equal(matches(s, "p38 = 'v38' AND p00 = 'v00' AND p34 = 'v34' AND p39 IS NOT KNOWN", 2), 1);
  assert_int_equal(matches(s, "p39 = 'v39' OR p37 = 'v37' OR p01 = 'v01'", 2), 0);
  assert_int_equal(matches(s, "p36 != 'v3' AND p36 != 'v366' AND NOT p36 = 'x36'", 1), 1);
  /* a walk to the end (p39 is missing) leaves the later fields readable */
  assert_int_equal(matches(s, "p39 IS KNOWN OR p36 = 'v36'", 3), 1);
  assert_int_equal(matches(s, "p39 IS NOT KNOWN AND p35 = 'v35' AND p38 = 'v38'", 3), 1);
}

/* S2: active lists on a wide record follow changes of fields past the
 * decoded ones, and a view inside a list's filter reads the same record. */
static void s2_active_lists_follow_fields_past_the_decoded_ones(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  hubc_store *s = wide_store(&clk);
  ok(hubc_view_create(NULL, s, ADMIN, "late", "p38 = 'v38' AND p02 = 'v02'", NULL, 0));
  hubc_id a = 0, b = 0, c = 0;
  ok(hubc_list_create(&a, s, ADMIN, "late fields", "p39 = 'v39' AND p01 = 'v01'"));
  ok(hubc_list_create(&b, s, ADMIN, "via view", "IN VIEW 'late' AND p00 STARTS WITH 'V0'"));
  ok(hubc_list_create(&c, s, ADMIN, "mixed", "p37 IS KNOWN OR p04 = 'other'"));
  assert_int_equal(has(s, a, 1), 1);
  assert_int_equal(has(s, a, 2), 0);
  assert_int_equal(has(s, b, 1), 1);
  assert_int_equal(has(s, b, 2), 1);
  assert_int_equal(has(s, c, 2), 0);
  const char *n1[] = {"p39"}, *v1[] = {"changed"};
  ok(hubc_contact_update(s, ADMIN, 1, n1, v1, 1));
  assert_int_equal(has(s, a, 1), 0);
  const char *n2[] = {"p38", "p04"}, *v2[] = {"", "OTHER"};
  ok(hubc_contact_update(s, ADMIN, 2, n2, v2, 2));
  assert_int_equal(has(s, b, 2), 0);
  assert_int_equal(has(s, c, 2), 1);
  const char *n3[] = {"p39", "p01", "p38"}, *v3[] = {"v39", "v01", "v38"};
  ok(hubc_contact_update(s, ADMIN, 2, n3, v3, 3));
  assert_int_equal(has(s, a, 2), 1);
  assert_int_equal(has(s, b, 2), 1);
  ok(hubc__watch_check(s));
}

static void set_city(hubc_store *s, hubc_id id, const char *city) {
  const char *n[] = {"city"}, *v[] = {city};
  ok(hubc_contact_update(s, ADMIN, id, n, v, 1));
}

/* S2: active lists answer by the filter columns' codes; a value the
 * columns meet after the list was made (beyond the list's tables, and past
 * the point where the tables are redone) is judged like any other, and so
 * is a property whose column is built later by a count. */
static void s2_active_lists_judge_values_met_after_they_were_made(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  hubc_id c[4];
  const char *n[] = {"email", "city", "lifecyclestage"};
  for (int i = 0; i < 4; i++) {
    char email[32];
    snprintf(email, sizeof email, "c%d@example.com", i);
    const char *v[] = {email, i % 2 ? "Roma" : "Milano", "lead"};
    ok(hubc_contact_create(&c[i], s, ADMIN, NULL, n, v, 3));
  }
  hubc_id a = 0, b = 0;
  ok(hubc_list_create(&a, s, ADMIN, "Na or Roma", "city STARTS WITH 'na' OR city = 'Roma'"));
  ok(hubc_list_create(&b, s, ADMIN, "not Roma, lead", "NOT city = 'roma' AND lifecyclestage = 'lead'"));
  for (int i = 0; i < 300; i++) { /* 300 cities no list has seen */
    char city[32];
    snprintf(city, sizeof city, i % 3 ? "Town %d" : "NAPLES %d", i);
    hubc_id id = c[i % 4];
    set_city(s, id, city);
    assert_int_equal(has(s, a, id), i % 3 == 0);
    assert_int_equal(has(s, b, id), 1);
    if (i % 50 == 0) { /* a count builds the lifecyclestage column: the lists' tables are redone */
      hubc_filter *f = NULL;
      uint64_t got = 0;
      ok(hubc_filter_compile(&f, s, i % 100 ? "lifecyclestage = 'lead'" : "city = 'x'"));
      ok(hubc_filter_count(&got, s, f));
      hubc_filter_free(f);
    }
    if (i % 7 == 0) {
      const char *ln[] = {"lifecyclestage"}, *lv[] = {"customer"};
      ok(hubc_contact_update(s, ADMIN, id, ln, lv, 1));
      assert_int_equal(has(s, b, id), 0);
      lv[0] = "lead";
      ok(hubc_contact_update(s, ADMIN, id, ln, lv, 1));
    }
    ok(hubc__watch_check(s));
  }
  set_city(s, c[0], "ROMA");
  assert_int_equal(has(s, a, c[0]), 1);
  assert_int_equal(has(s, b, c[0]), 0);
  ok(hubc__watch_check(s));
}

/* S2: an enumeration's column (codes are options) and a string column
 * read in one walk of the changed record: setting, changing and clearing
 * either keeps the lists equal to a fresh evaluation. */
static void s2_active_lists_on_enumerations_and_strings_follow_each_change(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  const char *const tiers[] = {"bronze", "silver", "gold"};
  ok(hubc_property_define(s, ADMIN, "tier", NULL, HUBC_PROP_ENUMERATION, tiers, 3));
  ok(hubc_property_define(s, ADMIN, "zone", NULL, HUBC_PROP_STRING, NULL, 0));
  hubc_id c = 0, gold = 0, north = 0;
  const char *n[] = {"email", "city", "tier", "zone"}, *v[] = {"e@example.com", "Roma", "gold", "north"};
  ok(hubc_contact_create(&c, s, ADMIN, NULL, n, v, 4));
  ok(hubc_list_create(&gold, s, ADMIN, "gold", "tier = 'gold' AND city IS KNOWN"));
  ok(hubc_list_create(&north, s, ADMIN, "north", "zone = 'NORTH' OR tier IN ('bronze')"));
  assert_int_equal(has(s, gold, c), 1);
  assert_int_equal(has(s, north, c), 1);
  static const char *const steps[][3] = {{"Roma", "silver", "south"}, {"", "gold", "north"}, {"Milano", "", ""},
                                         {"Milano", "bronze", ""},   {"Roma", "gold", "North"}};
  static const int want[][2] = {{0, 0}, {0, 1}, {0, 0}, {0, 1}, {1, 1}};
  for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
    const char *un[] = {"city", "tier", "zone"};
    ok(hubc_contact_update(s, ADMIN, c, un, steps[i], 3));
    assert_int_equal(has(s, gold, c), want[i][0]);
    assert_int_equal(has(s, north, c), want[i][1]);
    ok(hubc__watch_check(s));
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(s1_conditions_read_every_field_of_a_wide_record, gc_teardown),
      cmocka_unit_test_teardown(s2_active_lists_follow_fields_past_the_decoded_ones, gc_teardown),
      cmocka_unit_test_teardown(s2_active_lists_judge_values_met_after_they_were_made, gc_teardown),
      cmocka_unit_test_teardown(s2_active_lists_on_enumerations_and_strings_follow_each_change, gc_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
