/* hubcontacts — users and permissions (P1–P6). */
#ifndef HUBCONTACTS_USER_H
#define HUBCONTACTS_USER_H

#include "common.h"
#include "store.h"

HUBC_BEGIN_DECLS

enum hubc_permission {
  HUBC_PERM_EDIT_CONTACTS = 1u << 0,
  HUBC_PERM_IMPORT = 1u << 1,
  HUBC_PERM_EDIT_WORKFLOWS = 1u << 2,
  HUBC_PERM_MARKETING_ACCESS = 1u << 3, /* P2 */
  HUBC_PERM_MANAGE_USERS = 1u << 4      /* "add and edit users" */
};
#define HUBC_PERM_ALL 0x1fu
/* What a new user gets (P2: marketing access is on by default). */
#define HUBC_PERM_DEFAULT (HUBC_PERM_EDIT_CONTACTS | HUBC_PERM_IMPORT | \
                           HUBC_PERM_EDIT_WORKFLOWS | HUBC_PERM_MARKETING_ACCESS)

typedef struct hubc_user hubc_user; /* an immutable snapshot */

/* Creates a user with HUBC_PERM_DEFAULT; needs a super admin or
 * MANAGE_USERS. Emails are unique as contact emails are (C3). out_id may
 * be NULL (the id is not wanted). */
HUBC_API int hubc_user_create(hubc_id *out_id, hubc_store *store, hubc_id actor,
                              const char *email);
/* P3: super admins and MANAGE_USERS holders change permissions; only super
 * admins grant or revoke MANAGE_USERS; nobody raises their own rights. */
HUBC_API int hubc_user_set_permissions(hubc_store *store, hubc_id actor,
                                       hubc_id user, unsigned int permissions);
/* Super admins only; the last enabled super admin cannot be removed. */
HUBC_API int hubc_user_set_super_admin(hubc_store *store, hubc_id actor,
                                       hubc_id user, int super_admin);
/* A disabled user's calls are refused (HUBC_EPERM) until re-enabled. */
HUBC_API int hubc_user_set_disabled(hubc_store *store, hubc_id actor, hubc_id user,
                                    int disabled);

HUBC_API int hubc_user_get(hubc_user **out, hubc_store *store, hubc_id id);
HUBC_API int hubc_user_get_by_email(hubc_user **out, hubc_store *store,
                                    const char *email);
HUBC_API void hubc_user_free(hubc_user *user);
HUBC_API hubc_id hubc_user_id(const hubc_user *user);
HUBC_API const char *hubc_user_email(const hubc_user *user);
/* Stored flags; a super admin holds every permission whatever they say. */
HUBC_API unsigned int hubc_user_permissions(const hubc_user *user);
HUBC_API int hubc_user_is_super_admin(const hubc_user *user);
HUBC_API int hubc_user_is_disabled(const hubc_user *user);
/* Whether the user may act with this permission now (1) or not (0). */
HUBC_API int hubc_user_can(const hubc_user *user, unsigned int permission);

typedef struct hubc_user_iterator hubc_user_iterator;
HUBC_API int hubc_user_iterator_new(hubc_user_iterator **out, hubc_store *store);
HUBC_API int hubc_user_iterator_next(hubc_id *out, hubc_user_iterator *it);
HUBC_API void hubc_user_iterator_free(hubc_user_iterator *it);

HUBC_END_DECLS

#endif
