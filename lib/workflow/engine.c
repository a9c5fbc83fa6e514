/* The workflow engine (W2–W7): enrollments, their history, triggers and
 * the steps run on hubc_store_tick; the ENROLLMENT and WORKFLOW_LOG record
 * kinds.
 *
 * An enrollment waits for its next step on a scheduler timer (ENROLLMENT,
 * id). A timer that fires (in whatever call's tick) only moves the
 * enrollment to the ready list: the steps run in hubc_store_tick, each in
 * its own transaction, so one failing step never fails another call and a
 * failed attempt can be recorded (W6). A step's effect, the enrollment's
 * new position and its history entry commit together: a step is applied
 * once, also across a crash. Host actions run with no lock held and their
 * result is applied in a transaction afterwards. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contact/changeset.h"
#include "persist/codec.h"
#include "query/lists.h"
#include "query/query.h"
#include "query/watch.h"
#include "store/dump.h"
#include "store/store.h"
#include "util/text.h"
#include "workflow/engine.h"

#define KE HUBC_REC_ENROLLMENT
#define KL HUBC_REC_WORKFLOW_LOG
#define MAX_MSG 400
#define RUN_BUDGET (1u << 24) /* steps per hubc_store_tick: workflows enrolling each other in a loop cannot hold it forever */

_Static_assert(sizeof(hubc__enr) <= HUBC__UNDO_BYTES, "an enrollment fits an undo entry");

static hubc__enr *enr_at(hubc_store *s, uint32_t id) {
  return id >= 1 && id <= s->workflows.enr_n ? &s->workflows.enr[id - 1] : NULL;
}

/* W1: on a STARTER store (reopened on it) active workflows keep their
 * state but do not run: no enrollment, no step; they go on when the store
 * is opened on PROFESSIONAL or ENTERPRISE again. */
static int starter(const hubc_store *s) { return s->billing.subscription == HUBC_SUBSCRIPTION_STARTER; }

/* ---- (workflow, contact) -> newest enrollment ------------------------------------- */

static uint64_t key_of(uint32_t wf, uint32_t contact) { return (uint64_t)wf << 32 | contact; }

static size_t home(uint64_t k, size_t mask) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  return (size_t)k & mask;
}

static size_t slot_of(const hubc__workflows *a, uint64_t k) {
  size_t i = home(k, a->index_mask);
  while (a->index[i] && a->index[i] != k) i = (i + 1) & a->index_mask;
  return i;
}

static uint32_t newest(const hubc__workflows *a, uint32_t wf, uint32_t contact) {
  if (!a->index) return 0;
  size_t i = slot_of(a, key_of(wf, contact));
  return a->index[i] ? a->index_val[i] : 0;
}

static int index_reserve(hubc_store *s, size_t more) {
  hubc__workflows *a = &s->workflows;
  size_t cap = a->index ? a->index_mask + 1 : 0;
  if ((a->index_n + more) * 2 <= cap) return 0;
  size_t ncap = cap ? cap : 64;
  while ((a->index_n + more) * 2 > ncap) ncap *= 2;
  uint64_t *k = hubc__calloc(s->base, ncap * sizeof *k);
  uint32_t *v = hubc__calloc(s->base, ncap * sizeof *v);
  if (!k || !v) {
    hubc__free(s->base, k, ncap * sizeof *k);
    hubc__free(s->base, v, ncap * sizeof *v);
    return hubc__err(HUBC_ENOMEM, "out of memory growing the enrollment index");
  }
  uint64_t *ok = a->index;
  uint32_t *ov = a->index_val;
  a->index = k;
  a->index_val = v;
  a->index_mask = ncap - 1;
  for (size_t i = 0; i < cap; i++)
    if (ok[i]) {
      size_t j = slot_of(a, ok[i]);
      a->index[j] = ok[i];
      a->index_val[j] = ov[i];
    }
  hubc__free(s->base, ok, cap * sizeof *ok);
  hubc__free(s->base, ov, cap * sizeof *ov);
  return 0;
}

static void index_set(hubc__workflows *a, uint64_t k, uint32_t val) {
  size_t i = slot_of(a, k);
  if (!a->index[i]) a->index_n++;
  a->index[i] = k;
  a->index_val[i] = val;
}

static void index_remove(hubc__workflows *a, uint64_t k) {
  size_t mask = a->index_mask, i = slot_of(a, k);
  if (!a->index[i]) return;
  for (size_t j = (i + 1) & mask; a->index[j]; j = (j + 1) & mask) { /* backward shift */
    size_t h = home(a->index[j], mask);
    if (((j - h) & mask) >= ((j - i) & mask)) {
      a->index[i] = a->index[j];
      a->index_val[i] = a->index_val[j];
      i = j;
    }
  }
  a->index[i] = 0;
  a->index_n--;
}

/* ---- history ---------------------------------------------------------------------- */

typedef struct logent {
  int event;
  uint32_t step, attempt;
  int code;
  hubc_time wait, until;
  const char *msg;
} logent;

/* Room for n more log entries, enrollments and their undo/dirty marks. */
static int reserve(hubc_store *s, size_t n) {
  hubc__workflows *a = &s->workflows;
  if (hubc__grow(s->base, (void **)&a->log, &a->log_cap, a->log_n + n, sizeof *a->log) ||
      hubc__grow(s->base, (void **)&a->enr, &a->enr_cap, a->enr_n + n, sizeof *a->enr) || hubc__txn_reserve(s, 2 * n))
    return hubc__err(HUBC_ENOMEM, "out of memory running workflows");
  if (a->log_n + n > 0xffffffffu || a->enr_n + n > 0xffffffffu)
    return hubc__err(HUBC_ELIMIT, "workflow history is full (2^32 entries)");
  return 0;
}

