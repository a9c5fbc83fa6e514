/* Matching and applying an import's rows through the contact changeset
 * (I4, I6, I10). The commit applies them (check the confirmation, persist;
 * I7, I8). The plan projects them when it can answer exactly by reading
 * the store (one file matched by email): the same validation and the same
 * decisions as the changeset, nothing built and nothing to undo; otherwise
 * it applies them and undoes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "contact/changeset.h"
#include "import/import.h"
#include "util/text.h"

/* Errors a row can have; anything else (memory, persistence) fails the
 * whole import. */
static int row_level(int rc) {
  return rc == HUBC_EINVAL || rc == HUBC_ENOTFOUND || rc == HUBC_EEXISTS || rc == HUBC_EREADONLY ||
         rc == HUBC_ELIMIT;
}

/* A Record ID cell: a positive integer (I4). */
static int parse_record_id(const char *v, hubc_id *out) {
  if (*v < '1' || *v > '9') return -1;
  uint64_t x = 0;
  for (; *v >= '0' && *v <= '9'; v++) {
    if (x > (uint64_t)(INT64_MAX - 9) / 10) return -1;
    x = x * 10 + (uint64_t)(*v - '0');
  }
  if (*v) return -1;
  *out = (hubc_id)x;
  return 0;
}

typedef struct file_run {
  hubc_import *imp;
  size_t fi;
  const hubc__imp_file *f;
  size_t n;          /* changeset columns */
  size_t *col;       /* changeset column → file column */
  const char **names;
  const char **vals;
  uint32_t *lens;    /* of vals */
  char **cells;      /* the row's values by file column */
  uint32_t *cell_len;
  size_t *check;     /* the columns row_begin checks (Record ID, read-only), in order */
  size_t n_check;
  /* the walk over the file's rows, in order (they follow one another) */
  hubc__imp_row row; /* the current row */
  size_t i;          /* its index among the import's rows */
  size_t jump;       /* the next entry of imp->jumps to meet */
  size_t next_off;   /* where the row after it starts (row_cells) */
  uint64_t next_line; /* the line it starts on, unless a jump says otherwise */
  /* the hash of the email cell as it is, of the current row (cell_h) and
   * of the next one (next_h), when known (fetch_next_slot): for a cell that
   * is its own normalized form, the hash the tables are probed with */
  uint32_t cell_h, next_h;
  int cell_h_ok, next_h_ok;
} file_run;

static void run_free(file_run *r) {
  hubc__base *b = r->imp->base;
  size_t nc = r->f->ncols;
  hubc__free(b, r->col, nc * sizeof *r->col);
  hubc__free(b, r->names, nc * sizeof *r->names);
  hubc__free(b, r->vals, nc * sizeof *r->vals);
  hubc__free(b, r->lens, nc * sizeof *r->lens);
  hubc__free(b, r->cells, nc * sizeof *r->cells);
  hubc__free(b, r->cell_len, nc * sizeof *r->cell_len);
  hubc__free(b, r->check, nc * sizeof *r->check);
}

static int run_init(file_run *r, hubc_import *imp, size_t fi) {
  hubc__base *b = imp->base;
  const hubc__imp_file *f = &imp->files[fi];
  const hubc__schema *schema = imp->store->schema;
  memset(r, 0, sizeof *r);
  r->imp = imp;
  r->fi = fi;
  r->f = f;
  size_t nc = f->ncols;
  r->col = hubc__alloc(b, nc * sizeof *r->col);
  r->names = hubc__alloc(b, nc * sizeof *r->names);
  r->vals = hubc__alloc(b, nc * sizeof *r->vals);
  r->lens = hubc__alloc(b, nc * sizeof *r->lens);
  r->cells = hubc__alloc(b, nc * sizeof *r->cells);
  r->cell_len = hubc__alloc(b, nc * sizeof *r->cell_len);
  r->check = hubc__alloc(b, nc * sizeof *r->check);
  if (!r->col || !r->names || !r->vals || !r->lens || !r->cells || !r->cell_len || !r->check)
    return hubc__err(HUBC_ENOMEM, "out of memory applying an import");
  if (!imp->email_ok && imp->n_rows) {
    size_t words = imp->n_rows / 64 + 1;
    if (!(imp->email_ok = hubc__calloc(b, words * sizeof *imp->email_ok)))
      return hubc__err(HUBC_ENOMEM, "out of memory applying an import");
    imp->email_ok_words = words;
  }
  for (size_t c = 0; c < nc; c++) {
    int32_t p = f->prop[c];
    if (p >= 0 && (p == HUBC__P_OBJECT_ID || (schema->props[p].flags & HUBC_PROP_READONLY))) r->check[r->n_check++] = c;
    if (p < 0 || p == HUBC__P_OBJECT_ID || (schema->props[p].flags & HUBC_PROP_READONLY)) continue;
    r->col[r->n] = c;
    r->names[r->n++] = schema->props[p].name;
  }
  return 0;
}

