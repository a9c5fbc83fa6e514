/* Workflows (W1–W7, P2 for W4, R1/R2 for enrollments). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include "hubcontacts.h"
#include "testutil.h"

#define ADMIN 1

static hubc_store *open_sub(tu_clock *clk, int subscription, const hubc_persist *p) {
  hubc_store_options o;
  tu_options(&o, clk, p);
  o.subscription = subscription;
  hubc_store *s = NULL;
  int rc = tu_try_open(&s, &o);
  if (rc) fail_msg("open: %d %s", rc, hubc_error_last());
  return s;
}

static hubc_store *open_pro(tu_clock *clk, const hubc_persist *p) {
  clk->now = tu_time(2024, 3, 1, 10, 0, 0);
  return open_sub(clk, HUBC_SUBSCRIPTION_PROFESSIONAL, p);
}

/* A form "Signup" (email, city) with its marketing switch off, so that only
 * the workflow changes statuses. */
static hubc_id signup_form(hubc_store *s) {
  const char *props[] = {"city"};
  hubc_id id;
  assert_int_equal(hubc_form_create(&id, s, ADMIN, "Signup", props, NULL, NULL, 1), 0);
  assert_int_equal(hubc_form_set_marketing(s, ADMIN, id, 0), 0);
  return id;
}

static int submit(hubc_store *s, hubc_id form, const char *email, hubc_id *contact) {
  const char *n[] = {"email", "city"}, *v[] = {email, "Roma"};
  return hubc_form_submit(contact, NULL, s, form, n, v, 2);
}






static int in_list(hubc_store *s, hubc_id list, hubc_id contact) {
  int in = -1;
  assert_int_equal(hubc_list_contains(&in, s, list, contact), 0);
  return in;
}

/* Creates a workflow from n actions; form/filter triggers as given. */
static int create_wf(hubc_id *id, hubc_store *s, hubc_id actor, hubc_id form, const char *filter,
                     const hubc_wf_action *acts, size_t n) {
  const hubc_wf_action *ptrs[16];
  for (size_t i = 0; i < n; i++) ptrs[i] = &acts[i];
  hubc_workflow_def d;
  hubc_workflow_def_init(&d, HUBC_WORKFLOW_DEF_VERSION);
  d.name = "Welcome";
  d.trigger_form = form;
  d.trigger_filter = filter;
  d.actions = ptrs;
  d.n_actions = n;
  return hubc_workflow_create(id, s, actor, &d);
}

static int status_of(hubc_store *s, hubc_id id) {
  hubc_contact *c;
  assert_int_equal(hubc_contact_get(&c, s, id), 0);
  int st = hubc_contact_status(c);
  hubc_contact_free(c);
  return st;
}

static const char *prop_of(hubc_store *s, hubc_id id, const char *prop) {
  hubc_contact *c;
  assert_int_equal(hubc_contact_get(&c, s, id), 0);
  const char *v = hubc_contact_prop(c, prop);
  char *copy = gc_malloc(strdup(v ? v : "(unset)"));
  hubc_contact_free(c);
  return copy;
}

static hubc_enrollment enrollment(hubc_store *s, hubc_id id) {
  hubc_enrollment e;
  memset(&e, 0, sizeof e);
  e.version = HUBC_ENROLLMENT_VERSION;
  assert_int_equal(hubc_enrollment_get(&e, s, id), 0);
  return e;
}

/* The history of an enrollment: up to cap entries (messages copied). */
typedef struct hist {
  hubc_wf_log e[32];
  char msg[32][128];
  size_t n;
} hist;

static void history(hist *h, hubc_store *s, hubc_id enr) {
  hubc_wf_log_iterator *it;
  assert_int_equal(hubc_wf_log_iterator_new(&it, s, enr), 0);
  h->n = 0;
  hubc_wf_log l;
  l.version = HUBC_WF_LOG_VERSION;
  while (h->n < 32 && hubc_wf_log_iterator_next(&l, it) == 0) {
    h->e[h->n] = l;
    snprintf(h->msg[h->n], sizeof h->msg[h->n], "%s", l.message);
    h->n++;
  }
  hubc_wf_log_iterator_free(it);
}

static size_t count_event(const hist *h, int event) {
  size_t n = 0;
  for (size_t i = 0; i < h->n; i++) n += h->e[i].event == event;
  return n;
}

/* ---- W1 ------------------------------------------------------------------------- */

static void test_W1_starter_refuses_create_and_activate(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 1, 10, 0, 0)};
  tu_mem *m = gc_mem();
  hubc_store *s = open_sub(&clk, HUBC_SUBSCRIPTION_STARTER, &m->vtable);
  hubc_wf_action a = tu_act_status(1);
  char *before = gc_dump(s);
  hubc_id id = 99;
  assert_int_equal(create_wf(&id, s, ADMIN, 0, NULL, &a, 1), HUBC_ETIER);
  assert_int_equal(id, 0);
  assert_non_null(strstr(hubc_error_last(), "STARTER"));
  assert_string_equal(gc_dump(s), before);
  gc_release(s);
  /* made on PROFESSIONAL, reopened on STARTER: activation is refused */
  s = open_sub(&clk, HUBC_SUBSCRIPTION_PROFESSIONAL, &m->vtable);
  assert_int_equal(create_wf(&id, s, ADMIN, 0, NULL, &a, 1), 0);
  gc_release(s);
  s = open_sub(&clk, HUBC_SUBSCRIPTION_STARTER, &m->vtable);
  before = gc_dump(s);
  assert_int_equal(hubc_workflow_activate(s, ADMIN, id), HUBC_ETIER);
  assert_string_equal(gc_dump(s), before);
  gc_release(s);
  s = open_sub(&clk, HUBC_SUBSCRIPTION_ENTERPRISE, &m->vtable);
  assert_int_equal(hubc_workflow_activate(s, ADMIN, id), 0);
}

/* ---- W2, W4: a form submission enrolls; set marketing contact status ---------------- */

static void test_W2_W4_form_submission_enrolls_and_sets_marketing_with_workflow_reason(void **state) {
  (void)state;
  tu_clock clk;
  hubc_store *s = open_pro(&clk, NULL);
  hubc_id form = signup_form(s), wf, c;
  hubc_wf_action a = tu_act_status(1);
  assert_int_equal(create_wf(&wf, s, ADMIN, form, NULL, &a, 1), 0);
  /* inactive: a submission enrolls nobody */
  assert_int_equal(submit(s, form, "early@x.it", &c), 0);
  assert_int_equal(hubc_store_tick(s), 0);
  assert_int_equal(tu_enrollments(s, wf, 0), 0);
  assert_int_equal(status_of(s, c), HUBC_NON_MARKETING);
  assert_int_equal(hubc_workflow_activate(s, ADMIN, wf), 0);
  assert_int_equal(submit(s, form, "anna@x.it", &c), 0);
  assert_int_equal(tu_enrollments(s, wf, c), 1);
  assert_int_equal(status_of(s, c), HUBC_NON_MARKETING); /* the engine runs on tick (W3) */
  assert_int_equal(hubc_store_tick(s), 0);
  assert_int_equal(status_of(s, c), HUBC_MARKETING);
  hubc_contact *ct;
  assert_int_equal(hubc_contact_get(&ct, s, c), 0);
  int type;
  hubc_id rid;
  assert_int_equal(hubc_contact_reason(&type, &rid, ct), 0);
  hubc_contact_free(ct);
  assert_int_equal(type, HUBC_SOURCE_WORKFLOW);
  assert_int_equal(rid, wf);
  hubc_enrollment e = enrollment(s, 1);
  assert_int_equal(e.state, HUBC_ENROLLMENT_FINISHED);
  assert_int_equal(e.contact, c);
  /* re-enrollment is off by default: a second submission does not enroll */
  assert_int_equal(submit(s, form, "anna@x.it", &c), 0);
  assert_int_equal(hubc_store_tick(s), 0);
  assert_int_equal(tu_enrollments(s, wf, c), 1);
}

static void test_W4_non_marketing_action_is_M4_pending_until_update(void **state) {
  (void)state;
  tu_clock clk;
  hubc_store *s = open_pro(&clk, NULL);
  hubc_id form = signup_form(s), wf, c;
  assert_int_equal(hubc_form_set_marketing(s, ADMIN, form, 1), 0);
  hubc_wf_action a = tu_act_status(0);
  assert_int_equal(create_wf(&wf, s, ADMIN, form, NULL, &a, 1), 0);
  assert_int_equal(hubc_workflow_activate(s, ADMIN, wf), 0);
  assert_int_equal(submit(s, form, "anna@x.it", &c), 0);
  assert_int_equal(status_of(s, c), HUBC_MARKETING);
  assert_int_equal(hubc_store_tick(s), 0);
  assert_int_equal(status_of(s, c), HUBC_MARKETING_UNTIL_UPDATE);
}

