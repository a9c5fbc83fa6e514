/* Billing: update dates and catch-up (B1, B2), period summaries (B3), tiers
 * and downgrades (B4), the hard cap (B5), alerts (B6), deletes (B7), and the
 * validation of the billing options. All times come from a settable clock. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h> /* alarm: a deadlock fails the test instead of hanging it */

#include <cmocka.h>

#include "hubcontacts.h"
#include "testutil.h"

#define ADMIN ((hubc_id)1)

/* Cleanup registry (gc_*) lives in testutil: a failing assertion leaves
 * by longjmp, the teardown releases what the test registered. */

static void piter_free_cb(void *p) { hubc_period_iterator_free(p); }
static void hiter_free_cb(void *p) { hubc_history_iterator_free(p); }

/* ---- helpers ------------------------------------------------------------ */

/* ev_log, ev_cb, ev_count: testutil */

/* The k-th (0-based) event of a type, or fails. */
static const hubc_event *ev_nth(const ev_log *l, int type, size_t k) {
  size_t seen = 0;
  for (size_t i = 0; i < l->n; i++)
    if (l->ev[i].type == type && seen++ == k) return &l->ev[i];
  fail_msg("no event %zu of type %d (%zu seen)", k, type, seen);
  return NULL;
}

typedef struct bfx {
  tu_clock clk;
  hubc_store *s;
  ev_log ev;
  hubc_id p2, nop2;
  int emails;
} bfx;

static void opts_init(hubc_store_options *o, bfx *f) { tu_options(o, &f->clk, NULL); }

/* Opens with o (clock and admin already set by opts_init), adds a user with
 * P2 and one without, and records events. */
static void bopen(bfx *f, const hubc_store_options *o) {
  f->s = NULL;
  int rc = hubc_store_open(&f->s, o);
  if (rc) fail_msg("open: %d %s", rc, hubc_error_last());
  gc_store(f->s);
  hubc_user *u = NULL;
  rc = hubc_user_get_by_email(&u, f->s, "p2@example.com");
  if (rc == HUBC_ENOTFOUND) { /* a new store */
    assert_int_equal(hubc_user_create(&f->p2, f->s, ADMIN, "p2@example.com"), 0);
    assert_int_equal(hubc_user_create(&f->nop2, f->s, ADMIN, "nop2@example.com"), 0);
    assert_int_equal(hubc_user_set_permissions(f->s, ADMIN, f->nop2, HUBC_PERM_DEFAULT & ~HUBC_PERM_MARKETING_ACCESS),
                     0);
  } else { /* reopened: the users were loaded */
    assert_int_equal(rc, 0);
    f->p2 = hubc_user_id(u);
    hubc_user_free(u);
    assert_int_equal(hubc_user_get_by_email(&u, f->s, "nop2@example.com"), 0);
    f->nop2 = hubc_user_id(u);
    hubc_user_free(u);
  }
  assert_int_equal(hubc_store_set_event_callback(f->s, ev_cb, &f->ev), 0);
}

static void bclose(bfx *f) {
  gc_release(f->s);
  f->s = NULL;
}

static void bfx_free_cb(void *p) {
  bfx *f = p;
  free(f->ev.ev);
  free(f);
}

/* A fixture released by the teardown (its store first: registered later). */
static bfx *bfx_new(void) { return gc_defer(bfx_free_cb, calloc(1, sizeof(bfx))); }

static void billing(hubc_store *s, hubc_billing_info *b) {
  memset(b, 0, sizeof *b);
  b->version = HUBC_BILLING_INFO_VERSION;
  int rc = hubc_billing_get(b, s);
  if (rc) fail_msg("billing get: %d %s", rc, hubc_error_last());
}

static uint64_t billable(hubc_store *s) {
  hubc_billing_info b;
  billing(s, &b);
  return b.billable;
}

static uint64_t tier(hubc_store *s) {
  hubc_billing_info b;
  billing(s, &b);
  return b.tier;
}

static hubc_time next_update(hubc_store *s) {
  hubc_billing_info b;
  billing(s, &b);
  return b.next_update;
}

static int status_of(hubc_store *s, hubc_id id) {
  hubc_contact *c = NULL;
  int rc = hubc_contact_get(&c, s, id);
  if (rc) fail_msg("get %lld: %d %s", (long long)id, rc, hubc_error_last());
  int st = hubc_contact_status(c);
  hubc_contact_free(c);
  return st;
}

/* A new non-marketing contact. */
static hubc_id plain(bfx *f) {
  char email[64];
  snprintf(email, sizeof email, "c%d@example.com", f->emails++);
  return tu_contact(f->s, ADMIN, email, "X");
}

/* A new contact set marketing through hubc_contact_set_marketing. */
static hubc_id marketing(bfx *f) {
  hubc_id id = plain(f);
  int rc = hubc_contact_set_marketing(f->s, ADMIN, id, HUBC_SOURCE_MANUAL, 1);
  if (rc) fail_msg("set marketing %lld: %d %s", (long long)id, rc, hubc_error_last());
  return id;
}

/* Many marketing contacts without properties (manual, marketing=1). */
static void bulk_marketing(hubc_store *s, size_t n) {
  hubc_create_options o = HUBC_CREATE_OPTIONS_INIT;
  o.marketing = 1;
  for (size_t i = 0; i < n; i++) {
    hubc_id id;
    int rc = hubc_contact_create(&id, s, ADMIN, &o, NULL, NULL, 0);
    if (rc) fail_msg("create %zu: %d %s", i, rc, hubc_error_last());
  }
}

typedef struct periods {
  hubc_period p[64];
  size_t n;
} periods;

static void read_periods(hubc_store *s, periods *out) {
  hubc_period_iterator *it = NULL;
  assert_int_equal(hubc_period_iterator_new(&it, s), 0);
  gc_defer(piter_free_cb, it);
  out->n = 0;
  for (;;) {
    hubc_period p;
    memset(&p, 0, sizeof p);
    p.version = HUBC_PERIOD_VERSION;
    int rc = hubc_period_iterator_next(&p, it);
    if (rc == HUBC_ITEROVER) break;
    assert_int_equal(rc, 0);
    assert_true(out->n < 64);
    out->p[out->n++] = p;
  }
  gc_release(it);
}

static size_t period_count(hubc_store *s) {
  periods p;
  read_periods(s, &p);
  return p.n;
}

static int contains(const char *hay, const char *needle) { return hay && strstr(hay, needle) != NULL; }

static size_t hist_count(hubc_store *s, hubc_id contact) {
  hubc_history_iterator *it = NULL;
  assert_int_equal(hubc_history_iterator_new(&it, s, contact), 0);
  gc_defer(hiter_free_cb, it);
  size_t n = 0;
  hubc_history_entry e;
  memset(&e, 0, sizeof e);
  e.version = HUBC_HISTORY_ENTRY_VERSION;
  while (hubc_history_iterator_next(&e, it) == 0) n++;
  gc_release(it);
  return n;
}

/* Monthly, renewal day 15 (anchor 2024-01-15 09:30), opened 2024-03-08. */
static void open_monthly_15(bfx *f, const hubc_persist *persist) {
  hubc_store_options o;
  opts_init(&o, f);
  o.commitment = HUBC_COMMITMENT_MONTHLY;
  o.renewal_anchor = tu_time(2024, 1, 15, 9, 30, 0);
  o.persist = persist;
  bopen(f, &o);
}

/* ---- B1 / B2 ------------------------------------------------------------- */

static void b1_monthly_request_stays_billable_until_the_renewal_day(void **state) {
  (void)state;
  bfx *f = bfx_new();
  f->clk.now = tu_time(2024, 3, 8, 12, 0, 0);
  open_monthly_15(f, NULL);
  hubc_id id = marketing(f);
  assert_int_equal(next_update(f->s), tu_time(2024, 3, 15, 0, 0, 0));

  f->clk.now = tu_time(2024, 3, 10, 16, 0, 0);
  assert_int_equal(hubc_contact_set_non_marketing(f->s, ADMIN, id, HUBC_SOURCE_MANUAL, 1), 0);

  f->clk.now = tu_time(2024, 3, 14, 23, 59, 59);
  assert_int_equal(status_of(f->s, id), HUBC_MARKETING_UNTIL_UPDATE);
  assert_int_equal(billable(f->s), 1);
  assert_int_equal(period_count(f->s), 0);

  f->clk.now = tu_time(2024, 3, 15, 0, 0, 0);
  assert_int_equal(status_of(f->s, id), HUBC_NON_MARKETING); /* a read call applies it */
  hubc_billing_info b;
  billing(f->s, &b);
  assert_int_equal(b.billable, 0);
  assert_int_equal(b.period_start, tu_time(2024, 3, 15, 0, 0, 0));
  assert_int_equal(b.next_update, tu_time(2024, 4, 15, 0, 0, 0));
  assert_int_equal(b.commitment, HUBC_COMMITMENT_MONTHLY);
  assert_int_equal(period_count(f->s), 1);
}

static void b2_explicit_tick_applies_the_update_date(void **state) {
  (void)state;
  bfx *f = bfx_new();
  f->clk.now = tu_time(2024, 3, 8, 12, 0, 0);
  open_monthly_15(f, NULL);
  hubc_id id = marketing(f);
  f->clk.now = tu_time(2024, 3, 10, 16, 0, 0);
  assert_int_equal(hubc_contact_set_non_marketing(f->s, ADMIN, id, HUBC_SOURCE_MANUAL, 1), 0);

  f->ev.n = 0;
  f->clk.now = tu_time(2024, 3, 14, 23, 59, 59);
  assert_int_equal(hubc_store_tick(f->s), 0);
  assert_int_equal(f->ev.n, 0); /* nothing due yet */

  f->clk.now = tu_time(2024, 3, 15, 0, 0, 0);
  assert_int_equal(hubc_store_tick(f->s), 0);
  /* the tick itself did the work: its events were delivered during the call */
  assert_int_equal(ev_count(&f->ev, HUBC_EVENT_PERIOD_CLOSED), 1);
  const hubc_event *pc = ev_nth(&f->ev, HUBC_EVENT_PERIOD_CLOSED, 0);
  assert_int_equal(pc->period_start, tu_time(2024, 3, 8, 12, 0, 0));
  assert_int_equal(pc->period_end, tu_time(2024, 3, 15, 0, 0, 0));
  assert_int_equal(pc->billable, 1);
  assert_int_equal(ev_count(&f->ev, HUBC_EVENT_STATUS), 1);
  const hubc_event *st = ev_nth(&f->ev, HUBC_EVENT_STATUS, 0);
  assert_int_equal(st->contact, id);
  assert_int_equal(st->old_status, HUBC_MARKETING_UNTIL_UPDATE);
  assert_int_equal(st->new_status, HUBC_NON_MARKETING);
  assert_int_equal(st->reason_type, HUBC_SOURCE_UPDATE_DATE);
  assert_int_equal(st->time, tu_time(2024, 3, 15, 0, 0, 0));

  f->ev.n = 0;
  assert_int_equal(status_of(f->s, id), HUBC_NON_MARKETING);
  assert_int_equal(billable(f->s), 0);
  assert_int_equal(hubc_store_tick(f->s), 0);
  assert_int_equal(f->ev.n, 0);
  assert_int_equal(hubc_store_tick(NULL), HUBC_EINVAL);
}

