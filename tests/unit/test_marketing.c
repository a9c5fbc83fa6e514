/* Marketing status (M1–M8) and default status by creation source (D1–D3).
 *
 * Every store here opens at T0 = 2024-03-10 12:00:00 UTC with the renewal
 * anchor at the first open, so the update dates fall on the 10th of each
 * month at 00:00:00 (the first one is 2024-04-10). */
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

#define ADMIN ((hubc_id)1)

/* Cleanup registry (gc_*) lives in testutil: a failing assertion leaves
 * by longjmp, the teardown releases what the test registered. */

static void contact_free_cb(void *p) { hubc_contact_free(p); }
static hubc_contact *gc_contact(hubc_contact *c) { return gc_defer(contact_free_cb, c); }
static void citer_free_cb(void *p) { hubc_contact_iterator_free(p); }
static void hiter_free_cb(void *p) { hubc_history_iterator_free(p); }

/* ---- helpers ------------------------------------------------------------ */

/* ev_log, ev_cb, ev_count: testutil */

typedef struct fx {
  tu_clock clk;
  hubc_store *s;
  ev_log ev;
  hubc_id p2;   /* a user with default permissions (P2 included) */
  hubc_id nop2; /* a user without marketing contact access */
} fx;

static hubc_time T0(void) { return tu_time(2024, 3, 10, 12, 0, 0); }

static void fx_users(fx *f) {
  assert_int_equal(hubc_user_create(&f->p2, f->s, ADMIN, "p2@example.com"), 0);
  assert_int_equal(hubc_user_create(&f->nop2, f->s, ADMIN, "nop2@example.com"), 0);
  assert_int_equal(hubc_user_set_permissions(f->s, ADMIN, f->nop2, HUBC_PERM_DEFAULT & ~HUBC_PERM_MARKETING_ACCESS), 0);
}

static void fx_free_cb(void *p) {
  fx *f = p;
  free(f->ev.ev);
  free(f);
}

/* A store at T0 with the two users, recording events; released at teardown. */
static fx *fx_new(void) {
  fx *f = gc_defer(fx_free_cb, calloc(1, sizeof(fx)));
  f->clk.now = T0();
  f->s = gc_store(tu_open(&f->clk, NULL));
  fx_users(f);
  assert_int_equal(hubc_store_set_event_callback(f->s, ev_cb, &f->ev), 0);
  return f;
}

static int status_of(hubc_store *s, hubc_id id) {
  hubc_contact *c = NULL;
  int rc = hubc_contact_get(&c, s, id);
  if (rc) fail_msg("get %lld: %d %s", (long long)id, rc, hubc_error_last());
  int st = hubc_contact_status(c);
  hubc_contact_free(c);
  return st;
}

static void reason_of(hubc_store *s, hubc_id id, int *type, hubc_id *rid) {
  hubc_contact *c = NULL;
  assert_int_equal(hubc_contact_get(&c, s, id), 0);
  gc_contact(c);
  assert_int_equal(hubc_contact_reason(type, rid, c), 0);
  gc_release(c);
}

static void assert_str_or_null(const char *got, const char *want, const char *what) {
  if (!want) {
    if (got) fail_msg("%s: expected unset, got '%s'", what, got);
    return;
  }
  if (!got) fail_msg("%s: expected '%s', got unset", what, want);
  if (strcmp(got, want) != 0) fail_msg("%s: expected '%s', got '%s'", what, want, got);
}

/* M1: the four read-only marketing properties of a snapshot. */
static void expect_m1(const hubc_contact *c, const char *status, const char *until, const char *rtype,
                      const char *rid) {
  assert_str_or_null(hubc_contact_prop(c, "hs_marketable_status"), status, "hs_marketable_status");
  assert_str_or_null(hubc_contact_prop(c, "hs_marketable_until_renewal"), until, "hs_marketable_until_renewal");
  assert_str_or_null(hubc_contact_prop(c, "hs_marketable_reason_type"), rtype, "hs_marketable_reason_type");
  assert_str_or_null(hubc_contact_prop(c, "hs_marketable_reason_id"), rid, "hs_marketable_reason_id");
}

static void expect_m1_id(hubc_store *s, hubc_id id, const char *status, const char *until, const char *rtype,
                         const char *rid) {
  hubc_contact *c = NULL;
  assert_int_equal(hubc_contact_get(&c, s, id), 0);
  gc_contact(c);
  expect_m1(c, status, until, rtype, rid);
  gc_release(c);
}

/* Reads a contact's history (contact 0: all) into a malloc'd array. */
static hubc_history_entry *hist_read(hubc_store *s, hubc_id contact, size_t *n_out) {
  hubc_history_iterator *it = NULL;
  assert_int_equal(hubc_history_iterator_new(&it, s, contact), 0);
  gc_defer(hiter_free_cb, it);
  size_t n = 0, cap = 16;
  hubc_history_entry *v = malloc(cap * sizeof *v);
  assert_non_null(v);
  for (;;) {
    hubc_history_entry e;
    memset(&e, 0, sizeof e);
    e.version = HUBC_HISTORY_ENTRY_VERSION;
    int rc = hubc_history_iterator_next(&e, it);
    if (rc == HUBC_ITEROVER) break;
    assert_int_equal(rc, 0);
    if (n == cap) {
      cap *= 2;
      v = realloc(v, cap * sizeof *v);
      assert_non_null(v);
    }
    v[n++] = e;
  }
  gc_release(it);
  *n_out = n;
  return gc_malloc(v);
}

static size_t hist_count(hubc_store *s, hubc_id contact) {
  size_t n;
  gc_release(hist_read(s, contact, &n));
  return n;
}

static void billing(hubc_store *s, hubc_billing_info *b) {
  memset(b, 0, sizeof *b);
  b->version = HUBC_BILLING_INFO_VERSION;
  assert_int_equal(hubc_billing_get(b, s), 0);
}

static hubc_id mk(fx *f, const char *email) { return tu_contact(f->s, ADMIN, email, "X"); }

static hubc_id create_src(hubc_store *s, hubc_id actor, int source, hubc_id source_id, int marketing,
                          const char *email) {
  hubc_create_options o = HUBC_CREATE_OPTIONS_INIT;
  o.source = source;
  o.source_id = source_id;
  o.marketing = marketing;
  const char *names[] = {"email"};
  const char *values[] = {email};
  hubc_id id = 0;
  int rc = hubc_contact_create(&id, s, actor, &o, names, values, 1);
  if (rc) fail_msg("create %s (source %d): %d %s", email, source, rc, hubc_error_last());
  assert_true(id > 0);
  return id;
}

static void expect_history_entry(const hubc_history_entry *e, hubc_id contact, hubc_time t, int old_st, int new_st,
                                 int rtype, hubc_id rid, hubc_id actor) {
  assert_int_equal(e->contact, contact);
  assert_int_equal(e->time, t);
  assert_int_equal(e->old_status, old_st);
  assert_int_equal(e->new_status, new_st);
  assert_int_equal(e->reason_type, rtype);
  assert_int_equal(e->reason_id, rid);
  assert_int_equal(e->actor, actor);
}

static void expect_status_event(const hubc_event *e, hubc_id contact, int old_st, int new_st, int rtype, hubc_id rid,
                                hubc_id actor) {
  assert_int_equal(e->type, HUBC_EVENT_STATUS);
  assert_int_equal(e->contact, contact);
  assert_int_equal(e->old_status, old_st);
  assert_int_equal(e->new_status, new_st);
  assert_int_equal(e->reason_type, rtype);
  assert_int_equal(e->reason_id, rid);
  assert_int_equal(e->actor, actor);
}

static int contains(const char *hay, const char *needle) { return hay && strstr(hay, needle) != NULL; }

/* ---- M1 ------------------------------------------------------------------ */

static void m1_marketable_properties_for_each_state(void **state) {
  (void)state;
  fx *f = fx_new();
  hubc_id id = mk(f, "anna@example.com");

  hubc_contact *non = NULL;
  assert_int_equal(hubc_contact_get(&non, f->s, id), 0);
  gc_contact(non);
  expect_m1(non, "false", "false", NULL, NULL);

  assert_int_equal(hubc_contact_set_marketing(f->s, HUBC_SYSTEM, id, HUBC_SOURCE_INTEGRATION, 42), 0);
  hubc_contact *mkt = NULL;
  assert_int_equal(hubc_contact_get(&mkt, f->s, id), 0);
  gc_contact(mkt);
  assert_int_equal(hubc_contact_status(mkt), HUBC_MARKETING);
  expect_m1(mkt, "true", "false", "INTEGRATION", "42");
  int rt;
  hubc_id rid;
  assert_int_equal(hubc_contact_reason(&rt, &rid, mkt), 0);
  assert_int_equal(rt, HUBC_SOURCE_INTEGRATION);
  assert_int_equal(rid, 42);

  assert_int_equal(hubc_contact_set_non_marketing(f->s, f->p2, id, HUBC_SOURCE_MANUAL, 2), 0);
  hubc_contact *until = NULL;
  assert_int_equal(hubc_contact_get(&until, f->s, id), 0);
  gc_contact(until);
  assert_int_equal(hubc_contact_status(until), HUBC_MARKETING_UNTIL_UPDATE);
  /* the reason stays the one that made it marketing */
  expect_m1(until, "true", "true", "INTEGRATION", "42");

  /* snapshots are immutable: the earlier ones still show their state */
  expect_m1(non, "false", "false", NULL, NULL);
  expect_m1(mkt, "true", "false", "INTEGRATION", "42");

  f->clk.now = tu_time(2024, 4, 10, 0, 0, 0); /* the update date */
  expect_m1_id(f->s, id, "false", "false", NULL, NULL);
  assert_int_equal(status_of(f->s, id), HUBC_NON_MARKETING);
  expect_m1(until, "true", "true", "INTEGRATION", "42");

  /* the marketing properties are read-only through the generic setter */
  char *before = gc_dump(f->s);
  static const char *const ro[] = {"hs_marketable_status", "hs_marketable_until_renewal",
                                   "hs_marketable_reason_type", "hs_marketable_reason_id"};
  for (size_t i = 0; i < sizeof ro / sizeof *ro; i++) {
    const char *names[] = {ro[i]};
    const char *values[] = {"true"};
    assert_int_equal(hubc_contact_update(f->s, ADMIN, id, names, values, 1), HUBC_EREADONLY);
    assert_true(contains(hubc_error_last(), ro[i]));
  }
  tu_expect_dump(f->s, before, "the calls before");
  gc_release(before);

  gc_release(non);
  gc_release(mkt);
  gc_release(until);
}

