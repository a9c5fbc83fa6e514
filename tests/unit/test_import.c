/* CSV import (I1–I10): plan, confirm, commit, row errors, the error file,
 * limits, permissions, atomicity. Files come from a read callback over a
 * string (or a temporary file where the path matters). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hubcontacts.h"
#include "testutil.h"

/* ---- helpers ----------------------------------------------------------------- */

typedef struct src {
  const char *text;
  size_t len, at;
} src;

static int read_src(void *payload, char *buf, size_t cap, size_t *got) {
  src *s = payload;
  size_t n = s->len - s->at < cap ? s->len - s->at : cap;
  n = n > 7 ? n / 2 + 1 : n; /* short reads: the importer must loop */
  memcpy(buf, s->text + s->at, n);
  s->at += n;
  *got = n;
  return 0;
}

typedef struct job {
  hubc_import_options o;
  const char *names[2];
  hubc_read_fn fns[2];
  void *payloads[2];
  src srcs[2];
} job;

/* Options reading `csv` as file "contacts.csv" (and `csv2` as a second). */
static job *job_new(const char *csv, const char *csv2) {
  job *j = gc_malloc(calloc(1, sizeof *j));
  assert_int_equal(hubc_import_options_init(&j->o, HUBC_IMPORT_OPTIONS_VERSION), 0);
  j->names[0] = "contacts.csv";
  j->names[1] = "more.csv";
  for (int i = 0; i < 2; i++) {
    const char *t = i ? csv2 : csv;
    j->srcs[i] = (src){t, t ? strlen(t) : 0, 0};
    j->fns[i] = read_src;
    j->payloads[i] = &j->srcs[i];
  }
  j->o.files = j->names;
  j->o.n_files = csv2 ? 2 : 1;
  j->o.read = j->fns;
  j->o.read_payload = j->payloads;
  return j;
}

static void import_free(void *p) { hubc_import_free(p); }

static hubc_import *plan(hubc_store *s, hubc_id actor, job *j) {
  for (int i = 0; i < 2; i++) j->srcs[i].at = 0;
  hubc_import *imp = NULL;
  int rc = hubc_import_plan(&imp, s, actor, &j->o);
  if (rc) fail_msg("plan failed: %d %s", rc, hubc_error_last());
  gc_defer(import_free, imp);
  return imp;
}

static hubc_import_summary summary(const hubc_import *imp) {
  hubc_import_summary sum = {.version = HUBC_IMPORT_SUMMARY_VERSION};
  assert_int_equal(hubc_import_summary_get(imp, &sum), 0);
  return sum;
}

static hubc_import_error error_at(const hubc_import *imp, size_t i) {
  hubc_import_error e = {.version = HUBC_IMPORT_ERROR_VERSION};
  assert_int_equal(hubc_import_error_at(imp, i, &e), 0);
  return e;
}

static int status_of(hubc_store *s, const char *email) {
  hubc_contact *c;
  assert_int_equal(hubc_contact_get_by_email(&c, s, email), 0);
  int st = hubc_contact_status(c);
  hubc_contact_free(c);
  return st;
}

static char *prop_of(hubc_store *s, const char *email, const char *prop) {
  hubc_contact *c;
  assert_int_equal(hubc_contact_get_by_email(&c, s, email), 0);
  const char *v = hubc_contact_prop(c, prop);
  char *copy = gc_malloc(strdup(v ? v : "(unset)"));
  hubc_contact_free(c);
  return copy;
}

static hubc_id contact(hubc_store *s, const char *email, const char *city, int marketing) {
  hubc_id id = tu_contact(s, 1, email, "X");
  if (city) {
    const char *n[] = {"city"}, *v[] = {city};
    assert_int_equal(hubc_contact_update(s, 1, id, n, v, 1), 0);
  }
  if (marketing) assert_int_equal(hubc_contact_set_marketing(s, 1, id, HUBC_SOURCE_MANUAL, 1), 0);
  return id;
}


/* ---- I7: plan, then commit with the typed confirmation ----------------------- */

static const char *MIXED =
  "email,firstname,lifecyclestage\n"
  "a@x.it,Anna,lead\n"          /* existing, non-marketing: updated, set marketing */
  "c@x.it,Carla,subscriber\n"   /* new */
  " C@X.IT ,Carla2,\n"          /* the same email: merged */
  "not-an-email,Bad,\n";        /* skipped */

static void test_I7_plan_counts_and_changes_nothing(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 1, 10, 0, 0)};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  contact(s, "a@x.it", NULL, 0);
  contact(s, "b@x.it", NULL, 1);
  char *before = gc_dump(s);
  job *j = job_new(MIXED, NULL);
  j->o.set_marketing = 1;
  hubc_import *imp = plan(s, 1, j);
  hubc_import_summary sum = summary(imp);
  assert_int_equal(sum.rows, 4);
  assert_int_equal(sum.to_create, 1);
  assert_int_equal(sum.to_update, 1);
  assert_int_equal(sum.merged, 1);
  assert_int_equal(sum.skipped, 1);
  assert_int_equal(sum.to_set_marketing, 2);
  assert_int_equal(sum.billable_before, 1);
  assert_int_equal(sum.projected_billable, 3);
  assert_int_equal(sum.projected_tier, 1000);
  assert_int_equal(sum.over_cap, 0);
  assert_int_equal(sum.import_id, 0);
  tu_expect_dump(s, before, "a refused import");
}

static void test_I7_wrong_confirmation_refused_then_right_one_commits(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 1, 10, 0, 0)};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  contact(s, "a@x.it", NULL, 0);
  char *before = gc_dump(s);
  job *j = job_new(MIXED, NULL);
  j->o.set_marketing = 1;
  hubc_import *imp = plan(s, 1, j);
  hubc_id import_id = 0;
  assert_int_equal(hubc_import_commit(&import_id, imp, 3), HUBC_ECONFIRM);
  assert_non_null(strstr(hubc_error_last(), "2"));
  assert_int_equal(import_id, 0);
  tu_expect_dump(s, before, "a refused import");
  assert_int_equal(hubc_import_commit(&import_id, imp, 2), 0);
  assert_true(import_id > 0);
  assert_int_equal(status_of(s, "a@x.it"), HUBC_MARKETING);
  assert_int_equal(status_of(s, "c@x.it"), HUBC_MARKETING);
  assert_string_equal(prop_of(s, "c@x.it", "firstname"), "Carla2"); /* the later row's value */
  /* I10: the import id is the reason id of what it set marketing */
  hubc_contact *c;
  assert_int_equal(hubc_contact_get_by_email(&c, s, "c@x.it"), 0);
  int type;
  hubc_id rid;
  assert_int_equal(hubc_contact_reason(&type, &rid, c), 0);
  assert_int_equal(type, HUBC_SOURCE_IMPORT);
  assert_int_equal(rid, import_id);
  int src_type;
  hubc_id src_id;
  assert_int_equal(hubc_contact_source(&src_type, &src_id, c), 0);
  assert_int_equal(src_type, HUBC_SOURCE_IMPORT);
  assert_int_equal(src_id, import_id);
  hubc_contact_free(c);
  hubc_import_summary sum = summary(imp);
  assert_int_equal(sum.import_id, import_id);
  /* an import commits once */
  assert_int_equal(hubc_import_commit(NULL, imp, 2), HUBC_EINVAL);
  assert_non_null(strstr(hubc_error_last(), "already"));
}

