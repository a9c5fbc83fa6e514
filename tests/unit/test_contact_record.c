/* The in-memory index of a contact record (lib/contact/record.h): typed
 * values a filter compares without parsing (C2, C4), field i in O(1), the
 * persisted bytes unchanged (R1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "contact/record.h"
#include "store/store.h"
#include "testutil.h"

static uint32_t prop_id(hubc_store *s, const char *name) {
  int p = hubc__schema_find(s->schema, name);
  assert_true(p >= 0);
  return (uint32_t)p;
}

static void define(hubc_store *s, const char *name, int type) {
  assert_int_equal(hubc_property_define(s, 1, name, NULL, type, NULL, 0), 0);
}

/* The contact's current record (tests run single-threaded). */
static const hubc__rec *rec_of(hubc_store *s, hubc_id id) { return s->contacts.recs[id]; }

static void test_C4_numbers_and_dates_are_kept_in_binary_form(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  define(s, "score", HUBC_PROP_NUMBER);
  define(s, "renewal", HUBC_PROP_DATETIME);
  define(s, "note", HUBC_PROP_STRING);
  const char *n[] = {"email", "score", "renewal", "lifecyclestage", "hs_email_optout", "note"};
  const char *v[] = {"a@x.io", "-12.5e1", "2024-03-21T10:00:00+01:00", "customer", "TRUE", "hi"};
  hubc_id id = 0;
  assert_int_equal(hubc_contact_create(&id, s, 1, NULL, n, v, 6), 0);
  const hubc__rec *r = rec_of(s, id);
  hubc__value x;
  assert_int_equal(hubc__rec_value(r, s->schema, prop_id(s, "score"), &x), 1);
  assert_int_equal(x.type, HUBC_PROP_NUMBER);
  assert_true(x.num == -125.0);
  assert_string_equal(x.str, "-12.5e1"); /* the text as given */
  assert_int_equal(x.len, 7);
  assert_int_equal(hubc__rec_value(r, s->schema, prop_id(s, "renewal"), &x), 1);
  assert_int_equal(x.type, HUBC_PROP_DATETIME);
  assert_int_equal(x.i, tu_time(2024, 3, 21, 9, 0, 0));
  assert_int_equal(hubc__rec_value(r, s->schema, HUBC__P_LIFECYCLE, &x), 1);
  assert_int_equal(x.type, HUBC_PROP_ENUMERATION);
  assert_int_equal(x.i, 5); /* option id: subscriber 0 … customer 5 */
  assert_string_equal(x.str, "customer");
  assert_int_equal(hubc__rec_value(r, s->schema, HUBC__P_OPTOUT, &x), 1);
  assert_int_equal(x.i, 1);
  assert_int_equal(hubc__rec_value(r, s->schema, prop_id(s, "note"), &x), 1);
  assert_string_equal(x.str, "hi");
  assert_int_equal(x.len, 2);
  assert_int_equal(hubc__rec_value(r, s->schema, HUBC__P_CITY, &x), 0); /* unset */
  assert_int_equal(hubc__rec_value(r, s->schema, HUBC__P_OBJECT_ID, &x), 1);
  assert_int_equal(x.i, id);
  assert_int_equal(hubc__rec_value(r, s->schema, HUBC__P_CREATEDATE, &x), 1);
  assert_int_equal(x.i, clk.now);
  assert_int_equal(hubc__rec_value(r, s->schema, HUBC__P_MK_STATUS, &x), 1);
  assert_int_equal(x.i, 0);
  /* an update keeps the index in step */
  const char *un[] = {"score"};
  const char *uv[] = {"7"};
  assert_int_equal(hubc_contact_update(s, 1, id, un, uv, 1), 0);
  assert_int_equal(hubc__rec_value(rec_of(s, id), s->schema, prop_id(s, "score"), &x), 1);
  assert_true(x.num == 7.0);
  assert_int_equal(hubc__rec_value(rec_of(s, id), s->schema, prop_id(s, "renewal"), &x), 1);
  assert_int_equal(x.i, tu_time(2024, 3, 21, 9, 0, 0));
}

