/* Filters (S1): the parse tree compiled once to a predicate over interned
 * property ids and typed constants, then run over the records. */
#include <stdio.h>
#include <string.h>

#include "query/columns.h"
#include "query/query.h"
#include "util/text.h"

/* ---- values ------------------------------------------------------------- */

static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c; }

int hubc__qstr_cmp_ci(const char *a, size_t alen, const char *b, size_t blen) {
  size_t n = alen < blen ? alen : blen;
  for (size_t i = 0; i < n; i++) {
    unsigned char x = (unsigned char)lower(a[i]), y = (unsigned char)lower(b[i]);
    if (x != y) return x < y ? -1 : 1;
  }
  return alen < blen ? -1 : alen > blen;
}

static int digit(char c) { return c >= '0' && c <= '9'; }

/* 10^e for |e| beyond the exact range, by squaring (no libm needed). */
static long double pow10l_(int e) {
  long double r = 1, b = 10;
  unsigned u = (unsigned)(e < 0 ? -e : e);
  for (; u; u >>= 1, b *= b)
    if (u & 1) r *= b;
  return e < 0 ? 1 / r : r;
}

double hubc__qnumber(const char *s) {
  static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                               1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  int neg = *s == '-';
  if (*s == '-' || *s == '+') s++;
  uint64_t m = 0;
  int exp = 0, nd = 0;
  for (; digit(*s); s++) {
    if (nd < 19) {
      m = m * 10 + (uint64_t)(*s - '0');
      nd += m != 0;
    } else exp++;
  }
  if (*s == '.')
    for (s++; digit(*s); s++)
      if (nd < 19) {
        m = m * 10 + (uint64_t)(*s - '0');
        nd += m != 0;
        exp--;
      }
  if (*s == 'e' || *s == 'E') {
    s++;
    int esign = *s == '-' ? -1 : 1, e = 0;
    if (*s == '-' || *s == '+') s++;
    for (; digit(*s) && e < 100000; s++) e = e * 10 + (*s - '0');
    exp += esign * e;
  }
  if (m == 0) return 0.0;
  /* one decimal value, one (m, exp): 3.5 and 3.50 give the same double */
  while (m % 10 == 0) m /= 10, exp++;
  double d;
  if (m < (1ULL << 53) && exp >= -22 && exp <= 22)
    d = exp < 0 ? (double)m / p10[-exp] : (double)m * p10[exp]; /* exact inputs: correctly rounded */
  else
    d = (double)((long double)m * pow10l_(exp));
  return neg ? -d : d;
}

/* A stored field: its string value or enumeration option (the walk of
 * hubc__rec_get, returning the option index rather than its text). */
static int stored_field(const hubc__rec *r, uint32_t prop, const char **str, uint64_t *option) {
  const unsigned char *p = hubc__rec_fields(r), *end = p + hubc__rec_flen(r);
  while (p < end) {
    hubc__qfield f;
    if (!hubc__qfield_next(&p, end, &f) || f.prop > prop) return 0; /* sorted */
    if (f.prop == prop) {
      *str = f.str;
      *option = f.option;
      return 1;
    }
  }
  return 0;
}

/* Field `prop` of the row's record: 1 and *out, or 0 when it has none.
 * Decodes (and keeps) fields only as far as prop. */
static int row_field(hubc__qrow *row, uint32_t prop, hubc__qfield *out) {
  for (uint32_t i = 0; i < row->n; i++)
    if (row->f[i].prop >= prop) {
      *out = row->f[i];
      return row->f[i].prop == prop;
    }
  if (row->done) return 0;
  const unsigned char *base = hubc__rec_fields(row->r), *end = base + hubc__rec_flen(row->r), *p = base + row->pos;
  while (p < end) {
    hubc__qfield f;
    if (!hubc__qfield_next(&p, end, &f)) break; /* unreadable: as if absent */
    if (row->n < HUBC__QROW_FIELDS) { /* full: later fields are walked again each time */
      row->f[row->n++] = f;
      row->pos = (size_t)(p - base);
    }
    if (f.prop >= prop) {
      *out = f;
      return f.prop == prop;
    }
  }
  row->done = row->pos == (size_t)(end - base);
  return 0;
}

/* A stored value (str, or an option when str is NULL) as the evaluator
 * compares it: 1 and *v, or 0 if it does not read as its type. Records
 * and column dictionaries go through here alike. */
static int typed_value(int type, const char *str, uint64_t option, hubc__qval *v) {
  switch (type) {
  case HUBC_PROP_ENUMERATION: v->i = (int64_t)option; return str == NULL;
  case HUBC_PROP_NUMBER: v->d = hubc__qnumber(str); return 1;
  case HUBC_PROP_BOOL: v->i = str[0] == 't'; return 1; /* stored as true/false */
  case HUBC_PROP_DATETIME: return hubc__parse_datetime(str, &v->i) == 0;
  default:
    v->s = str;
    v->len = strlen(str);
    return 1;
  }
}

