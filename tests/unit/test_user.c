/* Users and permissions (P1–P6): user objects, default permissions, who may
 * change permissions, the marketing-access permission matrix, disabled and
 * unknown actors, and that refused calls change nothing and leak nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hubcontacts.h"
#include "testutil.h"

#define ADMIN 1

/* ---- helpers ------------------------------------------------------------ */

/* The last error message must contain `needle`. */
static void expect_msg(const char *needle) {
  const char *m = hubc_error_last();
  if (!strstr(m, needle)) fail_msg("error message \"%s\" does not contain \"%s\"", m, needle);
}

/* A store with a fixed clock, admin user 1 and a tier above the first rung
 * (so a downgrade can be requested). */
static hubc_store *open_store(tu_clock *clock, const char *admin_email) {
  hubc_store_options o;
  assert_int_equal(hubc_store_options_init(&o, HUBC_STORE_OPTIONS_VERSION), 0);
  o.clock = tu_clock_fn;
  o.clock_payload = clock;
  o.admin_email = admin_email;
  o.tier = 5000;
  hubc_store *s = NULL;
  int rc = hubc_store_open(&s, &o);
  if (rc) fail_msg("open: %d %s", rc, hubc_error_last());
  return s;
}

static hubc_id new_user(hubc_store *s, hubc_id actor, const char *email, unsigned perms) {
  hubc_id id = 0;
  int rc = hubc_user_create(&id, s, actor, email);
  if (rc) fail_msg("create user %s: %d %s", email, rc, hubc_error_last());
  if (perms != HUBC_PERM_DEFAULT) {
    rc = hubc_user_set_permissions(s, ADMIN, id, perms);
    if (rc) fail_msg("set permissions of %s: %d %s", email, rc, hubc_error_last());
  }
  return id;
}

static unsigned perms_of(hubc_store *s, hubc_id id) {
  hubc_user *u = NULL;
  assert_int_equal(hubc_user_get(&u, s, id), 0);
  unsigned p = hubc_user_permissions(u);
  hubc_user_free(u);
  return p;
}

static int status_of(hubc_store *s, hubc_id id) {
  hubc_contact *c = NULL;
  assert_int_equal(hubc_contact_get(&c, s, id), 0);
  int st = hubc_contact_status(c);
  hubc_contact_free(c);
  return st;
}

/* The newest history entry of the store (asserts there is one). */
static hubc_history_entry last_history(hubc_store *s) {
  hubc_history_iterator *it = NULL;
  assert_int_equal(hubc_history_iterator_new(&it, s, 0), 0);
  hubc_history_entry e, last;
  memset(&e, 0, sizeof e);
  memset(&last, 0, sizeof last);
  e.version = HUBC_HISTORY_ENTRY_VERSION;
  int n = 0;
  while (hubc_history_iterator_next(&e, it) == 0) {
    last = e;
    n++;
  }
  hubc_history_iterator_free(it);
  assert_true(n > 0);
  return last;
}

static size_t history_count(hubc_store *s) {
  hubc_history_iterator *it = NULL;
  assert_int_equal(hubc_history_iterator_new(&it, s, 0), 0);
  hubc_history_entry e;
  memset(&e, 0, sizeof e);
  e.version = HUBC_HISTORY_ENTRY_VERSION;
  size_t n = 0;
  while (hubc_history_iterator_next(&e, it) == 0) n++;
  hubc_history_iterator_free(it);
  return n;
}

/* ---- fixture: users of every kind and contacts in every status ---------- */

typedef struct fx {
  tu_clock clock;
  hubc_store *s;
  hubc_id p2;      /* default permissions (P2 on) */
  hubc_id nop2;    /* default minus marketing access */
  hubc_id manager; /* default + MANAGE_USERS, not a super admin */
  hubc_id boss2;   /* a second super admin */
  hubc_id c_non, c_mk, c_until;
} fx;

static void fx_open(fx *f) {
  memset(f, 0, sizeof *f);
  f->clock.now = tu_time(2024, 3, 10, 12, 0, 0);
  f->s = open_store(&f->clock, "admin@example.com");
  f->p2 = new_user(f->s, ADMIN, "p2@example.com", HUBC_PERM_DEFAULT);
  f->nop2 = new_user(f->s, ADMIN, "nop2@example.com", HUBC_PERM_DEFAULT & ~(unsigned)HUBC_PERM_MARKETING_ACCESS);
  f->manager = new_user(f->s, ADMIN, "manager@example.com", HUBC_PERM_DEFAULT | HUBC_PERM_MANAGE_USERS);
  f->boss2 = new_user(f->s, ADMIN, "boss2@example.com", HUBC_PERM_DEFAULT);
  assert_int_equal(hubc_user_set_super_admin(f->s, ADMIN, f->boss2, 1), 0);
  f->c_non = tu_contact(f->s, ADMIN, "non@example.com", "Non");
  f->c_mk = tu_contact(f->s, ADMIN, "mk@example.com", "Mk");
  f->c_until = tu_contact(f->s, ADMIN, "until@example.com", "Until");
  assert_int_equal(hubc_contact_set_marketing(f->s, ADMIN, f->c_mk, HUBC_SOURCE_MANUAL, ADMIN), 0);
  assert_int_equal(hubc_contact_set_marketing(f->s, ADMIN, f->c_until, HUBC_SOURCE_MANUAL, ADMIN), 0);
  assert_int_equal(hubc_contact_set_non_marketing(f->s, ADMIN, f->c_until, HUBC_SOURCE_MANUAL, ADMIN), 0);
  assert_int_equal(status_of(f->s, f->c_until), HUBC_MARKETING_UNTIL_UPDATE);
}

static void fx_close(fx *f) { hubc_store_close(f->s); }

/* ---- P1: user objects ---------------------------------------------------- */

static void p1_first_super_admin_comes_from_admin_email(void **state) {
  (void)state;
  tu_clock clock = {tu_time(2024, 3, 10, 12, 0, 0)};
  hubc_store *s = open_store(&clock, "  Boss@Example.COM ");
  hubc_user *u = NULL;
  assert_int_equal(hubc_user_get(&u, s, 1), 0);
  assert_int_equal(hubc_user_id(u), 1);
  assert_string_equal(hubc_user_email(u), "boss@example.com");
  assert_true(hubc_user_is_super_admin(u));
  assert_false(hubc_user_is_disabled(u));
  assert_true(hubc_user_can(u, HUBC_PERM_ALL));
  assert_true(hubc_user_can(u, HUBC_PERM_MANAGE_USERS));
  hubc_user_free(u);
  /* the only user */
  hubc_user_iterator *it = NULL;
  hubc_id id = 0;
  assert_int_equal(hubc_user_iterator_new(&it, s), 0);
  assert_int_equal(hubc_user_iterator_next(&id, it), 0);
  assert_int_equal(id, 1);
  assert_int_equal(hubc_user_iterator_next(&id, it), HUBC_ITEROVER);
  hubc_user_iterator_free(it);
  hubc_store_close(s);

  /* a new store needs admin_email, and a valid one */
  hubc_store_options o;
  assert_int_equal(hubc_store_options_init(&o, HUBC_STORE_OPTIONS_VERSION), 0);
  o.clock = tu_clock_fn;
  o.clock_payload = &clock;
  s = (hubc_store *)&o; /* must be reset to NULL on failure */
  assert_int_equal(hubc_store_open(&s, &o), HUBC_EINVAL);
  assert_null(s);
  expect_msg("admin_email");
  o.admin_email = "not an email";
  assert_int_equal(hubc_store_open(&s, &o), HUBC_EINVAL);
  assert_null(s);
  expect_msg("not an email");
}

