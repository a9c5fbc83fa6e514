/* Workflow triggers and the engine's reach (W1, W2): filter triggers are
 * edges of the watch registry (list memberships, active lists), trigger
 * filters are freed with their definition, form triggers (external forms
 * too, F6), and a store reopened on STARTER. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hubcontacts.h"
#include "testutil.h"

#define ADMIN 1

static hubc_store *open_sub(tu_clock *clk, int subscription, const hubc_persist *p, tu_alloc *a) {
  hubc_store_options o;
  tu_options(&o, clk, p);
  o.subscription = subscription;
  if (a) o.alloc = tu_alloc_fn, o.alloc_payload = a;
  hubc_store *s = NULL;
  int rc = hubc_store_open(&s, &o);
  if (rc) fail_msg("open: %d %s", rc, hubc_error_last());
  return gc_store(s);
}

static hubc_store *open_pro(tu_clock *clk, const hubc_persist *p) {
  clk->now = tu_time(2024, 3, 1, 10, 0, 0);
  return open_sub(clk, HUBC_SUBSCRIPTION_PROFESSIONAL, p, NULL);
}




static void def_of(hubc_workflow_def *d, const char *name, hubc_id form, const char *filter,
                   const hubc_wf_action **ptrs, size_t n) {
  hubc_workflow_def_init(d, HUBC_WORKFLOW_DEF_VERSION);
  d->name = name;
  d->trigger_form = form;
  d->trigger_filter = filter;
  d->actions = ptrs;
  d->n_actions = n;
}

/* An active workflow with one action and the given triggers. */
static hubc_id active_wf(hubc_store *s, hubc_id form, const char *filter, const hubc_wf_action *a) {
  const hubc_wf_action *ptrs[] = {a};
  hubc_workflow_def d;
  def_of(&d, "W", form, filter, ptrs, 1);
  hubc_id wf;
  assert_int_equal(hubc_workflow_create(&wf, s, ADMIN, &d), 0);
  assert_int_equal(hubc_workflow_activate(s, ADMIN, wf), 0);
  return wf;
}

static const char *prop_of(hubc_store *s, hubc_id id, const char *prop) {
  hubc_contact *c;
  assert_int_equal(hubc_contact_get(&c, s, id), 0);
  const char *v = hubc_contact_prop(c, prop);
  char *copy = gc_malloc(strdup(v ? v : "(unset)"));
  hubc_contact_free(c);
  return copy;
}

static hubc_id static_list(hubc_store *s, const char *name) {
  hubc_id id;
  assert_int_equal(hubc_list_create(&id, s, ADMIN, name, NULL), 0);
  return id;
}

static void set_city(hubc_store *s, hubc_id c, const char *city) {
  const char *n[] = {"city"}, *v[] = {city};
  assert_int_equal(hubc_contact_update(s, ADMIN, c, n, v, 1), 0);
}

/* ---- W2: filter triggers see what active lists see ------------------------------------ */

static void test_W2_trigger_in_a_static_list_enrolls_on_list_add(void **state) {
  (void)state;
  tu_clock clk;
  hubc_store *s = open_pro(&clk, NULL);
  hubc_id list = static_list(s, "VIP");
  hubc_id c = tu_contact(s, ADMIN, "anna@x.it", "Anna"), d = tu_contact(s, ADMIN, "bea@x.it", "Bea");
  char filter[64];
  snprintf(filter, sizeof filter, "IN LIST %lld", (long long)list);
  hubc_wf_action a = tu_act_prop("jobtitle", "vip");
  hubc_id wf = active_wf(s, 0, filter, &a);
  assert_int_equal(tu_enrollments(s, wf, 0), 0);
  /* no property of the contact changes: only its membership */
  hubc_id ids[] = {c};
  assert_int_equal(hubc_list_add(NULL, s, ADMIN, list, ids, 1), 0);
  assert_int_equal(tu_enrollments(s, wf, c), 1);
  assert_int_equal(tu_enrollments(s, wf, d), 0);
  assert_int_equal(hubc_store_tick(s), 0);
  assert_string_equal(prop_of(s, c, "jobtitle"), "vip");
  /* leaves and comes back: re-enrollment is off by default */
  assert_int_equal(hubc_list_remove(NULL, s, ADMIN, list, ids, 1), 0);
  assert_int_equal(hubc_list_add(NULL, s, ADMIN, list, ids, 1), 0);
  assert_int_equal(tu_enrollments(s, wf, c), 1);
  /* a failed call enrolls nobody: the edge is undone with it */
  hubc_id bad[] = {d, 999};
  assert_int_equal(hubc_list_add(NULL, s, ADMIN, list, bad, 2), HUBC_ENOTFOUND);
  assert_int_equal(tu_enrollments(s, wf, d), 0);
}