static void test_W4_status_action_needs_P2_other_edits_need_edit_workflows(void **state) {
  (void)state;
  tu_clock clk;
  hubc_store *s = open_pro(&clk, NULL);
  hubc_id no_p2, no_wf;
  assert_int_equal(hubc_user_create(&no_p2, s, ADMIN, "nop2@example.com"), 0);
  assert_int_equal(hubc_user_set_permissions(s, ADMIN, no_p2, HUBC_PERM_EDIT_WORKFLOWS), 0);
  assert_int_equal(hubc_user_create(&no_wf, s, ADMIN, "nowf@example.com"), 0);
  assert_int_equal(hubc_user_set_permissions(s, ADMIN, no_wf, HUBC_PERM_MARKETING_ACCESS), 0);
  hubc_wf_action st = tu_act_status(1), pr = tu_act_prop("city", "Milano");
  char *before = gc_dump(s);
  hubc_id id;
  assert_int_equal(create_wf(&id, s, no_p2, 0, NULL, &st, 1), HUBC_EPERM);
  assert_non_null(strstr(hubc_error_last(), "set marketing contact status"));
  assert_int_equal(create_wf(&id, s, no_wf, 0, NULL, &pr, 1), HUBC_EPERM);
  assert_non_null(strstr(hubc_error_last(), "edit workflows"));
  assert_int_equal(create_wf(&id, s, HUBC_SYSTEM, 0, NULL, &pr, 1), HUBC_EPERM);
  assert_string_equal(gc_dump(s), before);
  assert_int_equal(create_wf(&id, s, no_p2, 0, NULL, &pr, 1), 0); /* no status action: no P2 needed */
  /* adding one by an update needs P2 too */
  hubc_workflow_def d;
  hubc_workflow_def_init(&d, HUBC_WORKFLOW_DEF_VERSION);
  const hubc_wf_action *ptrs[] = {&pr, &st};
  d.name = "Welcome";
  d.actions = ptrs;
  d.n_actions = 2;
  before = gc_dump(s);
  assert_int_equal(hubc_workflow_update(s, no_p2, id, &d), HUBC_EPERM);
  assert_string_equal(gc_dump(s), before);
  assert_int_equal(hubc_workflow_update(s, ADMIN, id, &d), 0);
  /* keeping it is no addition; turning "set marketing" into "set
   * non-marketing" (or back) is: it adds an action of the other target */
  d.name = "Renamed";
  assert_int_equal(hubc_workflow_update(s, no_p2, id, &d), 0);
  hubc_wf_action non = tu_act_status(0);
  ptrs[1] = &non;
  before = gc_dump(s);
  assert_int_equal(hubc_workflow_update(s, no_p2, id, &d), HUBC_EPERM);
  assert_non_null(strstr(hubc_error_last(), "set marketing contact status"));
  assert_string_equal(gc_dump(s), before);
  assert_int_equal(hubc_workflow_update(s, ADMIN, id, &d), 0);
  ptrs[1] = &st;
  before = gc_dump(s);
  assert_int_equal(hubc_workflow_update(s, no_p2, id, &d), HUBC_EPERM);
  assert_string_equal(gc_dump(s), before);
}

/* ---- W2: filter triggers -------------------------------------------------------------- */

static void test_W2_filter_trigger_is_an_edge_and_enroll_existing_at_activation(void **state) {
  (void)state;
  tu_clock clk;
  hubc_store *s = open_pro(&clk, NULL);
  hubc_id early = tu_contact(s, ADMIN, "early@x.it", "E");
  const char *n[] = {"city"}, *roma[] = {"Roma"}, *milano[] = {"Milano"}, *first[] = {"Ann"};
  assert_int_equal(hubc_contact_update(s, ADMIN, early, n, roma, 1), 0);
  hubc_wf_action a = tu_act_prop("jobtitle", "Romano");
  hubc_id wf, wf2;
  assert_int_equal(create_wf(&wf, s, ADMIN, 0, "city = 'Roma'", &a, 1), 0);
  assert_int_equal(hubc_workflow_activate(s, ADMIN, wf), 0);
  assert_int_equal(tu_enrollments(s, wf, 0), 0); /* enroll_existing off: already meeting it is not an edge */
  hubc_id c = tu_contact(s, ADMIN, "anna@x.it", "Anna");
  assert_int_equal(tu_enrollments(s, wf, c), 0);
  assert_int_equal(hubc_contact_update(s, ADMIN, c, n, roma, 1), 0); /* starts to meet it */
  assert_int_equal(tu_enrollments(s, wf, c), 1);
  const char *fn[] = {"firstname"};
  assert_int_equal(hubc_contact_update(s, ADMIN, c, fn, first, 1), 0); /* still meets it: no edge */
  assert_int_equal(hubc_contact_update(s, ADMIN, early, fn, first, 1), 0);
  assert_int_equal(tu_enrollments(s, wf, 0), 1);
  assert_int_equal(hubc_store_tick(s), 0);
  assert_string_equal(prop_of(s, c, "jobtitle"), "Romano");
  assert_string_equal(prop_of(s, early, "jobtitle"), "(unset)");
  /* leaves and meets it again: re-enrollment is off */
  assert_int_equal(hubc_contact_update(s, ADMIN, c, n, milano, 1), 0);
  assert_int_equal(hubc_contact_update(s, ADMIN, c, n, roma, 1), 0);
  assert_int_equal(tu_enrollments(s, wf, c), 1);
  /* enroll_existing: a second workflow enrolls both at activation */
  const hubc_wf_action *ptrs[] = {&a};
  hubc_workflow_def d;
  hubc_workflow_def_init(&d, HUBC_WORKFLOW_DEF_VERSION);
  d.name = "Existing";
  d.trigger_filter = "city = 'Roma'";
  d.enroll_existing = 1;
  d.actions = ptrs;
  d.n_actions = 1;
  assert_int_equal(hubc_workflow_create(&wf2, s, ADMIN, &d), 0);
  assert_int_equal(tu_enrollments(s, wf2, 0), 0);
  assert_int_equal(hubc_workflow_activate(s, ADMIN, wf2), 0);
  assert_int_equal(tu_enrollments(s, wf2, 0), 2);
  assert_int_equal(tu_enrollments(s, wf2, early), 1);
}

static void test_W2_reenroll_switch_allows_a_new_enrollment_after_the_last_ended(void **state) {
  (void)state;
  tu_clock clk;
  hubc_store *s = open_pro(&clk, NULL);
  hubc_id form = signup_form(s), wf, c;
  hubc_wf_action a = tu_act_prop("jobtitle", "x");
  const hubc_wf_action *ptrs[] = {&a};
  hubc_workflow_def d;
  hubc_workflow_def_init(&d, HUBC_WORKFLOW_DEF_VERSION);
  d.name = "Again";
  d.trigger_form = form;
  d.reenroll = 1;
  d.actions = ptrs;
  d.n_actions = 1;
  assert_int_equal(hubc_workflow_create(&wf, s, ADMIN, &d), 0);
  assert_int_equal(hubc_workflow_activate(s, ADMIN, wf), 0);
  assert_int_equal(submit(s, form, "anna@x.it", &c), 0);
  assert_int_equal(submit(s, form, "anna@x.it", &c), 0); /* the first is still running: not again */
  assert_int_equal(tu_enrollments(s, wf, c), 1);
  assert_int_equal(hubc_store_tick(s), 0);
  assert_int_equal(submit(s, form, "anna@x.it", &c), 0);
  assert_int_equal(tu_enrollments(s, wf, c), 2);
}

/* ---- W3: order and delays ------------------------------------------------------------ */

static void test_W3_actions_run_in_order_and_delays_follow_the_store_clock(void **state) {
  (void)state;
  tu_clock clk;
  hubc_store *s = open_pro(&clk, NULL);
  hubc_id form = signup_form(s), wf, c;
  hubc_wf_action acts[] = {tu_act_prop("jobtitle", "step1"), tu_act_delay(86400), tu_act_prop("jobtitle", "step3"),
                           tu_act_status(1)};
  assert_int_equal(create_wf(&wf, s, ADMIN, form, NULL, acts, 4), 0);
  assert_int_equal(hubc_workflow_activate(s, ADMIN, wf), 0);
  assert_int_equal(submit(s, form, "anna@x.it", &c), 0);
  hubc_time t0 = clk.now;
  assert_int_equal(hubc_store_tick(s), 0);
  assert_string_equal(prop_of(s, c, "jobtitle"), "step1");
  hubc_enrollment e = enrollment(s, 1);
  assert_int_equal(e.step, 2);
  assert_int_equal(e.due, t0 + 86400);
  clk.now = t0 + 86399;
  assert_int_equal(hubc_store_tick(s), 0);
  assert_string_equal(prop_of(s, c, "jobtitle"), "step1");
  clk.now = t0 + 86400;
  assert_int_equal(hubc_store_tick(s), 0);
  assert_string_equal(prop_of(s, c, "jobtitle"), "step3");
  assert_int_equal(status_of(s, c), HUBC_MARKETING);
  hist h;
  history(&h, s, 1);
  int want[] = {HUBC_WF_LOG_ENROLLED, HUBC_WF_LOG_DONE, HUBC_WF_LOG_WAITING, HUBC_WF_LOG_DONE, HUBC_WF_LOG_DONE,
                HUBC_WF_LOG_FINISHED};
  assert_int_equal(h.n, 6);
  for (size_t i = 0; i < 6; i++) assert_int_equal(h.e[i].event, want[i]);
  assert_int_equal(h.e[2].until, t0 + 86400);
  assert_int_equal(h.e[4].time, t0 + 86400);
}

/* ---- W5: marketing host actions ---------------------------------------------------------- */

typedef struct host_log {
  int calls;
  hubc_id contacts[16];
  char payload[64];
  int fail_first; /* fail this many calls */
  hubc_store *store; /* to try re-entering */
  int reenter_rc;
} host_log;

static int host_cb(void *payload, const hubc_wf_call *call) {
  host_log *l = payload;
  if (l->store) {
    hubc_contact *c = NULL;
    l->reenter_rc = hubc_contact_get(&c, l->store, call->contact);
    hubc_contact_free(c);
  }
  if (l->calls < 16) l->contacts[l->calls] = call->contact;
  l->calls++;
  snprintf(l->payload, sizeof l->payload, "%s", call->payload);
  return l->calls <= l->fail_first ? -7 : 0;
}

