/* Contacts and the property schema: C1–C7, update semantics, snapshots,
 * property listing, iterators (M6, M8 selections) and the schema calls. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "testutil.h"

#define ADMIN ((hubc_id)1)

typedef struct fx {
  tu_clock clk;
  hubc_store *s;
} fx;

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  if (!f) return -1;
  f->clk.now = tu_time(2024, 3, 21, 10, 0, 0);
  f->s = tu_open(&f->clk, NULL);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  hubc_store_close(f->s);
  free(f);
  return 0;
}

/* ---- helpers ------------------------------------------------------------ */

/* rc must be `code`, the thread's message must contain `needle` (and be
 * non-empty), and the store must dump exactly as `before`. */
static void refused(hubc_store *s, int rc, int code, const char *needle, const char *before) {
  const char *msg = hubc_error_last();
  if (rc != code)
    fail_msg("expected %d (%s), got %d (%s): '%s'", code, hubc_strerror(code), rc, hubc_strerror(rc), msg);
  assert_int_equal(hubc_error_last_code(), code);
  assert_true(msg[0] != '\0');
  if (needle && !strstr(msg, needle)) fail_msg("error message '%s' does not name '%s'", msg, needle);
  if (before) {
    char *after = tu_dump(s);
    assert_string_equal(before, after);
    free(after);
  }
}

static void ok(int rc) {
  if (rc != 0) fail_msg("call failed: %d (%s): %s", rc, hubc_strerror(rc), hubc_error_last());
  assert_string_equal(hubc_error_last(), "");
}

static int create1(hubc_store *s, hubc_id *id, const char *name, const char *value) {
  const char *n[] = {name};
  const char *v[] = {value};
  return hubc_contact_create(id, s, ADMIN, NULL, n, v, 1);
}

static int create2(hubc_store *s, hubc_id *id, const char *n1, const char *v1, const char *n2, const char *v2) {
  const char *n[] = {n1, n2};
  const char *v[] = {v1, v2};
  return hubc_contact_create(id, s, ADMIN, NULL, n, v, 2);
}

static int update1(hubc_store *s, hubc_id id, const char *name, const char *value) {
  const char *n[] = {name};
  const char *v[] = {value};
  return hubc_contact_update(s, ADMIN, id, n, v, 1);
}

/* Value of a property of contact `id` (a copy; NULL when unset). */
static char *prop_of(hubc_store *s, hubc_id id, const char *name) {
  hubc_contact *c = NULL;
  ok(hubc_contact_get(&c, s, id));
  const char *v = hubc_contact_prop(c, name);
  char *copy = v ? strdup(v) : NULL;
  hubc_contact_free(c);
  return copy;
}

static void assert_prop(hubc_store *s, hubc_id id, const char *name, const char *want) {
  char *have = prop_of(s, id, name);
  if (!want) {
    if (have) fail_msg("contact %lld: %s = '%s', expected unset", (long long)id, name, have);
  } else {
    if (!have) fail_msg("contact %lld: %s is unset, expected '%s'", (long long)id, name, want);
    if (strcmp(have, want) != 0) fail_msg("contact %lld: %s = '%s', expected '%s'", (long long)id, name, have, want);
  }
  free(have);
}

/* Collects the ids an iterator yields (at most cap). */
static size_t collect(hubc_store *s, int select, hubc_id *ids, size_t cap) {
  hubc_contact_iterator *it = NULL;
  ok(hubc_contact_iterator_new(&it, s, select));
  size_t n = 0;
  hubc_id id;
  int rc;
  while ((rc = hubc_contact_iterator_next(&id, it)) == 0) {
    assert_true(n < cap);
    if (n) assert_true(id > ids[n - 1]); /* increasing, none twice */
    ids[n++] = id;
  }
  assert_int_equal(rc, HUBC_ITEROVER);
  /* stays exhausted */
  assert_int_equal(hubc_contact_iterator_next(&id, it), HUBC_ITEROVER);
  hubc_contact_iterator_free(it);
  return n;
}

static void assert_ids(hubc_store *s, int select, const hubc_id *want, size_t n_want) {
  hubc_id got[64];
  size_t n = collect(s, select, got, 64);
  if (n != n_want) fail_msg("selection %d: %zu contacts, expected %zu", select, n, n_want);
  for (size_t i = 0; i < n; i++) assert_int_equal(got[i], want[i]);
}

static void define(hubc_store *s, const char *name, const char *label, int type, const char *const *opts, size_t n) {
  ok(hubc_property_define(s, ADMIN, name, label, type, opts, n));
}

static const char *const tier_opts[] = {"gold", "silver", "bronze"};

/* score: number, vip: bool, met_at: datetime, level: enumeration, note: string */
static void define_typed(hubc_store *s) {
  define(s, "note", "Note", HUBC_PROP_STRING, NULL, 0);
  define(s, "score", "Score", HUBC_PROP_NUMBER, NULL, 0);
  define(s, "vip", "VIP", HUBC_PROP_BOOL, NULL, 0);
  define(s, "met_at", "Met At", HUBC_PROP_DATETIME, NULL, 0);
  define(s, "level", "Level", HUBC_PROP_ENUMERATION, tier_opts, 3);
}

static void accept_value(hubc_store *s, hubc_id id, const char *prop, const char *value) {
  int rc = update1(s, id, prop, value);
  if (rc) fail_msg("%s = '%s' refused: %s", prop, value, hubc_error_last());
  hubc_id nid = 0;
  rc = create2(s, &nid, "email", "accept@example.com", prop, value);
  if (rc) fail_msg("create with %s = '%s' refused: %s", prop, value, hubc_error_last());
  ok(hubc_contact_delete(s, ADMIN, nid));
}

/* A bad value is refused by create and by update, naming the property,
 * and changes nothing. */
static void refuse_value(hubc_store *s, hubc_id id, const char *prop, const char *value, int code) {
  char *before = tu_dump(s);
  hubc_id nid = 0;
  int rc = create2(s, &nid, "email", "refuse@example.com", prop, value);
  if (rc != code) fail_msg("create with %s = '%.40s' gave %d, expected %d", prop, value, rc, code);
  refused(s, rc, code, prop, before);
  rc = update1(s, id, prop, value);
  if (rc != code) fail_msg("update with %s = '%.40s' gave %d, expected %d", prop, value, rc, code);
  refused(s, rc, code, prop, before);
  free(before);
}

/* ---- C1: record ids ----------------------------------------------------- */

static void c1_ids_are_assigned_increasing_and_never_zero(void **state) {
  fx *f = *state;
  hubc_id prev = 0;
  for (int i = 0; i < 20; i++) {
    char email[64];
    snprintf(email, sizeof email, "c%d@example.com", i);
    hubc_id id = tu_contact(f->s, ADMIN, email, "x");
    assert_true(id > 0);
    assert_true(id > prev);
    prev = id;
    char want[32];
    snprintf(want, sizeof want, "%lld", (long long)id);
    assert_prop(f->s, id, "hs_object_id", want);
    hubc_contact *c = NULL;
    ok(hubc_contact_get(&c, f->s, id));
    assert_int_equal(hubc_contact_id(c), id);
    hubc_contact_free(c);
  }
  /* a contact without any property still gets an id */
  hubc_id bare = 0;
  ok(hubc_contact_create(&bare, f->s, ADMIN, NULL, NULL, NULL, 0));
  assert_true(bare > prev);
}

static void c1_ids_are_never_reused_after_deletes(void **state) {
  fx *f = *state;
  hubc_id a = tu_contact(f->s, ADMIN, "a@example.com", "A");
  hubc_id b = tu_contact(f->s, ADMIN, "b@example.com", "B");
  hubc_id c = tu_contact(f->s, ADMIN, "c@example.com", "C");
  ok(hubc_contact_delete(f->s, ADMIN, c)); /* the newest */
  ok(hubc_contact_delete(f->s, ADMIN, b));
  hubc_id d = tu_contact(f->s, ADMIN, "c@example.com", "C again");
  assert_true(d > c);
  ok(hubc_contact_delete(f->s, ADMIN, a));
  ok(hubc_contact_delete(f->s, ADMIN, d));
  hubc_id e = tu_contact(f->s, ADMIN, "a@example.com", "A again");
  assert_true(e > d);
  /* deleted ids stay gone */
  hubc_contact *snap = NULL;
  assert_int_equal(hubc_contact_get(&snap, f->s, a), HUBC_ENOTFOUND);
  assert_int_equal(hubc_contact_get(&snap, f->s, c), HUBC_ENOTFOUND);
  assert_null(snap);
}

