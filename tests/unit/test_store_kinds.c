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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(r1_every_public_kind_has_one_row),
      cmocka_unit_test(r1_finish_order_puts_dependencies_first),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