static void b2_a_write_call_applies_the_update_date_first(void **state) {
  (void)state;
  bfx *f = bfx_new();
  f->clk.now = tu_time(2024, 3, 8, 12, 0, 0);
  open_monthly_15(f, NULL);
  hubc_id id = marketing(f);
  assert_int_equal(hubc_contact_set_non_marketing(f->s, ADMIN, id, HUBC_SOURCE_MANUAL, 1), 0);
  f->clk.now = tu_time(2024, 3, 15, 8, 0, 0);
  assert_int_equal(hubc_contact_set_marketing(f->s, f->p2, id, HUBC_SOURCE_MANUAL, f->p2), 0);
  hubc_history_iterator *it;
  assert_int_equal(hubc_history_iterator_new(&it, f->s, id), 0);
  gc_defer(hiter_free_cb, it);
  hubc_history_entry e[4];
  memset(e, 0, sizeof e);
  size_t n = 0;
  for (; n < 4; n++) {
    e[n].version = HUBC_HISTORY_ENTRY_VERSION;
    if (hubc_history_iterator_next(&e[n], it) != 0) break;
  }
  gc_release(it);
  assert_int_equal(n, 4);
  /* M5 at the update date first, then the call's own change */
  assert_int_equal(e[2].old_status, HUBC_MARKETING_UNTIL_UPDATE);
  assert_int_equal(e[2].new_status, HUBC_NON_MARKETING);
  assert_int_equal(e[2].time, tu_time(2024, 3, 15, 0, 0, 0));
  assert_int_equal(e[3].old_status, HUBC_NON_MARKETING);
  assert_int_equal(e[3].new_status, HUBC_MARKETING);
  assert_int_equal(e[3].time, tu_time(2024, 3, 15, 8, 0, 0));
  assert_int_equal(e[3].actor, f->p2);
}

static void walk_update_dates(bfx *f, const hubc_time *dates, size_t n) {
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(next_update(f->s), dates[i]);
    f->clk.now = dates[i] - 1;
    assert_int_equal(hubc_store_tick(f->s), 0);
    assert_int_equal(period_count(f->s), i);
    f->clk.now = dates[i];
    assert_int_equal(hubc_store_tick(f->s), 0);
    periods p;
    read_periods(f->s, &p);
    assert_int_equal(p.n, i + 1);
    assert_int_equal(p.p[i].end, dates[i]);
    if (i) assert_int_equal(p.p[i].start, dates[i - 1]);
  }
}

static void b1_renewal_day_31_falls_on_the_last_day_of_short_months(void **state) {
  (void)state;
  /* leap year */
  bfx *f = bfx_new();
  hubc_store_options o;
  opts_init(&o, f);
  o.renewal_anchor = tu_time(2023, 1, 31, 10, 0, 0);
  f->clk.now = tu_time(2024, 1, 31, 12, 0, 0);
  bopen(f, &o);
  hubc_id id = marketing(f);
  assert_int_equal(hubc_contact_set_non_marketing(f->s, ADMIN, id, HUBC_SOURCE_MANUAL, 1), 0);
  f->clk.now = tu_time(2024, 2, 28, 23, 59, 59);
  assert_int_equal(status_of(f->s, id), HUBC_MARKETING_UNTIL_UPDATE);
  const hubc_time leap[] = {tu_time(2024, 2, 29, 0, 0, 0), tu_time(2024, 3, 31, 0, 0, 0),
                            tu_time(2024, 4, 30, 0, 0, 0), tu_time(2024, 5, 31, 0, 0, 0),
                            tu_time(2024, 6, 30, 0, 0, 0)};
  walk_update_dates(f, leap, 5);
  assert_int_equal(status_of(f->s, id), HUBC_NON_MARKETING);
  assert_int_equal(next_update(f->s), tu_time(2024, 7, 31, 0, 0, 0));

  /* common year */
  bfx *g = bfx_new();
  opts_init(&o, g);
  o.renewal_anchor = tu_time(2022, 12, 31, 0, 0, 0);
  g->clk.now = tu_time(2023, 2, 1, 8, 0, 0);
  bopen(g, &o);
  const hubc_time common[] = {tu_time(2023, 2, 28, 0, 0, 0), tu_time(2023, 3, 31, 0, 0, 0),
                              tu_time(2023, 4, 30, 0, 0, 0)};
  walk_update_dates(g, common, 3);
}

static void b1_annual_update_date_is_the_first_of_every_month(void **state) {
  (void)state;
  bfx *f = bfx_new();
  hubc_store_options o;
  opts_init(&o, f);
  o.commitment = HUBC_COMMITMENT_ANNUAL;
  o.renewal_anchor = tu_time(2024, 1, 15, 0, 0, 0);
  f->clk.now = tu_time(2024, 3, 10, 12, 0, 0);
  bopen(f, &o);
  hubc_billing_info b;
  billing(f->s, &b);
  assert_int_equal(b.commitment, HUBC_COMMITMENT_ANNUAL);
  assert_int_equal(b.next_update, tu_time(2024, 4, 1, 0, 0, 0));
  assert_int_equal(b.next_renewal, tu_time(2025, 1, 15, 0, 0, 0));

  hubc_id id = marketing(f);
  f->clk.now = tu_time(2024, 3, 20, 0, 0, 0);
  assert_int_equal(hubc_contact_set_non_marketing(f->s, ADMIN, id, HUBC_SOURCE_MANUAL, 1), 0);
  f->clk.now = tu_time(2024, 3, 31, 23, 59, 59);
  assert_int_equal(status_of(f->s, id), HUBC_MARKETING_UNTIL_UPDATE);
  const hubc_time dates[] = {tu_time(2024, 4, 1, 0, 0, 0), tu_time(2024, 5, 1, 0, 0, 0),
                             tu_time(2024, 6, 1, 0, 0, 0), tu_time(2024, 7, 1, 0, 0, 0)};
  walk_update_dates(f, dates, 4);
  assert_int_equal(status_of(f->s, id), HUBC_NON_MARKETING);
  billing(f->s, &b);
  assert_int_equal(b.next_update, tu_time(2024, 8, 1, 0, 0, 0));
  assert_int_equal(b.next_renewal, tu_time(2025, 1, 15, 0, 0, 0));
}

/* A call's events are all delivered or none (R2): a tick that applies 41
 * missed update dates, with the n-th allocation failing for n = 1.. until
 * the tick succeeds. Each failure is HUBC_ENOMEM with no event delivered
 * (nothing read in between: a read would apply the due dates itself); the
 * success delivers all 41 period closes. */
static void b2_r2_a_tick_failing_at_any_allocation_delivers_all_events_or_none(void **state) {
  (void)state;
  bfx *f = bfx_new();
  tu_alloc *a = gc_malloc(calloc(1, sizeof *a));
  f->clk.now = tu_time(2024, 3, 8, 12, 0, 0);
  hubc_store_options o;
  opts_init(&o, f);
  o.commitment = HUBC_COMMITMENT_MONTHLY;
  o.renewal_anchor = tu_time(2024, 1, 15, 9, 30, 0);
  o.alloc = tu_alloc_fn;
  o.alloc_payload = a;
  bopen(f, &o);
  marketing(f);
  f->clk.now = tu_time(2027, 7, 20, 7, 0, 0); /* Mar 15, 2024 .. Jul 15, 2027 were missed */
  size_t n = 1;
  for (;; n++) {
    assert_true(n < 100000);
    f->ev.n = 0;
    a->fail_at = a->count + n;
    int rc = hubc_store_tick(f->s);
    a->fail_at = 0;
    if (rc == 0) break;
    assert_int_equal(rc, HUBC_ENOMEM);
    assert_int_equal(f->ev.n, 0);
  }
  assert_true(n > 1); /* some allocation was failed on the way */
  assert_int_equal(ev_count(&f->ev, HUBC_EVENT_PERIOD_CLOSED), 41);
  periods p;
  read_periods(f->s, &p);
  assert_int_equal(p.n, 41);
}

static void b2_missed_update_dates_are_applied_once_each(void **state) {
  (void)state;
  tu_mem *mem = gc_mem();
  bfx *f = bfx_new();
  f->clk.now = tu_time(2024, 3, 8, 12, 0, 0);
  open_monthly_15(f, &mem->vtable);
  hubc_id id = marketing(f);
  hubc_id keep = marketing(f);
  assert_int_equal(hubc_contact_set_non_marketing(f->s, ADMIN, id, HUBC_SOURCE_MANUAL, 1), 0);
  f->ev.n = 0;

  f->clk.now = tu_time(2024, 5, 20, 7, 0, 0); /* Mar 15, Apr 15 and May 15 were missed */
  assert_int_equal(hubc_store_tick(f->s), 0);
  periods p;
  read_periods(f->s, &p);
  assert_int_equal(p.n, 3);
  const hubc_time ends[] = {tu_time(2024, 3, 15, 0, 0, 0), tu_time(2024, 4, 15, 0, 0, 0),
                            tu_time(2024, 5, 15, 0, 0, 0)};
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(p.p[i].number, (hubc_id)i + 1);
    assert_int_equal(p.p[i].end, ends[i]);
    assert_int_equal(p.p[i].start, i ? ends[i - 1] : tu_time(2024, 3, 8, 12, 0, 0));
  }
  assert_int_equal(p.p[0].billable_at_close, 2);
  assert_int_equal(p.p[1].billable_at_close, 1);
  assert_int_equal(p.p[2].billable_at_close, 1);
  assert_int_equal(p.p[0].peak, 2);
  assert_int_equal(p.p[1].peak, 1); /* each later period starts from the count after M5 */
  assert_int_equal(p.p[2].peak, 1);
  assert_int_equal(ev_count(&f->ev, HUBC_EVENT_PERIOD_CLOSED), 3);
  assert_int_equal(ev_count(&f->ev, HUBC_EVENT_STATUS), 1);
  assert_int_equal(ev_nth(&f->ev, HUBC_EVENT_STATUS, 0)->time, ends[0]);
  assert_int_equal(hist_count(f->s, id), 3); /* one M5 entry, not three */
  assert_int_equal(status_of(f->s, keep), HUBC_MARKETING);

  hubc_billing_info b;
  billing(f->s, &b);
  assert_int_equal(b.period_start, ends[2]);
  assert_int_equal(b.next_update, tu_time(2024, 6, 15, 0, 0, 0));

  /* again: nothing left to apply */
  char *before = gc_dump(f->s);
  long commits = mem->commits;
  f->ev.n = 0;
  assert_int_equal(hubc_store_tick(f->s), 0);
  assert_int_equal(f->ev.n, 0);
  assert_int_equal(mem->commits, commits);
  tu_expect_dump(f->s, before, "the calls before");

  /* nor after a reopen */
  bclose(f);
  open_monthly_15(f, &mem->vtable);
  f->ev.n = 0;
  assert_int_equal(hubc_store_tick(f->s), 0);
  assert_int_equal(f->ev.n, 0);
  assert_int_equal(period_count(f->s), 3);
  tu_expect_dump(f->s, before, "the calls before");
  gc_release(before);
}