static void p1_create_needs_super_admin_or_manage_users(void **state) {
  (void)state;
  fx f;
  fx_open(&f);
  char *before = tu_dump(f.s);
  hubc_id id = 77;
  /* a user without MANAGE_USERS */
  assert_int_equal(hubc_user_create(&id, f.s, f.p2, "x@example.com"), HUBC_EPERM);
  expect_msg("add and edit users");
  expect_msg("p2@example.com");
  assert_int_equal(id, 77);
  tu_expect_dump(f.s, before, "user create by a user without MANAGE_USERS");
  /* SYSTEM changes no configuration */
  assert_int_equal(hubc_user_create(&id, f.s, HUBC_SYSTEM, "x@example.com"), HUBC_EPERM);
  expect_msg("SYSTEM");
  tu_expect_dump(f.s, before, "user create by SYSTEM");
  free(before);
  /* a MANAGE_USERS holder and a super admin may */
  assert_int_equal(hubc_user_create(&id, f.s, f.manager, "x@example.com"), 0);
  assert_true(id > f.boss2);
  hubc_id id2 = 0;
  assert_int_equal(hubc_user_create(&id2, f.s, ADMIN, "y@example.com"), 0);
  assert_int_equal(id2, id + 1);
  /* granting MANAGE_USERS makes the very next call succeed */
  assert_int_equal(hubc_user_create(&id, f.s, f.p2, "z@example.com"), HUBC_EPERM);
  assert_int_equal(hubc_user_set_permissions(f.s, ADMIN, f.p2, HUBC_PERM_DEFAULT | HUBC_PERM_MANAGE_USERS), 0);
  assert_int_equal(hubc_user_create(&id, f.s, f.p2, "z@example.com"), 0);
  fx_close(&f);
}

static void p1_user_email_is_unique_and_normalized_like_c3(void **state) {
  (void)state;
  fx f;
  fx_open(&f);
  hubc_id id = 0;
  assert_int_equal(hubc_user_create(&id, f.s, ADMIN, "  Anna@Example.com\t"), 0);
  hubc_user *u = NULL;
  assert_int_equal(hubc_user_get_by_email(&u, f.s, "anna@EXAMPLE.com"), 0);
  assert_int_equal(hubc_user_id(u), id);
  assert_string_equal(hubc_user_email(u), "anna@example.com");
  hubc_user_free(u);
  assert_int_equal(hubc_user_get_by_email(&u, f.s, " ANNA@example.COM "), 0);
  assert_int_equal(hubc_user_id(u), id);
  hubc_user_free(u);

  char *before = tu_dump(f.s);
  char idtext[32];
  snprintf(idtext, sizeof idtext, "%lld", (long long)id);
  hubc_id other = 0;
  assert_int_equal(hubc_user_create(&other, f.s, ADMIN, "ANNA@example.com"), HUBC_EEXISTS);
  expect_msg("anna@example.com");
  expect_msg(idtext);
  assert_int_equal(hubc_user_create(&other, f.s, ADMIN, " anna@example.com "), HUBC_EEXISTS);
  /* also unique against the admin */
  assert_int_equal(hubc_user_create(&other, f.s, ADMIN, "Admin@Example.com"), HUBC_EEXISTS);
  /* syntax as C3 */
  static const char *const bad[] = {"", "   ", "no-at-sign", "two@@example.com", "@example.com", "a@nodot",
                                    "a b@example.com", "a@example.com."};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    assert_int_equal(hubc_user_create(&other, f.s, ADMIN, bad[i]), HUBC_EINVAL);
    expect_msg("email");
  }
  char longmail[300];
  memset(longmail, 'a', 250);
  strcpy(longmail + 250, "@example.com");
  assert_int_equal(hubc_user_create(&other, f.s, ADMIN, longmail), HUBC_EINVAL);
  expect_msg("254");
  assert_int_equal(hubc_user_create(&other, f.s, ADMIN, NULL), HUBC_EINVAL);
  expect_msg("NULL");
  tu_expect_dump(f.s, before, "refused user creations");
  free(before);

  /* lookups of unknown users */
  assert_int_equal(hubc_user_get_by_email(&u, f.s, "nobody@example.com"), HUBC_ENOTFOUND);
  assert_null(u);
  expect_msg("nobody@example.com");
  assert_int_equal(hubc_user_get_by_email(&u, f.s, "bad address"), HUBC_EINVAL);
  assert_int_equal(hubc_user_get(&u, f.s, 999), HUBC_ENOTFOUND);
  expect_msg("999");
  assert_int_equal(hubc_user_get(&u, f.s, 0), HUBC_ENOTFOUND);
  assert_int_equal(hubc_user_get(&u, f.s, -3), HUBC_ENOTFOUND);
  assert_null(u);
  fx_close(&f);
}

static void p1_users_are_listed_by_iterator(void **state) {
  (void)state;
  fx f;
  fx_open(&f);
  hubc_id want[] = {ADMIN, f.p2, f.nop2, f.manager, f.boss2};
  hubc_user_iterator *it = NULL;
  assert_int_equal(hubc_user_iterator_new(&it, f.s), 0);
  hubc_id id = 0;
  for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
    assert_int_equal(hubc_user_iterator_next(&id, it), 0);
    assert_int_equal(id, want[i]);
  }
  assert_int_equal(hubc_user_iterator_next(&id, it), HUBC_ITEROVER);
  assert_int_equal(hubc_user_iterator_next(&id, it), HUBC_ITEROVER);
  hubc_user_iterator_free(it);
  /* disabled users are still listed */
  assert_int_equal(hubc_user_set_disabled(f.s, ADMIN, f.nop2, 1), 0);
  assert_int_equal(hubc_user_iterator_new(&it, f.s), 0);
  size_t n = 0;
  while (hubc_user_iterator_next(&id, it) == 0) n++;
  assert_int_equal(n, 5);
  hubc_user_iterator_free(it);
  assert_int_equal(hubc_user_iterator_new(NULL, f.s), HUBC_EINVAL);
  assert_int_equal(hubc_user_iterator_new(&it, NULL), HUBC_EINVAL);
  hubc_user_iterator_free(NULL);
  fx_close(&f);
}