/* ---- M2/M3/M4 transitions ------------------------------------------------ */

static void m3_set_marketing_from_non_takes_effect_at_once(void **state) {
  (void)state;
  fx *f = fx_new();
  hubc_id id = mk(f, "a@example.com");
  f->clk.now += 60;
  f->ev.n = 0;
  assert_int_equal(hubc_contact_set_marketing(f->s, f->p2, id, HUBC_SOURCE_MANUAL, 0), 0);
  assert_int_equal(status_of(f->s, id), HUBC_MARKETING);
  int rt;
  hubc_id rid;
  reason_of(f->s, id, &rt, &rid);
  assert_int_equal(rt, HUBC_SOURCE_MANUAL);
  assert_int_equal(rid, f->p2); /* a user's manual change: the user is the reason */

  size_t n;
  hubc_history_entry *h = hist_read(f->s, id, &n);
  assert_int_equal(n, 1);
  expect_history_entry(&h[0], id, T0() + 60, HUBC_NON_MARKETING, HUBC_MARKETING, HUBC_SOURCE_MANUAL, f->p2, f->p2);
  gc_release(h);

  assert_int_equal(ev_count(&f->ev, HUBC_EVENT_STATUS), 1);
  expect_status_event(&f->ev.ev[0], id, HUBC_NON_MARKETING, HUBC_MARKETING, HUBC_SOURCE_MANUAL, f->p2, f->p2);
  assert_int_equal(f->ev.ev[0].time, T0() + 60);
  assert_int_equal(f->ev.ev[0].billable, 1);

  hubc_billing_info b;
  billing(f->s, &b);
  assert_int_equal(b.billable, 1);
  assert_int_equal(b.marketing, 1);
}

static void m3_set_marketing_on_until_update_cancels_the_pending_request(void **state) {
  (void)state;
  fx *f = fx_new();
  hubc_id id = mk(f, "a@example.com");
  assert_int_equal(hubc_contact_set_marketing(f->s, HUBC_SYSTEM, id, HUBC_SOURCE_INTEGRATION, 5), 0);
  assert_int_equal(hubc_contact_set_non_marketing(f->s, ADMIN, id, HUBC_SOURCE_MANUAL, 1), 0);
  assert_int_equal(status_of(f->s, id), HUBC_MARKETING_UNTIL_UPDATE);

  f->ev.n = 0;
  f->clk.now += 3600;
  assert_int_equal(hubc_contact_set_marketing(f->s, HUBC_SYSTEM, id, HUBC_SOURCE_CHATFLOW, 9), 0);
  assert_int_equal(status_of(f->s, id), HUBC_MARKETING);
  int rt;
  hubc_id rid;
  reason_of(f->s, id, &rt, &rid);
  assert_int_equal(rt, HUBC_SOURCE_CHATFLOW); /* the new reason is recorded */
  assert_int_equal(rid, 9);
  assert_int_equal(ev_count(&f->ev, HUBC_EVENT_STATUS), 1);
  expect_status_event(&f->ev.ev[0], id, HUBC_MARKETING_UNTIL_UPDATE, HUBC_MARKETING, HUBC_SOURCE_CHATFLOW, 9, HUBC_SYSTEM);

  size_t n;
  hubc_history_entry *h = hist_read(f->s, id, &n);
  assert_int_equal(n, 3);
  expect_history_entry(&h[2], id, T0() + 3600, HUBC_MARKETING_UNTIL_UPDATE, HUBC_MARKETING, HUBC_SOURCE_CHATFLOW, 9,
                       HUBC_SYSTEM);
  gc_release(h);

  /* the pending request is gone: the update date leaves it MARKETING */
  f->clk.now = tu_time(2024, 4, 10, 0, 0, 0);
  assert_int_equal(hubc_store_tick(f->s), 0);
  assert_int_equal(status_of(f->s, id), HUBC_MARKETING);
  assert_int_equal(hist_count(f->s, id), 3);
  f->clk.now = tu_time(2024, 6, 1, 0, 0, 0);
  assert_int_equal(status_of(f->s, id), HUBC_MARKETING);
}

static void m3_set_marketing_on_marketing_is_a_noop_keeping_the_original_reason(void **state) {
  (void)state;
  fx *f = fx_new();
  hubc_id id = mk(f, "a@example.com");
  assert_int_equal(hubc_contact_set_marketing(f->s, HUBC_SYSTEM, id, HUBC_SOURCE_INTEGRATION, 5), 0);
  f->clk.now += 120;
  char *before = gc_dump(f->s);
  size_t hn = hist_count(f->s, 0);
  f->ev.n = 0;
  assert_int_equal(hubc_contact_set_marketing(f->s, f->p2, id, HUBC_SOURCE_MANUAL, 0), 0);
  assert_string_equal(hubc_error_last(), "");
  assert_int_equal(f->ev.n, 0);
  assert_int_equal(hist_count(f->s, 0), hn);
  int rt;
  hubc_id rid;
  reason_of(f->s, id, &rt, &rid);
  assert_int_equal(rt, HUBC_SOURCE_INTEGRATION);
  assert_int_equal(rid, 5);
  expect_m1_id(f->s, id, "true", "false", "INTEGRATION", "5");
  tu_expect_dump(f->s, before, "the calls before");
  gc_release(before);
}

static void m4_set_non_marketing_on_marketing_is_pending_until_update(void **state) {
  (void)state;
  fx *f = fx_new();
  hubc_id id = mk(f, "a@example.com");
  assert_int_equal(hubc_contact_set_marketing(f->s, ADMIN, id, HUBC_SOURCE_MANUAL, 1), 0);
  f->clk.now += 500;
  f->ev.n = 0;
  assert_int_equal(hubc_contact_set_non_marketing(f->s, f->p2, id, HUBC_SOURCE_MANUAL, 0), 0);
  assert_int_equal(status_of(f->s, id), HUBC_MARKETING_UNTIL_UPDATE);
  expect_m1_id(f->s, id, "true", "true", "MANUAL", "1");

  hubc_billing_info b;
  billing(f->s, &b);
  assert_int_equal(b.billable, 1); /* still billable until the update date */
  assert_int_equal(b.marketing, 0);
  assert_int_equal(b.until_update, 1);

  assert_int_equal(ev_count(&f->ev, HUBC_EVENT_STATUS), 1);
  expect_status_event(&f->ev.ev[0], id, HUBC_MARKETING, HUBC_MARKETING_UNTIL_UPDATE, HUBC_SOURCE_MANUAL, f->p2, f->p2);
  size_t n;
  hubc_history_entry *h = hist_read(f->s, id, &n);
  assert_int_equal(n, 2);
  expect_history_entry(&h[1], id, T0() + 500, HUBC_MARKETING, HUBC_MARKETING_UNTIL_UPDATE, HUBC_SOURCE_MANUAL, f->p2,
                       f->p2);
  gc_release(h);

  /* one second before the update date: still pending */
  f->clk.now = tu_time(2024, 4, 9, 23, 59, 59);
  assert_int_equal(status_of(f->s, id), HUBC_MARKETING_UNTIL_UPDATE);
}

static void m4_set_non_marketing_on_non_or_until_update_is_a_noop(void **state) {
  (void)state;
  fx *f = fx_new();
  hubc_id non = mk(f, "non@example.com");
  hubc_id until = mk(f, "until@example.com");
  assert_int_equal(hubc_contact_set_marketing(f->s, ADMIN, until, HUBC_SOURCE_MANUAL, 1), 0);
  assert_int_equal(hubc_contact_set_non_marketing(f->s, ADMIN, until, HUBC_SOURCE_MANUAL, 1), 0);
  f->clk.now += 10;
  char *before = gc_dump(f->s);
  f->ev.n = 0;
  assert_int_equal(hubc_contact_set_non_marketing(f->s, f->p2, non, HUBC_SOURCE_MANUAL, 4), 0);
  assert_int_equal(hubc_contact_set_non_marketing(f->s, f->p2, until, HUBC_SOURCE_MANUAL, 4), 0);
  assert_int_equal(f->ev.n, 0);
  assert_int_equal(status_of(f->s, non), HUBC_NON_MARKETING);
  assert_int_equal(status_of(f->s, until), HUBC_MARKETING_UNTIL_UPDATE);
  assert_int_equal(hist_count(f->s, non), 0);
  assert_int_equal(hist_count(f->s, until), 2);
  tu_expect_dump(f->s, before, "the calls before");
  gc_release(before);
}

static void m3_m4_refused_calls_change_nothing_and_raise_no_event(void **state) {
  (void)state;
  fx *f = fx_new();
  hubc_id id = mk(f, "a@example.com");
  hubc_id gone = mk(f, "gone@example.com");
  assert_int_equal(hubc_contact_delete(f->s, ADMIN, gone), 0);
  hubc_id off;
  assert_int_equal(hubc_user_create(&off, f->s, ADMIN, "off@example.com"), 0);
  assert_int_equal(hubc_user_set_disabled(f->s, ADMIN, off, 1), 0);
  char *before = gc_dump(f->s);
  f->ev.n = 0;
  for (int target = 0; target < 2; target++) {
    int (*call)(hubc_store *, hubc_id, hubc_id, int, hubc_id) =
        target ? hubc_contact_set_marketing : hubc_contact_set_non_marketing;
    assert_int_equal(call(f->s, f->nop2, id, HUBC_SOURCE_MANUAL, 1), HUBC_EPERM);
    assert_true(contains(hubc_error_last(), "marketing contact access"));
    assert_int_equal(call(f->s, off, id, HUBC_SOURCE_MANUAL, 1), HUBC_EPERM);
    assert_true(contains(hubc_error_last(), "disabled"));
    assert_int_equal(call(f->s, 999, id, HUBC_SOURCE_MANUAL, 1), HUBC_EPERM);
    assert_int_equal(call(f->s, ADMIN, gone, HUBC_SOURCE_MANUAL, 1), HUBC_ENOTFOUND);
    assert_true(contains(hubc_error_last(), "record id"));
    assert_int_equal(call(f->s, ADMIN, 12345, HUBC_SOURCE_MANUAL, 1), HUBC_ENOTFOUND);
    assert_int_equal(call(f->s, ADMIN, 0, HUBC_SOURCE_MANUAL, 1), HUBC_ENOTFOUND);
    assert_int_equal(call(f->s, ADMIN, -3, HUBC_SOURCE_MANUAL, 1), HUBC_ENOTFOUND);
    assert_int_equal(call(f->s, ADMIN, id, 0, 1), HUBC_EINVAL);
    assert_true(contains(hubc_error_last(), "reason type"));
    assert_int_equal(call(f->s, ADMIN, id, 99, 1), HUBC_EINVAL);
    assert_int_equal(call(f->s, ADMIN, id, HUBC_SOURCE_UPDATE_DATE, 1), HUBC_EINVAL);
    assert_int_equal(call(NULL, ADMIN, id, HUBC_SOURCE_MANUAL, 1), HUBC_EINVAL);
  }
  assert_int_equal(f->ev.n, 0);
  tu_expect_dump(f->s, before, "the calls before");
  assert_int_equal(status_of(f->s, id), HUBC_NON_MARKETING);
  gc_release(before);
}