/* Appends to enrollment e's history (reserved) and links it. */
static int log_add(hubc_store *s, uint32_t eid, hubc__enr *e, const logent *le) {
  hubc__workflows *a = &s->workflows;
  const char *m = le->msg ? le->msg : "";
  size_t ml = strnlen(m, MAX_MSG);
  hubc__wlog *l = &a->log[a->log_n];
  memset(l, 0, sizeof *l);
  l->msg = ml ? hubc__pool_strdup(s->base, m, ml) : ""; /* most entries have none: no pool string each */
  if (!l->msg) return hubc__err(HUBC_ENOMEM, "out of memory logging a workflow step");
  l->time = s->txn.now;
  l->wait = le->wait;
  l->until = le->until;
  l->enr = eid;
  l->prev = e->log;
  l->step = le->step;
  l->attempt = le->attempt;
  l->code = (int16_t)le->code;
  l->event = (uint8_t)le->event;
  a->log_n++; /* undone by restoring log_n */
  e->log = (uint32_t)a->log_n;
  hubc__txn_dirty(s, KL, (int64_t)a->log_n);
  return 0;
}

/* Replaces enrollment eid by *e (undo: the old one). Reserved. */
static void enr_put(hubc_store *s, uint32_t eid, const hubc__enr *e) {
  hubc__txn_push(s, KE, eid, &s->workflows.enr[eid - 1], sizeof *e);
  s->workflows.enr[eid - 1] = *e;
  hubc__txn_dirty(s, KE, eid);
}

/* Changes enrollment eid with one history entry. */
static int enr_log(hubc_store *s, uint32_t eid, hubc__enr *e, const logent *le) {
  int rc = reserve(s, 1);
  if (!rc) rc = log_add(s, eid, e, le);
  if (!rc) enr_put(s, eid, e);
  return rc;
}

static int end_enr(hubc_store *s, uint32_t eid, int code, const char *why) {
  hubc__enr e = s->workflows.enr[eid - 1];
  logent le = {HUBC_WF_LOG_ENDED, e.step, 0, code, 0, 0, why};
  e.state = HUBC_ENROLLMENT_ENDED;
  int rc = enr_log(s, eid, &e, &le);
  if (!rc && hubc__sched_cancel(s, KE, eid) < 0) rc = HUBC_ENOMEM;
  return rc;
}

int hubc__enr_end_all(hubc_store *s, uint32_t wf, const char *why) {
  hubc__workflows *a = &s->workflows;
  for (size_t i = 0; i < a->enr_n; i++) {
    if (a->enr[i].wf != wf || a->enr[i].state != HUBC_ENROLLMENT_ACTIVE) continue;
    int rc = end_enr(s, (uint32_t)i + 1, 0, why);
    if (rc) return rc;
  }
  return 0;
}

/* ---- enrolling (W2) ------------------------------------------------------------- */

/* Enrolls contact in workflow wf unless re-enrollment forbids it; the
 * first step is due at once: the enrollment goes straight to the ready
 * list (no timer to set and pop; undone with the transaction like a fire). */
static int enroll(hubc_store *s, uint32_t wf, uint32_t contact, const char *why) {
  hubc__workflows *a = &s->workflows;
  const hubc__wf *w = &a->v[wf - 1];
  uint32_t prev = newest(a, wf, contact);
  if (prev && (!w->reenroll || a->enr[prev - 1].state == HUBC_ENROLLMENT_ACTIVE)) return 0;
  int rc = reserve(s, 1);
  if (!rc) rc = index_reserve(s, 1);
  if (!rc && hubc__grow(s->base, (void **)&a->ready, &a->ready_cap, a->ready_n + 1, sizeof *a->ready))
    rc = hubc__err(HUBC_ENOMEM, "out of memory queueing workflow steps");
  if (rc) return rc;
  uint32_t eid = (uint32_t)a->enr_n + 1;
  hubc__enr e = {s->txn.now, s->txn.now, wf, contact, 0, 0, 0, prev, HUBC_ENROLLMENT_ACTIVE};
  logent le = {HUBC_WF_LOG_ENROLLED, 0, 0, 0, 0, 0, why};
  if ((rc = log_add(s, eid, &e, &le))) return rc;
  a->ready[a->ready_n++] = eid;
  a->enr[eid - 1] = e;
  a->enr_n++; /* undone by restoring enr_n (and the index, txn_rollback) */
  index_set(a, key_of(wf, contact), eid);
  hubc__txn_dirty(s, KE, eid);
  return 0;
}

static int wform_cmp(const void *x, const void *y) {
  const hubc__wform *a = x, *b = y;
  if (a->form != b->form) return a->form < b->form ? -1 : 1;
  return a->wf < b->wf ? -1 : a->wf > b->wf;
}

/* The active workflows with a trigger form, sorted by (form, workflow):
 * rebuilt after workflows changed, so a submission costs the workflows of
 * its form. */
static int forms_index(hubc_store *s) {
  hubc__workflows *a = &s->workflows;
  if (a->forms_fresh) return 0;
  size_t n = 0;
  for (size_t i = 0; i < a->n; i++)
    if (a->v[i].name && a->v[i].active) n += (size_t)(a->v[i].form != 0) + (size_t)(a->v[i].ext_form != 0);
  if (hubc__grow(s->base, (void **)&a->forms, &a->forms_cap, n, sizeof *a->forms))
    return hubc__err(HUBC_ENOMEM, "out of memory indexing workflow triggers");
  a->forms_n = 0;
  for (size_t i = 0; i < a->n; i++) {
    const hubc__wf *w = &a->v[i];
    if (!w->name || !w->active) continue;
    if (w->form) a->forms[a->forms_n++] = (hubc__wform){w->form, (uint32_t)i + 1};
    if (w->ext_form) a->forms[a->forms_n++] = (hubc__wform){-w->ext_form, (uint32_t)i + 1};
  }
  if (a->forms_n > 1) qsort(a->forms, a->forms_n, sizeof *a->forms, wform_cmp);
  a->forms_fresh = 1;
  return 0;
}

int hubc__engine_submission(hubc_store *s, hubc_id form_id, int external, hubc_id contact) {
  hubc__workflows *a = &s->workflows;
  if (starter(s)) return 0;
  int rc = forms_index(s);
  if (rc) return rc;
  int64_t form = external ? -form_id : form_id;
  size_t lo = 0, hi = a->forms_n;
  while (lo < hi) { /* the first entry of the form */
    size_t mid = lo + (hi - lo) / 2;
    if (a->forms[mid].form < form) lo = mid + 1;
    else hi = mid;
  }
  char why[48];
  snprintf(why, sizeof why, "%sform %lld", external ? "external " : "", (long long)form_id);
  for (size_t i = lo; i < a->forms_n && a->forms[i].form == form && !rc; i++)
    rc = enroll(s, a->forms[i].wf, (uint32_t)contact, why);
  return rc;
}

