/* Filter columns (columns.h): dictionary-coded property values by record id. */
#include "query/columns.h"

#include <string.h>

#include "query/query.h"
#include "store/store.h"

enum { MAX_CODES = 65535 };

static uint32_t hash(const char *p, size_t n) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)p[i]) * 16777619u;
  return h;
}

static void col_free(hubc__base *b, hubc__qcol *c) {
  if (!c) return;
  hubc__free(b, c->codes, c->cap * sizeof *c->codes);
  hubc__free(b, c->text, c->text_cap);
  hubc__free(b, c->ents, c->ents_cap * sizeof *c->ents);
  hubc__free(b, c->slots, c->slots_cap * sizeof *c->slots);
  hubc__free(b, c, sizeof *c);
}

/* Where value str[0..len) is or would go in the slots. */
static size_t probe(const hubc__qcol *c, const char *str, size_t len, uint32_t h) {
  size_t mask = c->slots_cap - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    uint16_t k = c->slots[i];
    if (!k) return i;
    const hubc__qent *e = &c->ents[k - 1];
    if (e->len == len && memcmp(c->text + e->off, str, len) == 0) return i;
  }
}

/* 0 and *code; 1: the dictionary is full; -1: out of memory. */
static int intern(hubc__base *b, hubc__qcol *c, const char *str, size_t len, uint16_t *code) {
  uint32_t h = hash(str, len);
  if (c->slots_cap) {
    size_t i = probe(c, str, len, h);
    if (c->slots[i]) {
      *code = c->slots[i];
      return 0;
    }
  }
  if (c->n >= MAX_CODES) return 1;
  if ((c->n + 1) * 2 > c->slots_cap) { /* at most half full */
    size_t cap = c->slots_cap ? 2 * c->slots_cap : 64;
    uint16_t *old = c->slots, *slots = hubc__calloc(b, cap * sizeof *slots);
    if (!slots) return -1;
    size_t old_cap = c->slots_cap;
    c->slots = slots;
    c->slots_cap = cap;
    for (size_t i = 0; i < old_cap; i++)
      if (old[i]) {
        const hubc__qent *e = &c->ents[old[i] - 1];
        slots[probe(c, c->text + e->off, e->len, hash(c->text + e->off, e->len))] = old[i];
      }
    hubc__free(b, old, old_cap * sizeof *old);
  }
  if (hubc__grow(b, (void **)&c->ents, &c->ents_cap, c->n + 1, sizeof *c->ents) ||
      hubc__grow(b, (void **)&c->text, &c->text_cap, c->text_used + len + 1, 1))
    return -1;
  hubc__qent *e = &c->ents[c->n];
  e->off = c->text_used;
  e->len = len;
  memcpy(c->text + c->text_used, str, len);
  c->text[c->text_used + len] = '\0';
  c->text_used += len + 1;
  *code = (uint16_t)++c->n;
  c->slots[probe(c, str, len, h)] = *code;
  return 0;
}

/* The code of prop's value in rec (as intern answers). */
static int code_of(hubc_store *s, hubc__qcol *c, uint32_t prop, const hubc__rec *rec, uint16_t *code) {
  *code = 0;
  if (!rec) return 0;
  if (c->enumeration) {
    hubc__value v;
    if (hubc__rec_value(rec, s->schema, prop, &v)) *code = (uint16_t)(v.i + 1);
    return 0;
  }
  const char *str = hubc__rec_get(rec, s->schema, prop);
  return str ? intern(s->base, c, str, strlen(str), code) : 0;
}

/* Room for property indexes below n in the table. */
static int table_reserve(hubc_store *s, size_t n) {
  hubc__qcols *q = &s->qcols;
  return hubc__grow_zeroed(s->base, (void **)&q->props, &q->cap, n, sizeof *q->props);
}

static void drop(hubc_store *s, uint32_t prop, int full) {
  hubc__qcols *q = &s->qcols;
  hubc__qprop *p = &q->props[prop];
  col_free(s->base, p->col);
  p->col = NULL;
  p->refused |= full;
  size_t j = 0;
  while (q->built[j] != prop) j++;
  memmove(q->built + j, q->built + j + 1, (q->live - j - 1) * sizeof *q->built);
  q->live--;
  q->epoch++;
}