int hubc__qval_get(const hubc_store *s, const hubc__rec *r, uint32_t prop, int type, hubc__qval *v) {
  if (prop >= HUBC__COMPUTED_FIRST && prop < HUBC__P_BUILTIN_COUNT) {
    int marketing = r->status != HUBC_NON_MARKETING, reason = 0;
    hubc_id reason_id = 0;
    switch (prop) {
    case HUBC__P_OBJECT_ID: v->d = (double)r->id; return 1;
    case HUBC__P_CREATEDATE: v->i = hubc__rec_created(r); return 1;
    case HUBC__P_LASTMODIFIED: v->i = r->modified; return 1;
    case HUBC__P_MK_STATUS: v->i = marketing; return 1;
    case HUBC__P_MK_UNTIL_RENEWAL: v->i = r->status == HUBC_MARKETING_UNTIL_UPDATE; return 1;
    default: /* the reason, as hubc_contact_prop shows it */
      if (marketing) hubc__status_reason(s, r->hist, &reason, &reason_id);
      if (!reason) return 0;
      if (prop == HUBC__P_MK_REASON_TYPE) v->s = hubc_source_name(reason);
      else v->s = v->buf, v->i = reason_id, hubc__format_i64(v->buf, reason_id);
      if (!v->s) return 0;
      v->len = strlen(v->s);
      return 1;
    }
  }
  const char *str;
  uint64_t option = 0;
  if (!stored_field(r, prop, &str, &option)) return 0;
  return typed_value(type, str, option, v);
}

/* ---- compiling ---------------------------------------------------------- */

typedef struct compiler {
  hubc_store *s;
  const hubc__qtree *t;
  hubc_filter *f;
  size_t nodes_cap, consts_cap, strings_cap;
} compiler;

static const char *const op_names[] = {"=", "!=", "<", "<=", ">", ">="};

static int nomem(void) { return hubc__err(HUBC_ENOMEM, "out of memory compiling a filter"); }

/* Strings are stored by offset until the end (the buffer moves). */
static int add_string(compiler *c, const char *s, size_t len, uint32_t *off) {
  hubc_filter *f = c->f;
  if (hubc__grow(c->s->base, (void **)&f->strings, &c->strings_cap, f->strings_len + len + 1, 1)) return nomem();
  *off = (uint32_t)f->strings_len;
  for (size_t i = 0; i < len; i++) f->strings[f->strings_len + i] = lower(s[i]);
  f->strings[f->strings_len + len] = '\0';
  f->strings_len += len + 1;
  return 0;
}

/* A literal converted to property p's type (C4's rules): a quoted string
 * converts to any type; a bare number fits numbers; TRUE/FALSE fit bools. */
static int convert(compiler *c, const hubc__prop *p, const hubc__qlit *l, hubc__qconst *k) {
  const char *text = c->t->strings + l->off;
  memset(k, 0, sizeof *k);
  switch (p->type) {
  case HUBC_PROP_STRING:
    if (l->kind == HUBC__QL_STRING) {
      uint32_t off = 0; /* set unless add_string fails (gcc 12 -O2 cannot see it) */
      int rc = add_string(c, text, l->len, &off);
      k->i = off; /* the offset until compile ends */
      k->len = l->len;
      return rc;
    }
    return hubc__err(HUBC_EINVAL, "filter: byte %u: property '%s' is a string: put the value in quotes", l->pos,
                     p->name);
  case HUBC_PROP_NUMBER:
    if (l->kind == HUBC__QL_NUMBER || (l->kind == HUBC__QL_STRING && hubc__parse_number(text))) {
      k->d = hubc__qnumber(text);
      return 0;
    }
    break;
  case HUBC_PROP_BOOL:
    if (l->kind == HUBC__QL_TRUE || l->kind == HUBC__QL_FALSE) {
      k->i = l->kind == HUBC__QL_TRUE;
      return 0;
    }
    if (l->kind == HUBC__QL_STRING && hubc__parse_bool(text) >= 0) {
      k->i = hubc__parse_bool(text);
      return 0;
    }
    break;
  case HUBC_PROP_DATETIME:
    if (l->kind == HUBC__QL_STRING && hubc__parse_datetime(text, &k->i) == 0) return 0;
    return hubc__err(HUBC_EINVAL,
                     "filter: byte %u: property '%s' is a datetime: expected an ISO-8601 date in quotes "
                     "('2024-03-21' or '2024-03-21T10:00:00Z'), found %s%.100s%s",
                     l->pos, p->name, l->kind == HUBC__QL_STRING ? "'" : "",
                     l->kind == HUBC__QL_TRUE ? "TRUE" : l->kind == HUBC__QL_FALSE ? "FALSE" : text,
                     l->kind == HUBC__QL_STRING ? "'" : "");
  case HUBC_PROP_ENUMERATION:
    if (l->kind == HUBC__QL_STRING || l->kind == HUBC__QL_NUMBER) {
      int o = hubc__schema_option(p, text);
      if (o >= 0) {
        k->i = o;
        return 0;
      }
      char opts[200];
      size_t used = 0;
      opts[0] = '\0';
      for (size_t i = 0; i < p->n_options && used + 8 < sizeof opts; i++) {
        int w = snprintf(opts + used, sizeof opts - used, "%s%s", i ? ", " : "", p->options[i]);
        used = w < 0 ? used : used + (size_t)w;
      }
      if (used >= sizeof opts) strcpy(opts + sizeof opts - 5, "…");
      return hubc__err(HUBC_ENOTFOUND, "filter: byte %u: '%.100s' is not an option of property '%s' (options: %s)",
                       l->pos, text, p->name, opts);
    }
    break;
  }
  const char *shown = l->kind == HUBC__QL_TRUE ? "TRUE" : l->kind == HUBC__QL_FALSE ? "FALSE" : text;
  const char *q = l->kind == HUBC__QL_STRING ? "'" : "";
  return hubc__err(HUBC_EINVAL, "filter: byte %u: %s%.100s%s is not a %s value (property '%s' is a %s)", l->pos, q,
                   shown, q, hubc__type_name(p->type), p->name, hubc__type_name(p->type));
}

