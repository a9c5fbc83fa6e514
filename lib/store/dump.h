/* Writing the canonical dump (store/dump.c): a kind's dump hook writes its
 * lines through these. */
#ifndef HUBC_STORE_DUMP_H
#define HUBC_STORE_DUMP_H

#include <stddef.h>

#include "hubcontacts.h"

typedef struct hubc__out hubc__out;

struct hubc__out {
  hubc_write_fn write;
  void *payload;
  char buf[8192];
  size_t n;
  int failed; /* the write callback failed: later output is dropped */
};

void hubc__out_put(hubc__out *o, const char *s, size_t len);
void hubc__out_printf(hubc__out *o, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* s with backslash escapes for '\\' and control bytes; `strict` also
 * escapes the separators of a line (space, '=', '|') for words that are not
 * last on it, so two different states never dump alike. */
void hubc__out_text(hubc__out *o, const char *s, int strict);

#endif
