/* The public import calls (I1–I10): options, plan, commit, the error list
 * and the error file. */
#include "hubcontacts/import.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import/csv.h"
#include "import/import.h"
#include "store/plan.h"
#include "user/perm.h"
#include "util/version.h"

HUBC_API int hubc_import_options_init(hubc_import_options *o, unsigned int version) {
  if (!o) return hubc__err(HUBC_EINVAL, "import options init: opts is NULL");
  int rc = hubc__version_check(version, HUBC_IMPORT_OPTIONS_VERSION, "import options");
  if (rc) return rc;
  memset(o, 0, HUBC__VERSION_END(hubc_import_options, progress_payload));
  o->version = version;
  return hubc__ok();
}

static int check_options(const hubc_import_options *o) {
  if (!o) return hubc__err(HUBC_EINVAL, "import: options are NULL (use hubc_import_options_init)");
  int rc = hubc__version_check(o->version, HUBC_IMPORT_OPTIONS_VERSION, "import options");
  if (rc) return rc;
  if (o->n_files == 0 || !o->files) return hubc__err(HUBC_EINVAL, "import options: no files given");
  for (size_t i = 0; i < o->n_files; i++)
    if (!o->files[i]) return hubc__err(HUBC_EINVAL, "import options: file %zu is NULL", i);
  if (o->delimiter && o->delimiter != ',' && o->delimiter != ';' && o->delimiter != '\t')
    return hubc__err(HUBC_EINVAL, "import options: delimiter must be comma, semicolon or tab (or 0 to detect)");
  if (o->mode < HUBC_IMPORT_CREATE_AND_UPDATE || o->mode > HUBC_IMPORT_UPDATE_ONLY)
    return hubc__err(HUBC_EINVAL, "import options: mode %d is not an import mode", o->mode);
  if ((o->set_marketing != 0 && o->set_marketing != 1) || (o->other_objects != 0 && o->other_objects != 1))
    return hubc__err(HUBC_EINVAL, "import options: set_marketing and other_objects must be 0 or 1");
  if (o->n_map && (!o->map_columns || !o->map_properties))
    return hubc__err(HUBC_EINVAL, "import options: map_columns or map_properties is NULL with n_map = %zu", o->n_map);
  for (size_t i = 0; i < o->n_map; i++)
    if (!o->map_columns[i]) return hubc__err(HUBC_EINVAL, "import options: map_columns[%zu] is NULL", i);
  if (o->max_columns > HUBC_IMPORT_MAX_COLUMNS)
    return hubc__err(HUBC_ELIMIT, "import options: max_columns %zu is above %d (I3)", o->max_columns,
                     HUBC_IMPORT_MAX_COLUMNS);
  /* I6: one file holding only contacts, checked before anything is read */
  if (o->set_marketing && (o->n_files > 1 || o->other_objects))
    return hubc__err(HUBC_EINVAL, "import: \"set all contacts as marketing\" is only for an import of one file that "
                                  "holds only contacts (I6); this one has %zu file(s)%s",
                     o->n_files, o->other_objects ? " with other objects" : "");
  return 0;
}

HUBC_API void hubc_import_free(hubc_import *imp) {
  if (!imp) return;
  hubc__base *b = imp->base;
  for (size_t i = 0; i < imp->n_files; i++) {
    hubc__imp_file *f = &imp->files[i];
    if (f->name) hubc__free(b, f->name, strlen(f->name) + 1);
    hubc__free(b, f->buf, f->cap);
    hubc__free(b, f->header, f->ncols * sizeof *f->header);
    hubc__free(b, f->prop, f->ncols * sizeof *f->prop);
  }
  hubc__free(b, imp->files, imp->n_files * sizeof *imp->files);
  hubc__free(b, imp->jumps, imp->jumps_cap * sizeof *imp->jumps);
  hubc__free(b, imp->email_ok, imp->email_ok_words * sizeof *imp->email_ok);
  hubc__import_errors_clear(imp, &imp->read_errs);
  hubc__import_errors_clear(imp, &imp->match_errs);
  hubc__free(b, imp->read_errs.e, imp->read_errs.cap * sizeof *imp->read_errs.e);
  hubc__free(b, imp->match_errs.e, imp->match_errs.cap * sizeof *imp->match_errs.e);
  hubc__free(b, imp->order, imp->order_cap * sizeof *imp->order);
  for (size_t i = 0; i < imp->n_unmapped; i++) hubc__free(b, imp->unmapped[i], strlen(imp->unmapped[i]) + 1);
  hubc__free(b, imp->unmapped, imp->n_unmapped * sizeof *imp->unmapped);
  hubc__free(b, imp, sizeof *imp);
  hubc__base_unref(b);
}

