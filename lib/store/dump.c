/* A canonical text dump of the whole store: equal content, equal bytes.
 * Tests compare dumps to prove "nothing changed" and "reopened == written".
 * Each kind writes its own lines (store/kind.h), in table order. */
#include "store/dump.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "store/store.h"

static void flush(hubc__out *o) {
  if (o->n && !o->failed && o->write(o->payload, o->buf, o->n)) o->failed = 1;
  o->n = 0;
}

void hubc__out_put(hubc__out *o, const char *s, size_t len) {
  while (len) {
    if (o->n == sizeof o->buf) flush(o);
    size_t k = sizeof o->buf - o->n < len ? sizeof o->buf - o->n : len;
    memcpy(o->buf + o->n, s, k);
    o->n += k;
    s += k;
    len -= k;
  }
}

void hubc__out_printf(hubc__out *o, const char *fmt, ...) {
  char tmp[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  hubc__out_put(o, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

void hubc__out_text(hubc__out *o, const char *s, int strict) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '\\') hubc__out_put(o, "\\\\", 2);
    else if (c < 0x20 || c == 0x7f || (strict && (c == ' ' || c == '=' || c == '|'))) hubc__out_printf(o, "\\x%02x", c);
    else hubc__out_put(o, (const char *)&c, 1);
  }
}

int hubc__store_check(hubc_store *s) {
  int rc = 0;
  pthread_rwlock_rdlock(&s->lock);
  for (size_t i = 0; i < hubc__kinds_n && !rc; i++)
    if (hubc__kinds[i]->check) rc = hubc__kinds[i]->check(s);
  if (!rc) rc = hubc__sched_check(s);
  pthread_rwlock_unlock(&s->lock);
  return rc;
}

HUBC_API int hubc_store_dump(hubc_store *s, hubc_write_fn write, void *payload) {
  if (!write) return hubc__err(HUBC_EINVAL, "dump: write is NULL");
  int rc = hubc__read_begin(s);
  if (rc) return rc;
  hubc__out *o = hubc__alloc(s->base, sizeof *o);
  if (!o) return hubc__read_end(s, hubc__err(HUBC_ENOMEM, "out of memory dumping the store"));
  o->write = write;
  o->payload = payload;
  o->n = 0;
  o->failed = 0;
  hubc__busy frame; /* the write callback must not re-enter (R6) */
  hubc__busy_enter(&frame, s);
  hubc__out_printf(o, "hubcontacts-dump 1\n");
  for (size_t i = 0; i < hubc__kinds_n && !rc && !o->failed; i++)
    if (hubc__kinds[i]->dump) rc = hubc__kinds[i]->dump(s, o);
  if (!rc) flush(o);
  hubc__busy_leave(&frame);
  if (!rc && o->failed) rc = hubc__err(HUBC_EIO, "dump: the write callback failed");
  hubc__free(s->base, o, sizeof *o);
  return hubc__read_end(s, rc);
}