static void p1_permission_flags_and_user_can(void **state) {
  (void)state;
  fx f;
  fx_open(&f);
  hubc_id imp = new_user(f.s, ADMIN, "imp@example.com", HUBC_PERM_IMPORT);
  hubc_user *u = NULL;
  assert_int_equal(hubc_user_get(&u, f.s, imp), 0);
  assert_int_equal(hubc_user_permissions(u), HUBC_PERM_IMPORT);
  assert_false(hubc_user_is_super_admin(u));
  assert_true(hubc_user_can(u, HUBC_PERM_IMPORT));
  assert_false(hubc_user_can(u, HUBC_PERM_MARKETING_ACCESS));
  assert_false(hubc_user_can(u, HUBC_PERM_EDIT_CONTACTS));
  assert_false(hubc_user_can(u, HUBC_PERM_IMPORT | HUBC_PERM_MARKETING_ACCESS)); /* all of them */
  assert_false(hubc_user_can(u, 0));
  assert_false(hubc_user_can(u, 1u << 7));
  hubc_user_free(u);
  /* a snapshot is immutable: later changes are not seen through it */
  assert_int_equal(hubc_user_get(&u, f.s, imp), 0);
  assert_int_equal(hubc_user_set_permissions(f.s, ADMIN, imp, HUBC_PERM_ALL & ~(unsigned)HUBC_PERM_MANAGE_USERS), 0);
  assert_int_equal(hubc_user_permissions(u), HUBC_PERM_IMPORT);
  hubc_user_free(u);
  assert_int_equal(perms_of(f.s, imp), HUBC_PERM_ALL & ~(unsigned)HUBC_PERM_MANAGE_USERS);

  /* a super admin holds every permission whatever its flags say */
  assert_int_equal(hubc_user_set_permissions(f.s, ADMIN, f.boss2, 0), 0);
  assert_int_equal(hubc_user_get(&u, f.s, f.boss2), 0);
  assert_int_equal(hubc_user_permissions(u), 0);
  assert_true(hubc_user_is_super_admin(u));
  assert_true(hubc_user_can(u, HUBC_PERM_MARKETING_ACCESS));
  assert_true(hubc_user_can(u, HUBC_PERM_ALL));
  hubc_user_free(u);
  /* … and acts with them */
  assert_int_equal(hubc_contact_set_marketing(f.s, f.boss2, f.c_non, HUBC_SOURCE_MANUAL, 0), 0);

  /* disabling: hubc_user_can says no to everything, re-enabling restores */
  assert_int_equal(hubc_user_set_disabled(f.s, ADMIN, f.p2, 1), 0);
  assert_int_equal(hubc_user_get(&u, f.s, f.p2), 0);
  assert_true(hubc_user_is_disabled(u));
  assert_int_equal(hubc_user_permissions(u), HUBC_PERM_DEFAULT); /* flags are kept */
  assert_false(hubc_user_can(u, HUBC_PERM_EDIT_CONTACTS));
  assert_false(hubc_user_can(u, HUBC_PERM_MARKETING_ACCESS));
  hubc_user_free(u);
  assert_int_equal(hubc_user_set_disabled(f.s, ADMIN, f.p2, 0), 0);
  assert_int_equal(hubc_user_get(&u, f.s, f.p2), 0);
  assert_false(hubc_user_is_disabled(u));
  assert_true(hubc_user_can(u, HUBC_PERM_MARKETING_ACCESS));
  hubc_user_free(u);

  /* NULL snapshots */
  assert_false(hubc_user_can(NULL, HUBC_PERM_IMPORT));
  assert_int_equal(hubc_user_id(NULL), 0);
  assert_null(hubc_user_email(NULL));
  hubc_user_free(NULL);
  /* bad arguments change nothing */
  char *before = tu_dump(f.s);
  assert_int_equal(hubc_user_set_permissions(f.s, ADMIN, f.p2, 1u << 9), HUBC_EINVAL);
  expect_msg("0x200");
  assert_int_equal(hubc_user_set_disabled(f.s, ADMIN, f.p2, 2), HUBC_EINVAL);
  expect_msg("disabled");
  assert_int_equal(hubc_user_set_super_admin(f.s, ADMIN, f.p2, -1), HUBC_EINVAL);
  expect_msg("super_admin");
  assert_int_equal(hubc_user_set_permissions(f.s, ADMIN, 999, HUBC_PERM_IMPORT), HUBC_ENOTFOUND);
  expect_msg("999");
  assert_int_equal(hubc_user_set_disabled(f.s, ADMIN, 999, 1), HUBC_ENOTFOUND);
  assert_int_equal(hubc_user_set_super_admin(f.s, ADMIN, 999, 1), HUBC_ENOTFOUND);
  assert_int_equal(hubc_user_set_permissions(NULL, ADMIN, f.p2, 0), HUBC_EINVAL);
  assert_int_equal(hubc_user_get(NULL, f.s, 1), HUBC_EINVAL);
  tu_expect_dump(f.s, before, "refused user changes");
  free(before);
  fx_close(&f);
}

/* ---- P2 ----------------------------------------------------------------- */

static void p2_new_user_has_default_permissions_with_marketing_access(void **state) {
  (void)state;
  fx f;
  fx_open(&f);
  hubc_id id = 0;
  assert_int_equal(hubc_user_create(&id, f.s, f.manager, "fresh@example.com"), 0);
  hubc_user *u = NULL;
  assert_int_equal(hubc_user_get(&u, f.s, id), 0);
  assert_int_equal(hubc_user_permissions(u), HUBC_PERM_DEFAULT);
  assert_true(hubc_user_permissions(u) & HUBC_PERM_MARKETING_ACCESS);
  assert_false(hubc_user_permissions(u) & HUBC_PERM_MANAGE_USERS);
  assert_false(hubc_user_is_super_admin(u));
  assert_false(hubc_user_is_disabled(u));
  assert_true(hubc_user_can(u, HUBC_PERM_MARKETING_ACCESS));
  hubc_user_free(u);
  /* and uses it at once */
  assert_int_equal(hubc_contact_set_marketing(f.s, id, f.c_non, HUBC_SOURCE_MANUAL, id), 0);
  assert_int_equal(status_of(f.s, f.c_non), HUBC_MARKETING);
  fx_close(&f);
}

/* ---- P3 ----------------------------------------------------------------- */

