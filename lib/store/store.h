/* The store's internal layout and the transaction layer every mutating
 * call goes through (DESIGN §1): check → validate → apply with undo →
 * persist → commit or undo → events. */
#ifndef HUBC_STORE_STORE_H
#define HUBC_STORE_STORE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "contact/email_index.h"
#include "contact/record.h"
#include "hubcontacts.h"
#include "schema/schema.h"
#include "util/base.h"
#include "util/error.h"
#include "util/version.h"

/* A contact's logical state: its current record version plus the mutable
 * fields kept in that version's header (see hubc__rec). A value type:
 * read with hubc__slot_at, changed with hubc__txn_slot. */
typedef struct hubc__slot {
  hubc__rec *rec;   /* NULL: no contact with this id */
  int64_t modified; /* lastmodifieddate */
  uint32_t hist;    /* newest history entry (index + 1), 0: none */
  uint8_t status;   /* enum hubc_marketing_status */
} hubc__slot;

typedef struct hubc__hist {
  int64_t time, contact, reason_id, actor;
  uint32_t prev; /* previous entry of the same contact (index + 1) */
  uint8_t old_status, new_status, reason_type, pad;
} hubc__hist;

#define HUBC__MAX_USERS (1 << 20)

typedef struct hubc__user {
  const char *email; /* pooled, normalized; NULL: no such user */
  uint32_t perms;
  uint8_t super_admin, disabled;
} hubc__user;

typedef struct hubc__switch {
  int64_t id;
  uint8_t source, on;
} hubc__switch;

/* Largest tier or rung: percentages of it (B6) must not overflow. */
#define HUBC__TIER_MAX (UINT64_MAX / 128)

/* Billing state: persisted in the META record, restored on undo. */
typedef struct hubc__billing {
  uint64_t tier;
  hubc_time period_start;
  uint64_t peak;
  uint64_t alerts;     /* thresholds fired this period (bit per threshold); 64-bit: no padding, the struct is compared with memcmp */
  uint64_t downgrade;  /* requested tier, 0: none */
  hubc_time downgrade_at; /* the renewal at which the request is decided */
  hubc_time renewal_base; /* the contract's anchor (renewal day/month) */
} hubc__billing;

enum { HUBC__UNDO_SLOT = 1, HUBC__UNDO_USER, HUBC__UNDO_SWITCH };

typedef struct hubc__undo {
  uint8_t op;
  int64_t id;
  union {
    struct { hubc__slot from, to; } slot;
    hubc__user user;
    hubc__switch sw;
  } u;
} hubc__undo;

typedef struct hubc__dirty {
  int64_t id;
  uint8_t kind;
} hubc__dirty;

typedef struct hubc__txn {
  int active;
  hubc_id actor;
  hubc_time now;
  hubc__undo *undo;
  size_t undo_n, undo_cap;
  hubc__dirty *dirty;
  size_t dirty_n, dirty_cap;
  /* what is restored by truncation or copy on undo */
  int64_t next_id, next_user;
  size_t hist_n, pending_n, periods_n, switches_n, events_n;
  hubc__billing bill;
  uint64_t billable_before;
  hubc__schema *schema;
  hubc__pool_mark pool;
} hubc__txn;

struct hubc_store {
  hubc__base *base;
  pthread_rwlock_t lock;
  /* calls in flight (hubc__call_enter): hubc_store_close sets `closed`,
   * then waits on gate_cv until none is left before tearing down */
  atomic_uint calls;
  atomic_int closed;
  pthread_mutex_t gate_mu;
  pthread_cond_t gate_cv;
  hubc_clock_fn clock;
  void *clock_payload;
  hubc_time max_jump;     /* B2a bound */
  _Atomic hubc_time seen; /* latest accepted clock reading (B2a) */
  hubc_persist persist;
  int has_persist;
  hubc_event_fn ev_fn; /* changed under the write lock */
  void *ev_payload;

  hubc__schema *schema;

  hubc__rec **recs;  /* current record version by record id; [0] unused */
  size_t recs_cap;
  int64_t next_id;   /* next record id */
  hubc__eidx eidx;   /* email → current record (contact/email_index.h) */
  uint64_t count[3]; /* contacts per status (M6) */
  uint64_t n_contacts;

