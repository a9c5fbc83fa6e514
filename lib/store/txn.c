/* The transaction layer: every mutating call is one transaction (R2). */
#include <stdio.h>
#include <string.h>

#include "util/text.h"

#include "query/watch.h"
#include "store/plan.h"
#include "store/store.h"

/* Stores whose callbacks this thread is running (re-entry → EBUSY, R6):
 * a list of frames on the callers' stacks, so nesting has no limit. */
static _Thread_local hubc__busy *busy_top;

int hubc__reentered(const hubc_store *s) {
  for (const hubc__busy *f = busy_top; f; f = f->prev)
    if (f->store == s) return 1;
  return 0;
}

void hubc__busy_enter(hubc__busy *frame, const hubc_store *s) {
  frame->store = s;
  frame->prev = busy_top;
  busy_top = frame;
}

void hubc__busy_leave(hubc__busy *frame) { busy_top = frame->prev; }

const char *hubc__perm_name(unsigned perm) {
  switch (perm) {
  case HUBC_PERM_EDIT_CONTACTS: return "edit contacts";
  case HUBC_PERM_IMPORT: return "import";
  case HUBC_PERM_EDIT_WORKFLOWS: return "edit workflows";
  case HUBC_PERM_MARKETING_ACCESS: return "marketing contact access (P2)";
  case HUBC_PERM_MANAGE_USERS: return "add and edit users";
  default: return "a permission";
  }
}

static int check_actor(hubc_store *s, hubc_id actor, unsigned perm, const char *what) {
  if (actor == HUBC_SYSTEM) return 0;
  const hubc__user *u = hubc__user_at(s, actor);
  if (!u) return hubc__err(HUBC_EPERM, "%s: actor %lld is not a user of this store", what, (long long)actor);
  if (u->disabled)
    return hubc__err(HUBC_EPERM, "%s: user %lld (%s) is disabled", what, (long long)actor, u->email);
  if (perm && !u->super_admin && (u->perms & perm) != perm)
    return hubc__err(HUBC_EPERM, "%s: user %lld (%s) lacks the permission '%s'", what, (long long)actor,
                     u->email, hubc__perm_name(perm));
  return 0;
}

int hubc__require(hubc_store *s, unsigned perm, const char *what) {
  return check_actor(s, s->txn.actor, perm, what);
}

int hubc__require_user(hubc_store *s, const char *what) {
  if (s->txn.actor == HUBC_SYSTEM)
    return hubc__err(HUBC_EPERM,
                     "%s: needs a user as actor; SYSTEM may not do this (P5: automatic sources act only "
                     "through their own paths)",
                     what);
  return 0;
}

void hubc__txn_mark_all(hubc_store *s) {
  for (size_t i = 0; i < hubc__kinds_n; i++)
    if (hubc__kinds[i]->txn_begin) hubc__kinds[i]->txn_begin(s);
}

/* The touched kinds among `hooks` (kind.h), in table order. */
#define FOR_TOUCHED(t, hooks, k)                                                                                       \
  for (uint64_t m_ = (t)->touched & (hooks); m_ && ((k) = hubc__kinds[__builtin_ctzll(m_)], 1); m_ &= m_ - 1)

void hubc__txn_begin(hubc_store *s, hubc_id actor, hubc_time now) {
  hubc__txn *t = &s->txn;
  t->active = 1;
  t->actor = actor;
  t->now = now;
  t->events_lost = 0;
  t->undo_n = t->dirty_n = 0;
  t->events_n = s->events_n;
  t->pool = hubc__pool_mark_get(s->base);
  t->touched = 0; /* kinds with a finalize hook join at the end unless idle (awake) */
  hubc__sched_txn_begin(s);
}

int hubc__txn_reserve_grow(hubc_store *s, size_t undo, size_t n) {
  hubc__txn *t = &s->txn;
  size_t had = t->undo_cap;
  if (hubc__grow(s->base, (void **)&t->undo, &t->undo_cap, t->undo_n + undo, sizeof *t->undo) ||
      (s->has_persist && /* dirty marks are for the backend only */
       hubc__grow(s->base, (void **)&t->dirty, &t->dirty_cap, t->dirty_n + 2 * n + 2, sizeof *t->dirty)))
    return HUBC_ENOMEM;
  if (t->undo_cap > had) /* a bulk call's log (an import: an entry per row) is written once, in order */
    hubc__huge_advise(t->undo + had, (t->undo_cap - had) * sizeof *t->undo);
  if (s->ev_fn && hubc__grow(s->base, (void **)&s->events, &s->events_cap, s->events_n + HUBC__EVENTS_NEED(n),
                             sizeof *s->events))
    return HUBC_ENOMEM;
  return 0;
}

