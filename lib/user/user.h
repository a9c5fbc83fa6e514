/* Users area (P1–P6): internal layout and calls shared with the store. */
#ifndef HUBC_USER_USER_H
#define HUBC_USER_USER_H

#include <stddef.h>
#include <stdint.h>

#include "hubcontacts.h"

#define HUBC__MAX_USERS (1 << 20)

typedef struct hubc__user {
  const char *email; /* pooled, normalized; NULL: no such user */
  uint32_t perms;
  uint8_t super_admin, disabled;
} hubc__user;

typedef struct hubc__users {
  hubc__user *by_id; /* by user id; [0] unused */
  size_t cap;
  int64_t next;      /* next user id */
  int64_t next_mark; /* next at the start of the transaction */
} hubc__users;

int hubc__users_bootstrap(hubc_store *s, const char *admin_email);
const hubc__user *hubc__user_at(const hubc_store *s, hubc_id id);
/* Replaces user `id` inside the transaction (undo, dirty). Needs a
 * reserved entry (hubc__txn_reserve). */
void hubc__txn_user(hubc_store *s, int64_t id, const hubc__user *to);
/* Makes user ids below `next` valid slots (the stored counter at load). */
int hubc__users_extend(hubc_store *s, int64_t next);

#endif
