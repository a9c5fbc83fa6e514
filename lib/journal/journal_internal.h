/* Internal entry points of the journal backend, for tests and tools. */
#ifndef HUBC_JOURNAL_INTERNAL_H
#define HUBC_JOURNAL_INTERNAL_H

#include "hubcontacts/journal.h"

/* Size in bytes of the header frame that starts both files. */
#define HUBC__JOURNAL_HEADER_BYTES 28u

/* Test hook: when set, called before each step of a commit or its undo
 * that can fail ("fdatasync", "truncate", "overwrite"); a nonzero return
 * makes that step fail with that errno. */
extern int (*hubc__journal_fault)(const char *step);

/* A store whose open failed after its load succeeded: if `p` is a
 * journal's table, that journal is free for another store. */
void hubc__journal_detach(const hubc_persist *p);

#endif
