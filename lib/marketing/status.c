/* The marketing status state machine (M2–M5) and its history (M7). Every
 * source of change — manual, bulk, import, forms, workflows, renewals —
 * calls hubc__status_apply: one place decides what "set as marketing" means. */
#include <stdio.h>
#include <string.h>

#include "query/watch.h"
#include "store/store.h"
#include "user/perm.h"
#include "util/text.h"

HUBC_API const char *hubc_status_name(int status) {
  switch (status) {
  case HUBC_NON_MARKETING: return "NON_MARKETING";
  case HUBC_MARKETING: return "MARKETING";
  case HUBC_MARKETING_UNTIL_UPDATE: return "MARKETING_UNTIL_UPDATE";
  default: return NULL;
  }
}

HUBC_API const char *hubc_source_name(int source) {
  static const char *const names[] = {NULL, "MANUAL", "IMPORT", "FORM", "EXTERNAL_FORM", "CHATFLOW",
                                      "INTEGRATION", "MOBILE_APP", "ONE_TO_ONE_EMAIL", "TEAM_INBOX", "DOCUMENT",
                                      "MEETINGS", "EMAIL_EXTENSION", "WORKFLOW", "BULK", "UPDATE_DATE"};
  return source >= 1 && source <= HUBC_SOURCE_UPDATE_DATE ? names[source] : NULL;
}

int hubc__status_reserve(hubc_store *s, size_t n) {
  hubc__status *a = &s->status;
  if (hubc__grow(s->base, (void **)&a->hist, &a->hist_cap, a->hist_n + n, sizeof *a->hist) ||
      hubc__grow(s->base, (void **)&a->ctx, &a->ctx_cap, a->ctx_n + n, sizeof *a->ctx) ||
      hubc__grow(s->base, (void **)&a->pending, &a->pending_cap, a->pending_n + n, sizeof *a->pending))
    return HUBC_ENOMEM;
  if (a->hist_n + n > 0xffffffffu) return hubc__err(HUBC_ELIMIT, "status history is full (2^32 entries)");
  return hubc__txn_reserve(s, n);
}

void hubc__status_reason(const hubc_store *s, uint32_t newest, int *type, hubc_id *id) {
  *type = 0;
  *id = 0;
  for (uint32_t h = newest; h; h = s->status.hist[h - 1].prev) {
    const hubc__hist *e = &s->status.hist[h - 1];
    if (e->new_status == HUBC_MARKETING) {
      *type = e->reason_type;
      *id = hubc__hist_ctx_of(&s->status, e)->reason_id;
      return;
    }
  }
}

/* The state `target` takes a contact in `from` to: 1 = set marketing
 * (M3), 0 = set non-marketing (M4), -1 = the update date has come (M5). */
static int next_status(int from, int target) {
  if (target == 1) return HUBC_MARKETING;                                          /* M3 */
  if (target == 0) return from == HUBC_MARKETING ? HUBC_MARKETING_UNTIL_UPDATE : from; /* M4 */
  return from == HUBC_MARKETING_UNTIL_UPDATE ? HUBC_NON_MARKETING : from;            /* M5 */
}

static uint32_t ctx_now(hubc_store *s, hubc_id reason_id) {
  return hubc__hist_ctx_put(&s->status, s->txn.now, reason_id, s->txn.actor);
}

/* Appends the history entry of contact id moving from slot's state to
 * `to` (ctx: hubc__hist_ctx_put of the call's time, the reason id and the
 * actor) and puts the new state in *slot (not yet in the store). */
static void stamp(hubc_store *s, int64_t id, hubc__slot *slot, int to, int reason_type, uint32_t ctx) {
  hubc__hist *e = &s->status.hist[s->status.hist_n];
  e->contact = (uint32_t)id;
  e->ctx = ctx;
  e->prev = slot->hist;
  e->old_status = slot->status;
  e->new_status = (uint8_t)to;
  e->reason_type = (uint8_t)reason_type;
  e->pad = 0;
  s->status.hist_n++;
  slot->hist = (uint32_t)s->status.hist_n;
  slot->status = (uint8_t)to;
  slot->modified = s->txn.now;
}

