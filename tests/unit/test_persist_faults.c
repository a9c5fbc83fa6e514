/* Persistence (R1, R2): every mutating call failing at every persistence
 * callback leaves the store and the backend exactly as before; stores
 * survive a reopen whatever order the backend delivers records in; damaged
 * records are refused with ECORRUPT/EVERSION naming the record, never a
 * crash or a leak; unknown trailing fields are skipped. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hubcontacts.h"
#include "persist/codec.h"
#include "schema/schema.h"
#include "testutil.h"

#define ADMIN 1

/* ---- helpers ------------------------------------------------------------ */

static void expect_msg(const char *needle) {
  const char *m = hubc_error_last();
  if (!strstr(m, needle)) fail_msg("error message \"%s\" does not contain \"%s\"", m, needle);
}

static int open_rc(hubc_store **out, tu_clock *clock, const hubc_persist *p) {
  hubc_store_options o;
  tu_options(&o, clock, p);
  o.tier = 5000; /* a new store starts above the first rung: downgrades possible */
  *out = NULL;
  return hubc_store_open(out, &o);
}

static hubc_store *open_store(tu_clock *clock, const hubc_persist *p) {
  hubc_store *s;
  int rc = open_rc(&s, clock, p);
  if (rc) fail_msg("open: %d %s", rc, hubc_error_last());
  return s;
}

static void ok(int rc, const char *what) {
  if (rc) fail_msg("%s: %d %s", what, rc, hubc_error_last());
}

/* A deep copy of the backend's committed records. */
typedef struct recset {
  tu_mem_rec *r;
  size_t n;
} recset;

static recset recs_copy(const tu_mem *m) {
  recset c = {calloc(m->n ? m->n : 1, sizeof *c.r), m->n};
  for (size_t i = 0; i < m->n; i++) {
    c.r[i] = m->recs[i];
    c.r[i].bytes = malloc(m->recs[i].len ? m->recs[i].len : 1);
    memcpy(c.r[i].bytes, m->recs[i].bytes, m->recs[i].len);
  }
  return c;
}

static void recs_free(recset *c) {
  for (size_t i = 0; i < c->n; i++) free(c->r[i].bytes);
  free(c->r);
  c->r = NULL;
  c->n = 0;
}

static int recs_equal(const recset *c, const tu_mem *m) {
  if (c->n != m->n) return 0;
  for (size_t i = 0; i < c->n; i++)
    if (c->r[i].kind != m->recs[i].kind || c->r[i].id != m->recs[i].id || c->r[i].len != m->recs[i].len ||
        memcmp(c->r[i].bytes, m->recs[i].bytes, c->r[i].len) != 0)
      return 0;
  return 1;
}

/* Fills a fresh tu_mem with the records of c (one committed transaction). */
static void recs_install(tu_mem *m, const recset *c) {
  tu_mem_init(m);
  assert_int_equal(m->vtable.begin(m), 0);
  for (size_t i = 0; i < c->n; i++)
    assert_int_equal(m->vtable.put(m, c->r[i].kind, c->r[i].id, c->r[i].bytes, c->r[i].len), 0);
  assert_int_equal(m->vtable.commit(m), 0);
}

static tu_mem_rec *recs_find(recset *c, int kind, hubc_id id) {
  for (size_t i = 0; i < c->n; i++)
    if (c->r[i].kind == kind && c->r[i].id == id) return &c->r[i];
  fail_msg("no record kind %d id %lld", kind, (long long)id);
  return NULL;
}

static void recs_drop(recset *c, int kind, hubc_id id) {
  tu_mem_rec *r = recs_find(c, kind, id);
  free(r->bytes);
  *r = c->r[--c->n];
}

static void recs_set(recset *c, int kind, hubc_id id, const void *bytes, size_t len) {
  for (size_t i = 0; i < c->n; i++)
    if (c->r[i].kind == kind && c->r[i].id == id) {
      free(c->r[i].bytes);
      c->r[i].bytes = malloc(len ? len : 1);
      memcpy(c->r[i].bytes, bytes, len);
      c->r[i].len = len;
      return;
    }
  c->r = realloc(c->r, (c->n + 1) * sizeof *c->r);
  c->r[c->n].kind = kind;
  c->r[c->n].id = id;
  c->r[c->n].bytes = malloc(len ? len : 1);
  memcpy(c->r[c->n].bytes, bytes, len);
  c->r[c->n].len = len;
  c->n++;
}

/* rb_*: the record builder lives in testutil */

/* contact property blobs (lib/contact/record.h), sorted by index:
 *   string:      [varint index << 1][bytes][NUL]
 *   enumeration: [varint index << 1 | 1][varint option] */
static void blob_str(rb *r, unsigned prop, const char *v) {
  rb_varint(r, (uint64_t)prop << 1);
  for (const char *p = v; *p; p++) rb_byte(r, (unsigned char)*p);
  rb_byte(r, 0);
}
static void blob_enum(rb *r, unsigned prop, unsigned option) {
  rb_varint(r, (uint64_t)prop << 1 | 1);
  rb_varint(r, option);
}
/* A contact record with the given property blob and status. */
static void contact_rec(rb *r, const rb *blob, int64_t status) {
  rb_start(r);
  rb_int(r, HUBC__T_C_CREATED, 1700000000);
  rb_int(r, HUBC__T_C_MODIFIED, 1700000000);
  rb_int(r, HUBC__T_C_STATUS, status);
  rb_int(r, HUBC__T_C_SOURCE, HUBC_SOURCE_MANUAL);
  rb_int(r, HUBC__T_C_SOURCE_ID, 1);
  rb_bytes(r, HUBC__T_C_PROPS, blob->b, blob->n);
}

/* ---- R2: fault injection ---------------------------------------------------- */

typedef struct env {
  tu_clock clock;
  tu_mem m;
  hubc_store *s;
  hubc_id user, c_non, c_mk, c_until;
} env;

#define T0 tu_time(2024, 3, 10, 12, 0, 0)
#define T_UPDATE tu_time(2024, 4, 10, 0, 0, 5) /* just past the first update date */

static void env_open(env *e) {
  memset(e, 0, sizeof *e);
  tu_mem_init(&e->m);
  e->clock.now = T0;
  e->s = open_store(&e->clock, &e->m.vtable);
  static const char *const levels[] = {"bronze", "silver", "gold"};
  ok(hubc_property_define(e->s, ADMIN, "level", "Level", HUBC_PROP_ENUMERATION, levels, 3), "define level");
  ok(hubc_user_create(&e->user, e->s, ADMIN, "user@example.com"), "user");
  const char *n[] = {"email", "firstname", "level"};
  const char *v1[] = {"non@example.com", "Non", "silver"};
  const char *v2[] = {"mk@example.com", "Mk", "gold"};
  const char *v3[] = {"until@example.com", "Until", ""};
  ok(hubc_contact_create(&e->c_non, e->s, ADMIN, NULL, n, v1, 3), "c_non");
  ok(hubc_contact_create(&e->c_mk, e->s, ADMIN, NULL, n, v2, 3), "c_mk");
  ok(hubc_contact_create(&e->c_until, e->s, ADMIN, NULL, n, v3, 3), "c_until");
  ok(hubc_contact_set_marketing(e->s, ADMIN, e->c_mk, HUBC_SOURCE_MANUAL, ADMIN), "mk");
  ok(hubc_contact_set_marketing(e->s, ADMIN, e->c_until, HUBC_SOURCE_MANUAL, ADMIN), "until 1");
  ok(hubc_contact_set_non_marketing(e->s, ADMIN, e->c_until, HUBC_SOURCE_MANUAL, ADMIN), "until 2");
  ok(hubc_source_set_default(e->s, ADMIN, HUBC_SOURCE_CHATFLOW, 3, 1), "switch");
}

static void env_close(env *e) {
  hubc_store_close(e->s);
  tu_mem_free(&e->m);
}

typedef struct scenario {
  const char *name;
  int (*call)(env *e);
  int crosses_update; /* the call runs at T_UPDATE (a tick) */
} scenario;

