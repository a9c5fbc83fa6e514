/* Property-based test of the filter language (S1): thousands of random
 * filters over random contacts select exactly what a plain reference
 * evaluator, written here from the rules in the README, selects. The
 * reference knows nothing of the library's parser or compiled form: it
 * walks the test's own expression tree over the test's own copy of the
 * values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

#define ADMIN ((hubc_id)1)
#define N_CONTACTS 80
#define N_FILTERS 4000

static uint64_t rng_state;
static unsigned rnd(unsigned n) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (unsigned)(rng_state % n);
}

/* ---- the model ---------------------------------------------------------- */

enum { P_CITY, P_FIRST, P_STAGE, P_SCORE, P_SEEN, P_VIP, P_OPTOUT, P_MK_STATUS, P_MK_UNTIL, P_COUNT };
static const char *const prop_names[P_COUNT] = {"city", "firstname", "lifecyclestage", "score", "seen",
                                                "vip", "hs_email_optout", "hs_marketable_status",
                                                "hs_marketable_until_renewal"};
enum { T_STR, T_ENUM, T_NUM, T_TIME, T_BOOL };
static const int prop_types[P_COUNT] = {T_STR, T_STR, T_ENUM, T_NUM, T_TIME, T_BOOL, T_BOOL, T_BOOL, T_BOOL};

static const char *const cities[] = {"Roma", "roma", "ROMA", "Milano", "milano ", "Bari", "Città", "città", "CITTÀ", "R"};
static const char *const stages[] = {"subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead",
                                     "opportunity", "customer", "evangelist", "other"};
/* numbers: how they are written, and their values */
static const char *const score_text[] = {"-2", "-1.5", "0", "0.5", "1", "1e1", "10", "10.0", "3.25", "+3.250"};
static const double score_val[] = {-2, -1.5, 0, 0.5, 1, 10, 10, 10, 3.25, 3.25};

typedef struct contact {
  int live;
  int has[P_COUNT];
  char str[2][16]; /* city, firstname */
  int stage;
  double score;
  int64_t seen;
  int b[4]; /* vip, optout, mk_status, mk_until */
} contact;
static contact model[N_CONTACTS + 1];

/* ---- expressions -------------------------------------------------------- */

enum { E_AND, E_OR, E_NOT, E_CMP, E_CONTAINS, E_STARTS, E_KNOWN, E_UNKNOWN, E_IN, E_NOT_IN };
enum { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };
static const char *const op_text[] = {"=", "!=", "<", "<=", ">", ">="};

typedef struct expr {
  int kind, op, prop;
  struct expr *kid[3];
  int n_kids;
  int n_vals;
  /* constants: text as written, and value */
  char text[4][40];
  double num[4];
  int64_t i[4];
} expr;

static expr pool[4096];
static int pool_n;

static int64_t day_time(int d, int h) { return tu_time(2024, 1, 1, 0, 0, 0) + (int64_t)d * 86400 + h * 3600; }

/* A random constant for property p into e's slot k. */
static void constant(expr *e, int k) {
  int t = prop_types[e->prop];
  switch (t) {
  case T_STR:
    if (rnd(3) == 0) snprintf(e->text[k], sizeof e->text[k], "%s", cities[rnd(10)]);
    else {
      static const char *const bits[] = {"a", "A", "n", "o", "Ro", "ma", "", "an", "x", "à"};
      snprintf(e->text[k], sizeof e->text[k], "%s%s", bits[rnd(10)], bits[rnd(10)]);
    }
    break;
  case T_ENUM: e->i[k] = rnd(8); snprintf(e->text[k], sizeof e->text[k], "%s", stages[e->i[k]]); break;
  case T_NUM: {
    unsigned j = rnd(12);
    if (j < 10) snprintf(e->text[k], sizeof e->text[k], "%s", score_text[j]), e->num[k] = score_val[j];
    else snprintf(e->text[k], sizeof e->text[k], "%s", j == 10 ? "2" : "-0.75"), e->num[k] = j == 10 ? 2 : -0.75;
    break;
  }
  case T_TIME: {
    int d = (int)rnd(10), h = (int)rnd(2) * 12;
    e->i[k] = day_time(d, h);
    char iso[32];
    if (h == 0 && rnd(2)) snprintf(iso, sizeof iso, "2024-01-%02d", 1 + d);
    else snprintf(iso, sizeof iso, "2024-01-%02dT%02d:00:00Z", 1 + d, h);
    snprintf(e->text[k], sizeof e->text[k], "%s", iso);
    break;
  }
  default: e->i[k] = rnd(2); snprintf(e->text[k], sizeof e->text[k], "%s", e->i[k] ? "true" : "false"); break;
  }
}

