/* Import records (I10): one per committed import, ids 1, 2, … never reused;
 * the id is the reason id of the contacts it set marketing. A record kind
 * of its own (DESIGN §7): encode, load, dump, undo by truncation. */
#include <string.h>

#include "import/import.h"
#include "persist/codec.h"
#include "store/dump.h"
#include "store/store.h"
#include "util/text.h"
#include "util/version.h"

#define K HUBC_REC_IMPORT

static int64_t count_of(const hubc__imp_rec *r, int i) {
  const uint64_t *c[] = {&r->rows, &r->created, &r->updated, &r->marked, &r->skipped, &r->merged};
  return (int64_t)*c[i];
}

int hubc__import_begin_record(hubc_store *s, hubc_id *id) {
  hubc__imports *a = &s->imports;
  int rc = hubc__grow(s->base, (void **)&a->v, &a->cap, a->n + 1, sizeof *a->v);
  if (!rc) rc = hubc__txn_reserve(s, 1);
  if (rc) return rc;
  *id = (hubc_id)a->n + 1;
  return 0;
}

int hubc__import_record(hubc_store *s, const hubc_import *imp, hubc_id id) {
  hubc__imports *a = &s->imports;
  size_t len = 0;
  for (size_t i = 0; i < imp->n_files; i++) len += strlen(imp->files[i].name) + 1;
  char *joined = hubc__alloc(s->base, len);
  if (!joined) return hubc__err(HUBC_ENOMEM, "out of memory recording the import");
  size_t o = 0;
  for (size_t i = 0; i < imp->n_files; i++) {
    size_t n = strlen(imp->files[i].name);
    memcpy(joined + o, imp->files[i].name, n);
    o += n;
    joined[o++] = '\n';
  }
  const char *files = hubc__pool_strdup(s->base, joined, len - 1); /* pooled: rewound by an undo */
  hubc__free(s->base, joined, len);
  if (!files) return hubc__err(HUBC_ENOMEM, "out of memory recording the import");
  const hubc_import_summary *sum = &imp->sum;
  hubc__imp_rec *r = &a->v[id - 1];
  *r = (hubc__imp_rec){s->txn.now, s->txn.actor, imp->mode, imp->set_marketing, files, sum->rows, sum->to_create,
                       sum->to_update, sum->to_set_marketing, sum->skipped, sum->merged};
  a->n = (size_t)id;
  hubc__txn_dirty(s, K, id);
  return 0;
}

HUBC_API int hubc_import_record_get(hubc_store *s, hubc_id id, hubc_import_record *out) {
  if (!out) return hubc__err(HUBC_EINVAL, "get import record: out is NULL");
  int rc = hubc__version_check(out->version, HUBC_IMPORT_RECORD_VERSION, "import record");
  if (rc) return rc;
  if ((rc = hubc__read_begin(s))) return rc;
  const hubc__imports *a = &s->imports;
  if (id < 1 || (uint64_t)id > a->n) {
    rc = hubc__err(HUBC_ENOTFOUND, "no import with id %lld (the store has %zu)", (long long)id, a->n);
  } else {
    const hubc__imp_rec *r = &a->v[id - 1];
    hubc_import_record info = {HUBC_IMPORT_RECORD_VERSION, id, r->time, r->actor, r->mode, r->set_marketing,
                               r->files, r->rows, r->created, r->updated, r->marked, r->skipped, r->merged};
    hubc__version_out(out, &info, HUBC__VERSION_END(hubc_import_record, merged));
  }
  return hubc__read_end(s, rc);
}

/* ---- the record kind ------------------------------------------------------ */

enum { T_TIME = 1, T_ACTOR, T_MODE, T_MARKETING, T_FILES, T_COUNTS /* 6 counts follow: T_COUNTS + i */ };

static int encode(hubc_store *s, int64_t id, hubc__wr *w) {
  const hubc__imp_rec *r = &s->imports.v[id - 1];
  hubc__wr_num(w, T_TIME, r->time);
  hubc__wr_num(w, T_ACTOR, r->actor);
  hubc__wr_num(w, T_MODE, r->mode);
  hubc__wr_num(w, T_MARKETING, r->set_marketing);
  hubc__wr_str(w, T_FILES, r->files);
  for (int i = 0; i < 6; i++) hubc__wr_num(w, (unsigned)(T_COUNTS + i), count_of(r, i));
  return 0;
}

