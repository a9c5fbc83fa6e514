/* Default marketing status by creation source (D1) and its switches (D2). */
#include <stdlib.h>
#include <string.h>

#include "persist/codec.h"
#include "store/dump.h"
#include "store/store.h"
#include "user/perm.h"

static int configurable(int source) {
  return source == HUBC_SOURCE_CHATFLOW || source == HUBC_SOURCE_INTEGRATION || source == HUBC_SOURCE_EXTERNAL_FORM;
}

static long find_switch(const hubc_store *s, int source, hubc_id id) {
  for (size_t i = 0; i < s->sources.n; i++)
    if (s->sources.v[i].source == source && s->sources.v[i].id == id) return (long)i;
  return -1;
}

int hubc__source_default(const hubc_store *s, int source, hubc_id source_id) {
  if (!configurable(source)) return 0; /* manual asks explicitly; the rest are non-marketing (D1) */
  if (source == HUBC_SOURCE_EXTERNAL_FORM) source_id = 0;
  long i = find_switch(s, source, source_id);
  if (i >= 0) return s->sources.v[i].on;
  return source == HUBC_SOURCE_EXTERNAL_FORM; /* external forms: marketing unless switched off */
}

static int check_source(int source, hubc_id source_id, const char *what) {
  if (!configurable(source))
    return hubc__err(HUBC_EINVAL, "%s: source %d (%s) has no configurable default (D1)", what, source,
                     hubc_source_name(source) ? hubc_source_name(source) : "unknown");
  if (source == HUBC_SOURCE_EXTERNAL_FORM ? source_id != 0 : source_id <= 0)
    return hubc__err(HUBC_EINVAL, "%s: source id %lld is invalid for %s (%s)", what, (long long)source_id,
                     hubc_source_name(source),
                     source == HUBC_SOURCE_EXTERNAL_FORM ? "store-wide: use 0" : "must be > 0");
  return 0;
}

HUBC_API int hubc_source_set_default(hubc_store *s, hubc_id actor, int source, hubc_id source_id, int marketing) {
  const char *what = "set source default";
  int rc = check_source(source, source_id, what);
  if (rc) return rc;
  if (marketing != 0 && marketing != 1)
    return hubc__err(HUBC_EINVAL, "%s: marketing must be 0 or 1, not %d", what, marketing);
  if ((rc = hubc__op_begin(s, actor, HUBC__OP_SOURCE_SET_DEFAULT))) return rc;
  rc = hubc__txn_reserve(s, 1);
  if (!rc) {
    hubc__switch sw = {source_id, (uint8_t)source, (uint8_t)marketing};
    long i = find_switch(s, source, source_id);
    if (i < 0) {
      rc = hubc__grow(s->base, (void **)&s->sources.v, &s->sources.cap, s->sources.n + 1, sizeof *s->sources.v);
      if (!rc) {
        s->sources.v[s->sources.n] = sw; /* undone by restoring n */
        s->sources.n++;
        hubc__txn_dirty(s, HUBC_REC_SWITCH, source);
      }
    } else if (s->sources.v[i].on != marketing) {
      hubc__txn_push(s, HUBC_REC_SWITCH, i, &s->sources.v[i], sizeof sw);
      s->sources.v[i] = sw;
      hubc__txn_dirty(s, HUBC_REC_SWITCH, source);
    }
  }
  return hubc__write_end(s, rc);
}

HUBC_API int hubc_source_get_default(int *marketing, hubc_store *s, int source, hubc_id source_id) {
  if (!marketing) return hubc__err(HUBC_EINVAL, "get source default: marketing is NULL");
  int rc = check_source(source, source_id, "get source default");
  if (rc || (rc = hubc__read_begin(s))) return rc;
  *marketing = hubc__source_default(s, source, source_id);
  return hubc__read_end(s, 0);
}

/* ---- the SWITCH record kind: one record per source, all its switches --- */

#define K HUBC_REC_SWITCH