static int compile_node(compiler *c, uint32_t ast, size_t slot);

/* Reserves n consecutive node slots; their first index in *first. */
static int reserve_nodes(compiler *c, size_t n, size_t *first) {
  hubc_filter *f = c->f;
  if (hubc__grow(c->s->base, (void **)&f->nodes, &c->nodes_cap, f->n_nodes + n, sizeof *f->nodes)) return nomem();
  *first = f->n_nodes;
  memset(f->nodes + f->n_nodes, 0, n * sizeof *f->nodes);
  f->n_nodes += n;
  return 0;
}

static int compile_condition(compiler *c, const hubc__qast *a, hubc__qnode *out) {
  const char *name = c->t->strings + a->name_off;
  int prop = hubc__schema_find(c->s->schema, name);
  if (prop < 0)
    return hubc__err(HUBC_ENOTFOUND, "filter: byte %u: property '%.100s' does not exist", a->name_pos, name);
  const hubc__prop *p = &c->s->schema->props[prop];
  hubc__qnode n = {0};
  n.prop = (uint32_t)prop;
  n.type = p->type;
  n.op = a->op;
  switch (a->kind) {
  case HUBC__QA_CMP:
    n.kind = HUBC__QN_CMP;
    if (a->op >= HUBC__QOP_LT && p->type == HUBC_PROP_BOOL)
      return hubc__err(HUBC_EINVAL, "filter: byte %u: '%s' does not apply to bool property '%s' (use = or !=)",
                       a->pos, op_names[a->op], p->name);
    break;
  case HUBC__QA_CONTAINS:
  case HUBC__QA_STARTS:
    n.kind = a->kind == HUBC__QA_CONTAINS ? HUBC__QN_CONTAINS : HUBC__QN_STARTS;
    if (p->type != HUBC_PROP_STRING)
      return hubc__err(HUBC_EINVAL, "filter: byte %u: %s applies to string properties; '%s' is a %s", a->pos,
                       a->kind == HUBC__QA_CONTAINS ? "CONTAINS" : "STARTS WITH", p->name, hubc__type_name(p->type));
    break;
  case HUBC__QA_KNOWN:
  case HUBC__QA_UNKNOWN:
    n.kind = HUBC__QN_KNOWN;
    n.negate = a->kind == HUBC__QA_UNKNOWN;
    break;
  default:
    n.kind = HUBC__QN_IN;
    n.negate = a->kind == HUBC__QA_NOT_IN;
    break;
  }
  hubc_filter *f = c->f;
  if (hubc__grow(c->s->base, (void **)&f->consts, &c->consts_cap, f->n_consts + a->n_lits, sizeof *f->consts))
    return nomem();
  n.a = (uint32_t)f->n_consts;
  n.n = a->n_lits;
  for (uint32_t i = 0; i < a->n_lits; i++) {
    int rc = convert(c, p, &c->t->lits[a->lit + i], &f->consts[f->n_consts]);
    if (rc) return rc;
    f->n_consts++;
  }
  *out = n;
  return 0;
}