static int f_create(env *e) {
  hubc_id id;
  const char *n[] = {"email", "city"}, *v[] = {"new@example.com", "Roma"};
  return hubc_contact_create(&id, e->s, e->user, NULL, n, v, 2);
}
static int f_create_marketing(env *e) {
  hubc_id id;
  hubc_create_options o = HUBC_CREATE_OPTIONS_INIT;
  o.marketing = 1;
  const char *n[] = {"email", "level"}, *v[] = {"newmk@example.com", "bronze"};
  return hubc_contact_create(&id, e->s, e->user, &o, n, v, 2);
}
static int f_create_chatflow(env *e) { /* switched on: created as marketing */
  hubc_id id;
  hubc_create_options o = HUBC_CREATE_OPTIONS_INIT;
  o.source = HUBC_SOURCE_CHATFLOW;
  o.source_id = 3;
  const char *n[] = {"email"}, *v[] = {"chat@example.com"};
  return hubc_contact_create(&id, e->s, HUBC_SYSTEM, &o, n, v, 1);
}
static int f_update(env *e) {
  const char *n[] = {"email", "city", "level"}, *v[] = {"renamed@example.com", "Milano", "bronze"};
  return hubc_contact_update(e->s, e->user, e->c_non, n, v, 3);
}
static int f_delete(env *e) { return hubc_contact_delete(e->s, e->user, e->c_mk); }
static int f_set_marketing(env *e) {
  return hubc_contact_set_marketing(e->s, e->user, e->c_non, HUBC_SOURCE_MANUAL, e->user);
}
static int f_set_marketing_until(env *e) {
  return hubc_contact_set_marketing(e->s, e->user, e->c_until, HUBC_SOURCE_MANUAL, e->user);
}
static int f_set_non_marketing(env *e) {
  return hubc_contact_set_non_marketing(e->s, e->user, e->c_mk, HUBC_SOURCE_MANUAL, e->user);
}
static int f_define(env *e) {
  return hubc_property_define(e->s, ADMIN, "score", "Score", HUBC_PROP_NUMBER, NULL, 0);
}
static int f_user_create(env *e) {
  hubc_id id;
  return hubc_user_create(&id, e->s, ADMIN, "second@example.com");
}
static int f_set_permissions(env *e) {
  return hubc_user_set_permissions(e->s, ADMIN, e->user, HUBC_PERM_IMPORT | HUBC_PERM_MANAGE_USERS);
}
static int f_set_disabled(env *e) { return hubc_user_set_disabled(e->s, ADMIN, e->user, 1); }
static int f_set_super_admin(env *e) { return hubc_user_set_super_admin(e->s, ADMIN, e->user, 1); }
static int f_source_new(env *e) { return hubc_source_set_default(e->s, e->user, HUBC_SOURCE_INTEGRATION, 8, 1); }
static int f_source_change(env *e) { return hubc_source_set_default(e->s, e->user, HUBC_SOURCE_CHATFLOW, 3, 0); }
static int f_source_external(env *e) {
  return hubc_source_set_default(e->s, e->user, HUBC_SOURCE_EXTERNAL_FORM, 0, 0);
}
static int f_downgrade(env *e) { return hubc_billing_request_downgrade(e->s, e->user, 2000); }
static int f_tick(env *e) { return hubc_store_tick(e->s); }

static const scenario scenarios[] = {
    {"create contact", f_create, 0},
    {"create contact as marketing", f_create_marketing, 0},
    {"create contact from a switched-on chatflow", f_create_chatflow, 0},
    {"update contact (email, string, enumeration)", f_update, 0},
    {"delete a billable contact", f_delete, 0},
    {"set marketing (NON -> MARKETING)", f_set_marketing, 0},
    {"set marketing (UNTIL_UPDATE -> MARKETING)", f_set_marketing_until, 0},
    {"set non-marketing", f_set_non_marketing, 0},
    {"define property", f_define, 0},
    {"user create", f_user_create, 0},
    {"set permissions", f_set_permissions, 0},
    {"set disabled", f_set_disabled, 0},
    {"set super admin", f_set_super_admin, 0},
    {"source set default (new switch)", f_source_new, 0},
    {"source set default (changed switch)", f_source_change, 0},
    {"source set default (external forms)", f_source_external, 0},
    {"request downgrade", f_downgrade, 0},
    {"tick across an update date", f_tick, 1},
};

static int run(env *e, const scenario *sc) {
  if (sc->crosses_update) e->clock.now = T_UPDATE;
  int rc = sc->call(e);
  return rc;
}

/* Reopens a store on e's records and checks its dump. */
static void expect_reopen(env *e, const char *want, const char *what) {
  tu_clock c = e->clock;
  hubc_store *s2 = open_store(&c, &e->m.vtable);
  tu_expect_dump(s2, want, what);
  hubc_store_close(s2);
}

static void fault_scenario(const scenario *sc, int fail_code) {
  /* reference: the call succeeds; count its callbacks */
  env e;
  env_open(&e);
  char *start = tu_dump(e.s);
  long calls0 = e.m.calls, commits0 = e.m.commits;
  int rc = run(&e, sc);
  if (rc) fail_msg("%s: reference call failed: %d %s", sc->name, rc, hubc_error_last());
  long n = e.m.calls - calls0;
  assert_int_equal(e.m.commits, commits0 + 1);
  if (n < 3) fail_msg("%s: only %ld callbacks (begin, put…, commit expected)", sc->name, n);
  if (fail_code != HUBC_EAGAIN) print_message("%s: %ld callbacks\n", sc->name, n);
  char *want = tu_dump(e.s);
  if (strcmp(start, want) == 0) fail_msg("%s: the reference call changed nothing", sc->name);
  expect_reopen(&e, want, sc->name); /* what was persisted is what is in memory */
  free(start);
  env_close(&e);

  for (long k = 1; k <= n; k++) {
    env_open(&e);
    char *before = tu_dump(e.s);
    recset committed = recs_copy(&e.m);
    long rb0 = e.m.rollbacks, cm0 = e.m.commits;
    calls0 = e.m.calls;
    e.m.fail_at = e.m.calls + k;
    e.m.fail_code = fail_code;
    rc = run(&e, sc);
    int want_rc = fail_code == HUBC_EAGAIN ? HUBC_EAGAIN : HUBC_EPERSIST;
    if (rc != want_rc)
      fail_msg("%s, callback %ld/%ld fails with %d: returned %d (%s), expected %d", sc->name, k, n, fail_code, rc,
               hubc_error_last(), want_rc);
    assert_int_equal(hubc_error_last_code(), want_rc);
    expect_msg("nothing changed");
    assert_int_equal(e.m.failures, 1);
    /* no callback after the failing one except rollback */
    assert_int_equal(e.m.calls - calls0, k);
    /* rollback unless begin itself failed */
    assert_int_equal(e.m.rollbacks - rb0, k > 1 ? 1 : 0);
    assert_int_equal(e.m.commits, cm0);
    assert_int_equal(e.m.pn, 0);
    assert_int_equal(e.m.in_txn, 0);
    if (!recs_equal(&committed, &e.m)) fail_msg("%s, callback %ld: committed records changed", sc->name, k);
    e.m.fail_at = 0;
    e.clock.now = T0; /* a tick's catch-up would run again on the next read */
    char what[160];
    snprintf(what, sizeof what, "%s, callback %ld/%ld failed (code %d)", sc->name, k, n, fail_code);
    tu_expect_dump(e.s, before, what);
    /* the same call without failure succeeds, with the reference result */
    rc = run(&e, sc);
    if (rc) fail_msg("%s: retry after failure at %ld: %d %s", sc->name, k, rc, hubc_error_last());
    snprintf(what, sizeof what, "%s, retried after callback %ld failed", sc->name, k);
    tu_expect_dump(e.s, want, what);
    expect_reopen(&e, want, what);
    recs_free(&committed);
    free(before);
    env_close(&e);
  }
  free(want);
}

static void r2_every_mutating_call_fails_at_every_callback_with_nothing_changed(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof scenarios / sizeof *scenarios; i++) fault_scenario(&scenarios[i], -1);
}

static void r2_backend_asking_to_retry_gives_eagain_with_nothing_changed(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof scenarios / sizeof *scenarios; i++) fault_scenario(&scenarios[i], HUBC_EAGAIN);
}

