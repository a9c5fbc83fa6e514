/* Thread-local error reporting shared by every area (R5). */
#ifndef HUBC_UTIL_ERROR_H
#define HUBC_UTIL_ERROR_H

#include "hubcontacts/errors.h"

/* Records code and a printf-style message for hubc_error_last(); returns
 * code so callers can write `return hubc__err(HUBC_EINVAL, "...")`. */
int hubc__err(int code, const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 2, 3)))
#endif
  ;

/* Marks the current call as successful (clears the message). */
int hubc__ok(void);

/* A getter given a NULL handle (R4, R5): sets HUBC_EINVAL "<call>: <arg> is
 * NULL" and returns 0 for the getter to return as its value. */
static inline int hubc__null_arg(const char *call, const char *arg) {
  hubc__err(HUBC_EINVAL, "%s: %s is NULL", call, arg);
  return 0;
}


#endif
