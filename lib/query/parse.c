/* The filter language's lexer and recursive-descent parser (S1). AND and
 * OR chains are loops (any length); only parentheses and NOT recurse, and
 * their nesting is bounded by HUBC_FILTER_MAX_DEPTH, so no input can
 * exhaust the stack. */
#include <stdio.h>
#include <string.h>

#include "query/query.h"
#include "util/text.h"

enum tok {
  T_END = 0, T_IDENT, T_QIDENT, T_STRING, T_NUMBER, T_LPAREN, T_RPAREN, T_COMMA, T_OP,
  /* keywords (bare identifiers, any case) */
  T_AND, T_OR, T_NOT, T_IN, T_LIST, T_VIEW, T_IS, T_KNOWN, T_CONTAINS, T_STARTS, T_WITH, T_TRUE, T_FALSE
};

static const char *const keywords[] = {"AND", "OR", "NOT", "IN", "LIST", "VIEW", "IS", "KNOWN",
                                       "CONTAINS", "STARTS", "WITH", "TRUE", "FALSE"};

typedef struct parser {
  hubc__qtree *t;
  hubc__base *b;
  const char *src;
  size_t len;
  /* the current token */
  enum tok tok;
  int op;            /* T_OP: HUBC__QOP_* */
  size_t pos, end;   /* its bytes: src[pos..end) */
  size_t value_off;  /* T_QIDENT, T_STRING: decoded; T_NUMBER, T_IDENT: its text (in t->strings) */
  uint32_t value_len;
  int depth;
} parser;

static int is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_ident(char c) { return is_ident_start(c) || is_digit(c); }