/* Starts the walk over file run's rows; walk_next moves to the first. */
static void walk_start(file_run *r) {
  r->i = r->f->row_begin;
  r->jump = r->f->jump_begin;
  r->next_off = r->f->data_off;
  r->next_line = 0;
}

/* The next row into r->row: 0 past the last. The row before it must have
 * been read (row_begin) for its end. */
static int walk_next(file_run *r, size_t i) {
  const hubc_import *imp = r->imp;
  if (i >= r->f->row_end) return 0;
  r->i = i;
  r->row.off = (uint32_t)r->next_off;
  r->cell_h = r->next_h;
  r->cell_h_ok = r->next_h_ok;
  r->next_h_ok = 0;
  if (r->jump < imp->n_jumps && imp->jumps[r->jump].row == i) r->row.line = imp->jumps[r->jump++].line;
  else r->row.line = (uint32_t)r->next_line;
  return 1;
}

/* A row's packed values into cells and their lengths; returns where the
 * next row starts, and in *breaks the line breaks in its values. The NULs
 * are found 64 bytes at a time while a whole block lies inside the packed
 * values, noting whether the row holds any other byte below 0x0E (line
 * feed and carriage return among them); the rest by strlen. The few rows
 * that may hold a line break are counted by the byte, as the reader counts
 * them (hubc__import_breaks). */
static size_t row_cells(const hubc__imp_file *f, const hubc__imp_row *row, char **cells, uint32_t *lens,
                        size_t *breaks) {
  char *start = f->buf + row->off;
  const char *const first = start;
  size_t c = 0, nc = f->ncols;
  int ctl = 0;
#if defined(__SSE2__)
  const char *end = f->buf + f->packed;
  const __m128i zero = _mm_setzero_si128(), low = _mm_set1_epi8(0x0D);
  for (char *q = start; c < nc && end - q >= 64; q += 64) { /* a row is ~100-200 bytes: 64 at a time */
    uint64_t m = 0, l = 0;
    for (int k = 0; k < 4; k++) {
      __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(q + 16 * k));
      m |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, zero)) << (16 * k);
      l |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(v, low), v)) << (16 * k);
    }
    uint64_t other = l & ~m; /* bytes below 0x0E but NUL */
    for (; c < nc && m; m &= m - 1, c++) {
      char *nul = q + __builtin_ctzll(m);
      cells[c] = start;
      lens[c] = (uint32_t)(nul - start);
      start = nul + 1;
    }
    size_t mine = c == nc ? (size_t)(start - q) : 64; /* the bytes of this row in the block */
    ctl |= (other & (mine >= 64 ? ~0ULL : (1ULL << mine) - 1)) != 0;
  }
#endif
  int bytewise = c < nc || ctl;
  for (; c < nc; c++) {
    size_t n = strlen(start);
    cells[c] = start;
    lens[c] = (uint32_t)n;
    start += n + 1;
  }
  *breaks = bytewise ? hubc__import_breaks(first, start - 1) : 0;
  return (size_t)(start - f->buf);
}

/* Starts fetching the table slots the next row's email will probe (up to
 * two tables), from the hash of its cell as it is (for nearly every row
 * its normalized form; a wrong guess costs the fetch only): on a large
 * file the slot misses the cache, about a quarter of the plan's and of the
 * commit's time when it is waited for. Call after row_begin (next_off
 * known). */
