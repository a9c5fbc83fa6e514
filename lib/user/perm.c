/* The permission table (user/perm.h). */
#include "user/perm.h"

#include "store/store.h"

#define R(src) (1u << (src))

/* A row at its operation's index (perm.h): the lookup is one load. */
#define ROW(op, ...) [op] = {op, __VA_ARGS__}

const hubc__perm_row hubc__perms[] = {
    ROW(HUBC__OP_CONTACT_CREATE, "create contact", HUBC_PERM_EDIT_CONTACTS, 1, 0, 0, 0, 0, 0),
    ROW(HUBC__OP_CONTACT_CREATE_MARKETING, "create contact as marketing", HUBC_PERM_MARKETING_ACCESS, 1, 0,
     HUBC_SOURCE_MANUAL, HUBC__RID_ACTOR, 0 /* SYSTEM: the source's switch decides (D1, P5) */, 0),
    ROW(HUBC__OP_CONTACT_UPDATE, "update contact", HUBC_PERM_EDIT_CONTACTS, 1, 0, 0, 0, 0, 0),
    ROW(HUBC__OP_CONTACT_DELETE, "delete contact", HUBC_PERM_EDIT_CONTACTS, 1, 0, 0, 0, 0, 0),
    ROW(HUBC__OP_SET_MARKETING, "set marketing", HUBC_PERM_MARKETING_ACCESS, 1, 0, HUBC_SOURCE_MANUAL,
     HUBC__RID_ACTOR, R(HUBC_SOURCE_INTEGRATION) | R(HUBC_SOURCE_CHATFLOW), 0),
    ROW(HUBC__OP_SET_NON_MARKETING, "set non-marketing", HUBC_PERM_MARKETING_ACCESS, 1, 0, HUBC_SOURCE_MANUAL,
     HUBC__RID_ACTOR, R(HUBC_SOURCE_INTEGRATION) | R(HUBC_SOURCE_CHATFLOW), 0),
    ROW(HUBC__OP_PROPERTY_DEFINE, "define property", HUBC_PERM_EDIT_CONTACTS, 0, 0, 0, 0, 0, 0),
    ROW(HUBC__OP_USER_CREATE, "create user", HUBC_PERM_MANAGE_USERS, 0, 0, 0, 0, 0, 0),
    ROW(HUBC__OP_USER_SET_PERMISSIONS, "set permissions", HUBC_PERM_MANAGE_USERS, 0, 0, 0, 0, 0, 0),
    ROW(HUBC__OP_USER_SET_SUPER_ADMIN, "set super admin", 0, 0, 1, 0, 0, 0, 0),
    ROW(HUBC__OP_USER_SET_DISABLED, "set disabled", HUBC_PERM_MANAGE_USERS, 0, 0, 0, 0, 0, 0),
    ROW(HUBC__OP_SOURCE_SET_DEFAULT, "set source default", HUBC_PERM_MARKETING_ACCESS, 0, 0, 0, 0, 0, 0),
    ROW(HUBC__OP_REQUEST_DOWNGRADE, "request tier downgrade", HUBC_PERM_MARKETING_ACCESS, 0, 0, 0, 0, 0, 0),
    ROW(HUBC__OP_IMPORT, "import", HUBC_PERM_IMPORT, 1, 0, 0, 0, 0, 0),
    ROW(HUBC__OP_IMPORT_MARKETING, "import as marketing", HUBC_PERM_MARKETING_ACCESS, 1, 0, HUBC_SOURCE_IMPORT,
     HUBC__RID_RECORD, 0, 0),
    ROW(HUBC__OP_WORKFLOW_EDIT, "edit workflow", HUBC_PERM_EDIT_WORKFLOWS, 0, 0, 0, 0, 0, 0),
    /* the status changes themselves are the engine's, as SYSTEM with (WORKFLOW, workflow id) */
    ROW(HUBC__OP_WORKFLOW_STATUS_ACTION, "add a set marketing contact status action", HUBC_PERM_MARKETING_ACCESS, 0, 0,
        0, 0, 0, 0),
    ROW(HUBC__OP_FORM_CREATE, "create form", HUBC_PERM_EDIT_CONTACTS, 0, 0, 0, 0, 0, 0),
    ROW(HUBC__OP_FORM_UPDATE, "update form", HUBC_PERM_EDIT_CONTACTS, 0, 0, 0, 0, 0, 0),
    ROW(HUBC__OP_FORM_SET_MARKETING, "set form marketing switch", HUBC_PERM_MARKETING_ACCESS, 0, 0, 0, 0, 0, 0),
    ROW(HUBC__OP_FORM_DELETE, "delete form", HUBC_PERM_EDIT_CONTACTS, 0, 0, 0, 0, 0, 0),
    ROW(HUBC__OP_FORM_SUBMIT, "submit form", 0, 1, 0, HUBC_SOURCE_FORM, HUBC__RID_RECORD, 0, 1),
    ROW(HUBC__OP_FORM_SUBMIT_EXTERNAL, "submit external form", 0, 1, 0, HUBC_SOURCE_EXTERNAL_FORM, HUBC__RID_RECORD,
        0, 1),
    /* a user's selection: no SYSTEM path does bulk actions */
    ROW(HUBC__OP_BULK_SET_MARKETING, "bulk set marketing", HUBC_PERM_MARKETING_ACCESS, 0, 0, HUBC_SOURCE_BULK,
        HUBC__RID_ACTOR, 0, 0),
    ROW(HUBC__OP_BULK_SET_NON_MARKETING, "bulk set non-marketing", HUBC_PERM_MARKETING_ACCESS, 0, 0, HUBC_SOURCE_BULK,
        HUBC__RID_ACTOR, 0, 0),
    /* lists and views are configuration: users only; members of a static
     * list change by SYSTEM too (a workflow's "add to static list", W2) */
    ROW(HUBC__OP_LIST_DEFINE, "define lists and views", HUBC_PERM_EDIT_CONTACTS, 0, 0, 0, 0, 0, 0),
    ROW(HUBC__OP_LIST_MEMBERS, "change list members", HUBC_PERM_EDIT_CONTACTS, 1, 0, 0, 0, 0, 0),
};
const size_t hubc__perms_n = sizeof hubc__perms / sizeof *hubc__perms;
_Static_assert(sizeof hubc__perms / sizeof *hubc__perms == HUBC__OP_COUNT, "one row per operation");