HUBC_API int hubc_import_summary_get(const hubc_import *imp, hubc_import_summary *out) {
  if (!imp || !out) return hubc__err(HUBC_EINVAL, "import summary: %s is NULL", imp ? "out" : "import");
  int rc = hubc__version_check(out->version, HUBC_IMPORT_SUMMARY_VERSION, "import summary");
  if (rc) return rc;
  hubc__version_out(out, &imp->sum, HUBC__VERSION_END(hubc_import_summary, import_id));
  return hubc__ok();
}

static const hubc__imp_err *error_at(const hubc_import *imp, size_t i) {
  return i < imp->order_n ? imp->order[i] : NULL;
}

/* The errors in file order: both lists are, so one merge. */
static int order_errors(hubc_import *imp) {
  size_t n = imp->read_errs.n + imp->match_errs.n;
  imp->order_n = 0; /* the lists changed: nothing is listed until merged again */
  int rc = hubc__grow(imp->base, (void **)&imp->order, &imp->order_cap, n, sizeof *imp->order);
  if (rc) return rc;
  const hubc__imp_errs *a = &imp->read_errs, *b = &imp->match_errs;
  size_t i = 0, j = 0;
  for (size_t k = 0; k < n; k++) {
    int take_a = j >= b->n || (i < a->n && (a->e[i].file < b->e[j].file ||
                                            (a->e[i].file == b->e[j].file && a->e[i].line <= b->e[j].line)));
    imp->order[k] = take_a ? &a->e[i++] : &b->e[j++];
  }
  imp->order_n = n;
  return 0;
}

/* ---- plan and commit (I7, I8) ---------------------------------------------------- */

/* About the bytes of the records a commit builds: its rows' packed values
 * plus a record's header, meta prefix and field tags each, so that they
 * come from one slab in huge pages (hubc__arena_reserve). */
static size_t record_bytes(const hubc_import *imp) {
  size_t n = 0;
  for (size_t i = 0; i < imp->n_files; i++) {
    const hubc__imp_file *f = &imp->files[i];
    if (f->row_end > f->row_begin)
      n += f->packed - f->data_off + (f->row_end - f->row_begin) * (offsetof(hubc__rec, blob) + 16 + f->ncols);
  }
  return n;
}

/* Runs the rows inside a transaction of the import's actor: a plan reads
 * what the commit would do (store/plan.h: the billing finalize included),
 * projected without applying when it can be (apply.c), else applied and
 * undone; a commit checks the confirmation and persists. */
