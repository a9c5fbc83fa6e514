/* The persistence contract suite (R1, R2); see persist_contract.h. */
#include "persist_contract.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

#define ADMIN 1
#define T0 tu_time(2024, 3, 10, 12, 0, 0)
#define T_UPDATE tu_time(2024, 4, 10, 0, 0, 5) /* just past the first update date */

/* ---- the shim: mirrors committed transactions, fails callback k ---------- */

typedef struct pc_shim {
  hubc_persist real;
  long calls;     /* begin, put, del, commit */
  long fail_at;   /* 1-based; 0 never */
  int fail_code;
  long failures;
  unsigned kinds; /* bit per record kind put */
  tu_mem mirror;  /* what the store committed, as sent */
} pc_shim;

/* Callback k fails. A failing put or del first reaches the backend, so its
 * rollback has something to undo; a failing begin or commit does not (after
 * a failed begin the store calls no rollback). */
static int shim_fails(pc_shim *sh) {
  sh->calls++;
  if (sh->fail_at && sh->calls == sh->fail_at) {
    sh->failures++;
    return 1;
  }
  return 0;
}

static int sh_load(void *ud, hubc_loader *l) {
  pc_shim *sh = ud;
  return sh->real.load(sh->real.userdata, l);
}

static int sh_begin(void *ud) {
  pc_shim *sh = ud;
  if (shim_fails(sh)) return sh->fail_code;
  int rc = sh->real.begin(sh->real.userdata);
  if (!rc) sh->mirror.vtable.begin(&sh->mirror);
  return rc;
}

static int sh_put(void *ud, int kind, hubc_id id, const void *bytes, size_t len) {
  pc_shim *sh = ud;
  int fails = shim_fails(sh);
  int rc = sh->real.put(sh->real.userdata, kind, id, bytes, len);
  if (fails) return sh->fail_code;
  if (!rc) {
    sh->kinds |= 1u << kind;
    sh->mirror.vtable.put(&sh->mirror, kind, id, bytes, len);
  }
  return rc;
}

static int sh_del(void *ud, int kind, hubc_id id) {
  pc_shim *sh = ud;
  int fails = shim_fails(sh);
  int rc = sh->real.del(sh->real.userdata, kind, id);
  if (fails) return sh->fail_code;
  if (!rc) sh->mirror.vtable.del(&sh->mirror, kind, id);
  return rc;
}

static int sh_commit(void *ud) {
  pc_shim *sh = ud;
  if (shim_fails(sh)) return sh->fail_code;
  int rc = sh->real.commit(sh->real.userdata);
  if (!rc) sh->mirror.vtable.commit(&sh->mirror);
  return rc;
}

static int sh_rollback(void *ud) {
  pc_shim *sh = ud;
  sh->mirror.vtable.rollback(&sh->mirror);
  return sh->real.rollback(sh->real.userdata);
}

static void sh_close(void *ud) {
  pc_shim *sh = ud;
  if (sh->real.close) sh->real.close(sh->real.userdata);
}

/* ---- one backend under test ------------------------------------------------ */

typedef struct pc_ctx {
  const pc_backend *b;
  pc_shim sh;
  hubc_persist vt; /* the shim's table */
  tu_clock clock;
  hubc_store *s;
} pc_ctx;

/* The context with an open store, closed by the teardown when a failed
 * assertion leaves a test early (a backend may hold a lock until then). */
static pc_ctx *live;

static void ctx_open(pc_ctx *x) {
  hubc_persist inner;
  memset(&inner, 0, sizeof inner);
  if (x->b->open(x->b->ctx, &inner) != 0) fail_msg("%s: open failed", x->b->name);
  x->sh.real = inner;
  hubc_store_options o;
  tu_options(&o, &x->clock, &x->vt);
  o.tier = 5000; /* above the first rung: a downgrade request is possible */
  int rc = hubc_store_open(&x->s, &o);
  if (rc) {
    x->b->release(x->b->ctx, &x->sh.real);
    fail_msg("%s: store open: %d %s", x->b->name, rc, hubc_error_last());
  }
  live = x;
}

