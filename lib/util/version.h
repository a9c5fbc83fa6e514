/* Versioned public structs (DESIGN §3): they grow only by appending fields
 * with a version bump, so a struct of version v holds exactly the fields of
 * versions 1..v. Every struct is checked here, accepting 1..current: a
 * program built against an older header keeps working (libgit2's
 * GIT_ERROR_CHECK_VERSION). A caller's struct is then read or written only
 * up to the end of its own version's last field. */
#ifndef HUBC_UTIL_VERSION_H
#define HUBC_UTIL_VERSION_H

#include <stddef.h>
#include <string.h>

#include "util/error.h"

/* 0 if 1 <= version <= current, else HUBC_EVERSION naming `what` and the
 * accepted range. */
static inline int hubc__version_check(unsigned int version, unsigned int current, const char *what) {
  if (version >= 1 && version <= current) return 0;
  return hubc__err(HUBC_EVERSION, "%s: version %u is not supported (this library reads versions 1 to %u)", what,
                   version, current);
}

/* Bytes of `type` up to the end of `field`: the size of the version whose
 * last field that is. */
#define HUBC__VERSION_END(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))

/* Copies a caller's input struct of an older (or the current) version into
 * a current one: the `n` bytes its version has, the rest zero — the
 * defaults of the fields appended later. Never reads past `n`. */
static inline void hubc__version_in(void *dst, size_t dst_size, const void *src, size_t n) {
  memset(dst, 0, dst_size);
  memcpy(dst, src, n < dst_size ? n : dst_size);
}

/* Copies a filled current struct back to the caller's output struct: only
 * the `n` bytes its version has (the version field itself is the caller's). */
static inline void hubc__version_out(void *dst, const void *src, size_t n) {
  const unsigned int keep = *(const unsigned int *)dst;
  memcpy(dst, src, n);
  *(unsigned int *)dst = keep;
}

#endif
