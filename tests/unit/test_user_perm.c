/* The permission table (user/perm.h; P1–P6, M1, M7): the permission
 * matrix is generated from it — every operation, every role — and the
 * reason a status change records is the one its path stamps. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hubcontacts.h"
#include "user/perm.h" /* the table is internal: tests link the static library */
#include "testutil.h"

#define ADMIN 1

typedef struct fx {
  tu_clock clock;
  hubc_store *s;
  hubc_id c_non, c_mk, victim, form, list;
} fx;

static void fx_open(fx *f) {
  f->clock.now = tu_time(2026, 3, 10, 12, 0, 0);
  hubc_store_options o;
  tu_options(&o, &f->clock, NULL);
  o.tier = 5000; /* a downgrade can be requested */
  o.subscription = HUBC_SUBSCRIPTION_PROFESSIONAL; /* workflows (W1) */
  assert_int_equal(hubc_store_open(&f->s, &o), 0);
  gc_store(f->s);
  f->c_non = tu_contact(f->s, ADMIN, "non@example.com", "Non");
  f->c_mk = tu_contact(f->s, ADMIN, "mk@example.com", "Mk");
  assert_int_equal(hubc_contact_set_marketing(f->s, ADMIN, f->c_mk, HUBC_SOURCE_MANUAL, 0), 0);
  assert_int_equal(hubc_user_create(&f->victim, f->s, ADMIN, "victim@example.com"), 0);
  const char *props[] = {"email"};
  assert_int_equal(hubc_form_create(&f->form, f->s, ADMIN, "Signup", props, NULL, NULL, 1), 0);
  assert_int_equal(hubc_list_create(&f->list, f->s, ADMIN, "static", NULL), 0);
}

static hubc_id user_with(fx *f, const char *email, unsigned perms, int super_admin) {
  hubc_id id = 0;
  assert_int_equal(hubc_user_create(&id, f->s, ADMIN, email), 0);
  assert_int_equal(hubc_user_set_permissions(f->s, ADMIN, id, perms), 0);
  if (super_admin) assert_int_equal(hubc_user_set_super_admin(f->s, ADMIN, id, 1), 0);
  return id;
}

/* ---- one call per operation of the table -------------------------------- */

static int op_create(fx *f, hubc_id actor) {
  const char *n[] = {"email"}, *v[] = {"new@example.com"};
  hubc_id id;
  return hubc_contact_create(&id, f->s, actor, NULL, n, v, 1);
}
static int op_create_marketing(fx *f, hubc_id actor) {
  hubc_create_options o = HUBC_CREATE_OPTIONS_INIT;
  o.marketing = 1;
  const char *n[] = {"email"}, *v[] = {"born-mk@example.com"};
  hubc_id id;
  return hubc_contact_create(&id, f->s, actor, &o, n, v, 1);
}
static int op_update(fx *f, hubc_id actor) {
  const char *n[] = {"city"}, *v[] = {"Torino"};
  return hubc_contact_update(f->s, actor, f->c_non, n, v, 1);
}
static int op_delete(fx *f, hubc_id actor) { return hubc_contact_delete(f->s, actor, f->c_non); }
/* SYSTEM names the connected app; a user's reason is its own */
static int op_set_marketing(fx *f, hubc_id actor) {
  return actor == HUBC_SYSTEM ? hubc_contact_set_marketing(f->s, actor, f->c_non, HUBC_SOURCE_INTEGRATION, 5)
                              : hubc_contact_set_marketing(f->s, actor, f->c_non, HUBC_SOURCE_MANUAL, 0);
}
static int op_set_non_marketing(fx *f, hubc_id actor) {
  return actor == HUBC_SYSTEM ? hubc_contact_set_non_marketing(f->s, actor, f->c_mk, HUBC_SOURCE_CHATFLOW, 5)
                              : hubc_contact_set_non_marketing(f->s, actor, f->c_mk, HUBC_SOURCE_MANUAL, 0);
}
static int op_define(fx *f, hubc_id actor) {
  return hubc_property_define(f->s, actor, "score", "Score", HUBC_PROP_NUMBER, NULL, 0);
}
static int op_user_create(fx *f, hubc_id actor) {
  hubc_id id;
  return hubc_user_create(&id, f->s, actor, "another@example.com");
}
static int op_set_permissions(fx *f, hubc_id actor) {
  return hubc_user_set_permissions(f->s, actor, f->victim, HUBC_PERM_EDIT_CONTACTS);
}
static int op_set_super_admin(fx *f, hubc_id actor) { return hubc_user_set_super_admin(f->s, actor, f->victim, 1); }
static int op_set_disabled(fx *f, hubc_id actor) { return hubc_user_set_disabled(f->s, actor, f->victim, 1); }
static int op_source_default(fx *f, hubc_id actor) {
  return hubc_source_set_default(f->s, actor, HUBC_SOURCE_CHATFLOW, 11, 1);
}
static int op_downgrade(fx *f, hubc_id actor) { return hubc_billing_request_downgrade(f->s, actor, 2000); }
static int op_list_define(fx *f, hubc_id actor) { return hubc_list_create(NULL, f->s, actor, "new list", NULL); }
static int op_list_members(fx *f, hubc_id actor) { return hubc_list_add(NULL, f->s, actor, f->list, &f->c_non, 1); }