static void p3_user_without_manage_users_cannot_change_permissions(void **state) {
  (void)state;
  fx f;
  fx_open(&f);
  char *before = tu_dump(f.s);
  /* on another user, on themselves (even lowering), grant or revoke */
  assert_int_equal(hubc_user_set_permissions(f.s, f.p2, f.nop2, HUBC_PERM_DEFAULT), HUBC_EPERM);
  expect_msg("add and edit users");
  assert_int_equal(hubc_user_set_permissions(f.s, f.p2, f.p2, HUBC_PERM_IMPORT), HUBC_EPERM);
  assert_int_equal(hubc_user_set_permissions(f.s, f.p2, f.p2, HUBC_PERM_ALL), HUBC_EPERM);
  assert_int_equal(hubc_user_set_permissions(f.s, f.nop2, f.manager, 0), HUBC_EPERM);
  assert_int_equal(hubc_user_set_disabled(f.s, f.p2, f.nop2, 1), HUBC_EPERM);
  assert_int_equal(hubc_user_set_super_admin(f.s, f.p2, f.p2, 1), HUBC_EPERM);
  assert_int_equal(hubc_user_set_permissions(f.s, HUBC_SYSTEM, f.p2, 0), HUBC_EPERM);
  expect_msg("SYSTEM");
  assert_int_equal(hubc_user_set_disabled(f.s, HUBC_SYSTEM, f.p2, 1), HUBC_EPERM);
  assert_int_equal(hubc_user_set_super_admin(f.s, HUBC_SYSTEM, f.p2, 1), HUBC_EPERM);
  tu_expect_dump(f.s, before, "permission changes by users without MANAGE_USERS");
  free(before);
  fx_close(&f);
}

static void p3_only_super_admins_grant_or_revoke_manage_users(void **state) {
  (void)state;
  fx f;
  fx_open(&f);
  hubc_id m2 = new_user(f.s, ADMIN, "m2@example.com", HUBC_PERM_DEFAULT | HUBC_PERM_MANAGE_USERS);
  char *before = tu_dump(f.s);
  /* a manager grants MANAGE_USERS: refused */
  assert_int_equal(hubc_user_set_permissions(f.s, f.manager, f.p2, HUBC_PERM_DEFAULT | HUBC_PERM_MANAGE_USERS),
                   HUBC_EPERM);
  expect_msg("super admin");
  /* revokes it from another manager: refused */
  assert_int_equal(hubc_user_set_permissions(f.s, f.manager, m2, HUBC_PERM_DEFAULT), HUBC_EPERM);
  /* … or from themselves */
  assert_int_equal(hubc_user_set_permissions(f.s, f.manager, f.manager, HUBC_PERM_DEFAULT), HUBC_EPERM);
  tu_expect_dump(f.s, before, "MANAGE_USERS changes by a manager");
  free(before);
  /* a manager changes the other permissions of others */
  assert_int_equal(hubc_user_set_permissions(f.s, f.manager, f.p2, HUBC_PERM_IMPORT), 0);
  assert_int_equal(perms_of(f.s, f.p2), HUBC_PERM_IMPORT);
  assert_int_equal(hubc_user_set_permissions(f.s, f.manager, f.p2, HUBC_PERM_DEFAULT), 0);
  /* … even of a manager, keeping MANAGE_USERS as it is */
  assert_int_equal(hubc_user_set_permissions(f.s, f.manager, m2, HUBC_PERM_MANAGE_USERS), 0);
  assert_int_equal(perms_of(f.s, m2), HUBC_PERM_MANAGE_USERS);
  /* super admins grant and revoke it */
  assert_int_equal(hubc_user_set_permissions(f.s, ADMIN, f.p2, HUBC_PERM_DEFAULT | HUBC_PERM_MANAGE_USERS), 0);
  assert_int_equal(perms_of(f.s, f.p2), HUBC_PERM_DEFAULT | HUBC_PERM_MANAGE_USERS);
  assert_int_equal(hubc_user_set_permissions(f.s, f.boss2, m2, 0), 0);
  assert_int_equal(perms_of(f.s, m2), 0);
  fx_close(&f);
}

static void p3_nobody_raises_their_own_rights_but_may_lower_them(void **state) {
  (void)state;
  fx f;
  fx_open(&f);
  unsigned mine = HUBC_PERM_EDIT_CONTACTS | HUBC_PERM_IMPORT | HUBC_PERM_MANAGE_USERS;
  assert_int_equal(hubc_user_set_permissions(f.s, ADMIN, f.manager, mine), 0);
  char *before = tu_dump(f.s);
  assert_int_equal(hubc_user_set_permissions(f.s, f.manager, f.manager, mine | HUBC_PERM_MARKETING_ACCESS),
                   HUBC_EPERM);
  expect_msg("own");
  char idtext[32];
  snprintf(idtext, sizeof idtext, "user %lld", (long long)f.manager);
  expect_msg(idtext);
  /* swapping one permission for another raises too */
  assert_int_equal(hubc_user_set_permissions(f.s, f.manager, f.manager,
                                             HUBC_PERM_EDIT_CONTACTS | HUBC_PERM_EDIT_WORKFLOWS |
                                                 HUBC_PERM_MANAGE_USERS),
                   HUBC_EPERM);
  tu_expect_dump(f.s, before, "raising one's own rights");
  free(before);
  /* lowering is fine, and raising back is then refused */
  assert_int_equal(hubc_user_set_permissions(f.s, f.manager, f.manager, mine & ~(unsigned)HUBC_PERM_IMPORT), 0);
  assert_int_equal(perms_of(f.s, f.manager), mine & ~(unsigned)HUBC_PERM_IMPORT);
  assert_int_equal(hubc_user_set_permissions(f.s, f.manager, f.manager, mine), HUBC_EPERM);
  assert_int_equal(perms_of(f.s, f.manager), mine & ~(unsigned)HUBC_PERM_IMPORT);
  /* setting the same rights is not raising */
  assert_int_equal(hubc_user_set_permissions(f.s, f.manager, f.manager, mine & ~(unsigned)HUBC_PERM_IMPORT), 0);
  /* a super admin gives them back */
  assert_int_equal(hubc_user_set_permissions(f.s, ADMIN, f.manager, mine), 0);
  assert_int_equal(perms_of(f.s, f.manager), mine);
  fx_close(&f);
}

