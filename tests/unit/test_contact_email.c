/* C3 beyond ASCII: white space of any kind, separators, controls, format
 * characters and unassigned code points are refused anywhere in an address;
 * addresses compare after full Unicode case folding and NFC; the 254-byte
 * bound applies to the normalized form. Addresses stored by versions whose
 * rule lowercased ASCII only keep loading (README, "Emails"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "persist/codec.h"
#include "schema/schema.h"
#include "testutil.h"
#include "util/text.h"

#define ADMIN 1

static tu_clock g_clock = {0};

static hubc_store *open_mem(void) {
  g_clock.now = tu_time(2024, 3, 10, 12, 0, 0);
  return gc_store(tu_open(&g_clock, NULL));
}

static hubc_id create(hubc_store *s, const char *email, int *rc) {
  const char *names[] = {"email", "firstname"}, *values[] = {email, "X"};
  hubc_id id = 0;
  *rc = hubc_contact_create(&id, s, ADMIN, NULL, names, values, 2);
  return id;
}

static uint64_t count(hubc_store *s) {
  uint64_t n = 0;
  assert_int_equal(hubc_contact_count(&n, s), 0);
  return n;
}

/* The create is refused with INVAL naming the email and `needle`; nothing
 * is created. */
static void refused(hubc_store *s, const char *email, const char *needle) {
  uint64_t before = count(s);
  int rc;
  create(s, email, &rc);
  if (rc != HUBC_EINVAL) fail_msg("'%s': create returned %d, want INVAL", email, rc);
  const char *msg = hubc_error_last();
  if (!strstr(msg, "email") || !strstr(msg, needle)) fail_msg("'%s': message '%s' lacks '%s'", email, msg, needle);
  assert_int_equal(count(s), before);
  hubc_id id;
  assert_int_equal(hubc_contact_find(&id, s, email), HUBC_EINVAL); /* lookups apply the same rule */
}

/* "anna<cp>b@x.it", the code point in UTF-8, also at the start and end */
static void refused_everywhere(hubc_store *s, const char *utf8, const char *needle) {
  char email[64];
  snprintf(email, sizeof email, "anna%sb@x.it", utf8);
  refused(s, email, needle);
  snprintf(email, sizeof email, "%sanna@x.it", utf8);
  refused(s, email, needle);
  snprintf(email, sizeof email, "anna@x.it%s", utf8);
  refused(s, email, needle);
  snprintf(email, sizeof email, "anna@x%s.it", utf8);
  refused(s, email, needle);
}

static void c3_unicode_white_space_is_refused_anywhere(void **state) {
  (void)state;
  hubc_store *s = open_mem();
  static const struct { const char *utf8, *cp; } spaces[] = {
      {"\xc2\xa0", "U+00A0"},     {"\xe1\x9a\x80", "U+1680"}, {"\xe2\x80\x80", "U+2000"},
      {"\xe2\x80\x85", "U+2005"}, {"\xe2\x80\x8a", "U+200A"}, {"\xe2\x80\xaf", "U+202F"},
      {"\xe2\x81\x9f", "U+205F"}, {"\xe3\x80\x80", "U+3000"},
  };
  for (size_t i = 0; i < sizeof spaces / sizeof *spaces; i++) refused_everywhere(s, spaces[i].utf8, spaces[i].cp);
  refused(s, "anna\xc2\xa0@x.it", "a space (U+00A0) at byte 4");
}

static void c3_line_and_paragraph_separators_are_refused(void **state) {
  (void)state;
  hubc_store *s = open_mem();
  refused_everywhere(s, "\xe2\x80\xa8", "a line separator (U+2028)");
  refused_everywhere(s, "\xe2\x80\xa9", "a paragraph separator (U+2029)");
  refused_everywhere(s, "\xc2\x85", "U+0085"); /* NEL: a control that is white space */
}