/* Moves slot `id` from one state to another, keeping derived indexes in
 * step. Used forwards by hubc__txn_slot and backwards by undo. */
void hubc__slot_move(hubc_store *s, int64_t id, const hubc__slot *from, const hubc__slot *to) {
  if (from->rec != to->rec) {
    const char *old_email = from->rec ? hubc__rec_email(from->rec) : NULL;
    const char *new_email = to->rec ? hubc__rec_email(to->rec) : NULL;
    if (old_email && new_email && strcmp(old_email, new_email) == 0) {
      hubc__eidx_replace(s, from->rec, to->rec);
    } else {
      if (old_email) hubc__eidx_remove(s, from->rec);
      if (new_email) hubc__eidx_insert(s, to->rec);
    }
  }
  if (from->rec) {
    s->contacts.count[from->status]--;
    s->contacts.n--;
  }
  if (to->rec) {
    s->contacts.count[to->status]++;
    s->contacts.n++;
    to->rec->modified = to->modified;
    to->rec->id = (uint32_t)id;
    to->rec->hist = to->hist;
    to->rec->status = to->status;
  }
  s->contacts.recs[id] = to->rec;
  if (s->qcols.live && from->rec != to->rec) hubc__qcols_update(s, id, to->rec);
}

void hubc__txn_dirty_mark(hubc_store *s, int kind, int64_t id) {
  hubc__txn *t = &s->txn;
  if (t->dirty_n && t->dirty[t->dirty_n - 1].kind == kind && t->dirty[t->dirty_n - 1].id == id) return;
  t->dirty[t->dirty_n].kind = (uint8_t)kind;
  t->dirty[t->dirty_n].id = id;
  t->dirty_n++;
}

void hubc__txn_slot(hubc_store *s, int64_t id, const hubc__slot *to) {
  hubc__undo *u = &s->txn.undo[s->txn.undo_n++];
  u->kind = HUBC_REC_CONTACT;
  u->id = id;
  u->u.slot.from = hubc__slot_at(s, id);
  u->u.slot.to = *to;
  if (u->u.slot.from.rec && u->u.slot.from.rec != to->rec) s->contacts.superseded++; /* released at commit */
  hubc__slot_move(s, id, &u->u.slot.from, to);
  hubc__txn_dirty(s, HUBC_REC_CONTACT, id);
  if (s->lists.watch.live) /* active lists follow (S2); checked here: most stores have none */
    hubc__watch_slot(s, id, &s->txn.undo[s->txn.undo_n - 1].u.slot.from, to);
}

void hubc__txn_slot_new(hubc_store *s, int64_t id, const hubc__slot *to) {
  hubc__txn *t = &s->txn;
  hubc__undo *u = t->undo_n ? &t->undo[t->undo_n - 1] : NULL;
  int64_t end = 0;
  if (u && u->kind == HUBC_REC_CONTACT && u->id < 0) memcpy(&end, u->u.bytes, sizeof end);
  if (end != id) { /* the run before (if any) ended elsewhere: a new one */
    u = &t->undo[t->undo_n++];
    u->kind = HUBC_REC_CONTACT;
    u->id = -id;
  }
  end = id + 1;
  memcpy(u->u.bytes, &end, sizeof end);
  const hubc__slot none = {0};
  hubc__slot_move(s, id, &none, to);
  hubc__txn_dirty(s, HUBC_REC_CONTACT, id);
  if (s->lists.watch.live) hubc__watch_slot(s, id, &none, to);
}

void hubc__txn_push(hubc_store *s, int kind, int64_t id, const void *payload, size_t n) {
  hubc__undo *u = &s->txn.undo[s->txn.undo_n++];
  u->kind = (uint8_t)kind;
  u->id = id;
  memcpy(u->u.bytes, payload, n < sizeof u->u.bytes ? n : sizeof u->u.bytes);
  hubc__txn_touch(s, kind);
}

static hubc__evq *event_push(hubc_store *s) {
  if (s->events_n == s->events_cap &&
      hubc__grow(s->base, (void **)&s->events, &s->events_cap, s->events_n + 1, sizeof *s->events)) {
    s->txn.events_lost = 1; /* the call fails at its finish: all its events or none */
    return NULL;
  }
  hubc__evq *q = &s->events[s->events_n++];
  memset(q, 0, sizeof *q);
  return q;
}

