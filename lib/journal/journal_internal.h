/* Internal entry points of the journal backend, for tests and tools. */
#ifndef HUBC_JOURNAL_INTERNAL_H
#define HUBC_JOURNAL_INTERNAL_H

#include <stdint.h>

#include "hubcontacts/journal.h"

/* Size in bytes of the header frame that starts both files. */
#define HUBC__JOURNAL_HEADER_BYTES 28u

/* Bytes of torn tail that hubc_journal_open cut off the log (0: none). */
uint64_t hubc__journal_torn_bytes(const hubc_journal *journal);
/* Compactions done by this handle (explicit and automatic). */
uint64_t hubc__journal_compactions(const hubc_journal *journal);
/* Automatic compactions that failed (the commit itself succeeded). */
uint64_t hubc__journal_compact_failures(const hubc_journal *journal);
/* Generation of the snapshot this handle reads/writes (0: no snapshot yet). */
uint64_t hubc__journal_generation(const hubc_journal *journal);
/* Current valid length of the log file in bytes. */
uint64_t hubc__journal_log_size(const hubc_journal *journal);

#endif
