/* hubc_contact_create_batch: many contacts in one transaction (R2), all or
 * none, errors naming the row; the same rules as single creates (C3–C5). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

static const char *const cols[] = {"email", "firstname"};

static void r2_batch_creates_all_rows_in_one_commit(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  tu_mem m;
  tu_mem_init(&m);
  hubc_store *s = tu_open(&clk, &m.vtable);
  long commits = m.commits;
  const char *vals[] = {"a@x.io", "A", "b@x.io", "B", "c@x.io", "C"};
  hubc_id ids[3] = {0};
  assert_int_equal(hubc_contact_create_batch(ids, s, 1, NULL, cols, 2, vals, 3), 0);
  assert_true(ids[0] > 0 && ids[1] == ids[0] + 1 && ids[2] == ids[1] + 1); /* C1 */
  assert_int_equal(m.commits, commits + 1);
  hubc_contact *c;
  assert_int_equal(hubc_contact_get_by_email(&c, s, "B@X.IO"), 0);
  assert_string_equal(hubc_contact_prop(c, "firstname"), "B");
  assert_int_equal(hubc_contact_id(c), ids[1]);
  hubc_contact_free(c);
  hubc_store_close(s);
  tu_mem_free(&m);
}

static void c5_batch_with_an_existing_email_creates_nothing_and_names_the_row(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  hubc_store *s = tu_open(&clk, NULL);
  hubc_id existing = tu_contact(s, 1, "taken@x.io", "T");
  char *before = tu_dump(s);
  const char *vals[] = {"new1@x.io", "N", "new2@x.io", "N", " Taken@X.io", "T2"};
  hubc_id ids[3] = {7, 7, 7};
  assert_int_equal(hubc_contact_create_batch(ids, s, 1, NULL, cols, 2, vals, 3), HUBC_EEXISTS);
  assert_non_null(strstr(hubc_error_last(), "row 2"));
  char id_text[32];
  snprintf(id_text, sizeof id_text, "record id %lld", (long long)existing);
  assert_non_null(strstr(hubc_error_last(), id_text));
  assert_true(ids[0] == 0 && ids[1] == 0 && ids[2] == 0);
  char *after = tu_dump(s);
  assert_string_equal(before, after);
  free(before);
  free(after);
  hubc_store_close(s);
}

static void c3_batch_refuses_a_duplicate_inside_the_batch(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  hubc_store *s = tu_open(&clk, NULL);
  char *before = tu_dump(s);
  const char *vals[] = {"dup@x.io", "1", "other@x.io", "2", "DUP@x.io ", "3"};
  assert_int_equal(hubc_contact_create_batch(NULL, s, 1, NULL, cols, 2, vals, 3), HUBC_EEXISTS);
  assert_non_null(strstr(hubc_error_last(), "row 2"));
  char *after = tu_dump(s);
  assert_string_equal(before, after);
  free(before);
  free(after);
  hubc_store_close(s);
}

static void c4_batch_names_the_row_and_property_of_a_bad_value(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  hubc_store *s = tu_open(&clk, NULL);
  const char *names[] = {"email", "lifecyclestage"};
  const char *vals[] = {"a@x.io", "lead", "b@x.io", "not-a-stage"};
  assert_int_equal(hubc_contact_create_batch(NULL, s, 1, NULL, names, 2, vals, 2), HUBC_EINVAL);
  assert_non_null(strstr(hubc_error_last(), "row 1"));
  assert_non_null(strstr(hubc_error_last(), "lifecyclestage"));
  uint64_t n;
  assert_int_equal(hubc_contact_count(&n, s), 0);
  assert_int_equal(n, 0);
  hubc_store_close(s);
}

static void r2_batch_persistence_failure_undoes_every_row(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  tu_mem m;
  tu_mem_init(&m);
  hubc_store *s = tu_open(&clk, &m.vtable);
  char *before = tu_dump(s);
  size_t records = m.n;
  const char *vals[] = {"a@x.io", "A", "b@x.io", "B"};
  m.fail_at = m.calls + 3; /* begin, put, then this put fails */
  assert_int_equal(hubc_contact_create_batch(NULL, s, 1, NULL, cols, 2, vals, 2), HUBC_EPERSIST);
  char *after = tu_dump(s);
  assert_string_equal(before, after);
  assert_int_equal(m.n, records);
  assert_true(m.rollbacks >= 1);
  free(before);
  free(after);
  hubc_store_close(s);
  tu_mem_free(&m);
}