static void c1_failed_creates_do_not_disturb_the_id_sequence(void **state) {
  fx *f = *state;
  hubc_id a = tu_contact(f->s, ADMIN, "a@example.com", "A");
  hubc_id ids[8] = {a};
  size_t n = 1;
  hubc_id junk = 0;
  /* invalid email, duplicate email, read-only property, unknown property */
  assert_int_equal(create1(f->s, &junk, "email", "not-an-email"), HUBC_EINVAL);
  ids[n++] = tu_contact(f->s, ADMIN, "b@example.com", "B");
  assert_int_equal(create1(f->s, &junk, "email", "A@example.com"), HUBC_EEXISTS);
  ids[n++] = tu_contact(f->s, ADMIN, "c@example.com", "C");
  assert_int_equal(create1(f->s, &junk, "hs_object_id", "99"), HUBC_EREADONLY);
  assert_int_equal(create1(f->s, &junk, "no_such_property", "x"), HUBC_ENOTFOUND);
  ids[n++] = tu_contact(f->s, ADMIN, "d@example.com", "D");
  for (size_t i = 1; i < n; i++) assert_true(ids[i] > ids[i - 1]);
  /* every id handed out belongs to exactly the contact it was given to */
  const char *emails[] = {"a@example.com", "b@example.com", "c@example.com", "d@example.com"};
  for (size_t i = 0; i < n; i++) {
    hubc_id found = 0;
    ok(hubc_contact_find(&found, f->s, emails[i]));
    assert_int_equal(found, ids[i]);
  }
  uint64_t count = 0;
  ok(hubc_contact_count(&count, f->s));
  assert_int_equal(count, 4);
}

/* ---- C2: schema --------------------------------------------------------- */

static void expect_property(hubc_store *s, const char *name, int type, unsigned must, unsigned must_not) {
  hubc_property_info info;
  memset(&info, 0, sizeof info);
  info.version = HUBC_PROPERTY_INFO_VERSION;
  int rc = hubc_property_find(&info, s, name);
  if (rc) fail_msg("built-in property '%s' missing: %s", name, hubc_error_last());
  assert_string_equal(info.name, name);
  assert_non_null(info.label);
  assert_true(info.label[0] != '\0');
  if (info.type != type) fail_msg("property '%s' has type %d, expected %d", name, info.type, type);
  if ((info.flags & must) != must) fail_msg("property '%s' flags 0x%x lack 0x%x", name, info.flags, must);
  if (info.flags & must_not) fail_msg("property '%s' flags 0x%x include 0x%x", name, info.flags, must_not);
}

static void c2_builtin_properties_are_in_the_schema_with_types(void **state) {
  fx *f = *state;
  const char *strings[] = {"email", "firstname", "lastname", "phone", "company", "city", "country", "jobtitle",
                           "website"};
  for (size_t i = 0; i < sizeof strings / sizeof *strings; i++)
    expect_property(f->s, strings[i], HUBC_PROP_STRING, HUBC_PROP_BUILTIN, HUBC_PROP_READONLY);
  expect_property(f->s, "lifecyclestage", HUBC_PROP_ENUMERATION, HUBC_PROP_BUILTIN, HUBC_PROP_READONLY);
  expect_property(f->s, "createdate", HUBC_PROP_DATETIME, HUBC_PROP_BUILTIN | HUBC_PROP_READONLY, 0);
  expect_property(f->s, "lastmodifieddate", HUBC_PROP_DATETIME, HUBC_PROP_BUILTIN | HUBC_PROP_READONLY, 0);
  expect_property(f->s, "hs_object_id", HUBC_PROP_NUMBER, HUBC_PROP_BUILTIN | HUBC_PROP_READONLY, 0);
  expect_property(f->s, "hs_marketable_status", HUBC_PROP_BOOL, HUBC_PROP_BUILTIN | HUBC_PROP_READONLY, 0);
  expect_property(f->s, "hs_marketable_until_renewal", HUBC_PROP_BOOL, HUBC_PROP_BUILTIN | HUBC_PROP_READONLY, 0);
  expect_property(f->s, "hs_email_optout", HUBC_PROP_BOOL, HUBC_PROP_BUILTIN, HUBC_PROP_READONLY);
  expect_property(f->s, "hs_email_hard_bounced", HUBC_PROP_BOOL, HUBC_PROP_BUILTIN, HUBC_PROP_READONLY);
  hubc_property_info info = {HUBC_PROPERTY_INFO_VERSION, 0, 0, 0, 0, 0, 0};
  ok(hubc_property_find(&info, f->s, "hs_marketable_reason_type"));
  assert_true(info.flags & HUBC_PROP_READONLY);
  ok(hubc_property_find(&info, f->s, "hs_marketable_reason_id"));
  assert_true(info.flags & HUBC_PROP_READONLY);

  /* lifecyclestage options, in the documented order */
  static const char *const stages[] = {"subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead",
                                       "opportunity", "customer", "evangelist", "other"};
  ok(hubc_property_find(&info, f->s, "lifecyclestage"));
  assert_int_equal(info.n_options, 8);
  for (size_t i = 0; i < 8; i++) assert_string_equal(info.options[i], stages[i]);
}

static void c2_lifecyclestage_takes_its_options_only(void **state) {
  fx *f = *state;
  static const char *const stages[] = {"subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead",
                                       "opportunity", "customer", "evangelist", "other"};
  hubc_id id = tu_contact(f->s, ADMIN, "life@example.com", "L");
  for (size_t i = 0; i < 8; i++) {
    ok(update1(f->s, id, "lifecyclestage", stages[i]));
    assert_prop(f->s, id, "lifecyclestage", stages[i]);
  }
  refuse_value(f->s, id, "lifecyclestage", "prospect", HUBC_EINVAL);
  refuse_value(f->s, id, "lifecyclestage", "lead ", HUBC_EINVAL);
  assert_prop(f->s, id, "lifecyclestage", "other");
}

static void c2_custom_properties_of_every_type_are_defined_and_used(void **state) {
  fx *f = *state;
  size_t before_n = 0, after_n = 0;
  ok(hubc_property_count(&before_n, f->s));
  define_typed(f->s);
  ok(hubc_property_count(&after_n, f->s));
  assert_int_equal(after_n, before_n + 5);

  struct { const char *name, *label; int type; } want[] = {
    {"note", "Note", HUBC_PROP_STRING},     {"score", "Score", HUBC_PROP_NUMBER},
    {"vip", "VIP", HUBC_PROP_BOOL},         {"met_at", "Met At", HUBC_PROP_DATETIME},
    {"level", "Level", HUBC_PROP_ENUMERATION}};
  for (size_t i = 0; i < 5; i++) {
    hubc_property_info info = {HUBC_PROPERTY_INFO_VERSION, 0, 0, 0, 0, 0, 0};
    ok(hubc_property_find(&info, f->s, want[i].name));
    assert_string_equal(info.name, want[i].name);
    assert_string_equal(info.label, want[i].label);
    assert_int_equal(info.type, want[i].type);
    assert_false(info.flags & (HUBC_PROP_BUILTIN | HUBC_PROP_READONLY | HUBC_PROP_COMPUTED));
    /* defined properties are appended */
    hubc_property_info at = {HUBC_PROPERTY_INFO_VERSION, 0, 0, 0, 0, 0, 0};
    ok(hubc_property_at(&at, f->s, before_n + i));
    assert_string_equal(at.name, want[i].name);
  }
  hubc_property_info info = {HUBC_PROPERTY_INFO_VERSION, 0, 0, 0, 0, 0, 0};
  ok(hubc_property_find(&info, f->s, "level"));
  assert_int_equal(info.n_options, 3);
  for (size_t i = 0; i < 3; i++) assert_string_equal(info.options[i], tier_opts[i]);

  const char *names[] = {"email", "note", "score", "vip", "met_at", "level"};
  const char *values[] = {"typed@example.com", "hello, world", "-12.5", "true", "2024-03-21T10:00:00Z", "silver"};
  hubc_id id = 0;
  ok(hubc_contact_create(&id, f->s, ADMIN, NULL, names, values, 6));
  for (size_t i = 1; i < 6; i++) assert_prop(f->s, id, names[i], values[i]);
}

