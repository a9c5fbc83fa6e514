/* The table of record kinds (DESIGN §7). Adding a kind: its folder under
 * lib/ defines its hubc__kind row; declare it here and add it to the table.
 * Order matters twice: finish-load runs in this order (a kind may rely on
 * the ones before it: contacts on the schema, history on contacts) and the
 * dump writes sections in it. */
#include <pthread.h>
#include <string.h>

#include "store/store.h"

extern const hubc__kind hubc__kind_meta, hubc__kind_property, hubc__kind_user, hubc__kind_switch,
    hubc__kind_period, hubc__kind_contact, hubc__kind_history, hubc__kind_import,
    hubc__kind_form, hubc__kind_submission, hubc__kind_workflow, hubc__kind_enrollment, hubc__kind_workflow_log,
    hubc__kind_view, hubc__kind_list, hubc__kind_list_members;

const hubc__kind *const hubc__kinds[] = {
    &hubc__kind_meta,   /* marketing/billing_kinds.c: counters, billing state */
    &hubc__kind_property, /* schema/property.c */
    &hubc__kind_user,   /* user/user.c */
    &hubc__kind_switch, /* marketing/source.c */
    &hubc__kind_period, /* marketing/billing_kinds.c */
    &hubc__kind_contact, /* contact/contact_kind.c */
    &hubc__kind_history, /* marketing/history.c */
    &hubc__kind_import, /* import/record.c */
    &hubc__kind_form,   /* form/form.c */
    &hubc__kind_submission, /* form/submit.c: after forms and contacts */
    &hubc__kind_view,   /* query/view.c */
    &hubc__kind_list,   /* query/list.c */
    &hubc__kind_list_members, /* query/list.c: compiles lists and views, evaluates active lists (after contacts; workflows may read lists) */
    &hubc__kind_workflow, /* workflow/workflow.c: after forms */
    &hubc__kind_enrollment, /* workflow/engine.c: after workflows */
    &hubc__kind_workflow_log, /* workflow/engine.c: after enrollments */
};
const size_t hubc__kinds_n = sizeof hubc__kinds / sizeof *hubc__kinds;

_Static_assert(sizeof hubc__kinds / sizeof *hubc__kinds <= HUBC__KIND_LIMIT, "too many record kinds");

/* Table position by kind id (HUBC__KIND_NONE where no row), built once: the
 * transaction layer looks kinds up per change and must not scan the table. */
uint8_t hubc__kind_pos_[HUBC__KIND_LIMIT];
uint64_t hubc__kinds_finalize, hubc__kinds_idle, hubc__kinds_rollback, hubc__kinds_commit, hubc__kinds_begin;
static pthread_once_t pos_once = PTHREAD_ONCE_INIT;

static void build_pos(void) {
  memset(hubc__kind_pos_, HUBC__KIND_NONE, sizeof hubc__kind_pos_);
  for (size_t i = 0; i < hubc__kinds_n; i++) {
    const hubc__kind *k = hubc__kinds[i];
    hubc__kind_pos_[k->kind] = (uint8_t)i;
    if (k->txn_finalize) hubc__kinds_finalize |= 1ull << i;
    if (k->txn_finalize && k->txn_idle) hubc__kinds_idle |= 1ull << i;
    if (k->txn_rollback) hubc__kinds_rollback |= 1ull << i;
    if (k->txn_commit) hubc__kinds_commit |= 1ull << i;
    if (k->txn_begin) hubc__kinds_begin |= 1ull << i;
  }
}

void hubc__kinds_init(void) { pthread_once(&pos_once, build_pos); }

const hubc__kind *hubc__kind_get(int kind) {
  hubc__kinds_init();
  if (kind < 0 || kind >= HUBC__KIND_LIMIT || hubc__kind_pos_[kind] == HUBC__KIND_NONE) return NULL;
  return hubc__kinds[hubc__kind_pos_[kind]];
}

const char *hubc__kind_name(int kind) {
  const hubc__kind *k = hubc__kind_get(kind);
  return k ? k->name : "?";
}