static void p3_permission_change_applies_to_the_very_next_call(void **state) {
  (void)state;
  fx f;
  fx_open(&f);
  assert_int_equal(hubc_contact_set_marketing(f.s, f.p2, f.c_non, HUBC_SOURCE_MANUAL, f.p2), 0);
  assert_int_equal(hubc_user_set_permissions(f.s, f.manager, f.p2, HUBC_PERM_DEFAULT & ~(unsigned)HUBC_PERM_MARKETING_ACCESS),
                   0);
  char *before = tu_dump(f.s);
  assert_int_equal(hubc_contact_set_non_marketing(f.s, f.p2, f.c_non, HUBC_SOURCE_MANUAL, f.p2), HUBC_EPERM);
  expect_msg("marketing contact access");
  tu_expect_dump(f.s, before, "set non-marketing after the revocation");
  free(before);
  assert_int_equal(hubc_user_set_permissions(f.s, f.manager, f.p2, HUBC_PERM_DEFAULT), 0);
  assert_int_equal(hubc_contact_set_non_marketing(f.s, f.p2, f.c_non, HUBC_SOURCE_MANUAL, f.p2), 0);
  assert_int_equal(status_of(f.s, f.c_non), HUBC_MARKETING_UNTIL_UPDATE);
  /* losing EDIT_CONTACTS stops the next edit; super admin status starts the next one */
  assert_int_equal(hubc_user_set_permissions(f.s, ADMIN, f.nop2, 0), 0);
  const char *n[] = {"city"}, *v[] = {"Roma"};
  assert_int_equal(hubc_contact_update(f.s, f.nop2, f.c_mk, n, v, 1), HUBC_EPERM);
  expect_msg("edit contacts");
  assert_int_equal(hubc_user_set_super_admin(f.s, ADMIN, f.nop2, 1), 0);
  assert_int_equal(hubc_contact_update(f.s, f.nop2, f.c_mk, n, v, 1), 0);
  assert_int_equal(hubc_user_set_super_admin(f.s, ADMIN, f.nop2, 0), 0);
  assert_int_equal(hubc_contact_update(f.s, f.nop2, f.c_mk, n, n, 1), HUBC_EPERM);
  fx_close(&f);
}

static void p3_only_super_admins_change_the_super_admin_flag(void **state) {
  (void)state;
  fx f;
  fx_open(&f);
  char *before = tu_dump(f.s);
  assert_int_equal(hubc_user_set_super_admin(f.s, f.manager, f.p2, 1), HUBC_EPERM);
  expect_msg("super admin");
  assert_int_equal(hubc_user_set_super_admin(f.s, f.manager, f.manager, 1), HUBC_EPERM);
  assert_int_equal(hubc_user_set_super_admin(f.s, f.manager, f.boss2, 0), HUBC_EPERM);
  /* a manager neither disables nor enables a super admin */
  assert_int_equal(hubc_user_set_disabled(f.s, f.manager, f.boss2, 1), HUBC_EPERM);
  expect_msg("super admin");
  tu_expect_dump(f.s, before, "super-admin changes by a manager");
  free(before);
  /* super admins promote and demote */
  assert_int_equal(hubc_user_set_super_admin(f.s, f.boss2, f.p2, 1), 0);
  hubc_user *u = NULL;
  assert_int_equal(hubc_user_get(&u, f.s, f.p2), 0);
  assert_true(hubc_user_is_super_admin(u));
  hubc_user_free(u);
  assert_int_equal(hubc_user_set_super_admin(f.s, f.p2, ADMIN, 0), 0);
  assert_int_equal(hubc_user_get(&u, f.s, ADMIN), 0);
  assert_false(hubc_user_is_super_admin(u));
  hubc_user_free(u);
  /* the demoted admin lost the right at once */
  assert_int_equal(hubc_user_set_super_admin(f.s, ADMIN, f.nop2, 1), HUBC_EPERM);
  fx_close(&f);
}

static void p3_last_enabled_super_admin_cannot_be_removed_or_disabled(void **state) {
  (void)state;
  fx f;
  fx_open(&f);
  /* boss2 stays a super admin but is disabled: ADMIN is the last enabled one */
  assert_int_equal(hubc_user_set_disabled(f.s, ADMIN, f.boss2, 1), 0);
  char *before = tu_dump(f.s);
  assert_int_equal(hubc_user_set_super_admin(f.s, ADMIN, ADMIN, 0), HUBC_EPERM);
  expect_msg("last enabled super admin");
  assert_int_equal(hubc_user_set_disabled(f.s, ADMIN, ADMIN, 1), HUBC_EPERM);
  expect_msg("last enabled super admin");
  tu_expect_dump(f.s, before, "removing the last enabled super admin");
  free(before);
  /* a disabled super admin may be demoted: ADMIN stays */
  assert_int_equal(hubc_user_set_super_admin(f.s, ADMIN, f.boss2, 0), 0);
  /* with a second enabled super admin, the first may go */
  assert_int_equal(hubc_user_set_super_admin(f.s, ADMIN, f.p2, 1), 0);
  assert_int_equal(hubc_user_set_disabled(f.s, f.p2, ADMIN, 1), 0);
  /* now p2 is the last one */
  before = tu_dump(f.s);
  assert_int_equal(hubc_user_set_super_admin(f.s, f.p2, f.p2, 0), HUBC_EPERM);
  assert_int_equal(hubc_user_set_disabled(f.s, f.p2, f.p2, 1), HUBC_EPERM);
  tu_expect_dump(f.s, before, "removing the last enabled super admin (2)");
  free(before);
  assert_int_equal(hubc_user_set_disabled(f.s, f.p2, ADMIN, 0), 0);
  assert_int_equal(hubc_user_set_super_admin(f.s, ADMIN, f.p2, 0), 0);
  /* exactly one enabled super admin is left */
  size_t enabled = 0;
  hubc_user_iterator *it = NULL;
  hubc_id id;
  assert_int_equal(hubc_user_iterator_new(&it, f.s), 0);
  while (hubc_user_iterator_next(&id, it) == 0) {
    hubc_user *u = NULL;
    assert_int_equal(hubc_user_get(&u, f.s, id), 0);
    enabled += hubc_user_is_super_admin(u) && !hubc_user_is_disabled(u);
    hubc_user_free(u);
  }
  hubc_user_iterator_free(it);
  assert_int_equal(enabled, 1);
  fx_close(&f);
}

/* ---- P4/P6: the marketing-access permission matrix ---------------------- */

typedef struct perm_row {
  const char *name;
  int (*call)(fx *f, hubc_id actor);
  hubc_id (*status_contact)(fx *f); /* contact whose status the call changes, or NULL */
} perm_row;

static hubc_id row_c_non(fx *f) { return f->c_non; }
static hubc_id row_c_mk(fx *f) { return f->c_mk; }
static hubc_id row_c_until(fx *f) { return f->c_until; }
static hubc_id row_created(fx *f) {
  hubc_id id = 0;
  assert_int_equal(hubc_contact_find(&id, f->s, "created-mk@example.com"), 0);
  return id;
}