static void test_W2_trigger_in_an_active_list_enrolls_when_the_list_gains_the_contact(void **state) {
  (void)state;
  tu_clock clk;
  hubc_store *s = open_pro(&clk, NULL);
  hubc_id list;
  assert_int_equal(hubc_list_create(&list, s, ADMIN, "Romans", "city = 'Roma'"), 0);
  char filter[64];
  snprintf(filter, sizeof filter, "IN LIST %lld", (long long)list);
  hubc_wf_action a = tu_act_prop("jobtitle", "romano");
  hubc_id wf = active_wf(s, 0, filter, &a);
  hubc_id c = tu_contact(s, ADMIN, "anna@x.it", "Anna");
  assert_int_equal(tu_enrollments(s, wf, c), 0);
  set_city(s, c, "Roma"); /* the list gains it in the same transaction */
  assert_int_equal(tu_enrollments(s, wf, c), 1);
  assert_int_equal(hubc_store_tick(s), 0);
  assert_string_equal(prop_of(s, c, "jobtitle"), "romano");
  set_city(s, c, "Milano");
  set_city(s, c, "Roma");
  assert_int_equal(tu_enrollments(s, wf, c), 1); /* re-enrollment off */
}

/* An import of `csv` (read from memory), committed with no marketing. */
typedef struct mem_src {
  const char *text;
  size_t at;
} mem_src;

static int read_mem(void *payload, char *buf, size_t cap, size_t *got) {
  mem_src *m = payload;
  size_t n = strlen(m->text + m->at);
  if (n > cap) n = cap;
  memcpy(buf, m->text + m->at, n);
  m->at += n;
  *got = n;
  return 0;
}

static void import_text(hubc_store *s, const char *csv) {
  mem_src m = {csv, 0};
  const char *names[] = {"c.csv"};
  const hubc_read_fn fns[] = {read_mem};
  void *const payloads[] = {&m};
  hubc_import_options o;
  assert_int_equal(hubc_import_options_init(&o, HUBC_IMPORT_OPTIONS_VERSION), 0);
  o.files = names;
  o.n_files = 1;
  o.read = fns;
  o.read_payload = payloads;
  hubc_import *imp = NULL;
  assert_int_equal(hubc_import_plan(&imp, s, ADMIN, &o), 0);
  int rc = hubc_import_commit(NULL, imp, 0);
  hubc_import_free(imp);
  if (rc) fail_msg("import: %d %s", rc, hubc_error_last());
}

/* "Starts to meet" is about what a call changes (a transaction is
 * atomic): an import whose repeated email (I4 merge) moves a contact into
 * the filter and out again in one commit enrolls nobody, one that ends in
 * it enrolls once, and one that was in it before and after enrolls nobody. */
