/* Saved views (S3): a named filter plus a sort, readable by name, usable
 * in filters as IN VIEW 'name', and the VIEW record kind. A view that
 * reads itself (directly or through other views and lists) is refused at
 * definition; one that others read cannot be renamed or deleted. */
#include <stdio.h>
#include <string.h>

#include "persist/codec.h"
#include "query/lists.h"
#include "query/query.h"
#include "query/watch.h"
#include "store/dump.h"
#include "store/store.h"
#include "user/perm.h"

#define K HUBC_REC_VIEW
#define A(s) (&(s)->lists)

int hubc__view_load(hubc_loader *l, int64_t id, hubc__rd rd); /* list.c: one loader for both */

hubc_id hubc__view_find(const hubc_store *s, const char *name) {
  for (size_t i = 0; i < A(s)->n_views; i++) {
    const hubc__qdef *d = A(s)->views[i];
    if (d && !d->deleted && hubc__qstr_cmp_ci(d->name, strlen(d->name), name, strlen(name)) == 0)
      return (hubc_id)i + 1;
  }
  return 0;
}

static int live_view(const hubc_store *s, hubc_id id, const char *what) {
  const hubc__qdef *d = hubc__view_def(s, id);
  if (!d) return hubc__err(HUBC_ENOTFOUND, "%s: no view with id %lld", what, (long long)id);
  if (d->deleted) return hubc__err(HUBC_ENOTFOUND, "%s: view %lld ('%s') was deleted", what, (long long)id, d->name);
  return 0;
}

/* The sort property as stored (its internal name), or an error. */
static int sort_prop(hubc_store *s, const char *sort_by, const char **out, const char *what) {
  *out = NULL;
  if (!sort_by || !*sort_by) return 0;
  int p = hubc__schema_find(s->schema, sort_by);
  if (p < 0) return hubc__err(HUBC_ENOTFOUND, "%s: sort property '%.100s' does not exist", what, sort_by);
  *out = s->schema->props[p].name;
  return 0;
}

/* Compiles `text` for view `id` (already in the table under its name, so
 * that a self-reference resolves and is caught here, not as "unknown"). */
static int compile_for(hubc_filter **f, hubc_store *s, hubc_id id, const char *name, const char *text,
                       const char *what) {
  int rc = hubc__filter_compile_locked(f, s, text);
  if (rc) return rc;
  if (hubc__filter_reads(s, *f, 0, (uint32_t)id, 1)) {
    hubc_filter_free(*f);
    *f = NULL;
    return hubc__err(HUBC_EINVAL, "%s: view '%.200s' would read itself (its filter names it, directly or through "
                     "other views or lists)", what, name);
  }
  return 0;
}

HUBC_API int hubc_view_create(hubc_id *out_id, hubc_store *s, hubc_id actor, const char *name, const char *filter,
                              const char *sort_by, int descending) {
  const char *what = "create view";
  if (out_id) *out_id = 0;
  int rc = hubc__qdef_check_name(name, what);
  if (!rc && !filter) rc = hubc__err(HUBC_EINVAL, "%s: filter is NULL", what);
  if (!rc && descending != 0 && descending != 1) rc = hubc__err(HUBC_EINVAL, "%s: descending must be 0 or 1", what);
  if (rc || (rc = hubc__op_begin(s, actor, HUBC__OP_LIST_DEFINE))) return rc;
  hubc__lists *a = A(s);
  hubc_id id = (hubc_id)a->n_views + 1;
  const char *sort = NULL;
  hubc_filter *f = NULL;
  hubc__qdef *d = NULL, *placeholder = NULL;
  hubc_id other = hubc__view_find(s, name);
  if (other) rc = hubc__err(HUBC_EEXISTS, "%s: a view named '%.200s' exists (id %lld)", what, name, (long long)other);
  if (!rc) rc = sort_prop(s, sort_by, &sort, what);
  if (!rc) rc = hubc__grow(s->base, (void **)&a->views, &a->views_cap, a->n_views + 1, sizeof *a->views);
  if (!rc) rc = hubc__txn_reserve(s, 2);
  if (!rc && !(placeholder = hubc__qdef_new(s, name, filter, NULL, sort))) rc = hubc__err(HUBC_ENOMEM, "out of memory");
  if (!rc) {
    a->views[id - 1] = NULL;
    a->n_views++; /* undone by restoring n */
    hubc__qdef_put(s, K, id, placeholder);
    rc = compile_for(&f, s, id, name, filter, what);
  }
  if (!rc && !(d = hubc__qdef_new(s, name, filter, f, sort))) rc = hubc__err(HUBC_ENOMEM, "out of memory");
  if (!rc) {
    d->desc = (uint8_t)descending;
    hubc__qdef_put(s, K, id, d);
  }
  hubc_filter_free(f);
  rc = hubc__write_end(s, rc);
  if (!rc && out_id) *out_id = id;
  return rc;
}

