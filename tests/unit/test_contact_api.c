/* The store's API surface: argument checking of every public function
 * (R4), error codes and thread-local messages (R5), version and option
 * helpers, allocation failure N for every mutating call and for open
 * (DESIGN §6), and re-entrant calls from callbacks (R6). */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

#define ADMIN ((hubc_id)1)
#define T0 tu_time(2024, 3, 21, 10, 0, 0)

/* ---- helpers ------------------------------------------------------------ */

/* Leaves the thread's last error empty (a call that succeeds). */
static void clear_err(void) {
  hubc_store_options o;
  assert_int_equal(hubc_store_options_init(&o, HUBC_STORE_OPTIONS_VERSION), 0);
  assert_string_equal(hubc_error_last(), "");
  assert_int_equal(hubc_error_last_code(), 0);
}

static void check_bad(int rc, int code, const char *call, int line) {
  const char *msg = hubc_error_last();
  if (rc != code)
    fail_msg("line %d: %s returned %d (%s), expected %d (%s); message '%s'", line, call, rc, hubc_strerror(rc), code,
             hubc_strerror(code), msg);
  if (msg[0] == '\0') fail_msg("line %d: %s returned %d with an empty hubc_error_last()", line, call, rc);
  if (hubc_error_last_code() != code)
    fail_msg("line %d: %s: hubc_error_last_code() is %d, expected %d", line, call, hubc_error_last_code(), code);
}

