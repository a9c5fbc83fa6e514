/* The CONTACT record kind: its encoding, loading, invariants, dump and
 * transaction hooks (store/kind.h). */
#include <stdlib.h>
#include <string.h>

#include "persist/codec.h"
#include "store/dump.h"
#include "store/store.h"
#include "util/text.h"

#define K HUBC_REC_CONTACT

static int encode(hubc_store *s, int64_t id, hubc__wr *w) {
  const hubc__rec *r = s->contacts.recs[id];
  if (!r) return 1; /* deleted */
  int source;
  int64_t source_id;
  hubc__rec_source(r, &source, &source_id);
  hubc__wr_num(w, HUBC__T_C_CREATED, hubc__rec_created(r));
  hubc__wr_num(w, HUBC__T_C_MODIFIED, r->modified);
  hubc__wr_num(w, HUBC__T_C_STATUS, r->status);
  hubc__wr_num(w, HUBC__T_C_SOURCE, source);
  hubc__wr_num(w, HUBC__T_C_SOURCE_ID, source_id);
  hubc__wr_bytes(w, HUBC__T_C_PROPS, hubc__rec_fields(r), hubc__rec_flen(r));
  return 0;
}

/* Contacts are staged: the id table is sized at the end by the largest
 * live id, checked against the stored next id. The table is dense by
 * design (8 bytes per id ever issued, README "Limits"), so a store whose
 * ids reach far needs that memory; with a capped allocator that is
 * HUBC_ENOMEM. rec NULL stages a delete. */
typedef struct staged {
  int64_t id;
  hubc__rec *rec;
} staged;

/* A loaded record's bytes beyond its stored ones, about: the header and
 * the index less the stored times' tags. */
#define REC_EXTRA 32u
/* The most a loader's hint may make it take at once, per table. */
#define HINT_MAX_BYTES ((uint64_t)1 << 30)

typedef struct stage {
  staged *v;
  size_t n, cap;
} stage;

static int stage_push(hubc_loader *l, int64_t id, hubc__rec *rec) {
  hubc_store *s = l->s;
  stage *st = l->stage[K];
  if (!st) {
    if (!(st = hubc__calloc(s->base, sizeof *st))) return hubc__err(HUBC_ENOMEM, "out of memory loading contacts");
    l->stage[K] = st;
    /* The backend's count (advice; a wrong one only costs a regrowth): the
     * staging at once, and the records in one slab of huge pages rather
     * than 4 KiB pages faulted in one by one. Each taken on its word up to
     * HINT_MAX_BYTES only: a log's repeated puts inflate the count. */
    uint64_t n = l->hint_n[K], bytes = l->hint_bytes[K];
    if (n > HINT_MAX_BYTES / sizeof *st->v) n = HINT_MAX_BYTES / sizeof *st->v;
    if (n && !hubc__grow(s->base, (void **)&st->v, &st->cap, (size_t)n, sizeof *st->v)) {
      hubc__huge_advise(st->v, st->cap * sizeof *st->v);
      uint64_t slab = (bytes < HINT_MAX_BYTES ? bytes : HINT_MAX_BYTES) + n * REC_EXTRA;
      hubc__arena_reserve(s->base, (size_t)(slab < HINT_MAX_BYTES ? slab : HINT_MAX_BYTES));
    }
  }
  if (hubc__grow(s->base, (void **)&st->v, &st->cap, st->n + 1, sizeof *st->v))
    return hubc__err(HUBC_ENOMEM, "out of memory loading contacts");
  st->v[st->n].id = id;
  st->v[st->n++].rec = rec;
  return 0;
}

/* Whether no byte of p has its high bit set (8 at a time). */
static int all_ascii(const unsigned char *p, size_t n) {
  uint64_t acc = 0, w;
  for (; n >= 8; p += 8, n -= 8) {
    memcpy(&w, p, 8);
    acc |= w;
  }
  while (n--) acc |= *p++;
  return !(acc & 0x8080808080808080ull);
}

/* The length of field f's string value at fields[pos]: it ends at the
 * field's last byte, its NUL (no strlen). */
static size_t value_len(const unsigned char *fields, size_t pos, const hubc__field *f) {
  return (size_t)((const char *)fields + pos + f->size - 1 - f->value);
}

