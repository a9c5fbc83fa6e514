/* Workflows (W1, W2, W4, W7): definitions checked whole, create, update,
 * activate, deactivate, delete, snapshots, listing, host action
 * registration, and the WORKFLOW record kind. Enrollments and the engine
 * are in engine.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hubcontacts/workflow.h"
#include "persist/codec.h"
#include "query/lists.h"
#include "query/watch.h"
#include "store/dump.h"
#include "store/store.h"
#include "user/perm.h"
#include "util/text.h"
#include "workflow/engine.h"

#define K HUBC_REC_WORKFLOW
#define MAX_ACTIONS 1000
#define MAX_NAME 1024
#define MAX_VALUE 65536 /* C4 */
#define ACT_PTRS ((sizeof(hubc__wact) + sizeof(void *) - 1) / sizeof(void *))

_Static_assert(sizeof(hubc__wf) <= HUBC__UNDO_BYTES, "a workflow fits an undo entry");

const hubc__wf *hubc__wf_at(const hubc_store *s, hubc_id id) {
  if (id < 1 || (uint64_t)id > s->workflows.n) return NULL;
  const hubc__wf *w = &s->workflows.v[id - 1];
  return w->name ? w : NULL;
}

HUBC_API int hubc_wf_action_init(hubc_wf_action *a, unsigned int version) {
  if (!a) return hubc__err(HUBC_EINVAL, "workflow action: action is NULL");
  int rc = hubc__version_check(version, HUBC_WF_ACTION_VERSION, "workflow action");
  if (rc) return rc;
  /* an older caller's struct is shorter: clear only its version's fields */
  memset(a, 0, version == 1 ? HUBC__VERSION_END(hubc_wf_action, payload) : sizeof *a);
  a->version = version;
  return hubc__ok();
}

HUBC_API int hubc_workflow_def_init(hubc_workflow_def *d, unsigned int version) {
  if (!d) return hubc__err(HUBC_EINVAL, "workflow definition: def is NULL");
  int rc = hubc__version_check(version, HUBC_WORKFLOW_DEF_VERSION, "workflow definition");
  if (rc) return rc;
  memset(d, 0, version == 1 ? HUBC__VERSION_END(hubc_workflow_def, n_actions) : sizeof *d);
  d->version = version;
  return hubc__ok();
}

/* ---- checking and building a definition ---------------------------------------- */

static int check_text(const char *t, size_t max, const char *what, const char *field, size_t i) {
  size_t len = strnlen(t, max + 1);
  if (len > max) return hubc__err(HUBC_ELIMIT, "%s: action %zu: %s longer than %zu bytes", what, i, field, max);
  if (!hubc__utf8_valid(t, len)) return hubc__err(HUBC_EINVAL, "%s: action %zu: %s is not valid UTF-8", what, i, field);
  return 0;
}

static const hubc__whost *host_find(const hubc_store *s, const char *name) {
  for (size_t i = 0; i < s->workflows.hosts_n; i++)
    if (strcmp(s->workflows.hosts[i].name, name) == 0) return &s->workflows.hosts[i];
  return NULL;
}