static int load(hubc_loader *l, int64_t id, hubc__rd rd) {
  hubc_store *s = l->s;
  hubc__imports *a = &s->imports;
  if (id < 1 || id > 0xffffffffLL) return hubc__corrupt(K, id, "bad import id");
  if (hubc__grow_zeroed(s->base, (void **)&a->v, &a->cap, (size_t)id, sizeof *a->v)) return HUBC_ENOMEM;
  hubc__imp_rec r = {0};
  int64_t v, counts[6] = {0};
  uint64_t tag;
  hubc__rd body;
  HUBC__FOR_FIELDS(rd, tag, body, K, id) {
    if (tag == T_FILES) {
      if (hubc__ld_pooled(s, body, &r.files, K, id)) return HUBC_ECORRUPT;
      continue;
    }
    if (tag < T_TIME || tag >= T_COUNTS + 6) continue;
    if (hubc__ld_int(body, &v, K, id)) return HUBC_ECORRUPT;
    if (tag == T_TIME) r.time = v;
    else if (tag == T_ACTOR) r.actor = v;
    else if (tag == T_MODE) r.mode = (int)v;
    else if (tag == T_MARKETING) r.set_marketing = (int)v;
    else if (v < 0) return hubc__corrupt(K, id, "negative count");
    else counts[tag - T_COUNTS] = v;
  }
  if (!r.files) return hubc__corrupt(K, id, "no file names");
  if (!hubc__time_ok(r.time)) return hubc__corrupt(K, id, "time outside years 1 to 9999");
  if (r.mode < HUBC_IMPORT_CREATE_AND_UPDATE || r.mode > HUBC_IMPORT_UPDATE_ONLY ||
      (r.set_marketing != 0 && r.set_marketing != 1) || r.actor < 0)
    return hubc__corrupt(K, id, "mode, marketing flag or actor out of range");
  r.rows = (uint64_t)counts[0];
  r.created = (uint64_t)counts[1];
  r.updated = (uint64_t)counts[2];
  r.marked = (uint64_t)counts[3];
  r.skipped = (uint64_t)counts[4];
  r.merged = (uint64_t)counts[5];
  a->v[id - 1] = r;
  if ((uint64_t)id > a->n) a->n = (size_t)id;
  return 0;
}

/* Ids are dense: a gap means a lost record, never skipped silently. */
static int finish_load(hubc_loader *l, int rc) {
  const hubc__imports *a = &l->s->imports;
  for (size_t i = 0; !rc && i < a->n; i++)
    if (!a->v[i].files) rc = hubc__corrupt(K, (hubc_id)i + 1, "missing while later imports exist");
  return rc;
}

static int dump(const hubc_store *s, hubc__out *o) {
  const hubc__imports *a = &s->imports;
  for (size_t i = 0; i < a->n; i++) {
    const hubc__imp_rec *r = &a->v[i];
    hubc__out_printf(o,
                     "import %zu time=%lld actor=%lld mode=%d marketing=%d rows=%lld created=%lld updated=%lld "
                     "marked=%lld skipped=%lld merged=%lld files=",
                     i + 1, (long long)r->time, (long long)r->actor, r->mode, r->set_marketing,
                     (long long)count_of(r, 0), (long long)count_of(r, 1), (long long)count_of(r, 2),
                     (long long)count_of(r, 3), (long long)count_of(r, 4), (long long)count_of(r, 5));
    hubc__out_text(o, r->files, 0);
    hubc__out_put(o, "\n", 1);
  }
  return 0;
}

static void free_area(hubc_store *s) { hubc__free(s->base, s->imports.v, s->imports.cap * sizeof *s->imports.v); }
static void txn_begin(hubc_store *s) { s->imports.n_mark = s->imports.n; }
static void txn_rollback(hubc_store *s) { s->imports.n = s->imports.n_mark; }

const hubc__kind hubc__kind_import = {
    .kind = K,
    .name = "import",
    .encode = encode,
    .load = load,
    .finish_load = finish_load,
    .dump = dump,
    .free = free_area,
    .txn_begin = txn_begin,
    .txn_rollback = txn_rollback,
};