static void test_I7_store_changed_since_plan_confirms_the_new_number(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 1, 10, 0, 0)};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  hubc_id a = contact(s, "a@x.it", NULL, 0);
  job *j = job_new("email\na@x.it\nz@x.it\n", NULL);
  j->o.set_marketing = 1;
  hubc_import *imp = plan(s, 1, j);
  assert_int_equal(summary(imp).to_set_marketing, 2);
  assert_int_equal(hubc_contact_set_marketing(s, 1, a, HUBC_SOURCE_MANUAL, 1), 0);
  char *before = gc_dump(s);
  assert_int_equal(hubc_import_commit(NULL, imp, 2), HUBC_ECONFIRM);
  assert_non_null(strstr(hubc_error_last(), "1"));
  tu_expect_dump(s, before, "a refused import");
  assert_int_equal(hubc_import_commit(NULL, imp, 1), 0);
  assert_int_equal(status_of(s, "z@x.it"), HUBC_MARKETING);
}

/* ---- I6, P2, I10: the marketing option ---------------------------------------- */

static void test_I6_marketing_only_for_one_file_of_contacts(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 1, 10, 0, 0)};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  char *before = gc_dump(s);
  hubc_import *imp = NULL;
  /* refused before any file is read: these paths do not exist */
  const char *paths[] = {"/nonexistent/a.csv", "/nonexistent/b.csv"};
  hubc_import_options o;
  hubc_import_options_init(&o, HUBC_IMPORT_OPTIONS_VERSION);
  o.files = paths;
  o.n_files = 2;
  o.set_marketing = 1;
  assert_int_equal(hubc_import_plan(&imp, s, 1, &o), HUBC_EINVAL);
  assert_non_null(strstr(hubc_error_last(), "I6"));
  assert_null(imp);
  o.n_files = 1;
  o.other_objects = 1;
  assert_int_equal(hubc_import_plan(&imp, s, 1, &o), HUBC_EINVAL);
  assert_non_null(strstr(hubc_error_last(), "other objects"));
  o.other_objects = 0;
  assert_int_equal(hubc_import_plan(&imp, s, 1, &o), HUBC_EIO); /* now it reads, and names the file */
  assert_non_null(strstr(hubc_error_last(), "/nonexistent/a.csv"));
  tu_expect_dump(s, before, "a refused import");
}

static void test_I6_P2_marketing_option_needs_marketing_access(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 1, 10, 0, 0)};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  hubc_id u;
  assert_int_equal(hubc_user_create(&u, s, 1, "importer@x.it"), 0);
  assert_int_equal(hubc_user_set_permissions(s, 1, u, HUBC_PERM_EDIT_CONTACTS | HUBC_PERM_IMPORT), 0);
  char *before = gc_dump(s);
  job *j = job_new("email\nn@x.it\n", NULL);
  j->o.set_marketing = 1;
  hubc_import *imp = NULL;
  assert_int_equal(hubc_import_plan(&imp, s, u, &j->o), HUBC_EPERM);
  assert_non_null(strstr(hubc_error_last(), "P2"));
  assert_null(imp);
  tu_expect_dump(s, before, "a refused import");
  /* P4: the same user imports without the option */
  j->o.set_marketing = 0;
  imp = plan(s, u, j);
  assert_int_equal(hubc_import_commit(NULL, imp, 0), 0);
  assert_int_equal(status_of(s, "n@x.it"), HUBC_NON_MARKETING);
  /* and a user without the import permission cannot import at all */
  assert_int_equal(hubc_user_set_permissions(s, 1, u, HUBC_PERM_EDIT_CONTACTS), 0);
  j->srcs[0].at = 0;
  assert_int_equal(hubc_import_plan(&imp, s, u, &j->o), HUBC_EPERM);
  assert_non_null(strstr(hubc_error_last(), "import"));
}

static void test_I6_applies_to_new_non_and_until_update_contacts(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 1, 10, 0, 0)};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  contact(s, "non@x.it", NULL, 0);
  hubc_id until = contact(s, "until@x.it", NULL, 1);
  assert_int_equal(hubc_contact_set_non_marketing(s, 1, until, HUBC_SOURCE_MANUAL, 1), 0);
  hubc_id mk = contact(s, "mk@x.it", NULL, 1);
  job *j = job_new("Email\nnon@x.it\nuntil@x.it\nmk@x.it\nnew@x.it\n", NULL);
  j->o.set_marketing = 1;
  hubc_import *imp = plan(s, 1, j);
  hubc_import_summary sum = summary(imp);
  assert_int_equal(sum.to_set_marketing, 3); /* not the one already marketing */
  assert_int_equal(sum.projected_billable, 4); /* 2 billable now + new + non */
  assert_int_equal(hubc_import_commit(NULL, imp, 3), 0);
  assert_int_equal(status_of(s, "until@x.it"), HUBC_MARKETING); /* the pending request is cancelled (M3) */
  hubc_contact *c;
  assert_int_equal(hubc_contact_get(&c, s, mk), 0);
  int type;
  hubc_id rid;
  assert_int_equal(hubc_contact_reason(&type, &rid, c), 0);
  assert_int_equal(type, HUBC_SOURCE_MANUAL); /* M3: keeps its original reason */
  hubc_contact_free(c);
}

