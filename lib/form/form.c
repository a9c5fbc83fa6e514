/* Forms (F1): create, update, switch, delete, snapshots, listing, and the
 * FORM record kind. Submissions are in submit.c. */
#include <stdio.h>
#include <string.h>

#include "hubcontacts/form.h"
#include "persist/codec.h"
#include "store/dump.h"
#include "store/store.h"
#include "user/perm.h"
#include "util/text.h"

#define K HUBC_REC_FORM
#define MAX_FIELDS 1000 /* a form's fields, like a contact's properties (C4) */
#define MAX_NAME 1024

const hubc__form *hubc__form_at(const hubc_store *s, hubc_id id) {
  if (id < 1 || (uint64_t)id > s->forms.n) return NULL;
  const hubc__form *f = &s->forms.v[id - 1];
  return f->name ? f : NULL;
}

/* ---- building a form version ---------------------------------------------- */

static int check_name(const char *name, const char *what) {
  if (!name || !*name) return hubc__err(HUBC_EINVAL, "%s: the form needs a name", what);
  size_t len = strlen(name);
  if (len > MAX_NAME) return hubc__err(HUBC_ELIMIT, "%s: name of %zu bytes (at most %d)", what, len, MAX_NAME);
  if (!hubc__utf8_valid(name, len)) return hubc__err(HUBC_EINVAL, "%s: name is not valid UTF-8", what);
  return 0;
}

/* Resolves and pools the fields into *f (email first if absent, always
 * required). Pool memory is rewound if the transaction fails. */
static int build_fields(hubc_store *s, hubc__form *f, const char *const *props, const char *const *labels,
                        const int *required, size_t n, const char *what) {
  if (n && !props) return hubc__err(HUBC_EINVAL, "%s: properties is NULL with %zu fields", what, n);
  if (n > MAX_FIELDS) return hubc__err(HUBC_ELIMIT, "%s: %zu fields (a form has at most %d)", what, n, MAX_FIELDS);
  const hubc__schema *schema = s->schema;
  int has_email = 0;
  for (size_t i = 0; i < n; i++) {
    if (!props[i]) return hubc__err(HUBC_EINVAL, "%s: property of field %zu is NULL", what, i);
    int p = hubc__schema_find(schema, props[i]);
    if (p < 0) return hubc__err(HUBC_ENOTFOUND, "%s: field %zu: property '%.100s' does not exist", what, i, props[i]);
    if (schema->props[p].flags & HUBC_PROP_READONLY)
      return hubc__err(HUBC_EREADONLY, "%s: field %zu: property '%s' is read-only", what, i, schema->props[p].name);
    for (size_t j = 0; j < i; j++)
      if (hubc__schema_find(schema, props[j]) == p)
        return hubc__err(HUBC_EINVAL, "%s: property '%s' is a field twice", what, schema->props[p].name);
    if (labels && labels[i] && strlen(labels[i]) > MAX_NAME)
      return hubc__err(HUBC_ELIMIT, "%s: label of field %zu is longer than %d bytes", what, i, MAX_NAME);
    if (labels && labels[i] && !hubc__utf8_valid(labels[i], strlen(labels[i])))
      return hubc__err(HUBC_EINVAL, "%s: label of field %zu is not valid UTF-8", what, i);
    has_email |= p == HUBC__P_EMAIL;
  }
  size_t total = n + !has_email;
  uint32_t *fp = (uint32_t *)(void *)hubc__pool_ptrs(s->base, (total + 1) / 2 + 1);
  const char **fl = hubc__pool_ptrs(s->base, total + 1);
  uint8_t *fr = (uint8_t *)(void *)hubc__pool_ptrs(s->base, total / sizeof(void *) + 1);
  if (!fp || !fl || !fr) return hubc__err(HUBC_ENOMEM, "out of memory building a form");
  size_t k = 0;
  if (!has_email) {
    fp[k] = HUBC__P_EMAIL;
    fl[k] = schema->props[HUBC__P_EMAIL].label;
    fr[k++] = 1;
  }
  for (size_t i = 0; i < n; i++, k++) {
    int p = hubc__schema_find(schema, props[i]);
    fp[k] = (uint32_t)p;
    const char *l = labels && labels[i] && *labels[i] ? labels[i] : schema->props[p].label;
    if (!(fl[k] = hubc__pool_strdup(s->base, l, strlen(l)))) return hubc__err(HUBC_ENOMEM, "out of memory");
    fr[k] = (uint8_t)(p == HUBC__P_EMAIL || (required && required[i]));
  }
  f->props = fp;
  f->labels = fl;
  f->required = fr;
  f->n_fields = (uint32_t)total;
  return 0;
}

