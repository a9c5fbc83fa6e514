/* Bulk "set as marketing" / "set as non-marketing" on a selection (S4, S5):
 * plan and commit run the same change through the transaction's plan mode
 * (store/plan.h), so the dialog's numbers are what the commit does. The
 * selection is evaluated inside the call: a commit re-reads it and checks
 * the typed confirmation against what it selects then. */
#include <string.h>

#include "marketing/billing.h"
#include "marketing/status.h"
#include "query/query.h"
#include "query/watch.h"
#include "store/plan.h"
#include "user/perm.h"
#include "util/text.h"

/* Bytes of a selection of each version (util/version.h). */
static size_t selection_size(unsigned int version) {
  return version == 1 ? HUBC__VERSION_END(hubc_selection, n_ids) : sizeof(hubc_selection);
}

HUBC_API int hubc_selection_init(hubc_selection *sel, unsigned int version) {
  if (!sel) return hubc__err(HUBC_EINVAL, "selection: sel is NULL");
  int rc = hubc__version_check(version, HUBC_SELECTION_VERSION, "selection");
  if (rc) return rc;
  memset(sel, 0, selection_size(version));
  sel->version = version;
  return hubc__ok();
}

/* The unengaged-contacts preset of the clean-up wizard (S5, M8). */
static const char unengaged[] =
  "hs_marketable_status = TRUE AND (hs_email_hard_bounced = TRUE OR hs_email_optout = TRUE)";

HUBC_API const char *hubc_filter_preset_text(int preset) {
  if (preset == HUBC_PRESET_UNENGAGED) return unengaged;
  hubc__err(HUBC_EINVAL, "filter preset: unknown preset %d", preset);
  return NULL;
}

typedef struct bulk {
  const hubc_selection *sel;
  int target; /* 1: M3, 0: M4 */
  int confirm_given;
  uint64_t confirm;
  uint64_t selected;
  uint32_t *ids; /* the selected contacts (each once; contact ids are below 2^32) */
  size_t n_ids, ids_cap;
  size_t n_change; /* of them, those whose status the action changes */
  uint64_t tier_before;
  hubc__outlook outlook; /* billing once the change is applied (what finalize decides by) */
} bulk;

static int will_change(const hubc__rec *r, int target) {
  return target ? r->status != HUBC_MARKETING : r->status == HUBC_MARKETING;
}

/* Room for n more selected ids. */
static int ids_reserve(hubc_store *s, bulk *b, size_t n) {
  if (hubc__grow(s->base, (void **)&b->ids, &b->ids_cap, b->n_ids + n, sizeof *b->ids))
    return hubc__err(HUBC_ENOMEM, "bulk: out of memory selecting %zu contacts", b->n_ids + n);
  return 0;
}

static int add_id(hubc_store *s, bulk *b, int64_t id) {
  int rc = ids_reserve(s, b, 1);
  if (!rc) b->ids[b->n_ids++] = (uint32_t)id, b->selected++;
  return rc;
}

/* Evaluates the selection now: b->selected and b->ids (in id order for a
 * filter or list, in the given order for ids). A filter's selection reads
 * its columns only: the records are read once, by the plan or the commit,
 * a few ahead of their turn (the misses overlap). */
static int select_filter(hubc_store *s, bulk *b, const hubc_filter *f) {
  hubc__qscan q;
  int rc = hubc__qscan_init(&q, s, f, 1); /* write lock held: builds columns */
  if (rc) return rc;
  int64_t end = hubc__id_end(s);
  for (int64_t base = 0; base < end && !rc; base += 64) {
    uint64_t m = hubc__qscan_block(&q, base);
    if (m && !(rc = ids_reserve(s, b, (size_t)__builtin_popcountll(m))))
      for (; m; m &= m - 1) b->ids[b->n_ids++] = (uint32_t)(base + __builtin_ctzll(m));
  }
  b->selected = b->n_ids;
  hubc__qscan_free(&q);
  return rc;
}

/* How far ahead of its turn a selected contact's record is fetched. */
enum { AHEAD = 16 };

static inline const hubc__rec *rec_ahead(const hubc_store *s, const bulk *b, size_t i) {
  if (i + AHEAD < b->n_ids) __builtin_prefetch(s->contacts.recs[b->ids[i + AHEAD]], 1);
  return s->contacts.recs[b->ids[i]];
}