static void m3_m4_status_events_report_each_change_and_none_for_refused_calls(void **state) {
  (void)state;
  fx *f = fx_new();
  hubc_id a = mk(f, "a@example.com");
  hubc_id b = mk(f, "b@example.com");
  f->ev.n = 0;
  assert_int_equal(hubc_contact_set_marketing(f->s, ADMIN, a, HUBC_SOURCE_MANUAL, 1), 0);
  assert_int_equal(hubc_contact_set_marketing(f->s, HUBC_SYSTEM, b, HUBC_SOURCE_INTEGRATION, 3), 0);
  assert_int_equal(hubc_contact_set_marketing(f->s, f->nop2, a, HUBC_SOURCE_MANUAL, 1), HUBC_EPERM);
  assert_int_equal(hubc_contact_set_non_marketing(f->s, f->nop2, a, HUBC_SOURCE_MANUAL, 1), HUBC_EPERM);
  assert_int_equal(hubc_contact_set_non_marketing(f->s, f->p2, a, HUBC_SOURCE_MANUAL, 2), 0);
  assert_int_equal(hubc_contact_set_non_marketing(f->s, f->p2, a, HUBC_SOURCE_MANUAL, 2), 0); /* no-op */
  assert_int_equal(hubc_contact_set_marketing(f->s, HUBC_SYSTEM, b, HUBC_SOURCE_INTEGRATION, 4), 0); /* no-op */
  assert_int_equal(f->ev.n, 3);
  expect_status_event(&f->ev.ev[0], a, HUBC_NON_MARKETING, HUBC_MARKETING, HUBC_SOURCE_MANUAL, 1, ADMIN);
  assert_int_equal(f->ev.ev[0].billable, 1);
  expect_status_event(&f->ev.ev[1], b, HUBC_NON_MARKETING, HUBC_MARKETING, HUBC_SOURCE_INTEGRATION, 3, HUBC_SYSTEM);
  assert_int_equal(f->ev.ev[1].billable, 2);
  expect_status_event(&f->ev.ev[2], a, HUBC_MARKETING, HUBC_MARKETING_UNTIL_UPDATE, HUBC_SOURCE_MANUAL, 2, f->p2);
  assert_int_equal(f->ev.ev[2].billable, 2);
  for (size_t i = 0; i < f->ev.n; i++) {
    assert_int_equal(f->ev.ev[i].version, HUBC_EVENT_VERSION);
    assert_int_equal(f->ev.ev[i].time, T0());
  }

  /* the update date: one event per contact that changes */
  f->ev.n = 0;
  f->clk.now = tu_time(2024, 4, 10, 0, 0, 1);
  assert_int_equal(hubc_store_tick(f->s), 0);
  assert_int_equal(ev_count(&f->ev, HUBC_EVENT_STATUS), 1);
  for (size_t i = 0; i < f->ev.n; i++)
    if (f->ev.ev[i].type == HUBC_EVENT_STATUS) {
      expect_status_event(&f->ev.ev[i], a, HUBC_MARKETING_UNTIL_UPDATE, HUBC_NON_MARKETING, HUBC_SOURCE_UPDATE_DATE, 0,
                          HUBC_SYSTEM);
      assert_int_equal(f->ev.ev[i].time, tu_time(2024, 4, 10, 0, 0, 0));
      assert_int_equal(f->ev.ev[i].billable, 1);
    }

  /* unregistering stops delivery */
  assert_int_equal(hubc_store_set_event_callback(f->s, NULL, NULL), 0);
  f->ev.n = 0;
  assert_int_equal(hubc_contact_set_marketing(f->s, ADMIN, a, HUBC_SOURCE_MANUAL, 1), 0);
  assert_int_equal(f->ev.n, 0);
}

/* ---- M5, M6 -------------------------------------------------------------- */

static void m5_update_date_turns_every_until_update_into_non_marketing(void **state) {
  (void)state;
  fx *f = fx_new();
  hubc_id u[3], m, n;
  char email[64];
  for (int i = 0; i < 3; i++) {
    snprintf(email, sizeof email, "u%d@example.com", i);
    u[i] = mk(f, email);
    assert_int_equal(hubc_contact_set_marketing(f->s, ADMIN, u[i], HUBC_SOURCE_MANUAL, 1), 0);
    assert_int_equal(hubc_contact_set_non_marketing(f->s, ADMIN, u[i], HUBC_SOURCE_MANUAL, 1), 0);
  }
  m = mk(f, "m@example.com");
  assert_int_equal(hubc_contact_set_marketing(f->s, ADMIN, m, HUBC_SOURCE_MANUAL, 1), 0);
  n = mk(f, "n@example.com");

  hubc_billing_info b;
  billing(f->s, &b);
  assert_int_equal(b.next_update, tu_time(2024, 4, 10, 0, 0, 0));
  assert_int_equal(b.billable, 4);

  f->clk.now = tu_time(2024, 4, 9, 23, 59, 59);
  billing(f->s, &b);
  assert_int_equal(b.until_update, 3);

  f->clk.now = tu_time(2024, 4, 10, 0, 0, 0);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(status_of(f->s, u[i]), HUBC_NON_MARKETING);
    size_t hn;
    hubc_history_entry *h = hist_read(f->s, u[i], &hn);
    assert_int_equal(hn, 3);
    expect_history_entry(&h[2], u[i], tu_time(2024, 4, 10, 0, 0, 0), HUBC_MARKETING_UNTIL_UPDATE,
                         HUBC_NON_MARKETING, HUBC_SOURCE_UPDATE_DATE, 0, HUBC_SYSTEM);
    gc_release(h);
    expect_m1_id(f->s, u[i], "false", "false", NULL, NULL);
  }
  assert_int_equal(status_of(f->s, m), HUBC_MARKETING);
  assert_int_equal(status_of(f->s, n), HUBC_NON_MARKETING);
  assert_int_equal(hist_count(f->s, n), 0);
  billing(f->s, &b);
  assert_int_equal(b.billable, 1);
  assert_int_equal(b.until_update, 0);
  assert_int_equal(b.non_marketing, 4);
  assert_int_equal(b.next_update, tu_time(2024, 5, 10, 0, 0, 0));

  /* NON stays NON across later update dates */
  f->clk.now = tu_time(2024, 7, 11, 0, 0, 0);
  for (int i = 0; i < 3; i++) assert_int_equal(status_of(f->s, u[i]), HUBC_NON_MARKETING);
  assert_int_equal(status_of(f->s, n), HUBC_NON_MARKETING);
  assert_int_equal(status_of(f->s, m), HUBC_MARKETING);
  assert_int_equal(hist_count(f->s, 0), 3 * 3 + 1);
}

static void m6_billable_is_marketing_plus_until_update(void **state) {
  (void)state;
  fx *f = fx_new();
  hubc_id ids[10];
  char email[64];
  for (int i = 0; i < 10; i++) {
    snprintf(email, sizeof email, "c%d@example.com", i);
    ids[i] = mk(f, email);
  }
  hubc_billing_info b;
  billing(f->s, &b);
  assert_int_equal(b.billable, 0);
  assert_int_equal(b.non_marketing, 10);
  for (int i = 0; i < 6; i++) assert_int_equal(hubc_contact_set_marketing(f->s, ADMIN, ids[i], HUBC_SOURCE_MANUAL, 1), 0);
  for (int i = 0; i < 2; i++)
    assert_int_equal(hubc_contact_set_non_marketing(f->s, ADMIN, ids[i], HUBC_SOURCE_MANUAL, 1), 0);
  billing(f->s, &b);
  assert_int_equal(b.marketing, 4);
  assert_int_equal(b.until_update, 2);
  assert_int_equal(b.non_marketing, 4);
  assert_int_equal(b.billable, 6);
  assert_int_equal(b.billable, b.marketing + b.until_update);

  hubc_contact_iterator *it;
  assert_int_equal(hubc_contact_iterator_new(&it, f->s, HUBC_SELECT_BILLABLE), 0);
  gc_defer(citer_free_cb, it);
  hubc_id got;
  int k = 0;
  while (hubc_contact_iterator_next(&got, it) == 0) {
    assert_int_equal(got, ids[k]);
    k++;
  }
  gc_release(it);
  assert_int_equal(k, 6);

  /* deleting a billable contact and a non-marketing one */
  assert_int_equal(hubc_contact_delete(f->s, ADMIN, ids[0]), 0); /* UNTIL_UPDATE */
  assert_int_equal(hubc_contact_delete(f->s, ADMIN, ids[9]), 0); /* NON */
  billing(f->s, &b);
  assert_int_equal(b.billable, 5);
  assert_int_equal(b.until_update, 1);
  assert_int_equal(b.non_marketing, 3);

  f->clk.now = tu_time(2024, 4, 10, 0, 0, 0);
  billing(f->s, &b);
  assert_int_equal(b.billable, 4);
  assert_int_equal(b.marketing, 4);
  assert_int_equal(b.non_marketing, 4);
}

/* ---- M7 history -------------------------------------------------------- */

