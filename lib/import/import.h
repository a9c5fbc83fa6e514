/* The import area's internal state (I1–I10). Reading (read.c) turns the
 * files into mapped, validated rows; matching and applying them (apply.c)
 * is one code path for the plan and the commit. */
#ifndef HUBC_IMPORT_IMPORT_H
#define HUBC_IMPORT_IMPORT_H

#include <stdint.h>

#include "hubcontacts.h"
#include "store/store.h"

/* A column mapped to nothing (I2). */
enum { HUBC__COL_SKIP = -1 };

typedef struct hubc__imp_file {
  char *name;            /* as given (copied) */
  char *buf;             /* contents (+1 slack byte); rows packed in place */
  size_t len, cap;
  char delim;
  size_t ncols;
  char **header;         /* ncols column names, packed in buf */
  int32_t *prop;         /* per column: property index, or HUBC__COL_SKIP */
  size_t id_col;         /* SIZE_MAX: no Record ID column */
  size_t email_col;      /* SIZE_MAX: no email column */
  size_t row_begin, row_end; /* its valid rows: indexes among the import's rows */
  size_t data_off;       /* where its first valid row's values start in buf; the
                            others follow one another (hubc__csv contiguous) */
  size_t packed;         /* bytes of buf holding the header's and rows' values */
  size_t jump_begin;     /* its first entry in the import's jumps */
} hubc__imp_file;

/* A row that passed validation: where its packed values start and its
 * line (both below 2^32: a file is smaller, see hubc__import_read). Not
 * stored: the rows are walked in order (apply.c). */
typedef struct hubc__imp_row {
  uint32_t off;
  uint32_t line;
} hubc__imp_row;

/* A valid row whose line is not where the valid row before it ends + 1
 * (each file's first, and rows after blank lines or skipped rows): every
 * other row's line follows from the row before and the line breaks in its
 * values (hubc__import_breaks), so an import keeps no per-row array beside
 * its files. */
typedef struct hubc__imp_jump {
  uint32_t row;  /* index among the import's rows */
  uint32_t line;
} hubc__imp_jump;

/* A skipped row (I5). */
typedef struct hubc__imp_err {
  size_t file;
  uint64_t line;
  size_t col;            /* SIZE_MAX: the row as a whole */
  int code;
  char *message;
  char **fields;         /* the row's values as read, for the error file */
  size_t nfields;
} hubc__imp_err;

typedef struct hubc__imp_errs {
  hubc__imp_err *e;
  size_t n, cap;
} hubc__imp_errs;

struct hubc_import {
  hubc_store *store;
  hubc__base *base;      /* referenced: the import may outlive the store */
  hubc_id actor;
  int mode, set_marketing, committed;
  hubc_progress_fn progress;
  void *progress_payload;
  hubc_import_progress prog;
  hubc__imp_file *files;
  size_t n_files;
  size_t n_rows;         /* valid rows, all files */
  hubc__imp_jump *jumps;
  size_t n_jumps, jumps_cap;
  /* bit per row: its email cell is its own normalized form (C3), as a run
   * over the rows found; later runs take it as it is (apply.c) */
  uint64_t *email_ok;
  size_t email_ok_words;
  uint64_t data_rows;    /* valid or not */
  hubc__imp_errs read_errs;  /* found reading: the same at every commit */
  hubc__imp_errs match_errs; /* found matching against the store: redone each time */
  const hubc__imp_err **order; /* both lists merged in file order */
  size_t order_n, order_cap;   /* order_n: entries valid (0 while a merge failed) */
  char **unmapped;       /* "file: column" */
  size_t n_unmapped;
  hubc_import_summary sum;
};

/* read.c: the line breaks in a row's packed values [a, b) (b: its last
 * NUL), counted as the CSV reader counts them (CRLF once, a lone CR). */
size_t hubc__import_breaks(const char *a, const char *b);
/* read.c: fills files, n_rows, jumps, read_errs, unmapped of a new import. */
int hubc__import_read(hubc_import *imp, const hubc_import_options *o);
/* Calls the progress callback; HUBC_ECANCELED if it asks to stop. */
int hubc__import_progress(hubc_import *imp, int phase);
/* Appends a row error with a printf message; copies the fields. */
int hubc__import_error(hubc_import *imp, hubc__imp_errs *errs, size_t file, uint64_t line, size_t col, int code,
                       char *const *fields, size_t nfields, const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 9, 10)))
#endif
  ;
void hubc__import_errors_clear(hubc_import *imp, hubc__imp_errs *errs);
/* record.c: the next import's id (room reserved), then its record. */
int hubc__import_begin_record(hubc_store *s, hubc_id *id);
int hubc__import_record(hubc_store *s, const hubc_import *imp, hubc_id id);
/* apply.c: applies every valid row in the current transaction; fills the
 * summary's counts and match_errs. */
int hubc__import_apply(hubc_import *imp, hubc_id import_id);
/* apply.c: what hubc__import_apply would do, reading the store only: the
 * same counts and match_errs, and in delta the contacts per status (0..2)
 * and in all (3) it would add. 1 (nothing done) when the import is not
 * one this projection answers exactly: then apply and undo. */
int hubc__import_project(hubc_import *imp, int64_t delta[4]);

#endif