typedef struct mem_file {
  const char *text;
  size_t at;
} mem_file;

static int read_mem(void *payload, char *buf, size_t cap, size_t *got) {
  mem_file *m = payload;
  size_t n = strlen(m->text + m->at);
  *got = n < cap ? n : cap;
  memcpy(buf, m->text + m->at, *got);
  m->at += *got;
  return 0;
}

/* Plans and commits a one-row import (I7, I8). */
static int run_import(fx *f, hubc_id actor, int marketing) {
  mem_file file = {"email\nimported@example.com\n", 0};
  const char *names[] = {"contacts.csv"};
  hubc_read_fn fns[] = {read_mem};
  void *payloads[] = {&file};
  hubc_import_options o;
  assert_int_equal(hubc_import_options_init(&o, HUBC_IMPORT_OPTIONS_VERSION), 0);
  o.files = names;
  o.n_files = 1;
  o.read = fns;
  o.read_payload = payloads;
  o.set_marketing = marketing;
  hubc_import *imp = NULL;
  int rc = hubc_import_plan(&imp, f->s, actor, &o);
  if (!rc) rc = hubc_import_commit(NULL, imp, marketing ? 1 : 0);
  hubc_import_free(imp);
  return rc;
}
static int op_import(fx *f, hubc_id actor) { return run_import(f, actor, 0); }
static int op_import_marketing(fx *f, hubc_id actor) { return run_import(f, actor, 1); }

static int create_workflow(fx *f, hubc_id actor, int status_action) {
  hubc_wf_action a;
  hubc_wf_action_init(&a, HUBC_WF_ACTION_VERSION);
  a.type = status_action ? HUBC_WF_SET_STATUS : HUBC_WF_SET_PROPERTY;
  a.marketing = 1;
  a.property = "city";
  a.value = "Roma";
  const hubc_wf_action *acts[] = {&a};
  hubc_workflow_def d;
  hubc_workflow_def_init(&d, HUBC_WORKFLOW_DEF_VERSION);
  d.name = "W";
  d.actions = acts;
  d.n_actions = 1;
  return hubc_workflow_create(NULL, f->s, actor, &d);
}
static int op_workflow_edit(fx *f, hubc_id actor) { return create_workflow(f, actor, 0); }
static int op_workflow_status(fx *f, hubc_id actor) { return create_workflow(f, actor, 1); }

static int op_form_create(fx *f, hubc_id actor) {
  const char *props[] = {"email", "city"};
  hubc_id id;
  return hubc_form_create(&id, f->s, actor, "Contact us", props, NULL, NULL, 2);
}
static int op_form_update(fx *f, hubc_id actor) {
  return hubc_form_update(f->s, actor, f->form, "Signup 2", NULL, NULL, NULL, 0);
}
static int op_form_set_marketing(fx *f, hubc_id actor) { return hubc_form_set_marketing(f->s, actor, f->form, 0); }
static int op_form_delete(fx *f, hubc_id actor) { return hubc_form_delete(f->s, actor, f->form); }
/* no actor: the path acts as SYSTEM (P5) */
static int op_form_submit(fx *f, hubc_id actor) {
  (void)actor;
  const char *n[] = {"email"}, *v[] = {"submitted@example.com"};
  return hubc_form_submit(NULL, NULL, f->s, f->form, n, v, 1);
}
static int op_form_submit_external(fx *f, hubc_id actor) {
  (void)actor;
  const char *n[] = {"email"}, *v[] = {"external@example.com"};
  return hubc_form_submit_external(NULL, NULL, f->s, 31, n, v, 1);
}
static int run_bulk(fx *f, hubc_id actor, int action, hubc_id contact) {
  hubc_selection sel = HUBC_SELECTION_INIT;
  sel.ids = &contact;
  sel.n_ids = 1;
  hubc_bulk_summary sum;
  memset(&sum, 0, sizeof sum);
  sum.version = HUBC_BULK_SUMMARY_VERSION;
  int rc = hubc_bulk_plan(&sum, f->s, actor, action, &sel);
  return rc ? rc : hubc_bulk_commit(NULL, f->s, actor, action, &sel, sum.selected);
}
static int op_bulk_set_marketing(fx *f, hubc_id actor) {
  return run_bulk(f, actor, HUBC_BULK_SET_MARKETING, f->c_non);
}
static int op_bulk_set_non_marketing(fx *f, hubc_id actor) {
  return run_bulk(f, actor, HUBC_BULK_SET_NON_MARKETING, f->c_mk);
}

