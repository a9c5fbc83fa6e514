/* Watches (watch.h): member sets kept up to date by contact changes,
 * re-evaluating only the filters that read what changed (S2, W2). */
#include <string.h>

#include "query/lists.h"
#include "query/query.h"
#include "query/watch.h"
#include "store/store.h"

enum { L_SNAP = 1, L_ADDED, L_DYING, L_DEPS, L_FILTER };

#define W(s) (&(s)->lists.watch)
#define CHUNK_WORDS ((size_t)1 << (HUBC__WATCH_CHUNK_BITS - 6))

static hubc__watch *at(const hubc_store *s, uint32_t w) {
  return w && w <= W(s)->n && W(s)->v[w - 1].used ? &W(s)->v[w - 1] : NULL;
}

static int m_has(const hubc__members *m, int64_t id) {
  size_t k = (size_t)id >> 6;
  return k < m->nw && (m->w[k] >> (id & 63) & 1);
}

static void m_free(hubc_store *s, hubc__members *m) {
  hubc__free(s->base, m->w, m->nw * sizeof *m->w);
  memset(m, 0, sizeof *m);
}

/* Room for contact id `id` (grows by doubling, zeroed). */
static int m_reserve(hubc_store *s, hubc__members *m, int64_t id) {
  size_t need = ((size_t)id >> 6) + 1;
  if (need <= m->nw) return 0;
  size_t nw = m->nw ? m->nw : 16;
  while (nw < need) nw *= 2;
  uint64_t *p = hubc__realloc(s->base, m->w, m->nw * sizeof *p, nw * sizeof *p);
  if (!p) return HUBC_ENOMEM;
  memset(p + m->nw, 0, (nw - m->nw) * sizeof *p);
  m->w = p;
  m->nw = nw;
  return 0;
}

static void deps_free(hubc_store *s, hubc__wdeps *d) {
  hubc__free(s->base, d->props, d->props_nw * sizeof *d->props);
  hubc__free(s->base, d->lists, d->n_lists * sizeof *d->lists);
  hubc__free(s->base, d->views, d->n_views * sizeof *d->views);
  memset(d, 0, sizeof *d);
}

static int log_push(hubc_store *s, const hubc__watchlog *e) {
  hubc__watches *ws = W(s);
  if (hubc__grow(s->base, (void **)&ws->log, &ws->log_cap, ws->log_n + 1, sizeof *ws->log)) return HUBC_ENOMEM;
  ws->log[ws->log_n++] = *e;
  return 0;
}

static void touch(hubc_store *s, uint32_t w) {
  hubc__watch *x = &W(s)->v[w - 1];
  if (x->touched) return;
  x->touched = 1;
  W(s)->touched[W(s)->touched_n++] = w; /* room: touched_cap >= watch slots */
}

/* Marks chunk of contact id dirty (static lists under persistence). */
static int mark_dirty(hubc_store *s, hubc__watch *x, int64_t id) {
  if (!x->list || !s->has_persist || !s->txn.active) return 0; /* loading: nothing to write */
  size_t c = (size_t)id >> HUBC__WATCH_CHUNK_BITS;
  if (hubc__grow_zeroed(s->base, (void **)&x->dirty, &x->dirty_cap, c + 1, 1)) return HUBC_ENOMEM;
  x->dirty[c] = 1;
  return 0;
}

/* Saves member word k of watch w for undo, the first time the
 * transaction changes it. */
static int save_word(hubc_store *s, uint32_t w, hubc__watch *x, size_t k) {
  if (k >> 6 < x->saved_cap && (x->saved[k >> 6] >> (k & 63) & 1)) return 0;
  hubc__watches *ws = W(s);
  if (k > UINT32_MAX || hubc__grow_zeroed(s->base, (void **)&x->saved, &x->saved_cap, (k >> 6) + 1, sizeof *x->saved) ||
      hubc__grow(s->base, (void **)&ws->words, &ws->words_cap, ws->words_n + 1, sizeof *ws->words))
    return HUBC_ENOMEM;
  ws->words[ws->words_n++] = (hubc__watchword){x->m.w[k], w, (uint32_t)k};
  x->saved[k >> 6] |= (uint64_t)1 << (k & 63);
  return 0;
}

/* Flips contact id in watch w, saved for undo. 0, or -1 (nothing
 * changed; the transaction will fail with ENOMEM). */
static int flip(hubc_store *s, uint32_t w, int64_t id) {
  hubc__watches *ws = W(s);
  hubc__watch *x = &ws->v[w - 1];
  if (m_reserve(s, &x->m, id) || mark_dirty(s, x, id)) goto fail;
  if (s->txn.active && !x->snapped && save_word(s, w, x, (size_t)id >> 6)) goto fail;
  if (s->txn.active) touch(s, w);
  x->m.w[(size_t)id >> 6] ^= (uint64_t)1 << (id & 63);
  if (m_has(&x->m, id)) x->m.count++;
  else x->m.count--;
  return 0;
fail:
  ws->err = 1;
  return -1;
}

static void edge(hubc_store *s, uint32_t w, int64_t id, int entered) {
  hubc__watches *ws = W(s);
  if (!ws->v[w - 1].fn || !s->txn.active) return;
  if (hubc__grow(s->base, (void **)&ws->edges, &ws->edges_cap, ws->edges_n + 1, sizeof *ws->edges)) {
    ws->err = 1;
    return;
  }
  ws->edges[ws->edges_n++] = (hubc__watchedge){w, (uint8_t)entered, id};
}

/* ---- what a filter reads ------------------------------------------------ */

