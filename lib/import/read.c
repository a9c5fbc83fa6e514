/* Reading an import: files into memory within the limits (I3), headers
 * mapped to properties (I2), rows delimited and checked for what does not
 * depend on the store (I1, I5). Values are validated by the contact write
 * path when the rows are applied (apply.c), the one place for C3/C4. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "import/csv.h"
#include "import/import.h"
#include "util/text.h"

enum { READ_CHUNK = 1 << 20 };

int hubc__import_progress(hubc_import *imp, int phase) {
  if (!imp->progress) return 0;
  imp->prog.phase = phase;
  hubc_import_progress p = imp->prog;
  hubc__busy frame; /* the callback may not call into the store (EBUSY) */
  hubc__busy_enter(&frame, imp->store);
  int stop = imp->progress(imp->progress_payload, &p);
  hubc__busy_leave(&frame);
  if (stop)
    return hubc__err(HUBC_ECANCELED, "import cancelled from the progress callback after %llu rows; nothing changed",
                     (unsigned long long)imp->prog.rows_done);
  return 0;
}

static char *dup_n(hubc__base *b, const char *s, size_t n) {
  char *d = hubc__alloc(b, n + 1);
  if (d) {
    memcpy(d, s, n);
    d[n] = '\0';
  }
  return d;
}

int hubc__import_error(hubc_import *imp, hubc__imp_errs *errs, size_t file, uint64_t line, size_t col, int code,
                       char *const *fields, size_t nfields, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  int rc = hubc__grow(imp->base, (void **)&errs->e, &errs->cap, errs->n + 1, sizeof *errs->e);
  if (rc) return rc;
  hubc__imp_err *e = &errs->e[errs->n];
  memset(e, 0, sizeof *e);
  e->file = file;
  e->line = line;
  e->col = col;
  e->code = code;
  e->message = dup_n(imp->base, msg, strlen(msg));
  if (!e->message) return hubc__err(HUBC_ENOMEM, "out of memory recording a row error");
  if (nfields) {
    e->fields = hubc__calloc(imp->base, nfields * sizeof *e->fields);
    if (!e->fields) {
      hubc__free(imp->base, e->message, strlen(e->message) + 1);
      return hubc__err(HUBC_ENOMEM, "out of memory recording a row error");
    }
    e->nfields = nfields;
    for (size_t i = 0; i < nfields; i++)
      if (!(e->fields[i] = dup_n(imp->base, fields[i], strlen(fields[i])))) {
        /* not kept half-copied: the error file reads every field */
        for (size_t k = 0; k < i; k++) hubc__free(imp->base, e->fields[k], strlen(e->fields[k]) + 1);
        hubc__free(imp->base, e->fields, nfields * sizeof *e->fields);
        hubc__free(imp->base, e->message, strlen(e->message) + 1);
        return hubc__err(HUBC_ENOMEM, "out of memory recording a row error");
      }
  }
  errs->n++;
  return 0;
}

void hubc__import_errors_clear(hubc_import *imp, hubc__imp_errs *errs) {
  for (size_t i = 0; i < errs->n; i++) {
    hubc__imp_err *e = &errs->e[i];
    if (e->message) hubc__free(imp->base, e->message, strlen(e->message) + 1);
    for (size_t k = 0; k < e->nfields; k++)
      if (e->fields[k]) hubc__free(imp->base, e->fields[k], strlen(e->fields[k]) + 1);
    if (e->fields) hubc__free(imp->base, e->fields, e->nfields * sizeof *e->fields);
  }
  errs->n = 0;
}

/* ---- files into memory ---------------------------------------------------- */

static int too_big(const hubc__imp_file *f, uint64_t max) {
  return hubc__err(HUBC_ELIMIT, "file '%s' is larger than the import limit of %llu bytes (I3); nothing imported",
                   f->name, (unsigned long long)max);
}

static int grow_buf(hubc_import *imp, hubc__imp_file *f, size_t need) {
  if (need + 1 <= f->cap) return 0;
  size_t cap = f->cap ? f->cap : READ_CHUNK;
  while (cap < need + 1) cap *= 2;
  char *b = hubc__realloc(imp->base, f->buf, f->cap, cap);
  if (!b) return hubc__err(HUBC_ENOMEM, "out of memory reading file '%s' (%zu bytes)", f->name, need);
  hubc__huge_advise(b + f->cap, cap - f->cap); /* the part not read into yet */
  f->buf = b;
  f->cap = cap;
  return 0;
}

