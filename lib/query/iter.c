/* Query iterators (S1 results): the contacts a filter selects, as ids or
 * snapshots in batches, in record-id order (read lazily) or sorted by one
 * property (fixed at creation), with a limit and a keyset cursor: a page
 * continues strictly after the (value, id) of the last result, so paging
 * stays stable while contacts change. */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/query.h"
#include "util/text.h"
#include "util/version.h"

/* Sort keys: doubles (numbers), integers (datetimes, bools, options, the
 * reason id) or case-insensitive strings. */
enum { K_DOUBLE = 1, K_INT, K_STRING };

typedef struct qkey {
  union {
    double d;
    int64_t i;
  } u;
  const char *s; /* K_STRING: in the item's record (referenced) or the cursor */
  uint32_t len;
  uint8_t known;
} qkey;

typedef struct qitem {
  int64_t id;
  hubc__rec *rec; /* referenced when the key points into it */
  qkey key;
} qitem;

struct hubc_query_iterator {
  hubc_store *store;
  hubc__base *base; /* freeing needs no store: it may be closed by then */
  const hubc_filter *filter;
  hubc_filter *view_filter; /* opts->view: the view's filter when created (a reference) */
  int by_id;        /* record-id order: read lazily */
  int desc;
  int key_kind;
  uint32_t prop;    /* the sort property */
  const char *prop_name; /* its name (schema strings live as long as the base) */
  uint64_t limit, returned;
  int64_t next;     /* by_id: the next id to look at (0: past the end) */
  qitem *items;     /* sorted: the selection, in order */
  size_t n_items, items_cap, pos;
  /* the position the cursor names: last result, or the start cursor */
  int have_pos;
  qitem at;
  char *at_str; /* the start cursor's decoded string key */
  size_t at_str_cap;
  char *cursor; /* rendered */
  size_t cursor_cap;
};

/* The iterator's selection: the filter's contacts, and the view's. */
static int selects(const hubc_store *s, const hubc_query_iterator *it, const hubc__rec *r) {
  return hubc__filter_eval(s, it->filter, r) && (!it->view_filter || hubc__filter_eval(s, it->view_filter, r));
}

static int key_kind_of(uint32_t prop, int type) {
  if (prop == HUBC__P_MK_REASON_ID) return K_INT; /* an id: by number */
  if (type == HUBC_PROP_NUMBER) return K_DOUBLE;
  return type == HUBC_PROP_STRING ? K_STRING : K_INT;
}

static void key_of(const hubc_store *s, const hubc_query_iterator *it, const hubc__rec *r, qkey *k) {
  hubc__qval v;
  int type = it->key_kind == K_DOUBLE ? HUBC_PROP_NUMBER : it->key_kind == K_STRING ? HUBC_PROP_STRING : -1;
  if (type < 0) type = s->schema->props[it->prop].type;
  k->known = (uint8_t)hubc__qval_get(s, r, it->prop, type, &v);
  k->s = NULL;
  k->len = 0;
  k->u.i = 0;
  if (!k->known) return;
  if (it->key_kind == K_DOUBLE) k->u.d = v.d;
  else if (it->key_kind == K_STRING) k->s = v.s, k->len = (uint32_t)v.len;
  else k->u.i = v.i;
}

/* The sort order: values in the asked direction, unknown values last,
 * ties by id ascending. */
static int item_cmp(const hubc_query_iterator *it, const qitem *a, const qitem *b) {
  if (a->key.known != b->key.known) return a->key.known ? -1 : 1;
  if (a->key.known) {
    int c;
    if (it->key_kind == K_STRING) c = hubc__qstr_cmp_ci(a->key.s, a->key.len, b->key.s, b->key.len);
    else if (it->key_kind == K_DOUBLE) c = a->key.u.d < b->key.u.d ? -1 : a->key.u.d > b->key.u.d;
    else c = a->key.u.i < b->key.u.i ? -1 : a->key.u.i > b->key.u.i;
    if (c) return it->desc ? -c : c;
  }
  return a->id < b->id ? -1 : a->id > b->id;
}

