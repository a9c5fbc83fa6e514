/* CSV import, the bulk path (I4, I7, I8, I9): the plan projects what the
 * commit will do without applying it, so these tests hold the two to the
 * same answers on randomized files and stores, and check that the commit
 * of a large file still changes nothing when cancelled or when
 * persistence fails in the middle of it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hubcontacts.h"
#include "import/import.h" /* the plan's per-row findings, cleared to take the commit's full path */
#include "testutil.h"

/* ---- helpers ----------------------------------------------------------------- */

typedef struct src {
  const char *text;
  size_t len, at;
} src;

static int read_src(void *payload, char *buf, size_t cap, size_t *got) {
  src *s = payload;
  size_t n = s->len - s->at < cap ? s->len - s->at : cap;
  memcpy(buf, s->text + s->at, n);
  s->at += n;
  *got = n;
  return 0;
}

typedef struct job {
  hubc_import_options o;
  const char *name;
  hubc_read_fn fn;
  void *payload;
  src src;
} job;

static job *job_new(const char *csv) {
  job *j = gc_malloc(calloc(1, sizeof *j));
  assert_int_equal(hubc_import_options_init(&j->o, HUBC_IMPORT_OPTIONS_VERSION), 0);
  j->name = "contacts.csv";
  j->src = (src){csv, strlen(csv), 0};
  j->fn = read_src;
  j->payload = &j->src;
  j->o.files = &j->name;
  j->o.n_files = 1;
  j->o.read = &j->fn;
  j->o.read_payload = &j->payload;
  return j;
}

static void import_free(void *p) { hubc_import_free(p); }

static hubc_import *plan(hubc_store *s, job *j) {
  j->src.at = 0;
  hubc_import *imp = NULL;
  int rc = hubc_import_plan(&imp, s, 1, &j->o);
  if (rc) fail_msg("plan failed: %d %s", rc, hubc_error_last());
  gc_defer(import_free, imp);
  return imp;
}

static hubc_import_summary summary(const hubc_import *imp) {
  hubc_import_summary sum = {.version = HUBC_IMPORT_SUMMARY_VERSION};
  assert_int_equal(hubc_import_summary_get(imp, &sum), 0);
  return sum;
}

/* The counts a plan and a commit report alike for the same rows. */
static void same_counts(hubc_import_summary a, hubc_import_summary b) {
  assert_int_equal(a.to_create, b.to_create);
  assert_int_equal(a.to_update, b.to_update);
  assert_int_equal(a.merged, b.merged);
  assert_int_equal(a.to_set_marketing, b.to_set_marketing);
}

/* The error list as text, one error a line: what plan and commit compare. */
static char *errors_text(const hubc_import *imp) {
  size_t n = hubc_import_error_count(imp), cap = 256 + n * 600, o = 0;
  char *t = gc_malloc(malloc(cap));
  t[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    hubc_import_error e = {.version = HUBC_IMPORT_ERROR_VERSION};
    assert_int_equal(hubc_import_error_at(imp, i, &e), 0);
    o += (size_t)snprintf(t + o, cap - o, "%llu|%s|%d|%.500s\n", (unsigned long long)e.line, e.column, e.code,
                          e.message);
  }
  return t;
}

static hubc_billing_info billing(hubc_store *s) {
  hubc_billing_info b = {.version = HUBC_BILLING_INFO_VERSION};
  assert_int_equal(hubc_billing_get(&b, s), 0);
  return b;
}

