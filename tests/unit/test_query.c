/* The filter language (S1): every operator and combination over a small
 * fixed store, typed comparisons, the marketing properties, errors that
 * name the byte position (parse) or the property/option (compile), the
 * nesting limit, bad arguments (R4) and allocation failure N. */
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

static void ok(int rc) {
  if (rc != 0) fail_msg("call failed: %d (%s): %s", rc, hubc_strerror(rc), hubc_error_last());
}

static void define(hubc_store *s, const char *name, int type) {
  ok(hubc_property_define(s, ADMIN, name, NULL, type, NULL, 0));
}

/* Contacts 1..6 (firstname, city, lifecyclestage, score, renewed_at, vip):
 *   1 Anna   Roma    subscriber  10    2024-03-01          true   marketing (MANUAL)
 *   2 Bruno  ROMA    lead        3.5   2024-03-01T12:00Z   false
 *   3 Carla  Milano  subscriber  -2    2023-12-31                 opted out
 *   4 Dario  Torino              3.50                             hard bounced, marketing then non (until update)
 *   5 Elena          customer    1e2   2025-01-01T00:00:00+02:00
 *   6 (no properties but the email)                                                         */
static hubc_store *fixture(tu_clock *clk) {
  hubc_store *s = gc_store(tu_open(clk, NULL));
  define(s, "score", HUBC_PROP_NUMBER);
  define(s, "renewed_at", HUBC_PROP_DATETIME);
  define(s, "vip", HUBC_PROP_BOOL);
  const char *const tiers[] = {"bronze", "silver", "gold"};
  ok(hubc_property_define(s, ADMIN, "tier", "Loyalty Tier", HUBC_PROP_ENUMERATION, tiers, 3));
  const char *names[] = {"email", "firstname", "city", "lifecyclestage", "score", "renewed_at", "vip",
                         "hs_email_optout", "hs_email_hard_bounced", "tier"};
  const char *rows[6][10] = {
    {"anna@example.com", "Anna", "Roma", "subscriber", "10", "2024-03-01", "true", "", "", "gold"},
    {"bruno@example.com", "Bruno", "ROMA", "lead", "3.5", "2024-03-01T12:00:00Z", "false", "", "", "bronze"},
    {"carla@example.it", "Carla", "Milano", "subscriber", "-2", "2023-12-31", "", "true", "", ""},
    {"dario@example.it", "Dario", "Torino", "", "3.50", "", "", "false", "true", ""},
    {"elena@example.com", "Elena", "", "customer", "1e2", "2025-01-01T00:00:00+02:00", "", "", "", "silver"},
    {"zed@example.org", "", "", "", "", "", "", "", "", ""},
  };
  for (int i = 0; i < 6; i++) {
    hubc_id id;
    ok(hubc_contact_create(&id, s, ADMIN, NULL, names, rows[i], 10));
    assert_int_equal(id, i + 1);
  }
  ok(hubc_contact_set_marketing(s, ADMIN, 1, HUBC_SOURCE_MANUAL, 1));
  ok(hubc_contact_set_marketing(s, ADMIN, 4, HUBC_SOURCE_MANUAL, 1));
  ok(hubc_contact_set_non_marketing(s, ADMIN, 4, HUBC_SOURCE_MANUAL, 1));
  return s;
}

/* The ids a filter selects as "1,2,…", checked three ways: the iterator,
 * hubc_filter_count and hubc_filter_matches for every contact. */
