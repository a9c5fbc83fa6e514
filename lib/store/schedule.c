/* The due queue (store/schedule.h). */
#include "store/schedule.h"

#include <string.h>

#include "store/store.h"

enum { OP_ADD = 1, OP_REMOVE, OP_MOVE };

struct hubc__sched_op {
  uint8_t op;
  uint32_t h;
  hubc__timer old; /* REMOVE, MOVE: the timer before */
};

#define MAX_TIMERS 0xfffffffeu /* handles are 32-bit; index entries are handle + 1 */

static int before(const hubc__sched *q, uint32_t a, uint32_t b) {
  const hubc__timer *x = &q->t[a], *y = &q->t[b];
  return x->due != y->due ? x->due < y->due : x->seq < y->seq;
}

static void place(hubc__sched *q, size_t i, uint32_t h) {
  q->heap[i] = h;
  q->pos[h] = (uint32_t)i;
}

static void sift_up(hubc__sched *q, size_t i) {
  uint32_t h = q->heap[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    q->work++;
    if (!before(q, h, q->heap[parent])) break;
    place(q, i, q->heap[parent]);
    i = parent;
  }
  place(q, i, h);
}

static void sift_down(hubc__sched *q, size_t i) {
  uint32_t h = q->heap[i];
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= q->n) break;
    q->work++;
    if (c + 1 < q->n && before(q, q->heap[c + 1], q->heap[c])) c++;
    if (!before(q, q->heap[c], h)) break;
    place(q, i, q->heap[c]);
    i = c;
  }
  place(q, i, h);
}

static void refresh(hubc__sched *q) { atomic_store(&q->next_due, q->n ? q->t[q->heap[0]].due : HUBC__SCHED_NEVER); }

static void heap_insert(hubc__sched *q, uint32_t h) {
  place(q, q->n++, h);
  sift_up(q, q->n - 1);
}

static void heap_remove(hubc__sched *q, uint32_t h) {
  size_t i = q->pos[h];
  uint32_t last = q->heap[--q->n];
  if (i == q->n) return;
  place(q, i, last);
  if (i > 0 && before(q, last, q->heap[(i - 1) / 2])) sift_up(q, i);
  else sift_down(q, i);
}

/* ---- (kind, id) index --------------------------------------------------- */

static size_t home(const hubc__sched *q, int kind, int64_t id) {
  uint64_t x = (uint64_t)id ^ ((uint64_t)kind << 56);
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return (size_t)x & q->index_mask;
}

/* Index slot holding (kind, id), or of the empty slot where it would go. */
static size_t slot_of(const hubc__sched *q, int kind, int64_t id) {
  size_t i = home(q, kind, id);
  for (; q->index[i]; i = (i + 1) & q->index_mask) {
    const hubc__timer *t = &q->t[q->index[i] - 1];
    if (t->kind == kind && t->id == id) break;
  }
  return i;
}

static void index_insert(hubc__sched *q, uint32_t h) {
  if (q->t[h].kind == HUBC__SCHED_DENSE_KIND) {
    q->dense[q->t[h].id] = h + 1; /* room: reserve */
    return;
  }
  q->index[slot_of(q, q->t[h].kind, q->t[h].id)] = h + 1;
  q->hashed++;
}

static void index_remove(hubc__sched *q, uint32_t h) {
  if (q->t[h].kind == HUBC__SCHED_DENSE_KIND) {
    q->dense[q->t[h].id] = 0;
    return;
  }
  q->hashed--;
  size_t mask = q->index_mask, i = slot_of(q, q->t[h].kind, q->t[h].id);
  /* backward-shift deletion keeps every probe chain unbroken */
  for (size_t j = (i + 1) & mask; q->index[j]; j = (j + 1) & mask) {
    const hubc__timer *t = &q->t[q->index[j] - 1];
    size_t k = home(q, t->kind, t->id);
    if (((j - k) & mask) >= ((j - i) & mask)) {
      q->index[i] = q->index[j];
      i = j;
    }
  }
  q->index[i] = 0;
}

/* ---- room --------------------------------------------------------------- */

static int grow_index(hubc_store *s, hubc__sched *q, size_t want) {
  size_t cap = q->index ? q->index_mask + 1 : 0;
  if (want * 2 <= cap) return 0;
  size_t ncap = cap ? cap : 64;
  while (want * 2 > ncap) ncap *= 2;
  uint32_t *t = hubc__calloc(s->base, ncap * sizeof *t);
  if (!t) return HUBC_ENOMEM;
  uint32_t *old = q->index;
  q->index = t;
  q->index_mask = ncap - 1;
  q->hashed = 0;
  for (size_t i = 0; i < cap; i++)
    if (old[i]) index_insert(q, old[i] - 1);
  hubc__free(s->base, old, cap * sizeof *old);
  return 0;
}