int hubc__engine_activated(hubc_store *s, uint32_t wf) {
  hubc__workflows *a = &s->workflows;
  for (size_t i = 0; i < a->enr_n; i++) { /* W7: paused enrollments resume */
    const hubc__enr *e = &a->enr[i];
    if (e->wf != wf || e->state != HUBC_ENROLLMENT_ACTIVE) continue;
    int rc = hubc__sched_set(s, KE, (int64_t)i + 1, e->due, 0);
    if (rc) return rc;
  }
  const hubc__wf *w = &a->v[wf - 1];
  if (!w->enroll_existing || !w->watch) return 0;
  /* the watch's members are the contacts meeting the filter now */
  for (int64_t id = hubc__watch_next(s, w->watch, 0); id; id = hubc__watch_next(s, w->watch, id)) {
    int rc = enroll(s, wf, (uint32_t)id, "activation");
    if (rc) return rc;
  }
  return 0;
}

/* Filter triggers (W2): the trigger's watch reports each contact that
 * starts to meet the filter, wherever active lists see it (a property, a
 * status, a list membership, a view's filter changing), from the
 * transaction's finalize, as the call's net change (one that left and came
 * back within the call did not start to meet it). An inactive workflow's
 * watch is kept up to date
 * (so that enroll_existing reads it at activation) but enrolls nobody. */
static int on_edge(hubc_store *s, void *payload, uint32_t watch, int64_t contact, int entered) {
  uint32_t wf = (uint32_t)(uintptr_t)payload;
  const hubc__wf *w = hubc__wf_at(s, wf);
  if (!entered || !w || !w->active || w->watch != watch || starter(s) || !hubc__contact_at(s, contact)) return 0;
  return enroll(s, wf, (uint32_t)contact, "filter");
}

int hubc__engine_watch(hubc_store *s, uint32_t wf, const char *name, hubc_filter *f, uint32_t *out) {
  char label[300];
  snprintf(label, sizeof label, "workflow %u ('%.200s')", wf, name);
  return hubc__watch_add(out, s, f, label, on_edge, (void *)(uintptr_t)wf);
}

/* ---- the engine (W3–W6) ---------------------------------------------------------- */

/* The timer of an enrollment fired (in some call's tick): to the ready list. */
static int fire(hubc_store *s, const hubc__timer *t) {
  hubc__workflows *a = &s->workflows;
  if (hubc__grow(s->base, (void **)&a->ready, &a->ready_cap, a->ready_n + 1, sizeof *a->ready))
    return hubc__err(HUBC_ENOMEM, "out of memory queueing workflow steps");
  a->ready[a->ready_n++] = (uint32_t)t->id;
  return 0;
}

static uint32_t ready_pop(hubc_store *s) {
  hubc__workflows *a = &s->workflows;
  if (a->ready_head == a->ready_n) {
    a->ready_head = a->ready_n = a->ready_mark = 0; /* a rollback truncates to empty, not to older entries */
    return 0;
  }
  return a->ready[a->ready_head++];
}

typedef struct hostcall {
  hubc_wf_action_fn fn;
  void *payload;
  hubc_wf_call call;
  char *name, *arg; /* copies: the call runs without the lock */
  size_t name_len, arg_len;
} hostcall;

/* What one step did. */
enum { STEP_NEXT = 1, /* applied: run the next step now */
       STEP_STOP,     /* waiting (delay), finished, ended, or paused */
       STEP_HOST };   /* a host action to call (nothing changed yet) */

static hubc_time wait_for(const hubc_store *s, uint32_t attempt) {
  hubc_time w = s->workflows.first_wait ? s->workflows.first_wait : HUBC__WF_FIRST_WAIT;
  hubc_time max = s->workflows.max_wait ? s->workflows.max_wait : HUBC__WF_MAX_WAIT;
  for (uint32_t i = 1; i < attempt && w < max; i++) w *= 2;
  return w < max ? w : max;
}

static int apply_set_property(hubc_store *s, uint32_t wf, const hubc__wact *x, uint32_t contact) {
  const char *names[1] = {s->schema->props[x->prop].name}, *values[1] = {x->value};
  hubc__cs cs;
  hubc__cs_opts o = {.policy = HUBC__CS_OVERWRITE, .mode = HUBC__CS_UPDATE_ONLY, .source = HUBC_SOURCE_WORKFLOW,
                     .source_id = wf};
  int rc = hubc__cs_begin(&cs, s, &o, names, 1);
  if (!rc) rc = hubc__cs_row(&cs, contact, values, NULL, NULL);
  hubc__cs_end(&cs);
  return rc;
}

/* S2 through the lists area: undone with the step's transaction; a member
 * added again (or a non-member removed) is no change. The list was checked
 * at definition; one deleted since fails the step for good (permanent). */
static int apply_list(hubc_store *s, const hubc__wact *x, uint32_t contact) {
  const hubc__qdef *l = hubc__list_def(s, x->list);
  if (!l) return hubc__err(HUBC_ENOTFOUND, "list %u does not exist", x->list);
  if (l->deleted)
    return hubc__err(HUBC_ENOTFOUND, "list %u ('%.100s') was deleted after the workflow was defined", x->list,
                     l->name);
  int r = hubc__watch_set(s, l->watch, contact, x->type == HUBC_WF_LIST_ADD, 1);
  return r < 0 ? r : 0;
}