static const char *sel_(hubc_store *s, const char *text, int line) {
  static char out[256];
  hubc_filter *f = NULL;
  int rc = hubc_filter_compile(&f, s, text);
  if (rc) fail_msg("line %d: '%s' does not compile: %s", line, text, hubc_error_last());
  hubc_query_iterator *it = NULL;
  ok(hubc_query_iterator_new(&it, s, f, NULL));
  size_t used = 0, n = 0;
  hubc_id id;
  out[0] = '\0';
  while ((rc = hubc_query_iterator_next(&id, it)) == 0) {
    used += (size_t)snprintf(out + used, sizeof out - used, "%s%lld", n ? "," : "", (long long)id);
    n++;
  }
  assert_int_equal(rc, HUBC_ITEROVER);
  hubc_query_iterator_free(it);
  uint64_t count = 0;
  ok(hubc_filter_count(&count, s, f));
  if (count != n) fail_msg("line %d: '%s': count %llu, iterator %zu", line, text, (unsigned long long)count, n);
  size_t matched = 0;
  for (hubc_id c = 1; c <= 6; c++) {
    int m = -1;
    if (hubc_filter_matches(&m, s, f, c) == HUBC_ENOTFOUND) continue;
    matched += (size_t)m;
  }
  if (matched != n) fail_msg("line %d: '%s': matches %zu, iterator %zu", line, text, matched, n);
  hubc_filter_free(f);
  return out;
}
#define SEL(s, text) sel_((s), (text), __LINE__)

/* `text` must fail with `code` and a message holding each fragment. */
static void refused_(hubc_store *s, const char *text, int code, const char *frag1, const char *frag2, int line) {
  hubc_filter *f = (hubc_filter *)1;
  int rc = hubc_filter_compile(&f, s, text);
  const char *msg = hubc_error_last();
  if (rc != code)
    fail_msg("line %d: '%s' returned %d (%s), expected %d; message '%s'", line, text, rc, hubc_strerror(rc), code,
             msg);
  if (f != NULL) fail_msg("line %d: '%s': *out is not NULL after a failure", line, text);
  if (frag1 && !strstr(msg, frag1)) fail_msg("line %d: '%s': message '%s' lacks '%s'", line, text, msg, frag1);
  if (frag2 && !strstr(msg, frag2)) fail_msg("line %d: '%s': message '%s' lacks '%s'", line, text, msg, frag2);
}
#define REFUSED(s, text, code, f1, f2) refused_((s), (text), (code), (f1), (f2), __LINE__)

static void s1_string_equality_is_case_insensitive(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 21, 10, 0, 0)};
  hubc_store *s = fixture(&clk);
  assert_string_equal(SEL(s, "city = 'roma'"), "1,2");
  assert_string_equal(SEL(s, "CITY = 'RoMa'"), "1,2");
  assert_string_equal(SEL(s, "email = 'ANNA@EXAMPLE.COM'"), "1");
  assert_string_equal(SEL(s, "city = 'Rom'"), "");
  assert_string_equal(SEL(s, "city IN ('milano', 'TORINO', 'Napoli')"), "3,4");
  /* regression (fuzz_filter): an empty string wrote its terminator past the buffer */
  assert_string_equal(SEL(s, "city = ''"), "");
  assert_string_equal(SEL(s, "city != ''"), "1,2,3,4");
}

static void s1_comparisons_on_unknown_values_are_false(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 21, 10, 0, 0)};
  hubc_store *s = fixture(&clk);
  assert_string_equal(SEL(s, "city != 'Roma'"), "3,4");
  assert_string_equal(SEL(s, "city <> 'Roma'"), "3,4");
  assert_string_equal(SEL(s, "NOT city = 'Roma'"), "3,4,5,6"); /* NOT is the exact complement */
  assert_string_equal(SEL(s, "city NOT IN ('Roma', 'Milano')"), "4");
  assert_string_equal(SEL(s, "NOT city IN ('Roma', 'Milano')"), "4,5,6");
  assert_string_equal(SEL(s, "score < 1000 OR score >= 1000"), "1,2,3,4,5");
}