const hubc__qcol *hubc__qcol_get(hubc_store *s, uint32_t prop, int build) {
  hubc__qcols *q = &s->qcols;
  if (prop < q->cap && q->props[prop].col) return q->props[prop].col;
  const hubc__schema *sc = s->schema;
  if (!build || prop >= sc->n || (sc->props[prop].flags & HUBC_PROP_COMPUTED) || (prop < q->cap && q->props[prop].refused))
    return NULL;
  const hubc__prop *p = &sc->props[prop];
  if (table_reserve(s, sc->n)) return NULL;
  if (p->type == HUBC_PROP_ENUMERATION && p->n_options >= MAX_CODES) {
    q->props[prop].refused = 1;
    return NULL;
  }
  hubc__qcol *c;
  if (hubc__grow(s->base, (void **)&q->built, &q->built_cap, q->live + 1, sizeof *q->built) ||
      !(c = hubc__calloc(s->base, sizeof *c)))
    return NULL;
  c->enumeration = p->type == HUBC_PROP_ENUMERATION;
  c->cap = s->contacts.cap;
  if (c->cap && !(c->codes = hubc__calloc(s->base, c->cap * sizeof *c->codes))) {
    c->cap = 0;
    col_free(s->base, c);
    return NULL;
  }
  int64_t end = hubc__id_end(s);
  for (int64_t id = 1; id < end; id++) {
    int rc = code_of(s, c, prop, s->contacts.recs[id], &c->codes[id]);
    if (rc) {
      if (rc > 0) q->props[prop].refused = 1;
      col_free(s->base, c);
      return NULL;
    }
  }
  q->props[prop].col = c;
  size_t j = q->live;
  for (; j && q->built[j - 1] > prop; j--) q->built[j] = q->built[j - 1];
  q->built[j] = prop;
  q->live++;
  q->epoch++;
  return c;
}

int hubc__qcol_wanted(const hubc_store *s, uint32_t prop) {
  const hubc__qcols *q = &s->qcols;
  return prop >= q->cap || (!q->props[prop].col && !q->props[prop].refused);
}

/* The code of field (str, or option when str is NULL) in column c of
 * prop, as code_of answers for a record holding it. */
static int code_of_field(hubc_store *s, hubc__qcol *c, uint32_t prop, const char *str, size_t len, uint64_t option,
                         uint16_t old, uint16_t *code) {
  const hubc__prop *d = &s->schema->props[prop];
  *code = 0;
  if (c->enumeration) { /* as hubc__rec_value reads it: a text there reads as option 0 */
    if (str) *code = 1;
    else if (option < d->n_options) *code = (uint16_t)(option + 1);
    return 0;
  }
  if (!str) { /* an option in a string column: its text, as hubc__rec_get gives it */
    if (option >= d->n_options) return 0;
    str = d->options[option];
    len = strlen(str);
  }
  if (old && c->ents[old - 1].len == len && memcmp(c->text + c->ents[old - 1].off, str, len) == 0) {
    *code = old; /* the value the contact had: no hashing */
    return 0;
  }
  return intern(s->base, c, str, len, code);
}

void hubc__qcols_update(hubc_store *s, int64_t id, const hubc__rec *rec) {
  hubc__qcols *q = &s->qcols;
  /* one walk of the record's fields for every column (both in property order) */
  const unsigned char *p = rec ? hubc__rec_fields(rec) : NULL, *end = rec ? p + hubc__rec_flen(rec) : NULL;
  hubc__qfield f = {0};
  int have = 0, walk = rec != NULL; /* walk 0: the record ended; -1: a field is unreadable (code_of decides) */
  if (walk && (walk = p < end)) walk = have = hubc__qfield_next(&p, end, &f);
  if (rec && !walk && p < end) walk = -1;
  for (size_t j = 0; j < q->live; j++) { /* the codes, far apart: all fetched at once */
    const hubc__qcol *c = q->props[q->built[j]].col;
    if ((size_t)id < c->cap) __builtin_prefetch(&c->codes[id]);
  }
  for (size_t j = 0; j < q->live;) {
    uint32_t prop = q->built[j];
    hubc__qcol *c = q->props[prop].col;
    while (walk > 0 && f.prop < prop) {
      if (p >= end) walk = have = 0;
      else if (!hubc__qfield_next(&p, end, &f)) walk = -1, have = 0;
    }
    uint16_t code = 0;
    int rc;
    if (walk < 0) rc = code_of(s, c, prop, rec, &code);
    else if (have && f.prop == prop) rc = code_of_field(s, c, prop, f.str, f.len, f.option, hubc__qcol_code(c, id), &code);
    else rc = 0;
    if (!rc && (size_t)id >= c->cap && code) {
      size_t cap = c->cap;
      size_t need = s->contacts.cap > (size_t)id ? s->contacts.cap : (size_t)id + 1;
      rc = hubc__grow_zeroed(s->base, (void **)&c->codes, &cap, need, sizeof *c->codes) ? -1 : 0;
      if (!rc) c->cap = cap;
    }
    if (rc) {
      drop(s, prop, rc > 0); /* filters read the records instead; built[j] is the next one now */
      continue;
    }
    if ((size_t)id < c->cap) c->codes[id] = code;
    j++;
  }
}

void hubc__qcols_free(hubc_store *s) {
  hubc__qcols *q = &s->qcols;
  for (size_t i = 0; i < q->cap; i++) col_free(s->base, q->props[i].col);
  hubc__free(s->base, q->props, q->cap * sizeof *q->props);
  hubc__free(s->base, q->built, q->built_cap * sizeof *q->built);
  memset(q, 0, sizeof *q);
}
