/* Bulk "set as marketing" / "set as non-marketing" on a selection (S4, S5):
 * plan numbers, the typed confirmation (HUBC_ECONFIRM), the selection
 * re-evaluated at commit, reason BULK with the actor, M4 pending until the
 * update date, the unengaged preset, P2, HARD_CAP and persistence failure
 * at every callback — each refusal leaves the store unchanged (dump
 * compare). */
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
#define T0 tu_time(2024, 3, 21, 10, 0, 0)

static void ok(int rc) {
  if (rc != 0) fail_msg("call failed: %d (%s): %s", rc, hubc_strerror(rc), hubc_error_last());
}

/* 20 contacts: city Roma for ids 1..12 (the rest Milano); ids 1..4
 * marketing; 5 opted out and marketing; 6 hard-bounced, marketing then
 * non-marketing (until update); 7 opted out, non-marketing. */
static void populate(hubc_store *s) {
  for (int i = 1; i <= 20; i++) {
    char email[32];
    snprintf(email, sizeof email, "p%d@example.com", i);
    const char *names[] = {"email", "city", "hs_email_optout", "hs_email_hard_bounced"};
    const char *values[] = {email, i <= 12 ? "Roma" : "Milano", i == 5 || i == 7 ? "true" : "",
                            i == 6 ? "true" : ""};
    hubc_id id;
    ok(hubc_contact_create(&id, s, ADMIN, NULL, names, values, 4));
    assert_int_equal(id, i);
  }
  for (hubc_id id = 1; id <= 6; id++) ok(hubc_contact_set_marketing(s, ADMIN, id, HUBC_SOURCE_MANUAL, 1));
  ok(hubc_contact_set_non_marketing(s, ADMIN, 6, HUBC_SOURCE_MANUAL, 1));
}

static void filter_free(void *f) { hubc_filter_free(f); }

static hubc_filter *compile(hubc_store *s, const char *text) {
  hubc_filter *f = NULL;
  ok(hubc_filter_compile(&f, s, text));
  return gc_defer(filter_free, f);
}

static hubc_selection by_filter(const hubc_filter *f) {
  hubc_selection sel = HUBC_SELECTION_INIT;
  sel.filter = f;
  return sel;
}

static uint64_t billable(hubc_store *s) {
  hubc_billing_info b = {.version = HUBC_BILLING_INFO_VERSION};
  ok(hubc_billing_get(&b, s));
  return b.billable;
}

static void s4_plan_reports_the_dialog_numbers_and_changes_nothing(void **state) {
  (void)state;
  tu_clock clk = {T0};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  populate(s);
  hubc_selection sel = by_filter(compile(s, "city = 'Roma'"));
  char *before = gc_dump(s);
  hubc_bulk_summary p = {.version = HUBC_BULK_SUMMARY_VERSION};
  ok(hubc_bulk_plan(&p, s, ADMIN, HUBC_BULK_SET_MARKETING, &sel));
  assert_int_equal(p.selected, 12);
  assert_int_equal(p.will_change, 7); /* 6 (until update) and 7..12 */
  assert_int_equal(p.unchanged, 5);
  assert_int_equal(p.billable_before, 6);
  assert_int_equal(p.billable_after, 12); /* 6 was billable already */
  assert_int_equal(p.tier_before, 1000);
  assert_int_equal(p.tier_after, 1000);
  assert_int_equal(p.cap_refused, 0);
  assert_string_equal(gc_dump(s), before);
  /* non-marketing: M4 on the MARKETING ones; nobody stops being billable yet */
  ok(hubc_bulk_plan(&p, s, ADMIN, HUBC_BULK_SET_NON_MARKETING, &sel));
  assert_int_equal(p.selected, 12);
  assert_int_equal(p.will_change, 5);
  assert_int_equal(p.billable_after, 6);
  assert_string_equal(gc_dump(s), before);
}