static expr *gen(int depth) {
  expr *e = &pool[pool_n++];
  memset(e, 0, sizeof *e);
  unsigned r = rnd(10);
  if (depth > 0 && r < 4) {
    e->kind = r < 2 ? E_AND : r < 3 ? E_OR : E_NOT;
    e->n_kids = e->kind == E_NOT ? 1 : 2 + (int)rnd(2);
    for (int i = 0; i < e->n_kids; i++) e->kid[i] = gen(depth - 1);
    return e;
  }
  e->prop = (int)rnd(P_COUNT);
  int t = prop_types[e->prop];
  unsigned k = rnd(10);
  if (k < 1) e->kind = rnd(2) ? E_KNOWN : E_UNKNOWN;
  else if (k < 3) e->kind = rnd(2) ? E_IN : E_NOT_IN;
  else if (k < 5 && t == T_STR) e->kind = rnd(2) ? E_CONTAINS : E_STARTS;
  else {
    e->kind = E_CMP;
    e->op = (int)rnd(t == T_BOOL ? 2 : 6);
  }
  e->n_vals = e->kind == E_IN || e->kind == E_NOT_IN ? 1 + (int)rnd(3) : e->kind == E_KNOWN || e->kind == E_UNKNOWN ? 0 : 1;
  for (int i = 0; i < e->n_vals; i++) constant(e, i);
  return e;
}

/* Renders with the parentheses precedence needs (AND binds tighter than
 * OR), sometimes more, keywords in random case. */
static void put(char **w, const char *s) {
  size_t n = strlen(s);
  memcpy(*w, s, n);
  *w += n;
}

static void kw(char **w, const char *s) {
  int mode = (int)rnd(3);
  for (; *s; s++) *(*w)++ = mode == 0 ? *s : mode == 1 ? (char)(*s >= 'A' && *s <= 'Z' ? *s + 32 : *s) : (rnd(2) ? *s : (char)(*s >= 'A' && *s <= 'Z' ? *s + 32 : *s));
}

static void literal(char **w, const expr *e, int k) {
  int t = prop_types[e->prop];
  if ((t == T_NUM && rnd(2)) || (t == T_BOOL && rnd(2))) { /* bare */
    if (t == T_BOOL) kw(w, e->i[k] ? "TRUE" : "FALSE");
    else put(w, e->text[k]);
    return;
  }
  *(*w)++ = '\'';
  for (const char *c = e->text[k]; *c; c++) {
    if (*c == '\'') *(*w)++ = '\'';
    *(*w)++ = *c;
  }
  *(*w)++ = '\'';
}