static void fetch_next_slot(file_run *r, const uint64_t *slots, size_t mask, const uint64_t *slots2, size_t mask2) {
  const hubc__imp_file *f = r->f;
  r->next_h_ok = 0;
  if ((!slots && !slots2) || f->email_col == SIZE_MAX || r->i + 1 >= f->row_end) return;
  const char *p = f->buf + r->next_off; /* a valid row: ncols values, each ending in a NUL */
  for (size_t c = 0; c < f->email_col; c++) p += strlen(p) + 1;
  uint32_t h = hubc__hash(p, strlen(p));
  if (slots) __builtin_prefetch(&slots[h & mask]);
  if (slots2) __builtin_prefetch(&slots2[h & mask2]);
  r->next_h = h;
  r->next_h_ok = 1;
}

/* The row's cells, then the checks of the read-only and Record ID columns
 * (*id: the Record ID, 0 if none). Returns 0, 1 when the row is skipped
 * (its error recorded), or a fatal error. */
static int row_begin(file_run *r, const hubc__imp_row *row, hubc_id *id) {
  hubc_import *imp = r->imp;
  const hubc__imp_file *f = r->f;
  const hubc__schema *schema = imp->store->schema;
  size_t breaks;
  r->next_off = row_cells(f, row, r->cells, r->cell_len, &breaks);
  r->next_line = row->line + 1 + breaks;
  *id = 0;
  for (size_t k = 0; k < r->n_check; k++) {
    size_t c = r->check[k];
    int32_t prop = f->prop[c];
    if (!*r->cells[c]) continue;
    if (prop == HUBC__P_OBJECT_ID) {
      if (parse_record_id(r->cells[c], id) == 0) continue;
      int rc = hubc__import_error(imp, &imp->match_errs, r->fi, row->line, c, HUBC_EINVAL, r->cells, f->ncols,
                                  "'%.100s' is not a record id (a positive whole number)", r->cells[c]);
      return rc ? rc : 1;
    }
    if (schema->props[prop].flags & HUBC_PROP_READONLY) {
      int rc = hubc__import_error(imp, &imp->match_errs, r->fi, row->line, c, HUBC_EREADONLY, r->cells, f->ncols,
                                  "property '%s' is read-only; the column must be blank or unmapped",
                                  schema->props[prop].name);
      return rc ? rc : 1;
    }
  }
  for (size_t k = 0; k < r->n; k++) {
    r->vals[k] = r->cells[r->col[k]];
    r->lens[k] = r->cell_len[r->col[k]];
  }
  return 0;
}

/* Records a changeset's row-level error rc (0 and non-row errors pass
 * through): the column it names, else the row's. */
static int row_failed(file_run *r, const hubc__cs *cs, const hubc__imp_row *row, hubc_id id, int rc) {
  if (!rc || !row_level(rc)) return rc;
  char msg[512];
  snprintf(msg, sizeof msg, "%s", hubc_error_last());
  size_t col = cs->fail_col < r->n ? r->col[cs->fail_col] : SIZE_MAX;
  if (col == SIZE_MAX && rc == HUBC_ENOTFOUND && id) col = r->f->id_col;
  return hubc__import_error(r->imp, &r->imp->match_errs, r->fi, row->line, col, rc, r->cells, r->f->ncols, "%s",
                            msg);
}

static int email_ok(const hubc_import *imp, size_t i) { return (imp->email_ok[i / 64] >> (i % 64)) & 1; }

/* Row i's email found to be its own normalized form by the changeset's
 * check just done (the first run over the rows, usually the plan). */
static int note_email(hubc_import *imp, const hubc__cs *cs, const file_run *r, size_t i) {
  int normal = hubc__cs_email_was_normal(cs, r->vals, r->lens);
  if (normal) imp->email_ok[i / 64] |= 1ULL << (i % 64);
  return normal;
}

/* The walk's current row through the changeset. Returns 0 (applied or
 * skipped with an error recorded) or a fatal error. */