static void s4_commit_with_another_number_is_econfirm_naming_the_right_one(void **state) {
  (void)state;
  tu_clock clk = {T0};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  populate(s);
  hubc_selection sel = by_filter(compile(s, "city = 'Roma'"));
  char *before = gc_dump(s);
  static const uint64_t wrong[] = {0, 7, 11, 13, UINT64_MAX};
  for (size_t i = 0; i < sizeof wrong / sizeof *wrong; i++) {
    assert_int_equal(hubc_bulk_commit(NULL, s, ADMIN, HUBC_BULK_SET_MARKETING, &sel, wrong[i]), HUBC_ECONFIRM);
    assert_non_null(strstr(hubc_error_last(), "type 12"));
    assert_string_equal(gc_dump(s), before);
  }
  hubc_bulk_summary c = {.version = HUBC_BULK_SUMMARY_VERSION};
  ok(hubc_bulk_commit(&c, s, ADMIN, HUBC_BULK_SET_MARKETING, &sel, 12));
  assert_int_equal(c.selected, 12);
  assert_int_equal(c.will_change, 7);
  assert_int_equal(c.billable_after, 12);
  assert_int_equal(billable(s), 12);
}

static void s4_commit_sets_reason_bulk_with_the_acting_user(void **state) {
  (void)state;
  tu_clock clk = {T0};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  populate(s);
  hubc_id user;
  ok(hubc_user_create(&user, s, ADMIN, "marketer@example.com"));
  hubc_id ids[] = {3, 8, 8, 9}; /* explicit ids; a repeat counts once */
  hubc_selection sel = HUBC_SELECTION_INIT;
  sel.ids = ids;
  sel.n_ids = 4;
  ok(hubc_bulk_commit(NULL, s, user, HUBC_BULK_SET_MARKETING, &sel, 3));
  for (hubc_id id = 8; id <= 9; id++) {
    hubc_contact *c;
    ok(hubc_contact_get(&c, s, id));
    int type;
    hubc_id rid;
    ok(hubc_contact_reason(&type, &rid, c));
    assert_int_equal(type, HUBC_SOURCE_BULK);
    assert_int_equal(rid, user);
    assert_string_equal(hubc_contact_prop(c, "hs_marketable_reason_type"), "BULK");
    hubc_contact_free(c);
  }
  hubc_contact *c3; /* already MARKETING: keeps its original reason (M3) */
  ok(hubc_contact_get(&c3, s, 3));
  assert_string_equal(hubc_contact_prop(c3, "hs_marketable_reason_type"), "MANUAL");
  hubc_contact_free(c3);
  hubc_history_iterator *it;
  ok(hubc_history_iterator_new(&it, s, 9));
  hubc_history_entry e = {.version = HUBC_HISTORY_ENTRY_VERSION};
  ok(hubc_history_iterator_next(&e, it));
  assert_int_equal(e.actor, user);
  assert_int_equal(e.reason_type, HUBC_SOURCE_BULK);
  hubc_history_iterator_free(it);
}

static void s4_selection_is_evaluated_again_at_commit(void **state) {
  (void)state;
  tu_clock clk = {T0};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  populate(s);
  hubc_selection sel = by_filter(compile(s, "city = 'Milano'"));
  hubc_bulk_summary p = {.version = HUBC_BULK_SUMMARY_VERSION};
  ok(hubc_bulk_plan(&p, s, ADMIN, HUBC_BULK_SET_MARKETING, &sel));
  assert_int_equal(p.selected, 8);
  const char *names[] = {"city"}, *values[] = {"milano"};
  ok(hubc_contact_update(s, ADMIN, 1, names, values, 1)); /* one more since the plan */
  assert_int_equal(hubc_bulk_commit(NULL, s, ADMIN, HUBC_BULK_SET_MARKETING, &sel, p.selected), HUBC_ECONFIRM);
  assert_non_null(strstr(hubc_error_last(), "holds 9"));
  ok(hubc_bulk_commit(NULL, s, ADMIN, HUBC_BULK_SET_MARKETING, &sel, 9));
  assert_int_equal(billable(s), 6 + 8);
}

