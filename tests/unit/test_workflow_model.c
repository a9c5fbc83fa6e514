/* W2, W3, W7 against a reference model: random workflows (form triggers,
 * property, status and delay actions), submissions, contact deletions,
 * activations and deactivations, and clock steps with ticks. After every
 * operation the enrollments (state, step) and after every tick the
 * contacts' properties and statuses agree with the model.
 *
 * Each workflow writes its own property, and only workflow 0 sets
 * statuses, so the order the engine picks among due enrollments of one
 * tick does not change the outcome.
 *
 * HUBC_MODEL_SEED=<n> replays a run (the seed is printed). */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "hubcontacts.h"
#include "testutil.h"

#define N_WF 3
#define N_FORMS 2
#define N_CONTACTS 12
#define MAX_ACTS 5
#define OPS 1500

static const char *const wf_prop[N_WF] = {"jobtitle", "city", "company"};

static uint64_t rng;
static uint32_t rnd(uint32_t n) {
  rng = rng * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)(rng >> 33) % n;
}

typedef struct mact {
  int type, marketing;
  hubc_time secs;
  char value[16];
} mact;

typedef struct mwf {
  hubc_id id, form;
  int active, n;
  mact a[MAX_ACTS];
} mwf;

typedef struct menr {
  int used, state; /* HUBC_ENROLLMENT_* */
  int step;
  hubc_time due;
  hubc_id id;
} menr;

typedef struct mcontact {
  int exists, status;
  hubc_id id;
  char email[24];
  char prop[N_WF][16]; /* "" unset */
} mcontact;

typedef struct model {
  mwf wf[N_WF];
  mcontact c[N_CONTACTS];
  menr e[N_WF][N_CONTACTS];
  hubc_id forms[N_FORMS];
  hubc_id next_enr;
} model;

/* One enrollment's due steps at time now (the engine's semantics). */
static void run_enrollment(model *m, int w, int k, hubc_time now) {
  menr *e = &m->e[w][k];
  mwf *f = &m->wf[w];
  mcontact *c = &m->c[k];
  while (e->used && e->state == HUBC_ENROLLMENT_ACTIVE && f->active && e->due <= now) {
    if (!c->exists) {
      e->state = HUBC_ENROLLMENT_ENDED;
      return;
    }
    if (e->step >= f->n) {
      e->state = HUBC_ENROLLMENT_FINISHED;
      return;
    }
    const mact *a = &f->a[e->step];
    if (a->type == HUBC_WF_DELAY) {
      e->step++;
      e->due = now + a->secs;
      return;
    }
    if (a->type == HUBC_WF_SET_PROPERTY) snprintf(c->prop[w], sizeof c->prop[w], "%s", a->value);
    if (a->type == HUBC_WF_SET_STATUS) {
      if (a->marketing) c->status = HUBC_MARKETING;
      else if (c->status == HUBC_MARKETING) c->status = HUBC_MARKETING_UNTIL_UPDATE;
    }
    e->step++;
  }
}

static void model_tick(model *m, hubc_time now) {
  for (int w = 0; w < N_WF; w++)
    for (int k = 0; k < N_CONTACTS; k++) run_enrollment(m, w, k, now);
}

