/* The record format (README "Record format"): byte 0 is the format version
 * (1); then fields [tag varint][length varint][bytes]; integers inside are
 * zigzag varints. Unknown tags are skipped, so later versions may append
 * fields that older readers ignore. */
#ifndef HUBC_PERSIST_CODEC_H
#define HUBC_PERSIST_CODEC_H

#include <stddef.h>
#include <stdint.h>

#define HUBC__FORMAT_VERSION 1

/* Field tags per record kind. Never renumbered. */
enum { HUBC__T_META_NEXT_ID = 1, HUBC__T_META_NEXT_USER, HUBC__T_META_TIER, HUBC__T_META_PERIOD_START,
       HUBC__T_META_PEAK, HUBC__T_META_ALERTS, HUBC__T_META_DOWNGRADE, HUBC__T_META_RENEWAL_BASE,
       HUBC__T_META_DOWNGRADE_AT };
enum { HUBC__T_PROP_NAME = 1, HUBC__T_PROP_LABEL, HUBC__T_PROP_TYPE, HUBC__T_PROP_FLAGS, HUBC__T_PROP_OPTION };
enum { HUBC__T_C_CREATED = 1, HUBC__T_C_MODIFIED, HUBC__T_C_STATUS, HUBC__T_C_SOURCE, HUBC__T_C_SOURCE_ID,
       HUBC__T_C_PROPS };
enum { HUBC__T_H_TIME = 1, HUBC__T_H_CONTACT, HUBC__T_H_OLD, HUBC__T_H_NEW, HUBC__T_H_REASON_TYPE,
       HUBC__T_H_REASON_ID, HUBC__T_H_ACTOR };
enum { HUBC__T_U_EMAIL = 1, HUBC__T_U_PERMS, HUBC__T_U_SUPER, HUBC__T_U_DISABLED };
enum { HUBC__T_P_START = 1, HUBC__T_P_END, HUBC__T_P_PEAK, HUBC__T_P_CLOSE, HUBC__T_P_TIER };
enum { HUBC__T_S_ENTRY = 1 }; /* [zigzag id][on] */

/* Reading fields. */
typedef struct hubc__rd {
  const unsigned char *p, *end;
} hubc__rd;

int hubc__rd_varint(hubc__rd *r, uint64_t *v);
/* Next field: 1 with tag and body, 0 at the end, -1 malformed. */
int hubc__rd_field(hubc__rd *r, uint64_t *tag, hubc__rd *body);
/* The body as one zigzag integer (-1 if malformed). */
int hubc__rd_int(hubc__rd body, int64_t *v);

#endif