static int compile_node(compiler *c, uint32_t ast, size_t slot) {
  const hubc__qast *a = &c->t->nodes[ast - 1];
  hubc__qnode n = {0};
  int rc = 0;
  switch (a->kind) {
  case HUBC__QA_AND:
  case HUBC__QA_OR:
  case HUBC__QA_NOT: {
    size_t count = 0, first = 0;
    for (uint32_t k = a->child; k; k = c->t->nodes[k - 1].next) count++;
    if ((rc = reserve_nodes(c, count, &first))) return rc;
    n.kind = a->kind == HUBC__QA_AND ? HUBC__QN_AND : a->kind == HUBC__QA_OR ? HUBC__QN_OR : HUBC__QN_NOT;
    n.a = (uint32_t)first;
    n.n = (uint32_t)count;
    size_t i = 0;
    for (uint32_t k = a->child; k && !rc; k = c->t->nodes[k - 1].next) rc = compile_node(c, k, first + i++);
    break;
  }
  case HUBC__QA_IN_LIST: {
    const hubc__qdef *l = a->list <= UINT32_MAX ? hubc__list_def(c->s, (hubc_id)a->list) : NULL;
    if (!l || l->deleted)
      return hubc__err(HUBC_ENOTFOUND, "filter: byte %u: list %llu %s", a->pos, (unsigned long long)a->list,
                       l ? "was deleted" : "does not exist");
    n.kind = HUBC__QN_LIST;
    n.a = (uint32_t)a->list;
    break;
  }
  case HUBC__QA_IN_VIEW: {
    const char *name = c->t->strings + c->t->lits[a->lit].off;
    hubc_id v = hubc__view_find(c->s, name);
    if (!v) return hubc__err(HUBC_ENOTFOUND, "filter: byte %u: view '%.100s' does not exist", a->pos, name);
    n.kind = HUBC__QN_VIEW;
    n.a = (uint32_t)v;
    break;
  }
  default: rc = compile_condition(c, a, &n); break;
  }
  if (!rc) c->f->nodes[slot] = n;
  return rc;
}

static void filter_release(hubc__base *b, hubc_filter *f, size_t nodes_cap, size_t consts_cap, size_t strings_cap) {
  hubc__free(b, f->nodes, nodes_cap * sizeof *f->nodes);
  hubc__free(b, f->consts, consts_cap * sizeof *f->consts);
  hubc__free(b, f->strings, strings_cap);
  hubc__free(b, f, sizeof *f);
}

/* Shrinks the arrays to their sizes, so free needs no capacities. */
static int shrink(hubc__base *b, void **p, size_t cap, size_t n, size_t elem) {
  if (cap == n) return 0;
  void *q = hubc__realloc(b, *p, cap * elem, n * elem);
  if (!q && n) return nomem();
  *p = n ? q : NULL;
  return 0;
}

/* lock: take the store's read lock for the schema, lists and views (the
 * public call); 0 when the caller holds a lock already. */
static int compile_text(hubc_filter **out, hubc_store *s, const char *text, int lock) {
  if (!out) return hubc__err(HUBC_EINVAL, "compile filter: out is NULL");
  *out = NULL;
  if (!s) return hubc__err(HUBC_EINVAL, "compile filter: store is NULL");
  if (!text) return hubc__err(HUBC_EINVAL, "compile filter: text is NULL");
  size_t len = strnlen(text, (size_t)HUBC_FILTER_MAX_BYTES + 1);
  if (len > HUBC_FILTER_MAX_BYTES)
    return hubc__err(HUBC_ELIMIT, "filter: longer than %d bytes (limit)", HUBC_FILTER_MAX_BYTES);
  hubc__qtree t;
  int rc = hubc__filter_parse(&t, s->base, text, len);
  if (rc) {
    hubc__qtree_free(&t, s->base);
    return rc;
  }
  hubc_filter *f = hubc__calloc(s->base, sizeof *f);
  if (!f) {
    hubc__qtree_free(&t, s->base);
    return nomem();
  }
  compiler c = {s, &t, f, 0, 0, 0};
  size_t root = 0;
  if (!lock || (rc = hubc__read_begin(s)) == 0) {
    rc = reserve_nodes(&c, 1, &root);
    if (!rc) rc = compile_node(&c, t.root, root);
    if (lock) hubc__read_end(s, rc);
  }
  hubc__qtree_free(&t, s->base);
  if (!rc) rc = shrink(s->base, (void **)&f->nodes, c.nodes_cap, f->n_nodes, sizeof *f->nodes);
  if (!rc) c.nodes_cap = f->n_nodes, rc = shrink(s->base, (void **)&f->consts, c.consts_cap, f->n_consts, sizeof *f->consts);
  if (!rc) c.consts_cap = f->n_consts, rc = shrink(s->base, (void **)&f->strings, c.strings_cap, f->strings_len, 1);
  if (!rc) c.strings_cap = f->strings_len;
  if (rc) {
    filter_release(s->base, f, c.nodes_cap, c.consts_cap, c.strings_cap);
    return rc;
  }
  /* string constants: offsets into pointers, now that the buffer is final */
  for (size_t i = 0; i < f->n_nodes; i++) {
    const hubc__qnode *n = &f->nodes[i];
    if (n->kind >= HUBC__QN_CMP && n->type == HUBC_PROP_STRING)
      for (uint32_t k = n->a; k < n->a + n->n; k++) f->consts[k].s = f->strings + f->consts[k].i;
  }
  atomic_init(&f->refs, 1);
  f->base = s->base;
  hubc__base_ref(s->base);
  *out = f;
  return hubc__ok();
}

HUBC_API int hubc_filter_compile(hubc_filter **out, hubc_store *s, const char *text) {
  return compile_text(out, s, text, 1);
}

int hubc__filter_compile_locked(hubc_filter **out, hubc_store *s, const char *text) {
  return compile_text(out, s, text, 0);
}

void hubc__filter_ref(const hubc_filter *cf) {
  hubc_filter *f = (hubc_filter *)cf; /* the count is not part of what the filter means */
  atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
}

