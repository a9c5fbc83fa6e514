/* Billing: update dates (B1), catch-up (B2, M5), periods (B3), tiers and
 * the hard cap (B4, B5), alerts (B6). */
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "util/text.h"

static const uint64_t default_ladder[] = {1000, 2000, 5000, 10000, 20000, 50000, 100000};
static const unsigned thresholds[] = {75, 90, 98, 100}; /* 100 means "above 100 %" */

/* Rung i of the ladder: the host's rungs, then doubling (B4), capped. */
static uint64_t rung(const hubc_store *s, size_t i) {
  if (i < s->ladder_len) return s->ladder[i];
  uint64_t v = s->ladder[s->ladder_len - 1];
  for (size_t k = s->ladder_len - 1; k < i; k++) {
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
  civil_of(s->bill.renewal_base, &ay, &am, &ad);
  unsigned day = s->commitment == HUBC_COMMITMENT_ANNUAL ? 1 : ad;
  hubc_time c = midnight(y, m, day); /* this month's, else next month's */
  if (c > t) return c;
  return m == 12 ? midnight(y + 1, 1, day) : midnight(y, m + 1, day);
}

/* The first contract renewal strictly after t (monthly: every update date;
 * annual: the anniversary of the anchor). */
static hubc_time next_renewal_after(const hubc_store *s, hubc_time t) {
  if (s->commitment == HUBC_COMMITMENT_MONTHLY) return hubc__next_update_after(s, t);
  int64_t y, ay;
  unsigned m, d, am, ad;
  civil_of(t, &y, &m, &d);
  civil_of(s->bill.renewal_base, &ay, &am, &ad);
  hubc_time c = midnight(y, am, ad);
  return c > t ? c : midnight(y + 1, am, ad);
}

/* The next moment something is due: an update date, or the renewal that
 * decides a pending downgrade request (annual renewals need not fall on an
 * update date). */
static hubc_time next_due(const hubc_store *s) {
  hubc_time t = hubc__next_update_after(s, s->bill.period_start);
  return s->bill.downgrade && s->bill.downgrade_at < t ? s->bill.downgrade_at : t;
}

void hubc__billing_refresh_next(hubc_store *s) { atomic_store(&s->next_due, next_due(s)); }

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
  s->ladder = hubc__alloc(s->base, n * sizeof *s->ladder);
  if (!s->ladder) return hubc__err(HUBC_ENOMEM, "out of memory copying the tier ladder");
  memcpy(s->ladder, ladder, n * sizeof *ladder);
  s->ladder_len = n;
  if (o->tier && !is_rung(s, o->tier)) /* the ladder is freed with the half-opened store */
    return hubc__err(HUBC_EINVAL, "store options: tier %llu is not a rung of the ladder (next rung: %llu)",
                     (unsigned long long)o->tier, (unsigned long long)fitting_rung(s, o->tier));
  s->subscription = o->subscription;
  s->commitment = o->commitment;
  s->policy = o->tier_policy;
  s->hard_cap = o->hard_cap;
  /* state for a new store; hubc__load overwrites it from META */
  s->bill.tier = o->tier ? o->tier : s->ladder[0];
  s->bill.period_start = now;
  s->bill.renewal_base = o->renewal_anchor ? o->renewal_anchor : now;
  hubc__billing_refresh_next(s);
  return 0;
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
  ev.tier = s->bill.tier;
  ev.old_tier = old_tier;
  ev.threshold = threshold;
  hubc__txn_event(s, &ev);
}

