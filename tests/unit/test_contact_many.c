/* hubc_contact_get_many / hubc_contact_find_many: many lookups by email in
 * one call. Each answer must equal the one-call lookup's (C3 matching),
 * across chunk boundaries, for absent and repeated emails; bad input is
 * refused naming its row, with nothing returned (R4). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

#define N_CONTACTS 1000
#define N_QUERIES 777 /* not a multiple of any chunk size */

static hubc_store *store_with_contacts(tu_clock *clk, hubc_id *ids) {
  hubc_store *s = gc_store(tu_open(clk, NULL));
  for (int i = 0; i < N_CONTACTS; i++) {
    char email[64], name[16];
    snprintf(email, sizeof email, "person.%d@example%d.com", i, i % 7);
    snprintf(name, sizeof name, "P%d", i);
    ids[i] = tu_contact(s, 1, email, name);
  }
  return s;
}

/* N_QUERIES emails: query i names contact (i * 7919) % N_CONTACTS as a host
 * might write it (other case, surrounding white space), except every fifth
 * (i % 5 == 2), which nobody has. */
static const char *const *queries(void) {
  static char text[N_QUERIES][64];
  static const char *emails[N_QUERIES];
  for (unsigned i = 0; i < N_QUERIES; i++) {
    unsigned who = (i * 7919u) % N_CONTACTS;
    switch (i % 5) {
    case 0: snprintf(text[i], sizeof text[i], "PERSON.%u@EXAMPLE%u.COM", who, who % 7); break;
    case 1: snprintf(text[i], sizeof text[i], " \tperson.%u@Example%u.com ", who, who % 7); break;
    case 2: snprintf(text[i], sizeof text[i], "nobody.%u@example.com", i); break;
    default: snprintf(text[i], sizeof text[i], "person.%u@example%u.com", who, who % 7); break;
    }
    emails[i] = text[i];
  }
  return emails;
}

static void c3_find_many_answers_as_find_does_for_each_email(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  hubc_id ids[N_CONTACTS];
  hubc_store *s = store_with_contacts(&clk, ids);
  const char *const *emails = queries();
  hubc_id got[N_QUERIES];
  assert_int_equal(hubc_contact_find_many(got, s, emails, N_QUERIES), 0);
  size_t found = 0;
  for (unsigned i = 0; i < N_QUERIES; i++) {
    hubc_id one = 0;
    int rc = hubc_contact_find(&one, s, emails[i]);
    if (rc == HUBC_ENOTFOUND) {
      if (got[i] != 0) fail_msg("row %u '%s': find says absent, find_many says %lld", i, emails[i], (long long)got[i]);
      continue;
    }
    assert_int_equal(rc, 0);
    if (got[i] != one) fail_msg("row %u '%s': find %lld, find_many %lld", i, emails[i], (long long)one, (long long)got[i]);
    assert_int_equal(one, ids[(i * 7919u) % N_CONTACTS]);
    found++;
  }
  assert_int_equal(found, N_QUERIES - (N_QUERIES + 2) / 5); /* every fifth query is absent */
}

static void c3_get_many_returns_the_snapshots_get_by_email_returns(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  hubc_id ids[N_CONTACTS];
  hubc_store *s = store_with_contacts(&clk, ids);
  const char *const *emails = queries();
  hubc_contact **got = gc_malloc(calloc(N_QUERIES, sizeof *got));
  assert_int_equal(hubc_contact_get_many(got, s, emails, N_QUERIES), 0);
  for (unsigned i = 0; i < N_QUERIES; i++) {
    hubc_contact *one = NULL;
    int rc = hubc_contact_get_by_email(&one, s, emails[i]);
    if (rc == HUBC_ENOTFOUND) {
      if (got[i]) fail_msg("row %u '%s': absent, but get_many returned a snapshot", i, emails[i]);
      continue;
    }
    assert_int_equal(rc, 0);
    if (!got[i]) fail_msg("row %u '%s': get_many returned no snapshot", i, emails[i]);
    assert_int_equal(hubc_contact_id(got[i]), hubc_contact_id(one));
    assert_string_equal(hubc_contact_prop(got[i], "email"), hubc_contact_prop(one, "email"));
    assert_string_equal(hubc_contact_prop(got[i], "firstname"), hubc_contact_prop(one, "firstname"));
    assert_int_equal(hubc_contact_status(got[i]), hubc_contact_status(one));
    hubc_contact_free(one);
  }
  for (unsigned i = 0; i < N_QUERIES; i++) hubc_contact_free(got[i]);
}

