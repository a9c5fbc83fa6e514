/* The HISTORY record kind (M7) and the pending list derived from contacts:
 * encoding, loading, invariants, dump and transaction hooks. */
#include <stdlib.h>
#include <string.h>

#include "persist/codec.h"
#include "store/dump.h"
#include "store/store.h"
#include "util/text.h"

#define K HUBC_REC_HISTORY

static int encode(hubc_store *s, int64_t id, hubc__wr *w) {
  const hubc__hist *h = &s->status.hist[id - 1];
  const hubc__hist_ctx *c = hubc__hist_ctx_of(&s->status, h);
  hubc__wr_num(w, HUBC__T_H_TIME, c->time);
  hubc__wr_num(w, HUBC__T_H_CONTACT, h->contact);
  hubc__wr_num(w, HUBC__T_H_OLD, h->old_status);
  hubc__wr_num(w, HUBC__T_H_NEW, h->new_status);
  hubc__wr_num(w, HUBC__T_H_REASON_TYPE, h->reason_type);
  hubc__wr_num(w, HUBC__T_H_REASON_ID, c->reason_id);
  hubc__wr_num(w, HUBC__T_H_ACTOR, c->actor);
  return 0;
}

/* Entries arrive keyed by sequence number; they are staged in arrival
 * order and placed at the end, so the array is sized by the records
 * present, not by an id read from storage. */
typedef struct staged {
  int64_t id;
  size_t order;
  hubc__hist h;
  hubc__hist_ctx c;
} staged;

typedef struct stage {
  staged *v;
  size_t n, cap;
} stage;

static int load(hubc_loader *l, int64_t id, hubc__rd r) {
  hubc_store *s = l->s;
  if (id <= 0 || id > 0xffffffffLL) return hubc__corrupt(K, id, "bad sequence number");
  stage *st = l->stage[K];
  if (!st) {
    if (!(st = hubc__calloc(s->base, sizeof *st))) return hubc__err(HUBC_ENOMEM, "out of memory loading history");
    l->stage[K] = st;
  }
  if (hubc__grow(s->base, (void **)&st->v, &st->cap, st->n + 1, sizeof *st->v)) return HUBC_ENOMEM;
  hubc__hist h = {0};
  int64_t v[8] = {0};
  uint64_t tag;
  hubc__rd body;
  HUBC__FOR_FIELDS(r, tag, body, K, id) {
    if (tag >= 1 && tag <= HUBC__T_H_ACTOR && hubc__ld_int(body, &v[tag], K, id)) return HUBC_ECORRUPT;
  }
  if (v[HUBC__T_H_OLD] < 0 || v[HUBC__T_H_OLD] > 2 || v[HUBC__T_H_NEW] < 0 || v[HUBC__T_H_NEW] > 2 ||
      v[HUBC__T_H_CONTACT] <= 0 || v[HUBC__T_H_CONTACT] > 0xffffffffLL || /* contact ids are 32-bit */
      v[HUBC__T_H_REASON_TYPE] < 0 || v[HUBC__T_H_REASON_TYPE] > HUBC_SOURCE_UPDATE_DATE ||
      !hubc__time_ok(v[HUBC__T_H_TIME]))
    return hubc__corrupt(K, id, "field out of range");
  h.contact = (uint32_t)v[HUBC__T_H_CONTACT];
  h.old_status = (uint8_t)v[HUBC__T_H_OLD];
  h.new_status = (uint8_t)v[HUBC__T_H_NEW];
  h.reason_type = (uint8_t)v[HUBC__T_H_REASON_TYPE];
  staged *e = &st->v[st->n];
  e->id = id;
  e->order = st->n++;
  e->h = h;
  e->c.time = v[HUBC__T_H_TIME];
  e->c.reason_id = v[HUBC__T_H_REASON_ID];
  e->c.actor = v[HUBC__T_H_ACTOR];
  return 0;
}

/* By id, then arrival order. */
static int staged_cmp(const void *a, const void *b) {
  const staged *x = a, *y = b;
  if (x->id != y->id) return x->id < y->id ? -1 : 1;
  return x->order < y->order ? -1 : x->order > y->order;
}

/* Ids 1..n, each once (a repeated id: the last wins); then the chains per
 * contact and the pending list, from the contacts placed before. */