static int call_set_marketing(fx *f, hubc_id actor) {
  return hubc_contact_set_marketing(f->s, actor, f->c_non, HUBC_SOURCE_MANUAL, actor);
}
static int call_set_marketing_cancel_pending(fx *f, hubc_id actor) {
  return hubc_contact_set_marketing(f->s, actor, f->c_until, HUBC_SOURCE_MANUAL, actor);
}
static int call_set_non_marketing(fx *f, hubc_id actor) {
  return hubc_contact_set_non_marketing(f->s, actor, f->c_mk, HUBC_SOURCE_MANUAL, actor);
}
static int call_create_marketing(fx *f, hubc_id actor) {
  hubc_create_options o = HUBC_CREATE_OPTIONS_INIT;
  o.marketing = 1;
  const char *n[] = {"email", "firstname"}, *v[] = {"created-mk@example.com", "Created"};
  hubc_id id = 0;
  return hubc_contact_create(&id, f->s, actor, &o, n, v, 2);
}
static int call_default_chatflow(fx *f, hubc_id actor) {
  return hubc_source_set_default(f->s, actor, HUBC_SOURCE_CHATFLOW, 11, 1);
}
static int call_default_integration(fx *f, hubc_id actor) {
  return hubc_source_set_default(f->s, actor, HUBC_SOURCE_INTEGRATION, 12, 1);
}
static int call_default_external_form(fx *f, hubc_id actor) {
  return hubc_source_set_default(f->s, actor, HUBC_SOURCE_EXTERNAL_FORM, 0, 0); /* on by default */
}
static int call_request_downgrade(fx *f, hubc_id actor) {
  return hubc_billing_request_downgrade(f->s, actor, 2000);
}

/* Every public call that sets a marketing status or changes a marketing
 * default (P2, D2). Later features append their rows here: bulk set
 * marketing / non-marketing (S4, S5), import with the marketing option
 * (I6), form switches (F1), workflow status actions (W4) — each row needs a
 * call that changes the fixture's state when the actor holds P2. */
static const perm_row perm_matrix[] = {
    {"hubc_contact_set_marketing (NON -> MARKETING)", call_set_marketing, row_c_non},
    {"hubc_contact_set_marketing (UNTIL_UPDATE -> MARKETING)", call_set_marketing_cancel_pending, row_c_until},
    {"hubc_contact_set_non_marketing", call_set_non_marketing, row_c_mk},
    {"hubc_contact_create marketing=1", call_create_marketing, row_created},
    {"hubc_source_set_default CHATFLOW", call_default_chatflow, NULL},
    {"hubc_source_set_default INTEGRATION", call_default_integration, NULL},
    {"hubc_source_set_default EXTERNAL_FORM", call_default_external_form, NULL},
    {"hubc_billing_request_downgrade", call_request_downgrade, NULL},
};

static void p4_p6_permission_matrix_needs_marketing_access(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof perm_matrix / sizeof *perm_matrix; i++) {
    const perm_row *row = &perm_matrix[i];
    /* an actor in each role: without P2 (refused), with P2, and a super
     * admin whose stored flags hold no permission at all */
    for (int who = 0; who < 3; who++) {
      fx f;
      fx_open(&f);
      hubc_id actor = who == 0 ? f.nop2 : who == 1 ? f.p2 : f.boss2;
      if (who == 2) assert_int_equal(hubc_user_set_permissions(f.s, ADMIN, f.boss2, 0), 0);
      char *before = tu_dump(f.s);
      size_t hist_before = history_count(f.s);
      int rc = row->call(&f, actor);
      if (who == 0) {
        if (rc != HUBC_EPERM) fail_msg("%s without P2: %d (%s), expected HUBC_EPERM", row->name, rc, hubc_error_last());
        expect_msg("marketing contact access");
        expect_msg("nop2@example.com");
        tu_expect_dump(f.s, before, row->name);
        assert_int_equal(history_count(f.s), hist_before);
      } else {
        if (rc != 0) fail_msg("%s with P2 (actor %lld): %d (%s)", row->name, (long long)actor, rc, hubc_error_last());
        char *after = tu_dump(f.s);
        if (strcmp(before, after) == 0) fail_msg("%s with P2 changed nothing", row->name);
        free(after);
        if (row->status_contact) { /* P6: the change records its actor */
          hubc_history_entry e = last_history(f.s);
          assert_int_equal(history_count(f.s), hist_before + 1);
          assert_int_equal(e.contact, row->status_contact(&f));
          assert_int_equal(e.actor, actor);
        } else {
          assert_int_equal(history_count(f.s), hist_before);
        }
      }
      free(before);
      fx_close(&f);
    }
  }
}

static void p4_user_without_marketing_access_still_creates_and_edits_contacts(void **state) {
  (void)state;
  fx f;
  fx_open(&f);
  hubc_id id = tu_contact(f.s, f.nop2, "plain@example.com", "Plain");
  assert_int_equal(status_of(f.s, id), HUBC_NON_MARKETING);
  /* asking explicitly for non-marketing is fine */
  hubc_create_options o = HUBC_CREATE_OPTIONS_INIT;
  o.marketing = 0;
  const char *n[] = {"email"}, *v[] = {"plain2@example.com"};
  hubc_id id2 = 0;
  assert_int_equal(hubc_contact_create(&id2, f.s, f.nop2, &o, n, v, 1), 0);
  assert_int_equal(status_of(f.s, id2), HUBC_NON_MARKETING);
  /* other sources' defaults are not the user's call: an integration
   * switched off creates non-marketing */
  o.source = HUBC_SOURCE_INTEGRATION;
  o.source_id = 12;
  v[0] = "plain3@example.com";
  assert_int_equal(hubc_contact_create(&id2, f.s, f.nop2, &o, n, v, 1), 0);
  assert_int_equal(status_of(f.s, id2), HUBC_NON_MARKETING);
  /* editing a marketing contact keeps its status */
  const char *un[] = {"city", "firstname"}, *uv[] = {"Milano", "Changed"};
  assert_int_equal(hubc_contact_update(f.s, f.nop2, f.c_mk, un, uv, 2), 0);
  hubc_contact *c = NULL;
  assert_int_equal(hubc_contact_get(&c, f.s, f.c_mk), 0);
  assert_string_equal(hubc_contact_prop(c, "city"), "Milano");
  assert_int_equal(hubc_contact_status(c), HUBC_MARKETING);
  hubc_contact_free(c);
  /* define a property, delete a contact (a billable one too) */
  assert_int_equal(hubc_property_define(f.s, f.nop2, "shoe_size", "Shoe size", HUBC_PROP_NUMBER, NULL, 0), 0);
  assert_int_equal(hubc_contact_delete(f.s, f.nop2, id), 0);
  assert_int_equal(hubc_contact_delete(f.s, f.nop2, f.c_mk), 0);
  fx_close(&f);
}