static void c3_many_sees_the_same_contact_for_every_spelling_of_its_email(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  hubc_id anna = tu_contact(s, 1, "anna@example.com", "Anna");
  const char *emails[] = {"anna@example.com", " ANNA@example.COM\t", "Anna@Example.com", "anna@example.org"};
  hubc_contact *got[4];
  assert_int_equal(hubc_contact_get_many(got, s, emails, 4), 0);
  for (int i = 0; i < 3; i++) {
    assert_non_null(got[i]);
    assert_int_equal(hubc_contact_id(got[i]), anna);
    assert_string_equal(hubc_contact_prop(got[i], "firstname"), "Anna");
  }
  assert_null(got[3]);
  for (int i = 0; i < 4; i++) hubc_contact_free(got[i]);
}

static void c7_many_follows_email_changes_and_deletes_at_once(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  hubc_id a = tu_contact(s, 1, "a@example.com", "A");
  hubc_id b = tu_contact(s, 1, "b@example.com", "B");
  const char *names[] = {"email"}, *values[] = {"a2@example.com"};
  assert_int_equal(hubc_contact_update(s, 1, a, names, values, 1), 0);
  assert_int_equal(hubc_contact_delete(s, 1, b), 0);
  const char *emails[] = {"a@example.com", "a2@example.com", "b@example.com"};
  hubc_id got[3] = {9, 9, 9};
  assert_int_equal(hubc_contact_find_many(got, s, emails, 3), 0);
  assert_int_equal(got[0], 0);
  assert_int_equal(got[1], a);
  assert_int_equal(got[2], 0);
}

static void c3_many_on_an_empty_store_finds_nothing(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  const char *emails[] = {"a@example.com", "b@example.com"};
  hubc_id ids[2] = {5, 5};
  hubc_contact *got[2] = {(hubc_contact *)got, (hubc_contact *)got};
  assert_int_equal(hubc_contact_find_many(ids, s, emails, 2), 0);
  assert_int_equal(hubc_contact_get_many(got, s, emails, 2), 0);
  assert_true(ids[0] == 0 && ids[1] == 0);
  assert_true(got[0] == NULL && got[1] == NULL);
}

/* An invalid email anywhere (here in a later chunk, after snapshots were
 * already taken) fails the whole call: EINVAL naming the row, nothing
 * returned, no snapshot leaked. */
static void r4_many_refuses_an_invalid_email_naming_its_row_and_returns_nothing(void **state) {
  (void)state;
  /* static: the teardown may close the store after this frame is gone */
  static tu_clock clk;
  static tu_alloc a;
  clk.now = tu_time(2024, 3, 10, 12, 0, 0);
  memset(&a, 0, sizeof a);
  hubc_store *s = gc_store(tu_open_alloc(&clk, &a, NULL));
  tu_contact(s, 1, "x@example.com", "X");
  enum { N = 40, BAD_ROW = 37 };
  const char *emails[N];
  for (int i = 0; i < N; i++) emails[i] = "x@example.com";
  static const char *const bad[] = {"not-an-email", "a@@example.com", "", "caf\xC3@example.com", NULL};
  for (size_t b = 0; b < sizeof bad / sizeof *bad; b++) {
    emails[BAD_ROW] = bad[b];
    size_t live = a.live;
    hubc_contact *got[N];
    hubc_id ids[N];
    for (int i = 0; i < N; i++) {
      got[i] = (hubc_contact *)got;
      ids[i] = 99;
    }
    assert_int_equal(hubc_contact_get_many(got, s, emails, N), HUBC_EINVAL);
    if (!strstr(hubc_error_last(), "row 37")) fail_msg("bad email %zu: message '%s' names no row", b, hubc_error_last());
    assert_int_equal(a.live, live); /* the snapshots of rows 0–36 were released */
    assert_int_equal(hubc_contact_find_many(ids, s, emails, N), HUBC_EINVAL);
    assert_non_null(strstr(hubc_error_last(), "row 37"));
    for (int i = 0; i < N; i++) {
      assert_null(got[i]);
      assert_int_equal(ids[i], 0);
    }
  }
  gc_release(s);
  assert_int_equal(a.live, 0); /* nothing leaked */
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(c3_find_many_answers_as_find_does_for_each_email, gc_teardown),
    cmocka_unit_test_teardown(c3_get_many_returns_the_snapshots_get_by_email_returns, gc_teardown),
    cmocka_unit_test_teardown(c3_many_sees_the_same_contact_for_every_spelling_of_its_email, gc_teardown),
    cmocka_unit_test_teardown(c7_many_follows_email_changes_and_deletes_at_once, gc_teardown),
    cmocka_unit_test_teardown(c3_many_on_an_empty_store_finds_nothing, gc_teardown),
    cmocka_unit_test_teardown(r4_many_refuses_an_invalid_email_naming_its_row_and_returns_nothing, gc_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