static void s5_bulk_non_marketing_is_pending_until_the_update_date(void **state) {
  (void)state;
  tu_clock clk = {T0};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  populate(s);
  hubc_selection sel = by_filter(compile(s, "hs_marketable_status = true"));
  ok(hubc_bulk_commit(NULL, s, ADMIN, HUBC_BULK_SET_NON_MARKETING, &sel, 6));
  assert_int_equal(billable(s), 6); /* M4: still billable this period */
  hubc_contact *c;
  ok(hubc_contact_get(&c, s, 1));
  assert_int_equal(hubc_contact_status(c), HUBC_MARKETING_UNTIL_UPDATE);
  hubc_contact_free(c);
  hubc_billing_info b = {.version = HUBC_BILLING_INFO_VERSION};
  ok(hubc_billing_get(&b, s));
  clk.now = b.next_update + 1;
  ok(hubc_store_tick(s));
  assert_int_equal(billable(s), 0); /* M5 at the update date */
}

static void s5_unengaged_preset_selects_billable_bounced_or_opted_out(void **state) {
  (void)state;
  tu_clock clk = {T0};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  populate(s);
  const char *text = hubc_filter_preset_text(HUBC_PRESET_UNENGAGED);
  assert_non_null(text);
  hubc_filter *f = compile(s, text);
  hubc_query_iterator *it;
  ok(hubc_query_iterator_new(&it, s, f, NULL));
  hubc_id ids[8];
  size_t n;
  ok(hubc_query_iterator_next_ids(&n, ids, 8, it));
  hubc_query_iterator_free(it);
  assert_int_equal(n, 2); /* 5 (opted out) and 6 (bounced, until update); not 7 (not billable) */
  assert_int_equal(ids[0], 5);
  assert_int_equal(ids[1], 6);
  /* the same contacts as the M8 iterator */
  hubc_contact_iterator *ci;
  ok(hubc_contact_iterator_new(&ci, s, HUBC_SELECT_UNREACHABLE));
  hubc_id id;
  for (size_t i = 0; i < n; i++) {
    ok(hubc_contact_iterator_next(&id, ci));
    assert_int_equal(id, ids[i]);
  }
  assert_int_equal(hubc_contact_iterator_next(&id, ci), HUBC_ITEROVER);
  hubc_contact_iterator_free(ci);
  hubc_selection sel = by_filter(f);
  hubc_bulk_summary p = {.version = HUBC_BULK_SUMMARY_VERSION};
  ok(hubc_bulk_plan(&p, s, ADMIN, HUBC_BULK_SET_NON_MARKETING, &sel));
  assert_int_equal(p.selected, 2);
  assert_int_equal(p.will_change, 1); /* 6 is pending already */
  assert_null(hubc_filter_preset_text(99));
  assert_int_equal(hubc_error_last_code(), HUBC_EINVAL);
}

static void s4_empty_selection_and_explicit_id_answers(void **state) {
  (void)state;
  tu_clock clk = {T0};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  populate(s);
  char *before = gc_dump(s);
  hubc_selection none = by_filter(compile(s, "city = 'Napoli'"));
  hubc_bulk_summary p = {.version = HUBC_BULK_SUMMARY_VERSION};
  ok(hubc_bulk_plan(&p, s, ADMIN, HUBC_BULK_SET_MARKETING, &none));
  assert_int_equal(p.selected, 0);
  ok(hubc_bulk_commit(NULL, s, ADMIN, HUBC_BULK_SET_MARKETING, &none, 0)); /* confirming 0 of 0 */
  hubc_selection empty = HUBC_SELECTION_INIT; /* no filter, no ids: nobody */
  ok(hubc_bulk_plan(&p, s, ADMIN, HUBC_BULK_SET_MARKETING, &empty));
  assert_int_equal(p.selected, 0);
  ok(hubc_contact_delete(s, ADMIN, 20));
  before = gc_dump(s);
  hubc_id ids[] = {8, 20};
  hubc_selection sel = HUBC_SELECTION_INIT;
  sel.ids = ids;
  sel.n_ids = 2;
  assert_int_equal(hubc_bulk_commit(NULL, s, ADMIN, HUBC_BULK_SET_MARKETING, &sel, 2), HUBC_ENOTFOUND);
  assert_non_null(strstr(hubc_error_last(), "ids[1]: no contact with record id 20"));
  ids[1] = -3;
  assert_int_equal(hubc_bulk_plan(&p, s, ADMIN, HUBC_BULK_SET_MARKETING, &sel), HUBC_ENOTFOUND);
  assert_string_equal(gc_dump(s), before);
}