enum { NONE, NON, MK, BORN }; /* the contact whose status a call changes */

static const struct {
  int op;
  int (*call)(fx *f, hubc_id actor);
  unsigned also;     /* permissions the call needs besides the row's (its other rows) */
  int status;
  const char *outer; /* the call's own row, which may refuse first */
} invokers[] = {
    {HUBC__OP_CONTACT_CREATE, op_create, 0, NONE, NULL},
    {HUBC__OP_CONTACT_CREATE_MARKETING, op_create_marketing, HUBC_PERM_EDIT_CONTACTS, BORN, "create contact"},
    {HUBC__OP_CONTACT_UPDATE, op_update, 0, NONE, NULL},
    {HUBC__OP_CONTACT_DELETE, op_delete, 0, NONE, NULL},
    {HUBC__OP_SET_MARKETING, op_set_marketing, 0, NON, NULL},
    {HUBC__OP_SET_NON_MARKETING, op_set_non_marketing, 0, MK, NULL},
    {HUBC__OP_PROPERTY_DEFINE, op_define, 0, NONE, NULL},
    {HUBC__OP_USER_CREATE, op_user_create, 0, NONE, NULL},
    {HUBC__OP_USER_SET_PERMISSIONS, op_set_permissions, 0, NONE, NULL},
    {HUBC__OP_USER_SET_SUPER_ADMIN, op_set_super_admin, 0, NONE, NULL},
    {HUBC__OP_USER_SET_DISABLED, op_set_disabled, 0, NONE, NULL},
    {HUBC__OP_SOURCE_SET_DEFAULT, op_source_default, 0, NONE, NULL},
    {HUBC__OP_REQUEST_DOWNGRADE, op_downgrade, 0, NONE, NULL},
    {HUBC__OP_IMPORT, op_import, 0, NONE, NULL},
    {HUBC__OP_IMPORT_MARKETING, op_import_marketing, HUBC_PERM_IMPORT, BORN, "import"},
    {HUBC__OP_FORM_CREATE, op_form_create, 0, NONE, NULL},
    {HUBC__OP_FORM_UPDATE, op_form_update, 0, NONE, NULL},
    {HUBC__OP_FORM_SET_MARKETING, op_form_set_marketing, 0, NONE, NULL},
    {HUBC__OP_FORM_DELETE, op_form_delete, 0, NONE, NULL},
    {HUBC__OP_FORM_SUBMIT, op_form_submit, 0, BORN, NULL},
    {HUBC__OP_FORM_SUBMIT_EXTERNAL, op_form_submit_external, 0, BORN, NULL},
    {HUBC__OP_BULK_SET_MARKETING, op_bulk_set_marketing, 0, NON, NULL},
    {HUBC__OP_BULK_SET_NON_MARKETING, op_bulk_set_non_marketing, 0, MK, NULL},
    {HUBC__OP_WORKFLOW_EDIT, op_workflow_edit, 0, NONE, NULL},
    {HUBC__OP_WORKFLOW_STATUS_ACTION, op_workflow_status, HUBC_PERM_EDIT_WORKFLOWS, NONE, "edit workflow"},
    {HUBC__OP_LIST_DEFINE, op_list_define, 0, NONE, NULL},
    {HUBC__OP_LIST_MEMBERS, op_list_members, 0, NONE, NULL},
};

static hubc_history_entry last_history(hubc_store *s, size_t *n) {
  hubc_history_iterator *it;
  assert_int_equal(hubc_history_iterator_new(&it, s, 0), 0);
  hubc_history_entry e, last;
  memset(&e, 0, sizeof e);
  memset(&last, 0, sizeof last);
  e.version = HUBC_HISTORY_ENTRY_VERSION;
  *n = 0;
  while (hubc_history_iterator_next(&e, it) == 0) last = e, ++*n;
  hubc_history_iterator_free(it);
  return last;
}