static void ctx_close(pc_ctx *x) {
  live = NULL;
  hubc_store_close(x->s);
  x->s = NULL;
  x->b->release(x->b->ctx, &x->sh.real);
}

/* A fresh, empty storage and mirror, opened. */
static void ctx_fresh(pc_ctx *x, const pc_backend *b) {
  memset(x, 0, sizeof *x);
  x->b = b;
  x->clock.now = T0;
  tu_mem_init(&x->sh.mirror);
  x->vt.version = HUBC_PERSIST_VERSION;
  x->vt.userdata = &x->sh;
  x->vt.load = sh_load;
  x->vt.begin = sh_begin;
  x->vt.put = sh_put;
  x->vt.del = sh_del;
  x->vt.commit = sh_commit;
  x->vt.rollback = sh_rollback;
  x->vt.close = sh_close;
  b->wipe(b->ctx);
  ctx_open(x);
}

static void ctx_done(pc_ctx *x) {
  if (x->s) ctx_close(x);
  tu_mem_free(&x->sh.mirror);
}

static void same(const char *want, const char *got, const char *backend, const char *what) {
  char said[256];
  snprintf(said, sizeof said, "%s: %s", backend, what);
  tu_expect_same(want, got, said);
}

/* Closes the store, opens it again from the backend, checks the dump. */
static void expect_reopen(pc_ctx *x, const char *want, const char *what) {
  ctx_close(x);
  ctx_open(x);
  char *d = tu_dump(x->s);
  same(want, d, x->b->name, what);
  free(d);
}

/* ---- shuffled loads of the mirror ------------------------------------------ */

typedef struct shuffled {
  const tu_mem *m;
  uint64_t seed;
} shuffled;

static int shuffled_load(void *ud, hubc_loader *l) {
  shuffled *o = ud;
  size_t n = o->m->n;
  size_t *ix = malloc((n ? n : 1) * sizeof *ix);
  for (size_t i = 0; i < n; i++) ix[i] = i;
  uint64_t x = o->seed * 2654435761u + 1;
  for (size_t i = n; i > 1; i--) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    size_t j = (size_t)(x % i), t = ix[i - 1];
    ix[i - 1] = ix[j];
    ix[j] = t;
  }
  int rc = 0;
  for (size_t i = 0; i < n && !rc; i++) {
    const tu_mem_rec *r = &o->m->recs[ix[i]];
    rc = hubc_loader_put(l, r->kind, r->id, r->bytes, r->len);
  }
  free(ix);
  return rc;
}

/* The backend holds what the store committed: a store loaded from the
 * mirror, in three shuffled orders, equals the open store. */
static void expect_mirror(pc_ctx *x, const char *what) {
  char *want = tu_dump(x->s);
  for (uint64_t seed = 1; seed <= 3; seed++) {
    shuffled o = {&x->sh.mirror, seed};
    hubc_persist p;
    memset(&p, 0, sizeof p);
    p.version = HUBC_PERSIST_VERSION;
    p.userdata = &o;
    p.load = shuffled_load;
    tu_clock c = x->clock;
    hubc_store_options opts;
    tu_options(&opts, &c, &p);
    opts.tier = 5000;
    hubc_store *s = NULL;
    if (hubc_store_open(&s, &opts)) fail_msg("%s: %s: mirror load: %s", x->b->name, what, hubc_error_last());
    char *d = tu_dump(s);
    same(want, d, x->b->name, what);
    free(d);
    hubc_store_close(s);
  }
  free(want);
}

static void ok(int rc, const char *what) {
  if (rc) fail_msg("%s: %d %s", what, rc, hubc_error_last());
}

/* ---- R1: round trip of every record kind -------------------------------------- */