static int select_now(hubc_store *s, bulk *b) {
  const hubc_selection *sel = b->sel;
  int rc = 0;
  if (sel->filter) return select_filter(s, b, sel->filter);
  if (sel->view) { /* the view as it is now (S3) */
    const hubc__qdef *v = hubc__view_def(s, hubc__view_find(s, sel->view));
    if (!v) return hubc__err(HUBC_ENOTFOUND, "bulk: no view named '%.200s'", sel->view);
    return select_filter(s, b, v->f);
  }
  if (sel->list) { /* its members now (S2) */
    const hubc__qdef *l = hubc__list_def(s, sel->list);
    if (!l || l->deleted)
      return hubc__err(HUBC_ENOTFOUND, "bulk: list %lld %s", (long long)sel->list, l ? "was deleted" : "does not exist");
    for (int64_t id = 0; !rc && (id = hubc__watch_next(s, l->watch, id)) != 0;) rc = add_id(s, b, id);
    return rc;
  }
  /* explicit ids: each must name a contact; repeats count once (a bitmap
   * over the id range, not a set of pairs) */
  int64_t end = hubc__id_end(s);
  size_t bytes = (size_t)(end + 7) / 8;
  unsigned char *seen = hubc__calloc(s->base, bytes);
  if (!seen && bytes) return hubc__err(HUBC_ENOMEM, "bulk: out of memory checking %zu ids", sel->n_ids);
  for (size_t i = 0; i < sel->n_ids && !rc; i++) {
    int64_t id = sel->ids[i];
    const hubc__rec *r = hubc__contact_at(s, id);
    if (!r) {
      rc = hubc__err(HUBC_ENOTFOUND, "bulk: ids[%zu]: no contact with record id %lld (deleted or never created)", i,
                     (long long)id);
      break;
    }
    if (seen[id / 8] & (1u << (id % 8))) continue;
    seen[id / 8] |= (unsigned char)(1u << (id % 8));
    rc = add_id(s, b, id);
  }
  hubc__free(s->base, seen, bytes);
  return rc;
}

static int bulk_change(hubc_store *s, void *ctx) {
  bulk *b = ctx;
  b->tier_before = s->billing.bill.tier;
  int rc = select_now(s, b);
  if (rc) return rc;
  if (b->confirm_given && b->confirm != b->selected)
    return hubc__err(HUBC_ECONFIRM,
                     "bulk: the confirmation says %llu contacts but the selection holds %llu now; type %llu to "
                     "confirm; nothing changed",
                     (unsigned long long)b->confirm, (unsigned long long)b->selected,
                     (unsigned long long)b->selected);
  rc = hubc__status_apply_run(s, b->ids, b->n_ids, b->target, HUBC_SOURCE_BULK, s->txn.actor, &b->n_change);
  if (!rc) hubc__billing_outlook(s, &b->outlook);
  return rc;
}

static int check_call(const hubc_bulk_summary *out, int out_required, hubc_store *s, int action,
                      const hubc_selection *sel, const char *what) {
  if (out_required && !out) return hubc__err(HUBC_EINVAL, "%s: out is NULL", what);
  if (out && out->version != HUBC_BULK_SUMMARY_VERSION)
    return hubc__err(HUBC_EVERSION, "%s: summary version %u is not supported (expected %d)", what, out->version,
                     HUBC_BULK_SUMMARY_VERSION);
  if (!s) return hubc__err(HUBC_EINVAL, "%s: store is NULL", what);
  if (action != HUBC_BULK_SET_MARKETING && action != HUBC_BULK_SET_NON_MARKETING)
    return hubc__err(HUBC_EINVAL, "%s: unknown action %d", what, action);
  if (!sel) return hubc__err(HUBC_EINVAL, "%s: selection is NULL", what);
  int rc = hubc__version_check(sel->version, HUBC_SELECTION_VERSION, "selection");
  if (rc) return rc;
  if ((sel->filter != NULL) + (sel->n_ids != 0) + (sel->list != 0) + (sel->view != NULL) > 1)
    return hubc__err(HUBC_EINVAL, "%s: the selection gives more than one of a filter, ids, a list and a view; give one",
                     what);
  if (sel->n_ids && !sel->ids) return hubc__err(HUBC_EINVAL, "%s: ids is NULL with n_ids = %zu", what, sel->n_ids);
  return hubc__filter_check(s, sel->filter, what);
}