static void c2_property_define_refuses_bad_definitions(void **state) {
  fx *f = *state;
  const char *const two[] = {"a", "b"};
  const char *const dup[] = {"a", "A"};
  const char *const empty_opt[] = {"a", ""};
  char *before = tu_dump(f->s);
  refused(f->s, hubc_property_define(f->s, ADMIN, "Bad Name", NULL, HUBC_PROP_STRING, NULL, 0), HUBC_EINVAL,
          "Bad Name", before);
  refused(f->s, hubc_property_define(f->s, ADMIN, "", NULL, HUBC_PROP_STRING, NULL, 0), HUBC_EINVAL, NULL, before);
  char longname[102];
  memset(longname, 'x', 101);
  longname[101] = '\0';
  refused(f->s, hubc_property_define(f->s, ADMIN, longname, NULL, HUBC_PROP_STRING, NULL, 0), HUBC_EINVAL, "100",
          before);
  refused(f->s, hubc_property_define(f->s, ADMIN, "email", NULL, HUBC_PROP_STRING, NULL, 0), HUBC_EEXISTS, "email",
          before);
  refused(f->s, hubc_property_define(f->s, ADMIN, "colour", NULL, 99, NULL, 0), HUBC_EINVAL, "colour", before);
  refused(f->s, hubc_property_define(f->s, ADMIN, "colour", NULL, -1, NULL, 0), HUBC_EINVAL, "colour", before);
  refused(f->s, hubc_property_define(f->s, ADMIN, "colour", NULL, HUBC_PROP_ENUMERATION, NULL, 0), HUBC_EINVAL,
          "colour", before);
  refused(f->s, hubc_property_define(f->s, ADMIN, "colour", NULL, HUBC_PROP_ENUMERATION, dup, 2), HUBC_EINVAL,
          "colour", before);
  refused(f->s, hubc_property_define(f->s, ADMIN, "colour", NULL, HUBC_PROP_ENUMERATION, empty_opt, 2),
          HUBC_EINVAL, "colour", before);
  refused(f->s, hubc_property_define(f->s, ADMIN, "colour", NULL, HUBC_PROP_STRING, two, 2), HUBC_EINVAL, "colour",
          before);
  /* a label already in use (a built-in's) */
  refused(f->s, hubc_property_define(f->s, ADMIN, "colour", "First Name", HUBC_PROP_STRING, NULL, 0), HUBC_EEXISTS,
          "First Name", before);
  /* configuration is changed by users only */
  refused(f->s, hubc_property_define(f->s, HUBC_SYSTEM, "colour", NULL, HUBC_PROP_STRING, NULL, 0), HUBC_EPERM, NULL,
          before);
  /* and the name is then usable once */
  define(f->s, "colour", NULL, HUBC_PROP_STRING, NULL, 0);
  free(before);
  before = tu_dump(f->s);
  refused(f->s, hubc_property_define(f->s, ADMIN, "colour", NULL, HUBC_PROP_NUMBER, NULL, 0), HUBC_EEXISTS, "colour",
          before);
  free(before);
}

static void c2_labels_are_accepted_as_property_names(void **state) {
  fx *f = *state;
  define(f->s, "shoe_size", "Shoe Size", HUBC_PROP_NUMBER, NULL, 0);
  const char *names[] = {"Email", "First Name", "last name", "JOB TITLE", "Shoe Size", "Lifecycle Stage"};
  const char *values[] = {"label@example.com", "Anna", "Rossi", "CTO", "38", "lead"};
  hubc_id id = 0;
  ok(hubc_contact_create(&id, f->s, ADMIN, NULL, names, values, 6));
  assert_prop(f->s, id, "email", "label@example.com");
  assert_prop(f->s, id, "firstname", "Anna");
  assert_prop(f->s, id, "lastname", "Rossi");
  assert_prop(f->s, id, "jobtitle", "CTO");
  assert_prop(f->s, id, "shoe_size", "38");
  assert_prop(f->s, id, "lifecyclestage", "lead");
  /* reading by label works too */
  hubc_contact *c = NULL;
  ok(hubc_contact_get(&c, f->s, id));
  assert_string_equal(hubc_contact_prop(c, "First Name"), "Anna");
  assert_null(hubc_contact_prop(c, "no such thing"));
  hubc_contact_free(c);
  /* update by label */
  ok(update1(f->s, id, "first name", "Anita"));
  assert_prop(f->s, id, "firstname", "Anita");
  /* find by label */
  hubc_property_info info = {HUBC_PROPERTY_INFO_VERSION, 0, 0, 0, 0, 0, 0};
  ok(hubc_property_find(&info, f->s, "first name"));
  assert_string_equal(info.name, "firstname");
  ok(hubc_property_find(&info, f->s, "Record ID"));
  assert_string_equal(info.name, "hs_object_id");
  /* a name and its label given together are the same property */
  const char *twice_n[] = {"firstname", "First Name"};
  const char *twice_v[] = {"A", "B"};
  char *before = tu_dump(f->s);
  refused(f->s, hubc_contact_update(f->s, ADMIN, id, twice_n, twice_v, 2), HUBC_EINVAL, "firstname", before);
  free(before);
}

static void c2_property_count_at_and_find_agree(void **state) {
  fx *f = *state;
  define_typed(f->s);
  size_t n = 0;
  ok(hubc_property_count(&n, f->s));
  assert_true(n >= 19 + 5);
  for (size_t i = 0; i < n; i++) {
    hubc_property_info at = {HUBC_PROPERTY_INFO_VERSION, 0, 0, 0, 0, 0, 0};
    ok(hubc_property_at(&at, f->s, i));
    assert_non_null(at.name);
    hubc_property_info by_name = {HUBC_PROPERTY_INFO_VERSION, 0, 0, 0, 0, 0, 0};
    ok(hubc_property_find(&by_name, f->s, at.name));
    assert_string_equal(by_name.name, at.name);
    assert_int_equal(by_name.type, at.type);
    assert_int_equal(by_name.flags, at.flags);
    hubc_property_info by_label = {HUBC_PROPERTY_INFO_VERSION, 0, 0, 0, 0, 0, 0};
    ok(hubc_property_find(&by_label, f->s, at.label));
    assert_string_equal(by_label.name, at.name);
    if (at.type == HUBC_PROP_ENUMERATION) assert_true(at.n_options > 0);
    else assert_int_equal(at.n_options, 0);
  }
  hubc_property_info past = {HUBC_PROPERTY_INFO_VERSION, 0, 0, 0, 0, 0, 0};
  refused(f->s, hubc_property_at(&past, f->s, n), HUBC_ENOTFOUND, NULL, NULL);
  refused(f->s, hubc_property_find(&past, f->s, "nope_nope"), HUBC_ENOTFOUND, "nope_nope", NULL);
}

/* ---- C3: email ---------------------------------------------------------- */

static void c3_email_is_case_insensitive_and_trimmed(void **state) {
  fx *f = *state;
  hubc_id anna = tu_contact(f->s, ADMIN, "Anna@Example.com", "Anna");
  const char *variants[] = {" anna@example.com", "anna@example.com", "ANNA@EXAMPLE.COM", "\tAnna@Example.Com \n",
                            "  aNNa@exAmple.com  "};
  for (size_t i = 0; i < sizeof variants / sizeof *variants; i++) {
    hubc_id id = 0;
    ok(hubc_contact_find(&id, f->s, variants[i]));
    assert_int_equal(id, anna);
    hubc_contact *c = NULL;
    ok(hubc_contact_get_by_email(&c, f->s, variants[i]));
    assert_int_equal(hubc_contact_id(c), anna);
    assert_string_equal(hubc_contact_prop(c, "firstname"), "Anna");
    hubc_contact_free(c);
    char *before = tu_dump(f->s);
    hubc_id dup = 0;
    refused(f->s, create1(f->s, &dup, "email", variants[i]), HUBC_EEXISTS, NULL, before);
    free(before);
  }
  /* the stored email compares equal to the canonical form */
  char *stored = prop_of(f->s, anna, "email");
  assert_non_null(stored);
  assert_int_equal(strcasecmp(stored, "anna@example.com"), 0);
  free(stored);
  /* a different address is a different contact */
  hubc_id other = tu_contact(f->s, ADMIN, "anna@example.org", "Other");
  assert_true(other != anna);
}