HUBC_API int hubc_view_update(hubc_store *s, hubc_id actor, hubc_id id, const char *filter, const char *sort_by,
                              int descending) {
  const char *what = "update view";
  if (descending != 0 && descending != 1) return hubc__err(HUBC_EINVAL, "%s: descending must be 0 or 1", what);
  int rc = hubc__op_begin(s, actor, HUBC__OP_LIST_DEFINE);
  if (rc) return rc;
  rc = live_view(s, id, what);
  const hubc__qdef *old = rc ? NULL : hubc__view_def(s, id);
  const char *sort = NULL;
  hubc_filter *f = NULL;
  hubc__qdef *d = NULL;
  if (!rc) rc = sort_prop(s, sort_by, &sort, what);
  if (!rc) rc = hubc__txn_reserve(s, 1);
  if (!rc && filter) rc = compile_for(&f, s, id, old->name, filter, what);
  if (!rc && !(d = hubc__qdef_new(s, old->name, filter ? filter : old->text, filter ? f : old->f, sort)))
    rc = hubc__err(HUBC_ENOMEM, "out of memory");
  if (!rc) {
    d->desc = (uint8_t)descending;
    hubc__qdef_put(s, K, id, d);
    if (filter) rc = hubc__watch_view_changed(s, (uint32_t)id); /* active lists reading it follow */
  }
  hubc_filter_free(f);
  return hubc__write_end(s, rc);
}

/* Refuses to rename or delete a view others read (their filter texts name
 * it). */
static int unreferenced(hubc_store *s, hubc_id id, const char *what) {
  char who[300];
  if (!hubc__referrer(s, 0, (uint32_t)id, who, sizeof who)) return 0;
  return hubc__err(HUBC_EINVAL, "%s: view %lld ('%s') is used by the filter of %s; change or delete that first", what,
                   (long long)id, hubc__view_def(s, id)->name, who);
}

HUBC_API int hubc_view_rename(hubc_store *s, hubc_id actor, hubc_id id, const char *name) {
  const char *what = "rename view";
  int rc = hubc__qdef_check_name(name, what);
  if (rc || (rc = hubc__op_begin(s, actor, HUBC__OP_LIST_DEFINE))) return rc;
  rc = live_view(s, id, what);
  hubc_id other = rc ? 0 : hubc__view_find(s, name);
  if (other && other != id)
    rc = hubc__err(HUBC_EEXISTS, "%s: a view named '%.200s' exists (id %lld)", what, name, (long long)other);
  if (!rc) rc = unreferenced(s, id, what);
  if (!rc) rc = hubc__txn_reserve(s, 1);
  if (!rc) {
    const hubc__qdef *old = hubc__view_def(s, id);
    hubc__qdef *d = hubc__qdef_new(s, name, old->text, old->f, old->sort_by);
    if (!d) rc = hubc__err(HUBC_ENOMEM, "out of memory");
    else d->desc = old->desc, hubc__qdef_put(s, K, id, d);
  }
  return hubc__write_end(s, rc);
}

HUBC_API int hubc_view_delete(hubc_store *s, hubc_id actor, hubc_id id) {
  const char *what = "delete view";
  int rc = hubc__op_begin(s, actor, HUBC__OP_LIST_DEFINE);
  if (rc) return rc;
  rc = live_view(s, id, what);
  if (!rc) rc = unreferenced(s, id, what);
  if (!rc) rc = hubc__txn_reserve(s, 1);
  if (!rc) {
    const hubc__qdef *old = hubc__view_def(s, id);
    hubc__qdef *d = hubc__qdef_new(s, old->name, old->text, NULL, old->sort_by);
    if (!d) rc = hubc__err(HUBC_ENOMEM, "out of memory");
    else d->desc = old->desc, d->deleted = 1, hubc__qdef_put(s, K, id, d);
  }
  return hubc__write_end(s, rc);
}

HUBC_API int hubc_view_find(hubc_id *out, hubc_store *s, const char *name) {
  if (!out) return hubc__err(HUBC_EINVAL, "find view: out is NULL");
  *out = 0;
  if (!name) return hubc__err(HUBC_EINVAL, "find view: name is NULL");
  int rc = hubc__read_begin(s);
  if (rc) return rc;
  *out = hubc__view_find(s, name);
  if (!*out) rc = hubc__err(HUBC_ENOTFOUND, "find view: no view named '%.200s'", name);
  return hubc__read_end(s, rc);
}