  hubc__hist *hist;
  size_t hist_n, hist_cap;
  int64_t *pending; /* ids that became MARKETING_UNTIL_UPDATE (may repeat) */
  size_t pending_n, pending_cap;

  /* billing settings (from the options at every open) and state */
  int subscription, commitment, policy;
  uint64_t *ladder;
  size_t ladder_len;
  uint64_t hard_cap; /* 0: the tier */
  hubc__billing bill;
  _Atomic hubc_time next_due; /* cached: the next update date or renewal to apply */
  hubc_period *periods;
  size_t periods_n, periods_cap;

  hubc__user *users; /* by user id; users[0] unused */
  size_t users_cap;
  int64_t next_user;
  hubc__switch *switches;
  size_t switches_n, switches_cap;

  hubc__txn txn;
  hubc_event *events; /* queued for delivery after the call */
  size_t events_n, events_cap;

  unsigned char *scratch; /* encoding buffer */
  size_t scratch_cap;
};

static inline hubc__slot hubc__slot_at(const hubc_store *s, int64_t id) {
  hubc__slot sl = {0};
  hubc__rec *r = s->recs[id];
  if (r) {
    sl.rec = r;
    sl.modified = r->modified;
    sl.hist = r->hist;
    sl.status = r->status;
  }
  return sl;
}

/* End of the id range held in the table: ids at or above it are unused
 * (the table grows when ids are assigned, not when a stored counter says). */
static inline int64_t hubc__id_end(const hubc_store *s) {
  return s->next_id < (int64_t)s->recs_cap ? s->next_id : (int64_t)s->recs_cap;
}

/* The live contact with this id, or NULL. */
static inline hubc__rec *hubc__contact_at(const hubc_store *s, int64_t id) {
  return id > 0 && id < hubc__id_end(s) ? s->recs[id] : NULL;
}

#define HUBC__BILLABLE(s) ((s)->count[HUBC_MARKETING] + (s)->count[HUBC_MARKETING_UNTIL_UPDATE])

/* ---- call entry/exit (store/txn.c) -------------------------------------- */

/* Validates the store and the actor (SYSTEM or an enabled user holding
 * `perm`, 0 for none), locks for writing, applies due update dates, starts
 * the call's transaction. `what` names the call in error messages. */
int hubc__write_begin(hubc_store *s, hubc_id actor, unsigned perm, const char *what);
/* rc == 0: finalize billing, persist, commit; else undo. Unlocks, delivers
 * events, returns the final code (0 with the error cleared on success). */
int hubc__write_end(hubc_store *s, int rc);
int hubc__read_begin(hubc_store *s);
/* Counts a call in flight; EINVAL naming `what` once the store is closed.
 * read/write_begin do it; every exit pairs it with hubc__call_leave. */
int hubc__call_enter(hubc_store *s, const char *what);
void hubc__call_leave(hubc_store *s);
/* Unlocks; returns rc, clearing the error message when rc == 0. */
int hubc__read_end(hubc_store *s, int rc);

/* The store clock's time as calls are stamped (clamped to the period start;
 * the clock guarded against re-entry). Needs the lock held. */
hubc_time hubc__now_locked(hubc_store *s);
/* 0 if `now` (from hubc__now_locked) is a time the store accepts: years 1
 * to 9999 and at most max_jump past the latest time seen (B2a); else EINVAL
 * naming the call. */
int hubc__clock_check(const hubc_store *s, hubc_time now, const char *what);

/* Needs a user (not SYSTEM) as actor: configuration changes. */
int hubc__require_user(hubc_store *s, const char *what);
/* Needs `perm` (SYSTEM passes). */
int hubc__require(hubc_store *s, unsigned perm, const char *what);
const char *hubc__perm_name(unsigned perm);

/* ---- transaction primitives --------------------------------------------- */

/* Reserve room so the next n undo entries and dirty marks cannot fail. */
int hubc__txn_reserve(hubc_store *s, size_t n);
/* Replaces slots[id] by *to, keeping the email index and counts in step;
 * records undo and marks the contact dirty. Needs a reserved entry and
 * email index room (hubc__eidx_reserve). */