/* A refused call (validation, permission) reaches no callback at all. */
static void r2_refused_calls_make_no_persistence_callback(void **state) {
  (void)state;
  env e;
  env_open(&e);
  char *before = tu_dump(e.s);
  long calls0 = e.m.calls;
  hubc_id id;
  const char *n[] = {"email"}, *dup[] = {"MK@example.com"};
  assert_int_equal(hubc_contact_create(&id, e.s, ADMIN, NULL, n, dup, 1), HUBC_EEXISTS);
  assert_int_equal(hubc_contact_set_marketing(e.s, 4242, e.c_non, HUBC_SOURCE_MANUAL, 0), HUBC_EPERM);
  assert_int_equal(hubc_user_create(&id, e.s, ADMIN, "USER@example.com"), HUBC_EEXISTS);
  assert_int_equal(hubc_billing_request_downgrade(e.s, ADMIN, 5000), HUBC_EINVAL);
  /* no-ops write nothing either */
  assert_int_equal(hubc_contact_set_marketing(e.s, ADMIN, e.c_mk, HUBC_SOURCE_MANUAL, 0), 0);
  assert_int_equal(hubc_contact_set_non_marketing(e.s, ADMIN, e.c_non, HUBC_SOURCE_MANUAL, 0), 0);
  assert_int_equal(hubc_user_set_disabled(e.s, ADMIN, e.user, 0), 0);
  assert_int_equal(e.m.calls, calls0);
  tu_expect_dump(e.s, before, "refused calls");
  free(before);
  env_close(&e);
}

/* ---- R1: round trips ------------------------------------------------------ */

/* Builds a store holding a bit of everything. */
static void build_rich(hubc_store *s, tu_clock *clock) {
  static const char *const tiers[] = {"bronze", "silver", "gold", "platinum \xe2\x98\x85"};
  ok(hubc_property_define(s, ADMIN, "nickname", "Nickname", HUBC_PROP_STRING, NULL, 0), "p1");
  ok(hubc_property_define(s, ADMIN, "score", "Punteggio \xc3\xa8", HUBC_PROP_NUMBER, NULL, 0), "p2");
  ok(hubc_property_define(s, ADMIN, "vip", "VIP", HUBC_PROP_BOOL, NULL, 0), "p3");
  ok(hubc_property_define(s, ADMIN, "met_on", "Met on", HUBC_PROP_DATETIME, NULL, 0), "p4");
  ok(hubc_property_define(s, ADMIN, "level", "Level", HUBC_PROP_ENUMERATION, tiers, 4), "p5");
  hubc_id u2, u3, u4, u5, u6;
  ok(hubc_user_create(&u2, s, ADMIN, "u2@example.com"), "u2");
  ok(hubc_user_create(&u3, s, ADMIN, "u3@example.com"), "u3");
  ok(hubc_user_create(&u4, s, ADMIN, "u4@example.com"), "u4");
  ok(hubc_user_create(&u5, s, ADMIN, "u5@example.com"), "u5");
  ok(hubc_user_create(&u6, s, ADMIN, "u6@example.com"), "u6");
  ok(hubc_user_set_permissions(s, ADMIN, u3, HUBC_PERM_IMPORT), "perm u3");
  ok(hubc_user_set_permissions(s, ADMIN, u4, HUBC_PERM_DEFAULT | HUBC_PERM_MANAGE_USERS), "perm u4");
  ok(hubc_user_set_super_admin(s, ADMIN, u5, 1), "super u5");
  ok(hubc_user_set_permissions(s, ADMIN, u6, 0), "perm u6");
  ok(hubc_user_set_disabled(s, u4, u6, 1), "disable u6");

  ok(hubc_source_set_default(s, u2, HUBC_SOURCE_CHATFLOW, 3, 1), "sw1");
  ok(hubc_source_set_default(s, u2, HUBC_SOURCE_CHATFLOW, 4, 0), "sw2");
  ok(hubc_source_set_default(s, u2, HUBC_SOURCE_INTEGRATION, 9, 1), "sw3");
  ok(hubc_source_set_default(s, u2, HUBC_SOURCE_EXTERNAL_FORM, 0, 0), "sw4");

  const char *n[] = {"email", "firstname", "lastname", "nickname", "score", "vip", "met_on", "level",
                     "lifecyclestage", "hs_email_optout", "city"};
  const char *v[][11] = {
      {"anna@example.com", "Anna", "Rossi", "la \"rossa\", back\\slash", "42.5", "true", "2024-03-21", "gold",
       "lead", "false", "Roma"},
      {"bruno@example.com", "Bruno", "Bianchi", "line1\nline2\ttab", "-3", "false", "2024-03-21T10:00:00Z",
       "platinum \xe2\x98\x85", "customer", "true", "Milano"},
      {"", "Nomail", "Senza", "", "1e6", "", "", "bronze", "", "", ""},
      {"carla@example.com", "Carla", "", "", "", "", "", "", "subscriber", "", "Z\xc3\xbcrich"},
      {"dario@example.com", "Dario", "", "", "0", "true", "", "silver", "", "", ""},
      {"elena@example.com", "Elena", "", "", "", "", "", "", "", "", ""},
      {"fabio@example.com", "Fabio", "", "", "", "", "", "", "", "", ""},
  };
  hubc_id c[7];
  for (size_t i = 0; i < 7; i++) {
    int rc = hubc_contact_create(&c[i], s, i % 2 ? u2 : u4, NULL, n, v[i], 11);
    if (rc) fail_msg("contact %zu: %d %s", i, rc, hubc_error_last());
  }
  hubc_id chat, integ;
  hubc_create_options o = HUBC_CREATE_OPTIONS_INIT;
  o.source = HUBC_SOURCE_CHATFLOW;
  o.source_id = 3;
  const char *cn[] = {"email"}, *cv[] = {"chat@example.com"};
  ok(hubc_contact_create(&chat, s, HUBC_SYSTEM, &o, cn, cv, 1), "chat");
  o.source = HUBC_SOURCE_INTEGRATION;
  o.source_id = 9;
  cv[0] = "integ@example.com";
  ok(hubc_contact_create(&integ, s, HUBC_SYSTEM, &o, cn, cv, 1), "integ");
  ok(hubc_contact_set_marketing(s, u2, c[0], HUBC_SOURCE_MANUAL, u2), "m0");
  ok(hubc_contact_set_marketing(s, HUBC_SYSTEM, c[1], HUBC_SOURCE_INTEGRATION, 77), "m1"); /* an app: SYSTEM */
  ok(hubc_contact_set_marketing(s, HUBC_SYSTEM, c[2], HUBC_SOURCE_CHATFLOW, 5), "m2");
  ok(hubc_contact_set_non_marketing(s, u2, c[2], HUBC_SOURCE_MANUAL, 0), "n2");
  ok(hubc_contact_set_marketing(s, u2, c[3], HUBC_SOURCE_MANUAL, 0), "m3");
  ok(hubc_contact_set_non_marketing(s, u2, c[3], HUBC_SOURCE_MANUAL, 0), "n3");

  /* period 1 closes: c[2], c[3] become NON_MARKETING */
  clock->now = tu_time(2024, 2, 15, 0, 0, 1);
  ok(hubc_store_tick(s), "tick 1");
  ok(hubc_contact_set_marketing(s, u2, c[3], HUBC_SOURCE_MANUAL, 0), "m3 again");
  ok(hubc_contact_set_marketing(s, u2, c[4], HUBC_SOURCE_MANUAL, 0), "m4");
  ok(hubc_contact_set_non_marketing(s, u2, c[4], HUBC_SOURCE_MANUAL, 0), "n4 (pending across the update date)");
  const char *un[] = {"email", "city", "level", "nickname"};
  const char *uv[] = {"Carla.New@Example.com", "", "silver", "renamed"};
  ok(hubc_contact_update(s, u4, c[3], un, uv, 4), "update c3");
  ok(hubc_contact_delete(s, u2, c[5]), "delete c5");

  /* period 2 closes (c[4] becomes NON), then the present */
  clock->now = tu_time(2024, 3, 16, 9, 30, 0);
  ok(hubc_store_tick(s), "tick 2");
  ok(hubc_contact_set_marketing(s, u2, c[6], HUBC_SOURCE_MANUAL, 0), "m6");
  ok(hubc_contact_set_non_marketing(s, u2, c[1], HUBC_SOURCE_MANUAL, 0), "n1 (pending)");
  ok(hubc_contact_delete(s, u2, integ), "delete the newest contact");
  ok(hubc_billing_request_downgrade(s, u2, 2000), "downgrade");

  /* the store holds what the test claims */
  hubc_billing_info bi;
  memset(&bi, 0, sizeof bi);
  bi.version = HUBC_BILLING_INFO_VERSION;
  ok(hubc_billing_get(&bi, s), "billing");
  assert_true(bi.marketing > 0);
  assert_true(bi.until_update > 0);
  assert_true(bi.non_marketing > 0);
  assert_int_equal(bi.downgrade_request, 2000);
  hubc_period_iterator *pit;
  hubc_period p;
  memset(&p, 0, sizeof p);
  p.version = HUBC_PERIOD_VERSION;
  ok(hubc_period_iterator_new(&pit, s), "periods");
  size_t np = 0;
  while (hubc_period_iterator_next(&p, pit) == 0) np++;
  hubc_period_iterator_free(pit);
  assert_int_equal(np, 2);
}