static void m7_history_records_time_states_reason_and_actor(void **state) {
  (void)state;
  fx *f = fx_new();
  hubc_id a = mk(f, "a@example.com");
  hubc_id b = mk(f, "b@example.com");
  hubc_time t1 = T0() + 10, t2 = T0() + 20, t3 = T0() + 30, t4 = T0() + 40;
  f->clk.now = t1;
  assert_int_equal(hubc_contact_set_marketing(f->s, f->p2, a, HUBC_SOURCE_MANUAL, 2), 0);
  f->clk.now = t2;
  assert_int_equal(hubc_contact_set_marketing(f->s, HUBC_SYSTEM, b, HUBC_SOURCE_INTEGRATION, 8), 0);
  f->clk.now = t3;
  assert_int_equal(hubc_contact_set_non_marketing(f->s, ADMIN, a, HUBC_SOURCE_MANUAL, 0), 0);
  f->clk.now = t4;
  assert_int_equal(hubc_contact_set_marketing(f->s, HUBC_SYSTEM, a, HUBC_SOURCE_CHATFLOW, 3), 0);

  size_t n;
  hubc_history_entry *all = hist_read(f->s, 0, &n);
  assert_int_equal(n, 4);
  expect_history_entry(&all[0], a, t1, HUBC_NON_MARKETING, HUBC_MARKETING, HUBC_SOURCE_MANUAL, 2, f->p2);
  expect_history_entry(&all[1], b, t2, HUBC_NON_MARKETING, HUBC_MARKETING, HUBC_SOURCE_INTEGRATION, 8, HUBC_SYSTEM);
  expect_history_entry(&all[2], a, t3, HUBC_MARKETING, HUBC_MARKETING_UNTIL_UPDATE, HUBC_SOURCE_MANUAL, ADMIN, ADMIN);
  expect_history_entry(&all[3], a, t4, HUBC_MARKETING_UNTIL_UPDATE, HUBC_MARKETING, HUBC_SOURCE_CHATFLOW, 3, HUBC_SYSTEM);
  for (size_t i = 0; i < n; i++) assert_int_equal(all[i].seq, (hubc_id)i + 1);

  size_t na;
  hubc_history_entry *ha = hist_read(f->s, a, &na);
  assert_int_equal(na, 3);
  assert_memory_equal(&ha[0], &all[0], sizeof ha[0]);
  assert_memory_equal(&ha[1], &all[2], sizeof ha[0]);
  assert_memory_equal(&ha[2], &all[3], sizeof ha[0]);
  gc_release(ha);
  assert_int_equal(hist_count(f->s, b), 1);
  assert_int_equal(hist_count(f->s, 9999), 0); /* no such contact: empty */

  /* deleted: its entries remain readable, per contact and in the full log */
  assert_int_equal(hubc_contact_delete(f->s, ADMIN, a), 0);
  hubc_contact *gone = NULL;
  assert_int_equal(hubc_contact_get(&gone, f->s, a), HUBC_ENOTFOUND);
  ha = hist_read(f->s, a, &na);
  assert_int_equal(na, 3);
  assert_memory_equal(&ha[2], &all[3], sizeof ha[0]);
  gc_release(ha);

  /* never rewritten: later changes only append */
  f->clk.now = tu_time(2024, 4, 10, 0, 0, 0);
  assert_int_equal(hubc_contact_set_non_marketing(f->s, ADMIN, b, HUBC_SOURCE_MANUAL, 1), 0);
  size_t n2;
  hubc_history_entry *all2 = hist_read(f->s, 0, &n2);
  assert_int_equal(n2, 5);
  assert_memory_equal(all2, all, 4 * sizeof *all);
  expect_history_entry(&all2[4], b, tu_time(2024, 4, 10, 0, 0, 0), HUBC_MARKETING, HUBC_MARKETING_UNTIL_UPDATE,
                       HUBC_SOURCE_MANUAL, 1, ADMIN);
  gc_release(all2);
  gc_release(all);

  /* argument checks */
  hubc_history_iterator *it = NULL;
  assert_int_equal(hubc_history_iterator_new(&it, f->s, -1), HUBC_EINVAL);
  assert_null(it);
  assert_int_equal(hubc_history_iterator_new(NULL, f->s, 0), HUBC_EINVAL);
  assert_int_equal(hubc_history_iterator_new(&it, NULL, 0), HUBC_EINVAL);
  assert_int_equal(hubc_history_iterator_new(&it, f->s, 0), 0);
  gc_defer(hiter_free_cb, it);
  hubc_history_entry e;
  memset(&e, 0, sizeof e);
  e.version = 99;
  assert_int_equal(hubc_history_iterator_next(&e, it), HUBC_EVERSION);
  assert_int_equal(hubc_history_iterator_next(NULL, it), HUBC_EINVAL);
  gc_release(it);
  hubc_history_iterator_free(NULL);
}

static int failing_write(void *payload, const char *data, size_t len) {
  (void)payload;
  (void)data;
  (void)len;
  return 1;
}

static void m7_history_export_writes_rfc4180_csv(void **state) {
  (void)state;
  fx *f = fx_new();
  hubc_id a = mk(f, "a@example.com");
  hubc_id b = mk(f, "b@example.com");
  f->clk.now = tu_time(2024, 3, 10, 13, 5, 9);
  assert_int_equal(hubc_contact_set_marketing(f->s, f->p2, a, HUBC_SOURCE_MANUAL, 2), 0);
  assert_int_equal(hubc_contact_set_marketing(f->s, HUBC_SYSTEM, b, HUBC_SOURCE_INTEGRATION, 8), 0);
  assert_int_equal(hubc_contact_set_non_marketing(f->s, ADMIN, a, HUBC_SOURCE_MANUAL, 0), 0);
  f->clk.now = tu_time(2024, 4, 10, 0, 0, 0);
  assert_int_equal(hubc_store_tick(f->s), 0);

  tu_buf *all = gc_buf();
  assert_int_equal(hubc_history_export(f->s, 0, tu_buf_write, all), 0);
  char want[1024];
  snprintf(want, sizeof want,
           "seq,contact,time,old_status,new_status,reason_type,reason_id,actor\r\n"
           "1,%lld,2024-03-10T13:05:09Z,NON_MARKETING,MARKETING,MANUAL,2,%lld\r\n"
           "2,%lld,2024-03-10T13:05:09Z,NON_MARKETING,MARKETING,INTEGRATION,8,0\r\n"
           "3,%lld,2024-03-10T13:05:09Z,MARKETING,MARKETING_UNTIL_UPDATE,MANUAL,1,1\r\n"
           "4,%lld,2024-04-10T00:00:00Z,MARKETING_UNTIL_UPDATE,NON_MARKETING,UPDATE_DATE,0,0\r\n",
           (long long)a, (long long)f->p2, (long long)b, (long long)a, (long long)a);
  assert_string_equal(all->data, want);

  tu_buf *one = gc_buf();
  assert_int_equal(hubc_history_export(f->s, b, tu_buf_write, one), 0);
  snprintf(want, sizeof want,
           "seq,contact,time,old_status,new_status,reason_type,reason_id,actor\r\n"
           "2,%lld,2024-03-10T13:05:09Z,NON_MARKETING,MARKETING,INTEGRATION,8,0\r\n",
           (long long)b);
  assert_string_equal(one->data, want);

  /* a contact without history: the header row only */
  hubc_id c = mk(f, "c@example.com");
  tu_buf *none = gc_buf();
  assert_int_equal(hubc_history_export(f->s, c, tu_buf_write, none), 0);
  assert_string_equal(none->data, "seq,contact,time,old_status,new_status,reason_type,reason_id,actor\r\n");

  assert_int_equal(hubc_history_export(f->s, 0, failing_write, NULL), HUBC_EIO);
  assert_true(contains(hubc_error_last(), "write"));
  assert_int_equal(hubc_history_export(f->s, 0, NULL, NULL), HUBC_EINVAL);
  assert_int_equal(hubc_history_export(NULL, 0, tu_buf_write, none), HUBC_EINVAL);
  assert_int_equal(hubc_history_export(f->s, -5, tu_buf_write, none), HUBC_EINVAL);
}

static void m7_history_survives_persistence(void **state) {
  (void)state;
  tu_mem *mem = gc_mem();
  tu_clock clk = {T0()};
  hubc_store *s = gc_store(tu_open(&clk, &mem->vtable));
  hubc_id a = tu_contact(s, ADMIN, "a@example.com", "A");
  hubc_id b = tu_contact(s, ADMIN, "b@example.com", "B");
  clk.now += 5;
  assert_int_equal(hubc_contact_set_marketing(s, ADMIN, a, HUBC_SOURCE_MANUAL, 1), 0);
  assert_int_equal(hubc_contact_set_marketing(s, HUBC_SYSTEM, b, HUBC_SOURCE_INTEGRATION, 4), 0);
  assert_int_equal(hubc_contact_set_non_marketing(s, ADMIN, a, HUBC_SOURCE_MANUAL, 1), 0);
  assert_int_equal(hubc_contact_delete(s, ADMIN, b), 0);
  tu_buf *before = gc_buf();
  assert_int_equal(hubc_history_export(s, 0, tu_buf_write, before), 0);
  char *dump1 = gc_dump(s);
  gc_release(s);

  s = gc_store(tu_open(&clk, &mem->vtable));
  tu_buf *after = gc_buf();
  assert_int_equal(hubc_history_export(s, 0, tu_buf_write, after), 0);
  assert_string_equal(before->data, after->data);
  assert_int_equal(hist_count(s, b), 1); /* the deleted contact's entry too */
  assert_int_equal(status_of(s, a), HUBC_MARKETING_UNTIL_UPDATE);
  char *dump2 = gc_dump(s);
  assert_string_equal(dump1, dump2);

  /* the pending request survives too: the update date applies it */
  clk.now = tu_time(2024, 4, 10, 0, 0, 0);
  assert_int_equal(status_of(s, a), HUBC_NON_MARKETING);
  assert_int_equal(hist_count(s, 0), 4);
  gc_release(s);
}

/* ---- M7 randomized property test ---------------------------------------- */

typedef struct model_hist {
  hubc_id contact;
  hubc_time time;
  int old_status, new_status, reason_type;
  hubc_id reason_id, actor;
} model_hist;

typedef struct model {
  int status[4096];
  int alive[4096];
  hubc_id max_id;
  model_hist *h;
  size_t hn, hcap;
} model;

static void model_free_cb(void *p) {
  model *m = p;
  free(m->h);
  free(m);
}

static uint64_t rng;
static uint32_t rnd(void) {
  rng = rng * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)(rng >> 33);
}
static uint32_t rnd_below(uint32_t n) { return rnd() % n; }

static void model_change(model *m, hubc_id id, hubc_time t, int to, int rtype, hubc_id rid, hubc_id actor) {
  if (m->status[id] == to) return;
  if (m->hn == m->hcap) {
    m->hcap = m->hcap ? m->hcap * 2 : 256;
    m->h = realloc(m->h, m->hcap * sizeof *m->h);
    assert_non_null(m->h);
  }
  model_hist e = {id, t, m->status[id], to, rtype, rid, actor};
  m->h[m->hn++] = e;
  m->status[id] = to;
}

