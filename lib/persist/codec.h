/* The record format (README "Record format"): byte 0 is the format version
 * (1); then fields [tag varint][length varint][bytes]; integers inside are
 * zigzag varints. Unknown tags are skipped, so later versions may append
 * fields that older readers ignore. */
#ifndef HUBC_PERSIST_CODEC_H
#define HUBC_PERSIST_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "contact/record.h" /* varints and zigzag */
#include "hubcontacts.h"

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

/* The readers are inline: a load reads a few fields of every record, and
 * the calls cost more than the reading (one-byte tags and lengths). */
static inline int hubc__rd_varint(hubc__rd *r, uint64_t *v) {
  size_t pos = 0;
  if (hubc__varint_get(r->p, (size_t)(r->end - r->p), &pos, v)) return -1;
  r->p += pos;
  return 0;
}
/* Next field: 1 with tag and body, 0 at the end, -1 malformed. */
static inline int hubc__rd_field(hubc__rd *r, uint64_t *tag, hubc__rd *body) {
  if (r->p >= r->end) return 0;
  uint64_t len;
  if (hubc__rd_varint(r, tag) || hubc__rd_varint(r, &len) || len > (uint64_t)(r->end - r->p)) return -1;
  body->p = r->p;
  body->end = r->p + len;
  r->p += len;
  return 1;
}
/* The body as one zigzag integer (-1 if malformed; *v is then 0). */
static inline int hubc__rd_int(hubc__rd body, int64_t *v) {
  uint64_t u = 0;
  int bad = hubc__rd_varint(&body, &u) || body.p != body.end;
  *v = bad ? 0 : hubc__unzigzag(u);
  return -bad;
}

/* Writing fields into the store's encoding buffer (a kind's encode hook).
 * An allocation failure is remembered and reported once at the end. */
typedef struct hubc__wr {
  hubc_store *s;
  size_t n;
  int failed;
} hubc__wr;

void hubc__wr_bytes(hubc__wr *w, unsigned tag, const void *b, size_t len);
void hubc__wr_num(hubc__wr *w, unsigned tag, int64_t v);
void hubc__wr_str(hubc__wr *w, unsigned tag, const char *s);

/* Loading (a kind's load hooks). The loader a backend fills at open: the
 * store, and per record kind (by number) a staging area its hooks own and
 * whether any record of the kind was put. */
#define HUBC__KIND_LIMIT 64 /* record kinds are numbered below this */
struct hubc_loader {
  hubc_store *s;
  hubc_loader *next_live; /* the list of loaders inside load() */
  hubc_loader *outer;     /* this thread's loader before this one (nested opens) */
  int err;                /* the first put/del failure: the open fails with it */
  char err_msg[512];
  void *stage[HUBC__KIND_LIMIT];
  unsigned char seen[HUBC__KIND_LIMIT];
  uint64_t hint_n[HUBC__KIND_LIMIT];     /* hubc__loader_hint: puts to expect, 0 unknown */
  uint64_t hint_bytes[HUBC__KIND_LIMIT]; /* and their record bytes */
};

/* HUBC_ECORRUPT: "stored <kind> record <id> is corrupt: <what>". */
int hubc__corrupt(int kind, hubc_id id, const char *what);
/* The body as one integer, or corrupt. */
static inline int hubc__ld_int(hubc__rd body, int64_t *v, int kind, hubc_id id) {
  return hubc__rd_int(body, v) ? hubc__corrupt(kind, id, "malformed integer") : 0;
}
/* The body as a pooled string (valid UTF-8), or corrupt / ENOMEM. */
int hubc__ld_pooled(hubc_store *s, hubc__rd body, const char **out, int kind, hubc_id id);

/* Field loop: runs the statement after it for each field with tag and
 * body set; a malformed field returns corrupt from the enclosing function.
 * Unknown tags are the statement's to skip (forward compatibility). */
#define HUBC__FOR_FIELDS(r, tag, body, kind, id)                               \
  for (int fr_; (fr_ = hubc__rd_field(&(r), &(tag), &(body))) != 0;)          \
    if (fr_ < 0) return hubc__corrupt(kind, id, "malformed field");            \
    else

#endif