/* Bad input: 10 million explicit ids (every contact many times over) select
 * each contact once; the plan and the commit agree, the confirmation is the
 * number of distinct contacts. */
static void s4_ten_million_explicit_ids_count_each_contact_once(void **state) {
  (void)state;
  tu_clock clk = {T0};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  populate(s);
  size_t n = 10u * 1000 * 1000;
  hubc_id *ids = gc_malloc(malloc(n * sizeof *ids));
  assert_non_null(ids);
  for (size_t i = 0; i < n; i++) ids[i] = (hubc_id)(i % 20) + 1;
  hubc_selection sel = HUBC_SELECTION_INIT;
  sel.ids = ids;
  sel.n_ids = n;
  hubc_bulk_summary p = {.version = HUBC_BULK_SUMMARY_VERSION};
  ok(hubc_bulk_plan(&p, s, ADMIN, HUBC_BULK_SET_MARKETING, &sel));
  assert_int_equal(p.selected, 20);
  assert_int_equal(p.will_change, 20 - 5); /* 1..5 are marketing already */
  char *before = gc_dump(s);
  assert_int_equal(hubc_bulk_commit(NULL, s, ADMIN, HUBC_BULK_SET_MARKETING, &sel, n), HUBC_ECONFIRM);
  assert_non_null(strstr(hubc_error_last(), "20"));
  assert_string_equal(gc_dump(s), before);
  ok(hubc_bulk_commit(NULL, s, ADMIN, HUBC_BULK_SET_MARKETING, &sel, 20));
  assert_int_equal(billable(s), 20);
}

static void s4_needs_p2_and_checks_arguments(void **state) {
  (void)state;
  tu_clock clk = {T0};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  hubc_store *other = gc_store(tu_open(&clk, NULL));
  populate(s);
  hubc_id user;
  ok(hubc_user_create(&user, s, ADMIN, "nop2@example.com"));
  ok(hubc_user_set_permissions(s, ADMIN, user, HUBC_PERM_EDIT_CONTACTS));
  hubc_selection sel = by_filter(compile(s, "city = 'Roma'"));
  char *before = gc_dump(s);
  hubc_bulk_summary p = {.version = HUBC_BULK_SUMMARY_VERSION};
  assert_int_equal(hubc_bulk_plan(&p, s, user, HUBC_BULK_SET_MARKETING, &sel), HUBC_EPERM);
  assert_int_equal(hubc_bulk_commit(NULL, s, user, HUBC_BULK_SET_NON_MARKETING, &sel, 12), HUBC_EPERM);
  assert_string_equal(gc_dump(s), before);
  assert_int_equal(hubc_bulk_plan(NULL, s, ADMIN, HUBC_BULK_SET_MARKETING, &sel), HUBC_EINVAL);
  assert_int_equal(hubc_bulk_plan(&p, NULL, ADMIN, HUBC_BULK_SET_MARKETING, &sel), HUBC_EINVAL);
  assert_int_equal(hubc_bulk_plan(&p, s, ADMIN, 0, &sel), HUBC_EINVAL);
  assert_int_equal(hubc_bulk_plan(&p, s, ADMIN, 3, &sel), HUBC_EINVAL);
  assert_int_equal(hubc_bulk_plan(&p, s, ADMIN, HUBC_BULK_SET_MARKETING, NULL), HUBC_EINVAL);
  hubc_bulk_summary old = {.version = 99};
  assert_int_equal(hubc_bulk_plan(&old, s, ADMIN, HUBC_BULK_SET_MARKETING, &sel), HUBC_EVERSION);
  hubc_selection bad = sel;
  bad.version = 7;
  assert_int_equal(hubc_bulk_plan(&p, s, ADMIN, HUBC_BULK_SET_MARKETING, &bad), HUBC_EVERSION);
  hubc_id ids[] = {1};
  bad = sel;
  bad.ids = ids;
  bad.n_ids = 1;
  assert_int_equal(hubc_bulk_plan(&p, s, ADMIN, HUBC_BULK_SET_MARKETING, &bad), HUBC_EINVAL); /* both */
  bad = sel;
  bad.filter = NULL;
  bad.n_ids = 3; /* ids NULL */
  assert_int_equal(hubc_bulk_plan(&p, s, ADMIN, HUBC_BULK_SET_MARKETING, &bad), HUBC_EINVAL);
  hubc_selection foreign = by_filter(compile(other, "city = 'Roma'"));
  assert_int_equal(hubc_bulk_plan(&p, s, ADMIN, HUBC_BULK_SET_MARKETING, &foreign), HUBC_EINVAL);
  hubc_selection init;
  assert_int_equal(hubc_selection_init(&init, HUBC_SELECTION_VERSION + 1), HUBC_EVERSION);
  assert_int_equal(hubc_selection_init(NULL, HUBC_SELECTION_VERSION), HUBC_EINVAL);
  ok(hubc_selection_init(&init, HUBC_SELECTION_VERSION));
  assert_null(init.filter);
  assert_string_equal(gc_dump(s), before);
}