static void p2_batch_as_marketing_needs_marketing_access(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  hubc_store *s = tu_open(&clk, NULL);
  hubc_id u;
  assert_int_equal(hubc_user_create(&u, s, 1, "nop2@x.io"), 0);
  assert_int_equal(hubc_user_set_permissions(s, 1, u, HUBC_PERM_EDIT_CONTACTS), 0);
  hubc_create_options o = HUBC_CREATE_OPTIONS_INIT;
  o.marketing = 1;
  const char *vals[] = {"a@x.io", "A", "b@x.io", "B"};
  char *before = tu_dump(s);
  assert_int_equal(hubc_contact_create_batch(NULL, s, u, &o, cols, 2, vals, 2), HUBC_EPERM);
  char *after = tu_dump(s);
  assert_string_equal(before, after);
  assert_int_equal(hubc_contact_create_batch(NULL, s, 1, &o, cols, 2, vals, 2), 0);
  hubc_billing_info bi;
  bi.version = HUBC_BILLING_INFO_VERSION;
  assert_int_equal(hubc_billing_get(&bi, s), 0);
  assert_int_equal(bi.marketing, 2);
  free(before);
  free(after);
  hubc_store_close(s);
}

static void r4_batch_refuses_null_arrays(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  hubc_store *s = tu_open(&clk, NULL);
  const char *vals[] = {"a@x.io", "A"};
  assert_int_equal(hubc_contact_create_batch(NULL, s, 1, NULL, NULL, 2, vals, 1), HUBC_EINVAL);
  assert_int_equal(hubc_contact_create_batch(NULL, s, 1, NULL, cols, 2, NULL, 1), HUBC_EINVAL);
  assert_int_equal(hubc_contact_create_batch(NULL, NULL, 1, NULL, cols, 2, vals, 1), HUBC_EINVAL);
  assert_true(strlen(hubc_error_last()) > 0);
  assert_int_equal(hubc_contact_create_batch(NULL, s, 1, NULL, cols, 2, vals, 0), 0); /* nothing to do */
  hubc_store_close(s);
}

/* Moved from the core review round (test_contact_regress.c). */
#define ADMIN ((hubc_id)1)
#define T0 tu_time(2024, 3, 21, 10, 0, 0)

/* ---- C5: a duplicate email inside one batch --------------------------- */

static void c5_batch_duplicate_email_names_first_row(void **state) {
  (void)state;
  tu_clock clk = {T0};
  hubc_store *s = tu_open_gc(&clk);
  tu_contact(s, ADMIN, "existing@example.com", "E"); /* record id 1 exists */
  char *before = gc_dump(s);
  const char *n[] = {"email"};
  const char *v[] = {"other@example.com", "dup@example.com", "DUP@example.com "};
  hubc_id ids[3] = {9, 9, 9};
  TU_BAD(HUBC_EEXISTS, "given twice in this call", hubc_contact_create_batch(ids, s, ADMIN, NULL, n, 1, v, 3));
  const char *msg = hubc_error_last();
  if (!strstr(msg, "row 1") || strstr(msg, "record id"))
    fail_msg("message '%s' should name the first row (1) and no record id", msg);
  assert_non_null(strstr(msg, "dup@example.com"));
  assert_int_equal(ids[0], 0);
  assert_int_equal(ids[1], 0);
  assert_int_equal(ids[2], 0);
  TU_SAME(s, before);
  /* against a stored contact the message still names its record id */
  const char *v2[] = {"new@example.com", "Existing@Example.com"};
  hubc_id ids2[2];
  TU_BAD(HUBC_EEXISTS, "record id 1", hubc_contact_create_batch(ids2, s, ADMIN, NULL, n, 1, v2, 2));
  TU_SAME(s, before);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(r2_batch_creates_all_rows_in_one_commit),
    cmocka_unit_test(c5_batch_with_an_existing_email_creates_nothing_and_names_the_row),
    cmocka_unit_test(c3_batch_refuses_a_duplicate_inside_the_batch),
    cmocka_unit_test(c4_batch_names_the_row_and_property_of_a_bad_value),
    cmocka_unit_test(r2_batch_persistence_failure_undoes_every_row),
    cmocka_unit_test(p2_batch_as_marketing_needs_marketing_access),
    cmocka_unit_test(r4_batch_refuses_null_arrays),
    cmocka_unit_test_teardown(c5_batch_duplicate_email_names_first_row, gc_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
