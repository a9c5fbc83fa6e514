/* The world the generated NULL-argument test (gen_api_null.py) calls into:
 * one fresh store per call, with a contact, a second user, snapshots,
 * iterators and a journal, and room for every kind of output. The
 * generator names these fields; a new public type needs a field here and
 * a row in the generator's table. */
#ifndef HUBC_API_NULL_FIXTURE_H
#define HUBC_API_NULL_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

#include <cmocka.h>

#include "hubcontacts.h"
#include "testutil.h"

typedef struct fx {
  tu_clock clk;
  hubc_store *store;
  hubc_id contact_id, user2;
  hubc_contact *contact;
  hubc_user *user;
  hubc_contact_iterator *citer;
  hubc_user_iterator *uiter;
  hubc_period_iterator *piter;
  hubc_history_iterator *hiter;
  hubc_journal *journal;
  hubc_import *import; /* planned from csv: one good row, one bad */
  hubc_id form_id;
  hubc_form *form;
  hubc_form_iterator *fiter;
  hubc_submission_iterator *siter;
  hubc_filter *filter; /* "email IS KNOWN" */
  hubc_id workflow_id; /* inactive; workflow 2 is active with the contact enrolled (enrollment 1) */
  hubc_workflow *workflow;
  hubc_workflow_iterator *witer;
  hubc_enrollment_iterator *eiter;
  hubc_wf_log_iterator *liter;
  hubc_workflow_def wdef;
  hubc_query_options qopts;
  hubc_query_iterator *qiter;
  hubc_selection sel; /* the filter */
  hubc_id list_id, view_id; /* a static list holding the contact; a view "everyone" */
  hubc_id active_list_id;   /* an active list */
  hubc_id members[1];       /* the contact */
  hubc_list *list;
  hubc_view *view;
  int required[1];
  hubc_loader *loader; /* set inside a load callback */
  char dir[64], jpath[96], newpath[96], csv[96];
  const char *files[1];
  hubc_store_options sopts;
  hubc_create_options copts;
  hubc_journal_options jopts;
  hubc_import_options iopts;
  unsigned char bytes[8];
  /* outputs */
  hubc_store *o_store;
  hubc_contact *o_contact;
  hubc_user *o_user;
  hubc_contact_iterator *o_citer;
  hubc_user_iterator *o_uiter;
  hubc_period_iterator *o_piter;
  hubc_history_iterator *o_hiter;
  hubc_journal *o_journal;
  hubc_import *o_import;
  hubc_form *o_form;
  hubc_form_iterator *o_fiter;
  hubc_submission_iterator *o_siter;
  hubc_submission sub;
  hubc_workflow *o_workflow;
  hubc_workflow_iterator *o_witer;
  hubc_enrollment_iterator *o_eiter;
  hubc_wf_log_iterator *o_liter;
  hubc_workflow_def o_wdef;
  hubc_wf_action o_wact;
  hubc_enrollment enr;
  hubc_wf_log wlog;
  hubc_filter *o_filter;
  hubc_query_options o_qopts;
  hubc_query_iterator *o_qiter;
  hubc_selection o_sel;
  hubc_list *o_list;
  hubc_view *o_view;
  hubc_bulk_summary bsum;
  hubc_journal_info jinfo;
  hubc_import_options o_iopts;
  hubc_import_error ierr;
  hubc_import_summary isum;
  hubc_import_record irec;
  hubc_store_options o_sopts;
  hubc_create_options o_copts;
  hubc_journal_options o_jopts;
  hubc_period period;
  hubc_history_entry hist;
  hubc_billing_info binfo;
  hubc_property_info pinfo;
  hubc_id ids[4], id_out[8];
  int int_out[8];
  size_t size_out[8];
  uint64_t u64_out[8];
  const char *str_out[8];
} fx;

/* What one call gave: its return value (pointers as 0/1), the last error. */
typedef struct result {
  long long v;
  int code;
  char msg[512];
} result;