HUBC_API void hubc_filter_free(hubc_filter *f) {
  if (!f || atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) != 1) return;
  hubc__base *b = f->base;
  filter_release(b, f, f->n_nodes, f->n_consts, f->strings_len);
  hubc__base_unref(b);
}

int hubc__filter_check(const hubc_store *s, const hubc_filter *f, const char *what) {
  if (f && f->base != s->base) return hubc__err(HUBC_EINVAL, "%s: the filter was compiled for another store", what);
  return 0;
}

/* ---- evaluating --------------------------------------------------------- */

static int contains_ci(const char *hay, size_t n, const char *needle, size_t m) {
  if (m > n) return 0;
  if (m == 0) return 1;
  char first = needle[0]; /* constants are lowercased */
  for (size_t i = 0; i + m <= n; i++)
    if (lower(hay[i]) == first && hubc__qstr_cmp_ci(hay + i, m, needle, m) == 0) return 1;
  return 0;
}

static int compare(const hubc__qnode *n, const hubc__qval *v, const hubc__qconst *k) {
  switch (n->type) {
  case HUBC_PROP_STRING: return hubc__qstr_cmp_ci(v->s, v->len, k->s, k->len);
  case HUBC_PROP_NUMBER: return v->d < k->d ? -1 : v->d > k->d;
  default: return v->i < k->i ? -1 : v->i > k->i;
  }
}

/* A condition on a value (known: the contact has one, in *v). */
static int leaf(const hubc_filter *f, const hubc__qnode *n, int known, const hubc__qval *v) {
  if (n->kind == HUBC__QN_KNOWN) return known != n->negate;
  if (!known) return 0; /* every comparison with an unknown value is false */
  const hubc__qconst *k = &f->consts[n->a];
  switch (n->kind) {
  case HUBC__QN_CONTAINS: return contains_ci(v->s, v->len, k->s, k->len);
  case HUBC__QN_STARTS: return v->len >= k->len && hubc__qstr_cmp_ci(v->s, k->len, k->s, k->len) == 0;
  case HUBC__QN_IN:
    for (uint32_t i = 0; i < n->n; i++)
      if ((n->type != HUBC_PROP_STRING || v->len == k[i].len) && compare(n, v, &k[i]) == 0) return !n->negate;
    return n->negate;
  default: {
    /* ASCII case folding keeps lengths: strings of other lengths differ */
    if (n->type == HUBC_PROP_STRING && v->len != k->len && (n->op == HUBC__QOP_EQ || n->op == HUBC__QOP_NE))
      return n->op == HUBC__QOP_NE;
    int c = compare(n, v, k);
    switch (n->op) {
    case HUBC__QOP_EQ: return c == 0;
    case HUBC__QOP_NE: return c != 0;
    case HUBC__QOP_LT: return c < 0;
    case HUBC__QOP_LE: return c <= 0;
    case HUBC__QOP_GT: return c > 0;
    default: return c >= 0;
    }
  }
  }
}

/* The value of n's property on the row's contact, as hubc__qval_get. */
static int row_value(const hubc_store *s, hubc__qrow *row, const hubc__qnode *n, hubc__qval *v) {
  if (n->prop >= HUBC__COMPUTED_FIRST && n->prop < HUBC__P_BUILTIN_COUNT)
    return hubc__qval_get(s, row->r, n->prop, n->type, v);
  hubc__qfield fl;
  if (!row_field(row, n->prop, &fl)) return 0;
  if (fl.str && n->type == HUBC_PROP_STRING) { /* the length is known: no strlen */
    v->s = fl.str;
    v->len = fl.len;
    return 1;
  }
  return typed_value(n->type, fl.str, fl.option, v);
}

static int eval(const hubc_store *s, const hubc_filter *f, hubc__qrow *row, const hubc__qnode *n) {
  switch (n->kind) {
  case HUBC__QN_AND:
    for (uint32_t i = 0; i < n->n; i++)
      if (!eval(s, f, row, &f->nodes[n->a + i])) return 0;
    return 1;
  case HUBC__QN_OR:
    for (uint32_t i = 0; i < n->n; i++)
      if (eval(s, f, row, &f->nodes[n->a + i])) return 1;
    return 0;
  case HUBC__QN_NOT: return !eval(s, f, row, &f->nodes[n->a]);
  case HUBC__QN_LIST: return hubc__list_has(s, n->a, row->r->id);
  case HUBC__QN_VIEW: { /* hubc__view_eval, on the same decoded row */
    const hubc__qdef *d = hubc__view_def(s, n->a);
    return d && !d->deleted && d->f && eval(s, d->f, row, &d->f->nodes[0]);
  }
  default: break;
  }
  hubc__qval v;
  int known = row_value(s, row, n, &v);
  return leaf(f, n, known, &v);
}

int hubc__filter_eval_row(const hubc_store *s, const hubc_filter *f, hubc__qrow *row) {
  return !f || eval(s, f, row, &f->nodes[0]);
}

