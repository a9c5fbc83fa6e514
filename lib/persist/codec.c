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

uint64_t hubc__zigzag(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
int64_t hubc__unzigzag(uint64_t u) { return (int64_t)(u >> 1) ^ -(int64_t)(u & 1); }

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

int hubc__rd_varint(hubc__rd *r, uint64_t *v) {
  size_t pos = 0;
  if (hubc__varint_get(r->p, (size_t)(r->end - r->p), &pos, v)) return -1;
  r->p += pos;
  return 0;
}

int hubc__rd_field(hubc__rd *r, uint64_t *tag, hubc__rd *body) {
  if (r->p >= r->end) return 0;
  uint64_t len;
  if (hubc__rd_varint(r, tag) || hubc__rd_varint(r, &len) || len > (uint64_t)(r->end - r->p)) return -1;
  body->p = r->p;
  body->end = r->p + len;
  r->p += len;
  return 1;
}

int hubc__rd_int(hubc__rd body, int64_t *v) {
  uint64_t u;
  if (hubc__rd_varint(&body, &u) || body.p != body.end) return -1;
  *v = hubc__unzigzag(u);
  return 0;
}