static void r1_contract_every_record_kind_round_trips(void **state) {
  const pc_backend *b = *state;
  pc_ctx x;
  ctx_fresh(&x, b);
  hubc_store *s = x.s;
  static const char *const levels[] = {"bronze", "silver", "gold \xe2\x98\x85"};
  ok(hubc_property_define(s, ADMIN, "level", "Level", HUBC_PROP_ENUMERATION, levels, 3), "define level");
  ok(hubc_property_define(s, ADMIN, "score", "Punteggio \xc3\xa8", HUBC_PROP_NUMBER, NULL, 0), "define score");
  hubc_id bob, eve;
  ok(hubc_user_create(&bob, s, ADMIN, "bob@example.com"), "bob");
  ok(hubc_user_set_permissions(s, ADMIN, bob, HUBC_PERM_EDIT_CONTACTS), "bob perms");
  ok(hubc_user_create(&eve, s, ADMIN, "eve@example.com"), "eve");
  ok(hubc_user_set_disabled(s, ADMIN, eve, 1), "eve disabled");
  ok(hubc_source_set_default(s, ADMIN, HUBC_SOURCE_CHATFLOW, 7, 1), "switch");
  const char *n[] = {"email", "firstname", "level", "score", "city"};
  const char *v[][5] = {{"anna@example.com", "Anna", "gold \xe2\x98\x85", "42.5", "Roma"},
                        {"marco@example.com", "Marco", "silver", "-3", "Milano"},
                        {"gone@example.com", "Gone", "", "", "line1\nline2\t\"q\""},
                        {"", "No email", "bronze", "1e6", ""}};
  hubc_id c[4];
  for (int i = 0; i < 4; i++) ok(hubc_contact_create(&c[i], s, i % 2 ? bob : ADMIN, NULL, n, v[i], 5), "create");
  hubc_create_options co = HUBC_CREATE_OPTIONS_INIT;
  co.source = HUBC_SOURCE_CHATFLOW;
  co.source_id = 7;
  const char *cn[] = {"email"}, *cv[] = {"chat@example.com"};
  hubc_id chat;
  ok(hubc_contact_create(&chat, s, HUBC_SYSTEM, &co, cn, cv, 1), "chatflow create");
  ok(hubc_contact_set_marketing(s, ADMIN, c[0], HUBC_SOURCE_MANUAL, ADMIN), "m0");
  ok(hubc_contact_set_marketing(s, HUBC_SYSTEM, c[1], HUBC_SOURCE_INTEGRATION, 99), "m1"); /* an app: SYSTEM */
  ok(hubc_contact_set_non_marketing(s, ADMIN, c[1], HUBC_SOURCE_MANUAL, ADMIN), "n1");
  ok(hubc_contact_set_marketing(s, ADMIN, c[2], HUBC_SOURCE_MANUAL, ADMIN), "m2");
  ok(hubc_contact_delete(s, ADMIN, c[2]), "delete");
  const char *un[] = {"email", "level"}, *uv[] = {"Marco.New@Example.com", "bronze"};
  ok(hubc_contact_update(s, bob, c[1], un, uv, 2), "update");
  ok(hubc_billing_request_downgrade(s, ADMIN, 2000), "downgrade");
  x.clock.now = T_UPDATE; /* a period closes, c[1] becomes NON_MARKETING (M5) */
  ok(hubc_store_tick(s), "tick");
  for (int kind = HUBC_REC_META; kind <= HUBC_REC_SWITCH; kind++)
    if (!(x.sh.kinds & 1u << kind)) fail_msg("%s: no record of kind %d was written", b->name, kind);

  char *want = tu_dump(s);
  expect_mirror(&x, "mirror after the rich store");
  expect_reopen(&x, want, "reopen of the rich store");
  /* it goes on from the reloaded state (ids continue, C1) and reopens again */
  hubc_id next;
  const char *nn[] = {"email"}, *nv[] = {"next@example.com"};
  ok(hubc_contact_create(&next, x.s, ADMIN, NULL, nn, nv, 1), "create after reopen");
  assert_true(next > chat);
  free(want);
  want = tu_dump(x.s);
  expect_reopen(&x, want, "second reopen");
  expect_mirror(&x, "mirror after the second reopen");
  free(want);
  ctx_done(&x);
}

/* ---- R2: every call failing at every callback ----------------------------------- */