/* ---- B3 ------------------------------------------------------------------ */

static void b3_period_summaries_keep_start_end_peak_close_and_tier(void **state) {
  (void)state;
  bfx *f = bfx_new();
  static const uint64_t ladder[] = {2, 4, 8};
  hubc_store_options o;
  opts_init(&o, f);
  o.tier_ladder = ladder;
  o.tier_ladder_len = 3;
  f->clk.now = tu_time(2024, 3, 10, 12, 0, 0); /* update dates on the 10th */
  bopen(f, &o);
  hubc_id ids[6];
  for (int i = 0; i < 5; i++) ids[i] = marketing(f);
  assert_int_equal(tier(f->s), 8);
  assert_int_equal(hubc_contact_delete(f->s, ADMIN, ids[0]), 0);
  assert_int_equal(hubc_contact_delete(f->s, ADMIN, ids[1]), 0);
  assert_int_equal(hubc_contact_set_non_marketing(f->s, ADMIN, ids[2], HUBC_SOURCE_MANUAL, 1), 0);
  hubc_billing_info b;
  billing(f->s, &b);
  assert_int_equal(b.billable, 3);
  assert_int_equal(b.period_peak, 5);

  f->clk.now = tu_time(2024, 4, 10, 0, 0, 0);
  assert_int_equal(hubc_store_tick(f->s), 0);
  billing(f->s, &b);
  assert_int_equal(b.billable, 2); /* ids[2] became NON at the update date */
  assert_int_equal(b.period_peak, 2);
  ids[5] = marketing(f);
  (void)ids[5];

  f->clk.now = tu_time(2024, 5, 10, 0, 0, 0);
  assert_int_equal(hubc_store_tick(f->s), 0);
  periods p;
  read_periods(f->s, &p);
  assert_int_equal(p.n, 2);
  assert_int_equal(p.p[0].version, HUBC_PERIOD_VERSION);
  assert_int_equal(p.p[0].number, 1);
  assert_int_equal(p.p[0].start, tu_time(2024, 3, 10, 12, 0, 0));
  assert_int_equal(p.p[0].end, tu_time(2024, 4, 10, 0, 0, 0));
  assert_int_equal(p.p[0].peak, 5);
  assert_int_equal(p.p[0].billable_at_close, 3); /* the pending one still counted in its period */
  assert_int_equal(p.p[0].tier_at_close, 8);
  assert_int_equal(p.p[1].number, 2);
  assert_int_equal(p.p[1].start, tu_time(2024, 4, 10, 0, 0, 0));
  assert_int_equal(p.p[1].end, tu_time(2024, 5, 10, 0, 0, 0));
  assert_int_equal(p.p[1].peak, 3);
  assert_int_equal(p.p[1].billable_at_close, 3);
  assert_int_equal(p.p[1].tier_at_close, 8);

  /* iterator argument checks; an exhausted iterator stays exhausted */
  hubc_period_iterator *it = NULL;
  assert_int_equal(hubc_period_iterator_new(&it, NULL), HUBC_EINVAL);
  assert_int_equal(hubc_period_iterator_new(NULL, f->s), HUBC_EINVAL);
  assert_int_equal(hubc_period_iterator_new(&it, f->s), 0);
  gc_defer(piter_free_cb, it);
  hubc_period q;
  memset(&q, 0, sizeof q);
  q.version = 7;
  assert_int_equal(hubc_period_iterator_next(&q, it), HUBC_EVERSION);
  q.version = HUBC_PERIOD_VERSION;
  assert_int_equal(hubc_period_iterator_next(&q, it), 0);
  assert_int_equal(hubc_period_iterator_next(&q, it), 0);
  assert_int_equal(hubc_period_iterator_next(&q, it), HUBC_ITEROVER);
  assert_int_equal(hubc_period_iterator_next(&q, it), HUBC_ITEROVER);
  gc_release(it);
  hubc_period_iterator_free(NULL);
}

/* ---- B4 ------------------------------------------------------------------ */

static void b4_auto_upgrade_climbs_to_the_smallest_fitting_rung(void **state) {
  (void)state;
  bfx *f = bfx_new();
  static const uint64_t ladder[] = {3, 5, 10};
  hubc_store_options o;
  opts_init(&o, f);
  o.tier_ladder = ladder;
  o.tier_ladder_len = 3;
  f->clk.now = tu_time(2024, 3, 10, 12, 0, 0);
  bopen(f, &o);
  hubc_billing_info b;
  billing(f->s, &b);
  assert_int_equal(b.tier, 3);
  assert_int_equal(b.tier_policy, HUBC_TIER_AUTO_UPGRADE);
  assert_int_equal(b.cap, 0);

  /* count at which the tier rises -> the new tier */
  static const struct { uint64_t at, to; } steps[] = {{4, 5}, {6, 10}, {11, 20}, {21, 40}, {41, 80}};
  uint64_t count = 0, cur = 3;
  size_t k = 0;
  f->ev.n = 0;
  while (count < 45) {
    marketing(f);
    count++;
    uint64_t want = cur;
    if (k < 5 && steps[k].at == count) want = steps[k].to;
    assert_int_equal(tier(f->s), want);
    if (want != cur) {
      assert_int_equal(ev_count(&f->ev, HUBC_EVENT_TIER_UPGRADE), k + 1);
      const hubc_event *e = ev_nth(&f->ev, HUBC_EVENT_TIER_UPGRADE, k);
      assert_int_equal(e->old_tier, cur);
      assert_int_equal(e->tier, want);
      assert_int_equal(e->billable, count);
      assert_int_equal(e->time, f->clk.now);
      k++;
      cur = want;
    }
  }
  assert_int_equal(k, 5);
  assert_int_equal(ev_count(&f->ev, HUBC_EVENT_TIER_UPGRADE), 5);
}

static void b4_auto_upgrade_skips_rungs_that_do_not_fit(void **state) {
  (void)state;
  /* A HARD_CAP store above its tier, reopened under AUTO_UPGRADE: the next
   * rise goes straight to the smallest rung that fits (5 and 10 skipped). */
  tu_mem *mem = gc_mem();
  bfx *f = bfx_new();
  static const uint64_t ladder[] = {3, 5, 10};
  hubc_store_options o;
  opts_init(&o, f);
  o.tier_ladder = ladder;
  o.tier_ladder_len = 3;
  o.tier_policy = HUBC_TIER_HARD_CAP;
  o.hard_cap = 100;
  o.persist = &mem->vtable;
  f->clk.now = tu_time(2024, 3, 10, 12, 0, 0);
  bopen(f, &o);
  bulk_marketing(f->s, 12);
  assert_int_equal(tier(f->s), 3);
  bclose(f);

  o.tier_policy = HUBC_TIER_AUTO_UPGRADE;
  o.hard_cap = 0;
  bopen(f, &o);
  f->ev.n = 0;
  bulk_marketing(f->s, 1);
  assert_int_equal(tier(f->s), 20);
  assert_int_equal(ev_count(&f->ev, HUBC_EVENT_TIER_UPGRADE), 1);
  assert_int_equal(ev_nth(&f->ev, HUBC_EVENT_TIER_UPGRADE, 0)->old_tier, 3);
  assert_int_equal(ev_nth(&f->ev, HUBC_EVENT_TIER_UPGRADE, 0)->tier, 20);
}

static void b4_default_ladder_then_doubling(void **state) {
  (void)state;
  bfx *f = bfx_new();
  hubc_store_options o;
  opts_init(&o, f);
  f->clk.now = tu_time(2024, 3, 10, 12, 0, 0);
  bopen(f, &o);
  assert_int_equal(tier(f->s), 1000);
  static const struct { uint64_t at, to; } steps[] = {{1001, 2000},     {2001, 5000},     {5001, 10000},
                                                      {10001, 20000},   {20001, 50000},   {50001, 100000},
                                                      {100001, 200000}, {200001, 400000}};
  uint64_t count = 0, cur = 1000;
  for (size_t k = 0; k < 8; k++) {
    f->ev.n = 0;
    bulk_marketing(f->s, steps[k].at - 1 - count); /* up to the rung: no rise */
    count = steps[k].at - 1;
    assert_int_equal(tier(f->s), cur);
    assert_int_equal(ev_count(&f->ev, HUBC_EVENT_TIER_UPGRADE), 0);
    bulk_marketing(f->s, 1);
    count++;
    assert_int_equal(tier(f->s), steps[k].to);
    assert_int_equal(ev_count(&f->ev, HUBC_EVENT_TIER_UPGRADE), 1);
    const hubc_event *e = ev_nth(&f->ev, HUBC_EVENT_TIER_UPGRADE, 0);
    assert_int_equal(e->old_tier, cur);
    assert_int_equal(e->tier, steps[k].to);
    assert_int_equal(e->billable, count);
    cur = steps[k].to;
  }
}

static void b4_tier_never_descends_by_itself(void **state) {
  (void)state;
  bfx *f = bfx_new();
  static const uint64_t ladder[] = {3, 5, 10};
  hubc_store_options o;
  opts_init(&o, f);
  o.tier_ladder = ladder;
  o.tier_ladder_len = 3;
  f->clk.now = tu_time(2024, 3, 10, 12, 0, 0);
  bopen(f, &o);
  hubc_id ids[6];
  for (int i = 0; i < 6; i++) ids[i] = marketing(f);
  assert_int_equal(tier(f->s), 10);
  for (int i = 0; i < 5; i++) assert_int_equal(hubc_contact_delete(f->s, ADMIN, ids[i]), 0);
  assert_int_equal(hubc_contact_set_non_marketing(f->s, ADMIN, ids[5], HUBC_SOURCE_MANUAL, 1), 0);
  f->ev.n = 0;
  f->clk.now = tu_time(2024, 7, 10, 0, 0, 0); /* four update dates later */
  assert_int_equal(hubc_store_tick(f->s), 0);
  hubc_billing_info b;
  billing(f->s, &b);
  assert_int_equal(b.billable, 0);
  assert_int_equal(b.tier, 10);
  assert_int_equal(ev_count(&f->ev, HUBC_EVENT_TIER_DOWNGRADE), 0);
  periods p;
  read_periods(f->s, &p);
  assert_int_equal(p.n, 4);
  for (size_t i = 0; i < p.n; i++) assert_int_equal(p.p[i].tier_at_close, 10);
}

/* A monthly store (update dates on the 10th) on ladder 3, 5, 10 at tier 10. */
static void open_at_tier_10(bfx *f, hubc_id *ids) {
  static const uint64_t ladder[] = {3, 5, 10};
  hubc_store_options o;
  opts_init(&o, f);
  o.tier_ladder = ladder;
  o.tier_ladder_len = 3;
  f->clk.now = tu_time(2024, 3, 10, 12, 0, 0);
  bopen(f, &o);
  for (int i = 0; i < 6; i++) ids[i] = marketing(f);
  assert_int_equal(tier(f->s), 10);
}