/* `call` must return `code` with a message (R4, R5). */
#define BAD(code, call)                          \
  do {                                           \
    clear_err();                                 \
    int rc_ = (call);                            \
    check_bad(rc_, code, #call, __LINE__);       \
  } while (0)

static void ok(int rc) {
  if (rc != 0) fail_msg("call failed: %d (%s): %s", rc, hubc_strerror(rc), hubc_error_last());
}

static int open_opts(hubc_store **out, tu_clock *clk, tu_alloc *a, const hubc_persist *p) {
  hubc_store_options o;
  ok(hubc_store_options_init(&o, HUBC_STORE_OPTIONS_VERSION));
  o.clock = tu_clock_fn;
  o.clock_payload = clk;
  if (a) {
    o.alloc = tu_alloc_fn;
    o.alloc_payload = a;
  }
  o.admin_email = "admin@example.com";
  o.persist = p;
  *out = NULL;
  return hubc_store_open(out, &o);
}

static hubc_id contact(hubc_store *s, const char *email) { return tu_contact(s, ADMIN, email, "X"); }

static void noop_event(void *payload, const hubc_event *ev) {
  (void)payload;
  (void)ev;
}

/* ---- R4: every public function checks its arguments -------------------- */

static void r4_store_functions_refuse_null_and_bad_arguments(void **state) {
  (void)state;
  tu_clock clk = {T0};
  hubc_store *s = tu_open(&clk, NULL);
  hubc_id c1 = contact(s, "one@example.com");
  char *before = tu_dump(s);
  tu_buf buf = {0};

  /* store.h */
  BAD(HUBC_EINVAL, hubc_store_options_init(NULL, HUBC_STORE_OPTIONS_VERSION));
  hubc_store_options o;
  BAD(HUBC_EVERSION, hubc_store_options_init(&o, 0));
  BAD(HUBC_EVERSION, hubc_store_options_init(&o, HUBC_STORE_OPTIONS_VERSION + 1));
  BAD(HUBC_EINVAL, hubc_store_tick(NULL));
  BAD(HUBC_EINVAL, hubc_store_dump(NULL, tu_buf_write, &buf));
  BAD(HUBC_EINVAL, hubc_store_dump(s, NULL, &buf));
  hubc_billing_info bi;
  memset(&bi, 0, sizeof bi);
  bi.version = HUBC_BILLING_INFO_VERSION;
  BAD(HUBC_EINVAL, hubc_billing_get(NULL, s));
  BAD(HUBC_EINVAL, hubc_billing_get(&bi, NULL));
  bi.version = 0;
  BAD(HUBC_EVERSION, hubc_billing_get(&bi, s));
  bi.version = HUBC_BILLING_INFO_VERSION + 1;
  BAD(HUBC_EVERSION, hubc_billing_get(&bi, s));
  BAD(HUBC_EINVAL, hubc_billing_request_downgrade(NULL, ADMIN, 0));
  hubc_period_iterator *pit = (hubc_period_iterator *)&pit;
  BAD(HUBC_EINVAL, hubc_period_iterator_new(NULL, s));
  BAD(HUBC_EINVAL, hubc_period_iterator_new(&pit, NULL));
  assert_null(pit);
  ok(hubc_period_iterator_new(&pit, s));
  hubc_period per;
  memset(&per, 0, sizeof per);
  per.version = HUBC_PERIOD_VERSION;
  BAD(HUBC_EINVAL, hubc_period_iterator_next(NULL, pit));
  BAD(HUBC_EINVAL, hubc_period_iterator_next(&per, NULL));
  per.version = 0;
  BAD(HUBC_EVERSION, hubc_period_iterator_next(&per, pit));
  hubc_period_iterator_free(pit);
  hubc_period_iterator_free(NULL);
  BAD(HUBC_EINVAL, hubc_store_set_event_callback(NULL, noop_event, NULL));
  assert_int_equal(hubc_store_now(NULL), 0);
  hubc_store_close(NULL);

  /* contact.h: schema */
  const char *const opts2[] = {"a", "b"};
  const char *const opts_null[] = {"a", NULL};
  BAD(HUBC_EINVAL, hubc_property_define(NULL, ADMIN, "p", NULL, HUBC_PROP_STRING, NULL, 0));
  BAD(HUBC_EINVAL, hubc_property_define(s, ADMIN, NULL, NULL, HUBC_PROP_STRING, NULL, 0));
  BAD(HUBC_EINVAL, hubc_property_define(s, ADMIN, "p", NULL, 5, NULL, 0));
  BAD(HUBC_EINVAL, hubc_property_define(s, ADMIN, "p", NULL, -1, NULL, 0));
  BAD(HUBC_EINVAL, hubc_property_define(s, ADMIN, "p", NULL, HUBC_PROP_ENUMERATION, NULL, 2));
  BAD(HUBC_EINVAL, hubc_property_define(s, ADMIN, "p", NULL, HUBC_PROP_ENUMERATION, opts_null, 2));
  BAD(HUBC_EINVAL, hubc_property_define(s, ADMIN, "p", "bad \xC0\xAF label", HUBC_PROP_STRING, NULL, 0));
  BAD(HUBC_EINVAL, hubc_property_define(s, ADMIN, "p\xC3\xA9", NULL, HUBC_PROP_STRING, NULL, 0));
  BAD(HUBC_EINVAL, hubc_property_define(s, ADMIN, "p", NULL, HUBC_PROP_NUMBER, opts2, 2));
  size_t n = 0;
  BAD(HUBC_EINVAL, hubc_property_count(NULL, s));
  BAD(HUBC_EINVAL, hubc_property_count(&n, NULL));
  hubc_property_info info;
  memset(&info, 0, sizeof info);
  info.version = HUBC_PROPERTY_INFO_VERSION;
  BAD(HUBC_EINVAL, hubc_property_at(NULL, s, 0));
  BAD(HUBC_EINVAL, hubc_property_at(&info, NULL, 0));
  BAD(HUBC_EINVAL, hubc_property_find(NULL, s, "email"));
  BAD(HUBC_EINVAL, hubc_property_find(&info, NULL, "email"));
  BAD(HUBC_EINVAL, hubc_property_find(&info, s, NULL));
  info.version = 0;
  BAD(HUBC_EVERSION, hubc_property_at(&info, s, 0));
  BAD(HUBC_EVERSION, hubc_property_find(&info, s, "email"));
  info.version = HUBC_PROPERTY_INFO_VERSION + 1;
  BAD(HUBC_EVERSION, hubc_property_at(&info, s, 0));

  /* contact.h: sources */
  assert_null(hubc_source_name(0));
  assert_null(hubc_source_name(-1));
  assert_null(hubc_source_name(HUBC_SOURCE_UPDATE_DATE + 1));
  for (int src = HUBC_SOURCE_MANUAL; src <= HUBC_SOURCE_UPDATE_DATE; src++) {
    assert_non_null(hubc_source_name(src));
    assert_true(hubc_source_name(src)[0] != '\0');
  }
  int mk = 0;
  BAD(HUBC_EINVAL, hubc_source_set_default(NULL, ADMIN, HUBC_SOURCE_CHATFLOW, 5, 1));
  BAD(HUBC_EINVAL, hubc_source_set_default(s, ADMIN, 99, 5, 1));
  BAD(HUBC_EINVAL, hubc_source_set_default(s, ADMIN, -3, 5, 1));
  BAD(HUBC_EINVAL, hubc_source_set_default(s, ADMIN, HUBC_SOURCE_MANUAL, 5, 1));
  BAD(HUBC_EINVAL, hubc_source_set_default(s, ADMIN, HUBC_SOURCE_CHATFLOW, 5, 2));
  BAD(HUBC_EINVAL, hubc_source_get_default(NULL, s, HUBC_SOURCE_CHATFLOW, 5));
  BAD(HUBC_EINVAL, hubc_source_get_default(&mk, NULL, HUBC_SOURCE_CHATFLOW, 5));
  BAD(HUBC_EINVAL, hubc_source_get_default(&mk, s, 99, 5));

  /* contact.h: contacts */
  hubc_create_options co;
  BAD(HUBC_EINVAL, hubc_create_options_init(NULL, HUBC_CREATE_OPTIONS_VERSION));
  BAD(HUBC_EVERSION, hubc_create_options_init(&co, 0));
  BAD(HUBC_EVERSION, hubc_create_options_init(&co, HUBC_CREATE_OPTIONS_VERSION + 1));
  const char *names[] = {"email"};
  const char *values[] = {"new@example.com"};
  const char *null_name[] = {NULL};
  hubc_id id = 0;
  BAD(HUBC_EINVAL, hubc_contact_create(&id, NULL, ADMIN, NULL, names, values, 1));
  BAD(HUBC_EINVAL, hubc_contact_create(&id, s, ADMIN, NULL, NULL, values, 1));
  BAD(HUBC_EINVAL, hubc_contact_create(&id, s, ADMIN, NULL, names, NULL, 1));
  BAD(HUBC_EINVAL, hubc_contact_create(&id, s, ADMIN, NULL, null_name, values, 1));
  ok(hubc_create_options_init(&co, HUBC_CREATE_OPTIONS_VERSION));
  co.version = 0;
  BAD(HUBC_EVERSION, hubc_contact_create(&id, s, ADMIN, &co, names, values, 1));
  co.version = HUBC_CREATE_OPTIONS_VERSION + 1;
  BAD(HUBC_EVERSION, hubc_contact_create(&id, s, ADMIN, &co, names, values, 1));
  co.version = HUBC_CREATE_OPTIONS_VERSION;
  co.source = 99;
  BAD(HUBC_EINVAL, hubc_contact_create(&id, s, ADMIN, &co, names, values, 1));
  co.source = -1;
  BAD(HUBC_EINVAL, hubc_contact_create(&id, s, ADMIN, &co, names, values, 1));
  co.source = HUBC_SOURCE_UPDATE_DATE;
  BAD(HUBC_EINVAL, hubc_contact_create(&id, s, ADMIN, &co, names, values, 1));
  co.source = HUBC_SOURCE_MANUAL;
  co.marketing = 2;
  BAD(HUBC_EINVAL, hubc_contact_create(&id, s, ADMIN, &co, names, values, 1));
  co.marketing = -1;
  BAD(HUBC_EINVAL, hubc_contact_create(&id, s, ADMIN, &co, names, values, 1));
  hubc_id ids[1] = {0};
  BAD(HUBC_EINVAL, hubc_contact_create_batch(ids, NULL, ADMIN, NULL, names, 1, values, 1));
  BAD(HUBC_EINVAL, hubc_contact_create_batch(ids, s, ADMIN, NULL, NULL, 1, values, 1));
  BAD(HUBC_EINVAL, hubc_contact_create_batch(ids, s, ADMIN, NULL, names, 1, NULL, 1));
  BAD(HUBC_EINVAL, hubc_contact_create_batch(ids, s, ADMIN, NULL, null_name, 1, values, 1));
  co.version = 0;
  BAD(HUBC_EVERSION, hubc_contact_create_batch(ids, s, ADMIN, &co, names, 1, values, 1));
  co.version = HUBC_CREATE_OPTIONS_VERSION;
  co.source = 99;
  BAD(HUBC_EINVAL, hubc_contact_create_batch(ids, s, ADMIN, &co, names, 1, values, 1));
  co.source = HUBC_SOURCE_MANUAL;
  BAD(HUBC_EINVAL, hubc_contact_update(NULL, ADMIN, c1, names, values, 1));
  BAD(HUBC_EINVAL, hubc_contact_update(s, ADMIN, c1, NULL, values, 1));
  BAD(HUBC_EINVAL, hubc_contact_update(s, ADMIN, c1, names, NULL, 1));
  BAD(HUBC_EINVAL, hubc_contact_update(s, ADMIN, c1, null_name, values, 1));
  BAD(HUBC_EINVAL, hubc_contact_delete(NULL, ADMIN, c1));
  hubc_contact *c = (hubc_contact *)&c;
  BAD(HUBC_EINVAL, hubc_contact_get(NULL, s, c1));
  BAD(HUBC_EINVAL, hubc_contact_get(&c, NULL, c1));
  assert_null(c);
  BAD(HUBC_EINVAL, hubc_contact_get_by_email(NULL, s, "one@example.com"));
  BAD(HUBC_EINVAL, hubc_contact_get_by_email(&c, NULL, "one@example.com"));
  BAD(HUBC_EINVAL, hubc_contact_get_by_email(&c, s, NULL));
  BAD(HUBC_EINVAL, hubc_contact_get_by_email(&c, s, "one\xC0@example.com"));
  BAD(HUBC_EINVAL, hubc_contact_find(NULL, s, "one@example.com"));
  BAD(HUBC_EINVAL, hubc_contact_find(&id, NULL, "one@example.com"));
  BAD(HUBC_EINVAL, hubc_contact_find(&id, s, NULL));
  const char *one[] = {"one@example.com"}, *null_email[] = {NULL};
  hubc_contact *cs[1];
  hubc_id ids1[1];
  BAD(HUBC_EINVAL, hubc_contact_get_many(NULL, s, one, 1));
  /* out starts as a non-NULL sentinel: a failed call must leave it NULL */
#define MANY_BAD(store, emails)                                       \
  do {                                                                \
    cs[0] = (hubc_contact *)cs;                                       \
    ids1[0] = 7;                                                      \
    BAD(HUBC_EINVAL, hubc_contact_get_many(cs, store, emails, 1));    \
    assert_null(cs[0]);                                               \
    BAD(HUBC_EINVAL, hubc_contact_find_many(ids1, store, emails, 1)); \
    assert_int_equal(ids1[0], 0);                                     \
  } while (0)
  MANY_BAD(NULL, one);
  MANY_BAD(s, NULL);
  MANY_BAD(s, null_email);
  assert_non_null(strstr(hubc_error_last(), "row 0"));
#undef MANY_BAD
  BAD(HUBC_EINVAL, hubc_contact_find_many(NULL, s, one, 1));
  ok(hubc_contact_get_many(NULL, s, NULL, 0)); /* nothing asked, nothing done */
  ok(hubc_contact_find_many(NULL, s, NULL, 0));
  uint64_t count = 0;
  BAD(HUBC_EINVAL, hubc_contact_count(NULL, s));
  BAD(HUBC_EINVAL, hubc_contact_count(&count, NULL));
  /* snapshot getters on NULL */
  hubc_contact_free(NULL);
  assert_int_equal(hubc_contact_id(NULL), 0);
  assert_null(hubc_contact_prop(NULL, "email"));
  assert_int_equal(hubc_contact_prop_count(NULL), 0);
  assert_int_equal(hubc_contact_created(NULL), 0);
  assert_int_equal(hubc_contact_modified(NULL), 0);
  int rt = 0, src = 0;
  hubc_id rid = 0;
  const char *pn = NULL, *pv = NULL;
  BAD(HUBC_EINVAL, hubc_contact_reason(&rt, &rid, NULL));
  BAD(HUBC_EINVAL, hubc_contact_source(&src, &rid, NULL));
  BAD(HUBC_EINVAL, hubc_contact_prop_at(&pn, &pv, NULL, 0));
  ok(hubc_contact_get(&c, s, c1));
  assert_null(hubc_contact_prop(c, NULL));
  BAD(HUBC_EINVAL, hubc_contact_prop_at(NULL, &pv, c, 0));
  BAD(HUBC_EINVAL, hubc_contact_prop_at(&pn, NULL, c, 0));
  hubc_contact_free(c);
  /* iterators */
  hubc_contact_iterator *it = (hubc_contact_iterator *)&it;
  BAD(HUBC_EINVAL, hubc_contact_iterator_new(NULL, s, HUBC_SELECT_ALL));
  BAD(HUBC_EINVAL, hubc_contact_iterator_new(&it, NULL, HUBC_SELECT_ALL));
  assert_null(it);
  BAD(HUBC_EINVAL, hubc_contact_iterator_new(&it, s, -1));
  BAD(HUBC_EINVAL, hubc_contact_iterator_new(&it, s, HUBC_SELECT_LEGACY_EMAIL + 1));
  ok(hubc_contact_iterator_new(&it, s, HUBC_SELECT_ALL));
  BAD(HUBC_EINVAL, hubc_contact_iterator_next(NULL, it));
  BAD(HUBC_EINVAL, hubc_contact_iterator_next(&id, NULL));
  hubc_contact_iterator_free(it);
  hubc_contact_iterator_free(NULL);
  /* marketing status */
  BAD(HUBC_EINVAL, hubc_contact_set_marketing(NULL, ADMIN, c1, HUBC_SOURCE_MANUAL, 1));
  BAD(HUBC_EINVAL, hubc_contact_set_non_marketing(NULL, ADMIN, c1, HUBC_SOURCE_MANUAL, 1));
  int bad_reasons[] = {0, -1, 99, HUBC_SOURCE_UPDATE_DATE};
  for (size_t i = 0; i < sizeof bad_reasons / sizeof *bad_reasons; i++) {
    BAD(HUBC_EINVAL, hubc_contact_set_marketing(s, ADMIN, c1, bad_reasons[i], 1));
    BAD(HUBC_EINVAL, hubc_contact_set_non_marketing(s, ADMIN, c1, bad_reasons[i], 1));
  }
  /* history */
  hubc_history_iterator *hit = (hubc_history_iterator *)&hit;
  BAD(HUBC_EINVAL, hubc_history_iterator_new(NULL, s, 0));
  BAD(HUBC_EINVAL, hubc_history_iterator_new(&hit, NULL, 0));
  assert_null(hit);
  BAD(HUBC_EINVAL, hubc_history_iterator_new(&hit, s, -1));
  ok(hubc_history_iterator_new(&hit, s, 0));
  hubc_history_entry he;
  memset(&he, 0, sizeof he);
  he.version = HUBC_HISTORY_ENTRY_VERSION;
  BAD(HUBC_EINVAL, hubc_history_iterator_next(NULL, hit));
  BAD(HUBC_EINVAL, hubc_history_iterator_next(&he, NULL));
  he.version = 0;
  BAD(HUBC_EVERSION, hubc_history_iterator_next(&he, hit));
  hubc_history_iterator_free(hit);
  hubc_history_iterator_free(NULL);
  BAD(HUBC_EINVAL, hubc_history_export(NULL, 0, tu_buf_write, &buf));
  BAD(HUBC_EINVAL, hubc_history_export(s, 0, NULL, &buf));
  BAD(HUBC_EINVAL, hubc_history_export(s, -1, tu_buf_write, &buf));
  assert_null(hubc_status_name(-1));
  assert_null(hubc_status_name(3));
  assert_string_equal(hubc_status_name(HUBC_NON_MARKETING), "NON_MARKETING");
  assert_string_equal(hubc_status_name(HUBC_MARKETING), "MARKETING");
  assert_string_equal(hubc_status_name(HUBC_MARKETING_UNTIL_UPDATE), "MARKETING_UNTIL_UPDATE");

  /* user.h */
  BAD(HUBC_EINVAL, hubc_user_create(&id, NULL, ADMIN, "u@example.com"));
  BAD(HUBC_EINVAL, hubc_user_create(&id, s, ADMIN, NULL));
  BAD(HUBC_EINVAL, hubc_user_create(&id, s, ADMIN, "not an email"));
  BAD(HUBC_EINVAL, hubc_user_create(&id, s, ADMIN, "u\xED\xA0\x80@example.com"));
  BAD(HUBC_EINVAL, hubc_user_set_permissions(NULL, ADMIN, ADMIN, HUBC_PERM_DEFAULT));
  BAD(HUBC_EINVAL, hubc_user_set_permissions(s, ADMIN, ADMIN, HUBC_PERM_ALL + 1));
  BAD(HUBC_EINVAL, hubc_user_set_permissions(s, ADMIN, ADMIN, 0x80000000u));
  BAD(HUBC_EINVAL, hubc_user_set_super_admin(NULL, ADMIN, ADMIN, 1));
  BAD(HUBC_EINVAL, hubc_user_set_super_admin(s, ADMIN, ADMIN, 2));
  BAD(HUBC_EINVAL, hubc_user_set_disabled(NULL, ADMIN, ADMIN, 0));
  BAD(HUBC_EINVAL, hubc_user_set_disabled(s, ADMIN, ADMIN, -1));
  hubc_user *u = (hubc_user *)&u;
  BAD(HUBC_EINVAL, hubc_user_get(NULL, s, ADMIN));
  BAD(HUBC_EINVAL, hubc_user_get(&u, NULL, ADMIN));
  assert_null(u);
  BAD(HUBC_EINVAL, hubc_user_get_by_email(NULL, s, "admin@example.com"));
  BAD(HUBC_EINVAL, hubc_user_get_by_email(&u, NULL, "admin@example.com"));
  BAD(HUBC_EINVAL, hubc_user_get_by_email(&u, s, NULL));
  BAD(HUBC_EINVAL, hubc_user_get_by_email(&u, s, "admin\xFF@example.com"));
  hubc_user_free(NULL);
  assert_int_equal(hubc_user_id(NULL), 0);
  assert_null(hubc_user_email(NULL));
  assert_int_equal(hubc_user_permissions(NULL), 0);
  assert_int_equal(hubc_user_is_super_admin(NULL), 0);
  assert_int_equal(hubc_user_is_disabled(NULL), 0);
  assert_int_equal(hubc_user_can(NULL, HUBC_PERM_EDIT_CONTACTS), 0);
  ok(hubc_user_get(&u, s, ADMIN));
  assert_int_equal(hubc_user_can(u, 0x100), 0); /* unknown permission bit */
  hubc_user_free(u);
  hubc_user_iterator *uit = (hubc_user_iterator *)&uit;
  BAD(HUBC_EINVAL, hubc_user_iterator_new(NULL, s));
  BAD(HUBC_EINVAL, hubc_user_iterator_new(&uit, NULL));
  assert_null(uit);
  ok(hubc_user_iterator_new(&uit, s));
  BAD(HUBC_EINVAL, hubc_user_iterator_next(NULL, uit));
  BAD(HUBC_EINVAL, hubc_user_iterator_next(&id, NULL));
  hubc_user_iterator_free(uit);
  hubc_user_iterator_free(NULL);

  /* sys/persist.h */
  BAD(HUBC_EINVAL, hubc_loader_put(NULL, HUBC_REC_CONTACT, 1, "x", 1));
  BAD(HUBC_EINVAL, hubc_loader_del(NULL, HUBC_REC_CONTACT, 1));

  /* none of this changed the store */
  char *after = tu_dump(s);
  assert_string_equal(before, after);
  free(before);
  free(after);
  tu_buf_free(&buf);
  hubc_store_close(s);
}

static void r4_store_open_refuses_bad_options_without_leaking(void **state) {
  (void)state;
  tu_clock clk = {T0};
  tu_alloc a = {0};
  tu_mem m;
  tu_mem_init(&m);
  hubc_store *s = (hubc_store *)&s;
  hubc_store_options o;
  const uint64_t not_increasing[] = {1000, 500};
  const uint64_t zero_rung[] = {0, 1000};
  BAD(HUBC_EINVAL, hubc_store_open(NULL, &o));
  BAD(HUBC_EINVAL, hubc_store_open(&s, NULL));
  assert_null(s);
  for (int k = 0; k < 13; k++) {
    ok(hubc_store_options_init(&o, HUBC_STORE_OPTIONS_VERSION));
    o.clock = tu_clock_fn;
    o.clock_payload = &clk;
    o.alloc = tu_alloc_fn;
    o.alloc_payload = &a;
    o.admin_email = "admin@example.com";
    hubc_persist bad_persist = m.vtable;
    int want = HUBC_EINVAL;
    switch (k) {
    case 0: o.version = 0; want = HUBC_EVERSION; break;
    case 1: o.version = HUBC_STORE_OPTIONS_VERSION + 1; want = HUBC_EVERSION; break;
    case 2: bad_persist.version = HUBC_PERSIST_VERSION + 1; o.persist = &bad_persist; want = HUBC_EVERSION; break;
    case 3: o.subscription = HUBC_SUBSCRIPTION_ENTERPRISE + 1; break;
    case 4: o.subscription = -1; break;
    case 5: o.commitment = HUBC_COMMITMENT_ANNUAL + 1; break;
    case 6: o.tier_policy = HUBC_TIER_HARD_CAP + 1; break;
    case 7: o.tier_ladder = NULL; o.tier_ladder_len = 3; break;
    case 8: o.tier_ladder = not_increasing; o.tier_ladder_len = 2; break;
    case 9: o.tier_ladder = zero_rung; o.tier_ladder_len = 2; break;
    case 10: o.admin_email = NULL; break; /* a new store needs its first admin */
    case 11: o.admin_email = "admin at example dot com"; break;
    case 12: o.admin_email = "adm\xC0\x80in@example.com"; break;
    }
    s = (hubc_store *)&s;
    clear_err();
    int rc = hubc_store_open(&s, &o);
    if (rc != want) fail_msg("case %d: open returned %d, expected %d (%s)", k, rc, want, hubc_error_last());
    check_bad(rc, want, "hubc_store_open", __LINE__);
    assert_null(s);
    if (a.live != 0) fail_msg("case %d: %zu bytes leaked by a refused open", k, a.live);
  }
  assert_int_equal(m.commits, 0);
  tu_mem_free(&m);
}

static void r4_journal_functions_refuse_null_and_bad_arguments(void **state) {
  (void)state;
  hubc_journal_options jo;
  BAD(HUBC_EINVAL, hubc_journal_options_init(NULL, HUBC_JOURNAL_OPTIONS_VERSION));
  BAD(HUBC_EVERSION, hubc_journal_options_init(&jo, 0));
  BAD(HUBC_EVERSION, hubc_journal_options_init(&jo, HUBC_JOURNAL_OPTIONS_VERSION + 1));
  char path[] = "/tmp/hubc-test-store-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  unlink(path);
  hubc_journal *j = (hubc_journal *)&j;
  BAD(HUBC_EINVAL, hubc_journal_open(NULL, path, NULL));
  BAD(HUBC_EINVAL, hubc_journal_open(&j, NULL, NULL));
  assert_null(j);
  BAD(HUBC_EINVAL, hubc_journal_open(&j, "", NULL));
  ok(hubc_journal_options_init(&jo, HUBC_JOURNAL_OPTIONS_VERSION));
  jo.version = 0;
  BAD(HUBC_EVERSION, hubc_journal_open(&j, path, &jo));
  jo.version = HUBC_JOURNAL_OPTIONS_VERSION;
  jo.fsync_policy = HUBC_FSYNC_NEVER + 1;
  BAD(HUBC_EINVAL, hubc_journal_open(&j, path, &jo));
  jo.fsync_policy = -1;
  BAD(HUBC_EINVAL, hubc_journal_open(&j, path, &jo));
  assert_null(j);
  BAD(HUBC_EINVAL, hubc_journal_compact(NULL));
  clear_err();
  assert_null(hubc_journal_persist(NULL));
  assert_true(hubc_error_last()[0] != '\0');
  assert_int_equal(hubc_error_last_code(), HUBC_EINVAL);
  hubc_journal_close(NULL);
  /* nothing was created by the refused opens */
  assert_int_equal(access(path, F_OK), -1);
}

static void r4_contact_status_of_null_is_einval_with_a_message(void **state) {
  (void)state;
  /* returns an int code like every other call on a NULL handle, so it must
   * also say why (R4: "INVAL and a message") */
  BAD(HUBC_EINVAL, hubc_contact_status(NULL));
}

/* R4: invalid UTF-8 gives EINVAL wherever text comes in, property names
 * included (not "no such property"). */
static void r4_invalid_utf8_in_property_names_is_einval(void **state) {
  (void)state;
  tu_clock clk = {T0};
  hubc_store *s = tu_open(&clk, NULL);
  hubc_id id = contact(s, "one@example.com");
  char *before = tu_dump(s);
  const char *names[] = {"first\xC0\xAFname"};
  const char *values[] = {"x"};
  hubc_id nid = 0;
  BAD(HUBC_EINVAL, hubc_contact_create(&nid, s, ADMIN, NULL, names, values, 1));
  BAD(HUBC_EINVAL, hubc_contact_update(s, ADMIN, id, names, values, 1));
  hubc_property_info info;
  memset(&info, 0, sizeof info);
  info.version = HUBC_PROPERTY_INFO_VERSION;
  BAD(HUBC_EINVAL, hubc_property_find(&info, s, "\xED\xA0\x80"));
  char *after = tu_dump(s);
  assert_string_equal(before, after);
  free(before);
  free(after);
  hubc_store_close(s);
}

static int fail_write(void *payload, const char *data, size_t len) {
  int *calls = payload;
  (void)data;
  (void)len;
  return ++*calls >= 1 ? -1 : 0;
}

static void r4_failing_write_callback_gives_eio(void **state) {
  (void)state;
  tu_clock clk = {T0};
  hubc_store *s = tu_open(&clk, NULL);
  hubc_id id = contact(s, "one@example.com");
  ok(hubc_contact_set_marketing(s, ADMIN, id, HUBC_SOURCE_MANUAL, 1));
  int calls = 0;
  BAD(HUBC_EIO, hubc_store_dump(s, fail_write, &calls));
  assert_int_equal(calls, 1); /* stopped at the first refusal */
  calls = 0;
  BAD(HUBC_EIO, hubc_history_export(s, 0, fail_write, &calls));
  assert_int_equal(calls, 1);
  calls = 0;
  BAD(HUBC_EIO, hubc_history_export(s, id, fail_write, &calls));
  hubc_store_close(s);
}

/* Reads that allocate (snapshots, iterators, dumps) report ENOMEM, return
 * no object and leak nothing. */
static void r4_reads_report_allocation_failure(void **state) {
  (void)state;
  for (int k = 0; k < 9; k++) {
    for (size_t n = 1;; n++) {
      assert_true(n < 1000);
      tu_clock clk = {T0};
      tu_alloc a = {0};
      hubc_store *s = NULL;
      ok(open_opts(&s, &clk, &a, NULL));
      hubc_id id = contact(s, "one@example.com");
      ok(hubc_contact_set_marketing(s, ADMIN, id, HUBC_SOURCE_MANUAL, 1));
      ok(hubc_source_set_default(s, ADMIN, HUBC_SOURCE_CHATFLOW, 3, 1));
      /* the object under test starts as a non-NULL sentinel: a failed
       * call must set it to NULL */
      hubc_contact *c = NULL;
      hubc_user *u = NULL;
      hubc_contact_iterator *it = NULL;
      hubc_history_iterator *hit = NULL;
      hubc_user_iterator *uit = NULL;
      hubc_period_iterator *pit = NULL;
      void *sentinel = &sentinel;
      tu_buf buf = {0};
      void **made = NULL;
      hubc_id other = contact(s, "two@example.com");
      const char *emails[] = {"two@example.com", "none@example.com", "one@example.com"};
      hubc_contact *many[3] = {sentinel, sentinel, sentinel};
      a.fail_at = a.count + n;
      clear_err();
      int rc;
      switch (k) {
      case 0: c = sentinel; rc = hubc_contact_get(&c, s, id); made = (void **)&c; break;
      case 1: c = sentinel; rc = hubc_contact_get_by_email(&c, s, "one@example.com"); made = (void **)&c; break;
      case 2: u = sentinel; rc = hubc_user_get(&u, s, ADMIN); made = (void **)&u; break;
      case 3: it = sentinel; rc = hubc_contact_iterator_new(&it, s, HUBC_SELECT_ALL); made = (void **)&it; break;
      case 4: hit = sentinel; rc = hubc_history_iterator_new(&hit, s, id); made = (void **)&hit; break;
      case 5: uit = sentinel; rc = hubc_user_iterator_new(&uit, s); made = (void **)&uit; break;
      case 6: pit = sentinel; rc = hubc_period_iterator_new(&pit, s); made = (void **)&pit; break;
      case 7: rc = hubc_contact_get_many(many, s, emails, 3); break;
      default: rc = hubc_store_dump(s, tu_buf_write, &buf); break;
      }
      size_t failed = a.failures;
      a.fail_at = 0;
      if (rc == 0) {
        if (failed) fail_msg("read %d: allocation %zu failed but the call succeeded", k, n);
      } else {
        check_bad(rc, HUBC_ENOMEM, "read", __LINE__);
        if (made) assert_null(*made);
        for (int i = 0; k == 7 && i < 3; i++) assert_null(many[i]); /* all or nothing */
      }
      if (k == 7 && rc == 0) {
        assert_int_equal(hubc_contact_id(many[0]), other);
        assert_null(many[1]);
        assert_int_equal(hubc_contact_id(many[2]), id);
      }
      for (int i = 0; k == 7 && rc == 0 && i < 3; i++) hubc_contact_free(many[i]);
      hubc_contact_free(rc ? NULL : c);
      hubc_user_free(rc ? NULL : u);
      hubc_contact_iterator_free(rc ? NULL : it);
      hubc_history_iterator_free(rc ? NULL : hit);
      hubc_user_iterator_free(rc ? NULL : uit);
      hubc_period_iterator_free(rc ? NULL : pit);
      tu_buf_free(&buf);
      hubc_store_close(s);
      if (a.live) fail_msg("read %d N=%zu: %zu bytes leaked", k, n, a.live);
      if (rc == 0) {
        assert_true(n > 1); /* every one of these reads allocates */
        break;
      }
    }
  }
}

/* ---- R5: codes and messages --------------------------------------------- */

static void r5_error_codes_are_stable_integers(void **state) {
  (void)state;
  /* part of the ABI: never renumbered */
  assert_int_equal(HUBC_OK, 0);
  assert_int_equal(HUBC_ITEROVER, 1);
  assert_int_equal(HUBC_EINVAL, -1);
  assert_int_equal(HUBC_ENOMEM, -2);
  assert_int_equal(HUBC_ENOTFOUND, -3);
  assert_int_equal(HUBC_EEXISTS, -4);
  assert_int_equal(HUBC_EREADONLY, -5);
  assert_int_equal(HUBC_ELIMIT, -6);
  assert_int_equal(HUBC_EPERM, -7);
  assert_int_equal(HUBC_ECONFIRM, -8);
  assert_int_equal(HUBC_ETIER, -9);
  assert_int_equal(HUBC_EPERSIST, -10);
  assert_int_equal(HUBC_EAGAIN, -11);
  assert_int_equal(HUBC_EBUSY, -12);
  assert_int_equal(HUBC_ECORRUPT, -13);
  assert_int_equal(HUBC_EIO, -14);
  assert_int_equal(HUBC_ECANCELED, -15);
  assert_int_equal(HUBC_EVERSION, -16);
}

static void r5_strerror_describes_every_code(void **state) {
  (void)state;
  const char *seen[18];
  size_t n = 0;
  for (int code = HUBC_EVERSION; code <= HUBC_ITEROVER; code++) {
    const char *m = hubc_strerror(code);
    assert_non_null(m);
    if (m[0] == '\0') fail_msg("hubc_strerror(%d) is empty", code);
    for (size_t i = 0; i < n; i++)
      if (strcmp(seen[i], m) == 0) fail_msg("hubc_strerror(%d) repeats '%s'", code, m);
    seen[n++] = m;
  }
  assert_int_equal(n, 18);
  int unknown[] = {-17, -1000, 2, 1000, INT32_MIN, INT32_MAX};
  for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++) {
    const char *m = hubc_strerror(unknown[i]);
    assert_non_null(m);
    assert_true(m[0] != '\0');
  }
}