static int load(hubc_loader *l, int64_t id, hubc__rd r) {
  hubc_store *s = l->s;
  if (id <= 0 || id > 0xffffffffLL) return hubc__corrupt(K, id, "bad record id");
  int64_t created = 0, modified = 0, status = HUBC_NON_MARKETING, source = HUBC_SOURCE_MANUAL, source_id = 0;
  hubc__rd props = {NULL, NULL}, body;
  uint64_t tag;
  HUBC__FOR_FIELDS(r, tag, body, K, id) {
    int rc = 0;
    switch (tag) {
    case HUBC__T_C_CREATED: rc = hubc__ld_int(body, &created, K, id); break;
    case HUBC__T_C_MODIFIED: rc = hubc__ld_int(body, &modified, K, id); break;
    case HUBC__T_C_STATUS: rc = hubc__ld_int(body, &status, K, id); break;
    case HUBC__T_C_SOURCE: rc = hubc__ld_int(body, &source, K, id); break;
    case HUBC__T_C_SOURCE_ID: rc = hubc__ld_int(body, &source_id, K, id); break;
    case HUBC__T_C_PROPS: props = body; break;
    }
    if (rc) return rc;
  }
  /* D3: a record without a status (written before marketing contacts were
   * enabled) is NON_MARKETING. */
  if (status < HUBC_NON_MARKETING || status > HUBC_MARKETING_UNTIL_UPDATE) return hubc__corrupt(K, id, "bad status");
  if (!hubc__time_ok(created) || !hubc__time_ok(modified))
    return hubc__corrupt(K, id, "a time outside years 1 to 9999");
  if (source < 0 || source > HUBC_SOURCE_WORKFLOW || !hubc_source_name((int)source))
    return hubc__corrupt(K, id, "bad source");
  size_t len = props.p ? (size_t)(props.end - props.p) : 0;
  if (len > 0xffffffffu) return hubc__corrupt(K, id, "record too large");
  /* structure now (emails feed the index); schema checks at the end */
  const unsigned char *fields = props.p;
  hubc__field f;
  long prev = -1;
  size_t n = 0;
  int ascii = all_ascii(fields, len); /* then every value is valid UTF-8 */
  for (size_t pos = 0; pos < len; pos += f.size, n++) {
    if (hubc__rec_field(fields, len, pos, &f) || (long)f.prop <= prev ||
        (f.value && !ascii && !hubc__utf8_valid(f.value, value_len(fields, pos, &f))))
      return hubc__corrupt(K, id, "malformed properties");
    prev = f.prop;
  }
  if (n > HUBC_MAX_CONTACT_PROPERTIES) return hubc__corrupt(K, id, "more properties than a contact holds");
  /* numbers and dates are indexed at the end, when the schema is known */
  hubc__rec *rec = hubc__rec_new(s->base, created, (int)source, source_id, len, n, 0);
  if (!rec) return hubc__err(HUBC_ENOMEM, "out of memory loading contact %lld", (long long)id);
  if (len) memcpy((unsigned char *)hubc__rec_fields(rec), props.p, len);
  if (n > HUBC__REC_STRIDE) hubc__rec_seal(rec, NULL); /* else no checkpoint: rec_new wrote the whole index */
  rec->modified = modified;
  rec->status = (uint8_t)status;
  int rc = stage_push(l, id, rec);
  if (rc) hubc__rec_unref(s->base, rec);
  return rc;
}

static int load_del(hubc_loader *l, int64_t id) {
  if (id <= 0 || id > 0xffffffffLL) return 0; /* never stored */
  return stage_push(l, id, NULL);
}

/* Indexes and counts contact id (its record r is in the table); h is the
 * hash of its email, if it has one. */
static int place_one(hubc_store *s, int64_t id, hubc__rec *r, uint32_t h) {
  const char *email = hubc__rec_email(r);
  if (email && hubc__eidx_probe(&s->contacts.eidx, email, h))
    return hubc__corrupt(K, id, "email already used by another contact");
  s->contacts.recs[id] = NULL; /* counted and indexed by the move */
  hubc__slot empty = {0}, slot = {r, r->modified, 0, r->status};
  if (email) hubc__eidx_hint(&s->contacts.eidx, r, h); /* the insert hashes no more */
  hubc__slot_move(s, id, &empty, &slot);
  s->contacts.eidx.hint = NULL;
  return 0;
}

static uint32_t email_hash(const hubc__rec *r) {
  const char *e = r ? hubc__rec_email(r) : NULL;
  return e ? hubc__hash(e, strlen(e)) : 0;
}

/* C3: an address stored before the rule covered Unicode (only ASCII was
 * lowercased) that today's rule writes differently. If today's form is
 * free, the contact takes it (its record is rewritten in memory, and in the
 * backend at its next change). If today's rule refuses the address, or
 * another contact already has today's form, the address is kept and indexed
 * as stored: nothing is lost, but lookups, which normalize, reach the other
 * contact (HUBC_SELECT_LEGACY_EMAIL lists these). */
