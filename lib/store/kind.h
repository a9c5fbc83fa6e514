/* Per-kind hooks (DESIGN §7): each record kind registers one row, and the
 * transaction layer, the loader, the codec, the dump and the store's free
 * iterate the table instead of naming an area's fields. A new kind is one
 * folder under lib/ (its records, its hooks, its internal header) plus one
 * row in lib/store/kinds.c. Every hook may be NULL ("nothing to do"). */
#ifndef HUBC_STORE_KIND_H
#define HUBC_STORE_KIND_H

#include <stddef.h>
#include <stdint.h>

#include "hubcontacts.h"
#include "persist/codec.h"

typedef struct hubc__undo hubc__undo;
typedef struct hubc__timer hubc__timer;
typedef struct hubc__out hubc__out;

typedef struct hubc__kind {
  int kind;         /* enum hubc_record_kind: the key backends store it under */
  const char *name; /* "contact", "user", … in messages and tests */

  /* Persistence (R1). encode: the current state of (kind, id) into w;
   * returns 0, or 1 when the record is absent (to delete). load: one stored
   * record; every byte distrusted, errors through hubc__corrupt. load_del:
   * a stored delete (NULL: this kind is never deleted, so a delete is
   * corrupt). finish_load: once every record is in, in table order, cross-
   * record checks and derived state; always called (rc: the load so far)
   * so that it frees its staging, and returns rc when rc != 0. */
  int (*encode)(hubc_store *s, int64_t id, hubc__wr *w);
  int (*load)(hubc_loader *l, int64_t id, hubc__rd r);
  int (*load_del)(hubc_loader *l, int64_t id);
  int (*finish_load)(hubc_loader *l, int rc);

  /* Derived state agrees with the records (tests): 0 or HUBC_ECORRUPT. */
  int (*check)(hubc_store *s);
  /* Canonical text lines (hubc_store_dump), in table order: 0 or ENOMEM. */
  int (*dump)(const hubc_store *s, hubc__out *o);
  /* Frees the area's memory when the store closes. */
  void (*free)(hubc_store *s);

  /* Transaction (R2). Only the kinds a transaction touched take part in it,
   * so its cost does not grow with the number of kinds: a kind's state
   * changes only in a transaction that touched it (hubc__txn_dirty, _push
   * and _slot touch their kind, the scheduler the kind of a timer it fires;
   * else hubc__txn_touch). Kinds with a finalize hook take part in every
   * transaction: they react to the others' changes (billing to the counts,
   * workflows to contacts), so keep them few and cheap when nothing they
   * watch changed, or give them txn_idle. txn_idle: 1 when the kind's
   * state is exactly what its txn_begin recorded, nothing is pending for
   * finalize, commit or rollback, and no change by another kind can alter
   * it; an untouched idle kind then skips the transaction (asked before
   * finalize and before a rollback; a finalize hook that changes another
   * kind touches it). txn_begin: remember the
   * committed state that rollback restores (by truncation or copy); called
   * for every kind once the store is open, then after each commit the kind
   * took part in. txn_finalize:
   * last checks and derived changes before persisting (may refuse the whole
   * transaction). undo: reverts one of this kind's entries (newest first,
   * all kinds interleaved). txn_rollback: after the entries, restores what
   * txn_begin remembered. txn_commit: releases what the transaction
   * superseded. */
  void (*txn_begin)(hubc_store *s);
  int (*txn_finalize)(hubc_store *s);
  void (*undo)(hubc_store *s, const hubc__undo *u);
  void (*txn_rollback)(hubc_store *s);
  void (*txn_commit)(hubc_store *s);
  int (*txn_idle)(const hubc_store *s);

  /* A timer of this kind came due (store/schedule.h), inside the tick's
   * transaction with the call's time set to the timer's due time. */
  int (*fire)(hubc_store *s, const hubc__timer *t);
} hubc__kind;

/* The table (lib/store/kinds.c), in dump and finish-load order. */
extern const hubc__kind *const hubc__kinds[];
extern const size_t hubc__kinds_n;

/* Table position by kind id, HUBC__KIND_NONE where no row; valid once
 * hubc__kinds_init ran (every store open calls it). */
#define HUBC__KIND_NONE 0xff
extern uint8_t hubc__kind_pos_[];
/* Table positions (bits) of the kinds with a finalize hook (in every
 * transaction unless idle), of those with an idle hook, with a rollback
 * hook, a commit hook, a begin hook. */
extern uint64_t hubc__kinds_finalize, hubc__kinds_idle, hubc__kinds_rollback, hubc__kinds_commit, hubc__kinds_begin;
void hubc__kinds_init(void);

/* The row of a record kind, or NULL if no such kind. */
const hubc__kind *hubc__kind_get(int kind);
/* "contact", "history", … for messages ("?" if unknown). */
const char *hubc__kind_name(int kind);

#endif
