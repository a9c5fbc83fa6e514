/* The permission table (P1–P6, DESIGN §7): for each operation the
 * permission it needs, whether SYSTEM may do it, and the reason type a
 * status change by it records. Call sites open their transaction through
 * it; the permission-matrix test is generated from it. A new area adds its
 * operations here (import: IMPORT; forms, workflows: SYSTEM with FORM,
 * WORKFLOW; bulk actions: BULK). */
#ifndef HUBC_USER_PERM_H
#define HUBC_USER_PERM_H

#include <stddef.h>
#include <stdint.h>

#include "hubcontacts.h"
#include "store/plan.h"

/* An operation is its row's index in hubc__perms. */
enum hubc__op {
  HUBC__OP_CONTACT_CREATE,
  HUBC__OP_CONTACT_CREATE_MARKETING, /* a create that makes the contact marketing (P2, D1) */
  HUBC__OP_CONTACT_UPDATE,
  HUBC__OP_CONTACT_DELETE,
  HUBC__OP_SET_MARKETING,
  HUBC__OP_SET_NON_MARKETING,
  HUBC__OP_PROPERTY_DEFINE,
  HUBC__OP_USER_CREATE,
  HUBC__OP_USER_SET_PERMISSIONS,
  HUBC__OP_USER_SET_SUPER_ADMIN,
  HUBC__OP_USER_SET_DISABLED,
  HUBC__OP_SOURCE_SET_DEFAULT,
  HUBC__OP_REQUEST_DOWNGRADE,
  HUBC__OP_IMPORT,
  HUBC__OP_IMPORT_MARKETING, /* an import with the marketing option (I6, P2) */
  HUBC__OP_WORKFLOW_EDIT,    /* create, update, (de)activate, delete a workflow (P1) */
  HUBC__OP_WORKFLOW_STATUS_ACTION, /* a workflow definition adding "set marketing contact status" (W4, P2) */
  HUBC__OP_FORM_CREATE,
  HUBC__OP_FORM_UPDATE,
  HUBC__OP_FORM_SET_MARKETING, /* the form's switch (F1, D2: P2) */
  HUBC__OP_FORM_DELETE,
  HUBC__OP_FORM_SUBMIT,          /* the path acts as SYSTEM (P5) */
  HUBC__OP_FORM_SUBMIT_EXTERNAL, /* F6 */
  HUBC__OP_BULK_SET_MARKETING,   /* S4 */
  HUBC__OP_BULK_SET_NON_MARKETING, /* S5 */
  HUBC__OP_LIST_DEFINE,  /* create, rename, delete lists; create, update, rename, delete views (S2, S3) */
  HUBC__OP_LIST_MEMBERS, /* add to / remove from a static list (S2; workflow actions, W2) */
  HUBC__OP_COUNT
};

/* Which id a status change records with the row's reason type. */
enum {
  HUBC__RID_NONE = 0,
  HUBC__RID_ACTOR,
  HUBC__RID_RECORD /* the path's own record: the import (I10), the form (F4) */
};

typedef struct hubc__perm_row {
  int op;
  const char *what;     /* the call in messages */
  unsigned perm;        /* needed by a user (super admins hold all); 0: none */
  uint8_t system;       /* SYSTEM may do it (P5) */
  uint8_t super_admin;  /* only super admins */
  uint8_t reason;       /* reason type a user's status change records (enum hubc_source); 0: none */
  uint8_t reason_id;    /* HUBC__RID_*: the id recorded with it */
  uint32_t system_reasons; /* reason types SYSTEM may name (bit per hubc_source) */
  uint8_t as_system;    /* the call takes no actor: its path acts as SYSTEM (P5) */
} hubc__perm_row;

extern const hubc__perm_row hubc__perms[];
extern const size_t hubc__perms_n;

/* The row of an operation. */
static inline const hubc__perm_row *hubc__perm_row_of(int op) { return &hubc__perms[op]; }

/* hubc__write_begin for an operation: the actor may do it (enabled, the
 * row's permission, SYSTEM only where allowed, super admin where needed).
 * 0 with the call's transaction open, or the error with nothing open.
 * Inline: every call that changes the store opens through it; the rows
 * that need more than the permission (users only, super admins) take
 * hubc__op_begin_role. */
int hubc__write_begin(hubc_store *s, hubc_id actor, unsigned perm, const char *what); /* store/store.h */
int hubc__op_begin_role(hubc_store *s, const hubc__perm_row *r);
static inline int hubc__op_begin(hubc_store *s, hubc_id actor, int op) {
  const hubc__perm_row *r = hubc__perm_row_of(op);
  int rc = hubc__write_begin(s, actor, r->perm, r->what);
  if (rc || (r->system && !r->super_admin)) return rc; /* nothing more to check: the common case */
  return hubc__op_begin_role(s, r);
}

/* hubc__run (store/plan.h) for an operation: its row's checks, then the
 * change (planned when plan is not NULL). */
int hubc__op_run(hubc_store *s, hubc_id actor, int op, hubc__change_fn change, void *ctx, hubc__plan *plan);

/* The same inside an open transaction, for an operation a call may or may
 * not do depending on its arguments (creating as marketing). */
int hubc__op_check(hubc_store *s, int op);

/* The reason a status change by `op` records (M1, M7), stamped by the
 * path: a user records the row's type with its own id (the id a caller
 * passes is not used); SYSTEM names one of the row's system reasons with
 * an id > 0 (the app). Reasons that only their own paths write (FORM,
 * IMPORT, WORKFLOW, BULK, UPDATE_DATE) are refused. 0 or HUBC_EINVAL. */
int hubc__op_reason_other(int op, hubc_id actor, int asked_type, hubc_id asked_id, int *type, hubc_id *id);
static inline int hubc__op_reason(int op, hubc_id actor, int asked_type, hubc_id asked_id, int *type,
                                  hubc_id *id) {
  const hubc__perm_row *r = hubc__perm_row_of(op);
  if (actor == HUBC_SYSTEM || !r->reason || asked_type != r->reason)
    return hubc__op_reason_other(op, actor, asked_type, asked_id, type, id);
  *type = r->reason; /* a user's own reason, the common case */
  *id = actor;       /* the acting user is the reason (M1): a caller cannot name another */
  return 0;
}

#endif
