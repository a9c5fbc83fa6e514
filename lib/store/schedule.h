/* The store's due queue (DESIGN §7): timers = (due time, kind, id,
 * payload), at most one per (kind, id). Billing's update dates are its
 * first client; workflow delays and retries are the next. A binary heap
 * with a position index and a (kind, id) hash: set, move and cancel cost
 * O(log n), a tick costs O(log n) per timer due and nothing per timer
 * queued, and reads compare the clock with one cached atomic. Timers of
 * HUBC__SCHED_DENSE_KIND (workflow enrollments: ids 1, 2, … handed out in
 * order) are found through an array by id instead of the hash, so that
 * setting and popping many in id order touches memory in order: a hash
 * lookup per timer was a cache miss that grew with the queue.
 *
 * Inside a transaction every change is journaled and undone with it (plans
 * included). Timers live in memory only: the owning kind persists what it
 * needs in its own records and sets its timers again in finish_load
 * (billing derives its one timer from META). */
#ifndef HUBC_STORE_SCHEDULE_H
#define HUBC_STORE_SCHEDULE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "hubcontacts.h"

#define HUBC__SCHED_NEVER INT64_MAX /* next due time of an empty queue */
#define HUBC__SCHED_DENSE_KIND HUBC_REC_ENROLLMENT

typedef struct hubc__timer {
  hubc_time due;
  int64_t id;      /* the owner's record id */
  int64_t payload; /* the owner's (a retry count, a step…) */
  uint64_t seq;    /* equal due times fire in the order they were set */
  uint8_t kind;    /* enum hubc_record_kind of the owner; its fire hook runs it */
} hubc__timer;

typedef struct hubc__sched_op hubc__sched_op;

typedef struct hubc__sched {
  hubc__timer *t;   /* by handle */
  uint32_t *pos;    /* handle -> heap index */
  uint32_t *free_h; /* handles free for reuse (room for every handle) */
  size_t used, free_n;         /* handles ever used; free ones */
  size_t t_cap, pos_cap, free_cap;
  uint32_t *heap;   /* min-heap of handles by (due, seq) */
  size_t n, heap_cap;
  uint32_t *index;  /* (kind, id) -> handle + 1; open addressing, 0 empty */
  size_t index_mask, hashed; /* its entries */
  uint32_t *dense;  /* id -> handle + 1 for HUBC__SCHED_DENSE_KIND, 0 none */
  size_t dense_cap;
  uint64_t seq;
  _Atomic hubc_time next_due; /* top of the heap, read without the lock */
  /* the transaction's journal; handles removed in it are freed at commit */
  hubc__sched_op *ops;
  size_t ops_n, ops_cap;
  uint32_t *freed;
  size_t freed_n, freed_cap;
  uint64_t work; /* heap steps taken, for tests of the cost bound */
} hubc__sched;

/* Sets (kind, id)'s timer to `due` with `payload`, adding it or moving it.
 * 0 or HUBC_ENOMEM (nothing changed). */
int hubc__sched_set(hubc_store *s, int kind, int64_t id, hubc_time due, int64_t payload);
/* Removes (kind, id)'s timer if there is one; returns 1 if it did. */
int hubc__sched_cancel(hubc_store *s, int kind, int64_t id);
/* (kind, id)'s timer, or NULL; valid until the queue changes. */
const hubc__timer *hubc__sched_get(const hubc_store *s, int kind, int64_t id);
/* The earliest due time, HUBC__SCHED_NEVER when empty (no lock needed). */
static inline hubc_time hubc__sched_next(const hubc__sched *q) { return atomic_load(&q->next_due); }
/* Takes the earliest timer if it is due at `now`: 1 and *out, else 0. */
int hubc__sched_pop_due(hubc_store *s, hubc_time now, hubc__timer *out);
/* With the write lock held, outside a transaction: runs every timer due
 * at `now`, in (due, seq) order, through its kind's fire hook, in one
 * transaction as SYSTEM (the call's time is each timer's due time while it
 * fires). Returns at once when nothing is due. */
int hubc__sched_tick(hubc_store *s, hubc_time now);

/* Heap order, positions, index and the cached next time agree (tests). */
int hubc__sched_check(const hubc_store *s);

/* The transaction layer's calls (store/txn.c). */
void hubc__sched_txn_begin(hubc_store *s);
void hubc__sched_rollback(hubc_store *s);
void hubc__sched_commit(hubc_store *s);
void hubc__sched_free(hubc_store *s);

#endif