#define T_RICH tu_time(2024, 1, 15, 10, 0, 0)

/* Delivers the records of a tu_mem in a chosen order. */
typedef struct order_load {
  tu_mem *m;
  int mode; /* 0 as stored, 1 reversed, 2 shuffled */
  uint64_t seed;
  hubc_persist vt;
} order_load;

static int ord_load(void *ud, hubc_loader *l) {
  order_load *o = ud;
  size_t n = o->m->n;
  size_t *ix = malloc((n ? n : 1) * sizeof *ix);
  for (size_t i = 0; i < n; i++) ix[i] = o->mode == 1 ? n - 1 - i : i;
  if (o->mode == 2) {
    uint64_t x = o->seed * 2654435761u + 1;
    for (size_t i = n; i > 1; i--) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      size_t j = (size_t)(x % i), t = ix[i - 1];
      ix[i - 1] = ix[j];
      ix[j] = t;
    }
  }
  int rc = 0;
  for (size_t i = 0; i < n && !rc; i++) {
    const tu_mem_rec *r = &o->m->recs[ix[i]];
    rc = hubc_loader_put(l, r->kind, r->id, r->bytes, r->len);
  }
  free(ix);
  return rc;
}

static void order_init(order_load *o, tu_mem *m, int mode, uint64_t seed) {
  o->m = m;
  o->mode = mode;
  o->seed = seed;
  /* only load: the stores reopened through it are only read */
  memset(&o->vt, 0, sizeof o->vt);
  o->vt.version = HUBC_PERSIST_VERSION;
  o->vt.load = ord_load;
  o->vt.userdata = o;
  o->vt.begin = NULL;
  o->vt.put = NULL;
  o->vt.del = NULL;
  o->vt.commit = NULL;
  o->vt.rollback = NULL;
}

static void r1_rich_store_round_trips_through_its_records(void **state) {
  (void)state;
  tu_clock clock = {T_RICH};
  tu_mem m;
  tu_mem_init(&m);
  hubc_store *s = open_store(&clock, &m.vtable);
  build_rich(s, &clock);
  char *want = tu_dump(s);

  hubc_store *s2 = open_store(&clock, &m.vtable);
  tu_expect_dump(s2, want, "reopened");
  /* the reopened store goes on exactly like the original: ids, pending
   * requests (M5 at the next update date), users */
  for (int k = 0; k < 2; k++) {
    hubc_store *x = k ? s2 : s;
    hubc_id id, uid;
    const char *n[] = {"email"}, *v[] = {"after@example.com"};
    ok(hubc_contact_create(&id, x, 2, NULL, n, v, 1), "create after reopen");
    ok(hubc_user_create(&uid, x, ADMIN, "later@example.com"), "user after reopen");
  }
  clock.now = tu_time(2024, 4, 15, 0, 0, 1);
  char *a = tu_dump(s), *b = tu_dump(s2);
  assert_string_equal(a, b);
  assert_non_null(strstr(a, "period 3 "));
  free(a);
  free(b);
  hubc_store_close(s2);
  hubc_store_close(s);
  free(want);
  tu_mem_free(&m);
}

static void r1_records_load_in_any_order(void **state) {
  (void)state;
  tu_clock clock = {T_RICH};
  tu_mem m;
  tu_mem_init(&m);
  hubc_store *s = open_store(&clock, &m.vtable);
  build_rich(s, &clock);
  char *want = tu_dump(s);
  hubc_store_close(s);
  for (int mode = 1; mode <= 2; mode++) {
    for (uint64_t seed = 1; seed <= (mode == 2 ? 25u : 1u); seed++) {
      order_load o;
      order_init(&o, &m, mode, seed);
      hubc_store *s2 = NULL;
      int rc = open_rc(&s2, &clock, &o.vt);
      if (rc) fail_msg("order %d seed %llu: open %d %s", mode, (unsigned long long)seed, rc, hubc_error_last());
      char what[64];
      snprintf(what, sizeof what, "order %d seed %llu", mode, (unsigned long long)seed);
      tu_expect_dump(s2, want, what);
      hubc_store_close(s2);
    }
  }
  free(want);
  tu_mem_free(&m);
}

/* A journal-like backend: every committed put/del in order, replayed as
 * written at load (later puts replace earlier ones, dels remove). */
typedef struct logmem {
  tu_mem *m; /* committed state, for the normal callbacks */
  tu_mem_rec *log;
  size_t n, cap;
  size_t txn_start;
  hubc_persist vt;
} logmem;

static void log_add(logmem *l, int kind, hubc_id id, const void *bytes, size_t len) {
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 256;
    l->log = realloc(l->log, l->cap * sizeof *l->log);
  }
  tu_mem_rec *r = &l->log[l->n++];
  r->kind = kind;
  r->id = id;
  r->len = len;
  r->bytes = NULL;
  if (bytes) {
    r->bytes = malloc(len ? len : 1);
    memcpy(r->bytes, bytes, len);
  }
}
static int lg_load(void *ud, hubc_loader *ld) {
  logmem *l = ud;
  for (size_t i = 0; i < l->n; i++) {
    int rc = l->log[i].bytes ? hubc_loader_put(ld, l->log[i].kind, l->log[i].id, l->log[i].bytes, l->log[i].len)
                             : hubc_loader_del(ld, l->log[i].kind, l->log[i].id);
    if (rc) return rc;
  }
  return 0;
}
static int lg_begin(void *ud) {
  logmem *l = ud;
  l->txn_start = l->n;
  return l->m->vtable.begin(l->m);
}
static int lg_put(void *ud, int kind, hubc_id id, const void *b, size_t len) {
  logmem *l = ud;
  log_add(l, kind, id, b, len);
  return l->m->vtable.put(l->m, kind, id, b, len);
}
static int lg_del(void *ud, int kind, hubc_id id) {
  logmem *l = ud;
  log_add(l, kind, id, NULL, 0);
  return l->m->vtable.del(l->m, kind, id);
}
static int lg_commit(void *ud) {
  logmem *l = ud;
  return l->m->vtable.commit(l->m);
}
static int lg_rollback(void *ud) {
  logmem *l = ud;
  for (size_t i = l->txn_start; i < l->n; i++) free(l->log[i].bytes);
  l->n = l->txn_start;
  return l->m->vtable.rollback(l->m);
}

static void r1_replaying_every_transaction_in_order_rebuilds_the_store(void **state) {
  (void)state;
  tu_clock clock = {T_RICH};
  tu_mem m;
  tu_mem_init(&m);
  logmem l = {&m, NULL, 0, 0, 0, {0}};
  l.vt.version = HUBC_PERSIST_VERSION;
  l.vt.userdata = &l;
  l.vt.load = lg_load;
  l.vt.begin = lg_begin;
  l.vt.put = lg_put;
  l.vt.del = lg_del;
  l.vt.commit = lg_commit;
  l.vt.rollback = lg_rollback;
  hubc_store *s = open_store(&clock, &l.vt);
  build_rich(s, &clock);
  /* an email moving between contacts over time */
  hubc_id a = tu_contact(s, ADMIN, "moving@example.com", "A");
  const char *n[] = {"email"}, *v[] = {"moved@example.com"};
  ok(hubc_contact_update(s, ADMIN, a, n, v, 1), "move email");
  hubc_id b = tu_contact(s, ADMIN, "moving@example.com", "B");
  ok(hubc_contact_delete(s, ADMIN, b), "delete b");
  tu_contact(s, ADMIN, "moving@example.com", "C");
  /* a failed transaction is not in the log */
  m.fail_at = m.calls + 2;
  assert_int_equal(hubc_contact_set_marketing(s, ADMIN, a, HUBC_SOURCE_MANUAL, 0), HUBC_EPERSIST);
  m.fail_at = 0;
  char *want = tu_dump(s);
  hubc_store *s2 = open_store(&clock, &l.vt);
  tu_expect_dump(s2, want, "log replay");
  hubc_store_close(s2);
  hubc_store_close(s);
  free(want);
  for (size_t i = 0; i < l.n; i++) free(l.log[i].bytes);
  free(l.log);
  tu_mem_free(&m);
}