static void test_W5_marketing_host_action_skips_non_marketing_contacts(void **state) {
  (void)state;
  tu_clock clk;
  hubc_store *s = open_pro(&clk, NULL);
  host_log mk = {0}, plain = {0};
  assert_int_equal(hubc_workflow_register_action(s, "send marketing email", 1, host_cb, &mk), 0);
  assert_int_equal(hubc_workflow_register_action(s, "notify owner", 0, host_cb, &plain), 0);
  hubc_id form = signup_form(s), wf, non, yes;
  hubc_wf_action acts[] = {tu_act_host("send marketing email", "welcome-1"), tu_act_host("notify owner", "n")};
  assert_int_equal(create_wf(&wf, s, ADMIN, form, NULL, acts, 2), 0);
  assert_int_equal(hubc_workflow_activate(s, ADMIN, wf), 0);
  assert_int_equal(submit(s, form, "non@x.it", &non), 0); /* switch off: NON_MARKETING */
  assert_int_equal(hubc_form_set_marketing(s, ADMIN, form, 1), 0);
  assert_int_equal(submit(s, form, "yes@x.it", &yes), 0);
  assert_int_equal(status_of(s, yes), HUBC_MARKETING);
  assert_int_equal(hubc_store_tick(s), 0);
  assert_int_equal(mk.calls, 1);
  assert_int_equal(mk.contacts[0], yes);
  assert_string_equal(mk.payload, "welcome-1");
  assert_int_equal(plain.calls, 2); /* a non-marketing action runs for both */
  hist h;
  history(&h, s, 1); /* non's enrollment */
  assert_int_equal(count_event(&h, HUBC_WF_LOG_SKIPPED), 1);
  assert_int_equal(h.e[1].event, HUBC_WF_LOG_SKIPPED);
  assert_string_equal(h.msg[1], "non-marketing contact");
  assert_int_equal(h.e[h.n - 1].event, HUBC_WF_LOG_FINISHED);
}

/* ---- W6: retries ------------------------------------------------------------------------- */

/* A backend that answers AGAIN to the next `again` puts of a contact. */
typedef struct flaky {
  tu_mem mem;
  hubc_persist vt;
  int again;
  int contact_puts_refused;
} flaky;

static int flaky_put(void *u, int kind, hubc_id id, const void *b, size_t n) {
  flaky *f = u;
  if (kind == HUBC_REC_CONTACT && f->again > 0) {
    f->again--;
    f->contact_puts_refused++;
    return HUBC_EAGAIN;
  }
  return f->mem.vtable.put(f->mem.vtable.userdata, kind, id, b, n);
}
static int flaky_begin(void *u) { flaky *f = u; return f->mem.vtable.begin(f->mem.vtable.userdata); }
static int flaky_commit(void *u) { flaky *f = u; return f->mem.vtable.commit(f->mem.vtable.userdata); }
static int flaky_rollback(void *u) { flaky *f = u; return f->mem.vtable.rollback(f->mem.vtable.userdata); }
static int flaky_del(void *u, int kind, hubc_id id) { flaky *f = u; return f->mem.vtable.del(f->mem.vtable.userdata, kind, id); }
static int flaky_load(void *u, hubc_loader *l) { flaky *f = u; return f->mem.vtable.load(f->mem.vtable.userdata, l); }

static void flaky_free(void *p) { tu_mem_free(&((flaky *)p)->mem); free(p); }

static flaky *flaky_new(void) {
  flaky *f = calloc(1, sizeof *f);
  tu_mem_init(&f->mem);
  f->vt = f->mem.vtable;
  f->vt.userdata = f;
  f->vt.begin = flaky_begin;
  f->vt.put = flaky_put;
  f->vt.del = flaky_del;
  f->vt.commit = flaky_commit;
  f->vt.rollback = flaky_rollback;
  f->vt.load = flaky_load;
  f->vt.close = NULL;
  gc_defer(flaky_free, f);
  return f;
}

static void test_W6_persistence_again_three_times_then_applied_once_waits_1_2_4_min(void **state) {
  (void)state;
  tu_clock clk;
  flaky *f = flaky_new();
  hubc_store *s = open_pro(&clk, &f->vt);
  hubc_id form = signup_form(s), wf, c;
  hubc_wf_action a = tu_act_status(1);
  assert_int_equal(create_wf(&wf, s, ADMIN, form, NULL, &a, 1), 0);
  assert_int_equal(hubc_workflow_activate(s, ADMIN, wf), 0);
  assert_int_equal(submit(s, form, "anna@x.it", &c), 0);
  hubc_time t0 = clk.now;
  f->again = 3;
  hubc_time at[] = {t0, t0 + 60, t0 + 180, t0 + 420};
  for (int i = 0; i < 4; i++) {
    clk.now = at[i] - 1; /* not yet due */
    if (i) assert_int_equal(hubc_store_tick(s), 0);
    assert_int_equal(status_of(s, c), HUBC_NON_MARKETING);
    clk.now = at[i];
    assert_int_equal(hubc_store_tick(s), 0);
  }
  assert_int_equal(f->contact_puts_refused, 3);
  assert_int_equal(status_of(s, c), HUBC_MARKETING);
  hist h;
  history(&h, s, 1);
  assert_int_equal(count_event(&h, HUBC_WF_LOG_FAILED), 3);
  assert_int_equal(count_event(&h, HUBC_WF_LOG_DONE), 1);
  hubc_time waits[] = {60, 120, 240};
  for (size_t i = 0; i < 3; i++) {
    const hubc_wf_log *l = &h.e[1 + i];
    assert_int_equal(l->event, HUBC_WF_LOG_FAILED);
    assert_int_equal(l->attempt, i + 1);
    assert_int_equal(l->code, HUBC_EAGAIN);
    assert_int_equal(l->wait, waits[i]);
    assert_int_equal(l->time, at[i]);
  }
  assert_int_equal(h.e[4].event, HUBC_WF_LOG_DONE);
  assert_int_equal(h.e[4].attempt, 4);
  /* applied once: one status change in the contact's history */
  hubc_history_iterator *it;
  assert_int_equal(hubc_history_iterator_new(&it, s, c), 0);
  hubc_history_entry e;
  e.version = HUBC_HISTORY_ENTRY_VERSION;
  int n = 0;
  while (hubc_history_iterator_next(&e, it) == 0) n++, assert_int_equal(e.reason_type, HUBC_SOURCE_WORKFLOW);
  hubc_history_iterator_free(it);
  assert_int_equal(n, 1);
  /* and what was stored says the same */
  char *want = gc_dump(s);
  hubc_store *again = open_sub(&clk, HUBC_SUBSCRIPTION_PROFESSIONAL, &f->vt);
  assert_string_equal(gc_dump(again), want);
}

static void test_W6_host_failures_retry_doubling_capped_and_reentry_is_busy(void **state) {
  (void)state;
  tu_clock clk;
  hubc_store *s = open_pro(&clk, NULL);
  host_log l = {0};
  l.fail_first = 9;
  l.store = s;
  assert_int_equal(hubc_workflow_register_action(s, "crm sync", 0, host_cb, &l), 0);
  hubc_id form = signup_form(s), wf, c;
  hubc_wf_action a = tu_act_host("crm sync", "{}");
  assert_int_equal(create_wf(&wf, s, ADMIN, form, NULL, &a, 1), 0);
  assert_int_equal(hubc_workflow_activate(s, ADMIN, wf), 0);
  assert_int_equal(submit(s, form, "anna@x.it", &c), 0);
  hubc_time waits[] = {60, 120, 240, 480, 960, 1920, 3600, 3600, 3600};
  assert_int_equal(hubc_store_tick(s), 0);
  assert_int_equal(l.reenter_rc, HUBC_EBUSY); /* R6: no deadlock */
  for (int i = 0; i < 9; i++) {
    clk.now += waits[i];
    assert_int_equal(hubc_store_tick(s), 0);
  }
  assert_int_equal(l.calls, 10);
  hist h;
  history(&h, s, 1);
  assert_int_equal(count_event(&h, HUBC_WF_LOG_FAILED), 9);
  for (int i = 0; i < 9; i++) assert_int_equal(h.e[1 + i].wait, waits[i]);
  assert_int_equal(h.e[10].event, HUBC_WF_LOG_DONE);
  assert_int_equal(h.e[10].attempt, 10);
  assert_int_equal(enrollment(s, 1).state, HUBC_ENROLLMENT_FINISHED);
}

static void test_W6_retry_waits_are_configurable(void **state) {
  (void)state;
  tu_clock clk;
  hubc_store *s = open_pro(&clk, NULL);
  assert_int_equal(hubc_workflow_set_retry(s, 10, 25), 0);
  assert_int_equal(hubc_workflow_set_retry(s, 30, 20), HUBC_EINVAL);
  assert_int_equal(hubc_workflow_set_retry(s, -1, 0), HUBC_EINVAL);
  host_log l = {0};
  l.fail_first = 3;
  assert_int_equal(hubc_workflow_register_action(s, "x", 0, host_cb, &l), 0);
  hubc_id form = signup_form(s), wf, c;
  hubc_wf_action a = tu_act_host("x", NULL);
  assert_int_equal(create_wf(&wf, s, ADMIN, form, NULL, &a, 1), 0);
  assert_int_equal(hubc_workflow_activate(s, ADMIN, wf), 0);
  assert_int_equal(submit(s, form, "anna@x.it", &c), 0);
  for (int i = 0; i < 4; i++) {
    assert_int_equal(hubc_store_tick(s), 0);
    clk.now += 25;
  }
  hist h;
  history(&h, s, 1);
  assert_int_equal(h.e[1].wait, 10);
  assert_int_equal(h.e[2].wait, 20);
  assert_int_equal(h.e[3].wait, 25);
  assert_int_equal(h.e[4].event, HUBC_WF_LOG_DONE);
}