static uint64_t rnd(uint64_t *state) { /* splitmix64: a fixed sequence per seed */
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Appends printf text to a growing buffer. */
typedef struct text {
  char *p;
  size_t n, cap;
} text;

static void put(text *t, const char *fmt, ...) {
  va_list ap;
  for (;;) {
    va_start(ap, fmt);
    int k = vsnprintf(t->p + t->n, t->cap - t->n, fmt, ap);
    va_end(ap);
    if ((size_t)k < t->cap - t->n) {
      t->n += (size_t)k;
      return;
    }
    t->cap = t->cap * 2 + (size_t)k;
    t->p = realloc(t->p, t->cap);
    assert_non_null(t->p);
  }
}

static const char *const STAGES[] = {"subscriber", "lead", "customer", "evangelist", "Lead", "nope", ""};
static const char *const CITIES[] = {"Roma", "Bari", "", "Pisa", "Lecce, LE", "Un \"bel\" posto", "Riga\ndue"};
static const char *const SCORES[] = {"1", "2.5", "", "x", "1e999", "-3"};

/* One random value of a column, quoted when it must be (I1). */
static void put_cell(text *t, const char *v) {
  if (!strpbrk(v, ",\"\n")) {
    put(t, "%s", v);
    return;
  }
  put(t, "\"");
  for (; *v; v++) put(t, *v == '"' ? "\"\"" : "%c", *v);
  put(t, "\"");
}

/* An email from a small pool (so rows meet existing contacts and each
 * other), in other case or with white space now and then, sometimes blank
 * or invalid. */
static void random_email(char *out, size_t cap, uint64_t *st) {
  uint64_t r = rnd(st);
  unsigned k = (unsigned)(r % 40);
  switch ((r >> 8) % 10) {
  case 0: snprintf(out, cap, "%s", ""); break;
  case 1: snprintf(out, cap, "bad%u-at-x.it", k); break;
  case 2: snprintf(out, cap, " P%u@X.IT ", k); break;
  case 3: snprintf(out, cap, "p%u@X.it", k); break;
  default: snprintf(out, cap, "p%u@x.it", k);
  }
}

/* ---- I7: the plan's projection and the commit agree ------------------------------- */

/* A randomized round's store and file, the same for the same seed: a store
 * with contacts in every status, a file whose rows meet them, each other,
 * blanks and bad values. */
typedef struct round {
  hubc_store *s;
  job *j;
} round;

static round round_new(uint64_t seed, hubc_store_options *out_so) {
  uint64_t st = seed;
  tu_clock *clk = gc_malloc(malloc(sizeof *clk)); /* outlives the call: the teardown closes the store */
  clk->now = tu_time(2024, 3, 1, 10, 0, 0);
  hubc_store_options so;
  hubc_store_options_init(&so, HUBC_STORE_OPTIONS_VERSION);
  so.clock = tu_clock_fn;
  so.clock_payload = clk;
  so.admin_email = "admin@example.com";
  int hard = rnd(&st) % 3 == 0;
  if (hard) {
    so.tier_policy = HUBC_TIER_HARD_CAP;
    so.hard_cap = 5 + rnd(&st) % 30;
  }
  hubc_store *s;
  assert_int_equal(hubc_store_open(&s, &so), 0);
  gc_store(s);
  assert_int_equal(hubc_property_define(s, 1, "score", "Score", HUBC_PROP_NUMBER, NULL, 0), 0);
  /* existing contacts p0..p19, some with values, in all three states */
  unsigned existing = (unsigned)(rnd(&st) % 20);
  for (unsigned i = 0; i < existing; i++) {
    char email[32];
    snprintf(email, sizeof email, "p%u@x.it", i * 2);
    hubc_id id = tu_contact(s, 1, email, "Old");
    const char *n[] = {"city", "lifecyclestage", "score"};
    const char *v[] = {CITIES[rnd(&st) % 2], STAGES[rnd(&st) % 4], "7"};
    assert_int_equal(hubc_contact_update(s, 1, id, n, v, 1 + rnd(&st) % 3), 0);
    unsigned state = (unsigned)(rnd(&st) % 3);
    if (state && (!hard || billing(s).billable < so.hard_cap))
      assert_int_equal(hubc_contact_set_marketing(s, 1, id, HUBC_SOURCE_MANUAL, 1), 0);
    if (state == 2) assert_int_equal(hubc_contact_set_non_marketing(s, 1, id, HUBC_SOURCE_MANUAL, 1), 0);
  }
  /* the file: email always, the other columns in random order and some not */
  static const char *const cols[] = {"city", "Lifecycle Stage", "score", "First Name", "Unknown", "Create Date"};
  int use[6], ncols = 0;
  text t = {malloc(64), 0, 64};
  put(&t, "Email");
  for (int c = 0; c < 6; c++) {
    use[c] = rnd(&st) % 2;
    if (c == 5) use[c] = rnd(&st) % 4 == 0; /* a read-only column now and then (EREADONLY rows) */
    if (use[c]) put(&t, ",%s", cols[c]), ncols++;
  }
  put(&t, "\n");
  int rows = 1 + (int)(rnd(&st) % 60);
  for (int r = 0; r < rows; r++) {
    char email[64];
    random_email(email, sizeof email, &st);
    put_cell(&t, email);
    for (int c = 0; c < 6; c++) {
      if (!use[c]) continue;
      put(&t, ",");
      const char *v = c == 0   ? CITIES[rnd(&st) % 7]
                      : c == 1 ? STAGES[rnd(&st) % 7]
                      : c == 2 ? SCORES[rnd(&st) % 6]
                      : c == 3 ? (rnd(&st) % 2 ? "Anna" : "")
                      : c == 4 ? "whatever"
                               : (rnd(&st) % 3 ? "" : "2024-01-01");
      put_cell(&t, v);
    }
    if (rnd(&st) % 25 == 0) put(&t, ",extra"); /* a ragged row */
    put(&t, rnd(&st) % 2 ? "\n" : "\r\n");
  }
  gc_malloc(t.p);
  job *j = job_new(t.p);
  j->o.mode = (int)(rnd(&st) % 3);
  j->o.set_marketing = rnd(&st) % 2;
  *out_so = so;
  return (round){s, j};
}

/* The plan's counts, errors and projected billing must be what the commit
 * then does. */
static void agreement_round(uint64_t seed) {
  hubc_store_options so;
  round rd = round_new(seed, &so);
  hubc_store *s = rd.s;
  hubc_import *imp = plan(s, rd.j);
  hubc_import_summary p = summary(imp);
  char *plan_errors = errors_text(imp);
  uint64_t contacts_before;
  assert_int_equal(hubc_contact_count(&contacts_before, s), 0);
  char *before = gc_dump(s);
  hubc_id id = 0;
  int rc = hubc_import_commit(&id, imp, p.to_set_marketing);
  hubc_import_summary c = summary(imp);
  char *commit_errors = errors_text(imp);
  if (p.over_cap) { /* B5: the plan said the commit would be refused */
    assert_int_equal(rc, HUBC_ELIMIT);
    tu_expect_dump(s, before, "a refused import");
  } else {
    if (rc) fail_msg("seed %llu: commit failed: %d %s", (unsigned long long)seed, rc, hubc_error_last());
    hubc_billing_info b = billing(s);
    assert_int_equal(b.billable, p.projected_billable);
    assert_int_equal(b.tier, p.projected_tier);
    uint64_t contacts_after;
    assert_int_equal(hubc_contact_count(&contacts_after, s), 0);
    assert_int_equal(contacts_after, contacts_before + p.to_create);
  }
  assert_int_equal(c.rows, p.rows);
  same_counts(c, p);
  assert_int_equal(c.unchanged, p.unchanged);
  assert_int_equal(c.skipped, p.skipped);
  assert_int_equal(c.unmapped_columns, p.unmapped_columns);
  assert_int_equal(p.rows, p.to_create + p.to_update + p.unchanged + p.merged + p.skipped);
  assert_string_equal(commit_errors, plan_errors);
}

static void test_I7_plan_and_commit_agree_on_randomized_files(void **state) {
  (void)state;
  for (uint64_t seed = 1; seed <= 150; seed++) agreement_round(seed);
}

/* Commits imp; a store changed since the plan may need another
 * confirmation (I7): then the number the refusal counted. */
static int commit_confirmed(hubc_import *imp, uint64_t confirm) {
  int rc = hubc_import_commit(NULL, imp, confirm);
  if (rc == HUBC_ECONFIRM) rc = hubc_import_commit(NULL, imp, summary(imp).to_set_marketing);
  return rc;
}

/* The commit takes an email the plan found already normalized as it is
 * (C3 work done once); with those findings cleared it normalizes every
 * email again. Both must leave the same store, counts and errors, also
 * when the store changed between plan and commit (a contact the file
 * names created, another one set marketing): the commit matches against
 * the store as it is then (I4). */
static void paths_round(uint64_t seed, int change) {
  hubc_store_options so;
  round a = round_new(seed, &so), b = round_new(seed, &so);
  hubc_import *ia = plan(a.s, a.j), *ib = plan(b.s, b.j);
  assert_non_null(ib->email_ok);
  memset(ib->email_ok, 0, ib->email_ok_words * sizeof *ib->email_ok);
  if (change) {
    hubc_store *both[] = {a.s, b.s};
    int marked[2] = {0, 0};
    for (int k = 0; k < 2; k++) { /* under a hard cap the marking may be refused: alike in both */
      hubc_id id = tu_contact(both[k], 1, "P3@x.it", "Late");
      if (seed % 2) marked[k] = hubc_contact_set_marketing(both[k], 1, id, HUBC_SOURCE_MANUAL, 1);
    }
    assert_int_equal(marked[0], marked[1]);
  }
  uint64_t confirm = summary(ia).to_set_marketing;
  int rc_a = commit_confirmed(ia, confirm), rc_b = commit_confirmed(ib, confirm);
  assert_int_equal(rc_a, rc_b);
  hubc_import_summary sa = summary(ia), sb = summary(ib);
  same_counts(sa, sb);
  assert_int_equal(sa.unchanged, sb.unchanged);
  assert_int_equal(sa.skipped, sb.skipped);
  assert_string_equal(errors_text(ia), errors_text(ib));
  tu_expect_same(gc_dump(a.s), gc_dump(b.s), "an import whose plan's email findings were cleared");
}

static void test_C3_I4_commit_with_and_without_the_plans_email_findings_agree(void **state) {
  (void)state;
  for (uint64_t seed = 1; seed <= 60; seed++) {
    paths_round(seed, 0);
    paths_round(seed, 1);
  }
}

/* C4: an enumeration column with more spellings than the changeset keeps
 * resolved (it stops remembering new ones) maps each to its option. */
static void test_C4_I4_enumeration_values_in_many_spellings(void **state) {
  (void)state;
  tu_clock *clk = gc_malloc(malloc(sizeof *clk));
  clk->now = tu_time(2024, 3, 1, 10, 0, 0);
  hubc_store *s = gc_store(tu_open(clk, NULL));
  const char *opts[40];
  char names[40][16];
  for (int i = 0; i < 40; i++) {
    snprintf(names[i], sizeof names[i], "opt%02d", i);
    opts[i] = names[i];
  }
  assert_int_equal(hubc_property_define(s, 1, "tier", "Tier", HUBC_PROP_ENUMERATION, opts, 40), 0);
  text t = {malloc(64), 0, 64};
  put(&t, "Email,Tier\n");
  for (int r = 0; r < 400; r++) /* each option in a lower and an upper-case spelling, over and over */
    put(&t, "c%d@x.it,%s%02d\n", r, (r / 40) % 2 ? "OPT" : "opt", (r * 7) % 40);
  put(&t, "bad@x.it,opt40\n");
  gc_malloc(t.p);
  job *j = job_new(t.p);
  hubc_import *imp = plan(s, j);
  assert_int_equal(summary(imp).skipped, 1);
  assert_int_equal(hubc_import_commit(NULL, imp, 0), 0);
  assert_int_equal(summary(imp).to_create, 400);
  for (int r = 0; r < 400; r++) {
    char email[32];
    snprintf(email, sizeof email, "c%d@x.it", r);
    hubc_contact *c;
    assert_int_equal(hubc_contact_get_by_email(&c, s, email), 0);
    assert_string_equal(hubc_contact_prop(c, "tier"), names[(r * 7) % 40]);
    hubc_contact_free(c);
  }
}

/* ---- C5, I4: create-only refuses every row of an email that exists ------------- */

static void test_C5_I4_create_only_refuses_every_row_of_an_existing_email(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 1, 10, 0, 0)};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  hubc_id a = tu_contact(s, 1, "a@x.it", "Anna");
  const char *n[] = {"city"}, *v[] = {"Roma"};
  assert_int_equal(hubc_contact_update(s, 1, a, n, v, 1), 0);
  job *j = job_new("email,city\na@x.it,Bari\nA@X.IT,Pisa\nnew@x.it,Lecce\n");
  j->o.mode = HUBC_IMPORT_CREATE_ONLY;
  hubc_import *imp = plan(s, j);
  hubc_import_summary sum = summary(imp);
  assert_int_equal(sum.to_create, 1);
  assert_int_equal(sum.merged, 0); /* the second row did not slip in as a merge */
  assert_int_equal(sum.skipped, 2);
  char want[256];
  snprintf(want, sizeof want,
           "2|email|%d|a contact with email 'a@x.it' already exists (record id %lld)\n"
           "3|email|%d|a contact with email 'a@x.it' already exists (record id %lld)\n",
           HUBC_EEXISTS, (long long)a, HUBC_EEXISTS, (long long)a);
  assert_string_equal(errors_text(imp), want);
  assert_int_equal(hubc_import_commit(NULL, imp, 0), 0);
  sum = summary(imp);
  assert_int_equal(sum.merged, 0);
  assert_int_equal(sum.skipped, 2);
  hubc_contact *c;
  assert_int_equal(hubc_contact_get_by_email(&c, s, "a@x.it"), 0);
  assert_string_equal(hubc_contact_prop(c, "city"), "Roma");
  hubc_contact_free(c);
}

