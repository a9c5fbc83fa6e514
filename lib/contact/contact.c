/* Contacts: create, update, delete, lookups, snapshots, iteration (C1–C7). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contact/changeset.h"
#include "store/store.h"
#include "user/perm.h"
#include "util/text.h"

#define MAX_ID 0xffffffffLL /* record ids are 32-bit in the record header */

int hubc__slots_reserve(hubc_store *s, int64_t id) {
  if (id > MAX_ID) return hubc__err(HUBC_ELIMIT, "a store holds at most %lld contact ids", MAX_ID);
  if ((size_t)id < s->contacts.cap) return 0;
  size_t cap = s->contacts.cap ? s->contacts.cap : 64;
  while (cap <= (size_t)id) cap *= 2;
  hubc__rec **t = hubc__calloc(s->base, cap * sizeof *t); /* zeroed lazily, see hubc__calloc */
  if (!t) return hubc__err(HUBC_ENOMEM, "out of memory growing the contact table to %zu ids", cap);
  if (s->contacts.cap) memcpy(t, s->contacts.recs, s->contacts.cap * sizeof *t);
  hubc__free(s->base, s->contacts.recs, s->contacts.cap * sizeof *s->contacts.recs);
  s->contacts.recs = t;
  s->contacts.cap = cap;
  return 0;
}

static int check_create_opts(const hubc_create_options *o, int *source, hubc_id *source_id, int *marketing,
                             hubc_id actor) {
  *source = HUBC_SOURCE_MANUAL;
  *source_id = actor;
  *marketing = 0;
  if (!o) return 0;
  int rc = hubc__version_check(o->version, HUBC_CREATE_OPTIONS_VERSION, "create options");
  if (rc) return rc;
  int src = o->source ? o->source : HUBC_SOURCE_MANUAL;
  if (src < HUBC_SOURCE_MANUAL || src > HUBC_SOURCE_WORKFLOW)
    return hubc__err(HUBC_EINVAL, "create options: source %d is not a creation source", o->source);
  if (src == HUBC_SOURCE_FORM || src == HUBC_SOURCE_IMPORT)
    return hubc__err(HUBC_EINVAL, "create options: %s contacts are created by their own calls",
                     hubc_source_name(src));
  if (o->marketing != 0 && o->marketing != 1)
    return hubc__err(HUBC_EINVAL, "create options: marketing must be 0 or 1, not %d", o->marketing);
  if (o->marketing && src != HUBC_SOURCE_MANUAL)
    return hubc__err(HUBC_EINVAL, "create options: only manual creation may ask for marketing (D1); %s uses its "
                                  "configured default",
                     hubc_source_name(src));
  if ((src == HUBC_SOURCE_CHATFLOW || src == HUBC_SOURCE_INTEGRATION) && o->source_id <= 0)
    return hubc__err(HUBC_EINVAL, "create options: source id %lld is invalid for %s (must be > 0)",
                     (long long)o->source_id, hubc_source_name(src));
  *source = src;
  *source_id = src == HUBC_SOURCE_MANUAL ? actor : o->source_id;
  *marketing = o->marketing;
  return 0;
}

static int check_pairs(const char *const *names, const char *const *values, size_t n, const char *what) {
  if (n && (!names || !values)) return hubc__err(HUBC_EINVAL, "%s: names or values is NULL with n = %zu", what, n);
  if (n > HUBC_MAX_CONTACT_PROPERTIES)
    return hubc__err(HUBC_ELIMIT, "%s: %zu properties given; a contact holds at most %d", what, n,
                     HUBC_MAX_CONTACT_PROPERTIES);
  return 0;
}

/* Creates rows of contacts inside the current transaction; errors name
 * the row when there is more than one. */