static const char *const fx_names[] = {"email"};
static const char *const fx_values[] = {"new@example.com"};
static const char *const fx_emails[] = {"a@example.com"};
static const char *const fx_options[] = {"one"};
static const char *const fx_labels[] = {"Email"};

static int fx_write(void *payload, const char *data, size_t len) {
  (void)payload, (void)data, (void)len;
  return 0;
}
static void fx_event(void *payload, const hubc_event *e) { (void)payload, (void)e; }
static int fx_wf_action(void *payload, const hubc_wf_call *call) {
  (void)payload, (void)call;
  return 0;
}

static void fx_clear_error(void) {
  hubc_store_options o; /* a call that succeeds clears the last error */
  assert_int_equal(hubc_store_options_init(&o, HUBC_STORE_OPTIONS_VERSION), 0);
}

static void fx_result(result *r, long long v) {
  r->v = v;
  r->code = hubc_error_last_code();
  snprintf(r->msg, sizeof r->msg, "%s", hubc_error_last());
}

static void fx_init_structs(fx *f) {
  assert_int_equal(hubc_store_options_init(&f->sopts, HUBC_STORE_OPTIONS_VERSION), 0);
  f->sopts.clock = tu_clock_fn;
  f->sopts.clock_payload = &f->clk;
  f->sopts.admin_email = "admin@example.com";
  f->sopts.subscription = HUBC_SUBSCRIPTION_PROFESSIONAL; /* workflows (W1) */
  assert_int_equal(hubc_create_options_init(&f->copts, HUBC_CREATE_OPTIONS_VERSION), 0);
  assert_int_equal(hubc_journal_options_init(&f->jopts, HUBC_JOURNAL_OPTIONS_VERSION), 0);
  f->period.version = HUBC_PERIOD_VERSION;
  f->hist.version = HUBC_HISTORY_ENTRY_VERSION;
  f->binfo.version = HUBC_BILLING_INFO_VERSION;
  f->pinfo.version = HUBC_PROPERTY_INFO_VERSION;
  f->ierr.version = HUBC_IMPORT_ERROR_VERSION;
  f->isum.version = HUBC_IMPORT_SUMMARY_VERSION;
  f->irec.version = HUBC_IMPORT_RECORD_VERSION;
  f->sub.version = HUBC_SUBMISSION_VERSION;
  f->jinfo.version = HUBC_JOURNAL_INFO_VERSION;
  f->bsum.version = HUBC_BULK_SUMMARY_VERSION;
  assert_int_equal(hubc_workflow_def_init(&f->wdef, HUBC_WORKFLOW_DEF_VERSION), 0);
  f->wdef.name = "W";
  assert_int_equal(hubc_workflow_def_init(&f->o_wdef, HUBC_WORKFLOW_DEF_VERSION), 0);
  f->o_wact.version = HUBC_WF_ACTION_VERSION;
  f->enr.version = HUBC_ENROLLMENT_VERSION;
  f->wlog.version = HUBC_WF_LOG_VERSION;
  assert_int_equal(hubc_query_options_init(&f->qopts, HUBC_QUERY_OPTIONS_VERSION), 0);
  assert_int_equal(hubc_selection_init(&f->sel, HUBC_SELECTION_VERSION), 0);
  f->required[0] = 1;
  assert_int_equal(hubc_import_options_init(&f->iopts, HUBC_IMPORT_OPTIONS_VERSION), 0);
  f->files[0] = f->csv;
  f->iopts.files = f->files;
  f->iopts.n_files = 1;
  memcpy(f->bytes, "\x01\x00\x00\x00", 4);
}

/* What only some functions need: a journal (it syncs to disk), an import. */
enum { FX_JOURNAL = 1, FX_IMPORT = 2, FX_FORM = 4, FX_WORKFLOW = 8 };