static void test_W2_entering_and_leaving_within_one_call_does_not_enroll(void **state) {
  (void)state;
  tu_clock clk;
  hubc_store *s = open_pro(&clk, NULL);
  hubc_wf_action a = tu_act_prop("jobtitle", "romano");
  hubc_id wf = active_wf(s, 0, "city = 'Roma'", &a);
  hubc_id c = tu_contact(s, ADMIN, "anna@x.it", "Anna");
  import_text(s, "Email,City\nanna@x.it,Roma\nANNA@x.it,Milano\n");
  assert_string_equal(prop_of(s, c, "city"), "Milano");
  assert_int_equal(tu_enrollments(s, wf, c), 0);
  import_text(s, "Email,City\nanna@x.it,Roma\nanna@x.it,Milano\nanna@x.it,Roma\n");
  assert_string_equal(prop_of(s, c, "city"), "Roma");
  assert_int_equal(tu_enrollments(s, wf, c), 1);
  /* the reverse: one that meets it before and after the call, leaving in
   * between, did not start to meet it (enrolled before the workflow
   * existed, so re-enrollment is not what refuses it) */
  hubc_id d = tu_contact(s, ADMIN, "bea@x.it", "Bea");
  set_city(s, d, "Roma");
  hubc_wf_action b = tu_act_prop("jobtitle", "x");
  hubc_id wf2 = active_wf(s, 0, "city = 'Roma'", &b);
  import_text(s, "Email,City\nbea@x.it,Milano\nbea@x.it,Roma\n");
  assert_string_equal(prop_of(s, d, "city"), "Roma");
  assert_int_equal(tu_enrollments(s, wf2, d), 0);
  set_city(s, d, "Milano");
  set_city(s, d, "Roma"); /* a real edge still enrolls */
  assert_int_equal(tu_enrollments(s, wf2, d), 1);
}

static void test_W2_a_list_action_of_one_workflow_triggers_another(void **state) {
  (void)state;
  tu_clock clk;
  hubc_store *s = open_pro(&clk, NULL);
  hubc_id list = static_list(s, "Nurtured");
  char filter[64];
  snprintf(filter, sizeof filter, "IN LIST %lld", (long long)list);
  hubc_wf_action add = tu_act_list(HUBC_WF_LIST_ADD, list), mark = tu_act_prop("jobtitle", "nurtured");
  hubc_id first = active_wf(s, 0, "city = 'Roma'", &add);
  hubc_id second = active_wf(s, 0, filter, &mark);
  hubc_id c = tu_contact(s, ADMIN, "anna@x.it", "Anna");
  set_city(s, c, "Roma");
  assert_int_equal(tu_enrollments(s, first, c), 1);
  assert_int_equal(hubc_store_tick(s), 0);
  assert_int_equal(tu_enrollments(s, second, c), 1);
  assert_int_equal(hubc_store_tick(s), 0);
  assert_string_equal(prop_of(s, c, "jobtitle"), "nurtured");
}

static void test_W2_S2_a_list_read_by_a_trigger_is_not_deleted_under_it(void **state) {
  (void)state;
  tu_clock clk;
  hubc_store *s = open_pro(&clk, NULL);
  hubc_id list = static_list(s, "VIP");
  char filter[64];
  snprintf(filter, sizeof filter, "IN LIST %lld", (long long)list);
  hubc_wf_action a = tu_act_prop("jobtitle", "vip");
  hubc_id wf = active_wf(s, 0, filter, &a);
  assert_int_equal(hubc_list_delete(s, ADMIN, list), HUBC_EINVAL);
  assert_non_null(strstr(hubc_error_last(), "workflow 1 ('W')"));
  assert_int_equal(hubc_workflow_deactivate(s, ADMIN, wf), 0); /* an inactive one still reads it */
  assert_int_equal(hubc_list_delete(s, ADMIN, list), HUBC_EINVAL);
  assert_int_equal(hubc_workflow_delete(s, ADMIN, wf), 0);
  assert_int_equal(hubc_list_delete(s, ADMIN, list), 0);
}

/* A transaction reaches the workflows whose filter reads what it changed
 * (through their watches), not every workflow: updates of a property no
 * trigger reads, with 300 active filter workflows, allocate no more than
 * with none (the old finalize allocated a table per transaction and
 * evaluated every trigger twice per changed contact). */