/* ---- I8, I9: a large commit cancelled or failing in the middle ------------------- */

/* n rows: every 7th an existing contact's email in other case, every 50th
 * repeating an earlier row's email, every 13th a quoted multi-line note. */
static char *large_csv(int n) {
  text t = {malloc(64), 0, 64};
  put(&t, "Email,City,Lifecycle Stage,Notes\n");
  for (int i = 0; i < n; i++) {
    if (i % 7 == 0) put(&t, "OLD%d@X.it,", i % 20);
    else if (i % 50 == 49) put(&t, "R%d@x.IT,", i - 17);
    else put(&t, "r%d@x.it,", i);
    put(&t, "%s,%s,%s\n", i % 3 ? "Roma" : "", STAGES[i % 4], i % 13 ? "" : "\"Called,\nasked for a \"\"demo\"\"\"");
  }
  return gc_malloc(t.p);
}

/* The property and the 20 older contacts (every third marketing) that
 * large_store's imports meet. */
static void fill_old(hubc_store *s) {
  assert_int_equal(hubc_property_define(s, 1, "notes", "Notes", HUBC_PROP_STRING, NULL, 0), 0);
  for (int i = 0; i < 20; i++) {
    char email[32];
    snprintf(email, sizeof email, "old%d@x.it", i);
    hubc_id id = tu_contact(s, 1, email, "Old");
    if (i % 3 == 1) assert_int_equal(hubc_contact_set_marketing(s, 1, id, HUBC_SOURCE_MANUAL, 1), 0);
  }
}