static void s1_numbers_compare_by_value(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 21, 10, 0, 0)};
  hubc_store *s = fixture(&clk);
  assert_string_equal(SEL(s, "score = 3.5"), "2,4"); /* 3.5 and 3.50 */
  assert_string_equal(SEL(s, "score = '3.500'"), "2,4");
  assert_string_equal(SEL(s, "score = '35e-1'"), "2,4");
  assert_string_equal(SEL(s, "score < .5 AND score > -2.0"), "");
  assert_string_equal(SEL(s, "score = 100"), "5"); /* 1e2 */
  assert_string_equal(SEL(s, "score > 3.5"), "1,5");
  assert_string_equal(SEL(s, "score >= 3.5"), "1,2,4,5");
  assert_string_equal(SEL(s, "score < 0"), "3");
  assert_string_equal(SEL(s, "score <= -2"), "3");
  assert_string_equal(SEL(s, "score > -1e1 AND score < +1.0E1"), "2,3,4");
  assert_string_equal(SEL(s, "score != 10"), "2,3,4,5");
  assert_string_equal(SEL(s, "score > 4"), "1,5"); /* by value, not text: "10" < "4" < "4e0" */
  assert_string_equal(SEL(s, "hs_object_id >= 5"), "5,6");
}

static void s1_datetimes_compare_by_value(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 21, 10, 0, 0)};
  hubc_store *s = fixture(&clk);
  assert_string_equal(SEL(s, "renewed_at = '2024-03-01T00:00:00Z'"), "1");
  assert_string_equal(SEL(s, "renewed_at = '2024-03-01T13:00:00+01:00'"), "2"); /* same instant as 12:00Z */
  assert_string_equal(SEL(s, "renewed_at > '2024-03-01'"), "2,5");
  assert_string_equal(SEL(s, "renewed_at < '2024-01-01'"), "3");
  assert_string_equal(SEL(s, "renewed_at <= '2024-12-31T22:00:00Z'"), "1,2,3,5"); /* 2025-01-01+02:00 */
  assert_string_equal(SEL(s, "createdate = '2024-03-21T10:00:00Z'"), "1,2,3,4,5,6");
  assert_string_equal(SEL(s, "createdate > '2024-03-21'"), "1,2,3,4,5,6");
}

static void s1_enumerations_compare_by_option(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 21, 10, 0, 0)};
  hubc_store *s = fixture(&clk);
  assert_string_equal(SEL(s, "lifecyclestage = 'SUBSCRIBER'"), "1,3");
  assert_string_equal(SEL(s, "lifecyclestage IN ('lead', 'customer')"), "2,5");
  assert_string_equal(SEL(s, "lifecyclestage != 'subscriber'"), "2,5");
  assert_string_equal(SEL(s, "\"Loyalty Tier\" >= 'silver'"), "1,5"); /* option order: bronze < silver < gold */
  assert_string_equal(SEL(s, "tier < 'gold'"), "2,5");
}

static void s1_contains_and_starts_with_ignore_case(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 21, 10, 0, 0)};
  hubc_store *s = fixture(&clk);
  assert_string_equal(SEL(s, "firstname CONTAINS 'AR'"), "3,4");
  assert_string_equal(SEL(s, "email CONTAINS '@example.it'"), "3,4");
  assert_string_equal(SEL(s, "email CONTAINS ''"), "1,2,3,4,5,6");
  assert_string_equal(SEL(s, "firstname STARTS WITH 'e'"), "5");
  assert_string_equal(SEL(s, "firstname starts with 'ANNA'"), "1");
  assert_string_equal(SEL(s, "firstname STARTS WITH 'Annabel'"), "");
  assert_string_equal(SEL(s, "city contains 'o'"), "1,2,3,4");
}

static void s1_is_known_and_is_not_known(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 21, 10, 0, 0)};
  hubc_store *s = fixture(&clk);
  assert_string_equal(SEL(s, "city IS KNOWN"), "1,2,3,4");
  assert_string_equal(SEL(s, "city IS NOT KNOWN"), "5,6");
  assert_string_equal(SEL(s, "vip IS KNOWN"), "1,2");
  assert_string_equal(SEL(s, "lifecyclestage is not known"), "4,6");
  assert_string_equal(SEL(s, "hs_object_id IS KNOWN"), "1,2,3,4,5,6");
  assert_string_equal(SEL(s, "hs_marketable_reason_type IS KNOWN"), "1,4");
}