enum { ROLE_WITHOUT, ROLE_HOLDER, ROLE_SUPER_BARE, ROLE_SYSTEM, ROLE_DISABLED_SUPER, ROLES };
static const char *const role_names[] = {"a user without the permission", "a user holding it",
                                         "a super admin with no stored permission", "SYSTEM",
                                         "a disabled super admin"};

/* P1–P5: for every row of the table and every role, the call is allowed
 * exactly when the row says so; a refusal is PERM naming the call and
 * changes nothing; an allowed status change records the row's reason. */
static void p1_p5_permission_matrix_follows_the_table(void **state) {
  (void)state;
  for (size_t i = 0; i < hubc__perms_n; i++) {
    const hubc__perm_row *row = &hubc__perms[i];
    size_t k = 0;
    while (k < sizeof invokers / sizeof *invokers && invokers[k].op != row->op) k++;
    if (k == sizeof invokers / sizeof *invokers) fail_msg("operation '%s' has no call in this test", row->what);
    for (int role = 0; role < ROLES; role++) {
      if (role == ROLE_WITHOUT && !row->perm && !row->super_admin) continue; /* nothing to lack */
      if (row->as_system && role != ROLE_SYSTEM) continue;                  /* the call takes no actor */
      fx f;
      fx_open(&f);
      unsigned holder = row->perm | invokers[k].also;
      hubc_id actor = role == ROLE_WITHOUT    ? user_with(&f, "without@example.com", HUBC_PERM_ALL & ~row->perm, 0)
                      : role == ROLE_HOLDER   ? user_with(&f, "holder@example.com", holder, 0)
                      : role == ROLE_SYSTEM   ? HUBC_SYSTEM
                                              : user_with(&f, "boss@example.com", 0, 1);
      if (role == ROLE_WITHOUT && !row->perm) /* a super-admin-only row: all permissions, no flag */
        assert_int_equal(hubc_user_set_permissions(f.s, ADMIN, actor, HUBC_PERM_ALL), 0);
      if (role == ROLE_DISABLED_SUPER) assert_int_equal(hubc_user_set_disabled(f.s, ADMIN, actor, 1), 0);
      int allowed = role == ROLE_SYSTEM     ? row->system
                    : role == ROLE_HOLDER   ? !row->super_admin
                    : role == ROLE_SUPER_BARE ? 1
                                            : 0;
      char *before = gc_dump(f.s);
      size_t hist_before;
      last_history(f.s, &hist_before);
      int rc = invokers[k].call(&f, actor);
      char said[512];
      snprintf(said, sizeof said, "%s", hubc_error_last());
      char *after = gc_dump(f.s);
      if (!allowed) {
        if (rc != HUBC_EPERM)
          fail_msg("'%s' by %s: %d (%s), expected HUBC_EPERM", row->what, role_names[role], rc, said);
        if (!strstr(said, row->what) && !(invokers[k].outer && strstr(said, invokers[k].outer)))
          fail_msg("'%s' by %s: the message does not name the call: %s", row->what, role_names[role], said);
        assert_string_equal(after, before);
      } else {
        if (rc != 0) fail_msg("'%s' by %s: %d (%s)", row->what, role_names[role], rc, said);
        if (strcmp(after, before) == 0) fail_msg("'%s' by %s changed nothing", row->what, role_names[role]);
        size_t hist_n;
        hubc_history_entry e = last_history(f.s, &hist_n);
        if (invokers[k].status == NONE) {
          assert_int_equal(hist_n, hist_before);
        } else { /* P6, M1: the actor, and the reason its path stamps */
          assert_int_equal(hist_n, hist_before + 1);
          assert_int_equal(e.actor, actor);
          hubc_id want = invokers[k].status == NON ? f.c_non : invokers[k].status == MK ? f.c_mk : 0;
          if (want) assert_int_equal(e.contact, want);
          if (actor != HUBC_SYSTEM) {
            assert_int_equal(e.reason_type, row->reason);
            if (row->reason_id == HUBC__RID_ACTOR) assert_int_equal(e.reason_id, actor);
            else assert_true(e.reason_id > 0); /* the path's own record */
          } else if (row->as_system) { /* the path stamps its own reason and record */
            assert_int_equal(e.reason_type, row->reason);
            assert_true(e.reason_id > 0);
          } else if (row->system_reasons) {
            assert_true(row->system_reasons & (1u << e.reason_type));
            assert_int_equal(e.reason_id, 5);
          }
        }
      }
      gc_teardown(NULL);
    }
  }
}