static int create_rows(hubc_store *s, int source, hubc_id source_id, int marketing, const char *const *names,
                       size_t n_names, const char *const *values, size_t n_rows, hubc_id *out_ids) {
  int target = source == HUBC_SOURCE_MANUAL ? marketing : hubc__source_default(s, source, source_id);
  /* P2: a user may not make a contact marketing by any route, a source's
   * switched-on default included; SYSTEM acts under those switches (P5) */
  int rc = target ? hubc__op_check(s, HUBC__OP_CONTACT_CREATE_MARKETING) : 0;
  if (rc) return rc;
  hubc__cs cs;
  hubc__cs_opts o = {HUBC__CS_NONEMPTY, HUBC__CS_CREATE_ONLY, source, source_id, target, 0};
  rc = hubc__cs_begin(&cs, s, &o, names, n_names);
  if (!rc && n_rows > 1) rc = hubc__cs_reserve(&cs, n_rows);
  size_t row = 0;
  for (; !rc && row < n_rows; row++) {
    hubc_id id = 0;
    rc = hubc__cs_row(&cs, 0, values + row * n_names, &id, NULL);
    if (!rc && out_ids) out_ids[row] = id;
  }
  hubc__cs_end(&cs);
  if (rc && n_rows > 1 && row > 0) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s", hubc_error_last());
    hubc__err(rc, "row %zu: %s", row - 1, msg);
  }
  return rc;
}

HUBC_API int hubc_contact_create(hubc_id *out_id, hubc_store *s, hubc_id actor, const hubc_create_options *opts,
                                 const char *const *names, const char *const *values, size_t n) {
  int source, marketing, rc;
  hubc_id source_id, id = 0;
  if ((rc = check_pairs(names, values, n, "create contact")) ||
      (rc = check_create_opts(opts, &source, &source_id, &marketing, actor)))
    return rc;
  if ((rc = hubc__op_begin(s, actor, HUBC__OP_CONTACT_CREATE))) return rc;
  rc = create_rows(s, source, source_id, marketing, names, n, values, 1, &id);
  rc = hubc__write_end(s, rc);
  if (!rc && out_id) *out_id = id;
  return rc;
}

HUBC_API int hubc_contact_create_batch(hubc_id *out_ids, hubc_store *s, hubc_id actor,
                                       const hubc_create_options *opts, const char *const *names, size_t n_names,
                                       const char *const *values, size_t n_rows) {
  int source, marketing, rc;
  hubc_id source_id;
  if (n_rows && n_names && (!names || !values))
    return hubc__err(HUBC_EINVAL, "create contacts: names or values is NULL with %zu rows of %zu columns", n_rows,
                     n_names);
  if (n_rows && n_names > SIZE_MAX / n_rows)
    return hubc__err(HUBC_ELIMIT, "create contacts: %zu rows of %zu columns overflow", n_rows, n_names);
  if ((rc = check_pairs(names, values, n_names, "create contacts")) ||
      (rc = check_create_opts(opts, &source, &source_id, &marketing, actor)))
    return rc;
  if ((rc = hubc__op_begin(s, actor, HUBC__OP_CONTACT_CREATE))) return rc;
  rc = create_rows(s, source, source_id, marketing, names, n_names, values, n_rows, out_ids);
  rc = hubc__write_end(s, rc);
  if (rc && out_ids) memset(out_ids, 0, n_rows * sizeof *out_ids); /* nothing was created */
  return rc;
}

static int slot_of(hubc_store *s, hubc_id id, const char *what) {
  if (!hubc__contact_at(s, id))
    return hubc__err(HUBC_ENOTFOUND, "%s: no contact with record id %lld", what, (long long)id);
  return 0;
}

HUBC_API int hubc_contact_update(hubc_store *s, hubc_id actor, hubc_id id, const char *const *names,
                                 const char *const *values, size_t n) {
  int rc;
  if ((rc = check_pairs(names, values, n, "update contact"))) return rc;
  if ((rc = hubc__op_begin(s, actor, HUBC__OP_CONTACT_UPDATE))) return rc;
  if (!(rc = slot_of(s, id, "update contact"))) {
    hubc__cs cs;
    hubc__cs_opts o = {HUBC__CS_OVERWRITE, HUBC__CS_UPDATE_ONLY, HUBC_SOURCE_MANUAL, actor, 0, 0};
    rc = hubc__cs_begin(&cs, s, &o, names, n);
    if (!rc) rc = hubc__cs_row(&cs, id, values, NULL, NULL);
    hubc__cs_end(&cs);
  }
  return hubc__write_end(s, rc);
}

HUBC_API int hubc_contact_delete(hubc_store *s, hubc_id actor, hubc_id id) {
  int rc = hubc__op_begin(s, actor, HUBC__OP_CONTACT_DELETE);
  if (rc) return rc;
  if (!(rc = slot_of(s, id, "delete contact")) && !(rc = hubc__txn_reserve(s, 1))) {
    hubc__slot empty = {0};
    hubc__txn_slot(s, id, &empty);
  }
  return hubc__write_end(s, rc);
}

