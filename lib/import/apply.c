/* Matching and applying an import's rows through the contact changeset
 * (I4, I6, I10): one code path for the plan (apply, count, undo) and the
 * commit (apply, check the confirmation, persist) (I7, I8). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
  char **cells;      /* the row's values by file column */
} file_run;

static void run_free(file_run *r) {
  hubc__base *b = r->imp->base;
  size_t nc = r->f->ncols;
  hubc__free(b, r->col, nc * sizeof *r->col);
  hubc__free(b, r->names, nc * sizeof *r->names);
  hubc__free(b, r->vals, nc * sizeof *r->vals);
  hubc__free(b, r->cells, nc * sizeof *r->cells);
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
  r->cells = hubc__alloc(b, nc * sizeof *r->cells);
  if (!r->col || !r->names || !r->vals || !r->cells) return hubc__err(HUBC_ENOMEM, "out of memory applying an import");
  for (size_t c = 0; c < nc; c++) {
    int32_t p = f->prop[c];
    if (p < 0 || p == HUBC__P_OBJECT_ID || (schema->props[p].flags & HUBC_PROP_READONLY)) continue;
    r->col[r->n] = c;
    r->names[r->n++] = schema->props[p].name;
  }
  return 0;
}

/* One row: its cells, the read-only and Record ID columns, then the
 * changeset. Returns 0 (applied or skipped with an error recorded) or a
 * fatal error. */
static int run_row(file_run *r, hubc__cs *cs, const hubc__imp_row *row) {
  hubc_import *imp = r->imp;
  const hubc__imp_file *f = r->f;
  const hubc__schema *schema = imp->store->schema;
  char *p = f->buf + row->off;
  for (size_t c = 0; c < f->ncols; c++) {
    r->cells[c] = p;
    p += strlen(p) + 1;
  }
  hubc_id id = 0;
  for (size_t c = 0; c < f->ncols; c++) {
    int32_t prop = f->prop[c];
    if (prop < 0 || !*r->cells[c]) continue;
    if (prop == HUBC__P_OBJECT_ID) {
      if (parse_record_id(r->cells[c], &id) == 0) continue;
      return hubc__import_error(imp, &imp->match_errs, r->fi, row->line, c, HUBC_EINVAL, r->cells, f->ncols,
                                "'%.100s' is not a record id (a positive whole number)", r->cells[c]);
    }
    if (schema->props[prop].flags & HUBC_PROP_READONLY)
      return hubc__import_error(imp, &imp->match_errs, r->fi, row->line, c, HUBC_EREADONLY, r->cells, f->ncols,
                                "property '%s' is read-only; the column must be blank or unmapped",
                                schema->props[prop].name);
  }
  for (size_t k = 0; k < r->n; k++) r->vals[k] = r->cells[r->col[k]];
  int rc = hubc__cs_row(cs, id, r->vals, NULL, NULL);
  if (!rc || !row_level(rc)) return rc;
  char msg[512];
  snprintf(msg, sizeof msg, "%s", hubc_error_last());
  size_t col = cs->fail_col < r->n ? r->col[cs->fail_col] : SIZE_MAX;
  if (col == SIZE_MAX && rc == HUBC_ENOTFOUND && id) col = f->id_col;
  return hubc__import_error(imp, &imp->match_errs, r->fi, row->line, col, rc, r->cells, f->ncols, "%s", msg);
}

/* Applies every valid row inside the current transaction; fills the
 * summary's counts. */
int hubc__import_apply(hubc_import *imp, hubc_id import_id) {
  hubc_store *s = imp->store;
  hubc__import_errors_clear(imp, &imp->match_errs);
  hubc_import_summary *sum = &imp->sum;
  sum->to_create = sum->to_update = sum->unchanged = sum->merged = sum->to_set_marketing = 0;
  imp->prog.rows_done = 0;
  imp->prog.bytes_done = 0;
  size_t next = 0;
  int rc = 0;
  for (size_t fi = 0; fi < imp->n_files && !rc; fi++) {
    file_run r;
    hubc__cs cs;
    hubc__cs_opts o = {
      .policy = HUBC__CS_NONEMPTY | HUBC__CS_FORWARD | HUBC__CS_MERGE_DUPLICATES,
      .mode = imp->mode == HUBC_IMPORT_CREATE_ONLY   ? HUBC__CS_CREATE_ONLY
              : imp->mode == HUBC_IMPORT_UPDATE_ONLY ? HUBC__CS_UPDATE_ONLY
                                                     : HUBC__CS_CREATE_OR_UPDATE,
      .source = HUBC_SOURCE_IMPORT,
      .source_id = import_id,
      .mark_created = imp->set_marketing,
      .mark_matched = imp->set_marketing,
    };
    size_t end = next;
    while (end < imp->n_rows && imp->rows[end].file == fi) end++;
    rc = run_init(&r, imp, fi);
    if (rc) {
      run_free(&r);
      break;
    }
    rc = hubc__cs_begin(&cs, s, &o, r.names, r.n); /* paired with cs_end whatever it returns */
    if (!rc) rc = hubc__cs_reserve(&cs, end - next);
    for (; !rc && next < end; next++) {
      rc = run_row(&r, &cs, &imp->rows[next]);
      imp->prog.rows_done++;
      if (!rc && (imp->prog.rows_done & 4095) == 0) rc = hubc__import_progress(imp, HUBC_IMPORT_PHASE_APPLY);
    }
    sum->to_create += cs.created;
    sum->to_update += cs.updated;
    sum->unchanged += cs.unchanged;
    sum->merged += cs.merged;
    sum->to_set_marketing += cs.marked;
    hubc__cs_end(&cs);
    run_free(&r);
    next = end;
  }
  sum->skipped = imp->read_errs.n + imp->match_errs.n;
  if (!rc) {
    imp->prog.bytes_done = imp->prog.bytes_total;
    rc = hubc__import_progress(imp, HUBC_IMPORT_PHASE_APPLY);
  }
  return rc;
}