/* M1/M7 (issue 9 #13): through the generic calls a user records MANUAL
 * and its own id, whatever id it passes; a contact created as marketing by
 * the same user records the same reason. */
static void m1_a_users_change_records_manual_and_the_user(void **state) {
  (void)state;
  fx f;
  fx_open(&f);
  hubc_id u = user_with(&f, "u@example.com", HUBC_PERM_DEFAULT, 0);
  assert_int_equal(hubc_contact_set_marketing(f.s, u, f.c_non, HUBC_SOURCE_MANUAL, 0), 0);
  assert_int_equal(op_create_marketing(&f, u), 0);
  hubc_id born = 0;
  assert_int_equal(hubc_contact_find(&born, f.s, "born-mk@example.com"), 0);
  hubc_id other = tu_contact(f.s, ADMIN, "other@example.com", "O");
  assert_int_equal(hubc_contact_set_marketing(f.s, u, other, HUBC_SOURCE_MANUAL, 4242), 0); /* not a forgery */
  hubc_id ids[] = {f.c_non, born, other};
  for (size_t i = 0; i < 3; i++) {
    hubc_contact *c;
    assert_int_equal(hubc_contact_get(&c, f.s, ids[i]), 0);
    int type;
    hubc_id rid;
    assert_int_equal(hubc_contact_reason(&type, &rid, c), 0);
    assert_int_equal(type, HUBC_SOURCE_MANUAL);
    assert_int_equal(rid, u);
    hubc_contact_free(c);
  }
  assert_int_equal(hubc_contact_set_non_marketing(f.s, u, other, HUBC_SOURCE_MANUAL, 77), 0);
  size_t n;
  hubc_history_entry e = last_history(f.s, &n);
  assert_int_equal(e.reason_type, HUBC_SOURCE_MANUAL);
  assert_int_equal(e.reason_id, u);
  gc_teardown(NULL);
}

/* M1/M7: reasons that only their own paths write are refused through the
 * generic calls, for users and SYSTEM alike, naming the path; SYSTEM names
 * an app (INTEGRATION or CHATFLOW, id > 0) and nothing else; a user names
 * MANUAL. Nothing changes on a refusal. */
static void m7_generic_calls_refuse_reasons_of_other_paths(void **state) {
  (void)state;
  fx f;
  fx_open(&f);
  char *before = gc_dump(f.s);
  static const struct {
    int type;
    const char *path;
  } own[] = {{HUBC_SOURCE_FORM, "form"}, {HUBC_SOURCE_IMPORT, "import"}, {HUBC_SOURCE_WORKFLOW, "workflow"},
             {HUBC_SOURCE_BULK, "bulk"}, {HUBC_SOURCE_UPDATE_DATE, "update date"}};
  hubc_id actors[] = {ADMIN, HUBC_SYSTEM};
  for (size_t a = 0; a < 2; a++)
    for (size_t i = 0; i < sizeof own / sizeof *own; i++)
      for (int target = 0; target < 2; target++) {
        hubc_id id = target ? f.c_non : f.c_mk;
        int rc = target ? hubc_contact_set_marketing(f.s, actors[a], id, own[i].type, 3)
                        : hubc_contact_set_non_marketing(f.s, actors[a], id, own[i].type, 3);
        assert_int_equal(rc, HUBC_EINVAL);
        if (!strstr(hubc_error_last(), own[i].path) || !strstr(hubc_error_last(), hubc_source_name(own[i].type)))
          fail_msg("reason %s: message does not name it and its path: %s", hubc_source_name(own[i].type),
                   hubc_error_last());
      }
  /* SYSTEM: an app with an id */
  assert_int_equal(hubc_contact_set_marketing(f.s, HUBC_SYSTEM, f.c_non, HUBC_SOURCE_MANUAL, 3), HUBC_EINVAL);
  assert_non_null(strstr(hubc_error_last(), "SYSTEM"));
  assert_int_equal(hubc_contact_set_marketing(f.s, HUBC_SYSTEM, f.c_non, HUBC_SOURCE_EXTERNAL_FORM, 3), HUBC_EINVAL);
  assert_int_equal(hubc_contact_set_marketing(f.s, HUBC_SYSTEM, f.c_non, HUBC_SOURCE_INTEGRATION, 0), HUBC_EINVAL);
  assert_non_null(strstr(hubc_error_last(), "reason id"));
  /* a user: MANUAL, not an app's reason */
  assert_int_equal(hubc_contact_set_marketing(f.s, ADMIN, f.c_non, HUBC_SOURCE_INTEGRATION, 3), HUBC_EINVAL);
  assert_non_null(strstr(hubc_error_last(), "MANUAL"));
  assert_int_equal(hubc_contact_set_marketing(f.s, ADMIN, f.c_non, HUBC_SOURCE_CHATFLOW, 3), HUBC_EINVAL);
  assert_string_equal(gc_dump(f.s), before);

  assert_int_equal(hubc_contact_set_marketing(f.s, HUBC_SYSTEM, f.c_non, HUBC_SOURCE_CHATFLOW, 3), 0);
  hubc_contact *c;
  assert_int_equal(hubc_contact_get(&c, f.s, f.c_non), 0);
  int type;
  hubc_id rid;
  assert_int_equal(hubc_contact_reason(&type, &rid, c), 0);
  assert_int_equal(type, HUBC_SOURCE_CHATFLOW);
  assert_int_equal(rid, 3);
  hubc_contact_free(c);
  gc_teardown(NULL);
}