/* Runs enrollment eid's next step inside the open transaction. */
static int step(hubc_store *s, uint32_t eid, int *what, hostcall *hc) {
  hubc__workflows *a = &s->workflows;
  *what = STEP_STOP;
  if (eid > a->enr_n) return 0;
  hubc__enr e = a->enr[eid - 1];
  if (e.state != HUBC_ENROLLMENT_ACTIVE) return 0;
  const hubc__wf *w = &a->v[e.wf - 1];
  if (w->deleted) return end_enr(s, eid, 0, "workflow deleted");
  if (!w->active || starter(s)) return 0; /* W7: paused; activation (or a reopen, W1) sets its timer again */
  if (e.due > s->txn.now) return 0; /* listed twice (a timer set again while it was ready): its timer is set */
  if (!hubc__contact_at(s, e.contact)) return end_enr(s, eid, HUBC_ENOTFOUND, "contact deleted");
  if (e.step >= w->n_acts) {
    logent le = {HUBC_WF_LOG_FINISHED, e.step, 0, 0, 0, 0, NULL};
    e.state = HUBC_ENROLLMENT_FINISHED;
    return enr_log(s, eid, &e, &le);
  }
  const hubc__wact *x = &w->acts[e.step];
  logent le = {HUBC_WF_LOG_DONE, e.step, e.attempt + 1, 0, 0, 0, NULL};
  int rc = 0;
  switch (x->type) {
  case HUBC_WF_SET_STATUS: /* W4: M3/M4 with reason (WORKFLOW, id) */
    if (!(rc = hubc__status_reserve(s, 1)))
      rc = hubc__status_apply(s, e.contact, x->marketing, HUBC_SOURCE_WORKFLOW, e.wf);
    break;
  case HUBC_WF_SET_PROPERTY: rc = apply_set_property(s, e.wf, x, e.contact); break;
  case HUBC_WF_LIST_ADD:
  case HUBC_WF_LIST_REMOVE: rc = apply_list(s, x, e.contact); break;
  case HUBC_WF_DELAY: {
    /* stored times stay in years 1 to 9999; seconds may be up to the host's
     * clock bound (INT64_MAX): compared, not added, past the end */
    hubc_time due = x->until ? x->secs : x->secs > HUBC__TIME_MAX - s->txn.now ? HUBC__TIME_MAX : s->txn.now + x->secs;
    if (due > s->txn.now) {
      le.event = HUBC_WF_LOG_WAITING;
      le.until = due;
      e.step++, e.attempt = 0, e.due = due;
      if (!(rc = enr_log(s, eid, &e, &le))) rc = hubc__sched_set(s, KE, eid, due, 0);
      return rc;
    }
    break;
  }
  case HUBC_WF_HOST: {
    const hubc__whost *h = NULL;
    for (size_t i = 0; i < a->hosts_n && !h; i++)
      if (strcmp(a->hosts[i].name, x->name) == 0) h = &a->hosts[i];
    if (h && h->marketing && s->contacts.recs[e.contact]->status == HUBC_NON_MARKETING) { /* W5 */
      le.event = HUBC_WF_LOG_SKIPPED;
      le.msg = "non-marketing contact";
      break;
    }
    if (!h) {
      char msg[200];
      snprintf(msg, sizeof msg, "host action '%.100s' is not registered", x->name);
      return hubc__err(HUBC_ENOTFOUND, "%s", msg);
    }
    hc->fn = h->fn;
    hc->payload = h->payload;
    hc->name_len = strlen(x->name) + 1;
    hc->arg_len = strlen(x->payload) + 1;
    if (!(hc->name = hubc__alloc(s->base, hc->name_len)) || !(hc->arg = hubc__alloc(s->base, hc->arg_len)))
      return hubc__err(HUBC_ENOMEM, "out of memory calling a host action");
    memcpy(hc->name, x->name, hc->name_len);
    memcpy(hc->arg, x->payload, hc->arg_len);
    hc->call = (hubc_wf_call){HUBC_WF_CALL_VERSION, e.wf, eid, e.contact, e.step, e.attempt + 1, s->txn.now,
                              hc->name, hc->arg};
    *what = STEP_HOST;
    return 0;
  }
  }
  if (rc) return rc;
  e.step++, e.attempt = 0;
  if ((rc = enr_log(s, eid, &e, &le))) return rc;
  *what = STEP_NEXT;
  return 0;
}

/* Errors after which a retry cannot succeed: a built-in action wrong for
 * this contact (a value its property refuses, an email another contact
 * has). A host action's failure, or its not being registered (yet), is
 * always retried. */
static int permanent(const hubc__wact *x, int code) {
  return x->type != HUBC_WF_HOST &&
         (code == HUBC_EINVAL || code == HUBC_EREADONLY || code == HUBC_EEXISTS || code == HUBC_ENOTFOUND);
}

/* Sets eid's timer outside any transaction (memory only): when even
 * recording a failure failed, the step is still retried. */
static void rearm(hubc_store *s, uint32_t eid, hubc_time wait) {
  if (hubc__call_enter(s, "run workflows")) return; /* closing: the timer comes back from the records */
  pthread_rwlock_wrlock(&s->lock);
  hubc_time now = hubc__now_locked(s);
  hubc__sched_set(s, KE, eid, now + wait, 0);
  pthread_rwlock_unlock(&s->lock);
  hubc__call_leave(s);
}

/* Attempt `attempt` of step `at` of eid failed with code/msg (W6): logged
 * with the wait before the retry, or the enrollment ends (permanent). */
static void record_failure(hubc_store *s, uint32_t eid, uint32_t at, int code, const char *msg) {
  int rc = hubc__write_begin(s, HUBC_SYSTEM, 0, "run workflows");
  if (rc) {
    rearm(s, eid, wait_for(s, 1));
    return;
  }
  hubc__enr e = s->workflows.enr[eid - 1];
  hubc_time wait = 0;
  if (e.state == HUBC_ENROLLMENT_ACTIVE && e.step == at) {
    const hubc__wf *w = &s->workflows.v[e.wf - 1];
    if (at < w->n_acts && permanent(&w->acts[at], code)) {
      rc = end_enr(s, eid, code, msg);
    } else {
      wait = wait_for(s, e.attempt + 1);
      logent le = {HUBC_WF_LOG_FAILED, at, e.attempt + 1, code, wait, 0, msg};
      e.attempt++;
      e.due = s->txn.now + wait > HUBC__TIME_MAX ? HUBC__TIME_MAX : s->txn.now + wait;
      rc = enr_log(s, eid, &e, &le);
      if (!rc && s->workflows.v[e.wf - 1].active) rc = hubc__sched_set(s, KE, eid, e.due, 0);
    }
  }
  if (hubc__write_end(s, rc) && wait) rearm(s, eid, wait);
}

static void hostcall_free(hubc_store *s, hostcall *hc) {
  if (hc->name) hubc__free(s->base, hc->name, hc->name_len);
  if (hc->arg) hubc__free(s->base, hc->arg, hc->arg_len);
  memset(hc, 0, sizeof *hc);
}