static void s1_and_or_not_and_parentheses(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 21, 10, 0, 0)};
  hubc_store *s = fixture(&clk);
  /* AND binds tighter than OR */
  assert_string_equal(SEL(s, "city = 'Milano' OR city = 'Roma' AND score > 5"), "1,3");
  assert_string_equal(SEL(s, "(city = 'Milano' OR city = 'Roma') AND score > 5"), "1");
  assert_string_equal(SEL(s, "NOT (city = 'Roma' OR city IS NOT KNOWN)"), "3,4");
  assert_string_equal(SEL(s, "NOT NOT city = 'Roma'"), "1,2");
  assert_string_equal(SEL(s, "lifecyclestage = 'subscriber' AND (city = 'Roma' OR score < 0)"), "1,3");
  assert_string_equal(SEL(s, "((((city = 'Torino'))))"), "4");
  assert_string_equal(SEL(s, "city='Roma'AND(score>5)"), "1"); /* no white space needed */
  assert_string_equal(SEL(s, " \t\r\n city = 'Roma' \n"), "1,2");
}

static void s1_marketing_and_consent_properties_filter_like_any_other(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 21, 10, 0, 0)};
  hubc_store *s = fixture(&clk);
  assert_string_equal(SEL(s, "hs_marketable_status = TRUE"), "1,4");
  assert_string_equal(SEL(s, "hs_marketable_status = 'false'"), "2,3,5,6");
  assert_string_equal(SEL(s, "hs_marketable_until_renewal = true"), "4");
  assert_string_equal(SEL(s, "hs_marketable_reason_type = 'manual'"), "1,4");
  assert_string_equal(SEL(s, "hs_marketable_reason_id = '1'"), "1,4"); /* the acting user */
  assert_string_equal(SEL(s, "hs_email_optout = TRUE"), "3");
  assert_string_equal(SEL(s, "hs_email_optout = FALSE"), "4");
  assert_string_equal(SEL(s, "hs_email_hard_bounced = true"), "4");
  /* the M8 "billable but unreachable" question as a filter */
  assert_string_equal(SEL(s, "hs_marketable_status = true AND (hs_email_optout = true OR hs_email_hard_bounced = true)"),
                      "4");
}

static void s1_filters_follow_changes_and_deletions(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 21, 10, 0, 0)};
  hubc_store *s = fixture(&clk);
  hubc_filter *f;
  ok(hubc_filter_compile(&f, s, "city = 'Roma'"));
  uint64_t n = 0;
  ok(hubc_filter_count(&n, s, f));
  assert_int_equal(n, 2);
  const char *names[] = {"city"}, *values[] = {"roma"};
  ok(hubc_contact_update(s, ADMIN, 3, names, values, 1));
  ok(hubc_contact_delete(s, ADMIN, 1));
  ok(hubc_filter_count(&n, s, f));
  assert_int_equal(n, 2); /* 2 and 3 */
  int m = -1;
  assert_int_equal(hubc_filter_matches(&m, s, f, 1), HUBC_ENOTFOUND); /* C7 */
  assert_non_null(strstr(hubc_error_last(), "1"));
  ok(hubc_filter_matches(&m, s, f, 3));
  assert_int_equal(m, 1);
  /* a property defined after the filter was compiled does not disturb it */
  define(s, "later", HUBC_PROP_STRING);
  ok(hubc_filter_count(&n, s, f));
  assert_int_equal(n, 2);
  hubc_filter_free(f);
}

/* ---- errors ------------------------------------------------------------- */