HUBC_API int hubc_view_ids(size_t *n_out, hubc_id *ids, size_t cap, hubc_store *s, hubc_id after) {
  if (!n_out) return hubc__err(HUBC_EINVAL, "view ids: n_out is NULL");
  *n_out = 0;
  if (!ids) return hubc__err(HUBC_EINVAL, "view ids: ids is NULL");
  if (!cap) return hubc__err(HUBC_EINVAL, "view ids: cap is 0");
  int rc = hubc__read_begin(s);
  if (rc) return rc;
  size_t n = 0;
  for (size_t i = after > 0 ? (size_t)after : 0; i < A(s)->n_views && n < cap; i++)
    if (A(s)->views[i] && !A(s)->views[i]->deleted) ids[n++] = (hubc_id)i + 1;
  *n_out = n;
  hubc__read_end(s, 0);
  return n ? hubc__ok() : HUBC_ITEROVER;
}

/* ---- snapshots (the list snapshot's layout, list.c) ---------------------- */


HUBC_API int hubc_view_get(hubc_view **out, hubc_store *s, hubc_id id) {
  if (!out) return hubc__err(HUBC_EINVAL, "get view: out is NULL");
  *out = NULL;
  int rc = hubc__read_begin(s);
  if (rc) return rc;
  const hubc__qdef *d = hubc__view_def(s, id);
  if (!d) rc = hubc__err(HUBC_ENOTFOUND, "get view: no view with id %lld", (long long)id);
  else if (!(*out = (hubc_view *)hubc__qdef_snapshot(s, id, d, 0)))
    rc = hubc__err(HUBC_ENOMEM, "out of memory taking a view snapshot");
  return hubc__read_end(s, rc);
}

HUBC_API void hubc_view_free(hubc_view *v) { hubc__qdef_snapshot_free((hubc_list *)v); }

#define V(v) ((const hubc_list *)(const void *)(v))
static int null_view(const char *what) { return hubc__err(HUBC_EINVAL, "%s: view is NULL", what); }

HUBC_API hubc_id hubc_view_id(const hubc_view *v) {
  if (!v) return null_view("view id"), 0;
  return hubc__ok(), V(v)->id;
}
HUBC_API const char *hubc_view_name(const hubc_view *v) {
  if (!v) return null_view("view name"), (const char *)NULL;
  return hubc__ok(), V(v)->name;
}
HUBC_API const char *hubc_view_filter(const hubc_view *v) {
  if (!v) return null_view("view filter"), (const char *)NULL;
  return hubc__ok(), V(v)->filter;
}
HUBC_API const char *hubc_view_sort_by(const hubc_view *v) {
  if (!v) return null_view("view sort"), (const char *)NULL;
  return hubc__ok(), V(v)->sort_by;
}
HUBC_API int hubc_view_descending(const hubc_view *v) {
  if (!v) return null_view("view descending"), -1;
  return hubc__ok(), V(v)->desc;
}
HUBC_API int hubc_view_is_deleted(const hubc_view *v) {
  if (!v) return null_view("view deleted"), -1;
  return hubc__ok(), V(v)->deleted;
}

/* ---- the VIEW record kind ------------------------------------------------ */

enum { T_NAME = 1, T_FILTER, T_DELETED, T_SORT, T_DESC }; /* the list record's tags, then the sort */

static int encode(hubc_store *s, int64_t id, hubc__wr *w) {
  const hubc__qdef *d = hubc__view_def(s, id);
  if (!d) return 1;
  hubc__wr_str(w, T_NAME, d->name);
  hubc__wr_str(w, T_FILTER, d->text);
  hubc__wr_num(w, T_DELETED, d->deleted);
  if (d->sort_by) hubc__wr_str(w, T_SORT, d->sort_by);
  hubc__wr_num(w, T_DESC, d->desc);
  return 0;
}

static int dump(const hubc_store *s, hubc__out *o) {
  for (size_t i = 0; i < A(s)->n_views; i++) {
    const hubc__qdef *d = A(s)->views[i];
    if (!d) continue;
    hubc__out_printf(o, "view %zu deleted=%d sort=%s%s name=", i + 1, d->deleted, d->sort_by ? d->sort_by : "-",
                     d->desc ? ":desc" : "");
    hubc__out_text(o, d->name, 1);
    hubc__out_put(o, " filter=", 8);
    hubc__out_text(o, d->text, 0);
    hubc__out_put(o, "\n", 1);
  }
  return 0;
}

const hubc__kind hubc__kind_view = {
    .kind = K,
    .name = "view",
    .encode = encode,
    .load = hubc__view_load,
    .dump = dump,
    .undo = hubc__qdef_undo,
};
