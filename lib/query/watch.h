/* Watches: compiled filters whose matching contacts the store keeps up to
 * date as contacts change (S2 active lists; workflow enrollment triggers,
 * W2). Internal API, used by lib/query/list.c and lib/workflow.
 *
 * A watch is a member set (one bit per contact id) plus, optionally, a
 * filter. Every contact change goes through hubc__txn_slot, which calls
 * hubc__watch_slot: it works out which properties changed and re-evaluates
 * only the watches whose filter reads one of them (or reads a list whose
 * membership of that contact just changed), in dependency order, so that
 * `IN LIST n` sees list n's new membership. A change costs work per
 * affected watch, never a rebuild.
 *
 * Everything is transactional: membership flips, added and removed
 * watches are logged and undone with the call's transaction (R2). Edges
 * (a contact starts or stops matching) are delivered to the watch's
 * callback from the transaction's finalize step, in the order they
 * happened; a callback error fails the whole call. Watches without a
 * filter are member sets changed explicitly (static lists). */
#ifndef HUBC_QUERY_WATCH_H
#define HUBC_QUERY_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include "hubcontacts.h"

typedef struct hubc__slot hubc__slot;

/* A contact entered (entered = 1) or left (0) watch w. Called from the
 * transaction's finalize (write lock held, transaction open): it may
 * record its own state with undo (hubc__txn_reserve, hubc__txn_push,
 * timers) but must not change contacts (billing has been finalized).
 * Returns 0, or an error (message set) that fails the whole call. */
typedef int (*hubc__watch_fn)(hubc_store *s, void *payload, uint32_t w, int64_t contact, int entered);

/* Registers a watch: f (may be NULL: a member set changed only through
 * hubc__watch_set; a reference is taken), a label naming its owner in
 * messages ("workflow 3"; copied), and fn/payload (fn may be NULL). Its
 * membership starts as a fresh evaluation of every contact; no edges are
 * reported for it. Needs the write lock; inside a transaction it is undone
 * with it. *out: the watch id (> 0). ENOMEM, or EINVAL if f reads a list
 * whose filter reads f's owner (never: callers check cycles first). */
int hubc__watch_add(uint32_t *out, hubc_store *s, hubc_filter *f, const char *label, hubc__watch_fn fn,
                    void *payload);
/* Unregisters w: no more edges; inside a transaction its removal takes
 * effect (and its memory is freed) at commit. Never fails. */
void hubc__watch_remove(hubc_store *s, uint32_t w);
/* Whether contact `id` is in w; w's member count. Read or write lock. */
int hubc__watch_has(const hubc_store *s, uint32_t w, int64_t id);
uint64_t hubc__watch_count(const hubc_store *s, uint32_t w);
/* The next member of w above `after` (0 from the start), or 0 at the end. */
int64_t hubc__watch_next(const hubc_store *s, uint32_t w, int64_t after);

/* ---- for lib/query (lists, views, the transaction layer) ---------------- */

/* Explicit membership of a filterless watch: sets contact `id` in or out
 * (inside a transaction; dependants re-evaluated). 1 if it changed, 0 if
 * not, or ENOMEM. `bulk_hint`: how many calls the caller is about to make:
 * a large one saves the member set once instead of logging each flip. */
int hubc__watch_set(hubc_store *s, uint32_t w, int64_t id, int in, size_t bulk_hint);
/* The members of w are static list `list`'s, persisted by chunks. */
void hubc__watch_bind_list(hubc_store *s, uint32_t w, uint32_t list);
/* Called by hubc__txn_slot after contact `id` moved from `from` to `to`. */
void hubc__watch_slot(hubc_store *s, int64_t id, const hubc__slot *from, const hubc__slot *to);
/* A view's filter changed: every watch's dependencies are recomputed and
 * the watches reading view `view` re-evaluated over every contact. */
int hubc__watch_view_changed(hubc_store *s, uint32_t view);
/* Replaces the filter of w (a filtered watch; a reference to f is taken):
 * dependencies are recomputed and w, then every watch reading it, re-
 * evaluated over every contact, edges reported. Undone with the
 * transaction. Callers refuse a filter reading w first (cycles). ENOMEM. */
int hubc__watch_refilter(hubc_store *s, uint32_t w, hubc_filter *f);
/* The label of a live watch (not w itself) whose filter reads list watch
 * `w` or view `view` (0: not asked), or NULL. For delete refusals. */
const char *hubc__watch_reader(const hubc_store *s, uint32_t w, uint32_t view);
/* Is w's filter a fresh evaluation? (check hook) 0 or ECORRUPT. */
int hubc__watch_check(hubc_store *s);
/* Transaction hooks, called from the LIST kind's row. */
void hubc__watch_txn_begin(hubc_store *s);
int hubc__watch_txn_finalize(hubc_store *s);
void hubc__watch_txn_rollback(hubc_store *s);
void hubc__watch_txn_commit(hubc_store *s);
void hubc__watch_free_all(hubc_store *s);

/* A chunk of a member set for persistence: contacts [chunk << 16, +65536)
 * as 1024 words; NULL when no word of it is allocated. */
#define HUBC__WATCH_CHUNK_BITS 16
const uint64_t *hubc__watch_words(const hubc_store *s, uint32_t w, size_t *n_words);

#endif
