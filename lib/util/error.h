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


#endif
