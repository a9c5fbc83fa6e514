/* hubcontacts — forms and submissions (F1–F6): the default road to
 * marketing status. A submission finds its contact by email or creates it,
 * and with the form's switch on makes it a marketing contact. */
#ifndef HUBCONTACTS_FORM_H
#define HUBCONTACTS_FORM_H

#include "common.h"
#include "store.h"

HUBC_BEGIN_DECLS

typedef struct hubc_form hubc_form; /* an immutable snapshot */

/* Creates a form (F1): a name and its fields in order — the property each
 * fills (internal name or label), the label shown (NULL or "": the
 * property's label) and whether it is required (nonzero). The email field
 * is always present and required: a form without one gets it first. The
 * switch "set contacts created as marketing contacts" starts on (F1, D1).
 * Needs a user (forms are configuration). labels and required may be NULL;
 * out_id may be NULL. */
HUBC_API int hubc_form_create(hubc_id *out_id, hubc_store *store, hubc_id actor, const char *name,
                              const char *const *properties, const char *const *labels,
                              const int *required, size_t n_fields);
/* Replaces the name and the fields. name may be NULL (kept); properties may
 * be NULL (the fields are kept); labels and required may be NULL (as for
 * hubc_form_create). Submissions already recorded keep what they were. */
HUBC_API int hubc_form_update(hubc_store *store, hubc_id actor, hubc_id form_id, const char *name,
                              const char *const *properties, const char *const *labels,
                              const int *required, size_t n_fields);
/* The marketing switch (F4): changing it needs P2 (D2). */
HUBC_API int hubc_form_set_marketing(hubc_store *store, hubc_id actor, hubc_id form_id, int marketing);
/* Deletes a form: later submissions are refused; its recorded submissions
 * stay listable. */
HUBC_API int hubc_form_delete(hubc_store *store, hubc_id actor, hubc_id form_id);

/* A snapshot of a form (deleted ones too); free with hubc_form_free. */
HUBC_API int hubc_form_get(hubc_form **out, hubc_store *store, hubc_id form_id);
HUBC_API void hubc_form_free(hubc_form *form);
HUBC_API hubc_id hubc_form_id(const hubc_form *form);
HUBC_API const char *hubc_form_name(const hubc_form *form);
HUBC_API int hubc_form_marketing(const hubc_form *form);   /* 1 on, 0 off, -1 NULL */
HUBC_API int hubc_form_is_deleted(const hubc_form *form);  /* 1 deleted, 0 not, -1 NULL */
HUBC_API size_t hubc_form_field_count(const hubc_form *form);
/* Field i: its property's internal name, label and required flag; property,
 * label and required may be NULL. Borrowed until the snapshot is freed. */
HUBC_API int hubc_form_field_at(const char **property, const char **label, int *required,
                                const hubc_form *form, size_t index);

/* Every form, deleted ones included, in id order. */
typedef struct hubc_form_iterator hubc_form_iterator;
HUBC_API int hubc_form_iterator_new(hubc_form_iterator **out, hubc_store *store);
/* A snapshot the caller frees; HUBC_ITEROVER at the end. */
HUBC_API int hubc_form_iterator_next(hubc_form **out, hubc_form_iterator *it);
HUBC_API void hubc_form_iterator_free(hubc_form_iterator *it);

/* Submits a form as SYSTEM (P5). names are the form's fields (property
 * names or labels), each at most once; values their text. Validated first
 * (F2): the form exists and is not deleted, every name is a field of the
 * form, required fields are non-empty, the email is valid (C3) and values
 * fit their types (C4); else nothing changes and the error names the
 * field. Then (F3) the contact with that email is updated (non-empty
 * values overwrite) or created with source FORM and the form's id, and
 * (F4) with the switch on becomes MARKETING, reason (FORM, form id), if it
 * was not; with it off a new contact is NON_MARKETING and an existing one
 * keeps its status. A form never lowers a status. The submission is
 * recorded (F5) and raised as a HUBC_EVENT_SUBMISSION event. HARD_CAP
 * refuses it whole (B5). out_contact and out_submission may be NULL. */
HUBC_API int hubc_form_submit(hubc_id *out_contact, hubc_id *out_submission, hubc_store *store,
                              hubc_id form_id, const char *const *names, const char *const *values, size_t n);
/* A non-HubSpot form (F6): any writable properties, source EXTERNAL_FORM
 * with the host's id of the form (> 0), marketing by the store-wide switch
 * (hubc_source_set_default with HUBC_SOURCE_EXTERNAL_FORM, id 0).
 * out_contact and out_submission may be NULL. */
HUBC_API int hubc_form_submit_external(hubc_id *out_contact, hubc_id *out_submission, hubc_store *store,
                                       hubc_id external_form_id, const char *const *names,
                                       const char *const *values, size_t n);

/* A recorded submission (F5). Strings borrowed until the iterator's next
 * call or free. */
#define HUBC_SUBMISSION_VERSION 1
typedef struct hubc_submission {
  unsigned int version; /* set by the caller: HUBC_SUBMISSION_VERSION */
  hubc_id id;
  hubc_id form_id;      /* the form, or the external form's id */
  int external;         /* 1: an external form (F6) */
  hubc_id contact;
  hubc_time time;
  size_t n;             /* values submitted (non-empty ones) */
  const char *const *names;  /* property internal names */
  const char *const *values;
} hubc_submission;

/* Submissions, newest first, of one form (form_id > 0; external 0 or 1
 * says which kind of form) and/or one contact (contact > 0); 0 means any. */
typedef struct hubc_submission_iterator hubc_submission_iterator;
HUBC_API int hubc_submission_iterator_new(hubc_submission_iterator **out, hubc_store *store, hubc_id form_id,
                                          int external, hubc_id contact);
HUBC_API int hubc_submission_iterator_next(hubc_submission *out, hubc_submission_iterator *it);
HUBC_API void hubc_submission_iterator_free(hubc_submission_iterator *it);

HUBC_END_DECLS

#endif