static void r5_error_last_is_cleared_by_success_and_names_the_problem(void **state) {
  (void)state;
  tu_clock clk = {T0};
  hubc_store *s = tu_open(&clk, NULL);
  hubc_id id = 0;
  assert_int_equal(hubc_contact_find(&id, s, "nobody@example.com"), HUBC_ENOTFOUND);
  assert_non_null(strstr(hubc_error_last(), "nobody@example.com"));
  assert_int_equal(hubc_error_last_code(), HUBC_ENOTFOUND);
  uint64_t n = 0;
  ok(hubc_contact_count(&n, s));
  assert_string_equal(hubc_error_last(), "");
  assert_int_equal(hubc_error_last_code(), 0);
  const char *names[] = {"lifecyclestage"};
  const char *values[] = {"martian"};
  assert_int_equal(hubc_contact_create(&id, s, ADMIN, NULL, names, values, 1), HUBC_EINVAL);
  assert_non_null(strstr(hubc_error_last(), "lifecyclestage"));
  assert_non_null(strstr(hubc_error_last(), "martian"));
  contact(s, "someone@example.com");
  assert_string_equal(hubc_error_last(), "");
  hubc_store_close(s);
}

typedef struct thread_err {
  char seen_at_start[256];
  int code_at_start;
  char own[256];
  int own_code;
} thread_err;