static void s1_parse_errors_name_position_found_and_expected(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 21, 10, 0, 0)};
  hubc_store *s = fixture(&clk);
  REFUSED(s, "", HUBC_EINVAL, "byte 0", "empty");
  REFUSED(s, "   ", HUBC_EINVAL, "byte 0", "empty");
  REFUSED(s, "city 'Roma'", HUBC_EINVAL, "byte 5: expected an operator", "found ''Roma''");
  REFUSED(s, "city = ", HUBC_EINVAL, "byte 7: expected a value", "found the end of the filter");
  REFUSED(s, "city = 'Roma", HUBC_EINVAL, "closing '", "opened at byte 7");
  REFUSED(s, "city = 'Roma' AND", HUBC_EINVAL, "byte 17", "found the end of the filter");
  REFUSED(s, "city = 'Roma' city = 'x'", HUBC_EINVAL, "byte 14: expected AND, OR or the end", "found 'city'");
  REFUSED(s, "(city = 'Roma'", HUBC_EINVAL, "byte 14: expected ')' to close the '(' at byte 0", "end of the filter");
  REFUSED(s, "city = 'Roma')", HUBC_EINVAL, "byte 13", "closes nothing");
  REFUSED(s, "= 'Roma'", HUBC_EINVAL, "byte 0: expected a property name", "found '='");
  REFUSED(s, "city IN 'Roma'", HUBC_EINVAL, "byte 8: expected '('", "found ''Roma''");
  REFUSED(s, "city IN ('Roma' 'Milano')", HUBC_EINVAL, "byte 16: expected ',' or ')'", "found ''Milano''");
  REFUSED(s, "city IN ()", HUBC_EINVAL, "byte 9: expected a value", "found ')'");
  REFUSED(s, "city IS 'x'", HUBC_EINVAL, "byte 8: expected KNOWN or NOT KNOWN", NULL);
  REFUSED(s, "city STARTS 'R'", HUBC_EINVAL, "byte 12: expected WITH", NULL);
  REFUSED(s, "city CONTAINS 5", HUBC_EINVAL, "byte 14: expected a 'string'", "found '5'");
  REFUSED(s, "city = 'Roma' & score > 1", HUBC_EINVAL, "byte 14: unexpected character '&'", NULL);
  REFUSED(s, "score > 1.2.3", HUBC_EINVAL, "byte 8: expected a number", "1.2.3");
  REFUSED(s, "score > 12abc", HUBC_EINVAL, "byte 8", "12abc");
  REFUSED(s, "IN LIST x", HUBC_EINVAL, "byte 8: expected a list id", NULL);
  REFUSED(s, "IN LIST 0", HUBC_EINVAL, "byte 8: expected a list id", NULL);
  REFUSED(s, "IN VIEW Roma", HUBC_EINVAL, "byte 8: expected a view name", NULL);
  REFUSED(s, "IN city", HUBC_EINVAL, "byte 3: expected LIST or VIEW", NULL);
  REFUSED(s, "city = 'Roma' OR \xff", HUBC_EINVAL, "byte 17: invalid UTF-8", NULL);
  REFUSED(s, "city = 'Ro\xc3\x28ma'", HUBC_EINVAL, "byte 10: invalid UTF-8", NULL); /* inside a string too */
  REFUSED(s, "city = '\xed\xa0\x80'", HUBC_EINVAL, "byte 8: invalid UTF-8", NULL);    /* a surrogate */
  REFUSED(s, "\"city = 'Roma'", HUBC_EINVAL, "closing \"", "opened at byte 0");
  /* a long token is cut in the message, on a character boundary */
  REFUSED(s, "city 'àààààààààààààààààààààààààààààààààààààààààààààààààààà'", HUBC_EINVAL, "byte 5", "…");
}

static void s1_unknown_property_or_option_is_named(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 21, 10, 0, 0)};
  hubc_store *s = fixture(&clk);
  REFUSED(s, "city = 'Roma' AND shoe_size > 40", HUBC_ENOTFOUND, "byte 18", "property 'shoe_size' does not exist");
  REFUSED(s, "lifecyclestage = 'prospect'", HUBC_ENOTFOUND, "'prospect' is not an option of property 'lifecyclestage'",
          "subscriber, lead");
  REFUSED(s, "tier IN ('gold', 'platinum')", HUBC_ENOTFOUND, "byte 17", "'platinum'");
  REFUSED(s, "\"No Such Label\" IS KNOWN", HUBC_ENOTFOUND, "'No Such Label'", NULL);
}