int hubc__filter_eval(const hubc_store *s, const hubc_filter *f, const hubc__rec *r) {
  if (!f) return 1;
  hubc__qrow row;
  hubc__qrow_init(&row, r);
  return eval(s, f, &row, &f->nodes[0]);
}

/* ---- scanning: 64 contacts at a time, over columns ------------------------ */

static int is_leaf(const hubc__qnode *n) {
  return n->kind != HUBC__QN_AND && n->kind != HUBC__QN_OR && n->kind != HUBC__QN_NOT;
}

/* A condition on a property's value (leaf() answers it) reads the
 * property's column when the property is stored; other leaves read the
 * records through eval. */
static int stored(const hubc_store *s, const hubc__qnode *n) {
  switch (n->kind) {
  case HUBC__QN_CMP:
  case HUBC__QN_CONTAINS:
  case HUBC__QN_STARTS:
  case HUBC__QN_KNOWN:
  case HUBC__QN_IN: break;
  default: return 0;
  }
  return n->prop < s->schema->n && !(s->schema->props[n->prop].flags & HUBC_PROP_COMPUTED);
}

/* Codes a leaf's column can hold now: its values (or options), and 0. */
static uint32_t codes_now(const hubc__qscan *q, size_t i) {
  const hubc__qcol *c = q->cols[i];
  return (uint32_t)((c->enumeration ? q->s->schema->props[q->f->nodes[i].prop].n_options : c->n) + 1);
}

int hubc__qscan_init(hubc__qscan *q, hubc_store *s, const hubc_filter *f, int build) {
  memset(q, 0, sizeof *q);
  q->s = s;
  q->f = f;
  if (!f) return 0;
  size_t n = f->n_nodes, tables = 0;
  q->cols = hubc__calloc(s->base, n * sizeof *q->cols);
  if (!q->cols) return hubc__err(HUBC_ENOMEM, "out of memory scanning contacts");
  for (size_t i = 0; i < n; i++) {
    const hubc__qnode *node = &f->nodes[i];
    if (!stored(s, node)) continue;
    q->cols[i] = hubc__qcol_get(s, node->prop, build);
    if (!q->cols[i]) q->missing += (size_t)hubc__qcol_wanted(s, node->prop);
    else tables += codes_now(q, i);
  }
  q->size = n * (sizeof *q->tabs + sizeof *q->ncodes + 1) + tables;
  unsigned char *mem = hubc__alloc(s->base, q->size);
  if (!mem) {
    q->size = 0;
    hubc__qscan_free(q);
    return hubc__err(HUBC_ENOMEM, "out of memory scanning contacts");
  }
  q->epoch = s->qcols.epoch;
  q->tabs = (uint8_t **)(void *)mem;
  q->ncodes = (uint32_t *)(void *)(mem + n * sizeof *q->tabs);
  q->cheap = mem + n * (sizeof *q->tabs + sizeof *q->ncodes);
  uint8_t *tab = q->cheap + n;
  for (size_t i = n; i-- > 0;) { /* children come after their parent */
    const hubc__qnode *node = &f->nodes[i];
    const hubc__qcol *c = q->cols[i];
    q->tabs[i] = NULL;
    q->ncodes[i] = 0;
    if (!is_leaf(node)) {
      q->cheap[i] = 1;
      for (uint32_t k = 0; k < node->n; k++) q->cheap[i] &= q->cheap[node->a + k];
      continue;
    }
    q->cheap[i] = c != NULL;
    if (!c) continue;
    /* the condition once per distinct value: code 0 is "no value" */
    size_t codes = codes_now(q, i);
    hubc__qval v;
    memset(&v, 0, sizeof v);
    tab[0] = (uint8_t)leaf(f, node, 0, &v);
    for (size_t k = 1; k < codes; k++) {
      int known = 1;
      if (c->enumeration) v.i = (int64_t)(k - 1); /* as typed_value reads an option */
      else known = typed_value(node->type, c->text + c->ents[k - 1].off, 0, &v);
      tab[k] = (uint8_t)leaf(f, node, known, &v);
    }
    q->tabs[i] = tab;
    q->ncodes[i] = (uint32_t)codes;
    tab += codes;
  }
  return 0;
}

void hubc__qscan_free(hubc__qscan *q) {
  hubc__base *b = q->s->base;
  hubc__free(b, q->prog, q->n_prog * sizeof *q->prog);
  q->prog = NULL;
  q->n_prog = 0;
  if (q->f) hubc__free(b, q->cols, q->f->n_nodes * sizeof *q->cols);
  hubc__free(b, q->tabs, q->size);
  q->cols = NULL;
  q->tabs = NULL;
}

int hubc__qscan_current(const hubc__qscan *q) {
  for (size_t i = 0; i < q->f->n_nodes; i++)
    if (q->tabs[i] && codes_now(q, i) > q->ncodes[i]) return 0;
  return 1;
}

/* Bits of cand (contacts of the block at base) for which node ni holds.
 * AND and OR take the children that read only columns first: they narrow
 * the contacts whose records the others read. */