static void *err_thread(void *arg) {
  thread_err *t = arg;
  snprintf(t->seen_at_start, sizeof t->seen_at_start, "%s", hubc_error_last());
  t->code_at_start = hubc_error_last_code();
  hubc_store_options o;
  t->own_code = hubc_store_options_init(&o, 77);
  snprintf(t->own, sizeof t->own, "%s", hubc_error_last());
  return NULL;
}

static int utf8_ok(const char *p) {
  const unsigned char *s = (const unsigned char *)p;
  while (*s) {
    unsigned c = *s, n, min;
    if (c < 0x80) { s++; continue; }
    if ((c & 0xE0) == 0xC0) { n = 1; min = 0x80; c &= 0x1F; }
    else if ((c & 0xF0) == 0xE0) { n = 2; min = 0x800; c &= 0x0F; }
    else if ((c & 0xF8) == 0xF0) { n = 3; min = 0x10000; c &= 0x07; }
    else return 0;
    for (unsigned i = 1; i <= n; i++) {
      if ((s[i] & 0xC0) != 0x80) return 0;
      c = c << 6 | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
    s += n + 1;
  }
  return 1;
}

/* R5: the message is text a person (or a binding decoding it) can read,
 * even when the input it quotes was not. */
static void r5_error_messages_are_valid_utf8(void **state) {
  (void)state;
  tu_clock clk = {T0};
  hubc_store *s = tu_open(&clk, NULL);
  ok(hubc_property_define(s, ADMIN, "score", NULL, HUBC_PROP_NUMBER, NULL, 0));
  hubc_id id = contact(s, "one@example.com");
  /* 150 two-byte characters: a quote cut at a byte count splits one */
  char many[400];
  size_t k = 0;
  many[k++] = 'x';
  for (int i = 0; i < 150; i++) {
    many[k++] = '\xC3';
    many[k++] = '\xA9';
  }
  many[k] = '\0';
  const char *cases_n[] = {"score", "lifecyclestage", "email", "email"};
  const char *cases_v[] = {many, many, "bad\xC0\xAF@example.com", "\xFF\xFE@example.com"};
  char bad[512] = "";
  for (size_t i = 0; i < 4; i++) {
    const char *n[] = {cases_n[i]};
    const char *v[] = {cases_v[i]};
    assert_int_equal(hubc_contact_update(s, ADMIN, id, n, v, 1), HUBC_EINVAL);
    if (!utf8_ok(hubc_error_last())) snprintf(bad + strlen(bad), sizeof bad - strlen(bad), " update-%s-%zu", cases_n[i], i);
  }
  hubc_id found = 0;
  assert_int_equal(hubc_contact_find(&found, s, "bad\xC0\xAF@example.com"), HUBC_EINVAL);
  if (!utf8_ok(hubc_error_last())) snprintf(bad + strlen(bad), sizeof bad - strlen(bad), " find");
  assert_int_equal(hubc_user_create(&found, s, ADMIN, "bad\xC0\xAF@example.com"), HUBC_EINVAL);
  if (!utf8_ok(hubc_error_last())) snprintf(bad + strlen(bad), sizeof bad - strlen(bad), " user_create");
  const char *bad_name[] = {"na\xC0me"};
  const char *val[] = {"x"};
  assert_true(hubc_contact_update(s, ADMIN, id, bad_name, val, 1) < 0);
  if (!utf8_ok(hubc_error_last())) snprintf(bad + strlen(bad), sizeof bad - strlen(bad), " property-name");
  hubc_property_info info;
  memset(&info, 0, sizeof info);
  info.version = HUBC_PROPERTY_INFO_VERSION;
  assert_true(hubc_property_find(&info, s, "na\xC0me") < 0);
  if (!utf8_ok(hubc_error_last())) snprintf(bad + strlen(bad), sizeof bad - strlen(bad), " property_find");
  if (bad[0]) fail_msg("messages that are not valid UTF-8:%s", bad);
  hubc_store_close(s);
}

static void r5_error_last_is_thread_local(void **state) {
  (void)state;
  assert_int_equal(hubc_contact_count(NULL, NULL), HUBC_EINVAL);
  char mine[256];
  snprintf(mine, sizeof mine, "%s", hubc_error_last());
  assert_true(mine[0] != '\0');
  thread_err t;
  memset(&t, 0, sizeof t);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, err_thread, &t), 0);
  assert_int_equal(pthread_join(th, NULL), 0);
  /* the other thread did not see this thread's error… */
  assert_string_equal(t.seen_at_start, "");
  assert_int_equal(t.code_at_start, 0);
  /* …had its own… */
  assert_int_equal(t.own_code, HUBC_EVERSION);
  assert_non_null(strstr(t.own, "77"));
  /* …and did not overwrite this one */
  assert_string_equal(hubc_error_last(), mine);
  assert_int_equal(hubc_error_last_code(), HUBC_EINVAL);
}

/* ---- version and options ------------------------------------------------ */

static void r5_version_matches_the_headers(void **state) {
  (void)state;
  assert_int_equal(hubc_version_number(), HUBC_VERSION_NUMBER);
  assert_string_equal(hubc_version_string(), HUBC_VERSION_STRING);
  char want[32];
  snprintf(want, sizeof want, "%d.%d.%d", HUBC_VERSION_MAJOR, HUBC_VERSION_MINOR, HUBC_VERSION_PATCH);
  assert_string_equal(hubc_version_string(), want);
  assert_int_equal(HUBC_VERSION_NUMBER, HUBC_VERSION_MAJOR * 10000 + HUBC_VERSION_MINOR * 100 + HUBC_VERSION_PATCH);
}