/* One action into *out (strings pooled); errors name the action's index. */
static int build_action(hubc_store *s, const hubc_wf_action *in, size_t i, hubc__wact *out, const char *what) {
  if (!in) return hubc__err(HUBC_EINVAL, "%s: action %zu is NULL", what, i);
  int rc = hubc__version_check(in->version, HUBC_WF_ACTION_VERSION, "workflow action");
  if (rc) return hubc__err(rc, "%s: action %zu: version %u is not supported (1 to %d)", what, i, in->version,
                           HUBC_WF_ACTION_VERSION);
  hubc_wf_action a;
  hubc__version_in(&a, sizeof a, in,
                   in->version == 1 ? HUBC__VERSION_END(hubc_wf_action, payload) : sizeof(hubc_wf_action));
  memset(out, 0, sizeof *out);
  out->type = (uint8_t)a.type;
  switch (a.type) {
  case HUBC_WF_SET_STATUS:
    if (a.marketing != 0 && a.marketing != 1)
      return hubc__err(HUBC_EINVAL, "%s: action %zu (set marketing contact status): marketing must be 0 or 1", what, i);
    out->marketing = (uint8_t)a.marketing;
    return 0;
  case HUBC_WF_SET_PROPERTY: {
    if (!a.property || !a.value)
      return hubc__err(HUBC_EINVAL, "%s: action %zu (set property): property and value are required", what, i);
    int p = hubc__schema_find(s->schema, a.property);
    if (p < 0)
      return hubc__err(HUBC_ENOTFOUND, "%s: action %zu (set property): property '%.100s' does not exist", what, i,
                       a.property);
    if (s->schema->props[p].flags & HUBC_PROP_READONLY)
      return hubc__err(HUBC_EREADONLY, "%s: action %zu (set property): property '%s' is read-only", what, i,
                       s->schema->props[p].name);
    if ((rc = check_text(a.value, MAX_VALUE, what, "value", i))) return rc;
    const hubc__prop *pr = &s->schema->props[p];
    if (pr->type == HUBC_PROP_ENUMERATION && *a.value && hubc__schema_option(pr, a.value) < 0)
      return hubc__err(HUBC_EINVAL, "%s: action %zu (set property): '%.100s' is not an option of '%s'", what, i,
                       a.value, pr->name);
    out->prop = (uint32_t)p;
    if (!(out->value = hubc__pool_strdup(s->base, a.value, strlen(a.value)))) return HUBC_ENOMEM;
    return 0;
  }
  case HUBC_WF_DELAY:
    if (a.seconds < 0)
      return hubc__err(HUBC_EINVAL, "%s: action %zu (delay): %lld seconds is negative", what, i, (long long)a.seconds);
    if (a.seconds > s->max_jump)
      return hubc__err(HUBC_ELIMIT, "%s: action %zu (delay): %lld seconds is beyond the time bound (%lld s, B2a)",
                       what, i, (long long)a.seconds, (long long)s->max_jump);
    if (a.seconds == 0) {
      if (!hubc__time_ok(a.until) || a.until - s->txn.now > s->max_jump) /* both in range: no overflow */
        return hubc__err(a.until ? HUBC_ELIMIT : HUBC_EINVAL,
                         "%s: action %zu (delay): needs seconds > 0 or a time `until` within the time bound "
                         "(%lld s from now, B2a); got until = %lld",
                         what, i, (long long)s->max_jump, (long long)a.until);
      out->until = 1;
      out->secs = a.until;
    } else {
      out->secs = a.seconds;
    }
    return 0;
  case HUBC_WF_HOST: {
    if (!a.name) return hubc__err(HUBC_EINVAL, "%s: action %zu (host action): name is NULL", what, i);
    if (!host_find(s, a.name))
      return hubc__err(HUBC_ENOTFOUND, "%s: action %zu (host action): no host action named '%.100s' is registered",
                       what, i, a.name);
    const char *pl = a.payload ? a.payload : "";
    if ((rc = check_text(pl, MAX_VALUE, what, "payload", i))) return rc;
    if (!(out->name = hubc__pool_strdup(s->base, a.name, strlen(a.name))) ||
        !(out->payload = hubc__pool_strdup(s->base, pl, strlen(pl))))
      return HUBC_ENOMEM;
    return 0;
  }
  case HUBC_WF_LIST_ADD:
  case HUBC_WF_LIST_REMOVE: {
    const char *an = a.type == HUBC_WF_LIST_ADD ? "add to static list" : "remove from static list";
    const hubc__qdef *l = a.list > 0 && a.list <= UINT32_MAX ? hubc__list_def(s, a.list) : NULL;
    if (!l)
      return hubc__err(HUBC_ENOTFOUND, "%s: action %zu (%s): no list with id %lld", what, i, an, (long long)a.list);
    if (l->deleted)
      return hubc__err(HUBC_ENOTFOUND, "%s: action %zu (%s): list %lld ('%.100s') was deleted", what, i, an,
                       (long long)a.list, l->name);
    if (l->text)
      return hubc__err(HUBC_EINVAL, "%s: action %zu (%s): list %lld ('%.100s') is active: its members are what its "
                       "filter selects", what, i, an, (long long)a.list, l->name);
    out->list = (uint32_t)a.list;
    return 0;
  }
  default:
    return hubc__err(HUBC_EINVAL, "%s: action %zu: unknown type %d", what, i, a.type);
  }
}

/* The definition into *w (everything but active/deleted and the trigger's
 * watch, attach_filter); *n_status: its status actions (W4). */
static int build(hubc_store *s, const hubc_workflow_def *d, hubc__wf *w, size_t *n_status, const char *what) {
  if (d->trigger_form < 0)
    return hubc__err(HUBC_EINVAL, "%s: trigger_form %lld is invalid (0: none)", what, (long long)d->trigger_form);
  if (d->trigger_form) {
    const hubc__form *f = hubc__form_at(s, d->trigger_form);
    if (!f || f->deleted)
      return hubc__err(HUBC_ENOTFOUND, "%s: trigger_form: no form with id %lld", what, (long long)d->trigger_form);
  }
  if (d->trigger_external_form < 0)
    return hubc__err(HUBC_EINVAL, "%s: trigger_external_form %lld is invalid (0: none)", what,
                     (long long)d->trigger_external_form);
  if ((d->enroll_existing != 0 && d->enroll_existing != 1) || (d->reenroll != 0 && d->reenroll != 1))
    return hubc__err(HUBC_EINVAL, "%s: enroll_existing and reenroll must be 0 or 1", what);
  if (d->enroll_existing && !d->trigger_filter)
    return hubc__err(HUBC_EINVAL, "%s: enroll_existing needs a trigger_filter (contacts already meeting it)", what);
  if (d->n_actions > MAX_ACTIONS)
    return hubc__err(HUBC_ELIMIT, "%s: %zu actions (a workflow has at most %d)", what, d->n_actions, MAX_ACTIONS);
  if (d->n_actions && !d->actions) return hubc__err(HUBC_EINVAL, "%s: actions is NULL with n_actions = %zu", what, d->n_actions);
  hubc__wact *acts = (hubc__wact *)(void *)hubc__pool_ptrs(s->base, d->n_actions * ACT_PTRS + 1);
  if (!acts) return hubc__err(HUBC_ENOMEM, "out of memory building a workflow");
  *n_status = 0;
  for (size_t i = 0; i < d->n_actions; i++) {
    int rc = build_action(s, d->actions[i], i, &acts[i], what);
    if (rc == HUBC_ENOMEM) return hubc__err(rc, "out of memory building a workflow");
    if (rc) return rc;
    *n_status += acts[i].type == HUBC_WF_SET_STATUS;
  }
  w->filter_text = NULL;
  if (d->trigger_filter && !(w->filter_text = hubc__pool_strdup(s->base, d->trigger_filter, strlen(d->trigger_filter))))
    return hubc__err(HUBC_ENOMEM, "out of memory building a workflow");
  w->acts = acts;
  w->n_acts = (uint16_t)d->n_actions;
  w->form = d->trigger_form;
  w->ext_form = d->trigger_external_form;
  w->enroll_existing = d->enroll_existing && 1;
  w->reenroll = d->reenroll && 1;
  return 0;
}

