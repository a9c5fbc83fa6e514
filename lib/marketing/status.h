/* Status area (M2–M7): the history of status changes and the contacts
 * waiting for the next update date; the HISTORY record is its kind
 * (marketing/history.c). */
#ifndef HUBC_MARKETING_STATUS_H
#define HUBC_MARKETING_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include "hubcontacts.h"

/* One status change (M7). What consecutive changes share — the call's
 * time, the reason id and the actor — is kept once, in ctx: a bulk of a
 * million changes writes 16 bytes each, not 40. */
typedef struct hubc__hist {
  uint32_t contact; /* contact ids are below 2^32 (R1: the loader refuses more) */
  uint32_t prev;    /* previous entry of the same contact (index + 1) */
  uint32_t ctx;     /* index in hubc__status.ctx */
  uint8_t old_status, new_status, reason_type, pad;
} hubc__hist;

typedef struct hubc__hist_ctx {
  int64_t time, reason_id, actor;
} hubc__hist_ctx;

typedef struct hubc__status {
  hubc__hist *hist;
  size_t hist_n, hist_cap;
  hubc__hist_ctx *ctx; /* shared by entries in a row (hubc__hist.ctx) */
  size_t ctx_n, ctx_cap;
  int64_t *pending; /* ids that became MARKETING_UNTIL_UPDATE (may repeat) */
  size_t pending_n, pending_cap;
  int64_t *was; /* runs' undo: each changed contact's lastmodifieddate before (hubc__status_apply_run) */
  size_t was_n, was_cap;
  size_t hist_mark, pending_mark, ctx_mark; /* at the start of the transaction */
} hubc__status;

static inline const hubc__hist_ctx *hubc__hist_ctx_of(const hubc__status *a, const hubc__hist *e) {
  return &a->ctx[e->ctx];
}
/* The context of the next entry: the last one if it is the same, else a
 * new one. Needs room for one (hubc__status_reserve). */
static inline uint32_t hubc__hist_ctx_put(hubc__status *a, int64_t time, int64_t reason_id, int64_t actor) {
  const hubc__hist_ctx *c = a->ctx_n ? &a->ctx[a->ctx_n - 1] : NULL;
  if (!c || c->time != time || c->reason_id != reason_id || c->actor != actor) {
    hubc__hist_ctx *n = &a->ctx[a->ctx_n++];
    n->time = time;
    n->reason_id = reason_id;
    n->actor = actor;
  }
  return (uint32_t)(a->ctx_n - 1);
}

/* The single state machine (M3/M4/M5): moves contact `id` towards
 * `marketing` (1: M3, 0: M4) or, with `renewal`, UNTIL_UPDATE → NON (M5).
 * Appends history and events. Returns 0 (changed or no-op) or an error. */
int hubc__status_apply(hubc_store *s, int64_t id, int target, int reason_type, hubc_id reason_id);
/* hubc__status_apply(target, reason) on each of ids[0..n) (live contacts,
 * each once), as one undo entry instead of one per change: what a change
 * overwrote is in its history entry (status, newest entry) but for the
 * contact's lastmodifieddate, kept in `was`. Reserves its own room;
 * *changed counts the contacts it changed. 0 or ENOMEM/ELIMIT (what was
 * changed so far is undone with the transaction). */
int hubc__status_apply_run(hubc_store *s, const uint32_t *ids, size_t n, int target, int reason_type,
                           hubc_id reason_id, size_t *changed);
/* The HISTORY kind's undo hook: reverts a run. */
struct hubc__undo;
void hubc__status_undo_run(hubc_store *s, const struct hubc__undo *u);
/* Creates contact id (next in line, not yet in the store) from *slot, a
 * NON_MARKETING state, made MARKETING at once (M3): one state change in
 * the transaction instead of two, the same history, events and records.
 * Needs what hubc__status_apply and hubc__txn_slot_new need. */
struct hubc__slot;
void hubc__status_create_marketing(hubc_store *s, int64_t id, struct hubc__slot *slot, int reason_type,
                                   hubc_id reason_id);
/* Reason of the current MARKETING/UNTIL_UPDATE status from history. */
void hubc__status_reason(const hubc_store *s, uint32_t newest_hist, int *type, hubc_id *id);
/* Room for n more history entries and pending ids. */
int hubc__status_reserve(hubc_store *s, size_t n);

#endif
