/* Lists (S2): static lists (members added and removed explicitly) and
 * active lists (a filter's matching contacts, kept by a watch), the LIST
 * and LIST_MEMBERS record kinds, and the load of every selection record
 * (lists, views, members) once contacts are in. */
#include <stdio.h>
#include <string.h>

#include "persist/codec.h"
#include "query/lists.h"
#include "query/query.h"
#include "query/watch.h"
#include "store/dump.h"
#include "store/store.h"
#include "user/perm.h"
#include "util/text.h"

#define K HUBC_REC_LIST
#define KM HUBC_REC_LIST_MEMBERS
#define A(s) (&(s)->lists)

/* ---- definitions (shared with view.c) ------------------------------------ */

const hubc__qdef *hubc__list_def(const hubc_store *s, hubc_id id) {
  return id >= 1 && (uint64_t)id <= A(s)->n_lists ? A(s)->lists[id - 1] : NULL;
}

const hubc__qdef *hubc__view_def(const hubc_store *s, hubc_id id) {
  return id >= 1 && (uint64_t)id <= A(s)->n_views ? A(s)->views[id - 1] : NULL;
}

int hubc__list_has(const hubc_store *s, uint32_t list, int64_t contact) {
  const hubc__qdef *d = hubc__list_def(s, list);
  return d && !d->deleted && hubc__watch_has(s, d->watch, contact);
}

int hubc__view_eval(const hubc_store *s, uint32_t view, const void *rec) {
  const hubc__qdef *d = hubc__view_def(s, view);
  return d && !d->deleted && d->f && hubc__filter_eval(s, d->f, rec);
}

int hubc__qdef_check_name(const char *name, const char *what) {
  if (!name || !*name) return hubc__err(HUBC_EINVAL, "%s: a name is needed", what);
  size_t len = strlen(name);
  if (len > HUBC__QDEF_MAX_NAME)
    return hubc__err(HUBC_ELIMIT, "%s: name of %zu bytes (at most %d)", what, len, HUBC__QDEF_MAX_NAME);
  if (!hubc__utf8_valid(name, len)) return hubc__err(HUBC_EINVAL, "%s: name is not valid UTF-8", what);
  return 0;
}

static char *dup(hubc_store *s, const char *t) {
  if (!t) return NULL;
  size_t n = strlen(t) + 1;
  char *p = hubc__alloc(s->base, n);
  if (p) memcpy(p, t, n);
  return p;
}

static void str_free(hubc_store *s, char *t) {
  if (t) hubc__free(s->base, t, strlen(t) + 1);
}

hubc__qdef *hubc__qdef_new(hubc_store *s, const char *name, const char *text, hubc_filter *f, const char *sort_by) {
  hubc__qdef *d = hubc__calloc(s->base, sizeof *d);
  if (!d) return NULL;
  d->name = dup(s, name);
  d->text = dup(s, text);
  d->sort_by = dup(s, sort_by);
  if (!d->name || (text && !d->text) || (sort_by && !d->sort_by)) {
    hubc__qdef_free(s, d);
    return NULL;
  }
  if (f) hubc__filter_ref(f), d->f = f;
  return d;
}

void hubc__qdef_free(hubc_store *s, hubc__qdef *d) {
  if (!d) return;
  str_free(s, d->name);
  str_free(s, d->text);
  str_free(s, d->sort_by);
  hubc_filter_free(d->f);
  hubc__free(s->base, d, sizeof *d);
}

typedef struct swap {
  hubc__qdef *from, *to;
} swap;
_Static_assert(sizeof(swap) <= HUBC__UNDO_BYTES, "a definition swap fits an undo entry");

static hubc__qdef **slot_of(hubc_store *s, int kind, hubc_id id) {
  return kind == K ? &A(s)->lists[id - 1] : &A(s)->views[id - 1];
}

void hubc__qdef_put(hubc_store *s, int kind, hubc_id id, hubc__qdef *d) {
  hubc__qdef **p = slot_of(s, kind, id);
  swap sw = {*p, d};
  hubc__txn_push(s, kind, id, &sw, sizeof sw);
  *p = d;
  hubc__txn_dirty(s, kind, id);
}

void hubc__qdef_undo(hubc_store *s, const hubc__undo *u) {
  swap sw;
  memcpy(&sw, u->u.bytes, sizeof sw);
  *slot_of(s, u->kind, u->id) = sw.from;
  if (sw.to != sw.from) hubc__qdef_free(s, sw.to);
}