static int has_u32(const uint32_t *v, uint32_t n, uint32_t x) {
  for (uint32_t i = 0; i < n; i++)
    if (v[i] == x) return 1;
  return 0;
}

static int push_u32(hubc_store *s, uint32_t **v, uint32_t *n, uint32_t x) {
  void *p = hubc__realloc(s->base, *v, *n * sizeof **v, (*n + 1) * sizeof **v);
  if (!p) return HUBC_ENOMEM;
  *v = p;
  (*v)[(*n)++] = x;
  return 0;
}

static int deps_walk(hubc_store *s, const hubc_filter *f, hubc__wdeps *d) {
  for (size_t i = 0; i < f->n_nodes; i++) {
    const hubc__qnode *n = &f->nodes[i];
    if (n->kind >= HUBC__QN_CMP && n->kind <= HUBC__QN_IN) {
      if ((size_t)n->prop >> 6 < d->props_nw) d->props[n->prop >> 6] |= (uint64_t)1 << (n->prop & 63);
    } else if (n->kind == HUBC__QN_LIST) {
      const hubc__qdef *l = hubc__list_def(s, n->a);
      if (l && l->watch && !has_u32(d->lists, d->n_lists, l->watch) && push_u32(s, &d->lists, &d->n_lists, l->watch))
        return HUBC_ENOMEM;
    } else if (n->kind == HUBC__QN_VIEW && !has_u32(d->views, d->n_views, n->a)) {
      if (push_u32(s, &d->views, &d->n_views, n->a)) return HUBC_ENOMEM;
      const hubc__qdef *v = hubc__view_def(s, n->a);
      int rc = v && v->f && !v->deleted ? deps_walk(s, v->f, d) : 0; /* views form no cycle (refused) */
      if (rc) return rc;
    }
  }
  return 0;
}

static int deps_of(hubc_store *s, const hubc_filter *f, hubc__wdeps *d) {
  memset(d, 0, sizeof *d);
  d->props_nw = s->schema->n / 64 + 1;
  if (!(d->props = hubc__calloc(s->base, d->props_nw * sizeof *d->props))) {
    d->props_nw = 0;
    return HUBC_ENOMEM;
  }
  int rc = deps_walk(s, f, d);
  if (rc) deps_free(s, d);
  return rc;
}

static int index_build(hubc_store *s);

/* The filtered live watches in dependency order: a watch comes after the
 * lists it reads. Cannot fail (order_cap >= watch slots); the index
 * follows if there is memory for it, else at the next change. */
static void reorder(hubc_store *s) {
  hubc__watches *ws = W(s);
  ws->ix_stale = 1; /* positions move: the index is rebuilt below, or at the next change */
  ws->n_order = 0;
  for (size_t i = 0; i < ws->n; i++) {
    hubc__watch *x = &ws->v[i];
    x->level = 0;
    if (x->used && !x->dying && x->f) ws->order[ws->n_order++] = (uint32_t)i + 1;
  }
  for (size_t pass = 0, changed = 1; changed && pass <= ws->n_order; pass++) {
    changed = 0;
    for (size_t k = 0; k < ws->n_order; k++) {
      hubc__watch *x = &ws->v[ws->order[k] - 1];
      uint32_t lv = 1;
      for (uint32_t j = 0; j < x->d.n_lists; j++) {
        const hubc__watch *y = at(s, x->d.lists[j]);
        if (y && y->level + 1 > lv) lv = y->level + 1;
      }
      if (lv != x->level) x->level = lv, changed = 1;
    }
  }
  for (size_t k = 1; k < ws->n_order; k++) { /* insertion sort: few watches, stable */
    uint32_t w = ws->order[k];
    size_t j = k;
    while (j && ws->v[ws->order[j - 1] - 1].level > ws->v[w - 1].level) ws->order[j] = ws->order[j - 1], j--;
    ws->order[j] = w;
  }
  (void)index_build(s);
}

/* ---- registering -------------------------------------------------------- */

/* ---- evaluating a watch's filter ---------------------------------------- */

/* A watch's scan (query.h): its filter's conditions answered by the code
 * of the contact's value in the filter columns, so that a change costs a
 * table lookup per condition, not a comparison. It holds a reference on
 * the filter it was prepared for, so a replaced filter is never mistaken
 * for its successor. */
typedef struct hubc__wscan {
  hubc__qscan q;
  unsigned missed; /* conditions that read the record since: new values */
} hubc__wscan;

/* After this many new values read from records, the tables are redone. */
enum { RESCAN_MISSES = 64 };

static void scan_drop(hubc_store *s, hubc__watch *x) {
  hubc__wscan *w = x->scan;
  if (!w) return;
  hubc_filter *f = (hubc_filter *)w->q.f;
  hubc__qscan_free(&w->q);
  hubc_filter_free(f);
  hubc__free(s->base, w, sizeof *w);
  x->scan = NULL;
}

/* x's scan, prepared anew when its filter or the columns changed or the
 * columns met many new values since (with build: any new value). build:
 * build the missing columns (a pass over the contacts each: at
 * registration, never for one change) and scan 64 at a time after.
 * NULL (no memory): the records are read instead. */
static const hubc__qscan *scan_new(hubc_store *s, hubc__watch *x, int build);
static inline const hubc__qscan *scan_of(hubc_store *s, hubc__watch *x, int build) {
  const hubc__wscan *w = x->scan;
  if (w && w->q.f == x->f && w->q.epoch == s->qcols.epoch && w->missed < RESCAN_MISSES &&
      (!build || hubc__qscan_current(&w->q))) /* a block scan needs every value in its tables */
    return &w->q;
  return scan_new(s, x, build);
}

