/* The contact area's part of the store (C1–C6, M6): the current record
 * version of every contact by id, the email index and the counts per
 * status, embedded in struct hubc_store. */
#ifndef HUBC_CONTACT_CONTACTS_H
#define HUBC_CONTACT_CONTACTS_H

#include <stddef.h>
#include <stdint.h>

#include "contact/email_index.h"
#include "contact/record.h"

typedef struct hubc__contacts {
  hubc__rec **recs;  /* current record version by record id; [0] unused */
  size_t cap;        /* entries in recs */
  int64_t next_id;   /* next record id */
  int64_t next_id_mark;
  size_t superseded; /* versions the transaction replaced, released at its commit */
  hubc__eidx eidx;   /* email → current record (contact/email_index.h) */
  uint64_t count[3]; /* contacts per status (M6) */
  uint64_t n;        /* live contacts */
} hubc__contacts;

#endif
