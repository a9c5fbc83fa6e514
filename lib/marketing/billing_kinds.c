/* The billing area's record kinds: META (the store's counters and billing
 * state, id 1) and PERIOD (closed periods, B3). */
#include <stdlib.h>
#include <string.h>

#include "persist/codec.h"
#include "store/dump.h"
#include "store/store.h"
#include "util/text.h"

/* ---- META --------------------------------------------------------------- */

static int meta_encode(hubc_store *s, int64_t id, hubc__wr *w) {
  (void)id;
  const hubc__bill *b = &s->billing.bill;
  hubc__wr_num(w, HUBC__T_META_NEXT_ID, s->contacts.next_id);
  hubc__wr_num(w, HUBC__T_META_NEXT_USER, s->users.next);
  hubc__wr_num(w, HUBC__T_META_TIER, (int64_t)b->tier);
  hubc__wr_num(w, HUBC__T_META_PERIOD_START, b->period_start);
  hubc__wr_num(w, HUBC__T_META_PEAK, (int64_t)b->peak);
  hubc__wr_num(w, HUBC__T_META_ALERTS, (int64_t)b->alerts);
  hubc__wr_num(w, HUBC__T_META_DOWNGRADE, (int64_t)b->downgrade);
  hubc__wr_num(w, HUBC__T_META_RENEWAL_BASE, b->renewal_base);
  hubc__wr_num(w, HUBC__T_META_DOWNGRADE_AT, b->downgrade_at);
  return 0;
}

typedef struct meta_stage {
  int64_t next_id, next_user;
  hubc__bill defaults; /* what a META record's absent fields mean */
} meta_stage;

static int meta_load(hubc_loader *l, int64_t id, hubc__rd r) {
  hubc_store *s = l->s;
  const int K = HUBC_REC_META;
  if (id != 1) return hubc__corrupt(K, id, "meta id must be 1");
  meta_stage *st = l->stage[K];
  if (!st) {
    if (!(st = hubc__alloc(s->base, sizeof *st))) return hubc__err(HUBC_ENOMEM, "out of memory loading the store");
    st->defaults = s->billing.bill;
    l->stage[K] = st;
  }
  /* a later META replaces an earlier one whole (last put wins): fields it
   * lacks take their defaults, not the earlier record's values */
  hubc__bill *b = &s->billing.bill;
  *b = st->defaults;
  st->next_id = st->next_user = 1;
  uint64_t tag;
  hubc__rd body;
  int64_t v;
  int has_downgrade_at = 0;
  HUBC__FOR_FIELDS(r, tag, body, K, 1) {
    if (tag > HUBC__T_META_DOWNGRADE_AT) continue;
    has_downgrade_at |= tag == HUBC__T_META_DOWNGRADE_AT;
    if (hubc__ld_int(body, &v, K, 1)) return HUBC_ECORRUPT;
    switch (tag) {
    case HUBC__T_META_NEXT_ID: st->next_id = v; break;
    case HUBC__T_META_NEXT_USER: st->next_user = v; break;
    case HUBC__T_META_TIER: b->tier = (uint64_t)v; break;
    case HUBC__T_META_PERIOD_START: b->period_start = v; break;
    case HUBC__T_META_PEAK: b->peak = (uint64_t)v; break;
    case HUBC__T_META_ALERTS: b->alerts = (uint64_t)v & 0xf; break;
    case HUBC__T_META_DOWNGRADE: b->downgrade = (uint64_t)v; break;
    case HUBC__T_META_RENEWAL_BASE: b->renewal_base = v; break;
    case HUBC__T_META_DOWNGRADE_AT: b->downgrade_at = v; break;
    }
  }
  if (b->tier == 0 || b->tier > HUBC__TIER_MAX) return hubc__corrupt(K, 1, "tier out of range");
  if (!hubc__time_ok(b->period_start) || !hubc__time_ok(b->renewal_base) ||
      (b->downgrade && !hubc__time_ok(b->downgrade_at)))
    return hubc__corrupt(K, 1, "a time outside years 1 to 9999");
  if (b->downgrade >= b->tier || (!b->downgrade && b->downgrade_at) || (b->downgrade && !has_downgrade_at))
    return hubc__corrupt(K, 1, "inconsistent downgrade request");
  if (st->next_id < 1 || st->next_id > 0xffffffffLL || st->next_user < 1 || st->next_user > HUBC__MAX_USERS + 1)
    return hubc__corrupt(K, 1, "counter out of range");
  return 0;
}

