/* Billing: update dates (B1), catch-up (B2, M5), periods (B3), tiers and
 * the hard cap (B4, B5), alerts (B6). */
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "user/perm.h"
#include "util/text.h"
#include "workflow/engine.h"

static const uint64_t default_ladder[] = {1000, 2000, 5000, 10000, 20000, 50000, 100000};
static const unsigned thresholds[] = {75, 90, 98, 100}; /* 100 means "above 100 %" */

/* Rung i of the ladder: the host's rungs, then doubling (B4), capped. */
static uint64_t rung(const hubc_store *s, size_t i) {
  if (i < s->billing.ladder_len) return s->billing.ladder[i];
  uint64_t v = s->billing.ladder[s->billing.ladder_len - 1];
  for (size_t k = s->billing.ladder_len - 1; k < i; k++) {
    if (v > HUBC__TIER_MAX / 2) return HUBC__TIER_MAX;
    v *= 2;
  }
  return v;
}

static uint64_t fitting_rung(const hubc_store *s, uint64_t count) {
  for (size_t i = 0;; i++) {
    uint64_t r = rung(s, i);
    if (r >= count || r == HUBC__TIER_MAX) return r;
  }
}

static int is_rung(const hubc_store *s, uint64_t tier) { return tier && fitting_rung(s, tier) == tier; }

static hubc_time midnight(int64_t y, unsigned m, unsigned day) {
  unsigned dim = hubc__days_in_month(y, m);
  return hubc__days_from_civil(y, m, day < dim ? day : dim) * 86400;
}

static void civil_of(hubc_time t, int64_t *y, unsigned *m, unsigned *d) {
  hubc__civil_from_days(hubc__day_of(t), y, m, d);
}

/* B1: the first update date strictly after t. */
hubc_time hubc__next_update_after(const hubc_store *s, hubc_time t) {
  int64_t y, ay;
  unsigned m, d, am, ad;
  civil_of(t, &y, &m, &d);
  civil_of(s->billing.bill.renewal_base, &ay, &am, &ad);
  unsigned day = s->billing.commitment == HUBC_COMMITMENT_ANNUAL ? 1 : ad;
  hubc_time c = midnight(y, m, day); /* this month's, else next month's */
  if (c > t) return c;
  return m == 12 ? midnight(y + 1, 1, day) : midnight(y, m + 1, day);
}

/* The first contract renewal strictly after t (monthly: every update date;
 * annual: the anniversary of the anchor). */
static hubc_time next_renewal_after(const hubc_store *s, hubc_time t) {
  if (s->billing.commitment == HUBC_COMMITMENT_MONTHLY) return hubc__next_update_after(s, t);
  int64_t y, ay;
  unsigned m, d, am, ad;
  civil_of(t, &y, &m, &d);
  civil_of(s->billing.bill.renewal_base, &ay, &am, &ad);
  hubc_time c = midnight(y, am, ad);
  return c > t ? c : midnight(y + 1, am, ad);
}

/* The next moment something is due: an update date, or the renewal that
 * decides a pending downgrade request (annual renewals need not fall on an
 * update date). */
static hubc_time next_due(const hubc_store *s) {
  hubc_time t = hubc__next_update_after(s, s->billing.bill.period_start);
  return s->billing.bill.downgrade && s->billing.bill.downgrade_at < t ? s->billing.bill.downgrade_at : t;
}

/* Billing's one timer in the due queue: (META, 1) at the next due moment. */
int hubc__billing_refresh_next(hubc_store *s) { return hubc__sched_set(s, HUBC_REC_META, 1, next_due(s), 0); }