/* After the new state is in the store: the history record to persist, the
 * pending list (M5), the event. */
static void announce(hubc_store *s, int64_t id, int to) {
  hubc__txn_dirty(s, HUBC_REC_HISTORY, (int64_t)s->status.hist_n);
  if (to == HUBC_MARKETING_UNTIL_UPDATE) s->status.pending[s->status.pending_n++] = id;
  hubc__txn_event_status(s, (uint32_t)s->status.hist_n, HUBC__BILLABLE(s), s->billing.bill.tier);
}

/* Needs hubc__status_reserve(s, 1). */
int hubc__status_apply(hubc_store *s, int64_t id, int target, int reason_type, hubc_id reason_id) {
  hubc__slot slot = hubc__slot_at(s, id);
  int from = slot.status, to = next_status(from, target);
  if (to == from) return 0; /* no-op keeps the original reason */
  stamp(s, id, &slot, to, reason_type, ctx_now(s, reason_id));
  hubc__txn_slot(s, id, &slot);
  announce(s, id, to);
  return 0;
}

/* A run's undo entry: history entries [first, end) (0-based) and, from
 * was[was_first], the lastmodifieddate each of their contacts had. */
typedef struct run_undo {
  uint32_t first, end;
  size_t was_first;
} run_undo;
_Static_assert(sizeof(run_undo) <= HUBC__UNDO_BYTES, "a run fits an undo entry");

/* Room for the next n changes of a run (no undo entry each). */
static int run_reserve(hubc_store *s, size_t n, int target) {
  hubc__status *a = &s->status;
  if (hubc__grow(s->base, (void **)&a->hist, &a->hist_cap, a->hist_n + n, sizeof *a->hist) ||
      hubc__grow(s->base, (void **)&a->was, &a->was_cap, a->was_n + n, sizeof *a->was) ||
      (target == 0 && hubc__grow(s->base, (void **)&a->pending, &a->pending_cap, a->pending_n + n, sizeof *a->pending)))
    return HUBC_ENOMEM;
  if (a->hist_n + n > 0xffffffffu) return hubc__err(HUBC_ELIMIT, "status history is full (2^32 entries)");
  return hubc__txn_reserve_log(s, 0, n);
}

/* How far ahead of its turn a contact's record is fetched (the misses
 * overlap); how many changes a run makes room for at a time (most of a
 * selection may be unchanged: not room for all at once). */
enum { RUN_AHEAD = 16, RUN_CHUNK = 4096 };

int hubc__status_apply_run(hubc_store *s, const uint32_t *ids, size_t n, int target, int reason_type,
                           hubc_id reason_id, size_t *changed) {
  hubc__status *a = &s->status;
  *changed = 0;
  int rc = hubc__txn_reserve_log(s, 1, 0);
  if (rc) return rc;
  if (hubc__grow(s->base, (void **)&a->ctx, &a->ctx_cap, a->ctx_n + 1, sizeof *a->ctx)) return HUBC_ENOMEM;
  run_undo ru = {(uint32_t)a->hist_n, (uint32_t)a->hist_n, a->was_n};
  hubc__txn_push(s, HUBC_REC_HISTORY, 0, &ru, sizeof ru);
  size_t at = s->txn.undo_n - 1, room = 0;
  uint32_t ctx = 0; /* the run's context, put at its first change */
  for (size_t i = 0; i < n; i++) {
    if (i + RUN_AHEAD < n) __builtin_prefetch(s->contacts.recs[ids[i + RUN_AHEAD]], 1);
    int64_t id = ids[i];
    hubc__slot from = hubc__slot_at(s, id), slot = from;
    int to = next_status(from.status, target);
    if (to == from.status) continue; /* no-op keeps the original reason */
    if (!room && (rc = run_reserve(s, room = n - i < RUN_CHUNK ? n - i : RUN_CHUNK, target))) break;
    room--;
    a->was[a->was_n++] = from.modified;
    if (!*changed) ctx = ctx_now(s, reason_id);
    stamp(s, id, &slot, to, reason_type, ctx);
    hubc__slot_move(s, id, &from, &slot);
    hubc__txn_dirty(s, HUBC_REC_CONTACT, id);
    if (s->lists.watch.live) hubc__watch_slot(s, id, &from, &slot); /* active lists follow (S2) */
    announce(s, id, to);
    ++*changed;
  }
  ru.end = (uint32_t)a->hist_n;
  memcpy(s->txn.undo[at].u.bytes, &ru, sizeof ru);
  return rc;
}

