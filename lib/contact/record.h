/* Immutable, reference-counted contact record versions. Properties live in
 * one blob, sorted by property index:
 *   string value:      [u16 LE index][bytes][NUL]
 *   enumeration value: [u16 LE index | 0x8000][u16 LE option index]
 * Values are borrowed straight from the blob (enumerations from the pool). */
#ifndef HUBC_CONTACT_RECORD_H
#define HUBC_CONTACT_RECORD_H

#include <stdatomic.h>
#include <stdint.h>

#include "schema/schema.h"
#include "util/base.h"

typedef struct hubc__rec {
  atomic_uint refs;
  uint32_t len;       /* blob bytes */
  int64_t created;
  int64_t source_id;
  uint8_t source;
  unsigned char blob[];
} hubc__rec;

#define HUBC__ENUM_FLAG 0x8000u

/* One decoded property of a blob. */
typedef struct hubc__field {
  uint32_t prop;
  const char *value; /* string value, or NULL for an enumeration */
  uint32_t option;   /* enumeration option index */
  size_t size;       /* encoded size of the entry */
} hubc__field;

/* Decodes the entry at blob[pos]; 0 or -1 if malformed. */
int hubc__rec_field(const unsigned char *blob, size_t len, size_t pos, hubc__field *f);
/* Value of a property in a record as a string (NULL if unset). */
const char *hubc__rec_get(const hubc__rec *r, const hubc__schema *s, uint32_t prop);
size_t hubc__rec_size(const hubc__rec *r);
hubc__rec *hubc__rec_alloc(hubc__base *b, size_t blob_len);
void hubc__rec_unref(hubc__base *b, hubc__rec *r);
/* The normalized email of a record, or NULL (always the first entry). */
const char *hubc__rec_email(const hubc__rec *r);

#endif