static void full_check(fx *f, model *m) {
  uint64_t want[3] = {0, 0, 0};
  for (hubc_id id = 1; id <= m->max_id; id++)
    if (m->alive[id]) want[m->status[id]]++;

  hubc_billing_info b;
  billing(f->s, &b);
  assert_int_equal(b.marketing, want[HUBC_MARKETING]);
  assert_int_equal(b.until_update, want[HUBC_MARKETING_UNTIL_UPDATE]);
  assert_int_equal(b.non_marketing, want[HUBC_NON_MARKETING]);
  assert_int_equal(b.billable, want[HUBC_MARKETING] + want[HUBC_MARKETING_UNTIL_UPDATE]);

  /* full recount through the iterator and snapshots */
  uint64_t got[3] = {0, 0, 0}, live = 0;
  hubc_contact_iterator *it;
  assert_int_equal(hubc_contact_iterator_new(&it, f->s, HUBC_SELECT_ALL), 0);
  gc_defer(citer_free_cb, it);
  hubc_id id;
  while (hubc_contact_iterator_next(&id, it) == 0) {
    assert_true(id >= 1 && id <= m->max_id);
    assert_true(m->alive[id]);
    int st = status_of(f->s, id);
    assert_int_equal(st, m->status[id]);
    got[st]++;
    live++;
  }
  gc_release(it);
  assert_int_equal(got[0], want[0]);
  assert_int_equal(got[1], want[1]);
  assert_int_equal(got[2], want[2]);
  uint64_t count;
  assert_int_equal(hubc_contact_count(&count, f->s), 0);
  assert_int_equal(count, live);

  static const int sel[] = {HUBC_SELECT_BILLABLE, HUBC_SELECT_MARKETING, HUBC_SELECT_UNTIL_UPDATE,
                            HUBC_SELECT_NON_MARKETING};
  const uint64_t sel_want[] = {want[1] + want[2], want[1], want[2], want[0]};
  for (int k = 0; k < 4; k++) {
    uint64_t c = 0;
    assert_int_equal(hubc_contact_iterator_new(&it, f->s, sel[k]), 0);
    gc_defer(citer_free_cb, it);
    while (hubc_contact_iterator_next(&id, it) == 0) c++;
    gc_release(it);
    assert_int_equal(c, sel_want[k]);
  }

  /* the whole log matches the model's, entry for entry, per contact */
  size_t n;
  hubc_history_entry *all = hist_read(f->s, 0, &n);
  assert_int_equal(n, m->hn);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(all[i].seq, (hubc_id)i + 1);
    if (i) assert_true(all[i].time >= all[i - 1].time);
  }
  /* one STATUS event per entry, in log order */
  size_t k_ev = 0;
  for (size_t i = 0; i < f->ev.n; i++) {
    const hubc_event *e = &f->ev.ev[i];
    if (e->type != HUBC_EVENT_STATUS) continue;
    assert_true(k_ev < n);
    expect_status_event(e, all[k_ev].contact, all[k_ev].old_status, all[k_ev].new_status, all[k_ev].reason_type,
                        all[k_ev].reason_id, all[k_ev].actor);
    assert_int_equal(e->time, all[k_ev].time);
    k_ev++;
  }
  assert_int_equal(k_ev, n);
  gc_release(all);
  for (hubc_id c = 1; c <= m->max_id; c++) {
    size_t hn;
    hubc_history_entry *h = hist_read(f->s, c, &hn);
    size_t k = 0;
    int replay = HUBC_NON_MARKETING;
    for (size_t i = 0; i < m->hn; i++) {
      const model_hist *e = &m->h[i];
      if (e->contact != c) continue;
      assert_true(k < hn);
      assert_int_equal(h[k].old_status, replay); /* entries chain */
      assert_int_not_equal(h[k].old_status, h[k].new_status);
      expect_history_entry(&h[k], c, e->time, e->old_status, e->new_status, e->reason_type, e->reason_id, e->actor);
      replay = h[k].new_status;
      k++;
    }
    assert_int_equal(k, hn);
    if (m->alive[c]) assert_int_equal(replay, m->status[c]); /* replay == current status */
    gc_release(h);
  }
}

static void m7_random_operations_keep_counts_and_history_consistent(void **state) {
  (void)state;
  fx *f = fx_new();
  assert_int_equal(hubc_source_set_default(f->s, ADMIN, HUBC_SOURCE_CHATFLOW, 7, 1), 0);
  model *m = gc_defer(model_free_cb, calloc(1, sizeof(model)));
  rng = 0x5eed2024u;
  const hubc_id actors[] = {HUBC_SYSTEM, ADMIN, f->p2, f->nop2};
  const int reasons[] = {HUBC_SOURCE_MANUAL,   HUBC_SOURCE_INTEGRATION, HUBC_SOURCE_CHATFLOW,
                         HUBC_SOURCE_WORKFLOW, HUBC_SOURCE_BULK,        HUBC_SOURCE_FORM};
  char email[64];
  int emails = 0;
  size_t refused = 0;

  for (int op = 0; op < 6000; op++) {
    uint32_t r = rnd_below(100);
    if (r < 15 || m->max_id == 0) { /* create */
      uint32_t kind = rnd_below(4);
      hubc_create_options o = HUBC_CREATE_OPTIONS_INIT;
      hubc_id actor;
      snprintf(email, sizeof email, "r%d@example.com", emails++);
      const char *names[] = {"email"};
      const char *values[] = {email};
      int expect_rc = 0, target = 0, rtype = HUBC_SOURCE_MANUAL;
      hubc_id rid = 0;
      if (kind == 0) { /* manual, maybe as marketing */
        actor = actors[1 + rnd_below(3)];
        o.marketing = (int)rnd_below(2);
        target = o.marketing;
        rid = actor;
        if (o.marketing && actor == f->nop2) expect_rc = HUBC_EPERM;
      } else if (kind == 1) {
        actor = HUBC_SYSTEM;
        o.source = HUBC_SOURCE_EXTERNAL_FORM;
        target = 1;
        rtype = HUBC_SOURCE_EXTERNAL_FORM;
      } else {
        actor = HUBC_SYSTEM;
        o.source = HUBC_SOURCE_CHATFLOW;
        o.source_id = kind == 2 ? 7 : 8;
        target = kind == 2;
        rtype = HUBC_SOURCE_CHATFLOW;
        rid = o.source_id;
      }
      hubc_id id = 0;
      int rc = hubc_contact_create(&id, f->s, actor, &o, names, values, 1);
      assert_int_equal(rc, expect_rc);
      if (!rc) {
        assert_int_equal(id, m->max_id + 1);
        assert_true(id < 4096);
        m->max_id = id;
        m->alive[id] = 1;
        m->status[id] = HUBC_NON_MARKETING;
        if (target) model_change(m, id, f->clk.now, HUBC_MARKETING, rtype, rid, actor);
      }
    } else if (r < 20) { /* delete, sometimes an id that is gone */
      hubc_id id = (hubc_id)rnd_below((uint32_t)m->max_id) + 1;
      int rc = hubc_contact_delete(f->s, ADMIN, id);
      assert_int_equal(rc, m->alive[id] ? 0 : HUBC_ENOTFOUND);
      m->alive[id] = 0;
    } else if (r < 90) { /* set marketing / non-marketing */
      int target = r < 55;
      hubc_id id = (hubc_id)rnd_below((uint32_t)m->max_id) + 1;
      hubc_id actor = actors[rnd_below(4)];
      /* mostly the actor's own reason; sometimes one it may not name */
      uint32_t pick = rnd_below(16);
      int rtype = pick >= 13 ? reasons[pick - 10] : actor != HUBC_SYSTEM ? HUBC_SOURCE_MANUAL : reasons[1 + pick % 2];
      hubc_id rid = (hubc_id)rnd_below(100) + 1;
      int rc = target ? hubc_contact_set_marketing(f->s, actor, id, rtype, rid)
                      : hubc_contact_set_non_marketing(f->s, actor, id, rtype, rid);
      /* the reason is the path's: a user's is MANUAL and the user; SYSTEM
       * names an app; the other reasons belong to their own calls */
      int reason_ok = actor == HUBC_SYSTEM ? rtype == HUBC_SOURCE_INTEGRATION || rtype == HUBC_SOURCE_CHATFLOW
                                           : rtype == HUBC_SOURCE_MANUAL;
      refused += !reason_ok;
      int expect_rc = !reason_ok ? HUBC_EINVAL : actor == f->nop2 ? HUBC_EPERM : !m->alive[id] ? HUBC_ENOTFOUND : 0;
      assert_int_equal(rc, expect_rc);
      if (actor != HUBC_SYSTEM) rid = actor;
      if (!rc) {
        int from = m->status[id];
        int to = target ? HUBC_MARKETING : from == HUBC_MARKETING ? HUBC_MARKETING_UNTIL_UPDATE : from;
        model_change(m, id, f->clk.now, to, rtype, rid, actor);
        assert_int_equal(status_of(f->s, id), to);
      }
    } else { /* the clock moves on, sometimes across update dates */
      hubc_billing_info b;
      billing(f->s, &b);
      hubc_time next = b.next_update;
      f->clk.now += (hubc_time)rnd_below(20 * 86400);
      if (f->clk.now >= next)
        for (hubc_id id = 1; id <= m->max_id; id++)
          if (m->alive[id] && m->status[id] == HUBC_MARKETING_UNTIL_UPDATE)
            model_change(m, id, next, HUBC_NON_MARKETING, HUBC_SOURCE_UPDATE_DATE, 0, HUBC_SYSTEM);
      if (rnd_below(2)) assert_int_equal(hubc_store_tick(f->s), 0);
    }
    if (op % 1000 == 999) full_check(f, m);
  }
  hubc_billing_info b;
  billing(f->s, &b);
  hubc_time last = b.next_update;
  f->clk.now += 40 * 86400; /* a final update date: the model applies M5 as the store does */
  for (hubc_id id = 1; id <= m->max_id; id++)
    if (m->alive[id] && m->status[id] == HUBC_MARKETING_UNTIL_UPDATE)
      model_change(m, id, last, HUBC_NON_MARKETING, HUBC_SOURCE_UPDATE_DATE, 0, HUBC_SYSTEM);
  billing(f->s, &b);
  for (hubc_id id = 1; id <= m->max_id; id++)
    if (m->alive[id] && m->status[id] == HUBC_MARKETING_UNTIL_UPDATE) fail_msg("contact %lld still pending", (long long)id);
  (void)b;
  full_check(f, m);
  /* the run exercised every kind of change (guards against a vacuous run) */
  size_t by_kind[3][3] = {{0}}, m5 = 0, deleted = 0;
  for (size_t i = 0; i < m->hn; i++) {
    by_kind[m->h[i].old_status][m->h[i].new_status]++;
    m5 += m->h[i].reason_type == HUBC_SOURCE_UPDATE_DATE;
  }
  for (hubc_id id = 1; id <= m->max_id; id++) deleted += !m->alive[id];
  assert_true(m->hn > 1000);
  assert_true(by_kind[HUBC_NON_MARKETING][HUBC_MARKETING] > 100);
  assert_true(by_kind[HUBC_MARKETING][HUBC_MARKETING_UNTIL_UPDATE] > 100);
  assert_true(by_kind[HUBC_MARKETING_UNTIL_UPDATE][HUBC_MARKETING] > 10);
  assert_true(by_kind[HUBC_MARKETING_UNTIL_UPDATE][HUBC_NON_MARKETING] > 10);
  assert_true(m5 > 10);
  assert_true(refused > 100); /* reasons the generic call may not record */
  assert_true(deleted > 10);
  assert_true(m->max_id - (hubc_id)deleted > 50);
}