static void c3_format_characters_are_refused(void **state) {
  (void)state;
  hubc_store *s = open_mem();
  static const struct { const char *utf8, *cp; } fmt[] = {
      {"\xe2\x80\x8b", "U+200B"}, /* zero-width space */
      {"\xe2\x80\x8c", "U+200C"}, /* ZWNJ */
      {"\xe2\x80\x8d", "U+200D"}, /* ZWJ */
      {"\xef\xbb\xbf", "U+FEFF"}, /* BOM */
      {"\xe2\x81\xa0", "U+2060"}, /* word joiner */
      {"\xc2\xad", "U+00AD"},     /* soft hyphen */
      {"\xe2\x80\x8e", "U+200E"}, /* left-to-right mark */
  };
  for (size_t i = 0; i < sizeof fmt / sizeof *fmt; i++) refused_everywhere(s, fmt[i].utf8, fmt[i].cp);
  refused(s, "\xef\xbb\xbf" "anna@x.it", "a format character (U+FEFF) at byte 0");
}

/* C1 controls; unassigned code points, whose case or composition a later
 * Unicode version could define, which would change a stored address. */
static void c3_c1_controls_and_unassigned_code_points_are_refused(void **state) {
  (void)state;
  hubc_store *s = open_mem();
  refused_everywhere(s, "\xc2\x80", "a control character (U+0080)");
  refused_everywhere(s, "\xc2\x9f", "U+009F");
  refused_everywhere(s, "\xcd\xb8", "an unassigned code point (U+0378)");
  refused_everywhere(s, "\xef\xbf\xbf", "U+FFFF");
}

/* The same contact, however its address is cased or composed. */
static void same_contact(hubc_store *s, const char *first, const char *const *others, size_t n,
                         const char *stored) {
  int rc;
  hubc_id id = create(s, first, &rc);
  if (rc) fail_msg("create '%s': %s", first, hubc_error_last());
  hubc_contact *c = NULL;
  assert_int_equal(hubc_contact_get(&c, s, id), 0);
  assert_string_equal(hubc_contact_prop(c, "email"), stored);
  hubc_contact_free(c);
  for (size_t i = 0; i < n; i++) {
    hubc_id got = 0;
    if (hubc_contact_find(&got, s, others[i]) != 0 || got != id)
      fail_msg("find '%s': %s (got %lld, want %lld)", others[i], hubc_error_last(), (long long)got, (long long)id);
    create(s, others[i], &rc);
    if (rc != HUBC_EEXISTS) fail_msg("create '%s' after '%s': %d, want EXISTS", others[i], first, rc);
    char want[32];
    snprintf(want, sizeof want, "record id %lld", (long long)id);
    assert_non_null(strstr(hubc_error_last(), want)); /* C5 names the existing record */
  }
}

static void c3_unicode_case_and_composition_make_one_contact(void **state) {
  (void)state;
  hubc_store *s = open_mem();
  /* À (U+00C0), à (U+00E0), a + combining grave (U+0300) */
  static const char *const anna[] = {"\xc3\xa0nna@x.it", "a\xcc\x80nna@x.it", "A\xcc\x80NNA@X.IT",
                                     "  \xc3\x80nna@X.it\t"};
  same_contact(s, "\xc3\x80NNA@x.it", anna, 4, "\xc3\xa0nna@x.it");
  /* full case folding: ß is ss, ẞ (U+1E9E) too */
  /* a literal split where \x9e would take the e; parenthesized for clang's -Wstring-concatenation */
  static const char *const strasse[] = {"STRASSE@x.de", "strasse@x.de", ("stra\xe1\xba\x9e" "e@x.de")};
  same_contact(s, "Stra\xc3\x9f" "e@x.de", strasse, 3, "strasse@x.de");
  /* Kelvin sign U+212A is K; Greek final sigma folds to sigma */
  static const char *const karl[] = {"\xe2\x84\xaa" "arl@x.it", "KARL@x.it"};
  same_contact(s, "karl@x.it", karl, 2, "karl@x.it");
  static const char *const sisyphus[] = {"\xcf\x83\xce\xaf\xcf\x83\xcf\x85\xcf\x86\xce\xbf\xcf\x82@x.gr"};
  same_contact(s, "\xce\xa3\xce\x8a\xce\xa3\xce\xa5\xce\xa6\xce\x9f\xce\xa3@x.gr", sisyphus, 1,
               "\xcf\x83\xce\xaf\xcf\x83\xcf\x85\xcf\x86\xce\xbf\xcf\x83@x.gr");
  /* Hangul: conjoining jamo compose into the syllable */
  static const char *const han[] = {"\xe1\x84\x92\xe1\x85\xa1\xe1\x86\xab@x.kr"};
  same_contact(s, "\xed\x95\x9c@x.kr", han, 1, "\xed\x95\x9c@x.kr");
  assert_int_equal(count(s), 5);
}