static int place_legacy(hubc_store *s, int64_t id) {
  hubc__rec *r = s->contacts.recs[id];
  const char *email = hubc__rec_email(r), *why;
  char norm[HUBC__EMAIL_BUF];
  int n = hubc__email_normalize(email, norm, &why);
  if (n >= 0 && !hubc__eidx_find(s, norm, (size_t)n)) {
    const unsigned char *fields = hubc__rec_fields(r);
    size_t len = hubc__rec_flen(r);
    hubc__field f;
    size_t n_fields, n_typed;
    if (hubc__rec_field(fields, len, 0, &f) || hubc__rec_shape(fields, len, NULL, &n_fields, &n_typed))
      return hubc__corrupt(K, id, "malformed properties");
    size_t head = hubc__rec_put_field(NULL, HUBC__P_EMAIL, norm, (size_t)n, -1);
    /* like the record it replaces: indexed without the schema for now */
    hubc__rec *x = hubc__rec_new_like(s->base, r, head + len - f.size, n_fields, 0);
    if (!x) return hubc__err(HUBC_ENOMEM, "out of memory loading contact %lld", (long long)id);
    unsigned char *w = (unsigned char *)hubc__rec_fields(x);
    hubc__rec_put_field(w, HUBC__P_EMAIL, norm, (size_t)n, -1);
    memcpy(w + head, fields + f.size, len - f.size);
    hubc__rec_seal(x, NULL);
    x->modified = r->modified;
    x->status = r->status;
    hubc__rec_unref(s->base, r);
    s->contacts.recs[id] = r = x;
  }
  return place_one(s, id, r, email_hash(r));
}

/* Places staged contacts (last put or delete of an id wins), then builds
 * the email index and counts. */
static int place(hubc_loader *l, stage *st) {
  hubc_store *s = l->s;
  int64_t max = 0;
  size_t live = 0;
  for (size_t i = 0; i < st->n; i++)
    if (st->v[i].rec && st->v[i].id > max) max = st->v[i].id;
  /* META, placed before, set the stored next id */
  if (l->seen[HUBC_REC_META] && max >= s->contacts.next_id)
    return hubc__corrupt(K, max, "id at or above the stored next record id");
  int rc = max ? hubc__slots_reserve(s, max) : 0;
  if (rc) return rc;
  hubc__huge_advise(s->contacts.recs, s->contacts.cap * sizeof *s->contacts.recs); /* filled next */
  for (size_t i = 0; i < st->n; i++) { /* arrival order: later wins */
    staged *c = &st->v[i];
    if (c->id > max) continue; /* a delete of an id never live */
    hubc__rec_unref(s->base, s->contacts.recs[c->id]);
    s->contacts.recs[c->id] = c->rec;
    c->rec = NULL; /* owned by the table now */
  }
  for (int64_t id = 1; id <= max; id++) live += s->contacts.recs[id] != NULL;
  if ((rc = hubc__eidx_reserve(s, live))) return rc;
  if (max >= s->contacts.next_id) s->contacts.next_id = max + 1;
  int64_t *legacy = NULL;
  size_t n_legacy = 0, legacy_cap = 0;
  /* Emails are hashed AHEAD ids early and their index slot fetched, so
   * that the random probe of each finds its slot in cache. */
  enum { AHEAD = 8 };
  uint32_t ring[AHEAD];
  for (int64_t id = 1; id <= max && id <= AHEAD; id++) {
    ring[id % AHEAD] = email_hash(s->contacts.recs[id]);
    hubc__eidx_prefetch_slot(&s->contacts.eidx, ring[id % AHEAD]);
  }
  for (int64_t id = 1; id <= max && !rc; id++) {
    hubc__rec *r = s->contacts.recs[id];
    uint32_t h = ring[id % AHEAD];
    if (id + AHEAD <= max) {
      ring[id % AHEAD] = email_hash(s->contacts.recs[id + AHEAD]);
      hubc__eidx_prefetch_slot(&s->contacts.eidx, ring[id % AHEAD]);
    }
    if (!r) continue;
    const char *email = hubc__rec_email(r);
    if (email) {
      char norm[HUBC__EMAIL_BUF];
      const char *why;
      int non_ascii = 0;
      if (hubc__email_normalize_ascii(email, norm, &non_ascii, &why) < 0 || strcmp(norm, email) != 0) {
        rc = hubc__corrupt(K, id, "email is not a normalized address");
        break;
      }
      if (non_ascii && (hubc__email_normalize(email, norm, &why) < 0 || strcmp(norm, email) != 0)) {
        if (!(rc = hubc__grow(s->base, (void **)&legacy, &legacy_cap, n_legacy + 1, sizeof *legacy)))
          legacy[n_legacy++] = id;
        continue; /* placed after every address already in today's form */
      }
    }
    rc = place_one(s, id, r, h);
  }
  for (size_t i = 0; i < n_legacy && !rc; i++) rc = place_legacy(s, legacy[i]);
  hubc__free(s->base, legacy, legacy_cap * sizeof *legacy);
  return rc;
}