/* Applies a host action's result: the step is done (W6: once per
 * enrollment step) or its attempt failed. Returns 1 to go on with eid. */
static int host_result(hubc_store *s, hostcall *hc, int result) {
  uint32_t eid = (uint32_t)hc->call.enrollment, at = (uint32_t)hc->call.step;
  char msg[MAX_MSG];
  if (result) {
    snprintf(msg, sizeof msg, "host action '%.100s' failed (code %d)", hc->name, result);
    record_failure(s, eid, at, result, msg);
    return 0;
  }
  int rc = hubc__write_begin(s, HUBC_SYSTEM, 0, "run workflows");
  if (rc) {
    rearm(s, eid, 0);
    return 0;
  }
  hubc__enr e = s->workflows.enr[eid - 1];
  int go = 0;
  if (e.state == HUBC_ENROLLMENT_ACTIVE && e.step == at) {
    logent le = {HUBC_WF_LOG_DONE, at, e.attempt + 1, 0, 0, 0, NULL};
    e.step++, e.attempt = 0;
    rc = enr_log(s, eid, &e, &le);
    go = 1;
  }
  if ((rc = hubc__write_end(s, rc))) {
    snprintf(msg, sizeof msg, "%s", hubc_error_last());
    record_failure(s, eid, at, rc, msg);
    return 0;
  }
  return go;
}

/* Calls a host action with no lock held, then applies its result.
 * Returns 1 to go on with its enrollment. */
static int call_host(hubc_store *s, hostcall *hc) {
  hubc__busy frame; /* the action calling this store gets HUBC_EBUSY (R6) */
  hubc__busy_enter(&frame, s);
  int result = hc->fn(hc->payload, &hc->call);
  hubc__busy_leave(&frame);
  int go = host_result(s, hc, result);
  hostcall_free(s, hc);
  return go;
}

/* Runs enrollment eid step by step, one transaction each, until it waits:
 * the path of failures (each attempt recorded, W6) and host actions. */
static void run_one(hubc_store *s, uint32_t eid, unsigned *budget) {
  if (eid > s->workflows.enr_n) return;
  for (; *budget; --*budget) {
    int rc = hubc__write_begin(s, HUBC_SYSTEM, 0, "run workflows");
    if (rc) {
      rearm(s, eid, 0);
      return;
    }
    hostcall hc = {0};
    int what = STEP_STOP;
    uint32_t at = s->workflows.enr[eid - 1].step;
    rc = step(s, eid, &what, &hc);
    if ((rc = hubc__write_end(s, rc))) {
      char msg[MAX_MSG];
      snprintf(msg, sizeof msg, "%s", hubc_error_last());
      hostcall_free(s, &hc);
      record_failure(s, eid, at, rc, msg);
      return;
    }
    if (what == STEP_HOST && call_host(s, &hc)) continue; /* a loop, not a recursion: up to 1,000 host steps */
    if (what != STEP_NEXT) return;
  }
  rearm(s, eid, 0);
}

/* Due steps run in batches: one transaction applies up to BATCH
 * enrollments' steps (each enrollment until it waits). If persistence
 * refuses the batch, that is a failed attempt of each of its enrollments
 * (recorded, retried after the wait). If a step fails or HARD_CAP refuses
 * the batch's sum, it is undone whole and its enrollments run one
 * transaction per step (run_one), which records each failure. A step is
 * applied once either way. */
#define BATCH 256

int hubc__engine_run(hubc_store *s) {
  unsigned budget = RUN_BUDGET;
  uint32_t batch[BATCH], at[BATCH];
  while (budget) {
    int rc = hubc__write_begin(s, HUBC_SYSTEM, 0, "run workflows");
    if (rc) return rc;
    size_t n = 0;
    hostcall hc = {0};
    int what = STEP_STOP;
    uint32_t cut = 0; /* stopped by the budget between two steps */
    while (!rc && n < BATCH && budget && what != STEP_HOST) {
      uint32_t eid = ready_pop(s);
      if (!eid) break;
      if (eid > s->workflows.enr_n) continue; /* never listed by a committed transaction */
      uint32_t log0 = s->workflows.enr[eid - 1].log;
      at[n] = s->workflows.enr[eid - 1].step;
      batch[n++] = eid;
      do {
        rc = step(s, eid, &what, &hc);
        budget--;
      } while (!rc && what == STEP_NEXT && budget);
      if (!rc && what == STEP_NEXT) cut = eid;
      /* nothing ran (paused, not due yet, over): if the batch fails, that was no attempt of it (W6) */
      if (!rc && what == STEP_STOP && s->workflows.enr[eid - 1].log == log0) n--;
    }
    if (!n) return hubc__write_end(s, 0);
    int step_failed = rc != 0;
    if ((rc = hubc__write_end(s, rc)) != 0) {
      hostcall_free(s, &hc);
      if (!step_failed && (rc == HUBC_EAGAIN || rc == HUBC_EPERSIST)) { /* an attempt of each (W6) */
        char msg[MAX_MSG];
        snprintf(msg, sizeof msg, "%s", hubc_error_last());
        for (size_t i = 0; i < n; i++) record_failure(s, batch[i], at[i], rc, msg);
      } else { /* a step failed, or HARD_CAP refused the sum: one by one, each failure recorded */
        unsigned one = RUN_BUDGET;
        for (size_t i = 0; i < n; i++) run_one(s, batch[i], &one);
      }
      continue;
    }
    if (cut) rearm(s, cut, 0);
    if (what == STEP_HOST) {
      uint32_t eid = (uint32_t)hc.call.enrollment;
      if (call_host(s, &hc)) run_one(s, eid, &budget);
    }
  }
  return hubc__ok();
}

int hubc__engine_opened(hubc_store *s) {
  hubc__workflows *a = &s->workflows;
  for (size_t i = 0; i < a->n; i++) {
    hubc__wf *w = &a->v[i];
    if (!w->filter_text || w->deleted || w->watch) continue;
    hubc_filter *f;
    int rc = hubc_filter_compile(&f, s, w->filter_text);
    if (!rc) {
      rc = hubc__engine_watch(s, (uint32_t)i + 1, w->name, f, &w->watch);
      hubc_filter_free(f); /* the watch holds it */
    }
    if (rc) {
      char msg[400];
      snprintf(msg, sizeof msg, "%s", hubc_error_last());
      return hubc__err(rc, "open store: workflow %zu: trigger filter: %s", i + 1, msg);
    }
  }
  return 0;
}