static void c3_many_lookups_and_users_follow_the_unicode_rule(void **state) {
  (void)state;
  hubc_store *s = open_mem();
  int rc;
  hubc_id anna = create(s, "\xc3\x80NNA@x.it", &rc);
  assert_int_equal(rc, 0);
  const char *emails[] = {"a\xcc\x80nna@x.it", "nobody@x.it", "\xc3\xa0nna@X.IT"};
  hubc_id got[3];
  assert_int_equal(hubc_contact_find_many(got, s, emails, 3), 0);
  assert_int_equal(got[0], anna);
  assert_int_equal(got[1], 0);
  assert_int_equal(got[2], anna);
  const char *bad[] = {"anna@x.it", "an\xe2\x80\x8bna@x.it"};
  assert_int_equal(hubc_contact_find_many(got, s, bad, 2), HUBC_EINVAL);
  assert_non_null(strstr(hubc_error_last(), "row 1"));
  assert_non_null(strstr(hubc_error_last(), "U+200B"));

  hubc_id u = 0;
  assert_int_equal(hubc_user_create(&u, s, ADMIN, "\xc3\x89LISE@x.fr"), 0);
  hubc_user *usr = NULL;
  assert_int_equal(hubc_user_get_by_email(&usr, s, "e\xcc\x81lise@x.fr"), 0);
  assert_int_equal(hubc_user_id(usr), u);
  assert_string_equal(hubc_user_email(usr), "\xc3\xa9lise@x.fr");
  hubc_user_free(usr);
  hubc_id u2;
  assert_int_equal(hubc_user_create(&u2, s, ADMIN, "\xc3\xa9lise@X.FR"), HUBC_EEXISTS);
  assert_int_equal(hubc_user_create(&u2, s, ADMIN, "elise\xc2\xa0@x.fr"), HUBC_EINVAL);
}

/* The bound is on the normalized form, the one stored and compared: every
 * spelling of an address gets the same answer. */
static void c3_length_bound_applies_to_the_normalized_form(void **state) {
  (void)state;
  hubc_store *s = open_mem();
  char in[1300], composed[600]; /* in: up to 400 * 3 bytes + "@x.it" */
  size_t n = 0, m = 0;
  for (int i = 0; i < 100; i++) { /* a + U+0300 (3 bytes) composes into à (2 bytes) */
    memcpy(in + n, "a\xcc\x80", 3), n += 3;
    memcpy(composed + m, "\xc3\xa0", 2), m += 2;
  }
  strcpy(in + n, "@x.it");
  strcpy(composed + m, "@x.it");
  assert_true(strlen(in) > 254 && strlen(composed) <= 254);
  int rc;
  hubc_id id = create(s, in, &rc);
  if (rc) fail_msg("305 bytes composing into 205: %s", hubc_error_last());
  hubc_id got = 0;
  assert_int_equal(hubc_contact_find(&got, s, composed), 0);
  assert_int_equal(got, id);

  /* ŉ (U+0149, 2 bytes) folds into ʼn (3 bytes): 200 + 5 bytes become 305 */
  n = 0;
  for (int i = 0; i < 100; i++) memcpy(in + n, "\xc5\x89", 2), n += 2;
  strcpy(in + n, "@x.it");
  assert_true(strlen(in) <= 254);
  refused(s, in, "longer than 254 bytes once normalized");

  /* past what any normalization could bring under the bound */
  n = 0;
  for (int i = 0; i < 400; i++) memcpy(in + n, "a\xcc\x80", 3), n += 3;
  strcpy(in + n, "@x.it");
  refused(s, in, "longer than 254 bytes");
  /* ASCII: the bound as before */
  memset(in, 'a', 250);
  strcpy(in + 250, "@x.it");
  refused(s, in, "longer than 254 bytes");
}