void hubc__status_undo_run(hubc_store *s, const hubc__undo *u) {
  const hubc__status *a = &s->status;
  run_undo ru;
  memcpy(&ru, u->u.bytes, sizeof ru);
  for (uint32_t h = ru.end; h-- > ru.first;) {
    const hubc__hist *e = &a->hist[h];
    hubc__slot now = hubc__slot_at(s, e->contact), was = now;
    was.modified = a->was[ru.was_first + (h - ru.first)];
    was.hist = e->prev;
    was.status = e->old_status;
    hubc__slot_move(s, e->contact, &now, &was);
  }
}

void hubc__status_create_marketing(hubc_store *s, int64_t id, hubc__slot *slot, int reason_type, hubc_id reason_id) {
  stamp(s, id, slot, HUBC_MARKETING, reason_type, ctx_now(s, reason_id));
  hubc__txn_slot_new(s, id, slot);
  announce(s, id, HUBC_MARKETING);
}

/* The generic status calls: the reason is stamped by this path (user:
 * MANUAL and its own id; SYSTEM: an app named by INTEGRATION or CHATFLOW),
 * never one that only another path writes (user/perm.h). */
static int set_status(hubc_store *s, hubc_id actor, hubc_id id, int target, int reason_type, hubc_id reason_id) {
  int op = target ? HUBC__OP_SET_MARKETING : HUBC__OP_SET_NON_MARKETING, type;
  hubc_id rid;
  int rc = hubc__op_reason(op, actor, reason_type, reason_id, &type, &rid);
  if (rc || (rc = hubc__op_begin(s, actor, op))) return rc;
  const char *what = hubc__perm_row_of(op)->what;
  if (!hubc__contact_at(s, id))
    rc = hubc__err(HUBC_ENOTFOUND, "%s: no contact with record id %lld", what, (long long)id);
  if (!rc) rc = hubc__status_reserve(s, 1);
  if (!rc) rc = hubc__status_apply(s, id, target, type, rid);
  return hubc__write_end(s, rc);
}

HUBC_API int hubc_contact_set_marketing(hubc_store *s, hubc_id actor, hubc_id id, int reason_type,
                                        hubc_id reason_id) {
  return set_status(s, actor, id, 1, reason_type, reason_id);
}

HUBC_API int hubc_contact_set_non_marketing(hubc_store *s, hubc_id actor, hubc_id id, int reason_type,
                                            hubc_id reason_id) {
  return set_status(s, actor, id, 0, reason_type, reason_id);
}

/* ---- history ----------------------------------------------------------- */

struct hubc_history_iterator {
  hubc_store *store;
  hubc__base *base; /* freeing needs no store: it may be closed by then */
  hubc_id contact;
  uint32_t *seq; /* a contact's entries, oldest first; NULL: all entries */
  size_t n, pos;
};