static void test_W2_a_transaction_does_not_scan_every_workflow(void **state) {
  (void)state;
  static tu_clock clk;
  clk.now = tu_time(2024, 3, 1, 10, 0, 0);
  static tu_alloc al; /* outlives a failed assertion: the teardown closes the store */
  al = (tu_alloc){0};
  hubc_store *s = open_sub(&clk, HUBC_SUBSCRIPTION_PROFESSIONAL, NULL, &al);
  hubc_id c = tu_contact(s, ADMIN, "anna@x.it", "Anna");
  const char *n[] = {"firstname"};
  char name[32];
  const char *v[] = {name};
  for (int i = 0; i < 50; i++) { /* warm up */
    snprintf(name, sizeof name, "w%d", i);
    assert_int_equal(hubc_contact_update(s, ADMIN, c, n, v, 1), 0);
  }
  size_t before = al.count;
  for (int i = 0; i < 100; i++) {
    snprintf(name, sizeof name, "a%d", i);
    assert_int_equal(hubc_contact_update(s, ADMIN, c, n, v, 1), 0);
  }
  size_t without = al.count - before;
  hubc_wf_action a = tu_act_prop("jobtitle", "x");
  for (int i = 0; i < 300; i++) {
    char filter[64];
    snprintf(filter, sizeof filter, "city = 'c%d'", i);
    active_wf(s, 0, filter, &a);
  }
  before = al.count;
  for (int i = 0; i < 100; i++) {
    snprintf(name, sizeof name, "b%d", i);
    assert_int_equal(hubc_contact_update(s, ADMIN, c, n, v, 1), 0);
  }
  size_t with = al.count - before;
  if (with > without) fail_msg("100 updates: %zu allocations with 300 workflows, %zu without", with, without);
  assert_int_equal(tu_enrollments(s, 0, 0), 0);
  gc_release(s); /* the allocator is this function's */
}

/* ---- trigger filters live as long as their definition ---------------------------------- */

/* Live bytes of the store's allocator after n updates of workflow wf with
 * the same definition. */
static size_t live_after_updates(hubc_store *s, tu_alloc *al, hubc_id wf, const hubc_workflow_def *d, int n) {
  for (int i = 0; i < n; i++) assert_int_equal(hubc_workflow_update(s, ADMIN, wf, d), 0);
  return al->live;
}

static void test_W2_updated_and_deleted_workflows_free_their_trigger_filters(void **state) {
  (void)state;
  static tu_clock clk;
  clk.now = tu_time(2024, 3, 1, 10, 0, 0);
  static tu_alloc al; /* outlives a failed assertion: the teardown closes the store */
  al = (tu_alloc){0};
  hubc_store *s = open_sub(&clk, HUBC_SUBSCRIPTION_PROFESSIONAL, NULL, &al);
  /* a filter whose compiled form is large next to its text */
  char filter[4096];
  size_t o = (size_t)snprintf(filter, sizeof filter, "city IN (");
  for (int i = 0; i < 200; i++) o += (size_t)snprintf(filter + o, sizeof filter - o, "%s'c%d'", i ? "," : "", i);
  snprintf(filter + o, sizeof filter - o, ")");
  size_t before = al.live;
  hubc_filter *f;
  assert_int_equal(hubc_filter_compile(&f, s, filter), 0);
  size_t compiled = al.live - before;
  hubc_filter_free(f);
  assert_true(compiled > 0);
  hubc_wf_action a = tu_act_prop("jobtitle", "x");
  const hubc_wf_action *ptrs[] = {&a};
  hubc_workflow_def d;
  def_of(&d, "W", 0, filter, ptrs, 1);
  hubc_id wf;
  assert_int_equal(hubc_workflow_create(&wf, s, ADMIN, &d), 0);
  /* warm up (arrays reach their size), then 64 more updates: what grows is
   * the pooled text of each definition, not a compiled filter each */
  size_t warm = live_after_updates(s, &al, wf, &d, 16);
  size_t grown = live_after_updates(s, &al, wf, &d, 64) - warm;
  if (grown >= 32 * compiled) /* half of one compiled filter per update */
    fail_msg("64 updates grew memory by %zu bytes (compiled filter: %zu bytes)", grown, compiled);
  size_t live = al.live;
  assert_int_equal(hubc_workflow_delete(s, ADMIN, wf), 0);
  assert_true(al.live < live); /* the filter and its watch went with the definition */
  gc_release(s); /* the allocator is this function's */
}