/* ---- R1: damaged records -------------------------------------------------- */

/* A small valid record set: admin, a 3-option enumeration (index 19 + 1 =
 * record 20 is the first custom one), contacts 1 and 2, history. */
typedef struct base {
  recset recs;
  char *dump;
  hubc_id c1, c2;
  unsigned level; /* schema index of the enumeration */
} base;

static void base_make(base *b) {
  tu_clock clock = {T0};
  tu_mem m;
  tu_mem_init(&m);
  hubc_store *s = open_store(&clock, &m.vtable);
  static const char *const levels[] = {"bronze", "silver", "gold"};
  ok(hubc_property_define(s, ADMIN, "level", "Level", HUBC_PROP_ENUMERATION, levels, 3), "define");
  hubc_id u;
  ok(hubc_user_create(&u, s, ADMIN, "user@example.com"), "user");
  const char *n[] = {"email", "firstname", "level"};
  const char *v1[] = {"one@example.com", "One", "gold"}, *v2[] = {"two@example.com", "Two", ""};
  ok(hubc_contact_create(&b->c1, s, ADMIN, NULL, n, v1, 3), "c1");
  ok(hubc_contact_create(&b->c2, s, ADMIN, NULL, n, v2, 3), "c2");
  ok(hubc_contact_set_marketing(s, ADMIN, b->c1, HUBC_SOURCE_MANUAL, 0), "mk");
  ok(hubc_source_set_default(s, ADMIN, HUBC_SOURCE_CHATFLOW, 3, 1), "switch");
  clock.now = T_UPDATE;
  ok(hubc_store_tick(s), "tick"); /* a period record */
  b->dump = tu_dump(s);
  b->recs = recs_copy(&m);
  b->level = HUBC__P_BUILTIN_COUNT;
  hubc_store_close(s);
  tu_mem_free(&m);
}

static void base_free(base *b) {
  recs_free(&b->recs);
  free(b->dump);
}

/* Opens a store on `c`; returns the code (the store, if any, is closed). */
static int try_open(const recset *c, char **dump_out) {
  tu_mem m;
  recs_install(&m, c);
  tu_clock clock = {T_UPDATE};
  hubc_store *s = NULL;
  int rc = open_rc(&s, &clock, &m.vtable);
  if (rc) {
    assert_null(s);
    assert_int_equal(hubc_error_last_code(), rc);
  } else {
    if (dump_out) *dump_out = tu_dump(s);
    hubc_store_close(s);
  }
  tu_mem_free(&m);
  return rc;
}

static void expect_refused(const recset *c, int code, const char *needle, const char *what) {
  int rc = try_open(c, NULL);
  if (rc != code) fail_msg("%s: open returned %d (%s), expected %d", what, rc, hubc_error_last(), code);
  if (needle && !strstr(hubc_error_last(), needle))
    fail_msg("%s: message \"%s\" does not name \"%s\"", what, hubc_error_last(), needle);
}

static const char *kind_word(int kind) {
  static const char *names[] = {"?", "meta", "property", "contact", "history", "user", "period", "switch"};
  return kind >= 1 && kind <= 7 ? names[kind] : "?";
}

static void r1_base_records_load(void **state) {
  (void)state;
  base b;
  base_make(&b);
  char *d = NULL;
  assert_int_equal(try_open(&b.recs, &d), 0);
  assert_string_equal(d, b.dump);
  free(d);
  base_free(&b);
}

static void r1_wrong_format_version_is_eversion(void **state) {
  (void)state;
  base b;
  base_make(&b);
  static const int kinds[] = {HUBC_REC_META, HUBC_REC_PROPERTY, HUBC_REC_CONTACT, HUBC_REC_USER};
  static const hubc_id ids[] = {1, HUBC__P_BUILTIN_COUNT + 1, 2, 2};
  static const unsigned char versions[] = {0, 2, 0xff};
  for (size_t i = 0; i < 4; i++) {
    for (size_t v = 0; v < sizeof versions; v++) {
      recset c = recs_copy(&(tu_mem){.recs = b.recs.r, .n = b.recs.n});
      tu_mem_rec *r = recs_find(&c, kinds[i], ids[i]);
      r->bytes[0] = versions[v];
      char needle[64];
      snprintf(needle, sizeof needle, "kind %d, id %lld", kinds[i], (long long)ids[i]);
      expect_refused(&c, HUBC_EVERSION, needle, "wrong version");
      snprintf(needle, sizeof needle, "version %u", versions[v]);
      expect_msg(needle);
      recs_free(&c);
    }
  }
  base_free(&b);
}

/* Field boundaries of a record (offsets where a field starts or the record ends). */
static int is_boundary(const unsigned char *p, size_t len, size_t cut) {
  if (cut == 1) return 1;
  size_t pos = 1;
  while (pos < len) {
    uint64_t flen = 0;
    unsigned sh = 0;
    while (p[pos] & 0x80) pos++; /* the tag: only skipped */
    pos++;
    while (p[pos] & 0x80) flen |= (uint64_t)(p[pos++] & 0x7f) << sh, sh += 7;
    flen |= (uint64_t)p[pos++] << sh;
    pos += flen;
    if (pos == cut) return 1;
    if (pos > cut) return 0;
  }
  return 0;
}

static void r1_truncated_records_are_ecorrupt_naming_the_record(void **state) {
  (void)state;
  base b;
  base_make(&b);
  size_t refused = 0, loaded = 0;
  for (size_t i = 0; i < b.recs.n; i++) {
    const tu_mem_rec *orig = &b.recs.r[i];
    for (size_t cut = 0; cut < orig->len; cut++) {
      recset c = recs_copy(&(tu_mem){.recs = b.recs.r, .n = b.recs.n});
      c.r[i].len = cut;
      char what[96], needle[64];
      snprintf(what, sizeof what, "%s record %lld cut to %zu of %zu bytes", kind_word(orig->kind),
               (long long)orig->id, cut, orig->len);
      snprintf(needle, sizeof needle, "stored %s record %lld", kind_word(orig->kind), (long long)orig->id);
      if (cut == 0 || !is_boundary(orig->bytes, orig->len, cut)) {
        expect_refused(&c, HUBC_ECORRUPT, needle, what);
        refused++;
      } else {
        /* a cut between fields drops whole fields: loads or is refused,
         * never crashes or leaks */
        int rc = try_open(&c, NULL);
        if (rc != 0 && rc != HUBC_ECORRUPT) fail_msg("%s: %d %s", what, rc, hubc_error_last());
        loaded++;
      }
      recs_free(&c);
    }
  }
  assert_true(refused > 50);
  assert_true(loaded > 5);
  base_free(&b);
}

/* Replaces one record of the base set by `r` and expects ECORRUPT naming it. */
static void corrupt_case(const base *b, int kind, hubc_id id, const rb *r, const char *needle, const char *what) {
  recset c = recs_copy(&(tu_mem){.recs = b->recs.r, .n = b->recs.n});
  recs_set(&c, kind, id, r->b, r->n);
  char name[64];
  snprintf(name, sizeof name, "stored %s record %lld", kind_word(kind), (long long)id);
  expect_refused(&c, HUBC_ECORRUPT, name, what);
  if (needle) expect_msg(needle);
  recs_free(&c);
}