static void check(hubc_store *s, const model *m, int contacts_too, int op) {
  for (int w = 0; w < N_WF; w++)
    for (int k = 0; k < N_CONTACTS; k++) {
      const menr *e = &m->e[w][k];
      if (!e->used) continue;
      hubc_enrollment got;
      memset(&got, 0, sizeof got);
      got.version = HUBC_ENROLLMENT_VERSION;
      assert_int_equal(hubc_enrollment_get(&got, s, e->id), 0);
      /* an ACTIVE enrollment of a deleted contact ends when its step comes */
      if (got.state != e->state || (e->state == HUBC_ENROLLMENT_ACTIVE && (int)got.step != e->step))
        fail_msg("op %d: workflow %d contact %d: state %d step %zu, model %d step %d", op, w, k, got.state, got.step,
                 e->state, e->step);
      assert_int_equal(got.workflow, m->wf[w].id);
      assert_int_equal(got.contact, m->c[k].id);
    }
  if (!contacts_too) return;
  for (int k = 0; k < N_CONTACTS; k++) {
    const mcontact *c = &m->c[k];
    if (!c->exists) continue;
    hubc_contact *ct;
    assert_int_equal(hubc_contact_get(&ct, s, c->id), 0);
    if (hubc_contact_status(ct) != c->status)
      fail_msg("op %d: contact %d: status %d, model %d", op, k, hubc_contact_status(ct), c->status);
    for (int w = 0; w < N_WF; w++) {
      const char *v = hubc_contact_prop(ct, wf_prop[w]);
      if (strcmp(v ? v : "", c->prop[w]) != 0)
        fail_msg("op %d: contact %d %s = '%s', model '%s'", op, k, wf_prop[w], v ? v : "", c->prop[w]);
    }
    hubc_contact_free(ct);
  }
}