/* The plan reads the store only: the selection, then billing decides on
 * the counts its change would move (hubc__write_plan_projected) — what
 * the commit's changes would give, without applying and undoing them. */
static int plan_projected(hubc_store *s, hubc_id actor, int op, bulk *b, hubc__plan *plan) {
  int rc = hubc__op_begin(s, actor, op);
  if (rc) return rc;
  hubc__plan_start(s, plan);
  b->tier_before = s->billing.bill.tier;
  int64_t delta[4] = {0, 0, 0, 0};
  rc = select_now(s, b);
  for (size_t i = 0; !rc && i < b->n_ids; i++) { /* M3 or M4 moves each of those that change */
    const hubc__rec *r = rec_ahead(s, b, i);
    if (!will_change(r, b->target)) continue;
    b->n_change++;
    delta[r->status]--;
    delta[b->target ? HUBC_MARKETING : HUBC_MARKETING_UNTIL_UPDATE]++;
  }
  rc = hubc__write_plan_projected(s, rc, plan, rc ? NULL : delta);
  b->outlook.before = plan->billable_before;
  b->outlook.after = plan->billable_after;
  b->outlook.tier = plan->tier_after;
  b->outlook.cap = plan->cap;
  b->outlook.refused = plan->cap_refused;
  return rc;
}

static void fill(hubc_bulk_summary *out, const bulk *b) {
  unsigned int version = out->version;
  memset(out, 0, sizeof *out);
  out->version = version;
  out->selected = b->selected;
  out->will_change = b->n_change;
  out->unchanged = b->selected - b->n_change;
  out->billable_before = b->outlook.before;
  out->billable_after = b->outlook.after;
  out->tier_before = b->tier_before;
  out->tier_after = b->outlook.tier;
  out->cap = b->outlook.cap;
  out->cap_refused = b->outlook.refused;
}

/* Plans (commit == 0) or commits the action: the same selection, and the
 * same billing decision on the same counts. */
static int run(hubc_bulk_summary *out, hubc_store *s, hubc_id actor, int action, const hubc_selection *given,
               int commit, uint64_t confirm) {
  const char *what = action == HUBC_BULK_SET_MARKETING ? "bulk set marketing" : "bulk set non-marketing";
  hubc_selection cur; /* the caller's version, later fields zero */
  const hubc_selection *sel = NULL;
  if (given && !hubc__version_check(given->version, HUBC_SELECTION_VERSION, "selection")) {
    hubc__version_in(&cur, sizeof cur, given, selection_size(given->version));
    sel = &cur;
  }
  int rc = check_call(out, !commit, s, action, given ? (sel ? sel : given) : NULL, what);
  if (rc) return rc;
  bulk b;
  memset(&b, 0, sizeof b);
  b.sel = sel;
  b.target = action == HUBC_BULK_SET_MARKETING;
  b.confirm_given = commit;
  b.confirm = confirm;
  hubc__plan plan;
  int op = b.target ? HUBC__OP_BULK_SET_MARKETING : HUBC__OP_BULK_SET_NON_MARKETING; /* P2; not SYSTEM */
  if (commit) {
    rc = hubc__op_run(s, actor, op, bulk_change, &b, NULL);
  } else {
    memset(&plan, 0, sizeof plan);
    rc = plan_projected(s, actor, op, &b, &plan);
    if (rc == HUBC_ELIMIT && plan.cap_refused) rc = hubc__ok(); /* an answer of the plan, not its failure */
  }
  if (!rc && out) fill(out, &b);
  hubc__free(s->base, b.ids, b.ids_cap * sizeof *b.ids);
  return rc;
}

HUBC_API int hubc_bulk_plan(hubc_bulk_summary *out, hubc_store *s, hubc_id actor, int action,
                            const hubc_selection *sel) {
  return run(out, s, actor, action, sel, 0, 0);
}

HUBC_API int hubc_bulk_commit(hubc_bulk_summary *out, hubc_store *s, hubc_id actor, int action,
                              const hubc_selection *sel, uint64_t confirm) {
  return run(out, s, actor, action, sel, 1, confirm);
}