static void r1_malformed_fields_and_bad_values_are_ecorrupt(void **state) {
  (void)state;
  base b;
  base_make(&b);
  rb r, blob;
  blob.n = 0;
  blob_str(&blob, HUBC__P_EMAIL, "two@example.com");
  blob_str(&blob, HUBC__P_FIRSTNAME, "Two");

  /* the hand-built record itself is fine */
  contact_rec(&r, &blob, HUBC_NON_MARKETING);
  recset okc = recs_copy(&(tu_mem){.recs = b.recs.r, .n = b.recs.n});
  recs_set(&okc, HUBC_REC_CONTACT, b.c2, r.b, r.n);
  if (try_open(&okc, NULL)) fail_msg("hand-built contact record refused: %s", hubc_error_last());
  recs_free(&okc);

  /* an integer field with trailing bytes */
  rb_start(&r);
  rb_bytes(&r, HUBC__T_C_STATUS, "\x02\x00", 2);
  rb_bytes(&r, HUBC__T_C_PROPS, blob.b, blob.n);
  corrupt_case(&b, HUBC_REC_CONTACT, b.c2, &r, "malformed integer", "integer with trailing byte");
  /* an empty integer */
  rb_start(&r);
  rb_bytes(&r, HUBC__T_C_CREATED, "", 0);
  corrupt_case(&b, HUBC_REC_CONTACT, b.c2, &r, "malformed integer", "empty integer");
  /* a varint that never ends */
  rb_start(&r);
  rb_varint(&r, HUBC__T_C_CREATED);
  rb_varint(&r, 11);
  for (int i = 0; i < 11; i++) rb_byte(&r, 0xff);
  corrupt_case(&b, HUBC_REC_CONTACT, b.c2, &r, "malformed", "endless varint");
  /* a field length past the end */
  rb_start(&r);
  rb_varint(&r, HUBC__T_C_PROPS);
  rb_varint(&r, 1000);
  rb_byte(&r, 0);
  corrupt_case(&b, HUBC_REC_CONTACT, b.c2, &r, "malformed field", "length past the end");
  /* a huge length varint */
  rb_start(&r);
  rb_varint(&r, HUBC__T_C_PROPS);
  rb_varint(&r, UINT64_MAX);
  corrupt_case(&b, HUBC_REC_CONTACT, b.c2, &r, "malformed field", "huge length");

  /* bad status values */
  static const int64_t bad_status[] = {3, -1, 200, INT64_MIN};
  for (size_t i = 0; i < sizeof bad_status / sizeof *bad_status; i++) {
    contact_rec(&r, &blob, bad_status[i]);
    corrupt_case(&b, HUBC_REC_CONTACT, b.c2, &r, "status", "bad status");
  }
  /* bad source */
  rb_start(&r);
  rb_int(&r, HUBC__T_C_SOURCE, 99);
  rb_bytes(&r, HUBC__T_C_PROPS, blob.b, blob.n);
  corrupt_case(&b, HUBC_REC_CONTACT, b.c2, &r, "source", "bad source");
  rb_start(&r);
  rb_int(&r, HUBC__T_C_SOURCE, 0);
  corrupt_case(&b, HUBC_REC_CONTACT, b.c2, &r, "source", "source 0");

  /* history with a bad status / reason */
  rb_start(&r);
  rb_int(&r, HUBC__T_H_TIME, 1700000000);
  rb_int(&r, HUBC__T_H_CONTACT, b.c1);
  rb_int(&r, HUBC__T_H_OLD, 0);
  rb_int(&r, HUBC__T_H_NEW, 7);
  corrupt_case(&b, HUBC_REC_HISTORY, 1, &r, "range", "history new status 7");
  rb_start(&r);
  rb_int(&r, HUBC__T_H_CONTACT, b.c1);
  rb_int(&r, HUBC__T_H_OLD, -1);
  corrupt_case(&b, HUBC_REC_HISTORY, 1, &r, "range", "history old status -1");
  rb_start(&r);
  rb_int(&r, HUBC__T_H_CONTACT, 0);
  corrupt_case(&b, HUBC_REC_HISTORY, 1, &r, "range", "history without contact");
  rb_start(&r);
  rb_int(&r, HUBC__T_H_CONTACT, b.c1);
  rb_int(&r, HUBC__T_H_NEW, 1);
  rb_int(&r, HUBC__T_H_REASON_TYPE, 42);
  corrupt_case(&b, HUBC_REC_HISTORY, 1, &r, "range", "history reason 42");

  /* users: bad permission bits, flag values, email */
  rb_start(&r);
  rb_str(&r, HUBC__T_U_EMAIL, "user@example.com");
  rb_int(&r, HUBC__T_U_PERMS, 0x40);
  corrupt_case(&b, HUBC_REC_USER, 2, &r, "permissions", "user perms 0x40");
  rb_start(&r);
  rb_str(&r, HUBC__T_U_EMAIL, "user@example.com");
  rb_int(&r, HUBC__T_U_DISABLED, 2);
  corrupt_case(&b, HUBC_REC_USER, 2, &r, "flag", "user disabled 2");
  rb_start(&r);
  rb_str(&r, HUBC__T_U_EMAIL, "not an email");
  corrupt_case(&b, HUBC_REC_USER, 2, &r, "email", "user bad email");
  rb_start(&r);
  rb_int(&r, HUBC__T_U_PERMS, 1);
  corrupt_case(&b, HUBC_REC_USER, 2, &r, "email", "user without email");

  /* properties: bad type, options on a non-enumeration, no name, bad UTF-8 */
  hubc_id pid = HUBC__P_BUILTIN_COUNT + 1;
  rb_start(&r);
  rb_str(&r, HUBC__T_PROP_NAME, "level");
  rb_str(&r, HUBC__T_PROP_LABEL, "Level");
  rb_int(&r, HUBC__T_PROP_TYPE, 9);
  corrupt_case(&b, HUBC_REC_PROPERTY, pid, &r, "type", "property type 9");
  rb_start(&r);
  rb_str(&r, HUBC__T_PROP_NAME, "level");
  rb_str(&r, HUBC__T_PROP_LABEL, "Level");
  rb_int(&r, HUBC__T_PROP_TYPE, HUBC_PROP_STRING);
  rb_str(&r, HUBC__T_PROP_OPTION, "x");
  corrupt_case(&b, HUBC_REC_PROPERTY, pid, &r, "options", "string with options");
  rb_start(&r);
  rb_str(&r, HUBC__T_PROP_LABEL, "Level");
  corrupt_case(&b, HUBC_REC_PROPERTY, pid, &r, "name", "property without name");
  rb_start(&r);
  rb_str(&r, HUBC__T_PROP_NAME, "lev\xc0l");
  rb_str(&r, HUBC__T_PROP_LABEL, "Level");
  corrupt_case(&b, HUBC_REC_PROPERTY, pid, &r, "UTF-8", "property name not UTF-8");
  rb_start(&r);
  rb_str(&r, HUBC__T_PROP_NAME, "email"); /* a built-in's name */
  rb_str(&r, HUBC__T_PROP_LABEL, "Level");
  rb_int(&r, HUBC__T_PROP_TYPE, HUBC_PROP_ENUMERATION);
  rb_str(&r, HUBC__T_PROP_OPTION, "a");
  corrupt_case(&b, HUBC_REC_PROPERTY, pid, &r, "duplicate", "property named like a built-in");

  /* switches: a source without switches, a malformed entry */
  rb_start(&r);
  corrupt_case(&b, HUBC_REC_SWITCH, HUBC_SOURCE_MANUAL, &r, "configurable", "switch of MANUAL");
  rb_start(&r);
  rb_bytes(&r, HUBC__T_S_ENTRY, "\x06\x02", 2);
  corrupt_case(&b, HUBC_REC_SWITCH, HUBC_SOURCE_CHATFLOW, &r, "entry", "switch on=2");

  /* meta: wrong id, tier 0 */
  recset c = recs_copy(&(tu_mem){.recs = b.recs.r, .n = b.recs.n});
  tu_mem_rec *meta = recs_find(&c, HUBC_REC_META, 1);
  recs_set(&c, HUBC_REC_META, 2, meta->bytes, meta->len);
  expect_refused(&c, HUBC_ECORRUPT, "stored meta record 2", "meta id 2");
  recs_free(&c);
  rb_start(&r);
  rb_int(&r, HUBC__T_META_NEXT_ID, 3);
  rb_int(&r, HUBC__T_META_NEXT_USER, 3);
  rb_int(&r, HUBC__T_META_TIER, 0);
  corrupt_case(&b, HUBC_REC_META, 1, &r, "tier", "meta tier 0");
  rb_start(&r);
  rb_int(&r, HUBC__T_META_NEXT_ID, -5);
  corrupt_case(&b, HUBC_REC_META, 1, &r, "counter", "meta next id -5");
  base_free(&b);
}