/* The normalization itself: idempotent, and what it stores is its own
 * normal form (the loader relies on that). */
static void c3_normalization_is_idempotent(void **state) {
  (void)state;
  static const char *const samples[] = {
      "\xc3\x80NNA@x.it", "a\xcc\x80nna@x.it", "Stra\xc3\x9f" "e@x.de", "\xe2\x84\xaa" "arl@x.it",
      "\xce\xa3\xce\x8a\xce\xa3\xce\xa5\xce\xa6\xce\x9f\xce\xa3@x.gr", "\xe1\x84\x92\xe1\x85\xa1\xe1\x86\xab@x.kr",
      "\xc4\xb0stanbul@x.tr", /* İ folds to i + U+0307 */
      "\xe1\xbe\x82@x.gr",    /* decomposes into four code points */
      "\xcd\x85x@y.gr",       /* U+0345 folds to a starter */
      "Anna@Example.COM",
  };
  for (size_t i = 0; i < sizeof samples / sizeof *samples; i++) {
    char a[HUBC__EMAIL_BUF], b[HUBC__EMAIL_BUF];
    const char *why = "";
    int n = hubc__email_normalize(samples[i], a, &why);
    if (n < 0) fail_msg("'%s': %s", samples[i], why);
    assert_int_equal((size_t)n, strlen(a));
    assert_int_equal(hubc__email_normalize(a, b, &why), n);
    assert_string_equal(a, b);
  }
}

/* ---- addresses stored by versions whose rule lowercased ASCII only ------ */

/* A contact record as such a version wrote it: the email property first
 * (index 0), then firstname. */
static void contact_rec(rb *r, const char *email, const char *first) {
  unsigned char props[600];
  size_t n = 0;
  props[n++] = (unsigned char)(HUBC__P_EMAIL << 1);
  memcpy(props + n, email, strlen(email) + 1), n += strlen(email) + 1;
  props[n++] = (unsigned char)(HUBC__P_FIRSTNAME << 1);
  memcpy(props + n, first, strlen(first) + 1), n += strlen(first) + 1;
  rb_start(r);
  rb_int(r, HUBC__T_C_CREATED, g_clock.now);
  rb_int(r, HUBC__T_C_MODIFIED, g_clock.now);
  rb_int(r, HUBC__T_C_SOURCE, HUBC_SOURCE_MANUAL);
  rb_bytes(r, HUBC__T_C_PROPS, props, n);
}

static void user_rec(rb *r, const char *email) {
  rb_start(r);
  rb_str(r, HUBC__T_U_EMAIL, email);
  rb_int(r, HUBC__T_U_PERMS, HUBC_PERM_ALL);
  rb_int(r, HUBC__T_U_SUPER, 1);
  rb_int(r, HUBC__T_U_DISABLED, 0);
}

/* A backend holding a store (admin user 1) with contacts 1..n, then
 * users 2..n_users + 1, created through the API, whose stored records are
 * then replaced by ones with these emails. */