/* Replaces form `id` (undo: the old struct). */
static void put_form(hubc_store *s, hubc_id id, const hubc__form *f) {
  hubc__txn_push(s, K, id, &s->forms.v[id - 1], sizeof *f);
  s->forms.v[id - 1] = *f;
  hubc__txn_dirty(s, K, id);
}

_Static_assert(sizeof(hubc__form) <= HUBC__UNDO_BYTES, "a form fits an undo entry");

HUBC_API int hubc_form_create(hubc_id *out_id, hubc_store *s, hubc_id actor, const char *name,
                              const char *const *props, const char *const *labels, const int *required, size_t n) {
  const char *what = "create form";
  if (out_id) *out_id = 0;
  int rc = check_name(name, what);
  if (rc || (rc = hubc__op_begin(s, actor, HUBC__OP_FORM_CREATE))) return rc;
  hubc__forms *a = &s->forms;
  hubc__form f = {0};
  if (!rc) rc = hubc__grow(s->base, (void **)&a->v, &a->cap, a->n + 1, sizeof *a->v);
  if (!rc) rc = hubc__txn_reserve(s, 1);
  if (!rc) rc = build_fields(s, &f, props, labels, required, n, what);
  if (!rc && !(f.name = hubc__pool_strdup(s->base, name, strlen(name)))) rc = hubc__err(HUBC_ENOMEM, "out of memory");
  hubc_id id = (hubc_id)a->n + 1;
  if (!rc) {
    f.marketing = 1; /* F1: on by default */
    memset(&a->v[id - 1], 0, sizeof *a->v);
    a->n++; /* undone by restoring n */
    put_form(s, id, &f);
  }
  rc = hubc__write_end(s, rc);
  if (!rc && out_id) *out_id = id;
  return rc;
}

static int live_form(hubc_store *s, hubc_id id, const char *what) {
  const hubc__form *f = hubc__form_at(s, id);
  if (!f) return hubc__err(HUBC_ENOTFOUND, "%s: no form with id %lld", what, (long long)id);
  if (f->deleted) return hubc__err(HUBC_ENOTFOUND, "%s: form %lld ('%s') was deleted", what, (long long)id, f->name);
  return 0;
}

HUBC_API int hubc_form_update(hubc_store *s, hubc_id actor, hubc_id id, const char *name, const char *const *props,
                              const char *const *labels, const int *required, size_t n) {
  const char *what = "update form";
  int rc = name ? check_name(name, what) : 0;
  if (rc || (rc = hubc__op_begin(s, actor, HUBC__OP_FORM_UPDATE))) return rc;
  rc = live_form(s, id, what);
  if (!rc) rc = hubc__txn_reserve(s, 1);
  if (!rc) {
    hubc__form f = s->forms.v[id - 1];
    if (props) rc = build_fields(s, &f, props, labels, required, n, what);
    if (!rc && name && !(f.name = hubc__pool_strdup(s->base, name, strlen(name))))
      rc = hubc__err(HUBC_ENOMEM, "out of memory");
    if (!rc) put_form(s, id, &f);
  }
  return hubc__write_end(s, rc);
}

HUBC_API int hubc_form_set_marketing(hubc_store *s, hubc_id actor, hubc_id id, int marketing) {
  const char *what = "set form marketing switch";
  if (marketing != 0 && marketing != 1) return hubc__err(HUBC_EINVAL, "%s: marketing must be 0 or 1", what);
  int rc = hubc__op_begin(s, actor, HUBC__OP_FORM_SET_MARKETING); /* D2: P2 */
  if (rc) return rc;
  rc = live_form(s, id, what);
  if (!rc) rc = hubc__txn_reserve(s, 1);
  if (!rc && s->forms.v[id - 1].marketing != marketing) {
    hubc__form f = s->forms.v[id - 1];
    f.marketing = (uint8_t)marketing;
    put_form(s, id, &f);
  }
  return hubc__write_end(s, rc);
}