static void s1_type_mismatch_is_a_compile_error(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 21, 10, 0, 0)};
  hubc_store *s = fixture(&clk);
  REFUSED(s, "createdate > 'soon'", HUBC_EINVAL, "byte 13", "'soon'");
  REFUSED(s, "createdate > 'soon'", HUBC_EINVAL, "datetime", NULL);
  REFUSED(s, "renewed_at = 20240301", HUBC_EINVAL, "ISO-8601", NULL);
  REFUSED(s, "score = 'ten'", HUBC_EINVAL, "'ten' is not a number value", NULL);
  REFUSED(s, "score = TRUE", HUBC_EINVAL, "TRUE is not a number value", NULL);
  REFUSED(s, "vip = 'yes'", HUBC_EINVAL, "'yes' is not a bool value", NULL);
  REFUSED(s, "vip < TRUE", HUBC_EINVAL, "'<' does not apply to bool property 'vip'", NULL);
  REFUSED(s, "city = 5", HUBC_EINVAL, "property 'city' is a string", NULL);
  REFUSED(s, "city IN ('Roma', 5)", HUBC_EINVAL, "byte 17", "property 'city' is a string");
  REFUSED(s, "score CONTAINS '1'", HUBC_EINVAL, "CONTAINS applies to string properties", "'score' is a number");
  REFUSED(s, "lifecyclestage STARTS WITH 'sub'", HUBC_EINVAL, "STARTS WITH", "enumeration");
  REFUSED(s, "hs_marketable_status = 'maybe'", HUBC_EINVAL, "'maybe'", NULL);
}

static void s1_in_list_and_in_view_name_a_missing_list_or_view(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 21, 10, 0, 0)};
  hubc_store *s = fixture(&clk);
  REFUSED(s, "city = 'Roma' AND IN LIST 4", HUBC_ENOTFOUND, "byte 18: list 4 does not exist", NULL);
  REFUSED(s, "NOT IN VIEW 'Subscribers in Rome'", HUBC_ENOTFOUND, "view 'Subscribers in Rome' does not exist", NULL);
}

static char *repeat(const char *head, const char *unit, size_t times, const char *tail) {
  size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
  char *t = gc_malloc(malloc(hl + ul * times + tl + 1));
  memcpy(t, head, hl);
  for (size_t i = 0; i < times; i++) memcpy(t + hl + i * ul, unit, ul);
  memcpy(t + hl + ul * times, tail, tl + 1);
  return t;
}

static void s1_nesting_depth_is_limited(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 21, 10, 0, 0)};
  hubc_store *s = fixture(&clk);
  /* 64 levels are fine; the 65th is refused at its byte */
  char *deep = repeat(repeat("", "(", HUBC_FILTER_MAX_DEPTH, "city = 'Roma'"), ")", HUBC_FILTER_MAX_DEPTH, "");
  assert_string_equal(SEL(s, deep), "1,2");
  char *deeper = repeat(repeat("", "(", HUBC_FILTER_MAX_DEPTH + 1, "city = 'Roma'"), ")", HUBC_FILTER_MAX_DEPTH + 1, "");
  REFUSED(s, deeper, HUBC_ELIMIT, "byte 64: nested more than 64 deep", NULL);
  char *nots = repeat("", "NOT ", HUBC_FILTER_MAX_DEPTH + 1, "city = 'Roma'");
  REFUSED(s, nots, HUBC_ELIMIT, "byte 256", "64");
  /* far past the limit: refused, not a stack overflow */
  REFUSED(s, repeat("", "(", 500000, ""), HUBC_ELIMIT, "nested more than 64", NULL);
  REFUSED(s, repeat("", "NOT ", 200000, "x"), HUBC_ELIMIT, "nested more than 64", NULL);
  /* AND / OR chains are not nesting: any length */
  char *chain = repeat("city = 'Roma'", " OR score = 1 AND vip = true", 20000, "");
  assert_string_equal(SEL(s, chain), "1,2");
}

