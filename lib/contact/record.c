#include "contact/record.h"

#include <locale.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "util/text.h"

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

/* Only the last byte can break the shortest-encoding rules (a trailing
 * zero, bits past 64), so they are checked there; *pos moves on success. */
int hubc__varint_get_long(const unsigned char *p, size_t len, size_t *pos, uint64_t *v) {
  uint64_t x = 0;
  size_t i = *pos;
  for (unsigned shift = 0; shift < 64 && i < len; shift += 7) {
    unsigned c = p[i++];
    x |= (uint64_t)(c & 0x7f) << shift;
    if (!(c & 0x80)) {
      if ((shift && c == 0) || (shift == 63 && c > 1)) return -1;
      *pos = i;
      *v = x;
      return 0;
    }
  }
  return -1;
}

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

/* ---- the index (layout in record.h) ------------------------------------- */

typedef struct ix {
  const unsigned char *fields;
  size_t flen, w, k, t;
  const unsigned char *vals, *toffs, *cks; /* typed values, their offsets, checkpoints */
} ix;

static void ix_of(const hubc__rec *r, ix *x) {
  const unsigned char *end = r->blob + r->len;
  x->fields = hubc__rec_fields(r);
  x->flen = hubc__rec_flen(r);
  x->w = hubc__rec_width(r->len - hubc__rec_meta(r));
  x->k = end[-1] & 0x7f;
  x->t = end[-1] & 0x80 ? (size_t)end[-3] | (size_t)end[-2] << 8 : 0;
  x->vals = x->fields + x->flen;
  x->toffs = x->vals + 8 * x->t;
  x->cks = x->toffs + x->w * x->t;
}