typedef struct base_ids {
  hubc_id user, c_non, c_mk, c_until;
} base_ids;

static void make_base(hubc_store *s, base_ids *ids) {
  static const char *const levels[] = {"bronze", "silver", "gold"};
  ok(hubc_property_define(s, ADMIN, "level", "Level", HUBC_PROP_ENUMERATION, levels, 3), "define level");
  ok(hubc_user_create(&ids->user, s, ADMIN, "user@example.com"), "user");
  const char *n[] = {"email", "firstname", "level"};
  const char *v[][3] = {{"non@example.com", "Non", "silver"}, {"mk@example.com", "Mk", "gold"},
                        {"until@example.com", "Until", ""}};
  hubc_id out[3];
  ok(hubc_contact_create_batch(out, s, ADMIN, NULL, n, 3, &v[0][0], 3), "contacts");
  ids->c_non = out[0], ids->c_mk = out[1], ids->c_until = out[2];
  ok(hubc_contact_set_marketing(s, ADMIN, ids->c_mk, HUBC_SOURCE_MANUAL, ADMIN), "mk");
  ok(hubc_contact_set_marketing(s, ADMIN, ids->c_until, HUBC_SOURCE_MANUAL, ADMIN), "until 1");
  ok(hubc_contact_set_non_marketing(s, ADMIN, ids->c_until, HUBC_SOURCE_MANUAL, ADMIN), "until 2");
  ok(hubc_source_set_default(s, ADMIN, HUBC_SOURCE_CHATFLOW, 3, 1), "switch");
}

typedef struct scenario {
  const char *name;
  int (*call)(hubc_store *s, const base_ids *b);
  int crosses_update;
} scenario;

static int f_create(hubc_store *s, const base_ids *b) {
  hubc_id id;
  const char *n[] = {"email", "city"}, *v[] = {"new@example.com", "Roma"};
  return hubc_contact_create(&id, s, b->user, NULL, n, v, 2);
}
static int f_create_batch(hubc_store *s, const base_ids *b) {
  static const char *const v[] = {"b1@example.com", "gold", "b2@example.com", "", "b3@example.com", "bronze"};
  const char *n[] = {"email", "level"};
  hubc_create_options o = HUBC_CREATE_OPTIONS_INIT;
  o.marketing = 1;
  return hubc_contact_create_batch(NULL, s, b->user, &o, n, 2, v, 3);
}
static int f_create_chatflow(hubc_store *s, const base_ids *b) {
  (void)b;
  hubc_id id;
  hubc_create_options o = HUBC_CREATE_OPTIONS_INIT;
  o.source = HUBC_SOURCE_CHATFLOW;
  o.source_id = 3;
  const char *n[] = {"email"}, *v[] = {"chat@example.com"};
  return hubc_contact_create(&id, s, HUBC_SYSTEM, &o, n, v, 1);
}
static int f_update(hubc_store *s, const base_ids *b) {
  const char *n[] = {"email", "city", "level"}, *v[] = {"renamed@example.com", "Milano", "bronze"};
  return hubc_contact_update(s, b->user, b->c_non, n, v, 3);
}
static int f_delete(hubc_store *s, const base_ids *b) { return hubc_contact_delete(s, b->user, b->c_mk); }
static int f_set_marketing(hubc_store *s, const base_ids *b) {
  return hubc_contact_set_marketing(s, b->user, b->c_non, HUBC_SOURCE_MANUAL, b->user);
}
static int f_set_non_marketing(hubc_store *s, const base_ids *b) {
  return hubc_contact_set_non_marketing(s, b->user, b->c_mk, HUBC_SOURCE_MANUAL, b->user);
}
static int f_define(hubc_store *s, const base_ids *b) {
  (void)b;
  return hubc_property_define(s, ADMIN, "score", "Score", HUBC_PROP_NUMBER, NULL, 0);
}
static int f_user(hubc_store *s, const base_ids *b) {
  (void)b;
  hubc_id id;
  return hubc_user_create(&id, s, ADMIN, "second@example.com");
}
static int f_permissions(hubc_store *s, const base_ids *b) {
  return hubc_user_set_permissions(s, ADMIN, b->user, HUBC_PERM_IMPORT | HUBC_PERM_MANAGE_USERS);
}
static int f_switch(hubc_store *s, const base_ids *b) {
  return hubc_source_set_default(s, b->user, HUBC_SOURCE_CHATFLOW, 3, 0);
}
static int f_downgrade(hubc_store *s, const base_ids *b) { return hubc_billing_request_downgrade(s, b->user, 2000); }
static int f_tick(hubc_store *s, const base_ids *b) {
  (void)b;
  return hubc_store_tick(s);
}