/* Room for one more timer (add: its key) and one more journal entry. */
static int reserve(hubc_store *s, int add, int kind, int64_t id) {
  hubc__sched *q = &s->sched;
  int in_txn = s->txn.active;
  if (add) {
    if (q->n >= MAX_TIMERS) return hubc__err(HUBC_ELIMIT, "the due queue holds at most %u timers", MAX_TIMERS);
    size_t need = q->used + 1; /* a new handle may be needed */
    if (hubc__grow(s->base, (void **)&q->t, &q->t_cap, need, sizeof *q->t) ||
        hubc__grow(s->base, (void **)&q->pos, &q->pos_cap, need, sizeof *q->pos) ||
        hubc__grow(s->base, (void **)&q->free_h, &q->free_cap, need, sizeof *q->free_h) ||
        hubc__grow(s->base, (void **)&q->heap, &q->heap_cap, q->n + 1, sizeof *q->heap))
      goto nomem;
    if (kind == HUBC__SCHED_DENSE_KIND) {
      if (id < 1 || (uint64_t)id > MAX_TIMERS ||
          hubc__grow_zeroed(s->base, (void **)&q->dense, &q->dense_cap, (size_t)id + 1, sizeof *q->dense))
        goto nomem;
    } else if (grow_index(s, q, q->hashed + 1)) {
      goto nomem;
    }
  }
  if (in_txn && (hubc__grow(s->base, (void **)&q->ops, &q->ops_cap, q->ops_n + 1, sizeof *q->ops) ||
                 hubc__grow(s->base, (void **)&q->freed, &q->freed_cap, q->freed_n + 1, sizeof *q->freed)))
    goto nomem;
  return 0;
nomem:
  return hubc__err(HUBC_ENOMEM, "out of memory growing the due queue (%zu timers)", q->n);
}

static void journal(hubc_store *s, int op, uint32_t h, const hubc__timer *old) {
  hubc__sched *q = &s->sched;
  if (!s->txn.active) return;
  hubc__sched_op *o = &q->ops[q->ops_n++];
  o->op = (uint8_t)op;
  o->h = h;
  if (old) o->old = *old;
}

/* ---- operations --------------------------------------------------------- */

const hubc__timer *hubc__sched_get(const hubc_store *s, int kind, int64_t id) {
  const hubc__sched *q = &s->sched;
  if (!q->n) return NULL;
  uint32_t e = kind != HUBC__SCHED_DENSE_KIND ? q->hashed ? q->index[slot_of(q, kind, id)] : 0
               : id > 0 && (uint64_t)id < q->dense_cap ? q->dense[id] : 0;
  return e ? &q->t[e - 1] : NULL;
}

int hubc__sched_set(hubc_store *s, int kind, int64_t id, hubc_time due, int64_t payload) {
  hubc__sched *q = &s->sched;
  const hubc__timer *cur = hubc__sched_get(s, kind, id);
  int rc = reserve(s, !cur, kind, id);
  if (rc) return rc;
  if (cur) {
    uint32_t h = (uint32_t)(cur - q->t);
    journal(s, OP_MOVE, h, cur);
    q->t[h].due = due;
    q->t[h].payload = payload;
    q->t[h].seq = q->seq++;
    heap_remove(q, h); /* then back at its new place */
    heap_insert(q, h);
  } else {
    uint32_t h = q->free_n ? q->free_h[--q->free_n] : (uint32_t)q->used++;
    hubc__timer t = {due, id, payload, q->seq++, (uint8_t)kind};
    q->t[h] = t;
    heap_insert(q, h);
    index_insert(q, h);
    journal(s, OP_ADD, h, NULL);
  }
  refresh(q);
  return 0;
}

/* Removes handle h (room reserved). */
static void remove_handle(hubc_store *s, uint32_t h) {
  hubc__sched *q = &s->sched;
  journal(s, OP_REMOVE, h, &q->t[h]);
  heap_remove(q, h);
  index_remove(q, h);
  if (s->txn.active) q->freed[q->freed_n++] = h; /* reusable once committed */
  else q->free_h[q->free_n++] = h;
  refresh(q);
}

