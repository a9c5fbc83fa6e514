/* C4 ranges of typed values (issue 9 item 11): a number is what a double
 * holds (1e999 is refused like inf), a datetime lies in years 1 to 9999
 * UTC (year 0000 is refused). Values stored before these rules still load. */
#include <locale.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hubcontacts.h"
#include "testutil.h"
#include "util/text.h"

#define ADMIN ((hubc_id)1)

static hubc_store *open_typed(tu_clock *clk, const hubc_persist *p) {
  hubc_store *s = gc_store(tu_open(clk, p));
  assert_int_equal(hubc_property_define(s, ADMIN, "score", "Score", HUBC_PROP_NUMBER, NULL, 0), 0);
  assert_int_equal(hubc_property_define(s, ADMIN, "since", "Since", HUBC_PROP_DATETIME, NULL, 0), 0);
  return s;
}

/* Refused with EINVAL naming the property and `why`; the store unchanged. */
static void refused(hubc_store *s, const char *prop, const char *value, const char *why) {
  char *before = gc_dump(s);
  const char *n[] = {"email", prop};
  const char *v[] = {"x@example.com", value};
  hubc_id id = 0;
  int rc = hubc_contact_create(&id, s, ADMIN, NULL, n, v, 2);
  if (rc != HUBC_EINVAL || !strstr(hubc_error_last(), prop) || !strstr(hubc_error_last(), why))
    fail_msg("%s = '%s': rc %d, '%s' (want EINVAL naming %s and '%s')", prop, value, rc, hubc_error_last(), prop,
             why);
  char *after = gc_dump(s);
  assert_string_equal(before, after);
  gc_release(after);
  gc_release(before);
}

static void accepted(hubc_store *s, const char *prop, const char *value) {
  const char *n[] = {prop};
  const char *v[] = {value};
  hubc_id id = 0;
  int rc = hubc_contact_create(&id, s, ADMIN, NULL, n, v, 1);
  if (rc) fail_msg("%s = '%s' refused: %s", prop, value, hubc_error_last());
  assert_int_equal(hubc_contact_delete(s, ADMIN, id), 0);
}

static const char dbl_max[] =
    "179769313486231570814527423731704356798070567525844996598917476803157260780028538760589558632766878171540458"
    "953514382464234321326889464182768467546703537516986049910576551282076245490090389328944075868508455133942304"
    "583236903222948165808559332123348274797826204144723168738177180919299881250404026184124858368";

static void C4_a_number_beyond_the_largest_double_is_refused_like_inf(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  hubc_store *s = open_typed(&clk, NULL);
  const char *bad[] = {"1e999", "-1e999", "1e309", "1.8e308", "1.7976931348623158e308", "17976931348623158e292",
                       "0.00018e313", "1e9999"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    refused(s, "score", bad[i], "largest number");
    assert_int_equal(hubc__parse_number(bad[i]), -1);
  }
  char above[sizeof dbl_max + 8];
  snprintf(above, sizeof above, "%s", dbl_max);
  above[sizeof dbl_max - 2] = '9'; /* DBL_MAX + 1: 309 digits */
  refused(s, "score", above, "largest number");
  snprintf(above, sizeof above, "%s.5", dbl_max);
  refused(s, "score", above, "largest number");

  const char *good[] = {"1e308", "-1.7976931348623157e308", "1.7976931348623157e308", "17976931348623157e292",
                        "0.00017976931348623157e312", "1e-999", "-1e-9999", "0e9999", "0.000e999", "9.99e307"};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) accepted(s, "score", good[i]);
  accepted(s, "score", dbl_max);
  snprintf(above, sizeof above, "%s.000", dbl_max);
  accepted(s, "score", above);
  /* the grammar errors stay grammar errors */
  refused(s, "score", "inf", "not a number");
  assert_int_equal(hubc__parse_number("1e99999"), 0);
}

static void C4_a_datetime_outside_years_1_to_9999_is_refused(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  hubc_store *s = open_typed(&clk, NULL);
  const char *bad[] = {"0000-01-01", "0000-12-31T23:59:59Z", "0001-01-01T00:00:00+00:01",
                       "9999-12-31T23:59:59-00:01"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) refused(s, "since", bad[i], "years 1 to 9999");
  const char *good[] = {"0001-01-01", "0001-01-01T00:00:00Z", "0001-01-01T00:00:00-01:00", "9999-12-31",
                        "9999-12-31T23:59:59Z", "9999-12-31T23:00:00+01:00"};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) accepted(s, "since", good[i]);
  refused(s, "since", "2024-02-30", "not an ISO-8601");
}

/* Replaces the first `from` in the backend's committed bytes by `to` (same
 * length: the record's framing is untouched). */