static void test_C4_many_typed_fields_are_found_by_property(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  enum { N = 40 };
  char names[N][16], values[N][16];
  const char *n[N], *v[N];
  for (int i = 0; i < N; i++) {
    snprintf(names[i], sizeof names[i], "p%02d", i);
    define(s, names[i], i % 3 == 0 ? HUBC_PROP_STRING : i % 3 == 1 ? HUBC_PROP_NUMBER : HUBC_PROP_DATETIME);
    if (i % 3 == 2) snprintf(values[i], sizeof values[i], "2024-01-%02d", i % 28 + 1);
    else snprintf(values[i], sizeof values[i], "%d", i * 10);
    n[i] = names[i];
    v[i] = values[i];
  }
  hubc_id id = 0;
  assert_int_equal(hubc_contact_create(&id, s, 1, NULL, n, v, N), 0);
  for (int i = 0; i < N; i++) {
    hubc__value x;
    assert_int_equal(hubc__rec_value(rec_of(s, id), s->schema, prop_id(s, names[i]), &x), 1);
    assert_string_equal(x.str, values[i]);
    if (i % 3 == 1) assert_true(x.num == i * 10.0);
    if (i % 3 == 2) assert_int_equal(x.i, tu_time(2024, 1, i % 28 + 1, 0, 0, 0));
  }
}

/* Fields by index, for records whose offsets take 1, 2 and 4 bytes. */
static void prop_at_matches_names(hubc_store *s, hubc_id id, size_t stored) {
  hubc_contact *c;
  assert_int_equal(hubc_contact_get(&c, s, id), 0);
  assert_int_equal(hubc__rec_count(rec_of(s, id)), stored);
  size_t n = hubc_contact_prop_count(c);
  uint32_t last = 0;
  for (size_t i = 0; i < n; i++) {
    const char *name, *value;
    assert_int_equal(hubc_contact_prop_at(&name, &value, c, i), 0);
    assert_string_equal(value, hubc_contact_prop(c, name)); /* the same value by name */
    uint32_t p = prop_id(s, name);
    if (i && i < stored) assert_true(p > last); /* stored fields in property order */
    last = p;
  }
  const char *name, *value;
  assert_int_equal(hubc_contact_prop_at(&name, &value, c, n), HUBC_ENOTFOUND);
  hubc_contact_free(c);
}

static void test_C4_prop_at_walks_no_more_than_a_checkpoint_gap_for_any_width(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  enum { N = 300 };
  static char names[N][16];
  const char *n[N + 1], *v[N + 1];
  char *big = malloc(HUBC_MAX_VALUE_BYTES + 1);
  gc_malloc(big);
  memset(big, 'x', HUBC_MAX_VALUE_BYTES);
  big[HUBC_MAX_VALUE_BYTES] = 0;
  for (int i = 0; i < N; i++) {
    snprintf(names[i], sizeof names[i], "q%03d", i);
    define(s, names[i], i % 2 ? HUBC_PROP_NUMBER : HUBC_PROP_STRING);
    n[i] = names[i];
    v[i] = i % 2 ? "42" : "v";
  }
  /* 1-byte offsets: a handful of short fields */
  hubc_id small = 0;
  assert_int_equal(hubc_contact_create(&small, s, 1, NULL, n, v, 12), 0);
  prop_at_matches_names(s, small, 12);
  /* 2-byte offsets: 300 fields */
  hubc_id mid = 0;
  assert_int_equal(hubc_contact_create(&mid, s, 1, NULL, n, v, N), 0);
  prop_at_matches_names(s, mid, N);
  /* 4-byte offsets: a 64 KiB value among them */
  n[N] = "city";
  v[N] = big;
  hubc_id large = 0;
  assert_int_equal(hubc_contact_create(&large, s, 1, NULL, n, v, N + 1), 0);
  prop_at_matches_names(s, large, N + 1);
  hubc__value x;
  assert_int_equal(hubc__rec_value(rec_of(s, large), s->schema, HUBC__P_CITY, &x), 1);
  assert_int_equal(x.len, HUBC_MAX_VALUE_BYTES);
  assert_int_equal(hubc__rec_value(rec_of(s, large), s->schema, prop_id(s, "q299"), &x), 1);
  assert_true(x.num == 42.0);
  /* a contact without properties */
  hubc_id none = 0;
  assert_int_equal(hubc_contact_create(&none, s, 1, NULL, NULL, NULL, 0), 0);
  prop_at_matches_names(s, none, 0);
}