int hubc__sched_cancel(hubc_store *s, int kind, int64_t id) {
  const hubc__timer *cur = hubc__sched_get(s, kind, id);
  if (!cur) return 0;
  int rc = reserve(s, 0, 0, 0);
  if (rc) return rc;
  remove_handle(s, (uint32_t)(cur - s->sched.t));
  return 1;
}

int hubc__sched_pop_due(hubc_store *s, hubc_time now, hubc__timer *out) {
  hubc__sched *q = &s->sched;
  if (!q->n || q->t[q->heap[0]].due > now) return 0;
  int rc = reserve(s, 0, 0, 0);
  if (rc) return rc;
  uint32_t h = q->heap[0];
  *out = q->t[h];
  remove_handle(s, h);
  return 1;
}

int hubc__sched_tick(hubc_store *s, hubc_time now) {
  if (now < hubc__sched_next(&s->sched)) return 0;
  hubc__txn_begin(s, HUBC_SYSTEM, now);
  hubc__timer t;
  int rc;
  while ((rc = hubc__sched_pop_due(s, now, &t)) == 1) {
    const hubc__kind *k = hubc__kind_get(t.kind);
    s->txn.now = t.due; /* what it does happens at its time */
    if (!k || !k->fire) continue;
    hubc__txn_touch(s, t.kind); /* what fire changes is the kind's to restore */
    if ((rc = k->fire(s, &t)) != 0) break;
  }
  s->txn.now = now;
  return hubc__txn_finish(s, rc);
}

int hubc__sched_check(const hubc_store *s) {
  const hubc__sched *q = &s->sched;
  for (size_t i = 0; i < q->n; i++) {
    uint32_t h = q->heap[i];
    if (q->pos[h] != i || (i > 0 && before(q, h, q->heap[(i - 1) / 2])))
      return hubc__err(HUBC_ECORRUPT, "check: due queue entry %zu is out of heap order", i);
    if (hubc__sched_get(s, q->t[h].kind, q->t[h].id) != &q->t[h])
      return hubc__err(HUBC_ECORRUPT, "check: timer (%d, %lld) is not found by its key", q->t[h].kind,
                       (long long)q->t[h].id);
  }
  if (hubc__sched_next(q) != (q->n ? q->t[q->heap[0]].due : HUBC__SCHED_NEVER))
    return hubc__err(HUBC_ECORRUPT, "check: the due queue's cached next time is stale");
  return 0;
}

/* ---- the transaction ---------------------------------------------------- */

void hubc__sched_txn_begin(hubc_store *s) {
  s->sched.ops_n = 0;
  s->sched.freed_n = 0;
}

void hubc__sched_rollback(hubc_store *s) {
  hubc__sched *q = &s->sched;
  while (q->ops_n) {
    const hubc__sched_op *o = &q->ops[--q->ops_n];
    switch (o->op) {
    case OP_ADD:
      heap_remove(q, o->h);
      index_remove(q, o->h);
      q->free_h[q->free_n++] = o->h;
      break;
    case OP_REMOVE: /* its handle is the newest freed: never reused inside the transaction */
      q->freed_n--;
      q->t[o->h] = o->old;
      heap_insert(q, o->h);
      index_insert(q, o->h);
      break;
    case OP_MOVE:
      q->t[o->h] = o->old;
      heap_remove(q, o->h);
      heap_insert(q, o->h);
      break;
    }
  }
  refresh(q);
}

void hubc__sched_commit(hubc_store *s) {
  hubc__sched *q = &s->sched;
  if (q->freed_n) { /* freed is NULL until a transaction first reserves: no memcpy from NULL */
    memcpy(q->free_h + q->free_n, q->freed, q->freed_n * sizeof *q->freed);
    q->free_n += q->freed_n;
  }
  q->freed_n = q->ops_n = 0;
}

void hubc__sched_free(hubc_store *s) {
  hubc__sched *q = &s->sched;
  hubc__base *b = s->base;
  hubc__free(b, q->t, q->t_cap * sizeof *q->t);
  hubc__free(b, q->pos, q->pos_cap * sizeof *q->pos);
  hubc__free(b, q->free_h, q->free_cap * sizeof *q->free_h);
  hubc__free(b, q->heap, q->heap_cap * sizeof *q->heap);
  hubc__free(b, q->index, q->index ? (q->index_mask + 1) * sizeof *q->index : 0);
  hubc__free(b, q->dense, q->dense_cap * sizeof *q->dense);
  hubc__free(b, q->ops, q->ops_cap * sizeof *q->ops);
  hubc__free(b, q->freed, q->freed_cap * sizeof *q->freed);
}