static void test_I10_without_option_new_are_non_marketing_existing_keep_status(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 1, 10, 0, 0)};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  contact(s, "mk@x.it", NULL, 1);
  job *j = job_new("email,city\nmk@x.it,Roma\nnew@x.it,Milano\n", NULL);
  hubc_import *imp = plan(s, 1, j);
  assert_int_equal(summary(imp).to_set_marketing, 0);
  assert_int_equal(hubc_import_commit(NULL, imp, 0), 0);
  assert_int_equal(status_of(s, "mk@x.it"), HUBC_MARKETING);
  assert_int_equal(status_of(s, "new@x.it"), HUBC_NON_MARKETING);
  assert_string_equal(prop_of(s, "mk@x.it", "city"), "Roma");
}

/* ---- I4: matching and merging -------------------------------------------------- */

static void test_I4_match_by_record_id_and_unknown_id_is_a_row_error(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 1, 10, 0, 0)};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  hubc_id a = contact(s, "a@x.it", "Roma", 0);
  char csv[200];
  snprintf(csv, sizeof csv, "Record ID,City,Email\n%lld,Napoli,renamed@x.it\n999,Bari,\nabc,Pisa,\n", (long long)a);
  job *j = job_new(csv, NULL);
  hubc_import *imp = plan(s, 1, j);
  hubc_import_summary sum = summary(imp);
  assert_int_equal(sum.to_update, 1);
  assert_int_equal(sum.to_create, 0);
  assert_int_equal(sum.skipped, 2);
  assert_int_equal(hubc_import_error_count(imp), 2);
  hubc_import_error e = error_at(imp, 0);
  assert_int_equal(e.line, 3);
  assert_string_equal(e.column, "Record ID");
  assert_int_equal(e.code, HUBC_ENOTFOUND);
  assert_non_null(strstr(e.message, "999"));
  e = error_at(imp, 1);
  assert_int_equal(e.line, 4);
  assert_string_equal(e.column, "Record ID");
  assert_int_equal(e.code, HUBC_EINVAL);
  assert_int_equal(hubc_import_commit(NULL, imp, 0), 0);
  assert_string_equal(prop_of(s, "renamed@x.it", "city"), "Napoli");
}

static void test_I4_blank_cells_never_erase(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 1, 10, 0, 0)};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  contact(s, "a@x.it", "Roma", 0);
  job *j = job_new("email,city,firstname\na@x.it,,Anna\n", NULL);
  hubc_import *imp = plan(s, 1, j);
  assert_int_equal(hubc_import_commit(NULL, imp, 0), 0);
  assert_string_equal(prop_of(s, "a@x.it", "city"), "Roma");
  assert_string_equal(prop_of(s, "a@x.it", "firstname"), "Anna");
}

static void test_I4_lifecyclestage_never_moves_backwards(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 1, 10, 0, 0)};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  hubc_id a = contact(s, "a@x.it", NULL, 0);
  hubc_id b = contact(s, "b@x.it", NULL, 0);
  const char *n[] = {"lifecyclestage"}, *v[] = {"customer"};
  assert_int_equal(hubc_contact_update(s, 1, a, n, v, 1), 0);
  assert_int_equal(hubc_contact_update(s, 1, b, n, v, 1), 0);
  job *j = job_new("email,lifecyclestage\na@x.it,lead\nb@x.it,evangelist\n", NULL);
  hubc_import *imp = plan(s, 1, j);
  assert_int_equal(hubc_import_commit(NULL, imp, 0), 0);
  assert_string_equal(prop_of(s, "a@x.it", "lifecyclestage"), "customer");
  assert_string_equal(prop_of(s, "b@x.it", "lifecyclestage"), "evangelist");
}

static void test_I4_repeated_emails_merge_into_one_contact(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 1, 10, 0, 0)};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  job *j = job_new("email,city,firstname\nanna@x.it,Roma,\n ANNA@X.IT,,Anna\nAnna@x.it ,Milano,\n", NULL);
  hubc_import *imp = plan(s, 1, j);
  hubc_import_summary sum = summary(imp);
  assert_int_equal(sum.rows, 3);
  assert_int_equal(sum.to_create, 1);
  assert_int_equal(sum.merged, 2);
  assert_int_equal(hubc_import_commit(NULL, imp, 0), 0);
  uint64_t n;
  assert_int_equal(hubc_contact_count(&n, s), 0);
  assert_int_equal(n, 1);
  assert_string_equal(prop_of(s, "anna@x.it", "city"), "Milano");
  assert_string_equal(prop_of(s, "anna@x.it", "firstname"), "Anna");
}

static void test_I4_create_only_and_update_only_modes(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 1, 10, 0, 0)};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  contact(s, "old@x.it", "Roma", 0);
  job *j = job_new("email,city\nold@x.it,Bari\nnew@x.it,Pisa\n", NULL);
  j->o.mode = HUBC_IMPORT_CREATE_ONLY;
  hubc_import *imp = plan(s, 1, j);
  assert_int_equal(summary(imp).to_create, 1);
  assert_int_equal(summary(imp).to_update, 0);
  assert_int_equal(error_at(imp, 0).code, HUBC_EEXISTS);
  assert_int_equal(error_at(imp, 0).line, 2);
  j->o.mode = HUBC_IMPORT_UPDATE_ONLY;
  imp = plan(s, 1, j);
  assert_int_equal(summary(imp).to_create, 0);
  assert_int_equal(summary(imp).to_update, 1);
  assert_int_equal(error_at(imp, 0).code, HUBC_ENOTFOUND);
  assert_int_equal(error_at(imp, 0).line, 3);
  assert_int_equal(hubc_import_commit(NULL, imp, 0), 0);
  assert_string_equal(prop_of(s, "old@x.it", "city"), "Bari");
  hubc_id none;
  assert_int_equal(hubc_contact_find(&none, s, "new@x.it"), HUBC_ENOTFOUND);
}

/* ---- I2: mapping ---------------------------------------------------------------- */

static void test_I2_columns_map_by_name_or_label_case_insensitively(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 1, 10, 0, 0)};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  job *j = job_new("First Name,EMAIL,job title,Notes,\nAnna,a@x.it,CEO,likes tea,\n", NULL);
  hubc_import *imp = plan(s, 1, j);
  hubc_import_summary sum = summary(imp);
  assert_int_equal(sum.unmapped_columns, 2);
  assert_non_null(strstr(hubc_import_unmapped_at(imp, 0), "Notes"));
  assert_non_null(strstr(hubc_import_unmapped_at(imp, 1), "(blank)"));
  assert_null(hubc_import_unmapped_at(imp, 2));
  assert_int_equal(hubc_import_commit(NULL, imp, 0), 0);
  assert_string_equal(prop_of(s, "a@x.it", "firstname"), "Anna");
  assert_string_equal(prop_of(s, "a@x.it", "jobtitle"), "CEO");
}