static void s4_hard_cap_refuses_the_whole_bulk(void **state) {
  (void)state;
  tu_clock clk = {T0};
  hubc_store_options o;
  ok(hubc_store_options_init(&o, HUBC_STORE_OPTIONS_VERSION));
  o.clock = tu_clock_fn;
  o.clock_payload = &clk;
  o.admin_email = "admin@example.com";
  o.tier_policy = HUBC_TIER_HARD_CAP;
  o.hard_cap = 10;
  hubc_store *s = NULL;
  ok(hubc_store_open(&s, &o));
  gc_store(s);
  populate(s);
  hubc_selection sel = by_filter(compile(s, "city = 'Roma'"));
  char *before = gc_dump(s);
  hubc_bulk_summary p = {.version = HUBC_BULK_SUMMARY_VERSION};
  ok(hubc_bulk_plan(&p, s, ADMIN, HUBC_BULK_SET_MARKETING, &sel)); /* the plan answers */
  assert_int_equal(p.cap_refused, 1);
  assert_int_equal(p.cap, 10);
  assert_int_equal(p.billable_after, 12);
  assert_int_equal(hubc_bulk_commit(NULL, s, ADMIN, HUBC_BULK_SET_MARKETING, &sel, 12), HUBC_ELIMIT);
  assert_non_null(strstr(hubc_error_last(), "12"));
  assert_string_equal(gc_dump(s), before);
  hubc_selection fits = by_filter(compile(s, "city = 'Roma' AND hs_object_id <= 10"));
  ok(hubc_bulk_plan(&p, s, ADMIN, HUBC_BULK_SET_MARKETING, &fits));
  assert_int_equal(p.cap_refused, 0);
  ok(hubc_bulk_commit(NULL, s, ADMIN, HUBC_BULK_SET_MARKETING, &fits, 10));
  assert_int_equal(billable(s), 10);
}

static void s4_persistence_failure_at_every_callback_changes_nothing(void **state) {
  (void)state;
  tu_clock clk = {T0};
  tu_mem *m = gc_mem();
  hubc_store *s = gc_store(tu_open(&clk, &m->vtable));
  populate(s);
  hubc_selection sel = by_filter(compile(s, "city = 'Roma'"));
  char *before = gc_dump(s);
  int committed = 0;
  for (long k = 1; k < 100 && !committed; k++) {
    m->calls = 0;
    m->fail_at = k;
    m->fail_code = -1;
    int rc = hubc_bulk_commit(NULL, s, ADMIN, HUBC_BULK_SET_MARKETING, &sel, 12);
    if (rc == 0) {
      committed = 1;
      break;
    }
    assert_int_equal(rc, HUBC_EPERSIST);
    assert_string_equal(gc_dump(s), before);
  }
  assert_true(committed);
  m->fail_at = 0;
  assert_int_equal(billable(s), 12);
}