static tu_mem *stored_with_users(const char *const *emails, size_t n, const char *const *users, size_t n_users) {
  g_clock.now = tu_time(2024, 3, 10, 12, 0, 0);
  tu_mem *m = gc_mem();
  hubc_store *s = tu_open(&g_clock, &m->vtable);
  for (size_t i = 0; i < n; i++) {
    char email[32];
    snprintf(email, sizeof email, "p%zu@x.it", i + 1);
    tu_contact(s, ADMIN, email, "P");
  }
  for (size_t i = 0; i < n_users; i++) {
    char email[32];
    hubc_id id;
    snprintf(email, sizeof email, "u%zu@x.it", i + 2);
    assert_int_equal(hubc_user_create(&id, s, ADMIN, email), 0);
  }
  hubc_store_close(s);
  void *ud = m->vtable.userdata;
  assert_int_equal(m->vtable.begin(ud), 0);
  for (size_t i = 0; i < n; i++) {
    rb r;
    char first[32];
    snprintf(first, sizeof first, "C%zu", i + 1);
    contact_rec(&r, emails[i], first);
    assert_int_equal(m->vtable.put(ud, HUBC_REC_CONTACT, (hubc_id)(i + 1), r.b, r.n), 0);
  }
  for (size_t i = 0; i < n_users; i++) {
    rb r;
    user_rec(&r, users[i]);
    assert_int_equal(m->vtable.put(ud, HUBC_REC_USER, (hubc_id)(i + 2), r.b, r.n), 0);
  }
  assert_int_equal(m->vtable.commit(ud), 0);
  return m;
}

static tu_mem *stored(const char *const *emails, size_t n) { return stored_with_users(emails, n, NULL, 0); }

static hubc_store *reopen(tu_mem *m) {
  hubc_store_options o;
  hubc_store_options_init(&o, HUBC_STORE_OPTIONS_VERSION);
  o.clock = tu_clock_fn;
  o.clock_payload = &g_clock;
  o.persist = &m->vtable;
  hubc_store *s = NULL;
  int rc = hubc_store_open(&s, &o);
  if (rc) fail_msg("open: %s", hubc_error_last());
  return gc_store(s);
}

static const char *email_of(hubc_store *s, hubc_id id, char *buf) {
  hubc_contact *c = NULL;
  assert_int_equal(hubc_contact_get(&c, s, id), 0);
  const char *e = hubc_contact_prop(c, "email");
  strcpy(buf, e ? e : "");
  hubc_contact_free(c);
  return buf;
}

static size_t legacy_ids(hubc_store *s, hubc_id *out, size_t cap) {
  hubc_contact_iterator *it = NULL;
  assert_int_equal(hubc_contact_iterator_new(&it, s, HUBC_SELECT_LEGACY_EMAIL), 0);
  size_t n = 0;
  hubc_id id;
  while (hubc_contact_iterator_next(&id, it) == 0) {
    assert_true(n < cap);
    out[n++] = id;
  }
  hubc_contact_iterator_free(it);
  return n;
}

static hubc_id found(hubc_store *s, const char *email) {
  hubc_id id = 0;
  if (hubc_contact_find(&id, s, email)) fail_msg("find '%s': %s", email, hubc_error_last());
  return id;
}

/* An address written with an uppercase non-ASCII letter, decomposed, or
 * both, takes today's form at load when nobody has that form yet. */
static void c3_stored_address_in_the_older_form_is_renormalized_at_load(void **state) {
  (void)state;
  const char *emails[] = {"\xc3\x80nna@x.it", ("be\xcc\x81" "a@x.it"), "plain@x.it"};
  tu_mem *m = stored(emails, 3);
  hubc_store *s = reopen(m);
  char buf[300];
  assert_string_equal(email_of(s, 1, buf), "\xc3\xa0nna@x.it");
  assert_string_equal(email_of(s, 2, buf), "b\xc3\xa9" "a@x.it");
  assert_int_equal(found(s, "\xc3\x80NNA@X.IT"), 1);
  assert_int_equal(found(s, "B\xc3\x89" "A@x.it"), 2);
  assert_int_equal(found(s, "plain@x.it"), 3);
  hubc_id ids[4];
  assert_int_equal(legacy_ids(s, ids, 4), 0);
  int rc;
  create(s, "\xc3\xa0NNA@x.it", &rc);
  assert_int_equal(rc, HUBC_EEXISTS);
  /* the next change of the contact stores today's form */
  const char *n[] = {"city"}, *v[] = {"Roma"};
  assert_int_equal(hubc_contact_update(s, ADMIN, 1, n, v, 1), 0);
  gc_release(s);
  s = reopen(m);
  assert_string_equal(email_of(s, 1, buf), "\xc3\xa0nna@x.it");
  assert_int_equal(found(s, "\xc3\xa0nna@x.it"), 1);
}

