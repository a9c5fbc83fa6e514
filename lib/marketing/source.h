/* Sources area (D1, D2): per-source default switches; the SWITCH record is
 * its kind. */
#ifndef HUBC_MARKETING_SOURCE_H
#define HUBC_MARKETING_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "hubcontacts.h"

typedef struct hubc__switch {
  int64_t id;
  uint8_t source, on;
} hubc__switch;

typedef struct hubc__sources {
  hubc__switch *v;
  size_t n, cap;
  size_t n_mark; /* at the start of the transaction */
} hubc__sources;

/* Initial status of a new contact from its source (D1). */
int hubc__source_default(const hubc_store *s, int source, hubc_id source_id);

#endif