static void test_I2_explicit_mapping(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 1, 10, 0, 0)};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  job *j = job_new("Mail,Town,City\na@x.it,Roma,ignored\n", NULL);
  const char *cols[] = {"mail", "Town", "City"}, *props[] = {"email", "city", ""};
  j->o.map_columns = cols;
  j->o.map_properties = props;
  j->o.n_map = 3;
  hubc_import *imp = plan(s, 1, j);
  assert_int_equal(summary(imp).unmapped_columns, 1);
  assert_int_equal(hubc_import_commit(NULL, imp, 0), 0);
  assert_string_equal(prop_of(s, "a@x.it", "city"), "Roma");
  /* a mapping to a property that does not exist is refused, naming it */
  props[1] = "town_name";
  hubc_import *bad = NULL;
  j->srcs[0].at = 0;
  assert_int_equal(hubc_import_plan(&bad, s, 1, &j->o), HUBC_ENOTFOUND);
  assert_non_null(strstr(hubc_error_last(), "town_name"));
  assert_null(bad);
}

static void test_I2_two_columns_for_one_property_refused(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 1, 10, 0, 0)};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  job *j = job_new("email,Email\na@x.it,b@x.it\n", NULL);
  hubc_import *imp = NULL;
  assert_int_equal(hubc_import_plan(&imp, s, 1, &j->o), HUBC_EINVAL);
  assert_non_null(strstr(hubc_error_last(), "columns 1 'email' and 2 'Email'"));
}

/* ---- I3: limits ------------------------------------------------------------------- */

static void test_I3_limits_checked_before_anything_changes(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 1, 10, 0, 0)};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  char *before = gc_dump(s);
  hubc_import *imp = NULL;
  job *j = job_new("email\na@x.it\nb@x.it\nc@x.it\n", NULL);
  j->o.max_rows = 2;
  assert_int_equal(hubc_import_plan(&imp, s, 1, &j->o), HUBC_ELIMIT);
  assert_non_null(strstr(hubc_error_last(), "2 data rows"));
  j->o.max_rows = 0;
  j->o.max_bytes = 10;
  j->srcs[0].at = 0;
  assert_int_equal(hubc_import_plan(&imp, s, 1, &j->o), HUBC_ELIMIT);
  assert_non_null(strstr(hubc_error_last(), "10 bytes"));
  /* columns: 999 are fine, 1,000 are not (I3: fewer than 1,000) */
  size_t cap = 1000 * 8 + 16;
  char *wide = gc_malloc(malloc(cap));
  for (int cols = 999; cols <= 1000; cols++) {
    size_t o = 0;
    for (int c = 0; c < cols; c++) o += (size_t)snprintf(wide + o, cap - o, c ? ",c%d" : "email", c);
    wide[o++] = '\n';
    wide[o] = '\0';
    job *w = job_new(wide, NULL);
    int rc = hubc_import_plan(&imp, s, 1, &w->o);
    if (cols == 999) {
      assert_int_equal(rc, 0);
      hubc_import_free(imp);
    } else {
      assert_int_equal(rc, HUBC_ELIMIT);
      assert_non_null(strstr(hubc_error_last(), "1000 columns"));
    }
  }
  tu_expect_dump(s, before, "a refused import");
}

/* ---- I1, I5: file errors and row errors -------------------------------------------- */

static void test_I1_file_errors_name_file_line_and_column(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 1, 10, 0, 0)};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  hubc_import *imp = NULL;
  job *j = job_new("email,city\na@x.it,\"Roma\nb@x.it,Bari\n", NULL);
  assert_int_equal(hubc_import_plan(&imp, s, 1, &j->o), HUBC_EINVAL);
  assert_non_null(strstr(hubc_error_last(), "contacts.csv"));
  assert_non_null(strstr(hubc_error_last(), "line 2, column 8"));
  j = job_new("", NULL);
  assert_int_equal(hubc_import_plan(&imp, s, 1, &j->o), HUBC_EINVAL);
  assert_non_null(strstr(hubc_error_last(), "empty"));
  assert_null(imp);
}

static void test_I5_bad_rows_skipped_with_line_column_and_error_file(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 1, 10, 0, 0)};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  const char *csv =
    "email,firstname,hs_email_optout,createdate\r\n"
    "a@x.it,\"Anna\nMaria\",false,\r\n" /* lines 2-3: fine */
    "b@x.it,Bea,maybe,\r\n"             /* line 4: bad bool */
    "c@x.it,Cy\r\n"                     /* line 5: ragged */
    "d@x.it,\"Di, \"\"D\"\"\",true,2024-01-01\r\n" /* line 6: read-only column */
    "e@@x.it,Ed,,\r\n";                 /* line 7: bad email */
  job *j = job_new(csv, NULL);
  hubc_import *imp = plan(s, 1, j);
  hubc_import_summary sum = summary(imp);
  assert_int_equal(sum.rows, 5);
  assert_int_equal(sum.to_create, 1);
  assert_int_equal(sum.skipped, 4);
  assert_int_equal(hubc_import_error_count(imp), 4);
  /* in file order, whether found reading or applying */
  hubc_import_error e = error_at(imp, 0);
  assert_int_equal(e.line, 4);
  assert_string_equal(e.column, "hs_email_optout");
  assert_int_equal(e.code, HUBC_EINVAL);
  assert_non_null(strstr(e.message, "maybe"));
  e = error_at(imp, 1);
  assert_int_equal(e.line, 5);
  assert_string_equal(e.column, "");
  assert_non_null(strstr(e.message, "2 fields"));
  e = error_at(imp, 2);
  assert_int_equal(e.line, 6);
  assert_string_equal(e.column, "createdate");
  assert_int_equal(e.code, HUBC_EREADONLY);
  e = error_at(imp, 3);
  assert_int_equal(e.line, 7);
  assert_string_equal(e.column, "email");
  hubc_import_error none = {.version = HUBC_IMPORT_ERROR_VERSION};
  assert_int_equal(hubc_import_error_at(imp, 4, &none), HUBC_ENOTFOUND);
  tu_buf *out = gc_buf();
  assert_int_equal(hubc_import_write_errors(imp, 0, tu_buf_write, out), 0);
  assert_string_equal(out->data,
                      "email,firstname,hs_email_optout,createdate,error_line,error_column,error\r\n"
                      "b@x.it,Bea,maybe,,4,hs_email_optout,property 'hs_email_optout': 'maybe' is not true or false\r\n"
                      "c@x.it,Cy,,,5,,the row has 2 fields; the header has 4 columns\r\n"
                      "d@x.it,\"Di, \"\"D\"\"\",true,2024-01-01,6,createdate,property 'createdate' is read-only; the "
                      "column must be blank or unmapped\r\n"
                      "e@@x.it,Ed,,,7,email,property 'email': 'e@@x.it' contains more than one '@'\r\n");
  assert_int_equal(hubc_import_commit(NULL, imp, 0), 0);
  assert_string_equal(prop_of(s, "a@x.it", "firstname"), "Anna\nMaria");
}