/* Two stored contacts the new rule makes equal both load with every
 * property; the one already in today's form, else the lower id, owns the
 * address; the other keeps its stored address, listed by
 * HUBC_SELECT_LEGACY_EMAIL, and a lookup of that address names the owner. */
static void c3_stored_pair_made_equal_both_load_and_are_reported(void **state) {
  (void)state;
  const char *emails[] = {"\xc3\x80nna@x.it", "a\xcc\x80nna@x.it", "\xc3\xa0nna@x.it", "zo\xc3\x8b@x.it",
                          "zo\xc3\xab@x.it" /* already in today's form */};
  tu_mem *m = stored(emails, 5);
  hubc_store *s = reopen(m);
  assert_int_equal(count(s), 5);
  char buf[300];
  for (hubc_id id = 1; id <= 5; id++) {
    hubc_contact *c = NULL;
    assert_int_equal(hubc_contact_get(&c, s, id), 0);
    char first[32];
    snprintf(first, sizeof first, "C%lld", (long long)id);
    assert_string_equal(hubc_contact_prop(c, "firstname"), first);
    hubc_contact_free(c);
  }
  assert_int_equal(found(s, "\xc3\x80NNA@x.it"), 3); /* stored in today's form */
  assert_int_equal(found(s, "ZO\xc3\x8b@x.it"), 5);
  assert_string_equal(email_of(s, 1, buf), emails[0]); /* kept as stored */
  assert_string_equal(email_of(s, 2, buf), emails[1]);
  assert_string_equal(email_of(s, 4, buf), emails[3]);
  hubc_id ids[8];
  assert_int_equal(legacy_ids(s, ids, 8), 3);
  assert_int_equal(ids[0], 1);
  assert_int_equal(ids[1], 2);
  assert_int_equal(ids[2], 4);
  for (size_t i = 0; i < 3; i++) { /* the report: each with its owner */
    hubc_id owner = found(s, email_of(s, ids[i], buf));
    assert_int_equal(owner, ids[i] == 4 ? 5 : 3);
  }
  /* C5 holds: the address cannot be given to either again */
  const char *n[] = {"email"}, *v[] = {"\xc3\xa0nna@x.it"};
  assert_int_equal(hubc_contact_update(s, ADMIN, 1, n, v, 1), HUBC_EEXISTS);
  /* changing the address settles it */
  v[0] = "anna.b@x.it";
  assert_int_equal(hubc_contact_update(s, ADMIN, 1, n, v, 1), 0);
  assert_int_equal(legacy_ids(s, ids, 8), 2);
  /* without a stored owner in today's form, the lowest id takes it */
  const char *pair[] = {"a\xcc\x80nna@x.it", "\xc3\x80nna@x.it"};
  s = reopen(stored(pair, 2));
  assert_int_equal(found(s, "\xc3\xa0nna@x.it"), 1);
  assert_string_equal(email_of(s, 1, buf), "\xc3\xa0nna@x.it");
  assert_string_equal(email_of(s, 2, buf), pair[1]);
  assert_int_equal(legacy_ids(s, ids, 8), 1);
  assert_int_equal(ids[0], 2);
}

/* An address the new rule refuses (a NBSP, a zero-width space) loads as
 * stored; lookups cannot reach it (they refuse such input); it is listed. */