static void c3_email_syntax_is_validated(void **state) {
  fx *f = *state;
  hubc_id id = tu_contact(f->s, ADMIN, "valid@example.com", "V");
  const char *bad[] = {
    "   ",                    /* only spaces */
    "anna",                   /* no @ */
    "anna.example.com",       /* no @ */
    "@example.com",           /* empty local part */
    "anna@@example.com",      /* two @ */
    "an@na@example.com",      /* two @ */
    "anna@example",           /* domain without a dot */
    "anna@",                  /* no domain */
    "an na@example.com",      /* inner space */
    "anna@exa mple.com",      /* inner space */
    "anna@exa\tmple.com",     /* control character */
    "an\x01na@example.com",   /* control character */
    "anna@example.com\x7f",   /* DEL */
    "anna\r\n@example.com",   /* CR LF inside */
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char *before = tu_dump(f->s);
    hubc_id nid = 0;
    int rc = create1(f->s, &nid, "email", bad[i]);
    if (rc != HUBC_EINVAL) fail_msg("email '%s' gave %d, expected EINVAL", bad[i], rc);
    refused(f->s, rc, HUBC_EINVAL, "email", before);
    refused(f->s, update1(f->s, id, "email", bad[i]), HUBC_EINVAL, "email", before);
    /* lookups refuse it too, and say why */
    hubc_id found = 0;
    refused(f->s, hubc_contact_find(&found, f->s, bad[i]), HUBC_EINVAL, NULL, before);
    free(before);
  }
  assert_prop(f->s, id, "email", "valid@example.com");
  /* valid shapes */
  const char *good[] = {"a@b.co", "first.last+tag@sub.example.co.uk", "x_y-z@example-domain.com"};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
    hubc_id nid = 0;
    int rc = create1(f->s, &nid, "email", good[i]);
    if (rc) fail_msg("email '%s' refused: %s", good[i], hubc_error_last());
  }
}

static void c3_email_of_254_bytes_is_accepted_and_255_refused(void **state) {
  fx *f = *state;
  const char *domain = "@example.com";
  char e254[256], e255[257];
  size_t local = 254 - strlen(domain);
  memset(e254, 'a', local);
  strcpy(e254 + local, domain);
  assert_int_equal(strlen(e254), 254);
  memset(e255, 'b', local + 1);
  strcpy(e255 + local + 1, domain);
  assert_int_equal(strlen(e255), 255);

  hubc_id id = 0;
  ok(create1(f->s, &id, "email", e254));
  hubc_id found = 0;
  ok(hubc_contact_find(&found, f->s, e254));
  assert_int_equal(found, id);

  char *before = tu_dump(f->s);
  hubc_id nid = 0;
  refused(f->s, create1(f->s, &nid, "email", e255), HUBC_EINVAL, "254", before);
  refused(f->s, update1(f->s, id, "email", e255), HUBC_EINVAL, "254", before);
  free(before);

  /* surrounding white space does not count */
  char padded[300];
  snprintf(padded, sizeof padded, "  %s\t", e254);
  ok(hubc_contact_find(&found, f->s, padded));
  assert_int_equal(found, id);
}

static void c3_email_stays_unique_through_updates(void **state) {
  fx *f = *state;
  for (int i = 0; i < 40; i++) { /* two-digit ids, so the id in a message is not a stray digit */
    char e[32];
    snprintf(e, sizeof e, "filler%d@example.com", i);
    tu_contact(f->s, ADMIN, e, "F");
  }
  hubc_id a = tu_contact(f->s, ADMIN, "a@example.com", "A");
  hubc_id b = tu_contact(f->s, ADMIN, "b@example.com", "B");
  char *before = tu_dump(f->s);
  char id_text[32];
  snprintf(id_text, sizeof id_text, "%lld", (long long)a);
  refused(f->s, update1(f->s, b, "email", " A@EXAMPLE.com "), HUBC_EEXISTS, id_text, before);
  free(before);
  /* changing one's own email's case is not a conflict */
  ok(update1(f->s, a, "email", "A@Example.COM"));
  hubc_id found = 0;
  ok(hubc_contact_find(&found, f->s, "a@example.com"));
  assert_int_equal(found, a);
  /* moving an email frees the old one and takes the new one at once */
  ok(update1(f->s, a, "email", "a2@example.com"));
  assert_int_equal(hubc_contact_find(&found, f->s, "a@example.com"), HUBC_ENOTFOUND);
  ok(hubc_contact_find(&found, f->s, "a2@example.com"));
  assert_int_equal(found, a);
  ok(update1(f->s, b, "email", "a@example.com"));
  ok(hubc_contact_find(&found, f->s, "A@example.com"));
  assert_int_equal(found, b);
  /* email is optional: removing it leaves the contact without one */
  ok(update1(f->s, b, "email", NULL));
  assert_prop(f->s, b, "email", NULL);
  assert_int_equal(hubc_contact_find(&found, f->s, "a@example.com"), HUBC_ENOTFOUND);
  hubc_id c = tu_contact(f->s, ADMIN, "a@example.com", "C");
  assert_true(c > b);
}

/* ---- C4: typed values --------------------------------------------------- */

static void c4_numbers_are_validated(void **state) {
  fx *f = *state;
  define_typed(f->s);
  hubc_id id = tu_contact(f->s, ADMIN, "n@example.com", "N");
  const char *good[] = {"0", "42", "-12", "3.5", "-0.25", "1e6", "1E-3", "2.5e+3"};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
    accept_value(f->s, id, "score", good[i]);
    assert_prop(f->s, id, "score", good[i]);
  }
  const char *bad[] = {"1,5", "abc", "inf", "-inf", "nan", "Infinity", "0x10", "1e", "-", ".", "1.2.3",
                       " 1", "1 ", "12abc", "--1"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) refuse_value(f->s, id, "score", bad[i], HUBC_EINVAL);
  assert_prop(f->s, id, "score", "2.5e+3");
}

static void c4_bools_are_validated(void **state) {
  fx *f = *state;
  define_typed(f->s);
  hubc_id id = tu_contact(f->s, ADMIN, "b@example.com", "B");
  accept_value(f->s, id, "vip", "true");
  assert_prop(f->s, id, "vip", "true");
  accept_value(f->s, id, "vip", "false");
  assert_prop(f->s, id, "vip", "false");
  accept_value(f->s, id, "vip", "TRUE");
  char *v = prop_of(f->s, id, "vip");
  assert_non_null(v);
  assert_int_equal(strcasecmp(v, "true"), 0);
  free(v);
  const char *bad[] = {"yes", "no", "1", "0", "t", "truee", " true", "on"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) refuse_value(f->s, id, "vip", bad[i], HUBC_EINVAL);
  /* the built-in consent flags are bools too */
  refuse_value(f->s, id, "hs_email_optout", "maybe", HUBC_EINVAL);
  accept_value(f->s, id, "hs_email_optout", "true");
}

static void c4_datetimes_are_iso_8601(void **state) {
  fx *f = *state;
  define_typed(f->s);
  hubc_id id = tu_contact(f->s, ADMIN, "d@example.com", "D");
  const char *good[] = {"2024-03-21", "2024-03-21T10:00:00Z", "2024-03-21T10:00:00+02:00",
                        "2024-03-21T10:00:00-05:30", "2024-02-29", "2000-02-29", "2024-12-31T23:59:59Z",
                        "2024-03-21T10:00:00.250Z"};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
    accept_value(f->s, id, "met_at", good[i]);
    assert_prop(f->s, id, "met_at", good[i]);
  }
  const char *bad[] = {"2024-02-30", "21/03/2024", "2023-02-29", "1900-02-29", "2024-13-01", "2024-00-10",
                       "2024-03-32", "2024-04-31", "2024-3-21",  "2024-03-21T25:00:00Z", "2024-03-21T10:61:00Z",
                       "yesterday",  "2024-03-21 garbage", "2024-03-21T10:00:00+2", "2024-03-21T", "03/21/2024"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) refuse_value(f->s, id, "met_at", bad[i], HUBC_EINVAL);
}