/* A max-heap on item_cmp: the top is the last in sort order. */
static void sift_down(const hubc_query_iterator *it, qitem *h, size_t n, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, m = i;
    if (l < n && item_cmp(it, &h[l], &h[m]) > 0) m = l;
    if (l + 1 < n && item_cmp(it, &h[l + 1], &h[m]) > 0) m = l + 1;
    if (m == i) return;
    qitem t = h[i];
    h[i] = h[m];
    h[m] = t;
    i = m;
  }
}

static void sift_up(const hubc_query_iterator *it, qitem *h, size_t i) {
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (item_cmp(it, &h[i], &h[p]) <= 0) return;
    qitem t = h[i];
    h[i] = h[p];
    h[p] = t;
    i = p;
  }
}

/* Selects the matches after the start position, keeping the first
 * `limit` in sort order (a bounded heap), then sorts them (heapsort). */
static int collect_sorted(hubc_query_iterator *it, hubc_store *s) {
  size_t keep = it->limit && it->limit < SIZE_MAX ? (size_t)it->limit : SIZE_MAX;
  int64_t end = hubc__id_end(s);
  for (int64_t id = 1; id < end; id++) {
    hubc__rec *r = s->contacts.recs[id];
    if (!r || !selects(s, it, r)) continue;
    qitem x = {id, r, {{0}, NULL, 0, 0}};
    key_of(s, it, r, &x.key);
    if (it->have_pos && item_cmp(it, &x, &it->at) <= 0) continue;
    if (it->n_items < keep) {
      if (hubc__grow(s->base, (void **)&it->items, &it->items_cap, it->n_items + 1, sizeof *it->items)) {
        for (size_t i = 0; i < it->n_items; i++) it->items[i].rec = NULL; /* no reference taken yet */
        return hubc__err(HUBC_ENOMEM, "query: out of memory sorting %zu contacts", it->n_items + 1);
      }
      it->items[it->n_items] = x;
      sift_up(it, it->items, it->n_items++);
    } else if (item_cmp(it, &x, &it->items[0]) < 0) {
      it->items[0] = x;
      sift_down(it, it->items, it->n_items, 0);
    }
  }
  for (size_t n = it->n_items; n > 1; n--) {
    qitem t = it->items[0];
    it->items[0] = it->items[n - 1];
    it->items[n - 1] = t;
    sift_down(it, it->items, n - 1, 0);
  }
  /* string keys point into their records: keep those alive */
  for (size_t i = 0; i < it->n_items; i++) {
    if (it->key_kind == K_STRING) atomic_fetch_add_explicit(&it->items[i].rec->refs, 1, memory_order_relaxed);
    else it->items[i].rec = NULL;
  }
  return 0;
}

/* ---- cursors ------------------------------------------------------------
 * "q1:<property>:<a|d>:<id>:<key>", key: "-" unknown, "n" + 16 hex digits
 * of a double's bits, "i" + a decimal, "s" + the string's bytes in hex;
 * empty in record-id order. */