static void test_W2_R2_a_failed_update_keeps_the_old_trigger(void **state) {
  (void)state;
  tu_clock clk;
  tu_mem *m = gc_mem();
  hubc_store *s = open_pro(&clk, &m->vtable);
  hubc_wf_action a = tu_act_prop("jobtitle", "x");
  const hubc_wf_action *ptrs[] = {&a};
  hubc_workflow_def d;
  def_of(&d, "W", 0, "city = 'Roma'", ptrs, 1);
  hubc_id wf;
  assert_int_equal(hubc_workflow_create(&wf, s, ADMIN, &d), 0);
  char *before = gc_dump(s);
  def_of(&d, "W", 0, "city = 'Milano'", ptrs, 1);
  m->fail_at = m->calls + 1;
  m->fail_code = HUBC_EAGAIN;
  assert_int_equal(hubc_workflow_update(s, ADMIN, wf, &d), HUBC_EAGAIN);
  m->fail_at = 0;
  assert_string_equal(gc_dump(s), before);
  assert_int_equal(hubc_workflow_activate(s, ADMIN, wf), 0);
  hubc_id c = tu_contact(s, ADMIN, "anna@x.it", "Anna"), e = tu_contact(s, ADMIN, "eva@x.it", "Eva");
  set_city(s, e, "Milano");
  set_city(s, c, "Roma");
  assert_int_equal(tu_enrollments(s, wf, e), 0);
  assert_int_equal(tu_enrollments(s, wf, c), 1);
  /* and a committed update switches to the new one */
  assert_int_equal(hubc_workflow_deactivate(s, ADMIN, wf), 0);
  assert_int_equal(hubc_workflow_update(s, ADMIN, wf, &d), 0);
  assert_int_equal(hubc_workflow_activate(s, ADMIN, wf), 0);
  set_city(s, e, "Roma");
  set_city(s, e, "Milano");
  set_city(s, c, "Milano");
  assert_int_equal(tu_enrollments(s, wf, e), 1);
  assert_int_equal(tu_enrollments(s, wf, c), 1); /* enrolled before the edit: re-enrollment is off */
}

/* ---- W1: a store reopened on STARTER -------------------------------------------------- */

static void test_W1_reopened_on_starter_workflows_wait_and_resume_on_professional(void **state) {
  (void)state;
  tu_clock clk;
  tu_mem *m = gc_mem();
  hubc_store *s = open_pro(&clk, &m->vtable);
  const char *fields[] = {"city"};
  hubc_id form;
  assert_int_equal(hubc_form_create(&form, s, ADMIN, "Signup", fields, NULL, NULL, 1), 0);
  hubc_wf_action acts[] = {tu_act_prop("jobtitle", "one"), tu_act_delay(600), tu_act_prop("company", "two")};
  const hubc_wf_action *ptrs[] = {&acts[0], &acts[1], &acts[2]};
  hubc_workflow_def d;
  def_of(&d, "W", form, "city = 'Roma'", ptrs, 3);
  hubc_id wf, c, late;
  assert_int_equal(hubc_workflow_create(&wf, s, ADMIN, &d), 0);
  assert_int_equal(hubc_workflow_activate(s, ADMIN, wf), 0);
  const char *n[] = {"email", "city"}, *v[] = {"anna@x.it", "Milano"}, *v2[] = {"bea@x.it", "Milano"};
  assert_int_equal(hubc_form_submit(&c, NULL, s, form, n, v, 2), 0);
  assert_int_equal(hubc_store_tick(s), 0);
  assert_string_equal(prop_of(s, c, "jobtitle"), "one");
  gc_release(s);
  /* downgraded: nothing runs, nothing enrolls */
  s = open_sub(&clk, HUBC_SUBSCRIPTION_STARTER, &m->vtable, NULL);
  clk.now += 3600;
  assert_int_equal(hubc_store_tick(s), 0);
  assert_string_equal(prop_of(s, c, "company"), "(unset)");
  assert_int_equal(hubc_form_submit(&late, NULL, s, form, n, v2, 2), 0);
  set_city(s, late, "Roma");
  assert_int_equal(tu_enrollments(s, wf, late), 0);
  assert_int_equal(tu_enrollments(s, wf, 0), 1);
  hubc_workflow *w;
  assert_int_equal(hubc_workflow_get(&w, s, wf), 0);
  assert_int_equal(hubc_workflow_is_active(w), 1); /* kept for when the store is upgraded */
  hubc_workflow_free(w);
  assert_int_equal(hubc_store_tick(s), 0);
  assert_string_equal(prop_of(s, c, "company"), "(unset)");
  gc_release(s);
  /* upgraded again: the enrollment goes on where it waited */
  s = open_sub(&clk, HUBC_SUBSCRIPTION_PROFESSIONAL, &m->vtable, NULL);
  assert_int_equal(hubc_store_tick(s), 0);
  assert_string_equal(prop_of(s, c, "company"), "two");
  assert_int_equal(tu_enrollments(s, wf, late), 0); /* what came while STARTER did not enroll */
}