/* Frees what the committed transaction's swaps superseded. */
static void qdef_commit(hubc_store *s) {
  const hubc__txn *t = &s->txn;
  for (size_t i = 0; i < t->undo_n; i++) {
    const hubc__undo *u = &t->undo[i];
    if (u->kind != K && u->kind != HUBC_REC_VIEW) continue;
    swap sw;
    memcpy(&sw, u->u.bytes, sizeof sw);
    if (sw.from != sw.to) hubc__qdef_free(s, sw.from);
  }
}

/* ---- lists: the calls ---------------------------------------------------- */

static hubc_id find_list(const hubc_store *s, const char *name) {
  for (size_t i = 0; i < A(s)->n_lists; i++) {
    const hubc__qdef *d = A(s)->lists[i];
    if (d && !d->deleted && hubc__qstr_cmp_ci(d->name, strlen(d->name), name, strlen(name)) == 0)
      return (hubc_id)i + 1;
  }
  return 0;
}

static int live_list(const hubc_store *s, hubc_id id, const char *what) {
  const hubc__qdef *d = hubc__list_def(s, id);
  if (!d) return hubc__err(HUBC_ENOTFOUND, "%s: no list with id %lld", what, (long long)id);
  if (d->deleted) return hubc__err(HUBC_ENOTFOUND, "%s: list %lld ('%s') was deleted", what, (long long)id, d->name);
  return 0;
}

static void label_of(char *buf, size_t n, hubc_id id, const char *name) {
  snprintf(buf, n, "list %lld ('%.200s')", (long long)id, name);
}

HUBC_API int hubc_list_create(hubc_id *out_id, hubc_store *s, hubc_id actor, const char *name, const char *filter) {
  const char *what = "create list";
  if (out_id) *out_id = 0;
  int rc = hubc__qdef_check_name(name, what);
  if (rc || (rc = hubc__op_begin(s, actor, HUBC__OP_LIST_DEFINE))) return rc;
  hubc__lists *a = A(s);
  hubc_id id = (hubc_id)a->n_lists + 1;
  hubc_filter *f = NULL;
  hubc__qdef *d = NULL;
  uint32_t w = 0;
  if (find_list(s, name)) rc = hubc__err(HUBC_EEXISTS, "%s: a list named '%.200s' exists (id %lld)", what, name,
                                         (long long)find_list(s, name));
  if (!rc) rc = hubc__grow(s->base, (void **)&a->lists, &a->lists_cap, a->n_lists + 1, sizeof *a->lists);
  if (!rc) rc = hubc__txn_reserve(s, 1);
  if (!rc && filter) rc = hubc__filter_compile_locked(&f, s, filter);
  if (!rc && !(d = hubc__qdef_new(s, name, filter, f, NULL))) rc = hubc__err(HUBC_ENOMEM, "out of memory");
  if (!rc) {
    char label[256];
    label_of(label, sizeof label, id, name);
    rc = hubc__watch_add(&w, s, f, label, NULL, NULL);
  }
  if (!rc) {
    if (!f) hubc__watch_bind_list(s, w, (uint32_t)id);
    d->watch = w;
    a->lists[id - 1] = NULL;
    a->n_lists++; /* undone by restoring n */
    hubc__qdef_put(s, K, id, d);
    d = NULL;
  }
  hubc__qdef_free(s, d);
  hubc_filter_free(f);
  rc = hubc__write_end(s, rc);
  if (!rc && out_id) *out_id = id;
  return rc;
}

HUBC_API int hubc_list_rename(hubc_store *s, hubc_id actor, hubc_id id, const char *name) {
  const char *what = "rename list";
  int rc = hubc__qdef_check_name(name, what);
  if (rc || (rc = hubc__op_begin(s, actor, HUBC__OP_LIST_DEFINE))) return rc;
  rc = live_list(s, id, what);
  hubc_id other = rc ? 0 : find_list(s, name);
  if (other && other != id) rc = hubc__err(HUBC_EEXISTS, "%s: a list named '%.200s' exists (id %lld)", what, name,
                                           (long long)other);
  if (!rc) rc = hubc__txn_reserve(s, 1);
  if (!rc) {
    const hubc__qdef *old = hubc__list_def(s, id);
    hubc__qdef *d = hubc__qdef_new(s, name, old->text, old->f, NULL);
    if (!d) rc = hubc__err(HUBC_ENOMEM, "out of memory");
    else d->watch = old->watch, hubc__qdef_put(s, K, id, d);
  }
  return hubc__write_end(s, rc);
}