static fx *fx_open(int needs) {
  fx *f = calloc(1, sizeof *f);
  assert_non_null(f);
  f->clk.now = tu_time(2024, 3, 10, 12, 0, 0);
  fx_init_structs(f);
  snprintf(f->dir, sizeof f->dir, "/tmp/hubc_api_null_XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->jpath, sizeof f->jpath, "%s/journal", f->dir);
  snprintf(f->newpath, sizeof f->newpath, "%s/new", f->dir);
  snprintf(f->csv, sizeof f->csv, "%s/in.csv", f->dir);
  FILE *csv = fopen(f->csv, "w");
  assert_non_null(csv);
  fputs("email,firstname\nb@example.com,B\nnot-an-email,C\n", csv);
  fclose(csv);
  assert_int_equal(hubc_store_open(&f->store, &f->sopts), 0);
  f->contact_id = tu_contact(f->store, 1, "a@example.com", "A");
  assert_int_equal(hubc_contact_set_marketing(f->store, 1, f->contact_id, HUBC_SOURCE_MANUAL, 1), 0);
  assert_int_equal(hubc_user_create(&f->user2, f->store, 1, "user2@example.com"), 0);
  assert_int_equal(hubc_contact_get(&f->contact, f->store, f->contact_id), 0);
  assert_int_equal(hubc_user_get(&f->user, f->store, 1), 0);
  assert_int_equal(hubc_contact_iterator_new(&f->citer, f->store, HUBC_SELECT_ALL), 0);
  assert_int_equal(hubc_user_iterator_new(&f->uiter, f->store), 0);
  assert_int_equal(hubc_period_iterator_new(&f->piter, f->store), 0);
  assert_int_equal(hubc_history_iterator_new(&f->hiter, f->store, f->contact_id), 0);
  assert_int_equal(hubc_filter_compile(&f->filter, f->store, "email IS KNOWN"), 0);
  assert_int_equal(hubc_query_iterator_new(&f->qiter, f->store, f->filter, &f->qopts), 0);
  f->sel.filter = f->filter;
  f->members[0] = f->contact_id;
  assert_int_equal(hubc_list_create(&f->list_id, f->store, 1, "fixture list", NULL), 0);
  assert_int_equal(hubc_list_add(NULL, f->store, 1, f->list_id, f->members, 1), 0);
  assert_int_equal(hubc_list_get(&f->list, f->store, f->list_id), 0);
  assert_int_equal(hubc_list_create(&f->active_list_id, f->store, 1, "fixture active list", "email IS KNOWN"), 0);
  assert_int_equal(hubc_view_create(&f->view_id, f->store, 1, "everyone", "email IS KNOWN", "email", 0), 0);
  assert_int_equal(hubc_view_get(&f->view, f->store, f->view_id), 0);
  if (needs & FX_JOURNAL) assert_int_equal(hubc_journal_open(&f->journal, f->jpath, &f->jopts), 0);
  if (needs & FX_IMPORT) assert_int_equal(hubc_import_plan(&f->import, f->store, 1, &f->iopts), 0);
  if (needs & FX_FORM) {
    assert_int_equal(hubc_form_create(&f->form_id, f->store, 1, "Contact us", fx_names, NULL, NULL, 1), 0);
    assert_int_equal(hubc_form_get(&f->form, f->store, f->form_id), 0);
    assert_int_equal(hubc_form_iterator_new(&f->fiter, f->store), 0);
    assert_int_equal(hubc_submission_iterator_new(&f->siter, f->store, f->form_id, 0, 0), 0);
  }
  if (needs & FX_WORKFLOW) {
    hubc_workflow_def d = f->wdef;
    hubc_id active;
    assert_int_equal(hubc_workflow_create(&f->workflow_id, f->store, 1, &f->wdef), 0);
    d.trigger_filter = "email IS KNOWN";
    d.enroll_existing = 1;
    assert_int_equal(hubc_workflow_create(&active, f->store, 1, &d), 0);
    assert_int_equal(hubc_workflow_activate(f->store, 1, active), 0);
    assert_int_equal(hubc_workflow_get(&f->workflow, f->store, f->workflow_id), 0);
    assert_int_equal(hubc_workflow_iterator_new(&f->witer, f->store), 0);
    assert_int_equal(hubc_enrollment_iterator_new(&f->eiter, f->store, 0, 0), 0);
    assert_int_equal(hubc_wf_log_iterator_new(&f->liter, f->store, 1), 0);
  }
  return f;
}

static void fx_rm(const char *dir) { /* the journals' files: no subdirectories */
  DIR *d = opendir(dir);
  if (!d) return;
  for (struct dirent *e; (e = readdir(d));) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    char p[64 + 256 + 2];
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    unlink(p);
  }
  closedir(d);
  rmdir(dir);
}

