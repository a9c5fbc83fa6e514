/* The workflow area's part of the store (W1–W7): definitions, enrollments
 * with their history, the host actions registered at run time and the
 * engine's ready list; embedded in struct hubc_store. */
#ifndef HUBC_WORKFLOW_WORKFLOWS_H
#define HUBC_WORKFLOW_WORKFLOWS_H

#include <stddef.h>
#include <stdint.h>

#include "hubcontacts/workflow.h"

typedef struct hubc__wact {
  int64_t secs;         /* DELAY: seconds, or the time when `until` */
  const char *value;    /* SET_PROPERTY (pooled) */
  const char *name;     /* HOST (pooled) */
  const char *payload;  /* HOST (pooled, "" if none) */
  uint32_t prop;        /* SET_PROPERTY: property index */
  uint32_t list;        /* LIST_ADD, LIST_REMOVE: list id */
  uint8_t type, marketing, until;
} hubc__wact;

typedef struct hubc__wform {
  int64_t form; /* a form's id; an external form's id negated */
  uint32_t wf;
} hubc__wform;

typedef struct hubc__wf {
  const char *name;         /* pooled; NULL: no workflow with this id */
  const char *filter_text;  /* pooled, or NULL */
  const hubc__wact *acts;   /* pooled */
  int64_t form;             /* trigger form, 0 none */
  int64_t ext_form;         /* trigger external form (the host's id, F6), 0 none */
  uint32_t watch;           /* filter_text's watch (query/watch.h; it owns the compiled filter), 0 none */
  uint16_t n_acts;          /* at most 1000 */
  uint8_t active : 1, deleted : 1, enroll_existing : 1, reenroll : 1; /* fits an undo entry with both forms */
} hubc__wf;

typedef struct hubc__enr {
  hubc_time enrolled, due;
  uint32_t wf, contact;
  uint32_t step, attempt;
  uint32_t log;  /* newest history entry (index + 1) */
  uint32_t prev; /* older enrollment of the same (workflow, contact), id; 0 none */
  uint8_t state; /* enum hubc_enrollment_state */
} hubc__enr;

typedef struct hubc__wlog {
  hubc_time time, wait, until;
  const char *msg; /* pooled */
  uint32_t enr, prev, step, attempt;
  int16_t code;
  uint8_t event;
} hubc__wlog;

typedef struct hubc__whost {
  char *name;
  hubc_wf_action_fn fn;
  void *payload;
  int marketing;
} hubc__whost;

typedef struct hubc__workflows {
  hubc__wf *v; /* by id - 1 */
  size_t n, cap, n_mark;
  hubc__enr *enr; /* by id - 1 */
  size_t enr_n, enr_cap, enr_mark;
  hubc__wlog *log; /* by id - 1 */
  size_t log_n, log_cap, log_mark;
  uint64_t *index; /* (workflow, contact) key -> newest enrollment: open addressing, key 0 empty */
  uint32_t *index_val;
  size_t index_mask, index_n;
  uint32_t *ready; /* enrollments whose timer fired, waiting for the engine */
  size_t ready_head, ready_n, ready_cap, ready_mark;
  struct hubc__wform *forms; /* active workflows with a trigger form, by (form, workflow): W2 */
  size_t forms_n, forms_cap;
  uint8_t forms_fresh;        /* 0: rebuild `forms` from v before use */
  hubc__whost *hosts;
  size_t hosts_n, hosts_cap;
  hubc_time first_wait, max_wait; /* W6 */
} hubc__workflows;

#endif