HUBC_API int hubc_list_set_filter(hubc_store *s, hubc_id actor, hubc_id id, const char *filter) {
  const char *what = "set list filter";
  if (!filter) return hubc__err(HUBC_EINVAL, "%s: filter is NULL", what);
  int rc = hubc__op_begin(s, actor, HUBC__OP_LIST_DEFINE);
  if (rc) return rc;
  rc = live_list(s, id, what);
  const hubc__qdef *old = rc ? NULL : hubc__list_def(s, id);
  if (old && !old->f)
    rc = hubc__err(HUBC_EINVAL, "%s: list %lld ('%s') is static: its members are added and removed explicitly", what,
                   (long long)id, old->name);
  hubc_filter *f = NULL;
  hubc__qdef *d = NULL;
  if (!rc) rc = hubc__txn_reserve(s, 1);
  if (!rc) rc = hubc__filter_compile_locked(&f, s, filter);
  /* the list exists, so IN LIST <itself> compiles: refuse any path back */
  if (!rc && hubc__filter_reads(s, f, old->watch, 0, 1))
    rc = hubc__err(HUBC_EINVAL, "%s: list %lld ('%s') would read itself (its filter names it, directly or through "
                   "views or other lists)", what, (long long)id, old->name);
  if (!rc && !(d = hubc__qdef_new(s, old->name, filter, f, NULL))) rc = hubc__err(HUBC_ENOMEM, "out of memory");
  if (!rc) {
    d->watch = old->watch;
    hubc__qdef_put(s, K, id, d);
    rc = hubc__watch_refilter(s, d->watch, f); /* members now, lists reading it follow */
  }
  hubc_filter_free(f);
  return hubc__write_end(s, rc);
}

/* A list or view whose definition reads list watch w or view v: its
 * description for a refusal, or 0 if none. */
int hubc__referrer(const hubc_store *s, uint32_t w, uint32_t v, char *buf, size_t n) {
  for (size_t i = 0; i < A(s)->n_views; i++) {
    const hubc__qdef *d = A(s)->views[i];
    if (d && !d->deleted && (!v || i + 1 != v) && d->f && hubc__filter_reads(s, d->f, w, v, 0)) {
      snprintf(buf, n, "view '%.200s'", d->name);
      return 1;
    }
  }
  const char *label = hubc__watch_reader(s, w, v);
  if (label) snprintf(buf, n, "%s", label);
  return label != NULL;
}

HUBC_API int hubc_list_delete(hubc_store *s, hubc_id actor, hubc_id id) {
  const char *what = "delete list";
  int rc = hubc__op_begin(s, actor, HUBC__OP_LIST_DEFINE);
  if (rc) return rc;
  rc = live_list(s, id, what);
  char who[300];
  const hubc__qdef *old = rc ? NULL : hubc__list_def(s, id);
  if (old && hubc__referrer(s, old->watch, 0, who, sizeof who))
    rc = hubc__err(HUBC_EINVAL, "%s: list %lld ('%s') is used by the filter of %s; change or delete that first",
                   what, (long long)id, old->name, who);
  if (!rc) rc = hubc__txn_reserve(s, 1);
  if (!rc) {
    hubc__qdef *d = hubc__qdef_new(s, old->name, old->text, old->f, NULL);
    if (!d) rc = hubc__err(HUBC_ENOMEM, "out of memory");
    else {
      d->deleted = 1;
      hubc__watch_remove(s, old->watch);
      hubc__qdef_put(s, K, id, d);
    }
  }
  return hubc__write_end(s, rc);
}

/* Adds (in = 1) or removes explicit members. */
static int change_members(uint64_t *n_out, hubc_store *s, hubc_id actor, hubc_id id, const hubc_id *ids, size_t n,
                          int in) {
  const char *what = in ? "add to list" : "remove from list";
  if (n_out) *n_out = 0;
  if (n && !ids) return hubc__err(HUBC_EINVAL, "%s: ids is NULL with n = %zu", what, n);
  int rc = hubc__op_begin(s, actor, HUBC__OP_LIST_MEMBERS);
  if (rc) return rc;
  rc = live_list(s, id, what);
  const hubc__qdef *d = rc ? NULL : hubc__list_def(s, id);
  if (d && d->f)
    rc = hubc__err(HUBC_EINVAL, "%s: list %lld ('%s') is active: its members are the contacts its filter selects",
                   what, (long long)id, d->name);
  for (size_t i = 0; in && !rc && i < n; i++) /* every id first: a bad one changes nothing */
    if (!hubc__contact_at(s, ids[i]))
      rc = hubc__err(HUBC_ENOTFOUND, "%s: ids[%zu]: no contact with record id %lld (deleted or never created); "
                     "nothing added", what, i, (long long)ids[i]);
  uint64_t count = 0;
  for (size_t i = 0; !rc && i < n; i++) {
    if (!in && !hubc__contact_at(s, ids[i])) continue; /* not a contact, so not a member */
    int r = hubc__watch_set(s, d->watch, ids[i], in, n);
    if (r < 0) rc = r;
    else count += (uint64_t)r;
  }
  rc = hubc__write_end(s, rc);
  if (!rc && n_out) *n_out = count;
  return rc;
}