HUBC_API int hubc_form_delete(hubc_store *s, hubc_id actor, hubc_id id) {
  const char *what = "delete form";
  int rc = hubc__op_begin(s, actor, HUBC__OP_FORM_DELETE);
  if (rc) return rc;
  rc = live_form(s, id, what);
  if (!rc) rc = hubc__txn_reserve(s, 1);
  if (!rc) {
    hubc__form f = s->forms.v[id - 1];
    f.deleted = 1;
    put_form(s, id, &f);
  }
  return hubc__write_end(s, rc);
}

/* ---- snapshots ----------------------------------------------------------------- */

struct hubc_form {
  hubc__base *base; /* the pooled strings live as long as it */
  hubc__schema *schema;
  hubc_id id;
  hubc__form f;
};

static int snapshot(hubc_form **out, hubc_store *s, hubc_id id) {
  hubc_form *c = hubc__alloc(s->base, sizeof *c);
  if (!c) return hubc__err(HUBC_ENOMEM, "out of memory taking a form snapshot");
  hubc__base_ref(s->base);
  hubc__schema_ref(s->schema);
  c->base = s->base;
  c->schema = s->schema;
  c->id = id;
  c->f = s->forms.v[id - 1];
  *out = c;
  return 0;
}

HUBC_API int hubc_form_get(hubc_form **out, hubc_store *s, hubc_id id) {
  if (!out) return hubc__err(HUBC_EINVAL, "get form: out is NULL");
  *out = NULL;
  int rc = hubc__read_begin(s);
  if (rc) return rc;
  if (!hubc__form_at(s, id)) rc = hubc__err(HUBC_ENOTFOUND, "get form: no form with id %lld", (long long)id);
  else rc = snapshot(out, s, id);
  return hubc__read_end(s, rc);
}

HUBC_API void hubc_form_free(hubc_form *c) {
  if (!c) return;
  hubc__base *b = c->base;
  hubc__schema_unref(c->schema);
  hubc__free(b, c, sizeof *c);
  hubc__base_unref(b);
}

static int null_form(const char *what) { return hubc__err(HUBC_EINVAL, "%s: form is NULL", what); }

HUBC_API hubc_id hubc_form_id(const hubc_form *c) {
  if (!c) return null_form("form id"), 0;
  return hubc__ok(), c->id;
}
HUBC_API const char *hubc_form_name(const hubc_form *c) {
  if (!c) return null_form("form name"), (const char *)NULL;
  return hubc__ok(), c->f.name;
}
HUBC_API int hubc_form_marketing(const hubc_form *c) {
  if (!c) return null_form("form marketing"), -1;
  return hubc__ok(), c->f.marketing;
}
HUBC_API int hubc_form_is_deleted(const hubc_form *c) {
  if (!c) return null_form("form deleted"), -1;
  return hubc__ok(), c->f.deleted;
}
HUBC_API size_t hubc_form_field_count(const hubc_form *c) {
  if (!c) return null_form("form field count"), (size_t)0;
  return hubc__ok(), (size_t)c->f.n_fields;
}
HUBC_API int hubc_form_field_at(const char **property, const char **label, int *required, const hubc_form *c,
                                size_t i) {
  if (!c) return null_form("form field");
  if (i >= c->f.n_fields)
    return hubc__err(HUBC_ENOTFOUND, "form field %zu: the form has %u fields", i, (unsigned)c->f.n_fields);
  if (property) *property = c->schema->props[c->f.props[i]].name;
  if (label) *label = c->f.labels[i];
  if (required) *required = c->f.required[i];
  return hubc__ok();
}

struct hubc_form_iterator {
  hubc_store *store;
  hubc__base *base;
  hubc_id next;
};

HUBC_API int hubc_form_iterator_new(hubc_form_iterator **out, hubc_store *s) {
  if (!out) return hubc__err(HUBC_EINVAL, "form iterator: out is NULL");
  *out = NULL;
  int rc = hubc__read_begin(s);
  if (rc) return rc;
  hubc_form_iterator *it = hubc__alloc(s->base, sizeof *it);
  if (!it) return hubc__read_end(s, hubc__err(HUBC_ENOMEM, "out of memory creating a form iterator"));
  hubc__base_ref(s->base);
  *it = (hubc_form_iterator){s, s->base, 1};
  *out = it;
  return hubc__read_end(s, 0);
}