int hubc__billing_finalize(hubc_store *s) {
  hubc__txn *t = &s->txn;
  uint64_t before = t->billable_before, after = HUBC__BILLABLE(s), tier = s->bill.tier;
  if (s->policy == HUBC_TIER_HARD_CAP) {
    uint64_t cap = s->hard_cap ? s->hard_cap : tier;
    if (after > cap && after > before)
      return hubc__err(HUBC_ELIMIT,
                       "billable contact cap reached: the operation would bring the billable count to %llu, above "
                       "the hard cap of %llu (HARD_CAP policy); nothing changed",
                       (unsigned long long)after, (unsigned long long)cap);
  }
  int rc = hubc__txn_reserve(s, 1);
  if (rc) return rc;
  if (after > before) {
    for (unsigned i = 0; i < 4; i++) {
      unsigned th = thresholds[i];
      int crossed = th == 100 ? before <= tier && after > tier
                              : before * 100 < (uint64_t)th * tier && after * 100 >= (uint64_t)th * tier;
      if (crossed && !(s->bill.alerts & (1u << i))) {
        s->bill.alerts |= 1u << i;
        emit(s, HUBC_EVENT_ALERT, th, 0);
      }
    }
    if (s->policy == HUBC_TIER_AUTO_UPGRADE && after > tier) {
      s->bill.tier = fitting_rung(s, after);
      emit(s, HUBC_EVENT_TIER_UPGRADE, 0, tier);
    }
  }
  if (after > s->bill.peak) s->bill.peak = after;
  if (memcmp(&s->bill, &t->bill, sizeof s->bill) != 0) {
    hubc__txn_dirty(s, HUBC_REC_META, 1);
    /* the due date depends on these only; the peak moves on most calls */
    if (s->bill.period_start != t->bill.period_start || s->bill.downgrade != t->bill.downgrade ||
        s->bill.downgrade_at != t->bill.downgrade_at)
      hubc__billing_refresh_next(s); /* undo refreshes it back */
  }
  return 0;
}

/* B4: at its renewal a downgrade request applies if the count fits; it is
 * decided either way. */
static void decide_downgrade(hubc_store *s) {
  if (HUBC__BILLABLE(s) <= s->bill.downgrade) {
    uint64_t old = s->bill.tier;
    s->bill.tier = s->bill.downgrade;
    emit(s, HUBC_EVENT_TIER_DOWNGRADE, 0, old);
  }
  s->bill.downgrade = 0;
  s->bill.downgrade_at = 0;
  hubc__txn_dirty(s, HUBC_REC_META, 1);
}

/* One update date T: close the period, apply M5, consider a downgrade,
 * start the next period. */
static int pass_update_date(hubc_store *s, hubc_time T) {
  int rc = hubc__grow(s->base, (void **)&s->periods, &s->periods_cap, s->periods_n + 1, sizeof *s->periods);
  if (rc || (rc = hubc__txn_reserve(s, 2))) return rc;
  s->txn.now = T;
  hubc_period *p = &s->periods[s->periods_n++];
  memset(p, 0, sizeof *p);
  p->version = HUBC_PERIOD_VERSION;
  p->number = (hubc_id)s->periods_n;
  p->start = s->bill.period_start;
  p->end = T;
  p->peak = s->bill.peak;
  p->billable_at_close = HUBC__BILLABLE(s);
  p->tier_at_close = s->bill.tier;
  hubc__txn_dirty(s, HUBC_REC_PERIOD, p->number);
  hubc_event ev = {0};
  ev.type = HUBC_EVENT_PERIOD_CLOSED;
  ev.time = T;
  ev.billable = p->billable_at_close;
  ev.tier = s->bill.tier;
  ev.period_start = p->start;
  ev.period_end = T;
  hubc__txn_event(s, &ev);

  /* M5, in id order: the pending list's order (transition order live, id
   * order after a reopen) must not decide the order of the history. */
  size_t n = s->pending_n;
  if (n) qsort(s->pending, n, sizeof *s->pending, id_cmp); /* pending is NULL until first used */
  for (size_t i = 0; i < n; i++) {
    int64_t id = s->pending[i];
    if (!s->recs[id] || s->recs[id]->status != HUBC_MARKETING_UNTIL_UPDATE) continue;
    if ((rc = hubc__status_reserve(s, 1))) return rc;
    hubc__status_apply(s, id, -1, HUBC_SOURCE_UPDATE_DATE, 0);
  }
  s->pending_n = 0;

  if (s->bill.downgrade && s->bill.downgrade_at == T) decide_downgrade(s); /* after M5 */
  s->bill.period_start = T;
  s->bill.peak = HUBC__BILLABLE(s);
  s->bill.alerts = 0;
  hubc__txn_dirty(s, HUBC_REC_META, 1);
  return 0;
}

