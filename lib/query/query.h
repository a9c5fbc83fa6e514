/* The filter language (S1): the parse tree with byte positions
 * (parse.c), the compiled predicate (filter.c) and what the iterators
 * (iter.c) share with it. */
#ifndef HUBC_QUERY_QUERY_H
#define HUBC_QUERY_QUERY_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "query/columns.h"
#include "query/lists.h"
#include "store/store.h"

/* ---- parse tree --------------------------------------------------------- */

enum {
  HUBC__QA_AND = 1, HUBC__QA_OR, HUBC__QA_NOT,
  HUBC__QA_CMP,      /* property op literal */
  HUBC__QA_CONTAINS, HUBC__QA_STARTS,
  HUBC__QA_KNOWN, HUBC__QA_UNKNOWN,
  HUBC__QA_IN, HUBC__QA_NOT_IN, /* property [NOT] IN (literals) */
  HUBC__QA_IN_LIST,  /* IN LIST n */
  HUBC__QA_IN_VIEW   /* IN VIEW 'name' (the name is literal 0) */
};
enum { HUBC__QOP_EQ = 0, HUBC__QOP_NE, HUBC__QOP_LT, HUBC__QOP_LE, HUBC__QOP_GT, HUBC__QOP_GE };
enum { HUBC__QL_STRING = 1, HUBC__QL_NUMBER, HUBC__QL_TRUE, HUBC__QL_FALSE };

typedef struct hubc__qlit {
  uint8_t kind;
  uint32_t pos;  /* byte offset in the filter text */
  uint32_t len;
  uint32_t off;  /* strings + off: decoded ('' → '), NUL-terminated; a number's text */
} hubc__qlit;

typedef struct hubc__qast {
  uint8_t kind, op;
  uint32_t pos;         /* byte offset of the node's first token */
  uint32_t child, next; /* first child, next sibling: node index + 1, 0 none */
  uint32_t lit, n_lits; /* literals of a condition, in tree->lits */
  uint32_t name_pos;    /* the property's byte offset */
  uint32_t name_off;    /* strings + name_off: the property as written (decoded if quoted) */
  uint64_t list;        /* IN LIST n */
} hubc__qast;

typedef struct hubc__qtree {
  hubc__qast *nodes;
  size_t n, cap;
  hubc__qlit *lits;
  size_t n_lits, lits_cap;
  char *strings; /* decoded names and literals */
  size_t strings_used, strings_cap;
  uint32_t root; /* node index + 1 */
} hubc__qtree;

/* Parses text[0..len) (len ≤ HUBC_FILTER_MAX_BYTES). 0, or HUBC_EINVAL
 * naming the byte position, what was found and what was expected. The
 * tree is freed with hubc__qtree_free either way. */
int hubc__filter_parse(hubc__qtree *t, hubc__base *b, const char *text, size_t len);
void hubc__qtree_free(hubc__qtree *t, hubc__base *b);

/* ---- compiled filter ---------------------------------------------------- */

enum {
  HUBC__QN_AND = 1, HUBC__QN_OR, HUBC__QN_NOT,
  HUBC__QN_CMP, HUBC__QN_CONTAINS, HUBC__QN_STARTS, HUBC__QN_KNOWN, HUBC__QN_IN,
  HUBC__QN_LIST, /* IN LIST: a = list id */
  HUBC__QN_VIEW  /* IN VIEW: a = view id */
};

/* A typed constant. Strings are lowercased (ASCII) for case-insensitive
 * comparison; numbers are doubles; datetimes, bools (0/1) and
 * enumeration options are integers. */
typedef struct hubc__qconst {
  double d;
  int64_t i;
  const char *s;
  uint32_t len;
} hubc__qconst;

typedef struct hubc__qnode {
  uint8_t kind, op, type; /* type: the property's (enum hubc_prop_type) */
  uint8_t negate;         /* KNOWN: IS NOT KNOWN; IN: NOT IN */
  uint32_t prop;
  uint32_t a, n;          /* AND/OR/NOT: children nodes[a..a+n); others: consts[a..a+n) */
} hubc__qnode;