HUBC_API int hubc_form_iterator_next(hubc_form **out, hubc_form_iterator *it) {
  if (!out || !it) return hubc__err(HUBC_EINVAL, "form iterator: NULL argument");
  *out = NULL;
  hubc_store *s = it->store;
  int rc = hubc__read_begin(s);
  if (rc) return rc;
  while ((uint64_t)it->next <= s->forms.n && !hubc__form_at(s, it->next)) it->next++;
  if ((uint64_t)it->next > s->forms.n) {
    hubc__read_end(s, 0);
    return HUBC_ITEROVER;
  }
  rc = snapshot(out, s, it->next++);
  return hubc__read_end(s, rc);
}

HUBC_API void hubc_form_iterator_free(hubc_form_iterator *it) {
  if (!it) return;
  hubc__base *b = it->base;
  hubc__free(b, it, sizeof *it);
  hubc__base_unref(b);
}

/* ---- the FORM record kind --------------------------------------------------------- */

enum { T_NAME = 1, T_MARKETING, T_DELETED, T_FIELD /* repeated: [varint prop][required][label] */ };

static int encode(hubc_store *s, int64_t id, hubc__wr *w) {
  const hubc__form *f = &s->forms.v[id - 1];
  hubc__wr_str(w, T_NAME, f->name);
  hubc__wr_num(w, T_MARKETING, f->marketing);
  hubc__wr_num(w, T_DELETED, f->deleted);
  for (uint32_t i = 0; i < f->n_fields; i++) {
    const char *name = s->schema->props[f->props[i]].name; /* by name: indexes are the store's business */
    size_t nl = strlen(name), ll = strlen(f->labels[i]);
    unsigned char buf[MAX_NAME + 128]; /* property names are at most 100 bytes, labels MAX_NAME */
    memcpy(buf, name, nl + 1);
    buf[nl + 1] = f->required[i];
    memcpy(buf + nl + 2, f->labels[i], ll);
    hubc__wr_bytes(w, T_FIELD, buf, nl + 2 + ll);
  }
  return 0;
}

/* Loading: a form's fields name properties that may be loaded after it
 * (records come in any order), so they are resolved in finish_load. */
typedef struct staged_fields {
  const char **props, **labels; /* pooled */
  int *req;
  size_t n;
} staged_fields;

typedef struct form_stage {
  staged_fields *v; /* by form id - 1 */
  size_t cap;
} form_stage;

static int load_form(hubc_loader *l, int64_t id, hubc__rd rd, hubc__form *f, staged_fields *sf) {
  hubc_store *s = l->s;
  const char *props[MAX_FIELDS], *labels[MAX_FIELDS];
  int req[MAX_FIELDS];
  size_t n = 0;
  int64_t v;
  uint64_t tag;
  hubc__rd body;
  HUBC__FOR_FIELDS(rd, tag, body, K, id) {
    if (tag == T_NAME) {
      if (hubc__ld_pooled(s, body, &f->name, K, id)) return HUBC_ECORRUPT;
    } else if (tag == T_MARKETING || tag == T_DELETED) {
      if (hubc__ld_int(body, &v, K, id)) return HUBC_ECORRUPT;
      if (v != 0 && v != 1) return hubc__corrupt(K, id, "bad flag");
      if (tag == T_MARKETING) f->marketing = (uint8_t)v;
      else f->deleted = (uint8_t)v;
    } else if (tag == T_FIELD) {
      /* [property name NUL][required][label] */
      const unsigned char *nul = memchr(body.p, 0, (size_t)(body.end - body.p));
      if (!nul || body.end - nul < 2 || nul[1] > 1 || n >= MAX_FIELDS) return hubc__corrupt(K, id, "bad field");
      hubc__rd name = {body.p, nul}, lb = {nul + 2, body.end};
      if (hubc__ld_pooled(s, name, &props[n], K, id) || hubc__ld_pooled(s, lb, &labels[n], K, id))
        return HUBC_ECORRUPT;
      req[n++] = nul[1];
    }
  }
  if (!f->name) return hubc__corrupt(K, id, "no name");
  sf->props = hubc__pool_ptrs(s->base, n + 1);
  sf->labels = hubc__pool_ptrs(s->base, n + 1);
  sf->req = (int *)(void *)hubc__pool_ptrs(s->base, n + 1);
  if (!sf->props || !sf->labels || !sf->req) return hubc__err(HUBC_ENOMEM, "out of memory loading forms");
  memcpy(sf->props, props, n * sizeof *props);
  memcpy(sf->labels, labels, n * sizeof *labels);
  memcpy(sf->req, req, n * sizeof *req);
  sf->n = n;
  return 0;
}