static void patch_stored(tu_mem *m, const char *from, const char *to) {
  size_t n = strlen(from);
  assert_int_equal(strlen(to), n);
  for (size_t i = 0; i < m->n; i++)
    for (size_t k = 0; m->recs[i].bytes && k + n <= m->recs[i].len; k++)
      if (memcmp(m->recs[i].bytes + k, from, n) == 0) {
        memcpy(m->recs[i].bytes + k, to, n);
        return;
      }
  fail_msg("'%s' not stored", from);
}

static void C4_values_stored_before_the_range_rules_still_load(void **state) {
  (void)state;
  tu_mem *m = gc_mem();
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  hubc_store *s = open_typed(&clk, &m->vtable);
  const char *n[] = {"email", "score", "since"};
  const char *v[] = {"old@example.com", "1e300", "0001-06-01"};
  hubc_id id = 0;
  assert_int_equal(hubc_contact_create(&id, s, ADMIN, NULL, n, v, 3), 0);
  gc_release(s);
  patch_stored(m, "1e300", "1e999");
  patch_stored(m, "0001-06-01", "0000-06-01");
  s = NULL;
  hubc_store_options o;
  assert_int_equal(hubc_store_options_init(&o, HUBC_STORE_OPTIONS_VERSION), 0);
  o.clock = tu_clock_fn;
  o.clock_payload = &clk;
  o.persist = &m->vtable;
  int rc = hubc_store_open(&s, &o);
  if (rc) fail_msg("reopen: %s", hubc_error_last());
  gc_store(s);
  hubc_contact *c = NULL;
  assert_int_equal(hubc_contact_get(&c, s, id), 0);
  assert_string_equal(hubc_contact_prop(c, "score"), "1e999");
  assert_string_equal(hubc_contact_prop(c, "since"), "0000-06-01");
  hubc_contact_free(c);
}

/* Moved from the core review round (test_contact_regress.c). */
#define T0 tu_time(2024, 3, 21, 10, 0, 0)

/* ---- C4: the number grammar, independent of the locale ---------------- */

/* The exponent may have up to 4 digits; "1e9999" has them but is beyond
 * the largest double (like inf, issue 9 item 11: test_contact_values). */
static const char *const good_numbers[] = {"0",        "-12", "+3.5", ".5",    "5.",      "1e6",
                                           "1E-3",     "6.02e+23", "1.5",  "007", "-1e-9999", "1e308"};
/* "" is not a number either, but an empty value means "not set" (create
 * ignores it, update removes the property), so it never reaches the type
 * check through the public API. */
static const char *const bad_numbers[] = {"+",    "-",       ".",        "e5", "1e",    "1e+",  "1,5",
                                          "0x10", "inf",     "nan",      "-inf", "1e99999", "1e-10000", " 1", "1e9999",
                                          "1 ",   "1.5.2",   "--1",      "1e5.5", "\xef\xbc\x91" /* fullwidth 1 */};

static void check_numbers(hubc_store *s) {
  for (size_t i = 0; i < sizeof good_numbers / sizeof *good_numbers; i++) {
    const char *n[] = {"score"};
    const char *v[] = {good_numbers[i]};
    hubc_id id = 0;
    int rc = hubc_contact_create(&id, s, ADMIN, NULL, n, v, 1);
    if (rc) fail_msg("number '%s' refused: %d %s", good_numbers[i], rc, hubc_error_last());
    hubc_contact *c = NULL;
    TU_OK(hubc_contact_get(&c, s, id));
    const char *got = hubc_contact_prop(c, "score");
    int same = got && strcmp(got, good_numbers[i]) == 0;
    hubc_contact_free(c);
    if (!same) fail_msg("number '%s' not stored as given", good_numbers[i]);
    TU_OK(hubc_contact_delete(s, ADMIN, id));
  }
  hubc_id upd = tu_contact(s, ADMIN, "upd@example.com", "U");
  char *before = tu_dump(s);
  for (size_t i = 0; i < sizeof bad_numbers / sizeof *bad_numbers; i++) {
    const char *n[] = {"email", "score"};
    const char *v[] = {"num@example.com", bad_numbers[i]};
    hubc_id id = 0;
    tu_clear_err();
    int rc = hubc_contact_create(&id, s, ADMIN, NULL, n, v, 2);
    if (rc != HUBC_EINVAL || hubc_error_last_code() != HUBC_EINVAL || !strstr(hubc_error_last(), "score")) {
      free(before);
      fail_msg("create with number '%s': rc %d message '%s' (expected EINVAL naming 'score')", bad_numbers[i], rc,
               hubc_error_last());
    }
    tu_clear_err();
    rc = hubc_contact_update(s, ADMIN, upd, n + 1, v + 1, 1);
    if (rc != HUBC_EINVAL || hubc_error_last_code() != HUBC_EINVAL || !strstr(hubc_error_last(), "score")) {
      free(before);
      fail_msg("update with number '%s': rc %d message '%s' (expected EINVAL naming 'score')", bad_numbers[i], rc,
               hubc_error_last());
    }
  }
  char *after = tu_dump(s);
  int same = strcmp(before, after) == 0;
  free(before);
  free(after);
  if (!same) fail_msg("refused numbers changed the store");
  TU_OK(hubc_contact_delete(s, ADMIN, upd));
}