/* Reads through the host's callback, chunk by chunk, within max bytes. */
static int read_callback(hubc_import *imp, hubc__imp_file *f, hubc_read_fn fn, void *payload, uint64_t max) {
  for (;;) {
    int rc = grow_buf(imp, f, f->len + READ_CHUNK);
    if (rc) return rc;
    size_t got = 0;
    rc = fn(payload, f->buf + f->len, READ_CHUNK, &got);
    if (rc) return hubc__err(HUBC_EIO, "file '%s': the read callback failed (%d) after %zu bytes", f->name, rc, f->len);
    if (got > READ_CHUNK)
      return hubc__err(HUBC_EINVAL, "file '%s': the read callback reported %zu bytes for a buffer of %d", f->name, got,
                       READ_CHUNK);
    if (got == 0) return 0;
    f->len += got;
    if (f->len > max) return too_big(f, max);
    imp->prog.bytes_done += got;
    imp->prog.bytes_total = imp->prog.bytes_done; /* a stream's size is known at its end */
    if ((rc = hubc__import_progress(imp, HUBC_IMPORT_PHASE_READ))) return rc;
  }
}

static int read_path(hubc_import *imp, hubc__imp_file *f, uint64_t max) {
  int fd = open(f->name, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return hubc__err(HUBC_EIO, "file '%s' cannot be opened: %s", f->name, strerror(errno));
  struct stat st;
  int rc = 0;
  if (fstat(fd, &st) != 0) rc = hubc__err(HUBC_EIO, "file '%s': %s", f->name, strerror(errno));
  else if (S_ISDIR(st.st_mode)) rc = hubc__err(HUBC_EIO, "file '%s' is a directory", f->name);
  else if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max) rc = too_big(f, max);
  else if (S_ISREG(st.st_mode)) rc = grow_buf(imp, f, (size_t)st.st_size);
  while (!rc) { /* to the end, whatever fstat said: the file may grow or be a pipe */
    char probe[4096];
    size_t room = f->cap ? f->cap - 1 - f->len : 0; /* keep the reader's slack byte */
    char *to = room ? f->buf + f->len : probe;      /* full: a small read decides whether to grow */
    ssize_t n = read(fd, to, room ? (room < READ_CHUNK ? room : READ_CHUNK) : sizeof probe);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      rc = hubc__err(HUBC_EIO, "file '%s': read failed after %zu bytes: %s", f->name, f->len, strerror(errno));
      break;
    }
    if (n == 0) break;
    if (!room) {
      if ((rc = grow_buf(imp, f, f->len + READ_CHUNK))) break;
      memcpy(f->buf + f->len, probe, (size_t)n);
    }
    f->len += (size_t)n;
    if (f->len > max) rc = too_big(f, max);
    else {
      imp->prog.bytes_done += (uint64_t)n;
      if (imp->prog.bytes_done > imp->prog.bytes_total) imp->prog.bytes_total = imp->prog.bytes_done;
      rc = hubc__import_progress(imp, HUBC_IMPORT_PHASE_READ);
    }
  }
  close(fd);
  return rc;
}

/* ---- headers (I2) ----------------------------------------------------------- */

/* The property an explicit mapping names for this header, "" to skip, or
 * NULL when the mapping does not mention it. */
static const char *explicit_map(const hubc_import_options *o, const char *header, int *found) {
  *found = 0;
  for (size_t i = 0; i < o->n_map; i++)
    if (o->map_columns[i] && hubc__eq_ci(o->map_columns[i], header)) {
      *found = 1;
      return o->map_properties ? o->map_properties[i] : NULL;
    }
  return NULL;
}