static void c4_enumerations_take_their_options(void **state) {
  fx *f = *state;
  define_typed(f->s);
  hubc_id id = tu_contact(f->s, ADMIN, "e@example.com", "E");
  for (size_t i = 0; i < 3; i++) {
    accept_value(f->s, id, "level", tier_opts[i]);
    assert_prop(f->s, id, "level", tier_opts[i]);
  }
  refuse_value(f->s, id, "level", "platinum", HUBC_EINVAL);
  refuse_value(f->s, id, "level", "gold,silver", HUBC_EINVAL);
  /* given by its label, the message still names the property */
  char *before = tu_dump(f->s);
  refused(f->s, update1(f->s, id, "Level", "copper"), HUBC_EINVAL, "level", before);
  free(before);
}

static void c4_invalid_utf8_is_refused(void **state) {
  fx *f = *state;
  define_typed(f->s);
  hubc_id id = tu_contact(f->s, ADMIN, "u@example.com", "U");
  const char *bad[] = {
    "\xC0\xAF",             /* overlong '/' */
    "\xE0\x80\xAF",         /* overlong, 3 bytes */
    "\xF0\x80\x80\xAF",     /* overlong, 4 bytes */
    "\xED\xA0\x80",         /* high surrogate U+D800 */
    "\xED\xBF\xBF",         /* low surrogate U+DFFF */
    "\xE2\x82",             /* truncated € */
    "abc\xE2",              /* truncated at the end */
    "\x80",                 /* lone continuation byte */
    "\xF4\x90\x80\x80",     /* above U+10FFFF */
    "\xF8\x88\x80\x80\x80", /* 5-byte form */
    "\xFF",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    refuse_value(f->s, id, "firstname", bad[i], HUBC_EINVAL);
    refuse_value(f->s, id, "note", bad[i], HUBC_EINVAL);
  }
  /* and in the email */
  char *before = tu_dump(f->s);
  hubc_id nid = 0;
  refused(f->s, create1(f->s, &nid, "email", "j\xC3@example.com"), HUBC_EINVAL, "email", before);
  free(before);
  /* valid multi-byte text round-trips */
  const char *good = "Zo\xC3\xAB \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80 \xE2\x82\xAC";
  accept_value(f->s, id, "firstname", good);
  assert_prop(f->s, id, "firstname", good);
}

static void c4_value_of_65536_bytes_is_accepted_and_65537_refused(void **state) {
  fx *f = *state;
  define_typed(f->s);
  hubc_id id = tu_contact(f->s, ADMIN, "big@example.com", "B");
  char *v = malloc(HUBC_MAX_VALUE_BYTES + 2);
  assert_non_null(v);
  memset(v, 'x', HUBC_MAX_VALUE_BYTES);
  v[HUBC_MAX_VALUE_BYTES] = '\0';
  assert_int_equal(HUBC_MAX_VALUE_BYTES, 65536);
  ok(update1(f->s, id, "note", v));
  char *have = prop_of(f->s, id, "note");
  assert_non_null(have);
  assert_int_equal(strlen(have), 65536);
  free(have);
  hubc_id nid = 0;
  ok(create2(f->s, &nid, "email", "big2@example.com", "firstname", v));

  v[HUBC_MAX_VALUE_BYTES] = 'y';
  v[HUBC_MAX_VALUE_BYTES + 1] = '\0';
  refuse_value(f->s, id, "note", v, HUBC_ELIMIT);
  refuse_value(f->s, id, "firstname", v, HUBC_ELIMIT);
  char *before = tu_dump(f->s);
  refused(f->s, update1(f->s, id, "note", v), HUBC_ELIMIT, "65536", before);
  free(before);
  free(v);
}

static void c4_more_than_1000_properties_are_refused(void **state) {
  fx *f = *state;
  enum { N = HUBC_MAX_CONTACT_PROPERTIES + 1 };
  assert_int_equal(HUBC_MAX_CONTACT_PROPERTIES, 1000);
  char(*names)[16] = calloc(N, sizeof *names);
  const char **np = calloc(N, sizeof *np);
  const char **vp = calloc(N, sizeof *vp);
  assert_non_null(names);
  assert_non_null(np);
  assert_non_null(vp);
  for (int i = 0; i < N; i++) {
    snprintf(names[i], sizeof names[i], "p%04d", i);
    ok(hubc_property_define(f->s, ADMIN, names[i], NULL, HUBC_PROP_STRING, NULL, 0));
    np[i] = names[i];
    vp[i] = "v";
  }
  /* 1,001 values in one call */
  char *before = tu_dump(f->s);
  hubc_id id = 0;
  refused(f->s, hubc_contact_create(&id, f->s, ADMIN, NULL, np, vp, N), HUBC_ELIMIT, "1000", before);
  free(before);
  /* exactly 1,000 is fine */
  ok(hubc_contact_create(&id, f->s, ADMIN, NULL, np, vp, N - 1));
  hubc_contact *c = NULL;
  ok(hubc_contact_get(&c, f->s, id));
  assert_int_equal(hubc_contact_prop_count(c), 1000 + 5); /* + computed (non-marketing) */
  hubc_contact_free(c);
  /* a 1,001st property on the contact */
  before = tu_dump(f->s);
  refused(f->s, update1(f->s, id, names[N - 1], "v"), HUBC_ELIMIT, "1000", before);
  refused(f->s, update1(f->s, id, "email", "full@example.com"), HUBC_ELIMIT, "1000", before);
  free(before);
  /* replacing values keeps the count: allowed */
  ok(update1(f->s, id, names[0], "changed"));
  /* one out, one in: allowed */
  const char *swap_n[] = {names[1], names[N - 1]};
  const char *swap_v[] = {NULL, "in"};
  ok(hubc_contact_update(f->s, ADMIN, id, swap_n, swap_v, 2));
  assert_prop(f->s, id, names[1], NULL);
  assert_prop(f->s, id, names[N - 1], "in");
  free(names);
  free(np);
  free(vp);
}

static void c4_unknown_and_repeated_properties_are_refused(void **state) {
  fx *f = *state;
  hubc_id id = tu_contact(f->s, ADMIN, "k@example.com", "K");
  char *before = tu_dump(f->s);
  hubc_id nid = 0;
  refused(f->s, create2(f->s, &nid, "email", "new@example.com", "favourite_colour", "red"), HUBC_ENOTFOUND,
          "favourite_colour", before);
  refused(f->s, update1(f->s, id, "favourite_colour", "red"), HUBC_ENOTFOUND, "favourite_colour", before);
  refused(f->s, create2(f->s, &nid, "city", "Roma", "city", "Milano"), HUBC_EINVAL, "city", before);
  /* a good value then a bad one: the good one is not applied either */
  const char *n[] = {"city", "lifecyclestage"};
  const char *v[] = {"Roma", "nonsense"};
  refused(f->s, hubc_contact_update(f->s, ADMIN, id, n, v, 2), HUBC_EINVAL, "lifecyclestage", before);
  refused(f->s, hubc_contact_create(&nid, f->s, ADMIN, NULL, n, v, 2), HUBC_EINVAL, "lifecyclestage", before);
  free(before);
  assert_prop(f->s, id, "city", NULL);
}

/* ---- C5 ----------------------------------------------------------------- */

static void c5_manual_create_with_existing_email_names_the_record(void **state) {
  fx *f = *state;
  for (int i = 0; i < 40; i++) {
    char e[32];
    snprintf(e, sizeof e, "filler%d@example.com", i);
    tu_contact(f->s, ADMIN, e, "F");
  }
  tu_contact(f->s, ADMIN, "first@example.com", "First");
  hubc_id existing = tu_contact(f->s, ADMIN, "anna@example.com", "Anna");
  tu_contact(f->s, ADMIN, "last@example.com", "Last");
  char id_text[32];
  snprintf(id_text, sizeof id_text, "%lld", (long long)existing);
  char *before = tu_dump(f->s);
  hubc_id nid = 0;
  refused(f->s, create2(f->s, &nid, "email", "Anna@Example.com", "firstname", "Other"), HUBC_EEXISTS, id_text,
          before);
  hubc_create_options o = HUBC_CREATE_OPTIONS_INIT;
  o.marketing = 1;
  refused(f->s, create1(f->s, &nid, "email", " anna@example.com"), HUBC_EEXISTS, id_text, before);
  const char *n[] = {"email"};
  const char *v[] = {"ANNA@example.com"};
  refused(f->s, hubc_contact_create(&nid, f->s, ADMIN, &o, n, v, 1), HUBC_EEXISTS, id_text, before);
  free(before);
  assert_prop(f->s, existing, "firstname", "Anna");
}

