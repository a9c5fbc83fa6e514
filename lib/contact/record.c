#include "contact/record.h"

#include <stddef.h>
#include <string.h>

size_t hubc__varint_put(unsigned char *w, uint64_t v) {
  size_t n = 0;
  while (v >= 0x80) {
    if (w) w[n] = (unsigned char)(v | 0x80);
    n++;
    v >>= 7;
  }
  if (w) w[n] = (unsigned char)v;
  return n + 1;
}

int hubc__varint_get(const unsigned char *p, size_t len, size_t *pos, uint64_t *v) {
  uint64_t x = 0;
  for (unsigned shift = 0; shift < 64 && *pos < len; shift += 7) {
    unsigned char c = p[(*pos)++];
    if ((shift && c == 0) || (shift == 63 && c > 1)) return -1;
    x |= (uint64_t)(c & 0x7f) << shift;
    if (!(c & 0x80)) {
      *v = x;
      return 0;
    }
  }
  return -1;
}

static uint64_t zigzag(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static int64_t unzigzag(uint64_t u) { return (int64_t)(u >> 1) ^ -(int64_t)(u & 1); }

int hubc__rec_field(const unsigned char *fields, size_t len, size_t pos, hubc__field *f) {
  size_t p = pos;
  uint64_t tag, opt;
  if (hubc__varint_get(fields, len, &p, &tag) || tag >> 1 > 0x7fffffff) return -1;
  f->prop = (uint32_t)(tag >> 1);
  if (tag & 1) {
    if (hubc__varint_get(fields, len, &p, &opt) || opt > 0xffff) return -1;
    f->value = NULL;
    f->option = (uint32_t)opt;
  } else {
    const unsigned char *nul = memchr(fields + p, 0, len - p);
    if (!nul) return -1;
    f->value = (const char *)fields + p;
    f->option = 0;
    p = (size_t)(nul - fields) + 1;
  }
  f->size = p - pos;
  return 0;
}

size_t hubc__rec_put_field(unsigned char *w, uint32_t prop, const char *value, size_t len, int32_t option) {
  size_t n = hubc__varint_put(w, (uint64_t)prop << 1 | (option >= 0));
  if (option >= 0) return n + hubc__varint_put(w ? w + n : NULL, (uint64_t)option);
  if (w) memcpy(w + n, value, len + 1);
  return n + len + 1;
}

/* The read path: records in memory were checked when built or loaded
 * (every string NUL-terminated inside the blob), so this walk skips the
 * bounds checks of hubc__rec_field. */
const char *hubc__rec_get(const hubc__rec *r, const hubc__schema *s, uint32_t prop) {
  const unsigned char *p = hubc__rec_fields(r), *end = p + hubc__rec_flen(r);
  while (p < end) {
    size_t pos = 0;
    uint64_t tag = *p < 0x80 ? *p : 0, option = 0;
    if (*p < 0x80) pos = 1;
    else hubc__varint_get(p, (size_t)(end - p), &pos, &tag);
    p += pos;
    uint32_t fp = (uint32_t)(tag >> 1);
    if (tag & 1) {
      pos = 0;
      hubc__varint_get(p, (size_t)(end - p), &pos, &option);
      p += pos;
    }
    if (fp == prop) {
      if (!(tag & 1)) return (const char *)p;
      const hubc__prop *d = &s->props[prop];
      return option < d->n_options ? d->options[option] : NULL;
    }
    if (fp > prop) return NULL; /* sorted */
    if (!(tag & 1)) p += strlen((const char *)p) + 1;
  }
  return NULL;
}

const char *hubc__rec_email(const hubc__rec *r) {
  const unsigned char *fields = hubc__rec_fields(r);
  if (hubc__rec_flen(r) < 2 || fields[0] != 0) return NULL; /* email is property 0, a string */
  return (const char *)fields + 1;
}

hubc_time hubc__rec_created(const hubc__rec *r) {
  size_t pos = 0;
  uint64_t v = 0;
  hubc__varint_get(r->blob, r->meta, &pos, &v);
  return unzigzag(v);
}

void hubc__rec_source(const hubc__rec *r, int *source, int64_t *source_id) {
  size_t pos = 0;
  uint64_t v = 0;
  hubc__varint_get(r->blob, r->meta, &pos, &v);
  *source = pos < r->meta ? r->blob[pos++] : 0;
  v = 0;
  hubc__varint_get(r->blob, r->meta, &pos, &v);
  *source_id = unzigzag(v);
}

static hubc__rec *rec_alloc(hubc__base *b, size_t meta, size_t flen) {
  size_t len = meta + flen;
  if (len > 0xffffffffu) return NULL;
  hubc__rec *r = hubc__arena_alloc(b, offsetof(hubc__rec, blob) + len);
  if (!r) return NULL;
  if ((uint64_t)(uintptr_t)r >> 48 || (uintptr_t)r % 8) { /* the email index packs 48-bit, 8-aligned addresses */
    hubc__arena_free(b, r, offsetof(hubc__rec, blob) + len);
    return NULL;
  }
  atomic_init(&r->refs, 1);
  r->len = (uint32_t)len;
  r->modified = 0;
  r->id = r->hist = 0;
  r->status = 0;
  r->meta = (uint8_t)meta;
  return r;
}

hubc__rec *hubc__rec_new(hubc__base *b, hubc_time created, int source, int64_t source_id, size_t flen) {
  unsigned char meta[24];
  size_t m = hubc__varint_put(meta, zigzag(created));
  meta[m++] = (unsigned char)source;
  m += hubc__varint_put(meta + m, zigzag(source_id));
  hubc__rec *r = rec_alloc(b, m, flen);
  if (r) memcpy(r->blob, meta, m);
  return r;
}

hubc__rec *hubc__rec_new_like(hubc__base *b, const hubc__rec *like, size_t flen) {
  hubc__rec *r = rec_alloc(b, like->meta, flen);
  if (r) memcpy(r->blob, like->blob, like->meta);
  return r;
}

void hubc__rec_unref(hubc__base *b, hubc__rec *r) {
  if (r && atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) == 1)
    hubc__arena_free(b, r, offsetof(hubc__rec, blob) + r->len);
}
