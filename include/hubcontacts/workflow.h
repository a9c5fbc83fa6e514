/* hubcontacts — contact-based workflows (W1–W7): enrollment triggers,
 * ordered actions (set marketing contact status, set property, delay,
 * host-defined actions), the engine that runs them on hubc_store_tick, and
 * each enrollment's history. Professional and Enterprise stores only. */
#ifndef HUBCONTACTS_WORKFLOW_H
#define HUBCONTACTS_WORKFLOW_H

#include "common.h"
#include "store.h"

HUBC_BEGIN_DECLS

typedef struct hubc_workflow hubc_workflow; /* an immutable snapshot */

enum hubc_wf_action_type {
  HUBC_WF_SET_STATUS = 1,   /* marketing: 1 sets MARKETING (M3), 0 non-marketing (M4); reason (WORKFLOW, id) */
  HUBC_WF_SET_PROPERTY = 2, /* property = value ("" removes it) */
  HUBC_WF_DELAY = 3,        /* seconds > 0 from when the step is reached, or until a time */
  HUBC_WF_HOST = 4,         /* a host action registered by name, handed `payload` */
  HUBC_WF_LIST_ADD = 5,     /* adds the contact to static list `list` (already a member: done) */
  HUBC_WF_LIST_REMOVE = 6   /* removes it from static list `list` (not a member: done) */
};

#define HUBC_WF_ACTION_VERSION 2
/* One action of a workflow. Strings are copied. A version-1 struct ends
 * after `payload` (no list actions). */
typedef struct hubc_wf_action {
  unsigned int version;  /* HUBC_WF_ACTION_VERSION */
  int type;              /* enum hubc_wf_action_type */
  int marketing;         /* SET_STATUS: 1 or 0 */
  const char *property;  /* SET_PROPERTY: internal name or label (not read-only) */
  const char *value;     /* SET_PROPERTY */
  hubc_time seconds;     /* DELAY: a duration (> 0), or 0 with `until` */
  hubc_time until;       /* DELAY: run the next action at this time */
  const char *name;      /* HOST: the registered action's name */
  const char *payload;   /* HOST: handed to the callback; may be NULL */
  /* version 2 */
  hubc_id list;          /* LIST_ADD, LIST_REMOVE: a live static list (S2) */
} hubc_wf_action;
HUBC_API int hubc_wf_action_init(hubc_wf_action *action, unsigned int version);

#define HUBC_WORKFLOW_DEF_VERSION 2
/* A workflow's definition (W2). Any of the triggers may be set; a
 * workflow without one is enrolled into by nothing. Copied by the call.
 * Versions 1 and 2 are accepted; a version-1 struct ends after n_actions. */
typedef struct hubc_workflow_def {
  unsigned int version;       /* HUBC_WORKFLOW_DEF_VERSION */
  const char *name;
  hubc_id trigger_form;       /* > 0: a submission of this form enrolls its contact */
  const char *trigger_filter; /* non-NULL: a contact that starts to meet it is enrolled */
  int enroll_existing;        /* 1: activation enrolls the contacts already meeting the filter */
  int reenroll;               /* 1: a contact whose enrollment ended may be enrolled again (default 0) */
  const hubc_wf_action *const *actions; /* in order */
  size_t n_actions;
  /* version 2 (F6): > 0: a submission of the host's external form with
   * this id (hubc_form_submit_external) enrolls its contact */
  hubc_id trigger_external_form;
} hubc_workflow_def;
HUBC_API int hubc_workflow_def_init(hubc_workflow_def *def, unsigned int version);

/* Creates an inactive workflow (W1: HUBC_ETIER on a STARTER store). Needs a
 * user with "edit workflows"; a "set marketing contact status" action also
 * needs P2 (W4). Every action is checked here: an error names the action
 * (its index) and nothing is created. out_id may be NULL. */
