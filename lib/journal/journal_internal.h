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

/* Advice from a backend before it pushes records: about `n` puts of
 * `kind` holding `bytes` record bytes in all (a log may repeat keys, so
 * both are upper bounds of what stays). Kinds size their staging from it. */
void hubc__loader_hint(hubc_loader *l, int kind, uint64_t n, uint64_t bytes);

#endif