HUBC_API int hubc_list_add(uint64_t *n_added, hubc_store *s, hubc_id actor, hubc_id list, const hubc_id *ids,
                           size_t n) {
  return change_members(n_added, s, actor, list, ids, n, 1);
}

HUBC_API int hubc_list_remove(uint64_t *n_removed, hubc_store *s, hubc_id actor, hubc_id list, const hubc_id *ids,
                              size_t n) {
  return change_members(n_removed, s, actor, list, ids, n, 0);
}

HUBC_API int hubc_list_contains(int *out, hubc_store *s, hubc_id list, hubc_id contact) {
  if (!out) return hubc__err(HUBC_EINVAL, "list contains: out is NULL");
  *out = 0;
  int rc = hubc__read_begin(s);
  if (rc) return rc;
  rc = live_list(s, list, "list contains");
  if (!rc) *out = hubc__watch_has(s, hubc__list_def(s, list)->watch, contact);
  return hubc__read_end(s, rc);
}

HUBC_API int hubc_list_count(uint64_t *out, hubc_store *s, hubc_id list) {
  if (!out) return hubc__err(HUBC_EINVAL, "list count: out is NULL");
  *out = 0;
  int rc = hubc__read_begin(s);
  if (rc) return rc;
  rc = live_list(s, list, "list count");
  if (!rc) *out = hubc__watch_count(s, hubc__list_def(s, list)->watch);
  return hubc__read_end(s, rc);
}

HUBC_API int hubc_list_members(size_t *n_out, hubc_id *ids, size_t cap, hubc_store *s, hubc_id list,
                               hubc_id after) {
  if (!n_out) return hubc__err(HUBC_EINVAL, "list members: n_out is NULL");
  *n_out = 0;
  if (!ids) return hubc__err(HUBC_EINVAL, "list members: ids is NULL");
  if (!cap) return hubc__err(HUBC_EINVAL, "list members: cap is 0");
  int rc = hubc__read_begin(s);
  if (rc) return rc;
  rc = live_list(s, list, "list members");
  size_t n = 0;
  if (!rc) {
    uint32_t w = hubc__list_def(s, list)->watch;
    for (int64_t id = after; n < cap && (id = hubc__watch_next(s, w, id)) != 0;) ids[n++] = id;
  }
  *n_out = n;
  rc = hubc__read_end(s, rc);
  return rc ? rc : n ? 0 : HUBC_ITEROVER;
}

HUBC_API int hubc_list_find(hubc_id *out, hubc_store *s, const char *name) {
  if (!out) return hubc__err(HUBC_EINVAL, "find list: out is NULL");
  *out = 0;
  if (!name) return hubc__err(HUBC_EINVAL, "find list: name is NULL");
  int rc = hubc__read_begin(s);
  if (rc) return rc;
  *out = find_list(s, name);
  if (!*out) rc = hubc__err(HUBC_ENOTFOUND, "find list: no list named '%.200s'", name);
  return hubc__read_end(s, rc);
}

HUBC_API int hubc_list_ids(size_t *n_out, hubc_id *ids, size_t cap, hubc_store *s, hubc_id after) {
  if (!n_out) return hubc__err(HUBC_EINVAL, "list ids: n_out is NULL");
  *n_out = 0;
  if (!ids) return hubc__err(HUBC_EINVAL, "list ids: ids is NULL");
  if (!cap) return hubc__err(HUBC_EINVAL, "list ids: cap is 0");
  int rc = hubc__read_begin(s);
  if (rc) return rc;
  size_t n = 0;
  for (size_t i = after > 0 ? (size_t)after : 0; i < A(s)->n_lists && n < cap; i++)
    if (A(s)->lists[i] && !A(s)->lists[i]->deleted) ids[n++] = (hubc_id)i + 1;
  *n_out = n;
  hubc__read_end(s, 0);
  return n ? hubc__ok() : HUBC_ITEROVER;
}

/* ---- snapshots (lists and views) ------------------------------------------ */


