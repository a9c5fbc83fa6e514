/* The selection area's part of the store (S2, S3): list and view
 * definitions by id and the watch registry (watch.h) that keeps member
 * sets, embedded in struct hubc_store. */
#ifndef HUBC_QUERY_LISTS_H
#define HUBC_QUERY_LISTS_H

#include <stddef.h>
#include <stdint.h>

#include "hubcontacts/store.h"
#include "util/base.h"

typedef struct hubc_filter hubc_filter;
typedef struct hubc__undo hubc__undo;

/* A list or view definition: immutable once published; a change replaces
 * it (undo swaps the pointers back; commit frees the superseded one). */
typedef struct hubc__qdef {
  char *name;     /* allocated */
  char *text;     /* filter text; NULL: a static list */
  hubc_filter *f; /* compiled text (a reference) */
  char *sort_by;  /* views: property name, NULL: record id */
  uint32_t watch; /* lists: the member set (watch id); 0 once deleted */
  uint8_t desc, deleted;
} hubc__qdef;

/* A member set: one bit per contact id. */
typedef struct hubc__members {
  uint64_t *w;
  size_t nw;
  uint64_t count;
} hubc__members;

/* What a watch's filter reads: properties, lists (by watch id), views. */
typedef struct hubc__wdeps {
  uint64_t *props; /* bitset of property ids (views expanded) */
  size_t props_nw;
  uint32_t *lists, *views;
  uint32_t n_lists, n_views;
} hubc__wdeps;

typedef struct hubc__watch {
  int used;        /* 0: a free slot */
  int dying;       /* removed in the open transaction */
  hubc_filter *f;  /* NULL: explicit member set */
  char *label;
  int (*fn)(hubc_store *, void *, uint32_t, int64_t, int);
  void *payload;
  hubc__members m;
  hubc__wdeps d;
  uint32_t level;  /* 0 for member sets; 1 + the deepest list it reads */
  uint8_t snapped; /* saved whole in this transaction's log */
  size_t snap_nw;  /* words of the saved set */
  uint8_t touched; /* listed in hubc__watches.touched */
  uint32_t list;   /* the static list whose members these are (persisted by chunks); 0: none */
  uint8_t *dirty;  /* by chunk: changed in this transaction (static lists) */
  size_t dirty_cap;
  uint64_t *saved; /* by member word: saved in hubc__watches.words this transaction */
  size_t saved_cap;
  uint64_t *odd;   /* by contact: an odd number of edges this call (finalize; zero between calls) */
  size_t odd_cap;
  struct hubc__wscan *scan; /* f's conditions over the filter columns (watch.c); NULL: none yet */
} hubc__watch;

typedef struct hubc__watchlog {
  uint32_t w;
  uint8_t op;      /* saved set, added, dying, saved dependencies, replaced filter */
  union {
    hubc__members saved;
    hubc__wdeps deps;
    hubc_filter *f; /* replaced filter */
  } u;
} hubc__watchlog;

/* Membership undo: a member word as it was before the transaction first
 * changed it — 16 bytes per changed word of 64 contacts, not per flip. */
typedef struct hubc__watchword {
  uint64_t old;
  uint32_t w, k; /* watch, word index */
} hubc__watchword;

typedef struct hubc__watchedge {
  uint32_t w;
  uint8_t entered;
  int64_t id;
} hubc__watchedge;