/* ---- snapshots --------------------------------------------------------- */

enum { R_OBJECT_ID, R_CREATED, R_MODIFIED, R_REASON_ID, R_COUNT };

struct hubc_contact {
  hubc__schema *schema;
  hubc__rec *rec;
  hubc_id id;
  int64_t modified;
  int64_t reason_id;
  uint8_t status, reason_type;
  atomic_int rendered[R_COUNT]; /* 0 none, 1 writing, 2 ready */
  char text[R_COUNT][32];
};

static int snapshot(hubc_contact **out, hubc_store *s, hubc__rec *r) {
  hubc_contact *c = hubc__alloc(s->base, sizeof *c);
  if (!c) return hubc__err(HUBC_ENOMEM, "out of memory taking a contact snapshot");
  c->schema = s->schema;
  hubc__schema_ref(c->schema);
  c->rec = r;
  atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
  c->id = r->id;
  c->modified = r->modified;
  c->status = r->status;
  int type = 0;
  hubc_id rid = 0;
  if (r->status != HUBC_NON_MARKETING) hubc__status_reason(s, r->hist, &type, &rid);
  c->reason_type = (uint8_t)type;
  c->reason_id = rid;
  for (int i = 0; i < R_COUNT; i++) atomic_init(&c->rendered[i], 0);
  *out = c;
  return 0;
}

int hubc__contact_snapshot(hubc_contact **out, hubc_store *s, hubc__rec *r) { return snapshot(out, s, r); }

HUBC_API int hubc_contact_get(hubc_contact **out, hubc_store *s, hubc_id id) {
  if (!out) return hubc__err(HUBC_EINVAL, "get contact: out is NULL");
  *out = NULL;
  int rc = hubc__read_begin(s);
  if (rc) return rc;
  rc = slot_of(s, id, "get contact");
  if (!rc) rc = snapshot(out, s, s->contacts.recs[id]);
  return hubc__read_end(s, rc);
}

/* Normalizes an email to look up into buf: its length, or an error naming
 * the row (SIZE_MAX: a single lookup, no row). */
static int normalize_probe(const char *email, char *buf, const char *what, size_t row) {
  const char *why;
  int len = email ? hubc__email_normalize(email, buf, &why) : -1;
  if (len >= 0) return len;
  char at[48] = ""; /* formatted on the error path only: lookups are hot */
  if (row != SIZE_MAX) snprintf(at, sizeof at, " in row %zu", row);
  if (!email) return hubc__err(HUBC_EINVAL, "%s: email%s is NULL", what, at);
  return hubc__err(HUBC_EINVAL, "%s: email '%.254s'%s %s", what, email, at, why);
}

HUBC_API int hubc_contact_find(hubc_id *out, hubc_store *s, const char *email) {
  char buf[HUBC__EMAIL_BUF];
  if (!out) return hubc__err(HUBC_EINVAL, "find contact: out is NULL");
  *out = 0;
  int rc = normalize_probe(email, buf, "find contact", SIZE_MAX);
  if (rc < 0) return rc;
  size_t len = (size_t)rc;
  if ((rc = hubc__read_begin(s))) return rc;
  const hubc__rec *r = hubc__eidx_find(s, buf, len);
  if (!r) rc = hubc__err(HUBC_ENOTFOUND, "no contact with email '%s'", buf);
  else *out = r->id;
  return hubc__read_end(s, rc);
}

HUBC_API int hubc_contact_get_by_email(hubc_contact **out, hubc_store *s, const char *email) {
  char buf[HUBC__EMAIL_BUF];
  if (!out) return hubc__err(HUBC_EINVAL, "get contact: out is NULL");
  *out = NULL;
  int rc = normalize_probe(email, buf, "get contact", SIZE_MAX);
  if (rc < 0) return rc;
  size_t len = (size_t)rc;
  if ((rc = hubc__read_begin(s))) return rc;
  hubc__rec *r = hubc__eidx_find(s, buf, len);
  rc = r ? snapshot(out, s, r) : hubc__err(HUBC_ENOTFOUND, "no contact with email '%s'", buf);
  return hubc__read_end(s, rc);
}