static void test_W6_hard_cap_is_retried_until_room(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 1, 10, 0, 0)};
  hubc_store_options o;
  hubc_store_options_init(&o, HUBC_STORE_OPTIONS_VERSION);
  o.clock = tu_clock_fn;
  o.clock_payload = &clk;
  o.admin_email = "admin@example.com";
  o.subscription = HUBC_SUBSCRIPTION_PROFESSIONAL;
  o.tier_policy = HUBC_TIER_HARD_CAP;
  o.hard_cap = 1;
  hubc_store *s;
  assert_int_equal(hubc_store_open(&s, &o), 0);
  gc_store(s);
  hubc_id full = tu_contact(s, ADMIN, "full@x.it", "F");
  assert_int_equal(hubc_contact_set_marketing(s, ADMIN, full, HUBC_SOURCE_MANUAL, 0), 0);
  hubc_id form = signup_form(s), wf, c;
  hubc_wf_action a = tu_act_status(1);
  assert_int_equal(create_wf(&wf, s, ADMIN, form, NULL, &a, 1), 0);
  assert_int_equal(hubc_workflow_activate(s, ADMIN, wf), 0);
  assert_int_equal(submit(s, form, "anna@x.it", &c), 0);
  assert_int_equal(hubc_store_tick(s), 0);
  assert_int_equal(status_of(s, c), HUBC_NON_MARKETING);
  hist h;
  history(&h, s, 1);
  assert_int_equal(h.e[1].event, HUBC_WF_LOG_FAILED);
  assert_int_equal(h.e[1].code, HUBC_ELIMIT);
  assert_int_equal(hubc_contact_delete(s, ADMIN, full), 0); /* room again */
  clk.now += 60;
  assert_int_equal(hubc_store_tick(s), 0);
  assert_int_equal(status_of(s, c), HUBC_MARKETING);
}

/* Steps due together run in one transaction: HARD_CAP refusing their sum
 * still applies the ones that fit, one by one; the others are retried. */
static void test_W6_hard_cap_applies_what_fits_of_a_batch(void **state) {
  (void)state;
  tu_clock clk = {tu_time(2024, 3, 1, 10, 0, 0)};
  hubc_store_options o;
  hubc_store_options_init(&o, HUBC_STORE_OPTIONS_VERSION);
  o.clock = tu_clock_fn;
  o.clock_payload = &clk;
  o.admin_email = "admin@example.com";
  o.subscription = HUBC_SUBSCRIPTION_PROFESSIONAL;
  o.tier_policy = HUBC_TIER_HARD_CAP;
  o.hard_cap = 2;
  hubc_store *s;
  assert_int_equal(hubc_store_open(&s, &o), 0);
  gc_store(s);
  hubc_id form = signup_form(s), wf, c[4];
  hubc_wf_action a = tu_act_status(1);
  assert_int_equal(create_wf(&wf, s, ADMIN, form, NULL, &a, 1), 0);
  assert_int_equal(hubc_workflow_activate(s, ADMIN, wf), 0);
  const char *emails[] = {"a@x.it", "b@x.it", "c@x.it", "d@x.it"};
  for (int i = 0; i < 4; i++) assert_int_equal(submit(s, form, emails[i], &c[i]), 0);
  assert_int_equal(hubc_store_tick(s), 0);
  int marketing = 0;
  for (int i = 0; i < 4; i++) marketing += status_of(s, c[i]) == HUBC_MARKETING;
  assert_int_equal(marketing, 2);
  size_t failed = 0;
  for (hubc_id e = 1; e <= 4; e++) {
    hist h;
    history(&h, s, e);
    failed += count_event(&h, HUBC_WF_LOG_FAILED);
    assert_int_equal(count_event(&h, HUBC_WF_LOG_DONE) + count_event(&h, HUBC_WF_LOG_FAILED), 1);
  }
  assert_int_equal(failed, 2);
}

/* Persistence refusing a batch is a failed attempt of each enrollment in
 * it, recorded with its wait (W6). */
static void test_W6_persistence_again_on_a_batch_is_an_attempt_of_each(void **state) {
  (void)state;
  tu_clock clk;
  flaky *f = flaky_new();
  hubc_store *s = open_pro(&clk, &f->vt);
  hubc_id form = signup_form(s), wf, c[3];
  hubc_wf_action a = tu_act_status(1);
  assert_int_equal(create_wf(&wf, s, ADMIN, form, NULL, &a, 1), 0);
  assert_int_equal(hubc_workflow_activate(s, ADMIN, wf), 0);
  const char *emails[] = {"a@x.it", "b@x.it", "c@x.it"};
  for (int i = 0; i < 3; i++) assert_int_equal(submit(s, form, emails[i], &c[i]), 0);
  f->again = 1;
  assert_int_equal(hubc_store_tick(s), 0);
  for (hubc_id e = 1; e <= 3; e++) {
    hist h;
    history(&h, s, e);
    assert_int_equal(h.n, 2);
    assert_int_equal(h.e[1].event, HUBC_WF_LOG_FAILED);
    assert_int_equal(h.e[1].wait, 60);
    assert_int_equal(status_of(s, c[e - 1]), HUBC_NON_MARKETING);
  }
  clk.now += 60;
  assert_int_equal(hubc_store_tick(s), 0);
  for (int i = 0; i < 3; i++) assert_int_equal(status_of(s, c[i]), HUBC_MARKETING);
}

/* An enrollment of a paused workflow listed in a batch that persistence
 * refuses was not attempted: no failed attempt in its history (W6, W7). */
static void test_W6_W7_a_refused_batch_records_no_attempt_of_a_paused_enrollment(void **state) {
  (void)state;
  tu_clock clk;
  flaky *f = flaky_new();
  hubc_store *s = open_pro(&clk, &f->vt);
  hubc_id form = signup_form(s), other, paused, wf, c1, c2;
  hubc_wf_action later[] = {tu_act_delay(60), tu_act_status(1)}, now = tu_act_status(1);
  assert_int_equal(create_wf(&paused, s, ADMIN, form, NULL, later, 2), 0);
  assert_int_equal(hubc_workflow_activate(s, ADMIN, paused), 0);
  assert_int_equal(submit(s, form, "a@x.it", &c1), 0);
  assert_int_equal(hubc_store_tick(s), 0); /* enrollment 1 waits 60 s */
  assert_int_equal(hubc_workflow_deactivate(s, ADMIN, paused), 0);
  const char *props[] = {"city"};
  assert_int_equal(hubc_form_create(&other, s, ADMIN, "Other", props, NULL, NULL, 1), 0);
  assert_int_equal(hubc_form_set_marketing(s, ADMIN, other, 0), 0);
  assert_int_equal(create_wf(&wf, s, ADMIN, other, NULL, &now, 1), 0);
  assert_int_equal(hubc_workflow_activate(s, ADMIN, wf), 0);
  clk.now += 60; /* enrollment 1's timer fires in the next call, its workflow paused */
  assert_int_equal(submit(s, other, "b@x.it", &c2), 0);
  f->again = 1;
  assert_int_equal(hubc_store_tick(s), 0);
  assert_int_equal(f->contact_puts_refused, 1);
  hist h;
  history(&h, s, 2);
  assert_int_equal(count_event(&h, HUBC_WF_LOG_FAILED), 1); /* the batch was refused */
  history(&h, s, 1);
  assert_int_equal(count_event(&h, HUBC_WF_LOG_FAILED), 0);
  assert_int_equal(enrollment(s, 1).attempts, 0);
  assert_int_equal(hubc_workflow_activate(s, ADMIN, paused), 0);
  assert_int_equal(hubc_store_tick(s), 0);
  assert_int_equal(status_of(s, c1), HUBC_MARKETING);
}

/* Registrations are not stored: after a reopen a step naming an action not
 * registered again fails and is retried (not ended) until it is. */
static void test_W6_unregistered_host_action_is_retried_until_registered(void **state) {
  (void)state;
  tu_clock clk;
  tu_mem *m = gc_mem();
  hubc_store *s = open_pro(&clk, &m->vtable);
  host_log l = {0};
  assert_int_equal(hubc_workflow_register_action(s, "crm sync", 0, host_cb, &l), 0);
  hubc_id form = signup_form(s), wf, c;
  hubc_wf_action acts[] = {tu_act_delay(60), tu_act_host("crm sync", "p")};
  assert_int_equal(create_wf(&wf, s, ADMIN, form, NULL, acts, 2), 0);
  assert_int_equal(hubc_workflow_activate(s, ADMIN, wf), 0);
  assert_int_equal(submit(s, form, "anna@x.it", &c), 0);
  assert_int_equal(hubc_store_tick(s), 0);
  gc_release(s);
  s = open_sub(&clk, HUBC_SUBSCRIPTION_PROFESSIONAL, &m->vtable);
  clk.now += 60;
  assert_int_equal(hubc_store_tick(s), 0);
  hubc_enrollment e = enrollment(s, 1);
  assert_int_equal(e.state, HUBC_ENROLLMENT_ACTIVE);
  assert_int_equal(e.attempts, 1);
  hist h;
  history(&h, s, 1);
  assert_int_equal(h.e[h.n - 1].event, HUBC_WF_LOG_FAILED);
  assert_non_null(strstr(h.msg[h.n - 1], "not registered"));
  assert_int_equal(hubc_workflow_register_action(s, "crm sync", 0, host_cb, &l), 0);
  clk.now += 60;
  assert_int_equal(hubc_store_tick(s), 0);
  assert_int_equal(l.calls, 1);
  assert_int_equal(enrollment(s, 1).state, HUBC_ENROLLMENT_FINISHED);
}

