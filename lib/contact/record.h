/* Immutable, reference-counted contact record versions, kept compact
 * because they are most of a store's memory (DESIGN §5). Layout:
 *   header: refs, len, the contact's mutable state (modified, id, hist,
 *           status: meaningful in the current version only), meta length
 *           and whether the index holds more than its last byte
 *   blob:   meta prefix [zigzag varint created][source][zigzag varint source id]
 *           then fields sorted by property index (the persisted form):
 *             string:      [varint index << 1][bytes][NUL]
 *             enumeration: [varint index << 1 | 1][varint option]
 *           then an index of the fields, in memory only (never persisted):
 *             [t × 8-byte binary value of each number (double) and
 *              datetime (int64 seconds) field, in field order]
 *             [t × w offset of each of those fields]
 *             [k × w offset of fields 16, 32, … (k = (fields - 1) / 16)]
 *             [t as 2 bytes, when t > 0][k | 0x80 when t > 0]
 *           w is the width of offsets: 1, 2 or 4 bytes as the bytes after
 *           the meta prefix are < 256, < 65536 or more.
 * String values are borrowed straight from the blob, options from the pool.
 * The index costs 1 byte for a record of up to 16 plain fields (whose
 * reads walk the fields as before) and gives field i by walking at most 15
 * fields from a checkpoint, a property by a binary search over checkpoints
 * (or over the typed fields), so a filter compares numbers and dates
 * without parsing text (issue 11). */
#ifndef HUBC_CONTACT_RECORD_H
#define HUBC_CONTACT_RECORD_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "schema/schema.h"
#include "util/base.h"

typedef struct hubc__rec {
  atomic_uint refs;
  uint32_t len;     /* blob bytes: meta prefix + fields + index */
  /* The contact's mutable state lives in its current version so that a
   * lookup touches one record, not a record and a slot (two cache misses
   * instead of three). Written under the store's write lock, copied into
   * snapshots; stale in superseded versions, which nobody reads. */
  int64_t modified;
  uint32_t id;
  uint32_t hist;
  uint8_t status;
  /* Bytes of the meta prefix (hubc__rec_meta), and HUBC__REC_LONG_INDEX
   * when the index holds more than its last byte: a field lookup knows
   * where the fields end from the record's first line, without touching
   * its last (one cache line less per lookup). */
  uint8_t meta_ix;
  unsigned char blob[];
} hubc__rec;

/* Varints of the record format, shared with the persistence codec.
 * put: bytes written (or needed, with w NULL). get: reads at p[*pos], moves
 * *pos past it; -1 (*pos unmoved) if cut short or not the shortest encoding
 * (no trailing 0x00 group, no bits past 64): one value has one encoding, so
 * a field's first byte says which property it is (hubc__rec_email relies
 * on that) and equal records are equal bytes. */