void hubc__txn_event(hubc_store *s, const hubc_event *ev) {
  hubc__evq *q;
  if (!s->ev_fn || !(q = event_push(s))) return;
  q->ev = *ev;
  q->ev.version = HUBC_EVENT_VERSION;
}

static int billable_status(int status) { return status != HUBC_NON_MARKETING; }

void hubc__txn_event_status(hubc_store *s, uint32_t hist, uint64_t billable, uint64_t tier) {
  if (!s->ev_fn) return;
  const hubc__hist *e = &s->status.hist[hist - 1];
  hubc_time time = hubc__hist_ctx_of(&s->status, e)->time;
  uint64_t before = billable - (uint64_t)billable_status(e->new_status) + (uint64_t)billable_status(e->old_status);
  /* a run only grows inside this transaction (undo truncates the queue to
   * its start) and only when nothing else happened in between */
  hubc__evq *last = s->events_n > s->txn.events_n ? &s->events[s->events_n - 1] : NULL;
  if (last && last->run_n && last->run_first + last->run_n == hist && last->ev.tier == tier &&
      last->ev.billable == before && last->ev.time == time) {
    last->run_n++;
    last->ev.billable = billable;
    return;
  }
  hubc__evq *q = event_push(s);
  if (!q) return;
  q->ev.version = HUBC_EVENT_VERSION;
  q->ev.type = HUBC_EVENT_STATUS;
  q->ev.time = time;
  q->ev.billable = billable;
  q->ev.tier = tier;
  q->run_first = hist;
  q->run_n = 1;
  q->run_billable0 = before;
}

/* Kinds with a finalize hook react to every transaction: they take part
 * unless their idle hook says there is nothing for them (kind.h). */
static inline void awake(hubc_store *s) {
  hubc__txn *t = &s->txn;
  t->touched |= hubc__kinds_finalize & ~hubc__kinds_idle;
  for (uint64_t m = hubc__kinds_idle & ~t->touched; m; m &= m - 1) {
    const hubc__kind *k = hubc__kinds[__builtin_ctzll(m)];
    if (!k->txn_idle(s)) t->touched |= m & -m;
  }
}

static void undo(hubc_store *s) {
  hubc__txn *t = &s->txn;
  awake(s); /* before the entries: what the kinds hold now is what they roll back */
  while (t->undo_n) {
    const hubc__undo *u = &t->undo[--t->undo_n];
    hubc__kinds[hubc__kind_pos_[u->kind]]->undo(s, u);
  }
  hubc__sched_rollback(s);
  const hubc__kind *k;
  FOR_TOUCHED(t, hubc__kinds_rollback, k) k->txn_rollback(s);
  s->events_n = t->events_n;
  hubc__pool_rewind(s->base, t->pool); /* after the kinds: the schema's strings are gone now */
  t->dirty_n = 0;
}

static void commit(hubc_store *s) {
  hubc__txn *t = &s->txn;
  hubc__sched_commit(s);
  const hubc__kind *k;
  /* each kind releases what it superseded, then records the committed
   * state the next rollback restores (begin hooks read only their own
   * kind, so one pass does both) */
  FOR_TOUCHED(t, hubc__kinds_commit | hubc__kinds_begin, k) {
    if (k->txn_commit) k->txn_commit(s);
    if (k->txn_begin) k->txn_begin(s);
  }
  t->undo_n = t->dirty_n = 0;
}

/* Names the step (and record, for put/del) and keeps what the backend said
 * if it set hubc_error_last() for its code (the bundled journal does: file,
 * offset, OS error). persist() clears the message before the callbacks. */
static int persist_fail(int cb_rc, const char *step, int kind, int64_t id) {
  char rec[64] = "", said[320] = "";
  if (kind) snprintf(rec, sizeof rec, " %s %lld", hubc__kind_name(kind), (long long)id);
  if (hubc_error_last_code() == cb_rc && hubc_error_last()[0]) snprintf(said, sizeof said, ": %s", hubc_error_last());
  if (cb_rc == HUBC_EAGAIN)
    return hubc__err(HUBC_EAGAIN, "persistence backend asked to retry (%s%s)%s; nothing changed", step, rec, said);
  return hubc__err(HUBC_EPERSIST, "persistence callback %s%s failed (code %d)%s; nothing changed", step, rec, cb_rc,
                   said);
}