static hubc_store *large_store(tu_clock *clk, const hubc_persist *persist) {
  hubc_store *s = gc_store(tu_open(clk, persist));
  fill_old(s);
  return s;
}

typedef struct cancel_at {
  int calls, at;
  uint64_t rows_at_cancel;
} cancel_at;

static int cancel_cb(void *payload, const hubc_import_progress *p) {
  cancel_at *c = payload;
  if (p->phase != HUBC_IMPORT_PHASE_APPLY) return 0;
  if (++c->calls != c->at) return 0;
  c->rows_at_cancel = p->rows_done;
  return 1;
}

static void test_I8_I9_commit_cancelled_mid_file_changes_nothing(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 1, 10, 0, 0)};
  hubc_store *s = large_store(&clk, NULL);
  job *j = job_new(large_csv(20000));
  j->o.set_marketing = 1;
  cancel_at c = {0, 0, 0};
  j->o.progress = cancel_cb;
  j->o.progress_payload = &c;
  hubc_import *imp = plan(s, j);
  hubc_import_summary p = summary(imp);
  char *before = gc_dump(s);
  for (int at = 1; at <= 4; at++) { /* after 4,096, 8,192, … rows */
    c.calls = 0;
    c.at = at;
    assert_int_equal(hubc_import_commit(NULL, imp, p.to_set_marketing), HUBC_ECANCELED);
    assert_true(c.rows_at_cancel > 0 && c.rows_at_cancel < p.rows); /* in the middle of the file */
    tu_expect_dump(s, before, "a cancelled import");
  }
  c.at = 0;
  assert_int_equal(hubc_import_commit(NULL, imp, p.to_set_marketing), 0);
  hubc_import_summary after = summary(imp);
  assert_int_equal(after.to_create, p.to_create);
  assert_int_equal(after.to_update, p.to_update);
  assert_int_equal(after.merged, p.merged);
  assert_int_equal(billing(s).billable, p.projected_billable);
}