static void p6_every_status_change_records_its_actor(void **state) {
  (void)state;
  fx f;
  fx_open(&f);
  hubc_id other = new_user(f.s, f.manager, "other@example.com", HUBC_PERM_DEFAULT);
  hubc_id c = tu_contact(f.s, ADMIN, "hist@example.com", "Hist");
  assert_int_equal(hubc_contact_set_marketing(f.s, f.p2, c, HUBC_SOURCE_MANUAL, 5), 0);
  assert_int_equal(hubc_contact_set_non_marketing(f.s, other, c, HUBC_SOURCE_MANUAL, 6), 0);
  assert_int_equal(hubc_contact_set_marketing(f.s, HUBC_SYSTEM, c, HUBC_SOURCE_INTEGRATION, 9), 0);
  assert_int_equal(hubc_contact_set_non_marketing(f.s, f.boss2, c, HUBC_SOURCE_MANUAL, 0), 0);
  hubc_create_options o = HUBC_CREATE_OPTIONS_INIT;
  o.marketing = 1;
  const char *n[] = {"email"}, *v[] = {"born-mk@example.com"};
  hubc_id c2 = 0;
  assert_int_equal(hubc_contact_create(&c2, f.s, other, &o, n, v, 1), 0);
  /* the update date: M5 acts as SYSTEM */
  f.clock.now = tu_time(2024, 4, 10, 0, 0, 1);
  assert_int_equal(hubc_store_tick(f.s), 0);

  struct { hubc_id contact, actor; int from, to; } want[] = {
      {c, f.p2, HUBC_NON_MARKETING, HUBC_MARKETING},
      {c, other, HUBC_MARKETING, HUBC_MARKETING_UNTIL_UPDATE},
      {c, HUBC_SYSTEM, HUBC_MARKETING_UNTIL_UPDATE, HUBC_MARKETING},
      {c, f.boss2, HUBC_MARKETING, HUBC_MARKETING_UNTIL_UPDATE},
      {c, HUBC_SYSTEM, HUBC_MARKETING_UNTIL_UPDATE, HUBC_NON_MARKETING},
  };
  hubc_history_iterator *it = NULL;
  assert_int_equal(hubc_history_iterator_new(&it, f.s, c), 0);
  hubc_history_entry e;
  memset(&e, 0, sizeof e);
  e.version = HUBC_HISTORY_ENTRY_VERSION;
  for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
    assert_int_equal(hubc_history_iterator_next(&e, it), 0);
    assert_int_equal(e.contact, want[i].contact);
    assert_int_equal(e.actor, want[i].actor);
    assert_int_equal(e.old_status, want[i].from);
    assert_int_equal(e.new_status, want[i].to);
  }
  assert_int_equal(hubc_history_iterator_next(&e, it), HUBC_ITEROVER);
  hubc_history_iterator_free(it);
  assert_int_equal(hubc_history_iterator_new(&it, f.s, c2), 0);
  assert_int_equal(hubc_history_iterator_next(&e, it), 0);
  assert_int_equal(e.actor, other);
  assert_int_equal(e.new_status, HUBC_MARKETING);
  hubc_history_iterator_free(it);
  fx_close(&f);
}

/* ---- disabled and unknown actors --------------------------------------- */

typedef struct mut_row {
  const char *name;
  int (*call)(fx *f, hubc_id actor);
} mut_row;

static int m_create(fx *f, hubc_id actor) {
  hubc_id id;
  const char *n[] = {"email"}, *v[] = {"new@example.com"};
  return hubc_contact_create(&id, f->s, actor, NULL, n, v, 1);
}
static int m_update(fx *f, hubc_id actor) {
  const char *n[] = {"city"}, *v[] = {"Torino"};
  return hubc_contact_update(f->s, actor, f->c_non, n, v, 1);
}
static int m_delete(fx *f, hubc_id actor) { return hubc_contact_delete(f->s, actor, f->c_non); }
static int m_define(fx *f, hubc_id actor) {
  return hubc_property_define(f->s, actor, "score", "Score", HUBC_PROP_NUMBER, NULL, 0);
}
static int m_user_create(fx *f, hubc_id actor) {
  hubc_id id;
  return hubc_user_create(&id, f->s, actor, "another@example.com");
}
static int m_set_permissions(fx *f, hubc_id actor) {
  return hubc_user_set_permissions(f->s, actor, f->nop2, HUBC_PERM_DEFAULT);
}
static int m_set_super_admin(fx *f, hubc_id actor) { return hubc_user_set_super_admin(f->s, actor, f->p2, 1); }
static int m_set_disabled(fx *f, hubc_id actor) { return hubc_user_set_disabled(f->s, actor, f->p2, 1); }

/* Every mutating public call (the marketing ones come from perm_matrix). */
static const mut_row mutating[] = {
    {"hubc_contact_create", m_create},
    {"hubc_contact_update", m_update},
    {"hubc_contact_delete", m_delete},
    {"hubc_property_define", m_define},
    {"hubc_user_create", m_user_create},
    {"hubc_user_set_permissions", m_set_permissions},
    {"hubc_user_set_super_admin", m_set_super_admin},
    {"hubc_user_set_disabled", m_set_disabled},
};

static size_t n_all_rows(void) {
  return sizeof mutating / sizeof *mutating + sizeof perm_matrix / sizeof *perm_matrix;
}
static mut_row all_row(size_t i) {
  size_t nm = sizeof mutating / sizeof *mutating;
  if (i < nm) return mutating[i];
  mut_row r = {perm_matrix[i - nm].name, perm_matrix[i - nm].call};
  return r;
}

static void p1_disabled_and_unknown_actors_are_refused_everywhere(void **state) {
  (void)state;
  for (size_t i = 0; i < n_all_rows(); i++) {
    mut_row row = all_row(i);
    fx f;
    fx_open(&f);
    /* boss2 is a super admin: disabled, even it may do nothing */
    assert_int_equal(hubc_user_set_disabled(f.s, ADMIN, f.boss2, 1), 0);
    char *before = tu_dump(f.s);
    int rc = row.call(&f, f.boss2);
    if (rc != HUBC_EPERM) fail_msg("%s by a disabled user: %d (%s)", row.name, rc, hubc_error_last());
    expect_msg("disabled");
    expect_msg("boss2@example.com");
    char idtext[32];
    snprintf(idtext, sizeof idtext, "user %lld", (long long)f.boss2);
    expect_msg(idtext);
    tu_expect_dump(f.s, before, row.name);
    /* a disabled user with P2 is refused as well (not a P2 problem) */
    assert_int_equal(hubc_user_set_disabled(f.s, ADMIN, f.p2, 1), 0);
    free(before);
    before = tu_dump(f.s);
    rc = row.call(&f, f.p2);
    if (rc != HUBC_EPERM) fail_msg("%s by disabled p2: %d (%s)", row.name, rc, hubc_error_last());
    expect_msg("disabled");
    tu_expect_dump(f.s, before, row.name);
    assert_int_equal(hubc_user_set_disabled(f.s, ADMIN, f.p2, 0), 0);
    free(before);
    /* unknown actors */
    before = tu_dump(f.s);
    static const hubc_id unknown[] = {999, -1, 6000000000LL};
    for (size_t k = 0; k < sizeof unknown / sizeof *unknown; k++) {
      rc = row.call(&f, unknown[k]);
      if (rc != HUBC_EPERM)
        fail_msg("%s by unknown actor %lld: %d (%s)", row.name, (long long)unknown[k], rc, hubc_error_last());
      snprintf(idtext, sizeof idtext, "%lld", (long long)unknown[k]);
      expect_msg(idtext);
      tu_expect_dump(f.s, before, row.name);
    }
    free(before);
    /* re-enabled, the same call works */
    assert_int_equal(hubc_user_set_disabled(f.s, ADMIN, f.boss2, 0), 0);
    before = tu_dump(f.s);
    rc = row.call(&f, f.boss2);
    if (rc != 0) fail_msg("%s after re-enabling: %d (%s)", row.name, rc, hubc_error_last());
    char *after = tu_dump(f.s);
    if (strcmp(before, after) == 0) fail_msg("%s after re-enabling changed nothing", row.name);
    free(after);
    free(before);
    fx_close(&f);
  }
}