/* Hands the transaction's changed records to the backend (R1, R2). */
static int persist(hubc_store *s) {
  hubc__txn *t = &s->txn;
  if (!s->has_persist || t->dirty_n == 0) return 0;
  hubc__txn_dirty(s, HUBC_REC_META, 1);
  const hubc_persist *p = &s->persist;
  int rc = hubc__ok(), cb; /* no stale message for persist_fail to repeat */
  hubc__busy frame;
  hubc__busy_enter(&frame, s);
  if (p->begin && (cb = p->begin(p->userdata)) != 0) {
    rc = persist_fail(cb, "begin", 0, 0);
    hubc__busy_leave(&frame);
    return rc;
  }
  for (size_t i = 0; i < t->dirty_n && !rc; i++) {
    const hubc__dirty *d = &t->dirty[i];
    const unsigned char *bytes;
    size_t len;
    int r = hubc__encode(s, d->kind, d->id, &bytes, &len);
    if (r < 0) rc = r;
    else if (r == 1) {
      if (p->del && (cb = p->del(p->userdata, d->kind, d->id)) != 0) rc = persist_fail(cb, "del", d->kind, d->id);
    } else if (p->put && (cb = p->put(p->userdata, d->kind, d->id, bytes, len)) != 0)
      rc = persist_fail(cb, "put", d->kind, d->id);
  }
  if (!rc && p->commit && (cb = p->commit(p->userdata)) != 0) rc = persist_fail(cb, "commit", 0, 0);
  if (rc && p->rollback) p->rollback(p->userdata);
  hubc__busy_leave(&frame);
  return rc;
}

static inline int finalize(hubc_store *s) {
  const hubc__kind *k;
  int rc = 0;
  awake(s);
  FOR_TOUCHED(&s->txn, hubc__kinds_finalize, k) {
    if ((rc = k->txn_finalize(s))) break;
  }
  return rc;
}

int hubc__txn_finish(hubc_store *s, int rc) {
  if (rc == 0) rc = finalize(s);
  if (rc == 0 && s->txn.events_lost)
    rc = hubc__err(HUBC_ENOMEM, "out of memory queueing the call's events; nothing changed");
  if (rc == 0) rc = persist(s);
  if (rc == 0) commit(s);
  else undo(s);
  s->txn.active = 0;
  return rc;
}

/* Takes the queued events out of the store (called with the lock held). */
typedef struct pending_events {
  hubc__evq *ev;
  size_t n, cap;
  hubc_event_fn fn;
  void *payload;
} pending_events;

static pending_events take_events(hubc_store *s) {
  pending_events pe = {s->events, s->events_n, s->events_cap, s->ev_fn, s->ev_payload};
  if (pe.n) {
    s->events = NULL;
    s->events_n = s->events_cap = 0;
  } else {
    pe.ev = NULL;
  }
  return pe;
}

/* A run of status events, rebuilt from the history a batch at a time
 * under the read lock (entries of a committed call are never rewritten;
 * later calls only append), delivered without it. */
static void deliver_run(hubc_store *s, const pending_events *pe, const hubc__evq *q) {
  enum { BATCH = 256 };
  hubc_event batch[BATCH];
  uint64_t billable = q->run_billable0;
  for (uint32_t done = 0; done < q->run_n;) {
    uint32_t m = q->run_n - done < BATCH ? q->run_n - done : BATCH;
    pthread_rwlock_rdlock(&s->lock);
    for (uint32_t k = 0; k < m; k++) {
      const hubc__hist *e = &s->status.hist[q->run_first - 1 + done + k];
      const hubc__hist_ctx *c = hubc__hist_ctx_of(&s->status, e);
      hubc_event *ev = &batch[k];
      *ev = q->ev;
      ev->contact = e->contact;
      ev->old_status = e->old_status;
      ev->new_status = e->new_status;
      ev->reason_type = e->reason_type;
      ev->reason_id = c->reason_id;
      ev->actor = c->actor;
      billable = billable + (uint64_t)billable_status(e->new_status) - (uint64_t)billable_status(e->old_status);
      ev->billable = billable;
    }
    pthread_rwlock_unlock(&s->lock);
    for (uint32_t k = 0; k < m; k++) pe->fn(pe->payload, &batch[k]);
    done += m;
  }
}

/* Delivers a call's events after the lock is released. rc is the call's
 * result: a failed call's code and message survive whatever the callbacks
 * do (they may call other stores, R5). Returns rc. */