/* ---- many lookups -------------------------------------------------------
 * One lookup waits on two cache misses in a row: its table slot, then its
 * record. Probing a chunk of emails in three passes (prefetch the slots,
 * prefetch the records they name, then compare) keeps a chunk's misses in
 * flight together instead of one after another. */

enum { PROBE_CHUNK = 16 };

typedef struct probe_chunk {
  char email[PROBE_CHUNK][HUBC__EMAIL_BUF];
  uint32_t hash[PROBE_CHUNK];
} probe_chunk;

/* Normalizes emails[0..n) into c (errors name the row: base + k) and
 * starts fetching the slots, then the records they point to. */
static int chunk_prefetch(probe_chunk *c, const hubc_store *s, const char *const *emails, size_t base, size_t n,
                          const char *what) {
  for (size_t k = 0; k < n; k++) {
    int len = normalize_probe(emails[base + k], c->email[k], what, base + k);
    if (len < 0) return len;
    c->hash[k] = hubc__hash(c->email[k], (size_t)len);
    hubc__eidx_prefetch_slot(&s->contacts.eidx, c->hash[k]);
  }
  for (size_t k = 0; k < n; k++) hubc__eidx_prefetch_rec(&s->contacts.eidx, c->hash[k]);
  return 0;
}

/* Looks up emails[0..n) under one read lock, handing each found record to
 * put in row order; rows nobody has stay as zeroed here (0 or NULL). */
typedef int (*many_put)(hubc_store *s, void *out, size_t row, hubc__rec *r);

static int lookup_many(hubc_store *s, void *out, size_t out_size, const char *const *emails, size_t n,
                       const char *what, many_put put) {
  if (n && !out) return hubc__err(HUBC_EINVAL, "%s: out is NULL", what);
  if (n) memset(out, 0, n * out_size); /* before any other exit: the callers free what out holds */
  if (n && !emails) return hubc__err(HUBC_EINVAL, "%s: emails is NULL", what);
  int rc = hubc__read_begin(s);
  if (rc) return rc;
  probe_chunk c;
  for (size_t base = 0; base < n && !rc; base += PROBE_CHUNK) {
    size_t m = n - base < PROBE_CHUNK ? n - base : PROBE_CHUNK;
    rc = chunk_prefetch(&c, s, emails, base, m, what);
    for (size_t k = 0; k < m && !rc; k++) {
      hubc__rec *r = hubc__eidx_probe(&s->contacts.eidx, c.email[k], c.hash[k]);
      if (r) rc = put(s, out, base + k, r);
    }
  }
  return hubc__read_end(s, rc);
}

static int put_id(hubc_store *s, void *out, size_t row, hubc__rec *r) {
  (void)s;
  ((hubc_id *)out)[row] = r->id;
  return 0;
}

static int put_snapshot(hubc_store *s, void *out, size_t row, hubc__rec *r) {
  return snapshot((hubc_contact **)out + row, s, r);
}

/* All or nothing: a failed call leaves every out[i] 0 or NULL. */
HUBC_API int hubc_contact_find_many(hubc_id *out, hubc_store *s, const char *const *emails, size_t n) {
  int rc = lookup_many(s, out, sizeof *out, emails, n, "find contacts", put_id);
  if (rc && out) memset(out, 0, n * sizeof *out);
  return rc;
}

HUBC_API int hubc_contact_get_many(hubc_contact **out, hubc_store *s, const char *const *emails, size_t n) {
  int rc = lookup_many(s, out, sizeof *out, emails, n, "get contacts", put_snapshot);
  if (rc && out) {
    for (size_t i = 0; i < n; i++) hubc_contact_free(out[i]);
    memset(out, 0, n * sizeof *out);
  }
  return rc;
}

HUBC_API int hubc_contact_count(uint64_t *out, hubc_store *s) {
  if (!out) return hubc__err(HUBC_EINVAL, "count contacts: out is NULL");
  int rc = hubc__read_begin(s);
  if (rc) return rc;
  *out = s->contacts.n;
  return hubc__read_end(s, 0);
}

HUBC_API void hubc_contact_free(hubc_contact *c) {
  if (!c) return;
  hubc__schema *schema = c->schema;
  hubc__rec_unref(schema->base, c->rec);
  hubc__free(schema->base, c, sizeof *c);
  hubc__schema_unref(schema);
}