static int add_unmapped(hubc_import *imp, const hubc__imp_file *f, size_t col) {
  size_t cap = imp->n_unmapped;
  int rc = hubc__grow(imp->base, (void **)&imp->unmapped, &cap, imp->n_unmapped + 1, sizeof *imp->unmapped);
  (void)cap; /* grown one at a time: the count is the capacity */
  if (rc) return rc;
  char text[600];
  const char *h = f->header[col][0] ? f->header[col] : "(blank)";
  snprintf(text, sizeof text, "%s: column %zu '%.500s'", f->name, col + 1, h);
  if (!(imp->unmapped[imp->n_unmapped] = dup_n(imp->base, text, strlen(text))))
    return hubc__err(HUBC_ENOMEM, "out of memory listing unmapped columns");
  imp->n_unmapped++;
  return 0;
}

static int map_header(hubc_import *imp, const hubc_import_options *o, hubc__imp_file *f) {
  const hubc__schema *schema = imp->store->schema;
  f->id_col = f->email_col = SIZE_MAX;
  for (size_t c = 0; c < f->ncols; c++) {
    const char *h = f->header[c];
    int found;
    const char *name = explicit_map(o, h, &found);
    f->prop[c] = HUBC__COL_SKIP;
    int p = found && (!name || !*name) ? -1 : hubc__schema_find(schema, found ? name : h);
    if (p < 0 && found && name && *name)
      return hubc__err(HUBC_ENOTFOUND, "file '%s', column %zu '%.200s': the mapping names property '%.200s', which "
                                       "does not exist",
                       f->name, c + 1, h, name);
    if (p < 0) { /* unknown, blank or skipped by the host: reported (I2) */
      int rc = add_unmapped(imp, f, c);
      if (rc) return rc;
      continue;
    }
    for (size_t k = 0; k < c; k++)
      if (f->prop[k] == p) /* which would win? the person must say */
        return hubc__err(HUBC_EINVAL, "file '%s': columns %zu '%.200s' and %zu '%.200s' both map to property '%s'; "
                                      "map one of them elsewhere or skip it",
                         f->name, k + 1, f->header[k], c + 1, h, schema->props[p].name);
    f->prop[c] = p;
    if (p == HUBC__P_OBJECT_ID) f->id_col = c;
    if (p == HUBC__P_EMAIL) f->email_col = c;
  }
  if (imp->mode == HUBC_IMPORT_UPDATE_ONLY && f->id_col == SIZE_MAX && f->email_col == SIZE_MAX)
    return hubc__err(HUBC_EINVAL, "file '%s': an update-only import needs an Email or Record ID column to find the "
                                  "contacts",
                     f->name);
  return 0;
}

/* ---- rows (I1, I5) ------------------------------------------------------------- */

size_t hubc__import_breaks(const char *a, const char *b) {
  size_t n = 0;
  if (memchr(a, '\r', (size_t)(b - a))) { /* rare: a CRLF counts once, a lone CR too */
    for (; a < b; a++) n += *a == '\n' || (*a == '\r' && a[1] != '\n');
    return n;
  }
  for (; (a = memchr(a, '\n', (size_t)(b - a))) != NULL; a++) n++;
  return n;
}

/* Counts a valid row whose values are packed from `packed` to `end` (its
 * last NUL); notes its line when it is not the one the row before gave
 * (hubc__imp_jump). *next: the line a row right after it would start on;
 * `breaks`: whether its values hold line breaks (the reader's line moved
 * past the next one), counted then as apply.c's walk counts them. */
static int add_row(hubc_import *imp, hubc__imp_file *f, const char *packed, const char *end, uint64_t line,
                   int breaks, uint64_t *next) {
  if (imp->n_rows >= UINT32_MAX) /* jumps name rows in 32 bits */
    return hubc__err(HUBC_ELIMIT, "the import has more than %u valid rows (file '%s' line %llu); nothing imported",
                     UINT32_MAX - 1, f->name, (unsigned long long)line);
  if (imp->n_rows == f->row_begin) f->data_off = (size_t)(packed - f->buf);
  if (imp->n_rows == f->row_begin || line != *next) {
    if (imp->n_jumps == imp->jumps_cap) {
      int rc = hubc__grow(imp->base, (void **)&imp->jumps, &imp->jumps_cap, imp->n_jumps + 1, sizeof *imp->jumps);
      if (rc) return rc;
    }
    imp->jumps[imp->n_jumps++] = (hubc__imp_jump){(uint32_t)imp->n_rows, (uint32_t)line};
  }
  *next = line + 1 + (breaks ? hubc__import_breaks(packed, end) : 0);
  imp->n_rows++;
  return 0;
}