static void render(char **w, const expr *e, int parent) {
  int paren = 0;
  if (e->kind <= E_NOT) paren = (parent == E_AND && e->kind == E_OR) || (parent == E_NOT && e->kind != E_NOT) || rnd(6) == 0;
  if (paren) put(w, "(");
  switch (e->kind) {
  case E_AND:
  case E_OR:
    for (int i = 0; i < e->n_kids; i++) {
      if (i) {
        put(w, " ");
        kw(w, e->kind == E_AND ? "AND" : "OR");
        put(w, " ");
      }
      render(w, e->kid[i], e->kind);
    }
    break;
  case E_NOT:
    kw(w, "NOT");
    put(w, " ");
    render(w, e->kid[0], E_NOT);
    break;
  default:
    put(w, prop_names[e->prop]);
    put(w, " ");
    switch (e->kind) {
    case E_CMP: put(w, op_text[e->op]); break;
    case E_CONTAINS: kw(w, "CONTAINS"); break;
    case E_STARTS: kw(w, "STARTS WITH"); break;
    case E_KNOWN: kw(w, "IS KNOWN"); break;
    case E_UNKNOWN: kw(w, "IS NOT KNOWN"); break;
    case E_IN: kw(w, "IN"); break;
    default: kw(w, "NOT IN"); break;
    }
    if (e->kind == E_IN || e->kind == E_NOT_IN) {
      put(w, " (");
      for (int i = 0; i < e->n_vals; i++) {
        if (i) put(w, ", ");
        literal(w, e, i);
      }
      put(w, ")");
    } else if (e->n_vals) {
      put(w, " ");
      literal(w, e, 0);
    }
  }
  if (paren) put(w, ")");
}

/* ---- the reference evaluator ------------------------------------------- */