static const scenario scenarios[] = {
    {"create contact", f_create, 0},
    {"create a batch of 3 as marketing", f_create_batch, 0},
    {"create from a switched-on chatflow", f_create_chatflow, 0},
    {"update contact (email, string, enumeration)", f_update, 0},
    {"delete a billable contact", f_delete, 0},
    {"set marketing", f_set_marketing, 0},
    {"set non-marketing", f_set_non_marketing, 0},
    {"define property", f_define, 0},
    {"user create", f_user, 0},
    {"set permissions", f_permissions, 0},
    {"change a switch", f_switch, 0},
    {"request downgrade", f_downgrade, 0},
    {"tick across an update date (period closes)", f_tick, 1},
};

static int run(pc_ctx *x, const scenario *sc, const base_ids *ids) {
  if (sc->crosses_update) x->clock.now = T_UPDATE;
  return sc->call(x->s, ids);
}

static void fault_scenario(const pc_backend *b, const scenario *sc, int fail_code) {
  pc_ctx x;
  base_ids ids;
  ctx_fresh(&x, b);
  make_base(x.s, &ids);
  long calls0 = x.sh.calls;
  ok(run(&x, sc, &ids), sc->name);
  long n = x.sh.calls - calls0;
  if (n < 3) fail_msg("%s: %s: only %ld callbacks", b->name, sc->name, n);
  char *want = tu_dump(x.s);
  expect_reopen(&x, want, sc->name);
  ctx_done(&x);

  int want_rc = fail_code == HUBC_EAGAIN ? HUBC_EAGAIN : HUBC_EPERSIST;
  for (long k = 1; k <= n; k++) {
    char what[200];
    snprintf(what, sizeof what, "%s, callback %ld/%ld fails (%d)", sc->name, k, n, fail_code);
    ctx_fresh(&x, b);
    make_base(x.s, &ids);
    char *before = tu_dump(x.s);
    x.sh.fail_at = x.sh.calls + k;
    x.sh.fail_code = fail_code;
    int rc = run(&x, sc, &ids);
    if (rc != want_rc) fail_msg("%s: %s: returned %d (%s), expected %d", b->name, what, rc, hubc_error_last(), want_rc);
    assert_int_equal(x.sh.failures, 1);
    x.sh.fail_at = 0;
    x.clock.now = T0; /* a tick's catch-up would run again on the next read */
    char *now = tu_dump(x.s);
    same(before, now, b->name, what);
    free(now);
    expect_reopen(&x, before, what); /* the backend dropped the failed transaction */
    ok(run(&x, sc, &ids), what);     /* the same call then succeeds */
    now = tu_dump(x.s);
    same(want, now, b->name, what);
    free(now);
    expect_reopen(&x, want, what);
    expect_mirror(&x, what);
    free(before);
    ctx_done(&x);
  }
  free(want);
}

static void r2_contract_every_call_fails_at_every_callback_with_nothing_changed(void **state) {
  for (size_t i = 0; i < sizeof scenarios / sizeof *scenarios; i++) fault_scenario(*state, &scenarios[i], -1);
}

static void r2_contract_backend_asking_to_retry_gives_eagain_with_nothing_changed(void **state) {
  for (size_t i = 0; i < sizeof scenarios / sizeof *scenarios; i++) fault_scenario(*state, &scenarios[i], HUBC_EAGAIN);
}

/* ---- R1: a long random workload reopens identical --------------------------------- */

