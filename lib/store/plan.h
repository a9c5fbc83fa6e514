/* Plan mode of the transaction (DESIGN §7, I7, S4): run a change inside the
 * call's transaction, read what committing it would do, undo it. Nothing
 * is persisted and none of the change's events are delivered. The commit
 * and the plan run the same code up to persistence, the billing finalize
 * (HARD_CAP refusal, AUTO_UPGRADE) included, so a dialog's numbers are the
 * ones the commit would produce on the same state. */
#ifndef HUBC_STORE_PLAN_H
#define HUBC_STORE_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "hubcontacts.h"

typedef struct hubc__plan {
  int rc; /* what the commit would return: 0, the change's error or a finalize refusal (HUBC_ELIMIT: HARD_CAP) */
  uint64_t contacts_before, contacts_after;
  uint64_t count_before[3], count_after[3]; /* contacts per status (M6) */
  uint64_t billable_before, billable_after;
  uint64_t tier_before, tier_after; /* tier_after: AUTO_UPGRADE's projection */
  uint64_t cap;    /* the HARD_CAP in force; 0 under AUTO_UPGRADE */
  int cap_refused; /* HARD_CAP would refuse the commit (B5) */
  size_t changes;  /* undo entries the commit would keep: one per record change,
                     one per run of creates or of a bulk call's status changes */
} hubc__plan;

/* A change applied inside the current transaction: 0 or an error with the
 * message set. Called once, whether planned or committed. */
typedef int (*hubc__change_fn)(hubc_store *s, void *ctx);

/* Runs `change` as one call: write_begin (actor, perm, what), the change,
 * then with plan == NULL the commit (write_end); with a plan, the plan:
 * *plan filled, everything undone. Returns the commit's code, or plan->rc.
 * Update dates already due are applied first either way (as by every call:
 * they are the store's time passing, not the change). */
int hubc__run(hubc_store *s, hubc_id actor, unsigned perm, const char *what, hubc__change_fn change, void *ctx,
              hubc__plan *plan);

/* The same in two halves, for a caller that brackets its own change:
 * hubc__plan_start after hubc__write_begin (records the counts before);
 * hubc__write_plan instead of hubc__write_end (rc: the change's code).
 * Unlocks; returns out->rc with its message in hubc_error_last(). */
void hubc__plan_start(const hubc_store *s, hubc__plan *out);
int hubc__write_plan(hubc_store *s, int rc, hubc__plan *out);
/* hubc__write_plan for a change that was projected, not applied (a bulk
 * plan reading the store only): delta[0..2] contacts per status and
 * delta[3] contacts it would add. Billing decides on the counts so moved
 * (finalize runs on them, then they are put back); changes is 0. */
int hubc__write_plan_projected(hubc_store *s, int rc, hubc__plan *out, const int64_t delta[4]);

#endif
