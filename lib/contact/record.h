/* Immutable, reference-counted contact record versions, kept compact
 * because they are most of a store's memory (DESIGN §5). Layout:
 *   header: refs, len, the contact's mutable state (modified, id, hist,
 *           status: meaningful in the current version only), meta length
 *   blob:   meta prefix [zigzag varint created][source][zigzag varint source id]
 *           then fields sorted by property index:
 *             string:      [varint index << 1][bytes][NUL]
 *             enumeration: [varint index << 1 | 1][varint option]
 * String values are borrowed straight from the blob, options from the pool. */
#ifndef HUBC_CONTACT_RECORD_H
#define HUBC_CONTACT_RECORD_H

#include <stdatomic.h>
#include <stdint.h>

#include "schema/schema.h"
#include "util/base.h"

typedef struct hubc__rec {
  atomic_uint refs;
  uint32_t len;     /* blob bytes: meta prefix + fields */
  /* The contact's mutable state lives in its current version so that a
   * lookup touches one record, not a record and a slot (two cache misses
   * instead of three). Written under the store's write lock, copied into
   * snapshots; stale in superseded versions, which nobody reads. */
  int64_t modified;
  uint32_t id;
  uint32_t hist;
  uint8_t status;
  uint8_t meta;     /* bytes of the meta prefix */
  unsigned char blob[];
} hubc__rec;

/* Varints of the record format, shared with the persistence codec.
 * put: bytes written (or needed, with w NULL). get: reads at p[*pos], moves
 * *pos; -1 if cut short or not the shortest encoding (no trailing 0x00
 * group, no bits past 64): one value has one encoding, so a field's first
 * byte says which property it is (hubc__rec_email relies on that) and equal
 * records are equal bytes. */
size_t hubc__varint_put(unsigned char *w, uint64_t v);
int hubc__varint_get(const unsigned char *p, size_t len, size_t *pos, uint64_t *v);

/* One decoded field. */
typedef struct hubc__field {
  uint32_t prop;
  const char *value; /* string value, or NULL for an enumeration */
  uint32_t option;   /* enumeration option index */
  size_t size;       /* encoded size of the field */
} hubc__field;

static inline const unsigned char *hubc__rec_fields(const hubc__rec *r) { return r->blob + r->meta; }
static inline size_t hubc__rec_flen(const hubc__rec *r) { return r->len - r->meta; }

/* Decodes the field at fields[pos]; 0, or -1 if malformed. */
int hubc__rec_field(const unsigned char *fields, size_t len, size_t pos, hubc__field *f);
/* Encodes a field (a string of len bytes, or an option when option >= 0);
 * returns bytes written (or needed, with w NULL). */
size_t hubc__rec_put_field(unsigned char *w, uint32_t prop, const char *value, size_t len, int32_t option);
/* Value of a property as a string (NULL if unset). */
const char *hubc__rec_get(const hubc__rec *r, const hubc__schema *s, uint32_t prop);
/* The normalized email (always the first field), or NULL. */
const char *hubc__rec_email(const hubc__rec *r);
hubc_time hubc__rec_created(const hubc__rec *r);
void hubc__rec_source(const hubc__rec *r, int *source, int64_t *source_id);

/* A record with this meta and room for flen bytes of fields (written by
 * the caller at hubc__rec_fields). NULL on allocation failure. */
hubc__rec *hubc__rec_new(hubc__base *b, hubc_time created, int source, int64_t source_id, size_t flen);
/* A record with the meta prefix of `like`. */
hubc__rec *hubc__rec_new_like(hubc__base *b, const hubc__rec *like, size_t flen);
void hubc__rec_unref(hubc__base *b, hubc__rec *r);

#endif
