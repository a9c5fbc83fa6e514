#include "contact/record.h"

#include <stddef.h>
#include <string.h>

int hubc__rec_field(const unsigned char *blob, size_t len, size_t pos, hubc__field *f) {
  if (pos >= len || len - pos < 2) return -1;
  unsigned v = blob[pos] | (unsigned)blob[pos + 1] << 8;
  f->prop = v & ~HUBC__ENUM_FLAG;
  if (v & HUBC__ENUM_FLAG) {
    if (len - pos < 4) return -1;
    f->value = NULL;
    f->option = blob[pos + 2] | (unsigned)blob[pos + 3] << 8;
    f->size = 4;
    return 0;
  }
  const unsigned char *nul = memchr(blob + pos + 2, 0, len - pos - 2);
  if (!nul) return -1;
  f->value = (const char *)blob + pos + 2;
  f->option = 0;
  f->size = (size_t)(nul - blob) + 1 - pos;
  return 0;
}

const char *hubc__rec_get(const hubc__rec *r, const hubc__schema *s, uint32_t prop) {
  hubc__field f;
  for (size_t pos = 0; pos < r->len; pos += f.size) {
    if (hubc__rec_field(r->blob, r->len, pos, &f)) return NULL;
    if (f.prop == prop) {
      if (f.value) return f.value;
      const hubc__prop *p = &s->props[prop];
      return f.option < p->n_options ? p->options[f.option] : NULL;
    }
    if (f.prop > prop) return NULL; /* sorted */
  }
  return NULL;
}

const char *hubc__rec_email(const hubc__rec *r) {
  if (r->len < 3 || r->blob[0] != 0 || r->blob[1] != 0) return NULL; /* email is property 0 */
  return (const char *)r->blob + 2;
}

size_t hubc__rec_size(const hubc__rec *r) { return offsetof(hubc__rec, blob) + r->len; }

hubc__rec *hubc__rec_alloc(hubc__base *b, size_t blob_len) {
  hubc__rec *r = hubc__alloc(b, offsetof(hubc__rec, blob) + blob_len);
  if (!r) return NULL;
  atomic_init(&r->refs, 1);
  r->len = (uint32_t)blob_len;
  r->created = r->source_id = 0;
  r->source = 0;
  return r;
}

void hubc__rec_unref(hubc__base *b, hubc__rec *r) {
  if (r && atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) == 1)
    hubc__free(b, r, hubc__rec_size(r));
}