static void W2_W3_W7_random_operations_match_a_model(void **state) {
  (void)state;
  const char *env = getenv("HUBC_MODEL_SEED");
  uint64_t seed = env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL);
  rng = seed;
  fprintf(stderr, "# workflow model seed %" PRIu64 " (HUBC_MODEL_SEED to replay)\n", seed);
  tu_clock clk = {tu_time(2024, 3, 1, 10, 0, 0)};
  hubc_store_options o;
  hubc_store_options_init(&o, HUBC_STORE_OPTIONS_VERSION);
  o.clock = tu_clock_fn;
  o.clock_payload = &clk;
  o.admin_email = "admin@example.com";
  o.subscription = HUBC_SUBSCRIPTION_ENTERPRISE;
  tu_mem *mem = gc_mem();
  o.persist = &mem->vtable;
  hubc_store *s;
  assert_int_equal(hubc_store_open(&s, &o), 0);
  gc_store(s);
  model *m = gc_malloc(calloc(1, sizeof *m));
  for (int f = 0; f < N_FORMS; f++) {
    assert_int_equal(hubc_form_create(&m->forms[f], s, 1, f ? "B" : "A", NULL, NULL, NULL, 0), 0);
    assert_int_equal(hubc_form_set_marketing(s, 1, m->forms[f], 0), 0);
  }
  for (int w = 0; w < N_WF; w++) {
    mwf *f = &m->wf[w];
    f->form = m->forms[rnd(N_FORMS)];
    f->n = 1 + (int)rnd(MAX_ACTS);
    hubc_wf_action a[MAX_ACTS];
    const hubc_wf_action *p[MAX_ACTS];
    for (int i = 0; i < f->n; i++) {
      hubc_wf_action_init(&a[i], HUBC_WF_ACTION_VERSION);
      p[i] = &a[i];
      int r = (int)rnd(w == 0 ? 3 : 2);
      mact *x = &f->a[i];
      x->type = r == 0 ? HUBC_WF_SET_PROPERTY : r == 1 ? HUBC_WF_DELAY : HUBC_WF_SET_STATUS;
      a[i].type = x->type;
      if (x->type == HUBC_WF_SET_PROPERTY) {
        snprintf(x->value, sizeof x->value, "w%ds%d", w, i);
        a[i].property = wf_prop[w];
        a[i].value = x->value;
      } else if (x->type == HUBC_WF_DELAY) {
        x->secs = 60 * (1 + rnd(10));
        a[i].seconds = x->secs;
      } else {
        x->marketing = (int)rnd(2);
        a[i].marketing = x->marketing;
      }
    }
    hubc_workflow_def d;
    hubc_workflow_def_init(&d, HUBC_WORKFLOW_DEF_VERSION);
    d.name = "Random";
    d.trigger_form = f->form;
    d.actions = p;
    d.n_actions = (size_t)f->n;
    assert_int_equal(hubc_workflow_create(&f->id, s, 1, &d), 0);
  }
  for (int k = 0; k < N_CONTACTS; k++) snprintf(m->c[k].email, sizeof m->c[k].email, "c%d@x.it", k);
  for (int op = 0; op < OPS; op++) {
    int r = (int)rnd(100);
    if (r < 35) { /* a submission */
      int k = (int)rnd(N_CONTACTS), fi = (int)rnd(N_FORMS);
      mcontact *c = &m->c[k];
      if (!c->exists) { /* deleted contacts come back as new ones (new id) */
        memset(c->prop, 0, sizeof c->prop);
        c->status = HUBC_NON_MARKETING;
        for (int w = 0; w < N_WF; w++) m->e[w][k].used = 0;
      }
      const char *n[] = {"email"}, *v[] = {c->email};
      hubc_id id;
      assert_int_equal(hubc_form_submit(&id, NULL, s, m->forms[fi], n, v, 1), 0);
      if (c->exists) assert_int_equal(id, c->id);
      c->exists = 1;
      c->id = id;
      for (int w = 0; w < N_WF; w++) {
        menr *e = &m->e[w][k];
        if (!m->wf[w].active || m->wf[w].form != m->forms[fi] || e->used) continue; /* re-enrollment off */
        *e = (menr){1, HUBC_ENROLLMENT_ACTIVE, 0, clk.now, ++m->next_enr};
      }
    } else if (r < 45) { /* delete a contact */
      int k = (int)rnd(N_CONTACTS);
      if (!m->c[k].exists) continue;
      assert_int_equal(hubc_contact_delete(s, 1, m->c[k].id), 0);
      m->c[k].exists = 0;
    } else if (r < 55) { /* activate or deactivate (W7) */
      int w = (int)rnd(N_WF);
      mwf *f = &m->wf[w];
      f->active = !f->active;
      assert_int_equal(f->active ? hubc_workflow_activate(s, 1, f->id) : hubc_workflow_deactivate(s, 1, f->id), 0);
    } else if (r < 60) { /* a manual status change between ticks */
      int k = (int)rnd(N_CONTACTS);
      mcontact *c = &m->c[k];
      if (!c->exists) continue;
      assert_int_equal(hubc_contact_set_marketing(s, 1, c->id, HUBC_SOURCE_MANUAL, 0), 0);
      c->status = HUBC_MARKETING;
    } else { /* the clock moves; a tick */
      clk.now += 30 * (hubc_time)rnd(20);
      assert_int_equal(hubc_store_tick(s), 0);
      model_tick(m, clk.now);
      check(s, m, 1, op);
      continue;
    }
    check(s, m, 0, op);
  }
  /* everything survives a reopen, and the engine goes on from there */
  char *before = gc_dump(s);
  hubc_store *again;
  assert_int_equal(hubc_store_open(&again, &o), 0);
  gc_store(again);
  assert_string_equal(gc_dump(again), before);
  clk.now += 86400;
  for (int w = 0; w < N_WF; w++)
    if (!m->wf[w].active) {
      assert_int_equal(hubc_workflow_activate(again, 1, m->wf[w].id), 0);
      m->wf[w].active = 1;
    }
  for (int i = 0; i < 2 * MAX_ACTS; i++) { /* delays up to 10 min each */
    assert_int_equal(hubc_store_tick(again), 0);
    model_tick(m, clk.now);
    clk.now += 600;
  }
  check(again, m, 1, OPS);
  int finished = 0;
  for (int w = 0; w < N_WF; w++)
    for (int k = 0; k < N_CONTACTS; k++) finished += m->e[w][k].used && m->e[w][k].state == HUBC_ENROLLMENT_FINISHED;
  fprintf(stderr, "# %" PRId64 " enrollments, %d of the last ones per contact finished\n", m->next_enr, finished);
  assert_true(m->next_enr > 10);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(W2_W3_W7_random_operations_match_a_model, gc_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