static void r1_unknown_record_kinds_are_ecorrupt(void **state) {
  (void)state;
  base b;
  base_make(&b);
  static const int kinds[] = {0, HUBC_REC_KIND_MAX + 1, 99, -1};
  for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
    recset c = recs_copy(&(tu_mem){.recs = b.recs.r, .n = b.recs.n});
    unsigned char bytes[] = {HUBC__FORMAT_VERSION, 1, 1, 2};
    recs_set(&c, kinds[i], 42, bytes, sizeof bytes);
    char needle[32];
    snprintf(needle, sizeof needle, "kind %d", kinds[i]);
    expect_refused(&c, HUBC_ECORRUPT, needle, "unknown kind");
    expect_msg("42"); /* names the record: kind and id */
    recs_free(&c);
  }
  base_free(&b);
}

static void r1_duplicate_contact_emails_are_ecorrupt(void **state) {
  (void)state;
  base b;
  base_make(&b);
  for (int order = 0; order < 2; order++) {
    /* contact 3 holds contact 1's or 2's email; loaded after them or before */
    rb blob, r;
    blob.n = 0;
    blob_str(&blob, HUBC__P_EMAIL, order ? "two@example.com" : "one@example.com");
    contact_rec(&r, &blob, HUBC_NON_MARKETING);
    recset c = recs_copy(&(tu_mem){.recs = b.recs.r, .n = b.recs.n});
    recs_drop(&c, HUBC_REC_META, 1); /* without META, id 3 is a valid id: one fault only */
    recs_set(&c, HUBC_REC_CONTACT, 3, r.b, r.n);
    if (order) { /* move it first */
      tu_mem_rec t = c.r[c.n - 1];
      memmove(c.r + 1, c.r, (c.n - 1) * sizeof *c.r);
      c.r[0] = t;
    }
    expect_refused(&c, HUBC_ECORRUPT, "stored contact record", "duplicate email");
    expect_msg("email");
    recs_free(&c);
  }
  base_free(&b);
}

static void r1_contact_ids_at_or_above_the_stored_next_id_are_ecorrupt(void **state) {
  (void)state;
  base b;
  base_make(&b);
  rb blob, r;
  blob.n = 0;
  blob_str(&blob, HUBC__P_EMAIL, "fresh@example.com");
  contact_rec(&r, &blob, HUBC_NON_MARKETING);
  recset c = recs_copy(&(tu_mem){.recs = b.recs.r, .n = b.recs.n});
  recs_set(&c, HUBC_REC_CONTACT, 4000000000LL, r.b, r.n); /* ids are never reused: none may exceed next id */
  expect_refused(&c, HUBC_ECORRUPT, "stored contact record 4000000000", "contact id beyond the stored next id");
  expect_msg("next record id");
  recs_free(&c);
  base_free(&b);
}

/* Last put wins means a later META replaces an earlier one whole: a field
 * it lacks takes its default, as it would in a journal compacted down to
 * the later record alone (found by fuzz_journal). */
static void r1_a_later_meta_replaces_an_earlier_one_whole(void **state) {
  (void)state;
  rb with_tier, without_tier;
  rb_start(&with_tier);
  rb_int(&with_tier, HUBC__T_META_NEXT_ID, 1);
  rb_int(&with_tier, HUBC__T_META_TIER, 2000);
  rb_start(&without_tier);
  rb_int(&without_tier, HUBC__T_META_NEXT_ID, 1);
  const char *admin_email = "admin@example.com";
  rb user;
  rb_start(&user);
  rb_str(&user, HUBC__T_U_EMAIL, admin_email);
  rb_int(&user, HUBC__T_U_PERMS, HUBC_PERM_DEFAULT);
  rb_int(&user, HUBC__T_U_SUPER, 1);
  char *dumps[2];
  for (int twice = 0; twice < 2; twice++) {
    tu_mem m;
    tu_mem_init(&m);
    assert_int_equal(m.vtable.begin(&m), 0);
    assert_int_equal(m.vtable.put(&m, HUBC_REC_USER, 1, user.b, user.n), 0);
    assert_int_equal(m.vtable.commit(&m), 0);
    if (twice) { /* both METAs, in order; tu_mem keeps one per key, so load pushes both by hand */
      m.recs = realloc(m.recs, (m.n + 2) * sizeof *m.recs);
      m.recs[m.n].kind = HUBC_REC_META, m.recs[m.n].id = 1;
      m.recs[m.n].bytes = malloc(with_tier.n), memcpy(m.recs[m.n].bytes, with_tier.b, with_tier.n);
      m.recs[m.n++].len = with_tier.n;
    }
    m.recs = realloc(m.recs, (m.n + 1) * sizeof *m.recs);
    m.recs[m.n].kind = HUBC_REC_META, m.recs[m.n].id = 1;
    m.recs[m.n].bytes = malloc(without_tier.n), memcpy(m.recs[m.n].bytes, without_tier.b, without_tier.n);
    m.recs[m.n++].len = without_tier.n;
    tu_clock clock = {T_UPDATE};
    hubc_store *s = NULL;
    assert_int_equal(open_rc(&s, &clock, &m.vtable), 0);
    hubc_billing_info bi;
    bi.version = HUBC_BILLING_INFO_VERSION;
    assert_int_equal(hubc_billing_get(&bi, s), 0);
    assert_int_equal(bi.tier, 5000); /* the options' starting tier (open_rc), not the earlier record's 2000 */
    dumps[twice] = tu_dump(s);
    hubc_store_close(s);
    tu_mem_free(&m);
  }
  assert_string_equal(dumps[0], dumps[1]);
  free(dumps[0]);
  free(dumps[1]);
}

static void r1_duplicate_user_emails_are_ecorrupt(void **state) {
  (void)state;
  base b;
  base_make(&b);
  rb r;
  rb_start(&r);
  rb_str(&r, HUBC__T_U_EMAIL, "user@example.com");
  rb_int(&r, HUBC__T_U_PERMS, HUBC_PERM_DEFAULT);
  recset c = recs_copy(&(tu_mem){.recs = b.recs.r, .n = b.recs.n});
  recs_set(&c, HUBC_REC_USER, 3, r.b, r.n);
  expect_refused(&c, HUBC_ECORRUPT, "stored user record", "duplicate user email");
  expect_msg("email");
  recs_free(&c);
  base_free(&b);
}