static int load(hubc_loader *l, int64_t id, hubc__rd rd) {
  hubc_store *s = l->s;
  hubc__forms *a = &s->forms;
  if (id < 1 || id > 0xffffffLL) return hubc__corrupt(K, id, "bad form id");
  form_stage *st = l->stage[K];
  if (!st) {
    if (!(st = hubc__calloc(s->base, sizeof *st))) return hubc__err(HUBC_ENOMEM, "out of memory loading forms");
    l->stage[K] = st;
  }
  if (hubc__grow_zeroed(s->base, (void **)&a->v, &a->cap, (size_t)id, sizeof *a->v)) return HUBC_ENOMEM;
  if (hubc__grow_zeroed(s->base, (void **)&st->v, &st->cap, (size_t)id, sizeof *st->v)) return HUBC_ENOMEM;
  hubc__form f = {0};
  int rc = load_form(l, id, rd, &f, &st->v[id - 1]);
  if (rc) return rc;
  a->v[id - 1] = f;
  if ((uint64_t)id > a->n) a->n = (size_t)id;
  return 0;
}

/* After properties: each form's fields resolved and checked as create
 * checks them. Ids are dense (forms are marked deleted, never removed). */
static int finish_load(hubc_loader *l, int rc) {
  hubc_store *s = l->s;
  form_stage *st = l->stage[K];
  hubc__forms *a = &s->forms;
  for (size_t i = 0; !rc && i < a->n; i++) {
    if (!a->v[i].name) {
      rc = hubc__corrupt(K, (hubc_id)i + 1, "missing while later forms exist");
      break;
    }
    staged_fields *sf = &st->v[i];
    if (build_fields(s, &a->v[i], sf->props, sf->labels, sf->req, sf->n, "stored form")) {
      char msg[300];
      snprintf(msg, sizeof msg, "%s", hubc_error_last());
      rc = hubc__corrupt(K, (hubc_id)i + 1, msg);
    }
  }
  if (st) {
    hubc__free(s->base, st->v, st->cap * sizeof *st->v);
    hubc__free(s->base, st, sizeof *st);
    l->stage[K] = NULL;
  }
  return rc;
}

static int dump(const hubc_store *s, hubc__out *o) {
  for (size_t i = 0; i < s->forms.n; i++) {
    const hubc__form *f = &s->forms.v[i];
    if (!f->name) continue;
    hubc__out_printf(o, "form %zu marketing=%d deleted=%d fields=", i + 1, f->marketing, f->deleted);
    for (uint32_t k = 0; k < f->n_fields; k++) {
      hubc__out_printf(o, "%s%s%s:", k ? "," : "", s->schema->props[f->props[k]].name, f->required[k] ? "*" : "");
      hubc__out_text(o, f->labels[k], 1);
    }
    hubc__out_put(o, " name=", 6);
    hubc__out_text(o, f->name, 0);
    hubc__out_put(o, "\n", 1);
  }
  return 0;
}

static void free_area(hubc_store *s) { hubc__free(s->base, s->forms.v, s->forms.cap * sizeof *s->forms.v); }
static void txn_begin(hubc_store *s) { s->forms.n_mark = s->forms.n; }
static void undo(hubc_store *s, const hubc__undo *u) { memcpy(&s->forms.v[u->id - 1], u->u.bytes, sizeof(hubc__form)); }
static void txn_rollback(hubc_store *s) { s->forms.n = s->forms.n_mark; }

const hubc__kind hubc__kind_form = {
    .kind = K,
    .name = "form",
    .encode = encode,
    .load = load,
    .finish_load = finish_load,
    .dump = dump,
    .free = free_area,
    .txn_begin = txn_begin,
    .undo = undo,
    .txn_rollback = txn_rollback,
};