static int fold(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static int str_cmp(const char *a, const char *b) {
  for (;; a++, b++) {
    int x = fold((unsigned char)*a), y = fold((unsigned char)*b);
    if (x != y) return x < y ? -1 : 1;
    if (!x) return 0;
  }
}

static int has_prefix(const char *s, const char *p) {
  for (; *p; s++, p++)
    if (!*s || fold((unsigned char)*s) != fold((unsigned char)*p)) return 0;
  return 1;
}

static int contains(const char *s, const char *p) {
  for (;; s++) {
    if (has_prefix(s, p)) return 1;
    if (!*s) return 0;
  }
}

/* -1/0/1 of the contact's value against constant k. */
static int cmp_value(const contact *c, const expr *e, int k) {
  switch (prop_types[e->prop]) {
  case T_STR: return str_cmp(c->str[e->prop], e->text[k]);
  case T_NUM: return (c->score > e->num[k]) - (c->score < e->num[k]);
  case T_TIME: return (c->seen > e->i[k]) - (c->seen < e->i[k]);
  case T_ENUM: return (c->stage > e->i[k]) - (c->stage < e->i[k]);
  default: {
    int b = c->b[e->prop - P_VIP];
    return (b > e->i[k]) - (b < e->i[k]);
  }
  }
}

static int ref_eval(const contact *c, const expr *e) {
  switch (e->kind) {
  case E_AND:
    for (int i = 0; i < e->n_kids; i++)
      if (!ref_eval(c, e->kid[i])) return 0;
    return 1;
  case E_OR:
    for (int i = 0; i < e->n_kids; i++)
      if (ref_eval(c, e->kid[i])) return 1;
    return 0;
  case E_NOT: return !ref_eval(c, e->kid[0]);
  case E_KNOWN: return c->has[e->prop];
  case E_UNKNOWN: return !c->has[e->prop];
  default: break;
  }
  if (!c->has[e->prop]) return 0; /* every comparison on an unknown value is false */
  switch (e->kind) {
  case E_CONTAINS: return contains(c->str[e->prop], e->text[0]);
  case E_STARTS: return has_prefix(c->str[e->prop], e->text[0]);
  case E_IN:
  case E_NOT_IN: {
    int in = 0;
    for (int i = 0; i < e->n_vals; i++) in |= cmp_value(c, e, i) == 0;
    return e->kind == E_IN ? in : !in;
  }
  default: {
    int r = cmp_value(c, e, 0);
    switch (e->op) {
    case OP_EQ: return r == 0;
    case OP_NE: return r != 0;
    case OP_LT: return r < 0;
    case OP_LE: return r <= 0;
    case OP_GT: return r > 0;
    default: return r >= 0;
    }
  }
  }
}

/* ---- the store ---------------------------------------------------------- */

static hubc_store *random_store(tu_clock *clk) {
  hubc_store *s = gc_store(tu_open(clk, NULL));
  if (hubc_property_define(s, ADMIN, "score", NULL, HUBC_PROP_NUMBER, NULL, 0) ||
      hubc_property_define(s, ADMIN, "seen", NULL, HUBC_PROP_DATETIME, NULL, 0) ||
      hubc_property_define(s, ADMIN, "vip", NULL, HUBC_PROP_BOOL, NULL, 0))
    fail_msg("define: %s", hubc_error_last());
  for (int id = 1; id <= N_CONTACTS; id++) {
    contact *c = &model[id];
    memset(c, 0, sizeof *c);
    c->live = 1;
    const char *names[8], *values[8];
    char email[32], seen[40];
    size_t n = 0;
    snprintf(email, sizeof email, "c%d@example.com", id);
    names[n] = "email", values[n++] = email;
    if ((c->has[P_CITY] = rnd(4) != 0)) {
      snprintf(c->str[P_CITY], sizeof c->str[P_CITY], "%s", cities[rnd(10)]);
      names[n] = "city", values[n++] = c->str[P_CITY];
    }
    if ((c->has[P_FIRST] = rnd(4) != 0)) {
      static const char *const letters = "anoRAx";
      size_t len = 1 + rnd(5);
      for (size_t i = 0; i < len; i++) c->str[P_FIRST][i] = letters[rnd(6)];
      names[n] = "firstname", values[n++] = c->str[P_FIRST];
    }
    if ((c->has[P_STAGE] = rnd(3) != 0)) {
      c->stage = (int)rnd(8);
      names[n] = "lifecyclestage", values[n++] = stages[c->stage];
    }
    if ((c->has[P_SCORE] = rnd(4) != 0)) {
      unsigned j = rnd(10);
      c->score = score_val[j];
      names[n] = "score", values[n++] = score_text[j];
    }
    if ((c->has[P_SEEN] = rnd(3) != 0)) {
      int d = (int)rnd(10), h = (int)rnd(24);
      c->seen = day_time(d, h);
      snprintf(seen, sizeof seen, "2024-01-%02dT%02d:00:00Z", 1 + d, h);
      if (rnd(2)) snprintf(seen, sizeof seen, "2024-01-%02dT%02d:00:00+01:00", 1 + d, h), c->seen -= 3600;
      names[n] = "seen", values[n++] = seen;
    }
    if ((c->has[P_VIP] = rnd(2) != 0)) {
      c->b[0] = (int)rnd(2);
      names[n] = "vip", values[n++] = c->b[0] ? "TRUE" : "false";
    }
    if ((c->has[P_OPTOUT] = rnd(2) != 0)) {
      c->b[1] = (int)rnd(2);
      names[n] = "hs_email_optout", values[n++] = c->b[1] ? "true" : "False";
    }
    hubc_id got;
    if (hubc_contact_create(&got, s, ADMIN, NULL, names, values, n)) fail_msg("create: %s", hubc_error_last());
    assert_int_equal(got, id);
    c->has[P_MK_STATUS] = c->has[P_MK_UNTIL] = 1;
    unsigned st = rnd(3);
    if (st >= 1 && hubc_contact_set_marketing(s, ADMIN, id, HUBC_SOURCE_MANUAL, 1)) fail_msg("%s", hubc_error_last());
    if (st == 2 && hubc_contact_set_non_marketing(s, ADMIN, id, HUBC_SOURCE_MANUAL, 1))
      fail_msg("%s", hubc_error_last());
    c->b[2] = st >= 1;
    c->b[3] = st == 2;
  }
  for (int i = 0; i < 8; i++) { /* some deleted: never selected */
    int id = 1 + (int)rnd(N_CONTACTS);
    if (!model[id].live) continue;
    if (hubc_contact_delete(s, ADMIN, id)) fail_msg("%s", hubc_error_last());
    model[id].live = 0;
  }
  return s;
}

static void s1_random_filters_select_what_the_reference_selects(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 21, 10, 0, 0)};
  static char text[65536];
  uint64_t total_selected = 0, total_possible = 0;
  for (int round = 0; round < 4; round++) {
    rng_state = 0x9e3779b97f4a7c15ULL + (uint64_t)round * 7919;
    hubc_store *s = random_store(&clk);
    for (int k = 0; k < N_FILTERS / 4; k++) {
      pool_n = 0;
      expr *e = gen(4);
      char *w = text;
      render(&w, e, -1);
      *w = '\0';
      hubc_filter *f = NULL;
      if (hubc_filter_compile(&f, s, text)) fail_msg("round %d filter %d does not compile: '%s': %s", round, k, text,
                                                     hubc_error_last());
      uint64_t want = 0, count = 0;
      for (int id = 1; id <= N_CONTACTS; id++) {
        int m = -1, rc = hubc_filter_matches(&m, s, f, id);
        if (!model[id].live) {
          assert_int_equal(rc, HUBC_ENOTFOUND);
          continue;
        }
        int r = ref_eval(&model[id], e);
        if (rc != 0 || m != r)
          fail_msg("round %d filter %d '%s': contact %d: library says %d (rc %d), reference %d", round, k, text, id, m,
                   rc, r);
        want += (uint64_t)r;
      }
      if (hubc_filter_count(&count, s, f)) fail_msg("%s", hubc_error_last());
      if (count != want) fail_msg("'%s': count %llu, reference %llu", text, (unsigned long long)count, (unsigned long long)want);
      total_selected += want;
      total_possible += N_CONTACTS;
      hubc_filter_free(f);
    }
  }
  /* the generator is useful: neither (almost) nothing nor (almost) everything */
  assert_true(total_selected > total_possible / 10);
  assert_true(total_selected < total_possible * 9 / 10);
}