static int place(hubc_store *s, stage *st) {
  hubc__status *a = &s->status;
  int rc;
  if (st && st->n) {
    qsort(st->v, st->n, sizeof *st->v, staged_cmp);
    if ((rc = hubc__grow(s->base, (void **)&a->hist, &a->hist_cap, st->n, sizeof *a->hist))) return rc;
    for (size_t i = 0; i < st->n; i++) {
      if (i + 1 < st->n && st->v[i + 1].id == st->v[i].id) continue; /* superseded */
      if (st->v[i].id != (int64_t)a->hist_n + 1) return hubc__corrupt(K, (hubc_id)a->hist_n + 1, "missing");
      const hubc__hist_ctx *c = &st->v[i].c;
      if ((rc = hubc__grow(s->base, (void **)&a->ctx, &a->ctx_cap, a->ctx_n + 1, sizeof *a->ctx))) return rc;
      a->hist[a->hist_n] = st->v[i].h;
      a->hist[a->hist_n++].ctx = hubc__hist_ctx_put(a, c->time, c->reason_id, c->actor);
    }
  }
  for (size_t i = 0; i < a->hist_n; i++) {
    hubc__hist *h = &a->hist[i];
    h->prev = 0;
    hubc__rec *r = hubc__contact_at(s, h->contact);
    if (r) {
      h->prev = r->hist;
      r->hist = (uint32_t)i + 1;
    }
  }
  for (int64_t id = 1; id < hubc__id_end(s); id++)
    if (s->contacts.recs[id] && s->contacts.recs[id]->status == HUBC_MARKETING_UNTIL_UPDATE) {
      if ((rc = hubc__grow(s->base, (void **)&a->pending, &a->pending_cap, a->pending_n + 1, sizeof *a->pending)))
        return rc;
      a->pending[a->pending_n++] = id;
    }
  return 0;
}

static int finish_load(hubc_loader *l, int rc) {
  hubc_store *s = l->s;
  stage *st = l->stage[K];
  if (!rc) rc = place(s, st);
  if (st) {
    hubc__free(s->base, st->v, st->cap * sizeof *st->v);
    hubc__free(s->base, st, sizeof *st);
    l->stage[K] = NULL;
  }
  return rc;
}

/* History chains and the pending list agree with the contacts. */
static int check(hubc_store *s) {
  const hubc__status *a = &s->status;
  int rc = 0;
  for (int64_t id = 1; id < hubc__id_end(s) && !rc; id++) {
    const hubc__rec *r = s->contacts.recs[id];
    if (!r) continue;
    for (uint32_t h = r->hist, first = 1; h && !rc; h = a->hist[h - 1].prev, first = 0) {
      const hubc__hist *e = &a->hist[h - 1];
      if (h > a->hist_n || e->contact != id || e->ctx >= a->ctx_n || (first && e->new_status != r->status))
        rc = hubc__err(HUBC_ECORRUPT, "check: history chain of contact %lld is wrong at entry %u", (long long)id, h);
    }
    if (!rc && r->status == HUBC_MARKETING_UNTIL_UPDATE) {
      size_t i = 0;
      while (i < a->pending_n && a->pending[i] != id) i++;
      if (i == a->pending_n) rc = hubc__err(HUBC_ECORRUPT, "check: contact %lld is pending but not listed", (long long)id);
    }
  }
  return rc;
}

static int dump(const hubc_store *s, hubc__out *o) {
  const hubc__status *a = &s->status;
  for (size_t i = 0; i < a->hist_n && !o->failed; i++) {
    const hubc__hist *h = &a->hist[i];
    const hubc__hist_ctx *c = hubc__hist_ctx_of(a, h);
    hubc__out_printf(o, "history %zu contact=%lld time=%lld old=%d new=%d reason=%d/%lld actor=%lld\n", i + 1,
                     (long long)h->contact, (long long)c->time, h->old_status, h->new_status, h->reason_type,
                     (long long)c->reason_id, (long long)c->actor);
  }
  return 0;
}

static void free_area(hubc_store *s) {
  hubc__status *a = &s->status;
  hubc__free(s->base, a->hist, a->hist_cap * sizeof *a->hist);
  hubc__free(s->base, a->pending, a->pending_cap * sizeof *a->pending);
  hubc__free(s->base, a->was, a->was_cap * sizeof *a->was);
  hubc__free(s->base, a->ctx, a->ctx_cap * sizeof *a->ctx);
}

static void txn_begin(hubc_store *s) {
  s->status.hist_mark = s->status.hist_n;
  s->status.pending_mark = s->status.pending_n;
  s->status.ctx_mark = s->status.ctx_n;
  s->status.was_n = 0;
}

static void txn_rollback(hubc_store *s) {
  s->status.hist_n = s->status.hist_mark;
  s->status.pending_n = s->status.pending_mark;
  s->status.ctx_n = s->status.ctx_mark;
  s->status.was_n = 0;
}

const hubc__kind hubc__kind_history = {
    .kind = K,
    .name = "history",
    .encode = encode,
    .load = load,
    .finish_load = finish_load,
    .check = check,
    .dump = dump,
    .free = free_area,
    .txn_begin = txn_begin,
    .undo = hubc__status_undo_run,
    .txn_rollback = txn_rollback,
};