/* ---- C6 ----------------------------------------------------------------- */

static void c6_read_only_properties_are_refused_by_create_and_update(void **state) {
  fx *f = *state;
  hubc_id id = tu_contact(f->s, ADMIN, "ro@example.com", "RO");
  ok(hubc_contact_set_marketing(f->s, ADMIN, id, HUBC_SOURCE_MANUAL, ADMIN));
  const char *ro[] = {"hs_object_id", "createdate", "lastmodifieddate", "hs_marketable_status",
                      "hs_marketable_until_renewal", "hs_marketable_reason_type", "hs_marketable_reason_id"};
  const char *vals[] = {"99", "2024-01-01", "2024-01-01", "false", "true", "FORM", "7"};
  for (size_t i = 0; i < sizeof ro / sizeof *ro; i++) {
    char *before = tu_dump(f->s);
    hubc_id nid = 0;
    refused(f->s, create2(f->s, &nid, "email", "new@example.com", ro[i], vals[i]), HUBC_EREADONLY, ro[i], before);
    refused(f->s, update1(f->s, id, ro[i], vals[i]), HUBC_EREADONLY, ro[i], before);
    /* removing is writing too */
    refused(f->s, update1(f->s, id, ro[i], NULL), HUBC_EREADONLY, ro[i], before);
    free(before);
  }
  /* through a label */
  char *before = tu_dump(f->s);
  refused(f->s, update1(f->s, id, "Record ID", "5"), HUBC_EREADONLY, "hs_object_id", before);
  refused(f->s, update1(f->s, id, "marketing contact status", "false"), HUBC_EREADONLY, "hs_marketable_status",
          before);
  free(before);
  assert_prop(f->s, id, "hs_marketable_status", "true");
}

/* ---- C7 ----------------------------------------------------------------- */

static void c7_delete_removes_the_contact_from_every_lookup_at_once(void **state) {
  fx *f = *state;
  hubc_id a = tu_contact(f->s, ADMIN, "a@example.com", "A");
  hubc_id b = tu_contact(f->s, ADMIN, "b@example.com", "B");
  hubc_id c = tu_contact(f->s, ADMIN, "c@example.com", "C");
  ok(hubc_contact_set_marketing(f->s, ADMIN, b, HUBC_SOURCE_MANUAL, ADMIN));
  hubc_contact_iterator *it = NULL;
  ok(hubc_contact_iterator_new(&it, f->s, HUBC_SELECT_ALL));
  hubc_id first = 0;
  ok(hubc_contact_iterator_next(&first, it));
  assert_int_equal(first, a);

  ok(hubc_contact_delete(f->s, ADMIN, b));

  hubc_contact *snap = (hubc_contact *)&snap;
  assert_int_equal(hubc_contact_get(&snap, f->s, b), HUBC_ENOTFOUND);
  assert_null(snap);
  assert_int_equal(hubc_contact_get_by_email(&snap, f->s, "b@example.com"), HUBC_ENOTFOUND);
  assert_null(snap);
  hubc_id found = 7;
  assert_int_equal(hubc_contact_find(&found, f->s, "B@example.com"), HUBC_ENOTFOUND);
  uint64_t count = 0;
  ok(hubc_contact_count(&count, f->s));
  assert_int_equal(count, 2);
  /* an iterator that was already running does not see it */
  hubc_id next = 0;
  ok(hubc_contact_iterator_next(&next, it));
  assert_int_equal(next, c);
  assert_int_equal(hubc_contact_iterator_next(&next, it), HUBC_ITEROVER);
  hubc_contact_iterator_free(it);
  hubc_id all[] = {a, c};
  assert_ids(f->s, HUBC_SELECT_ALL, all, 2);
  assert_ids(f->s, HUBC_SELECT_BILLABLE, NULL, 0);
  assert_ids(f->s, HUBC_SELECT_MARKETING, NULL, 0);
  hubc_billing_info bi;
  memset(&bi, 0, sizeof bi);
  bi.version = HUBC_BILLING_INFO_VERSION;
  ok(hubc_billing_get(&bi, f->s));
  assert_int_equal(bi.billable, 0);
  assert_int_equal(bi.non_marketing, 2);

  /* writes to it fail, and say so */
  char *before = tu_dump(f->s);
  refused(f->s, hubc_contact_delete(f->s, ADMIN, b), HUBC_ENOTFOUND, NULL, before);
  refused(f->s, update1(f->s, b, "firstname", "Ghost"), HUBC_ENOTFOUND, NULL, before);
  refused(f->s, hubc_contact_set_marketing(f->s, ADMIN, b, HUBC_SOURCE_MANUAL, 1), HUBC_ENOTFOUND, NULL, before);
  free(before);

  /* the email is free again; the new contact has a new id */
  hubc_id b2 = tu_contact(f->s, ADMIN, "b@example.com", "B2");
  assert_true(b2 > c);
  ok(hubc_contact_find(&found, f->s, "b@example.com"));
  assert_int_equal(found, b2);
  assert_prop(f->s, b2, "hs_marketable_status", "false");
}

/* ---- update semantics (C2, C4) ------------------------------------------ */

static void c2_update_with_null_or_empty_value_removes_the_property(void **state) {
  fx *f = *state;
  const char *n[] = {"email", "firstname", "city", "company"};
  const char *v[] = {"r@example.com", "R", "Roma", "ACME"};
  hubc_id id = 0;
  ok(hubc_contact_create(&id, f->s, ADMIN, NULL, n, v, 4));
  ok(update1(f->s, id, "city", NULL));
  assert_prop(f->s, id, "city", NULL);
  ok(update1(f->s, id, "company", ""));
  assert_prop(f->s, id, "company", NULL);
  assert_prop(f->s, id, "firstname", "R");
  /* empty values on create are ignored (not stored) */
  hubc_id id2 = 0;
  ok(create2(f->s, &id2, "email", "r2@example.com", "city", ""));
  assert_prop(f->s, id2, "city", NULL);
  hubc_contact *c = NULL;
  ok(hubc_contact_get(&c, f->s, id2));
  for (size_t i = 0; i < hubc_contact_prop_count(c); i++) {
    const char *name, *value;
    ok(hubc_contact_prop_at(&name, &value, c, i));
    assert_true(strcmp(name, "city") != 0);
  }
  hubc_contact_free(c);
  /* removing a property that is not set changes nothing */
  char *before = tu_dump(f->s);
  ok(update1(f->s, id, "jobtitle", NULL));
  char *after = tu_dump(f->s);
  assert_string_equal(before, after);
  free(before);
  free(after);
}

static void c2_unchanged_update_is_a_no_op(void **state) {
  fx *f = *state;
  define_typed(f->s);
  const char *n[] = {"email", "firstname", "vip", "level"};
  const char *v[] = {"same@example.com", "Same", "true", "gold"};
  hubc_id id = 0;
  ok(hubc_contact_create(&id, f->s, ADMIN, NULL, n, v, 4));
  hubc_time created = f->clk.now;
  f->clk.now += 3600; /* a change would move lastmodifieddate */
  char *before = tu_dump(f->s);
  ok(hubc_contact_update(f->s, ADMIN, id, n, v, 4));
  const char *v2[] = {" SAME@example.com ", "Same", "TRUE", "gold"};
  ok(hubc_contact_update(f->s, ADMIN, id, n, v2, 4));
  ok(hubc_contact_update(f->s, ADMIN, id, NULL, NULL, 0));
  char *after = tu_dump(f->s);
  assert_string_equal(before, after);
  free(before);
  free(after);
  hubc_contact *c = NULL;
  ok(hubc_contact_get(&c, f->s, id));
  assert_int_equal(hubc_contact_modified(c), created);
  hubc_contact_free(c);
  /* a real change moves it */
  ok(update1(f->s, id, "firstname", "Changed"));
  ok(hubc_contact_get(&c, f->s, id));
  assert_int_equal(hubc_contact_modified(c), f->clk.now);
  assert_int_equal(hubc_contact_created(c), created);
  hubc_contact_free(c);
}

/* ---- snapshots (DESIGN §3) ---------------------------------------------- */

