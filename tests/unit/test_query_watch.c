/* The internal watch API (lib/query/watch.h) that active lists and
 * workflow triggers (W2: "a contact starts to meet a filter") share: edges
 * are delivered once per change, in order, from the transaction; a
 * callback error fails the whole call; registering and removing are
 * undone with a failed transaction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "query/watch.h"
#include "store/store.h"
#include "testutil.h"

#define ADMIN 1

typedef struct edges {
  int64_t id[16];
  int entered[16];
  int n;
  int fail; /* return this from the next callback */
} edges;

static int on_edge(hubc_store *s, void *payload, uint32_t w, int64_t contact, int entered) {
  (void)s, (void)w;
  edges *e = payload;
  if (e->fail) return hubc__err(e->fail, "the watcher refused");
  if (e->n < 16) e->id[e->n] = contact, e->entered[e->n++] = entered;
  return 0;
}

static uint32_t add_watch(hubc_store *s, const char *text, edges *e) {
  hubc_filter *f = NULL;
  assert_int_equal(hubc_filter_compile(&f, s, text), 0);
  uint32_t w = 0;
  assert_int_equal(hubc__write_begin(s, HUBC_SYSTEM, 0, "test"), 0);
  int rc = hubc__watch_add(&w, s, f, "workflow 7", on_edge, e);
  assert_int_equal(hubc__write_end(s, rc), 0);
  hubc_filter_free(f);
  return w;
}

static void set_city(hubc_store *s, hubc_id id, const char *city, int want) {
  const char *n[] = {"city"}, *v[] = {city};
  assert_int_equal(hubc_contact_update(s, ADMIN, id, n, v, 1), want);
}

static void w2_watch_reports_enter_and_leave_edges(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  hubc_id a = tu_contact(s, ADMIN, "a@example.com", "A");
  set_city(s, a, "Roma", 0);
  edges e;
  memset(&e, 0, sizeof e);
  uint32_t w = add_watch(s, "city = 'Roma'", &e);
  assert_int_equal(e.n, 0); /* who matches at registration is membership, not an edge */
  assert_int_equal(hubc__watch_has(s, w, a), 1);
  assert_int_equal(hubc__watch_count(s, w), 1);
  hubc_id b = tu_contact(s, ADMIN, "b@example.com", "B");
  assert_int_equal(e.n, 0);
  set_city(s, b, "Roma", 0);
  assert_int_equal(e.n, 1);
  assert_int_equal(e.id[0], b);
  assert_int_equal(e.entered[0], 1);
  set_city(s, b, "Roma", 0); /* no change, no edge */
  const char *n[] = {"firstname"}, *v[] = {"Bea"};
  assert_int_equal(hubc_contact_update(s, ADMIN, b, n, v, 1), 0); /* a property it does not read */
  assert_int_equal(e.n, 1);
  set_city(s, a, "Milano", 0);
  assert_int_equal(e.n, 2);
  assert_int_equal(e.id[1], a);
  assert_int_equal(e.entered[1], 0);
  assert_int_equal(hubc__watch_next(s, w, 0), b);
  assert_int_equal(hubc__watch_next(s, w, b), 0);
  /* a callback error fails the whole call: nothing changed */
  char *before = gc_dump(s);
  e.fail = HUBC_EAGAIN;
  set_city(s, a, "Roma", HUBC_EAGAIN);
  assert_string_equal(gc_dump(s), before);
  assert_int_equal(hubc__watch_has(s, w, a), 0);
  e.fail = 0;
  assert_int_equal(hubc_contact_delete(s, ADMIN, b), 0); /* deleting leaves */
  assert_int_equal(e.n, 3);
  assert_int_equal(e.entered[2], 0);
  /* removing: no more edges */
  assert_int_equal(hubc__write_begin(s, HUBC_SYSTEM, 0, "test"), 0);
  hubc__watch_remove(s, w);
  assert_int_equal(hubc__write_end(s, 0), 0);
  set_city(s, a, "Roma", 0);
  assert_int_equal(e.n, 3);
  assert_int_equal(hubc__store_check(s), 0);
}

static void w2_watch_add_and_remove_are_undone_with_their_transaction(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 10, 12, 0, 0)};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  hubc_id a = tu_contact(s, ADMIN, "a@example.com", "A");
  edges e;
  memset(&e, 0, sizeof e);
  hubc_filter *f = NULL;
  assert_int_equal(hubc_filter_compile(&f, s, "city = 'Roma'"), 0);
  uint32_t w = 0;
  assert_int_equal(hubc__write_begin(s, HUBC_SYSTEM, 0, "test"), 0);
  assert_int_equal(hubc__watch_add(&w, s, f, "workflow 8", on_edge, &e), 0);
  assert_int_equal(hubc__write_end(s, hubc__err(HUBC_EINVAL, "the caller failed")), HUBC_EINVAL);
  set_city(s, a, "Roma", 0);
  assert_int_equal(e.n, 0); /* never registered */
  w = add_watch(s, "city = 'Milano'", &e);
  assert_int_equal(hubc__write_begin(s, HUBC_SYSTEM, 0, "test"), 0);
  hubc__watch_remove(s, w);
  assert_int_equal(hubc__write_end(s, hubc__err(HUBC_EINVAL, "the caller failed")), HUBC_EINVAL);
  set_city(s, a, "Milano", 0);
  assert_int_equal(e.n, 1); /* still registered */
  hubc_filter_free(f);
  assert_int_equal(hubc__store_check(s), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(w2_watch_reports_enter_and_leave_edges, gc_teardown),
      cmocka_unit_test_teardown(w2_watch_add_and_remove_are_undone_with_their_transaction, gc_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