/* ---- reading enrollments and their history ---------------------------------------- */

static void enr_out(hubc_enrollment *out, uint32_t id, const hubc__enr *e) {
  hubc_enrollment r = {HUBC_ENROLLMENT_VERSION, id, e->wf, e->contact, e->state, e->step, e->attempt, e->enrolled,
                       e->due};
  hubc__version_out(out, &r, HUBC__VERSION_END(hubc_enrollment, due));
}

HUBC_API int hubc_enrollment_get(hubc_enrollment *out, hubc_store *s, hubc_id id) {
  if (!out) return hubc__err(HUBC_EINVAL, "get enrollment: out is NULL");
  int rc = hubc__version_check(out->version, HUBC_ENROLLMENT_VERSION, "enrollment");
  if (rc || (rc = hubc__read_begin(s))) return rc;
  const hubc__enr *e = id > 0 && id <= 0xffffffffLL ? enr_at(s, (uint32_t)id) : NULL;
  if (!e) rc = hubc__err(HUBC_ENOTFOUND, "get enrollment: no enrollment with id %lld", (long long)id);
  else enr_out(out, (uint32_t)id, e);
  return hubc__read_end(s, rc);
}

struct hubc_enrollment_iterator {
  hubc_store *store;
  hubc__base *base;
  hubc_id wf, contact;
  size_t next;
};

HUBC_API int hubc_enrollment_iterator_new(hubc_enrollment_iterator **out, hubc_store *s, hubc_id wf, hubc_id contact) {
  if (!out) return hubc__err(HUBC_EINVAL, "enrollment iterator: out is NULL");
  *out = NULL;
  if (wf < 0 || contact < 0) return hubc__err(HUBC_EINVAL, "enrollment iterator: ids must be >= 0 (0: any)");
  int rc = hubc__read_begin(s);
  if (rc) return rc;
  hubc_enrollment_iterator *it = hubc__alloc(s->base, sizeof *it);
  if (!it) return hubc__read_end(s, hubc__err(HUBC_ENOMEM, "out of memory creating an enrollment iterator"));
  hubc__base_ref(s->base);
  *it = (hubc_enrollment_iterator){s, s->base, wf, contact, 0};
  *out = it;
  return hubc__read_end(s, 0);
}

HUBC_API int hubc_enrollment_iterator_next(hubc_enrollment *out, hubc_enrollment_iterator *it) {
  if (!out || !it) return hubc__err(HUBC_EINVAL, "enrollment iterator: NULL argument");
  int rc = hubc__version_check(out->version, HUBC_ENROLLMENT_VERSION, "enrollment");
  hubc_store *s = it->store;
  if (rc || (rc = hubc__read_begin(s))) return rc;
  const hubc__workflows *a = &s->workflows;
  while (it->next < a->enr_n) {
    const hubc__enr *e = &a->enr[it->next++];
    if ((it->wf && e->wf != (uint64_t)it->wf) || (it->contact && e->contact != (uint64_t)it->contact)) continue;
    enr_out(out, (uint32_t)it->next, e);
    return hubc__read_end(s, 0);
  }
  hubc__read_end(s, 0);
  return HUBC_ITEROVER;
}

HUBC_API void hubc_enrollment_iterator_free(hubc_enrollment_iterator *it) {
  if (!it) return;
  hubc__base *b = it->base;
  hubc__free(b, it, sizeof *it);
  hubc__base_unref(b);
}

struct hubc_wf_log_iterator {
  hubc_store *store;
  hubc__base *base;
  uint32_t *ids; /* history entries, oldest first */
  size_t n, pos;
};

HUBC_API int hubc_wf_log_iterator_new(hubc_wf_log_iterator **out, hubc_store *s, hubc_id id) {
  if (!out) return hubc__err(HUBC_EINVAL, "workflow history iterator: out is NULL");
  *out = NULL;
  int rc = hubc__read_begin(s);
  if (rc) return rc;
  const hubc__enr *e = id > 0 && id <= 0xffffffffLL ? enr_at(s, (uint32_t)id) : NULL;
  if (!e) return hubc__read_end(s, hubc__err(HUBC_ENOTFOUND, "workflow history: no enrollment with id %lld", (long long)id));
  size_t n = 0;
  for (uint32_t l = e->log; l; l = s->workflows.log[l - 1].prev) n++;
  hubc_wf_log_iterator *it = hubc__calloc(s->base, sizeof *it);
  uint32_t *ids = hubc__alloc(s->base, (n + 1) * sizeof *ids);
  if (!it || !ids) {
    hubc__free(s->base, it, sizeof *it);
    hubc__free(s->base, ids, (n + 1) * sizeof *ids);
    return hubc__read_end(s, hubc__err(HUBC_ENOMEM, "out of memory creating a workflow history iterator"));
  }
  size_t k = n;
  for (uint32_t l = e->log; l; l = s->workflows.log[l - 1].prev) ids[--k] = l;
  hubc__base_ref(s->base);
  *it = (hubc_wf_log_iterator){s, s->base, ids, n, 0};
  *out = it;
  return hubc__read_end(s, 0);
}

HUBC_API int hubc_wf_log_iterator_next(hubc_wf_log *out, hubc_wf_log_iterator *it) {
  if (!out || !it) return hubc__err(HUBC_EINVAL, "workflow history iterator: NULL argument");
  int rc = hubc__version_check(out->version, HUBC_WF_LOG_VERSION, "workflow history entry");
  hubc_store *s = it->store;
  if (rc || (rc = hubc__read_begin(s))) return rc;
  if (it->pos >= it->n) {
    hubc__read_end(s, 0);
    return HUBC_ITEROVER;
  }
  const hubc__wlog *l = &s->workflows.log[it->ids[it->pos++] - 1];
  hubc_wf_log r = {HUBC_WF_LOG_VERSION, l->time, l->event, l->step, l->attempt, l->code, l->wait, l->until, l->msg};
  hubc__version_out(out, &r, HUBC__VERSION_END(hubc_wf_log, message));
  return hubc__read_end(s, 0);
}