int hubc__billing_init(hubc_store *s, const hubc_store_options *o, hubc_time now) {
  if (o->subscription < HUBC_SUBSCRIPTION_STARTER || o->subscription > HUBC_SUBSCRIPTION_ENTERPRISE)
    return hubc__err(HUBC_EINVAL, "store options: unknown subscription %d", o->subscription);
  if (o->commitment != HUBC_COMMITMENT_MONTHLY && o->commitment != HUBC_COMMITMENT_ANNUAL)
    return hubc__err(HUBC_EINVAL, "store options: unknown commitment %d", o->commitment);
  if (o->tier_policy != HUBC_TIER_AUTO_UPGRADE && o->tier_policy != HUBC_TIER_HARD_CAP)
    return hubc__err(HUBC_EINVAL, "store options: unknown tier policy %d", o->tier_policy);
  const uint64_t *ladder = o->tier_ladder ? o->tier_ladder : default_ladder;
  size_t n = o->tier_ladder ? o->tier_ladder_len : sizeof default_ladder / sizeof *default_ladder;
  if (n == 0 || n > 64) return hubc__err(HUBC_EINVAL, "store options: the tier ladder needs 1 to 64 rungs, not %zu", n);
  for (size_t i = 0; i < n; i++)
    if (ladder[i] == 0 || ladder[i] > HUBC__TIER_MAX || (i && ladder[i] <= ladder[i - 1]))
      return hubc__err(HUBC_EINVAL,
                       "store options: tier ladder rung %zu (%llu) must be above 0 and the rung before, and at most %llu",
                       i, (unsigned long long)ladder[i], (unsigned long long)HUBC__TIER_MAX);
  if (o->renewal_anchor && !hubc__time_ok(o->renewal_anchor))
    return hubc__err(HUBC_EINVAL, "store options: renewal_anchor %lld is outside years 1 to 9999",
                     (long long)o->renewal_anchor);
  if (!hubc__time_ok(now))
    return hubc__err(HUBC_EINVAL, "store options: the clock returned %lld, outside years 1 to 9999", (long long)now);
  s->billing.ladder = hubc__alloc(s->base, n * sizeof *s->billing.ladder);
  if (!s->billing.ladder) return hubc__err(HUBC_ENOMEM, "out of memory copying the tier ladder");
  memcpy(s->billing.ladder, ladder, n * sizeof *ladder);
  s->billing.ladder_len = n;
  if (o->tier && !is_rung(s, o->tier)) /* the ladder is freed with the half-opened store */
    return hubc__err(HUBC_EINVAL, "store options: tier %llu is not a rung of the ladder (next rung: %llu)",
                     (unsigned long long)o->tier, (unsigned long long)fitting_rung(s, o->tier));
  s->billing.subscription = o->subscription;
  s->billing.commitment = o->commitment;
  s->billing.policy = o->tier_policy;
  s->billing.hard_cap = o->hard_cap;
  /* state for a new store; hubc__load overwrites it from META */
  s->billing.bill.tier = o->tier ? o->tier : s->billing.ladder[0];
  s->billing.bill.period_start = now;
  s->billing.bill.renewal_base = o->renewal_anchor ? o->renewal_anchor : now;
  return hubc__billing_refresh_next(s);
}