/* The (file, line) of every error, "f:l " each. */
static char *error_lines(const hubc_import *imp) {
  size_t n = hubc_import_error_count(imp);
  char *t = gc_malloc(calloc(1, 32 * n + 1));
  for (size_t i = 0, o = 0; i < n; i++) {
    hubc_import_error e = error_at(imp, i);
    o += (size_t)sprintf(t + o, "%zu:%llu ", e.file, (unsigned long long)e.line);
  }
  return t;
}

/* I5: errors found matching the rows name the rows' lines after quoted
 * line breaks, blank lines and rows skipped when reading, in each file
 * (the import keeps the lines that do not follow from the row before); the
 * plan (projected for one file, applied for two) and the commit agree. */
static void test_I5_match_error_lines_after_multiline_blank_and_skipped_rows(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 1, 10, 0, 0)};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  const char *csv = "email,firstname\n"
                    "a@x.it,Anna\n"          /* 2 */
                    "bad1,A\n"               /* 3: bad email */
                    "b@x.it,\"B\nB\nB\"\n"   /* 4-6 */
                    "bad2,B\n"               /* 7 */
                    "\n\n"                   /* 8, 9: blank lines */
                    "bad3,C\n"               /* 10 */
                    "c@x.it\n"               /* 11: ragged */
                    "bad4,D\n"               /* 12 */
                    "d@x.it,D\r\n"           /* 13 */
                    "bad5,E\r\n"             /* 14 */
                    ",\n"                    /* 15: empty row */
                    "bad6,F";                /* 16, no final line break */
  const char *want = "0:3 0:7 0:10 0:11 0:12 0:14 0:15 0:16 ";
  job *j = job_new(csv, NULL);
  hubc_import *imp = plan(s, 1, j);
  assert_string_equal(error_lines(imp), want);
  assert_int_equal(summary(imp).to_create, 3);
  job *j2 = job_new(csv, "Email\r\nbad7\r\n\"e@x.it\"\r\n\r\nbad8\r\n\"f\r\n@x.it\"\r\nbad9\r\n\"h\r@x.it\"\r\nbad10\r\n");
  hubc_import *imp2 = plan(s, 1, j2);
  const char *want2 = "0:3 0:7 0:10 0:11 0:12 0:14 0:15 0:16 1:2 1:5 1:6 1:8 1:9 1:11 "; /* a lone CR is a line break */
  assert_string_equal(error_lines(imp2), want2);
  assert_int_equal(hubc_import_commit(NULL, imp, 0), 0);
  assert_string_equal(error_lines(imp), want);
  assert_int_equal(hubc_import_commit(NULL, imp2, 0), 0);
  assert_string_equal(error_lines(imp2), want2);
  assert_string_equal(prop_of(s, "b@x.it", "firstname"), "B\nB\nB");
  assert_string_equal(prop_of(s, "e@x.it", "email"), "e@x.it");
}

/* I5: the same over 400 rows long enough for the 64-byte scan of packed
 * rows, with line feeds, CRLF and lone CRs inside quoted values, blank
 * lines and ragged rows: every error names the line the test counted. */
static void test_I5_error_lines_over_long_multiline_rows(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 1, 10, 0, 0)};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  static const char *const names[][2] = {/* the cell, the line breaks in it */
    {"A plain first name long enough to make the row pass sixty-four bytes", "0"},
    {"\"Multi\nline, and long enough to make the row pass sixty-four bytes\"", "1"},
    {"\"CR\r\nLF inside, and long enough to make the row pass sixty-four bytes\"", "1"},
    {"\"A lone\rCR inside, and long enough to make the row pass sixty-four bytes\"", "1"},
    {"\"Two\n\nbreaks\"", "2"},
    {"\"\r\"", "1"},
  };
  size_t cap = 64 * 1024, o = 0, wo = 0;
  char *csv = gc_malloc(malloc(cap)), *want = gc_malloc(malloc(cap));
  o += (size_t)snprintf(csv + o, cap - o, "email,firstname\n");
  unsigned line = 2;
  for (unsigned i = 0; i < 400; i++) {
    unsigned k = (i * 7 + i / 5) % 6, kind = (i * 13) % 11; /* kind 0, 1: bad email; 2: ragged */
    if (i % 23 == 5) o += (size_t)snprintf(csv + o, cap - o, i % 2 ? "\r\n" : "\n"), line++;
    if (kind == 2) o += (size_t)snprintf(csv + o, cap - o, "r%u@x.it,%s,extra\n", i, names[k][0]);
    else o += (size_t)snprintf(csv + o, cap - o, kind < 2 ? "bad%u,%s%s" : "ok%u@x.it,%s%s", i, names[k][0],
                               i % 3 ? "\n" : "\r\n");
    if (kind <= 2) wo += (size_t)snprintf(want + wo, cap - wo, "0:%u ", line);
    line += 1 + (unsigned)atoi(names[k][1]);
  }
  job *j = job_new(csv, NULL);
  hubc_import *imp = plan(s, 1, j);
  assert_string_equal(error_lines(imp), want);
  assert_int_equal(hubc_import_commit(NULL, imp, 0), 0);
  assert_string_equal(error_lines(imp), want);
}