/* Replaces workflow `id` (undo: the old struct). Needs a reserved entry. */
void hubc__wf_put(hubc_store *s, hubc_id id, const hubc__wf *w) {
  hubc__txn_push(s, K, id, &s->workflows.v[id - 1], sizeof *w);
  s->workflows.v[id - 1] = *w;
  s->workflows.forms_fresh = 0;
  hubc__txn_dirty(s, K, id);
}

/* Workflow id's trigger filter f (may be NULL) becomes w's watch, replacing
 * the one it had: the old watch (and its filter) is freed when the
 * transaction commits, kept if it rolls back. Consumes our reference to f. */
static int attach_filter(hubc_store *s, hubc_id id, hubc__wf *w, hubc_filter *f) {
  uint32_t old = w->watch;
  int rc = 0;
  w->watch = 0;
  if (f) rc = hubc__engine_watch(s, (uint32_t)id, w->name, f, &w->watch);
  hubc_filter_free(f);
  if (!rc && old) hubc__watch_remove(s, old);
  return rc;
}

static int tier_check(const hubc_store *s, const char *what) {
  if (s->billing.subscription == HUBC_SUBSCRIPTION_STARTER)
    return hubc__err(HUBC_ETIER, "%s: workflows need a PROFESSIONAL or ENTERPRISE subscription; this store is "
                     "STARTER (W1)", what);
  return 0;
}

/* What happens before the lock: the struct's version, the name, and the
 * trigger filter compiled (it takes the store's read lock itself). */
typedef struct prep {
  hubc_workflow_def d;
  hubc_filter *filter;
} prep;

static int prepare(prep *p, hubc_store *s, const hubc_workflow_def *def, const char *what) {
  p->filter = NULL;
  if (!s) return hubc__err(HUBC_EINVAL, "%s: store is NULL", what);
  if (!def) return hubc__err(HUBC_EINVAL, "%s: def is NULL", what);
  int rc = hubc__version_check(def->version, HUBC_WORKFLOW_DEF_VERSION, "workflow definition");
  if (rc) return rc;
  hubc__version_in(&p->d, sizeof p->d, def,
                   def->version == 1 ? HUBC__VERSION_END(hubc_workflow_def, n_actions) : sizeof(hubc_workflow_def));
  const char *name = p->d.name;
  if (!name || !*name) return hubc__err(HUBC_EINVAL, "%s: the workflow needs a name", what);
  size_t len = strnlen(name, MAX_NAME + 1);
  if (len > MAX_NAME) return hubc__err(HUBC_ELIMIT, "%s: name longer than %d bytes", what, MAX_NAME);
  if (!hubc__utf8_valid(name, len)) return hubc__err(HUBC_EINVAL, "%s: name is not valid UTF-8", what);
  if (p->d.trigger_filter && (rc = hubc_filter_compile(&p->filter, s, p->d.trigger_filter))) {
    char msg[400];
    snprintf(msg, sizeof msg, "%s", hubc_error_last());
    return hubc__err(rc, "%s: trigger filter: %s", what, msg); /* the parser's message names the position */
  }
  return 0;
}

/* Opens the call: "edit workflows" (a user), W1, and P2 when the new
 * definition adds status actions (W4). Checks run in that order so a
 * refusal reveals nothing about ids. */
static int op_begin(hubc_store *s, hubc_id actor, const char *what) {
  int rc = hubc__op_begin(s, actor, HUBC__OP_WORKFLOW_EDIT);
  if (!rc) return 0;
  char msg[400];
  snprintf(msg, sizeof msg, "%s", hubc_error_last());
  return hubc__err(rc, "%s: %s", what, msg);
}

static int begin_edit(hubc_store *s, hubc_id actor, prep *p, const char *what) {
  int rc = op_begin(s, actor, what);
  if (rc) hubc_filter_free(p->filter);
  return rc;
}

/* Its status actions by target: n[0] non-marketing, n[1] marketing. */
static void status_actions(const hubc__wf *w, size_t n[2]) {
  n[0] = n[1] = 0;
  for (uint32_t i = 0; i < w->n_acts; i++)
    if (w->acts[i].type == HUBC_WF_SET_STATUS) n[w->acts[i].marketing]++;
}

HUBC_API int hubc_workflow_create(hubc_id *out_id, hubc_store *s, hubc_id actor, const hubc_workflow_def *def) {
  const char *what = "create workflow";
  if (out_id) *out_id = 0;
  prep p;
  int rc = prepare(&p, s, def, what);
  if (rc || (rc = begin_edit(s, actor, &p, what))) return rc;
  hubc__workflows *a = &s->workflows;
  hubc__wf w = {0};
  size_t n_status = 0;
  rc = tier_check(s, what);
  if (!rc) rc = hubc__grow(s->base, (void **)&a->v, &a->cap, a->n + 1, sizeof *a->v);
  if (!rc) rc = hubc__txn_reserve(s, 1);
  if (!rc) rc = build(s, &p.d, &w, &n_status, what);
  if (!rc && n_status) rc = hubc__op_check(s, HUBC__OP_WORKFLOW_STATUS_ACTION);
  if (!rc && !(w.name = hubc__pool_strdup(s->base, p.d.name, strlen(p.d.name))))
    rc = hubc__err(HUBC_ENOMEM, "out of memory");
  hubc_id id = (hubc_id)a->n + 1;
  if (rc) hubc_filter_free(p.filter);
  else rc = attach_filter(s, id, &w, p.filter);
  if (!rc) {
    memset(&a->v[id - 1], 0, sizeof *a->v);
    a->n++; /* undone by restoring n */
    hubc__wf_put(s, id, &w);
  }
  rc = hubc__write_end(s, rc);
  if (!rc && out_id) *out_id = id;
  return rc;
}