static int id_cmp(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static void emit(hubc_store *s, int type, unsigned threshold, uint64_t old_tier) {
  hubc_event ev = {0};
  ev.type = type;
  ev.time = s->txn.now;
  ev.actor = s->txn.actor;
  ev.billable = HUBC__BILLABLE(s);
  ev.tier = s->billing.bill.tier;
  ev.old_tier = old_tier;
  ev.threshold = threshold;
  hubc__txn_event(s, &ev);
}

void hubc__billing_outlook(const hubc_store *s, hubc__outlook *o) {
  const hubc__billing *a = &s->billing;
  o->before = a->billable_mark;
  o->after = HUBC__BILLABLE(s);
  o->tier = a->bill.tier;
  o->cap = a->policy == HUBC_TIER_HARD_CAP ? (a->hard_cap ? a->hard_cap : a->bill.tier) : 0;
  o->refused = o->cap && o->after > o->cap && o->after > o->before;
  if (a->policy == HUBC_TIER_AUTO_UPGRADE && o->after > o->before && o->after > o->tier)
    o->tier = fitting_rung(s, o->after);
}

/* B6: the thresholds of `tier` the count crossed upward, each once (the
 * bits of bill.alerts) until the period ends or the tier rises. */
static void fire_alerts(hubc_store *s, uint64_t before, uint64_t after, uint64_t tier) {
  uint64_t unfired = ~s->billing.bill.alerts;
  /* the thresholds below the first unfired one have fired: start there */
  for (unsigned i = unfired ? (unsigned)__builtin_ctzll(unfired) : 4; i < 4; i++) {
    unsigned th = thresholds[i];
    if (th == 100 ? after <= tier : after * 100 < (uint64_t)th * tier) break; /* thresholds ascend: nor any higher one */
    if (s->billing.bill.alerts & (1u << i)) continue;
    if (th == 100 ? before <= tier : before * 100 < (uint64_t)th * tier) {
      s->billing.bill.alerts |= 1u << i;
      emit(s, HUBC_EVENT_ALERT, th, 0);
    }
  }
}

/* Whether `after` reaches the first threshold of `tier` not fired yet
 * (thresholds ascend: if not, fire_alerts would fire none). */
static inline int next_crossed(const hubc_store *s, uint64_t after, uint64_t tier) {
  uint64_t unfired = ~s->billing.bill.alerts & 0xf;
  if (!unfired) return 0;
  unsigned th = thresholds[__builtin_ctzll(unfired)];
  return th == 100 ? after > tier : after * 100 >= (uint64_t)th * tier;
}

int hubc__billing_finalize(hubc_store *s) {
  uint64_t before = s->billing.billable_mark, after = HUBC__BILLABLE(s), tier = s->billing.bill.tier;
  hubc__outlook ol = {0}; /* set when the count rose, read only then (gcc -O2 cannot tell) */
  if (after > before) { /* only a rise is refused, alerts or upgrades (the outlook) */
    hubc__billing_outlook(s, &ol);
    if (ol.refused)
      return hubc__err(HUBC_ELIMIT,
                       "billable contact cap reached: the operation would bring the billable count to %llu, above "
                       "the hard cap of %llu (HARD_CAP policy); nothing changed",
                       (unsigned long long)after, (unsigned long long)ol.cap);
  }
  int rc = hubc__txn_reserve(s, 1);
  if (rc) return rc;
  if (after > before) {
    if (next_crossed(s, after, tier)) fire_alerts(s, before, after, tier);
    if (ol.tier != tier) { /* AUTO_UPGRADE */
      s->billing.bill.tier = ol.tier;
      emit(s, HUBC_EVENT_TIER_UPGRADE, 0, tier);
      s->billing.bill.alerts = 0; /* B6: re-armed for the new tier, so the next upgrade is warned of too */
      fire_alerts(s, before, after, s->billing.bill.tier);
    }
  }
  if (after > s->billing.bill.peak) s->billing.bill.peak = after;
  if (memcmp(&s->billing.bill, &s->billing.bill_mark, sizeof s->billing.bill) != 0) {
    hubc__txn_dirty(s, HUBC_REC_META, 1);
    /* the due date depends on these only; the peak moves on most calls */
    const hubc__bill *b = &s->billing.bill, *m = &s->billing.bill_mark;
    if (b->period_start != m->period_start || b->downgrade != m->downgrade || b->downgrade_at != m->downgrade_at)
      return hubc__billing_refresh_next(s); /* undone with the transaction */
  }
  return 0;
}

/* B4: at its renewal a downgrade request applies if the count fits; it is
 * decided either way. */
static void decide_downgrade(hubc_store *s) {
  if (HUBC__BILLABLE(s) <= s->billing.bill.downgrade) {
    uint64_t old = s->billing.bill.tier;
    s->billing.bill.tier = s->billing.bill.downgrade;
    emit(s, HUBC_EVENT_TIER_DOWNGRADE, 0, old);
  }
  s->billing.bill.downgrade = 0;
  s->billing.bill.downgrade_at = 0;
  hubc__txn_dirty(s, HUBC_REC_META, 1);
}

/* One update date T: close the period, apply M5, consider a downgrade,
 * start the next period. */
static int pass_update_date(hubc_store *s, hubc_time T) {
  int rc = hubc__grow(s->base, (void **)&s->billing.periods, &s->billing.periods_cap, s->billing.periods_n + 1, sizeof *s->billing.periods);
  if (rc || (rc = hubc__txn_reserve(s, 2))) return rc;
  s->txn.now = T;
  hubc_period *p = &s->billing.periods[s->billing.periods_n++];
  memset(p, 0, sizeof *p);
  p->version = HUBC_PERIOD_VERSION;
  p->number = (hubc_id)s->billing.periods_n;
  p->start = s->billing.bill.period_start;
  p->end = T;
  p->peak = s->billing.bill.peak;
  p->billable_at_close = HUBC__BILLABLE(s);
  p->tier_at_close = s->billing.bill.tier;
  hubc__txn_dirty(s, HUBC_REC_PERIOD, p->number);
  hubc_event ev = {0};
  ev.type = HUBC_EVENT_PERIOD_CLOSED;
  ev.time = T;
  ev.billable = p->billable_at_close;
  ev.tier = s->billing.bill.tier;
  ev.period_start = p->start;
  ev.period_end = T;
  hubc__txn_event(s, &ev);

  /* M5, in id order: the pending list's order (transition order live, id
   * order after a reopen) must not decide the order of the history. */
  size_t n = s->status.pending_n;
  if (n) qsort(s->status.pending, n, sizeof *s->status.pending, id_cmp); /* pending is NULL until first used */
  for (size_t i = 0; i < n; i++) {
    int64_t id = s->status.pending[i];
    if (!s->contacts.recs[id] || s->contacts.recs[id]->status != HUBC_MARKETING_UNTIL_UPDATE) continue;
    if ((rc = hubc__status_reserve(s, 1))) return rc;
    hubc__status_apply(s, id, -1, HUBC_SOURCE_UPDATE_DATE, 0);
  }
  s->status.pending_n = 0;
  hubc__txn_touch(s, HUBC_REC_HISTORY); /* pending_n is the history kind's to restore */

  if (s->billing.bill.downgrade && s->billing.bill.downgrade_at == T) decide_downgrade(s); /* after M5 */
  s->billing.bill.period_start = T;
  s->billing.bill.peak = HUBC__BILLABLE(s);
  s->billing.bill.alerts = 0;
  hubc__txn_dirty(s, HUBC_REC_META, 1);
  return 0;
}

/* The timer (META, 1) fired at T (B2, M5): T is the next due moment, so
 * either an update date or the renewal deciding a downgrade request. The
 * queue fires each due moment once, in time order; the next is set here. */
int hubc__billing_fire(hubc_store *s, const hubc__timer *t) {
  hubc_time T = t->due;
  int rc;
  if (T == hubc__next_update_after(s, s->billing.bill.period_start)) {
    rc = pass_update_date(s, T);
  } else if (!(rc = hubc__txn_reserve(s, 1))) {
    decide_downgrade(s);
  }
  return rc ? rc : hubc__billing_refresh_next(s);
}

HUBC_API int hubc_store_tick(hubc_store *s) {
  int rc = hubc__read_begin(s); /* applies what is due */
  if (rc) return rc;
  /* the engine runs host actions outside any call, so a close on another
   * thread does not wait for it: s must outlive the close (R4, R6) */
  hubc__base *b = s->base;
  hubc__base_ref(b);
  hubc__read_end(s, 0);
  rc = hubc__engine_run(s); /* W3: workflow steps that came due */
  hubc__base_unref(b);
  return rc;
}

HUBC_API int hubc_billing_get(hubc_billing_info *out, hubc_store *s) {
  if (!out) return hubc__err(HUBC_EINVAL, "billing info: out is NULL");
  int rc = hubc__version_check(out->version, HUBC_BILLING_INFO_VERSION, "billing info");
  if (rc || (rc = hubc__read_begin(s))) return rc;
  /* guarded (a clock calling back gets EBUSY), checked and clamped like every call's clock */
  hubc_time now = hubc__now_locked(s);
  if ((rc = hubc__clock_check(s, now, "billing info"))) return hubc__read_end(s, rc);
  out->billable = HUBC__BILLABLE(s);
  out->marketing = s->contacts.count[HUBC_MARKETING];
  out->until_update = s->contacts.count[HUBC_MARKETING_UNTIL_UPDATE];
  out->non_marketing = s->contacts.count[HUBC_NON_MARKETING];
  out->tier = s->billing.bill.tier;
  out->cap = s->billing.policy == HUBC_TIER_HARD_CAP ? (s->billing.hard_cap ? s->billing.hard_cap : s->billing.bill.tier) : 0;
  out->tier_policy = s->billing.policy;
  out->commitment = s->billing.commitment;
  out->subscription = s->billing.subscription;
  out->period_start = s->billing.bill.period_start;
  out->next_update = hubc__next_update_after(s, s->billing.bill.period_start);
  out->period_peak = s->billing.bill.peak;
  out->downgrade_request = s->billing.bill.downgrade;
  out->next_renewal = s->billing.bill.downgrade ? s->billing.bill.downgrade_at : next_renewal_after(s, now);
  return hubc__read_end(s, 0);
}

HUBC_API int hubc_billing_request_downgrade(hubc_store *s, hubc_id actor, uint64_t tier) {
  int rc = hubc__op_begin(s, actor, HUBC__OP_REQUEST_DOWNGRADE);
  if (rc) return rc;
  if (tier >= s->billing.bill.tier)
    rc = hubc__err(HUBC_EINVAL, "request tier downgrade: %llu is not below the current tier %llu",
                   (unsigned long long)tier, (unsigned long long)s->billing.bill.tier);
  if (!rc && tier && !is_rung(s, tier))
    rc = hubc__err(HUBC_EINVAL, "request tier downgrade: %llu is not a rung of the ladder", (unsigned long long)tier);
  if (!rc) { /* 0 cancels; META is written by finalize */
    s->billing.bill.downgrade = tier;
    s->billing.bill.downgrade_at = tier ? next_renewal_after(s, s->txn.now) : 0;
  }
  return hubc__write_end(s, rc);
}

struct hubc_period_iterator {
  hubc_store *store;
  hubc__base *base; /* freeing needs no store: it may be closed by then */
  size_t pos;
};

HUBC_API int hubc_period_iterator_new(hubc_period_iterator **out, hubc_store *s) {
  if (!out) return hubc__err(HUBC_EINVAL, "period iterator: out is NULL");
  *out = NULL;
  if (!s) return hubc__err(HUBC_EINVAL, "period iterator: store is NULL");
  int rc = hubc__call_enter(s, "period iterator");
  if (rc) return rc;
  hubc_period_iterator *it = hubc__calloc(s->base, sizeof *it);
  if (it) {
    it->store = s;
    it->base = s->base;
    hubc__base_ref(s->base); /* keeps the handle too: next after a close is an error */
    *out = it;
  }
  hubc__call_leave(s);
  return it ? hubc__ok() : hubc__err(HUBC_ENOMEM, "out of memory creating a period iterator");
}

HUBC_API int hubc_period_iterator_next(hubc_period *out, hubc_period_iterator *it) {
  if (!out || !it) return hubc__err(HUBC_EINVAL, "period iterator: NULL argument");
  int rc = hubc__version_check(out->version, HUBC_PERIOD_VERSION, "period");
  hubc_store *s = it->store;
  if (rc || (rc = hubc__read_begin(s))) return rc;
  if (it->pos >= s->billing.periods_n) {
    hubc__read_end(s, 0);
    return HUBC_ITEROVER;
  }
  *out = s->billing.periods[it->pos++];
  return hubc__read_end(s, 0);
}

HUBC_API void hubc_period_iterator_free(hubc_period_iterator *it) {
  if (!it) return;
  hubc__base *b = it->base;
  hubc__free(b, it, sizeof *it);
  hubc__base_unref(b);
}