/* 10,000 contacts, every third one marketing already, cities by id: a
 * selection larger than the commit's room is made at a time. */
enum { MANY = 10000 };

static void populate_many(hubc_store *s) {
  for (int i = 1; i <= MANY; i++) {
    char email[32];
    snprintf(email, sizeof email, "m%d@example.com", i);
    const char *names[] = {"email", "city"}, *values[] = {email, i % 5 ? "Roma" : "Milano"};
    hubc_id id;
    ok(hubc_contact_create(&id, s, ADMIN, NULL, names, values, 2));
    if (i % 3 == 0) ok(hubc_contact_set_marketing(s, ADMIN, id, HUBC_SOURCE_MANUAL, 1));
  }
}

static uint64_t history_entries(hubc_store *s) {
  hubc_history_iterator *it;
  ok(hubc_history_iterator_new(&it, s, 0));
  hubc_history_entry e = {.version = HUBC_HISTORY_ENTRY_VERSION};
  uint64_t n = 0, bulk = 0;
  while (hubc_history_iterator_next(&e, it) == 0) n++, bulk += e.reason_type == HUBC_SOURCE_BULK;
  hubc_history_iterator_free(it);
  return bulk;
}

/* S4, R2: a selection of thousands (past the commit's chunked room) is
 * one transaction: an allocation failure at every allocation of the
 * commit leaves the store as it was; the commit then changes exactly the
 * contacts the plan counted, each stamped BULK. */
static void s4_large_bulk_allocation_failure_at_every_point_changes_nothing(void **state) {
  (void)state;
  /* on the heap: the teardown frees the filter through them after return */
  tu_clock *clk = gc_malloc(calloc(1, sizeof *clk));
  *clk = (tu_clock){T0};
  tu_alloc *alloc = gc_malloc(calloc(1, sizeof *alloc));
  hubc_store *s = gc_store(tu_open_alloc(clk, alloc, NULL));
  populate_many(s);
  hubc_selection sel = by_filter(compile(s, "city = 'Roma'"));
  char *before = gc_dump(s);
  hubc_bulk_summary p = {.version = HUBC_BULK_SUMMARY_VERSION};
  ok(hubc_bulk_plan(&p, s, ADMIN, HUBC_BULK_SET_MARKETING, &sel));
  uint64_t roma = MANY - MANY / 5, roma_marketing = MANY / 3 - MANY / 15;
  assert_int_equal(p.selected, roma);
  assert_int_equal(p.will_change, roma - roma_marketing);
  assert_int_equal(p.unchanged, roma_marketing);
  assert_int_equal(p.billable_after, MANY / 3 + p.will_change);
  int rc = -1;
  size_t k;
  for (k = 1; k < 1000 && rc != 0; k++) {
    alloc->count = 0;
    alloc->fail_at = k;
    hubc_bulk_summary done = {.version = HUBC_BULK_SUMMARY_VERSION};
    rc = hubc_bulk_commit(&done, s, ADMIN, HUBC_BULK_SET_MARKETING, &sel, roma);
    alloc->fail_at = 0;
    if (rc == 0) {
      assert_int_equal(done.will_change, p.will_change);
      assert_int_equal(done.unchanged, p.unchanged);
    } else {
      assert_int_equal(rc, HUBC_ENOMEM);
      assert_string_equal(gc_dump(s), before);
    }
  }
  assert_int_equal(rc, 0);
  assert_true(k > 4); /* the commit allocates: its failures were tried */
  assert_int_equal(billable(s), p.billable_after);
  assert_int_equal(history_entries(s), p.will_change);
}

