/* hubcontacts — status codes and error messages (R5). */
#ifndef HUBCONTACTS_ERRORS_H
#define HUBCONTACTS_ERRORS_H

#include "common.h"

HUBC_BEGIN_DECLS

/* Every call returns 0 on success or one of these negative codes. The
 * values are part of the ABI: never renumbered, only appended. */
enum hubc_status_code {
  HUBC_OK = 0,
  HUBC_ITEROVER = 1,    /* an iterator is exhausted (not an error) */
  HUBC_EINVAL = -1,     /* bad argument: NULL, bad enum, invalid UTF-8, … */
  HUBC_ENOMEM = -2,     /* allocation failed */
  HUBC_ENOTFOUND = -3,  /* no such contact, user, property, … */
  HUBC_EEXISTS = -4,    /* unique key taken (email, property name) */
  HUBC_EREADONLY = -5,  /* read-only property */
  HUBC_ELIMIT = -6,     /* a size limit or the billable-contact cap */
  HUBC_EPERM = -7,      /* the actor lacks a permission */
  HUBC_ECONFIRM = -8,   /* a confirmation number does not match the plan */
  HUBC_ETIER = -9,      /* not available on the store's subscription */
  HUBC_EPERSIST = -10,  /* a persistence callback failed; nothing changed */
  HUBC_EAGAIN = -11,    /* the persistence backend asks to retry later */
  HUBC_EBUSY = -12,     /* re-entrant call from a callback of the same store */
  HUBC_ECORRUPT = -13,  /* stored data is damaged (offset in the message) */
  HUBC_EIO = -14,       /* an I/O or write callback failed */
  HUBC_ECANCELED = -15, /* the caller cancelled from a callback */
  HUBC_EVERSION = -16   /* unsupported struct or record version */
};

/* A short fixed description of a code ("invalid argument"). Never NULL. */
HUBC_API const char *hubc_strerror(int code);

/* The message of the last failed call on this thread, naming the field,
 * row, position or limit involved. "" when the last call succeeded. The
 * pointer stays valid until the next call on this thread. */
HUBC_API const char *hubc_error_last(void);

/* The code of the last call on this thread (0 after a success). */
HUBC_API int hubc_error_last_code(void);

HUBC_END_DECLS

#endif