void hubc__txn_slot(hubc_store *s, int64_t id, const hubc__slot *to);
/* Moves a slot between states without undo (loading, and undo itself). */
void hubc__slot_move(hubc_store *s, int64_t id, const hubc__slot *from, const hubc__slot *to);
void hubc__txn_user(hubc_store *s, int64_t id, const hubc__user *to);
void hubc__txn_switch(hubc_store *s, size_t index, const hubc__switch *to);
void hubc__txn_dirty(hubc_store *s, int kind, int64_t id);
/* Queues an event if a callback is registered (never fails the call). */
void hubc__txn_event(hubc_store *s, const hubc_event *ev);
/* Whether this thread is inside a callback of s (calls refused: EBUSY). */
int hubc__reentered(const hubc_store *s);
/* Brackets a host callback (persistence, events, write callbacks); the
 * frame lives on the caller's stack. */
typedef struct hubc__busy {
  const hubc_store *store;
  struct hubc__busy *prev;
} hubc__busy;
void hubc__busy_enter(hubc__busy *frame, const hubc_store *s);
void hubc__busy_leave(hubc__busy *frame);
/* A transaction outside a public call (the renewal tick): begin, then
 * finish with the work's code (finalize, persist, commit or undo). */
void hubc__txn_begin(hubc_store *s, hubc_id actor, hubc_time now);
int hubc__txn_finish(hubc_store *s, int rc);

/* ---- contact table (contact/contact.c) --------------------------------- */
/* Makes room for record ids up to `id`. */
int hubc__slots_reserve(hubc_store *s, int64_t id);

/* ---- marketing (marketing/status.c) ------------------------------------- */

/* The single state machine (M3/M4/M5): moves contact `id` towards
 * `marketing` (1: M3, 0: M4) or, with `renewal`, UNTIL_UPDATE → NON (M5).
 * Appends history and events. Returns 0 (changed or no-op) or an error. */
int hubc__status_apply(hubc_store *s, int64_t id, int target, int reason_type,
                       hubc_id reason_id);
/* Reason of the current MARKETING/UNTIL_UPDATE status from history. */
void hubc__status_reason(const hubc_store *s, uint32_t newest_hist, int *type, hubc_id *id);
/* Room for n more history entries and pending ids. */
int hubc__status_reserve(hubc_store *s, size_t n);

/* ---- billing (marketing/billing.c) -------------------------------------- */
int hubc__billing_init(hubc_store *s, const hubc_store_options *o, hubc_time now);
/* Applies every update date passed (own transaction). Called with the
 * write lock held, outside a transaction. */
int hubc__billing_catch_up(hubc_store *s, hubc_time now);
/* At commit: HARD_CAP check, alerts, auto-upgrade, peak. */
int hubc__billing_finalize(hubc_store *s);
hubc_time hubc__next_update_after(const hubc_store *s, hubc_time t);
void hubc__billing_refresh_next(hubc_store *s);

/* ---- sources (marketing/source.c) --------------------------------------- */
/* Initial status of a new contact from its source (D1). */
int hubc__source_default(const hubc_store *s, int source, hubc_id source_id);

/* ---- users (user/user.c) ------------------------------------------------ */
int hubc__users_bootstrap(hubc_store *s, const char *admin_email);
const hubc__user *hubc__user_at(const hubc_store *s, hubc_id id);

/* ---- persistence (persist/codec.c, persist/load.c) ---------------------- */
/* Encodes the current state of (kind, id) into s->scratch; *len 0 with
 * return 1 means "absent" (to delete). */
int hubc__encode(hubc_store *s, int kind, int64_t id, const unsigned char **bytes,
                 size_t *len);
int hubc__load(hubc_store *s);
/* Derived state (counts, email index, pending, history chains) agrees with
 * the records; for tests. 0 or HUBC_ECORRUPT. (store/dump.c) */
int hubc__store_check(hubc_store *s);
/* "contact", "history", … for messages ("?" if unknown). */
const char *hubc__kind_name(int kind);


#endif