static void b4_downgrade_applies_at_the_next_renewal_if_the_count_fits(void **state) {
  (void)state;
  bfx *f = bfx_new();
  hubc_id ids[6];
  open_at_tier_10(f, ids);
  for (int i = 0; i < 2; i++) assert_int_equal(hubc_contact_delete(f->s, ADMIN, ids[i]), 0); /* 4 left */
  assert_int_equal(hubc_billing_request_downgrade(f->s, f->p2, 5), 0);
  hubc_billing_info b;
  billing(f->s, &b);
  assert_int_equal(b.downgrade_request, 5);
  assert_int_equal(b.tier, 10); /* not before the renewal */
  assert_int_equal(b.next_renewal, tu_time(2024, 4, 10, 0, 0, 0));

  f->ev.n = 0;
  f->clk.now = tu_time(2024, 4, 9, 23, 59, 59);
  assert_int_equal(tier(f->s), 10);
  f->clk.now = tu_time(2024, 4, 10, 0, 0, 0);
  assert_int_equal(hubc_store_tick(f->s), 0);
  billing(f->s, &b);
  assert_int_equal(b.tier, 5);
  assert_int_equal(b.downgrade_request, 0);
  assert_int_equal(ev_count(&f->ev, HUBC_EVENT_TIER_DOWNGRADE), 1);
  const hubc_event *e = ev_nth(&f->ev, HUBC_EVENT_TIER_DOWNGRADE, 0);
  assert_int_equal(e->old_tier, 10);
  assert_int_equal(e->tier, 5);
  assert_int_equal(e->time, tu_time(2024, 4, 10, 0, 0, 0));
  periods p;
  read_periods(f->s, &p);
  assert_int_equal(p.n, 1);
  assert_int_equal(p.p[0].tier_at_close, 10);

  /* the lower tier is the one auto-upgrade climbs from again */
  f->ev.n = 0;
  marketing(f);
  marketing(f); /* 6 > 5 */
  assert_int_equal(tier(f->s), 10);
  assert_int_equal(ev_count(&f->ev, HUBC_EVENT_TIER_UPGRADE), 1);
}

static void b4_downgrade_that_does_not_fit_is_dropped(void **state) {
  (void)state;
  bfx *f = bfx_new();
  hubc_id ids[6];
  open_at_tier_10(f, ids);
  assert_int_equal(hubc_billing_request_downgrade(f->s, ADMIN, 5), 0);
  f->ev.n = 0;
  f->clk.now = tu_time(2024, 4, 10, 0, 0, 0);
  assert_int_equal(hubc_store_tick(f->s), 0);
  hubc_billing_info b;
  billing(f->s, &b);
  assert_int_equal(b.billable, 6);
  assert_int_equal(b.tier, 10);
  assert_int_equal(b.downgrade_request, 0); /* dropped */
  assert_int_equal(ev_count(&f->ev, HUBC_EVENT_TIER_DOWNGRADE), 0);

  /* dropped means dropped: fitting later does not bring it back */
  for (int i = 0; i < 5; i++) assert_int_equal(hubc_contact_delete(f->s, ADMIN, ids[i]), 0);
  f->clk.now = tu_time(2024, 5, 10, 0, 0, 0);
  assert_int_equal(hubc_store_tick(f->s), 0);
  assert_int_equal(tier(f->s), 10);
  assert_int_equal(ev_count(&f->ev, HUBC_EVENT_TIER_DOWNGRADE), 0);
}

static void b4_downgrade_request_needs_p2_and_a_user(void **state) {
  (void)state;
  bfx *f = bfx_new();
  hubc_id ids[6];
  open_at_tier_10(f, ids);
  hubc_id off;
  assert_int_equal(hubc_user_create(&off, f->s, ADMIN, "off@example.com"), 0);
  assert_int_equal(hubc_user_set_disabled(f->s, ADMIN, off, 1), 0);
  char *before = gc_dump(f->s);
  f->ev.n = 0;
  assert_int_equal(hubc_billing_request_downgrade(f->s, f->nop2, 5), HUBC_EPERM);
  assert_true(contains(hubc_error_last(), "marketing contact access"));
  assert_int_equal(hubc_billing_request_downgrade(f->s, HUBC_SYSTEM, 5), HUBC_EPERM);
  assert_true(contains(hubc_error_last(), "SYSTEM"));
  assert_int_equal(hubc_billing_request_downgrade(f->s, off, 5), HUBC_EPERM);
  assert_int_equal(hubc_billing_request_downgrade(f->s, 999, 5), HUBC_EPERM);
  assert_int_equal(hubc_billing_request_downgrade(f->s, ADMIN, 10), HUBC_EINVAL);
  assert_true(contains(hubc_error_last(), "10"));
  assert_int_equal(hubc_billing_request_downgrade(f->s, ADMIN, 20), HUBC_EINVAL);
  assert_int_equal(hubc_billing_request_downgrade(NULL, ADMIN, 5), HUBC_EINVAL);
  tu_expect_dump(f->s, before, "the calls before");
  assert_int_equal(f->ev.n, 0);
  hubc_billing_info b;
  billing(f->s, &b);
  assert_int_equal(b.downgrade_request, 0);

  /* tier 0 cancels a request */
  for (int i = 0; i < 5; i++) assert_int_equal(hubc_contact_delete(f->s, ADMIN, ids[i]), 0);
  assert_int_equal(hubc_billing_request_downgrade(f->s, f->p2, 3), 0);
  billing(f->s, &b);
  assert_int_equal(b.downgrade_request, 3);
  assert_int_equal(hubc_billing_request_downgrade(f->s, f->p2, 0), 0);
  billing(f->s, &b);
  assert_int_equal(b.downgrade_request, 0);
  f->clk.now = tu_time(2024, 4, 10, 0, 0, 0);
  assert_int_equal(tier(f->s), 10);
  assert_int_equal(ev_count(&f->ev, HUBC_EVENT_TIER_DOWNGRADE), 0);
  gc_release(before);
}

/* ANNUAL: the update dates are monthly but a downgrade waits for the
 * contract's anniversary (hubc_billing_info.next_renewal). */
static void annual_downgrade(hubc_time anchor, hubc_time open_at, hubc_time renewal) {
  bfx *f = bfx_new();
  static const uint64_t ladder[] = {3, 5, 10};
  hubc_store_options o;
  opts_init(&o, f);
  o.commitment = HUBC_COMMITMENT_ANNUAL;
  o.renewal_anchor = anchor;
  o.tier_ladder = ladder;
  o.tier_ladder_len = 3;
  f->clk.now = open_at;
  bopen(f, &o);
  hubc_id ids[6];
  for (int i = 0; i < 6; i++) ids[i] = marketing(f);
  for (int i = 0; i < 4; i++) assert_int_equal(hubc_contact_delete(f->s, ADMIN, ids[i]), 0);
  assert_int_equal(tier(f->s), 10);
  assert_int_equal(hubc_billing_request_downgrade(f->s, f->p2, 5), 0);
  hubc_billing_info b;
  billing(f->s, &b);
  assert_int_equal(b.next_renewal, renewal);

  /* every monthly update date before the anniversary leaves it pending */
  size_t months = 0;
  while (next_update(f->s) < renewal) {
    f->clk.now = next_update(f->s);
    assert_int_equal(hubc_store_tick(f->s), 0);
    billing(f->s, &b);
    assert_int_equal(b.tier, 10);
    assert_int_equal(b.downgrade_request, 5);
    months++;
  }
  assert_true(months >= 10);
  f->ev.n = 0;
  f->clk.now = renewal - 1;
  assert_int_equal(hubc_store_tick(f->s), 0);
  assert_int_equal(tier(f->s), 10);
  f->clk.now = renewal;
  assert_int_equal(hubc_store_tick(f->s), 0);
  billing(f->s, &b);
  assert_int_equal(b.tier, 5);
  assert_int_equal(b.downgrade_request, 0);
  assert_int_equal(ev_count(&f->ev, HUBC_EVENT_TIER_DOWNGRADE), 1);
}

static void b4_annual_downgrade_waits_for_the_anniversary(void **state) {
  (void)state;
  annual_downgrade(tu_time(2024, 1, 1, 0, 0, 0), tu_time(2024, 2, 10, 12, 0, 0), tu_time(2025, 1, 1, 0, 0, 0));
}

static void b4_annual_downgrade_anniversary_not_on_the_first(void **state) {
  (void)state;
  annual_downgrade(tu_time(2024, 3, 15, 0, 0, 0), tu_time(2024, 4, 10, 12, 0, 0), tu_time(2025, 3, 15, 0, 0, 0));
}

/* ---- B5 ------------------------------------------------------------------ */

static void b5_hard_cap_refuses_what_would_pass_the_cap(void **state) {
  (void)state;
  bfx *f = bfx_new();
  hubc_store_options o;
  opts_init(&o, f);
  o.tier_policy = HUBC_TIER_HARD_CAP;
  o.hard_cap = 17;
  f->clk.now = tu_time(2024, 3, 10, 12, 0, 0);
  bopen(f, &o);
  assert_int_equal(hubc_source_set_default(f->s, ADMIN, HUBC_SOURCE_CHATFLOW, 7, 1), 0);
  hubc_billing_info b;
  billing(f->s, &b);
  assert_int_equal(b.cap, 17);
  assert_int_equal(b.tier_policy, HUBC_TIER_HARD_CAP);

  hubc_id ids[17];
  for (int i = 0; i < 15; i++) ids[i] = marketing(f);
  /* the last two through the other paths */
  hubc_create_options mo = HUBC_CREATE_OPTIONS_INIT;
  mo.marketing = 1;
  const char *names[] = {"email"};
  const char *v16[] = {"m16@example.com"};
  assert_int_equal(hubc_contact_create(&ids[15], f->s, ADMIN, &mo, names, v16, 1), 0);
  hubc_create_options xo = HUBC_CREATE_OPTIONS_INIT;
  xo.source = HUBC_SOURCE_EXTERNAL_FORM;
  const char *v17[] = {"m17@example.com"};
  assert_int_equal(hubc_contact_create(&ids[16], f->s, HUBC_SYSTEM, &xo, names, v17, 1), 0);
  assert_int_equal(billable(f->s), 17);
  hubc_id spare = plain(f);

  char *before = gc_dump(f->s);
  f->ev.n = 0;
  hubc_id id = 0;
  assert_int_equal(hubc_contact_set_marketing(f->s, ADMIN, spare, HUBC_SOURCE_MANUAL, 1), HUBC_ELIMIT);
  assert_true(contains(hubc_error_last(), "18"));
  assert_true(contains(hubc_error_last(), "17"));
  const char *vx[] = {"x@example.com"};
  assert_int_equal(hubc_contact_create(&id, f->s, ADMIN, &mo, names, vx, 1), HUBC_ELIMIT);
  assert_true(contains(hubc_error_last(), "18"));
  assert_int_equal(hubc_contact_create(&id, f->s, HUBC_SYSTEM, &xo, names, vx, 1), HUBC_ELIMIT);
  assert_true(contains(hubc_error_last(), "18"));
  hubc_create_options co = HUBC_CREATE_OPTIONS_INIT;
  co.source = HUBC_SOURCE_CHATFLOW;
  co.source_id = 7;
  assert_int_equal(hubc_contact_create(&id, f->s, HUBC_SYSTEM, &co, names, vx, 1), HUBC_ELIMIT);
  assert_int_equal(id, 0);
  assert_int_equal(f->ev.n, 0);
  tu_expect_dump(f->s, before, "the calls before");
  gc_release(before);
  assert_int_equal(status_of(f->s, spare), HUBC_NON_MARKETING);
  hubc_id found;
  assert_int_equal(hubc_contact_find(&found, f->s, "x@example.com"), HUBC_ENOTFOUND);

  /* what does not raise the count still works at the cap */
  hubc_id n1 = plain(f);
  const char *fn[] = {"firstname"};
  const char *fv[] = {"Zoe"};
  assert_int_equal(hubc_contact_update(f->s, ADMIN, ids[0], fn, fv, 1), 0);
  assert_int_equal(hubc_contact_set_marketing(f->s, ADMIN, ids[1], HUBC_SOURCE_MANUAL, ADMIN), 0); /* no-op */
  assert_int_equal(hubc_contact_set_non_marketing(f->s, ADMIN, ids[2], HUBC_SOURCE_MANUAL, 1), 0);
  assert_int_equal(status_of(f->s, ids[2]), HUBC_MARKETING_UNTIL_UPDATE);
  assert_int_equal(hubc_contact_set_marketing(f->s, ADMIN, ids[2], HUBC_SOURCE_MANUAL, 1), 0); /* UNTIL -> MARKETING */
  assert_int_equal(status_of(f->s, ids[2]), HUBC_MARKETING);
  assert_int_equal(billable(f->s), 17);
  assert_int_equal(tier(f->s), 1000); /* HARD_CAP never raises the tier */

  /* room again after a delete */
  assert_int_equal(hubc_contact_delete(f->s, ADMIN, ids[3]), 0);
  assert_int_equal(hubc_contact_set_marketing(f->s, ADMIN, n1, HUBC_SOURCE_MANUAL, 1), 0);
  assert_int_equal(billable(f->s), 17);
  assert_int_equal(hubc_contact_set_marketing(f->s, ADMIN, spare, HUBC_SOURCE_MANUAL, 1), HUBC_ELIMIT);

  /* a pending request frees room only at the update date */
  assert_int_equal(hubc_contact_set_non_marketing(f->s, ADMIN, ids[4], HUBC_SOURCE_MANUAL, 1), 0);
  assert_int_equal(hubc_contact_set_marketing(f->s, ADMIN, spare, HUBC_SOURCE_MANUAL, 1), HUBC_ELIMIT);
  f->clk.now = tu_time(2024, 4, 10, 0, 0, 0);
  assert_int_equal(hubc_contact_set_marketing(f->s, ADMIN, spare, HUBC_SOURCE_MANUAL, 1), 0);
  assert_int_equal(billable(f->s), 17);
}