static void test_W6_contact_deleted_ends_the_enrollment_with_the_reason(void **state) {
  (void)state;
  tu_clock clk;
  hubc_store *s = open_pro(&clk, NULL);
  hubc_id form = signup_form(s), wf, c;
  hubc_wf_action acts[] = {tu_act_delay(3600), tu_act_status(1)};
  assert_int_equal(create_wf(&wf, s, ADMIN, form, NULL, acts, 2), 0);
  assert_int_equal(hubc_workflow_activate(s, ADMIN, wf), 0);
  assert_int_equal(submit(s, form, "anna@x.it", &c), 0);
  assert_int_equal(hubc_store_tick(s), 0);
  assert_int_equal(hubc_contact_delete(s, ADMIN, c), 0);
  clk.now += 3600;
  assert_int_equal(hubc_store_tick(s), 0);
  hubc_enrollment e = enrollment(s, 1);
  assert_int_equal(e.state, HUBC_ENROLLMENT_ENDED);
  hist h;
  history(&h, s, 1);
  assert_int_equal(h.e[h.n - 1].event, HUBC_WF_LOG_ENDED);
  assert_string_equal(h.msg[h.n - 1], "contact deleted");
}

/* ---- W7 -------------------------------------------------------------------------------- */

static void test_W7_deactivate_stops_pending_and_reactivation_resumes(void **state) {
  (void)state;
  tu_clock clk;
  hubc_store *s = open_pro(&clk, NULL);
  hubc_id form = signup_form(s), wf, c;
  hubc_wf_action acts[] = {tu_act_delay(3600), tu_act_prop("jobtitle", "done")};
  assert_int_equal(create_wf(&wf, s, ADMIN, form, NULL, acts, 2), 0);
  assert_int_equal(hubc_workflow_activate(s, ADMIN, wf), 0);
  assert_int_equal(submit(s, form, "anna@x.it", &c), 0);
  assert_int_equal(hubc_store_tick(s), 0);
  assert_int_equal(hubc_workflow_deactivate(s, ADMIN, wf), 0);
  clk.now += 7200;
  assert_int_equal(hubc_store_tick(s), 0);
  assert_string_equal(prop_of(s, c, "jobtitle"), "(unset)");
  assert_int_equal(enrollment(s, 1).state, HUBC_ENROLLMENT_ACTIVE);
  /* editing an active workflow is refused; an inactive one may be edited */
  assert_int_equal(hubc_workflow_activate(s, ADMIN, wf), 0);
  assert_int_equal(hubc_store_tick(s), 0);
  assert_string_equal(prop_of(s, c, "jobtitle"), "done");
  hubc_workflow_def d;
  hubc_workflow_def_init(&d, HUBC_WORKFLOW_DEF_VERSION);
  d.name = "Renamed";
  char *before = gc_dump(s);
  assert_int_equal(hubc_workflow_update(s, ADMIN, wf, &d), HUBC_EINVAL);
  assert_non_null(strstr(hubc_error_last(), "deactivate"));
  assert_string_equal(gc_dump(s), before);
}

/* Regression (found by test_workflow_model): an enrollment whose timer had
 * fired was listed again when its workflow was deactivated and activated
 * before the tick; the second listing ran the step after a delay at once. */
static void test_W7_reactivation_does_not_run_a_delayed_step_early(void **state) {
  (void)state;
  tu_clock clk;
  hubc_store *s = open_pro(&clk, NULL);
  hubc_id form = signup_form(s), wf, c;
  hubc_wf_action acts[] = {tu_act_delay(60), tu_act_prop("jobtitle", "late")};
  assert_int_equal(create_wf(&wf, s, ADMIN, form, NULL, acts, 2), 0);
  assert_int_equal(hubc_workflow_activate(s, ADMIN, wf), 0);
  assert_int_equal(submit(s, form, "anna@x.it", &c), 0);
  assert_int_equal(hubc_workflow_deactivate(s, ADMIN, wf), 0); /* its call's tick makes the enrollment ready */
  assert_int_equal(hubc_workflow_activate(s, ADMIN, wf), 0);
  assert_int_equal(hubc_store_tick(s), 0);
  assert_string_equal(prop_of(s, c, "jobtitle"), "(unset)");
  assert_int_equal(enrollment(s, 1).step, 1);
  clk.now += 60;
  assert_int_equal(hubc_store_tick(s), 0);
  assert_string_equal(prop_of(s, c, "jobtitle"), "late");
}

/* W7 decision: editing an inactive workflow ends its unfinished
 * enrollments (their positions named the old actions); the new definition
 * is what later triggers run. */
static void test_W7_editing_an_inactive_workflow_ends_its_enrollments(void **state) {
  (void)state;
  tu_clock clk;
  hubc_store *s = open_pro(&clk, NULL);
  hubc_id form = signup_form(s), wf, c, c2;
  hubc_wf_action acts[] = {tu_act_delay(3600), tu_act_prop("jobtitle", "old")};
  assert_int_equal(create_wf(&wf, s, ADMIN, form, NULL, acts, 2), 0);
  assert_int_equal(hubc_workflow_activate(s, ADMIN, wf), 0);
  assert_int_equal(submit(s, form, "anna@x.it", &c), 0);
  assert_int_equal(hubc_store_tick(s), 0);
  assert_int_equal(hubc_workflow_deactivate(s, ADMIN, wf), 0);
  hubc_wf_action now = tu_act_prop("jobtitle", "new");
  const hubc_wf_action *ptrs[] = {&now};
  hubc_workflow_def d;
  hubc_workflow_def_init(&d, HUBC_WORKFLOW_DEF_VERSION);
  d.name = "Edited";
  d.trigger_form = form;
  d.actions = ptrs;
  d.n_actions = 1;
  assert_int_equal(hubc_workflow_update(s, ADMIN, wf, &d), 0);
  hubc_enrollment e = enrollment(s, 1);
  assert_int_equal(e.state, HUBC_ENROLLMENT_ENDED);
  hist h;
  history(&h, s, 1);
  assert_string_equal(h.msg[h.n - 1], "workflow edited");
  assert_int_equal(hubc_workflow_activate(s, ADMIN, wf), 0);
  clk.now += 3600;
  assert_int_equal(submit(s, form, "bob@x.it", &c2), 0);
  assert_int_equal(hubc_store_tick(s), 0);
  assert_string_equal(prop_of(s, c, "jobtitle"), "(unset)");
  assert_string_equal(prop_of(s, c2, "jobtitle"), "new");
  hubc_workflow *w;
  assert_int_equal(hubc_workflow_get(&w, s, wf), 0);
  assert_string_equal(hubc_workflow_name(w), "Edited");
  hubc_workflow_free(w);
}

/* An edit ends enrollments at positions past the new, shorter action list
 * (and keeps finished ones there): the store still reopens (R1, W7). */
static void test_W7_R1_store_reopens_after_a_workflow_was_shortened(void **state) {
  (void)state;
  tu_clock clk;
  tu_mem *m = gc_mem();
  hubc_store *s = open_pro(&clk, &m->vtable);
  hubc_id form = signup_form(s), wf, c;
  hubc_wf_action acts[] = {tu_act_prop("jobtitle", "one"), tu_act_prop("company", "two"), tu_act_delay(600),
                           tu_act_status(1)};
  assert_int_equal(create_wf(&wf, s, ADMIN, form, NULL, acts, 4), 0);
  assert_int_equal(hubc_workflow_activate(s, ADMIN, wf), 0);
  assert_int_equal(submit(s, form, "anna@x.it", &c), 0);
  assert_int_equal(hubc_store_tick(s), 0);
  assert_int_equal(enrollment(s, 1).step, 3);
  assert_int_equal(hubc_workflow_deactivate(s, ADMIN, wf), 0);
  hubc_wf_action one = tu_act_prop("jobtitle", "new");
  const hubc_wf_action *ptrs[] = {&one};
  hubc_workflow_def d;
  hubc_workflow_def_init(&d, HUBC_WORKFLOW_DEF_VERSION);
  d.name = "Short";
  d.trigger_form = form;
  d.actions = ptrs;
  d.n_actions = 1;
  assert_int_equal(hubc_workflow_update(s, ADMIN, wf, &d), 0);
  assert_int_equal(enrollment(s, 1).state, HUBC_ENROLLMENT_ENDED);
  char *want = gc_dump(s);
  gc_release(s);
  s = open_sub(&clk, HUBC_SUBSCRIPTION_PROFESSIONAL, &m->vtable);
  assert_string_equal(gc_dump(s), want);
}

static void test_W7_delete_ends_enrollments_and_keeps_history(void **state) {
  (void)state;
  tu_clock clk;
  hubc_store *s = open_pro(&clk, NULL);
  hubc_id form = signup_form(s), wf, c;
  hubc_wf_action acts[] = {tu_act_delay(3600), tu_act_status(1)};
  assert_int_equal(create_wf(&wf, s, ADMIN, form, NULL, acts, 2), 0);
  assert_int_equal(hubc_workflow_activate(s, ADMIN, wf), 0);
  assert_int_equal(submit(s, form, "anna@x.it", &c), 0);
  assert_int_equal(hubc_store_tick(s), 0);
  assert_int_equal(hubc_workflow_delete(s, ADMIN, wf), 0);
  clk.now += 3600;
  assert_int_equal(hubc_store_tick(s), 0);
  assert_int_equal(status_of(s, c), HUBC_NON_MARKETING);
  hubc_workflow *w;
  assert_int_equal(hubc_workflow_get(&w, s, wf), 0);
  assert_int_equal(hubc_workflow_is_deleted(w), 1);
  assert_int_equal(hubc_workflow_is_active(w), 0);
  hubc_workflow_free(w);
  assert_int_equal(enrollment(s, 1).state, HUBC_ENROLLMENT_ENDED);
  hist h;
  history(&h, s, 1);
  assert_int_equal(h.n, 3); /* enrolled, waiting, ended */
  assert_string_equal(h.msg[2], "workflow deleted");
  assert_int_equal(hubc_workflow_activate(s, ADMIN, wf), HUBC_ENOTFOUND);
}

/* ---- bad input ------------------------------------------------------------------------- */