/* M1/M7 (issue 10), one row per case of the rule for the generic calls:
 * a user records MANUAL with its own id (an id it passes is not used);
 * SYSTEM records INTEGRATION or CHATFLOW with the app's id (> 0); every
 * other reason is refused with a message naming what is wrong, and a
 * refused call changes nothing. Each row runs on a fresh pair of contacts
 * through set_marketing (NON -> MARKETING) and set_non_marketing
 * (MARKETING -> UNTIL_UPDATE), and reads back the history entry. */
static void test_M1_M7_generic_status_calls_stamp_the_reason_of_their_path(void **state) {
  (void)state;
  fx f;
  fx_open(&f);
  hubc_id user = user_with(&f, "stamp@example.com", HUBC_PERM_DEFAULT, 0);
  enum { USER = -1 };
  static const struct {
    hubc_id actor; /* USER: the user above */
    int type;
    hubc_id id;
    int rc;          /* 0: recorded as (want_type, want_id; USER: the user) */
    int want_type;
    hubc_id want_id;
    const char *says; /* in the message of a refusal */
  } rows[] = {
      {USER, HUBC_SOURCE_MANUAL, 0, 0, HUBC_SOURCE_MANUAL, USER, NULL},
      {USER, HUBC_SOURCE_MANUAL, 4242, 0, HUBC_SOURCE_MANUAL, USER, NULL}, /* another id: not a forgery */
      {USER, HUBC_SOURCE_INTEGRATION, 5, HUBC_EINVAL, 0, 0, "MANUAL"},
      {USER, HUBC_SOURCE_CHATFLOW, 5, HUBC_EINVAL, 0, 0, "MANUAL"},
      {USER, HUBC_SOURCE_EXTERNAL_FORM, 5, HUBC_EINVAL, 0, 0, "MANUAL"},
      {USER, HUBC_SOURCE_FORM, 5, HUBC_EINVAL, 0, 0, "form"},
      {USER, HUBC_SOURCE_IMPORT, 5, HUBC_EINVAL, 0, 0, "import"},
      {USER, HUBC_SOURCE_WORKFLOW, 5, HUBC_EINVAL, 0, 0, "workflow"},
      {USER, HUBC_SOURCE_BULK, 5, HUBC_EINVAL, 0, 0, "bulk"},
      {USER, HUBC_SOURCE_UPDATE_DATE, 5, HUBC_EINVAL, 0, 0, "update date"},
      {HUBC_SYSTEM, HUBC_SOURCE_INTEGRATION, 5, 0, HUBC_SOURCE_INTEGRATION, 5, NULL},
      {HUBC_SYSTEM, HUBC_SOURCE_CHATFLOW, 6, 0, HUBC_SOURCE_CHATFLOW, 6, NULL},
      {HUBC_SYSTEM, HUBC_SOURCE_INTEGRATION, 0, HUBC_EINVAL, 0, 0, "reason id"},
      {HUBC_SYSTEM, HUBC_SOURCE_CHATFLOW, -1, HUBC_EINVAL, 0, 0, "reason id"},
      {HUBC_SYSTEM, HUBC_SOURCE_MANUAL, 5, HUBC_EINVAL, 0, 0, "SYSTEM"},
      {HUBC_SYSTEM, HUBC_SOURCE_FORM, 5, HUBC_EINVAL, 0, 0, "form"},
      {HUBC_SYSTEM, HUBC_SOURCE_IMPORT, 5, HUBC_EINVAL, 0, 0, "import"},
      {HUBC_SYSTEM, HUBC_SOURCE_WORKFLOW, 5, HUBC_EINVAL, 0, 0, "workflow"},
      {HUBC_SYSTEM, HUBC_SOURCE_BULK, 5, HUBC_EINVAL, 0, 0, "bulk"},
      {HUBC_SYSTEM, HUBC_SOURCE_UPDATE_DATE, 5, HUBC_EINVAL, 0, 0, "update date"},
  };
  for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
    char a[64], b[64];
    snprintf(a, sizeof a, "row%zu-non@example.com", i);
    snprintf(b, sizeof b, "row%zu-mk@example.com", i);
    hubc_id non = tu_contact(f.s, ADMIN, a, "N"), mk = tu_contact(f.s, ADMIN, b, "M");
    assert_int_equal(hubc_contact_set_marketing(f.s, ADMIN, mk, HUBC_SOURCE_MANUAL, 0), 0);
    hubc_id actor = rows[i].actor == USER ? user : rows[i].actor;
    hubc_id want_id = rows[i].want_id == USER ? user : rows[i].want_id;
    for (int target = 1; target >= 0; target--) {
      char *before = gc_dump(f.s);
      int rc = target ? hubc_contact_set_marketing(f.s, actor, non, rows[i].type, rows[i].id)
                      : hubc_contact_set_non_marketing(f.s, actor, mk, rows[i].type, rows[i].id);
      if (rc != rows[i].rc)
        fail_msg("row %zu (%s): %d, want %d: %s", i, target ? "set_marketing" : "set_non_marketing", rc, rows[i].rc,
                 hubc_error_last());
      if (rc) {
        if (!strstr(hubc_error_last(), rows[i].says))
          fail_msg("row %zu: message does not say '%s': %s", i, rows[i].says, hubc_error_last());
        assert_string_equal(gc_dump(f.s), before);
        continue;
      }
      size_t n;
      hubc_history_entry e = last_history(f.s, &n);
      assert_int_equal(e.contact, target ? non : mk);
      assert_int_equal(e.new_status, target ? HUBC_MARKETING : HUBC_MARKETING_UNTIL_UPDATE);
      assert_int_equal(e.reason_type, rows[i].want_type);
      assert_int_equal(e.reason_id, want_id);
      assert_int_equal(e.actor, actor);
    }
  }
  gc_teardown(NULL);
}