static int hexval(char c) {
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int bad_cursor(const char *cursor, const char *why) {
  return hubc__err(HUBC_EINVAL, "query: cursor '%.60s' %s", cursor, why);
}

static int parse_cursor(hubc_query_iterator *it, const hubc_store *s, const char *c) {
  const char *name = it->prop_name;
  size_t nl = strlen(name);
  if (strncmp(c, "q1:", 3) != 0) return bad_cursor(c, "was not made by hubc_query_iterator_cursor");
  const char *p = c + 3;
  if (strncmp(p, name, nl) != 0 || p[nl] != ':' || (p[nl + 1] != 'a' && p[nl + 1] != 'd') || p[nl + 2] != ':' ||
      (p[nl + 1] == 'd') != it->desc) {
    char want[160];
    snprintf(want, sizeof want, "belongs to another sort (this iterator sorts by %s %s)", name,
             it->desc ? "descending" : "ascending");
    return bad_cursor(c, want);
  }
  p += nl + 3;
  uint64_t id = 0;
  if (*p < '1' || *p > '9') return bad_cursor(c, "has no record id");
  for (; *p >= '0' && *p <= '9'; p++) {
    if (id > (uint64_t)INT64_MAX / 10) return bad_cursor(c, "has a record id out of range");
    id = id * 10 + (uint64_t)(*p - '0');
  }
  if (*p++ != ':') return bad_cursor(c, "is malformed after the record id");
  it->at.id = (int64_t)id;
  qkey *k = &it->at.key;
  memset(k, 0, sizeof *k);
  if (it->by_id) {
    if (*p) return bad_cursor(c, "has a value, but this iterator is in record-id order");
  } else if (p[0] == '-' && !p[1]) {
    k->known = 0;
  } else if (it->key_kind == K_DOUBLE && p[0] == 'n' && strlen(p) == 17) {
    uint64_t bits = 0;
    for (int i = 1; i <= 16; i++) {
      int h = hexval(p[i]);
      if (h < 0) return bad_cursor(c, "has a malformed number");
      bits = bits << 4 | (uint64_t)h;
    }
    memcpy(&k->u.d, &bits, sizeof bits);
    if (k->u.d != k->u.d) return bad_cursor(c, "has a malformed number");
    k->known = 1;
  } else if (it->key_kind == K_INT && p[0] == 'i') {
    char *e = NULL;
    long long v = strtoll(p + 1, &e, 10);
    if (!p[1] || *e || v == LLONG_MIN || v == LLONG_MAX) return bad_cursor(c, "has a malformed integer");
    k->u.i = v;
    k->known = 1;
  } else if (it->key_kind == K_STRING && p[0] == 's' && strlen(p + 1) % 2 == 0) {
    size_t n = strlen(p + 1) / 2;
    if (n > HUBC_MAX_VALUE_BYTES) return bad_cursor(c, "has a value longer than any property value");
    if (hubc__grow(s->base, (void **)&it->at_str, &it->at_str_cap, n + 1, 1))
      return hubc__err(HUBC_ENOMEM, "query: out of memory reading a cursor");
    for (size_t i = 0; i < n; i++) {
      int hi = hexval(p[1 + 2 * i]), lo = hexval(p[2 + 2 * i]);
      if (hi < 0 || lo < 0) return bad_cursor(c, "has a malformed string");
      it->at_str[i] = (char)(hi << 4 | lo);
    }
    it->at_str[n] = '\0';
    k->s = it->at_str;
    k->len = (uint32_t)n;
    k->known = 1;
  } else {
    return bad_cursor(c, "has a value that does not fit the sort property's type");
  }
  it->have_pos = 1;
  return 0;
}

static const char *render_cursor(hubc_query_iterator *it) {
  if (!it->have_pos) return "";
  const qkey *k = &it->at.key;
  size_t need = strlen(it->prop_name) + 2 * (size_t)k->len + 64;
  if (hubc__grow(it->base, (void **)&it->cursor, &it->cursor_cap, need, 1)) {
    hubc__err(HUBC_ENOMEM, "query: out of memory rendering a cursor");
    return NULL;
  }
  static const char hex[] = "0123456789abcdef";
  char *w = it->cursor;
  w += sprintf(w, "q1:%s:%c:%" PRId64 ":", it->prop_name, it->desc ? 'd' : 'a', it->at.id);
  if (it->by_id) {
  } else if (!k->known) {
    *w++ = '-';
  } else if (it->key_kind == K_DOUBLE) {
    uint64_t bits;
    memcpy(&bits, &k->u.d, sizeof bits);
    *w++ = 'n';
    for (int i = 15; i >= 0; i--) *w++ = hex[bits >> (4 * i) & 15];
  } else if (it->key_kind == K_INT) {
    w += sprintf(w, "i%" PRId64, k->u.i);
  } else {
    *w++ = 's';
    for (uint32_t i = 0; i < k->len; i++) {
      *w++ = hex[(unsigned char)k->s[i] >> 4];
      *w++ = hex[(unsigned char)k->s[i] & 15];
    }
  }
  *w = '\0';
  hubc__ok();
  return it->cursor;
}

/* ---- iterators ---------------------------------------------------------- */

static void items_release(hubc_query_iterator *it) {
  for (size_t i = 0; i < it->n_items; i++) hubc__rec_unref(it->base, it->items[i].rec);
  hubc__free(it->base, it->items, it->items_cap * sizeof *it->items);
  it->items = NULL;
  it->n_items = it->items_cap = 0;
}

/* Bytes of the options of each version (util/version.h). */
static size_t options_size(unsigned int version) {
  return version == 1 ? HUBC__VERSION_END(hubc_query_options, cursor) : sizeof(hubc_query_options);
}

HUBC_API int hubc_query_options_init(hubc_query_options *o, unsigned int version) {
  if (!o) return hubc__err(HUBC_EINVAL, "query options: opts is NULL");
  int rc = hubc__version_check(version, HUBC_QUERY_OPTIONS_VERSION, "query options");
  if (rc) return rc;
  memset(o, 0, options_size(version));
  o->version = version;
  return hubc__ok();
}

/* opts->view: the view's filter joins the selection, and without sort_by
 * its sort is the iterator's. */
static int use_view(hubc_query_iterator *it, hubc_store *s, hubc_id view, const char **sort_by) {
  const hubc__qdef *d = hubc__view_def(s, view);
  if (!d) return hubc__err(HUBC_ENOTFOUND, "query: no view with id %lld", (long long)view);
  if (d->deleted) return hubc__err(HUBC_ENOTFOUND, "query: view %lld ('%s') was deleted", (long long)view, d->name);
  hubc__filter_ref(d->f);
  it->view_filter = d->f;
  if (!*sort_by) *sort_by = d->sort_by, it->desc = d->desc;
  return 0;
}

static int setup(hubc_query_iterator *it, hubc_store *s, const hubc_query_options *o) {
  it->prop = HUBC__P_OBJECT_ID;
  const char *sort_by = o ? o->sort_by : NULL;
  if (o && o->view) {
    int rc = use_view(it, s, o->view, &sort_by);
    if (rc) return rc;
  }
  if (sort_by) {
    int prop = hubc__schema_find(s->schema, sort_by);
    if (prop < 0) {
      if (!hubc__utf8_valid(sort_by, strlen(sort_by)))
        return hubc__err(HUBC_EINVAL, "query: sort_by is not valid UTF-8");
      return hubc__err(HUBC_ENOTFOUND, "query: sort property '%.100s' does not exist", sort_by);
    }
    it->prop = (uint32_t)prop;
  }
  it->prop_name = s->schema->props[it->prop].name;
  it->by_id = it->prop == HUBC__P_OBJECT_ID;
  it->key_kind = key_kind_of(it->prop, s->schema->props[it->prop].type);
  if (o && o->cursor && *o->cursor) {
    int rc = parse_cursor(it, s, o->cursor);
    if (rc) return rc;
  }
  if (it->by_id) {
    it->next = it->have_pos ? it->at.id + (it->desc ? -1 : 1) : it->desc ? hubc__id_end(s) - 1 : 1;
    return 0;
  }
  return collect_sorted(it, s);
}

HUBC_API int hubc_query_iterator_new(hubc_query_iterator **out, hubc_store *s, const hubc_filter *f,
                                     const hubc_query_options *o) {
  if (!out) return hubc__err(HUBC_EINVAL, "query: out is NULL");
  *out = NULL;
  if (!s) return hubc__err(HUBC_EINVAL, "query: store is NULL");
  hubc_query_options cur; /* the caller's version, later fields zero */
  int rc = o ? hubc__version_check(o->version, HUBC_QUERY_OPTIONS_VERSION, "query options") : 0;
  if (rc) return rc;
  if (o) hubc__version_in(&cur, sizeof cur, o, options_size(o->version)), o = &cur;
  if (o && o->descending != 0 && o->descending != 1)
    return hubc__err(HUBC_EINVAL, "query options: descending must be 0 or 1, not %d", o->descending);
  if (o && o->view && o->descending && !o->sort_by)
    return hubc__err(HUBC_EINVAL, "query options: descending without sort_by: a view brings its own direction "
                     "(give sort_by to sort otherwise)");
  rc = hubc__filter_check(s, f, "query");
  if (rc) return rc;
  hubc_query_iterator *it = hubc__calloc(s->base, sizeof *it);
  if (!it) return hubc__err(HUBC_ENOMEM, "query: out of memory creating an iterator");
  it->store = s;
  it->base = s->base;
  it->filter = f;
  it->desc = o ? o->descending : 0;
  it->limit = o ? o->limit : 0;
  if ((rc = hubc__read_begin(s)) == 0) rc = hubc__read_end(s, setup(it, s, o));
  if (rc) {
    items_release(it);
    hubc_filter_free(it->view_filter);
    hubc__free(s->base, it->at_str, it->at_str_cap);
    hubc__free(s->base, it, sizeof *it);
    return rc;
  }
  hubc__base_ref(s->base);
  if (f) hubc__filter_ref(f);
  *out = it;
  return hubc__ok();
}

/* The next result (id and current record), or 0 at the end. */
static int step(hubc_query_iterator *it, hubc_store *s, int64_t *id, hubc__rec **rec) {
  if (it->limit && it->returned >= it->limit) return 0;
  if (it->by_id) {
    int64_t end = hubc__id_end(s);
    if (it->desc && it->next >= end) it->next = end - 1;
    while (it->next > 0 && it->next < end) {
      int64_t at = it->next;
      it->next += it->desc ? -1 : 1;
      hubc__rec *r = s->contacts.recs[at];
      if (r && selects(s, it, r)) {
        *id = at;
        *rec = r;
        return 1;
      }
    }
    return 0;
  }
  while (it->pos < it->n_items) {
    const qitem *x = &it->items[it->pos++];
    hubc__rec *r = hubc__contact_at(s, x->id);
    if (r) { /* deleted meanwhile: skipped */
      *id = x->id;
      *rec = r;
      return 1;
    }
  }
  return 0;
}

/* Fills ids[] or contacts[] with up to cap results under one read lock.
 * A failed batch (a snapshot out of memory) leaves the iterator where
 * it was. */
static int batch(size_t *n_out, hubc_id *ids, hubc_contact **contacts, size_t cap, hubc_query_iterator *it) {
  if (!n_out || !it || (!ids && !contacts)) return hubc__err(HUBC_EINVAL, "query: NULL argument");
  *n_out = 0;
  if (!cap) return hubc__err(HUBC_EINVAL, "query: cap is 0");
  hubc_store *s = it->store;
  int rc = hubc__read_begin(s);
  if (rc) return rc;
  int64_t next = it->next;
  size_t pos = it->pos;
  uint64_t returned = it->returned;
  size_t n = 0;
  int64_t id = 0;
  hubc__rec *r = NULL;
  while (n < cap && step(it, s, &id, &r)) {
    if (contacts && (rc = hubc__contact_snapshot(&contacts[n], s, r))) break;
    if (ids) ids[n] = id;
    n++;
    it->returned++;
  }
  if (rc) {
    for (size_t i = 0; i < n; i++) hubc_contact_free(contacts[i]), contacts[i] = NULL;
    it->next = next, it->pos = pos, it->returned = returned;
    return hubc__read_end(s, rc);
  }
  if (n) {
    it->have_pos = 1;
    if (it->by_id) it->at.id = id;
    else it->at = it->items[it->pos - 1];
  }
  *n_out = n;
  hubc__read_end(s, 0);
  return n ? 0 : HUBC_ITEROVER;
}

HUBC_API int hubc_query_iterator_next_ids(size_t *n_out, hubc_id *ids, size_t cap, hubc_query_iterator *it) {
  if (!ids) return hubc__err(HUBC_EINVAL, "query: ids is NULL");
  return batch(n_out, ids, NULL, cap, it);
}

HUBC_API int hubc_query_iterator_next_contacts(size_t *n_out, hubc_contact **out, size_t cap,
                                               hubc_query_iterator *it) {
  if (!out) return hubc__err(HUBC_EINVAL, "query: out is NULL");
  return batch(n_out, NULL, out, cap, it);
}

HUBC_API int hubc_query_iterator_next(hubc_id *out, hubc_query_iterator *it) {
  size_t n;
  if (!out) return hubc__err(HUBC_EINVAL, "query: out is NULL");
  return batch(&n, out, NULL, 1, it);
}

HUBC_API const char *hubc_query_iterator_cursor(hubc_query_iterator *it) {
  if (!it) {
    hubc__err(HUBC_EINVAL, "query cursor: iterator is NULL");
    return NULL;
  }
  return render_cursor(it);
}

HUBC_API void hubc_query_iterator_free(hubc_query_iterator *it) {
  if (!it) return;
  hubc__base *b = it->base;
  items_release(it);
  hubc__free(b, it->at_str, it->at_str_cap);
  hubc__free(b, it->cursor, it->cursor_cap);
  hubc_filter_free((hubc_filter *)it->filter);
  hubc_filter_free(it->view_filter);
  hubc__free(b, it, sizeof *it);
  hubc__base_unref(b);
}