static int read_rows(hubc_import *imp, const hubc_import_options *o, uint32_t fi, uint64_t max_rows,
                     size_t max_cols, uint64_t bytes_before) {
  hubc__imp_file *f = &imp->files[fi];
  hubc__csv c;
  hubc__csv_init(&c, f->buf, f->len, f->delim);
  c.contiguous = 1; /* the rows kept follow one another: nothing per row beside them */
  f->delim = c.delim;
  size_t cap = max_cols + 1; /* one more: a longer row is reported, not cut */
  char **field = hubc__alloc(imp->base, cap * sizeof *field);
  uint32_t *len = hubc__alloc(imp->base, cap * sizeof *len);
  int rc = field && len ? 0 : hubc__err(HUBC_ENOMEM, "out of memory reading file '%s'", f->name);
  hubc__csv_row row = {.field = field, .len = len, .cap = cap};
  if (!rc) {
    rc = hubc__csv_next(&c, &row);
    if (rc == 0) rc = hubc__err(HUBC_EINVAL, "file '%s' is empty: it needs a header row (I1)", f->name);
    else if (rc == 1) {
      rc = 0;
      if (row.n > max_cols)
        rc = hubc__err(HUBC_ELIMIT, "file '%s' has %zu columns; an import takes at most %zu (I3)", f->name, row.n,
                       max_cols);
      else if (row.defect)
        rc = hubc__err(HUBC_EINVAL, "file '%s', header (line %llu, column %llu): %s", f->name,
                       (unsigned long long)row.defect_line, (unsigned long long)row.defect_col,
                       hubc__csv_defect_text(row.defect));
    } else {
      char msg[400];
      snprintf(msg, sizeof msg, "%s", hubc_error_last());
      rc = hubc__err(rc, "file '%s': %s", f->name, msg);
    }
  }
  if (!rc) {
    f->ncols = row.n;
    f->header = hubc__alloc(imp->base, row.n * sizeof *f->header);
    f->prop = hubc__alloc(imp->base, row.n * sizeof *f->prop);
    if (!f->header || !f->prop) rc = hubc__err(HUBC_ENOMEM, "out of memory reading the header of '%s'", f->name);
  }
  if (!rc) {
    for (size_t i = 0; i < row.n; i++) f->header[i] = field[i];
    /* the schema is the store's: read under its lock, refused once closed (R4) */
    rc = hubc__read_begin(imp->store);
    if (!rc) rc = hubc__read_end(imp->store, map_header(imp, o, f));
  }
  uint64_t next_report = 4096, next_line = 0;
  f->row_begin = f->row_end = imp->n_rows;
  f->jump_begin = imp->n_jumps;
  while (!rc) {
    int got = hubc__csv_next(&c, &row);
    if (got == 0) break;
    if (got < 0) {
      char msg[400];
      snprintf(msg, sizeof msg, "%s", hubc_error_last());
      rc = hubc__err(got, "file '%s': %s; nothing imported", f->name, msg);
      break;
    }
    if (++imp->data_rows > max_rows) {
      rc = hubc__err(HUBC_ELIMIT, "the import has more than %llu data rows (I3; file '%s' line %llu); nothing imported",
                     (unsigned long long)max_rows, f->name, (unsigned long long)row.line);
      break;
    }
    imp->prog.rows_done = imp->data_rows;
    size_t n = row.n < cap ? row.n : cap;
    int kept = 0;
    if (row.defect) {
      size_t col = row.defect_field < f->ncols ? row.defect_field : SIZE_MAX;
      rc = hubc__import_error(imp, &imp->read_errs, fi, row.line, col, HUBC_EINVAL, field, n,
                              "line %llu, column %llu: %s", (unsigned long long)row.defect_line,
                              (unsigned long long)row.defect_col, hubc__csv_defect_text(row.defect));
    } else if (row.n != f->ncols) {
      rc = hubc__import_error(imp, &imp->read_errs, fi, row.line, SIZE_MAX, HUBC_EINVAL, field, n,
                              "the row has %zu fields; the header has %zu columns", row.n, f->ncols);
    } else {
      int blank = 1;
      for (size_t i = 0; i < n && blank; i++) blank = len[i] == 0;
      if (blank)
        rc = hubc__import_error(imp, &imp->read_errs, fi, row.line, SIZE_MAX, HUBC_EINVAL, field, n,
                                "the row is empty");
      else {
        rc = add_row(imp, f, field[0], field[n - 1] + len[n - 1], row.line, c.line > row.line + 1, &next_line);
        kept = 1;
      }
    }
    if (!kept) c.out = field[0]; /* a skipped row's values are copied into its error: the next row takes their room */
    if (!rc && imp->data_rows >= next_report) {
      next_report += 4096;
      imp->prog.bytes_done = bytes_before + (uint64_t)(c.p - c.base);
      rc = hubc__import_progress(imp, HUBC_IMPORT_PHASE_CHECK);
    }
  }
  f->row_end = imp->n_rows;
  f->packed = (size_t)(c.out - f->buf);
  hubc__free(imp->base, field, cap * sizeof *field);
  hubc__free(imp->base, len, cap * sizeof *len);
  return rc;
}