static int run(hubc_import *imp, int commit, uint64_t confirm, hubc_id *out_id) {
  hubc_store *s = imp->store;
  const char *what = commit ? "commit import" : "plan import";
  int rc = hubc__write_begin(s, imp->actor, hubc__perm_row_of(HUBC__OP_IMPORT)->perm, what);
  if (rc) return rc;
  if (imp->set_marketing && (rc = hubc__op_check(s, HUBC__OP_IMPORT_MARKETING))) /* I6 */
    return hubc__write_end(s, rc);
  hubc__plan plan;
  if (!commit) hubc__plan_start(s, &plan);
  hubc_import_summary *sum = &imp->sum;
  sum->billable_before = HUBC__BILLABLE(s);
  hubc_id import_id = 0;
  int64_t delta[4];
  int projected = 0;
  rc = hubc__import_begin_record(s, &import_id);
  if (!rc && !commit) {
    rc = hubc__import_project(imp, delta);
    projected = rc != 1;
    if (rc == 1) rc = 0;
  }
  if (!rc && commit) hubc__arena_reserve(s->base, record_bytes(imp));
  if (!rc && !projected) rc = hubc__import_apply(imp, import_id);
  if (!rc && commit && sum->to_set_marketing != confirm)
    rc = hubc__err(HUBC_ECONFIRM, "this import sets %llu contacts as marketing; confirm with %llu (not %llu); "
                                  "nothing changed (I7)",
                   (unsigned long long)sum->to_set_marketing, (unsigned long long)sum->to_set_marketing,
                   (unsigned long long)confirm);
  if (!rc && commit) rc = hubc__import_record(s, imp, import_id);
  if (!commit) {
    rc = projected ? hubc__write_plan_projected(s, rc, &plan, delta) : hubc__write_plan(s, rc, &plan);
    sum->projected_billable = plan.billable_after;
    sum->projected_tier = plan.tier_after;
    sum->over_cap = plan.cap_refused;
    if (rc == HUBC_ELIMIT && plan.cap_refused) rc = hubc__ok(); /* the plan's answer, not its failure */
  } else {
    sum->projected_billable = HUBC__BILLABLE(s);
    rc = hubc__write_end(s, rc);
  }
  if (!rc && commit) {
    hubc_billing_info bi = {.version = HUBC_BILLING_INFO_VERSION};
    if (hubc_billing_get(&bi, s) == 0) sum->projected_tier = bi.tier; /* after an upgrade */
    sum->over_cap = 0;
    sum->import_id = import_id;
    imp->committed = 1;
    if (out_id) *out_id = import_id;
  }
  int orc = order_errors(imp);
  return rc ? rc : orc;
}

HUBC_API int hubc_import_plan(hubc_import **out, hubc_store *s, hubc_id actor, const hubc_import_options *o) {
  if (!out) return hubc__err(HUBC_EINVAL, "plan import: out is NULL");
  *out = NULL;
  if (!s) return hubc__err(HUBC_EINVAL, "plan import: store is NULL");
  int rc = check_options(o);
  if (rc) return rc;
  hubc__base *b = s->base;
  hubc_import *imp = hubc__calloc(b, sizeof *imp);
  if (!imp) return hubc__err(HUBC_ENOMEM, "out of memory planning an import");
  hubc__base_ref(b);
  imp->base = b;
  imp->store = s;
  imp->actor = actor;
  imp->mode = o->mode;
  imp->set_marketing = o->set_marketing;
  imp->progress = o->progress;
  imp->progress_payload = o->progress_payload;
  imp->prog.version = HUBC_IMPORT_PROGRESS_VERSION;
  rc = hubc__import_read(imp, o);
  if (!rc) {
    imp->sum.rows = imp->data_rows;
    imp->sum.unmapped_columns = imp->n_unmapped;
    rc = run(imp, 0, 0, NULL);
  }
  if (rc) {
    hubc_import_free(imp);
    return rc;
  }
  *out = imp;
  return hubc__ok();
}

HUBC_API int hubc_import_commit(hubc_id *out_id, hubc_import *imp, uint64_t confirm) {
  if (out_id) *out_id = 0;
  if (!imp) return hubc__err(HUBC_EINVAL, "commit import: import is NULL");
  if (imp->committed)
    return hubc__err(HUBC_EINVAL, "commit import: already committed as import %lld",
                     (long long)imp->sum.import_id);
  int rc = run(imp, 1, confirm, out_id);
  return rc ? rc : hubc__ok();
}

HUBC_API size_t hubc_import_error_count(const hubc_import *imp) {
  if (!imp) {
    hubc__err(HUBC_EINVAL, "import error count: import is NULL");
    return 0;
  }
  hubc__ok();
  return imp->order_n; /* what error_at lists */
}