/* A snapshot of definition d (lists and views share the layout). */
hubc_list *hubc__qdef_snapshot(hubc_store *s, hubc_id id, const hubc__qdef *d, uint64_t members) {
  size_t ln = strlen(d->name) + 1, lt = d->text ? strlen(d->text) + 1 : 0, ls = d->sort_by ? strlen(d->sort_by) + 1 : 0;
  size_t size = sizeof(hubc_list) + ln + lt + ls;
  hubc_list *l = hubc__alloc(s->base, size);
  if (!l) return NULL;
  char *p = (char *)(l + 1);
  l->base = s->base;
  l->size = size;
  l->id = id;
  l->members = members;
  l->deleted = d->deleted;
  l->desc = d->desc;
  memcpy(p, d->name, ln);
  l->name = p;
  l->filter = lt ? memcpy(p + ln, d->text, lt) : NULL;
  l->sort_by = ls ? memcpy(p + ln + lt, d->sort_by, ls) : NULL;
  hubc__base_ref(s->base);
  return l;
}

void hubc__qdef_snapshot_free(hubc_list *l) {
  if (!l) return;
  hubc__base *b = l->base;
  hubc__free(b, l, l->size);
  hubc__base_unref(b);
}

HUBC_API int hubc_list_get(hubc_list **out, hubc_store *s, hubc_id id) {
  if (!out) return hubc__err(HUBC_EINVAL, "get list: out is NULL");
  *out = NULL;
  int rc = hubc__read_begin(s);
  if (rc) return rc;
  const hubc__qdef *d = hubc__list_def(s, id);
  if (!d) rc = hubc__err(HUBC_ENOTFOUND, "get list: no list with id %lld", (long long)id);
  else if (!(*out = hubc__qdef_snapshot(s, id, d, d->deleted ? 0 : hubc__watch_count(s, d->watch))))
    rc = hubc__err(HUBC_ENOMEM, "out of memory taking a list snapshot");
  return hubc__read_end(s, rc);
}

HUBC_API void hubc_list_free(hubc_list *l) { hubc__qdef_snapshot_free(l); }

static int null_list(const char *what) { return hubc__err(HUBC_EINVAL, "%s: list is NULL", what); }

HUBC_API hubc_id hubc_list_id(const hubc_list *l) {
  if (!l) return null_list("list id"), 0;
  return hubc__ok(), l->id;
}
HUBC_API const char *hubc_list_name(const hubc_list *l) {
  if (!l) return null_list("list name"), (const char *)NULL;
  return hubc__ok(), l->name;
}
HUBC_API const char *hubc_list_filter(const hubc_list *l) {
  if (!l) return null_list("list filter"), (const char *)NULL;
  return hubc__ok(), l->filter;
}
HUBC_API int hubc_list_is_active(const hubc_list *l) {
  if (!l) return null_list("list active"), -1;
  return hubc__ok(), l->filter != NULL;
}
HUBC_API int hubc_list_is_deleted(const hubc_list *l) {
  if (!l) return null_list("list deleted"), -1;
  return hubc__ok(), l->deleted;
}
HUBC_API uint64_t hubc_list_size(const hubc_list *l) {
  if (!l) return null_list("list size"), (uint64_t)0;
  return hubc__ok(), l->members;
}

/* ---- the LIST and LIST_MEMBERS record kinds ------------------------------- */

enum { T_NAME = 1, T_FILTER, T_DELETED };
enum { T_BITS = 1 }; /* members: the chunk's bitmap, little-endian, trailing zero bytes dropped */

static int encode(hubc_store *s, int64_t id, hubc__wr *w) {
  const hubc__qdef *d = hubc__list_def(s, id);
  if (!d) return 1;
  hubc__wr_str(w, T_NAME, d->name);
  if (d->text) hubc__wr_str(w, T_FILTER, d->text);
  hubc__wr_num(w, T_DELETED, d->deleted);
  return 0;
}

#define CHUNK_WORDS ((size_t)1 << (HUBC__WATCH_CHUNK_BITS - 6))

static int encode_members(hubc_store *s, int64_t key, hubc__wr *w) {
  const hubc__qdef *d = hubc__list_def(s, key >> 16);
  if (!d || d->deleted) return 1;
  size_t nw;
  const uint64_t *words = hubc__watch_words(s, d->watch, &nw);
  size_t from = (size_t)(key & 0xffff) * CHUNK_WORDS, to = from + CHUNK_WORDS;
  if (to > nw) to = nw;
  unsigned char buf[CHUNK_WORDS * 8];
  size_t len = 0;
  for (size_t k = from; k < to; k++)
    for (int b = 0; b < 8; b++) {
      buf[(k - from) * 8 + (size_t)b] = (unsigned char)(words[k] >> (8 * b));
      if (buf[(k - from) * 8 + (size_t)b]) len = (k - from) * 8 + (size_t)b + 1;
    }
  if (!len) return 1;
  hubc__wr_bytes(w, T_BITS, buf, len);
  return 0;
}