static void test_I8_persistence_failure_mid_file_changes_nothing(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 1, 10, 0, 0)};
  tu_mem *m = gc_mem();
  hubc_store *s = large_store(&clk, &m->vtable);
  job *j = job_new(large_csv(3000));
  j->o.set_marketing = 1;
  hubc_import *imp = plan(s, j);
  hubc_import_summary p = summary(imp);
  char *before = gc_dump(s);
  /* begin (1), the first put, one in the middle, the last put, commit */
  long puts = (long)(p.to_create + p.to_update) + 2; /* contacts, the import record, the store's meta */
  long at[] = {1, 2, puts / 2, puts + 1, puts + 2};
  for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
    m->fail_at = m->calls + at[i];
    m->fail_code = -1;
    assert_int_equal(hubc_import_commit(NULL, imp, p.to_set_marketing), HUBC_EPERSIST);
    tu_expect_dump(s, before, "an import whose persistence failed");
  }
  m->fail_at = 0;
  assert_int_equal(hubc_import_commit(NULL, imp, p.to_set_marketing), 0);
  char *after = gc_dump(s);
  hubc_store *again = gc_store(tu_open(&clk, &m->vtable));
  assert_string_equal(gc_dump(again), after);
}

/* R2: a plan, then a commit, failing on memory at each allocation in turn
 * changes nothing and leaks nothing; the plan that finally succeeds gives
 * the counts of one planned with memory to spare, and its commit (itself
 * failing at each allocation first) the same store. */