static void test_I1_I3_files_by_path(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 1, 10, 0, 0)};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  char path[] = "/tmp/hubc-import-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  const char *csv = "\xEF\xBB\xBF" "email;city\r\na@x.it;Roma\r\nb@x.it;Bari";
  assert_int_equal(write(fd, csv, strlen(csv)), (ssize_t)strlen(csv));
  const char *files[] = {path};
  hubc_import_options o;
  hubc_import_options_init(&o, HUBC_IMPORT_OPTIONS_VERSION);
  o.files = files;
  o.n_files = 1;
  hubc_import *imp = NULL;
  assert_int_equal(hubc_import_plan(&imp, s, 1, &o), 0);
  gc_defer(import_free, imp);
  assert_int_equal(summary(imp).to_create, 2);
  assert_int_equal(hubc_import_commit(NULL, imp, 0), 0);
  assert_string_equal(prop_of(s, "b@x.it", "city"), "Bari");
  /* a file over the size limit is refused from its size, before reading:
   * a sparse 600 MB file costs no memory */
  assert_int_equal(ftruncate(fd, 600ll << 20), 0);
  close(fd);
  hubc_import *big = NULL;
  assert_int_equal(hubc_import_plan(&big, s, 1, &o), HUBC_ELIMIT);
  assert_non_null(strstr(hubc_error_last(), path));
  assert_non_null(strstr(hubc_error_last(), "536870912 bytes"));
  unlink(path);
  assert_int_equal(hubc_import_plan(&big, s, 1, &o), HUBC_EIO);
  assert_non_null(strstr(hubc_error_last(), "cannot be opened"));
  files[0] = "/tmp";
  assert_int_equal(hubc_import_plan(&big, s, 1, &o), HUBC_EIO);
  assert_non_null(strstr(hubc_error_last(), "directory"));
  assert_null(big);
}

/* ---- I8, I9: atomic, cancellable, with progress ------------------------------------- */

typedef struct prog_log {
  int calls, cancel_at;
  uint64_t last_bytes, total, rows;
  int phases_seen;
} prog_log;

static int on_progress(void *payload, const hubc_import_progress *p) {
  prog_log *l = payload;
  assert_int_equal(p->version, HUBC_IMPORT_PROGRESS_VERSION);
  assert_true(p->bytes_done <= p->bytes_total);
  l->calls++;
  l->total = p->bytes_total;
  l->rows = p->rows_done;
  l->phases_seen |= 1 << p->phase;
  return l->calls == l->cancel_at;
}

static char *big_csv(int rows) {
  size_t cap = (size_t)rows * 40 + 32;
  char *t = gc_malloc(malloc(cap));
  size_t o = (size_t)snprintf(t, cap, "email,city\n");
  for (int i = 0; i < rows; i++) o += (size_t)snprintf(t + o, cap - o, "p%d@x.it,\"Roma\n%d\"\n", i, i);
  return t;
}

static void test_I9_progress_reports_and_cancel_changes_nothing(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 1, 10, 0, 0)};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  char *csv = big_csv(10000);
  job *j = job_new(csv, NULL);
  prog_log log = {0};
  j->o.progress = on_progress;
  j->o.progress_payload = &log;
  hubc_import *imp = plan(s, 1, j);
  assert_int_equal(log.total, strlen(csv));
  assert_int_equal(log.rows, 10000);
  assert_int_equal(log.phases_seen, 1 << HUBC_IMPORT_PHASE_READ | 1 << HUBC_IMPORT_PHASE_CHECK | 1 << HUBC_IMPORT_PHASE_APPLY);
  int plan_calls = log.calls;
  char *before = gc_dump(s);
  /* cancel at several points of the commit: nothing changes each time */
  for (int at = 1; at <= 3; at++) {
    log.calls = 0;
    log.cancel_at = at;
    assert_int_equal(hubc_import_commit(NULL, imp, 0), HUBC_ECANCELED);
    tu_expect_dump(s, before, "a refused import");
  }
  /* and at several points of the plan */
  for (int at = 1; at <= plan_calls; at += plan_calls / 4 + 1) {
    log.calls = 0;
    log.cancel_at = at;
    hubc_import *x = NULL;
    j->srcs[0].at = 0;
    assert_int_equal(hubc_import_plan(&x, s, 1, &j->o), HUBC_ECANCELED);
    assert_null(x);
  }
  log.cancel_at = 0;
  assert_int_equal(hubc_import_commit(NULL, imp, 0), 0);
  uint64_t n;
  assert_int_equal(hubc_contact_count(&n, s), 0);
  assert_int_equal(n, 10000);
}

static void test_I8_persistence_failure_at_every_callback_changes_nothing(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 1, 10, 0, 0)};
  tu_mem *m = gc_mem();
  hubc_store *s = gc_store(tu_open(&clk, &m->vtable));
  contact(s, "a@x.it", NULL, 0);
  job *j = job_new(MIXED, NULL);
  j->o.set_marketing = 1;
  hubc_import *imp = plan(s, 1, j);
  char *before = gc_dump(s);
  int rc;
  long k = 1;
  for (;; k++) {
    m->fail_at = m->calls + k;
    m->fail_code = k % 2 ? -1 : HUBC_EAGAIN;
    rc = hubc_import_commit(NULL, imp, 2);
    if (rc == 0) break;
    assert_int_equal(rc, k % 2 ? HUBC_EPERSIST : HUBC_EAGAIN);
    tu_expect_dump(s, before, "a refused import");
  }
  assert_true(k > 3); /* begin, puts, commit: each failed once */
  m->fail_at = 0;
  /* what was committed is what a reopened store holds */
  char *after = gc_dump(s);
  hubc_store *again = gc_store(tu_open(&clk, &m->vtable));
  assert_string_equal(gc_dump(again), after);
}

static void test_B5_hard_cap_refuses_the_whole_import(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 1, 10, 0, 0)};
  hubc_store *s = tu_open_hard_cap(&clk, 2);
  contact(s, "a@x.it", NULL, 1);
  char *before = gc_dump(s);
  job *j = job_new("email\nb@x.it\nc@x.it\n", NULL);
  j->o.set_marketing = 1;
  hubc_import *imp = plan(s, 1, j);
  hubc_import_summary sum = summary(imp);
  assert_int_equal(sum.projected_billable, 3);
  assert_int_equal(sum.over_cap, 1);
  assert_int_equal(hubc_import_commit(NULL, imp, 2), HUBC_ELIMIT);
  assert_non_null(strstr(hubc_error_last(), "3"));
  tu_expect_dump(s, before, "a refused import");
}


/* ---- review: adversarial cases ------------------------------------------------- */

/* I7: a matched contact whose values are already so is "unchanged", not an
 * update: the plan's counts must say what the commit will change. */