HUBC_API int hubc_workflow_create(hubc_id *out_id, hubc_store *store, hubc_id actor, const hubc_workflow_def *def);
/* Replaces the definition of an inactive workflow (an active one is
 * refused: deactivate it first). Its unfinished enrollments end ("workflow
 * edited"): their positions named actions of the old definition. Adding a
 * status action needs P2, as for create. */
HUBC_API int hubc_workflow_update(hubc_store *store, hubc_id actor, hubc_id workflow_id,
                                  const hubc_workflow_def *def);
/* Activates (W1: HUBC_ETIER on STARTER): triggers start enrolling, paused
 * enrollments resume (a delay that has passed runs at the next tick), and
 * with enroll_existing the contacts already meeting the trigger filter are
 * enrolled. Deactivating stops its enrollments where they are (W7). */
HUBC_API int hubc_workflow_activate(hubc_store *store, hubc_id actor, hubc_id workflow_id);
HUBC_API int hubc_workflow_deactivate(hubc_store *store, hubc_id actor, hubc_id workflow_id);
/* Deletes: unfinished enrollments end ("workflow deleted"); the workflow,
 * its enrollments and their histories stay readable (W7). */
HUBC_API int hubc_workflow_delete(hubc_store *store, hubc_id actor, hubc_id workflow_id);

/* A snapshot (deleted workflows too); free with hubc_workflow_free. */
HUBC_API int hubc_workflow_get(hubc_workflow **out, hubc_store *store, hubc_id workflow_id);
HUBC_API void hubc_workflow_free(hubc_workflow *workflow);
HUBC_API hubc_id hubc_workflow_id(const hubc_workflow *workflow);
HUBC_API const char *hubc_workflow_name(const hubc_workflow *workflow);
HUBC_API int hubc_workflow_is_active(const hubc_workflow *workflow);  /* 1, 0, -1 NULL */
HUBC_API int hubc_workflow_is_deleted(const hubc_workflow *workflow); /* 1, 0, -1 NULL */
/* The definition: strings and the action array borrowed until the snapshot
 * is freed (out->actions points at the snapshot's own actions). */
HUBC_API int hubc_workflow_definition(hubc_workflow_def *out, const hubc_workflow *workflow);

/* Every workflow, deleted ones included, in id order. */
typedef struct hubc_workflow_iterator hubc_workflow_iterator;
HUBC_API int hubc_workflow_iterator_new(hubc_workflow_iterator **out, hubc_store *store);
HUBC_API int hubc_workflow_iterator_next(hubc_workflow **out, hubc_workflow_iterator *it);
HUBC_API void hubc_workflow_iterator_free(hubc_workflow_iterator *it);

/* ---- host actions (W2, W5) ----------------------------------------------- */

#define HUBC_WF_CALL_VERSION 1
/* What a host action is asked to do. (enrollment, step) identifies the
 * step: a host action may be called again for the same step (a retry after
 * it failed, or after a crash before its result was stored), so a host
 * that must act once keys its effect by that pair. */
typedef struct hubc_wf_call {
  unsigned int version; /* HUBC_WF_CALL_VERSION */
  hubc_id workflow, enrollment, contact;
  size_t step;          /* index of the action in the workflow */
  unsigned int attempt; /* 1 on the first call */
  hubc_time time;       /* the store clock at the call */
  const char *name;     /* the action's name */
  const char *payload;  /* the action's payload ("" if none) */
} hubc_wf_call;

/* Runs outside the store lock and any transaction; calls into the same
 * store from it are refused (HUBC_EBUSY). Returns 0 on success; anything
 * else is a failure, retried (W6). A callback that must not block for long
 * enforces its own timeout: the engine waits for it. */
typedef int (HUBC_CALLBACK *hubc_wf_action_fn)(void *payload, const hubc_wf_call *call);

/* Registers (or replaces) a host action; fn may be NULL: removes it. With
 * `marketing` 1, the action skips NON_MARKETING contacts and logs
 * "non-marketing contact" (W5). Registrations are not stored: a host
 * registers its actions after every open (a step naming an unregistered
 * action fails and is retried). */
