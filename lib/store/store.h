/* The store's internal layout and the transaction layer every mutating
 * call goes through (DESIGN §1): check → validate → apply with undo →
 * persist → commit or undo → events. */
#ifndef HUBC_STORE_STORE_H
#define HUBC_STORE_STORE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "contact/contacts.h"
#include "contact/email_index.h"
#include "contact/record.h"
#include "hubcontacts.h"
#include "form/forms.h"
#include "query/lists.h"
#include "import/records.h"
#include "marketing/billing.h"
#include "marketing/source.h"
#include "marketing/status.h"
#include "query/columns.h"
#include "store/kind.h"
#include "store/schedule.h"
#include "user/user.h"
#include "workflow/workflows.h"
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

/* One undo entry: a kind's own record of what to put back (see kind.h).
 * Contacts, the hot path, have their typed member; other kinds copy their
 * payload into `bytes` (hubc__txn_push). */
#define HUBC__UNDO_BYTES (2 * sizeof(hubc__slot))
struct hubc__undo {
  int64_t id;
  uint8_t kind; /* enum hubc_record_kind */
  union {
    struct { hubc__slot from, to; } slot;
    unsigned char bytes[HUBC__UNDO_BYTES];
  } u;
};

/* A queued event. Status events are queued as runs of consecutive history
 * entries (run_n > 0: entries run_first .. run_first + run_n - 1, 1-based;
 * `ev` holds the tier and the billable count after the run's last change)
 * and expanded from the history when delivered, so that a call changing a
 * million contacts queues one item, not a million events (issue 11). */
typedef struct hubc__evq {
  hubc_event ev;
  uint32_t run_first, run_n;
  uint64_t run_billable0; /* the billable count before the run's first change */
} hubc__evq;

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
  uint64_t touched; /* the kinds it touched (kind.h), a bit per table position */
  /* what is restored by truncation on undo; each area keeps its own */
  size_t events_n;
  hubc__pool_mark pool;
  int events_lost; /* an event could not be queued: the call fails */
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

  /* one sub-struct per area, each declared beside its .c files */
  hubc__schema *schema, *schema_mark; /* properties (schema/) */

  hubc__contacts contacts; /* contact/contacts.h */
  hubc__status status;   /* marketing/status.h */
  hubc__billing billing; /* marketing/billing.h */
  hubc__sources sources; /* marketing/source.h */
  hubc__users users;     /* user/user.h */
  hubc__imports imports; /* import/records.h */
  hubc__forms forms;     /* form/forms.h */
  hubc__workflows workflows; /* workflow/workflows.h */
  hubc__qcols qcols;     /* query/columns.h */
  hubc__lists lists;     /* query/lists.h: lists, views, watches */

  hubc__sched sched; /* the due queue (store/schedule.h) */
  hubc__txn txn;
  hubc__evq *events; /* queued for delivery after the call */
  size_t events_n, events_cap;

  unsigned char *scratch; /* encoding buffer */
  size_t scratch_cap;
};

static inline hubc__slot hubc__slot_at(const hubc_store *s, int64_t id) {
  hubc__slot sl = {0};
  hubc__rec *r = s->contacts.recs[id];
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
  return s->contacts.next_id < (int64_t)s->contacts.cap ? s->contacts.next_id : (int64_t)s->contacts.cap;
}

/* The live contact with this id, or NULL. */
static inline hubc__rec *hubc__contact_at(const hubc_store *s, int64_t id) {
  return id > 0 && id < hubc__id_end(s) ? s->contacts.recs[id] : NULL;
}

#define HUBC__BILLABLE(s) ((s)->contacts.count[HUBC_MARKETING] + (s)->contacts.count[HUBC_MARKETING_UNTIL_UPDATE])

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
void hubc__call_leave_closing(hubc_store *s);
static inline void hubc__call_leave(hubc_store *s) {
  if (!atomic_load(&s->closed)) { /* close polls too: a wakeup missed here costs it one poll */
    atomic_fetch_sub(&s->calls, 1);
    return;
  }
  hubc__call_leave_closing(s);
}
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