static int run_row(file_run *r, hubc__cs *cs) {
  hubc_import *imp = r->imp;
  const hubc__imp_row *row = &r->row;
  size_t i = r->i;
  hubc_id id;
  int rc = row_begin(r, row, &id);
  const hubc__eidx *x = &imp->store->contacts.eidx;
  fetch_next_slot(r, x->slots, x->mask, NULL, 0);
  if (rc) return rc == 1 ? 0 : rc;
  if (email_ok(imp, i)) {
    if (r->cell_h_ok) hubc__cs_email_hash(cs, r->cell_h); /* the cell is the email as it is matched */
    rc = hubc__cs_row_email_ready(cs, id, r->vals, r->lens, NULL, NULL);
  }
  else if (!(rc = hubc__cs_row_n(cs, id, r->vals, r->lens, NULL, NULL))) note_email(imp, cs, r, i);
  return row_failed(r, cs, row, id, rc);
}

static hubc__cs_opts cs_opts(const hubc_import *imp, hubc_id import_id) {
  return (hubc__cs_opts){
    .policy = HUBC__CS_NONEMPTY | HUBC__CS_FORWARD | HUBC__CS_MERGE_DUPLICATES,
    .mode = imp->mode == HUBC_IMPORT_CREATE_ONLY   ? HUBC__CS_CREATE_ONLY
            : imp->mode == HUBC_IMPORT_UPDATE_ONLY ? HUBC__CS_UPDATE_ONLY
                                                   : HUBC__CS_CREATE_OR_UPDATE,
    .source = HUBC_SOURCE_IMPORT,
    .source_id = import_id,
    .mark_created = imp->set_marketing,
    .mark_matched = imp->set_marketing,
  };
}

static void counts_clear(hubc_import *imp) {
  hubc__import_errors_clear(imp, &imp->match_errs);
  hubc_import_summary *sum = &imp->sum;
  sum->to_create = sum->to_update = sum->unchanged = sum->merged = sum->to_set_marketing = 0;
  imp->prog.rows_done = 0;
  imp->prog.bytes_done = 0;
}

/* Progress every 4,096 rows, and at the end of the rows. */
static int row_done(hubc_import *imp) {
  imp->prog.rows_done++;
  return (imp->prog.rows_done & 4095) == 0 ? hubc__import_progress(imp, HUBC_IMPORT_PHASE_APPLY) : 0;
}

static int rows_end(hubc_import *imp, int rc) {
  imp->sum.skipped = imp->read_errs.n + imp->match_errs.n;
  if (rc) return rc;
  imp->prog.bytes_done = imp->prog.bytes_total;
  return hubc__import_progress(imp, HUBC_IMPORT_PHASE_APPLY);
}

/* Applies every valid row inside the current transaction; fills the
 * summary's counts. */
int hubc__import_apply(hubc_import *imp, hubc_id import_id) {
  hubc_store *s = imp->store;
  hubc_import_summary *sum = &imp->sum;
  counts_clear(imp);
  int rc = 0;
  for (size_t fi = 0; fi < imp->n_files && !rc; fi++) {
    const hubc__imp_file *f = &imp->files[fi];
    file_run r;
    hubc__cs cs;
    hubc__cs_opts o = cs_opts(imp, import_id);
    rc = run_init(&r, imp, fi);
    if (rc) {
      run_free(&r);
      break;
    }
    rc = hubc__cs_begin(&cs, s, &o, r.names, r.n); /* paired with cs_end whatever it returns */
    if (!rc) rc = hubc__cs_reserve(&cs, f->row_end - f->row_begin);
    walk_start(&r);
    for (size_t i = f->row_begin; !rc && walk_next(&r, i); i++) {
      rc = run_row(&r, &cs);
      if (!rc) rc = row_done(imp);
    }
    sum->to_create += cs.created;
    sum->to_update += cs.updated;
    sum->unchanged += cs.unchanged;
    sum->merged += cs.merged;
    sum->to_set_marketing += cs.marked;
    hubc__cs_end(&cs);
    run_free(&r);
  }
  return rows_end(imp, rc);
}