static uint64_t rng_next(uint64_t *x) {
  *x ^= *x << 13;
  *x ^= *x >> 7;
  *x ^= *x << 17;
  return *x;
}

static void r1_contract_random_workload_reopens_identical(void **state) {
  const pc_backend *b = *state;
  pc_ctx x;
  ctx_fresh(&x, b);
  static const char *const levels[] = {"bronze", "silver", "gold"};
  ok(hubc_property_define(x.s, ADMIN, "level", "Level", HUBC_PROP_ENUMERATION, levels, 3), "define");
  uint64_t r = 0x9e3779b97f4a7c15u;
  hubc_id ids[400];
  size_t n_ids = 0;
  for (int step = 1; step <= 400; step++) {
    int op = (int)(rng_next(&r) % 10);
    char email[48], name[24];
    snprintf(email, sizeof email, "p%u@example.com", (unsigned)(rng_next(&r) % 300));
    snprintf(name, sizeof name, "N%d", step);
    hubc_id pick = n_ids ? ids[rng_next(&r) % n_ids] : 0;
    const char *n[] = {"email", "firstname", "level"};
    const char *v[] = {email, name, levels[rng_next(&r) % 3]};
    int rc = 0;
    if (op <= 2 || !n_ids) {
      rc = hubc_contact_create(&ids[n_ids], x.s, ADMIN, NULL, n, v, 3);
      if (rc == 0) n_ids++;
    } else if (op == 3) {
      char e[3][48];
      const char *rows[9];
      for (int i = 0; i < 3; i++) {
        snprintf(e[i], sizeof e[i], "b%d.%d@example.com", step, i);
        rows[i * 3] = e[i], rows[i * 3 + 1] = name, rows[i * 3 + 2] = "silver";
      }
      if (n_ids + 3 <= sizeof ids / sizeof *ids) {
        rc = hubc_contact_create_batch(&ids[n_ids], x.s, ADMIN, NULL, n, 3, rows, 3);
        if (rc == 0) n_ids += 3;
      }
    } else if (op == 4) {
      rc = hubc_contact_update(x.s, ADMIN, pick, n, v, 3);
    } else if (op == 5) {
      rc = hubc_contact_delete(x.s, ADMIN, pick);
    } else if (op <= 7) {
      rc = hubc_contact_set_marketing(x.s, ADMIN, pick, HUBC_SOURCE_MANUAL, ADMIN);
    } else if (op == 8) {
      rc = hubc_contact_set_non_marketing(x.s, ADMIN, pick, HUBC_SOURCE_MANUAL, ADMIN);
    } else {
      x.clock.now += 86400 * 3; /* days pass: update dates close periods */
      rc = hubc_store_tick(x.s);
    }
    /* taken emails and deleted contacts are refused; nothing else may fail */
    if (rc && rc != HUBC_EEXISTS && rc != HUBC_ENOTFOUND) fail_msg("%s: step %d: %d %s", b->name, step, rc, hubc_error_last());
    if (step % 100 == 0) {
      char *want = tu_dump(x.s);
      char what[64];
      snprintf(what, sizeof what, "random workload, step %d", step);
      expect_mirror(&x, what);
      expect_reopen(&x, want, what);
      free(want);
    }
  }
  ctx_done(&x);
}

static int teardown(void **state) {
  (void)state;
  if (live) ctx_close(live);
  return 0;
}

int pc_run_contract(const pc_backend *b) {
  void *st = (void *)b;
#define PC_TEST(f) cmocka_unit_test_prestate_setup_teardown(f, NULL, teardown, st)
  const struct CMUnitTest tests[] = {
      PC_TEST(r1_contract_every_record_kind_round_trips),
      PC_TEST(r1_contract_random_workload_reopens_identical),
      PC_TEST(r2_contract_every_call_fails_at_every_callback_with_nothing_changed),
      PC_TEST(r2_contract_backend_asking_to_retry_gives_eagain_with_nothing_changed),
  };
#undef PC_TEST
  return cmocka_run_group_tests_name(b->name, tests, NULL, NULL);
}