static void test_R2_I7_plan_and_commit_out_of_memory_at_every_allocation(void **state) {
  (void)state;
  tu_clock *clk = gc_malloc(malloc(sizeof *clk));
  clk->now = tu_time(2024, 3, 1, 10, 0, 0);
  tu_alloc *al = gc_malloc(calloc(1, sizeof *al)); /* outlives the test: the teardown closes the store */
  hubc_store *s = large_store(clk, NULL);
  hubc_store *t = gc_store(tu_open_alloc(clk, al, NULL));
  fill_old(t);
  tu_expect_same(gc_dump(s), gc_dump(t), "the two stores before the import");
  job *j = job_new(large_csv(300));
  j->o.set_marketing = 1;
  hubc_import *want = plan(s, j);
  char *before = gc_dump(t);
  hubc_import *imp = NULL;
  j->src.at = 0; /* once first: the store keeps what its transactions grew (undo log, scratch) */
  assert_int_equal(hubc_import_plan(&imp, t, 1, &j->o), 0);
  hubc_import_free(imp);
  imp = NULL;
  size_t live = al->live;
  int rc = 1;
  for (size_t k = 1; rc; k++) {
    assert_true(k < 2000);
    j->src.at = 0;
    al->fail_at = al->count + k;
    rc = hubc_import_plan(&imp, t, 1, &j->o);
    al->fail_at = 0;
    if (!rc) break;
    assert_int_equal(rc, HUBC_ENOMEM);
    assert_null(imp);
    assert_int_equal(al->live, live);
    tu_expect_dump(t, before, "a plan out of memory");
  }
  gc_defer(import_free, imp);
  hubc_import_summary p = summary(imp), w = summary(want);
  same_counts(p, w);
  rc = 1;
  for (size_t k = 1; rc; k++) {
    assert_true(k < 2000);
    al->fail_at = al->count + k;
    rc = hubc_import_commit(NULL, imp, p.to_set_marketing);
    al->fail_at = 0;
    if (!rc) break;
    assert_int_equal(rc, HUBC_ENOMEM);
    tu_expect_dump(t, before, "a commit out of memory");
  }
  assert_int_equal(hubc_import_commit(NULL, want, w.to_set_marketing), 0);
  tu_expect_same(gc_dump(s), gc_dump(t), "an import that ran out of memory first");
}