/* First in the table: the stored counters are in place before the kinds
 * that check against them (contacts, users) finish. */
static int meta_finish_load(hubc_loader *l, int rc) {
  hubc_store *s = l->s;
  meta_stage *st = l->stage[HUBC_REC_META];
  if (!st) return rc;
  if (!rc && st->next_id > s->contacts.next_id) s->contacts.next_id = st->next_id; /* the table grows when ids are used */
  if (!rc && st->next_user > s->users.next) rc = hubc__users_extend(s, st->next_user);
  hubc__free(s->base, st, sizeof *st);
  l->stage[HUBC_REC_META] = NULL;
  return rc;
}

static int meta_dump(const hubc_store *s, hubc__out *o) {
  const hubc__billing *a = &s->billing;
  const hubc__bill *b = &a->bill;
  hubc__out_printf(
      o,
      "billing tier=%llu policy=%d commitment=%d subscription=%d cap=%llu period_start=%lld peak=%llu "
      "alerts=%llu downgrade=%llu downgrade_at=%lld renewal_base=%lld next_due=%lld\n",
      (unsigned long long)b->tier, a->policy, a->commitment, a->subscription, (unsigned long long)a->hard_cap,
      (long long)b->period_start, (unsigned long long)b->peak, (unsigned long long)b->alerts,
      (unsigned long long)b->downgrade, (long long)b->downgrade_at, (long long)b->renewal_base,
      (long long)hubc__sched_get(s, HUBC_REC_META, 1)->due);
  hubc__out_printf(
      o, "counts contacts=%llu marketing=%llu until_update=%llu non_marketing=%llu next_id=%lld next_user=%lld\n",
      (unsigned long long)s->contacts.n, (unsigned long long)s->contacts.count[HUBC_MARKETING],
      (unsigned long long)s->contacts.count[HUBC_MARKETING_UNTIL_UPDATE], (unsigned long long)s->contacts.count[HUBC_NON_MARKETING],
      (long long)s->contacts.next_id, (long long)s->users.next);
  return 0;
}

static void billing_free(hubc_store *s) {
  hubc__billing *a = &s->billing;
  hubc__free(s->base, a->ladder, a->ladder_len * sizeof *a->ladder);
  hubc__free(s->base, a->periods, a->periods_cap * sizeof *a->periods);
}

static void meta_txn_begin(hubc_store *s) {
  s->billing.bill_mark = s->billing.bill;
  s->billing.billable_mark = HUBC__BILLABLE(s);
}

static void meta_txn_rollback(hubc_store *s) { s->billing.bill = s->billing.bill_mark; /* its timer: the queue's journal */ }

const hubc__kind hubc__kind_meta = {
    .kind = HUBC_REC_META,
    .name = "meta",
    .encode = meta_encode,
    .load = meta_load,
    .finish_load = meta_finish_load,
    .dump = meta_dump,
    .free = billing_free,
    .txn_begin = meta_txn_begin,
    .txn_finalize = hubc__billing_finalize,
    .txn_rollback = meta_txn_rollback,
    .fire = hubc__billing_fire,
};

/* ---- PERIOD ------------------------------------------------------------- */

static int period_encode(hubc_store *s, int64_t id, hubc__wr *w) {
  const hubc_period *p = &s->billing.periods[id - 1];
  hubc__wr_num(w, HUBC__T_P_START, p->start);
  hubc__wr_num(w, HUBC__T_P_END, p->end);
  hubc__wr_num(w, HUBC__T_P_PEAK, (int64_t)p->peak);
  hubc__wr_num(w, HUBC__T_P_CLOSE, (int64_t)p->billable_at_close);
  hubc__wr_num(w, HUBC__T_P_TIER, (int64_t)p->tier_at_close);
  return 0;
}

/* Staged like history: placed at the end, sized by the records present. */
typedef struct staged_period {
  int64_t id;
  size_t order;
  hubc_period p;
} staged_period;

typedef struct period_stage {
  staged_period *v;
  size_t n, cap;
} period_stage;