HUBC_API int hubc_history_iterator_new(hubc_history_iterator **out, hubc_store *s, hubc_id contact) {
  if (!out) return hubc__err(HUBC_EINVAL, "history iterator: out is NULL");
  *out = NULL;
  if (contact < 0) return hubc__err(HUBC_EINVAL, "history iterator: contact id %lld is negative", (long long)contact);
  int rc = hubc__read_begin(s);
  if (rc) return rc;
  hubc_history_iterator *it = hubc__calloc(s->base, sizeof *it);
  if (!it) return hubc__read_end(s, hubc__err(HUBC_ENOMEM, "out of memory creating a history iterator"));
  it->store = s;
  it->base = s->base;
  it->contact = contact;
  if (contact) {
    /* entries of deleted contacts remain: walk the whole log for them */
    for (size_t i = 0; i < s->status.hist_n; i++) it->n += s->status.hist[i].contact == contact;
    if (it->n && !(it->seq = hubc__alloc(s->base, it->n * sizeof *it->seq))) {
      hubc__free(s->base, it, sizeof *it);
      return hubc__read_end(s, hubc__err(HUBC_ENOMEM, "out of memory creating a history iterator"));
    }
    size_t k = 0;
    for (size_t i = 0; i < s->status.hist_n && k < it->n; i++)
      if (s->status.hist[i].contact == contact) it->seq[k++] = (uint32_t)i;
  } else {
    it->n = s->status.hist_n;
  }
  hubc__base_ref(s->base);
  *out = it;
  return hubc__read_end(s, 0);
}

static void fill_entry(hubc_history_entry *out, const hubc__status *a, size_t index) {
  const hubc__hist *e = &a->hist[index];
  const hubc__hist_ctx *c = hubc__hist_ctx_of(a, e);
  out->seq = (hubc_id)index + 1;
  out->contact = e->contact;
  out->time = c->time;
  out->old_status = e->old_status;
  out->new_status = e->new_status;
  out->reason_type = e->reason_type;
  out->reason_id = c->reason_id;
  out->actor = c->actor;
}

HUBC_API int hubc_history_iterator_next(hubc_history_entry *out, hubc_history_iterator *it) {
  if (!out || !it) return hubc__err(HUBC_EINVAL, "history iterator: NULL argument");
  int rc = hubc__version_check(out->version, HUBC_HISTORY_ENTRY_VERSION, "history entry");
  if (rc) return rc;
  if (it->pos >= it->n) return hubc__ok(), HUBC_ITEROVER;
  hubc_store *s = it->store;
  if ((rc = hubc__read_begin(s))) return rc;
  size_t index = it->seq ? it->seq[it->pos] : it->pos;
  fill_entry(out, &s->status, index);
  it->pos++;
  return hubc__read_end(s, 0);
}

HUBC_API void hubc_history_iterator_free(hubc_history_iterator *it) {
  if (!it) return;
  hubc__base *b = it->base;
  hubc__free(b, it->seq, it->n * sizeof *it->seq);
  hubc__free(b, it, sizeof *it);
  hubc__base_unref(b);
}

HUBC_API int hubc_history_export(hubc_store *s, hubc_id contact, hubc_write_fn write, void *payload) {
  if (!write) return hubc__err(HUBC_EINVAL, "history export: write is NULL");
  hubc_history_iterator *it;
  int rc = hubc_history_iterator_new(&it, s, contact);
  if (rc) return rc;
  static const char header[] = "seq,contact,time,old_status,new_status,reason_type,reason_id,actor\r\n";
  hubc__busy frame;
  hubc__busy_enter(&frame, s);
  int failed = write(payload, header, sizeof header - 1);
  hubc__busy_leave(&frame);
  if (failed) rc = hubc__err(HUBC_EIO, "history export: write callback failed");
  hubc_history_entry e;
  memset(&e, 0, sizeof e);
  e.version = HUBC_HISTORY_ENTRY_VERSION;
  while (!rc && (rc = hubc_history_iterator_next(&e, it)) == 0) {
    char line[256], when[32];
    hubc__format_time(when, e.time);
    const char *rt = hubc_source_name(e.reason_type);
    int n = snprintf(line, sizeof line, "%lld,%lld,%s,%s,%s,%s,%lld,%lld\r\n", (long long)e.seq,
                     (long long)e.contact, when, hubc_status_name(e.old_status), hubc_status_name(e.new_status),
                     rt ? rt : "", (long long)e.reason_id, (long long)e.actor);
    hubc__busy_enter(&frame, s);
    failed = write(payload, line, (size_t)n);
    hubc__busy_leave(&frame);
    if (failed) rc = hubc__err(HUBC_EIO, "history export: write callback failed");
  }
  hubc_history_iterator_free(it);
  return rc == HUBC_ITEROVER ? hubc__ok() : rc;
}