static void r1_schema_mismatches_are_ecorrupt(void **state) {
  (void)state;
  base b;
  base_make(&b);
  rb r, blob;
  /* a property index gap: record 22 without 21 */
  rb_start(&r);
  rb_str(&r, HUBC__T_PROP_NAME, "later");
  rb_str(&r, HUBC__T_PROP_LABEL, "Later");
  rb_int(&r, HUBC__T_PROP_TYPE, HUBC_PROP_STRING);
  corrupt_case(&b, HUBC_REC_PROPERTY, HUBC__P_BUILTIN_COUNT + 3, &r, "gap", "property gap");
  /* a property record over a built-in's index */
  corrupt_case(&b, HUBC_REC_PROPERTY, 3, &r, "index", "property over a built-in");

  /* a contact referencing an undefined property */
  blob.n = 0;
  blob_str(&blob, HUBC__P_EMAIL, "two@example.com");
  blob_str(&blob, HUBC__P_BUILTIN_COUNT + 5, "x");
  contact_rec(&r, &blob, HUBC_NON_MARKETING);
  corrupt_case(&b, HUBC_REC_CONTACT, b.c2, &r, "schema", "undefined property");
  /* an undefined enumeration option (3 options: 0..2) */
  blob.n = 0;
  blob_str(&blob, HUBC__P_EMAIL, "two@example.com");
  blob_enum(&blob, b.level, 3);
  contact_rec(&r, &blob, HUBC_NON_MARKETING);
  corrupt_case(&b, HUBC_REC_CONTACT, b.c2, &r, "schema", "undefined enum option");
  blob.n = 0;
  blob_enum(&blob, HUBC__P_LIFECYCLE, 8);
  contact_rec(&r, &blob, HUBC_NON_MARKETING);
  corrupt_case(&b, HUBC_REC_CONTACT, b.c2, &r, "schema", "undefined lifecyclestage option");
  /* a string where an enumeration belongs, and the reverse */
  blob.n = 0;
  blob_str(&blob, b.level, "gold");
  contact_rec(&r, &blob, HUBC_NON_MARKETING);
  corrupt_case(&b, HUBC_REC_CONTACT, b.c2, &r, "schema", "string for an enumeration");
  blob.n = 0;
  blob_enum(&blob, HUBC__P_FIRSTNAME, 0);
  contact_rec(&r, &blob, HUBC_NON_MARKETING);
  corrupt_case(&b, HUBC_REC_CONTACT, b.c2, &r, "schema", "enumeration for a string");
  /* a computed property stored in a record */
  blob.n = 0;
  blob_str(&blob, HUBC__P_OBJECT_ID, "7");
  contact_rec(&r, &blob, HUBC_NON_MARKETING);
  corrupt_case(&b, HUBC_REC_CONTACT, b.c2, &r, "schema", "computed property stored");
  /* unsorted or repeated properties */
  blob.n = 0;
  blob_str(&blob, HUBC__P_LASTNAME, "b");
  blob_str(&blob, HUBC__P_FIRSTNAME, "a");
  contact_rec(&r, &blob, HUBC_NON_MARKETING);
  corrupt_case(&b, HUBC_REC_CONTACT, b.c2, &r, "properties", "unsorted properties");
  blob.n = 0;
  blob_str(&blob, HUBC__P_FIRSTNAME, "a");
  blob_str(&blob, HUBC__P_FIRSTNAME, "b");
  contact_rec(&r, &blob, HUBC_NON_MARKETING);
  corrupt_case(&b, HUBC_REC_CONTACT, b.c2, &r, "properties", "repeated property");
  /* a value without its NUL, invalid UTF-8 */
  blob.n = 0;
  blob_str(&blob, HUBC__P_FIRSTNAME, "abc");
  blob.n--;
  contact_rec(&r, &blob, HUBC_NON_MARKETING);
  corrupt_case(&b, HUBC_REC_CONTACT, b.c2, &r, "properties", "value without NUL");
  blob.n = 0;
  blob_str(&blob, HUBC__P_FIRSTNAME, "\xff\xfe");
  contact_rec(&r, &blob, HUBC_NON_MARKETING);
  corrupt_case(&b, HUBC_REC_CONTACT, b.c2, &r, "properties", "value not UTF-8");
  /* an email that is not a normalized address */
  static const char *const bad_emails[] = {"Two@Example.com", "no-at-sign", " two@example.com", ""};
  for (size_t i = 0; i < sizeof bad_emails / sizeof *bad_emails; i++) {
    blob.n = 0;
    blob_str(&blob, HUBC__P_EMAIL, bad_emails[i]);
    contact_rec(&r, &blob, HUBC_NON_MARKETING);
    corrupt_case(&b, HUBC_REC_CONTACT, b.c2, &r, "email", bad_emails[i]);
  }
  /* a history gap: entry 3 without 2 */
  recset c = recs_copy(&(tu_mem){.recs = b.recs.r, .n = b.recs.n});
  tu_mem_rec *h1 = recs_find(&c, HUBC_REC_HISTORY, 1);
  recs_set(&c, HUBC_REC_HISTORY, 3, h1->bytes, h1->len);
  expect_refused(&c, HUBC_ECORRUPT, "stored history record 2", "history gap");
  expect_msg("missing");
  recs_free(&c);
  base_free(&b);
}

static void r1_stored_users_without_super_admin_are_ecorrupt(void **state) {
  (void)state;
  base b;
  base_make(&b);
  rb r;
  rb_start(&r);
  rb_str(&r, HUBC__T_U_EMAIL, "admin@example.com");
  rb_int(&r, HUBC__T_U_PERMS, HUBC_PERM_ALL);
  rb_int(&r, HUBC__T_U_SUPER, 0);
  recset c = recs_copy(&(tu_mem){.recs = b.recs.r, .n = b.recs.n});
  recs_set(&c, HUBC_REC_USER, 1, r.b, r.n);
  expect_refused(&c, HUBC_ECORRUPT, "super admin", "no super admin");
  recs_free(&c);
  base_free(&b);
}

/* Forward compatibility: unknown trailing field tags are skipped. */
static void r1_unknown_trailing_fields_are_skipped(void **state) {
  (void)state;
  base b;
  base_make(&b);
  for (size_t i = 0; i < b.recs.n; i++) {
    for (int variant = 0; variant < 3; variant++) {
      recset c = recs_copy(&(tu_mem){.recs = b.recs.r, .n = b.recs.n});
      rb r;
      r.n = c.r[i].len;
      memcpy(r.b, c.r[i].bytes, r.n);
      if (variant == 0) rb_int(&r, 60, 12345); /* an integer */
      if (variant == 1) rb_str(&r, 200, "\xff\xff\xff not an integer"); /* two-byte tag, raw bytes */
      if (variant == 2) {                       /* several, one empty */
        rb_bytes(&r, 31, "", 0);
        rb_str(&r, 32, "later field");
      }
      recs_set(&c, c.r[i].kind, c.r[i].id, r.b, r.n);
      char *d = NULL;
      int rc = try_open(&c, &d);
      if (rc)
        fail_msg("%s record %lld with unknown field (variant %d): %d %s", kind_word(c.r[i].kind),
                 (long long)c.r[i].id, variant, rc, hubc_error_last());
      if (strcmp(d, b.dump) != 0) fail_msg("%s record %lld with unknown field: dump differs", kind_word(c.r[i].kind),
                                           (long long)c.r[i].id);
      free(d);
      recs_free(&c);
    }
  }
  base_free(&b);
}

/* The load callback's own failures. */
static int failing_load(void *ud, hubc_loader *l) {
  (void)l;
  return *(int *)ud;
}

static void r1_load_callback_failure_opens_nothing(void **state) {
  (void)state;
  tu_clock clock = {T0};
  tu_mem m;
  tu_mem_init(&m);
  static const int codes[] = {-1, HUBC_EAGAIN, 77};
  for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) {
    int code = codes[i];
    hubc_persist p = m.vtable;
    p.userdata = &code;
    p.load = failing_load;
    hubc_store *s = NULL;
    int rc = open_rc(&s, &clock, &p);
    assert_int_equal(rc, code == HUBC_EAGAIN ? HUBC_EAGAIN : HUBC_EPERSIST);
    assert_null(s);
    expect_msg("load");
  }
  assert_int_equal(m.calls, 0);
  tu_mem_free(&m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(r2_every_mutating_call_fails_at_every_callback_with_nothing_changed),
      cmocka_unit_test(r2_backend_asking_to_retry_gives_eagain_with_nothing_changed),
      cmocka_unit_test(r2_refused_calls_make_no_persistence_callback),
      cmocka_unit_test(r1_rich_store_round_trips_through_its_records),
      cmocka_unit_test(r1_records_load_in_any_order),
      cmocka_unit_test(r1_replaying_every_transaction_in_order_rebuilds_the_store),
      cmocka_unit_test(r1_base_records_load),
      cmocka_unit_test(r1_wrong_format_version_is_eversion),
      cmocka_unit_test(r1_truncated_records_are_ecorrupt_naming_the_record),
      cmocka_unit_test(r1_malformed_fields_and_bad_values_are_ecorrupt),
      cmocka_unit_test(r1_unknown_record_kinds_are_ecorrupt),
      cmocka_unit_test(r1_duplicate_contact_emails_are_ecorrupt),
      cmocka_unit_test(r1_contact_ids_at_or_above_the_stored_next_id_are_ecorrupt),
      cmocka_unit_test(r1_a_later_meta_replaces_an_earlier_one_whole),
      cmocka_unit_test(r1_duplicate_user_emails_are_ecorrupt),
      cmocka_unit_test(r1_schema_mismatches_are_ecorrupt),
      cmocka_unit_test(r1_stored_users_without_super_admin_are_ecorrupt),
      cmocka_unit_test(r1_unknown_trailing_fields_are_skipped),
      cmocka_unit_test(r1_load_callback_failure_opens_nothing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