/* S4, R1: the same large bulk through a backend failing at every callback
 * in turn changes nothing until it commits. */
static void s4_large_bulk_persistence_failure_at_every_callback_changes_nothing(void **state) {
  (void)state;
  tu_clock clk = {T0};
  tu_mem *m = gc_mem();
  hubc_store *s = gc_store(tu_open(&clk, &m->vtable));
  populate_many(s);
  hubc_selection sel = by_filter(compile(s, "city = 'Roma'"));
  char *before = gc_dump(s);
  uint64_t roma = MANY - MANY / 5;
  int rc = -1;
  long k;
  for (k = 1; k < 20000 && rc != 0; k += 1 + k / 4) { /* begin, early and late puts, commit */
    m->calls = 0;
    m->fail_at = k;
    m->fail_code = -1;
    rc = hubc_bulk_commit(NULL, s, ADMIN, HUBC_BULK_SET_MARKETING, &sel, roma);
    m->fail_at = 0;
    if (rc) {
      assert_int_equal(rc, HUBC_EPERSIST);
      assert_string_equal(gc_dump(s), before);
    }
  }
  if (rc) ok(hubc_bulk_commit(NULL, s, ADMIN, HUBC_BULK_SET_MARKETING, &sel, roma));
  assert_int_equal(history_entries(s), roma - (MANY / 3 - MANY / 15));
}

/* B5: under HARD_CAP, a selection of thousands refused by the cap changes
 * nothing, whichever chunk would cross it. */
static void s4_large_bulk_refused_by_hard_cap_changes_nothing(void **state) {
  (void)state;
  tu_clock clk = {T0};
  hubc_store *s = tu_open_hard_cap(&clk, MANY - 1); /* closed by the teardown */
  populate_many(s);
  hubc_selection sel = by_filter(compile(s, "hs_object_id > 0"));
  char *before = gc_dump(s);
  assert_int_equal(hubc_bulk_commit(NULL, s, ADMIN, HUBC_BULK_SET_MARKETING, &sel, MANY), HUBC_ELIMIT);
  assert_string_equal(gc_dump(s), before);
  hubc_selection fits = by_filter(compile(s, "hs_object_id < 10000"));
  ok(hubc_bulk_commit(NULL, s, ADMIN, HUBC_BULK_SET_MARKETING, &fits, MANY - 1));
  assert_int_equal(billable(s), MANY - 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(s4_ten_million_explicit_ids_count_each_contact_once, gc_teardown),
    cmocka_unit_test_teardown(s4_plan_reports_the_dialog_numbers_and_changes_nothing, gc_teardown),
    cmocka_unit_test_teardown(s4_commit_with_another_number_is_econfirm_naming_the_right_one, gc_teardown),
    cmocka_unit_test_teardown(s4_commit_sets_reason_bulk_with_the_acting_user, gc_teardown),
    cmocka_unit_test_teardown(s4_selection_is_evaluated_again_at_commit, gc_teardown),
    cmocka_unit_test_teardown(s5_bulk_non_marketing_is_pending_until_the_update_date, gc_teardown),
    cmocka_unit_test_teardown(s5_unengaged_preset_selects_billable_bounced_or_opted_out, gc_teardown),
    cmocka_unit_test_teardown(s4_empty_selection_and_explicit_id_answers, gc_teardown),
    cmocka_unit_test_teardown(s4_needs_p2_and_checks_arguments, gc_teardown),
    cmocka_unit_test_teardown(s4_hard_cap_refuses_the_whole_bulk, gc_teardown),
    cmocka_unit_test_teardown(s4_persistence_failure_at_every_callback_changes_nothing, gc_teardown),
    cmocka_unit_test_teardown(s4_large_bulk_allocation_failure_at_every_point_changes_nothing, gc_teardown),
    cmocka_unit_test_teardown(s4_large_bulk_persistence_failure_at_every_callback_changes_nothing, gc_teardown),
    cmocka_unit_test_teardown(s4_large_bulk_refused_by_hard_cap_changes_nothing, gc_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
