/* The store's machinery under the areas: the table of record kinds
 * (DESIGN §7) that the transaction layer, loader, codec and dump iterate. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hubcontacts.h"
#include "store/store.h" /* the kind table: tests link the static library */
#include "testutil.h"

/* R1: every kind the public header names has one row that can write and
 * read it back; rows are unique, named, and numbered where the loader can
 * stage them. */
static void r1_every_public_kind_has_one_row(void **state) {
  (void)state;
  for (int k = 1; k <= HUBC_REC_KIND_MAX; k++) {
    const hubc__kind *row = hubc__kind_get(k);
    if (!row) fail_msg("record kind %d has no row", k);
    assert_int_equal(row->kind, k);
    assert_non_null(row->encode);
    assert_non_null(row->load);
    assert_true(row->name && row->name[0]);
    assert_string_equal(hubc__kind_name(k), row->name);
  }
  for (size_t i = 0; i < hubc__kinds_n; i++) {
    assert_true(hubc__kinds[i]->kind > 0 && hubc__kinds[i]->kind < HUBC__KIND_LIMIT);
    for (size_t j = 0; j < i; j++) {
      assert_int_not_equal(hubc__kinds[i]->kind, hubc__kinds[j]->kind);
      assert_string_not_equal(hubc__kinds[i]->name, hubc__kinds[j]->name);
    }
  }
  assert_null(hubc__kind_get(0));
  assert_null(hubc__kind_get(HUBC_REC_KIND_MAX + 1));
  assert_string_equal(hubc__kind_name(-1), "?");
}

/* Finish-load runs in table order and kinds rely on it: META (the stored
 * counters) before users and contacts, properties (the schema) before
 * contacts, contacts before history (chains, pending list). */
static void r1_finish_order_puts_dependencies_first(void **state) {
  (void)state;
  size_t pos[HUBC__KIND_LIMIT] = {0};
  for (size_t i = 0; i < hubc__kinds_n; i++) pos[hubc__kinds[i]->kind] = i;
  assert_true(pos[HUBC_REC_META] < pos[HUBC_REC_USER]);
  assert_true(pos[HUBC_REC_META] < pos[HUBC_REC_CONTACT]);
  assert_true(pos[HUBC_REC_PROPERTY] < pos[HUBC_REC_CONTACT]);
  assert_true(pos[HUBC_REC_CONTACT] < pos[HUBC_REC_HISTORY]);
}

#define BIT(kind) (1ull << hubc__kind_pos_[kind])

/* R2 (issue 10): a transaction runs the hooks of the kinds it touched
 * only, so its cost does not grow with the number of kinds: a status
 * change touches the contact and its history besides the kinds with a
 * finalize hook (META's billing checks among them) that are not idle
 * (LIST, in a store without lists), and a failed one leaves everything
 * as it was. */
static void r2_a_transaction_touches_only_its_kinds(void **state) {
  (void)state;
  tu_clock clock = {tu_time(2026, 3, 10, 12, 0, 0)};
  hubc_store *s = gc_store(tu_open(&clock, NULL));
  hubc_id c = tu_contact(s, 1, "a@example.com", "A");
  assert_int_equal(hubc_contact_set_marketing(s, 1, c, HUBC_SOURCE_MANUAL, 0), 0);
  assert_true(hubc__kinds_finalize >> hubc__kind_pos_[HUBC_REC_META] & 1);
  assert_false(hubc__kinds_idle >> hubc__kind_pos_[HUBC_REC_META] & 1);
  assert_true(hubc__kinds_idle >> hubc__kind_pos_[HUBC_REC_LIST] & 1);
  uint64_t awake = hubc__kinds_finalize & ~hubc__kinds_idle;
  uint64_t want = awake | BIT(HUBC_REC_CONTACT) | BIT(HUBC_REC_HISTORY);
  assert_int_equal(s->txn.touched, want);
  char *before = gc_dump(s);
  assert_int_equal(hubc_contact_set_marketing(s, 1, c + 1, HUBC_SOURCE_MANUAL, 0), HUBC_ENOTFOUND);
  assert_int_equal(s->txn.touched, awake);
  assert_string_equal(gc_dump(s), before);
  assert_int_equal(hubc__store_check(s), 0);
}

/* R2, S2, S3: an idle kind wakes when anything of it is pending: a view's
 * new definition (the old one is freed at commit), and every contact
 * change while an active list follows contacts; lists stay right, and a
 * failed call still rolls them back. */
static void r2_an_idle_kind_takes_part_when_it_has_something_to_do(void **state) {
  (void)state;
  tu_clock clock = {tu_time(2026, 3, 10, 12, 0, 0)};
  hubc_store *s = gc_store(tu_open(&clock, NULL));
  hubc_id a = tu_contact(s, 1, "a@example.com", "A");
  assert_false(s->txn.touched & BIT(HUBC_REC_LIST));
  hubc_id view = 0, list = 0;
  assert_int_equal(hubc_view_create(&view, s, 1, "Anne", "firstname = 'Anne'", NULL, 0), 0);
  assert_true(s->txn.touched & BIT(HUBC_REC_LIST));
  assert_int_equal(hubc_view_update(s, 1, view, "firstname = 'A'", NULL, 0), 0);
  assert_true(s->txn.touched & BIT(HUBC_REC_LIST)); /* the superseded definition is freed */
  assert_int_equal(hubc_contact_set_marketing(s, 1, a, HUBC_SOURCE_MANUAL, 0), 0);
  assert_false(s->txn.touched & BIT(HUBC_REC_LIST)); /* views alone follow nothing */
  assert_int_equal(hubc_list_create(&list, s, 1, "Marketing", "hs_marketable_status = 'true'"), 0);
  hubc_id b = tu_contact(s, 1, "b@example.com", "B");
  assert_true(s->txn.touched & BIT(HUBC_REC_LIST));
  assert_int_equal(hubc_contact_set_marketing(s, 1, b, HUBC_SOURCE_MANUAL, 0), 0);
  assert_true(s->txn.touched & BIT(HUBC_REC_LIST));
  uint64_t n = 0;
  assert_int_equal(hubc_list_count(&n, s, list), 0);
  assert_int_equal(n, 2);
  char *before = gc_dump(s);
  assert_int_equal(hubc_contact_set_marketing(s, 1, b + 1, HUBC_SOURCE_MANUAL, 0), HUBC_ENOTFOUND);
  assert_true(s->txn.touched & BIT(HUBC_REC_LIST));
  assert_string_equal(gc_dump(s), before);
  assert_int_equal(hubc__store_check(s), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(r1_every_public_kind_has_one_row),
      cmocka_unit_test(r1_finish_order_puts_dependencies_first),
      cmocka_unit_test_teardown(r2_a_transaction_touches_only_its_kinds, gc_teardown),
      cmocka_unit_test_teardown(r2_an_idle_kind_takes_part_when_it_has_something_to_do, gc_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