static void r4_option_structs_init_and_size(void **state) {
  (void)state;
  assert_int_equal(hubc_store_options_size(), sizeof(hubc_store_options));
  hubc_store_options o;
  memset(&o, 0xA5, sizeof o);
  ok(hubc_store_options_init(&o, HUBC_STORE_OPTIONS_VERSION));
  hubc_store_options z = HUBC_STORE_OPTIONS_INIT;
  assert_int_equal(o.version, HUBC_STORE_OPTIONS_VERSION);
  assert_int_equal(z.version, HUBC_STORE_OPTIONS_VERSION);
  assert_null(o.clock);
  assert_null(o.clock_payload);
  assert_null(o.alloc);
  assert_null(o.alloc_payload);
  assert_null(o.admin_email);
  assert_int_equal(o.subscription, 0);
  assert_int_equal(o.commitment, 0);
  assert_int_equal(o.renewal_anchor, 0);
  assert_null(o.tier_ladder);
  assert_int_equal(o.tier_ladder_len, 0);
  assert_int_equal(o.tier, 0);
  assert_int_equal(o.tier_policy, 0);
  assert_int_equal(o.hard_cap, 0);
  assert_null(o.persist);
  /* the INIT macro and the function agree, field by field */
  assert_true(z.clock == o.clock && z.alloc == o.alloc && z.admin_email == o.admin_email &&
              z.subscription == o.subscription && z.commitment == o.commitment && z.tier == o.tier &&
              z.tier_policy == o.tier_policy && z.hard_cap == o.hard_cap && z.persist == o.persist &&
              z.tier_ladder == o.tier_ladder && z.tier_ladder_len == o.tier_ladder_len &&
              z.renewal_anchor == o.renewal_anchor);
  hubc_create_options co;
  memset(&co, 0xA5, sizeof co);
  ok(hubc_create_options_init(&co, HUBC_CREATE_OPTIONS_VERSION));
  hubc_create_options cz = HUBC_CREATE_OPTIONS_INIT;
  assert_int_equal(co.version, cz.version);
  assert_int_equal(co.source, cz.source);
  assert_int_equal(co.source_id, cz.source_id);
  assert_int_equal(co.marketing, cz.marketing);
  hubc_journal_options jo;
  memset(&jo, 0xA5, sizeof jo);
  ok(hubc_journal_options_init(&jo, HUBC_JOURNAL_OPTIONS_VERSION));
  hubc_journal_options jz = HUBC_JOURNAL_OPTIONS_INIT;
  assert_int_equal(jo.version, jz.version);
  assert_int_equal(jo.fsync_policy, jz.fsync_policy);
  assert_int_equal(jo.fsync_interval_ms, jz.fsync_interval_ms);
  assert_int_equal(jo.auto_compact_bytes, jz.auto_compact_bytes);
  /* a store opened from the INIT macro (plus the required admin) works */
  tu_clock clk = {T0};
  z.clock = tu_clock_fn;
  z.clock_payload = &clk;
  z.admin_email = "admin@example.com";
  hubc_store *s = NULL;
  ok(hubc_store_open(&s, &z));
  hubc_store_close(s);
}

/* ---- allocation failure N (DESIGN §6) ----------------------------------- */

enum { SETUP_SMALL, SETUP_GROWN, SETUP_GROWN_EVENTS, SETUP_COUNT, SETUP_FULL_INDEX = SETUP_COUNT };

/* Contacts 1 (MARKETING) and 2 (NON); GROWN adds contacts up to id 7,
 * history up to 8 entries and a custom property, so the next create or
 * status change crosses an array's capacity. */
static void alloc_setup(hubc_store *s, int kind) {
  hubc_id a = contact(s, "m1@example.com");
  contact(s, "n2@example.com");
  ok(hubc_contact_set_marketing(s, ADMIN, a, HUBC_SOURCE_MANUAL, 1));
  for (int i = 0; i < 8; i++) { /* room for calls with more than 16 properties */
    char name[8];
    snprintf(name, sizeof name, "x%d", i);
    ok(hubc_property_define(s, ADMIN, name, NULL, HUBC_PROP_STRING, NULL, 0));
  }
  if (kind == SETUP_SMALL) return;
  if (kind == SETUP_FULL_INDEX) { /* 768 emails: the next one grows the email index (load 3/4 of 1024) */
    for (int i = 3; i <= 768; i++) {
      char e[32];
      snprintf(e, sizeof e, "f%d@example.com", i);
      contact(s, e);
    }
    return;
  }
  for (int i = 3; i <= 7; i++) {
    char e[32];
    snprintf(e, sizeof e, "c%d@example.com", i);
    hubc_id id = contact(s, e);
    ok(hubc_contact_set_marketing(s, ADMIN, id, HUBC_SOURCE_MANUAL, 1));
  }
  ok(hubc_contact_set_non_marketing(s, ADMIN, 3, HUBC_SOURCE_MANUAL, 1));
  ok(hubc_contact_set_marketing(s, ADMIN, 3, HUBC_SOURCE_MANUAL, 1)); /* 8 history entries */
  ok(hubc_property_define(s, ADMIN, "shoe", "Shoe", HUBC_PROP_NUMBER, NULL, 0));
  if (kind == SETUP_GROWN_EVENTS) ok(hubc_store_set_event_callback(s, noop_event, NULL));
}

enum { OP_CREATE, OP_UPDATE, OP_DELETE, OP_SET_MARKETING, OP_SET_NON_MARKETING, OP_DEFINE, OP_USER_CREATE,
       OP_CREATE_MANY, OP_UPDATE_MANY, OP_COUNT };
static const char *const op_names[] = {"create", "update", "delete", "set_marketing", "set_non_marketing",
                                       "define_property", "user_create", "create (20 properties)",
                                       "update (20 properties)"};

/* 20 properties: all stored built-ins and the custom x0..x7. */
static const char *const many_names[] = {"email", "firstname", "lastname", "phone", "company", "city", "country",
                                         "jobtitle", "website", "lifecyclestage", "hs_email_optout",
                                         "hs_email_hard_bounced", "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7"};
static const char *const many_values[] = {"many@example.com", "Many", "Props", "+39 06 123", "ACME", "Roma",
                                          "Italia", "CTO", "https://example.com", "customer", "true", "false",
                                          "a", "b", "c", "d", "e", "f", "g", "h"};

static int alloc_op(hubc_store *s, int op) {
  switch (op) {
  case OP_CREATE: {
    hubc_create_options o = HUBC_CREATE_OPTIONS_INIT;
    o.marketing = 1;
    const char *n[] = {"email", "firstname", "city", "lifecyclestage"};
    const char *v[] = {"fresh@example.com", "Fresh", "Roma", "lead"};
    hubc_id id = 0;
    return hubc_contact_create(&id, s, ADMIN, &o, n, v, 4);
  }
  case OP_UPDATE: {
    const char *n[] = {"email", "firstname", "company", "lifecyclestage"};
    const char *v[] = {"moved@example.com", "Moved", "ACME", "customer"};
    return hubc_contact_update(s, ADMIN, 1, n, v, 4);
  }
  case OP_DELETE: return hubc_contact_delete(s, ADMIN, 1);
  case OP_SET_MARKETING: return hubc_contact_set_marketing(s, ADMIN, 2, HUBC_SOURCE_MANUAL, 7);
  case OP_SET_NON_MARKETING: return hubc_contact_set_non_marketing(s, ADMIN, 1, HUBC_SOURCE_MANUAL, 7);
  case OP_DEFINE: {
    const char *const opts[] = {"small", "medium", "large"};
    return hubc_property_define(s, ADMIN, "size_class", "Size Class", HUBC_PROP_ENUMERATION, opts, 3);
  }
  case OP_USER_CREATE: {
    hubc_id id = 0;
    return hubc_user_create(&id, s, ADMIN, "newuser@example.com");
  }
  case OP_CREATE_MANY: {
    hubc_id id = 0;
    return hubc_contact_create(&id, s, ADMIN, NULL, many_names, many_values, 20);
  }
  default: return hubc_contact_update(s, ADMIN, 2, many_names, many_values, 20);
  }
}

/* Fails allocation N = 1, 2, … of the call until it succeeds; returns how
 * many allocations the call made. */
static size_t alloc_loop(int op, int kind, int with_persist) {
  for (size_t n = 1;; n++) {
    if (n > 5000) fail_msg("%s: still failing after %zu allocations", op_names[op], n);
    tu_clock clk = {T0};
    tu_alloc a = {0};
    tu_mem m;
    tu_mem_init(&m);
    hubc_store *s = NULL;
    ok(open_opts(&s, &clk, &a, with_persist ? &m.vtable : NULL));
    alloc_setup(s, kind);
    char *before = tu_dump(s);
    long commits = m.commits;
    size_t recs = m.n;
    a.fail_at = a.count + n;
    clear_err();
    int rc = alloc_op(s, op);
    char msg[512];
    snprintf(msg, sizeof msg, "%s", hubc_error_last());
    size_t failed = a.failures;
    a.fail_at = 0;
    char *after = tu_dump(s);
    if (rc == 0 && failed)
      fail_msg("%s (setup %d, persist %d): allocation %zu failed but the call succeeded", op_names[op], kind,
               with_persist, n);
    if (rc != 0) {
      if (rc != HUBC_ENOMEM)
        fail_msg("%s (setup %d, persist %d): allocation %zu failed: returned %d (%s), expected ENOMEM",
                 op_names[op], kind, with_persist, n, rc, msg);
      if (msg[0] == '\0')
        fail_msg("%s (setup %d, persist %d): allocation %zu failed: ENOMEM with an empty message", op_names[op], kind,
                 with_persist, n);
      if (strcmp(before, after) != 0)
        fail_msg("%s (setup %d, persist %d): allocation %zu failed and the store changed:\n--- before\n%s\n--- "
                 "after\n%s",
                 op_names[op], kind, with_persist, n, before, after);
      assert_int_equal(m.commits, commits); /* nothing reached the backend */
      assert_int_equal(m.n, recs);
      /* the store is intact: the same call now succeeds */
      ok(alloc_op(s, op));
    } else {
      assert_true(strcmp(before, after) != 0);
    }
    if (with_persist) {
      /* what the backend holds reopens to what the store holds */
      tu_clock clk2 = clk;
      hubc_store *again = tu_open(&clk2, &m.vtable);
      char *live = tu_dump(s);
      char *reopened = tu_dump(again);
      if (strcmp(live, reopened) != 0)
        fail_msg("%s (setup %d) N=%zu: reopened store differs:\n--- live\n%s\n--- reopened\n%s", op_names[op], kind,
                 n, live, reopened);
      free(live);
      free(reopened);
      hubc_store_close(again);
    }
    free(before);
    free(after);
    hubc_store_close(s);
    if (a.live != 0) fail_msg("%s (setup %d, persist %d) N=%zu: %zu bytes leaked", op_names[op], kind, with_persist, n,
                              a.live);
    tu_mem_free(&m);
    if (rc == 0) return n - 1;
  }
}

static void alloc_op_all_setups(int op) {
  size_t most = 0;
  for (int kind = 0; kind < SETUP_COUNT; kind++)
    for (int p = 0; p < 2; p++) {
      size_t k = alloc_loop(op, kind, p);
      if (k > most) most = k;
    }
  print_message("%s: up to %zu allocations, each failure handled\n", op_names[op], most);
  /* every call but delete needs memory for something (a record, history,
   * a user, a schema version); their failure paths were exercised */
  if (op != OP_DELETE) assert_true(most > 0);
}