HUBC_API hubc_id hubc_contact_id(const hubc_contact *c) { return c ? c->id : hubc__null_arg("contact id", "contact"); }
HUBC_API int hubc_contact_status(const hubc_contact *c) {
  return c ? c->status : hubc__err(HUBC_EINVAL, "contact status: contact is NULL");
}
HUBC_API hubc_time hubc_contact_created(const hubc_contact *c) {
  return c ? hubc__rec_created(c->rec) : hubc__null_arg("contact created", "contact");
}
HUBC_API hubc_time hubc_contact_modified(const hubc_contact *c) {
  return c ? c->modified : hubc__null_arg("contact modified", "contact");
}

HUBC_API int hubc_contact_reason(int *type, hubc_id *id, const hubc_contact *c) {
  if (!c) return hubc__err(HUBC_EINVAL, "contact reason: contact is NULL");
  if (type) *type = c->reason_type;
  if (id) *id = c->reason_id;
  return hubc__ok();
}

HUBC_API int hubc_contact_source(int *source, hubc_id *source_id, const hubc_contact *c) {
  if (!c) return hubc__err(HUBC_EINVAL, "contact source: contact is NULL");
  int type;
  int64_t id;
  hubc__rec_source(c->rec, &type, &id);
  if (source) *source = type;
  if (source_id) *source_id = id;
  return hubc__ok();
}

/* Renders a number or date once; concurrent readers of one snapshot see
 * either "not yet" (and render the same bytes themselves) or the result. */
static const char *rendered(const hubc_contact *cc, int which) {
  hubc_contact *c = (hubc_contact *)cc; /* lazily filled cache, see above */
  if (atomic_load_explicit(&c->rendered[which], memory_order_acquire) == 2) return c->text[which];
  char buf[32];
  switch (which) {
  case R_OBJECT_ID: hubc__format_i64(buf, c->id); break;
  case R_CREATED: hubc__format_time(buf, hubc__rec_created(c->rec)); break;
  case R_MODIFIED: hubc__format_time(buf, c->modified); break;
  default: hubc__format_i64(buf, c->reason_id); break;
  }
  int expect = 0;
  if (atomic_compare_exchange_strong(&c->rendered[which], &expect, 1)) {
    memcpy(c->text[which], buf, sizeof buf);
    atomic_store_explicit(&c->rendered[which], 2, memory_order_release);
  }
  while (atomic_load_explicit(&c->rendered[which], memory_order_acquire) != 2) {
  }
  return c->text[which];
}

static const char *computed(const hubc_contact *c, uint32_t prop) {
  int marketing = c->status != HUBC_NON_MARKETING;
  switch (prop) {
  case HUBC__P_OBJECT_ID: return rendered(c, R_OBJECT_ID);
  case HUBC__P_CREATEDATE: return rendered(c, R_CREATED);
  case HUBC__P_LASTMODIFIED: return rendered(c, R_MODIFIED);
  case HUBC__P_MK_STATUS: return marketing ? "true" : "false";
  case HUBC__P_MK_UNTIL_RENEWAL: return c->status == HUBC_MARKETING_UNTIL_UPDATE ? "true" : "false";
  case HUBC__P_MK_REASON_TYPE: return marketing && c->reason_type ? hubc_source_name(c->reason_type) : NULL;
  case HUBC__P_MK_REASON_ID: return marketing && c->reason_type ? rendered(c, R_REASON_ID) : NULL;
  default: return NULL;
  }
}

HUBC_API const char *hubc_contact_prop(const hubc_contact *c, const char *name) {
  if (!c || !name) {
    hubc__err(HUBC_EINVAL, "contact property: %s is NULL", c ? "name" : "contact");
    return NULL;
  }
  int prop = hubc__schema_find(c->schema, name);
  if (prop < 0) return NULL;
  if (c->schema->props[prop].flags & HUBC_PROP_COMPUTED) return computed(c, (uint32_t)prop);
  return hubc__rec_get(c->rec, c->schema, (uint32_t)prop);
}

HUBC_API size_t hubc_contact_prop_count(const hubc_contact *c) {
  if (!c) return (size_t)hubc__null_arg("contact prop count", "contact");
  size_t n = hubc__rec_count(c->rec);
  for (uint32_t p = HUBC__COMPUTED_FIRST; p < HUBC__P_BUILTIN_COUNT; p++)
    if (computed(c, p)) n++;
  return n;
}