static const hubc__qscan *scan_new(hubc_store *s, hubc__watch *x, int build) {
  hubc__wscan *w;
  scan_drop(s, x);
  if (!(w = hubc__calloc(s->base, sizeof *w))) return NULL;
  if (hubc__qscan_init(&w->q, s, x->f, build)) {
    hubc__free(s->base, w, sizeof *w);
    return NULL;
  }
  (void)hubc__qscan_flatten(&w->q); /* without memory for it, one() walks the tree */
  hubc__filter_ref(x->f);
  x->scan = w;
  return &w->q;
}

/* Whether contact id, its current record decoded in row, matches x. */
static int matches(hubc_store *s, hubc__watch *x, int64_t id, hubc__qrow *row) {
  const hubc__qscan *q = scan_of(s, x, 0);
  if (q && q->prog) return hubc__qprog_run(q, id, row, &x->scan->missed);
  return q ? hubc__qscan_one(q, id, row, &x->scan->missed) : hubc__filter_eval_row(s, x->f, row);
}

/* Bit j: contact base + j exists and matches x (q: scan_of's answer). */
static uint64_t block_of(hubc_store *s, const hubc__watch *x, const hubc__qscan *q, int64_t base) {
  if (q) return hubc__qscan_block(q, base);
  int64_t end = hubc__id_end(s);
  uint64_t m = 0;
  for (int64_t j = 0; j < 64 && base + j < end; j++) {
    const hubc__rec *r = s->contacts.recs[base + j];
    if (r && hubc__filter_eval(s, x->f, r)) m |= (uint64_t)1 << j;
  }
  return m;
}

static void watch_free(hubc_store *s, hubc__watch *x) {
  scan_drop(s, x);
  hubc_filter_free(x->f);
  if (x->label) hubc__free(s->base, x->label, strlen(x->label) + 1);
  m_free(s, &x->m);
  deps_free(s, &x->d);
  hubc__free(s->base, x->dirty, x->dirty_cap);
  hubc__free(s->base, x->saved, x->saved_cap * sizeof *x->saved);
  hubc__free(s->base, x->odd, x->odd_cap * sizeof *x->odd);
  memset(x, 0, sizeof *x);
}

int hubc__watch_add(uint32_t *out, hubc_store *s, hubc_filter *f, const char *label, hubc__watch_fn fn,
                    void *payload) {
  hubc__watches *ws = W(s);
  size_t slot = 0;
  while (slot < ws->n && ws->v[slot].used) slot++;
  size_t need = slot + 1 > ws->n ? slot + 1 : ws->n;
  if (hubc__grow(s->base, (void **)&ws->v, &ws->cap, need, sizeof *ws->v) ||
      hubc__grow(s->base, (void **)&ws->order, &ws->order_cap, need, sizeof *ws->order) ||
      hubc__grow(s->base, (void **)&ws->touched, &ws->touched_cap, need, sizeof *ws->touched) ||
      (s->txn.active && hubc__grow(s->base, (void **)&ws->log, &ws->log_cap, ws->log_n + 1, sizeof *ws->log)))
    return hubc__err(HUBC_ENOMEM, "out of memory registering a watch");
  hubc__watch x;
  memset(&x, 0, sizeof x);
  x.used = 1;
  x.fn = fn;
  x.payload = payload;
  size_t ll = strlen(label ? label : "");
  int rc = 0;
  if (!(x.label = hubc__alloc(s->base, ll + 1))) rc = HUBC_ENOMEM;
  else memcpy(x.label, label ? label : "", ll + 1);
  if (f) hubc__filter_ref(f), x.f = f;
  if (!rc && f) rc = deps_of(s, f, &x.d);
  int64_t end = hubc__id_end(s);
  if (!rc && f && end > 1) rc = m_reserve(s, &x.m, end - 1);
  if (!rc && f && end > 1) {
    const hubc__qscan *q = scan_of(s, &x, 1); /* the first evaluation: 64 contacts at a time */
    for (int64_t base = 0; base < end; base += 64) {
      uint64_t m = block_of(s, &x, q, base);
      x.m.w[base >> 6] = m;
      x.m.count += (uint64_t)__builtin_popcountll(m);
    }
  }
  if (rc) {
    watch_free(s, &x);
    return hubc__err(HUBC_ENOMEM, "out of memory registering a watch");
  }
  ws->v[slot] = x;
  if (slot == ws->n) ws->n++;
  ws->live++;
  uint32_t w = (uint32_t)slot + 1;
  if (s->txn.active) {
    hubc__watchlog e = {.w = w, .op = L_ADDED};
    log_push(s, &e); /* reserved above */
  }
  reorder(s);
  *out = w;
  return 0;
}

void hubc__watch_remove(hubc_store *s, uint32_t w) {
  hubc__watch *x = at(s, w);
  if (!x || x->dying) return;
  if (s->txn.active) {
    hubc__watchlog e = {.w = w, .op = L_DYING};
    size_t chunks = (x->m.nw + CHUNK_WORDS - 1) / CHUNK_WORDS;
    if (x->list && s->has_persist && chunks &&
        hubc__grow_zeroed(s->base, (void **)&x->dirty, &x->dirty_cap, chunks, 1)) {
      W(s)->err = 1;
      return;
    }
    if (log_push(s, &e)) {
      W(s)->err = 1;
      return;
    }
    if (x->list && s->has_persist && chunks) memset(x->dirty, 1, chunks); /* its records go (the list is deleted) */
    touch(s, w);
    x->dying = 1;
    W(s)->live--;
  } else {
    watch_free(s, x);
    W(s)->live--;
  }
  reorder(s);
}

