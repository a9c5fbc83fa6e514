/* Encoding records for the persistence callbacks (R1). */
#include "persist/codec.h"

#include <string.h>

#include "store/store.h"

static int room(hubc__wr *w, size_t more) {
  if (w->failed) return -1;
  if (hubc__grow(w->s->base, (void **)&w->s->scratch, &w->s->scratch_cap, w->n + more, 1)) {
    w->failed = 1;
    return -1;
  }
  return 0;
}

void hubc__wr_bytes(hubc__wr *w, unsigned tag, const void *b, size_t len) {
  if (room(w, 20 + len)) return;
  w->n += hubc__varint_put(w->s->scratch + w->n, tag);
  w->n += hubc__varint_put(w->s->scratch + w->n, len);
  if (len) memcpy(w->s->scratch + w->n, b, len);
  w->n += len;
}

void hubc__wr_num(hubc__wr *w, unsigned tag, int64_t v) {
  unsigned char tmp[10];
  hubc__wr_bytes(w, tag, tmp, hubc__varint_put(tmp, hubc__zigzag(v)));
}

void hubc__wr_str(hubc__wr *w, unsigned tag, const char *s) { hubc__wr_bytes(w, tag, s, strlen(s)); }

int hubc__encode(hubc_store *s, int kind, int64_t id, const unsigned char **out, size_t *len) {
  const hubc__kind *k = hubc__kind_get(kind);
  hubc__wr w = {s, 0, 0};
  if (!k || !k->encode) return hubc__err(HUBC_EINVAL, "no encoding for record kind %d", kind);
  if (room(&w, 1)) return hubc__err(HUBC_ENOMEM, "out of memory encoding a record");
  s->scratch[w.n++] = HUBC__FORMAT_VERSION;
  if (k->encode(s, id, &w) == 1) return 1; /* absent */
  if (w.failed) return hubc__err(HUBC_ENOMEM, "out of memory encoding a record");
  *out = s->scratch;
  *len = w.n;
  return 0;
}