/* Moved from the core review round (test_contact_regress.c). */
#define T0 tu_time(2024, 3, 21, 10, 0, 0)

/* ---- P2/P4: a source's switched-on default is a marketing route ------- */

/* A user holding every default permission except P2 (marketing access). */
static hubc_id user_without_p2(hubc_store *s) {
  hubc_id u = 0;
  TU_OK(hubc_user_create(&u, s, ADMIN, "nop2@example.com"));
  TU_OK(hubc_user_set_permissions(s, ADMIN, u, HUBC_PERM_DEFAULT & ~(unsigned)HUBC_PERM_MARKETING_ACCESS));
  return u;
}


/* `actor` creating through `source` must be refused (PERM, nothing changed),
 * by hubc_contact_create and by hubc_contact_create_batch. */
static void expect_refused(hubc_store *s, hubc_id actor, int source, hubc_id source_id) {
  hubc_create_options co = tu_opts_of(source, source_id);
  const char *n[] = {"email"};
  const char *v[] = {"x@example.com", "y@example.com"};
  char *before = gc_dump(s);
  hubc_id id = 77;
  TU_BAD(HUBC_EPERM, "marketing", hubc_contact_create(&id, s, actor, &co, n, v, 1));
  TU_SAME(s, before);
  hubc_id ids[2] = {77, 77};
  TU_BAD(HUBC_EPERM, "marketing", hubc_contact_create_batch(ids, s, actor, &co, n, 1, v, 2));
  assert_int_equal(ids[0], 0);
  assert_int_equal(ids[1], 0);
  TU_SAME(s, before);
}