/* ---- F6: external form submissions follow F5 (they can enroll, W2) -------------------- */

static void test_F6_W2_an_external_form_submission_enrolls_its_workflows(void **state) {
  (void)state;
  tu_clock clk;
  tu_mem *m = gc_mem();
  hubc_store *s = open_pro(&clk, &m->vtable);
  const char *fields[] = {"city"};
  hubc_id form;
  assert_int_equal(hubc_form_create(&form, s, ADMIN, "Signup", fields, NULL, NULL, 1), 0);
  hubc_wf_action a = tu_act_prop("jobtitle", "external"), b = tu_act_prop("company", "own form");
  const hubc_wf_action *pa[] = {&a}, *pb[] = {&b};
  hubc_workflow_def d;
  def_of(&d, "External", 0, NULL, pa, 1);
  d.trigger_external_form = form; /* the same number as the store's form: a different form */
  hubc_id ext, own;
  assert_int_equal(hubc_workflow_create(&ext, s, ADMIN, &d), 0);
  assert_int_equal(hubc_workflow_activate(s, ADMIN, ext), 0);
  def_of(&d, "Own", form, NULL, pb, 1);
  assert_int_equal(hubc_workflow_create(&own, s, ADMIN, &d), 0);
  assert_int_equal(hubc_workflow_activate(s, ADMIN, own), 0);
  const char *n[] = {"email", "city"}, *v1[] = {"anna@x.it", "Roma"}, *v2[] = {"bea@x.it", "Roma"},
             *v3[] = {"carla@x.it", "Roma"};
  hubc_id c1, c2, c3;
  assert_int_equal(hubc_form_submit_external(&c1, NULL, s, form, n, v1, 2), 0);
  assert_int_equal(hubc_form_submit_external(&c2, NULL, s, form + 1, n, v2, 2), 0); /* another external form */
  assert_int_equal(hubc_form_submit(&c3, NULL, s, form, n, v3, 2), 0);
  assert_int_equal(tu_enrollments(s, ext, c1), 1);
  assert_int_equal(tu_enrollments(s, own, c1), 0);
  assert_int_equal(tu_enrollments(s, ext, c2), 0);
  assert_int_equal(tu_enrollments(s, ext, c3), 0);
  assert_int_equal(tu_enrollments(s, own, c3), 1);
  assert_int_equal(hubc_store_tick(s), 0);
  assert_string_equal(prop_of(s, c1, "jobtitle"), "external");
  assert_string_equal(prop_of(s, c3, "company"), "own form");
  /* kept across a reopen, and read back by a version-2 definition only */
  gc_release(s);
  s = open_sub(&clk, HUBC_SUBSCRIPTION_PROFESSIONAL, &m->vtable, NULL);
  const char *v4[] = {"dora@x.it", "Roma"};
  hubc_id c4;
  assert_int_equal(hubc_form_submit_external(&c4, NULL, s, form, n, v4, 2), 0);
  assert_int_equal(tu_enrollments(s, ext, c4), 1);
  hubc_workflow *w;
  assert_int_equal(hubc_workflow_get(&w, s, ext), 0);
  hubc_workflow_def got;
  assert_int_equal(hubc_workflow_def_init(&got, HUBC_WORKFLOW_DEF_VERSION), 0);
  assert_int_equal(hubc_workflow_definition(&got, w), 0);
  assert_int_equal(got.trigger_external_form, form);
  struct { hubc_workflow_def d; hubc_id canary; } v1def;
  memset(&v1def, 0x5a, sizeof v1def);
  size_t v1_size = offsetof(hubc_workflow_def, n_actions) + sizeof(size_t);
  assert_int_equal(hubc_workflow_def_init(&v1def.d, 1), 0);
  assert_int_equal(hubc_workflow_definition(&v1def.d, w), 0);
  assert_int_equal(v1def.d.n_actions, 1);
  const unsigned char *past = (const unsigned char *)&v1def.d + v1_size;
  assert_int_equal(past[0], 0x5a); /* nothing written past a version-1 struct */
  hubc_workflow_free(w);
  /* a negative id is refused, naming the field */
  def_of(&d, "Bad", 0, NULL, pa, 1);
  d.trigger_external_form = -1;
  assert_int_equal(hubc_workflow_create(NULL, s, ADMIN, &d), HUBC_EINVAL);
  assert_non_null(strstr(hubc_error_last(), "trigger_external_form"));
}