static uint64_t block(const hubc__qscan *q, uint32_t ni, int64_t base, uint64_t cand) {
  const hubc__qnode *n = &q->f->nodes[ni];
  switch (n->kind) {
  case HUBC__QN_AND:
    for (int pass = 1; pass >= 0; pass--)
      for (uint32_t i = 0; i < n->n && cand; i++)
        if (q->cheap[n->a + i] == pass) cand = block(q, n->a + i, base, cand);
    return cand;
  case HUBC__QN_OR: {
    uint64_t got = 0;
    for (int pass = 1; pass >= 0; pass--)
      for (uint32_t i = 0; i < n->n && cand; i++)
        if (q->cheap[n->a + i] == pass) {
          uint64_t g = block(q, n->a + i, base, cand);
          got |= g;
          cand &= ~g;
        }
    return got;
  }
  case HUBC__QN_NOT: return cand & ~block(q, n->a, base, cand);
  default: break;
  }
  const uint8_t *tab = q->tabs[ni];
  uint64_t m = 0;
  if (tab) { /* covers every code: hubc__qscan_current */
    const hubc__qcol *c = q->cols[ni];
    if ((size_t)base + 64 <= c->cap) {
      const uint16_t *codes = c->codes + base;
      for (unsigned j = 0; j < 64; j++) m |= (uint64_t)tab[codes[j]] << j;
    } else {
      for (unsigned j = 0; j < 64; j++) m |= (uint64_t)tab[hubc__qcol_code(c, base + j)] << j;
    }
    return m & cand;
  }
  for (uint64_t b = cand; b; b &= b - 1) {
    unsigned j = (unsigned)__builtin_ctzll(b);
    hubc__qrow row;
    hubc__qrow_init(&row, q->s->contacts.recs[base + j]);
    if (eval(q->s, q->f, &row, n)) m |= 1ULL << j;
  }
  return m;
}

static int one(const hubc__qscan *q, uint32_t ni, int64_t id, hubc__qrow *row, unsigned *missed);

/* A condition read from the row (kept out of one(), whose calls are many
 * and should stay cheap). */
static __attribute__((noinline)) int one_row(const hubc__qscan *q, const hubc__qnode *n, hubc__qrow *row) {
  return eval(q->s, q->f, row, n);
}

/* One contact: the conditions in the order written (a table lookup each
 * when they have a column, so there is little to gain by reordering). */
static int one(const hubc__qscan *q, uint32_t ni, int64_t id, hubc__qrow *row, unsigned *missed) {
  const uint8_t *tab = q->tabs[ni];
  if (tab) {
    uint16_t code = hubc__qcol_code(q->cols[ni], id);
    if (code < q->ncodes[ni]) return tab[code];
    (*missed)++;
    return one_row(q, &q->f->nodes[ni], row);
  }
  const hubc__qnode *n = &q->f->nodes[ni];
  switch (n->kind) {
  case HUBC__QN_AND:
    for (uint32_t i = 0; i < n->n; i++)
      if (!one(q, n->a + i, id, row, missed)) return 0;
    return 1;
  case HUBC__QN_OR:
    for (uint32_t i = 0; i < n->n; i++)
      if (one(q, n->a + i, id, row, missed)) return 1;
    return 0;
  case HUBC__QN_NOT: return !one(q, n->a, id, row, missed);
  default: return one_row(q, n, row);
  }
}

int hubc__qscan_one(const hubc__qscan *q, int64_t id, hubc__qrow *row, unsigned *missed) {
  if (!q->f) return 1;
  return q->prog ? hubc__qprog_run(q, id, row, missed) : one(q, 0, id, row, missed);
}

int hubc__qins_slow(const hubc__qscan *q, const hubc__qins *i, hubc__qrow *row, unsigned *missed) {
  if (i->kind == HUBC__Q_COL) (*missed)++; /* a value newer than the table: the row answers */
  return one_row(q, &q->f->nodes[i->node], row);
}

/* Emits node ni's conditions at prog[at...], going to t when ni holds and
 * to f when not; leaves[k]: conditions under node k. */