static void r2_create_survives_allocation_failure_n(void **state) {
  (void)state;
  alloc_op_all_setups(OP_CREATE);
  alloc_op_all_setups(OP_CREATE_MANY);
  for (int p = 0; p < 2; p++) {
    size_t k = alloc_loop(OP_CREATE, SETUP_FULL_INDEX, p);
    print_message("create into a full email index: %zu allocations, each failure handled\n", k);
    assert_true(k >= 1); /* at least the index growth */
  }
}
static void r2_update_survives_allocation_failure_n(void **state) {
  (void)state;
  alloc_op_all_setups(OP_UPDATE);
  alloc_op_all_setups(OP_UPDATE_MANY);
}
static void r2_delete_survives_allocation_failure_n(void **state) {
  (void)state;
  alloc_op_all_setups(OP_DELETE);
}
static void r2_set_marketing_survives_allocation_failure_n(void **state) {
  (void)state;
  alloc_op_all_setups(OP_SET_MARKETING);
  alloc_op_all_setups(OP_SET_NON_MARKETING);
}
static void r2_define_property_survives_allocation_failure_n(void **state) {
  (void)state;
  alloc_op_all_setups(OP_DEFINE);
}
static void r2_user_create_survives_allocation_failure_n(void **state) {
  (void)state;
  alloc_op_all_setups(OP_USER_CREATE);
}

/* Fills a backend with a store holding every kind of record. */
static char *fill_backend(tu_mem *m, tu_clock *clk) {
  hubc_store *s = tu_open(clk, &m->vtable);
  alloc_setup(s, SETUP_GROWN);
  const char *const opts[] = {"x", "y"};
  ok(hubc_property_define(s, ADMIN, "pick", "Pick", HUBC_PROP_ENUMERATION, opts, 2));
  const char *n[] = {"email", "pick", "shoe"};
  const char *v[] = {"loaded@example.com", "y", "41.5"};
  hubc_id id = 0;
  ok(hubc_contact_create(&id, s, ADMIN, NULL, n, v, 3));
  hubc_id uid = 0;
  ok(hubc_user_create(&uid, s, ADMIN, "user2@example.com"));
  ok(hubc_source_set_default(s, ADMIN, HUBC_SOURCE_CHATFLOW, 9, 1));
  ok(hubc_contact_set_non_marketing(s, ADMIN, 4, HUBC_SOURCE_MANUAL, 1));
  ok(hubc_contact_delete(s, ADMIN, 5));
  clk->now = tu_time(2024, 5, 2, 0, 0, 0); /* past two update dates: closed periods */
  ok(hubc_store_tick(s));
  char *d = tu_dump(s);
  hubc_store_close(s);
  return d;
}

static void r2_store_open_survives_allocation_failure_n(void **state) {
  (void)state;
  tu_clock clk = {T0};
  tu_mem loaded;
  tu_mem_init(&loaded);
  char *want = fill_backend(&loaded, &clk);
  for (int variant = 0; variant < 3; variant++) { /* new in memory, new with a backend, loaded */
    size_t n;
    for (n = 1;; n++) {
      if (n > 100000) fail_msg("open (variant %d) still failing after %zu allocations", variant, n);
      tu_alloc a = {0};
      tu_mem fresh;
      tu_mem_init(&fresh);
      const hubc_persist *p = variant == 0 ? NULL : variant == 1 ? &fresh.vtable : &loaded.vtable;
      long loaded_commits = loaded.commits;
      a.fail_at = n;
      hubc_store *s = (hubc_store *)&s;
      clear_err();
      int rc = open_opts(&s, &clk, &a, p);
      a.fail_at = 0;
      if (rc == 0) {
        if (a.failures) fail_msg("open (variant %d): allocation %zu failed but open succeeded", variant, n);
        if (variant == 2) {
          char *have = tu_dump(s);
          assert_string_equal(want, have);
          free(have);
        }
        hubc_store_close(s);
        assert_int_equal(a.live, 0);
        tu_mem_free(&fresh);
        break;
      }
      if (rc != HUBC_ENOMEM)
        fail_msg("open (variant %d): allocation %zu failed: returned %d (%s), expected ENOMEM", variant, n, rc,
                 hubc_error_last());
      assert_true(hubc_error_last()[0] != '\0');
      assert_null(s);
      if (a.live != 0) fail_msg("open (variant %d) N=%zu: %zu bytes leaked", variant, n, a.live);
      assert_int_equal(fresh.n, 0);                     /* a failed new store left nothing behind */
      assert_int_equal(loaded.commits, loaded_commits); /* and a failed load wrote nothing */
      tu_mem_free(&fresh);
    }
    print_message("open (variant %d): %zu allocations, each failure handled\n", variant, n - 1);
    assert_true(n > 1);
  }
  free(want);
  tu_mem_free(&loaded);
}

/* ---- R6: callbacks must not re-enter the store -------------------------- */

enum { RE_GET, RE_FIND, RE_COUNT, RE_CREATE, RE_UPDATE, RE_DELETE, RE_SET_MARKETING, RE_DEFINE, RE_PROP_COUNT,
       RE_USER_CREATE, RE_USER_GET, RE_BILLING, RE_TICK, RE_DUMP, RE_SET_CALLBACK, RE_HISTORY, RE_ITER_NEXT, RE_GET_MANY, RE_FIND_MANY, RE_N };

typedef struct reentry {
  hubc_store *s;
  hubc_contact_iterator *it; /* made outside the callback */
  int calls;
  int rc[RE_N];
  char msg[RE_N][128];
} reentry;

static void try_everything(reentry *r) {
  hubc_store *s = r->s;
  hubc_contact *c = NULL;
  hubc_id id = 0;
  uint64_t count = 0;
  size_t n = 0;
  tu_buf buf = {0};
  hubc_billing_info bi;
  memset(&bi, 0, sizeof bi);
  bi.version = HUBC_BILLING_INFO_VERSION;
  const char *names[] = {"email"};
  const char *values[] = {"reentrant@example.com"};
  const char *emails1[] = {"one@example.com"};
  hubc_user *u = NULL;
  hubc_history_iterator *hit = NULL;
  for (int k = 0; k < RE_N; k++) {
    int rc;
    switch (k) {
    case RE_GET: rc = hubc_contact_get(&c, s, 1); break;
    case RE_FIND: rc = hubc_contact_find(&id, s, "one@example.com"); break;
    case RE_COUNT: rc = hubc_contact_count(&count, s); break;
    case RE_CREATE: rc = hubc_contact_create(&id, s, ADMIN, NULL, names, values, 1); break;
    case RE_UPDATE: rc = hubc_contact_update(s, ADMIN, 1, names, values, 1); break;
    case RE_DELETE: rc = hubc_contact_delete(s, ADMIN, 1); break;
    case RE_SET_MARKETING: rc = hubc_contact_set_marketing(s, ADMIN, 1, HUBC_SOURCE_MANUAL, 1); break;
    case RE_DEFINE: rc = hubc_property_define(s, ADMIN, "reentrant", NULL, HUBC_PROP_STRING, NULL, 0); break;
    case RE_PROP_COUNT: rc = hubc_property_count(&n, s); break;
    case RE_USER_CREATE: rc = hubc_user_create(&id, s, ADMIN, "reuser@example.com"); break;
    case RE_USER_GET: rc = hubc_user_get(&u, s, ADMIN); break;
    case RE_BILLING: rc = hubc_billing_get(&bi, s); break;
    case RE_TICK: rc = hubc_store_tick(s); break;
    case RE_DUMP: rc = hubc_store_dump(s, tu_buf_write, &buf); break;
    case RE_SET_CALLBACK: rc = hubc_store_set_event_callback(s, NULL, NULL); break;
    case RE_HISTORY: rc = hubc_history_iterator_new(&hit, s, 0); break;
    case RE_GET_MANY: rc = hubc_contact_get_many(&c, s, emails1, 1); break;
    case RE_FIND_MANY: rc = hubc_contact_find_many(&id, s, emails1, 1); break;
    case RE_ITER_NEXT: rc = hubc_contact_iterator_next(&id, r->it); break;
    default: rc = HUBC_EINVAL; break;
    }
    r->rc[k] = rc;
    snprintf(r->msg[k], sizeof r->msg[k], "%s", hubc_error_last());
    if (rc == 0) { /* not refused: do not leak what it made */
      hubc_contact_free(c);
      c = NULL;
      hubc_user_free(u);
      u = NULL;
      hubc_history_iterator_free(hit);
      hit = NULL;
    }
  }
  tu_buf_free(&buf);
}

static void check_all_busy(const reentry *r, const char *where) {
  for (int k = 0; k < RE_N; k++) {
    if (r->rc[k] != HUBC_EBUSY)
      fail_msg("%s: re-entrant call %d returned %d (%s), expected EBUSY", where, k, r->rc[k], r->msg[k]);
    if (r->msg[k][0] == '\0') fail_msg("%s: re-entrant call %d: empty message", where, k);
  }
}

static void reentrant_event(void *payload, const hubc_event *ev) {
  reentry *r = payload;
  (void)ev;
  if (r->calls++ == 0) try_everything(r);
}

static void r6_event_callback_calling_the_store_gets_ebusy(void **state) {
  (void)state;
  tu_clock clk = {T0};
  hubc_store *s = tu_open(&clk, NULL);
  hubc_id one = contact(s, "one@example.com");
  reentry r;
  memset(&r, 0, sizeof r);
  r.s = s;
  ok(hubc_contact_iterator_new(&r.it, s, HUBC_SELECT_ALL));
  ok(hubc_store_set_event_callback(s, reentrant_event, &r));
  ok(hubc_contact_set_marketing(s, ADMIN, one, HUBC_SOURCE_MANUAL, 1));
  assert_true(r.calls >= 1);
  check_all_busy(&r, "event callback");
  /* nothing the callback tried happened; the store is usable again */
  uint64_t count = 0;
  ok(hubc_contact_count(&count, s));
  assert_int_equal(count, 1);
  hubc_id id = 0;
  assert_int_equal(hubc_contact_find(&id, s, "reentrant@example.com"), HUBC_ENOTFOUND);
  hubc_contact *c = NULL;
  ok(hubc_contact_get(&c, s, one));
  assert_string_equal(hubc_contact_prop(c, "email"), "one@example.com");
  assert_int_equal(hubc_contact_status(c), HUBC_MARKETING);
  hubc_contact_free(c);
  ok(hubc_contact_iterator_next(&id, r.it));
  assert_int_equal(id, one);
  hubc_contact_iterator_free(r.it);
  ok(hubc_store_set_event_callback(s, NULL, NULL));
  hubc_store_close(s);
}

/* An event callback may use a different store. */
typedef struct other_store {
  hubc_store *other;
  int rc;
  uint64_t count;
} other_store;

static void event_uses_other(void *payload, const hubc_event *ev) {
  other_store *o = payload;
  (void)ev;
  o->rc = hubc_contact_count(&o->count, o->other);
}

static void r6_event_callback_may_call_another_store(void **state) {
  (void)state;
  tu_clock clk = {T0};
  hubc_store *a = tu_open(&clk, NULL);
  hubc_store *b = tu_open(&clk, NULL);
  contact(b, "in-b@example.com");
  hubc_id id = contact(a, "in-a@example.com");
  other_store o = {b, -999, 0};
  ok(hubc_store_set_event_callback(a, event_uses_other, &o));
  ok(hubc_contact_set_marketing(a, ADMIN, id, HUBC_SOURCE_MANUAL, 1));
  assert_int_equal(o.rc, 0);
  assert_int_equal(o.count, 1);
  hubc_store_close(a);
  hubc_store_close(b);
}

/* Callbacks of different stores nest (store k's event callback works on
 * store k + 1); at every depth, a call back into the store whose callback
 * is running is refused. */
#define CHAIN 12