int hubc__billing_catch_up(hubc_store *s, hubc_time now) {
  if (now < atomic_load(&s->next_due)) return 0;
  hubc__txn_begin(s, HUBC_SYSTEM, now);
  int rc = 0;
  for (hubc_time T; !rc && now >= (T = next_due(s));) { /* in time order, each once */
    if (T == hubc__next_update_after(s, s->bill.period_start)) {
      rc = pass_update_date(s, T);
    } else if (!(rc = hubc__txn_reserve(s, 1))) {
      s->txn.now = T;
      decide_downgrade(s);
    }
  }
  s->txn.now = now;
  rc = hubc__txn_finish(s, rc);
  if (!rc) hubc__billing_refresh_next(s);
  return rc;
}

HUBC_API int hubc_store_tick(hubc_store *s) {
  int rc = hubc__read_begin(s); /* applies what is due */
  if (rc) return rc;
  return hubc__read_end(s, 0);
}

HUBC_API int hubc_billing_get(hubc_billing_info *out, hubc_store *s) {
  if (!out) return hubc__err(HUBC_EINVAL, "billing info: out is NULL");
  int rc = hubc__version_check(out->version, HUBC_BILLING_INFO_VERSION, "billing info");
  if (rc || (rc = hubc__read_begin(s))) return rc;
  /* guarded (a clock calling back gets EBUSY), checked and clamped like every call's clock */
  hubc_time now = hubc__now_locked(s);
  if ((rc = hubc__clock_check(s, now, "billing info"))) return hubc__read_end(s, rc);
  out->billable = HUBC__BILLABLE(s);
  out->marketing = s->count[HUBC_MARKETING];
  out->until_update = s->count[HUBC_MARKETING_UNTIL_UPDATE];
  out->non_marketing = s->count[HUBC_NON_MARKETING];
  out->tier = s->bill.tier;
  out->cap = s->policy == HUBC_TIER_HARD_CAP ? (s->hard_cap ? s->hard_cap : s->bill.tier) : 0;
  out->tier_policy = s->policy;
  out->commitment = s->commitment;
  out->subscription = s->subscription;
  out->period_start = s->bill.period_start;
  out->next_update = hubc__next_update_after(s, s->bill.period_start);
  out->period_peak = s->bill.peak;
  out->downgrade_request = s->bill.downgrade;
  out->next_renewal = s->bill.downgrade ? s->bill.downgrade_at : next_renewal_after(s, now);
  return hubc__read_end(s, 0);
}

HUBC_API int hubc_billing_request_downgrade(hubc_store *s, hubc_id actor, uint64_t tier) {
  int rc = hubc__write_begin(s, actor, HUBC_PERM_MARKETING_ACCESS, "request tier downgrade");
  if (rc) return rc;
  rc = hubc__require_user(s, "request tier downgrade");
  if (!rc && tier >= s->bill.tier)
    rc = hubc__err(HUBC_EINVAL, "request tier downgrade: %llu is not below the current tier %llu",
                   (unsigned long long)tier, (unsigned long long)s->bill.tier);
  if (!rc && tier && !is_rung(s, tier))
    rc = hubc__err(HUBC_EINVAL, "request tier downgrade: %llu is not a rung of the ladder", (unsigned long long)tier);
  if (!rc) { /* 0 cancels; META is written by finalize */
    s->bill.downgrade = tier;
    s->bill.downgrade_at = tier ? next_renewal_after(s, s->txn.now) : 0;
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
  if (it->pos >= s->periods_n) {
    hubc__read_end(s, 0);
    return HUBC_ITEROVER;
  }
  *out = s->periods[it->pos++];
  return hubc__read_end(s, 0);
}

HUBC_API void hubc_period_iterator_free(hubc_period_iterator *it) {
  if (!it) return;
  hubc__base *b = it->base;
  hubc__free(b, it, sizeof *it);
  hubc__base_unref(b);
}