static void r6_snapshot_is_immutable_across_updates(void **state) {
  fx *f = *state;
  hubc_id id = tu_contact(f->s, ADMIN, "snap@example.com", "Old");
  ok(update1(f->s, id, "city", "Roma"));
  hubc_contact *old = NULL;
  ok(hubc_contact_get(&old, f->s, id));
  size_t old_count = hubc_contact_prop_count(old);
  hubc_time old_modified = hubc_contact_modified(old);

  f->clk.now += 60;
  ok(update1(f->s, id, "firstname", "New"));
  ok(update1(f->s, id, "city", NULL));
  ok(update1(f->s, id, "email", "moved@example.com"));
  ok(hubc_contact_set_marketing(f->s, ADMIN, id, HUBC_SOURCE_MANUAL, ADMIN));

  assert_string_equal(hubc_contact_prop(old, "firstname"), "Old");
  assert_string_equal(hubc_contact_prop(old, "city"), "Roma");
  assert_string_equal(hubc_contact_prop(old, "email"), "snap@example.com");
  assert_string_equal(hubc_contact_prop(old, "hs_marketable_status"), "false");
  assert_int_equal(hubc_contact_status(old), HUBC_NON_MARKETING);
  assert_int_equal(hubc_contact_prop_count(old), old_count);
  assert_int_equal(hubc_contact_modified(old), old_modified);

  hubc_contact *now = NULL;
  ok(hubc_contact_get(&now, f->s, id));
  assert_string_equal(hubc_contact_prop(now, "firstname"), "New");
  assert_null(hubc_contact_prop(now, "city"));
  assert_string_equal(hubc_contact_prop(now, "hs_marketable_status"), "true");
  assert_int_equal(hubc_contact_status(now), HUBC_MARKETING);
  hubc_contact_free(now);

  /* and across a delete */
  ok(hubc_contact_delete(f->s, ADMIN, id));
  assert_string_equal(hubc_contact_prop(old, "firstname"), "Old");
  assert_int_equal(hubc_contact_id(old), id);
  hubc_contact_free(old);
}

static void r6_snapshot_outlives_the_store(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 21, 10, 0, 0)};
  tu_alloc a = {0};
  hubc_store *s = tu_open_alloc(&clk, &a, NULL);
  ok(hubc_property_define(s, ADMIN, "level", "Level", HUBC_PROP_ENUMERATION, tier_opts, 3));
  const char *n[] = {"email", "firstname", "level"};
  const char *v[] = {"keep@example.com", "Keep", "bronze"};
  hubc_id id = 0;
  ok(hubc_contact_create(&id, s, ADMIN, NULL, n, v, 3));
  hubc_contact *c = NULL, *d = NULL;
  ok(hubc_contact_get(&c, s, id));
  ok(hubc_contact_get_by_email(&d, s, "keep@example.com"));
  ok(update1(s, id, "firstname", "Changed")); /* c and d now hold an old version */
  hubc_store_close(s);
  assert_true(a.live > 0); /* the snapshots still hold memory */
  assert_string_equal(hubc_contact_prop(c, "firstname"), "Keep");
  assert_string_equal(hubc_contact_prop(c, "level"), "bronze");
  assert_string_equal(hubc_contact_prop(c, "Level"), "bronze");
  char want[32];
  snprintf(want, sizeof want, "%lld", (long long)id);
  assert_string_equal(hubc_contact_prop(c, "hs_object_id"), want);
  assert_non_null(hubc_contact_prop(c, "createdate"));
  size_t pc = hubc_contact_prop_count(c);
  for (size_t i = 0; i < pc; i++) {
    const char *name, *value;
    ok(hubc_contact_prop_at(&name, &value, c, i));
    assert_non_null(value);
  }
  hubc_contact_free(c);
  assert_string_equal(hubc_contact_prop(d, "email"), "keep@example.com");
  hubc_contact_free(d);
  assert_int_equal(a.live, 0);
}

/* ---- property listing --------------------------------------------------- */

static void c2_prop_at_lists_stored_then_computed_properties(void **state) {
  fx *f = *state;
  const char *n[] = {"email", "firstname", "lifecyclestage"};
  const char *v[] = {"list@example.com", "List", "lead"};
  hubc_id id = 0;
  ok(hubc_contact_create(&id, f->s, ADMIN, NULL, n, v, 3));
  hubc_contact *c = NULL;
  ok(hubc_contact_get(&c, f->s, id));
  /* non-marketing: no reason type/id */
  const char *want_stored[] = {"email", "firstname", "lifecyclestage"};
  const char *want_computed[] = {"hs_object_id", "createdate", "lastmodifieddate", "hs_marketable_status",
                                 "hs_marketable_until_renewal"};
  assert_int_equal(hubc_contact_prop_count(c), 3 + 5);
  for (size_t i = 0; i < 8; i++) {
    const char *name = NULL, *value = NULL;
    ok(hubc_contact_prop_at(&name, &value, c, i));
    if (i < 3) {
      /* stored ones first (their order among themselves is the library's) */
      int known = 0;
      for (size_t k = 0; k < 3; k++) known |= strcmp(name, want_stored[k]) == 0;
      if (!known) fail_msg("index %zu: '%s' is not a stored property of this contact", i, name);
    } else {
      int known = 0;
      for (size_t k = 0; k < 5; k++) known |= strcmp(name, want_computed[k]) == 0;
      if (!known) fail_msg("index %zu: '%s' is not an expected computed property", i, name);
    }
    /* prop_at agrees with prop */
    assert_string_equal(value, hubc_contact_prop(c, name));
  }
  const char *name = NULL, *value = NULL;
  refused(f->s, hubc_contact_prop_at(&name, &value, c, 8), HUBC_ENOTFOUND, NULL, NULL);
  char want_id[32];
  snprintf(want_id, sizeof want_id, "%lld", (long long)id);
  assert_string_equal(hubc_contact_prop(c, "hs_object_id"), want_id);
  assert_string_equal(hubc_contact_prop(c, "createdate"), "2024-03-21T10:00:00Z");
  assert_string_equal(hubc_contact_prop(c, "lastmodifieddate"), "2024-03-21T10:00:00Z");
  assert_string_equal(hubc_contact_prop(c, "hs_marketable_status"), "false");
  assert_string_equal(hubc_contact_prop(c, "hs_marketable_until_renewal"), "false");
  assert_null(hubc_contact_prop(c, "hs_marketable_reason_type"));
  assert_null(hubc_contact_prop(c, "hs_marketable_reason_id"));
  assert_null(hubc_contact_prop(c, "city")); /* unset */
  assert_int_equal(hubc_contact_created(c), f->clk.now);
  int src = 0;
  hubc_id src_id = 0;
  ok(hubc_contact_source(&src, &src_id, c));
  assert_int_equal(src, HUBC_SOURCE_MANUAL);
  assert_int_equal(src_id, ADMIN);
  hubc_contact_free(c);

  /* marketing: reason type and id appear */
  ok(hubc_contact_set_marketing(f->s, HUBC_SYSTEM, id, HUBC_SOURCE_INTEGRATION, 42)); /* app 42 */
  ok(hubc_contact_get(&c, f->s, id));
  assert_int_equal(hubc_contact_prop_count(c), 3 + 7);
  assert_string_equal(hubc_contact_prop(c, "hs_marketable_status"), "true");
  assert_string_equal(hubc_contact_prop(c, "hs_marketable_reason_type"), "INTEGRATION");
  assert_string_equal(hubc_contact_prop(c, "hs_marketable_reason_id"), "42");
  int rt = 0;
  hubc_id rid = 0;
  ok(hubc_contact_reason(&rt, &rid, c));
  assert_int_equal(rt, HUBC_SOURCE_INTEGRATION);
  assert_int_equal(rid, 42);
  int seen_reason = 0;
  for (size_t i = 0; i < hubc_contact_prop_count(c); i++) {
    ok(hubc_contact_prop_at(&name, &value, c, i));
    assert_string_equal(value, hubc_contact_prop(c, name));
    seen_reason += strcmp(name, "hs_marketable_reason_type") == 0 || strcmp(name, "hs_marketable_reason_id") == 0;
  }
  assert_int_equal(seen_reason, 2);
  hubc_contact_free(c);
}

/* ---- iterators (M6, M8) ------------------------------------------------- */