/* Gives back the bytes past the file's packed values: the import keeps
 * only those (issue 13: its memory at most the file's size). The header's
 * values start the buffer, one after another. A failed shrink keeps the
 * larger buffer. */
static void shrink_buf(hubc_import *imp, hubc__imp_file *f) {
  size_t need = f->packed + 1; /* the reader's slack byte */
  if (need >= f->cap) return;
  char *b = hubc__realloc(imp->base, f->buf, f->cap, need);
  if (!b) return;
  f->buf = b;
  f->cap = need;
  for (size_t i = 0; i < f->ncols; i++) f->header[i] = i ? f->header[i - 1] + strlen(f->header[i - 1]) + 1 : b;
}

int hubc__import_read(hubc_import *imp, const hubc_import_options *o) {
  uint64_t max_bytes = o->max_bytes ? o->max_bytes : HUBC_IMPORT_MAX_BYTES;
  uint64_t max_rows = o->max_rows ? o->max_rows : HUBC_IMPORT_MAX_ROWS;
  size_t max_cols = o->max_columns ? o->max_columns : HUBC_IMPORT_MAX_COLUMNS;
  if (max_bytes >= UINT32_MAX) /* row offsets and lines are 32-bit */
    return hubc__err(HUBC_ELIMIT, "import options: max_bytes %llu is above the largest file an import reads (%u)",
                     (unsigned long long)max_bytes, UINT32_MAX - 1);
  imp->files = hubc__calloc(imp->base, o->n_files * sizeof *imp->files);
  if (!imp->files) return hubc__err(HUBC_ENOMEM, "out of memory starting an import of %zu files", o->n_files);
  imp->n_files = o->n_files;
  for (size_t i = 0; i < o->n_files; i++) { /* sizes first: the total is known before reading */
    struct stat st;
    if ((!o->read || !o->read[i]) && stat(o->files[i], &st) == 0 && S_ISREG(st.st_mode))
      imp->prog.bytes_total += (uint64_t)st.st_size;
  }
  int rc = 0;
  for (size_t i = 0; i < o->n_files && !rc; i++) {
    hubc__imp_file *f = &imp->files[i];
    f->delim = o->delimiter;
    if (!(f->name = dup_n(imp->base, o->files[i], strlen(o->files[i]))))
      return hubc__err(HUBC_ENOMEM, "out of memory starting an import");
    if (o->read && o->read[i]) rc = read_callback(imp, f, o->read[i], o->read_payload ? o->read_payload[i] : NULL,
                                                 max_bytes);
    else rc = read_path(imp, f, max_bytes);
    if (!rc) rc = grow_buf(imp, f, f->len); /* the reader's slack byte */
  }
  uint64_t before = 0;
  for (size_t i = 0; i < o->n_files && !rc; i++) {
    rc = read_rows(imp, o, (uint32_t)i, max_rows, max_cols, before);
    before += imp->files[i].len;
    if (!rc) shrink_buf(imp, &imp->files[i]);
  }
  if (!rc) {
    imp->prog.bytes_done = imp->prog.bytes_total;
    rc = hubc__import_progress(imp, HUBC_IMPORT_PHASE_CHECK);
  }
  return rc;
}