HUBC_API void hubc_wf_log_iterator_free(hubc_wf_log_iterator *it) {
  if (!it) return;
  hubc__base *b = it->base;
  hubc__free(b, it->ids, (it->n + 1) * sizeof *it->ids);
  hubc__free(b, it, sizeof *it);
  hubc__base_unref(b);
}

/* ---- the ENROLLMENT record kind ------------------------------------------------------ */

enum { TE_WF = 1, TE_CONTACT, TE_ENROLLED, TE_DUE, TE_STEP, TE_ATTEMPT, TE_STATE };

static int encode_enr(hubc_store *s, int64_t id, hubc__wr *w) {
  const hubc__enr *e = &s->workflows.enr[id - 1];
  hubc__wr_num(w, TE_WF, e->wf);
  hubc__wr_num(w, TE_CONTACT, e->contact);
  hubc__wr_num(w, TE_ENROLLED, e->enrolled);
  hubc__wr_num(w, TE_DUE, e->due);
  hubc__wr_num(w, TE_STEP, e->step);
  hubc__wr_num(w, TE_ATTEMPT, e->attempt);
  hubc__wr_num(w, TE_STATE, e->state);
  return 0;
}

static int load_enr(hubc_loader *l, int64_t id, hubc__rd rd) {
  hubc_store *s = l->s;
  hubc__workflows *a = &s->workflows;
  if (id < 1 || id > 0xffffffffLL) return hubc__corrupt(KE, id, "bad enrollment id");
  if (hubc__grow_zeroed(s->base, (void **)&a->enr, &a->enr_cap, (size_t)id, sizeof *a->enr))
    return hubc__err(HUBC_ENOMEM, "out of memory loading enrollments");
  hubc__enr e = {0};
  int64_t v;
  uint64_t tag;
  hubc__rd body;
  HUBC__FOR_FIELDS(rd, tag, body, KE, id) {
    if (tag < TE_WF || tag > TE_STATE) continue;
    if (hubc__ld_int(body, &v, KE, id)) return HUBC_ECORRUPT;
    int ok = 1;
    switch (tag) {
    case TE_WF: ok = v >= 1 && v <= 0xffffff, e.wf = (uint32_t)v; break;
    case TE_CONTACT: ok = v >= 1 && v <= 0xffffffffLL, e.contact = (uint32_t)v; break;
    case TE_ENROLLED: ok = hubc__time_ok(v), e.enrolled = v; break;
    case TE_DUE: ok = hubc__time_ok(v), e.due = v; break;
    case TE_STEP: ok = v >= 0 && v <= 1000, e.step = (uint32_t)v; break;
    case TE_ATTEMPT: ok = v >= 0 && v <= 0xffffffffLL, e.attempt = (uint32_t)v; break;
    default: ok = v >= HUBC_ENROLLMENT_ACTIVE && v <= HUBC_ENROLLMENT_ENDED, e.state = (uint8_t)v; break;
    }
    if (!ok) return hubc__corrupt(KE, id, "field out of range");
  }
  if (!e.wf || !e.contact || !e.state) return hubc__corrupt(KE, id, "workflow, contact or state missing");
  a->enr[id - 1] = e;
  if ((uint64_t)id > a->enr_n) a->enr_n = (size_t)id;
  return 0;
}

/* After workflows: dense ids naming workflows; the index rebuilt in id
 * order; a timer for each unfinished enrollment of an active workflow. */
static int finish_enr(hubc_loader *l, int rc) {
  hubc_store *s = l->s;
  hubc__workflows *a = &s->workflows;
  if (!rc) rc = index_reserve(s, a->enr_n);
  for (size_t i = 0; !rc && i < a->enr_n; i++) {
    hubc__enr *e = &a->enr[i];
    const hubc__wf *w = e->wf ? hubc__wf_at(s, e->wf) : NULL;
    if (!e->wf) rc = hubc__corrupt(KE, (hubc_id)i + 1, "missing while later enrollments exist");
    else if (!w) rc = hubc__corrupt(KE, (hubc_id)i + 1, "names a workflow that does not exist");
    else if (e->state == HUBC_ENROLLMENT_ACTIVE && e->step > w->n_acts) /* an edit ends the others where they were */
      rc = hubc__corrupt(KE, (hubc_id)i + 1, "step past the workflow's actions");
    if (rc) break;
    e->prev = newest(a, e->wf, e->contact);
    index_set(a, key_of(e->wf, e->contact), (uint32_t)i + 1);
    if (e->state == HUBC_ENROLLMENT_ACTIVE && w->active && !starter(s)) rc = hubc__sched_set(s, KE, (int64_t)i + 1, e->due, 0);
  }
  return rc;
}

static int dump_enr(const hubc_store *s, hubc__out *o) {
  const hubc__workflows *a = &s->workflows;
  for (size_t i = 0; i < a->enr_n; i++) {
    const hubc__enr *e = &a->enr[i];
    hubc__out_printf(o, "enrollment %zu workflow=%u contact=%u state=%d step=%u attempt=%u enrolled=%lld due=%lld\n",
                     i + 1, e->wf, e->contact, e->state, e->step, e->attempt, (long long)e->enrolled,
                     (long long)e->due);
  }
  return 0;
}

static void free_enr(hubc_store *s) {
  hubc__workflows *a = &s->workflows;
  size_t cap = a->index ? a->index_mask + 1 : 0;
  hubc__free(s->base, a->index, cap * sizeof *a->index);
  hubc__free(s->base, a->index_val, cap * sizeof *a->index_val);
  hubc__free(s->base, a->enr, a->enr_cap * sizeof *a->enr);
  hubc__free(s->base, a->ready, a->ready_cap * sizeof *a->ready);
}

static void begin_enr(hubc_store *s) {
  s->workflows.enr_mark = s->workflows.enr_n;
  s->workflows.ready_mark = s->workflows.ready_n;
}

static void undo_enr(hubc_store *s, const hubc__undo *u) {
  memcpy(&s->workflows.enr[u->id - 1], u->u.bytes, sizeof(hubc__enr));
}