/* A stored value is as the create and update calls store it (C4); values
 * of the grammar stored before the range rules (1e999, year 0000) load. */
static int typed_ok(int type, const char *v) {
  hubc_time t;
  switch (type) {
  case HUBC_PROP_NUMBER: return hubc__parse_number(v) != 0;
  case HUBC_PROP_BOOL: return strcmp(v, "true") == 0 || strcmp(v, "false") == 0;
  case HUBC_PROP_DATETIME: return hubc__parse_datetime(v, &t) != -1;
  default: return 1;
  }
}

/* A loaded record holding numbers or dates, rebuilt with their binary
 * forms in its index (the schema is known now). */
static int index_typed(hubc_store *s, int64_t id, size_t n, size_t t) {
  hubc__rec *old = s->contacts.recs[id];
  size_t flen = hubc__rec_flen(old);
  hubc__rec *r = hubc__rec_new_like(s->base, old, flen, n, t);
  if (!r) return hubc__err(HUBC_ENOMEM, "out of memory loading contact %lld", (long long)id);
  memcpy((unsigned char *)hubc__rec_fields(r), hubc__rec_fields(old), flen);
  hubc__rec_seal(r, s->schema);
  r->modified = old->modified;
  r->id = old->id;
  r->hist = old->hist;
  r->status = old->status;
  if (hubc__rec_email(old)) hubc__eidx_replace(s, old, r);
  s->contacts.recs[id] = r;
  hubc__rec_unref(s->base, old);
  return 0;
}

/* Every value matches the schema (loaded before contacts). */
static int check_fields(hubc_store *s) {
  const hubc__schema *sc = s->schema;
  for (int64_t id = 1; id < hubc__id_end(s); id++) {
    hubc__rec *rec = s->contacts.recs[id];
    if (!rec) continue;
    hubc__field f;
    const unsigned char *fields = hubc__rec_fields(rec);
    size_t len = hubc__rec_flen(rec), n = 0, t = 0;
    for (size_t pos = 0; pos < len; pos += f.size, n++) {
      hubc__rec_field(fields, len, pos, &f);
      const hubc__prop *p = f.prop < sc->n ? &sc->props[f.prop] : NULL;
      /* emails were checked by place() */
      if (!p || (p->flags & HUBC_PROP_COMPUTED) || (f.value == NULL) != (p->type == HUBC_PROP_ENUMERATION) ||
          (!f.value && f.option >= p->n_options) || (f.value && value_len(fields, pos, &f) > HUBC_MAX_VALUE_BYTES))
        return hubc__corrupt(K, id, "property does not match the schema");
      if (f.value && !typed_ok(p->type, f.value)) return hubc__corrupt(K, id, "a value is not of its property's type");
      if (f.value && hubc__rec_typed(sc, f.prop)) t++;
    }
    int rc = t ? index_typed(s, id, n, t) : 0;
    if (rc) return rc;
  }
  return 0;
}

static int finish_load(hubc_loader *l, int rc) {
  hubc_store *s = l->s;
  stage *st = l->stage[K];
  if (!rc && st) rc = place(l, st);
  if (!rc) rc = check_fields(s);
  if (st) {
    for (size_t i = 0; i < st->n; i++) hubc__rec_unref(s->base, st->v[i].rec); /* unplaced */
    hubc__free(s->base, st->v, st->cap * sizeof *st->v);
    hubc__free(s->base, st, sizeof *st);
    l->stage[K] = NULL;
  }
  return rc;
}