void hubc__watch_bind_list(hubc_store *s, uint32_t w, uint32_t list) {
  hubc__watch *x = at(s, w);
  if (x) x->list = list;
}

int hubc__watch_has(const hubc_store *s, uint32_t w, int64_t id) {
  const hubc__watch *x = at(s, w);
  return x && id > 0 && m_has(&x->m, id);
}

uint64_t hubc__watch_count(const hubc_store *s, uint32_t w) {
  const hubc__watch *x = at(s, w);
  return x ? x->m.count : 0;
}

int64_t hubc__watch_next(const hubc_store *s, uint32_t w, int64_t after) {
  const hubc__watch *x = at(s, w);
  if (!x || after < 0) return 0;
  uint64_t id = (uint64_t)after + 1;
  size_t k = (size_t)(id >> 6);
  if (k >= x->m.nw) return 0;
  uint64_t word = x->m.w[k] & (~(uint64_t)0 << (id & 63));
  while (!word) {
    if (++k >= x->m.nw) return 0;
    word = x->m.w[k];
  }
  return (int64_t)(k * 64 + (size_t)__builtin_ctzll(word));
}

const uint64_t *hubc__watch_words(const hubc_store *s, uint32_t w, size_t *n_words) {
  const hubc__watch *x = at(s, w);
  *n_words = x ? x->m.nw : 0;
  return x ? x->m.w : NULL;
}

/* ---- following contact changes ------------------------------------------ */

static void index_free(hubc_store *s) {
  hubc__watches *ws = W(s);
  hubc__free(s->base, ws->ix, ws->ix_cap * sizeof *ws->ix);
  hubc__free(s->base, ws->aff, ws->aff_cap * sizeof *ws->aff);
  hubc__free(s->base, ws->ix_prop, ws->ix_props_cap * sizeof *ws->ix_prop);
  hubc__free(s->base, ws->ix_list, ws->ix_lists_cap * sizeof *ws->ix_list);
}

/* Numbers the properties and lists the filtered watches read (fill 0),
 * or sets each reader's bit in their bitsets (fill 1). */
static void index_pass(hubc__watches *ws, int fill) {
  for (size_t k = 0; k < ws->n_order; k++) {
    const hubc__watch *x = &ws->v[ws->order[k] - 1];
    uint64_t bit = (uint64_t)1 << (k & 63);
    for (size_t j = 0; j < x->d.props_nw; j++)
      for (uint64_t b = x->d.props[j]; b; b &= b - 1) {
        uint32_t p = (uint32_t)(j * 64 + (size_t)__builtin_ctzll(b));
        if (!fill && !ws->ix_prop[p]) ws->ix_prop[p] = (uint32_t)++ws->ix_n;
        if (!fill && p > ws->ix_max) ws->ix_max = p;
        if (fill) ws->ix[(ws->ix_prop[p] - 1) * ws->ix_nw + (k >> 6)] |= bit;
      }
    for (uint32_t j = 0; j < x->d.n_lists; j++) {
      uint32_t l = x->d.lists[j];
      if (!l || l > ws->ix_lists) continue;
      if (!fill && !ws->ix_list[l - 1]) ws->ix_list[l - 1] = (uint32_t)++ws->ix_n;
      if (fill) ws->ix[(ws->ix_list[l - 1] - 1) * ws->ix_nw + (k >> 6)] |= bit;
    }
  }
}

/* The index as the order says now: at the first change after the order
 * moved, or right after registering (so that changes allocate nothing).
 * Buffers are kept for the next time. 0, or -1 (no memory; still stale). */
static int index_build(hubc_store *s) {
  hubc__watches *ws = W(s);
  size_t props = 0;
  for (size_t k = 0; k < ws->n_order; k++) {
    size_t nw = ws->v[ws->order[k] - 1].d.props_nw;
    if (nw * 64 > props) props = nw * 64;
  }
  size_t nw = ws->n_order / 64 + 1;
  if (hubc__grow(s->base, (void **)&ws->aff, &ws->aff_cap, nw, sizeof *ws->aff) ||
      hubc__grow(s->base, (void **)&ws->ix_prop, &ws->ix_props_cap, props, sizeof *ws->ix_prop) ||
      hubc__grow(s->base, (void **)&ws->ix_list, &ws->ix_lists_cap, ws->n, sizeof *ws->ix_list))
    return -1;
  ws->ix_nw = nw;
  ws->ix_props = props;
  ws->ix_lists = ws->n;
  ws->ix_n = 0;
  ws->ix_max = 0;
  memset(ws->aff, 0, nw * sizeof *ws->aff);
  if (props) memset(ws->ix_prop, 0, props * sizeof *ws->ix_prop);
  if (ws->n) memset(ws->ix_list, 0, ws->n * sizeof *ws->ix_list);
  index_pass(ws, 0);
  if (hubc__grow(s->base, (void **)&ws->ix, &ws->ix_cap, ws->ix_n * nw, sizeof *ws->ix)) return -1;
  if (ws->ix_n) memset(ws->ix, 0, ws->ix_n * nw * sizeof *ws->ix);
  index_pass(ws, 1);
  ws->ix_stale = 0;
  return 0;
}

/* The index, built if stale; -1 and the call fails (ENOMEM) if it cannot be. */
static int index_ready(hubc_store *s) {
  if (!W(s)->ix_stale || !index_build(s)) return 0;
  W(s)->err = 1;
  return -1;
}

/* Adds bitset k of the index (1 + its index; 0: none) to the positions
 * to visit; 1 if it had any. */