static void test_R1_persisted_bytes_are_the_fields_and_a_reopen_indexes_them_again(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  tu_mem *m = gc_mem();
  hubc_store *s = tu_open(&clk, &m->vtable);
  define(s, "score", HUBC_PROP_NUMBER);
  const char *n[] = {"email", "score", "firstname"};
  const char *v[] = {"a@x.io", "3.25", "Ann"};
  hubc_id id = 0;
  assert_int_equal(hubc_contact_create(&id, s, 1, NULL, n, v, 3), 0);
  const hubc__rec *r = rec_of(s, id);
  /* the stored record ends with the fields, exactly as before the index */
  size_t flen = hubc__rec_flen(r);
  const unsigned char *stored = NULL;
  size_t stored_len = 0;
  for (size_t i = 0; i < m->n; i++)
    if (m->recs[i].kind == HUBC_REC_CONTACT && m->recs[i].id == id) {
      stored = m->recs[i].bytes;
      stored_len = m->recs[i].len;
    }
  assert_non_null(stored);
  assert_true(stored_len >= flen);
  assert_memory_equal(stored + stored_len - flen, hubc__rec_fields(r), flen);
  char *before = tu_dump(s);
  gc_malloc(before);
  hubc_store_close(s);
  s = gc_store(tu_open(&clk, &m->vtable));
  assert_string_equal(gc_dump(s), before);
  assert_int_equal(hubc__store_check(s), 0);
  hubc__value x;
  assert_int_equal(hubc__rec_value(rec_of(s, id), s->schema, prop_id(s, "score"), &x), 1);
  assert_true(x.num == 3.25);
  hubc_id found = 0;
  assert_int_equal(hubc_contact_find(&found, s, "A@X.IO"), 0); /* the rebuilt record is the one indexed */
  assert_int_equal(found, id);
}

/* A lookup knows from the record's header whether its index holds more
 * than the last byte (checkpoints: more than 16 fields; typed values), so
 * it reads where the fields end without touching the record's last line.
 * Every count of fields around the checkpoint strides, with and without a
 * typed field: the flag is right, the meta prefix still reads, every
 * property is found and one past the last is not (the walk stops at the
 * fields' end, never in the index). */
static void test_C4_a_lookup_finds_the_fields_end_from_the_header_at_every_field_count(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  enum { N = 40 };
  static char names[N + 1][16], vals[N][16];
  const char *n[N + 1], *v[N + 1];
  for (int i = 0; i <= N; i++) {
    snprintf(names[i], sizeof names[i], "f%02d", i);
    define(s, names[i], i == N ? HUBC_PROP_NUMBER : HUBC_PROP_STRING); /* f40: typed, after every other */
    if (i < N) snprintf(vals[i], sizeof vals[i], "v%d", i);
    n[i] = names[i];
    v[i] = i < N ? vals[i] : "7";
  }
  for (int typed = 0; typed <= 1; typed++)
    for (int k = 1; k < N; k++) {
      /* k string fields, then the number when typed */
      const char *cn[N + 1], *cv[N + 1];
      memcpy(cn, n, (size_t)k * sizeof *cn);
      memcpy(cv, v, (size_t)k * sizeof *cv);
      if (typed) cn[k] = n[N], cv[k] = v[N];
      size_t fields = (size_t)k + (size_t)typed;
      hubc_id id = 0;
      assert_int_equal(hubc_contact_create(&id, s, 1, NULL, cn, cv, fields), 0);
      const hubc__rec *r = rec_of(s, id);
      assert_int_equal(!!(r->meta_ix & HUBC__REC_LONG_INDEX), fields > HUBC__REC_STRIDE || typed);
      assert_int_equal(hubc__rec_created(r), clk.now);
      assert_int_equal(hubc__rec_count(r), fields);
      for (int i = 0; i < k; i++) assert_string_equal(hubc__rec_get(r, s->schema, prop_id(s, n[i])), v[i]);
      assert_null(hubc__rec_get(r, s->schema, prop_id(s, n[k]))); /* unset, past the last string */
      const char *num = hubc__rec_get(r, s->schema, prop_id(s, n[N]));
      if (typed) assert_string_equal(num, "7");
      else assert_null(num);
      hubc_contact *c = NULL;
      assert_int_equal(hubc_contact_get(&c, s, id), 0);
      assert_string_equal(hubc_contact_prop(c, n[k - 1]), v[k - 1]);
      assert_null(hubc_contact_prop(c, "city"));
      hubc_contact_free(c);
    }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(test_C4_numbers_and_dates_are_kept_in_binary_form, gc_teardown),
    cmocka_unit_test_teardown(test_C4_many_typed_fields_are_found_by_property, gc_teardown),
    cmocka_unit_test_teardown(test_C4_prop_at_walks_no_more_than_a_checkpoint_gap_for_any_width, gc_teardown),
    cmocka_unit_test_teardown(test_R1_persisted_bytes_are_the_fields_and_a_reopen_indexes_them_again, gc_teardown),
    cmocka_unit_test_teardown(test_C4_a_lookup_finds_the_fields_end_from_the_header_at_every_field_count, gc_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