typedef struct hubc__watches {
  hubc__watch *v; /* by watch id - 1 */
  size_t n, cap, live;
  uint32_t *order; /* filtered watches in dependency order */
  size_t n_order, order_cap;
  hubc__watchlog *log;
  size_t log_n, log_cap;
  hubc__watchword *words;
  size_t words_n, words_cap;
  hubc__watchedge *edges;
  size_t edges_n, edges_cap;
  uint32_t *touched; /* watch ids changed since the transaction began (a flag in the watch: listed once) */
  size_t touched_n, touched_cap;
  int err; /* a flip could not be recorded: the transaction fails (ENOMEM) */
  /* Who reads what, by position in order: a change visits only the
   * watches reading what it changed. Bitsets of ix_nw words over order
   * positions; rebuilt on the first change after reorder. */
  uint64_t *ix;
  size_t ix_n, ix_nw, ix_cap;
  uint32_t *ix_prop;   /* by property id: 1 + index of its readers' bitset; 0: no reader */
  size_t ix_props, ix_props_cap;
  uint32_t *ix_list;   /* by watch id - 1: 1 + index of the bitset of the watches reading that list */
  size_t ix_lists, ix_lists_cap;
  uint64_t *aff;       /* ix_nw words: the positions one change must visit */
  size_t aff_cap;
  uint32_t ix_max;     /* highest property any watch reads */
  uint8_t ix_stale;
} hubc__watches;

typedef struct hubc__lists {
  hubc__qdef **lists; /* by list id - 1 */
  size_t n_lists, lists_cap, lists_mark;
  hubc__qdef **views; /* by view id - 1 */
  size_t n_views, views_cap, views_mark;
  hubc__watches watch;
} hubc__lists;

/* Definitions by id (deleted ones too), or NULL (lib/query/list.c). */
const hubc__qdef *hubc__list_def(const hubc_store *s, hubc_id id);
const hubc__qdef *hubc__view_def(const hubc_store *s, hubc_id id);
/* The live view of that name (case-insensitive), or 0. */
hubc_id hubc__view_find(const hubc_store *s, const char *name);
/* What `IN LIST n` and `IN VIEW 'x'` evaluate to (a deleted one: false). */
int hubc__list_has(const hubc_store *s, uint32_t list, int64_t contact);
int hubc__view_eval(const hubc_store *s, uint32_t view, const void *rec);

/* Shared by list.c and view.c. K: HUBC_REC_LIST or HUBC_REC_VIEW. */
#define HUBC__QDEF_MAX_NAME 1024
int hubc__qdef_check_name(const char *name, const char *what);
/* A new definition: copies of the strings, a reference to f. */
hubc__qdef *hubc__qdef_new(hubc_store *s, const char *name, const char *text, hubc_filter *f, const char *sort_by);
void hubc__qdef_free(hubc_store *s, hubc__qdef *d);
/* Publishes d as definition `id` of kind K (undo restores the old one;
 * commit frees it). Needs a reserved undo entry. */
void hubc__qdef_put(hubc_store *s, int kind, hubc_id id, hubc__qdef *d);
/* Undo and commit of those swaps (kind hooks). */
void hubc__qdef_undo(hubc_store *s, const hubc__undo *u);
/* 1 if filter f reads list watch w or view `view` (0: not asked),
 * directly or through the views it reads; with follow, through the
 * filters of the lists it reads too (cycles). */
int hubc__filter_reads(const hubc_store *s, const hubc_filter *f, uint32_t w, uint32_t view, int follow);
/* A list or view whose definition reads list watch w or view v (one of
 * them 0): "view 'x'" or the watch's label in buf; 0 if none. */
int hubc__referrer(const hubc_store *s, uint32_t w, uint32_t v, char *buf, size_t n);
/* Snapshots of a definition (list.c; views share the layout). */
typedef struct hubc_list hubc_list;
struct hubc_list {
  hubc__base *base;
  size_t size;
  hubc_id id;
  uint64_t members;
  int deleted, desc;
  const char *name, *filter, *sort_by; /* in the same block */
};
hubc_list *hubc__qdef_snapshot(hubc_store *s, hubc_id id, const hubc__qdef *d, uint64_t members);
void hubc__qdef_snapshot_free(hubc_list *l);
/* Compiles under the store's lock (already held). */
int hubc__filter_compile_locked(hubc_filter **out, hubc_store *s, const char *text);

#endif