static void b5_hard_cap_defaults_to_the_tier(void **state) {
  (void)state;
  bfx *f = bfx_new();
  static const uint64_t ladder[] = {4, 8};
  hubc_store_options o;
  opts_init(&o, f);
  o.tier_policy = HUBC_TIER_HARD_CAP;
  o.tier_ladder = ladder;
  o.tier_ladder_len = 2;
  f->clk.now = tu_time(2024, 3, 10, 12, 0, 0);
  bopen(f, &o);
  hubc_billing_info b;
  billing(f->s, &b);
  assert_int_equal(b.cap, 4);
  for (int i = 0; i < 4; i++) marketing(f);
  hubc_id extra = plain(f);
  char *before = gc_dump(f->s);
  assert_int_equal(hubc_contact_set_marketing(f->s, ADMIN, extra, HUBC_SOURCE_MANUAL, 1), HUBC_ELIMIT);
  assert_true(contains(hubc_error_last(), "5"));
  tu_expect_dump(f->s, before, "the calls before");
  gc_release(before);
  assert_int_equal(tier(f->s), 4);
}

/* ---- B6 ------------------------------------------------------------------ */

static void expect_alerts(const ev_log *l, const unsigned *th, const uint64_t *at, size_t n) {
  assert_int_equal(ev_count(l, HUBC_EVENT_ALERT), n);
  for (size_t i = 0; i < n; i++) {
    const hubc_event *e = ev_nth(l, HUBC_EVENT_ALERT, i);
    assert_int_equal(e->threshold, th[i]);
    assert_int_equal(e->billable, at[i]);
    assert_int_equal(e->tier, 100);
  }
}

static void b6_alerts_fire_once_per_threshold_per_period(void **state) {
  (void)state;
  bfx *f = bfx_new();
  static const uint64_t ladder[] = {100};
  hubc_store_options o;
  opts_init(&o, f);
  o.tier_ladder = ladder;
  o.tier_ladder_len = 1;
  o.tier_policy = HUBC_TIER_HARD_CAP;
  o.hard_cap = 200; /* the tier stays 100 so "above 100 %" can be reached */
  f->clk.now = tu_time(2024, 3, 10, 12, 0, 0);
  bopen(f, &o);
  hubc_id ids[120];
  size_t n = 0;
  f->ev.n = 0;
  static const unsigned th[] = {75, 90, 98, 100};
  static const uint64_t at[] = {75, 90, 98, 101};
  size_t fired = 0;
  while (n < 101) {
    ids[n++] = marketing(f);
    if (fired < 4 && at[fired] == n) fired++;
    assert_int_equal(ev_count(&f->ev, HUBC_EVENT_ALERT), fired); /* each one exactly when crossed */
  }
  expect_alerts(&f->ev, th, at, 4);
  assert_int_equal(billable(f->s), 101);
  assert_int_equal(tier(f->s), 100);

  /* down below every threshold and up again in the same period: nothing */
  while (n > 70) assert_int_equal(hubc_contact_delete(f->s, ADMIN, ids[--n]), 0);
  while (n < 101) ids[n++] = marketing(f);
  assert_int_equal(ev_count(&f->ev, HUBC_EVENT_ALERT), 4);

  /* the next period: the same crossings fire again */
  while (n > 70) assert_int_equal(hubc_contact_delete(f->s, ADMIN, ids[--n]), 0);
  f->clk.now = tu_time(2024, 4, 10, 0, 0, 0);
  assert_int_equal(hubc_store_tick(f->s), 0);
  f->ev.n = 0;
  fired = 0;
  while (n < 101) {
    ids[n++] = marketing(f);
    if (fired < 4 && at[fired] == n) fired++;
    assert_int_equal(ev_count(&f->ev, HUBC_EVENT_ALERT), fired);
  }
  expect_alerts(&f->ev, th, at, 4);

  /* a pending request or a set on a marketing contact never crosses upward */
  f->ev.n = 0;
  assert_int_equal(hubc_contact_set_non_marketing(f->s, ADMIN, ids[0], HUBC_SOURCE_MANUAL, 1), 0);
  assert_int_equal(hubc_contact_set_marketing(f->s, ADMIN, ids[0], HUBC_SOURCE_MANUAL, 1), 0);
  assert_int_equal(ev_count(&f->ev, HUBC_EVENT_ALERT), 0);
}

static void b6_auto_upgrade_alerts_above_100_and_upgrades(void **state) {
  (void)state;
  bfx *f = bfx_new();
  static const uint64_t ladder[] = {20, 40};
  hubc_store_options o;
  opts_init(&o, f);
  o.tier_ladder = ladder;
  o.tier_ladder_len = 2;
  f->clk.now = tu_time(2024, 3, 10, 12, 0, 0);
  bopen(f, &o);
  f->ev.n = 0;
  for (int i = 0; i < 20; i++) marketing(f);
  /* 15 = 75 %, 18 = 90 %, 19.6 -> 20 = 98 % */
  assert_int_equal(ev_count(&f->ev, HUBC_EVENT_ALERT), 3);
  assert_int_equal(ev_nth(&f->ev, HUBC_EVENT_ALERT, 0)->billable, 15);
  assert_int_equal(ev_nth(&f->ev, HUBC_EVENT_ALERT, 1)->billable, 18);
  assert_int_equal(ev_nth(&f->ev, HUBC_EVENT_ALERT, 2)->billable, 20);
  marketing(f); /* 21 > 20 */
  assert_int_equal(ev_count(&f->ev, HUBC_EVENT_ALERT), 4);
  const hubc_event *e = ev_nth(&f->ev, HUBC_EVENT_ALERT, 3);
  assert_int_equal(e->threshold, 100);
  assert_int_equal(e->billable, 21);
  assert_int_equal(ev_count(&f->ev, HUBC_EVENT_TIER_UPGRADE), 1);
  assert_int_equal(tier(f->s), 40);
}

/* Issue 9 item 14: the thresholds are re-armed when AUTO_UPGRADE raises the
 * tier, so the account is warned again before its next upgrade. */
static void b6_alerts_are_re_armed_for_the_new_tier(void **state) {
  (void)state;
  bfx *f = bfx_new();
  static const uint64_t ladder[] = {20, 40};
  hubc_store_options o;
  opts_init(&o, f);
  o.tier_ladder = ladder;
  o.tier_ladder_len = 2;
  f->clk.now = tu_time(2024, 3, 10, 12, 0, 0);
  bopen(f, &o);
  f->ev.n = 0;
  for (int i = 0; i < 21; i++) marketing(f); /* 75, 90, 98, above 100 of 20; tier 40 */
  assert_int_equal(ev_count(&f->ev, HUBC_EVENT_ALERT), 4);
  assert_int_equal(tier(f->s), 40);
  static const unsigned th[] = {75, 90, 98, 100};
  static const uint64_t at[] = {30, 36, 40, 41}; /* of 40; 39.2 -> 40 for 98 % */
  size_t fired = 0;
  for (uint64_t n = 22; n <= 41; n++) {
    marketing(f);
    if (fired < 4 && at[fired] == n) fired++;
    assert_int_equal(ev_count(&f->ev, HUBC_EVENT_ALERT), 4 + fired); /* each exactly when crossed */
  }
  for (size_t i = 0; i < 4; i++) {
    const hubc_event *e = ev_nth(&f->ev, HUBC_EVENT_ALERT, 4 + i);
    assert_int_equal(e->threshold, th[i]);
    assert_int_equal(e->billable, at[i]);
    assert_int_equal(e->tier, 40);
  }
  assert_int_equal(ev_count(&f->ev, HUBC_EVENT_TIER_UPGRADE), 2);
  assert_int_equal(tier(f->s), 80);
}

/* One call that jumps past the tier: the new tier's thresholds it also
 * crossed fire in the same call, after the upgrade. */
static void b6_one_call_past_the_tier_alerts_for_both_tiers(void **state) {
  (void)state;
  bfx *f = bfx_new();
  static const uint64_t ladder[] = {4, 8};
  hubc_store_options o;
  opts_init(&o, f);
  o.tier_ladder = ladder;
  o.tier_ladder_len = 2;
  f->clk.now = tu_time(2024, 3, 10, 12, 0, 0);
  bopen(f, &o);
  hubc_create_options co = HUBC_CREATE_OPTIONS_INIT;
  co.marketing = 1;
  const char *names[] = {"email"};
  const char *values[] = {"a@example.com", "b@example.com", "c@example.com", "d@example.com",
                          "e@example.com", "f@example.com", "g@example.com"};
  hubc_id ids[7];
  f->ev.n = 0;
  assert_int_equal(hubc_contact_create_batch(ids, f->s, ADMIN, &co, names, 1, values, 7), 0);
  assert_int_equal(tier(f->s), 8);
  /* 75, 90, 98, above 100 of 4, then 75 % of 8 (7 = 87.5 %: not 90) */
  assert_int_equal(ev_count(&f->ev, HUBC_EVENT_ALERT), 5);
  const hubc_event *e = ev_nth(&f->ev, HUBC_EVENT_ALERT, 4);
  assert_int_equal(e->threshold, 75);
  assert_int_equal(e->tier, 8);
  assert_int_equal(e->billable, 7);
}

