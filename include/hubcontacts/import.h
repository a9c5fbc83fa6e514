/* hubcontacts — CSV import of contacts (I1–I10): plan, confirm, commit.
 *
 * The product's dialog in two calls. hubc_import_plan reads and validates
 * the files and counts what a commit would do, changing nothing;
 * hubc_import_commit takes the number of contacts to set as marketing that
 * the person typed and applies every valid row in one transaction. */
#ifndef HUBCONTACTS_IMPORT_H
#define HUBCONTACTS_IMPORT_H

#include "common.h"
#include "store.h"

HUBC_BEGIN_DECLS

enum hubc_import_mode {
  HUBC_IMPORT_CREATE_AND_UPDATE = 0, /* the default */
  HUBC_IMPORT_CREATE_ONLY = 1,       /* rows matching a contact are skipped */
  HUBC_IMPORT_UPDATE_ONLY = 2        /* rows matching no contact are skipped */
};

/* Reads up to `cap` bytes of a file into buf and sets *got (0 at the end).
 * Returns 0, or nonzero to fail the import (HUBC_EIO). */
typedef int (HUBC_CALLBACK *hubc_read_fn)(void *payload, char *buf, size_t cap, size_t *got);

enum hubc_import_phase {
  HUBC_IMPORT_PHASE_READ = 0,   /* reading the files */
  HUBC_IMPORT_PHASE_CHECK = 1,  /* parsing and validating rows */
  HUBC_IMPORT_PHASE_APPLY = 2   /* commit: writing contacts */
};

#define HUBC_IMPORT_PROGRESS_VERSION 1
typedef struct hubc_import_progress {
  unsigned int version; /* HUBC_IMPORT_PROGRESS_VERSION */
  int phase;            /* enum hubc_import_phase */
  uint64_t bytes_done;  /* of bytes_total, over all files */
  uint64_t bytes_total;
  uint64_t rows_done;   /* data rows read (CHECK) or applied (APPLY) */
} hubc_import_progress;

/* Called now and then (at least every MiB read and every 4,096 rows)
 * and at each phase's end. Return nonzero to cancel: the call fails with
 * HUBC_ECANCELED and nothing is changed (I9). It must not call into the
 * store. */
typedef int (HUBC_CALLBACK *hubc_progress_fn)(void *payload, const hubc_import_progress *progress);

#define HUBC_IMPORT_MAX_ROWS 1048576            /* I3 defaults */
#define HUBC_IMPORT_MAX_BYTES (512ull << 20)
#define HUBC_IMPORT_MAX_COLUMNS 999

#define HUBC_IMPORT_OPTIONS_VERSION 1

/* Zero means "default" for every field. Strings and arrays are copied. */
typedef struct hubc_import_options {
  unsigned int version;          /* HUBC_IMPORT_OPTIONS_VERSION */
  const char *const *files;      /* n_files paths, or names when read[i] is set */
  size_t n_files;
  const hubc_read_fn *read;      /* may be NULL; else read[i] (if not NULL) reads files[i] */
  void *const *read_payload;     /* may be NULL; read_payload[i] goes to read[i] */
  char delimiter;                /* ',', ';' or '\t'; 0: detected per file from its header */
  int mode;                      /* enum hubc_import_mode */
  int set_marketing;             /* I6: 1 sets the contacts as marketing */
  int other_objects;             /* 1: the files also hold companies, deals, … (I6 refuses marketing) */
  const char *const *map_columns;    /* explicit mapping (I2): header → property; may be NULL */
  const char *const *map_properties; /* NULL or "" skips the column */
  size_t n_map;
  uint64_t max_rows;             /* I3: data rows over all files; 0: HUBC_IMPORT_MAX_ROWS */
  uint64_t max_bytes;            /* I3: per file; 0: HUBC_IMPORT_MAX_BYTES */
  size_t max_columns;            /* I3: per file; 0: HUBC_IMPORT_MAX_COLUMNS */
  hubc_progress_fn progress;     /* may be NULL */
  void *progress_payload;
} hubc_import_options;

HUBC_API int hubc_import_options_init(hubc_import_options *opts, unsigned int version);

