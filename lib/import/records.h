/* The import area's part of the store (I10): the records of committed
 * imports, embedded in struct hubc_store. */
#ifndef HUBC_IMPORT_RECORDS_H
#define HUBC_IMPORT_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "hubcontacts/common.h"

typedef struct hubc__imp_rec {
  hubc_time time;
  hubc_id actor;
  int mode, set_marketing;
  const char *files; /* pooled; names joined by '\n'; NULL: not loaded */
  uint64_t rows, created, updated, marked, skipped, merged;
} hubc__imp_rec;

typedef struct hubc__imports {
  hubc__imp_rec *v; /* by import id - 1 */
  size_t n, cap;
  size_t n_mark;    /* n at the start of the transaction */
} hubc__imports;

#endif
