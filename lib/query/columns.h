/* Filter columns (issue 11): for each stored property a filter has read,
 * every contact's value as a 16-bit code into a dictionary of the
 * property's distinct values (an enumeration's code is its option + 1),
 * indexed by record id. A scan then reads 2 bytes per contact instead of
 * the record, and a condition is evaluated once per distinct value.
 *
 * Built on first use (under the write lock), kept in step with every
 * change of a contact's record (hubc__slot_move, so undo and loading too),
 * freed with the store. A property with more than 65,535 distinct values
 * (emails, phone numbers) gets no column: filters read its records. The
 * dictionary keeps values no contact holds any more; it is only dropped
 * with the column. Memory: 2 bytes per contact per column plus the
 * distinct values. */
#ifndef HUBC_QUERY_COLUMNS_H
#define HUBC_QUERY_COLUMNS_H

#include <stddef.h>
#include <stdint.h>

typedef struct hubc__rec hubc__rec;
typedef struct hubc_store hubc_store;

typedef struct hubc__qent {
  size_t off, len; /* a dictionary value: text + off, len bytes, NUL-terminated */
} hubc__qent;

typedef struct hubc__qcol {
  uint16_t *codes; /* by record id; 0: no value (or no contact) */
  size_t cap;      /* ids covered; ids at or above have code 0 */
  int enumeration; /* codes are options + 1; no dictionary */
  hubc__qent *ents; /* strings: the value of code k is ents[k - 1] */
  size_t n, ents_cap;
  char *text;
  size_t text_used, text_cap;
  uint16_t *slots;  /* open addressing over the values: code or 0 */
  size_t slots_cap; /* power of 2 */
} hubc__qcol;

typedef struct hubc__qprop {
  hubc__qcol *col; /* NULL: not built */
  int refused;     /* too many distinct values: never built */
} hubc__qprop;

typedef struct hubc__qcols {
  hubc__qprop *props; /* by property index */
  size_t cap;
  size_t live; /* columns built: the write path's check */
  uint32_t *built; /* the properties with a column, ascending (live of them) */
  size_t built_cap;
  uint64_t epoch; /* moves when a column is built or dropped: scans kept across calls check it */
} hubc__qcols;

/* The column of stored property `prop`, building it if it is missing and
 * `build` (the write lock is held); NULL if there is none (not built, a
 * computed property, too many values, out of memory). */
const hubc__qcol *hubc__qcol_get(hubc_store *s, uint32_t prop, int build);
/* Whether stored property `prop` could have a column and has none. */
int hubc__qcol_wanted(const hubc_store *s, uint32_t prop);
/* Contact `id` now has current record `rec` (NULL: none). Write lock held. */
void hubc__qcols_update(hubc_store *s, int64_t id, const hubc__rec *rec);
void hubc__qcols_free(hubc_store *s);

static inline uint16_t hubc__qcol_code(const hubc__qcol *c, int64_t id) {
  return (size_t)id < c->cap ? c->codes[id] : 0;
}

#endif
