/* hubcontacts — version. CMake reads the three numbers below: one place. */
#ifndef HUBCONTACTS_VERSION_H
#define HUBCONTACTS_VERSION_H

#include "common.h"

#define HUBC_VERSION_MAJOR 1
#define HUBC_VERSION_MINOR 0
#define HUBC_VERSION_PATCH 0
#define HUBC_VERSION_STRING "1.0.0"
#define HUBC_VERSION_NUMBER \
  (HUBC_VERSION_MAJOR * 10000 + HUBC_VERSION_MINOR * 100 + HUBC_VERSION_PATCH)

HUBC_BEGIN_DECLS

/* The version of the library actually loaded (compare with the macros to
 * detect a header/library mismatch). */
HUBC_API int hubc_version_number(void);
HUBC_API const char *hubc_version_string(void);

HUBC_END_DECLS

#endif
