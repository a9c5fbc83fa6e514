/* hubcontacts — persistence callbacks (R1, R2): the "systems" API a host
 * implements to keep a store in its own database. */
#ifndef HUBCONTACTS_SYS_PERSIST_H
#define HUBCONTACTS_SYS_PERSIST_H

#include "../common.h"

HUBC_BEGIN_DECLS

/* What a record holds. The bytes are opaque to the backend; their format
 * is documented in README.md ("Record format") and owned by the library.
 * A backend keys records by (kind, id). */
enum hubc_record_kind {
  HUBC_REC_META = 1,     /* id 1: counters, billing state */
  HUBC_REC_PROPERTY = 2, /* id: property index + 1 */
  HUBC_REC_CONTACT = 3,  /* id: contact record id */
  HUBC_REC_HISTORY = 4,  /* id: status history sequence number */
  HUBC_REC_USER = 5,     /* id: user id */
  HUBC_REC_PERIOD = 6,   /* id: closed billing period number */
  HUBC_REC_SWITCH = 7,   /* id: source type; all its switches */
  HUBC_REC_IMPORT = 8,   /* id: import id (I10) */
  HUBC_REC_FORM = 9,     /* id: form id (F1) */
  HUBC_REC_SUBMISSION = 10, /* id: submission id (F5) */
  HUBC_REC_WORKFLOW = 11,   /* id: workflow id (W2) */
  HUBC_REC_ENROLLMENT = 12, /* id: enrollment id (W3) */
  HUBC_REC_WORKFLOW_LOG = 13, /* id: enrollment history sequence number (W6) */
  HUBC_REC_LIST = 14,       /* id: list id (S2) */
  HUBC_REC_LIST_MEMBERS = 15, /* id: list id << 16 | contact id >> 16: a static list's members in that range */
  HUBC_REC_VIEW = 16        /* id: view id (S3) */
};
/* The largest kind this header names. A backend stores whatever kind it
 * is handed (later versions add kinds above it); the library itself goes
 * by its own table of kinds, never by this value. */
#define HUBC_REC_KIND_MAX 16

/* Handed to load(): push every stored record, in any order; a later put of
 * the same (kind, id) replaces an earlier one and del removes it (so a
 * journal may replay its log as written). Bytes are copied.
 *
 * Lifetime: the loader is usable only until load() returns, from any
 * thread, one call at a time. Afterwards put and del return HUBC_EINVAL
 * and touch nothing (the pointer is never dereferenced again).
 *
 * Errors are sticky: once a put or del fails (a damaged record, bad
 * arguments, out of memory), every later put/del returns that error and the
 * store's open fails with it, whatever load() returns. A record the library
 * refused is never skipped silently (R3). */
typedef struct hubc_loader hubc_loader;
HUBC_API int hubc_loader_put(hubc_loader *loader, int kind, hubc_id id,
                             const void *bytes, size_t len);
HUBC_API int hubc_loader_del(hubc_loader *loader, int kind, hubc_id id);

#define HUBC_PERSIST_VERSION 1

/* Every callback returns 0, HUBC_EAGAIN (the host asks to retry later) or
 * any other nonzero value (failure). On any failure the store undoes the
 * call's whole in-memory effect, calls rollback (unless begin failed) and
 * returns HUBC_EAGAIN or HUBC_EPERSIST. Callbacks run with the store locked
 * for writing and must not call back into the store. */
typedef struct hubc_persist {
  unsigned int version; /* HUBC_PERSIST_VERSION */
  void *userdata;
  int (HUBC_CALLBACK *load)(void *userdata, hubc_loader *loader);
  int (HUBC_CALLBACK *begin)(void *userdata);
  int (HUBC_CALLBACK *put)(void *userdata, int kind, hubc_id id,
                           const void *bytes, size_t len);
  int (HUBC_CALLBACK *del)(void *userdata, int kind, hubc_id id);
  int (HUBC_CALLBACK *commit)(void *userdata);
  int (HUBC_CALLBACK *rollback)(void *userdata);
  /* Called once by hubc_store_close (may be NULL). */
  void (HUBC_CALLBACK *close)(void *userdata);
} hubc_persist;

HUBC_END_DECLS

#endif