HUBC_API int hubc_workflow_register_action(hubc_store *store, const char *name, int marketing,
                                           hubc_wf_action_fn fn, void *payload);

/* W6: the wait before the first retry (default 60 s), doubling per failed
 * attempt up to max_wait (default 3600 s). 0 keeps a default. Not stored. */
HUBC_API int hubc_workflow_set_retry(hubc_store *store, hubc_time first_wait, hubc_time max_wait);

/* ---- enrollments and their history ----------------------------------------- */

enum hubc_enrollment_state {
  HUBC_ENROLLMENT_ACTIVE = 1,   /* waiting for its next step (paused while the workflow is inactive) */
  HUBC_ENROLLMENT_FINISHED = 2, /* every action done */
  HUBC_ENROLLMENT_ENDED = 3     /* stopped for good: the reason is its last history entry */
};

#define HUBC_ENROLLMENT_VERSION 1
typedef struct hubc_enrollment {
  unsigned int version; /* set by the caller: HUBC_ENROLLMENT_VERSION */
  hubc_id id, workflow, contact;
  int state;            /* enum hubc_enrollment_state */
  size_t step;          /* the next action to run */
  unsigned int attempts; /* failed attempts of that step so far */
  hubc_time enrolled;
  hubc_time due;        /* ACTIVE: when the next step runs */
} hubc_enrollment;

HUBC_API int hubc_enrollment_get(hubc_enrollment *out, hubc_store *store, hubc_id enrollment_id);

/* Enrollments in id order, of one workflow and/or one contact (0: any). */
typedef struct hubc_enrollment_iterator hubc_enrollment_iterator;
HUBC_API int hubc_enrollment_iterator_new(hubc_enrollment_iterator **out, hubc_store *store, hubc_id workflow_id,
                                          hubc_id contact);
HUBC_API int hubc_enrollment_iterator_next(hubc_enrollment *out, hubc_enrollment_iterator *it);
HUBC_API void hubc_enrollment_iterator_free(hubc_enrollment_iterator *it);

enum hubc_wf_log_event {
  HUBC_WF_LOG_ENROLLED = 1, /* message: what enrolled it ("form 3", "filter", "activation") */
  HUBC_WF_LOG_DONE = 2,     /* the step's action was applied (once) */
  HUBC_WF_LOG_SKIPPED = 3,  /* W5: "non-marketing contact" */
  HUBC_WF_LOG_FAILED = 4,   /* an attempt failed: code, message; retried after `wait` seconds */
  HUBC_WF_LOG_WAITING = 5,  /* a delay: the next step runs at `until` */
  HUBC_WF_LOG_FINISHED = 6,
  HUBC_WF_LOG_ENDED = 7     /* a permanent failure: the message says why */
};

#define HUBC_WF_LOG_VERSION 1
/* A history entry; the message is borrowed until the iterator's next call. */
typedef struct hubc_wf_log {
  unsigned int version; /* set by the caller: HUBC_WF_LOG_VERSION */
  hubc_time time;
  int event;            /* enum hubc_wf_log_event */
  size_t step;
  unsigned int attempt; /* FAILED, DONE: which attempt (1-based) */
  int code;             /* FAILED, ENDED: the error code */
  hubc_time wait;       /* FAILED: seconds until the retry */
  hubc_time until;      /* WAITING */
  const char *message;
} hubc_wf_log;

/* An enrollment's history, oldest first. */
typedef struct hubc_wf_log_iterator hubc_wf_log_iterator;
HUBC_API int hubc_wf_log_iterator_new(hubc_wf_log_iterator **out, hubc_store *store, hubc_id enrollment_id);
HUBC_API int hubc_wf_log_iterator_next(hubc_wf_log *out, hubc_wf_log_iterator *it);
HUBC_API void hubc_wf_log_iterator_free(hubc_wf_log_iterator *it);

HUBC_END_DECLS

#endif