/* Creates one contact (and a batch of two) and returns the status all got. */
static int create_status(hubc_store *s, hubc_id actor, int source, hubc_id source_id, const char *tag) {
  hubc_create_options co = tu_opts_of(source, source_id);
  char e1[64], e2[64], e3[64];
  snprintf(e1, sizeof e1, "%s-1@example.com", tag);
  snprintf(e2, sizeof e2, "%s-2@example.com", tag);
  snprintf(e3, sizeof e3, "%s-3@example.com", tag);
  const char *n[] = {"email"};
  const char *v1[] = {e1};
  const char *v2[] = {e2, e3};
  hubc_id id = 0, ids[2] = {0, 0};
  TU_OK(hubc_contact_create(&id, s, actor, &co, n, v1, 1));
  TU_OK(hubc_contact_create_batch(ids, s, actor, &co, n, 1, v2, 2));
  int st = tu_status_of(s, id);
  assert_int_equal(tu_status_of(s, ids[0]), st);
  assert_int_equal(tu_status_of(s, ids[1]), st);
  return st;
}

static void p2_source_default_marketing_needs_p2(void **state) {
  (void)state;
  tu_clock clk = {T0};
  hubc_store *s = tu_open_gc(&clk);
  hubc_id u = user_without_p2(s);

  /* EXTERNAL_FORM is marketing by default (D1): a user without P2 is refused */
  expect_refused(s, u, HUBC_SOURCE_EXTERNAL_FORM, 0);
  /* CHATFLOW and INTEGRATION once their switch is on for that id */
  TU_OK(hubc_source_set_default(s, ADMIN, HUBC_SOURCE_CHATFLOW, 7, 1));
  TU_OK(hubc_source_set_default(s, ADMIN, HUBC_SOURCE_INTEGRATION, 9, 1));
  expect_refused(s, u, HUBC_SOURCE_CHATFLOW, 7);
  expect_refused(s, u, HUBC_SOURCE_INTEGRATION, 9);

  /* P5: SYSTEM acts under the switches; a user with P2 may too */
  assert_int_equal(create_status(s, HUBC_SYSTEM, HUBC_SOURCE_EXTERNAL_FORM, 0, "sys-ext"), HUBC_MARKETING);
  assert_int_equal(create_status(s, HUBC_SYSTEM, HUBC_SOURCE_CHATFLOW, 7, "sys-chat"), HUBC_MARKETING);
  assert_int_equal(create_status(s, HUBC_SYSTEM, HUBC_SOURCE_INTEGRATION, 9, "sys-int"), HUBC_MARKETING);
  hubc_id p2user = 0;
  TU_OK(hubc_user_create(&p2user, s, ADMIN, "withp2@example.com")); /* HUBC_PERM_DEFAULT includes P2 */
  assert_int_equal(create_status(s, p2user, HUBC_SOURCE_EXTERNAL_FORM, 0, "p2-ext"), HUBC_MARKETING);
  assert_int_equal(create_status(s, p2user, HUBC_SOURCE_CHATFLOW, 7, "p2-chat"), HUBC_MARKETING);
  assert_int_equal(create_status(s, ADMIN, HUBC_SOURCE_INTEGRATION, 9, "adm-int"), HUBC_MARKETING);

  /* P4: with the switch off (or another id, off by default) the user without
   * P2 creates non-marketing contacts */
  assert_int_equal(create_status(s, u, HUBC_SOURCE_CHATFLOW, 8, "u-chat8"), HUBC_NON_MARKETING);
  TU_OK(hubc_source_set_default(s, ADMIN, HUBC_SOURCE_EXTERNAL_FORM, 0, 0));
  TU_OK(hubc_source_set_default(s, ADMIN, HUBC_SOURCE_CHATFLOW, 7, 0));
  TU_OK(hubc_source_set_default(s, ADMIN, HUBC_SOURCE_INTEGRATION, 9, 0));
  assert_int_equal(create_status(s, u, HUBC_SOURCE_EXTERNAL_FORM, 0, "u-ext"), HUBC_NON_MARKETING);
  assert_int_equal(create_status(s, u, HUBC_SOURCE_CHATFLOW, 7, "u-chat"), HUBC_NON_MARKETING);
  assert_int_equal(create_status(s, u, HUBC_SOURCE_INTEGRATION, 9, "u-int"), HUBC_NON_MARKETING);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(p1_p5_permission_matrix_follows_the_table, gc_teardown),
      cmocka_unit_test_teardown(m1_a_users_change_records_manual_and_the_user, gc_teardown),
      cmocka_unit_test_teardown(m7_generic_calls_refuse_reasons_of_other_paths, gc_teardown),
      cmocka_unit_test_teardown(test_M1_M7_generic_status_calls_stamp_the_reason_of_their_path, gc_teardown),
      cmocka_unit_test_teardown(p2_source_default_marketing_needs_p2, gc_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