static void m6_iterators_select_by_marketing_status(void **state) {
  fx *f = *state;
  assert_ids(f->s, HUBC_SELECT_ALL, NULL, 0);
  hubc_id id[6];
  for (int i = 0; i < 6; i++) {
    char e[32];
    snprintf(e, sizeof e, "s%d@example.com", i);
    id[i] = tu_contact(f->s, ADMIN, e, "S");
  }
  /* 0, 3: MARKETING; 4: UNTIL_UPDATE; 1, 2, 5: NON */
  ok(hubc_contact_set_marketing(f->s, ADMIN, id[0], HUBC_SOURCE_MANUAL, 1));
  ok(hubc_contact_set_marketing(f->s, ADMIN, id[3], HUBC_SOURCE_MANUAL, 1));
  ok(hubc_contact_set_marketing(f->s, ADMIN, id[4], HUBC_SOURCE_MANUAL, 1));
  ok(hubc_contact_set_non_marketing(f->s, ADMIN, id[4], HUBC_SOURCE_MANUAL, 1));
  hubc_id all[] = {id[0], id[1], id[2], id[3], id[4], id[5]};
  hubc_id billable[] = {id[0], id[3], id[4]};
  hubc_id marketing[] = {id[0], id[3]};
  hubc_id until[] = {id[4]};
  hubc_id non[] = {id[1], id[2], id[5]};
  assert_ids(f->s, HUBC_SELECT_ALL, all, 6);
  assert_ids(f->s, HUBC_SELECT_BILLABLE, billable, 3);
  assert_ids(f->s, HUBC_SELECT_MARKETING, marketing, 2);
  assert_ids(f->s, HUBC_SELECT_UNTIL_UPDATE, until, 1);
  assert_ids(f->s, HUBC_SELECT_NON_MARKETING, non, 3);
  assert_ids(f->s, HUBC_SELECT_UNREACHABLE, NULL, 0);
  hubc_contact_iterator *it = (hubc_contact_iterator *)&it;
  refused(f->s, hubc_contact_iterator_new(&it, f->s, HUBC_SELECT_LEGACY_EMAIL + 1), HUBC_EINVAL, NULL, NULL);
  assert_null(it);
  refused(f->s, hubc_contact_iterator_new(&it, f->s, -1), HUBC_EINVAL, NULL, NULL);
  hubc_contact *c = NULL;
  ok(hubc_contact_get(&c, f->s, id[4]));
  assert_int_equal(hubc_contact_status(c), HUBC_MARKETING_UNTIL_UPDATE);
  assert_string_equal(hubc_contact_prop(c, "hs_marketable_until_renewal"), "true");
  assert_string_equal(hubc_contact_prop(c, "hs_marketable_status"), "true");
  hubc_contact_free(c);
}

static void m8_unreachable_selects_billable_opted_out_or_bounced(void **state) {
  fx *f = *state;
  struct { const char *email; int status; const char *optout, *bounced; int want; } rows[] = {
    {"m-opt@example.com", HUBC_MARKETING, "true", NULL, 1},
    {"m-bounce@example.com", HUBC_MARKETING, NULL, "true", 1},
    {"m-both@example.com", HUBC_MARKETING, "true", "true", 1},
    {"u-opt@example.com", HUBC_MARKETING_UNTIL_UPDATE, "true", NULL, 1},
    {"n-opt@example.com", HUBC_NON_MARKETING, "true", "true", 0},
    {"m-false@example.com", HUBC_MARKETING, "false", "false", 0},
    {"m-none@example.com", HUBC_MARKETING, NULL, NULL, 0},
  };
  hubc_id want[8];
  size_t n_want = 0;
  for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
    const char *n[] = {"email", "hs_email_optout", "hs_email_hard_bounced"};
    const char *v[] = {rows[i].email, rows[i].optout, rows[i].bounced};
    hubc_id id = 0;
    ok(hubc_contact_create(&id, f->s, ADMIN, NULL, n, v, 3));
    if (rows[i].status != HUBC_NON_MARKETING) ok(hubc_contact_set_marketing(f->s, ADMIN, id, HUBC_SOURCE_MANUAL, 1));
    if (rows[i].status == HUBC_MARKETING_UNTIL_UPDATE)
      ok(hubc_contact_set_non_marketing(f->s, ADMIN, id, HUBC_SOURCE_MANUAL, 1));
    if (rows[i].want) want[n_want++] = id;
  }
  assert_ids(f->s, HUBC_SELECT_UNREACHABLE, want, n_want);
  /* opted out and billable: consent does not change billing */
  hubc_billing_info bi;
  memset(&bi, 0, sizeof bi);
  bi.version = HUBC_BILLING_INFO_VERSION;
  ok(hubc_billing_get(&bi, f->s));
  assert_int_equal(bi.billable, 6);
  /* clearing the flag takes the contact out of the selection at once */
  ok(update1(f->s, want[0], "hs_email_optout", "false"));
  assert_ids(f->s, HUBC_SELECT_UNREACHABLE, want + 1, n_want - 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(c1_ids_are_assigned_increasing_and_never_zero, setup, teardown),
    cmocka_unit_test_setup_teardown(c1_ids_are_never_reused_after_deletes, setup, teardown),
    cmocka_unit_test_setup_teardown(c1_failed_creates_do_not_disturb_the_id_sequence, setup, teardown),
    cmocka_unit_test_setup_teardown(c2_builtin_properties_are_in_the_schema_with_types, setup, teardown),
    cmocka_unit_test_setup_teardown(c2_lifecyclestage_takes_its_options_only, setup, teardown),
    cmocka_unit_test_setup_teardown(c2_custom_properties_of_every_type_are_defined_and_used, setup, teardown),
    cmocka_unit_test_setup_teardown(c2_property_define_refuses_bad_definitions, setup, teardown),
    cmocka_unit_test_setup_teardown(c2_labels_are_accepted_as_property_names, setup, teardown),
    cmocka_unit_test_setup_teardown(c2_property_count_at_and_find_agree, setup, teardown),
    cmocka_unit_test_setup_teardown(c2_update_with_null_or_empty_value_removes_the_property, setup, teardown),
    cmocka_unit_test_setup_teardown(c2_unchanged_update_is_a_no_op, setup, teardown),
    cmocka_unit_test_setup_teardown(c2_prop_at_lists_stored_then_computed_properties, setup, teardown),
    cmocka_unit_test_setup_teardown(c3_email_is_case_insensitive_and_trimmed, setup, teardown),
    cmocka_unit_test_setup_teardown(c3_email_syntax_is_validated, setup, teardown),
    cmocka_unit_test_setup_teardown(c3_email_of_254_bytes_is_accepted_and_255_refused, setup, teardown),
    cmocka_unit_test_setup_teardown(c3_email_stays_unique_through_updates, setup, teardown),
    cmocka_unit_test_setup_teardown(c4_numbers_are_validated, setup, teardown),
    cmocka_unit_test_setup_teardown(c4_bools_are_validated, setup, teardown),
    cmocka_unit_test_setup_teardown(c4_datetimes_are_iso_8601, setup, teardown),
    cmocka_unit_test_setup_teardown(c4_enumerations_take_their_options, setup, teardown),
    cmocka_unit_test_setup_teardown(c4_invalid_utf8_is_refused, setup, teardown),
    cmocka_unit_test_setup_teardown(c4_value_of_65536_bytes_is_accepted_and_65537_refused, setup, teardown),
    cmocka_unit_test_setup_teardown(c4_more_than_1000_properties_are_refused, setup, teardown),
    cmocka_unit_test_setup_teardown(c4_unknown_and_repeated_properties_are_refused, setup, teardown),
    cmocka_unit_test_setup_teardown(c5_manual_create_with_existing_email_names_the_record, setup, teardown),
    cmocka_unit_test_setup_teardown(c6_read_only_properties_are_refused_by_create_and_update, setup, teardown),
    cmocka_unit_test_setup_teardown(c7_delete_removes_the_contact_from_every_lookup_at_once, setup, teardown),
    cmocka_unit_test_setup_teardown(r6_snapshot_is_immutable_across_updates, setup, teardown),
    cmocka_unit_test(r6_snapshot_outlives_the_store),
    cmocka_unit_test_setup_teardown(m6_iterators_select_by_marketing_status, setup, teardown),
    cmocka_unit_test_setup_teardown(m8_unreachable_selects_billable_opted_out_or_bounced, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