size_t hubc__varint_put(unsigned char *w, uint64_t v);
/* Signed values go through zigzag first: small magnitudes, short varints. */
static inline uint64_t hubc__zigzag(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static inline int64_t hubc__unzigzag(uint64_t u) { return (int64_t)(u >> 1) ^ -(int64_t)(u & 1); }
int hubc__varint_get_long(const unsigned char *p, size_t len, size_t *pos, uint64_t *v);
/* Inline for the one-byte case: tags, lengths and small numbers, nearly
 * every varint a load or a field walk reads. */
static inline int hubc__varint_get(const unsigned char *p, size_t len, size_t *pos, uint64_t *v) {
  if (*pos < len && p[*pos] < 0x80) {
    *v = p[(*pos)++];
    return 0;
  }
  return hubc__varint_get_long(p, len, pos, v);
}

/* One decoded field. */
typedef struct hubc__field {
  uint32_t prop;
  const char *value; /* string value, or NULL for an enumeration */
  uint32_t option;   /* enumeration option index */
  size_t size;       /* encoded size of the field */
} hubc__field;

#define HUBC__REC_LONG_INDEX 0x80
static inline size_t hubc__rec_meta(const hubc__rec *r) { return r->meta_ix & 0x7fu; }
static inline const unsigned char *hubc__rec_fields(const hubc__rec *r) { return r->blob + hubc__rec_meta(r); }
/* Width of the index's offsets for `after_meta` bytes of fields + index. */
static inline size_t hubc__rec_width(size_t after_meta) {
  return after_meta < 256 ? 1 : after_meta < 65536 ? 2 : 4;
}
/* Bytes of the fields (the persisted form), without the index. */
static inline size_t hubc__rec_flen(const hubc__rec *r) {
  size_t all = r->len - hubc__rec_meta(r), w = hubc__rec_width(all);
  if (!(r->meta_ix & HUBC__REC_LONG_INDEX)) return all - 1;
  const unsigned char *end = r->blob + r->len;
  size_t k = end[-1] & 0x7f, t = end[-1] & 0x80 ? (size_t)end[-3] | (size_t)end[-2] << 8 : 0;
  return all - 1 - (t ? 2 + t * (8 + w) : 0) - k * w;
}

/* Decodes the field at fields[pos]; 0, or -1 if malformed. */
int hubc__rec_field(const unsigned char *fields, size_t len, size_t pos, hubc__field *f);
/* Encodes a field (a string of len bytes, NUL-terminated at value[len],
 * or an option when option >= 0); returns bytes written (or needed, with w
 * NULL). Inline with a one-byte tag and option: the built-in properties and
 * most options, written once per field of every record a bulk call builds. */
static inline size_t hubc__rec_put_field(unsigned char *w, uint32_t prop, const char *value, size_t len,
                                         int32_t option) {
  uint64_t tag = (uint64_t)prop << 1 | (option >= 0);
  size_t n;
  if (tag < 0x80) {
    if (w) w[0] = (unsigned char)tag;
    n = 1;
  } else {
    n = hubc__varint_put(w, tag);
  }
  if (option >= 0) {
    if (option < 0x80) {
      if (w) w[n] = (unsigned char)option;
      return n + 1;
    }
    return n + hubc__varint_put(w ? w + n : NULL, (uint64_t)option);
  }
  if (w) memcpy(w + n, value, len + 1);
  return n + len + 1;
}
/* Value of a property as a string (NULL if unset). */
const char *hubc__rec_get(const hubc__rec *r, const hubc__schema *s, uint32_t prop);
/* Number of stored fields; field i (0-based, i < that number) in O(1). */
size_t hubc__rec_count(const hubc__rec *r);
void hubc__rec_field_at(const hubc__rec *r, size_t i, hubc__field *f);

/* A property's value, typed (for filters: compare without parsing). */
typedef struct hubc__value {
  int type;        /* HUBC_PROP_* of the property */
  double num;      /* NUMBER */
  int64_t i;       /* DATETIME: UTC seconds; BOOL: 0 or 1; ENUMERATION: option index */
  const char *str; /* the value as text (ENUMERATION: its option); NULL for computed ones */
  size_t len;      /* of str */
} hubc__value;
/* The value of `prop` in r: 1 and *v filled, or 0 if unset. Stored
 * properties in O(log n); of the computed ones, those a record holds
 * (hs_object_id, createdate, lastmodifieddate, hs_marketable_status,
 * hs_marketable_until_renewal) in O(1); the reason type and id need the
 * store's history (hubc__status_reason) and answer 0. */
int hubc__rec_value(const hubc__rec *r, const hubc__schema *s, uint32_t prop, hubc__value *v);
/* The normalized email (always the first field), or NULL. */
const char *hubc__rec_email(const hubc__rec *r);
hubc_time hubc__rec_created(const hubc__rec *r);
void hubc__rec_source(const hubc__rec *r, int *source, int64_t *source_id);

/* A checkpoint every this many fields; at most this many fields, so that
 * k fits the index's 7 bits (a contact holds at most
 * HUBC_MAX_CONTACT_PROPERTIES). */
#define HUBC__REC_STRIDE 16
#define HUBC__REC_MAX_FIELDS 2032

/* A record with this meta and room for flen bytes of fields holding n
 * fields, t of them numbers or datetimes (hubc__rec_typed), written by the
 * caller at hubc__rec_fields, then indexed with hubc__rec_seal. NULL on
 * allocation failure. */
hubc__rec *hubc__rec_new(hubc__base *b, hubc_time created, int source, int64_t source_id, size_t flen, size_t n,
                         size_t t);
/* A record with the meta prefix of `like`. */
hubc__rec *hubc__rec_new_like(hubc__base *b, const hubc__rec *like, size_t flen, size_t n, size_t t);
/* Whether a property's values carry a binary form in the index. */
static inline int hubc__rec_typed(const hubc__schema *s, uint32_t prop) {
  return s && s->typed && prop < s->n &&
         (s->props[prop].type == HUBC_PROP_NUMBER || s->props[prop].type == HUBC_PROP_DATETIME);
}
/* Builds the index while the fields are written in order: note each
 * field at its offset (s: the schema that counted t; NULL when t is 0).
 * Values that do not parse (a damaged record, refused by the loader's
 * checks) index as 0. */
typedef struct hubc__rec_ixw {
  unsigned char *vals, *toffs, *cks;
  size_t w, i, t, typed;
  const hubc__schema *s;
} hubc__rec_ixw;
void hubc__rec_ixw_init(hubc__rec_ixw *x, hubc__rec *r, const hubc__schema *s);
void hubc__rec_ixw_typed(hubc__rec_ixw *x, uint32_t prop, const char *value, size_t off);
/* value: the string, NULL for an option. */
static inline void hubc__rec_ixw_note(hubc__rec_ixw *x, uint32_t prop, const char *value, size_t off) {
  if (x->i && !(x->i % HUBC__REC_STRIDE))
    for (size_t b = 0; b < x->w; b++)
      x->cks[(x->i / HUBC__REC_STRIDE - 1) * x->w + b] = (unsigned char)(off >> (8 * b));
  x->i++;
  if (x->typed < x->t && value && hubc__rec_typed(x->s, prop)) hubc__rec_ixw_typed(x, prop, value, off);
}
/* The index of fields already in place (a walk of them). */
void hubc__rec_seal(hubc__rec *r, const hubc__schema *s);
/* How many fields and typed fields the fields bytes hold; -1 if malformed. */
int hubc__rec_shape(const unsigned char *fields, size_t flen, const hubc__schema *s, size_t *n, size_t *t);
void hubc__rec_unref(hubc__base *b, hubc__rec *r);

#endif