static void test_F6_version_1_definitions_stay_accepted(void **state) {
  (void)state;
  tu_clock clk;
  hubc_store *s = open_pro(&clk, NULL);
  hubc_wf_action a = tu_act_prop("jobtitle", "x");
  const hubc_wf_action *pa[] = {&a};
  /* a version-1 caller's struct ends after n_actions: what follows is not its */
  struct { hubc_workflow_def d; } buf;
  memset(&buf, 0x7f, sizeof buf);
  assert_int_equal(hubc_workflow_def_init(&buf.d, 1), 0);
  buf.d.name = "Old";
  buf.d.trigger_filter = "city = 'Roma'";
  buf.d.actions = pa;
  buf.d.n_actions = 1;
  hubc_id wf;
  assert_int_equal(hubc_workflow_create(&wf, s, ADMIN, &buf.d), 0);
  assert_int_equal(hubc_workflow_activate(s, ADMIN, wf), 0);
  hubc_id c = tu_contact(s, ADMIN, "anna@x.it", "Anna");
  set_city(s, c, "Roma");
  assert_int_equal(tu_enrollments(s, wf, c), 1);
  hubc_workflow *w;
  assert_int_equal(hubc_workflow_get(&w, s, wf), 0);
  hubc_workflow_def got;
  assert_int_equal(hubc_workflow_def_init(&got, HUBC_WORKFLOW_DEF_VERSION), 0);
  assert_int_equal(hubc_workflow_definition(&got, w), 0);
  assert_int_equal(got.trigger_external_form, 0); /* the bytes past version 1 were not read */
  hubc_workflow_free(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_W2_trigger_in_a_static_list_enrolls_on_list_add, gc_teardown),
      cmocka_unit_test_teardown(test_W2_trigger_in_an_active_list_enrolls_when_the_list_gains_the_contact,
                                gc_teardown),
      cmocka_unit_test_teardown(test_W2_entering_and_leaving_within_one_call_does_not_enroll, gc_teardown),
      cmocka_unit_test_teardown(test_W2_a_list_action_of_one_workflow_triggers_another, gc_teardown),
      cmocka_unit_test_teardown(test_W2_S2_a_list_read_by_a_trigger_is_not_deleted_under_it, gc_teardown),
      cmocka_unit_test_teardown(test_W2_a_transaction_does_not_scan_every_workflow, gc_teardown),
      cmocka_unit_test_teardown(test_W2_updated_and_deleted_workflows_free_their_trigger_filters, gc_teardown),
      cmocka_unit_test_teardown(test_W2_R2_a_failed_update_keeps_the_old_trigger, gc_teardown),
      cmocka_unit_test_teardown(test_W1_reopened_on_starter_workflows_wait_and_resume_on_professional,
                                gc_teardown),
      cmocka_unit_test_teardown(test_F6_W2_an_external_form_submission_enrolls_its_workflows, gc_teardown),
      cmocka_unit_test_teardown(test_F6_version_1_definitions_stay_accepted, gc_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
