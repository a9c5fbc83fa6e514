/* The property schema (C2, C4): immutable, reference-counted versions so
 * snapshots can resolve names without the store lock. */
#ifndef HUBC_SCHEMA_SCHEMA_H
#define HUBC_SCHEMA_SCHEMA_H

#include <stdatomic.h>
#include <stdint.h>

#include "hubcontacts/contact.h"
#include "util/base.h"

typedef struct hubc__prop {
  const char *name, *label; /* pooled */
  const char **options;     /* pooled; ENUMERATION only */
  uint16_t n_options;
  uint8_t type, flags;
} hubc__prop;

/* Built-in property indexes (order = schema order; persisted: append only). */
enum {
  HUBC__P_EMAIL = 0, HUBC__P_FIRSTNAME, HUBC__P_LASTNAME, HUBC__P_PHONE, HUBC__P_COMPANY,
  HUBC__P_CITY, HUBC__P_COUNTRY, HUBC__P_JOBTITLE, HUBC__P_WEBSITE, HUBC__P_LIFECYCLE,
  HUBC__P_OPTOUT, HUBC__P_BOUNCED,
  /* computed (read-only, never stored in a record) */
  HUBC__P_OBJECT_ID, HUBC__P_CREATEDATE, HUBC__P_LASTMODIFIED, HUBC__P_MK_STATUS,
  HUBC__P_MK_UNTIL_RENEWAL, HUBC__P_MK_REASON_TYPE, HUBC__P_MK_REASON_ID,
  HUBC__P_BUILTIN_COUNT
};
#define HUBC__COMPUTED_FIRST HUBC__P_OBJECT_ID
#define HUBC__MAX_PROPERTIES 32767

typedef struct hubc__schema {
  atomic_uint refs;
  hubc__base *base;
  uint32_t n;
  hubc__prop *props;
  uint32_t *index; /* open addressing over lowercase names and labels: i + 1 */
  uint32_t index_mask;
  int typed; /* a stored property is a number or datetime (records index their values) */
} hubc__schema;

int hubc__schema_new_builtin(hubc__schema **out, hubc__base *base);
/* A copy of s plus one property (s untouched). */
int hubc__schema_with(hubc__schema **out, const hubc__schema *s, const hubc__prop *p);
void hubc__schema_ref(hubc__schema *s);
void hubc__schema_unref(hubc__schema *s);
/* Index of a property by name or label (case-insensitive), or -1. */
int hubc__schema_find(const hubc__schema *s, const char *name);
/* Validates a property definition against schema s (name syntax, unique
 * name and label, type, options): the one validator for define and load. */
int hubc__schema_check_prop(const hubc__schema *s, const char *name, const char *label, int type,
                            const char *const *options, size_t n_options);
/* Validates (hubc__schema_check_prop), then copies the strings into the
 * pool. A NULL or empty label means the name. */
int hubc__schema_make_prop(hubc__prop *out, hubc__base *base, const hubc__schema *s,
                           const char *name, const char *label, int type,
                           const char *const *options, size_t n_options);
/* Option index of an enumeration value (case-insensitive), or -1. */
int hubc__schema_option(const hubc__prop *p, const char *value);
const char *hubc__type_name(int type);

#endif