/* ---- active lists over random changes ------------------------------------- */

/* A random new value of stored property p for contact c (sometimes none,
 * sometimes one no contact had before): its name and text for
 * hubc_contact_update ("" removes), and the model follows. */
static void random_value(contact *c, int p, const char **name, const char **value, char *buf, size_t n) {
  static const char *const fresh[] = {"Napoli", "napoli", "Romana", "Ro"};
  *name = prop_names[p];
  *value = buf;
  buf[0] = '\0';
  c->has[p] = rnd(5) != 0;
  if (!c->has[p]) return;
  switch (p) {
  case P_CITY: snprintf(buf, n, "%s", rnd(3) ? cities[rnd(10)] : fresh[rnd(4)]); break;
  case P_FIRST: {
    static const char *const letters = "anoRAxz";
    size_t len = 1 + rnd(5);
    for (size_t i = 0; i < len; i++) buf[i] = letters[rnd(7)];
    buf[len] = '\0';
    break;
  }
  case P_STAGE: c->stage = (int)rnd(8), snprintf(buf, n, "%s", stages[c->stage]); break;
  case P_SCORE: {
    unsigned j = rnd(10);
    c->score = score_val[j];
    snprintf(buf, n, "%s", score_text[j]);
    break;
  }
  case P_SEEN: {
    int d = (int)rnd(10), h = (int)rnd(24);
    c->seen = day_time(d, h);
    snprintf(buf, n, "2024-01-%02dT%02d:00:00Z", 1 + d, h);
    break;
  }
  default: c->b[p - P_VIP] = (int)rnd(2), snprintf(buf, n, "%s", c->b[p - P_VIP] ? "true" : "FALSE"); break;
  }
  if (p <= P_FIRST) { /* the model holds the whole value, or it would disagree with the store */
    size_t len = strlen(buf);
    assert_true(len < sizeof c->str[p]);
    memcpy(c->str[p], buf, len + 1);
  }
}

static void expect_members(hubc_store *s, const hubc_id *lists, expr *const *es, int n_lists, int id, int step) {
  for (int i = 0; i < n_lists; i++) {
    int in = -1;
    if (hubc_list_contains(&in, s, lists[i], id)) fail_msg("%s", hubc_error_last());
    int want = model[id].live && ref_eval(&model[id], es[i]);
    if (in != want) fail_msg("step %d: list %d, contact %d: member %d, reference %d", step, i, id, in, want);
  }
}