static void c3_stored_address_the_new_rule_refuses_still_loads(void **state) {
  (void)state;
  const char *emails[] = {"anna\xc2\xa0" "b@x.it", "zw\xe2\x80\x8bsp@x.it"};
  tu_mem *m = stored(emails, 2);
  hubc_store *s = reopen(m);
  char buf[300];
  assert_string_equal(email_of(s, 1, buf), emails[0]);
  assert_string_equal(email_of(s, 2, buf), emails[1]);
  hubc_id ids[4], id;
  assert_int_equal(legacy_ids(s, ids, 4), 2);
  assert_int_equal(hubc_contact_find(&id, s, emails[0]), HUBC_EINVAL);
  const char *n[] = {"city"}, *v[] = {"Roma"}; /* the contact still changes */
  assert_int_equal(hubc_contact_update(s, ADMIN, 1, n, v, 1), 0);
  assert_int_equal(hubc_contact_delete(s, ADMIN, 2), 0);
  gc_release(s);
  s = reopen(m);
  assert_string_equal(email_of(s, 1, buf), emails[0]);
  assert_int_equal(count(s), 1);
}

/* Not every stored address is accepted: one the older rule would not have
 * written (ASCII uppercase, a space) is still damage. */
static void c3_stored_address_outside_both_rules_is_corrupt(void **state) {
  (void)state;
  const char *bad[] = {"Anna@x.it", "an na@x.it", "\xc3\x80nna@X.it"};
  for (size_t i = 0; i < 3; i++) {
    tu_mem *m = stored(&bad[i], 1);
    hubc_store_options o;
    hubc_store_options_init(&o, HUBC_STORE_OPTIONS_VERSION);
    o.clock = tu_clock_fn;
    o.clock_payload = &g_clock;
    o.persist = &m->vtable;
    hubc_store *s = NULL;
    if (hubc_store_open(&s, &o) != HUBC_ECORRUPT) fail_msg("'%s' loaded", bad[i]);
    assert_non_null(strstr(hubc_error_last(), "contact record 1"));
  }
}

/* Users: an address the new rule refuses loads as stored; two users the
 * new rule makes equal both load, and lookups find the lower id. */
static void c3_stored_user_addresses_keep_loading(void **state) {
  (void)state;
  const char *users[] = {"\xc3\x89lise@x.fr", "e\xcc\x81lise@x.fr", "nb\xc2\xa0sp@x.fr"};
  hubc_store *s = reopen(stored_with_users(NULL, 0, users, 3));
  hubc_user *u = NULL;
  assert_int_equal(hubc_user_get_by_email(&u, s, "\xc3\xa9LISE@x.fr"), 0);
  assert_int_equal(hubc_user_id(u), 2);
  hubc_user_free(u);
  assert_int_equal(hubc_user_get(&u, s, 3), 0);
  hubc_user_free(u);
  assert_int_equal(hubc_user_get(&u, s, 4), 0);
  assert_string_equal(hubc_user_email(u), "nb\xc2\xa0sp@x.fr");
  hubc_user_free(u);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(c3_unicode_white_space_is_refused_anywhere, gc_teardown),
      cmocka_unit_test_teardown(c3_line_and_paragraph_separators_are_refused, gc_teardown),
      cmocka_unit_test_teardown(c3_format_characters_are_refused, gc_teardown),
      cmocka_unit_test_teardown(c3_c1_controls_and_unassigned_code_points_are_refused, gc_teardown),
      cmocka_unit_test_teardown(c3_unicode_case_and_composition_make_one_contact, gc_teardown),
      cmocka_unit_test_teardown(c3_many_lookups_and_users_follow_the_unicode_rule, gc_teardown),
      cmocka_unit_test_teardown(c3_length_bound_applies_to_the_normalized_form, gc_teardown),
      cmocka_unit_test_teardown(c3_normalization_is_idempotent, gc_teardown),
      cmocka_unit_test_teardown(c3_stored_address_in_the_older_form_is_renormalized_at_load, gc_teardown),
      cmocka_unit_test_teardown(c3_stored_pair_made_equal_both_load_and_are_reported, gc_teardown),
      cmocka_unit_test_teardown(c3_stored_address_the_new_rule_refuses_still_loads, gc_teardown),
      cmocka_unit_test_teardown(c3_stored_address_outside_both_rules_is_corrupt, gc_teardown),
      cmocka_unit_test_teardown(c3_stored_user_addresses_keep_loading, gc_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