static void b6_fired_alerts_and_a_downgrade_request_survive_a_reopen(void **state) {
  (void)state;
  tu_mem *mem = gc_mem();
  bfx *f = bfx_new();
  static const uint64_t ladder[] = {4, 8};
  hubc_store_options o;
  opts_init(&o, f);
  o.tier_ladder = ladder;
  o.tier_ladder_len = 2;
  o.persist = &mem->vtable;
  f->clk.now = tu_time(2024, 3, 10, 12, 0, 0);
  bopen(f, &o);
  hubc_id ids[6];
  for (int i = 0; i < 6; i++) ids[i] = marketing(f); /* 3 = 75 % of 4, then 8 */
  assert_int_equal(tier(f->s), 8);
  /* 75, 90+98 (at 4), above 100 (at 5), then 75 % of the new tier 8 (at 6, B6 re-armed) */
  assert_int_equal(ev_count(&f->ev, HUBC_EVENT_ALERT), 5);
  for (int i = 0; i < 4; i++) assert_int_equal(hubc_contact_delete(f->s, ADMIN, ids[i]), 0);
  assert_int_equal(hubc_billing_request_downgrade(f->s, f->p2, 4), 0);
  bclose(f);

  bopen(f, &o);
  f->ev.n = 0;
  hubc_billing_info b;
  billing(f->s, &b);
  assert_int_equal(b.tier, 8);
  assert_int_equal(b.downgrade_request, 4);
  assert_int_equal(b.period_peak, 6);
  /* 2 -> 6 of 8 crosses 75 % again within the same period: already fired */
  hubc_id more[4];
  for (int i = 0; i < 4; i++) more[i] = marketing(f);
  assert_int_equal(billable(f->s), 6);
  assert_int_equal(ev_count(&f->ev, HUBC_EVENT_ALERT), 0);
  for (int i = 0; i < 3; i++) assert_int_equal(hubc_contact_delete(f->s, ADMIN, more[i]), 0); /* 3 left */
  assert_int_equal(billable(f->s), 3);
  bclose(f);

  bopen(f, &o);
  f->ev.n = 0;
  f->clk.now = tu_time(2024, 4, 10, 0, 0, 0);
  assert_int_equal(hubc_store_tick(f->s), 0);
  billing(f->s, &b);
  assert_int_equal(b.tier, 4); /* the request kept across reopens applied at the renewal */
  assert_int_equal(b.downgrade_request, 0);
  assert_int_equal(ev_count(&f->ev, HUBC_EVENT_TIER_DOWNGRADE), 1);
}

/* ---- B7 ------------------------------------------------------------------ */

static void b7_deleting_a_billable_contact_lowers_the_count_at_once_peak_keeps_it(void **state) {
  (void)state;
  bfx *f = bfx_new();
  hubc_store_options o;
  opts_init(&o, f);
  f->clk.now = tu_time(2024, 3, 10, 12, 0, 0);
  bopen(f, &o);
  hubc_id ids[5];
  for (int i = 0; i < 5; i++) ids[i] = marketing(f);
  assert_int_equal(hubc_contact_set_non_marketing(f->s, ADMIN, ids[4], HUBC_SOURCE_MANUAL, 1), 0);
  hubc_billing_info b;
  billing(f->s, &b);
  assert_int_equal(b.billable, 5);
  assert_int_equal(b.period_peak, 5);

  assert_int_equal(hubc_contact_delete(f->s, ADMIN, ids[0]), 0);
  billing(f->s, &b);
  assert_int_equal(b.billable, 4);
  assert_int_equal(b.marketing, 3);
  assert_int_equal(b.period_peak, 5);
  assert_int_equal(hubc_contact_delete(f->s, ADMIN, ids[4]), 0); /* a pending one counts until deleted */
  billing(f->s, &b);
  assert_int_equal(b.billable, 3);
  assert_int_equal(b.until_update, 0);
  assert_int_equal(b.period_peak, 5);

  f->clk.now = tu_time(2024, 4, 10, 0, 0, 0);
  periods p;
  read_periods(f->s, &p);
  assert_int_equal(p.n, 1);
  assert_int_equal(p.p[0].peak, 5);
  assert_int_equal(p.p[0].billable_at_close, 3);
  billing(f->s, &b);
  assert_int_equal(b.period_peak, 3);
}

/* ---- option validation --------------------------------------------------- */

static void expect_open_refused(hubc_store_options *o, const char *field) {
  hubc_store *s = (hubc_store *)0x1;
  int rc = hubc_store_open(&s, o);
  assert_int_equal(rc, HUBC_EINVAL);
  assert_null(s);
  if (!contains(hubc_error_last(), field)) fail_msg("message '%s' does not name '%s'", hubc_error_last(), field);
}

static void b1_b4_bad_billing_options_are_refused_naming_the_field(void **state) {
  (void)state;
  bfx *f = bfx_new();
  f->clk.now = tu_time(2024, 3, 10, 12, 0, 0);
  hubc_store_options o;
  static const uint64_t flat[] = {5, 5}, down[] = {5, 3}, zero[] = {0, 5};

  opts_init(&o, f);
  o.subscription = 3;
  expect_open_refused(&o, "subscription");
  o.subscription = -1;
  expect_open_refused(&o, "subscription");
  opts_init(&o, f);
  o.commitment = 2;
  expect_open_refused(&o, "commitment");
  o.commitment = -1;
  expect_open_refused(&o, "commitment");
  opts_init(&o, f);
  o.tier_policy = 2;
  expect_open_refused(&o, "policy");
  o.tier_policy = -1;
  expect_open_refused(&o, "policy");
  opts_init(&o, f);
  o.tier_ladder = flat;
  o.tier_ladder_len = 2;
  expect_open_refused(&o, "ladder");
  o.tier_ladder = down;
  expect_open_refused(&o, "ladder");
  o.tier_ladder = zero;
  expect_open_refused(&o, "ladder");
  o.tier_ladder = NULL;
  o.tier_ladder_len = 2;
  expect_open_refused(&o, "tier_ladder");
  o.tier_ladder = flat;
  o.tier_ladder_len = 0; /* a ladder with no rungs */
  expect_open_refused(&o, "ladder");

  /* the same fields accepted when valid */
  static const uint64_t ok[] = {5, 6, 100};
  opts_init(&o, f);
  o.subscription = HUBC_SUBSCRIPTION_ENTERPRISE;
  o.commitment = HUBC_COMMITMENT_ANNUAL;
  o.tier_policy = HUBC_TIER_HARD_CAP;
  o.tier_ladder = ok;
  o.tier_ladder_len = 3;
  bopen(f, &o);
  hubc_billing_info b;
  billing(f->s, &b);
  assert_int_equal(b.subscription, HUBC_SUBSCRIPTION_ENTERPRISE);
  assert_int_equal(b.commitment, HUBC_COMMITMENT_ANNUAL);
  assert_int_equal(b.tier_policy, HUBC_TIER_HARD_CAP);
  assert_int_equal(b.tier, 5);
  assert_int_equal(b.cap, 5);

  /* billing info argument checks */
  assert_int_equal(hubc_billing_get(NULL, f->s), HUBC_EINVAL);
  b.version = 42;
  assert_int_equal(hubc_billing_get(&b, f->s), HUBC_EVERSION);
  b.version = HUBC_BILLING_INFO_VERSION;
  assert_int_equal(hubc_billing_get(&b, NULL), HUBC_EINVAL);
}

/* ---- hubc_billing_get reads the clock like every call (review finding) ---- */

/* A clock that, when armed, tries to create a contact in its own store. */
typedef struct meddling_clock {
  hubc_time now;
  hubc_store *s;
  int armed, calls, busy;
} meddling_clock;

static hubc_time meddling_clock_fn(void *payload) {
  meddling_clock *c = payload;
  if (c->armed) {
    const char *names[] = {"email"}, *values[] = {"meddler@example.com"};
    hubc_id id = 0;
    c->calls++;
    if (hubc_contact_create(&id, c->s, ADMIN, NULL, names, values, 1) == HUBC_EBUSY) c->busy++;
  }
  return c->now;
}

static void r6_billing_get_refuses_a_clock_that_calls_back_instead_of_deadlocking(void **state) {
  (void)state;
  static meddling_clock clk; /* static: outlives the store the teardown closes */
  memset(&clk, 0, sizeof clk);
  clk.now = tu_time(2024, 3, 10, 12, 0, 0);
  hubc_store_options o;
  assert_int_equal(hubc_store_options_init(&o, HUBC_STORE_OPTIONS_VERSION), 0);
  o.clock = meddling_clock_fn;
  o.clock_payload = &clk;
  o.admin_email = "admin@example.com";
  hubc_store *s = NULL;
  assert_int_equal(hubc_store_open(&s, &o), 0);
  gc_store(s);
  clk.s = s;
  clk.armed = 1;
  alarm(30);
  hubc_billing_info b;
  memset(&b, 0, sizeof b);
  b.version = HUBC_BILLING_INFO_VERSION;
  int rc = hubc_billing_get(&b, s);
  alarm(0);
  clk.armed = 0;
  assert_int_equal(rc, 0);
  assert_true(clk.calls >= 2); /* the read's probe and billing's own reading */
  assert_int_equal(clk.busy, clk.calls);
  uint64_t n = 1;
  assert_int_equal(hubc_contact_count(&n, s), 0);
  assert_int_equal(n, 0);
}

static void b1_next_renewal_uses_the_clamped_clock_after_it_steps_back(void **state) {
  (void)state;
  bfx *f = bfx_new();
  hubc_store_options o;
  opts_init(&o, f);
  o.commitment = HUBC_COMMITMENT_MONTHLY;
  o.renewal_anchor = tu_time(2024, 1, 15, 0, 0, 0);
  f->clk.now = tu_time(2024, 3, 10, 12, 0, 0);
  bopen(f, &o);
  f->clk.now = tu_time(2024, 4, 20, 0, 0, 0);
  assert_int_equal(hubc_store_tick(f->s), 0); /* the period now starts 2024-04-15 */
  f->clk.now = tu_time(2024, 3, 1, 0, 0, 0); /* the host's clock steps back */
  hubc_billing_info b;
  billing(f->s, &b);
  assert_int_equal(b.period_start, tu_time(2024, 4, 15, 0, 0, 0));
  assert_int_equal(b.next_update, tu_time(2024, 5, 15, 0, 0, 0));
  assert_int_equal(b.next_renewal, tu_time(2024, 5, 15, 0, 0, 0)); /* monthly: the same date */
}