static void test_I7_matched_contact_already_so_counts_as_unchanged(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 1, 10, 0, 0)};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  contact(s, "a@x.it", "Roma", 0);
  contact(s, "b@x.it", "Roma", 0);
  job *j = job_new("email,city\na@x.it,Roma\nb@x.it,Milano\n", NULL);
  hubc_import *imp = plan(s, 1, j);
  hubc_import_summary sum = summary(imp);
  assert_int_equal(sum.to_update, 1);
  assert_int_equal(sum.unchanged, 1);
  hubc_id id = 0;
  assert_int_equal(hubc_import_commit(&id, imp, 0), 0);
  sum = summary(imp);
  assert_int_equal(sum.to_update, 1);
  assert_int_equal(sum.unchanged, 1);
  hubc_import_record r = {.version = HUBC_IMPORT_RECORD_VERSION};
  assert_int_equal(hubc_import_record_get(s, id, &r), 0);
  assert_int_equal(r.updated, 1);
}

/* I1: a quoted field with a comma, a doubled quote and a line break that
 * straddles the reader's 1 MiB chunk boundary, from a file and a callback. */
static void test_I1_quoted_field_across_the_read_chunk_boundary(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 1, 10, 0, 0)};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  const size_t chunk = (size_t)1 << 20;
  const char *head = "email,city,note\n"; /* note is unmapped: the padding needs no value check */
  size_t pad = chunk - strlen(head) - strlen("a@x.it,") - 3; /* the quote opens 3 bytes before the edge */
  char *csv = gc_malloc(malloc(chunk * 2));
  size_t n = 0;
  n += (size_t)sprintf(csv + n, "%s", head);
  n += (size_t)sprintf(csv + n, "p@x.it,,");
  memset(csv + n, 'x', pad - strlen("p@x.it,,") - 1);
  n += pad - strlen("p@x.it,,") - 1;
  csv[n++] = '\n';
  n += (size_t)sprintf(csv + n, "a@x.it,\"Ro, \"\"ma\"\"\r\nsud\",\r\nb@x.it,Bari,\r\n");
  assert_true(n > chunk);
  assert_memory_equal(csv + chunk - 3, "\"Ro", 3);
  char path[] = "/tmp/hubc_review_chunkXXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, csv, n), (ssize_t)n);
  close(fd);
  for (int by_path = 0; by_path < 2; by_path++) {
    job *j = job_new(NULL, NULL);
    csv[n] = '\0';
    j->srcs[0] = (src){csv, n, 0};
    const char *files[] = {path};
    if (by_path) {
      j->o.files = files;
      j->o.read = NULL;
    }
    hubc_import *imp = plan(s, 1, j);
    hubc_import_summary sum = summary(imp);
    assert_int_equal(sum.rows, 3);
    assert_int_equal(sum.skipped, 0);
    assert_int_equal(sum.to_create, 3);
    assert_int_equal(hubc_import_commit(NULL, imp, 0), 0);
    assert_string_equal(prop_of(s, "a@x.it", "city"), "Ro, \"ma\"\r\nsud");
    assert_string_equal(prop_of(s, "b@x.it", "city"), "Bari");
    if (!by_path) { /* the second run updates nothing */
      hubc_store_close(s);
      gc_release(s);
      s = gc_store(tu_open(&clk, NULL));
    }
  }
  unlink(path);
}

/* R2/I10/F5: imports and submissions survive a reopen exactly. */
static void test_I10_F5_imports_and_submissions_survive_reopen(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 1, 10, 0, 0)};
  tu_mem *m = gc_mem();
  hubc_store *s = gc_store(tu_open(&clk, &m->vtable));
  contact(s, "a@x.it", NULL, 0);
  job *j = job_new("email,city\na@x.it,Roma\nn@x.it,\"Bari\nsud\"\nbad,x\n", NULL);
  j->o.set_marketing = 1;
  hubc_import *imp = plan(s, 1, j);
  assert_int_equal(hubc_import_commit(NULL, imp, 2), 0);
  const char *props[] = {"email", "city"};
  hubc_id form = 0;
  assert_int_equal(hubc_form_create(&form, s, 1, "F\xc3\xa9", props, NULL, NULL, 2), 0);
  const char *names[] = {"email", "city"}, *v1[] = {"z@x.it", "Roma"}, *v2[] = {"a@x.it", ""};
  assert_int_equal(hubc_form_submit(NULL, NULL, s, form, names, v1, 2), 0);
  const char *np[] = {"email", "firstname"};
  assert_int_equal(hubc_form_update(s, 1, form, "G", np, NULL, NULL, 2), 0);
  assert_int_equal(hubc_form_submit(NULL, NULL, s, form, names, v2, 2), HUBC_EINVAL); /* city left the form */
  assert_int_equal(hubc_form_submit(NULL, NULL, s, form, np, v2, 2), 0);
  char *want = gc_dump(s);
  hubc_store *again = gc_store(tu_open(&clk, &m->vtable));
  assert_string_equal(gc_dump(again), want);
  hubc_submission_iterator *it;
  assert_int_equal(hubc_submission_iterator_new(&it, again, form, 0, 0), 0);
  hubc_submission sub = {.version = HUBC_SUBMISSION_VERSION};
  assert_int_equal(hubc_submission_iterator_next(&sub, it), 0);
  assert_int_equal(sub.n, 1); /* the blank firstname is not recorded */
  assert_int_equal(hubc_submission_iterator_next(&sub, it), 0);
  assert_int_equal(sub.n, 2);
  assert_string_equal(sub.values[1], "Roma");
  assert_int_equal(hubc_submission_iterator_next(&sub, it), HUBC_ITEROVER);
  hubc_submission_iterator_free(it);
}


/* R4: a plan on a store closed while an iterator keeps its handle is an
 * error, and reads nothing of the freed store (the header mapping looked
 * up the freed schema without entering the store: AddressSanitizer). */
static void test_R4_plan_on_a_closed_store_is_an_error(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 1, 10, 0, 0)};
  hubc_store *s = tu_open(&clk, NULL);
  hubc_form_iterator *it;
  assert_int_equal(hubc_form_iterator_new(&it, s), 0);
  hubc_store_close(s);
  job *j = job_new("email,city\na@x.it,Roma\n", NULL);
  hubc_import *imp = NULL;
  assert_int_equal(hubc_import_plan(&imp, s, 1, &j->o), HUBC_EINVAL);
  assert_non_null(strstr(hubc_error_last(), "closed"));
  assert_null(imp);
  hubc_form_iterator_free(it);
}