typedef struct chain {
  hubc_store *s[CHAIN];
  hubc_id id[CHAIN];
  int self_rc[CHAIN];
  int next_rc[CHAIN];
  int fired[CHAIN];
} chain;

typedef struct chain_link {
  chain *c;
  int k;
} chain_link;

static void chain_event(void *payload, const hubc_event *ev) {
  chain_link *l = payload;
  chain *c = l->c;
  int k = l->k;
  (void)ev;
  if (c->fired[k]++) return;
  uint64_t n = 0;
  c->self_rc[k] = hubc_contact_count(&n, c->s[k]);
  if (k + 1 < CHAIN) c->next_rc[k] = hubc_contact_set_marketing(c->s[k + 1], ADMIN, c->id[k + 1], HUBC_SOURCE_MANUAL, 1);
}

static void r6_reentry_is_refused_at_any_nesting_depth(void **state) {
  (void)state;
  tu_clock clk = {T0};
  chain c;
  chain_link links[CHAIN];
  memset(&c, 0, sizeof c);
  for (int k = 0; k < CHAIN; k++) {
    c.s[k] = tu_open(&clk, NULL);
    c.id[k] = contact(c.s[k], "chain@example.com");
    links[k].c = &c;
    links[k].k = k;
    c.self_rc[k] = c.next_rc[k] = -999;
    ok(hubc_store_set_event_callback(c.s[k], chain_event, &links[k]));
  }
  ok(hubc_contact_set_marketing(c.s[0], ADMIN, c.id[0], HUBC_SOURCE_MANUAL, 1));
  for (int k = 0; k < CHAIN; k++) {
    if (c.fired[k] != 1) fail_msg("depth %d: callback fired %d times", k + 1, c.fired[k]);
    if (c.self_rc[k] != HUBC_EBUSY)
      fail_msg("depth %d: a call back into the store running the callback returned %d, expected EBUSY", k + 1,
               c.self_rc[k]);
    if (k + 1 < CHAIN && c.next_rc[k] != 0) fail_msg("depth %d: calling another store returned %d", k + 1, c.next_rc[k]);
  }
  for (int k = 0; k < CHAIN; k++) hubc_store_close(c.s[k]);
}

/* A persistence backend (tu_mem) whose put calls into the store. */
typedef struct wrapped {
  tu_mem mem;
  hubc_persist vt;
  reentry r;
  int armed;
} wrapped;

static int w_load(void *ud, hubc_loader *l) {
  wrapped *w = ud;
  return w->mem.vtable.load(&w->mem, l);
}
static int w_begin(void *ud) {
  wrapped *w = ud;
  return w->mem.vtable.begin(&w->mem);
}
static int w_put(void *ud, int kind, hubc_id id, const void *bytes, size_t len) {
  wrapped *w = ud;
  if (w->armed && w->r.calls++ == 0) try_everything(&w->r);
  return w->mem.vtable.put(&w->mem, kind, id, bytes, len);
}
static int w_del(void *ud, int kind, hubc_id id) {
  wrapped *w = ud;
  return w->mem.vtable.del(&w->mem, kind, id);
}
static int w_commit(void *ud) {
  wrapped *w = ud;
  return w->mem.vtable.commit(&w->mem);
}
static int w_rollback(void *ud) {
  wrapped *w = ud;
  return w->mem.vtable.rollback(&w->mem);
}

static void r6_persistence_callback_calling_the_store_gets_ebusy(void **state) {
  (void)state;
  wrapped *w = calloc(1, sizeof *w);
  assert_non_null(w);
  tu_mem_init(&w->mem);
  w->vt.version = HUBC_PERSIST_VERSION;
  w->vt.userdata = w;
  w->vt.load = w_load;
  w->vt.begin = w_begin;
  w->vt.put = w_put;
  w->vt.del = w_del;
  w->vt.commit = w_commit;
  w->vt.rollback = w_rollback;
  tu_clock clk = {T0};
  hubc_store *s = tu_open(&clk, &w->vt);
  hubc_id one = contact(s, "one@example.com");
  w->r.s = s;
  ok(hubc_contact_iterator_new(&w->r.it, s, HUBC_SELECT_ALL));
  w->armed = 1;
  hubc_id two = contact(s, "two@example.com"); /* put runs the re-entrant calls: no deadlock */
  w->armed = 0;
  assert_true(w->r.calls >= 1);
  check_all_busy(&w->r, "persistence put");
  uint64_t count = 0;
  ok(hubc_contact_count(&count, s));
  assert_int_equal(count, 2);
  hubc_id id = 0;
  ok(hubc_contact_find(&id, s, "two@example.com"));
  assert_int_equal(id, two);
  assert_int_equal(hubc_contact_find(&id, s, "reentrant@example.com"), HUBC_ENOTFOUND);
  ok(hubc_contact_iterator_next(&id, w->r.it));
  assert_int_equal(id, one);
  hubc_contact_iterator_free(w->r.it);
  /* the backend holds exactly what the store holds */
  char *live = tu_dump(s);
  hubc_store_close(s);
  hubc_store *again = tu_open(&clk, &w->mem.vtable);
  char *reopened = tu_dump(again);
  assert_string_equal(live, reopened);
  free(live);
  free(reopened);
  hubc_store_close(again);
  tu_mem_free(&w->mem);
  free(w);
}

/* Moved from the core review round (test_contact_regress.c). */
/* ---- R6: hubc_store_close from the store's own callbacks -------------- */

typedef struct close_probe {
  hubc_store *s;
  int calls;     /* callbacks that tried to close */
  int code;      /* hubc_error_last_code() right after the close */
  char msg[256]; /* hubc_error_last() right after the close */
} close_probe;

static void close_probe_run(close_probe *p) {
  hubc_store_close(p->s);
  p->calls++;
  p->code = hubc_error_last_code();
  snprintf(p->msg, sizeof p->msg, "%s", hubc_error_last());
}

static void close_from_event(void *payload, const hubc_event *e) {
  (void)e;
  close_probe_run(payload);
}

static void r6_close_from_event_callback_does_nothing(void **state) {
  (void)state;
  tu_clock clk = {T0};
  hubc_store *s = tu_open_gc(&clk);
  close_probe p = {s, 0, 0, ""};
  TU_OK(hubc_store_set_event_callback(s, close_from_event, &p));
  hubc_create_options co = tu_opts_of(HUBC_SOURCE_MANUAL, 0);
  co.marketing = 1;
  const char *n[] = {"email"};
  const char *v[] = {"a@example.com"};
  hubc_id id = 0;
  TU_OK(hubc_contact_create(&id, s, ADMIN, &co, n, v, 1)); /* STATUS event → close attempt */
  assert_true(p.calls >= 1);
  assert_int_equal(p.code, HUBC_EBUSY);
  assert_non_null(strstr(p.msg, "close"));
  /* the store is still there and usable */
  TU_OK(hubc_store_set_event_callback(s, NULL, NULL));
  uint64_t n_contacts = 0;
  TU_OK(hubc_contact_count(&n_contacts, s));
  assert_int_equal(n_contacts, 1);
  assert_int_equal(tu_status_of(s, id), HUBC_MARKETING);
  tu_contact(s, ADMIN, "b@example.com", "B");
  TU_OK(hubc_contact_count(&n_contacts, s));
  assert_int_equal(n_contacts, 2);
  /* closed normally by the teardown */
}

/* A backend wrapping tu_mem whose put tries to close the store. */
typedef struct closing_backend {
  tu_mem *mem;
  hubc_persist vt;
  close_probe probe;
} closing_backend;

static int closing_put(void *ud, int kind, hubc_id id, const void *bytes, size_t len) {
  closing_backend *b = ud;
  if (b->probe.s) close_probe_run(&b->probe);
  return b->mem->vtable.put(b->mem, kind, id, bytes, len);
}
static int closing_load(void *ud, hubc_loader *l) { return ((closing_backend *)ud)->mem->vtable.load(((closing_backend *)ud)->mem, l); }
static int closing_begin(void *ud) { return ((closing_backend *)ud)->mem->vtable.begin(((closing_backend *)ud)->mem); }
static int closing_del(void *ud, int kind, hubc_id id) {
  return ((closing_backend *)ud)->mem->vtable.del(((closing_backend *)ud)->mem, kind, id);
}
static int closing_commit(void *ud) { return ((closing_backend *)ud)->mem->vtable.commit(((closing_backend *)ud)->mem); }
static int closing_rollback(void *ud) { return ((closing_backend *)ud)->mem->vtable.rollback(((closing_backend *)ud)->mem); }

static void r6_close_from_persistence_callback_does_nothing(void **state) {
  (void)state;
  tu_clock clk = {T0};
  closing_backend *b = gc_malloc(calloc(1, sizeof *b));
  b->mem = gc_mem();
  b->vt = b->mem->vtable;
  b->vt.userdata = b;
  b->vt.load = closing_load;
  b->vt.begin = closing_begin;
  b->vt.put = closing_put;
  b->vt.del = closing_del;
  b->vt.commit = closing_commit;
  b->vt.rollback = closing_rollback;
  hubc_store *s = gc_store(tu_open(&clk, &b->vt));
  b->probe.s = s;
  hubc_id id = tu_contact(s, ADMIN, "a@example.com", "Ann");
  assert_true(b->probe.calls >= 1);
  assert_int_equal(b->probe.code, HUBC_EBUSY);
  assert_non_null(strstr(b->probe.msg, "close"));
  b->probe.s = NULL;
  /* committed, and the store still works */
  hubc_contact *c = NULL;
  TU_OK(hubc_contact_get(&c, s, id));
  assert_string_equal(hubc_contact_prop(c, "firstname"), "Ann");
  hubc_contact_free(c);
  tu_contact(s, ADMIN, "b@example.com", "Bob");
  uint64_t n = 0;
  TU_OK(hubc_contact_count(&n, s));
  assert_int_equal(n, 2);
  assert_true(b->mem->commits >= 2);
}

/* ---- R5: a failed call's error survives its event delivery ------------ */

typedef struct other_store_caller {
  hubc_store *other;
  size_t events, period_closed;
  int rc;
} other_store_caller;

static void call_other_store(void *payload, const hubc_event *e) {
  other_store_caller *o = payload;
  o->events++;
  o->period_closed += e->type == HUBC_EVENT_PERIOD_CLOSED;
  uint64_t n = 0;
  o->rc = hubc_contact_count(&n, o->other); /* succeeds: clears the thread's error */
}