/* Loading: definitions go into the tables as read; filters are compiled
 * and members placed in finish_load, when every list, view and contact is
 * in (a filter names lists and views in any order). */
static int load_def(hubc_loader *l, int kind, int64_t id, hubc__rd rd, int view) {
  hubc_store *s = l->s;
  hubc__lists *a = A(s);
  if (id < 1 || id > 0xffffffLL) return hubc__corrupt(kind, id, "bad id");
  hubc__qdef ***v = view ? &a->views : &a->lists;
  size_t *n = view ? &a->n_views : &a->n_lists, *cap = view ? &a->views_cap : &a->lists_cap;
  if (hubc__grow_zeroed(s->base, (void **)v, cap, (size_t)id, sizeof **v)) return HUBC_ENOMEM;
  const char *name = NULL, *text = NULL, *sort = NULL;
  int64_t del = 0, desc = 0;
  uint64_t tag;
  hubc__rd body;
  HUBC__FOR_FIELDS(rd, tag, body, kind, id) {
    if (tag == T_NAME) {
      if (hubc__ld_pooled(s, body, &name, kind, id)) return HUBC_ECORRUPT;
    } else if (tag == T_FILTER) {
      if (hubc__ld_pooled(s, body, &text, kind, id)) return HUBC_ECORRUPT;
    } else if (tag == T_DELETED || (view && tag == 5)) {
      int64_t *p = tag == T_DELETED ? &del : &desc;
      if (hubc__ld_int(body, p, kind, id)) return HUBC_ECORRUPT;
      if (*p != 0 && *p != 1) return hubc__corrupt(kind, id, "bad flag");
    } else if (view && tag == 4) {
      if (hubc__ld_pooled(s, body, &sort, kind, id)) return HUBC_ECORRUPT;
    }
  }
  if (!name) return hubc__corrupt(kind, id, "no name");
  if (view && !text) return hubc__corrupt(kind, id, "no filter");
  hubc__qdef *d = hubc__qdef_new(s, name, text, NULL, sort);
  if (!d) return hubc__err(HUBC_ENOMEM, "out of memory loading lists");
  d->deleted = (uint8_t)del;
  d->desc = (uint8_t)desc;
  hubc__qdef_free(s, (*v)[id - 1]);
  (*v)[id - 1] = d;
  if ((size_t)id > *n) *n = (size_t)id;
  return 0;
}

static int load(hubc_loader *l, int64_t id, hubc__rd rd) { return load_def(l, K, id, rd, 0); }
int hubc__view_load(hubc_loader *l, int64_t id, hubc__rd rd) { return load_def(l, HUBC_REC_VIEW, id, rd, 1); }

/* Staged member chunks, in arrival order (a later put or delete of the
 * same chunk wins). */
typedef struct chunk {
  int64_t key;
  unsigned char *bits; /* NULL: deleted */
  size_t len;
} chunk;
typedef struct chunks {
  chunk *v;
  size_t n, cap;
} chunks;

static int stage_chunk(hubc_loader *l, int64_t key, const unsigned char *p, size_t len) {
  hubc_store *s = l->s;
  chunks *st = l->stage[KM];
  if (!st) {
    if (!(st = hubc__calloc(s->base, sizeof *st))) return hubc__err(HUBC_ENOMEM, "out of memory loading lists");
    l->stage[KM] = st;
  }
  if (hubc__grow(s->base, (void **)&st->v, &st->cap, st->n + 1, sizeof *st->v)) return HUBC_ENOMEM;
  chunk c = {key, NULL, len};
  if (p && !(c.bits = hubc__alloc(s->base, len))) return hubc__err(HUBC_ENOMEM, "out of memory loading lists");
  if (p) memcpy(c.bits, p, len);
  st->v[st->n++] = c;
  return 0;
}

static int load_members(hubc_loader *l, int64_t key, hubc__rd rd) {
  if (key < 1 || key > 0xffffffLL << 16 || (key >> 16) < 1) return hubc__corrupt(KM, key, "bad id");
  uint64_t tag;
  hubc__rd body, bits = {NULL, NULL};
  HUBC__FOR_FIELDS(rd, tag, body, KM, key) {
    if (tag == T_BITS) bits = body;
  }
  size_t len = (size_t)(bits.end - bits.p);
  if (!bits.p || !len || len > CHUNK_WORDS * 8 || !bits.end[-1]) return hubc__corrupt(KM, key, "bad member bitmap");
  return stage_chunk(l, key, bits.p, len);
}

static int load_members_del(hubc_loader *l, int64_t key) { return stage_chunk(l, key, NULL, 0); }