static int deliver(hubc_store *s, pending_events *pe, int rc) {
  if (!pe->n) return rc;
  char msg[512];
  if (rc) snprintf(msg, sizeof msg, "%s", hubc_error_last());
  hubc__base *b = s->base;
  hubc__busy frame;
  hubc__busy_enter(&frame, s);
  for (size_t i = 0; i < pe->n && pe->fn; i++) {
    if (pe->ev[i].run_n) deliver_run(s, pe, &pe->ev[i]);
    else pe->fn(pe->payload, &pe->ev[i].ev);
  }
  hubc__busy_leave(&frame);
  hubc__free(b, pe->ev, pe->cap * sizeof *pe->ev);
  return rc ? hubc__err(rc, "%s", msg) : 0;
}

/* The call's time, read under the write lock so that calls are stamped in
 * the order they commit, and never before the current period began (a
 * clock that steps back must not reopen a closed period). The clock is a
 * host callback: re-entering the store from it is refused. */
hubc_time hubc__now_locked(hubc_store *s) {
  hubc__busy frame;
  hubc__busy_enter(&frame, s);
  hubc_time now = s->clock(s->clock_payload);
  hubc__busy_leave(&frame);
  if (!hubc__time_ok(now)) return now; /* refused by hubc__clock_check, not clamped into range */
  return now < s->billing.bill.period_start ? s->billing.bill.period_start : now;
}

static int clock_bad(const hubc_store *s, hubc_time now) {
  return !hubc__time_ok(now) || now - atomic_load(&s->seen) > s->max_jump; /* both in range: no overflow */
}

int hubc__clock_check(const hubc_store *s, hubc_time now, const char *what) {
  if (!clock_bad(s, now)) return 0;
  if (!hubc__time_ok(now))
    return hubc__err(HUBC_EINVAL, "%s: the store clock returned %lld, outside years 1 to 9999", what, (long long)now);
  char at[32], seen[32];
  hubc__format_time(at, now);
  hubc__format_time(seen, atomic_load(&s->seen));
  return hubc__err(HUBC_EINVAL,
                   "%s: the store clock reads %s, more than %lld seconds past the latest time the store has seen "
                   "(%s); refused, nothing changed (B2a: raise max_clock_jump if the host really was away that long)",
                   what, at, (long long)s->max_jump, seen);
}

/* Called with the write lock held once `now` passed hubc__clock_check. */
static void clock_seen(hubc_store *s, hubc_time now) {
  if (now > atomic_load(&s->seen)) atomic_store(&s->seen, now);
}

/* Issue 9 item 1: a close on another thread waits for the calls counted
 * here. The count is raised before `closed` is read and close sets `closed`
 * before reading the count, so one of the two sees the other. A leave that
 * may be the one close waits for decrements under gate_mu: close cannot
 * see the count drop, go on and free the store while it still signals. */
int hubc__call_enter(hubc_store *s, const char *what) {
  atomic_fetch_add(&s->calls, 1);
  if (!atomic_load(&s->closed)) return 0;
  hubc__call_leave(s);
  return hubc__err(HUBC_EINVAL, "%s: the store is closed", what);
}

void hubc__call_leave_closing(hubc_store *s) {
  pthread_mutex_lock(&s->gate_mu);
  if (atomic_fetch_sub(&s->calls, 1) == 1) pthread_cond_broadcast(&s->gate_cv);
  pthread_mutex_unlock(&s->gate_mu);
}

int hubc__write_begin(hubc_store *s, hubc_id actor, unsigned perm, const char *what) {
  if (!s) return hubc__err(HUBC_EINVAL, "%s: store is NULL", what);
  if (hubc__reentered(s)) return hubc__err(HUBC_EBUSY, "%s: called from a callback of the same store", what);
  int rc = hubc__call_enter(s, what);
  if (rc) return rc;
  pthread_rwlock_wrlock(&s->lock);
  hubc_time now = hubc__now_locked(s);
  rc = clock_bad(s, now) ? hubc__clock_check(s, now, what) : 0;
  if (!rc) clock_seen(s, now);
  if (!rc) rc = hubc__sched_tick(s, now);
  if (!rc) rc = check_actor(s, actor, perm, what);
  if (rc) {
    pending_events pe = take_events(s);
    pthread_rwlock_unlock(&s->lock);
    rc = deliver(s, &pe, rc);
    hubc__call_leave(s);
    return rc;
  }
  hubc__txn_begin(s, actor, now);
  return 0;
}

int hubc__write_end(hubc_store *s, int rc) {
  rc = hubc__txn_finish(s, rc);
  pending_events pe = take_events(s);
  pthread_rwlock_unlock(&s->lock);
  rc = deliver(s, &pe, rc);
  hubc__call_leave(s);
  return rc ? rc : hubc__ok();
}

