/* hubcontacts — selecting contacts: the filter language and query
 * iterators (S1), bulk set as marketing / non-marketing (S4, S5). The grammar is in the README ("Filter language"). */
#ifndef HUBCONTACTS_QUERY_H
#define HUBCONTACTS_QUERY_H

#include "common.h"
#include "contact.h"
#include "store.h"

HUBC_BEGIN_DECLS

/* ---- filters (S1) ------------------------------------------------------- */

/* A compiled filter: immutable, usable from several threads at once, with
 * the store it was compiled for only. It may outlive the store (freeing it
 * is then still safe). */
typedef struct hubc_filter hubc_filter;

/* Limits of a filter text (see the README). */
#define HUBC_FILTER_MAX_BYTES 1048576 /* text length */
#define HUBC_FILTER_MAX_DEPTH 64      /* nested parentheses and NOTs */

/* Parses and compiles `text` against the store's property schema. Errors
 * (HUBC_EINVAL) name the byte position, what was found and what was
 * expected; an unknown property or enumeration option is HUBC_ENOTFOUND
 * naming it; a value that does not fit its property's type
 * (createdate > 'soon') is HUBC_EINVAL. */
HUBC_API int hubc_filter_compile(hubc_filter **out, hubc_store *store, const char *text);
HUBC_API void hubc_filter_free(hubc_filter *filter);

/* Number of contacts the filter selects now. */
HUBC_API int hubc_filter_count(uint64_t *out, hubc_store *store, const hubc_filter *filter);
/* *out = 1 if contact `id` matches, else 0; HUBC_ENOTFOUND if there is no
 * such contact. */
HUBC_API int hubc_filter_matches(int *out, hubc_store *store, const hubc_filter *filter,
                                 hubc_id id);

/* ---- query iterators: ids or snapshots, sorted, paged ------------------- */

#define HUBC_QUERY_OPTIONS_VERSION 2

typedef struct hubc_query_options {
  unsigned int version; /* HUBC_QUERY_OPTIONS_VERSION (1 is still read: no view) */
  /* Property (name or label) to sort by; NULL: record id (with a view:
   * the view's sort). Ties are broken by record id (ascending); contacts
   * without a value come last in both directions. */
  const char *sort_by;
  int descending;       /* 0 ascending, 1 descending (with a view and no sort_by: 0) */
  uint64_t limit;       /* at most this many results; 0: no limit */
  /* Where to start: NULL or "" from the beginning, else a cursor from
   * hubc_query_iterator_cursor of an iterator with the same sort. */
  const char *cursor;
  /* version 2 */
  /* A saved view (S3) by id, 0: none. Its contacts (those the filter
   * argument selects too, if one is given), in the view's saved sort and
   * direction unless sort_by replaces them. The view is read when the
   * iterator is created: a later update does not change it. */
  hubc_id view;
} hubc_query_options;

#define HUBC_QUERY_OPTIONS_INIT { HUBC_QUERY_OPTIONS_VERSION, NULL, 0, 0, NULL, 0 }
HUBC_API int hubc_query_options_init(hubc_query_options *opts, unsigned int version);

typedef struct hubc_query_iterator hubc_query_iterator;

/* Contacts a filter selects; filter may be NULL (every contact) and opts
 * may be NULL (the defaults). Ordered by record id (no opts or sort_by), the iterator reads the store as
 * it advances: contacts created or deleted meanwhile may or may not be
 * seen, none twice. Sorted by a property, the selection and its order are
 * fixed when the iterator is created; snapshots are then read when
 * returned, and contacts deleted meanwhile are skipped. An iterator's
 * next calls need its store open; free does not. */
HUBC_API int hubc_query_iterator_new(hubc_query_iterator **out, hubc_store *store,
                                     const hubc_filter *filter,
                                     const hubc_query_options *opts);
/* One record id, or HUBC_ITEROVER at the end. */
HUBC_API int hubc_query_iterator_next(hubc_id *out, hubc_query_iterator *it);
/* Up to `cap` ids (or snapshots, which the caller frees) per call, one
 * read lock per batch: *n_out receives how many. Returns 0 while there
 * are results (*n_out > 0), HUBC_ITEROVER (*n_out = 0) at the end. */
HUBC_API int hubc_query_iterator_next_ids(size_t *n_out, hubc_id *ids, size_t cap,
                                          hubc_query_iterator *it);
HUBC_API int hubc_query_iterator_next_contacts(size_t *n_out, hubc_contact **out,
                                               size_t cap, hubc_query_iterator *it);
/* A cursor just after the last result returned so far (the start cursor
 * before any): pass it as opts->cursor to continue from there. Stable:
 * paging goes on from that sort position even if contacts change
 * meanwhile. The string is owned by the iterator and valid until its next
 * call or free; NULL (with HUBC_EINVAL) when it is NULL. */
HUBC_API const char *hubc_query_iterator_cursor(hubc_query_iterator *it);
HUBC_API void hubc_query_iterator_free(hubc_query_iterator *it);