/* Counts, ids and the email index agree with the records. */
static int check(hubc_store *s) {
  uint64_t count[3] = {0, 0, 0}, live = 0, with_email = 0;
  int rc = 0;
  for (int64_t id = 1; id < hubc__id_end(s) && !rc; id++) {
    const hubc__rec *r = s->contacts.recs[id];
    if (!r) continue;
    live++;
    count[r->status]++;
    if (r->id != id) rc = hubc__err(HUBC_ECORRUPT, "check: contact %lld carries id %u", (long long)id, r->id);
    const char *e = hubc__rec_email(r);
    if (!rc && e) {
      with_email++;
      if (hubc__eidx_find(s, e, strlen(e)) != r)
        rc = hubc__err(HUBC_ECORRUPT, "check: contact %lld is not found by its email", (long long)id);
    }
  }
  if (!rc && (live != s->contacts.n || memcmp(count, s->contacts.count, sizeof count) != 0))
    rc = hubc__err(HUBC_ECORRUPT, "check: counts differ from a recount");
  if (!rc && with_email != s->contacts.eidx.n)
    rc = hubc__err(HUBC_ECORRUPT, "check: the email index holds %zu entries for %llu emails", s->contacts.eidx.n,
                   (unsigned long long)with_email);
  return rc;
}

static int dump(const hubc_store *s, hubc__out *o) {
  const hubc__schema *sc = s->schema;
  for (int64_t id = 1; id < hubc__id_end(s) && !o->failed; id++) {
    const hubc__rec *r = s->contacts.recs[id];
    if (!r) continue;
    int rtype = 0;
    hubc_id rid = 0;
    if (r->status != HUBC_NON_MARKETING) hubc__status_reason(s, r->hist, &rtype, &rid);
    int source;
    int64_t source_id;
    hubc__rec_source(r, &source, &source_id);
    hubc__out_printf(o, "contact %lld created=%lld modified=%lld source=%d source_id=%lld status=%d reason=%d/%lld\n",
                     (long long)id, (long long)hubc__rec_created(r), (long long)r->modified, source,
                     (long long)source_id, r->status, rtype, (long long)rid);
    hubc__field f;
    const unsigned char *fields = hubc__rec_fields(r);
    size_t len = hubc__rec_flen(r);
    for (size_t pos = 0; pos < len && !hubc__rec_field(fields, len, pos, &f); pos += f.size) {
      hubc__out_put(o, " ", 1);
      hubc__out_text(o, sc->props[f.prop].name, 1);
      hubc__out_put(o, "=", 1);
      hubc__out_text(o, hubc__rec_get(r, sc, f.prop), 0); /* the rest of the line */
      hubc__out_put(o, "\n", 1);
    }
  }
  return 0;
}

static void free_area(hubc_store *s) {
  hubc__base *b = s->base;
  for (int64_t id = 1; id < hubc__id_end(s); id++) hubc__rec_unref(b, s->contacts.recs[id]);
  hubc__free(b, s->contacts.recs, s->contacts.cap * sizeof *s->contacts.recs);
  hubc__eidx_free(s);
}

static void txn_begin(hubc_store *s) { s->contacts.next_id_mark = s->contacts.next_id; }

static void undo(hubc_store *s, const hubc__undo *u) {
  if (u->id < 0) { /* a run of creates (hubc__txn_slot_new): ids -id .. end - 1, newest first */
    int64_t end;
    memcpy(&end, u->u.bytes, sizeof end);
    const hubc__slot none = {0};
    for (int64_t id = end; id-- > -u->id;) {
      hubc__slot now = hubc__slot_at(s, id);
      hubc__slot_move(s, id, &now, &none);
      hubc__rec_unref(s->base, now.rec);
    }
    return;
  }
  hubc__slot_move(s, u->id, &u->u.slot.to, &u->u.slot.from);
  if (u->u.slot.to.rec && u->u.slot.to.rec != u->u.slot.from.rec) hubc__rec_unref(s->base, u->u.slot.to.rec);
}

static void txn_rollback(hubc_store *s) {
  s->contacts.next_id = s->contacts.next_id_mark;
  s->contacts.superseded = 0;
}

/* Releases the versions the transaction superseded (none for a status
 * change or a create: no walk of the undo log then). */
static void txn_commit(hubc_store *s) {
  const hubc__txn *t = &s->txn;
  for (size_t i = 0; i < t->undo_n && s->contacts.superseded; i++) {
    const hubc__undo *u = &t->undo[i];
    if (u->kind == K && u->id > 0 && u->u.slot.from.rec && u->u.slot.from.rec != u->u.slot.to.rec) {
      hubc__rec_unref(s->base, u->u.slot.from.rec);
      s->contacts.superseded--;
    }
  }
}

const hubc__kind hubc__kind_contact = {
    .kind = K,
    .name = "contact",
    .encode = encode,
    .load = load,
    .load_del = load_del,
    .finish_load = finish_load,
    .check = check,
    .dump = dump,
    .free = free_area,
    .txn_begin = txn_begin,
    .undo = undo,
    .txn_rollback = txn_rollback,
    .txn_commit = txn_commit,
};