static void flatten(const hubc__qscan *q, hubc__qins *prog, const uint32_t *leaves, uint32_t ni, uint32_t at,
                    uint32_t t, uint32_t f) {
  const hubc__qnode *n = &q->f->nodes[ni];
  switch (n->kind) {
  case HUBC__QN_AND:
  case HUBC__QN_OR:
    for (uint32_t k = 0; k < n->n; k++) {
      uint32_t c = n->a + k, next = at + leaves[c], last = k + 1 == n->n;
      if (n->kind == HUBC__QN_AND) flatten(q, prog, leaves, c, at, last ? t : next, f);
      else flatten(q, prog, leaves, c, at, t, last ? f : next);
      at = next;
    }
    return;
  case HUBC__QN_NOT: flatten(q, prog, leaves, n->a, at, f, t); return;
  default: break;
  }
  hubc__qins *i = &prog[at];
  memset(i, 0, sizeof *i);
  i->node = ni;
  i->t = t;
  i->f = f;
  i->kind = HUBC__Q_ROW;
  if (q->tabs[ni]) {
    i->kind = HUBC__Q_COL;
    i->col = q->cols[ni];
    i->tab = q->tabs[ni];
    i->ncodes = q->ncodes[ni];
  } else if (n->kind >= HUBC__QN_CMP && n->kind <= HUBC__QN_IN &&
             (n->prop == HUBC__P_MK_STATUS || n->prop == HUBC__P_MK_UNTIL_RENEWAL)) {
    i->kind = HUBC__Q_STATUS; /* hubc__qval_get's answers, by status */
    for (int st = 0; st <= HUBC_MARKETING_UNTIL_UPDATE; st++) {
      hubc__qval v;
      memset(&v, 0, sizeof v);
      v.i = n->prop == HUBC__P_MK_STATUS ? st != HUBC_NON_MARKETING : st == HUBC_MARKETING_UNTIL_UPDATE;
      i->by_status[st] = (uint8_t)leaf(q->f, n, 1, &v);
    }
  }
}

int hubc__qscan_flatten(hubc__qscan *q) {
  const hubc_filter *f = q->f;
  if (!f || q->prog) return 0;
  hubc__base *b = q->s->base;
  size_t n = f->n_nodes;
  uint32_t *leaves = hubc__alloc(b, n * sizeof *leaves);
  if (!leaves) return hubc__err(HUBC_ENOMEM, "out of memory preparing a filter");
  int empty = 0; /* an AND or OR of nothing has no condition to jump from: left to one() */
  for (size_t i = n; i-- > 0;) { /* children come after their parent */
    const hubc__qnode *node = &f->nodes[i];
    leaves[i] = (uint32_t)is_leaf(node);
    if (!is_leaf(node)) {
      empty |= node->n == 0;
      for (uint32_t k = 0; k < node->n; k++) leaves[i] += leaves[node->a + k];
    }
  }
  uint32_t total = leaves[0];
  hubc__qins *prog = empty ? NULL : hubc__alloc(b, total * sizeof *prog);
  if (prog) flatten(q, prog, leaves, 0, 0, total, total + 1);
  hubc__free(b, leaves, n * sizeof *leaves);
  if (empty) return 0;
  if (!prog) return hubc__err(HUBC_ENOMEM, "out of memory preparing a filter");
  q->prog = prog;
  q->n_prog = total;
  return 0;
}

uint64_t hubc__qscan_block(const hubc__qscan *q, int64_t base) {
  const hubc_store *s = q->s;
  int64_t end = hubc__id_end(s), n = end - base < 64 ? end - base : 64;
  uint64_t live = 0;
  for (int64_t j = 0; j < n; j++) live |= (uint64_t)(s->contacts.recs[base + j] != NULL) << j;
  return q->f && live ? block(q, 0, base, live) : live;
}

static int check_args(const void *out, hubc_store *s, const hubc_filter *f, const char *what) {
  if (!out) return hubc__err(HUBC_EINVAL, "%s: out is NULL", what);
  if (!s) return hubc__err(HUBC_EINVAL, "%s: store is NULL", what);
  if (!f) return hubc__err(HUBC_EINVAL, "%s: filter is NULL", what);
  return hubc__filter_check(s, f, what);
}

HUBC_API int hubc_filter_count(uint64_t *out, hubc_store *s, const hubc_filter *f) {
  int rc = check_args(out, s, f, "count filter");
  if (rc) return rc;
  *out = 0;
  if ((rc = hubc__read_begin(s))) return rc;
  hubc__qscan q;
  rc = hubc__qscan_init(&q, s, f, 0);
  if (!rc && q.missing) { /* columns are built once, under the write lock; this count runs under it */
    hubc__qscan_free(&q);
    pthread_rwlock_unlock(&s->lock);
    pthread_rwlock_wrlock(&s->lock);
    rc = hubc__qscan_init(&q, s, f, 1);
  }
  uint64_t count = 0;
  int64_t end = hubc__id_end(s);
  if (rc) { /* no memory for the scan's tables: read every record */
    for (int64_t id = 1; id < end; id++) count += s->contacts.recs[id] && hubc__filter_eval(s, f, s->contacts.recs[id]);
  } else {
    for (int64_t base = 0; base < end; base += 64)
      count += (uint64_t)__builtin_popcountll(hubc__qscan_block(&q, base));
    hubc__qscan_free(&q);
  }
  *out = count;
  return hubc__read_end(s, 0);
}

HUBC_API int hubc_filter_matches(int *out, hubc_store *s, const hubc_filter *f, hubc_id id) {
  int rc = check_args(out, s, f, "match filter");
  if (rc) return rc;
  *out = 0;
  if ((rc = hubc__read_begin(s))) return rc;
  const hubc__rec *r = hubc__contact_at(s, id);
  if (!r) rc = hubc__err(HUBC_ENOTFOUND, "match filter: no contact with record id %lld", (long long)id);
  else *out = hubc__filter_eval(s, f, r);
  return hubc__read_end(s, rc);
}