static int live_wf(hubc_store *s, hubc_id id, const char *what) {
  const hubc__wf *w = hubc__wf_at(s, id);
  if (!w) return hubc__err(HUBC_ENOTFOUND, "%s: no workflow with id %lld", what, (long long)id);
  if (w->deleted) return hubc__err(HUBC_ENOTFOUND, "%s: workflow %lld ('%s') was deleted", what, (long long)id, w->name);
  return 0;
}

HUBC_API int hubc_workflow_update(hubc_store *s, hubc_id actor, hubc_id id, const hubc_workflow_def *def) {
  const char *what = "update workflow";
  prep p;
  int rc = prepare(&p, s, def, what);
  if (rc || (rc = begin_edit(s, actor, &p, what))) return rc;
  rc = live_wf(s, id, what);
  if (!rc && s->workflows.v[id - 1].active)
    rc = hubc__err(HUBC_EINVAL, "%s: workflow %lld is active; deactivate it before editing (W7)", what, (long long)id);
  if (!rc) rc = hubc__txn_reserve(s, 1);
  hubc__wf w = {0};
  size_t n_status = 0;
  if (!rc) {
    w = s->workflows.v[id - 1];
    rc = build(s, &p.d, &w, &n_status, what);
  }
  if (!rc && n_status) { /* W4: adding one, or turning one into the other target */
    size_t was[2], now[2];
    status_actions(&s->workflows.v[id - 1], was);
    status_actions(&w, now);
    if (now[0] > was[0] || now[1] > was[1]) rc = hubc__op_check(s, HUBC__OP_WORKFLOW_STATUS_ACTION);
  }
  if (!rc && !(w.name = hubc__pool_strdup(s->base, p.d.name, strlen(p.d.name))))
    rc = hubc__err(HUBC_ENOMEM, "out of memory");
  if (!rc) rc = hubc__enr_end_all(s, (uint32_t)id, "workflow edited");
  if (rc) hubc_filter_free(p.filter);
  else rc = attach_filter(s, id, &w, p.filter);
  if (!rc) hubc__wf_put(s, id, &w);
  return hubc__write_end(s, rc);
}

static int set_active(hubc_store *s, hubc_id actor, hubc_id id, int on, const char *what) {
  if (!s) return hubc__err(HUBC_EINVAL, "%s: store is NULL", what);
  int rc = op_begin(s, actor, what);
  if (rc) return rc;
  if (on) rc = tier_check(s, what);
  if (!rc) rc = live_wf(s, id, what);
  if (!rc) rc = hubc__txn_reserve(s, 1);
  if (!rc && s->workflows.v[id - 1].active != on) {
    hubc__wf w = s->workflows.v[id - 1];
    w.active = on && 1;
    hubc__wf_put(s, id, &w);
    if (on) rc = hubc__engine_activated(s, (uint32_t)id);
  }
  return hubc__write_end(s, rc);
}

HUBC_API int hubc_workflow_activate(hubc_store *s, hubc_id actor, hubc_id id) {
  return set_active(s, actor, id, 1, "activate workflow");
}

HUBC_API int hubc_workflow_deactivate(hubc_store *s, hubc_id actor, hubc_id id) {
  return set_active(s, actor, id, 0, "deactivate workflow");
}

HUBC_API int hubc_workflow_delete(hubc_store *s, hubc_id actor, hubc_id id) {
  const char *what = "delete workflow";
  if (!s) return hubc__err(HUBC_EINVAL, "%s: store is NULL", what);
  int rc = op_begin(s, actor, what);
  if (rc) return rc;
  rc = live_wf(s, id, what);
  if (!rc) rc = hubc__txn_reserve(s, 1);
  if (!rc) rc = hubc__enr_end_all(s, (uint32_t)id, "workflow deleted");
  if (!rc) {
    hubc__wf w = s->workflows.v[id - 1];
    w.deleted = 1;
    w.active = 0;
    attach_filter(s, id, &w, NULL); /* frees the trigger filter at commit */
    hubc__wf_put(s, id, &w);
  }
  return hubc__write_end(s, rc);
}

/* ---- host actions and the retry policy (not stored) ------------------------------ */

HUBC_API int hubc_workflow_register_action(hubc_store *s, const char *name, int marketing, hubc_wf_action_fn fn,
                                           void *payload) {
  const char *what = "register workflow action";
  if (!s) return hubc__err(HUBC_EINVAL, "%s: store is NULL", what);
  if (!name || !*name) return hubc__err(HUBC_EINVAL, "%s: name is NULL or empty", what);
  size_t len = strnlen(name, MAX_NAME + 1);
  if (len > MAX_NAME) return hubc__err(HUBC_ELIMIT, "%s: name longer than %d bytes", what, MAX_NAME);
  if (!hubc__utf8_valid(name, len)) return hubc__err(HUBC_EINVAL, "%s: name is not valid UTF-8", what);
  if (marketing != 0 && marketing != 1) return hubc__err(HUBC_EINVAL, "%s: marketing must be 0 or 1", what);
  if (hubc__reentered(s)) return hubc__err(HUBC_EBUSY, "%s: called from a callback of the same store", what);
  int rc = hubc__call_enter(s, what);
  if (rc) return rc;
  pthread_rwlock_wrlock(&s->lock);
  hubc__workflows *a = &s->workflows;
  hubc__whost *h = (hubc__whost *)host_find(s, name);
  if (!fn) {
    if (h) {
      hubc__free(s->base, h->name, strlen(h->name) + 1);
      *h = a->hosts[--a->hosts_n];
    }
  } else if (h) {
    h->fn = fn;
    h->payload = payload;
    h->marketing = marketing;
  } else if (hubc__grow(s->base, (void **)&a->hosts, &a->hosts_cap, a->hosts_n + 1, sizeof *a->hosts) ||
             !(a->hosts[a->hosts_n].name = hubc__alloc(s->base, len + 1))) {
    rc = hubc__err(HUBC_ENOMEM, "out of memory registering a workflow action");
  } else {
    h = &a->hosts[a->hosts_n++];
    memcpy(h->name, name, len + 1);
    h->fn = fn;
    h->payload = payload;
    h->marketing = marketing;
  }
  pthread_rwlock_unlock(&s->lock);
  hubc__call_leave(s);
  return rc ? rc : hubc__ok();
}