/* S2: random filters as active lists follow random changes (values old
 * and new, removals, marketing status) exactly as the reference says.
 * Many lists share conditions with different outcomes around them; every
 * operator and AND/OR/NOT nesting goes through the watches' one-contact
 * path, not only through counts. */
static void s2_random_active_lists_follow_random_changes_as_the_reference_says(void **state) {
  (void)state;
  enum { N_LISTS = 40, STEPS = 3000 };
  tu_clock clk = {tu_time(2024, 3, 21, 10, 0, 0)};
  rng_state = 0x5851f42d4c957f2dULL;
  hubc_store *s = random_store(&clk);
  static char text[65536];
  expr *es[N_LISTS];
  hubc_id lists[N_LISTS];
  pool_n = 0;
  for (int i = 0; i < N_LISTS; i++) {
    es[i] = i % 4 == 0 && i ? es[i - 1] : gen(3); /* some lists with the same filter */
    char *w = text, name[16];
    render(&w, es[i], -1);
    *w = '\0';
    snprintf(name, sizeof name, "L%d", i);
    if (hubc_list_create(&lists[i], s, ADMIN, name, text)) fail_msg("'%s': %s", text, hubc_error_last());
  }
  int steps = tu_time_factor() > 1 ? STEPS / 5 : STEPS;
  uint64_t flips = 0;
  for (int step = 0; step < steps; step++) {
    int id = 1 + (int)rnd(N_CONTACTS);
    if (!model[id].live) continue;
    int before[N_LISTS];
    for (int i = 0; i < N_LISTS; i++) before[i] = ref_eval(&model[id], es[i]);
    unsigned what = rnd(4);
    if (what < 3) {
      const char *names[3], *values[3];
      char bufs[3][40];
      int n = 1 + (int)rnd(3), ps[3];
      for (int k = 0; k < n; k++) {
        ps[k] = (int)rnd(P_MK_STATUS); /* the stored ones */
        for (int j = 0; j < k; j++)
          if (ps[j] == ps[k]) ps[k] = (ps[k] + 1) % P_MK_STATUS, j = -1;
        random_value(&model[id], ps[k], &names[k], &values[k], bufs[k], sizeof bufs[k]);
      }
      if (hubc_contact_update(s, ADMIN, id, names, values, (size_t)n)) fail_msg("%s", hubc_error_last());
    } else {
      int rc = rnd(2) ? hubc_contact_set_marketing(s, ADMIN, id, HUBC_SOURCE_MANUAL, 1)
                      : hubc_contact_set_non_marketing(s, ADMIN, id, HUBC_SOURCE_MANUAL, 1);
      if (rc) fail_msg("%s", hubc_error_last());
      hubc_contact *c = NULL;
      if (hubc_contact_get(&c, s, id)) fail_msg("%s", hubc_error_last());
      int st = hubc_contact_status(c);
      hubc_contact_free(c);
      model[id].b[2] = st != HUBC_NON_MARKETING;
      model[id].b[3] = st == HUBC_MARKETING_UNTIL_UPDATE;
    }
    for (int i = 0; i < N_LISTS; i++) flips += (uint64_t)(before[i] != ref_eval(&model[id], es[i]));
    expect_members(s, lists, es, N_LISTS, id, step);
    if (step % 500 == 0)
      for (int c = 1; c <= N_CONTACTS; c++) expect_members(s, lists, es, N_LISTS, c, step);
  }
  for (int c = 1; c <= N_CONTACTS; c++) expect_members(s, lists, es, N_LISTS, c, steps);
  assert_true(flips > (uint64_t)steps / 2); /* the changes did move contacts in and out */
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(s1_random_filters_select_what_the_reference_selects, gc_teardown),
    cmocka_unit_test_teardown(s2_random_active_lists_follow_random_changes_as_the_reference_says, gc_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