static int period_load(hubc_loader *l, int64_t id, hubc__rd r) {
  hubc_store *s = l->s;
  const int K = HUBC_REC_PERIOD;
  if (id <= 0 || id > 0xffffffLL) return hubc__corrupt(K, id, "bad period number");
  period_stage *st = l->stage[K];
  if (!st) {
    if (!(st = hubc__calloc(s->base, sizeof *st))) return hubc__err(HUBC_ENOMEM, "out of memory loading periods");
    l->stage[K] = st;
  }
  if (hubc__grow(s->base, (void **)&st->v, &st->cap, st->n + 1, sizeof *st->v)) return HUBC_ENOMEM;
  int64_t v[6] = {0};
  uint64_t tag;
  hubc__rd body;
  HUBC__FOR_FIELDS(r, tag, body, K, id) {
    if (tag >= 1 && tag <= HUBC__T_P_TIER && hubc__ld_int(body, &v[tag], K, id)) return HUBC_ECORRUPT;
  }
  staged_period *e = &st->v[st->n];
  e->id = id;
  e->order = st->n++;
  if (!hubc__time_ok(v[HUBC__T_P_START]) || !hubc__time_ok(v[HUBC__T_P_END]) || v[HUBC__T_P_START] > v[HUBC__T_P_END])
    return hubc__corrupt(K, id, "start or end out of range");
  hubc_period *p = &e->p;
  memset(p, 0, sizeof *p);
  p->version = HUBC_PERIOD_VERSION;
  p->number = id;
  p->start = v[HUBC__T_P_START];
  p->end = v[HUBC__T_P_END];
  p->peak = (uint64_t)v[HUBC__T_P_PEAK];
  p->billable_at_close = (uint64_t)v[HUBC__T_P_CLOSE];
  p->tier_at_close = (uint64_t)v[HUBC__T_P_TIER];
  return 0;
}

static int period_cmp(const void *a, const void *b) {
  const staged_period *x = a, *y = b;
  if (x->id != y->id) return x->id < y->id ? -1 : 1;
  return x->order < y->order ? -1 : x->order > y->order;
}

/* Numbers 1..n, each once (a repeated number: the last wins). */
static int period_finish_load(hubc_loader *l, int rc) {
  hubc_store *s = l->s;
  hubc__billing *a = &s->billing;
  period_stage *st = l->stage[HUBC_REC_PERIOD];
  if (!st) return rc;
  if (!rc && st->n) qsort(st->v, st->n, sizeof *st->v, period_cmp);
  if (!rc) rc = hubc__grow(s->base, (void **)&a->periods, &a->periods_cap, st->n, sizeof *a->periods);
  for (size_t i = 0; i < st->n && !rc; i++) {
    if (i + 1 < st->n && st->v[i + 1].id == st->v[i].id) continue;
    if (st->v[i].id != (int64_t)a->periods_n + 1)
      rc = hubc__corrupt(HUBC_REC_PERIOD, (hubc_id)a->periods_n + 1, "missing");
    else a->periods[a->periods_n++] = st->v[i].p;
  }
  hubc__free(s->base, st->v, st->cap * sizeof *st->v);
  hubc__free(s->base, st, sizeof *st);
  l->stage[HUBC_REC_PERIOD] = NULL;
  return rc;
}

static int period_dump(const hubc_store *s, hubc__out *o) {
  const hubc__billing *a = &s->billing;
  for (size_t i = 0; i < a->periods_n; i++) {
    const hubc_period *p = &a->periods[i];
    hubc__out_printf(o, "period %lld start=%lld end=%lld peak=%llu billable_at_close=%llu tier_at_close=%llu\n",
                     (long long)p->number, (long long)p->start, (long long)p->end, (unsigned long long)p->peak,
                     (unsigned long long)p->billable_at_close, (unsigned long long)p->tier_at_close);
  }
  return 0;
}

static void period_txn_begin(hubc_store *s) { s->billing.periods_mark = s->billing.periods_n; }
static void period_txn_rollback(hubc_store *s) { s->billing.periods_n = s->billing.periods_mark; }

const hubc__kind hubc__kind_period = {
    .kind = HUBC_REC_PERIOD,
    .name = "period",
    .encode = period_encode,
    .load = period_load,
    .finish_load = period_finish_load,
    .dump = period_dump,
    .txn_begin = period_txn_begin,
    .txn_rollback = period_txn_rollback,
};