static int encode(hubc_store *s, int64_t id, hubc__wr *w) {
  for (size_t i = 0; i < s->sources.n; i++) {
    const hubc__switch *sw = &s->sources.v[i];
    if (sw->source != id) continue;
    unsigned char tmp[12];
    size_t k = hubc__varint_put(tmp, hubc__zigzag(sw->id));
    tmp[k++] = sw->on;
    hubc__wr_bytes(w, HUBC__T_S_ENTRY, tmp, k);
  }
  return 0;
}

static int switch_id_cmp(const void *a, const void *b) {
  const hubc__switch *x = a, *y = b;
  return (x->id > y->id) - (x->id < y->id);
}

static int load(hubc_loader *l, int64_t source, hubc__rd r) {
  hubc_store *s = l->s;
  hubc__sources *a = &s->sources;
  if (!configurable((int)source)) return hubc__corrupt(K, source, "not a configurable source");
  size_t k = 0; /* drop this source's entries, then append the stored ones */
  for (size_t i = 0; i < a->n; i++)
    if (a->v[i].source != source) a->v[k++] = a->v[i];
  a->n = k;
  uint64_t tag;
  hubc__rd body;
  HUBC__FOR_FIELDS(r, tag, body, K, source) {
    if (tag != HUBC__T_S_ENTRY) continue;
    uint64_t z;
    if (hubc__rd_varint(&body, &z) || body.p + 1 != body.end || *body.p > 1)
      return hubc__corrupt(K, source, "malformed entry");
    int64_t sid = hubc__unzigzag(z);
    if (source == HUBC_SOURCE_EXTERNAL_FORM ? sid != 0 : sid <= 0)
      return hubc__corrupt(K, source, "source id out of range");
    if (hubc__grow(s->base, (void **)&a->v, &a->cap, a->n + 1, sizeof *a->v)) return HUBC_ENOMEM;
    hubc__switch sw = {sid, (uint8_t)source, *body.p};
    a->v[a->n++] = sw;
  }
  /* this record's entries are v[k..n): sorted, a repeat is adjacent */
  if (a->n > k) qsort(a->v + k, a->n - k, sizeof *a->v, switch_id_cmp);
  for (size_t i = k + 1; i < a->n; i++)
    if (a->v[i].id == a->v[i - 1].id) return hubc__corrupt(K, source, "source id listed twice");
  return 0;
}

static int switch_cmp(const void *a, const void *b) {
  const hubc__switch *x = a, *y = b;
  if (x->source != y->source) return x->source < y->source ? -1 : 1;
  return x->id < y->id ? -1 : x->id > y->id;
}

/* Sorted by source and id: the table's order depends on history. */
static int dump(const hubc_store *s, hubc__out *o) {
  const hubc__sources *a = &s->sources;
  if (!a->n) return 0;
  hubc__switch *sorted = hubc__alloc(s->base, a->n * sizeof *sorted);
  if (!sorted) return hubc__err(HUBC_ENOMEM, "out of memory dumping the store");
  memcpy(sorted, a->v, a->n * sizeof *sorted);
  qsort(sorted, a->n, sizeof *sorted, switch_cmp);
  for (size_t i = 0; i < a->n; i++)
    hubc__out_printf(o, "switch source=%d id=%lld on=%d\n", sorted[i].source, (long long)sorted[i].id, sorted[i].on);
  hubc__free(s->base, sorted, a->n * sizeof *sorted);
  return 0;
}

static void free_area(hubc_store *s) { hubc__free(s->base, s->sources.v, s->sources.cap * sizeof *s->sources.v); }

static void txn_begin(hubc_store *s) { s->sources.n_mark = s->sources.n; }

_Static_assert(sizeof(hubc__switch) <= HUBC__UNDO_BYTES, "a switch fits an undo entry");

static void undo(hubc_store *s, const hubc__undo *u) {
  memcpy(&s->sources.v[u->id], u->u.bytes, sizeof(hubc__switch));
}

static void txn_rollback(hubc_store *s) { s->sources.n = s->sources.n_mark; }

const hubc__kind hubc__kind_switch = {
    .kind = K,
    .name = "switch",
    .encode = encode,
    .load = load,
    .dump = dump,
    .free = free_area,
    .txn_begin = txn_begin,
    .undo = undo,
    .txn_rollback = txn_rollback,
};