static void c4_number_grammar_without_strtod(void **state) {
  (void)state;
  tu_clock clk = {T0};
  hubc_store *s = tu_open_gc(&clk);
  TU_OK(hubc_property_define(s, ADMIN, "score", "Score", HUBC_PROP_NUMBER, NULL, 0));
  check_numbers(s);
}

static void restore_numeric_locale(void *saved) {
  setlocale(LC_NUMERIC, saved);
  free(saved);
}

/* A comma-decimal locale set by the host must not make "1.5" invalid (nor
 * "1,5" valid). */
static void c4_number_grammar_ignores_locale(void **state) {
  (void)state;
  static const char *const locales[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8", "C.UTF-8",
                                        "C.utf8"};
  const char *cur = setlocale(LC_NUMERIC, NULL);
  char *saved = strdup(cur ? cur : "C");
  assert_non_null(saved);
  const char *got = NULL;
  for (size_t i = 0; i < sizeof locales / sizeof *locales && !got; i++) got = setlocale(LC_NUMERIC, locales[i]);
  gc_defer(restore_numeric_locale, saved); /* restored even if an assertion fails */
  if (!got) {
    printf("note: no de_DE, fr_FR or C UTF-8 locale on this machine: the locale part is not run\n");
    return;
  }
  printf("note: LC_NUMERIC=%s, decimal point '%s'\n", got, localeconv()->decimal_point);
  tu_clock clk = {T0};
  hubc_store *s = tu_open_gc(&clk);
  TU_OK(hubc_property_define(s, ADMIN, "score", "Score", HUBC_PROP_NUMBER, NULL, 0));
  check_numbers(s); /* "1.5" accepted, "1,5" refused */
}

/* A plain UTF-8 decoder, byte by byte: the reference for the library's
 * word-at-a-time check (C2: values are UTF-8; NUL is refused). */
static int utf8_reference(const unsigned char *s, size_t len) {
  for (size_t i = 0; i < len;) {
    unsigned c = s[i], n, min;
    if (c == 0) return 0;
    if (c < 0x80) { i++; continue; }
    if (c >= 0xC2 && c <= 0xDF) { n = 1; min = 0x80; c &= 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 2; min = 0x800; c &= 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 3; min = 0x10000; c &= 0x07; }
    else return 0;
    if (i + n >= len) return 0;
    for (unsigned k = 1; k <= n; k++) {
      if ((s[i + k] & 0xC0) != 0x80) return 0;
      c = (c << 6) | (s[i + k] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
    i += n + 1;
  }
  return 1;
}

/* Every length up to 40 with one special sequence (a 2-, 3- or 4-byte
 * character, a NUL, a stray continuation byte, a cut or overlong
 * sequence, a surrogate) at every position of an ASCII string: the same
 * answer as the reference, whichever part (words, the tail, bytes) looks. */
static void C2_utf8_check_matches_a_bytewise_decoder_at_every_position(void **state) {
  (void)state;
  static const char *const special[] = {"\xc3\xad", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\0", "\x80",
                                        "\xc3", "\xe2\x82", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80"};
  static const size_t special_len[] = {2, 3, 4, 1, 1, 1, 2, 2, 3, 4};
  unsigned char buf[48];
  size_t checked = 0;
  for (size_t len = 0; len <= 40; len++) {
    memset(buf, 'a', sizeof buf);
    assert_int_equal(hubc__utf8_valid((const char *)buf, len), 1);
    for (size_t k = 0; k < sizeof special / sizeof special[0]; k++)
      for (size_t at = 0; at + special_len[k] <= len; at++) {
        memset(buf, 'a', sizeof buf);
        memcpy(buf + at, special[k], special_len[k]);
        int want = utf8_reference(buf, len);
        if (hubc__utf8_valid((const char *)buf, len) != want)
          fail_msg("length %zu, sequence %zu at %zu: library %d, reference %d", len, k, at, !want, want);
        checked++;
      }
  }
  assert_true(checked > 1000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(C4_a_number_beyond_the_largest_double_is_refused_like_inf, gc_teardown),
      cmocka_unit_test_teardown(C4_a_datetime_outside_years_1_to_9999_is_refused, gc_teardown),
      cmocka_unit_test_teardown(C4_values_stored_before_the_range_rules_still_load, gc_teardown),
      cmocka_unit_test_teardown(c4_number_grammar_without_strtod, gc_teardown),
      cmocka_unit_test_teardown(c4_number_grammar_ignores_locale, gc_teardown),
      cmocka_unit_test_teardown(C2_utf8_check_matches_a_bytewise_decoder_at_every_position, gc_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