static void p1_disabled_user_cannot_re_enable_themselves(void **state) {
  (void)state;
  fx f;
  fx_open(&f);
  assert_int_equal(hubc_user_set_disabled(f.s, ADMIN, f.manager, 1), 0);
  char *before = tu_dump(f.s);
  assert_int_equal(hubc_user_set_disabled(f.s, f.manager, f.manager, 0), HUBC_EPERM);
  expect_msg("disabled");
  tu_expect_dump(f.s, before, "self re-enable");
  free(before);
  assert_int_equal(hubc_user_set_disabled(f.s, ADMIN, f.manager, 0), 0);
  hubc_id id;
  assert_int_equal(hubc_user_create(&id, f.s, f.manager, "back@example.com"), 0);
  fx_close(&f);
}

/* ---- the order of checks: no leak, no change --------------------------- */

static void p4_refused_calls_leak_nothing_and_change_nothing(void **state) {
  (void)state;
  fx f;
  fx_open(&f);
  hubc_id noedit = new_user(f.s, ADMIN, "noedit@example.com", HUBC_PERM_MARKETING_ACCESS);
  assert_int_equal(hubc_user_set_disabled(f.s, ADMIN, f.boss2, 1), 0);
  char *before = tu_dump(f.s);
  hubc_id id = 0;
  hubc_create_options mk = HUBC_CREATE_OPTIONS_INIT;
  mk.marketing = 1;
  const char *n[] = {"email"}, *taken[] = {"MK@example.com"};
  const char *bad[] = {"not-an-email"};
  const char *badn[] = {"no_such_property"};

  /* whether a contact, email or user exists is not revealed to a refused actor */
  struct {
    const char *what;
    int rc;
  } cases[] = {
      {"set marketing, unknown contact, no P2",
       hubc_contact_set_marketing(f.s, f.nop2, 424242, HUBC_SOURCE_MANUAL, 0)},
      {"set non-marketing, unknown contact, no P2",
       hubc_contact_set_non_marketing(f.s, f.nop2, 424242, HUBC_SOURCE_MANUAL, 0)},
      {"create as marketing, taken email, no P2", hubc_contact_create(&id, f.s, f.nop2, &mk, n, taken, 1)},
      {"create as marketing, invalid email, no P2", hubc_contact_create(&id, f.s, f.nop2, &mk, n, bad, 1)},
      {"create, taken email, no edit", hubc_contact_create(&id, f.s, noedit, NULL, n, taken, 1)},
      {"create, unknown property, no edit", hubc_contact_create(&id, f.s, noedit, NULL, badn, bad, 1)},
      {"update, unknown contact, no edit", hubc_contact_update(f.s, noedit, 424242, n, taken, 1)},
      {"update, taken email, no edit", hubc_contact_update(f.s, noedit, f.c_non, n, taken, 1)},
      {"delete, unknown contact, no edit", hubc_contact_delete(f.s, noedit, 424242)},
      {"define, existing name, no edit", hubc_property_define(f.s, noedit, "email", "E", HUBC_PROP_STRING, NULL, 0)},
      {"user create, taken email, no manage", hubc_user_create(&id, f.s, f.p2, "manager@example.com")},
      {"set permissions, unknown user, no manage", hubc_user_set_permissions(f.s, f.p2, 4242, 0)},
      {"set disabled, unknown user, no manage", hubc_user_set_disabled(f.s, f.p2, 4242, 1)},
      {"set super admin, unknown user, not super", hubc_user_set_super_admin(f.s, f.manager, 4242, 1)},
      {"set marketing, unknown contact, disabled", hubc_contact_set_marketing(f.s, f.boss2, 424242, 1, 0)},
      {"create, taken email, disabled", hubc_contact_create(&id, f.s, f.boss2, NULL, n, taken, 1)},
      {"user create, taken email, unknown actor", hubc_user_create(&id, f.s, 999, "manager@example.com")},
      {"downgrade to a tier above the current, no P2", hubc_billing_request_downgrade(f.s, f.nop2, 100000)},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    if (cases[i].rc != HUBC_EPERM) fail_msg("%s: %d, expected HUBC_EPERM", cases[i].what, cases[i].rc);
  }
  /* the last message does not reveal that the email is taken */
  assert_int_equal(hubc_contact_create(&id, f.s, f.nop2, &mk, n, taken, 1), HUBC_EPERM);
  assert_null(strstr(hubc_error_last(), "exists"));
  assert_null(strstr(hubc_error_last(), "mk@example.com"));
  assert_int_equal(id, 0);
  tu_expect_dump(f.s, before, "refused calls");
  free(before);
  fx_close(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(p1_first_super_admin_comes_from_admin_email),
      cmocka_unit_test(p1_create_needs_super_admin_or_manage_users),
      cmocka_unit_test(p1_user_email_is_unique_and_normalized_like_c3),
      cmocka_unit_test(p1_users_are_listed_by_iterator),
      cmocka_unit_test(p1_permission_flags_and_user_can),
      cmocka_unit_test(p2_new_user_has_default_permissions_with_marketing_access),
      cmocka_unit_test(p3_user_without_manage_users_cannot_change_permissions),
      cmocka_unit_test(p3_only_super_admins_grant_or_revoke_manage_users),
      cmocka_unit_test(p3_nobody_raises_their_own_rights_but_may_lower_them),
      cmocka_unit_test(p3_permission_change_applies_to_the_very_next_call),
      cmocka_unit_test(p3_only_super_admins_change_the_super_admin_flag),
      cmocka_unit_test(p3_last_enabled_super_admin_cannot_be_removed_or_disabled),
      cmocka_unit_test(p4_p6_permission_matrix_needs_marketing_access),
      cmocka_unit_test(p4_user_without_marketing_access_still_creates_and_edits_contacts),
      cmocka_unit_test(p6_every_status_change_records_its_actor),
      cmocka_unit_test(p1_disabled_and_unknown_actors_are_refused_everywhere),
      cmocka_unit_test(p1_disabled_user_cannot_re_enable_themselves),
      cmocka_unit_test(p4_refused_calls_leak_nothing_and_change_nothing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