static void r4_billing_get_refuses_a_clock_outside_years_1_to_9999(void **state) {
  (void)state;
  bfx *f = bfx_new();
  hubc_store_options o;
  opts_init(&o, f);
  f->clk.now = tu_time(2024, 3, 10, 12, 0, 0);
  bopen(f, &o);
  const hubc_time bad[] = {INT64_MIN + 1, tu_time(2024, 3, 10, 12, 0, 0) - 2100LL * 365 * 86400, INT64_MAX};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    f->clk.now = bad[i];
    hubc_billing_info b;
    memset(&b, 0xAB, sizeof b);
    b.version = HUBC_BILLING_INFO_VERSION;
    assert_int_equal(hubc_billing_get(&b, f->s), HUBC_EINVAL);
    assert_non_null(strstr(hubc_error_last(), "clock"));
    assert_int_equal(b.billable, 0xABABABABABABABABULL); /* nothing was filled in */
  }
}

/* Moved from the core review round (test_contact_regress.c). */
#define T0 tu_time(2024, 3, 21, 10, 0, 0)

/* ---- M4/B2: the call's time is read under the lock, never before the
 * current period start ---------------------------------------------------- */

/* hubc_store_now gives the time calls are stamped with: a clock set back
 * before the current period start reads as the period start. */
static void m4_store_now_agrees_with_call_stamps(void **state) {
  (void)state;
  tu_clock clk = {T0};
  hubc_store *s = tu_open_gc(&clk);
  assert_int_equal(hubc_store_now(s), T0);
  hubc_time u = tu_billing(s).next_update;
  clk.now = u + 60;
  TU_OK(hubc_store_tick(s));
  clk.now = u - 3600; /* back before the period that began at u */
  assert_int_equal(hubc_store_now(s), u);
  hubc_id id = 0;
  TU_OK(hubc_contact_create(&id, s, ADMIN, NULL, NULL, NULL, 0));
  hubc_contact *c = NULL;
  TU_OK(hubc_contact_get(&c, s, id));
  assert_int_equal(hubc_contact_created(c), hubc_store_now(s));
  hubc_contact_free(c); /* the store is closed by the teardown */
}

static void m4_clock_back_never_stamps_before_period_start(void **state) {
  (void)state;
  tu_clock clk = {T0};
  hubc_store *s = tu_open_gc(&clk);
  hubc_create_options co = tu_opts_of(HUBC_SOURCE_MANUAL, 0);
  co.marketing = 1;
  hubc_id id = 0;
  TU_OK(hubc_contact_create(&id, s, ADMIN, &co, NULL, NULL, 0));
  hubc_time u = tu_billing(s).next_update;
  assert_true(u > T0);

  clk.now = u + 60; /* the update date passes and is applied */
  TU_OK(hubc_store_tick(s));
  hubc_billing_info bi = tu_billing(s);
  assert_int_equal(bi.period_start, u);
  hubc_time u2 = bi.next_update;
  assert_true(u2 > u);

  clk.now = u - 3600; /* the host's clock steps back before the period start */
  TU_OK(hubc_contact_set_non_marketing(s, ADMIN, id, HUBC_SOURCE_MANUAL, ADMIN));
  bi = tu_billing(s);
  assert_int_equal(bi.period_start, u); /* the closed period is not reopened */
  assert_int_equal(bi.next_update, u2);

  hubc_contact *c = NULL;
  TU_OK(hubc_contact_get(&c, s, id));
  int st = hubc_contact_status(c);
  hubc_time modified = hubc_contact_modified(c);
  hubc_contact_free(c);
  assert_int_equal(st, HUBC_MARKETING_UNTIL_UPDATE);
  if (modified < u) fail_msg("modified %lld is before the period start %lld", (long long)modified, (long long)u);

  /* the history entry of the change is stamped inside the current period,
   * so no passed update date lies after it (it is not left UNTIL_UPDATE
   * past an update date already applied) */
  hubc_history_iterator *it = NULL;
  TU_OK(hubc_history_iterator_new(&it, s, id));
  hubc_history_entry e, last;
  memset(&last, 0, sizeof last);
  size_t n = 0;
  int rc;
  for (;;) {
    memset(&e, 0, sizeof e);
    e.version = HUBC_HISTORY_ENTRY_VERSION;
    if ((rc = hubc_history_iterator_next(&e, it)) != 0) break;
    last = e;
    n++;
  }
  hubc_history_iterator_free(it);
  assert_int_equal(rc, HUBC_ITEROVER);
  assert_true(n >= 2);
  assert_int_equal(last.old_status, HUBC_MARKETING);
  assert_int_equal(last.new_status, HUBC_MARKETING_UNTIL_UPDATE);
  if (last.time < u) fail_msg("history entry at %lld is before the period start %lld", (long long)last.time, (long long)u);
  assert_true(last.time < u2);

  /* M5 at the next update date */
  clk.now = u2 + 1;
  TU_OK(hubc_store_tick(s));
  assert_int_equal(tu_status_of(s, id), HUBC_NON_MARKETING);
}

/* A clock that calls back into its own store. */
typedef struct reentrant_clock {
  hubc_time now;
  hubc_store *s; /* NULL while the store opens */
  int depth;
  int calls;     /* clock reads that called the store */
  int rc;        /* what that call returned */
} reentrant_clock;

static hubc_time reentrant_clock_fn(void *payload) {
  reentrant_clock *k = payload;
  if (k->s && !k->depth) {
    k->depth++;
    uint64_t n = 0;
    k->rc = hubc_contact_count(&n, k->s);
    k->calls++;
    k->depth--;
  }
  return k->now;
}

static void m4_clock_callback_reentry_is_busy(void **state) {
  (void)state;
  reentrant_clock k = {T0, NULL, 0, 0, 0};
  hubc_store_options o;
  TU_OK(hubc_store_options_init(&o, HUBC_STORE_OPTIONS_VERSION));
  o.clock = reentrant_clock_fn;
  o.clock_payload = &k;
  o.admin_email = "admin@example.com";
  hubc_store *s = NULL;
  TU_OK(hubc_store_open(&s, &o));
  gc_store(s);
  k.s = s;

  /* a write call */
  hubc_id id = 0;
  TU_OK(hubc_contact_create(&id, s, ADMIN, NULL, NULL, NULL, 0));
  assert_true(k.calls >= 1);
  assert_int_equal(k.rc, HUBC_EBUSY);

  /* a read call */
  k.calls = 0;
  k.rc = 0;
  uint64_t n = 0;
  TU_OK(hubc_contact_count(&n, s));
  assert_int_equal(n, 1);
  assert_true(k.calls >= 1);
  assert_int_equal(k.rc, HUBC_EBUSY);

  /* a read call that applies an update date under the write lock */
  k.now = tu_billing(s).next_update + 1;
  k.calls = 0;
  k.rc = 0;
  TU_OK(hubc_contact_count(&n, s));
  assert_true(k.calls >= 1);
  assert_int_equal(k.rc, HUBC_EBUSY);
  k.s = NULL;
  assert_int_equal(tu_billing(s).period_start, k.now - 1);
}

/* ---- moved from review round 2 and 3 (test_persist_regress.c): B4 tiers
 * are rungs of the ladder, B1 clock and renewal anchor in years 1 to 9999,
 * M5 writes the same history with or without a reopen */

#define T0_MAR10 tu_time(2024, 3, 10, 12, 0, 0)
#define T_LATER tu_time(2024, 4, 10, 0, 0, 5) /* just past the first update date */
#define TIME_MIN (-62135596800LL)            /* 0001-01-01T00:00:00Z */
#define TIME_MAX 253402300799LL              /* 9999-12-31T23:59:59Z */

static tu_clock g_clock;

static int open_with(hubc_store **out, const hubc_persist *p, uint64_t tier) {
  hubc_store_options o;
  tu_options(&o, &g_clock, p);
  o.tier = tier;
  return tu_try_open(out, &o);
}

/* ======================================================================
 * B4: tiers are rungs of the ladder
 * ====================================================================== */

static void b4_downgrade_request_to_a_non_rung_is_refused(void **state) {
  (void)state;
  g_clock.now = T0_MAR10;
  hubc_store *s;
  tu_ok(open_with(&s, NULL, 5000), "open at tier 5000");
  char *before = gc_dump(s);
  const uint64_t bad[] = {7, 1500, 4999, 3000};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    tu_expect_rc(hubc_billing_request_downgrade(s, ADMIN, bad[i]), HUBC_EINVAL, "downgrade to a non-rung");
    tu_expect_msg("ladder");
    tu_expect_dump(s, before, "refused downgrade request");
  }
  hubc_billing_info bi;
  memset(&bi, 0, sizeof bi);
  bi.version = HUBC_BILLING_INFO_VERSION;
  tu_ok(hubc_billing_get(&bi, s), "billing");
  assert_int_equal(bi.downgrade_request, 0);
  tu_ok(hubc_billing_request_downgrade(s, ADMIN, 2000), "downgrade to rung 2000");
  tu_ok(hubc_billing_get(&bi, s), "billing");
  assert_int_equal(bi.downgrade_request, 2000);
  tu_ok(hubc_billing_request_downgrade(s, ADMIN, 1000), "downgrade to rung 1000");
  tu_ok(hubc_billing_get(&bi, s), "billing");
  assert_int_equal(bi.downgrade_request, 1000);
}

static void b4_downgrade_request_on_doubled_rungs(void **state) {
  (void)state;
  g_clock.now = T0_MAR10;
  hubc_store *s;
  tu_ok(open_with(&s, NULL, 400000), "open at tier 400000 (100000 doubled twice)");
  tu_expect_rc(hubc_billing_request_downgrade(s, ADMIN, 300000), HUBC_EINVAL, "300000 is not a rung");
  tu_expect_msg("ladder");
  tu_ok(hubc_billing_request_downgrade(s, ADMIN, 200000), "200000 is a rung");
}

static int open_opts_rc(uint64_t tier, const uint64_t *ladder, size_t n, hubc_store **out) {
  hubc_store_options o;
  tu_options(&o, &g_clock, NULL);
  o.tier = tier;
  o.tier_ladder = ladder;
  o.tier_ladder_len = n;
  *out = NULL;
  int rc = hubc_store_open(out, &o);
  if (*out) gc_store(*out);
  else assert_int_not_equal(rc, 0);
  return rc;
}

static void b4_store_options_tier_must_be_a_rung(void **state) {
  (void)state;
  g_clock.now = T0_MAR10;
  hubc_store *s;
  tu_expect_rc(open_opts_rc(1500, NULL, 0, &s), HUBC_EINVAL, "tier 1500");
  assert_null(s);
  tu_expect_msg("tier 1500");
  tu_expect_msg("ladder");
  tu_expect_rc(open_opts_rc(100000000, NULL, 0, &s), HUBC_EINVAL, "tier 100000000 (torn.c)");
  assert_null(s);
  tu_ok(open_opts_rc(2000, NULL, 0, &s), "tier 2000");
  hubc_billing_info bi;
  memset(&bi, 0, sizeof bi);
  bi.version = HUBC_BILLING_INFO_VERSION;
  tu_ok(hubc_billing_get(&bi, s), "billing");
  assert_int_equal(bi.tier, 2000);
  const uint64_t lad[] = {2, 4, 8};
  tu_expect_rc(open_opts_rc(12, lad, 3, &s), HUBC_EINVAL, "tier 12 on 2, 4, 8");
  tu_ok(open_opts_rc(16, lad, 3, &s), "tier 16 on 2, 4, 8 (doubled)");
  tu_ok(hubc_billing_get(&bi, s), "billing");
  assert_int_equal(bi.tier, 16);
}

