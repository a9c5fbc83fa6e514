/* What the workflow area's files share, and its hooks into other areas:
 * the form submission path enrolls (W2), the store open registers trigger
 * filters as watches (query/watch.h), hubc_store_tick runs the engine (W3). */
#ifndef HUBC_WORKFLOW_ENGINE_H
#define HUBC_WORKFLOW_ENGINE_H

#include <stdint.h>

#include "hubcontacts.h"
#include "workflow/workflows.h"

#define HUBC__WF_FIRST_WAIT 60  /* W6: 1 minute, doubling */
#define HUBC__WF_MAX_WAIT 3600  /* W6: capped at 1 hour */

struct hubc__form;
const struct hubc__form *hubc__form_at(const hubc_store *s, hubc_id id);

/* Workflow `id`, or NULL (workflow.c). */
const hubc__wf *hubc__wf_at(const hubc_store *s, hubc_id id);
/* Replaces workflow `id` inside the transaction (needs a reserved entry). */
void hubc__wf_put(hubc_store *s, hubc_id id, const hubc__wf *w);

/* Registers workflow wf's trigger watch on filter f (a reference is
 * taken): its edges enroll contacts (W2). *out: the watch. */
int hubc__engine_watch(hubc_store *s, uint32_t wf, const char *name, hubc_filter *f, uint32_t *out);

/* Inside a transaction (engine.c). Ends every unfinished enrollment of
 * workflow `wf`, logging `why`. */
int hubc__enr_end_all(hubc_store *s, uint32_t wf, const char *why);
/* Workflow `wf` was just activated: resumes its enrollments, and enrolls
 * the contacts meeting its filter with enroll_existing. */
int hubc__engine_activated(hubc_store *s, uint32_t wf);
/* A submission of form `form` (external: the host's external form, F6)
 * by `contact` (F5, W2). */
int hubc__engine_submission(hubc_store *s, hubc_id form, int external, hubc_id contact);

/* At the end of a store's open, no lock held: compiles the stored trigger
 * filters of workflows not deleted and registers their watches. */
int hubc__engine_opened(hubc_store *s);
/* hubc_store_tick, after applying what was due: runs every ready step,
 * each in its own transaction, host actions outside the lock. */
int hubc__engine_run(hubc_store *s);

#endif