/* Queue items n changes may need: status events of consecutive changes
 * share one run, so a few, not one per change. */
#define HUBC__EVENTS_NEED(n) (((n) < 8 ? (n) : 8) + 8)
/* Reserve room so that the next `undo` undo entries and the dirty marks
 * and events of n changes cannot fail. */
int hubc__txn_reserve_grow(hubc_store *s, size_t undo, size_t n);
static inline int hubc__txn_reserve_log(hubc_store *s, size_t undo, size_t n) {
  const hubc__txn *t = &s->txn; /* room already: the common case, inline */
  if (t->undo_n + undo <= t->undo_cap && (!s->has_persist || t->dirty_n + 2 * n + 2 <= t->dirty_cap) &&
      (!s->ev_fn || s->events_n + HUBC__EVENTS_NEED(n) <= s->events_cap))
    return 0;
  return hubc__txn_reserve_grow(s, undo, n);
}
/* Room for n changes of one undo entry each. */
static inline int hubc__txn_reserve(hubc_store *s, size_t n) { return hubc__txn_reserve_log(s, n, n); }
/* Replaces slots[id] by *to, keeping the email index and counts in step;
 * records undo and marks the contact dirty. Needs a reserved entry and
 * email index room (hubc__eidx_reserve). */
void hubc__txn_slot(hubc_store *s, int64_t id, const hubc__slot *to);
/* hubc__txn_slot for a contact created in this transaction (id had no
 * record): consecutive creates share one undo entry (id = -first id, bytes:
 * the end id), so a bulk create logs a run, not a contact each. */
void hubc__txn_slot_new(hubc_store *s, int64_t id, const hubc__slot *to);
/* Moves a slot between states without undo (loading, and undo itself). */
void hubc__slot_move(hubc_store *s, int64_t id, const hubc__slot *from, const hubc__slot *to);
/* Appends an undo entry of `kind` for `id` holding n bytes of payload
 * (n <= HUBC__UNDO_BYTES) for the kind's undo hook. Needs a reserved entry. */
void hubc__txn_push(hubc_store *s, int kind, int64_t id, const void *payload, size_t n);
/* The kind takes part in the transaction (kind.h); push, dirty and slot do
 * it for their kind. */
static inline void hubc__txn_touch(hubc_store *s, int kind) {
  s->txn.touched |= 1ull << hubc__kind_pos_[kind];
}
/* Marks (kind, id) changed for persistence; touches the kind. Inline: a
 * store without a backend only touches (every status change marks two). */
void hubc__txn_dirty_mark(hubc_store *s, int kind, int64_t id);
static inline void hubc__txn_dirty(hubc_store *s, int kind, int64_t id) {
  hubc__txn_touch(s, kind);
  if (s->has_persist) hubc__txn_dirty_mark(s, kind, id);
}
/* Every kind remembers its committed state (kind.h txn_begin): once the
 * store is loaded, before its first transaction. */
void hubc__txn_mark_all(hubc_store *s);
/* Queues an event if a callback is registered (never fails the call). */
void hubc__txn_event(hubc_store *s, const hubc_event *ev);
/* Queues the STATUS event of history entry `hist` (1-based, just
 * appended), the billable count and tier now: it extends the call's last
 * run of status events when it follows it. */
void hubc__txn_event_status(hubc_store *s, uint32_t hist, uint64_t billable, uint64_t tier);
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
/* A snapshot of current record r (read lock held): for query iterators. */
int hubc__contact_snapshot(hubc_contact **out, hubc_store *s, hubc__rec *r);

/* ---- persistence (persist/codec.c, persist/load.c) ---------------------- */
/* Encodes the current state of (kind, id) into s->scratch through the
 * kind's hook; 1 means "absent" (to delete). */
int hubc__encode(hubc_store *s, int kind, int64_t id, const unsigned char **bytes,
                 size_t *len);
int hubc__load(hubc_store *s);
/* Derived state agrees with the records (every kind's check hook); for
 * tests. 0 or HUBC_ECORRUPT. (store/dump.c) */
int hubc__store_check(hubc_store *s);


#endif