struct hubc_filter {
  atomic_uint refs; /* the caller's, plus one per iterator using it */
  hubc__base *base; /* identifies the store; keeps the allocator for free */
  hubc__qnode *nodes;
  size_t n_nodes;
  hubc__qconst *consts;
  size_t n_consts;
  char *strings; /* lowercased string constants */
  size_t strings_len;
};

/* A property's value on a record, typed (see hubc__qval_get). */
typedef struct hubc__qval {
  double d;
  int64_t i;
  const char *s;
  size_t len;
  char buf[24]; /* rendered computed values */
} hubc__qval;

/* The one accessor the evaluator reads values through: 1 and *v when the
 * contact (current record r) has a value for prop (of type `type`), else
 * 0. Needs the store's lock held. */
int hubc__qval_get(const hubc_store *s, const hubc__rec *r, uint32_t prop, int type, hubc__qval *v);

/* 1 if the current record r matches; f NULL matches every contact. Needs
 * the store's lock held. */
int hubc__filter_eval(const hubc_store *s, const hubc_filter *f, const hubc__rec *r);

/* A record's stored fields as conditions read them, decoded lazily (in
 * property order, as far as the properties asked for) and kept for every
 * condition and filter evaluated on it: a change re-evaluating fifty
 * watches walks the record once, not once per condition. Fields past
 * HUBC__QROW_FIELDS are read from the record each time. */
#define HUBC__QROW_FIELDS 32
typedef struct hubc__qfield {
  const char *str; /* NULL: an enumeration option */
  uint32_t prop, len;
  uint64_t option;
} hubc__qfield;
/* Decodes the stored field at *p (before end) into *f and moves *p past
 * it, as hubc__rec_field reads it: the one walk of a record's fields the
 * evaluator, the filter columns and the watches' diff share. 0: unreadable
 * (*p unmoved). */
static inline int hubc__qfield_next(const unsigned char **p, const unsigned char *end, hubc__qfield *f) {
  const unsigned char *q = *p;
  size_t pos = 0, n = (size_t)(end - q);
  uint64_t tag;
  if (*q < 0x80) tag = *q, pos = 1;
  else if (hubc__varint_get(q, n, &pos, &tag) || tag >> 1 > 0x7fffffff) return 0;
  f->prop = (uint32_t)(tag >> 1);
  if (tag & 1) {
    if (hubc__varint_get(q, n, &pos, &f->option) || f->option > 0xffff) return 0;
    f->str = NULL;
    f->len = 0;
    *p = q + pos;
    return 1;
  }
  const unsigned char *nul = memchr(q + pos, 0, n - pos);
  if (!nul) return 0;
  f->str = (const char *)q + pos;
  f->len = (uint32_t)((size_t)(nul - q) - pos);
  f->option = 0;
  *p = nul + 1;
  return 1;
}
typedef struct hubc__qrow {
  const hubc__rec *r;
  size_t pos;   /* bytes of the fields decoded into f */
  uint32_t n;   /* fields in f */
  uint8_t done; /* every field is in f */
  hubc__qfield f[HUBC__QROW_FIELDS];
} hubc__qrow;
static inline void hubc__qrow_init(hubc__qrow *row, const hubc__rec *r) {
  row->r = r;
  row->pos = 0;
  row->n = 0;
  row->done = 0;
}
/* hubc__filter_eval on a decoded record. */
int hubc__filter_eval_row(const hubc_store *s, const hubc_filter *f, hubc__qrow *row);
void hubc__filter_ref(const hubc_filter *f);

/* A scan of the contacts 64 record ids at a time: conditions on stored
 * properties read their columns (query/columns.h) through a table of the
 * condition's answer per distinct value; the others read the records. */
