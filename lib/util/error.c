#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/text.h"

static _Thread_local char last_msg[512];
static _Thread_local int last_code;

/* Messages quote caller input and may be cut at any byte: replace every
 * byte that is not part of a valid UTF-8 sequence with '?', so a message is
 * always valid text (R5). */
static void repair_utf8(char *m) {
  for (size_t i = 0, n = strlen(m); i < n;) {
    size_t k = 1;
    while (k <= 4 && i + k <= n && !hubc__utf8_valid(m + i, k)) k++;
    if (k > 4 || i + k > n) m[i++] = '?';
    else i += k;
  }
}

int hubc__err(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_msg, sizeof last_msg, fmt, ap);
  va_end(ap);
  repair_utf8(last_msg);
  last_code = code;
  return code;
}

int hubc__ok(void) {
  last_msg[0] = '\0';
  last_code = 0;
  return 0;
}


const char *hubc_error_last(void) { return last_msg; }
int hubc_error_last_code(void) { return last_code; }

const char *hubc_strerror(int code) {
  switch (code) {
  case HUBC_OK: return "success";
  case HUBC_ITEROVER: return "iteration over";
  case HUBC_EINVAL: return "invalid argument";
  case HUBC_ENOMEM: return "out of memory";
  case HUBC_ENOTFOUND: return "not found";
  case HUBC_EEXISTS: return "already exists";
  case HUBC_EREADONLY: return "read-only property";
  case HUBC_ELIMIT: return "limit exceeded";
  case HUBC_EPERM: return "permission denied";
  case HUBC_ECONFIRM: return "confirmation does not match";
  case HUBC_ETIER: return "not available on this subscription";
  case HUBC_EPERSIST: return "persistence failed";
  case HUBC_EAGAIN: return "try again later";
  case HUBC_EBUSY: return "store busy (re-entrant call)";
  case HUBC_ECORRUPT: return "stored data is corrupt";
  case HUBC_EIO: return "input/output error";
  case HUBC_ECANCELED: return "canceled";
  case HUBC_EVERSION: return "unsupported version";
  default: return "unknown error";
  }
}
