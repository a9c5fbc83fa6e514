/* The form area's part of the store (F1–F6): forms by id and the recorded
 * submissions, embedded in struct hubc_store. */
#ifndef HUBC_FORM_FORMS_H
#define HUBC_FORM_FORMS_H

#include <stddef.h>
#include <stdint.h>

#include "hubcontacts/common.h"

typedef struct hubc__form {
  const char *name;         /* pooled; NULL: no form with this id */
  const uint32_t *props;    /* pooled: each field's property index */
  const char *const *labels; /* pooled */
  const uint8_t *required;  /* pooled */
  uint32_t n_fields;
  uint8_t marketing, deleted;
} hubc__form;

typedef struct hubc__sub {
  hubc_time time;
  int64_t form;         /* form id, or the external form's id */
  const char *values;   /* pooled: n pairs "name\0value\0" */
  uint32_t contact;
  uint16_t n;
  uint8_t external;
} hubc__sub;

typedef struct hubc__forms {
  hubc__form *v;        /* by form id - 1 */
  size_t n, cap, n_mark;
  hubc__sub *subs;      /* by submission id - 1 */
  size_t subs_n, subs_cap, subs_mark;
} hubc__forms;

#endif