HUBC_API int hubc_workflow_set_retry(hubc_store *s, hubc_time first_wait, hubc_time max_wait) {
  const char *what = "set workflow retry";
  if (!s) return hubc__err(HUBC_EINVAL, "%s: store is NULL", what);
  if (first_wait < 0 || max_wait < 0 || first_wait > HUBC__TIME_MAX || max_wait > HUBC__TIME_MAX)
    return hubc__err(HUBC_EINVAL, "%s: waits must be >= 0 seconds (0: default)", what);
  hubc_time f = first_wait ? first_wait : HUBC__WF_FIRST_WAIT, m = max_wait ? max_wait : HUBC__WF_MAX_WAIT;
  if (m < f)
    return hubc__err(HUBC_EINVAL, "%s: max_wait %lld is below first_wait %lld", what, (long long)m, (long long)f);
  if (hubc__reentered(s)) return hubc__err(HUBC_EBUSY, "%s: called from a callback of the same store", what);
  int rc = hubc__call_enter(s, what);
  if (rc) return rc;
  pthread_rwlock_wrlock(&s->lock);
  s->workflows.first_wait = f;
  s->workflows.max_wait = m;
  pthread_rwlock_unlock(&s->lock);
  hubc__call_leave(s);
  return hubc__ok();
}

/* ---- snapshots ----------------------------------------------------------------- */

struct hubc_workflow {
  hubc__base *base; /* the pooled strings live as long as it */
  hubc__schema *schema;
  hubc_id id;
  hubc__wf w;
  hubc_wf_action *acts;
  const hubc_wf_action **act_ptrs;
};

static int snapshot(hubc_workflow **out, hubc_store *s, hubc_id id) {
  const hubc__wf *w = &s->workflows.v[id - 1];
  hubc_workflow *c = hubc__calloc(s->base, sizeof *c);
  if (!c) return hubc__err(HUBC_ENOMEM, "out of memory taking a workflow snapshot");
  size_t n = w->n_acts;
  c->acts = hubc__calloc(s->base, (n + 1) * sizeof *c->acts);
  c->act_ptrs = hubc__calloc(s->base, (n + 1) * sizeof *c->act_ptrs);
  if (!c->acts || !c->act_ptrs) {
    hubc__free(s->base, c->acts, (n + 1) * sizeof *c->acts);
    hubc__free(s->base, c->act_ptrs, (n + 1) * sizeof *c->act_ptrs);
    hubc__free(s->base, c, sizeof *c);
    return hubc__err(HUBC_ENOMEM, "out of memory taking a workflow snapshot");
  }
  hubc__base_ref(s->base);
  hubc__schema_ref(s->schema);
  c->base = s->base;
  c->schema = s->schema;
  c->id = id;
  c->w = *w;
  for (size_t i = 0; i < n; i++) {
    const hubc__wact *x = &w->acts[i];
    hubc_wf_action *a = &c->acts[i];
    a->version = HUBC_WF_ACTION_VERSION;
    a->type = x->type;
    if (x->type == HUBC_WF_SET_STATUS) a->marketing = x->marketing;
    if (x->type == HUBC_WF_SET_PROPERTY) a->property = s->schema->props[x->prop].name, a->value = x->value;
    if (x->type == HUBC_WF_DELAY) {
      if (x->until) a->until = x->secs;
      else a->seconds = x->secs;
    }
    if (x->type == HUBC_WF_HOST) a->name = x->name, a->payload = x->payload;
    if (x->type == HUBC_WF_LIST_ADD || x->type == HUBC_WF_LIST_REMOVE) a->list = x->list;
    c->act_ptrs[i] = a;
  }
  *out = c;
  return 0;
}

HUBC_API int hubc_workflow_get(hubc_workflow **out, hubc_store *s, hubc_id id) {
  if (!out) return hubc__err(HUBC_EINVAL, "get workflow: out is NULL");
  *out = NULL;
  int rc = hubc__read_begin(s);
  if (rc) return rc;
  if (!hubc__wf_at(s, id)) rc = hubc__err(HUBC_ENOTFOUND, "get workflow: no workflow with id %lld", (long long)id);
  else rc = snapshot(out, s, id);
  return hubc__read_end(s, rc);
}

HUBC_API void hubc_workflow_free(hubc_workflow *c) {
  if (!c) return;
  hubc__base *b = c->base;
  size_t n = c->w.n_acts;
  hubc__schema_unref(c->schema);
  hubc__free(b, c->acts, (n + 1) * sizeof *c->acts);
  hubc__free(b, c->act_ptrs, (n + 1) * sizeof *c->act_ptrs);
  hubc__free(b, c, sizeof *c);
  hubc__base_unref(b);
}