/* ---- M8 ------------------------------------------------------------------ */

static void set_prop(hubc_store *s, hubc_id id, const char *name, const char *value) {
  const char *names[] = {name};
  const char *values[] = {value};
  int rc = hubc_contact_update(s, ADMIN, id, names, values, 1);
  if (rc) fail_msg("update %s=%s: %d %s", name, value, rc, hubc_error_last());
}

static size_t select_ids(hubc_store *s, int select, hubc_id *out, size_t max) {
  hubc_contact_iterator *it;
  assert_int_equal(hubc_contact_iterator_new(&it, s, select), 0);
  gc_defer(citer_free_cb, it);
  size_t n = 0;
  hubc_id id;
  while (hubc_contact_iterator_next(&id, it) == 0) {
    assert_true(n < max);
    out[n++] = id;
  }
  gc_release(it);
  return n;
}

static void m8_select_unreachable_lists_billable_opted_out_or_bounced(void **state) {
  (void)state;
  fx *f = fx_new();
  hubc_id a = mk(f, "a@example.com"); /* MARKETING, opted out */
  hubc_id b = mk(f, "b@example.com"); /* UNTIL_UPDATE, hard-bounced */
  hubc_id c = mk(f, "c@example.com"); /* NON, opted out */
  hubc_id d = mk(f, "d@example.com"); /* MARKETING, reachable */
  hubc_id e = mk(f, "e@example.com"); /* MARKETING, optout false, bounced false */
  hubc_id g = mk(f, "g@example.com"); /* NON, bounced */
  assert_int_equal(hubc_contact_set_marketing(f->s, ADMIN, a, HUBC_SOURCE_MANUAL, 1), 0);
  assert_int_equal(hubc_contact_set_marketing(f->s, ADMIN, b, HUBC_SOURCE_MANUAL, 1), 0);
  assert_int_equal(hubc_contact_set_non_marketing(f->s, ADMIN, b, HUBC_SOURCE_MANUAL, 1), 0);
  assert_int_equal(hubc_contact_set_marketing(f->s, ADMIN, d, HUBC_SOURCE_MANUAL, 1), 0);
  assert_int_equal(hubc_contact_set_marketing(f->s, ADMIN, e, HUBC_SOURCE_MANUAL, 1), 0);
  set_prop(f->s, a, "hs_email_optout", "true");
  set_prop(f->s, b, "hs_email_hard_bounced", "true");
  set_prop(f->s, c, "hs_email_optout", "true");
  set_prop(f->s, e, "hs_email_optout", "false");
  set_prop(f->s, e, "hs_email_hard_bounced", "false");
  set_prop(f->s, g, "hs_email_hard_bounced", "true");

  /* consent is separate from billing: they are still billable */
  assert_int_equal(status_of(f->s, a), HUBC_MARKETING);
  hubc_billing_info bi;
  billing(f->s, &bi);
  assert_int_equal(bi.billable, 4);

  hubc_id got[16];
  size_t n = select_ids(f->s, HUBC_SELECT_UNREACHABLE, got, 16);
  assert_int_equal(n, 2);
  assert_int_equal(got[0], a);
  assert_int_equal(got[1], b);

  set_prop(f->s, a, "hs_email_optout", "false"); /* opted back in */
  assert_int_equal(hubc_contact_set_marketing(f->s, ADMIN, c, HUBC_SOURCE_MANUAL, 1), 0);
  n = select_ids(f->s, HUBC_SELECT_UNREACHABLE, got, 16);
  assert_int_equal(n, 2);
  assert_int_equal(got[0], b);
  assert_int_equal(got[1], c);

  /* at the update date b is no longer billable */
  f->clk.now = tu_time(2024, 4, 10, 0, 0, 0);
  n = select_ids(f->s, HUBC_SELECT_UNREACHABLE, got, 16);
  assert_int_equal(n, 1);
  assert_int_equal(got[0], c);
  assert_int_equal(hubc_contact_delete(f->s, ADMIN, c), 0);
  n = select_ids(f->s, HUBC_SELECT_UNREACHABLE, got, 16);
  assert_int_equal(n, 0);
  (void)d;

  hubc_contact_iterator *it = NULL;
  assert_int_equal(hubc_contact_iterator_new(&it, f->s, HUBC_SELECT_LEGACY_EMAIL + 1), HUBC_EINVAL);
  assert_null(it);
  assert_int_equal(hubc_contact_iterator_new(&it, f->s, -1), HUBC_EINVAL);
}

/* ---- D1 ------------------------------------------------------------------ */

static void expect_source(hubc_store *s, hubc_id id, int source, hubc_id source_id) {
  hubc_contact *c = NULL;
  assert_int_equal(hubc_contact_get(&c, s, id), 0);
  gc_contact(c);
  int src;
  hubc_id sid;
  assert_int_equal(hubc_contact_source(&src, &sid, c), 0);
  assert_int_equal(src, source);
  assert_int_equal(sid, source_id);
  gc_release(c);
}

static void d1_manual_creation_is_non_marketing_unless_asked(void **state) {
  (void)state;
  fx *f = fx_new();
  hubc_id a = mk(f, "a@example.com"); /* opts NULL */
  assert_int_equal(status_of(f->s, a), HUBC_NON_MARKETING);
  expect_source(f->s, a, HUBC_SOURCE_MANUAL, ADMIN);
  assert_int_equal(hist_count(f->s, a), 0);

  hubc_id b = create_src(f->s, f->p2, 0, 0, 0, "b@example.com"); /* source 0 = MANUAL */
  assert_int_equal(status_of(f->s, b), HUBC_NON_MARKETING);
  expect_source(f->s, b, HUBC_SOURCE_MANUAL, f->p2);

  f->ev.n = 0;
  hubc_id c = create_src(f->s, f->p2, HUBC_SOURCE_MANUAL, 0, 1, "c@example.com");
  assert_int_equal(status_of(f->s, c), HUBC_MARKETING);
  expect_source(f->s, c, HUBC_SOURCE_MANUAL, f->p2);
  expect_m1_id(f->s, c, "true", "false", "MANUAL", "2");
  int rt;
  hubc_id rid;
  reason_of(f->s, c, &rt, &rid);
  assert_int_equal(rt, HUBC_SOURCE_MANUAL);
  assert_int_equal(rid, f->p2);
  size_t n;
  hubc_history_entry *h = hist_read(f->s, c, &n);
  assert_int_equal(n, 1);
  expect_history_entry(&h[0], c, T0(), HUBC_NON_MARKETING, HUBC_MARKETING, HUBC_SOURCE_MANUAL, f->p2, f->p2);
  gc_release(h);
  assert_int_equal(ev_count(&f->ev, HUBC_EVENT_STATUS), 1);

  hubc_id d = create_src(f->s, ADMIN, HUBC_SOURCE_MANUAL, 0, 1, "d@example.com");
  expect_m1_id(f->s, d, "true", "false", "MANUAL", "1");

  /* as marketing needs P2; nothing is created without it */
  char *before = gc_dump(f->s);
  f->ev.n = 0;
  hubc_create_options o = HUBC_CREATE_OPTIONS_INIT;
  o.marketing = 1;
  const char *names[] = {"email"};
  const char *values[] = {"e@example.com"};
  hubc_id id = 0;
  assert_int_equal(hubc_contact_create(&id, f->s, f->nop2, &o, names, values, 1), HUBC_EPERM);
  assert_true(contains(hubc_error_last(), "marketing contact access"));
  assert_int_equal(id, 0);
  o.marketing = 2;
  assert_int_equal(hubc_contact_create(&id, f->s, ADMIN, &o, names, values, 1), HUBC_EINVAL);
  assert_true(contains(hubc_error_last(), "marketing"));
  tu_expect_dump(f->s, before, "the calls before");
  assert_int_equal(f->ev.n, 0);
  gc_release(before);

  /* without the marketing option the same user creates fine */
  hubc_id e = create_src(f->s, f->nop2, HUBC_SOURCE_MANUAL, 0, 0, "e@example.com");
  assert_int_equal(status_of(f->s, e), HUBC_NON_MARKETING);
}

static void d1_external_form_is_marketing_by_default_with_a_store_wide_switch(void **state) {
  (void)state;
  fx *f = fx_new();
  int on = -1;
  assert_int_equal(hubc_source_get_default(&on, f->s, HUBC_SOURCE_EXTERNAL_FORM, 0), 0);
  assert_int_equal(on, 1);
  hubc_id a = create_src(f->s, HUBC_SYSTEM, HUBC_SOURCE_EXTERNAL_FORM, 0, 0, "a@example.com");
  assert_int_equal(status_of(f->s, a), HUBC_MARKETING);
  expect_source(f->s, a, HUBC_SOURCE_EXTERNAL_FORM, 0);
  expect_m1_id(f->s, a, "true", "false", "EXTERNAL_FORM", "0");

  assert_int_equal(hubc_source_set_default(f->s, ADMIN, HUBC_SOURCE_EXTERNAL_FORM, 0, 0), 0);
  assert_int_equal(hubc_source_get_default(&on, f->s, HUBC_SOURCE_EXTERNAL_FORM, 0), 0);
  assert_int_equal(on, 0);
  hubc_id b = create_src(f->s, HUBC_SYSTEM, HUBC_SOURCE_EXTERNAL_FORM, 0, 0, "b@example.com");
  assert_int_equal(status_of(f->s, b), HUBC_NON_MARKETING);
  assert_int_equal(status_of(f->s, a), HUBC_MARKETING); /* earlier contacts keep theirs */

  /* store-wide: a non-zero source id is refused */
  char *before = gc_dump(f->s);
  assert_int_equal(hubc_source_set_default(f->s, ADMIN, HUBC_SOURCE_EXTERNAL_FORM, 5, 1), HUBC_EINVAL);
  assert_true(contains(hubc_error_last(), "source id"));
  assert_int_equal(hubc_source_set_default(f->s, ADMIN, HUBC_SOURCE_EXTERNAL_FORM, 0, 2), HUBC_EINVAL);
  tu_expect_dump(f->s, before, "the calls before");
  gc_release(before);

  assert_int_equal(hubc_source_set_default(f->s, f->p2, HUBC_SOURCE_EXTERNAL_FORM, 0, 1), 0);
  hubc_id c = create_src(f->s, HUBC_SYSTEM, HUBC_SOURCE_EXTERNAL_FORM, 0, 0, "c@example.com");
  assert_int_equal(status_of(f->s, c), HUBC_MARKETING);
}

