/* Public schema calls: define custom properties, read definitions. */
#include <stdio.h>
#include <string.h>

#include "persist/codec.h"
#include "store/dump.h"
#include "store/store.h"
#include "user/perm.h"
#include "util/text.h"

HUBC_API int hubc_property_define(hubc_store *s, hubc_id actor, const char *name, const char *label, int type,
                                  const char *const *options, size_t n_options) {
  int rc = hubc__op_begin(s, actor, HUBC__OP_PROPERTY_DEFINE);
  if (rc) return rc;
  hubc__prop p;
  hubc__schema *next = NULL;
  rc = hubc__txn_reserve(s, 1);
  if (!rc) rc = hubc__schema_make_prop(&p, s->base, s->schema, name, label, type, options, n_options);
  if (!rc) rc = hubc__schema_with(&next, s->schema, &p);
  if (!rc) {
    s->schema = next; /* the old version is released at commit, restored on undo */
    hubc__txn_dirty(s, HUBC_REC_PROPERTY, (int64_t)next->n);
  }
  return hubc__write_end(s, rc);
}

static void fill(hubc_property_info *out, const hubc__prop *p) {
  out->name = p->name;
  out->label = p->label;
  out->type = p->type;
  out->flags = p->flags;
  out->n_options = p->n_options;
  out->options = p->options;
}

static int check_info(const hubc_property_info *out) {
  if (!out) return hubc__err(HUBC_EINVAL, "property info: out is NULL");
  return hubc__version_check(out->version, HUBC_PROPERTY_INFO_VERSION, "property info");
}

HUBC_API int hubc_property_count(size_t *out, hubc_store *s) {
  if (!out) return hubc__err(HUBC_EINVAL, "property count: out is NULL");
  int rc = hubc__read_begin(s);
  if (rc) return rc;
  *out = s->schema->n;
  return hubc__read_end(s, 0);
}

HUBC_API int hubc_property_at(hubc_property_info *out, hubc_store *s, size_t index) {
  int rc = check_info(out);
  if (rc || (rc = hubc__read_begin(s))) return rc;
  if (index >= s->schema->n)
    rc = hubc__err(HUBC_ENOTFOUND, "property index %zu is past the last (%u)", index, s->schema->n);
  else fill(out, &s->schema->props[index]);
  return hubc__read_end(s, rc);
}

HUBC_API int hubc_property_find(hubc_property_info *out, hubc_store *s, const char *name) {
  int rc = check_info(out);
  if (rc) return rc;
  if (!name) return hubc__err(HUBC_EINVAL, "property find: name is NULL");
  if (!hubc__utf8_valid(name, strlen(name))) return hubc__err(HUBC_EINVAL, "property find: name is not valid UTF-8");
  if ((rc = hubc__read_begin(s))) return rc;
  int i = hubc__schema_find(s->schema, name);
  if (i < 0) rc = hubc__err(HUBC_ENOTFOUND, "property '%.100s' does not exist", name);
  else fill(out, &s->schema->props[i]);
  return hubc__read_end(s, rc);
}

/* ---- the PROPERTY record kind (custom properties; id = index + 1) ------ */

#define K HUBC_REC_PROPERTY

static int encode(hubc_store *s, int64_t id, hubc__wr *w) {
  const hubc__prop *p = &s->schema->props[id - 1];
  hubc__wr_str(w, HUBC__T_PROP_NAME, p->name);
  hubc__wr_str(w, HUBC__T_PROP_LABEL, p->label);
  hubc__wr_num(w, HUBC__T_PROP_TYPE, p->type);
  hubc__wr_num(w, HUBC__T_PROP_FLAGS, p->flags);
  for (unsigned i = 0; i < p->n_options; i++) hubc__wr_str(w, HUBC__T_PROP_OPTION, p->options[i]);
  return 0;
}

/* Custom properties by index - HUBC__P_BUILTIN_COUNT, placed at the end. */
typedef struct stage {
  hubc__prop *props;
  size_t cap;
} stage;