static int visit(hubc__watches *ws, uint32_t k) {
  if (!k) return 0;
  const uint64_t *b = &ws->ix[(size_t)(k - 1) * ws->ix_nw];
  for (size_t i = 0; i < ws->ix_nw; i++) ws->aff[i] |= b[i];
  return 1;
}

static int visit_prop(hubc__watches *ws, uint32_t p) { return p < ws->ix_props && visit(ws, ws->ix_prop[p]); }

static void visit_all(hubc__watches *ws) {
  for (size_t k = 0; k < ws->n_order; k++) ws->aff[k >> 6] |= (uint64_t)1 << (k & 63);
}

/* Re-evaluates for contact id the watches at the positions in ws->aff,
 * in dependency order, adding the readers of each list whose membership
 * flips (they come later in the order). Clears ws->aff. */
static void propagate(hubc_store *s, int64_t id) {
  hubc__watches *ws = W(s);
  const hubc__rec *r = hubc__contact_at(s, id);
  hubc__qrow row; /* the record decoded once for every filter */
  hubc__qrow_init(&row, r);
  size_t word = (size_t)id >> 6;
  for (size_t i = 0; i < ws->ix_nw; i++) /* one member word per watch, far apart: all fetched at once */
    for (uint64_t b = ws->aff[i]; b; b &= b - 1) {
      const hubc__members *m = &ws->v[ws->order[i * 64 + (size_t)__builtin_ctzll(b)] - 1].m;
      if (word < m->nw) __builtin_prefetch(&m->w[word]);
    }
  uint64_t bit = (uint64_t)1 << (id & 63);
  for (size_t i = 0; i < ws->ix_nw; i++) {
    uint64_t todo = ws->aff[i];
    ws->aff[i] = 0;
    while (todo) {
      size_t k = i * 64 + (size_t)__builtin_ctzll(todo);
      todo &= todo - 1;
      uint32_t w = ws->order[k];
      hubc__watch *x = &ws->v[w - 1];
      int now = r && matches(s, x, id, &row), was = word < x->m.nw && (x->m.w[word] & bit);
      if (now == was || flip(s, w, id)) continue;
      if (w <= ws->ix_lists && visit(ws, ws->ix_list[w - 1])) { /* its readers come after it */
        todo |= ws->aff[i];
        ws->aff[i] = 0;
      }
      edge(s, w, id, now);
    }
  }
}

/* The property and encoded size of the field at p (before end); 0:
 * unreadable. */
static inline size_t field_size(const unsigned char *p, const unsigned char *end, uint32_t *prop) {
  const unsigned char *q = p;
  hubc__qfield f;
  if (!hubc__qfield_next(&q, end, &f)) return 0;
  *prop = f.prop;
  return (size_t)(q - p);
}

/* Visits the readers of the stored properties that differ between two
 * records (sorted fields), as far as the last property a watch reads. 1
 * if any. */
static int diff_fields(hubc__watches *ws, const hubc__rec *a, const hubc__rec *b) {
  const unsigned char *pa = hubc__rec_fields(a), *pb = hubc__rec_fields(b);
  const unsigned char *ea = pa + hubc__rec_flen(a), *eb = pb + hubc__rec_flen(b);
  uint32_t x = 0, y = 0;
  size_t sa = 0, sb = 0;
  int any = 0;
  while (pa < ea || pb < eb) {
    if ((pa < ea && !(sa = field_size(pa, ea, &x))) || (pb < eb && !(sb = field_size(pb, eb, &y)))) {
      visit_all(ws); /* unreadable: re-evaluate everything */
      return 1;
    }
    if ((pa >= ea || x > ws->ix_max) && (pb >= eb || y > ws->ix_max)) break; /* no watch reads the rest */
    if (pa < ea && pb < eb && x == y) {
      if ((sa != sb || memcmp(pa, pb, sa)) && visit_prop(ws, x)) any = 1;
      pa += sa, pb += sb;
    } else if (pa < ea && (pb >= eb || x < y)) {
      any |= visit_prop(ws, x);
      pa += sa;
    } else {
      any |= visit_prop(ws, y);
      pb += sb;
    }
  }
  return any;
}

void hubc__watch_slot(hubc_store *s, int64_t id, const hubc__slot *from, const hubc__slot *to) {
  hubc__watches *ws = W(s);
  if (!ws->live) return;
  if (!to->rec) { /* deleted (C7): out of every member set at once */
    for (size_t i = 0; i < ws->n; i++) {
      hubc__watch *x = &ws->v[i];
      if (!x->used || x->dying || !m_has(&x->m, id) || flip(s, (uint32_t)i + 1, id)) continue;
      edge(s, (uint32_t)i + 1, id, 0);
    }
    return;
  }
  if (!ws->n_order || index_ready(s)) return;
  int any = 0;
  if (!from->rec) { /* created: every filter may match it */
    visit_all(ws);
    any = 1;
  } else {
    if (from->rec != to->rec) any = diff_fields(ws, from->rec, to->rec);
    if (from->status != to->status) {
      any |= visit_prop(ws, HUBC__P_MK_STATUS);
      any |= visit_prop(ws, HUBC__P_MK_UNTIL_RENEWAL);
    }
    if (from->status != to->status || from->hist != to->hist) {
      any |= visit_prop(ws, HUBC__P_MK_REASON_TYPE);
      any |= visit_prop(ws, HUBC__P_MK_REASON_ID);
    }
    if (from->modified != to->modified) any |= visit_prop(ws, HUBC__P_LASTMODIFIED);
  }
  if (any) propagate(s, id);
}