HUBC_API int hubc_import_error_at(const hubc_import *imp, size_t i, hubc_import_error *out) {
  if (!imp || !out) return hubc__err(HUBC_EINVAL, "import error: %s is NULL", imp ? "out" : "import");
  int rc = hubc__version_check(out->version, HUBC_IMPORT_ERROR_VERSION, "import error");
  if (rc) return rc;
  const hubc__imp_err *e = error_at(imp, i);
  if (!e) return hubc__err(HUBC_ENOTFOUND, "import error %zu: the import has %zu", i, hubc_import_error_count(imp));
  hubc_import_error r = {HUBC_IMPORT_ERROR_VERSION, e->file, e->line,
                         e->col == SIZE_MAX ? "" : imp->files[e->file].header[e->col], e->code, e->message};
  hubc__version_out(out, &r, HUBC__VERSION_END(hubc_import_error, message));
  return hubc__ok();
}

HUBC_API const char *hubc_import_unmapped_at(const hubc_import *imp, size_t i) {
  if (!imp) {
    hubc__err(HUBC_EINVAL, "import unmapped column: import is NULL");
    return NULL;
  }
  hubc__ok();
  return i < imp->n_unmapped ? imp->unmapped[i] : NULL;
}

/* ---- the error file (I5) ------------------------------------------------------ */

typedef struct out_buf {
  hubc__base *base;
  char *p;
  size_t n, cap;
} out_buf;

static int put_field(out_buf *o, const char *s, char delim, int first) {
  size_t len = strlen(s);
  int rc = hubc__grow(o->base, (void **)&o->p, &o->cap, o->n + 2 * len + 3, 1);
  if (rc) return rc;
  if (!first) o->p[o->n++] = delim;
  o->n += hubc__csv_quote(o->p + o->n, s, len, delim);
  return 0;
}

static int end_line(out_buf *o, hubc_write_fn w, void *payload) {
  int rc = hubc__grow(o->base, (void **)&o->p, &o->cap, o->n + 2, 1);
  if (rc) return rc;
  o->p[o->n++] = '\r'; /* RFC 4180 line ends */
  o->p[o->n++] = '\n';
  if (w(payload, o->p, o->n) != 0) return hubc__err(HUBC_EIO, "import error file: the write callback failed");
  o->n = 0;
  return 0;
}

HUBC_API int hubc_import_write_errors(const hubc_import *imp, size_t file, hubc_write_fn w, void *payload) {
  if (!imp || !w) return hubc__err(HUBC_EINVAL, "import error file: %s is NULL", imp ? "write" : "import");
  if (file >= imp->n_files)
    return hubc__err(HUBC_EINVAL, "import error file: file %zu does not exist (the import has %zu)", file,
                     imp->n_files);
  const hubc__imp_file *f = &imp->files[file];
  out_buf o = {imp->base, NULL, 0, 0};
  char num[24];
  int rc = 0;
  for (size_t c = 0; c < f->ncols && !rc; c++) rc = put_field(&o, f->header[c], f->delim, c == 0);
  if (!rc) rc = put_field(&o, "error_line", f->delim, f->ncols == 0);
  if (!rc) rc = put_field(&o, "error_column", f->delim, 0);
  if (!rc) rc = put_field(&o, "error", f->delim, 0);
  if (!rc) rc = end_line(&o, w, payload);
  size_t total = hubc_import_error_count(imp);
  for (size_t i = 0; i < total && !rc; i++) {
    const hubc__imp_err *e = error_at(imp, i);
    if (e->file != file) continue;
    /* the row's fields under the header's columns, padded or cut */
    for (size_t c = 0; c < f->ncols && !rc; c++) rc = put_field(&o, c < e->nfields ? e->fields[c] : "", f->delim, c == 0);
    snprintf(num, sizeof num, "%llu", (unsigned long long)e->line);
    if (!rc) rc = put_field(&o, num, f->delim, f->ncols == 0);
    if (!rc) rc = put_field(&o, e->col == SIZE_MAX ? "" : f->header[e->col], f->delim, 0);
    if (!rc) rc = put_field(&o, e->message, f->delim, 0);
    if (!rc) rc = end_line(&o, w, payload);
  }
  hubc__free(imp->base, o.p, o.cap);
  return rc ? rc : hubc__ok();
}