/* ---- the plan's projection (I7) ------------------------------------------------ */

/* The contacts the file would create, by email: open addressing over
 * [32-bit hash][32-bit offset + 1 of the creating row in the file's
 * buffer], sized once for every row. A hit is confirmed by normalizing the
 * creating row's email again (rare: only repeated emails and hash
 * collisions). */
typedef struct created_set {
  uint64_t *slot;
  size_t mask;
} created_set;

/* The offset of the creating row of this normalized email, or SIZE_MAX;
 * *pos is where to insert it. */
static size_t created_find(const created_set *t, file_run *r, uint32_t h, const char *email, size_t *pos,
                           char *other) {
  for (size_t i = h & t->mask;; i = (i + 1) & t->mask) {
    uint64_t e = t->slot[i];
    if (!e) {
      *pos = i;
      return SIZE_MAX;
    }
    if ((uint32_t)(e >> 32) != h) continue;
    size_t off = (size_t)(uint32_t)e - 1;
    const char *p = r->f->buf + off; /* to the email cell */
    for (size_t c = 0; c < r->f->email_col; c++) p += strlen(p) + 1;
    const char *why;
    if (hubc__email_normalize(p, other, &why) >= 0 && strcmp(other, email) == 0) return off;
  }
}

typedef struct projection {
  file_run r;
  hubc__cs cs;
  created_set created;
  uint64_t *reached;   /* bit per existing contact a row reached */
  size_t reached_words;
  size_t email_k;      /* the email column among the changeset's */
  char *other;         /* HUBC__EMAIL_BUF bytes */
  int64_t *delta;
} projection;

/* What hubc__cs_row would do with row i (changeset.c decides it the same
 * way), counted without applying it: 0, a row-level error (message set,
 * cs.fail_col its column), or 1 when the row is out of this projection's
 * reach. */
static int project_row(projection *pj, size_t i) {
  hubc_store *s = pj->r.imp->store;
  hubc__cs *cs = &pj->cs;
  hubc_import_summary *sum = &pj->r.imp->sum;
  size_t nch;
  int rc = hubc__cs_check(cs, pj->r.vals, pj->r.lens, &nch);
  if (rc) return rc;
  int cell_is_email = note_email(pj->r.imp, cs, &pj->r, i) && pj->r.cell_h_ok; /* its hash is the email's */
  const char *email = nch && cs->ch[0].prop == HUBC__P_EMAIL ? cs->ch[0].value : NULL;
  hubc__rec *target = NULL;
  size_t pos = 0;
  uint32_t h = 0;
  if (email) {
    h = cell_is_email ? pj->r.cell_h : hubc__hash(email, cs->ch[0].len);
    target = hubc__eidx_probe(&s->contacts.eidx, email, h);
    if (!target && created_find(&pj->created, &pj->r, h, email, &pos, pj->other) != SIZE_MAX) {
      sum->merged++; /* into a contact an earlier row creates */
      return 0;
    }
  }
  if (target) {
    int64_t id = target->id;
    uint64_t bit = 1ULL << (id % 64);
    if (pj->reached[id / 64] & bit) {
      sum->merged++;
      return 0;
    }
    if (cs->o.mode == HUBC__CS_CREATE_ONLY) {
      cs->fail_col = pj->email_k;
      return hubc__err(HUBC_EEXISTS, "a contact with email '%s' already exists (record id %lld)",
                       hubc__rec_email(target), (long long)id);
    }
    if (hubc__rec_count(target) + cs->n > HUBC_MAX_CONTACT_PROPERTIES)
      return 1; /* the rows merging into it next would need it merged */
    int changed = 0, mark = cs->o.mark_matched && target->status != HUBC_MARKETING;
    if ((rc = hubc__cs_would_change(cs, target, nch, &changed))) return rc;
    pj->reached[id / 64] |= bit;
    if (mark) {
      sum->to_set_marketing++;
      pj->delta[target->status]--;
      pj->delta[HUBC_MARKETING]++;
    }
    if (changed || mark) sum->to_update++;
    else sum->unchanged++;
    return 0;
  }
  if (cs->o.mode == HUBC__CS_UPDATE_ONLY) {
    if (!email) return hubc__err(HUBC_ENOTFOUND, "no record id or email to find the contact by");
    cs->fail_col = pj->email_k;
    return hubc__err(HUBC_ENOTFOUND, "no contact with email '%s'", email);
  }
  if (email) pj->created.slot[pos] = (uint64_t)h << 32 | (uint64_t)(pj->r.row.off + 1);
  sum->to_create++;
  pj->delta[3]++;
  pj->delta[cs->o.mark_created ? HUBC_MARKETING : HUBC_NON_MARKETING]++;
  if (cs->o.mark_created) sum->to_set_marketing++;
  return 0;
}