int hubc__watch_set(hubc_store *s, uint32_t w, int64_t id, int in, size_t bulk_hint) {
  hubc__watches *ws = W(s);
  hubc__watch *x = at(s, w);
  if (!x || m_has(&x->m, id) == !!in) return 0;
  if (s->txn.active && !x->snapped && bulk_hint > 64 && bulk_hint / 64 > x->m.nw / 8) {
    /* a large change: save the set once instead of logging each flip */
    hubc__watchlog e = {.w = w, .op = L_SNAP};
    e.u.saved = x->m;
    e.u.saved.w = x->m.nw ? hubc__alloc(s->base, x->m.nw * sizeof *x->m.w) : NULL;
    if ((x->m.nw && !e.u.saved.w) || log_push(s, &e)) {
      hubc__free(s->base, e.u.saved.w, x->m.nw * sizeof *x->m.w);
      return hubc__err(HUBC_ENOMEM, "out of memory saving list members");
    }
    if (x->m.nw) memcpy(e.u.saved.w, x->m.w, x->m.nw * sizeof *x->m.w);
    x->snapped = 1;
    x->snap_nw = x->m.nw;
    touch(s, w);
  }
  if (flip(s, w, id)) return hubc__err(HUBC_ENOMEM, "out of memory changing list members");
  if (ws->n_order && !index_ready(s) && w <= ws->ix_lists && visit(ws, ws->ix_list[w - 1]))
    propagate(s, id);
  return ws->err ? hubc__err(HUBC_ENOMEM, "out of memory updating active lists") : 1;
}

/* Recomputes every watch's dependencies (logged), then re-evaluates over
 * every contact, in dependency order, the watches reading view `view`,
 * watch `w` itself, and those reading the lists they change (0: not
 * asked). */
static int reevaluate(hubc_store *s, uint32_t view, uint32_t w0) {
  hubc__watches *ws = W(s);
  if (hubc__grow(s->base, (void **)&ws->log, &ws->log_cap, ws->log_n + ws->n, sizeof *ws->log))
    return hubc__err(HUBC_ENOMEM, "out of memory updating watches");
  uint8_t *hit = hubc__calloc(s->base, ws->n + 1);
  if (!hit) return hubc__err(HUBC_ENOMEM, "out of memory updating watches");
  int rc = 0;
  for (size_t i = 0; i < ws->n && !rc; i++) { /* dependencies as the views say now */
    hubc__watch *x = &ws->v[i];
    if (!x->used || x->dying || !x->f) continue;
    hubc__wdeps d;
    if ((rc = deps_of(s, x->f, &d))) break;
    hit[i + 1] = i + 1 == w0 || (view && (has_u32(d.views, d.n_views, view) || has_u32(x->d.views, x->d.n_views, view)));
    hubc__watchlog e = {.w = (uint32_t)i + 1, .op = L_DEPS};
    e.u.deps = x->d;
    ws->log[ws->log_n++] = e;
    x->d = d;
  }
  if (!rc) reorder(s);
  int64_t end = hubc__id_end(s);
  for (size_t k = 0; k < ws->n_order && !rc; k++) { /* re-evaluate what reads the view, in order */
    uint32_t w = ws->order[k];
    hubc__watch *x = &ws->v[w - 1];
    for (uint32_t j = 0; j < x->d.n_lists && !hit[w]; j++) hit[w] = hit[x->d.lists[j]];
    if (!hit[w]) continue;
    const hubc__qscan *q = scan_of(s, x, 1); /* a filter just given may read columns not built yet */
    for (int64_t base = 0; base < end && !ws->err; base += 64) {
      size_t word = (size_t)base >> 6;
      uint64_t diff = block_of(s, x, q, base) ^ (word < x->m.nw ? x->m.w[word] : 0);
      for (; diff && !ws->err; diff &= diff - 1) {
        int64_t id = base + __builtin_ctzll(diff);
        int now = !m_has(&x->m, id);
        if (!flip(s, w, id)) edge(s, w, id, now);
      }
    }
  }
  hubc__free(s->base, hit, ws->n + 1);
  if (rc || ws->err) return hubc__err(HUBC_ENOMEM, "out of memory updating watches");
  return 0;
}

int hubc__watch_view_changed(hubc_store *s, uint32_t view) { return reevaluate(s, view, 0); }

int hubc__watch_refilter(hubc_store *s, uint32_t w, hubc_filter *f) {
  hubc__watches *ws = W(s);
  hubc__watch *x = at(s, w);
  if (!x || x->dying || !x->f || !f) return hubc__err(HUBC_EINVAL, "watch %u has no filter to replace", w);
  if (hubc__grow(s->base, (void **)&ws->log, &ws->log_cap, ws->log_n + 1, sizeof *ws->log))
    return hubc__err(HUBC_ENOMEM, "out of memory updating watches");
  hubc__watchlog e = {.w = w, .op = L_FILTER};
  e.u.f = x->f;
  ws->log[ws->log_n++] = e;
  hubc__filter_ref(f);
  x->f = f;
  return reevaluate(s, 0, w);
}

/* Walks f (and the views it reads; with follow, the lists' filters too)
 * for list watch w or view `view`. */
