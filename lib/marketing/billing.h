/* Billing area (B1–B6): settings, state, closed periods; the META and
 * PERIOD records are its kinds (marketing/billing_kinds.c). */
#ifndef HUBC_MARKETING_BILLING_H
#define HUBC_MARKETING_BILLING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "hubcontacts.h"
#include "store/schedule.h"

/* Largest tier or rung: percentages of it (B6) must not overflow. */
#define HUBC__TIER_MAX (UINT64_MAX / 128)

/* Billing state: persisted in the META record, restored on undo. */
typedef struct hubc__bill {
  uint64_t tier;
  hubc_time period_start;
  uint64_t peak;
  uint64_t alerts;     /* thresholds fired this period (bit per threshold); 64-bit: no padding, the struct is compared with memcmp */
  uint64_t downgrade;  /* requested tier, 0: none */
  hubc_time downgrade_at; /* the renewal at which the request is decided */
  hubc_time renewal_base; /* the contract's anchor (renewal day/month) */
} hubc__bill;

typedef struct hubc__billing {
  /* settings, from the options at every open */
  int subscription, commitment, policy;
  uint64_t *ladder;
  size_t ladder_len;
  uint64_t hard_cap; /* 0: the tier */
  /* state */
  hubc__bill bill;
  hubc_period *periods;
  size_t periods_n, periods_cap;
  /* at the start of the transaction */
  hubc__bill bill_mark;
  uint64_t billable_mark;
  size_t periods_mark;
} hubc__billing;

int hubc__billing_init(hubc_store *s, const hubc_store_options *o, hubc_time now);
/* The fire hook of META's timer: applies the update date or renewal due. */
int hubc__billing_fire(hubc_store *s, const hubc__timer *t);
/* What committing the current transaction does to billing (B4, B5): the
 * billable count before and after it, the cap in force (0: AUTO_UPGRADE),
 * whether HARD_CAP refuses it, and the tier after it (AUTO_UPGRADE raises
 * it). The commit decides by it and plans report it: one code path. */
typedef struct hubc__outlook {
  uint64_t before, after, cap, tier;
  int refused;
} hubc__outlook;
void hubc__billing_outlook(const hubc_store *s, hubc__outlook *o);
/* At commit: HARD_CAP check, alerts, auto-upgrade, peak. */
int hubc__billing_finalize(hubc_store *s);
hubc_time hubc__next_update_after(const hubc_store *s, hubc_time t);
/* Sets billing's timer to the next update date or renewal (B1, B4). */
int hubc__billing_refresh_next(hubc_store *s);

#endif