/* Length of the UTF-8 sequence at s[0..n), or 0 if it is not valid. */
static size_t utf8_seq(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  size_t k;
  uint32_t cp;
  if (c < 0x80) return c ? 1 : 0;
  if (c >= 0xc2 && c <= 0xdf) k = 2, cp = c & 0x1f;
  else if (c >= 0xe0 && c <= 0xef) k = 3, cp = c & 0x0f;
  else if (c >= 0xf0 && c <= 0xf4) k = 4, cp = c & 0x07;
  else return 0;
  if (n < k) return 0;
  for (size_t i = 1; i < k; i++) {
    if ((s[i] & 0xc0) != 0x80) return 0;
    cp = cp << 6 | (s[i] & 0x3f);
  }
  if ((k == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (k == 4 && (cp < 0x10000 || cp > 0x10ffff)))
    return 0;
  return k;
}

/* What the current token is, for messages: its text (cut at 40 bytes) or
 * "the end of the filter". */
static const char *found(const parser *p, char *buf, size_t cap) {
  if (p->tok == T_END) return "the end of the filter";
  size_t n = p->end - p->pos;
  int cut = n > 40;
  /* cut on a character boundary so the message stays valid UTF-8 */
  if (cut)
    for (n = 40; n > 0 && ((unsigned char)p->src[p->pos + n] & 0xc0) == 0x80; n--) {
    }
  snprintf(buf, cap, "'%.*s%s'", (int)n, p->src + p->pos, cut ? "…" : "");
  return buf;
}

static int expected(parser *p, const char *what) {
  char buf[64];
  return hubc__err(HUBC_EINVAL, "filter: byte %zu: expected %s, found %s", p->pos, what, found(p, buf, sizeof buf));
}

/* Copies s[0..n) into the tree's strings; *off receives its offset (the
 * buffer may move as it grows, so the tree keeps offsets). */
static int pooled(parser *p, const char *s, size_t n, size_t *off) {
  hubc__qtree *t = p->t;
  if (hubc__grow(p->b, (void **)&t->strings, &t->strings_cap, t->strings_used + n + 1, 1))
    return hubc__err(HUBC_ENOMEM, "out of memory parsing a filter");
  *off = t->strings_used;
  memcpy(t->strings + *off, s, n);
  t->strings[*off + n] = '\0';
  t->strings_used += n + 1;
  return 0;
}

/* A quoted run starting at src[pos] (the quote q), doubled quotes
 * standing for one: decoded into the pool. */
static int lex_quoted(parser *p, char q, size_t *off, size_t *dec_len) {
  size_t i = p->pos + 1, n = 0;
  hubc__qtree *t = p->t;
  /* decoded, it is no longer than the rest of the text */
  if (hubc__grow(p->b, (void **)&t->strings, &t->strings_cap, t->strings_used + (p->len - i) + 1, 1))
    return hubc__err(HUBC_ENOMEM, "out of memory parsing a filter");
  *off = t->strings_used;
  for (;;) {
    if (i >= p->len)
      return hubc__err(HUBC_EINVAL, "filter: byte %zu: expected a closing %c for the %s opened at byte %zu, found the end "
                                    "of the filter",
                       p->len, q, q == '\'' ? "string" : "quoted name", p->pos);
    if (p->src[i] == q) {
      if (i + 1 < p->len && p->src[i + 1] == q) i++; /* doubled: one quote */
      else break;
    }
    t->strings[*off + n++] = p->src[i++];
  }
  t->strings[*off + n] = '\0';
  t->strings_used += n + 1;
  p->end = i + 1;
  *dec_len = n;
  return 0;
}

/* Reads the next token into p (values into the tree's strings). */
static int next(parser *p) {
  const char *s = p->src;
  size_t i = p->end;
  while (i < p->len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
  p->pos = i;
  p->value_len = 0;
  if (i >= p->len) {
    p->tok = T_END;
    p->end = i;
    return 0;
  }
  char c = s[i];
  size_t off = 0, n = 0;
  int rc;
  switch (c) {
  case '(': p->tok = T_LPAREN; p->end = i + 1; return 0;
  case ')': p->tok = T_RPAREN; p->end = i + 1; return 0;
  case ',': p->tok = T_COMMA; p->end = i + 1; return 0;
  case '=': p->tok = T_OP; p->op = HUBC__QOP_EQ; p->end = i + 1; return 0;
  case '!':
    if (i + 1 < p->len && s[i + 1] == '=') {
      p->tok = T_OP;
      p->op = HUBC__QOP_NE;
      p->end = i + 2;
      return 0;
    }
    break;
  case '<':
    p->tok = T_OP;
    p->op = HUBC__QOP_LT;
    p->end = i + 1;
    if (i + 1 < p->len && s[i + 1] == '=') p->op = HUBC__QOP_LE, p->end = i + 2;
    else if (i + 1 < p->len && s[i + 1] == '>') p->op = HUBC__QOP_NE, p->end = i + 2;
    return 0;
  case '>':
    p->tok = T_OP;
    p->op = HUBC__QOP_GT;
    p->end = i + 1;
    if (i + 1 < p->len && s[i + 1] == '=') p->op = HUBC__QOP_GE, p->end = i + 2;
    return 0;
  case '\'':
  case '"':
    if ((rc = lex_quoted(p, c, &off, &n))) return rc;
    p->tok = c == '\'' ? T_STRING : T_QIDENT;
    p->value_off = off;
    p->value_len = (uint32_t)n;
    return 0;
  default: break;
  }
  if (is_digit(c) || ((c == '-' || c == '+' || c == '.') && i + 1 < p->len && (is_digit(s[i + 1]) || s[i + 1] == '.'))) {
    size_t j = i + (c == '-' || c == '+');
    while (j < p->len && (is_ident(s[j]) || s[j] == '.' ||
                          ((s[j] == '+' || s[j] == '-') && (s[j - 1] == 'e' || s[j - 1] == 'E'))))
      j++;
    p->end = j;
    char buf[64];
    if (j - i >= sizeof buf) return hubc__err(HUBC_EINVAL, "filter: byte %zu: number of %zu bytes is too long", i, j - i);
    memcpy(buf, s + i, j - i);
    buf[j - i] = '\0';
    if (!hubc__parse_number(buf))
      return hubc__err(HUBC_EINVAL, "filter: byte %zu: expected a number, found '%s'", i, buf);
    if ((rc = pooled(p, buf, j - i, &off))) return rc;
    p->tok = T_NUMBER;
    p->value_off = off;
    p->value_len = (uint32_t)(j - i);
    return 0;
  }
  if (is_ident_start(c)) {
    size_t j = i;
    while (j < p->len && is_ident(s[j])) j++;
    p->end = j;
    p->tok = T_IDENT;
    for (size_t k = 0; k < sizeof keywords / sizeof *keywords; k++) {
      size_t kl = strlen(keywords[k]);
      if (kl != j - i) continue;
      size_t m = 0;
      while (m < kl && (s[i + m] & ~0x20) == keywords[k][m]) m++;
      if (m == kl) {
        p->tok = (enum tok)(T_AND + k);
        return 0;
      }
    }
    if ((rc = pooled(p, s + i, j - i, &off))) return rc;
    p->value_off = off;
    p->value_len = (uint32_t)(j - i);
    return 0;
  }
  size_t k = utf8_seq((const unsigned char *)s + i, p->len - i); /* valid: checked up front */
  p->end = i + k;
  return hubc__err(HUBC_EINVAL, "filter: byte %zu: unexpected character '%.*s'", i, (int)k, s + i);
}

static uint32_t new_node(parser *p, int kind, size_t pos) {
  hubc__qtree *t = p->t;
  if (hubc__grow(p->b, (void **)&t->nodes, &t->cap, t->n + 1, sizeof *t->nodes)) {
    hubc__err(HUBC_ENOMEM, "out of memory parsing a filter");
    return 0;
  }
  hubc__qast *a = &t->nodes[t->n];
  memset(a, 0, sizeof *a);
  a->kind = (uint8_t)kind;
  a->pos = (uint32_t)pos;
  return (uint32_t)++t->n;
}

/* The current token as a literal (string, number, TRUE, FALSE). */
static int literal(parser *p) {
  hubc__qtree *t = p->t;
  int kind = p->tok == T_STRING ? HUBC__QL_STRING
             : p->tok == T_NUMBER ? HUBC__QL_NUMBER
             : p->tok == T_TRUE  ? HUBC__QL_TRUE
             : p->tok == T_FALSE ? HUBC__QL_FALSE
                                 : 0;
  if (!kind) return expected(p, "a value (a 'string', a number, TRUE or FALSE)");
  if (hubc__grow(p->b, (void **)&t->lits, &t->lits_cap, t->n_lits + 1, sizeof *t->lits))
    return hubc__err(HUBC_ENOMEM, "out of memory parsing a filter");
  hubc__qlit *l = &t->lits[t->n_lits++];
  l->kind = (uint8_t)kind;
  l->pos = (uint32_t)p->pos;
  l->len = p->value_len;
  l->off = kind <= HUBC__QL_NUMBER ? (uint32_t)p->value_off : 0;
  return next(p);
}

static int parse_or(parser *p, uint32_t *out);

/* property (op value | CONTAINS s | STARTS WITH s | IS [NOT] KNOWN | [NOT] IN (values)) */
static int parse_condition(parser *p, uint32_t *out) {
  if (p->tok != T_IDENT && p->tok != T_QIDENT)
    return expected(p, "a property name, NOT, IN LIST, IN VIEW or '('");
  size_t pos = p->pos;
  uint32_t name_off = (uint32_t)p->value_off, node = new_node(p, HUBC__QA_CMP, pos);
  if (!node) return HUBC_ENOMEM;
  int rc = next(p);
  if (rc) return rc;
  hubc__qast *a = &p->t->nodes[node - 1];
  a->name_off = name_off;
  a->name_pos = (uint32_t)pos;
  a->lit = (uint32_t)p->t->n_lits;
  int kind = 0;
  switch (p->tok) {
  case T_OP: a->op = (uint8_t)p->op; kind = HUBC__QA_CMP; break;
  case T_CONTAINS: kind = HUBC__QA_CONTAINS; break;
  case T_STARTS:
    if ((rc = next(p))) return rc;
    if (p->tok != T_WITH) return expected(p, "WITH (after STARTS)");
    kind = HUBC__QA_STARTS;
    break;
  case T_IS:
    if ((rc = next(p))) return rc;
    kind = HUBC__QA_KNOWN;
    if (p->tok == T_NOT) {
      kind = HUBC__QA_UNKNOWN;
      if ((rc = next(p))) return rc;
    }
    if (p->tok != T_KNOWN) return expected(p, kind == HUBC__QA_KNOWN ? "KNOWN or NOT KNOWN (after IS)" : "KNOWN");
    break;
  case T_NOT:
    if ((rc = next(p))) return rc;
    if (p->tok != T_IN) return expected(p, "IN (after the property and NOT)");
    kind = HUBC__QA_NOT_IN;
    break;
  case T_IN: kind = HUBC__QA_IN; break;
  default:
    return expected(p, "an operator (=, !=, <, <=, >, >=, CONTAINS, STARTS WITH, IS KNOWN, IS NOT KNOWN, IN)");
  }
  p->t->nodes[node - 1].kind = (uint8_t)kind;
  if ((rc = next(p))) return rc;
  if (kind == HUBC__QA_KNOWN || kind == HUBC__QA_UNKNOWN) {
    *out = node;
    return 0;
  }
  if (kind == HUBC__QA_IN || kind == HUBC__QA_NOT_IN) {
    if (p->tok != T_LPAREN) return expected(p, "'(' (a list of values after IN)");
    if ((rc = next(p))) return rc;
    for (;;) {
      if ((rc = literal(p))) return rc;
      if (p->tok == T_RPAREN) break;
      if (p->tok != T_COMMA) return expected(p, "',' or ')' in the list of values");
      if ((rc = next(p))) return rc;
    }
    if ((rc = next(p))) return rc;
  } else {
    if ((kind == HUBC__QA_CONTAINS || kind == HUBC__QA_STARTS) && p->tok != T_STRING)
      return expected(p, "a 'string'");
    if ((rc = literal(p))) return rc;
  }
  p->t->nodes[node - 1].n_lits = (uint32_t)p->t->n_lits - p->t->nodes[node - 1].lit;
  *out = node;
  return 0;
}

static int enter(parser *p) {
  if (++p->depth > HUBC_FILTER_MAX_DEPTH)
    return hubc__err(HUBC_ELIMIT, "filter: byte %zu: nested more than %d deep (parentheses and NOTs)", p->pos,
                     HUBC_FILTER_MAX_DEPTH);
  return 0;
}

static int parse_unary(parser *p, uint32_t *out) {
  int rc;
  size_t pos = p->pos;
  if (p->tok == T_NOT) {
    uint32_t child, node;
    if ((rc = enter(p)) || (rc = next(p)) || (rc = parse_unary(p, &child))) return rc;
    p->depth--;
    if (!(node = new_node(p, HUBC__QA_NOT, pos))) return HUBC_ENOMEM;
    p->t->nodes[node - 1].child = child;
    *out = node;
    return 0;
  }
  if (p->tok == T_LPAREN) {
    if ((rc = enter(p)) || (rc = next(p)) || (rc = parse_or(p, out))) return rc;
    p->depth--;
    if (p->tok != T_RPAREN) {
      char buf[64];
      return hubc__err(HUBC_EINVAL, "filter: byte %zu: expected ')' to close the '(' at byte %zu, found %s", p->pos,
                       pos, found(p, buf, sizeof buf));
    }
    return next(p);
  }
  if (p->tok == T_IN) { /* IN LIST n | IN VIEW 'name' */
    if ((rc = next(p))) return rc;
    if (p->tok == T_LIST) {
      if ((rc = next(p))) return rc;
      const char *v = p->tok == T_NUMBER ? p->t->strings + p->value_off : "";
      uint64_t id = 0;
      int ok = *v != '\0';
      for (const char *c = v; *c && ok; c++) {
        if (!is_digit(*c) || id > (UINT64_MAX - 9) / 10) ok = 0;
        else id = id * 10 + (uint64_t)(*c - '0');
      }
      if (!ok || id == 0) return expected(p, "a list id (a whole number > 0)");
      uint32_t node = new_node(p, HUBC__QA_IN_LIST, pos);
      if (!node) return HUBC_ENOMEM;
      p->t->nodes[node - 1].list = id;
      *out = node;
      return next(p);
    }
    if (p->tok == T_VIEW) {
      if ((rc = next(p))) return rc;
      if (p->tok != T_STRING) return expected(p, "a view name in quotes ('…')");
      uint32_t node = new_node(p, HUBC__QA_IN_VIEW, pos);
      if (!node) return HUBC_ENOMEM;
      p->t->nodes[node - 1].lit = (uint32_t)p->t->n_lits;
      p->t->nodes[node - 1].n_lits = 1;
      *out = node;
      return literal(p);
    }
    return expected(p, "LIST or VIEW (after IN)");
  }
  return parse_condition(p, out);
}

/* A chain a OP b OP c… (one n-ary node; a single operand is returned as is). */
static int parse_chain(parser *p, uint32_t *out, enum tok op, int kind, int (*operand)(parser *, uint32_t *)) {
  size_t pos = p->pos;
  uint32_t first, last;
  int rc = operand(p, &first);
  if (rc) return rc;
  if (p->tok != op) {
    *out = first;
    return 0;
  }
  uint32_t node = new_node(p, kind, pos);
  if (!node) return HUBC_ENOMEM;
  p->t->nodes[node - 1].child = last = first;
  while (p->tok == op) {
    uint32_t more;
    if ((rc = next(p)) || (rc = operand(p, &more))) return rc;
    p->t->nodes[last - 1].next = more;
    last = more;
  }
  *out = node;
  return 0;
}

static int parse_and(parser *p, uint32_t *out) { return parse_chain(p, out, T_AND, HUBC__QA_AND, parse_unary); }
static int parse_or(parser *p, uint32_t *out) { return parse_chain(p, out, T_OR, HUBC__QA_OR, parse_and); }

int hubc__filter_parse(hubc__qtree *t, hubc__base *b, const char *text, size_t len) {
  memset(t, 0, sizeof *t);
  /* valid UTF-8 first: every token, and so every message quoting one, is */
  for (size_t i = 0, k; i < len; i += k)
    if (!(k = utf8_seq((const unsigned char *)text + i, len - i)))
      return hubc__err(HUBC_EINVAL, "filter: byte %zu: invalid UTF-8", i);
  parser p = {t, b, text, len, T_END, 0, 0, 0, 0, 0, 0};
  int rc = next(&p);
  if (!rc && p.tok == T_END) rc = hubc__err(HUBC_EINVAL, "filter: byte 0: expected a condition, found an empty filter");
  if (!rc) rc = parse_or(&p, &t->root);
  if (!rc && p.tok != T_END) {
    const char *what = p.tok == T_RPAREN ? "the end of the filter (this ')' closes nothing)"
                                         : "AND, OR or the end of the filter";
    rc = expected(&p, what);
  }
  return rc;
}

void hubc__qtree_free(hubc__qtree *t, hubc__base *b) {
  hubc__free(b, t->nodes, t->cap * sizeof *t->nodes);
  hubc__free(b, t->lits, t->lits_cap * sizeof *t->lits);
  hubc__free(b, t->strings, t->strings_cap);
  memset(t, 0, sizeof *t);
}