/* An allocator counting live bytes that can refuse the next new block
 * above a size. */
typedef struct big_alloc {
  tu_alloc base;
  size_t refuse_above; /* 0: none; reset by the refusal */
  size_t refused;
} big_alloc;

static void *big_alloc_fn(void *payload, void *ptr, size_t old_size, size_t new_size) {
  big_alloc *a = payload;
  if (a->refuse_above && !ptr && new_size > a->refuse_above) {
    a->refuse_above = 0;
    a->refused++;
    return NULL;
  }
  return tu_alloc_fn(&a->base, ptr, old_size, new_size);
}

/* The commit of a large import builds its records in one slab reserved for
 * them (huge pages); refused, it builds them in the usual slabs: the same
 * store either way, and closing the store gives every byte back. */
static void test_I8_records_slab_reserved_or_not_same_store(void **state) {
  (void)state;
  char *dumps[2];
  for (int refuse = 0; refuse < 2; refuse++) {
    tu_clock *clk = gc_malloc(malloc(sizeof *clk));
    clk->now = tu_time(2024, 3, 1, 10, 0, 0);
    big_alloc *al = gc_malloc(calloc(1, sizeof *al));
    hubc_store_options so;
    hubc_store_options_init(&so, HUBC_STORE_OPTIONS_VERSION);
    so.clock = tu_clock_fn;
    so.clock_payload = clk;
    so.admin_email = "admin@example.com";
    so.alloc = big_alloc_fn;
    so.alloc_payload = al;
    hubc_store *s;
    assert_int_equal(hubc_store_open(&s, &so), 0);
    assert_int_equal(hubc_property_define(s, 1, "notes", "Notes", HUBC_PROP_STRING, NULL, 0), 0);
    job *j = job_new(large_csv(40000)); /* its records: more than a slab of 1 MiB */
    j->o.set_marketing = 1;
    hubc_import *imp = NULL;
    assert_int_equal(hubc_import_plan(&imp, s, 1, &j->o), 0);
    al->refuse_above = refuse ? (1u << 20) + 64 : 0; /* the reserved slab: the commit's first block above that */
    assert_int_equal(hubc_import_commit(NULL, imp, summary(imp).to_set_marketing), 0);
    assert_int_equal(al->refused > 0, refuse);
    al->refuse_above = 0;
    hubc_import_free(imp);
    dumps[refuse] = gc_dump(s);
    hubc_store_close(s);
    assert_int_equal(al->base.live, 0);
  }
  tu_expect_same(dumps[0], dumps[1], "an import with and without its records' slab");
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(test_I7_plan_and_commit_agree_on_randomized_files, gc_teardown),
    cmocka_unit_test_teardown(test_C5_I4_create_only_refuses_every_row_of_an_existing_email, gc_teardown),
    cmocka_unit_test_teardown(test_C3_I4_commit_with_and_without_the_plans_email_findings_agree, gc_teardown),
    cmocka_unit_test_teardown(test_C4_I4_enumeration_values_in_many_spellings, gc_teardown),
    cmocka_unit_test_teardown(test_R2_I7_plan_and_commit_out_of_memory_at_every_allocation, gc_teardown),
    cmocka_unit_test_teardown(test_I8_records_slab_reserved_or_not_same_store, gc_teardown),
    cmocka_unit_test_teardown(test_I8_I9_commit_cancelled_mid_file_changes_nothing, gc_teardown),
    cmocka_unit_test_teardown(test_I8_persistence_failure_mid_file_changes_nothing, gc_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