static int reads(const hubc_store *s, const hubc_filter *f, uint32_t w, uint32_t view, int follow, int depth) {
  if (!f || depth > 4 * HUBC_FILTER_MAX_DEPTH) return 0;
  for (size_t i = 0; i < f->n_nodes; i++) {
    const hubc__qnode *n = &f->nodes[i];
    if (n->kind == HUBC__QN_LIST) {
      const hubc__qdef *l = hubc__list_def(s, n->a);
      if (l && w && l->watch == w) return 1;
      if (l && follow && !l->deleted && reads(s, l->f, w, view, follow, depth + 1)) return 1;
    } else if (n->kind == HUBC__QN_VIEW) {
      if (view && n->a == view) return 1;
      const hubc__qdef *v = hubc__view_def(s, n->a);
      if (v && !v->deleted && reads(s, v->f, w, view, follow, depth + 1)) return 1;
    }
  }
  return 0;
}

int hubc__filter_reads(const hubc_store *s, const hubc_filter *f, uint32_t w, uint32_t view, int follow) {
  return reads(s, f, w, view, follow, 0);
}

const char *hubc__watch_reader(const hubc_store *s, uint32_t w, uint32_t view) {
  const hubc__watches *ws = W(s);
  for (size_t i = 0; i < ws->n; i++) {
    const hubc__watch *x = &ws->v[i];
    if (x->used && !x->dying && x->f && i + 1 != w && reads(s, x->f, w, view, 0, 0)) return x->label;
  }
  return NULL;
}

int hubc__watch_check(hubc_store *s) {
  const hubc__watches *ws = W(s);
  int64_t end = hubc__id_end(s);
  for (size_t i = 0; i < ws->n; i++) {
    const hubc__watch *x = &ws->v[i];
    if (!x->used) continue;
    uint64_t count = 0;
    for (size_t k = 0; k < x->m.nw; k++) count += (uint64_t)__builtin_popcountll(x->m.w[k]);
    if (count != x->m.count) return hubc__err(HUBC_ECORRUPT, "watch %zu (%s): count %llu, %llu members", i + 1,
                                              x->label, (unsigned long long)x->m.count, (unsigned long long)count);
    for (int64_t id = 1; id < (int64_t)x->m.nw * 64; id++) {
      const hubc__rec *r = id < end ? s->contacts.recs[id] : NULL;
      int want = x->f ? r && hubc__filter_eval(s, x->f, r) : m_has(&x->m, id) && r;
      if (want != m_has(&x->m, id))
        return hubc__err(HUBC_ECORRUPT, "watch %zu (%s): contact %lld is %s but %s", i + 1, x->label, (long long)id,
                         m_has(&x->m, id) ? "a member" : "not a member", want ? "matches" : "does not match");
    }
    if (x->f && end > 1 && (size_t)(end - 1) >> 6 >= x->m.nw)
      for (int64_t id = (int64_t)x->m.nw * 64; id < end; id++)
        if (s->contacts.recs[id] && hubc__filter_eval(s, x->f, s->contacts.recs[id]))
          return hubc__err(HUBC_ECORRUPT, "watch %zu (%s): contact %lld matches but is not a member", i + 1,
                           x->label, (long long)id);
  }
  return 0;
}

/* ---- transaction hooks -------------------------------------------------- */

void hubc__watch_txn_begin(hubc_store *s) {
  hubc__watches *ws = W(s);
  ws->log_n = ws->edges_n = ws->words_n = 0;
  ws->err = 0;
}

/* Static lists' changed chunks into the transaction's dirty records. */
static int flush_dirty(hubc_store *s) {
  hubc__watches *ws = W(s);
  if (!s->has_persist) return 0;
  size_t count = 0;
  for (size_t i = 0; i < ws->touched_n; i++) {
    hubc__watch *x = &ws->v[ws->touched[i] - 1];
    if (!x->list) continue;
    if (x->snapped) { /* every chunk either version holds */
      size_t nw = x->m.nw > x->snap_nw ? x->m.nw : x->snap_nw, chunks = (nw + CHUNK_WORDS - 1) / CHUNK_WORDS;
      if (hubc__grow_zeroed(s->base, (void **)&x->dirty, &x->dirty_cap, chunks, 1)) return HUBC_ENOMEM;
      memset(x->dirty, 1, chunks);
    }
    for (size_t c = 0; c < x->dirty_cap; c++) count += x->dirty[c];
  }
  hubc__txn *t = &s->txn;
  if (hubc__grow(s->base, (void **)&t->dirty, &t->dirty_cap, t->dirty_n + count + 2, sizeof *t->dirty))
    return HUBC_ENOMEM;
  for (size_t i = 0; i < ws->touched_n; i++) {
    hubc__watch *x = &ws->v[ws->touched[i] - 1];
    for (size_t c = 0; x->list && c < x->dirty_cap; c++)
      if (x->dirty[c]) hubc__txn_dirty(s, HUBC_REC_LIST_MEMBERS, ((int64_t)x->list << 16) | (int64_t)c);
  }
  return 0;
}

/* Flips the parity bit of edge e's contact in its watch. */
static int toggle_odd(hubc_store *s, const hubc__watchedge *e) {
  hubc__watch *x = at(s, e->w);
  size_t k = (size_t)e->id >> 6;
  if (!x) return 0;
  if (k >= x->odd_cap && hubc__grow_zeroed(s->base, (void **)&x->odd, &x->odd_cap, k + 1, sizeof *x->odd))
    return -1;
  x->odd[k] ^= (uint64_t)1 << (e->id & 63);
  return 0;
}

/* Keeps of the call's edges its net change per (watch, contact), marked
 * with bit 2: the last edge of a contact with an odd number of them (the
 * edges of one contact alternate). One that entered and left again, or
 * left and came back, within the call has none: the call is atomic. */