/* ---- plans (store/plan.h) ---------------------------------------------- */

static void plan_counts(const hubc_store *s, uint64_t *contacts, uint64_t count[3], uint64_t *billable) {
  *contacts = s->contacts.n;
  memcpy(count, s->contacts.count, sizeof s->contacts.count);
  *billable = HUBC__BILLABLE(s);
}

void hubc__plan_start(const hubc_store *s, hubc__plan *out) {
  memset(out, 0, sizeof *out);
  plan_counts(s, &out->contacts_before, out->count_before, &out->billable_before);
  out->tier_before = s->billing.bill.tier;
}

int hubc__write_plan(hubc_store *s, int rc, hubc__plan *out) { return hubc__write_plan_projected(s, rc, out, NULL); }

int hubc__write_plan_projected(hubc_store *s, int rc, hubc__plan *out, const int64_t delta[4]) {
  if (delta) { /* as if applied: what billing decides by, for the outlook, finalize and counts below */
    for (int i = 0; i < 3; i++) s->contacts.count[i] = (uint64_t)((int64_t)s->contacts.count[i] + delta[i]);
    s->contacts.n = (uint64_t)((int64_t)s->contacts.n + delta[3]);
  }
  hubc__outlook ol;
  hubc__billing_outlook(s, &ol); /* what finalize decides by */
  out->cap = ol.cap;
  out->cap_refused = ol.refused;
  out->tier_after = ol.tier;
  if (rc == 0) rc = finalize(s); /* as the commit would: its refusal is the plan's answer */
  plan_counts(s, &out->contacts_after, out->count_after, &out->billable_after);
  out->changes = s->txn.undo_n;
  out->rc = rc;
  if (delta) {
    for (int i = 0; i < 3; i++) s->contacts.count[i] = (uint64_t)((int64_t)s->contacts.count[i] - delta[i]);
    s->contacts.n = (uint64_t)((int64_t)s->contacts.n - delta[3]);
  }
  char msg[512] = "";
  if (rc) snprintf(msg, sizeof msg, "%s", hubc_error_last());
  undo(s); /* the change's events go with it (events_n is restored) */
  s->txn.active = 0;
  pending_events pe = take_events(s); /* what was due before the change */
  pthread_rwlock_unlock(&s->lock);
  deliver(s, &pe, 0);
  hubc__call_leave(s);
  return rc ? hubc__err(rc, "%s", msg) : hubc__ok();
}

int hubc__run(hubc_store *s, hubc_id actor, unsigned perm, const char *what, hubc__change_fn change, void *ctx,
              hubc__plan *plan) {
  int rc = hubc__write_begin(s, actor, perm, what);
  if (rc) {
    if (plan) memset(plan, 0, sizeof *plan), plan->rc = rc;
    return rc;
  }
  if (plan) hubc__plan_start(s, plan);
  rc = change(s, ctx);
  return plan ? hubc__write_plan(s, rc, plan) : hubc__write_end(s, rc);
}

int hubc__read_begin(hubc_store *s) {
  if (!s) return hubc__err(HUBC_EINVAL, "store is NULL");
  if (hubc__reentered(s)) return hubc__err(HUBC_EBUSY, "called from a callback of the same store");
  if (hubc__call_enter(s, "read")) return HUBC_EINVAL;
  hubc__busy frame;
  hubc__busy_enter(&frame, s);
  hubc_time probe = s->clock(s->clock_payload); /* only decides whether to take the write lock */
  hubc__busy_leave(&frame);
  /* a refused reading takes the same path as a write: one answer for every call */
  if (probe >= hubc__sched_next(&s->sched) || clock_bad(s, probe)) {
    pthread_rwlock_wrlock(&s->lock);
    hubc_time now = hubc__now_locked(s);
    int rc = hubc__clock_check(s, now, "apply update dates");
    if (!rc) clock_seen(s, now);
    if (!rc) rc = hubc__sched_tick(s, now);
    pending_events pe = take_events(s);
    pthread_rwlock_unlock(&s->lock);
    if ((rc = deliver(s, &pe, rc))) {
      hubc__call_leave(s);
      return rc;
    }
  }
  pthread_rwlock_rdlock(&s->lock);
  return 0;
}

int hubc__read_end(hubc_store *s, int rc) {
  pthread_rwlock_unlock(&s->lock);
  hubc__call_leave(s);
  return rc ? rc : hubc__ok();
}