/* ---- bulk actions (S4, S5) ---------------------------------------------- */

enum hubc_bulk_action {
  HUBC_BULK_SET_MARKETING = 1,    /* M3 on each selected contact */
  HUBC_BULK_SET_NON_MARKETING = 2 /* M4: pending until the update date */
};

#define HUBC_SELECTION_VERSION 2

/* The contacts a bulk action applies to: a filter's, explicit record ids
 * (each must name a contact; repeats count once), a list's members or a
 * saved view's contacts (version 2). One of them; none: nobody. */
typedef struct hubc_selection {
  unsigned int version;      /* HUBC_SELECTION_VERSION (1 is still read: no list or view) */
  const hubc_filter *filter; /* NULL: not by filter */
  const hubc_id *ids;
  size_t n_ids;
  /* version 2 */
  hubc_id list;     /* 0: not by list; else the members of this list (static or active) */
  const char *view; /* NULL: not by view; else the contacts the view of this name selects */
} hubc_selection;

#define HUBC_SELECTION_INIT { HUBC_SELECTION_VERSION, NULL, NULL, 0, 0, NULL }
HUBC_API int hubc_selection_init(hubc_selection *sel, unsigned int version);

#define HUBC_BULK_SUMMARY_VERSION 1

typedef struct hubc_bulk_summary {
  unsigned int version;     /* set by the caller: HUBC_BULK_SUMMARY_VERSION */
  uint64_t selected;        /* contacts selected: the number to confirm */
  uint64_t will_change;     /* of those, whose status the action changes */
  uint64_t unchanged;
  uint64_t billable_before; /* billable count before and after the action */
  uint64_t billable_after;
  uint64_t tier_before, tier_after; /* tier_after: AUTO_UPGRADE's projection */
  uint64_t cap;             /* the HARD_CAP in force; 0 under AUTO_UPGRADE */
  int cap_refused;          /* HARD_CAP refuses the commit (B5) */
} hubc_bulk_summary;

/* The dialog's numbers: runs the action on the selection as it is now and
 * undoes it (nothing persisted, no event). Needs P2. A HARD_CAP refusal is
 * reported in out->cap_refused, not as an error. */
HUBC_API int hubc_bulk_plan(hubc_bulk_summary *out, hubc_store *store, hubc_id actor, int action,
                            const hubc_selection *sel);
/* Applies the action in one transaction, reason type BULK with the actor
 * as reason id. The selection is evaluated again; `confirm` must be the
 * number of contacts it selects now, else HUBC_ECONFIRM naming that
 * number, and nothing changes. out may be NULL. Needs P2; HARD_CAP or a
 * persistence failure leaves everything as it was. */
HUBC_API int hubc_bulk_commit(hubc_bulk_summary *out, hubc_store *store, hubc_id actor, int action,
                              const hubc_selection *sel, uint64_t confirm);

enum hubc_filter_preset {
  /* The clean-up wizard's "unengaged contacts" (S5): billable contacts that
   * are hard-bounced or opted out of email (M8). */
  HUBC_PRESET_UNENGAGED = 1
};
/* The filter text of a preset (compile it with hubc_filter_compile); NULL
 * with HUBC_EINVAL for an unknown preset. */
HUBC_API const char *hubc_filter_preset_text(int preset);

/* ---- lists (S2) ----------------------------------------------------------- */

/* A list is static (members added and removed explicitly) or active (the
 * contacts its filter selects, kept up to date by every contact change,
 * incrementally: no rebuild call). Ids start at 1 and are never reused;
 * names are unique among live lists (case-insensitive ASCII), at most
 * 1,024 bytes. Defining lists needs a user with "edit contacts" (lists
 * are configuration); changing a static list's members needs "edit
 * contacts" and SYSTEM may do it (workflow actions). A list another
 * list's or view's filter reads (IN LIST n) cannot be deleted: the error
 * names the reader. Deleting a contact removes it from every list (C7). */

/* Creates a static list or an active list (filter: the filter language,
 * compiled now; its errors as hubc_filter_compile's). filter may be NULL
 * (a static list); out_id may be NULL. */
HUBC_API int hubc_list_create(hubc_id *out_id, hubc_store *store, hubc_id actor, const char *name,
                              const char *filter);
/* Replaces an active list's filter (compiled now: its errors as
 * hubc_filter_compile's). A filter reading the list itself, directly or
 * through views or other lists, is refused (HUBC_EINVAL naming it); a
 * static list is refused (HUBC_EINVAL). Membership is recomputed in the
 * same transaction, and the lists reading this one follow. */
HUBC_API int hubc_list_set_filter(hubc_store *store, hubc_id actor, hubc_id active_list, const char *filter);
HUBC_API int hubc_list_rename(hubc_store *store, hubc_id actor, hubc_id list, const char *name);
HUBC_API int hubc_list_delete(hubc_store *store, hubc_id actor, hubc_id list);
/* Adds contacts to a static list in one transaction. Every id must name a
 * live contact, else HUBC_ENOTFOUND naming the first bad index and id and
 * nothing is added; ids already members (and repeats) are skipped.
 * *n_added (may be NULL): members added. An active list: HUBC_EINVAL. */