static int net_edges(hubc_store *s) {
  hubc__watches *ws = W(s);
  for (size_t i = 0; i < ws->edges_n; i++)
    if (toggle_odd(s, &ws->edges[i])) {
      while (i-- > 0) toggle_odd(s, &ws->edges[i]); /* back to all zero */
      return hubc__err(HUBC_ENOMEM, "out of memory sorting out list membership changes; nothing changed");
    }
  for (size_t i = ws->edges_n; i-- > 0;) {
    hubc__watchedge *e = &ws->edges[i];
    hubc__watch *x = at(s, e->w);
    uint64_t bit = (uint64_t)1 << (e->id & 63);
    if (!x || !(x->odd[(size_t)e->id >> 6] & bit)) continue;
    x->odd[(size_t)e->id >> 6] &= ~bit;
    e->entered |= 2;
  }
  return 0;
}

int hubc__watch_txn_finalize(hubc_store *s) {
  hubc__watches *ws = W(s);
  int rc = ws->err ? 0 : net_edges(s);
  for (size_t i = 0; i < ws->edges_n && !rc && !ws->err; i++) {
    hubc__watchedge e = ws->edges[i];
    hubc__watch *x = at(s, e.w);
    if (x && !x->dying && x->fn && (e.entered & 2)) rc = x->fn(s, x->payload, e.w, e.id, e.entered & 1);
  }
  if (rc) return rc;
  if (ws->err) return hubc__err(HUBC_ENOMEM, "out of memory updating list memberships; nothing changed");
  if (flush_dirty(s)) return hubc__err(HUBC_ENOMEM, "out of memory persisting list memberships");
  return 0;
}

static void untouch(hubc_store *s) {
  hubc__watches *ws = W(s);
  for (size_t i = 0; i < ws->touched_n; i++) {
    hubc__watch *x = &ws->v[ws->touched[i] - 1];
    x->touched = x->snapped = 0;
    if (x->dirty) memset(x->dirty, 0, x->dirty_cap);
  }
  ws->touched_n = ws->edges_n = 0;
  ws->err = 0;
}

/* Restores (undo) or forgets (commit) the saved member words. After the
 * log's undo: a saved set restored (L_SNAP) holds the words changed
 * before it was taken; a watch added in the transaction is gone. */
static void words_done(hubc_store *s, int restore) {
  hubc__watches *ws = W(s);
  for (size_t i = 0; i < ws->words_n; i++) {
    const hubc__watchword *e = &ws->words[i];
    hubc__watch *x = e->w <= ws->n ? &ws->v[e->w - 1] : NULL;
    if (!x || !x->used) continue;
    x->saved[e->k >> 6] &= ~((uint64_t)1 << (e->k & 63));
    if (!restore) continue;
    uint64_t *word = &x->m.w[e->k];
    x->m.count = x->m.count + (uint64_t)__builtin_popcountll(e->old) - (uint64_t)__builtin_popcountll(*word);
    *word = e->old;
  }
  ws->words_n = 0;
  if (ws->words_cap > 65536) { /* a large change's undo is not kept for the next one */
    hubc__free(s->base, ws->words, ws->words_cap * sizeof *ws->words);
    ws->words = NULL;
    ws->words_cap = 0;
  }
}

void hubc__watch_txn_rollback(hubc_store *s) {
  hubc__watches *ws = W(s);
  untouch(s);
  while (ws->log_n) {
    hubc__watchlog *e = &ws->log[--ws->log_n];
    hubc__watch *x = &ws->v[e->w - 1];
    switch (e->op) {
    case L_SNAP:
      m_free(s, &x->m);
      x->m = e->u.saved;
      break;
    case L_ADDED:
      watch_free(s, x);
      ws->live--;
      while (ws->n && !ws->v[ws->n - 1].used) ws->n--;
      break;
    case L_DYING:
      x->dying = 0;
      ws->live++;
      break;
    case L_DEPS:
      deps_free(s, &x->d);
      x->d = e->u.deps;
      break;
    case L_FILTER:
      hubc_filter_free(x->f);
      x->f = e->u.f;
      break;
    }
  }
  words_done(s, 1);
  reorder(s);
}

void hubc__watch_txn_commit(hubc_store *s) {
  hubc__watches *ws = W(s);
  untouch(s);
  words_done(s, 0); /* before the log frees the watches that died */
  for (size_t i = 0; i < ws->log_n; i++) {
    hubc__watchlog *e = &ws->log[i];
    if (e->op == L_SNAP) hubc__free(s->base, e->u.saved.w, e->u.saved.nw * sizeof *e->u.saved.w);
    else if (e->op == L_DEPS) deps_free(s, &e->u.deps);
    else if (e->op == L_FILTER) hubc_filter_free(e->u.f);
    else if (e->op == L_DYING && ws->v[e->w - 1].dying) watch_free(s, &ws->v[e->w - 1]);
  }
  ws->log_n = 0;
}

void hubc__watch_free_all(hubc_store *s) {
  hubc__watches *ws = W(s);
  for (size_t i = 0; i < ws->n; i++)
    if (ws->v[i].used) watch_free(s, &ws->v[i]);
  hubc__free(s->base, ws->v, ws->cap * sizeof *ws->v);
  hubc__free(s->base, ws->order, ws->order_cap * sizeof *ws->order);
  hubc__free(s->base, ws->touched, ws->touched_cap * sizeof *ws->touched);
  hubc__free(s->base, ws->log, ws->log_cap * sizeof *ws->log);
  hubc__free(s->base, ws->words, ws->words_cap * sizeof *ws->words);
  hubc__free(s->base, ws->edges, ws->edges_cap * sizeof *ws->edges);
  index_free(s);
  memset(ws, 0, sizeof *ws);
}
