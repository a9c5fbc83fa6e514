/* hubcontacts — shared definitions for every public header. */
#ifndef HUBCONTACTS_COMMON_H
#define HUBCONTACTS_COMMON_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__) && __GNUC__ >= 4
#  define HUBC_API __attribute__((visibility("default")))
#else
#  define HUBC_API
#endif

/* Calling convention of callbacks the host passes in (empty on every
 * platform we build for; kept so a future port changes one line). */
#define HUBC_CALLBACK

#ifdef __cplusplus
#  define HUBC_BEGIN_DECLS extern "C" {
#  define HUBC_END_DECLS }
#else
#  define HUBC_BEGIN_DECLS
#  define HUBC_END_DECLS
#endif

HUBC_BEGIN_DECLS

/* Arguments (R4, R5): a NULL pointer argument is refused with HUBC_EINVAL
 * and a message naming it; a function that returns a value rather than a
 * status code then returns 0 or NULL, with hubc_error_last_code() set.
 * Exceptions are documented beside each function as "<name> may be NULL".
 * *_free and *_close accept NULL; a callback's `void *payload` is passed to
 * it unread and may be NULL. tests/api_null checks all of this from the
 * headers. */

/* Record ids (contacts, users, history entries, …): > 0, never reused. */
typedef int64_t hubc_id;
/* UTC seconds since 1970-01-01. */
typedef int64_t hubc_time;

/* The actor of automatic sources (forms, workflows, renewals, integrations).
 * SYSTEM may change data; configuration (switches, users, permissions,
 * schema) is changed only by a user. */
#define HUBC_SYSTEM ((hubc_id)0)

/* Receives bytes written by dump/export calls. Return 0 to continue, any
 * other value stops the call, which then returns HUBC_EIO. */
typedef int (HUBC_CALLBACK *hubc_write_fn)(void *payload, const char *data, size_t len);

/* Allocator hook, shaped like lua_Alloc: new_size == 0 frees ptr (returns
 * NULL); otherwise behaves like realloc, alignment included. old_size is
 * the size previously requested for ptr (0 when ptr is NULL). Returning
 * NULL for new_size > 0 is an allocation failure, which every call reports
 * as HUBC_ENOMEM. */
typedef void *(HUBC_CALLBACK *hubc_alloc_fn)(void *payload, void *ptr,
                                             size_t old_size, size_t new_size);

HUBC_END_DECLS

#endif