static void free_chunks(hubc_store *s, chunks *st) {
  if (!st) return;
  for (size_t i = 0; i < st->n; i++) hubc__free(s->base, st->v[i].bits, st->v[i].len);
  hubc__free(s->base, st->v, st->cap * sizeof *st->v);
  hubc__free(s->base, st, sizeof *st);
}

static int corrupt_msg(int kind, hubc_id id) {
  char msg[300];
  snprintf(msg, sizeof msg, "%s", hubc_error_last());
  return hubc__corrupt(kind, id, msg);
}

static int place_list(hubc_store *s, size_t i, uint8_t *state, int depth);

/* Places every list f reads (through views too) before f's list. */
static int place_reads(hubc_store *s, const hubc_filter *f, uint8_t *state, int depth) {
  int rc = 0;
  for (size_t j = 0; j < f->n_nodes && !rc; j++) {
    const hubc__qnode *n = &f->nodes[j];
    if (n->kind == HUBC__QN_LIST && n->a >= 1 && n->a <= A(s)->n_lists) rc = place_list(s, n->a - 1, state, depth + 1);
    else if (n->kind == HUBC__QN_VIEW) {
      const hubc__qdef *v = hubc__view_def(s, n->a);
      if (v && !v->deleted && v->f) rc = depth > 10000 ? HUBC_ECORRUPT : place_reads(s, v->f, state, depth + 1);
    }
  }
  return rc;
}

/* Registers list i's watch after the lists it reads (state: 0 new, 1 on
 * the path, 2 done). */
static int place_list(hubc_store *s, size_t i, uint8_t *state, int depth) {
  hubc__qdef *d = A(s)->lists[i];
  if (state[i] == 2 || !d || d->deleted || !d->f) return 0;
  if (state[i] == 1 || depth > 10000) return hubc__corrupt(K, (hubc_id)i + 1, "its filter reads itself");
  state[i] = 1;
  int rc = place_reads(s, d->f, state, depth);
  if (rc) return rc;
  char label[256];
  label_of(label, sizeof label, (hubc_id)i + 1, d->name);
  rc = hubc__watch_add(&d->watch, s, d->f, label, NULL, NULL);
  state[i] = 2;
  return rc;
}

/* The last of the selection kinds: compiles every filter, places static
 * members, then evaluates the active lists (after the lists they read). */
static int finish_members(hubc_loader *l, int rc) {
  hubc_store *s = l->s;
  hubc__lists *a = A(s);
  chunks *st = l->stage[KM];
  l->stage[KM] = NULL;
  for (size_t i = 0; !rc && i < a->n_views + a->n_lists; i++) { /* views first: lists' filters may name them */
    int view = i < a->n_views;
    size_t k = view ? i : i - a->n_views;
    hubc__qdef *d = view ? a->views[k] : a->lists[k];
    if (!d) {
      rc = hubc__corrupt(view ? HUBC_REC_VIEW : K, (hubc_id)k + 1, "missing while later ones exist");
      break;
    }
    if (d->deleted || !d->text) continue;
    if (hubc__filter_compile_locked(&d->f, s, d->text)) rc = corrupt_msg(view ? HUBC_REC_VIEW : K, (hubc_id)k + 1);
    if (!rc && view && d->sort_by && hubc__schema_find(s->schema, d->sort_by) < 0)
      rc = hubc__corrupt(HUBC_REC_VIEW, (hubc_id)k + 1, "sorts by a property that does not exist");
  }
  for (size_t k = 0; !rc && k < a->n_views; k++) { /* no view reads itself */
    const hubc__qdef *d = a->views[k];
    if (!d->deleted && hubc__filter_reads(s, d->f, 0, (uint32_t)k + 1, 1))
      rc = hubc__corrupt(HUBC_REC_VIEW, (hubc_id)k + 1, "its filter reads itself");
  }
  for (size_t k = 0; !rc && k < a->n_lists; k++) { /* static lists: their members */
    hubc__qdef *d = a->lists[k];
    if (d->deleted || d->f) continue;
    char label[256];
    label_of(label, sizeof label, (hubc_id)k + 1, d->name);
    if (!(rc = hubc__watch_add(&d->watch, s, NULL, label, NULL, NULL)))
      hubc__watch_bind_list(s, d->watch, (uint32_t)k + 1);
  }
  for (size_t i = 0; st && !rc && i < st->n; i++) {
    const chunk *c = &st->v[i];
    /* the last record of this chunk wins */
    int later = 0;
    for (size_t j = i + 1; j < st->n && !later; j++) later = st->v[j].key == c->key;
    if (later || !c->bits) continue;
    const hubc__qdef *d = hubc__list_def(s, c->key >> 16);
    if (!d || d->deleted || d->f) {
      rc = hubc__corrupt(KM, c->key, "members of a list that is not a live static list");
      break;
    }
    int64_t base = (c->key & 0xffff) << 16;
    for (size_t b = 0; !rc && b < c->len * 8; b++) {
      if (!(c->bits[b / 8] >> (b % 8) & 1)) continue;
      int64_t id = base + (int64_t)b;
      if (!hubc__contact_at(s, id)) rc = hubc__corrupt(KM, c->key, "a member is not a contact");
      else if (hubc__watch_set(s, d->watch, id, 1, 0) < 0) rc = HUBC_ENOMEM;
    }
  }
  free_chunks(s, st);
  uint8_t *state = rc ? NULL : hubc__calloc(s->base, a->n_lists + 1);
  if (!rc && !state) rc = hubc__err(HUBC_ENOMEM, "out of memory loading lists");
  for (size_t k = 0; !rc && k < a->n_lists; k++) rc = place_list(s, k, state, 0);
  hubc__free(s->base, state, a->n_lists + 1);
  return rc;
}