static int load(hubc_loader *l, int64_t id, hubc__rd r) {
  hubc_store *s = l->s;
  if (id <= HUBC__P_BUILTIN_COUNT || id > HUBC__MAX_PROPERTIES) return hubc__corrupt(K, id, "bad index");
  stage *st = l->stage[K];
  if (!st) {
    if (!(st = hubc__calloc(s->base, sizeof *st))) return hubc__err(HUBC_ENOMEM, "out of memory loading properties");
    l->stage[K] = st;
  }
  size_t k = (size_t)id - 1 - HUBC__P_BUILTIN_COUNT, old = st->cap;
  if (hubc__grow(s->base, (void **)&st->props, &st->cap, k + 1, sizeof *st->props)) return HUBC_ENOMEM;
  if (st->cap > old) memset(st->props + old, 0, (st->cap - old) * sizeof *st->props);
  hubc__prop p = {0};
  uint64_t tag;
  hubc__rd body;
  int64_t v;
  const char *opts[1000];
  size_t n_opts = 0;
  HUBC__FOR_FIELDS(r, tag, body, K, id) {
    int rc = 0;
    switch (tag) {
    case HUBC__T_PROP_NAME: rc = hubc__ld_pooled(s, body, &p.name, K, id); break;
    case HUBC__T_PROP_LABEL: rc = hubc__ld_pooled(s, body, &p.label, K, id); break;
    case HUBC__T_PROP_TYPE:
      if (!(rc = hubc__ld_int(body, &v, K, id))) p.type = (uint8_t)v;
      if (!rc && (v < HUBC_PROP_STRING || v > HUBC_PROP_ENUMERATION)) rc = hubc__corrupt(K, id, "bad type");
      break;
    case HUBC__T_PROP_FLAGS: break; /* custom properties carry no flags */
    case HUBC__T_PROP_OPTION:
      if (n_opts == 1000) return hubc__corrupt(K, id, "too many options");
      rc = hubc__ld_pooled(s, body, &opts[n_opts], K, id);
      n_opts++;
      break;
    }
    if (rc) return rc;
  }
  if (!p.name || !p.label) return hubc__corrupt(K, id, "missing name or label");
  /* the definition rules of hubc_property_define, against the built-ins
   * (duplicates among custom properties are found when they are placed) */
  int bad = hubc__schema_check_prop(s->schema, p.name, p.label, p.type, opts, n_opts);
  if (bad) {
    char why[400];
    snprintf(why, sizeof why, "%s: %s", bad == HUBC_EEXISTS ? "duplicate name or label" : "invalid definition",
             hubc_error_last());
    return hubc__corrupt(K, id, why);
  }
  if (n_opts) {
    p.options = hubc__pool_ptrs(s->base, n_opts);
    if (!p.options) return hubc__err(HUBC_ENOMEM, "out of memory loading the store");
    memcpy(p.options, opts, n_opts * sizeof *opts);
    p.n_options = (uint16_t)n_opts;
  }
  st->props[k] = p;
  return 0;
}

/* Indexes without gaps, names unique: each becomes a schema version. */
static int place(hubc_store *s, const stage *st) {
  size_t n_custom = 0;
  while (n_custom < st->cap && st->props[n_custom].name) n_custom++;
  for (size_t k = n_custom; k < st->cap; k++)
    if (st->props[k].name) return hubc__corrupt(K, (hubc_id)(k + HUBC__P_BUILTIN_COUNT + 1), "gap before it");
  for (size_t k = 0; k < n_custom; k++) {
    hubc__schema *next;
    if (hubc__schema_find(s->schema, st->props[k].name) >= 0)
      return hubc__corrupt(K, (hubc_id)(k + HUBC__P_BUILTIN_COUNT + 1), "duplicate name");
    int rc = hubc__schema_with(&next, s->schema, &st->props[k]);
    if (rc) return rc;
    hubc__schema_unref(s->schema);
    s->schema = next;
  }
  return 0;
}

static int finish_load(hubc_loader *l, int rc) {
  hubc_store *s = l->s;
  stage *st = l->stage[K];
  if (!st) return rc;
  if (!rc) rc = place(s, st);
  hubc__free(s->base, st->props, st->cap * sizeof *st->props);
  hubc__free(s->base, st, sizeof *st);
  l->stage[K] = NULL;
  return rc;
}

static int dump(const hubc_store *s, hubc__out *o) {
  const hubc__schema *sc = s->schema;
  for (uint32_t i = 0; i < sc->n; i++) {
    const hubc__prop *p = &sc->props[i];
    hubc__out_printf(o, "property %u type=%d flags=%u name=", i, p->type, p->flags);
    hubc__out_text(o, p->name, 1);
    hubc__out_put(o, " label=", 7);
    hubc__out_text(o, p->label, 1);
    for (unsigned k = 0; k < p->n_options; k++) {
      hubc__out_put(o, k ? "|" : " options=", k ? 1 : 9);
      hubc__out_text(o, p->options[k], 1);
    }
    hubc__out_put(o, "\n", 1);
  }
  return 0;
}

static void free_area(hubc_store *s) { hubc__schema_unref(s->schema); }

static void txn_begin(hubc_store *s) { s->schema_mark = s->schema; }

/* A definition made a new schema version: the old one is kept until the
 * end of the transaction (snapshots hold their own references). */
static void txn_rollback(hubc_store *s) {
  if (s->schema == s->schema_mark) return;
  hubc__schema_unref(s->schema);
  s->schema = s->schema_mark;
}

static void txn_commit(hubc_store *s) {
  if (s->schema != s->schema_mark) hubc__schema_unref(s->schema_mark);
  s->schema_mark = s->schema;
}

const hubc__kind hubc__kind_property = {
    .kind = K,
    .name = "property",
    .encode = encode,
    .load = load,
    .finish_load = finish_load,
    .dump = dump,
    .free = free_area,
    .txn_begin = txn_begin,
    .txn_rollback = txn_rollback,
    .txn_commit = txn_commit,
};