HUBC_API int hubc_contact_prop_at(const char **name, const char **value, const hubc_contact *c, size_t index) {
  if (!c || !name || !value) return hubc__err(HUBC_EINVAL, "contact property: NULL argument");
  size_t i = hubc__rec_count(c->rec);
  if (index < i) { /* stored fields: O(1) by the record's index */
    hubc__field f;
    hubc__rec_field_at(c->rec, index, &f);
    const hubc__prop *p = &c->schema->props[f.prop];
    *name = p->name;
    *value = f.value ? f.value : f.option < p->n_options ? p->options[f.option] : NULL;
    return hubc__ok();
  }
  for (uint32_t p = HUBC__COMPUTED_FIRST; p < HUBC__P_BUILTIN_COUNT; p++) {
    const char *v = computed(c, p);
    if (v && i++ == index) {
      *name = c->schema->props[p].name;
      *value = v;
      return hubc__ok();
    }
  }
  return hubc__err(HUBC_ENOTFOUND, "contact property: index %zu is past the last (%zu)", index, i);
}

/* ---- iteration --------------------------------------------------------- */

struct hubc_contact_iterator {
  hubc_store *store;
  hubc__base *base; /* freeing needs no store: it may be closed by then */
  int64_t next;
  int select;
};

HUBC_API int hubc_contact_iterator_new(hubc_contact_iterator **out, hubc_store *s, int select) {
  if (!out) return hubc__err(HUBC_EINVAL, "contact iterator: out is NULL");
  *out = NULL;
  if (!s) return hubc__err(HUBC_EINVAL, "contact iterator: store is NULL");
  if (select < HUBC_SELECT_ALL || select > HUBC_SELECT_LEGACY_EMAIL)
    return hubc__err(HUBC_EINVAL, "contact iterator: unknown selection %d", select);
  hubc_contact_iterator *it = hubc__alloc(s->base, sizeof *it);
  if (!it) return hubc__err(HUBC_ENOMEM, "out of memory creating a contact iterator");
  it->store = s;
  it->base = s->base;
  hubc__base_ref(s->base);
  it->next = 1;
  it->select = select;
  *out = it;
  return hubc__ok();
}

static int selected(const hubc_store *s, const hubc__rec *r, int select) {
  int billable = r->status != HUBC_NON_MARKETING;
  switch (select) {
  case HUBC_SELECT_ALL: return 1;
  case HUBC_SELECT_BILLABLE: return billable;
  case HUBC_SELECT_MARKETING: return r->status == HUBC_MARKETING;
  case HUBC_SELECT_UNTIL_UPDATE: return r->status == HUBC_MARKETING_UNTIL_UPDATE;
  case HUBC_SELECT_NON_MARKETING: return r->status == HUBC_NON_MARKETING;
  case HUBC_SELECT_LEGACY_EMAIL: { /* C3: what today's rule would not store */
    const char *e = hubc__rec_email(r), *why;
    char norm[HUBC__EMAIL_BUF];
    return e && (hubc__email_normalize(e, norm, &why) < 0 || strcmp(norm, e) != 0);
  }
  default: { /* M8: billable but unreachable */
    if (!billable) return 0;
    const char *o = hubc__rec_get(r, s->schema, HUBC__P_OPTOUT);
    const char *b = hubc__rec_get(r, s->schema, HUBC__P_BOUNCED);
    return (o && strcmp(o, "true") == 0) || (b && strcmp(b, "true") == 0);
  }
  }
}

HUBC_API int hubc_contact_iterator_next(hubc_id *out, hubc_contact_iterator *it) {
  if (!out || !it) return hubc__err(HUBC_EINVAL, "contact iterator: NULL argument");
  hubc_store *s = it->store;
  int rc = hubc__read_begin(s);
  if (rc) return rc;
  rc = HUBC_ITEROVER;
  for (; it->next < hubc__id_end(s); it->next++) {
    const hubc__rec *r = s->contacts.recs[it->next];
    if (r && selected(s, r, it->select)) {
      *out = it->next++;
      rc = 0;
      break;
    }
  }
  hubc__read_end(s, 0);
  return rc;
}

HUBC_API void hubc_contact_iterator_free(hubc_contact_iterator *it) {
  if (!it) return;
  hubc__base *b = it->base;
  hubc__free(b, it, sizeof *it);
  hubc__base_unref(b);
}