static size_t off_get(const unsigned char *p, size_t w) {
  if (w == 1) return p[0];
  if (w == 2) return (size_t)p[0] | (size_t)p[1] << 8;
  return (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 | (size_t)p[3] << 24;
}

static void off_put(unsigned char *p, size_t v, size_t w) {
  for (size_t i = 0; i < w; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* The read path: records in memory were checked when built or loaded
 * (every string NUL-terminated inside the blob), so these walks skip the
 * bounds checks of hubc__rec_field. Decodes the tag at p; returns the
 * bytes it takes. */
static inline size_t tag_at(const unsigned char *p, const unsigned char *end, uint64_t *tag) {
  if (*p < 0x80) {
    *tag = *p;
    return 1;
  }
  size_t pos = 0;
  *tag = 0; /* stored fields were checked at load: never left unset, but say so (Release -Werror) */
  hubc__varint_get(p, (size_t)(end - p), &pos, tag);
  return pos;
}

/* Moves p past one field, filling *f (prop, value or option; no size). */
static inline const unsigned char *step(const unsigned char *p, const unsigned char *end, hubc__field *f) {
  uint64_t tag, option = 0;
  p += tag_at(p, end, &tag);
  f->prop = (uint32_t)(tag >> 1);
  if (tag & 1) {
    size_t pos = 0;
    hubc__varint_get(p, (size_t)(end - p), &pos, &option);
    f->value = NULL;
    f->option = (uint32_t)option;
    return p + pos;
  }
  f->value = (const char *)p;
  f->option = 0;
  return p + strlen((const char *)p) + 1;
}

static uint32_t prop_at(const ix *x, size_t off) {
  uint64_t tag;
  tag_at(x->fields + off, x->fields + x->flen, &tag);
  return (uint32_t)(tag >> 1);
}

/* Offset of the last checkpoint at or before prop's field (0: the start). */
static size_t seek(const ix *x, uint32_t prop) {
  size_t lo = 0, hi = x->k, start = 0; /* checkpoints [lo, hi) left to search */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2, off = off_get(x->cks + mid * x->w, x->w);
    if (prop_at(x, off) <= prop) {
      start = off;
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return start;
}

/* The field of prop, or 0 if unset (f->size not set); always inlined:
 * every property a lookup reads goes through it. The walk decodes
 * only what it must: a string it passes is skipped, an option read only
 * when it is the one looked for. */
static inline __attribute__((always_inline)) int find(const hubc__rec *r, uint32_t prop, hubc__field *f) {
  const unsigned char *p = hubc__rec_fields(r), *end = r->blob + r->len - 1;
  if (r->meta_ix & HUBC__REC_LONG_INDEX) { /* more than 16 fields or typed ones: start at a checkpoint */
    ix x;
    ix_of(r, &x);
    end = x.fields + x.flen;
    p += seek(&x, prop);
  } /* else the fields end at the 1-byte index */
  while (p < end) {
    uint64_t tag;
    p += tag_at(p, end, &tag);
    uint32_t fp = (uint32_t)(tag >> 1);
    if (fp > prop) return 0; /* sorted */
    if (tag & 1) {
      uint64_t option = 0;
      size_t pos = 0;
      hubc__varint_get(p, (size_t)(end - p), &pos, &option);
      p += pos;
      if (fp == prop) {
        f->prop = fp;
        f->value = NULL;
        f->option = (uint32_t)option;
        return 1;
      }
    } else {
      if (fp == prop) {
        f->prop = fp;
        f->value = (const char *)p;
        f->option = 0;
        return 1;
      }
      p += strlen((const char *)p) + 1;
    }
  }
  return 0;
}

const char *hubc__rec_get(const hubc__rec *r, const hubc__schema *s, uint32_t prop) {
  hubc__field f;
  if (!find(r, prop, &f)) return NULL;
  if (f.value) return f.value;
  const hubc__prop *d = &s->props[prop];
  return f.option < d->n_options ? d->options[f.option] : NULL;
}

size_t hubc__rec_count(const hubc__rec *r) {
  ix x;
  ix_of(r, &x);
  size_t n = HUBC__REC_STRIDE * x.k;
  const unsigned char *p = x.fields + (x.k ? off_get(x.cks + (x.k - 1) * x.w, x.w) : 0), *end = x.fields + x.flen;
  hubc__field f;
  for (; p < end; n++) p = step(p, end, &f);
  return n;
}

void hubc__rec_field_at(const hubc__rec *r, size_t i, hubc__field *f) {
  ix x;
  ix_of(r, &x);
  size_t c = i / HUBC__REC_STRIDE <= x.k ? i / HUBC__REC_STRIDE : x.k; /* checkpoint c is field 16c */
  const unsigned char *start = x.fields + (c ? off_get(x.cks + (c - 1) * x.w, x.w) : 0), *p = start;
  const unsigned char *end = x.fields + x.flen;
  for (size_t j = HUBC__REC_STRIDE * c; j < i; j++) p = step(p, end, f);
  const unsigned char *next = step(p, end, f);
  f->size = (size_t)(next - p);
}

/* A number's binary form: strtod in the C locale, whatever the host's. */
static locale_t c_numeric;
static pthread_once_t c_numeric_once = PTHREAD_ONCE_INIT;
static void c_numeric_init(void) { c_numeric = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0); }

static double number_of(const char *v) {
  pthread_once(&c_numeric_once, c_numeric_init);
  locale_t was = c_numeric ? uselocale(c_numeric) : (locale_t)0;
  double d = strtod(v, NULL);
  if (c_numeric) uselocale(was);
  return d;
}

int hubc__rec_value(const hubc__rec *r, const hubc__schema *s, uint32_t prop, hubc__value *v) {
  if (prop >= s->n) return 0;
  const hubc__prop *p = &s->props[prop];
  memset(v, 0, sizeof *v);
  v->type = p->type;
  if (p->flags & HUBC_PROP_COMPUTED) {
    switch (prop) {
    case HUBC__P_OBJECT_ID: v->i = r->id; v->num = (double)r->id; return 1;
    case HUBC__P_CREATEDATE: v->i = hubc__rec_created(r); return 1;
    case HUBC__P_LASTMODIFIED: v->i = r->modified; return 1;
    case HUBC__P_MK_STATUS: v->i = r->status != HUBC_NON_MARKETING; return 1;
    case HUBC__P_MK_UNTIL_RENEWAL: v->i = r->status == HUBC_MARKETING_UNTIL_UPDATE; return 1;
    default: return 0;
    }
  }
  if (p->type == HUBC_PROP_NUMBER || p->type == HUBC_PROP_DATETIME) {
    ix x;
    ix_of(r, &x);
    size_t lo = 0, hi = x.t;
    while (lo < hi) { /* typed fields are in property order */
      size_t mid = lo + (hi - lo) / 2, off = off_get(x.toffs + mid * x.w, x.w);
      uint32_t at = prop_at(&x, off);
      if (at < prop) {
        lo = mid + 1;
      } else if (at > prop) {
        hi = mid;
      } else {
        uint64_t tag;
        v->str = (const char *)x.fields + off + tag_at(x.fields + off, x.fields + x.flen, &tag);
        v->len = strlen(v->str);
        if (p->type == HUBC_PROP_NUMBER) memcpy(&v->num, x.vals + 8 * mid, 8);
        else memcpy(&v->i, x.vals + 8 * mid, 8);
        return 1;
      }
    }
    return 0;
  }
  hubc__field f;
  if (!find(r, prop, &f)) return 0;
  if (f.value) {
    v->str = f.value;
    v->len = strlen(f.value);
    if (p->type == HUBC_PROP_BOOL) v->i = f.value[0] == 't';
    return 1;
  }
  if (f.option >= p->n_options) return 0;
  v->i = f.option;
  v->str = p->options[f.option];
  v->len = strlen(v->str);
  return 1;
}

const char *hubc__rec_email(const hubc__rec *r) {
  const unsigned char *fields = hubc__rec_fields(r);
  /* email is property 0, a string; without fields only the 1-byte index follows the meta */
  if (r->len - hubc__rec_meta(r) < 2 || fields[0] != 0) return NULL;
  return (const char *)fields + 1;
}

hubc_time hubc__rec_created(const hubc__rec *r) {
  size_t pos = 0;
  uint64_t v = 0;
  hubc__varint_get(r->blob, hubc__rec_meta(r), &pos, &v);
  return hubc__unzigzag(v);
}

void hubc__rec_source(const hubc__rec *r, int *source, int64_t *source_id) {
  size_t pos = 0;
  uint64_t v = 0;
  hubc__varint_get(r->blob, hubc__rec_meta(r), &pos, &v);
  *source = pos < hubc__rec_meta(r) ? r->blob[pos++] : 0;
  v = 0;
  hubc__varint_get(r->blob, hubc__rec_meta(r), &pos, &v);
  *source_id = hubc__unzigzag(v);
}

static size_t index_size(size_t n, size_t t, size_t w) {
  return 1 + (t ? 2 + t * (8 + w) : 0) + (n ? (n - 1) / HUBC__REC_STRIDE : 0) * w;
}

static hubc__rec *rec_alloc(hubc__base *b, size_t meta, size_t flen, size_t n, size_t t) {
  if (n > HUBC__REC_MAX_FIELDS || t > n || flen > 0xffffffffu) return NULL;
  size_t w = 1, all = flen + index_size(n, t, 1);
  while (hubc__rec_width(all) != w) { /* a wider offset makes the index longer, never narrower */
    w *= 2;
    all = flen + index_size(n, t, w);
  }
  size_t len = meta + all;
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
  unsigned char *end = r->blob + len;
  end[-1] = (unsigned char)((n ? (n - 1) / HUBC__REC_STRIDE : 0) | (t ? 0x80 : 0));
  r->meta_ix = (uint8_t)(meta | (end[-1] ? HUBC__REC_LONG_INDEX : 0));
  if (t) {
    end[-3] = (unsigned char)t;
    end[-2] = (unsigned char)(t >> 8);
  }
  return r;
}

hubc__rec *hubc__rec_new(hubc__base *b, hubc_time created, int source, int64_t source_id, size_t flen, size_t n,
                         size_t t) {
  unsigned char meta[24];
  size_t m = hubc__varint_put(meta, hubc__zigzag(created));
  meta[m++] = (unsigned char)source;
  m += hubc__varint_put(meta + m, hubc__zigzag(source_id));
  hubc__rec *r = rec_alloc(b, m, flen, n, t);
  if (r) memcpy(r->blob, meta, m);
  return r;
}

hubc__rec *hubc__rec_new_like(hubc__base *b, const hubc__rec *like, size_t flen, size_t n, size_t t) {
  hubc__rec *r = rec_alloc(b, hubc__rec_meta(like), flen, n, t);
  if (r) memcpy(r->blob, like->blob, hubc__rec_meta(like));
  return r;
}

void hubc__rec_ixw_init(hubc__rec_ixw *x, hubc__rec *r, const hubc__schema *s) {
  ix v;
  ix_of(r, &v);
  x->vals = (unsigned char *)(uintptr_t)v.vals;
  x->toffs = (unsigned char *)(uintptr_t)v.toffs;
  x->cks = (unsigned char *)(uintptr_t)v.cks;
  x->w = v.w;
  x->t = v.t;
  x->i = x->typed = 0;
  x->s = s;
}

void hubc__rec_ixw_typed(hubc__rec_ixw *x, uint32_t prop, const char *value, size_t off) {
  if (x->s->props[prop].type == HUBC_PROP_NUMBER) {
    double d = number_of(value);
    memcpy(x->vals + 8 * x->typed, &d, 8);
  } else {
    hubc_time tm = 0;
    if (hubc__parse_datetime(value, &tm)) tm = 0;
    memcpy(x->vals + 8 * x->typed, &tm, 8);
  }
  off_put(x->toffs + x->typed * x->w, off, x->w);
  x->typed++;
}

void hubc__rec_seal(hubc__rec *r, const hubc__schema *s) {
  hubc__rec_ixw x;
  hubc__rec_ixw_init(&x, r, s);
  const unsigned char *fields = hubc__rec_fields(r), *p = fields, *end = fields + hubc__rec_flen(r);
  hubc__field f;
  while (p < end) {
    size_t off = (size_t)(p - fields);
    p = step(p, end, &f);
    hubc__rec_ixw_note(&x, f.prop, f.value, off);
  }
}

int hubc__rec_shape(const unsigned char *fields, size_t flen, const hubc__schema *s, size_t *n, size_t *t) {
  hubc__field f;
  *n = *t = 0;
  for (size_t pos = 0; pos < flen; pos += f.size) {
    if (hubc__rec_field(fields, flen, pos, &f)) return -1;
    ++*n;
    if (f.value && hubc__rec_typed(s, f.prop)) ++*t;
  }
  return 0;
}

void hubc__rec_unref(hubc__base *b, hubc__rec *r) {
  if (r && atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) == 1)
    hubc__arena_free(b, r, offsetof(hubc__rec, blob) + r->len);
}