HUBC_API int hubc_list_add(uint64_t *n_added, hubc_store *store, hubc_id actor, hubc_id list,
                           const hubc_id *ids, size_t n);
/* Removes contacts from a static list; ids that are not members (deleted
 * or unknown contacts included) are skipped. n_removed may be NULL. */
HUBC_API int hubc_list_remove(uint64_t *n_removed, hubc_store *store, hubc_id actor, hubc_id list,
                              const hubc_id *ids, size_t n);
HUBC_API int hubc_list_contains(int *out, hubc_store *store, hubc_id list, hubc_id contact);
HUBC_API int hubc_list_count(uint64_t *out, hubc_store *store, hubc_id list);
/* Up to `cap` members with ids above `after` (0: from the start), in id
 * order: pass the last one as `after` for the next batch. 0 while there
 * are some (*n_out > 0), HUBC_ITEROVER (*n_out = 0) at the end. */
HUBC_API int hubc_list_members(size_t *n_out, hubc_id *ids, size_t cap, hubc_store *store, hubc_id list,
                               hubc_id after);
/* The live list of that name (case-insensitive); HUBC_ENOTFOUND if none. */
HUBC_API int hubc_list_find(hubc_id *out, hubc_store *store, const char *name);
/* Live lists' ids above `after`, in order, batched as hubc_list_members. */
HUBC_API int hubc_list_ids(size_t *n_out, hubc_id *ids, size_t cap, hubc_store *store, hubc_id after);

/* A snapshot of a list (deleted ones too); free with hubc_list_free. */
typedef struct hubc_list hubc_list;
HUBC_API int hubc_list_get(hubc_list **out, hubc_store *store, hubc_id list);
HUBC_API void hubc_list_free(hubc_list *list);
HUBC_API hubc_id hubc_list_id(const hubc_list *list);
HUBC_API const char *hubc_list_name(const hubc_list *list);
/* An active list's filter text; NULL for a static list (and for NULL,
 * with HUBC_EINVAL: tell them apart with hubc_list_is_active). */
HUBC_API const char *hubc_list_filter(const hubc_list *list);
HUBC_API int hubc_list_is_active(const hubc_list *list);  /* 1, 0, -1 NULL */
HUBC_API int hubc_list_is_deleted(const hubc_list *list); /* 1, 0, -1 NULL */
HUBC_API uint64_t hubc_list_size(const hubc_list *list);  /* members when taken */

/* ---- saved views (S3) ----------------------------------------------------- */

/* A view is a named filter plus a sort (a property, NULL for record id;
 * descending 0 or 1), usable in filters as IN VIEW 'name' (the view as it
 * is when the filter runs). Names are unique among live views
 * (case-insensitive ASCII). A view whose filter reads itself, directly or
 * through other views or lists, is refused (HUBC_EINVAL). A view another
 * list's or view's filter reads cannot be renamed or deleted (the error
 * names the reader). Same permissions as defining lists. sort_by may be
 * NULL (record id); out_id may be NULL. */
HUBC_API int hubc_view_create(hubc_id *out_id, hubc_store *store, hubc_id actor, const char *name,
                              const char *filter, const char *sort_by, int descending);
/* Replaces the sort and the filter; filter may be NULL (kept), sort_by
 * may be NULL (record id). Active lists reading the view follow at once. */
HUBC_API int hubc_view_update(hubc_store *store, hubc_id actor, hubc_id view, const char *filter,
                              const char *sort_by, int descending);
HUBC_API int hubc_view_rename(hubc_store *store, hubc_id actor, hubc_id view, const char *name);
HUBC_API int hubc_view_delete(hubc_store *store, hubc_id actor, hubc_id view);
HUBC_API int hubc_view_find(hubc_id *out, hubc_store *store, const char *name);
HUBC_API int hubc_view_ids(size_t *n_out, hubc_id *ids, size_t cap, hubc_store *store, hubc_id after);

typedef struct hubc_view hubc_view;
HUBC_API int hubc_view_get(hubc_view **out, hubc_store *store, hubc_id view);
HUBC_API void hubc_view_free(hubc_view *view);
HUBC_API hubc_id hubc_view_id(const hubc_view *view);
HUBC_API const char *hubc_view_name(const hubc_view *view);
HUBC_API const char *hubc_view_filter(const hubc_view *view);
/* The sort property's internal name; NULL: by record id (and for NULL,
 * with HUBC_EINVAL). */
HUBC_API const char *hubc_view_sort_by(const hubc_view *view);
HUBC_API int hubc_view_descending(const hubc_view *view); /* 1, 0, -1 NULL */
HUBC_API int hubc_view_is_deleted(const hubc_view *view); /* 1, 0, -1 NULL */

HUBC_END_DECLS

#endif