/* R2/I5: a commit failing on memory at any allocation changes nothing and
 * leaves an import whose error file can still be written (a row error
 * half-copied when memory ran out held NULL fields). */
static void test_I5_commit_out_of_memory_then_error_file(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 1, 10, 0, 0)};
  static tu_alloc al; /* outlives the test: the teardown closes the store */
  al = (tu_alloc){0};
  hubc_store *s = gc_store(tu_open_alloc(&clk, &al, NULL));
  job *j = job_new("email,city,firstname\nnot-an-email,Roma,Anna\nb@x.it,Bari,Bea\n", NULL);
  hubc_import *imp = plan(s, 1, j);
  char *before = gc_dump(s);
  int rc = 1;
  for (size_t k = 1; rc && k < 200; k++) {
    al.fail_at = al.count + k;
    rc = hubc_import_commit(NULL, imp, 0);
    al.fail_at = 0;
    if (rc) {
      assert_int_equal(rc, HUBC_ENOMEM);
      tu_expect_dump(s, before, "an import out of memory");
    }
    tu_buf *b = gc_buf();
    assert_int_equal(hubc_import_write_errors(imp, 0, tu_buf_write, b), 0);
  }
  assert_int_equal(rc, 0);
}

/* ---- R4: arguments ------------------------------------------------------------------ */

static void test_R4_import_arguments(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 1, 10, 0, 0)};
  hubc_store *s = gc_store(tu_open(&clk, NULL));
  job *j = job_new("email\na@x.it\n", NULL);
  hubc_import *imp = NULL;
  assert_int_equal(hubc_import_plan(NULL, s, 1, &j->o), HUBC_EINVAL);
  assert_int_equal(hubc_import_plan(&imp, NULL, 1, &j->o), HUBC_EINVAL);
  assert_int_equal(hubc_import_plan(&imp, s, 1, NULL), HUBC_EINVAL);
  j->o.version = 99;
  assert_int_equal(hubc_import_plan(&imp, s, 1, &j->o), HUBC_EVERSION);
  j->o.version = HUBC_IMPORT_OPTIONS_VERSION;
  j->o.mode = 7;
  assert_int_equal(hubc_import_plan(&imp, s, 1, &j->o), HUBC_EINVAL);
  j->o.mode = 0;
  j->o.delimiter = '|';
  assert_int_equal(hubc_import_plan(&imp, s, 1, &j->o), HUBC_EINVAL);
  j->o.delimiter = 0;
  assert_int_equal(hubc_import_plan(&imp, s, 99, &j->o), HUBC_EPERM);
  assert_null(imp);
  assert_int_equal(hubc_import_commit(NULL, NULL, 0), HUBC_EINVAL);
  assert_int_equal(hubc_import_error_count(NULL), 0);
  assert_int_equal(hubc_error_last_code(), HUBC_EINVAL);
  assert_null(hubc_import_unmapped_at(NULL, 0));
  assert_int_equal(hubc_import_write_errors(NULL, 0, tu_buf_write, NULL), HUBC_EINVAL);
  hubc_import_free(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(test_I7_plan_counts_and_changes_nothing, gc_teardown),
    cmocka_unit_test_teardown(test_I7_wrong_confirmation_refused_then_right_one_commits, gc_teardown),
    cmocka_unit_test_teardown(test_I7_store_changed_since_plan_confirms_the_new_number, gc_teardown),
    cmocka_unit_test_teardown(test_I6_marketing_only_for_one_file_of_contacts, gc_teardown),
    cmocka_unit_test_teardown(test_I6_P2_marketing_option_needs_marketing_access, gc_teardown),
    cmocka_unit_test_teardown(test_I6_applies_to_new_non_and_until_update_contacts, gc_teardown),
    cmocka_unit_test_teardown(test_I10_without_option_new_are_non_marketing_existing_keep_status, gc_teardown),
    cmocka_unit_test_teardown(test_I4_match_by_record_id_and_unknown_id_is_a_row_error, gc_teardown),
    cmocka_unit_test_teardown(test_I4_blank_cells_never_erase, gc_teardown),
    cmocka_unit_test_teardown(test_I4_lifecyclestage_never_moves_backwards, gc_teardown),
    cmocka_unit_test_teardown(test_I4_repeated_emails_merge_into_one_contact, gc_teardown),
    cmocka_unit_test_teardown(test_I4_create_only_and_update_only_modes, gc_teardown),
    cmocka_unit_test_teardown(test_I2_columns_map_by_name_or_label_case_insensitively, gc_teardown),
    cmocka_unit_test_teardown(test_I2_explicit_mapping, gc_teardown),
    cmocka_unit_test_teardown(test_I2_two_columns_for_one_property_refused, gc_teardown),
    cmocka_unit_test_teardown(test_I3_limits_checked_before_anything_changes, gc_teardown),
    cmocka_unit_test_teardown(test_I1_file_errors_name_file_line_and_column, gc_teardown),
    cmocka_unit_test_teardown(test_I1_I3_files_by_path, gc_teardown),
    cmocka_unit_test_teardown(test_I5_bad_rows_skipped_with_line_column_and_error_file, gc_teardown),
    cmocka_unit_test_teardown(test_I5_match_error_lines_after_multiline_blank_and_skipped_rows, gc_teardown),
    cmocka_unit_test_teardown(test_I5_error_lines_over_long_multiline_rows, gc_teardown),
    cmocka_unit_test_teardown(test_I9_progress_reports_and_cancel_changes_nothing, gc_teardown),
    cmocka_unit_test_teardown(test_I8_persistence_failure_at_every_callback_changes_nothing, gc_teardown),
    cmocka_unit_test_teardown(test_B5_hard_cap_refuses_the_whole_import, gc_teardown),
    cmocka_unit_test_teardown(test_R4_import_arguments, gc_teardown),
    cmocka_unit_test_teardown(test_I7_matched_contact_already_so_counts_as_unchanged, gc_teardown),
    cmocka_unit_test_teardown(test_I1_quoted_field_across_the_read_chunk_boundary, gc_teardown),
    cmocka_unit_test_teardown(test_I10_F5_imports_and_submissions_survive_reopen, gc_teardown),
    cmocka_unit_test_teardown(test_R4_plan_on_a_closed_store_is_an_error, gc_teardown),
    cmocka_unit_test_teardown(test_I5_commit_out_of_memory_then_error_file, gc_teardown),
  };
  return cmocka_run_group_tests_name("import", tests, NULL, NULL);
}