int hubc__import_project(hubc_import *imp, int64_t delta[4]) {
  hubc_store *s = imp->store;
  memset(delta, 0, 4 * sizeof *delta);
  if (imp->n_files != 1) return 1; /* a later file meets the earlier ones' contacts as built */
  const hubc__imp_file *f = &imp->files[0];
  size_t nrows = f->row_end - f->row_begin;
  if (f->id_col != SIZE_MAX || nrows >= UINT32_MAX || s->contacts.next_id + (int64_t)nrows > 0xffffffffLL)
    return 1; /* Record IDs, and rows that may run out of ids, are left to the changeset */
  counts_clear(imp);
  projection pj;
  memset(&pj, 0, sizeof pj);
  pj.cs.s = s; /* hubc__cs_end is safe from here on */
  pj.delta = delta;
  pj.email_k = SIZE_MAX;
  size_t cap = 16;
  while (cap < nrows * 2) cap *= 2; /* load at most 1/2 */
  hubc__cs_opts o = cs_opts(imp, 0);
  int rc = run_init(&pj.r, imp, 0);
  if (!rc) rc = hubc__cs_begin(&pj.cs, s, &o, pj.r.names, pj.r.n);
  for (size_t k = 0; k < pj.r.n; k++)
    if (pj.r.col[k] == f->email_col) pj.email_k = k;
  if (!rc && f->email_col != SIZE_MAX) {
    pj.created.slot = hubc__calloc(imp->base, cap * sizeof *pj.created.slot);
    if (pj.created.slot) hubc__huge_advise(pj.created.slot, cap * sizeof *pj.created.slot);
    pj.created.mask = cap - 1;
    pj.reached_words = (size_t)s->contacts.next_id / 64 + 1;
    pj.reached = hubc__calloc(imp->base, pj.reached_words * sizeof *pj.reached);
    pj.other = hubc__alloc(imp->base, HUBC__EMAIL_BUF);
    if (!pj.created.slot || !pj.reached || !pj.other)
      rc = hubc__err(HUBC_ENOMEM, "out of memory planning an import of %zu rows", nrows);
  }
  walk_start(&pj.r);
  for (size_t i = f->row_begin; !rc && walk_next(&pj.r, i); i++) {
    const hubc__imp_row *row = &pj.r.row;
    hubc_id id;
    rc = row_begin(&pj.r, row, &id);
    fetch_next_slot(&pj.r, pj.created.slot, pj.created.mask, s->contacts.eidx.slots, s->contacts.eidx.mask);
    if (!rc) {
      rc = project_row(&pj, i);
      if (rc == 1) break;
      rc = row_failed(&pj.r, &pj.cs, row, id, rc);
    } else if (rc == 1) rc = 0; /* skipped, its error recorded */
    if (!rc) rc = row_done(imp);
  }
  if (rc == 1) counts_clear(imp);
  hubc__cs_end(&pj.cs);
  run_free(&pj.r);
  hubc__free(imp->base, pj.created.slot, pj.created.slot ? cap * sizeof *pj.created.slot : 0);
  hubc__free(imp->base, pj.reached, pj.reached_words * sizeof *pj.reached);
  hubc__free(imp->base, pj.other, pj.other ? HUBC__EMAIL_BUF : 0);
  return rc == 1 ? 1 : rows_end(imp, rc);
}