typedef struct hubc__qscan {
  hubc_store *s;
  const hubc_filter *f; /* NULL: every contact */
  const struct hubc__qcol **cols; /* by node: the condition's column, or NULL */
  uint8_t **tabs;       /* by node: answer by column code */
  uint32_t *ncodes;     /* by node: codes its table answers (the dictionary then) */
  uint8_t *cheap;       /* by node: reads no record */
  size_t size;          /* bytes of tabs, ncodes, cheap and the tables */
  size_t missing;       /* columns that could be built and are not */
  uint64_t epoch;       /* s->qcols.epoch when prepared */
  struct hubc__qins *prog; /* hubc__qscan_flatten's program, or NULL */
  uint32_t n_prog;
} hubc__qscan;
/* One condition of a flattened filter: answered by the contact's code in
 * a column (Q_COL), by its marketing status (Q_STATUS) or from its record
 * (Q_ROW), then on to instruction t (true) or f (false); n_prog means
 * "matches", n_prog + 1 "does not". */
typedef struct hubc__qins {
  const struct hubc__qcol *col;
  const uint8_t *tab; /* Q_COL: answer by code, below ncodes */
  uint32_t ncodes, node, t, f;
  uint8_t kind;
  uint8_t by_status[4]; /* Q_STATUS: answer by hubc_marketing_status */
} hubc__qins;
enum { HUBC__Q_COL = 1, HUBC__Q_STATUS, HUBC__Q_ROW };
/* A condition that no table answers (filter.c). */
int hubc__qins_slow(const hubc__qscan *q, const hubc__qins *i, hubc__qrow *row, unsigned *missed);
/* hubc__qscan_one on a flattened scan (q->prog set), inlined in the
 * watches' loop. */
static inline int hubc__qprog_run(const hubc__qscan *q, int64_t id, hubc__qrow *row, unsigned *missed) {
  const hubc__qins *prog = q->prog;
  uint32_t n = q->n_prog, pc = 0;
  do {
    const hubc__qins *i = &prog[pc];
    int v;
    if (i->kind == HUBC__Q_COL) {
      uint16_t code = hubc__qcol_code(i->col, id);
      v = code < i->ncodes ? i->tab[code] : hubc__qins_slow(q, i, row, missed);
    } else if (i->kind == HUBC__Q_STATUS) {
      v = i->by_status[row->r->status & 3];
    } else {
      v = hubc__qins_slow(q, i, row, missed);
    }
    pc = v ? i->t : i->f;
  } while (pc < n);
  return pc == n;
}
/* Flattens q's filter for hubc__qscan_one (the watches' path, one contact
 * at a time): the conditions in the order written, AND and OR as jumps,
 * no tree to walk. 0, or HUBC_ENOMEM (q stays usable, unflattened). */
int hubc__qscan_flatten(hubc__qscan *q);
/* Prepares a scan (lock held); with `build` (the write lock held) builds
 * the columns missing. 0 or HUBC_ENOMEM. */
int hubc__qscan_init(hubc__qscan *q, hubc_store *s, const hubc_filter *f, int build);
/* Bit j: contact base + j exists and matches (base a multiple of 64). The
 * scan's tables must cover every code its columns hold: built in the same
 * call, or checked with hubc__qscan_current (one() reads the record for a
 * newer value; a block does not). */
uint64_t hubc__qscan_block(const hubc__qscan *q, int64_t base);
/* 1 if no column the scan reads has gained a value since it was built. */
int hubc__qscan_current(const hubc__qscan *q);
void hubc__qscan_free(hubc__qscan *q);
/* Whether contact id, whose current record row decodes, matches: the
 * conditions with a column read the contact's code in their table, the
 * others the row. A code newer than its table (a value the column met
 * after the scan was prepared) reads the row too and counts in *missed. */
int hubc__qscan_one(const hubc__qscan *q, int64_t id, hubc__qrow *row, unsigned *missed);
/* Checks that f (may be NULL) belongs to store s; `what` names the call. */
int hubc__filter_check(const hubc_store *s, const hubc_filter *f, const char *what);

/* ASCII case-insensitive helpers shared by evaluation and sorting. */
int hubc__qstr_cmp_ci(const char *a, size_t alen, const char *b, size_t blen);
/* A decimal (already checked by hubc__parse_number) as a double: equal
 * decimals give equal doubles (3.5 and 3.50). */
double hubc__qnumber(const char *s);

#endif