static void d1_chatflow_default_is_per_chatflow_and_off_by_default(void **state) {
  (void)state;
  fx *f = fx_new();
  int on = -1;
  assert_int_equal(hubc_source_get_default(&on, f->s, HUBC_SOURCE_CHATFLOW, 7), 0);
  assert_int_equal(on, 0);
  hubc_id a = create_src(f->s, HUBC_SYSTEM, HUBC_SOURCE_CHATFLOW, 7, 0, "a@example.com");
  assert_int_equal(status_of(f->s, a), HUBC_NON_MARKETING);

  assert_int_equal(hubc_source_set_default(f->s, ADMIN, HUBC_SOURCE_CHATFLOW, 7, 1), 0);
  assert_int_equal(hubc_source_get_default(&on, f->s, HUBC_SOURCE_CHATFLOW, 7), 0);
  assert_int_equal(on, 1);
  assert_int_equal(hubc_source_get_default(&on, f->s, HUBC_SOURCE_CHATFLOW, 8), 0);
  assert_int_equal(on, 0);

  hubc_id b = create_src(f->s, HUBC_SYSTEM, HUBC_SOURCE_CHATFLOW, 7, 0, "b@example.com");
  hubc_id c = create_src(f->s, HUBC_SYSTEM, HUBC_SOURCE_CHATFLOW, 8, 0, "c@example.com");
  assert_int_equal(status_of(f->s, b), HUBC_MARKETING);
  expect_source(f->s, b, HUBC_SOURCE_CHATFLOW, 7);
  expect_m1_id(f->s, b, "true", "false", "CHATFLOW", "7");
  assert_int_equal(status_of(f->s, c), HUBC_NON_MARKETING);
  expect_source(f->s, c, HUBC_SOURCE_CHATFLOW, 8);
  assert_int_equal(status_of(f->s, a), HUBC_NON_MARKETING);

  assert_int_equal(hubc_source_set_default(f->s, ADMIN, HUBC_SOURCE_CHATFLOW, 0, 1), HUBC_EINVAL);
  assert_true(contains(hubc_error_last(), "source id"));
}

static void d1_integration_switch_affects_only_contacts_created_after(void **state) {
  (void)state;
  fx *f = fx_new();
  hubc_id before = create_src(f->s, HUBC_SYSTEM, HUBC_SOURCE_INTEGRATION, 5, 0, "before@example.com");
  assert_int_equal(status_of(f->s, before), HUBC_NON_MARKETING);
  expect_source(f->s, before, HUBC_SOURCE_INTEGRATION, 5);

  assert_int_equal(hubc_source_set_default(f->s, f->p2, HUBC_SOURCE_INTEGRATION, 5, 1), 0);
  assert_int_equal(status_of(f->s, before), HUBC_NON_MARKETING); /* existing ones keep their status */
  assert_int_equal(hist_count(f->s, before), 0);
  hubc_id after = create_src(f->s, HUBC_SYSTEM, HUBC_SOURCE_INTEGRATION, 5, 0, "after@example.com");
  assert_int_equal(status_of(f->s, after), HUBC_MARKETING);
  expect_m1_id(f->s, after, "true", "false", "INTEGRATION", "5");
  hubc_id other = create_src(f->s, HUBC_SYSTEM, HUBC_SOURCE_INTEGRATION, 6, 0, "other@example.com");
  assert_int_equal(status_of(f->s, other), HUBC_NON_MARKETING);

  assert_int_equal(hubc_source_set_default(f->s, f->p2, HUBC_SOURCE_INTEGRATION, 5, 0), 0);
  assert_int_equal(status_of(f->s, after), HUBC_MARKETING); /* switching off lowers nothing */
  hubc_id later = create_src(f->s, HUBC_SYSTEM, HUBC_SOURCE_INTEGRATION, 5, 0, "later@example.com");
  assert_int_equal(status_of(f->s, later), HUBC_NON_MARKETING);
}

static void d1_fixed_sources_are_non_marketing_and_not_configurable(void **state) {
  (void)state;
  fx *f = fx_new();
  static const int fixed[] = {HUBC_SOURCE_MOBILE_APP, HUBC_SOURCE_ONE_TO_ONE_EMAIL, HUBC_SOURCE_TEAM_INBOX,
                              HUBC_SOURCE_DOCUMENT,   HUBC_SOURCE_MEETINGS,         HUBC_SOURCE_EMAIL_EXTENSION,
                              HUBC_SOURCE_WORKFLOW};
  char email[64];
  for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) {
    snprintf(email, sizeof email, "s%zu@example.com", i);
    hubc_id id = create_src(f->s, HUBC_SYSTEM, fixed[i], 40 + (hubc_id)i, 0, email);
    assert_int_equal(status_of(f->s, id), HUBC_NON_MARKETING);
    expect_source(f->s, id, fixed[i], 40 + (hubc_id)i);
    expect_m1_id(f->s, id, "false", "false", NULL, NULL);

    char *before = gc_dump(f->s);
    assert_int_equal(hubc_source_set_default(f->s, ADMIN, fixed[i], 40 + (hubc_id)i, 1), HUBC_EINVAL);
    assert_true(contains(hubc_error_last(), hubc_source_name(fixed[i])));
    assert_int_equal(hubc_source_set_default(f->s, ADMIN, fixed[i], 0, 1), HUBC_EINVAL);
    int on = -1;
    assert_int_equal(hubc_source_get_default(&on, f->s, fixed[i], 40 + (hubc_id)i), HUBC_EINVAL);
    tu_expect_dump(f->s, before, "the calls before");
    gc_release(before);

    /* still non-marketing after a refused attempt */
    snprintf(email, sizeof email, "t%zu@example.com", i);
    id = create_src(f->s, HUBC_SYSTEM, fixed[i], 40 + (hubc_id)i, 0, email);
    assert_int_equal(status_of(f->s, id), HUBC_NON_MARKETING);
  }
}

static void d1_form_import_and_marketing_with_other_sources_are_refused_by_create(void **state) {
  (void)state;
  fx *f = fx_new();
  char *before = gc_dump(f->s);
  f->ev.n = 0;
  const char *names[] = {"email"};
  const char *values[] = {"x@example.com"};
  hubc_create_options o = HUBC_CREATE_OPTIONS_INIT;
  hubc_id id = 0;

  o.source = HUBC_SOURCE_FORM;
  assert_int_equal(hubc_contact_create(&id, f->s, HUBC_SYSTEM, &o, names, values, 1), HUBC_EINVAL);
  assert_true(contains(hubc_error_last(), "FORM"));
  o.source = HUBC_SOURCE_IMPORT;
  assert_int_equal(hubc_contact_create(&id, f->s, ADMIN, &o, names, values, 1), HUBC_EINVAL);
  assert_true(contains(hubc_error_last(), "IMPORT"));

  static const int others[] = {HUBC_SOURCE_EXTERNAL_FORM, HUBC_SOURCE_CHATFLOW, HUBC_SOURCE_INTEGRATION,
                               HUBC_SOURCE_MOBILE_APP, HUBC_SOURCE_WORKFLOW};
  for (size_t i = 0; i < sizeof others / sizeof *others; i++) {
    o.source = others[i];
    o.source_id = 7;
    o.marketing = 1;
    assert_int_equal(hubc_contact_create(&id, f->s, ADMIN, &o, names, values, 1), HUBC_EINVAL);
    assert_true(contains(hubc_error_last(), "marketing"));
  }
  o.marketing = 0;
  static const int bad[] = {-1, 14, 15, 16, 99};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    o.source = bad[i];
    assert_int_equal(hubc_contact_create(&id, f->s, ADMIN, &o, names, values, 1), HUBC_EINVAL);
    assert_true(contains(hubc_error_last(), "source"));
  }
  o.source = HUBC_SOURCE_MANUAL;
  o.version = 99;
  assert_int_equal(hubc_contact_create(&id, f->s, ADMIN, &o, names, values, 1), HUBC_EVERSION);
  assert_int_equal(id, 0);
  assert_int_equal(f->ev.n, 0);
  tu_expect_dump(f->s, before, "the calls before");
  gc_release(before);
}

static void d1_chatflow_and_integration_ids_must_be_positive(void **state) {
  (void)state;
  /* ids are > 0 (common.h) and hubc_source_set_default refuses 0 and
   * negative chatflow/app ids: creation must refuse them too, or a contact
   * carries a source whose default can never be configured. */
  fx *f = fx_new();
  char *before = gc_dump(f->s);
  const char *names[] = {"email"};
  const char *values[] = {"x@example.com"};
  static const int src[] = {HUBC_SOURCE_CHATFLOW, HUBC_SOURCE_INTEGRATION};
  static const hubc_id bad[] = {0, -1, -7};
  for (size_t i = 0; i < 2; i++)
    for (size_t k = 0; k < 3; k++) {
      hubc_create_options o = HUBC_CREATE_OPTIONS_INIT;
      o.source = src[i];
      o.source_id = bad[k];
      hubc_id id = 0;
      int rc = hubc_contact_create(&id, f->s, HUBC_SYSTEM, &o, names, values, 1);
      if (rc != HUBC_EINVAL)
        fail_msg("create with %s id %lld: expected HUBC_EINVAL, got %d", hubc_source_name(src[i]),
                 (long long)bad[k], rc);
      assert_true(contains(hubc_error_last(), "source id"));
      assert_int_equal(id, 0);
    }
  tu_expect_dump(f->s, before, "the calls before");
}