/* What the permission alone does not say: SYSTEM, super admins. Checked
 * before any lookup: a refusal must not reveal which ids exist. */
static int check_role(hubc_store *s, const hubc__perm_row *r) {
  int rc = r->system ? 0 : hubc__require_user(s, r->what);
  if (!rc && r->super_admin && s->txn.actor != HUBC_SYSTEM && !hubc__user_at(s, s->txn.actor)->super_admin)
    rc = hubc__err(HUBC_EPERM, "%s: only super admins may do this", r->what);
  return rc;
}

int hubc__op_begin_role(hubc_store *s, const hubc__perm_row *r) {
  int rc = check_role(s, r);
  return rc ? hubc__write_end(s, rc) : 0;
}

typedef struct op_run {
  const hubc__perm_row *row;
  hubc__change_fn change;
  void *ctx;
} op_run;

static int op_change(hubc_store *s, void *p) {
  const op_run *o = p;
  int rc = check_role(s, o->row);
  return rc ? rc : o->change(s, o->ctx);
}

int hubc__op_run(hubc_store *s, hubc_id actor, int op, hubc__change_fn change, void *ctx, hubc__plan *plan) {
  op_run o = {hubc__perm_row_of(op), change, ctx};
  return hubc__run(s, actor, o.row->perm, o.row->what, op_change, &o, plan);
}

int hubc__op_check(hubc_store *s, int op) {
  const hubc__perm_row *r = hubc__perm_row_of(op);
  int rc = hubc__require(s, r->perm, r->what);
  return rc ? rc : check_role(s, r);
}

/* Reasons written only by their own paths, never named by a caller. */
static const char *own_path(int type) {
  switch (type) {
  case HUBC_SOURCE_FORM: return "form submissions";
  case HUBC_SOURCE_IMPORT: return "imports";
  case HUBC_SOURCE_WORKFLOW: return "workflow actions";
  case HUBC_SOURCE_BULK: return "bulk actions";
  case HUBC_SOURCE_UPDATE_DATE: return "the update date (M5)";
  default: return NULL;
  }
}

int hubc__op_reason_other(int op, hubc_id actor, int asked_type, hubc_id asked_id, int *type, hubc_id *id) {
  const hubc__perm_row *r = hubc__perm_row_of(op);
  const char *name = hubc_source_name(asked_type), *path = own_path(asked_type);
  if (!name) return hubc__err(HUBC_EINVAL, "%s: reason type %d is not a source of change", r->what, asked_type);
  if (path)
    return hubc__err(HUBC_EINVAL, "%s: reason %s is recorded only by %s, never named by a caller", r->what, name,
                     path);
  if (actor == HUBC_SYSTEM) {
    if (asked_type < 0 || asked_type > 31 || !(r->system_reasons & R(asked_type)))
      return hubc__err(HUBC_EINVAL, "%s: SYSTEM records INTEGRATION or CHATFLOW (the connected app), not %s",
                       r->what, name);
    if (asked_id <= 0)
      return hubc__err(HUBC_EINVAL, "%s: reason id %lld is invalid for %s (the app's id, > 0)", r->what,
                       (long long)asked_id, name);
    *type = asked_type;
    *id = asked_id;
    return 0;
  }
  return hubc__err(HUBC_EINVAL, "%s: a user's change records %s, not %s (the other reasons belong to SYSTEM or to "
                   "their own calls)", r->what, hubc_source_name(r->reason), name);
}