static int null_wf(const char *what) { return hubc__err(HUBC_EINVAL, "%s: workflow is NULL", what); }

HUBC_API hubc_id hubc_workflow_id(const hubc_workflow *c) {
  if (!c) return null_wf("workflow id"), 0;
  return hubc__ok(), c->id;
}
HUBC_API const char *hubc_workflow_name(const hubc_workflow *c) {
  if (!c) return null_wf("workflow name"), (const char *)NULL;
  return hubc__ok(), c->w.name;
}
HUBC_API int hubc_workflow_is_active(const hubc_workflow *c) {
  if (!c) return null_wf("workflow active"), -1;
  return hubc__ok(), c->w.active;
}
HUBC_API int hubc_workflow_is_deleted(const hubc_workflow *c) {
  if (!c) return null_wf("workflow deleted"), -1;
  return hubc__ok(), c->w.deleted;
}

HUBC_API int hubc_workflow_definition(hubc_workflow_def *out, const hubc_workflow *c) {
  if (!out) return hubc__err(HUBC_EINVAL, "workflow definition: out is NULL");
  if (!c) return null_wf("workflow definition");
  int rc = hubc__version_check(out->version, HUBC_WORKFLOW_DEF_VERSION, "workflow definition");
  if (rc) return rc;
  hubc_workflow_def d = {HUBC_WORKFLOW_DEF_VERSION, c->w.name, c->w.form, c->w.filter_text, c->w.enroll_existing,
                         c->w.reenroll, c->act_ptrs, c->w.n_acts, c->w.ext_form};
  hubc__version_out(out, &d,
                    out->version == 1 ? HUBC__VERSION_END(hubc_workflow_def, n_actions) : sizeof(hubc_workflow_def));
  return hubc__ok();
}

struct hubc_workflow_iterator {
  hubc_store *store;
  hubc__base *base;
  hubc_id next;
};

HUBC_API int hubc_workflow_iterator_new(hubc_workflow_iterator **out, hubc_store *s) {
  if (!out) return hubc__err(HUBC_EINVAL, "workflow iterator: out is NULL");
  *out = NULL;
  int rc = hubc__read_begin(s);
  if (rc) return rc;
  hubc_workflow_iterator *it = hubc__alloc(s->base, sizeof *it);
  if (!it) return hubc__read_end(s, hubc__err(HUBC_ENOMEM, "out of memory creating a workflow iterator"));
  hubc__base_ref(s->base);
  *it = (hubc_workflow_iterator){s, s->base, 1};
  *out = it;
  return hubc__read_end(s, 0);
}

HUBC_API int hubc_workflow_iterator_next(hubc_workflow **out, hubc_workflow_iterator *it) {
  if (!out || !it) return hubc__err(HUBC_EINVAL, "workflow iterator: NULL argument");
  *out = NULL;
  hubc_store *s = it->store;
  int rc = hubc__read_begin(s);
  if (rc) return rc;
  while ((uint64_t)it->next <= s->workflows.n && !hubc__wf_at(s, it->next)) it->next++;
  if ((uint64_t)it->next > s->workflows.n) {
    hubc__read_end(s, 0);
    return HUBC_ITEROVER;
  }
  rc = snapshot(out, s, it->next++);
  return hubc__read_end(s, rc);
}

HUBC_API void hubc_workflow_iterator_free(hubc_workflow_iterator *it) {
  if (!it) return;
  hubc__base *b = it->base;
  hubc__free(b, it, sizeof *it);
  hubc__base_unref(b);
}

/* ---- the WORKFLOW record kind ------------------------------------------------------ */

enum { T_NAME = 1, T_FLAGS, T_FORM, T_FILTER, T_ACTION /* repeated: see encode_action */, T_EXT_FORM };
enum { F_ACTIVE = 1, F_DELETED = 2, F_EXISTING = 4, F_REENROLL = 8 };

/* An action as "<type digit>a NUL b": SET_STATUS "1<0|1>\0", SET_PROPERTY
 * "2<property name>\0<value>", DELAY "3<s|u>\0<number>", HOST
 * "4<name>\0<payload>", LIST_ADD "5<list id>\0", LIST_REMOVE "6<list id>\0".
 * Properties by name: indexes are the store's. */
static void encode_action(hubc_store *s, hubc__wr *w, const hubc__wact *x) {
  char num[32];
  const char *a = "", *b = "";
  switch (x->type) {
  case HUBC_WF_SET_STATUS: a = x->marketing ? "1" : "0"; break;
  case HUBC_WF_SET_PROPERTY: a = s->schema->props[x->prop].name, b = x->value; break;
  case HUBC_WF_DELAY: a = x->until ? "u" : "s", snprintf(num, sizeof num, "%lld", (long long)x->secs), b = num; break;
  case HUBC_WF_LIST_ADD:
  case HUBC_WF_LIST_REMOVE: snprintf(num, sizeof num, "%u", x->list), a = num; break;
  default: a = x->name, b = x->payload; break;
  }
  size_t la = strlen(a), lb = strlen(b);
  char *buf = hubc__alloc(s->base, la + lb + 4);
  if (!buf) {
    w->failed = 1;
    return;
  }
  buf[0] = (char)('0' + x->type);
  memcpy(buf + 1, a, la + 1);
  memcpy(buf + 2 + la, b, lb);
  hubc__wr_bytes(w, T_ACTION, buf, la + lb + 2);
  hubc__free(s->base, buf, la + lb + 4);
}