static void s1_text_length_is_limited(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 21, 10, 0, 0)};
  hubc_store *s = fixture(&clk);
  char *big = repeat("city = '", "x", HUBC_FILTER_MAX_BYTES, "'");
  REFUSED(s, big, HUBC_ELIMIT, "longer than 1048576 bytes", NULL);
  char *fits = repeat("city = '", "x", HUBC_FILTER_MAX_BYTES - 9, "'");
  assert_string_equal(SEL(s, fits), "");
}

static void s1_quotes_doubled_and_labels_in_double_quotes(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 21, 10, 0, 0)};
  hubc_store *s = fixture(&clk);
  const char *names[] = {"company"}, *values[] = {"O'Brien \"&\" Sons"};
  ok(hubc_contact_update(s, ADMIN, 6, names, values, 1));
  assert_string_equal(SEL(s, "company = 'o''brien \"&\" sons'"), "6");
  assert_string_equal(SEL(s, "\"Company Name\" CONTAINS '\"&\"'"), "6");
  assert_string_equal(SEL(s, "\"First Name\" = 'anna'"), "1");
  assert_string_equal(SEL(s, "FirstName = 'anna'"), "1"); /* names are case-insensitive too */
}

/* ---- arguments (R4) ----------------------------------------------------- */

static void r4_filter_calls_refuse_null_and_foreign_filters(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 21, 10, 0, 0)};
  hubc_store *s = fixture(&clk);
  hubc_store *other = gc_store(tu_open(&clk, NULL));
  hubc_filter *f = NULL, *g = NULL;
  assert_int_equal(hubc_filter_compile(NULL, s, "city = 'Roma'"), HUBC_EINVAL);
  assert_int_equal(hubc_filter_compile(&f, NULL, "city = 'Roma'"), HUBC_EINVAL);
  assert_int_equal(hubc_filter_compile(&f, s, NULL), HUBC_EINVAL);
  assert_null(f);
  ok(hubc_filter_compile(&f, s, "city = 'Roma'"));
  ok(hubc_filter_compile(&g, other, "city = 'Roma'"));
  uint64_t n;
  int m;
  assert_int_equal(hubc_filter_count(NULL, s, f), HUBC_EINVAL);
  assert_int_equal(hubc_filter_count(&n, NULL, f), HUBC_EINVAL);
  assert_int_equal(hubc_filter_count(&n, s, NULL), HUBC_EINVAL);
  assert_int_equal(hubc_filter_count(&n, s, g), HUBC_EINVAL);
  assert_non_null(strstr(hubc_error_last(), "another store"));
  assert_int_equal(hubc_filter_matches(&m, s, g, 1), HUBC_EINVAL);
  assert_int_equal(hubc_filter_matches(NULL, s, f, 1), HUBC_EINVAL);
  assert_int_equal(hubc_filter_matches(&m, s, f, 0), HUBC_ENOTFOUND);
  assert_int_equal(hubc_filter_matches(&m, s, f, -5), HUBC_ENOTFOUND);
  assert_int_equal(hubc_filter_matches(&m, s, f, INT64_MAX), HUBC_ENOTFOUND);
  hubc_query_iterator *it = NULL;
  assert_int_equal(hubc_query_iterator_new(&it, s, g, NULL), HUBC_EINVAL);
  assert_null(it);
  hubc_filter_free(NULL);
  hubc_filter_free(g);
  hubc_filter_free(f);
}

/* A filter and an iterator may outlive their store: advancing is then
 * EINVAL, freeing is safe. */