/* What a commit would do (after a plan) or did (after a commit). */
#define HUBC_IMPORT_SUMMARY_VERSION 1
typedef struct hubc_import_summary {
  unsigned int version;        /* set by the caller: HUBC_IMPORT_SUMMARY_VERSION */
  uint64_t rows;               /* data rows in all files */
  uint64_t to_create;          /* contacts the import creates */
  uint64_t to_update;          /* existing contacts it changes */
  uint64_t unchanged;          /* existing contacts matched whose values are already so */
  uint64_t to_set_marketing;   /* contacts it sets as marketing: the number to confirm */
  uint64_t skipped;            /* rows with errors (see hubc_import_error_at) */
  uint64_t merged;             /* rows merged into an earlier row of the same email */
  uint64_t unmapped_columns;   /* columns skipped (hubc_import_unmapped_at) */
  uint64_t billable_before;
  uint64_t projected_billable; /* billable count after the commit */
  uint64_t projected_tier;     /* tier after the commit (AUTO_UPGRADE may raise it) */
  int over_cap;                /* 1: HARD_CAP would refuse the commit (B5) */
  hubc_id import_id;           /* after a commit: the import's record id (I10); else 0 */
} hubc_import_summary;

/* One skipped row (I5). Strings are borrowed from the import. */
#define HUBC_IMPORT_ERROR_VERSION 1
typedef struct hubc_import_error {
  unsigned int version;  /* set by the caller: HUBC_IMPORT_ERROR_VERSION */
  size_t file;           /* index into the options' files */
  uint64_t line;         /* physical line in that file where the row starts (1-based) */
  const char *column;    /* the column's header, "" when the row as a whole is wrong */
  int code;              /* HUBC_E* */
  const char *message;
} hubc_import_error;

typedef struct hubc_import hubc_import;

/* Reads every file, checks the limits (I3) and the marketing option (I6,
 * P2) before anything else, maps columns (I2), validates every row and
 * counts what a commit would do (I7). Changes nothing. File-level problems
 * (a limit, an unreadable file, an unterminated quote, a header mapping
 * two columns to one property, no email or Record ID column) fail the call
 * naming file, line and column; row problems are counted and listed. The
 * import keeps the files' contents until freed. */
HUBC_API int hubc_import_plan(hubc_import **out, hubc_store *store, hubc_id actor,
                              const hubc_import_options *opts);

/* Fills *out (out->version set by the caller). */
HUBC_API int hubc_import_summary_get(const hubc_import *import, hubc_import_summary *out);

/* Applies the planned import in one transaction (I8). The rows are matched
 * again against the store as it is now; `confirm_marketing` must equal the
 * number of contacts this commit would set as marketing, else
 * HUBC_ECONFIRM with the right number in the message and nothing changed
 * (I7). A progress cancel, a persistence failure or HARD_CAP changes
 * nothing. An import commits at most once. out_import_id may be NULL. */
HUBC_API int hubc_import_commit(hubc_id *out_import_id, hubc_import *import, uint64_t confirm_marketing);

HUBC_API size_t hubc_import_error_count(const hubc_import *import);
HUBC_API int hubc_import_error_at(const hubc_import *import, size_t index, hubc_import_error *out);
/* Header of the index-th skipped column of a file ("file:column" order);
 * NULL past the end (not an error). */
HUBC_API const char *hubc_import_unmapped_at(const hubc_import *import, size_t index);

/* Writes the error file of one input file (I5): its header plus
 * error_line, error_column and error, then each skipped row's fields as
 * read, quoted per RFC 4180. */
HUBC_API int hubc_import_write_errors(const hubc_import *import, size_t file, hubc_write_fn write,
                                      void *payload);

HUBC_API void hubc_import_free(hubc_import *import);

/* A committed import (I10), kept with the store. Ids are 1, 2, … in commit
 * order: list them by asking for 1, 2, … until HUBC_ENOTFOUND. */
#define HUBC_IMPORT_RECORD_VERSION 1
typedef struct hubc_import_record {
  unsigned int version;      /* set by the caller: HUBC_IMPORT_RECORD_VERSION */
  hubc_id id;
  hubc_time time;
  hubc_id actor;
  int mode;                  /* enum hubc_import_mode */
  int set_marketing;
  const char *files;         /* the file names, one per line; valid until the store is closed */
  uint64_t rows, created, updated, set_as_marketing, skipped, merged;
} hubc_import_record;

HUBC_API int hubc_import_record_get(hubc_store *store, hubc_id id, hubc_import_record *out);

HUBC_END_DECLS

#endif