static int encode(hubc_store *s, int64_t id, hubc__wr *w) {
  const hubc__wf *x = &s->workflows.v[id - 1];
  hubc__wr_str(w, T_NAME, x->name);
  hubc__wr_num(w, T_FLAGS, (x->active ? F_ACTIVE : 0) | (x->deleted ? F_DELETED : 0) |
                               (x->enroll_existing ? F_EXISTING : 0) | (x->reenroll ? F_REENROLL : 0));
  hubc__wr_num(w, T_FORM, x->form);
  if (x->ext_form) hubc__wr_num(w, T_EXT_FORM, x->ext_form); /* absent in records written before it existed */
  if (x->filter_text) hubc__wr_str(w, T_FILTER, x->filter_text);
  for (uint32_t i = 0; i < x->n_acts; i++) encode_action(s, w, &x->acts[i]);
  return 0;
}

/* Loading keeps each action's text: properties and host actions are
 * resolved once everything is in (finish_load); filters are compiled at
 * the end of the open (hubc__engine_opened). */
typedef struct wf_stage {
  const char ***acts; /* by workflow id - 1: pooled action texts */
  size_t *n, cap;
} wf_stage;

static int load(hubc_loader *l, int64_t id, hubc__rd rd) {
  hubc_store *s = l->s;
  hubc__workflows *a = &s->workflows;
  if (id < 1 || id > 0xffffffLL) return hubc__corrupt(K, id, "bad workflow id");
  wf_stage *st = l->stage[K];
  if (!st) {
    if (!(st = hubc__calloc(s->base, sizeof *st))) return hubc__err(HUBC_ENOMEM, "out of memory loading workflows");
    l->stage[K] = st;
  }
  size_t cap2 = st->cap;
  if (hubc__grow_zeroed(s->base, (void **)&a->v, &a->cap, (size_t)id, sizeof *a->v) ||
      hubc__grow_zeroed(s->base, (void **)&st->acts, &st->cap, (size_t)id, sizeof *st->acts) ||
      hubc__grow_zeroed(s->base, (void **)&st->n, &cap2, st->cap, sizeof *st->n))
    return hubc__err(HUBC_ENOMEM, "out of memory loading workflows");
  hubc__wf w = {0};
  int64_t v;
  uint64_t tag;
  hubc__rd body, again = rd;
  size_t n = 0;
  HUBC__FOR_FIELDS(again, tag, body, K, id) {
    if (tag == T_ACTION) n++;
  }
  if (n > MAX_ACTIONS) return hubc__corrupt(K, id, "too many actions");
  const char **texts = hubc__pool_ptrs(s->base, 2 * n + 1);
  if (!texts) return hubc__err(HUBC_ENOMEM, "out of memory loading workflows");
  size_t k = 0;
  HUBC__FOR_FIELDS(rd, tag, body, K, id) {
    if (tag == T_NAME) {
      if (hubc__ld_pooled(s, body, &w.name, K, id)) return HUBC_ECORRUPT;
    } else if (tag == T_FILTER) {
      if (hubc__ld_pooled(s, body, &w.filter_text, K, id)) return HUBC_ECORRUPT;
    } else if (tag == T_FLAGS || tag == T_FORM || tag == T_EXT_FORM) {
      if (hubc__ld_int(body, &v, K, id)) return HUBC_ECORRUPT;
      if (tag == T_FORM || tag == T_EXT_FORM) {
        if (v < 0) return hubc__corrupt(K, id, "bad form");
        if (tag == T_FORM) w.form = v;
        else w.ext_form = v;
      } else {
        if (v < 0 || v > 15) return hubc__corrupt(K, id, "bad flags");
        w.active = !!(v & F_ACTIVE), w.deleted = !!(v & F_DELETED), w.enroll_existing = !!(v & F_EXISTING),
        w.reenroll = !!(v & F_REENROLL);
      }
    } else if (tag == T_ACTION) { /* kept as two pooled strings "<type>a" and b */
      size_t bl = (size_t)(body.end - body.p);
      const unsigned char *z1 = bl >= 2 ? memchr(body.p + 1, 0, bl - 1) : NULL;
      if (!z1) return hubc__corrupt(K, id, "bad action");
      hubc__rd ra = {body.p, z1}, rb = {z1 + 1, body.end};
      if (hubc__ld_pooled(s, ra, &texts[2 * k], K, id) || hubc__ld_pooled(s, rb, &texts[2 * k + 1], K, id))
        return HUBC_ECORRUPT;
      k++;
    }
  }
  if (!w.name) return hubc__corrupt(K, id, "no name");
  w.n_acts = (uint16_t)n;
  a->v[id - 1] = w;
  st->acts[id - 1] = texts;
  st->n[id - 1] = n;
  if ((uint64_t)id > a->n) a->n = (size_t)id;
  return 0;
}