static void r4_filter_and_iterator_outlive_the_store(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 21, 10, 0, 0)};
  hubc_store *s = tu_open(&clk, NULL);
  tu_contact(s, ADMIN, "a@example.com", "A");
  hubc_filter *f;
  hubc_query_iterator *it;
  ok(hubc_filter_compile(&f, s, "firstname = 'a'"));
  ok(hubc_query_iterator_new(&it, s, f, NULL));
  hubc_filter_free(f); /* the iterator keeps what it needs */
  hubc_id id;
  ok(hubc_query_iterator_next(&id, it));
  assert_int_equal(id, 1);
  hubc_store_close(s);
  assert_int_equal(hubc_query_iterator_next(&id, it), HUBC_EINVAL); /* closed: an error, not a crash */
  hubc_query_iterator_free(it);
}

static void r2_compile_survives_allocation_failure_n(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 21, 10, 0, 0)};
  const char *text = "(city = 'Roma' OR city IN ('Milano', 'Torino')) AND NOT firstname CONTAINS 'x' "
                     "AND score >= 1.5 AND lifecyclestage IS KNOWN";
  int succeeded = 0;
  for (size_t n = 1; n < 200 && !succeeded; n++) {
    tu_alloc a = {0};
    hubc_store *s = tu_open_alloc(&clk, &a, NULL);
    define(s, "score", HUBC_PROP_NUMBER);
    tu_contact(s, ADMIN, "a@example.com", "Anna");
    a.fail_at = a.count + n;
    hubc_filter *f = NULL;
    int rc = hubc_filter_compile(&f, s, text);
    if (rc == 0) {
      succeeded = 1;
      uint64_t c = 99;
      a.fail_at = 0;
      ok(hubc_filter_count(&c, s, f));
      assert_int_equal(c, 0);
      hubc_filter_free(f);
    } else {
      assert_int_equal(rc, HUBC_ENOMEM);
      assert_null(f);
    }
    hubc_store_close(s);
    assert_int_equal(a.live, 0); /* nothing leaked */
  }
  assert_true(succeeded);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(s1_string_equality_is_case_insensitive, gc_teardown),
    cmocka_unit_test_teardown(s1_comparisons_on_unknown_values_are_false, gc_teardown),
    cmocka_unit_test_teardown(s1_numbers_compare_by_value, gc_teardown),
    cmocka_unit_test_teardown(s1_datetimes_compare_by_value, gc_teardown),
    cmocka_unit_test_teardown(s1_enumerations_compare_by_option, gc_teardown),
    cmocka_unit_test_teardown(s1_contains_and_starts_with_ignore_case, gc_teardown),
    cmocka_unit_test_teardown(s1_is_known_and_is_not_known, gc_teardown),
    cmocka_unit_test_teardown(s1_and_or_not_and_parentheses, gc_teardown),
    cmocka_unit_test_teardown(s1_marketing_and_consent_properties_filter_like_any_other, gc_teardown),
    cmocka_unit_test_teardown(s1_filters_follow_changes_and_deletions, gc_teardown),
    cmocka_unit_test_teardown(s1_parse_errors_name_position_found_and_expected, gc_teardown),
    cmocka_unit_test_teardown(s1_unknown_property_or_option_is_named, gc_teardown),
    cmocka_unit_test_teardown(s1_type_mismatch_is_a_compile_error, gc_teardown),
    cmocka_unit_test_teardown(s1_in_list_and_in_view_name_a_missing_list_or_view, gc_teardown),
    cmocka_unit_test_teardown(s1_nesting_depth_is_limited, gc_teardown),
    cmocka_unit_test_teardown(s1_text_length_is_limited, gc_teardown),
    cmocka_unit_test_teardown(s1_quotes_doubled_and_labels_in_double_quotes, gc_teardown),
    cmocka_unit_test_teardown(r4_filter_calls_refuse_null_and_foreign_filters, gc_teardown),
    cmocka_unit_test_teardown(r4_filter_and_iterator_outlive_the_store, gc_teardown),
    cmocka_unit_test_teardown(r2_compile_survives_allocation_failure_n, gc_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