static void test_W2_bad_definitions_are_refused_naming_the_action(void **state) {
  (void)state;
  tu_clock clk;
  hubc_store *s = open_pro(&clk, NULL);
  char *before = gc_dump(s);
  hubc_id id;
  assert_int_equal(create_wf(&id, s, ADMIN, 0, "city = 'Roma' AND", NULL, 0), HUBC_EINVAL);
  assert_non_null(strstr(hubc_error_last(), "trigger filter"));
  assert_non_null(strstr(hubc_error_last(), "17")); /* the position */
  struct {
    hubc_wf_action a;
    int code;
    const char *says;
  } bad[] = {
      {tu_act_host("nope", NULL), HUBC_ENOTFOUND, "action 1 (host action)"},
      {tu_act_delay(-5), HUBC_EINVAL, "action 1 (delay)"},
      {tu_act_delay((hubc_time)400 * 365 * 86400), HUBC_ELIMIT, "action 1 (delay)"},
      {tu_act_prop("hs_object_id", "5"), HUBC_EREADONLY, "action 1 (set property)"},
      {tu_act_prop("no_such", "5"), HUBC_ENOTFOUND, "action 1 (set property)"},
      {tu_act_prop("lifecyclestage", "astronaut"), HUBC_EINVAL, "action 1 (set property)"},
      {tu_act_status(2), HUBC_EINVAL, "action 1 (set marketing contact status)"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    hubc_wf_action acts[] = {tu_act_status(1), bad[i].a};
    int rc = create_wf(&id, s, ADMIN, 0, NULL, acts, 2);
    if (rc != bad[i].code) fail_msg("case %zu: %d (%s)", i, rc, hubc_error_last());
    if (!strstr(hubc_error_last(), bad[i].says)) fail_msg("case %zu: '%s' lacks '%s'", i, hubc_error_last(), bad[i].says);
  }
  assert_int_equal(create_wf(&id, s, ADMIN, 42, NULL, NULL, 0), HUBC_ENOTFOUND);
  assert_int_equal(hubc_workflow_create(&id, s, ADMIN, NULL), HUBC_EINVAL);
  assert_string_equal(gc_dump(s), before);
}

/* A workflow of 1,000 host actions (the most it may hold) runs them one
 * after another on a small thread stack: each action's result does not
 * nest a call for the next one (W3, R6: hosts call tick from their own
 * threads). */
static int count_cb(void *payload, const hubc_wf_call *call) {
  (void)call;
  ++*(int *)payload;
  return 0;
}

static void *tick_thread(void *p) {
  return (void *)(intptr_t)hubc_store_tick(p);
}

static void test_W3_a_thousand_host_actions_run_on_a_small_stack(void **state) {
  (void)state;
  tu_clock clk;
  hubc_store *s = open_pro(&clk, NULL);
  hubc_id form = signup_form(s), wf, c;
  int calls = 0;
  assert_int_equal(hubc_workflow_register_action(s, "ping", 0, count_cb, &calls), 0);
  enum { N = 1000 };
  static hubc_wf_action acts[N];
  static const hubc_wf_action *ptrs[N];
  for (size_t i = 0; i < N; i++) acts[i] = tu_act_host("ping", NULL), ptrs[i] = &acts[i];
  hubc_workflow_def d;
  hubc_workflow_def_init(&d, HUBC_WORKFLOW_DEF_VERSION);
  d.name = "Pings";
  d.trigger_form = form;
  d.actions = ptrs;
  d.n_actions = N;
  assert_int_equal(hubc_workflow_create(&wf, s, ADMIN, &d), 0);
  assert_int_equal(hubc_workflow_activate(s, ADMIN, wf), 0);
  assert_int_equal(submit(s, form, "anna@x.it", &c), 0);
  pthread_attr_t attr;
  pthread_t t;
  void *rc;
  assert_int_equal(pthread_attr_init(&attr), 0);
  assert_int_equal(pthread_attr_setstacksize(&attr, 256 * 1024), 0);
  assert_int_equal(pthread_create(&t, &attr, tick_thread, s), 0);
  assert_int_equal(pthread_join(t, &rc), 0);
  pthread_attr_destroy(&attr);
  assert_int_equal((intptr_t)rc, 0);
  assert_int_equal(calls, N);
  assert_int_equal(enrollment(s, 1).state, HUBC_ENROLLMENT_FINISHED);
}

/* A host that raised the clock bound (B2a) to its maximum may define a
 * delay of INT64_MAX seconds: its due time is clamped to year 9999, not
 * wrapped below now (which ran the next step at once). */
static void test_W3_B2a_longest_delay_waits_until_year_9999(void **state) {
  (void)state;
  tu_clock clk;
  clk.now = tu_time(2024, 3, 1, 10, 0, 0);
  hubc_store_options o;
  tu_options(&o, &clk, NULL);
  o.subscription = HUBC_SUBSCRIPTION_PROFESSIONAL;
  o.max_clock_jump = INT64_MAX;
  hubc_store *s = NULL;
  assert_int_equal(hubc_store_open(&s, &o), 0);
  gc_store(s);
  hubc_id form = signup_form(s), wf, c;
  hubc_wf_action acts[] = {tu_act_delay(INT64_MAX), tu_act_status(1)};
  assert_int_equal(create_wf(&wf, s, ADMIN, form, NULL, acts, 2), 0);
  assert_int_equal(hubc_workflow_activate(s, ADMIN, wf), 0);
  assert_int_equal(submit(s, form, "anna@x.it", &c), 0);
  assert_int_equal(hubc_store_tick(s), 0);
  assert_int_equal(status_of(s, c), HUBC_NON_MARKETING);
  hubc_enrollment e = enrollment(s, 1);
  assert_int_equal(e.state, HUBC_ENROLLMENT_ACTIVE);
  assert_int_equal(e.step, 1);
  assert_int_equal(e.due, tu_time(9999, 12, 31, 23, 59, 59));
}

/* ---- W2: static-list actions (S2) ----------------------------------------------------- */

static void test_W2_list_actions_add_and_remove_idempotently(void **state) {
  (void)state;
  tu_clock clk;
  hubc_store *s = open_pro(&clk, NULL);
  hubc_id form = signup_form(s), in_l, out_l, wf, c;
  assert_int_equal(hubc_list_create(&in_l, s, ADMIN, "Signed up", NULL), 0);
  assert_int_equal(hubc_list_create(&out_l, s, ADMIN, "Prospects", NULL), 0);
  hubc_id pre = tu_contact(s, ADMIN, "anna@x.it", "Anna");
  assert_int_equal(hubc_list_add(NULL, s, ADMIN, in_l, &pre, 1), 0); /* already a member: adding is no error */
  assert_int_equal(hubc_list_add(NULL, s, ADMIN, out_l, &pre, 1), 0);
  hubc_wf_action acts[] = {tu_act_list(HUBC_WF_LIST_ADD, in_l), tu_act_list(HUBC_WF_LIST_REMOVE, out_l),
                           tu_act_list(HUBC_WF_LIST_REMOVE, out_l)}; /* a non-member removed: no error */
  assert_int_equal(create_wf(&wf, s, ADMIN, form, NULL, acts, 3), 0);
  assert_int_equal(hubc_workflow_activate(s, ADMIN, wf), 0);
  assert_int_equal(submit(s, form, "anna@x.it", &c), 0);
  assert_int_equal(c, pre);
  assert_int_equal(submit(s, form, "bruno@x.it", &c), 0);
  assert_int_equal(hubc_store_tick(s), 0);
  for (hubc_id e = 1; e <= 2; e++) {
    assert_int_equal(enrollment(s, e).state, HUBC_ENROLLMENT_FINISHED);
    hist h;
    history(&h, s, e);
    assert_int_equal(count_event(&h, HUBC_WF_LOG_DONE), 3);
    assert_int_equal(count_event(&h, HUBC_WF_LOG_FAILED), 0);
  }
  assert_int_equal(in_list(s, in_l, pre), 1);
  assert_int_equal(in_list(s, in_l, c), 1);
  assert_int_equal(in_list(s, out_l, pre), 0);
  uint64_t n;
  assert_int_equal(hubc_list_count(&n, s, in_l), 0);
  assert_int_equal(n, 2);
  assert_int_equal(hubc_list_count(&n, s, out_l), 0);
  assert_int_equal(n, 0);
}

/* A step whose transaction fails (persistence says "again") leaves the list
 * as it was: the membership change is undone with the step (R2). */
static void test_W2_list_action_is_undone_with_a_failed_step(void **state) {
  (void)state;
  tu_clock clk;
  tu_mem *m = gc_mem();
  hubc_store *s = open_pro(&clk, &m->vtable);
  hubc_id form = signup_form(s), l, wf, c;
  assert_int_equal(hubc_list_create(&l, s, ADMIN, "Signed up", NULL), 0);
  hubc_wf_action acts[] = {tu_act_list(HUBC_WF_LIST_ADD, l)};
  assert_int_equal(create_wf(&wf, s, ADMIN, form, NULL, acts, 1), 0);
  assert_int_equal(hubc_workflow_activate(s, ADMIN, wf), 0);
  assert_int_equal(submit(s, form, "anna@x.it", &c), 0);
  m->fail_code = HUBC_EAGAIN;
  m->fail_at = m->calls + 2; /* the step's first put: after the list was changed */
  assert_int_equal(hubc_store_tick(s), 0);
  assert_int_equal(in_list(s, l, c), 0);
  assert_int_equal(enrollment(s, 1).step, 0);
  hist h;
  history(&h, s, 1);
  assert_int_equal(count_event(&h, HUBC_WF_LOG_FAILED), 1);
  assert_int_equal(h.e[h.n - 1].code, HUBC_EAGAIN);
  clk.now += 60;
  assert_int_equal(hubc_store_tick(s), 0);
  assert_int_equal(in_list(s, l, c), 1);
  assert_int_equal(enrollment(s, 1).state, HUBC_ENROLLMENT_FINISHED);
}

static void test_W2_list_actions_refuse_unknown_deleted_and_active_lists(void **state) {
  (void)state;
  tu_clock clk;
  hubc_store *s = open_pro(&clk, NULL);
  hubc_id gone, active, wf;
  assert_int_equal(hubc_list_create(&gone, s, ADMIN, "Gone", NULL), 0);
  assert_int_equal(hubc_list_delete(s, ADMIN, gone), 0);
  assert_int_equal(hubc_list_create(&active, s, ADMIN, "Romans", "city = 'Roma'"), 0);
  char *before = gc_dump(s);
  struct {
    hubc_wf_action a;
    int code;
    const char *says;
  } bad[] = {
      {tu_act_list(HUBC_WF_LIST_ADD, 99), HUBC_ENOTFOUND, "action 1 (add to static list): no list with id 99"},
      {tu_act_list(HUBC_WF_LIST_REMOVE, 0), HUBC_ENOTFOUND, "action 1 (remove from static list): no list with id 0"},
      {tu_act_list(HUBC_WF_LIST_ADD, gone), HUBC_ENOTFOUND,
       "action 1 (add to static list): list 1 ('Gone') was deleted"},
      {tu_act_list(HUBC_WF_LIST_REMOVE, active), HUBC_EINVAL,
       "action 1 (remove from static list): list 2 ('Romans') is active"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    hubc_wf_action acts[] = {tu_act_status(1), bad[i].a};
    int rc = create_wf(&wf, s, ADMIN, 0, NULL, acts, 2);
    if (rc != bad[i].code) fail_msg("case %zu: %d (%s)", i, rc, hubc_error_last());
    if (!strstr(hubc_error_last(), bad[i].says)) fail_msg("case %zu: '%s' lacks '%s'", i, hubc_error_last(), bad[i].says);
  }
  /* an update is checked the same way */
  hubc_wf_action ok[] = {tu_act_status(1)};
  assert_int_equal(create_wf(&wf, s, ADMIN, 0, NULL, ok, 1), 0);
  char *created = gc_dump(s);
  assert_string_not_equal(created, before);
  hubc_wf_action upd[] = {tu_act_list(HUBC_WF_LIST_ADD, active)};
  const hubc_wf_action *ptrs[] = {&upd[0]};
  hubc_workflow_def d;
  hubc_workflow_def_init(&d, HUBC_WORKFLOW_DEF_VERSION);
  d.name = "Welcome";
  d.actions = ptrs;
  d.n_actions = 1;
  assert_int_equal(hubc_workflow_update(s, ADMIN, wf, &d), HUBC_EINVAL);
  assert_non_null(strstr(hubc_error_last(), "action 0 (add to static list)"));
  assert_string_equal(gc_dump(s), created);
}

/* A version-1 action (built against the older header: no `list`) is still
 * accepted; its fields after `payload` are never read. */
static void test_W2_version_1_actions_stay_accepted(void **state) {
  (void)state;
  tu_clock clk;
  hubc_store *s = open_pro(&clk, NULL);
  struct {
    hubc_wf_action a;
  } v1; /* the whole current struct, so the bytes past a v1 one can be read */
  memset(&v1, 0xab, sizeof v1);
  assert_int_equal(hubc_wf_action_init(&v1.a, 1), 0);
  assert_int_equal(v1.a.version, 1);
  assert_int_equal(v1.a.list, (hubc_id)0xabababababababab); /* past a v1 struct: untouched */
  v1.a.type = HUBC_WF_SET_STATUS;
  v1.a.marketing = 1;
  hubc_id wf;
  assert_int_equal(create_wf(&wf, s, ADMIN, 0, NULL, &v1.a, 1), 0);
  hubc_wf_action bad = tu_act_list(HUBC_WF_LIST_ADD, 1);
  bad.version = 1; /* a v1 caller cannot name a list: read as list 0 */
  assert_int_equal(create_wf(&wf, s, ADMIN, 0, NULL, &bad, 1), HUBC_ENOTFOUND);
  assert_non_null(strstr(hubc_error_last(), "no list with id 0"));
}

/* A list deleted after the workflow was defined (lists refuse deletion
 * only for filters reading them; a workflow's actions are not a filter):
 * the step is a permanent failure, the enrollment ends with the reason. */
static void test_W2_list_deleted_later_ends_the_enrollment_with_the_reason(void **state) {
  (void)state;
  tu_clock clk;
  hubc_store *s = open_pro(&clk, NULL);
  hubc_id form = signup_form(s), l, wf, c;
  assert_int_equal(hubc_list_create(&l, s, ADMIN, "Signed up", NULL), 0);
  hubc_wf_action acts[] = {tu_act_delay(3600), tu_act_list(HUBC_WF_LIST_ADD, l), tu_act_status(1)};
  assert_int_equal(create_wf(&wf, s, ADMIN, form, NULL, acts, 3), 0);
  assert_int_equal(hubc_workflow_activate(s, ADMIN, wf), 0);
  assert_int_equal(submit(s, form, "anna@x.it", &c), 0);
  assert_int_equal(hubc_store_tick(s), 0);
  assert_int_equal(hubc_list_delete(s, ADMIN, l), 0);
  clk.now += 3600;
  assert_int_equal(hubc_store_tick(s), 0);
  hubc_enrollment e = enrollment(s, 1);
  assert_int_equal(e.state, HUBC_ENROLLMENT_ENDED);
  assert_int_equal(e.step, 1);
  hist h;
  history(&h, s, 1);
  assert_int_equal(count_event(&h, HUBC_WF_LOG_FAILED), 0); /* no retry: it cannot succeed */
  assert_int_equal(h.e[h.n - 1].event, HUBC_WF_LOG_ENDED);
  assert_int_equal(h.e[h.n - 1].code, HUBC_ENOTFOUND);
  assert_non_null(strstr(h.msg[h.n - 1], "list 1 ('Signed up') was deleted"));
  assert_int_equal(status_of(s, c), HUBC_NON_MARKETING); /* the later step did not run */
}

static void test_W2_R1_reopen_keeps_list_actions(void **state) {
  (void)state;
  tu_clock clk;
  tu_mem *m = gc_mem();
  hubc_store *s = open_pro(&clk, &m->vtable);
  hubc_id form = signup_form(s), a, b, wf, c;
  assert_int_equal(hubc_list_create(&a, s, ADMIN, "A", NULL), 0);
  assert_int_equal(hubc_list_create(&b, s, ADMIN, "B", NULL), 0);
  hubc_wf_action acts[] = {tu_act_list(HUBC_WF_LIST_ADD, b), tu_act_delay(600), tu_act_list(HUBC_WF_LIST_REMOVE, b),
                           tu_act_list(HUBC_WF_LIST_ADD, a)};
  assert_int_equal(create_wf(&wf, s, ADMIN, form, NULL, acts, 4), 0);
  assert_int_equal(hubc_workflow_activate(s, ADMIN, wf), 0);
  assert_int_equal(submit(s, form, "anna@x.it", &c), 0);
  assert_int_equal(hubc_store_tick(s), 0);
  assert_int_equal(in_list(s, b, c), 1);
  char *want = gc_dump(s);
  assert_non_null(strstr(want, "list-add:2,delay:600,list-remove:2,list-add:1"));
  gc_release(s);
  s = open_sub(&clk, HUBC_SUBSCRIPTION_PROFESSIONAL, &m->vtable);
  assert_string_equal(gc_dump(s), want);
  hubc_workflow *w;
  assert_int_equal(hubc_workflow_get(&w, s, wf), 0);
  hubc_workflow_def got;
  hubc_workflow_def_init(&got, HUBC_WORKFLOW_DEF_VERSION);
  assert_int_equal(hubc_workflow_definition(&got, w), 0);
  assert_int_equal(got.n_actions, 4);
  assert_int_equal(got.actions[2]->type, HUBC_WF_LIST_REMOVE);
  assert_int_equal(got.actions[2]->list, b);
  assert_int_equal(got.actions[3]->type, HUBC_WF_LIST_ADD);
  assert_int_equal(got.actions[3]->list, a);
  hubc_workflow_free(w);
  clk.now += 600;
  assert_int_equal(hubc_store_tick(s), 0);
  assert_int_equal(enrollment(s, 1).state, HUBC_ENROLLMENT_FINISHED);
  assert_int_equal(in_list(s, b, c), 0);
  assert_int_equal(in_list(s, a, c), 1);
  want = gc_dump(s); /* the members the steps changed are stored too */
  gc_release(s);
  s = open_sub(&clk, HUBC_SUBSCRIPTION_PROFESSIONAL, &m->vtable);
  assert_string_equal(gc_dump(s), want);
  assert_int_equal(in_list(s, a, c), 1);
}

/* R4, R6: the store closed on another thread while hubc_store_tick runs a
 * host action (outside any call, so the close does not wait for it): the
 * engine's next transaction is refused as closed, not a use after free. */
typedef struct gate {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int in_action, release;
} gate;

static int blocking_cb(void *payload, const hubc_wf_call *call) {
  (void)call;
  gate *g = payload;
  pthread_mutex_lock(&g->mu);
  g->in_action = 1;
  pthread_cond_broadcast(&g->cv);
  while (!g->release) pthread_cond_wait(&g->cv, &g->mu);
  pthread_mutex_unlock(&g->mu);
  return 0;
}

static void test_R4_R6_close_while_tick_runs_a_host_action(void **state) {
  (void)state;
  tu_clock clk;
  hubc_store *s = open_pro(&clk, NULL);
  hubc_id form = signup_form(s), wf, c;
  gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
  assert_int_equal(hubc_workflow_register_action(s, "slow", 0, blocking_cb, &g), 0);
  hubc_wf_action acts[] = {tu_act_host("slow", NULL), tu_act_status(1)};
  assert_int_equal(create_wf(&wf, s, ADMIN, form, NULL, acts, 2), 0);
  assert_int_equal(hubc_workflow_activate(s, ADMIN, wf), 0);
  assert_int_equal(submit(s, form, "anna@x.it", &c), 0);
  pthread_t t;
  void *rc;
  assert_int_equal(pthread_create(&t, NULL, tick_thread, s), 0);
  pthread_mutex_lock(&g.mu);
  while (!g.in_action) pthread_cond_wait(&g.cv, &g.mu);
  pthread_mutex_unlock(&g.mu);
  gc_release(s); /* hubc_store_close while the action runs */
  pthread_mutex_lock(&g.mu);
  g.release = 1;
  pthread_cond_broadcast(&g.cv);
  pthread_mutex_unlock(&g.mu);
  assert_int_equal(pthread_join(t, &rc), 0);
  assert_int_equal((intptr_t)rc, HUBC_EINVAL); /* the result could not be recorded: closed */
}

/* ---- persistence ------------------------------------------------------------------------ */

static void test_W3_R1_reopen_resumes_enrollments_with_their_timers(void **state) {
  (void)state;
  tu_clock clk;
  tu_mem *m = gc_mem();
  hubc_store *s = open_pro(&clk, &m->vtable);
  hubc_id form = signup_form(s), wf, c;
  hubc_wf_action acts[] = {tu_act_prop("jobtitle", "one"), tu_act_delay(600), tu_act_status(1)};
  hubc_workflow_def d;
  const hubc_wf_action *ptrs[] = {&acts[0], &acts[1], &acts[2]};
  hubc_workflow_def_init(&d, HUBC_WORKFLOW_DEF_VERSION);
  d.name = "Nurture";
  d.trigger_form = form;
  d.trigger_filter = "city = 'Milano'";
  d.actions = ptrs;
  d.n_actions = 3;
  assert_int_equal(hubc_workflow_create(&wf, s, ADMIN, &d), 0);
  assert_int_equal(hubc_workflow_activate(s, ADMIN, wf), 0);
  assert_int_equal(submit(s, form, "anna@x.it", &c), 0);
  assert_int_equal(hubc_store_tick(s), 0);
  assert_int_equal(enrollment(s, 1).step, 2);
  char *want = gc_dump(s);
  gc_release(s);
  s = open_sub(&clk, HUBC_SUBSCRIPTION_PROFESSIONAL, &m->vtable);
  assert_string_equal(gc_dump(s), want);
  clk.now += 599;
  assert_int_equal(hubc_store_tick(s), 0);
  assert_int_equal(status_of(s, c), HUBC_NON_MARKETING);
  clk.now += 1;
  assert_int_equal(hubc_store_tick(s), 0);
  assert_int_equal(status_of(s, c), HUBC_MARKETING);
  assert_int_equal(enrollment(s, 1).state, HUBC_ENROLLMENT_FINISHED);
  /* the stored filter trigger works after the reopen */
  hubc_id other = tu_contact(s, ADMIN, "o@x.it", "O");
  const char *n[] = {"city"}, *v[] = {"Milano"};
  assert_int_equal(hubc_contact_update(s, ADMIN, other, n, v, 1), 0);
  assert_int_equal(tu_enrollments(s, wf, other), 1);
  hubc_workflow *w;
  assert_int_equal(hubc_workflow_get(&w, s, wf), 0);
  hubc_workflow_def got;
  hubc_workflow_def_init(&got, HUBC_WORKFLOW_DEF_VERSION);
  assert_int_equal(hubc_workflow_definition(&got, w), 0);
  assert_string_equal(got.name, "Nurture");
  assert_string_equal(got.trigger_filter, "city = 'Milano'");
  assert_int_equal(got.n_actions, 3);
  assert_int_equal(got.actions[1]->type, HUBC_WF_DELAY);
  assert_int_equal(got.actions[1]->seconds, 600);
  assert_string_equal(got.actions[0]->property, "jobtitle");
  hubc_workflow_free(w);
}

static void test_R2_persistence_failure_at_every_callback_of_activation(void **state) {
  (void)state;
  tu_clock clk;
  tu_mem *m = gc_mem();
  hubc_store *s = open_pro(&clk, &m->vtable);
  for (int i = 0; i < 3; i++) tu_contact(s, ADMIN, i == 0 ? "a@x.it" : i == 1 ? "b@x.it" : "c@x.it", "Roma");
  hubc_wf_action a = tu_act_status(1);
  const hubc_wf_action *ptrs[] = {&a};
  hubc_workflow_def d;
  hubc_workflow_def_init(&d, HUBC_WORKFLOW_DEF_VERSION);
  d.name = "All";
  d.trigger_filter = "firstname = 'Roma'";
  d.enroll_existing = 1;
  d.actions = ptrs;
  d.n_actions = 1;
  hubc_id wf;
  assert_int_equal(hubc_workflow_create(&wf, s, ADMIN, &d), 0);
  char *before = gc_dump(s);
  long k = 1;
  int rc;
  for (;; k++) {
    m->fail_at = m->calls + k;
    m->fail_code = k % 2 ? -1 : HUBC_EAGAIN;
    rc = hubc_workflow_activate(s, ADMIN, wf);
    if (rc == 0) break;
    assert_int_equal(rc, k % 2 ? HUBC_EPERSIST : HUBC_EAGAIN);
    assert_string_equal(gc_dump(s), before);
  }
  m->fail_at = 0;
  assert_int_equal(tu_enrollments(s, wf, 0), 3);
  assert_int_equal(hubc_store_tick(s), 0);
  char *after = gc_dump(s);
  hubc_store *again = open_sub(&clk, HUBC_SUBSCRIPTION_PROFESSIONAL, &m->vtable);
  assert_string_equal(gc_dump(again), after);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_W1_starter_refuses_create_and_activate, gc_teardown),
      cmocka_unit_test_teardown(test_W2_W4_form_submission_enrolls_and_sets_marketing_with_workflow_reason, gc_teardown),
      cmocka_unit_test_teardown(test_W4_non_marketing_action_is_M4_pending_until_update, gc_teardown),
      cmocka_unit_test_teardown(test_W4_status_action_needs_P2_other_edits_need_edit_workflows, gc_teardown),
      cmocka_unit_test_teardown(test_W2_filter_trigger_is_an_edge_and_enroll_existing_at_activation, gc_teardown),
      cmocka_unit_test_teardown(test_W2_reenroll_switch_allows_a_new_enrollment_after_the_last_ended, gc_teardown),
      cmocka_unit_test_teardown(test_W3_actions_run_in_order_and_delays_follow_the_store_clock, gc_teardown),
      cmocka_unit_test_teardown(test_W5_marketing_host_action_skips_non_marketing_contacts, gc_teardown),
      cmocka_unit_test_teardown(test_W6_persistence_again_three_times_then_applied_once_waits_1_2_4_min, gc_teardown),
      cmocka_unit_test_teardown(test_W6_host_failures_retry_doubling_capped_and_reentry_is_busy, gc_teardown),
      cmocka_unit_test_teardown(test_W6_retry_waits_are_configurable, gc_teardown),
      cmocka_unit_test_teardown(test_W6_hard_cap_is_retried_until_room, gc_teardown),
      cmocka_unit_test_teardown(test_W6_hard_cap_applies_what_fits_of_a_batch, gc_teardown),
      cmocka_unit_test_teardown(test_W6_persistence_again_on_a_batch_is_an_attempt_of_each, gc_teardown),
      cmocka_unit_test_teardown(test_W6_W7_a_refused_batch_records_no_attempt_of_a_paused_enrollment, gc_teardown),
      cmocka_unit_test_teardown(test_W6_unregistered_host_action_is_retried_until_registered, gc_teardown),
      cmocka_unit_test_teardown(test_W6_contact_deleted_ends_the_enrollment_with_the_reason, gc_teardown),
      cmocka_unit_test_teardown(test_W7_deactivate_stops_pending_and_reactivation_resumes, gc_teardown),
      cmocka_unit_test_teardown(test_W7_reactivation_does_not_run_a_delayed_step_early, gc_teardown),
      cmocka_unit_test_teardown(test_W7_editing_an_inactive_workflow_ends_its_enrollments, gc_teardown),
      cmocka_unit_test_teardown(test_W7_R1_store_reopens_after_a_workflow_was_shortened, gc_teardown),
      cmocka_unit_test_teardown(test_W7_delete_ends_enrollments_and_keeps_history, gc_teardown),
      cmocka_unit_test_teardown(test_W2_bad_definitions_are_refused_naming_the_action, gc_teardown),
      cmocka_unit_test_teardown(test_W3_a_thousand_host_actions_run_on_a_small_stack, gc_teardown),
      cmocka_unit_test_teardown(test_W3_B2a_longest_delay_waits_until_year_9999, gc_teardown),
      cmocka_unit_test_teardown(test_W2_list_actions_add_and_remove_idempotently, gc_teardown),
      cmocka_unit_test_teardown(test_W2_list_action_is_undone_with_a_failed_step, gc_teardown),
      cmocka_unit_test_teardown(test_W2_list_actions_refuse_unknown_deleted_and_active_lists, gc_teardown),
      cmocka_unit_test_teardown(test_W2_version_1_actions_stay_accepted, gc_teardown),
      cmocka_unit_test_teardown(test_W2_list_deleted_later_ends_the_enrollment_with_the_reason, gc_teardown),
      cmocka_unit_test_teardown(test_W2_R1_reopen_keeps_list_actions, gc_teardown),
      cmocka_unit_test_teardown(test_R4_R6_close_while_tick_runs_a_host_action, gc_teardown),
      cmocka_unit_test_teardown(test_W3_R1_reopen_resumes_enrollments_with_their_timers, gc_teardown),
      cmocka_unit_test_teardown(test_R2_persistence_failure_at_every_callback_of_activation, gc_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