static void b4_ladder_rung_above_uint64_max_div_128_is_refused(void **state) {
  (void)state;
  g_clock.now = T0_MAR10;
  hubc_store *s;
  const uint64_t over[] = {1000, UINT64_MAX / 128 + 1};
  tu_expect_rc(open_opts_rc(0, over, 2, &s), HUBC_EINVAL, "rung UINT64_MAX/128 + 1");
  tu_expect_msg("rung 1");
  const uint64_t top[] = {UINT64_MAX};
  tu_expect_rc(open_opts_rc(0, top, 1, &s), HUBC_EINVAL, "rung UINT64_MAX");
  const uint64_t edge[] = {1000, UINT64_MAX / 128};
  tu_ok(open_opts_rc(0, edge, 2, &s), "rung UINT64_MAX/128");
}

/* ======================================================================
 * B1: clock and renewal anchor in years 1 to 9999
 * ====================================================================== */

static void b1_clock_outside_years_1_to_9999_at_open_is_refused(void **state) {
  (void)state;
  const int64_t bad[] = {INT64_MIN, TIME_MIN - 1, TIME_MAX + 1, INT64_MAX};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    g_clock.now = bad[i];
    hubc_store *s;
    tu_expect_rc(open_with(&s, NULL, 0), HUBC_EINVAL, "open with a clock outside years 1 to 9999");
    assert_null(s);
    tu_expect_msg("clock");
  }
}

static void b1_clock_outside_years_1_to_9999_after_open_fails_calls(void **state) {
  (void)state;
  /* after the year 9999, then before year 1 (a clock far behind the
   * current period is broken, not merely stepping back) */
  const int64_t bad[] = {TIME_MAX + 1, INT64_MAX, INT64_MIN, TIME_MIN - 1};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    g_clock.now = T0_MAR10;
    hubc_store *s;
    tu_ok(open_with(&s, NULL, 0), "open");
    hubc_id c1 = tu_contact(s, ADMIN, "one@example.com", "One");
    char *before = gc_dump(s);
    g_clock.now = bad[i];
    hubc_id id = 0;
    const char *n[] = {"email"}, *v[] = {"two@example.com"};
    int rc = hubc_contact_create(&id, s, ADMIN, NULL, n, v, 1);
    if (rc != HUBC_EINVAL)
      fail_msg("clock %lld: create: expected HUBC_EINVAL, got %d (%s)", (long long)bad[i], rc, hubc_error_last());
    tu_expect_msg("clock");
    tu_expect_rc(hubc_contact_set_marketing(s, ADMIN, c1, HUBC_SOURCE_MANUAL, ADMIN), HUBC_EINVAL, "set marketing");
    tu_expect_msg("clock");
    if (bad[i] > TIME_MAX) { /* update dates would be due: tick must refuse the clock */
      tu_expect_rc(hubc_store_tick(s), HUBC_EINVAL, "tick");
      tu_expect_msg("clock");
    } else { /* nothing is due before the period began: tick changes nothing (dump below) */
      int trc = hubc_store_tick(s);
      if (trc) {
        tu_expect_rc(trc, HUBC_EINVAL, "tick");
        tu_expect_msg("clock");
      }
    }
    g_clock.now = T0_MAR10;
    tu_expect_dump(s, before, "calls under a bad clock");
    gc_release(before);
    gc_release(s);
  }
}

static void b1_renewal_anchor_outside_years_1_to_9999_is_refused(void **state) {
  (void)state;
  g_clock.now = T0_MAR10;
  const int64_t bad[] = {INT64_MIN, -1000000000000000LL, TIME_MIN - 1, TIME_MAX + 1, 9223372036854775000LL};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    hubc_store_options o;
    tu_options(&o, &g_clock, NULL);
    o.renewal_anchor = bad[i];
    hubc_store *s = NULL;
    int rc = hubc_store_open(&s, &o);
    if (s) gc_store(s);
    if (rc != HUBC_EINVAL)
      fail_msg("renewal_anchor %lld: expected HUBC_EINVAL, got %d (%s)", (long long)bad[i], rc, hubc_error_last());
    assert_null(s);
    tu_expect_msg("renewal_anchor");
  }
  /* the edges are fine */
  hubc_store_options o;
  tu_options(&o, &g_clock, NULL);
  o.renewal_anchor = tu_time(2020, 1, 31, 0, 0, 0);
  hubc_store *s = NULL;
  tu_ok(hubc_store_open(&s, &o), "renewal anchor 2020-01-31");
  gc_store(s);
}

static void two_pending_in_reverse_order(hubc_store *s) {
  hubc_id a = tu_contact(s, ADMIN, "a@example.com", "A");
  hubc_id b = tu_contact(s, ADMIN, "b@example.com", "B");
  tu_ok(hubc_contact_set_marketing(s, ADMIN, a, HUBC_SOURCE_MANUAL, ADMIN), "a marketing");
  tu_ok(hubc_contact_set_marketing(s, ADMIN, b, HUBC_SOURCE_MANUAL, ADMIN), "b marketing");
  tu_ok(hubc_contact_set_non_marketing(s, ADMIN, b, HUBC_SOURCE_MANUAL, ADMIN), "b pending");
  tu_ok(hubc_contact_set_non_marketing(s, ADMIN, a, HUBC_SOURCE_MANUAL, ADMIN), "a pending");
}

/* M5 used to follow the pending list: transition order live, id order
 * after a reopen, so the same store wrote its history in two orders. */
static void m5_update_date_writes_the_same_history_with_or_without_a_reopen(void **state) {
  (void)state;
  g_clock.now = T0_MAR10;
  tu_mem *m = gc_mem();
  hubc_store *live, *reopened;
  tu_ok(open_with(&live, NULL, 0), "live store");
  tu_ok(open_with(&reopened, &m->vtable, 0), "persisted store");
  two_pending_in_reverse_order(live);
  two_pending_in_reverse_order(reopened);
  gc_release(reopened);
  tu_ok(open_with(&reopened, &m->vtable, 0), "reopen");
  g_clock.now = T_LATER;
  tu_ok(hubc_store_tick(live), "tick live");
  tu_ok(hubc_store_tick(reopened), "tick reopened");
  char *a = gc_dump(live), *b = gc_dump(reopened);
  assert_string_equal(a, b);
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(b1_monthly_request_stays_billable_until_the_renewal_day, gc_teardown),
      cmocka_unit_test_teardown(b2_explicit_tick_applies_the_update_date, gc_teardown),
      cmocka_unit_test_teardown(b2_a_write_call_applies_the_update_date_first, gc_teardown),
      cmocka_unit_test_teardown(b1_renewal_day_31_falls_on_the_last_day_of_short_months, gc_teardown),
      cmocka_unit_test_teardown(b1_annual_update_date_is_the_first_of_every_month, gc_teardown),
      cmocka_unit_test_teardown(b2_missed_update_dates_are_applied_once_each, gc_teardown),
      cmocka_unit_test_teardown(b2_r2_a_tick_failing_at_any_allocation_delivers_all_events_or_none, gc_teardown),
      cmocka_unit_test_teardown(b3_period_summaries_keep_start_end_peak_close_and_tier, gc_teardown),
      cmocka_unit_test_teardown(b4_auto_upgrade_climbs_to_the_smallest_fitting_rung, gc_teardown),
      cmocka_unit_test_teardown(b4_auto_upgrade_skips_rungs_that_do_not_fit, gc_teardown),
      cmocka_unit_test_teardown(b4_default_ladder_then_doubling, gc_teardown),
      cmocka_unit_test_teardown(b4_tier_never_descends_by_itself, gc_teardown),
      cmocka_unit_test_teardown(b4_downgrade_applies_at_the_next_renewal_if_the_count_fits, gc_teardown),
      cmocka_unit_test_teardown(b4_downgrade_that_does_not_fit_is_dropped, gc_teardown),
      cmocka_unit_test_teardown(b4_downgrade_request_needs_p2_and_a_user, gc_teardown),
      cmocka_unit_test_teardown(b4_annual_downgrade_waits_for_the_anniversary, gc_teardown),
      cmocka_unit_test_teardown(b4_annual_downgrade_anniversary_not_on_the_first, gc_teardown),
      cmocka_unit_test_teardown(b5_hard_cap_refuses_what_would_pass_the_cap, gc_teardown),
      cmocka_unit_test_teardown(b5_hard_cap_defaults_to_the_tier, gc_teardown),
      cmocka_unit_test_teardown(b6_alerts_fire_once_per_threshold_per_period, gc_teardown),
      cmocka_unit_test_teardown(b6_auto_upgrade_alerts_above_100_and_upgrades, gc_teardown),
      cmocka_unit_test_teardown(b6_alerts_are_re_armed_for_the_new_tier, gc_teardown),
      cmocka_unit_test_teardown(b6_one_call_past_the_tier_alerts_for_both_tiers, gc_teardown),
      cmocka_unit_test_teardown(b6_fired_alerts_and_a_downgrade_request_survive_a_reopen, gc_teardown),
      cmocka_unit_test_teardown(b7_deleting_a_billable_contact_lowers_the_count_at_once_peak_keeps_it, gc_teardown),
      cmocka_unit_test_teardown(b1_b4_bad_billing_options_are_refused_naming_the_field, gc_teardown),
      cmocka_unit_test_teardown(r6_billing_get_refuses_a_clock_that_calls_back_instead_of_deadlocking, gc_teardown),
      cmocka_unit_test_teardown(b1_next_renewal_uses_the_clamped_clock_after_it_steps_back, gc_teardown),
      cmocka_unit_test_teardown(r4_billing_get_refuses_a_clock_outside_years_1_to_9999, gc_teardown),
      cmocka_unit_test_teardown(m4_store_now_agrees_with_call_stamps, gc_teardown),
      cmocka_unit_test_teardown(m4_clock_back_never_stamps_before_period_start, gc_teardown),
      cmocka_unit_test_teardown(m4_clock_callback_reentry_is_busy, gc_teardown),
      cmocka_unit_test_teardown(m5_update_date_writes_the_same_history_with_or_without_a_reopen, gc_teardown),
      cmocka_unit_test_teardown(b4_downgrade_request_to_a_non_rung_is_refused, gc_teardown),
      cmocka_unit_test_teardown(b4_downgrade_request_on_doubled_rungs, gc_teardown),
      cmocka_unit_test_teardown(b4_store_options_tier_must_be_a_rung, gc_teardown),
      cmocka_unit_test_teardown(b4_ladder_rung_above_uint64_max_div_128_is_refused, gc_teardown),
      cmocka_unit_test_teardown(b1_clock_outside_years_1_to_9999_at_open_is_refused, gc_teardown),
      cmocka_unit_test_teardown(b1_clock_outside_years_1_to_9999_after_open_fails_calls, gc_teardown),
      cmocka_unit_test_teardown(b1_renewal_anchor_outside_years_1_to_9999_is_refused, gc_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