static void rollback_enr(hubc_store *s) {
  hubc__workflows *a = &s->workflows;
  while (a->enr_n > a->enr_mark) { /* newest first: each puts back the one it superseded */
    const hubc__enr *e = &a->enr[--a->enr_n];
    if (e->prev) index_set(a, key_of(e->wf, e->contact), e->prev);
    else index_remove(a, key_of(e->wf, e->contact));
  }
  if (a->ready_n > a->ready_mark) a->ready_n = a->ready_mark; /* fired in a tick that was undone */
  if (a->ready_head > a->ready_n) a->ready_head = a->ready_n;
}

const hubc__kind hubc__kind_enrollment = {
    .kind = KE,
    .name = "enrollment",
    .encode = encode_enr,
    .load = load_enr,
    .finish_load = finish_enr,
    .dump = dump_enr,
    .free = free_enr,
    .txn_begin = begin_enr,
    .undo = undo_enr,
    .txn_rollback = rollback_enr,
    .fire = fire,
};

/* ---- the WORKFLOW_LOG record kind ---------------------------------------------------- */

enum { TL_ENR = 1, TL_TIME, TL_EVENT, TL_STEP, TL_ATTEMPT, TL_CODE, TL_WAIT, TL_UNTIL, TL_MSG };

static int encode_log(hubc_store *s, int64_t id, hubc__wr *w) {
  const hubc__wlog *l = &s->workflows.log[id - 1];
  hubc__wr_num(w, TL_ENR, l->enr);
  hubc__wr_num(w, TL_TIME, l->time);
  hubc__wr_num(w, TL_EVENT, l->event);
  hubc__wr_num(w, TL_STEP, l->step);
  hubc__wr_num(w, TL_ATTEMPT, l->attempt);
  hubc__wr_num(w, TL_CODE, l->code);
  hubc__wr_num(w, TL_WAIT, l->wait);
  hubc__wr_num(w, TL_UNTIL, l->until);
  hubc__wr_str(w, TL_MSG, l->msg);
  return 0;
}

static int load_log(hubc_loader *l, int64_t id, hubc__rd rd) {
  hubc_store *s = l->s;
  hubc__workflows *a = &s->workflows;
  if (id < 1 || id > 0xffffffffLL) return hubc__corrupt(KL, id, "bad history id");
  if (hubc__grow_zeroed(s->base, (void **)&a->log, &a->log_cap, (size_t)id, sizeof *a->log))
    return hubc__err(HUBC_ENOMEM, "out of memory loading workflow history");
  hubc__wlog e = {0};
  int64_t v;
  uint64_t tag;
  hubc__rd body;
  HUBC__FOR_FIELDS(rd, tag, body, KL, id) {
    if (tag == TL_MSG) {
      if (hubc__ld_pooled(s, body, &e.msg, KL, id)) return HUBC_ECORRUPT;
      continue;
    }
    if (tag < TL_ENR || tag > TL_UNTIL) continue;
    if (hubc__ld_int(body, &v, KL, id)) return HUBC_ECORRUPT;
    int ok = 1;
    switch (tag) {
    case TL_ENR: ok = v >= 1 && v <= 0xffffffffLL, e.enr = (uint32_t)v; break;
    case TL_TIME: ok = hubc__time_ok(v), e.time = v; break;
    case TL_EVENT: ok = v >= HUBC_WF_LOG_ENROLLED && v <= HUBC_WF_LOG_ENDED, e.event = (uint8_t)v; break;
    case TL_STEP: ok = v >= 0 && v <= 1000, e.step = (uint32_t)v; break;
    case TL_ATTEMPT: ok = v >= 0 && v <= 0xffffffffLL, e.attempt = (uint32_t)v; break;
    case TL_CODE: ok = v >= INT16_MIN && v <= INT16_MAX, e.code = (int16_t)v; break;
    case TL_WAIT: ok = v >= 0 && v <= HUBC__TIME_MAX, e.wait = v; break;
    default: ok = v == 0 || hubc__time_ok(v), e.until = v; break;
    }
    if (!ok) return hubc__corrupt(KL, id, "field out of range");
  }
  if (!e.enr || !e.event || !e.msg) return hubc__corrupt(KL, id, "enrollment, event or message missing");
  a->log[id - 1] = e;
  if ((uint64_t)id > a->log_n) a->log_n = (size_t)id;
  return 0;
}

/* After enrollments: each entry linked to its enrollment's history. */
static int finish_log(hubc_loader *l, int rc) {
  hubc_store *s = l->s;
  hubc__workflows *a = &s->workflows;
  for (size_t i = 0; !rc && i < a->log_n; i++) {
    hubc__wlog *e = &a->log[i];
    hubc__enr *en = e->msg ? enr_at(s, e->enr) : NULL;
    if (!e->msg) rc = hubc__corrupt(KL, (hubc_id)i + 1, "missing while later entries exist");
    else if (!en) rc = hubc__corrupt(KL, (hubc_id)i + 1, "names an enrollment that does not exist");
    else {
      e->prev = en->log;
      en->log = (uint32_t)i + 1;
    }
  }
  return rc;
}

static int dump_log(const hubc_store *s, hubc__out *o) {
  const hubc__workflows *a = &s->workflows;
  for (size_t i = 0; i < a->log_n; i++) {
    const hubc__wlog *l = &a->log[i];
    hubc__out_printf(o, "wflog %zu enrollment=%u time=%lld event=%d step=%u attempt=%u code=%d wait=%lld until=%lld msg=",
                     i + 1, l->enr, (long long)l->time, l->event, l->step, l->attempt, l->code, (long long)l->wait,
                     (long long)l->until);
    hubc__out_text(o, l->msg, 0);
    hubc__out_put(o, "\n", 1);
  }
  return 0;
}

static void free_log(hubc_store *s) { hubc__free(s->base, s->workflows.log, s->workflows.log_cap * sizeof *s->workflows.log); }
static void begin_log(hubc_store *s) { s->workflows.log_mark = s->workflows.log_n; }
static void rollback_log(hubc_store *s) { s->workflows.log_n = s->workflows.log_mark; }

const hubc__kind hubc__kind_workflow_log = {
    .kind = KL,
    .name = "workflow history",
    .encode = encode_log,
    .load = load_log,
    .finish_load = finish_log,
    .dump = dump_log,
    .free = free_log,
    .txn_begin = begin_log,
    .txn_rollback = rollback_log,
};