static void fx_close(fx *f) {
  hubc_contact_iterator_free(f->o_citer);
  hubc_user_iterator_free(f->o_uiter);
  hubc_period_iterator_free(f->o_piter);
  hubc_history_iterator_free(f->o_hiter);
  hubc_contact_free(f->o_contact);
  hubc_user_free(f->o_user);
  hubc_store_close(f->o_store);
  hubc_journal_close(f->o_journal);
  hubc_import_free(f->o_import);
  hubc_form_free(f->o_form);
  hubc_form_iterator_free(f->o_fiter);
  hubc_submission_iterator_free(f->o_siter);
  hubc_query_iterator_free(f->o_qiter);
  hubc_workflow_free(f->o_workflow);
  hubc_workflow_iterator_free(f->o_witer);
  hubc_enrollment_iterator_free(f->o_eiter);
  hubc_wf_log_iterator_free(f->o_liter);
  hubc_workflow_free(f->workflow);
  hubc_workflow_iterator_free(f->witer);
  hubc_enrollment_iterator_free(f->eiter);
  hubc_wf_log_iterator_free(f->liter);
  hubc_filter_free(f->o_filter);
  hubc_list_free(f->o_list);
  hubc_list_free(f->list);
  hubc_view_free(f->o_view);
  hubc_view_free(f->view);
  hubc_query_iterator_free(f->qiter);
  hubc_filter_free(f->filter);
  hubc_form_free(f->form);
  hubc_form_iterator_free(f->fiter);
  hubc_submission_iterator_free(f->siter);
  hubc_import_free(f->import);
  hubc_contact_iterator_free(f->citer);
  hubc_user_iterator_free(f->uiter);
  hubc_period_iterator_free(f->piter);
  hubc_history_iterator_free(f->hiter);
  hubc_contact_free(f->contact);
  hubc_user_free(f->user);
  hubc_store_close(f->store);
  hubc_journal_close(f->journal);
  fx_rm(f->dir);
  free(f);
}

/* ---- functions that need a loader: called inside a load callback ---- */

typedef void (*fx_call_fn)(fx *f, int null_at, result *r);

typedef struct fx_in_load {
  fx *f;
  fx_call_fn call;
  int null_at;
  result *r;
} fx_in_load;

static int fx_load_cb(void *userdata, hubc_loader *loader) {
  fx_in_load *c = userdata;
  c->f->loader = loader;
  c->call(c->f, c->null_at, c->r);
  c->f->loader = NULL;
  return 0;
}

/* Runs call inside the load callback of a store being opened. */
static void fx_run_in_load(fx *f, fx_call_fn call, int null_at, result *r) {
  fx_in_load c = {f, call, null_at, r};
  hubc_persist p = {0};
  p.version = HUBC_PERSIST_VERSION;
  p.userdata = &c;
  p.load = fx_load_cb;
  hubc_store_options o = f->sopts;
  o.persist = &p;
  hubc_store *s = NULL;
  int rc = hubc_store_open(&s, &o); /* fails when a put failed (sticky): fine */
  (void)rc;
  hubc_store_close(s);
}

#endif