/* ---- D2 ------------------------------------------------------------------ */

static void d2_changing_a_default_needs_a_user_with_p2(void **state) {
  (void)state;
  fx *f = fx_new();
  hubc_id off;
  assert_int_equal(hubc_user_create(&off, f->s, ADMIN, "off@example.com"), 0);
  assert_int_equal(hubc_user_set_disabled(f->s, ADMIN, off, 1), 0);
  char *before = gc_dump(f->s);
  static const int src[] = {HUBC_SOURCE_EXTERNAL_FORM, HUBC_SOURCE_CHATFLOW, HUBC_SOURCE_INTEGRATION};
  static const hubc_id sid[] = {0, 7, 5};
  static const int val[] = {0, 1, 1};
  for (int i = 0; i < 3; i++) {
    assert_int_equal(hubc_source_set_default(f->s, f->nop2, src[i], sid[i], val[i]), HUBC_EPERM);
    assert_true(contains(hubc_error_last(), "marketing contact access"));
    assert_int_equal(hubc_source_set_default(f->s, HUBC_SYSTEM, src[i], sid[i], val[i]), HUBC_EPERM);
    assert_true(contains(hubc_error_last(), "SYSTEM"));
    assert_int_equal(hubc_source_set_default(f->s, off, src[i], sid[i], val[i]), HUBC_EPERM);
    assert_int_equal(hubc_source_set_default(f->s, 999, src[i], sid[i], val[i]), HUBC_EPERM);
    int on = -1;
    assert_int_equal(hubc_source_get_default(&on, f->s, src[i], sid[i]), 0);
    assert_int_equal(on, !val[i]);
  }
  tu_expect_dump(f->s, before, "the calls before");

  /* nothing changed: the defaults still apply */
  assert_int_equal(status_of(f->s, create_src(f->s, HUBC_SYSTEM, HUBC_SOURCE_EXTERNAL_FORM, 0, 0, "a@example.com")),
                   HUBC_MARKETING);
  assert_int_equal(status_of(f->s, create_src(f->s, HUBC_SYSTEM, HUBC_SOURCE_CHATFLOW, 7, 0, "b@example.com")),
                   HUBC_NON_MARKETING);

  /* the same user once granted P2 may (the change applies to the next call) */
  assert_int_equal(hubc_user_set_permissions(f->s, ADMIN, f->nop2, HUBC_PERM_DEFAULT), 0);
  assert_int_equal(hubc_source_set_default(f->s, f->nop2, HUBC_SOURCE_CHATFLOW, 7, 1), 0);
  assert_int_equal(status_of(f->s, create_src(f->s, HUBC_SYSTEM, HUBC_SOURCE_CHATFLOW, 7, 0, "c@example.com")),
                   HUBC_MARKETING);
  /* and revoked, may not */
  assert_int_equal(hubc_user_set_permissions(f->s, ADMIN, f->p2, HUBC_PERM_DEFAULT & ~HUBC_PERM_MARKETING_ACCESS), 0);
  assert_int_equal(hubc_source_set_default(f->s, f->p2, HUBC_SOURCE_CHATFLOW, 7, 0), HUBC_EPERM);
  gc_release(before);
}

/* ---- D3 ------------------------------------------------------------------ */

static int read_varint(const unsigned char *p, size_t len, size_t *pos, uint64_t *v) {
  uint64_t x = 0;
  for (unsigned shift = 0; shift < 64 && *pos < len; shift += 7) {
    unsigned char c = p[(*pos)++];
    x |= (uint64_t)(c & 0x7f) << shift;
    if (!(c & 0x80)) {
      *v = x;
      return 0;
    }
  }
  return -1;
}

/* Rewrites a contact record without its status field (tag 3); returns
 * whether one was removed. */
static int strip_status(tu_mem_rec *r) {
  assert_true(r->len >= 1);
  assert_int_equal(r->bytes[0], 1); /* format version */
  unsigned char *out = malloc(r->len);
  assert_non_null(out);
  size_t pos = 1, w = 1;
  int stripped = 0;
  out[0] = r->bytes[0];
  while (pos < r->len) {
    size_t start = pos;
    uint64_t tag = 0, len = 0; /* read_varint sets both; quiets -Wmaybe-uninitialized */
    assert_int_equal(read_varint(r->bytes, r->len, &pos, &tag), 0);
    assert_int_equal(read_varint(r->bytes, r->len, &pos, &len), 0);
    assert_true(len <= r->len - pos);
    pos += (size_t)len;
    if (tag == 3) {
      stripped++;
      continue;
    }
    memcpy(out + w, r->bytes + start, pos - start);
    w += pos - start;
  }
  free(r->bytes);
  r->bytes = out;
  r->len = w;
  return stripped;
}

static void d3_contacts_stored_without_a_status_load_as_non_marketing(void **state) {
  (void)state;
  tu_mem *mem = gc_mem();
  tu_clock clk = {T0()};
  hubc_store *s = gc_store(tu_open(&clk, &mem->vtable));
  hubc_id a = tu_contact(s, ADMIN, "a@example.com", "Anna");
  hubc_id b = tu_contact(s, ADMIN, "b@example.com", "Bruno");
  hubc_id c = tu_contact(s, ADMIN, "c@example.com", "Carla");
  assert_int_equal(hubc_contact_set_marketing(s, ADMIN, a, HUBC_SOURCE_MANUAL, 1), 0);
  assert_int_equal(hubc_contact_set_marketing(s, ADMIN, b, HUBC_SOURCE_MANUAL, 1), 0);
  assert_int_equal(hubc_contact_set_marketing(s, ADMIN, c, HUBC_SOURCE_MANUAL, 1), 0);
  assert_int_equal(hubc_contact_set_non_marketing(s, ADMIN, c, HUBC_SOURCE_MANUAL, 1), 0);
  gc_release(s);

  /* control: with the status field the statuses come back */
  s = gc_store(tu_open(&clk, &mem->vtable));
  assert_int_equal(status_of(s, a), HUBC_MARKETING);
  assert_int_equal(status_of(s, c), HUBC_MARKETING_UNTIL_UPDATE);
  gc_release(s);

  int stripped = 0;
  for (size_t i = 0; i < mem->n; i++)
    if (mem->recs[i].kind == HUBC_REC_CONTACT) stripped += strip_status(&mem->recs[i]);
  assert_int_equal(stripped, 3);

  s = gc_store(tu_open(&clk, &mem->vtable));
  hubc_billing_info bi;
  billing(s, &bi);
  assert_int_equal(bi.billable, 0);
  assert_int_equal(bi.marketing, 0);
  assert_int_equal(bi.until_update, 0);
  assert_int_equal(bi.non_marketing, 3);
  const hubc_id ids[] = {a, b, c};
  const char *first[] = {"Anna", "Bruno", "Carla"};
  for (int i = 0; i < 3; i++) {
    hubc_contact *ct = NULL;
    assert_int_equal(hubc_contact_get(&ct, s, ids[i]), 0);
    gc_contact(ct);
    assert_int_equal(hubc_contact_status(ct), HUBC_NON_MARKETING);
    expect_m1(ct, "false", "false", NULL, NULL);
    assert_string_equal(hubc_contact_prop(ct, "firstname"), first[i]);
    gc_release(ct);
  }
  hubc_id got[4];
  assert_int_equal(select_ids(s, HUBC_SELECT_BILLABLE, got, 4), 0);
  /* and they can be set marketing from there */
  assert_int_equal(hubc_contact_set_marketing(s, ADMIN, a, HUBC_SOURCE_MANUAL, 1), 0);
  billing(s, &bi);
  assert_int_equal(bi.billable, 1);
  gc_release(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(m1_marketable_properties_for_each_state, gc_teardown),
      cmocka_unit_test_teardown(m3_set_marketing_from_non_takes_effect_at_once, gc_teardown),
      cmocka_unit_test_teardown(m3_set_marketing_on_until_update_cancels_the_pending_request, gc_teardown),
      cmocka_unit_test_teardown(m3_set_marketing_on_marketing_is_a_noop_keeping_the_original_reason, gc_teardown),
      cmocka_unit_test_teardown(m4_set_non_marketing_on_marketing_is_pending_until_update, gc_teardown),
      cmocka_unit_test_teardown(m4_set_non_marketing_on_non_or_until_update_is_a_noop, gc_teardown),
      cmocka_unit_test_teardown(m3_m4_refused_calls_change_nothing_and_raise_no_event, gc_teardown),
      cmocka_unit_test_teardown(m3_m4_status_events_report_each_change_and_none_for_refused_calls, gc_teardown),
      cmocka_unit_test_teardown(m5_update_date_turns_every_until_update_into_non_marketing, gc_teardown),
      cmocka_unit_test_teardown(m6_billable_is_marketing_plus_until_update, gc_teardown),
      cmocka_unit_test_teardown(m7_history_records_time_states_reason_and_actor, gc_teardown),
      cmocka_unit_test_teardown(m7_history_export_writes_rfc4180_csv, gc_teardown),
      cmocka_unit_test_teardown(m7_history_survives_persistence, gc_teardown),
      cmocka_unit_test_teardown(m7_random_operations_keep_counts_and_history_consistent, gc_teardown),
      cmocka_unit_test_teardown(m8_select_unreachable_lists_billable_opted_out_or_bounced, gc_teardown),
      cmocka_unit_test_teardown(d1_manual_creation_is_non_marketing_unless_asked, gc_teardown),
      cmocka_unit_test_teardown(d1_external_form_is_marketing_by_default_with_a_store_wide_switch, gc_teardown),
      cmocka_unit_test_teardown(d1_chatflow_default_is_per_chatflow_and_off_by_default, gc_teardown),
      cmocka_unit_test_teardown(d1_integration_switch_affects_only_contacts_created_after, gc_teardown),
      cmocka_unit_test_teardown(d1_fixed_sources_are_non_marketing_and_not_configurable, gc_teardown),
      cmocka_unit_test_teardown(d1_form_import_and_marketing_with_other_sources_are_refused_by_create, gc_teardown),
      cmocka_unit_test_teardown(d1_chatflow_and_integration_ids_must_be_positive, gc_teardown),
      cmocka_unit_test_teardown(d2_changing_a_default_needs_a_user_with_p2, gc_teardown),
      cmocka_unit_test_teardown(d3_contacts_stored_without_a_status_load_as_non_marketing, gc_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