static void r5_failed_call_error_survives_event_delivery(void **state) {
  (void)state;
  tu_clock clk = {T0};
  hubc_store *a = tu_open_gc(&clk);
  tu_clock clk_b = {T0};
  hubc_store *b = tu_open_gc(&clk_b);
  hubc_create_options co = tu_opts_of(HUBC_SOURCE_MANUAL, 0);
  co.marketing = 1;
  const char *n[] = {"email"};
  const char *v[] = {"a@example.com"};
  hubc_id id = 0;
  TU_OK(hubc_contact_create(&id, a, ADMIN, &co, n, v, 1));
  other_store_caller o = {b, 0, 0, -99};
  TU_OK(hubc_store_set_event_callback(a, call_other_store, &o));

  clk.now = tu_billing(a).next_update + 1; /* the catch-up queues PERIOD_CLOSED */
  const char *bn[] = {"no_such_property"};
  const char *bv[] = {"x"};
  int rc = hubc_contact_update(a, ADMIN, id, bn, bv, 1);
  assert_true(o.period_closed >= 1); /* events were delivered */
  assert_int_equal(o.rc, 0);         /* and the other store's call succeeded */
  assert_true(rc < 0);
  assert_int_equal(hubc_error_last_code(), rc);
  if (!strstr(hubc_error_last(), "no_such_property"))
    fail_msg("rc %d (%s) but hubc_error_last() is '%s'", rc, hubc_strerror(rc), hubc_error_last());
  assert_int_equal(rc, HUBC_ENOTFOUND);
  /* the update itself changed nothing (the update date was applied: B2) */
  hubc_contact *c = NULL;
  TU_OK(hubc_contact_get(&c, a, id));
  assert_null(hubc_contact_prop(c, "no_such_property"));
  assert_string_equal(hubc_contact_prop(c, "email"), "a@example.com");
  hubc_contact_free(c);
  TU_OK(hubc_store_set_event_callback(a, NULL, NULL));
}

/* ---- R2: failed calls keep no memory ---------------------------------- */

typedef struct failing_commit {
  tu_mem *mem;
  hubc_persist vt;
  int fail; /* commit fails while set */
} failing_commit;

static int fc_load(void *ud, hubc_loader *l) { return ((failing_commit *)ud)->mem->vtable.load(((failing_commit *)ud)->mem, l); }
static int fc_begin(void *ud) { return ((failing_commit *)ud)->mem->vtable.begin(((failing_commit *)ud)->mem); }
static int fc_put(void *ud, int kind, hubc_id id, const void *bytes, size_t len) {
  return ((failing_commit *)ud)->mem->vtable.put(((failing_commit *)ud)->mem, kind, id, bytes, len);
}
static int fc_del(void *ud, int kind, hubc_id id) {
  return ((failing_commit *)ud)->mem->vtable.del(((failing_commit *)ud)->mem, kind, id);
}
static int fc_commit(void *ud) {
  failing_commit *f = ud;
  if (f->fail) return -1;
  return f->mem->vtable.commit(f->mem);
}
static int fc_rollback(void *ud) { return ((failing_commit *)ud)->mem->vtable.rollback(((failing_commit *)ud)->mem); }

/* Opens a store counting its memory in *a (allocated here, so that both
 * outlive the store, which the teardown closes first). */
static hubc_store *open_counted(tu_clock *clk, tu_alloc **a_out, failing_commit **f_out) {
  tu_alloc *a = gc_malloc(calloc(1, sizeof *a));
  failing_commit *f = gc_malloc(calloc(1, sizeof *f));
  f->mem = gc_mem();
  f->vt = f->mem->vtable;
  f->vt.userdata = f;
  f->vt.load = fc_load;
  f->vt.begin = fc_begin;
  f->vt.put = fc_put;
  f->vt.del = fc_del;
  f->vt.commit = fc_commit;
  f->vt.rollback = fc_rollback;
  hubc_store *s = tu_open_alloc(clk, a, &f->vt);
  *a_out = a;
  *f_out = f;
  return gc_store(s);
}

#define N_OPTS 1000
typedef struct big_options {
  char text[N_OPTS][1001];
  const char *ptr[N_OPTS];
} big_options;

static big_options *make_options(void) {
  big_options *b = gc_malloc(calloc(1, sizeof *b));
  for (int i = 0; i < N_OPTS; i++) {
    /* distinct from the first byte on: the option uniqueness check is
     * quadratic, and long common prefixes would make it slow */
    int k = snprintf(b->text[i], 16, "%d-", i);
    memset(b->text[i] + k, 'o', (size_t)(900 - k));
    b->ptr[i] = b->text[i];
  }
  return b;
}

static void r2_failed_define_keeps_no_memory(void **state) {
  (void)state;
  tu_clock clk = {T0};
  tu_alloc *a = NULL;
  failing_commit *f = NULL;
  hubc_store *s = open_counted(&clk, &a, &f);
  big_options *opts = make_options();
  char *before = gc_dump(s);
  f->fail = 1;
  size_t live_first = 0;
  for (int k = 0; k < 20; k++) {
    tu_clear_err();
    TU_BAD(HUBC_EPERSIST, "commit",
        hubc_property_define(s, ADMIN, "tier_x", "Tier X", HUBC_PROP_ENUMERATION, opts->ptr, N_OPTS));
    if (k == 0) live_first = a->live;
  }
  if (a->live != live_first)
    fail_msg("live bytes grew from %zu to %zu over 19 more failed defines", live_first, a->live);
  f->fail = 0;
  TU_SAME(s, before);
  hubc_property_info pi;
  memset(&pi, 0, sizeof pi);
  pi.version = HUBC_PROPERTY_INFO_VERSION;
  TU_BAD(HUBC_ENOTFOUND, NULL, hubc_property_find(&pi, s, "tier_x"));
  /* and the same define then succeeds */
  TU_OK(hubc_property_define(s, ADMIN, "tier_x", "Tier X", HUBC_PROP_ENUMERATION, opts->ptr, N_OPTS));
  TU_OK(hubc_property_find(&pi, s, "tier_x"));
  assert_int_equal(pi.n_options, N_OPTS);
  assert_string_equal(pi.options[N_OPTS - 1], opts->ptr[N_OPTS - 1]);
}

static void r2_failed_user_create_keeps_no_memory(void **state) {
  (void)state;
  tu_clock clk = {T0};
  tu_alloc *a = NULL;
  failing_commit *f = NULL;
  hubc_store *s = open_counted(&clk, &a, &f);
  /* a 250-byte email: 20 pooled copies would need more than one pool chunk */
  char email[251];
  memset(email, 'u', 60);
  memcpy(email + 60, "@", 1);
  memset(email + 61, 'd', 60);
  email[121] = '.';
  memset(email + 122, 'e', 60);
  email[182] = '.';
  memset(email + 183, 'f', 63);
  memcpy(email + 246, ".com", 4);
  email[250] = '\0';
  char *before = gc_dump(s);
  f->fail = 1;
  size_t live_first = 0;
  for (int k = 0; k < 40; k++) {
    hubc_id u = 55;
    tu_clear_err();
    TU_BAD(HUBC_EPERSIST, "commit", hubc_user_create(&u, s, ADMIN, email));
    if (k == 0) live_first = a->live;
  }
  if (a->live != live_first)
    fail_msg("live bytes grew from %zu to %zu over 39 more failed user creates", live_first, a->live);
  f->fail = 0;
  TU_SAME(s, before);
  hubc_id u = 0;
  TU_OK(hubc_user_create(&u, s, ADMIN, email));
  assert_int_equal(u, 2);
}

static void r2_define_refused_for_duplicate_label_keeps_no_memory(void **state) {
  (void)state;
  tu_clock clk = {T0};
  tu_alloc *a = NULL;
  failing_commit *f = NULL;
  hubc_store *s = open_counted(&clk, &a, &f);
  big_options *opts = make_options();
  TU_OK(hubc_property_define(s, ADMIN, "tier", "Tier", HUBC_PROP_STRING, NULL, 0));
  char *before = gc_dump(s);
  size_t live0 = a->live;
  for (int k = 0; k < 20; k++) {
    tu_clear_err();
    TU_BAD(HUBC_EEXISTS, "Tier",
        hubc_property_define(s, ADMIN, "tier_x", "Tier", HUBC_PROP_ENUMERATION, opts->ptr, N_OPTS));
    if (a->live != live0)
      fail_msg("attempt %d: live bytes %zu, %zu before the refused defines", k + 1, a->live, live0);
  }
  TU_SAME(s, before);
}

/* ---- R4: hubc_contact_prop arguments ---------------------------------- */

static void r4_contact_prop_null_arguments_set_einval(void **state) {
  (void)state;
  tu_clock clk = {T0};
  hubc_store *s = tu_open_gc(&clk);
  hubc_id id = tu_contact(s, ADMIN, "a@example.com", "Ann");
  hubc_contact *c = NULL;
  TU_OK(hubc_contact_get(&c, s, id));
  gc_defer((void (*)(void *))hubc_contact_free, c);

  tu_clear_err();
  assert_null(hubc_contact_prop(NULL, "email"));
  assert_int_equal(hubc_error_last_code(), HUBC_EINVAL);
  assert_non_null(strstr(hubc_error_last(), "contact"));

  tu_clear_err();
  assert_null(hubc_contact_prop(c, NULL));
  assert_int_equal(hubc_error_last_code(), HUBC_EINVAL);
  assert_non_null(strstr(hubc_error_last(), "name"));

  assert_string_equal(hubc_contact_prop(c, "email"), "a@example.com");
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(r4_store_functions_refuse_null_and_bad_arguments),
    cmocka_unit_test(r4_contact_status_of_null_is_einval_with_a_message),
    cmocka_unit_test(r4_store_open_refuses_bad_options_without_leaking),
    cmocka_unit_test(r4_invalid_utf8_in_property_names_is_einval),
    cmocka_unit_test(r4_failing_write_callback_gives_eio),
    cmocka_unit_test(r4_reads_report_allocation_failure),
    cmocka_unit_test(r4_journal_functions_refuse_null_and_bad_arguments),
    cmocka_unit_test(r4_option_structs_init_and_size),
    cmocka_unit_test(r5_error_codes_are_stable_integers),
    cmocka_unit_test(r5_strerror_describes_every_code),
    cmocka_unit_test(r5_error_last_is_cleared_by_success_and_names_the_problem),
    cmocka_unit_test(r5_error_last_is_thread_local),
    cmocka_unit_test(r5_error_messages_are_valid_utf8),
    cmocka_unit_test(r5_version_matches_the_headers),
    cmocka_unit_test(r2_create_survives_allocation_failure_n),
    cmocka_unit_test(r2_update_survives_allocation_failure_n),
    cmocka_unit_test(r2_delete_survives_allocation_failure_n),
    cmocka_unit_test(r2_set_marketing_survives_allocation_failure_n),
    cmocka_unit_test(r2_define_property_survives_allocation_failure_n),
    cmocka_unit_test(r2_user_create_survives_allocation_failure_n),
    cmocka_unit_test(r2_store_open_survives_allocation_failure_n),
    cmocka_unit_test(r6_event_callback_calling_the_store_gets_ebusy),
    cmocka_unit_test(r6_event_callback_may_call_another_store),
    cmocka_unit_test(r6_persistence_callback_calling_the_store_gets_ebusy),
    cmocka_unit_test(r6_reentry_is_refused_at_any_nesting_depth),
    cmocka_unit_test_teardown(r6_close_from_event_callback_does_nothing, gc_teardown),
    cmocka_unit_test_teardown(r6_close_from_persistence_callback_does_nothing, gc_teardown),
    cmocka_unit_test_teardown(r5_failed_call_error_survives_event_delivery, gc_teardown),
    cmocka_unit_test_teardown(r2_failed_define_keeps_no_memory, gc_teardown),
    cmocka_unit_test_teardown(r2_failed_user_create_keeps_no_memory, gc_teardown),
    cmocka_unit_test_teardown(r2_define_refused_for_duplicate_label_keeps_no_memory, gc_teardown),
    cmocka_unit_test_teardown(r4_contact_prop_null_arguments_set_einval, gc_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