/* texts: "<type>a" and b. */
static int resolve_action(hubc_store *s, const char *ta, const char *b, hubc__wact *x) {
  const char *a = ta + 1;
  memset(x, 0, sizeof *x);
  x->type = (uint8_t)(ta[0] - '0');
  switch (x->type) {
  case HUBC_WF_SET_STATUS:
    if (strcmp(a, "0") && strcmp(a, "1")) return -1;
    x->marketing = a[0] == '1';
    return 0;
  case HUBC_WF_SET_PROPERTY: {
    int p = hubc__schema_find(s->schema, a);
    if (p < 0 || (s->schema->props[p].flags & HUBC_PROP_READONLY)) return -1;
    x->prop = (uint32_t)p;
    x->value = b;
    return 0;
  }
  case HUBC_WF_DELAY: {
    char *end;
    if (strcmp(a, "s") && strcmp(a, "u")) return -1;
    long long v = strtoll(b, &end, 10);
    if (!*b || *end || v < 0 || (a[0] == 'u' && !hubc__time_ok(v))) return -1;
    x->until = a[0] == 'u';
    x->secs = v;
    return 0;
  }
  case HUBC_WF_HOST:
    if (!*a) return -1;
    x->name = a;
    x->payload = b;
    return 0;
  case HUBC_WF_LIST_ADD:
  case HUBC_WF_LIST_REMOVE: { /* the list may be deleted since: the step fails then (engine.c) */
    char *end;
    unsigned long long v = strtoull(a, &end, 10);
    if (*a < '1' || *a > '9' || *end || *b || v > UINT32_MAX) return -1;
    x->list = (uint32_t)v;
    return 0;
  }
  default:
    return -1;
  }
}

static int finish_load(hubc_loader *l, int rc) {
  hubc_store *s = l->s;
  wf_stage *st = l->stage[K];
  hubc__workflows *a = &s->workflows;
  for (size_t i = 0; !rc && i < a->n; i++) {
    hubc__wf *w = &a->v[i];
    if (!w->name) {
      rc = hubc__corrupt(K, (hubc_id)i + 1, "missing while later workflows exist");
      break;
    }
    if (w->form && !hubc__form_at(s, w->form)) {
      rc = hubc__corrupt(K, (hubc_id)i + 1, "names a form that does not exist");
      break;
    }
    hubc__wact *acts = (hubc__wact *)(void *)hubc__pool_ptrs(s->base, w->n_acts * ACT_PTRS + 1);
    if (!acts) {
      rc = hubc__err(HUBC_ENOMEM, "out of memory loading workflows");
      break;
    }
    for (uint32_t k = 0; !rc && k < w->n_acts; k++)
      if (resolve_action(s, st->acts[i][2 * k], st->acts[i][2 * k + 1], &acts[k]))
        rc = hubc__corrupt(K, (hubc_id)i + 1, "bad action");
    w->acts = acts;
  }
  if (st) {
    hubc__free(s->base, st->acts, st->cap * sizeof *st->acts);
    hubc__free(s->base, st->n, st->cap * sizeof *st->n);
    hubc__free(s->base, st, sizeof *st);
    l->stage[K] = NULL;
  }
  return rc;
}

static int dump(const hubc_store *s, hubc__out *o) {
  const hubc__workflows *a = &s->workflows;
  for (size_t i = 0; i < a->n; i++) {
    const hubc__wf *w = &a->v[i];
    if (!w->name) continue;
    hubc__out_printf(o, "workflow %zu active=%d deleted=%d form=%lld existing=%d reenroll=%d actions=", i + 1,
                     w->active, w->deleted, (long long)w->form, w->enroll_existing, w->reenroll);
    for (uint32_t k = 0; k < w->n_acts; k++) {
      const hubc__wact *x = &w->acts[k];
      if (k) hubc__out_put(o, ",", 1);
      switch (x->type) {
      case HUBC_WF_SET_STATUS: hubc__out_printf(o, "status:%d", x->marketing); break;
      case HUBC_WF_SET_PROPERTY:
        hubc__out_printf(o, "set:%s:", s->schema->props[x->prop].name);
        hubc__out_text(o, x->value, 1);
        break;
      case HUBC_WF_DELAY: hubc__out_printf(o, "delay:%s%lld", x->until ? "until:" : "", (long long)x->secs); break;
      case HUBC_WF_LIST_ADD: hubc__out_printf(o, "list-add:%u", x->list); break;
      case HUBC_WF_LIST_REMOVE: hubc__out_printf(o, "list-remove:%u", x->list); break;
      default:
        hubc__out_put(o, "host:", 5);
        hubc__out_text(o, x->name, 1);
        hubc__out_put(o, ":", 1);
        hubc__out_text(o, x->payload, 1);
      }
    }
    if (w->ext_form) hubc__out_printf(o, " external_form=%lld", (long long)w->ext_form);
    hubc__out_put(o, " filter=", 8);
    hubc__out_text(o, w->filter_text ? w->filter_text : "", 1);
    hubc__out_put(o, " name=", 6);
    hubc__out_text(o, w->name, 0);
    hubc__out_put(o, "\n", 1);
  }
  return 0;
}

static void free_area(hubc_store *s) {
  hubc__workflows *a = &s->workflows;
  for (size_t i = 0; i < a->hosts_n; i++) hubc__free(s->base, a->hosts[i].name, strlen(a->hosts[i].name) + 1);
  hubc__free(s->base, a->forms, a->forms_cap * sizeof *a->forms);
  hubc__free(s->base, a->hosts, a->hosts_cap * sizeof *a->hosts);
  hubc__free(s->base, a->v, a->cap * sizeof *a->v);
}
static void txn_begin(hubc_store *s) { s->workflows.n_mark = s->workflows.n; }
static void undo(hubc_store *s, const hubc__undo *u) {
  memcpy(&s->workflows.v[u->id - 1], u->u.bytes, sizeof(hubc__wf));
  s->workflows.forms_fresh = 0;
}
static void txn_rollback(hubc_store *s) {
  s->workflows.n = s->workflows.n_mark;
  s->workflows.forms_fresh = 0;
}

const hubc__kind hubc__kind_workflow = {
    .kind = K,
    .name = "workflow",
    .encode = encode,
    .load = load,
    .finish_load = finish_load,
    .dump = dump,
    .free = free_area,
    .txn_begin = txn_begin,
    .undo = undo,
    .txn_rollback = txn_rollback,
};