static int dump(const hubc_store *s, hubc__out *o) {
  for (size_t i = 0; i < A(s)->n_lists; i++) {
    const hubc__qdef *d = A(s)->lists[i];
    if (!d) continue;
    hubc__out_printf(o, "list %zu deleted=%d members=%llu name=", i + 1, d->deleted,
                     (unsigned long long)(d->deleted ? 0 : hubc__watch_count(s, d->watch)));
    hubc__out_text(o, d->name, 1);
    if (d->text) {
      hubc__out_put(o, " filter=", 8);
      hubc__out_text(o, d->text, 1);
    }
    hubc__out_put(o, " ids=", 5);
    int64_t id = 0;
    for (int first = 1; !d->deleted && (id = hubc__watch_next(s, d->watch, id)) != 0; first = 0)
      hubc__out_printf(o, "%s%lld", first ? "" : ",", (long long)id);
    hubc__out_put(o, "\n", 1);
  }
  return 0;
}

static int check(hubc_store *s) { return hubc__watch_check(s); }

static void free_area(hubc_store *s) {
  hubc__lists *a = A(s);
  for (size_t i = 0; i < a->n_lists; i++) hubc__qdef_free(s, a->lists[i]);
  for (size_t i = 0; i < a->n_views; i++) hubc__qdef_free(s, a->views[i]);
  hubc__free(s->base, a->lists, a->lists_cap * sizeof *a->lists);
  hubc__free(s->base, a->views, a->views_cap * sizeof *a->views);
  hubc__watch_free_all(s);
  a->lists = a->views = NULL;
  a->n_lists = a->n_views = a->lists_cap = a->views_cap = 0;
}

static void txn_begin(hubc_store *s) {
  A(s)->lists_mark = A(s)->n_lists;
  A(s)->views_mark = A(s)->n_views;
  hubc__watch_txn_begin(s);
}

static void txn_rollback(hubc_store *s) {
  A(s)->n_lists = A(s)->lists_mark;
  A(s)->n_views = A(s)->views_mark;
  hubc__watch_txn_rollback(s);
}

static void txn_commit(hubc_store *s) {
  qdef_commit(s);
  hubc__watch_txn_commit(s);
}

/* No list or view changed (a view's swap is freed by txn_commit) and no
 * active list follows contacts: nothing to finalize, commit or roll back
 * (kind.h), so a store without lists pays nothing per call. */
static int txn_idle(const hubc_store *s) {
  const hubc__lists *a = A(s);
  const hubc__watches *ws = &a->watch;
  return a->n_lists == a->lists_mark && a->n_views == a->views_mark && !ws->live && !ws->log_n && !ws->words_n &&
         !ws->edges_n && !ws->touched_n && !ws->err && !(s->txn.touched & (1ull << hubc__kind_pos_[HUBC_REC_VIEW]));
}

const hubc__kind hubc__kind_list = {
    .kind = K,
    .name = "list",
    .encode = encode,
    .load = load,
    .dump = dump,
    .check = check,
    .free = free_area,
    .txn_begin = txn_begin,
    .txn_finalize = hubc__watch_txn_finalize,
    .undo = hubc__qdef_undo,
    .txn_rollback = txn_rollback,
    .txn_commit = txn_commit,
    .txn_idle = txn_idle,
};

const hubc__kind hubc__kind_list_members = {
    .kind = KM,
    .name = "list members",
    .encode = encode_members,
    .load = load_members,
    .load_del = load_members_del,
    .finish_load = finish_members,
};
